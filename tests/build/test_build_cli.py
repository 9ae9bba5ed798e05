"""`qnncc build` / `qnncc verify` on the command line: one-line errors, exit codes, help, config files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from onnx import TensorProto, helper

from qnncc.cli import main
from qnncc.data import demo_inputs, demo_model_path

MODEL = str(demo_model_path())
FOLDING = demo_model_path().parent / "tfc_w1a1_folding_config.json"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def one_error_line(output: str) -> str:
    """The single `qnncc: error:` line of a failed command (and no traceback)."""
    errors = [line for line in output.splitlines() if "error" in line.lower()]
    assert len(errors) == 1, output
    assert errors[0].startswith("qnncc: error: ") and "Traceback" not in output
    return errors[0]


@pytest.fixture(scope="module")
def demo_npz(tmp_path_factory) -> Path:
    images, labels = demo_inputs()
    path = tmp_path_factory.mktemp("data") / "demo.npz"
    np.savez(path, images=images, labels=labels)
    return path


# ---------------------------------------------------------------- the four errors of the issue
def test_missing_model_file(tmp_path):
    code, out = run("build", str(tmp_path / "nope.onnx"), "-o", str(tmp_path / "b"))
    assert code == 2 and "nope.onnx does not exist" in one_error_line(out)
    assert not any(tmp_path.iterdir())  # no folder written


def test_unknown_board(tmp_path):
    code, out = run("build", MODEL, "--board", "Pynq-Z9", "-o", str(tmp_path / "b"))
    line = one_error_line(out)
    assert code == 2 and "unknown board 'Pynq-Z9'" in line and "Pynq-Z1" in line
    assert not any(tmp_path.iterdir())


def test_unsupported_op(tmp_path):
    nodes = [
        helper.make_node("Relu", ["x"], ["a"], name="relu"),
        helper.make_node("Frobnicate", ["a"], ["y"], name="fr"),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
    )
    path = tmp_path / "odd.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    code, out = run("build", str(path), "-o", str(tmp_path / "b"))
    line = one_error_line(out)
    assert code == 2 and "Frobnicate" in line and "'fr'" in line and "step 'load' failed" in line
    assert not (tmp_path / "b").exists() and (tmp_path / "b.incomplete" / "build.log").exists()


def test_folding_file_with_wrong_names(tmp_path):
    wrong = tmp_path / "folding.json"
    wrong.write_text(json.dumps({"Defaults": {}, "MVAU_hls_7": {"PE": 2}, "Conv_0": {"SIMD": 4}}))
    code, out = run("build", MODEL, "--folding", str(wrong), "-o", str(tmp_path / "b"))
    line = one_error_line(out)
    assert (
        code == 2
        and "no entry names a layer" in line
        and "none" not in line
        and "'MVAU_hls_7'" in line
        and "MVAU_0" in line
    )
    assert not (tmp_path / "b").exists()


def test_one_misspelt_folding_name_warns_or_fails_when_strict(tmp_path):
    code, out = run("build", MODEL, "--folding", str(FOLDING), "--to-step", "fold", "-o", str(tmp_path / "a"))
    assert code == 0 and "warning" in out and "did you mean 'MVAU_3'?" in out
    code, out = run(
        "build", MODEL, "--folding", str(FOLDING), "--strict-folding", "--to-step", "fold", "-o", str(tmp_path / "b")
    )
    assert code == 2 and "'MVA_hls_3' (did you mean 'MVAU_3'?)" in one_error_line(out)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--folding", "missing.json"], "folding file missing.json does not exist"),
        (["--verify-data", "missing.npz"], "verification data missing.npz does not exist"),
        (["--clock-ns", "-5"], "error: --clock-ns: Input should be greater than 0"),
        (["--steps", "load,warp"], "--steps: unknown steps ['warp']"),
        (["--target-fps", "1000", "--folding", str(FOLDING)], "not both"),
        (["--from-step", "hls"], "cannot resume at step 'hls'"),
    ],
)
def test_bad_options_are_one_line(tmp_path, args, needle):
    code, out = run("build", MODEL, "-o", str(tmp_path / "b"), *args)
    assert code == 2 and needle in one_error_line(out)


def test_internal_error_is_one_line_and_debug_shows_the_traceback(tmp_path, monkeypatch):
    from qnncc.flow import steps as build_steps

    def broken(ctx, model):
        raise KeyError("boom")

    monkeypatch.setitem(build_steps._FIXED, "partition", broken)
    code, out = run("build", MODEL, "-o", str(tmp_path / "b"))
    assert code == 2 and "step 'partition' failed: KeyError: 'boom'" in one_error_line(out)
    result = CliRunner().invoke(main, ["--debug", "build", MODEL, "-o", str(tmp_path / "c")])
    assert result.exit_code != 0 and isinstance(result.exception, Exception)
    assert "boom" in repr(result.exception.__cause__)


# ---------------------------------------------------------------- help, steps, config, verify
@pytest.mark.parametrize("command", [[], ["build"], ["verify"], ["estimate"], ["inspect"], ["boards"], ["demo"]])
def test_help_everywhere(command):
    code, out = run(*command, "--help")
    assert code == 0 and "Usage:" in out


def test_list_steps():
    code, out = run("build", MODEL, "--list-steps")
    assert code == 0 and out.split()[0] == "load" and "fifo" in out.split() and out.split()[-1] == "verify"


def test_config_file_with_command_line_override(tmp_path):
    config = tmp_path / "build.yaml"
    config.write_text(f"board: Pynq-Z2\nfolding: {FOLDING}\noutput_dir: from_config\nto_step: estimate\n")
    code, out = run("build", MODEL, "--config", str(config), "--board", "Ultra96", "--no-plots")
    assert code == 0, out
    log = json.loads((tmp_path / "from_config" / "build_log.json").read_text())
    assert log["config"]["board"] == "Ultra96" and log["config"]["to_step"] == "estimate"
    assert not (tmp_path / "from_config" / "report" / "layer_cycles.png").exists()
    (tmp_path / "bad.json").write_text('{"output_dir": "x", "clock": 5}')
    code, out = run("build", MODEL, "--config", str(tmp_path / "bad.json"))
    assert code == 2 and "clock: unknown setting" in one_error_line(out)


def test_verify_command(tmp_path, demo_npz):
    out_dir = tmp_path / "tfc"
    code, out = run("build", MODEL, "--folding", str(FOLDING), "--no-plots", "-o", str(out_dir))
    assert code == 0, out
    code, out = run("verify", str(out_dir), "--data", str(demo_npz))
    assert code == 0 and "4 images bit-exact with execute, accuracy 100.00%" in out
    figures = json.loads((out_dir / "verification" / "cppsim_results.json").read_text())
    assert figures["bit_exact"] and figures["images"] == 4
    assert "Verification (C++ simulation)" in (out_dir / "report" / "summary.md").read_text()
    code, out = run("verify", str(tmp_path / "nothing"), "--data", str(demo_npz))
    assert code == 2 and "does not exist" in one_error_line(out)
    code, out = run("verify", str(out_dir), "--data", str(tmp_path / "none.npz"))
    assert code == 2 and "none.npz does not exist" in one_error_line(out)


def test_verify_reports_a_mismatch_with_status_1(tmp_path, demo_npz, monkeypatch):
    out_dir = tmp_path / "tfc"
    assert run("build", MODEL, "--folding", str(FOLDING), "--to-step", "fifo", "-o", str(out_dir))[0] == 0

    def differs(*args, **kwargs):
        return {"images": 4, "bit_exact": False, "mismatching_images": 1, "compile_seconds": 0, "simulation_seconds": 0}

    monkeypatch.setattr("qnncc.flow.verify.verify_partition", differs)
    code, out = run("verify", str(out_dir), "--data", str(demo_npz))
    assert code == 1 and "verification failed: 1 of 4 images differ" in out
