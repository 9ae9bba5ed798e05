"""QuantizeAnnotate on the golden mnist-conv and small graphs: structure, parameters, differential checks."""

from __future__ import annotations

import json

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper
from qnncc.transforms.quantize import (
    QUANT_METADATA_KEY,
    QuantizeAnnotate,
    activation_tensors,
    get_format,
    quantized_tensors,
)

import qnncc
from qnncc.core.errors import QnnccError

FORMATS = ["fixed16", "fixed8", "bfp8-layer", "bfp8-channel", "int8-channel", "int4-channel", "int3-tensor-affine"]


@pytest.fixture(scope="module")
def mnist_conv(golden_models):
    return golden_models["mnist_conv"]


@pytest.fixture(scope="module")
def data(mnist):
    images, labels = mnist
    return images[:100], images[5000:5040], labels[5000:5040]


@pytest.fixture(scope="module")
def quantized(mnist_conv, data):
    calib = data[0]
    return {f: mnist_conv.copy().transform(QuantizeAnnotate(f, calib)) for f in FORMATS}


def test_structure_and_names(quantized, mnist_conv):
    for fmt, model in quantized.items():
        quants = quantized_tensors(model)
        weights = [q for q in quants if q.is_weight]
        acts = [q for q in quants if not q.is_weight]
        assert len(weights) == 3, fmt
        # input, conv/relu/pool outputs x2, logits; the reshape before the Gemm only per channel
        assert len(acts) == (9 if get_format(fmt).act_scope == "channel" else 8), fmt
        assert model.graph_input_names() == mnist_conv.graph_input_names()
        assert model.graph_output_names() == mnist_conv.graph_output_names()
        assert model.graph.node[-1].op_type == "Quant"  # the logits are quantized too
        record = json.loads(next(kv.value for kv in model.model.metadata_props if kv.key == QUANT_METADATA_KEY))
        assert record["format"] == fmt and record["calibration_samples"] == 100
        model.check()


def test_parameter_scopes(quantized):
    fixed = quantized_tensors(quantized["fixed16"])
    w_scales = {float(q.params.scale) for q in fixed if q.is_weight}
    a_scales = {float(q.params.scale) for q in fixed if not q.is_weight}
    assert len(w_scales) == 1 and len(a_scales) == 1  # one range for all weights, one for all activations
    assert all(q.params.bits == 16 for q in fixed)
    layer = [q for q in quantized_tensors(quantized["bfp8-layer"]) if q.is_weight]
    assert len({float(q.params.scale) for q in layer}) == 3
    chan = {q.layer: q for q in quantized_tensors(quantized["bfp8-channel"])}
    assert chan["Convolution28"].params.scale.shape in ((8, 1, 1, 1), (1, 8, 1, 1))
    shapes = sorted(q.params.scale.shape for q in quantized_tensors(quantized["bfp8-channel"]) if q.is_weight)
    assert shapes == [(1, 10), (8, 1, 1, 1), (16, 1, 1, 1)]  # Gemm [256, 10] (transB=0): per column
    acts = [q for q in quantized_tensors(quantized["bfp8-channel"]) if not q.is_weight]
    assert acts[1].params.scale.shape == (1, 8, 1, 1)
    int8 = quantized_tensors(quantized["int8-channel"])
    assert all(float(np.max(np.abs(q.params.zeropt))) == 0 for q in int8)
    assert all(q.params.narrow and q.params.signed for q in int8 if q.is_weight)
    first = next(q for q in int8 if not q.is_weight)
    assert first.source == "Input3" and not first.params.signed and float(first.params.scale) == 1.0  # pixels 0..255


def test_affine_activation_ranges_follow_calibration(mnist_conv, data):
    qa = QuantizeAnnotate("bfp8-layer", data[0])
    model = mnist_conv.copy().transform(qa)
    assert qa.stats is not None
    for q in quantized_tensors(model):
        if q.is_weight:
            continue
        lo, hi = qa.stats.tensor_range(q.source if q.source in qa.stats.lo else q.output)
        scale = 255.0 / max(float(hi - lo), 1e-8)
        assert float(q.params.scale) == pytest.approx(1 / scale, rel=1e-6)
        assert float(q.params.zeropt) == -(np.round(scale * float(lo)) + 128)


@pytest.mark.parametrize("fmt", FORMATS)
def test_fast_equals_node_by_node(quantized, data, fmt):
    model = quantized[fmt]
    rng = np.random.default_rng(0)
    feeds = [data[1][:16], rng.uniform(0, 255, (4, 1, 28, 28)).astype(np.float32), rng.normal(0, 300, (4, 1, 28, 28))]
    for x in feeds:
        fast = qnncc.execute(model, {"Input3": x.astype(np.float32)})["Plus214_Output_0"]
        ref = qnncc.execute(model, {"Input3": x.astype(np.float32)}, backend="reference")["Plus214_Output_0"]
        np.testing.assert_array_equal(fast, ref)


