"""Im2Col and MaxPoolNHWC: numpy execute, onnxruntime lowering, shapes, datatypes, QONNX parity."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from qnncc.transforms import InferShapes

import qnncc
from qnncc import DataType, ModelWrapper
from qnncc.core.errors import ExecutionError, UnsupportedOpError
from qnncc.custom_op import get_custom_op
from qnncc.custom_op.im2col import im2col_gather_indices, im2col_nhwc
from qnncc.custom_op.maxpool_nhwc import maxpool_nhwc

DOMAIN = "qonnx.custom_op.general"


def single_node(op_type: str, in_shape: list[int], opset: int = 13, **attrs: Any) -> ModelWrapper:
    node = helper.make_node(op_type, ["x"], ["y"], name=f"{op_type}_0", domain=DOMAIN, **attrs)
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset), helper.make_opsetid(DOMAIN, 1)])
    return ModelWrapper(model)


def im2col_model(shape: list[int], opset: int = 13, **attrs: Any) -> ModelWrapper:
    return single_node("Im2Col", shape, opset, input_shape=str(tuple(shape)), **attrs)


def naive_im2col(x: np.ndarray, k: list[int], s: list[int], p: list[int], pv: float, d: list[int]) -> np.ndarray:
    """Element-by-element definition, independent of both implementations under test."""
    n, h, w, c = x.shape
    oh = (h + p[0] + p[2] - d[0] * (k[0] - 1) - 1) // s[0] + 1
    ow = (w + p[1] + p[3] - d[1] * (k[1] - 1) - 1) // s[1] + 1
    out = np.zeros((n, oh, ow, k[0] * k[1] * c), np.float32)
    for b, r, q, i, j, ch in itertools.product(range(n), range(oh), range(ow), range(k[0]), range(k[1]), range(c)):
        y, z = r * s[0] + i * d[0] - p[0], q * s[1] + j * d[1] - p[1]
        inside = 0 <= y < h and 0 <= z < w
        out[b, r, q, (i * k[1] + j) * c + ch] = x[b, y, z, ch] if inside else pv
    return out


def qonnx_execute(op_type: str, x: np.ndarray, **attrs: Any) -> np.ndarray:
    """Run one QONNX custom node with QONNX's own executor."""
    from qonnx.core.datatype import DataType as QDataType
    from qonnx.core.modelwrapper import ModelWrapper as QModelWrapper
    from qonnx.core.onnx_exec import execute_onnx
    from qonnx.transformation.infer_shapes import InferShapes as QInferShapes
    from qonnx.util.basic import qonnx_make_model

    node = helper.make_node(op_type, ["x"], ["y"], domain=DOMAIN, **attrs)
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x.shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    )
    model = QModelWrapper(qonnx_make_model(graph))
    model.set_tensor_datatype("x", QDataType["INT8"])
    model = model.transform(QInferShapes())
    return np.asarray(execute_onnx(model, {"x": x})["y"])


# (shape NHWC, kernel, stride, pad_amount, dilations, pad_value)
IM2COL_CASES = [
    ([1, 5, 5, 1], [3, 3], [1, 1], [0, 0, 0, 0], [1, 1], 0),
    ([2, 6, 7, 3], [3, 3], [1, 1], [1, 1, 1, 1], [1, 1], 0),
    ([2, 8, 8, 2], [3, 3], [2, 2], [1, 1, 1, 1], [1, 1], 0),
    ([1, 9, 6, 4], [5, 5], [1, 1], [2, 2, 2, 2], [1, 1], 0),
    ([2, 7, 9, 2], [2, 3], [2, 1], [0, 1, 1, 2], [1, 1], 3),
    ([1, 10, 10, 3], [3, 3], [1, 2], [2, 0, 1, 1], [2, 2], -2),
    ([3, 4, 4, 5], [1, 1], [1, 1], [0, 0, 0, 0], [1, 1], 0),
    ([1, 6, 6, 2], [1, 1], [2, 2], [1, 1, 1, 1], [1, 1], 1),
    ([2, 1, 12, 3], [1, 3], [1, 1], [0, 1, 0, 1], [1, 1], 0),  # 1-D conv as 2-D (H = 1)
    ([1, 7, 7, 8], [4, 4], [3, 3], [0, 0, 0, 0], [1, 1], 0),
]


