"""The ``qnncc`` command line: demo, inspect, and one-line errors."""

from __future__ import annotations

from click.testing import CliRunner
from conftest import DATA

from qnncc.cli import main
from qnncc.cli.errors import EXIT_USER_ERROR
from qnncc.data import demo_model_path


def test_demo_runs_and_checks():
    result = CliRunner().invoke(main, ["demo"])
    assert result.exit_code == 0, result.output
    assert "OK: all runs agree" in result.output
    assert "streamline" in result.output and "TopK" in result.output


def test_inspect_prints_layer_table():
    result = CliRunner().invoke(main, ["inspect", str(demo_model_path())])
    assert result.exit_code == 0, result.output
    assert "MultiThreshold" in result.output and "BIPOLAR" in result.output


def test_bad_model_gives_one_line_error(tmp_path):
    bad = tmp_path / "broken.onnx"
    bad.write_bytes((DATA / "mnist_conv" / "model.onnx").read_bytes()[:1000])
    result = CliRunner().invoke(main, ["inspect", str(bad)])
    assert result.exit_code == EXIT_USER_ERROR
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("qnncc: error:") and "broken.onnx" in lines[0]
    assert "Traceback" not in result.output


def test_missing_file_is_a_clean_error(tmp_path):
    result = CliRunner().invoke(main, ["inspect", str(tmp_path / "nope.onnx")])
    assert result.exit_code == EXIT_USER_ERROR
    assert "does not exist" in result.output
