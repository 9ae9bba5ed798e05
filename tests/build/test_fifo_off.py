"""``--fifo-sizing off`` is never presented as safe for a design that forks and joins streams."""

from __future__ import annotations

import json

from conftest import DATA

from qnncc.flow.build import BuildConfig, build

RESIDUAL = DATA / "brevitas_dev" / "res2_w3a3" / "model_qonnx.onnx"


def test_off_warns_about_unsized_joins(tmp_path):
    out = tmp_path / "res2"
    result = build(RESIDUAL, BuildConfig(output_dir=out, input_scale="1/255", fifo_sizing="off", to_step="fifo"))
    (warning,) = [w for w in result.warnings if w.startswith("--fifo-sizing off")]
    assert "AddStreams" in warning and "deadlock" in warning
    report = json.loads((out / "report" / "fifo_depths.json").read_text())
    assert report["fifos"] == [] and len(report["unsized_joins"]) == 2  # the two residual joins


def test_sim_sizes_the_joins_without_warning(tmp_path):
    out = tmp_path / "res2"
    result = build(RESIDUAL, BuildConfig(output_dir=out, input_scale="1/255", to_step="fifo"))
    assert not [w for w in result.warnings if "deadlock" in w]
    report = json.loads((out / "report" / "fifo_depths.json").read_text())
    assert report["fifos"] and "unsized_joins" not in report
