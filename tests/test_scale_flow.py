"""ImageNet-scale networks through ``qnncc.estimate``: all of the network in HW, bit-exact, and the figures.

CI runs ResNet-50 (all 16 bottlenecks, 1/16 width, 64x64) and CNV-W1A1 at full size: one dataflow
partition holds the stem conv, the padded stem max pool, the residual blocks, the truncating global
pool and the classifier, only the float head (per-class scale and bias before the top-1) and the
input transpose stay in software, and the HW model predicts what the QONNX export predicts.
``make test-full`` checks the acceptance figures of issue 16 on the full-size models (also printed
by ``benchmarks/bench_scale.py``).
"""

from __future__ import annotations

import numpy as np
import pytest
import scale_graphs as sg

import qnncc
from qnncc import ModelWrapper
from qnncc.flow.estimate import EstimateResult, estimate

HEAD = ["Transpose", "Mul", "Add", "TopK"]


def predictions(model: ModelWrapper, x: np.ndarray) -> np.ndarray:
    name = model.graph_output_names()[0]
    out = np.concatenate([qnncc.execute(model, {model.graph_input_names()[0]: xi[None]})[name] for xi in x])
    flat = out.reshape(len(x), -1)
    return flat.reshape(-1) if flat.shape[1] == 1 else flat.argmax(-1)


def check_in_hw_and_exact(source: ModelWrapper, result: EstimateResult, images: int = 4) -> None:
    assert [op for _, op in result.software_nodes] == HEAD, result.software_report
    assert len(result.partitions) == 1
    shape = [images, *[d.dim_value for d in source.graph.input[0].type.tensor_type.shape.dim][1:]]
    pixels = np.random.default_rng(16).integers(0, 256, shape).astype(np.float32)
    np.testing.assert_array_equal(predictions(result.model, pixels), predictions(source, pixels / np.float32(255)))


def test_resnet50_small_is_one_partition_and_bit_exact() -> None:
    source = sg.resnet50(width=0.0625, resolution=64, classes=10)
    result = estimate(source.copy(), board="U250", input_scale="1/255")
    check_in_hw_and_exact(source, result)
    layers = [name.rsplit("_", 1)[0] for name, _ in result.layers]
    assert layers.count("AddStreams") == 16 and layers.count("Pool") == 1 and layers.count("GlobalAccPool") == 1


def test_cnv_w1a1_is_one_partition_and_bit_exact() -> None:
    source = sg.cnv(1, 1)
    check_in_hw_and_exact(source, estimate(source.copy(), board="Pynq-Z1", input_scale="1/255"))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "board", "fps"),
    [("resnet50", "U250", 2000), ("mobilenet", "ZCU104", 500), ("cnv", "Pynq-Z1", 3000)],
)
def test_full_size_estimate_meets_the_target_within_85_percent(name: str, board: str, fps: float) -> None:
    model = {"resnet50": sg.resnet50, "mobilenet": sg.mobilenet_v1, "cnv": lambda: sg.cnv(2, 2)}[name]()
    result = estimate(model, board=board, input_scale="1/255", target_fps=fps)
    reached = result.reports["estimate_network_performance.json"]["estimated_throughput_fps"]
    assert reached >= fps and result.fit.fits, (reached, result.fit.utilisation, result.folding_notes)
    assert [op for _, op in result.software_nodes] == HEAD
