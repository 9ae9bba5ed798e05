"""The build's C++ jobs go to the scheduler named by BuildConfig(scheduler=...), --scheduler or $QNNCC_SCHEDULER."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from qnncc.cli import main
from qnncc.core.errors import QnnccError
from qnncc.data import demo_model_path
from qnncc.flow.build import build
from qnncc.flow.config import BuildConfig
from qnncc.jobs import DaskExecutor

MNIST = Path(__file__).resolve().parents[1] / "data" / "mnist_test.npz"
FOLDING = demo_model_path().parent / "tfc_w1a1_folding_config.json"
NOWHERE = "tcp://127.0.0.1:9"  # discard port: nothing listens


@pytest.fixture(autouse=True)
def _quick_connect(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(DaskExecutor, "connect_timeout", 1.0)  # fail fast on the port nobody listens on
    monkeypatch.delenv("QNNCC_SCHEDULER", raising=False)


def _config(out: Path, **extra: object) -> BuildConfig:
    return BuildConfig(output_dir=out, folding=FOLDING, verify_data=MNIST, verify_count=4, fifo_sizing="off", **extra)


def test_build_config_scheduler_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(QnnccError, match=r"verify.*cannot reach the Dask scheduler at tcp://127\.0\.0\.1:9"):
        build(demo_model_path(), _config(tmp_path / "a", scheduler=NOWHERE))
    monkeypatch.setenv("QNNCC_SCHEDULER", NOWHERE)
    with pytest.raises(QnnccError, match=r"cannot reach the Dask scheduler at tcp://127\.0\.0\.1:9"):
        build(demo_model_path(), _config(tmp_path / "b"))
    result = build(demo_model_path(), _config(tmp_path / "c", scheduler="local"))  # overrides the variable
    assert result.verification is not None and result.verification["bit_exact"]


def test_scheduler_options_of_build_and_verify(tmp_path: Path) -> None:
    out = tmp_path / "build"
    args = ["build", str(demo_model_path()), "--folding", str(FOLDING), "-o", str(out), "--fifo-sizing", "off"]
    bad = CliRunner().invoke(main, [*args, "--verify-data", str(MNIST), "--verify-count", "4", "--scheduler", NOWHERE])
    assert bad.exit_code == 2 and "cannot reach the Dask scheduler" in bad.output
    ok = CliRunner().invoke(main, [*args, "--no-plots"])
    assert ok.exit_code == 0, ok.output
    verify = ["verify", str(out), "--data", str(MNIST), "--count", "4"]
    assert "cannot reach the Dask scheduler" in CliRunner().invoke(main, [*verify, "--scheduler", NOWHERE]).output
    good = CliRunner().invoke(main, [*verify, "--scheduler", "local"])
    assert good.exit_code == 0 and "4 images bit-exact" in good.output
