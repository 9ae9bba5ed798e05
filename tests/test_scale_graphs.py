"""The seeded exports of CNV, MobileNet-v1 and ResNet-50 (``tests/scale_graphs.py``) are valid Brevitas-style QONNX."""

from __future__ import annotations

from collections import Counter

import numpy as np
import onnx
import pytest
import scale_graphs as sg

import qnncc
from qnncc import ModelWrapper
from qnncc.ingest import load


def pixels(model: ModelWrapper, batch: int = 1, seed: int = 0) -> np.ndarray:
    """Random pixels / 255 in the model's input shape."""
    shape = [batch, *[d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim][1:]]
    return (np.random.default_rng(seed).integers(0, 256, shape) / 255).astype(np.float32)


def ops(model: ModelWrapper) -> Counter[str]:
    return Counter(n.op_type for n in model.graph.node)


SMALL = {
    "cnv_w1a1": lambda: sg.cnv(1, 1, width=0.25),
    "cnv_w2a2": lambda: sg.cnv(2, 2, width=0.25),
    "mobilenet": lambda: sg.mobilenet_v1(width=0.125, resolution=32, classes=10),
    "resnet50": lambda: sg.resnet50(width=0.0625, resolution=32, classes=10, blocks=(1, 1, 1, 1)),
}


@pytest.mark.parametrize("name", SMALL)
def test_small_exports_load_and_execute_identically(name: str, tmp_path) -> None:
    model = SMALL[name]()
    onnx.checker.check_model(model.model)
    onnx.save(model.model, tmp_path / "m.onnx")
    loaded = load(tmp_path / "m.onnx", simplify=False)
    x = pixels(loaded)
    fast = qnncc.execute(loaded, {"x": x})
    ref = qnncc.execute(loaded, {"x": x}, backend="reference")
    out = loaded.graph_output_names()[0]
    # the float head (Gemm + bias) may differ in the last float bit between the fused and per-node paths
    np.testing.assert_allclose(fast[out], ref[out], rtol=1e-5, atol=1e-5)
    assert fast[out].argmax() == ref[out].argmax()
    assert np.unique(fast[out]).size > 1  # random weights, but not a degenerate network


def test_same_seed_same_model_other_seed_other_weights() -> None:
    a, b, c = sg.cnv(seed=3, width=0.25), sg.cnv(seed=3, width=0.25), sg.cnv(seed=4, width=0.25)
    assert a.model.SerializeToString() == b.model.SerializeToString()
    assert a.model.SerializeToString() != c.model.SerializeToString()


def test_topologies_match_the_published_networks() -> None:
    cnv = sg.cnv(2, 2)
    assert ops(cnv)["Conv"] == 6 and ops(cnv)["MaxPool"] == 2 and ops(cnv)["Gemm"] == 3
    mnv = sg.mobilenet_v1(width=0.25, resolution=64)
    convs = [n for n in mnv.graph.node if n.op_type == "Conv"]
    depthwise = [n for n in convs if mnv.get_nodeattr(n, "group", 1) > 1]
    assert len(convs) == 27 and len(depthwise) == 13
    tail = [n.op_type for n in mnv.graph.node if n.op_type != "Quant"][-5:]
    assert tail == ["AveragePool", "Mul", "Trunc", "Reshape", "Gemm"]
    rn = sg.resnet50(width=0.0625, resolution=64)
    counts = ops(rn)
    assert counts["Add"] == 16 and counts["Conv"] == 1 + 16 * 3 + 4 and counts["BipolarQuant"] == 16 * 3 + 4
    stem_pool = rn.get_nodes_by_op_type("MaxPool")[0]
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in stem_pool.attribute}
    assert attrs["kernel_shape"] == [3, 3] and attrs["strides"] == [2, 2] and attrs["pads"] == [1, 1, 1, 1]
    # both inputs of every residual Add go through Quant nodes sharing one scale tensor
    for add in rn.get_nodes_by_op_type("Add"):
        producers = [rn.find_producer(t) for t in add.input]
        assert all(p is not None and p.op_type == "Quant" for p in producers)
        assert producers[0].input[1] == producers[1].input[1]


@pytest.mark.slow
def test_full_size_parameter_counts() -> None:
    """Weights as published: CNV 1.5 M, MobileNet-v1 4.2 M, ResNet-50 25.5 M (+ BN statistics and scales)."""

    def weights(model: ModelWrapper) -> int:
        return sum(int(np.prod(t.dims)) for t in model.graph.initializer if t.name.startswith("w_"))

    assert 1.5e6 < weights(sg.cnv(1, 1)) < 1.6e6
    assert 4.2e6 < weights(sg.mobilenet_v1()) < 4.3e6
    assert 25.5e6 < weights(sg.resnet50()) < 25.7e6