@pytest.mark.parametrize(("shape", "kernel", "stride", "pads", "dil", "pad_value"), IM2COL_CASES)
def test_im2col_fast_reference_naive_and_qonnx_agree(
    shape: list[int], kernel: list[int], stride: list[int], pads: list[int], dil: list[int], pad_value: int
) -> None:
    attrs: dict[str, Any] = {
        "kernel_size": kernel,
        "stride": stride,
        "pad_amount": pads,
        "dilations": dil,
        "pad_value": pad_value,
    }
    model = im2col_model([1, *shape[1:]], **attrs)
    rng = np.random.default_rng(sum(shape))
    x = rng.integers(-8, 8, size=shape).astype(np.float32)
    fast = qnncc.execute(model, {"x": x})["y"]
    ref = qnncc.execute(model, {"x": x}, backend="reference")["y"]
    expected = naive_im2col(x, kernel, stride, pads, pad_value, dil)
    assert fast.shape == expected.shape
    np.testing.assert_array_equal(ref, expected)
    np.testing.assert_array_equal(fast, expected)
    # QONNX's execute_node is only right for batch 1 (it scrambles the batch), so compare per image
    for b in range(shape[0]):
        theirs = qonnx_execute("Im2Col", x[b : b + 1], input_shape=str((1, *shape[1:])), **attrs)
        np.testing.assert_array_equal(ref[b : b + 1], theirs)


def test_gather_indices_pick_the_patch_elements() -> None:
    h, w, kernel, stride, pads, dil = 6, 5, [3, 2], [2, 1], [1, 0, 2, 1], [1, 2]
    idx = im2col_gather_indices(h, w, kernel, stride, pads, dil)
    x = np.arange(h * w, dtype=np.float32).reshape(1, h, w, 1) + 1
    padded = np.pad(x, ((0, 0), (pads[0], pads[2]), (pads[1], pads[3]), (0, 0)))
    via_idx = padded.reshape(-1)[idx].reshape(1, *im2col_nhwc(x, kernel, stride, pads, 0, dil).shape[1:3], -1)
    np.testing.assert_array_equal(via_idx, naive_im2col(x, kernel, stride, pads, 0, dil))


@pytest.mark.parametrize("opset", [8, 11, 13, 18])
def test_im2col_lowering_across_opsets(opset: int) -> None:
    model = im2col_model([1, 5, 6, 2], opset, kernel_size=[3, 3], stride=[1, 2], pad_amount=[1, 2, 1, 0], pad_value=-1)
    x = np.random.default_rng(opset).integers(-3, 4, size=(4, 5, 6, 2)).astype(np.float32)
    np.testing.assert_array_equal(
        qnncc.execute(model, {"x": x})["y"], naive_im2col(x, [3, 3], [1, 2], [1, 2, 1, 0], -1, [1, 1])
    )


def test_im2col_shape_inference_follows_the_input() -> None:
    model = im2col_model([1, 7, 6, 3], kernel_size=[3, 2], stride=[2, 1], pad_amount=[1, 0, 2, 1], dilations=[1, 2])
    model.transform(InferShapes())
    assert model.get_tensor_shape("y") == [1, 4, 5, 18]
    batched = im2col_model([4, 7, 6, 3], kernel_size=[3, 3], stride=[1, 1], pad_amount=[1, 1, 1, 1])
    batched.transform(InferShapes())
    assert batched.get_tensor_shape("y") == [4, 7, 6, 27]


def test_im2col_datatype_keeps_input_type_and_widens_for_padding() -> None:
    model = im2col_model([1, 4, 4, 1], kernel_size=[3, 3], stride=[1, 1], pad_amount=[1, 1, 1, 1], pad_value=0)
    op = get_custom_op(model.graph.node[0])
    model.set_tensor_datatype("x", "UINT4")
    assert op.infer_datatype(model) == [DataType["UINT4"]]
    model.set_tensor_datatype("x", "BIPOLAR")
    assert op.infer_datatype(model) == [DataType["TERNARY"]]  # zero padding is not bipolar
    unpadded = im2col_model([1, 4, 4, 1], kernel_size=[3, 3], stride=[1, 1])
    unpadded.set_tensor_datatype("x", "BIPOLAR")
    assert get_custom_op(unpadded.graph.node[0]).infer_datatype(unpadded) == [DataType["BIPOLAR"]]


def test_im2col_errors_name_the_node() -> None:
    model = im2col_model([1, 4, 4, 2], kernel_size=[3, 3], stride=[1, 1])
    with pytest.raises(ExecutionError, match=r"Im2Col_0.*input_shape"):
        get_custom_op(model.graph.node[0]).execute([np.zeros((1, 4, 5, 2), np.float32)])
    bad = im2col_model([1, 4, 4, 2], kernel_size=[3], stride=[1, 1])
    with pytest.raises(UnsupportedOpError, match="Im2Col_0"):
        get_custom_op(bad.graph.node[0]).execute([np.zeros((1, 4, 4, 2), np.float32)])
    missing = single_node("Im2Col", [1, 4, 4, 2], kernel_size=[3, 3], stride=[1, 1])
    with pytest.raises(UnsupportedOpError, match="input_shape"):
        get_custom_op(missing.graph.node[0])


