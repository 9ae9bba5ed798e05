"""Golden-model regression of ``qnncc build``: accuracy, estimates and generated-file hashes.

TFC-W1A1 runs in CI (`make test`); LFC-W1A1 and the Brevitas models are
marked slow (`make test-full`). After an intended change of the output,
regenerate with ``.venv/bin/python tests/build/update_golden.py`` and review the diff.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from golden_builds import CASES, DATA, compare, load_expectations, run_case

from qnncc.cli import main

EXPECTED = load_expectations()
#: Reference accuracies of the models on their images (tests/data/SOURCES.md), computed independently of qnncc.
REFERENCE_ACCURACY = {
    "tfc_w1a1": 0.9296,
    "lfc_w1a1": 0.9835,
    "mlp_w2a2": 0.9492,
    "cnv3_w2a2": 0.9796,
    "res2_w3a3": 0.9660,
    "dws_w4a4": 0.9236,
}


def _cases() -> list[object]:
    return [pytest.param(name, marks=() if case.ci else pytest.mark.slow) for name, case in CASES.items()]


@pytest.mark.parametrize("name", _cases())
def test_golden_build_reproduces_expectations(name, tmp_path):
    assert name in EXPECTED, f"no expectation for {name}: run tests/build/update_golden.py {name}"
    record = run_case(name, tmp_path)
    assert record["bit_exact"]
    if name in REFERENCE_ACCURACY:  # mnist_conv_int8 has no independent reference: its expectation pins it
        assert record["accuracy"] == pytest.approx(REFERENCE_ACCURACY[name], abs=5e-5)
    diffs = compare(record, EXPECTED[name])
    hint = "\nif the change is intended: .venv/bin/python tests/build/update_golden.py " + name
    assert not diffs, "\n".join(diffs[:40]) + hint


def test_expectations_cover_every_case():
    assert set(EXPECTED) == set(CASES)
    for name, record in EXPECTED.items():
        assert record["files"] and all(len(h) == 64 for h in record["files"].values()), name
        assert any(p.startswith("hls/") for p in record["files"]) and "Makefile.vivado" in record["files"]


def test_float_model_fails_with_one_line(tmp_path):
    """mnist_conv (float CNN) has no quantized layer: one clear line, not a build."""
    out = tmp_path / "mc"
    result = CliRunner().invoke(main, ["build", str(DATA / "mnist_conv" / "model.onnx"), "-o", str(out)])
    assert result.exit_code == 2
    errors = [line for line in result.output.splitlines() if line.startswith("qnncc: error:")]
    assert len(errors) == 1 and "no layer of the model could be mapped to hardware" in errors[0]
    assert "Traceback" not in result.output and not out.exists()
