"""`qnncc build`: the output folder, the verification figures, and failures that leave no finished folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from qnncc.cli import main
from qnncc.data import demo_model_path
from qnncc.flow.build import BuildConfig, build
from qnncc.flow.steps import step_names

FOLDING = demo_model_path().parent / "tfc_w1a1_folding_config.json"


@pytest.fixture(scope="module")
def verify_npz(tmp_path_factory, mnist) -> Path:
    images, labels = mnist
    path = tmp_path_factory.mktemp("data") / "mnist.npz"
    np.savez(path, images=images.reshape(len(images), -1), labels=labels)
    return path


def test_cli_build_tfc_writes_every_part_and_verifies(tmp_path, verify_npz):
    out = tmp_path / "tfc"
    args = ["build", str(demo_model_path()), "--folding", str(FOLDING), "-o", str(out)]
    result = CliRunner().invoke(main, [*args, "--verify-data", str(verify_npz), "--verify-count", "300"])
    assert result.exit_code == 0, result.output
    assert "300 images bit-exact" in result.output
    for sub in ("intermediate_models", "report", "hls", "stitch", "driver", "verification"):
        assert (out / sub).is_dir(), sub
    for name in ("Makefile.vivado", "build_log.json", "stitch/stitch_ipi.tcl", "driver/driver.py", "hls/qnncc_tlast_0"):
        assert (out / name).exists(), name
    figures = json.loads((out / "verification" / "cppsim_results.json").read_text())
    assert figures["bit_exact"] and figures["images"] == 300
    assert figures["accuracy"] > 0.9
    log = json.loads((out / "build_log.json").read_text())
    # every step of the HLS backend, verify included (not the RTL backend's rtl, not synth without --synth)
    assert list(log["steps_seconds"]) == [s for s in step_names() if s not in ("rtl", "synth")]
    assert log["status"] == "complete"
    for name in ("build.log", "report/summary.md", "report/summary.html", "report/estimate_layer_cycles.json"):
        assert (out / name).exists(), name
    assert not (tmp_path / "tfc.incomplete").exists()


def test_build_api_generic_shell(tmp_path):
    config = BuildConfig(output_dir=tmp_path / "ip", folding=FOLDING, shell="generic")
    result = build(demo_model_path(), config)
    assert result.layers[0] == "Thresholding_0" and result.layers[-1] == "LabelSelect_0"
    tcl = (tmp_path / "ip" / "stitch" / "stitch_ipi.tcl").read_text()
    assert "make_bd_intf_pins_external -name s_axis_0" in tcl and "axi_dma" not in tcl
    assert result.verification is None


def test_failed_build_leaves_no_finished_folder(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    result = CliRunner().invoke(main, ["build", str(bad), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2
    errors = [line for line in result.output.splitlines() if "error" in line]
    assert len(errors) == 1 and errors[0].startswith("qnncc: error:") and "bad.onnx" in errors[0]
    assert not (tmp_path / "out").exists()


def test_build_config_rejects_unknown_fields(tmp_path):
    with pytest.raises(ValueError, match="extra"):
        BuildConfig(output_dir=tmp_path, bord="Pynq-Z1")  # type: ignore[call-arg]


def test_model_with_unmappable_op_reports_software_and_builds(tmp_path):
    """A Softmax appended to a Brevitas CNN stays in software with a reason; the rest builds."""
    import onnx
    from onnx import helper

    model = onnx.load(str(Path(__file__).parent / "data" / "brevitas_dev" / "cnv3_w2a2" / "model_qonnx.onnx"))
    out = model.graph.output[0]
    model.graph.node.append(helper.make_node("Softmax", [out.name], ["probs"], name="appended_softmax", axis=-1))
    del model.graph.output[:]
    model.graph.output.append(helper.make_tensor_value_info("probs", onnx.TensorProto.FLOAT, [1, 10]))
    path = tmp_path / "cnv3_softmax.onnx"
    onnx.save(model, str(path))
    result = CliRunner().invoke(main, ["build", str(path), "--input-scale", "1/255", "-o", str(tmp_path / "b")])
    assert result.exit_code == 0, result.output
    assert "Softmax" in result.output and "kept in software" in result.output
    summary = (tmp_path / "b" / "report" / "summary.md").read_text()
    assert "Softmax" in summary and "kept in software" in summary
    assert (tmp_path / "b" / "hls" / "ConvolutionInputGenerator_0").is_dir()
