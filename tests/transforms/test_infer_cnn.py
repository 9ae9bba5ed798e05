"""CNN conversion passes: unit graphs, the test CNN and the Brevitas CNNs to HW layers with identical results."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pytest
from conftest import DATA
from onnx import TensorProto, helper, numpy_helper
from qnncc.transforms import GiveUniqueNodeNames, InferDataTypes, InferShapes, Tidy
from qnncc.transforms.hw import (
    InferAddStreamsLayer,
    InferBinaryMatrixVectorActivation,
    InferChannelwiseLinearLayer,
    InferConvInpGen,
    InferDuplicateStreamsLayer,
    InferGlobalAccPoolLayer,
    InferLabelSelectLayer,
    InferQuantizedMatrixVectorActivation,
    InferStreamingMaxPool,
    InferThresholdingLayer,
    InferVectorVectorActivation,
)
from qnncc.transforms.lower import ConvertToNHWC, LowerConvsToMatMul
from qnncc.transforms.qonnx import ConvertQONNXtoFINN
from qnncc.transforms.streamline.sequence import Streamline
from qnncc.transforms.streamline.topk import InsertInputScaling, InsertTopK
from test_cnn_flow import build_cnn, run_flow

import qnncc
from qnncc import DataType, ModelWrapper
from qnncc.hw.layers import HW_DOMAIN

QONNX = "qonnx.custom_op.general"
SHAPE_ONLY = {"Reshape", "Flatten"}
RNG = np.random.default_rng(11)


def make_model(
    nodes: list[Any], inputs: dict[str, tuple[list[int], str]], outputs: list[str], consts: dict[str, Any], opset=13
) -> ModelWrapper:
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, (s, _) in inputs.items()],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in outputs],
        [numpy_helper.from_array(np.asarray(v), n) for n, v in consts.items()],
    )
    model = ModelWrapper(helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)]))
    for name, (_, dt) in inputs.items():
        model.set_tensor_datatype(name, dt)
    return model.transform(InferShapes()).transform(InferDataTypes())


def mt(x: str, thr: str, y: str, layout: str = "NHWC", out_dtype: str = "UINT2") -> Any:
    return helper.make_node("MultiThreshold", [x, thr], [y], domain=QONNX, out_dtype=out_dtype, data_layout=layout)


def thresholds(channels: int, lo: float, hi: float, steps: int = 3, integer: bool = True) -> np.ndarray:
    values = np.sort(RNG.uniform(lo, hi, (channels, steps)), axis=1)
    return (np.ceil(values) if integer else values).astype(np.float32)


def ints(shape: tuple[int, ...], dt: str) -> np.ndarray:
    d = DataType[dt]
    return RNG.integers(int(d.min()), int(d.max()) + 1, shape).astype(np.float32)


def outputs(model: ModelWrapper, feeds: dict[str, np.ndarray], backend: str = "fast") -> dict[str, np.ndarray]:
    return qnncc.execute(model, feeds, backend=backend)  # type: ignore[arg-type]


def convert(model: ModelWrapper, *passes: Any) -> tuple[ModelWrapper, Counter[str]]:
    converted = model.copy()
    for p in passes:
        converted = converted.transform(p)
    return converted, Counter(n.op_type for n in converted.graph.node)


def assert_same(before: ModelWrapper, after: ModelWrapper, feeds: dict[str, np.ndarray]) -> None:
    expected, got = outputs(before, feeds), outputs(after, feeds)
    for name, value in expected.items():
        np.testing.assert_array_equal(got[name], value, err_msg=name)
    head = {k: v[:2] for k, v in feeds.items()}
    ref = outputs(after, head, "reference")
    for name in expected:
        np.testing.assert_array_equal(ref[name], got[name][:2], err_msg=f"{name} (reference)")


def test_conv_inp_gen_and_maxpool_units():
    def window(out: str, kernel: list[int], stride: list[int], **attrs: Any) -> Any:
        return helper.make_node("Im2Col", ["x"], [out], domain=QONNX, kernel_size=kernel, stride=stride,
                                input_shape="(1, 6, 6, 4)", **attrs)  # fmt: skip

    def pool(out: str, kernel: int, stride: int) -> Any:
        return helper.make_node(
            "MaxPoolNHWC", ["x"], [out], domain=QONNX, kernel_shape=[kernel] * 2, strides=[stride] * 2
        )

    im2col = [
        window("a", [3, 3], [1, 1], pad_amount=[1, 1, 1, 1], depthwise=1),
        window("b", [2, 2], [2, 2]),
        window("c", [3, 3], [1, 1], pad_amount=[1, 1, 1, 1], pad_value=1),
        pool("d", 2, 2),
        pool("e", 3, 2),
        pool("f", 4, 4),
    ]
    model = make_model(im2col, {"x": ([1, 6, 6, 4], "INT4")}, list("abcdef"), {})
    model.model.opset_import.add(domain=QONNX, version=1)
    converted, ops = convert(model, InferConvInpGen(), InferStreamingMaxPool())
    # c: padding with 1 (FMPadding pads zeros); e: overlapping windows; f (6 % 4 != 0) converts, floor mode
    assert ops == Counter(
        {"ConvolutionInputGenerator": 2, "FMPadding": 1, "StreamingMaxPool": 2, "Im2Col": 1, "MaxPoolNHWC": 1}
    )
    swg = converted.get_node_by_name(converted.find_producer("a").name)  # type: ignore[union-attr]
    assert swg is not None and converted.get_nodeattr(swg, "depthwise") == 1
    assert converted.get_nodeattr(swg, "IFMDim") == [8, 8] and converted.get_tensor_datatype("a").name == "INT4"
    assert_same(model, converted, {"x": ints((3, 6, 6, 4), "INT4")})
    model.set_tensor_datatype("x", None)  # float input: nothing converts
    assert convert(model, InferConvInpGen(), InferStreamingMaxPool())[1]["ConvolutionInputGenerator"] == 0


def depthwise_conv_model(channels: int = 6, stride: int = 1) -> ModelWrapper:
    w = RNG.integers(-7, 8, (channels, 1, 3, 3)).astype(np.float32)
    nodes = [
        helper.make_node(
            "Conv",
            ["x", "w"],
            ["conv"],
            group=channels,
            kernel_shape=[3, 3],
            pads=[1, 1, 1, 1],
            strides=[stride, stride],
        ),
        mt("conv", "t", "y", layout="NCHW"),
    ]
    model = make_model(
        nodes, {"x": ([1, channels, 7, 7], "UINT4")}, ["y"], {"w": w, "t": thresholds(channels, -90, 90)}
    )
    model.set_tensor_datatype("w", "INT4")
    return model.transform(LowerConvsToMatMul()).transform(ConvertToNHWC()).transform(InferDataTypes())


@pytest.mark.parametrize("stride", [1, 2])
def test_depthwise_conv_to_swg_and_vvau(stride):
    model = depthwise_conv_model(stride=stride)
    converted, ops = convert(
        model, InferConvInpGen(), InferVectorVectorActivation(), InferQuantizedMatrixVectorActivation()
    )
    assert ops == Counter({"Transpose": 2, "FMPadding": 1, "ConvolutionInputGenerator": 1, "VVAU": 1}), ops
    vvau = converted.get_nodes_by_op_type("VVAU")[0]
    assert converted.get_nodeattr(vvau, "noActivation") == 0 and converted.get_nodeattr(vvau, "Kernel") == [3, 3]
    assert converted.get_initializer(vvau.input[1]).shape == (6, 1, 3, 3)  # type: ignore[union-attr]
    assert not any(init.name == "w" for init in converted.graph.initializer)  # the sparse matrix is gone
    assert_same(model, converted, {"x": ints((4, 6, 7, 7), "UINT4")})


def test_vvau_needs_block_diagonal_weights():
    model = depthwise_conv_model()
    matmul = model.get_nodes_by_op_type("MatMul")[0]
    w = model.get_initializer(matmul.input[1]).copy()  # type: ignore[union-attr]
    w[0, 1] = 3.0  # a cross-channel weight: no longer depthwise
    model.set_initializer(matmul.input[1], w)
    assert convert(model, InferVectorVectorActivation())[1]["VVAU"] == 0


@pytest.mark.parametrize(
    ("op", "shape", "axes", "keepdims", "opset"),
    [
        ("ReduceMean", [1, 4, 4, 6], [1, 2], 1, 13),  # NHWC, H*W a power of two
        ("GlobalAveragePool", [1, 6, 5, 5], None, 1, 13),  # NCHW
        ("ReduceMean", [1, 6, 3, 7], [-1, -2], 0, 18),  # NCHW, axes as input
    ],
)
def test_global_acc_pool(op, shape, axes, keepdims, opset):
    channels_first = op == "GlobalAveragePool" or axes == [-1, -2]
    c = shape[1] if channels_first else shape[3]
    consts: dict[str, Any] = {"t": thresholds(c, 1, 14, integer=False)}
    inputs = ["x"]
    attrs: dict[str, Any] = {} if op == "GlobalAveragePool" else {"keepdims": keepdims}
    if axes is not None and opset >= 18:
        consts["axes"], inputs = np.array(axes, np.int64), ["x", "axes"]
    elif axes is not None:
        attrs["axes"] = axes
    out_layout = "NCHW" if channels_first and keepdims else ("NC" if not keepdims else "NHWC")
    nodes = [helper.make_node(op, inputs, ["mean"], **attrs), mt("mean", "t", "y", layout=out_layout)]
    model = make_model(nodes, {"x": (shape, "UINT4")}, ["y", "mean"], consts, opset)
    model.model.opset_import.add(domain=QONNX, version=1)
    converted, ops = convert(model, InferGlobalAccPoolLayer())
    assert ops["GlobalAccPool"] == 1 and ops[op] == 0 and ops["Mul"] == 1
    x = ints((8, *shape[1:]), "UINT4")
    expected, got = outputs(model, {"x": x}), outputs(converted, {"x": x})
    np.testing.assert_array_equal(got["y"], expected["y"])
    np.testing.assert_allclose(got["mean"], expected["mean"], rtol=2**-22)  # sum * fl(1/(H*W)) vs sum / (H*W)
    pixels = shape[2] * shape[3] if channels_first else shape[1] * shape[2]
    if pixels & (pixels - 1) == 0:  # 1/(H*W) exact
        np.testing.assert_array_equal(got["mean"], expected["mean"])


def test_global_acc_pool_mul_absorbed_into_thresholds():
    nodes = [helper.make_node("ReduceMean", ["x"], ["mean"], axes=[1, 2]), mt("mean", "t", "y")]
    model = make_model(nodes, {"x": ([1, 5, 5, 8], "UINT4")}, ["y"], {"t": thresholds(8, 1, 14, integer=False)})
    model.model.opset_import.add(domain=QONNX, version=1)
    converted, ops = convert(model, InferGlobalAccPoolLayer(), Streamline(), InferThresholdingLayer())
    assert ops == Counter({"GlobalAccPool": 1, "Thresholding": 1}), ops
    assert_same(model, converted, {"x": ints((64, 5, 5, 8), "UINT4")})


def test_add_streams_and_duplicate_streams():
    nodes = [
        mt("x", "ta", "a"),
        mt("x", "tb", "b", out_dtype="UINT3"),
        helper.make_node("Add", ["a", "b"], ["s"]),
        helper.make_node("Add", ["s", "s"], ["y"]),
    ]
    consts = {"ta": thresholds(8, -5, 5), "tb": thresholds(8, -5, 5, steps=7)}
    model = make_model(nodes, {"x": ([1, 3, 3, 8], "INT4")}, ["y"], consts)
    model.model.opset_import.add(domain=QONNX, version=1)
    model.set_tensor_datatype("b", "UINT3")
    converted, ops = convert(model, InferThresholdingLayer(), InferAddStreamsLayer(), InferDuplicateStreamsLayer())
    assert ops == Counter({"Thresholding": 2, "AddStreams": 2, "DuplicateStreams": 2}), ops
    first = converted.find_producer("s")
    assert first is not None and converted.get_nodeattr(first, "inputDataTypes") == ["UINT2", "UINT3"]
    assert converted.get_tensor_datatype("y").name == "UINT5"
    forks = converted.get_nodes_by_op_type("DuplicateStreams")
    assert sorted(f.input[0] for f in forks) == ["s", "x"]
    assert all(len(converted.find_consumers(c)) == 1 for f in forks for c in f.output)
    assert converted.graph.node[0].op_type == "DuplicateStreams"  # the graph input's fork comes first
    assert_same(model, converted, {"x": ints((5, 3, 3, 8), "INT4")})
    # a tensor also read by a software node keeps its fan-out
    model.graph.node.append(helper.make_node("Relu", ["x"], ["r"]))
    model.graph.output.append(helper.make_tensor_value_info("r", TensorProto.FLOAT, None))
    assert convert(model, InferThresholdingLayer(), InferDuplicateStreamsLayer())[1]["DuplicateStreams"] == 0


def test_channelwise_linear():
    per_channel = np.array([2, -1, 3, 0], np.float32)
    nodes = [
        helper.make_node("Mul", ["x", "p"], ["m"]),
        helper.make_node("Add", ["three", "m"], ["a"]),
        helper.make_node("Mul", ["a", "half"], ["h"]),  # not integer: software
        helper.make_node("Add", ["a", "by_row"], ["y"]),  # varies along axis 2: software
    ]
    consts = {
        "p": per_channel,
        "three": np.float32(3),
        "half": np.float32(0.5),
        "by_row": np.arange(3, dtype=np.float32)[:, None],
    }
    model = make_model(nodes, {"x": ([1, 2, 3, 4], "INT4")}, ["y", "h"], consts)
    converted, ops = convert(model, InferChannelwiseLinearLayer())
    assert ops == Counter({"ChannelwiseOp": 2, "Mul": 1, "Add": 1}), ops
    mul, add = converted.get_nodes_by_op_type("ChannelwiseOp")
    assert [converted.get_nodeattr(n, "Func") for n in (mul, add)] == ["mul", "add"]
    assert converted.get_tensor_datatype("m").name == "INT6" and converted.get_tensor_datatype("a").name == "INT7"
    assert converted.get_initializer(add.input[1]).tolist() == [3, 3, 3, 3]  # type: ignore[union-attr]
    assert_same(model, converted, {"x": ints((6, 2, 3, 4), "INT4")})


def shared_thresholds_channels_last(model: ModelWrapper) -> ModelWrapper:
    """Declare the channel axis last on MultiThresholds whose thresholds all channels share ([1, B]).

    Exact (the op is then elementwise). It stands in for FINN's NCHW handling,
    which ``InferThresholdingLayer`` lacks: the input quantizer of a CNN is an
    NCHW MultiThreshold on ``[1, 1, H, W]`` and would otherwise stay in software.
    """
    for node in model.get_nodes_by_op_type("MultiThreshold"):
        thr = model.get_initializer(node.input[1])
        if thr is not None and thr.shape[0] == 1:
            model.set_nodeattr(node, "data_layout", "NHWC")
    return model


def to_hw(model: ModelWrapper) -> ModelWrapper:
    model = shared_thresholds_channels_last(model)
    for step in (
        InferConvInpGen(),
        InferStreamingMaxPool(),
        InferVectorVectorActivation(),  # before the MVAU pass, which would take the depthwise MatMuls
        InferBinaryMatrixVectorActivation(),
        InferQuantizedMatrixVectorActivation(),
        InferThresholdingLayer(),
        InferLabelSelectLayer(),
        InferAddStreamsLayer(),
        InferChannelwiseLinearLayer(),
        InferDuplicateStreamsLayer(),
        GiveUniqueNodeNames(),
    ):
        model = model.transform(step)
    return model


def software_ops(model: ModelWrapper) -> list[str]:
    return [n.op_type for n in model.graph.node if n.domain != HW_DOMAIN]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_test_cnn_converts_fully(seed):
    original = qnncc.ModelWrapper(build_cnn(seed))
    model = to_hw(run_flow(original.copy()))
    ops = Counter(n.op_type for n in model.graph.node)
    hw_ops = {"ConvolutionInputGenerator", "FMPadding", "MVAU", "StreamingMaxPool", "Thresholding", "LabelSelect"}
    assert set(ops) <= hw_ops | SHAPE_ONLY, ops
    assert ops["ConvolutionInputGenerator"] == 2 and ops["FMPadding"] == 1 and ops["MVAU"] == 3
    assert ops["StreamingMaxPool"] == 2 and ops["Thresholding"] == 1 and ops["LabelSelect"] == 1
    names = [n.op_type for n in model.graph.node]
    shape_only_at = [i for i, op in enumerate(names) if op in SHAPE_ONLY]
    assert shape_only_at == [1, len(names) - 3], names  # Reshape after the input thresholds, Flatten before the FC
    model.check()

    pixels = np.random.default_rng(100 + seed).integers(0, 256, (64, 1, 12, 12)).astype(np.float32)
    pixels[:8] = np.round(pixels[:8] / 64) * 64
    logits = outputs(original, {"x": pixels / np.float32(255)})["logits"]
    feed = {model.graph_input_names()[0]: pixels}
    got = outputs(model, feed)[model.graph_output_names()[0]]
    np.testing.assert_array_equal(got.reshape(-1), logits.argmax(-1))
    ref = outputs(model, {k: v[:8] for k, v in feed.items()}, "reference")[model.graph_output_names()[0]]
    np.testing.assert_array_equal(ref, got[:8])


def brevitas_to_hw(name: str) -> ModelWrapper:
    model = qnncc.load(DATA / "brevitas_dev" / name / "model_qonnx.onnx")
    model = model.transform(Tidy()).transform(ConvertQONNXtoFINN())
    model = model.transform(InsertInputScaling(1 / 255, "UINT8")).transform(InsertTopK()).transform(InferShapes())
    model = model.transform(Streamline()).transform(LowerConvsToMatMul()).transform(ConvertToNHWC())
    model = model.transform(Streamline()).transform(InferGlobalAccPoolLayer())
    model = model.transform(Streamline()).transform(ConvertToNHWC()).transform(Streamline())
    return to_hw(model)


HEAD = ["Mul", "Add", "TopK"]  # float per-class scale and bias of the classifier, then top-1
BREVITAS = {
    "cnv3_w2a2": (
        {"Thresholding": 1, "FMPadding": 2, "ConvolutionInputGenerator": 3, "MVAU": 4, "StreamingMaxPool": 2},
        ["Reshape", "Reshape", *HEAD],
    ),
    "dws_w4a4": (
        {"Thresholding": 2, "FMPadding": 3, "ConvolutionInputGenerator": 3, "VVAU": 2, "MVAU": 4, "GlobalAccPool": 1},
        ["Reshape", "Reshape", *HEAD],
    ),
    # both residual blocks in HW: the shared scale moves past the Add (MoveSharedScalePastAdd), the forks
    # become DuplicateStreams, the joins AddStreams and the requantizers Thresholding
    "res2_w3a3": (
        {
            "Thresholding": 5,
            "FMPadding": 5,
            "ConvolutionInputGenerator": 5,
            "MVAU": 6,
            "StreamingMaxPool": 2,
            "DuplicateStreams": 2,
            "AddStreams": 2,
        },
        ["Reshape", "Reshape", *HEAD],
    ),
}


@pytest.mark.parametrize("name", list(BREVITAS))
def test_brevitas_cnns_to_hw(name, mnist):
    model = brevitas_to_hw(name)
    hw_counts, software = BREVITAS[name]
    counts = Counter(n.op_type for n in model.graph.node if n.domain == HW_DOMAIN)
    assert counts == Counter(hw_counts), counts
    assert software_ops(model) == software
    images = mnist[0][5000:5200]
    feed = {model.graph_input_names()[0]: images}
    out = model.graph_output_names()[0]
    fast = outputs(model, feed)[out].reshape(-1)
    np.testing.assert_array_equal(fast, np.load(DATA / "brevitas_dev" / name / "ref_preds.npy")[:200])
    ref = outputs(model, {k: v[:20] for k, v in feed.items()}, "reference")[out].reshape(-1)
    np.testing.assert_array_equal(ref, fast[:20])