def test_float_format_is_the_float_model(mnist_conv, data):
    model = mnist_conv.copy().transform(QuantizeAnnotate("float32"))
    assert [n.op_type for n in model.graph.node] == [n.op_type for n in mnist_conv.graph.node]
    x = data[1]
    a = qnncc.execute(model, {"Input3": x})["Plus214_Output_0"]
    b = qnncc.execute(mnist_conv, {"Input3": x})["Plus214_Output_0"]
    np.testing.assert_array_equal(a, b)


def test_quantized_close_to_float(quantized, mnist_conv, data):
    x, labels = data[1], data[2]
    ref = qnncc.execute(mnist_conv, {"Input3": x})["Plus214_Output_0"]
    for fmt in ("fixed16", "bfp8-channel", "int8-channel"):
        out = qnncc.execute(quantized[fmt], {"Input3": x})["Plus214_Output_0"]
        assert np.mean(out.argmax(1) == ref.argmax(1)) >= 0.97, fmt
    f16 = qnncc.execute(quantized["fixed16"], {"Input3": x})["Plus214_Output_0"]
    np.testing.assert_allclose(f16, ref, atol=2e-2 * np.abs(ref).max())
    assert np.mean(ref.argmax(1) == labels) > 0.95


def test_calibration_iterator_equals_array(mnist_conv, data):
    calib = data[0]
    a = mnist_conv.copy().transform(QuantizeAnnotate("bfp8-channel", calib, batch_size=100))
    b = mnist_conv.copy().transform(QuantizeAnnotate("bfp8-channel", iter([calib[:30], calib[30:70], calib[70:]])))
    c = mnist_conv.copy().transform(
        QuantizeAnnotate("bfp8-channel", {"Input3": calib[:, 0]})
    )  # reshaped to [N,1,28,28]
    for other in (b, c):
        for qa, qb in zip(quantized_tensors(a), quantized_tensors(other), strict=True):
            np.testing.assert_array_equal(qa.params.scale, qb.params.scale)
            np.testing.assert_array_equal(qa.params.zeropt, qb.params.zeropt)


def test_errors(mnist_conv, quantized, data):
    with pytest.raises(QnnccError, match="calibration"):
        mnist_conv.copy().transform(QuantizeAnnotate("fixed8"))
    with pytest.raises(QnnccError, match="already has Quant"):
        quantized["fixed8"].copy().transform(QuantizeAnnotate("fixed8", data[0]))
    with pytest.raises(QnnccError, match="does not fit"):
        mnist_conv.copy().transform(QuantizeAnnotate("fixed8", np.zeros((4, 27, 28), np.float32)))
    with pytest.raises(QnnccError, match="empty"):
        mnist_conv.copy().transform(QuantizeAnnotate("fixed8", []))


def test_qonnx_reads_and_executes_the_result(quantized, data, tmp_path):
    qonnx = pytest.importorskip("qonnx.core.onnx_exec")
    from qonnx.core.modelwrapper import ModelWrapper as QonnxModel

    path = tmp_path / "int4.onnx"
    quantized["int4-channel"].save(path)
    qmodel = QonnxModel(str(path))
    x = data[1][:2]
    for i in range(2):
        theirs = qonnx.execute_onnx(qmodel, {"Input3": x[i : i + 1]})["Plus214_Output_0"]
        ours = qnncc.execute(quantized["int4-channel"], {"Input3": x[i : i + 1]})["Plus214_Output_0"]
        np.testing.assert_allclose(theirs, ours, rtol=1e-5, atol=1e-5)


def test_matmul_and_transposed_gemm_weights_per_output_channel():
    rng = np.random.default_rng(0)
    w1 = rng.normal(0, 1, (6, 4)).astype(np.float32)  # Gemm transB=1: [N=6, K=4]
    w2 = rng.normal(0, 1, (6, 3)).astype(np.float32)  # MatMul: [K=6, N=3]
    graph = helper.make_graph(
        [
            helper.make_node("Gemm", ["x", "w1"], ["h"], name="gemm", transB=1),
            helper.make_node("Relu", ["h"], ["r"], name="relu"),
            helper.make_node("MatMul", ["r", "w2"], ["y"], name="mm"),
        ],
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])],
        [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2")],
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    proto.ir_version = 7
    model = qnncc.ModelWrapper(proto)
    x = rng.normal(0, 1, (50, 4)).astype(np.float32)
    assert activation_tensors(model) == ["x", "h", "r", "y"]
    q = model.transform(QuantizeAnnotate("int4-channel", x))
    scales = {t.layer: t.params.scale.shape for t in quantized_tensors(q) if t.is_weight}
    assert scales == {"gemm": (6, 1), "mm": (1, 3)}
    got = qnncc.execute(q, {"x": x})["y"]
    ref = qnncc.execute(q, {"x": x}, backend="reference")["y"]
    np.testing.assert_array_equal(got, ref)