# ------------------------------------------------------------------ MaxPoolNHWC
def onnx_maxpool_nhwc(x: np.ndarray, **attrs: Any) -> np.ndarray:
    """ONNX MaxPool in onnxruntime on the NCHW view: the definition of MaxPoolNHWC."""
    import onnxruntime as ort

    node = helper.make_node("MaxPool", ["x"], ["y"], **attrs)
    nchw = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(nchw.shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    return np.asarray(sess.run(None, {"x": nchw})[0]).transpose(0, 2, 3, 1)


# (shape NHWC, kernel, strides, pads, ceil_mode)
POOL_CASES = [
    ([2, 8, 8, 3], [2, 2], [2, 2], [0, 0, 0, 0], 0),
    ([1, 9, 7, 4], [3, 3], [2, 2], [1, 1, 1, 1], 0),
    ([2, 7, 7, 2], [3, 2], [3, 2], [0, 0, 0, 0], 1),
    ([1, 14, 14, 16], [3, 3], [3, 3], [0, 0, 0, 0], 0),
    ([1, 5, 5, 1], [2, 2], [2, 2], [1, 1, 1, 1], 1),  # ceil_mode: last window would start in the padding
    ([3, 5, 8, 2], [2, 3], [1, 2], [1, 1, 0, 2], 0),  # asymmetric pads
]


@pytest.mark.parametrize(("shape", "kernel", "strides", "pads", "ceil_mode"), POOL_CASES)
def test_maxpool_nhwc_fast_reference_and_onnx_agree(
    shape: list[int], kernel: list[int], strides: list[int], pads: list[int], ceil_mode: int
) -> None:
    attrs: dict[str, Any] = {"kernel_shape": kernel, "strides": strides, "pads": pads, "ceil_mode": ceil_mode}
    model = single_node("MaxPoolNHWC", [1, *shape[1:]], **attrs)
    x = np.random.default_rng(sum(shape)).integers(-50, 50, size=shape).astype(np.float32)
    fast = qnncc.execute(model, {"x": x})["y"]
    ref = qnncc.execute(model, {"x": x}, backend="reference")["y"]
    expected = onnx_maxpool_nhwc(x, **attrs)
    np.testing.assert_array_equal(ref, expected)
    np.testing.assert_array_equal(fast, expected)
    np.testing.assert_array_equal(maxpool_nhwc(x, kernel, strides, pads, bool(ceil_mode)), expected)


@pytest.mark.parametrize(("shape", "kernel", "strides", "pads", "ceil_mode"), POOL_CASES[:4])
def test_maxpool_nhwc_matches_qonnx(
    shape: list[int], kernel: list[int], strides: list[int], pads: list[int], ceil_mode: int
) -> None:
    attrs: dict[str, Any] = {"kernel_shape": kernel, "strides": strides, "pads": pads, "ceil_mode": ceil_mode}
    model = single_node("MaxPoolNHWC", [1, *shape[1:]], **attrs)
    x = np.random.default_rng(1).integers(-50, 50, size=shape).astype(np.float32)
    ours = qnncc.execute(model, {"x": x}, backend="reference")["y"]
    np.testing.assert_array_equal(ours, qonnx_execute("MaxPoolNHWC", x, **attrs))
    model.transform(InferShapes())
    assert model.get_tensor_shape("y") == [1, *ours.shape[1:]]


def test_maxpool_nhwc_datatype_and_bad_attributes() -> None:
    model = single_node("MaxPoolNHWC", [1, 4, 4, 2], kernel_shape=[2, 2], strides=[2, 2])
    model.set_tensor_datatype("x", "INT3")
    assert get_custom_op(model.graph.node[0]).infer_datatype(model) == [DataType["INT3"]]
    bad = single_node("MaxPoolNHWC", [1, 4, 4, 2], kernel_shape=[2, 2, 2])
    with pytest.raises(UnsupportedOpError, match="MaxPoolNHWC_0"):
        bad.transform(InferShapes())


def test_stand_in_keeps_graph_valid_for_onnx_checker() -> None:
    """The If-based shape stand-in only lives in a scratch copy: the model itself is unchanged."""
    model = im2col_model([1, 4, 4, 2], kernel_size=[3, 3], stride=[1, 1])
    before = model.serialize()
    model.transform(InferShapes())
    assert [n.op_type for n in model.graph.node] == ["Im2Col"]
    assert all(vi.name == "y" or not vi.name.startswith("y__shape") for vi in model.graph.value_info)
    assert onnx.ModelProto.FromString(before).graph.node[0] == model.graph.node[0]
