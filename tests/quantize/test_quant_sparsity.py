"""Sparsity: zeros-per-window histograms against brute force, the JSON record, pruning, threshold ReLU."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper
from qnncc.transforms.quantize import (
    SPARSITY_METADATA_KEY,
    LayerSparsity,
    PruneWeights,
    QuantizeAnnotate,
    SparsityAnnotate,
    ThresholdRelu,
    conv_histograms,
    gemm_histograms,
    network_sparsity,
    read_sparsity,
    read_tensor_sparsity,
    sparse_speedup,
    sparsity_hint,
    window_zero_counts,
)

import qnncc
from qnncc.core.errors import QnnccError
from qnncc.hw.perf import sparse_window_cycles


def brute_force(x, w, strides, pads, dil, group):
    """Per input channel: histograms of zero activations and of zero products x*w, by explicit loops."""
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    k = kh * kw
    xp = np.zeros((n, c, h + pads[0] + pads[2], wd + pads[1] + pads[3]), x.dtype)
    xp[:, :, pads[0] : pads[0] + h, pads[1] : pads[1] + wd] = x
    oh = (xp.shape[2] - (kh - 1) * dil[0] - 1) // strides[0] + 1
    ow = (xp.shape[3] - (kw - 1) * dil[1] - 1) // strides[1] + 1
    hist = np.zeros((c, k + 1), np.int64)
    hist_w = np.zeros((c, k + 1), np.int64)
    og = o // group
    for b in range(n):
        for ch in range(c):
            g = ch // cg
            for i in range(oh):
                for j in range(ow):
                    win = xp[b, ch, i * strides[0] : i * strides[0] + (kh - 1) * dil[0] + 1 : dil[0],
                             j * strides[1] : j * strides[1] + (kw - 1) * dil[1] + 1 : dil[1]]  # fmt: skip
                    hist[ch, int((win == 0).sum())] += 1
                    for oc in range(g * og, (g + 1) * og):
                        hist_w[ch, int((win * w[oc, ch % cg] == 0).sum())] += 1
    return hist, hist_w


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 2),  # batch
    st.sampled_from([(1, 2, 1), (2, 4, 2), (4, 4, 4), (3, 6, 1)]),  # group, out channels, in channels per group
    st.sampled_from([(1, 1), (2, 2), (3, 3), (2, 3)]),
    st.sampled_from([(1, 1), (2, 1)]),
    st.sampled_from([(0, 0, 0, 0), (1, 1, 1, 1), (0, 1, 2, 0)]),
    st.sampled_from([(1, 1), (2, 1)]),
    st.integers(0, 2**31 - 1),
)
def test_conv_histograms_match_brute_force(n, grouping, kernel, strides, pads, dil, seed):
    group, o, cg = grouping
    c = cg * group
    rng = np.random.default_rng(seed)
    x = rng.integers(-1, 2, (n, c, 6, 7)).astype(np.float32)  # about a third zeros
    w = rng.integers(-1, 2, (o, cg, *kernel)).astype(np.float32)
    hist, hist_w = conv_histograms(x, w, strides, pads, dil, group)
    ref, ref_w = brute_force(x, w, strides, pads, dil, group)
    np.testing.assert_array_equal(hist, ref)
    np.testing.assert_array_equal(hist_w, ref_w)
    counts = window_zero_counts(x, kernel, strides, pads, dil)
    assert counts.shape[:2] == (n, c) and int(counts.sum()) == int((ref * np.arange(ref.shape[1])).sum())


def test_gemm_histograms():
    x = np.array([[0, 1, 2], [0, 0, 3]], np.float32)
    w = np.array([[1, 0], [2, 3], [0, 0]], np.float32)  # y = x @ w, 3 features, 2 outputs
    hist, hist_w = gemm_histograms(x, w)
    assert hist.tolist() == [[0, 2], [1, 1], [2, 0]]
    # products per feature over 2 samples x 2 outputs: f0 all zero; f1: x=0 once (2), w nonzero; f2: w all zero
    assert hist_w.tolist() == [[0, 4], [2, 2], [0, 4]]


def small_cnn(opset: int = 13) -> qnncc.ModelWrapper:
    rng = np.random.default_rng(0)
    inits = [
        numpy_helper.from_array(rng.normal(0, 0.5, (4, 1, 3, 3)).astype(np.float32), "w1"),
        numpy_helper.from_array(rng.normal(0, 0.2, (4,)).astype(np.float32), "b1"),
        numpy_helper.from_array(rng.normal(0, 0.5, (3, 36)).astype(np.float32), "w2"),
        numpy_helper.from_array(rng.normal(0, 0.1, (1, 3)).astype(np.float32), "b2"),
        numpy_helper.from_array(np.array([1, 36], np.int64), "shape"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu"),
        helper.make_node("MaxPool", ["r1"], ["p1"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Reshape", ["p1", "shape"], ["f"], name="flat"),
        helper.make_node("Gemm", ["f", "w2", "b2"], ["y"], name="fc", transB=1),
    ]
    graph = helper.make_graph(
        nodes,
        "cnn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 6, 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 7
    return qnncc.ModelWrapper(model)


def test_sparsity_annotate_records_json():
    model = small_cnn()
    rng = np.random.default_rng(1)
    data = np.maximum(rng.normal(0, 1, (20, 1, 6, 6)), 0).astype(np.float32)
    sa = SparsityAnnotate(data, batch_size=7)
    model = model.transform(sa)
    assert [(lay.node, lay.op_type, lay.window, lay.channels) for lay in sa.layers] == [
        ("conv", "Conv", 9, 1),
        ("fc", "Gemm", 1, 36),
    ]
    conv = model.graph.node[0]
    text = next(kv.value for kv in conv.metadata_props if kv.key == SPARSITY_METADATA_KEY)
    record = json.loads(text)  # plain JSON data
    assert record["samples"] == 20 and record["kernel_shape"] == [3, 3] and len(record["histogram"][0]) == 10
    expected, _ = conv_histograms(data, model.get_initializer("w1"), pads=(1, 1, 1, 1))
    assert record["histogram"] == expected.tolist()
    parsed = read_sparsity(model, conv)
    assert parsed is not None and parsed.sparsity == pytest.approx(sa.layers[0].sparsity)
    assert read_tensor_sparsity(model, "w1") is not None  # also on the weight tensor, for HW layers
    model.check()  # metadata_props keep the standard nodes valid
    out = qnncc.execute(model, {"x": data})["y"]
    assert out.shape == (20, 3)
    # the perf model's hint and the sparse cycle estimate
    hint = sparsity_hint(parsed)
    assert hint.kernel_elems == 9 and sum(hint.histogram) == pytest.approx(1.0)
    fine1 = sum(p * max(1, 9 - j) for j, p in enumerate(hint.histogram))
    assert sparse_window_cycles(hint.histogram, 9, 1) == pytest.approx(fine1)
    assert sparse_speedup(parsed, 1) == pytest.approx(9 / fine1)
    assert 0 < network_sparsity(sa.layers) < 1


def test_sparsity_record_rejects_bad_json():
    with pytest.raises(QnnccError):
        LayerSparsity.from_json("n", '{"kernel_shape": [3, 3], "histogram": [[1, 2]]}')
    with pytest.raises(QnnccError):
        LayerSparsity.from_json("n", "__import__('os')")


def test_prune_weights_float_and_quantized():
    model = small_cnn()
    w1 = model.get_initializer("w1").copy()
    prune = PruneWeights(0.3)
    pruned = model.copy().transform(prune)
    expected = np.where(np.abs(w1) < 0.3, 0, w1)
    np.testing.assert_array_equal(pruned.get_initializer("w1"), expected)
    assert prune.pruned == int((np.abs(w1) < 0.3).sum()) + int((np.abs(model.get_initializer("w2")) < 0.3).sum())
    # on a QONNX graph, by the magnitude of the quantized weight; Quant(0) is exactly 0
    data = np.random.default_rng(2).uniform(0, 1, (10, 1, 6, 6)).astype(np.float32)
    q = model.copy().transform(QuantizeAnnotate("bfp8-layer", data))
    q = q.transform(PruneWeights(0.3))
    quant = next(n for n in q.graph.node if n.op_type == "Quant" and n.input[0] == "w1")
    from qnncc.custom_op import get_custom_op

    deq = get_custom_op(quant).execute([q.get_initializer(t) for t in quant.input])[0]
    assert np.all((deq == 0) | (np.abs(deq) >= 0.3))
    assert int((deq == 0).sum()) >= int((np.abs(w1) < 0.29).sum())
    with pytest.raises(QnnccError):
        PruneWeights(-1)


def test_threshold_relu_global_and_per_layer():
    model = small_cnn(opset=8)  # converted to an opset with ThresholdedRelu
    data = np.random.default_rng(3).normal(0, 1, (16, 1, 6, 6)).astype(np.float32)
    c1 = qnncc.execute(_with_output(model, "c1"), {"x": data})["c1"]  # conv output, before the ReLU
    tr = ThresholdRelu(0.25)
    m = model.copy().transform(tr)
    assert tr.replaced == {"relu": 0.25} and (m.get_opset("") or 0) >= 10
    node = next(n for n in m.graph.node if n.name == "relu")
    assert node.op_type == "ThresholdedRelu"
    got = qnncc.execute(_with_output(m, "r1"), {"x": data})["r1"]
    np.testing.assert_array_equal(got, np.where(c1 > 0.25, c1, 0))
    m2 = small_cnn().transform(ThresholdRelu({"relu": 0.0}))
    r0 = qnncc.execute(_with_output(m2, "r1"), {"x": data})["r1"]
    np.testing.assert_array_equal(r0, np.maximum(c1, 0))
    with pytest.raises(QnnccError):
        small_cnn().transform(ThresholdRelu({"nope": 0.1}))


def _with_output(model: qnncc.ModelWrapper, name: str) -> qnncc.ModelWrapper:
    m = model.copy()
    m.graph.output.append(onnx.helper.make_tensor_value_info(name, TensorProto.FLOAT, None))
    return m
