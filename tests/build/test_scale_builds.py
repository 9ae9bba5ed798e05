"""Issue 16, acceptance point 2: ``qnncc build --verify-data`` (4 images) of the full-size scale networks.

CNV-W2A2 on Pynq-Z1, MobileNet-v1 W4A4 on ZCU104 and ResNet-50 W1A2 (224x224) on U250, at the
target frame rates of ``benchmarks/bench_scale.py``: every partition's C++ simulation is bit-exact
with ``execute``, every stitch script passes the stub-Vivado check and, on the U250, the Vitis link
flow passes ``tests/vitis_stub`` (SLRs within their resources). Slow (minutes to an hour on 2 cores);
``benchmarks/bench_scale_build.py`` prints the wall time and peak RSS of the same builds.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import scale_graphs as sg
from vitis_stub.check import check_vitis_link
from vivado_stub.check import check_stitch_tcl

from qnncc.boards import get_board
from qnncc.flow.build import BuildConfig, build

CASES = {
    "cnv": (lambda: sg.cnv(2, 2), "Pynq-Z1", 3000.0),
    "mobilenet": (sg.mobilenet_v1, "ZCU104", 500.0),
    "resnet50": (sg.resnet50, "U250", 2000.0),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CASES))
def test_full_size_build_verifies_and_passes_the_checks(name: str, tmp_path: Path) -> None:
    make, board, fps = CASES[name]
    model = make()
    shape = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim][1:]
    data = tmp_path / "data.npz"
    np.savez(data, images=np.random.default_rng(16).integers(0, 256, (4, *shape)).astype(np.float32))
    out = tmp_path / name
    result = build(
        model, BuildConfig(output_dir=out, board=board, target_fps=fps, input_scale="1/255", verify_data=data)
    )
    figures = result.verification
    assert figures is not None and figures["bit_exact"] and figures["images"] == 4, figures
    b = get_board(board)
    for tcl in sorted(out.glob("**/stitch/stitch_ipi.tcl")):
        clock = float(json.loads((tcl.parent / "ip_catalog.json").read_text())["clock_ns"])
        report = check_stitch_tcl(tcl, tcl.parent / "ip_catalog.json", b, clock)
        assert report.ok, (tcl, report.problems)
    if b.shell == "alveo":
        vitis = check_vitis_link(out, b.name)
        assert vitis.ok, vitis.problems
