"""CNN HW layers: numpy execute vs lowered fast path vs the op each replaces, shapes, folding, datatypes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hw_graphs import hw_graph_model
from onnx import helper
from qnncc.transforms import InferDataTypes, InferShapes

import qnncc
from qnncc import DataType, ModelWrapper
from qnncc.core.errors import UnsupportedOpError
from qnncc.custom_op import get_custom_op
from qnncc.hw.layers import HW_DOMAIN, HW_LAYERS, HWLayer

QONNX = "qonnx.custom_op.general"
RNG = np.random.default_rng(7)


def graph_model(
    nodes: list[Any], inputs: dict[str, list[int]], outputs: list[str], consts: dict[str, np.ndarray], opset: int = 13
) -> ModelWrapper:
    return hw_graph_model(nodes, inputs, outputs, consts, opset=opset, domains=[(QONNX, 1)])


def hw(op_type: str, inputs: list[str], outputs: list[str] | None = None, **attrs: Any) -> Any:
    return helper.make_node(op_type, inputs, outputs or ["y"], name=f"{op_type}_0", domain=HW_DOMAIN, **attrs)


def layer(node: Any) -> HWLayer:
    op = get_custom_op(node)
    assert isinstance(op, HWLayer)
    return op


def run(model: ModelWrapper, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Fast (lowered, onnxruntime) and reference (numpy) paths, asserted bit-identical."""
    fast = qnncc.execute(model, feeds)
    ref = qnncc.execute(model, feeds, backend="reference")
    for name, value in fast.items():
        np.testing.assert_array_equal(value, ref[name], err_msg=name)
    return fast


def ints(shape: tuple[int, ...], lo: int, hi: int) -> np.ndarray:
    return RNG.integers(lo, hi + 1, shape).astype(np.float32)


def test_all_cnn_layers_registered():
    names = {cls.op_type for cls in HW_LAYERS}
    assert {"ConvolutionInputGenerator", "FMPadding", "StreamingMaxPool", "VVAU", "GlobalAccPool"} <= names
    assert {"AddStreams", "DuplicateStreams", "ChannelwiseOp", "StreamingDataWidthConverter", "StreamingFIFO"} <= names


# (IFMDim, C, kernel, stride, dilation, padding [t, l, b, r])
SWG_CASES = [
    ([6, 6], 3, [3, 3], [1, 1], [1, 1], [1, 1, 1, 1]),
    ([7, 5], 2, [3, 2], [2, 1], [1, 1], [0, 1, 2, 0]),
    ([9, 9], 4, [3, 3], [1, 2], [2, 1], [0, 0, 0, 0]),
    ([5, 5], 8, [1, 1], [2, 2], [1, 1], [0, 0, 0, 0]),
]


@pytest.mark.parametrize(("ifm", "c", "kernel", "stride", "dil", "pads"), SWG_CASES)
def test_fmpadding_and_swg_equal_padded_im2col(ifm, c, kernel, stride, dil, pads):
    h, w = ifm
    hp, wp = h + pads[0] + pads[2], w + pads[1] + pads[3]
    oh, ow = (hp - dil[0] * (kernel[0] - 1) - 1) // stride[0] + 1, (wp - dil[1] * (kernel[1] - 1) - 1) // stride[1] + 1
    common = {"inputDataType": "INT4"}
    pad = hw("FMPadding", ["x"], ["p"], ImgDim=ifm, Padding=pads, NumChannels=c, SIMD=1, **common)
    swg = hw(
        "ConvolutionInputGenerator",
        ["p"],
        ["y"],
        ConvKernelDim=kernel,
        IFMChannels=c,
        IFMDim=[hp, wp],
        OFMDim=[oh, ow],
        SIMD=c,
        Stride=stride,
        Dilation=dil,
        outputDataType="INT4",
        **common,
    )
    model = graph_model([pad, swg], {"x": [1, h, w, c]}, ["y"], {})
    im2col = helper.make_node(
        "Im2Col",
        ["x"],
        ["y"],
        domain=QONNX,
        kernel_size=kernel,
        stride=stride,
        dilations=dil,
        pad_amount=pads,
        input_shape=str((1, h, w, c)),
    )
    reference = graph_model([im2col], {"x": [1, h, w, c]}, ["y"], {})
    x = ints((3, h, w, c), -8, 7)
    got = run(model, {"x": x})["y"]
    np.testing.assert_array_equal(got, qnncc.execute(reference, {"x": x})["y"])
    assert got.shape == (3, oh, ow, kernel[0] * kernel[1] * c)
    model.transform(InferShapes())
    assert model.get_tensor_shape("y") == [1, oh, ow, kernel[0] * kernel[1] * c]
    assert model.get_tensor_shape("p") == [1, hp, wp, c]


def test_swg_shapes_folding_and_validation():
    attrs = {"ConvKernelDim": [3, 3], "IFMChannels": 12, "IFMDim": [8, 8], "OFMDim": [6, 6], "SIMD": 4}
    op = layer(hw("ConvolutionInputGenerator", ["x"], inputDataType="UINT2", outputDataType="UINT2", **attrs))
    assert op.normal_input_shape() == (1, 8, 8, 12) and op.normal_output_shape() == (1, 6, 6, 108)
    assert op.folded_input_shape() == (1, 8, 8, 3, 4) and op.folded_output_shape() == (1, 6, 6, 27, 4)
    assert op.instream_width() == op.outstream_width() == 8
    assert op.legal_folding() == {"SIMD": [1, 2, 3, 4, 6, 12]}
    bad = [{"SIMD": 5}, {"OFMDim": [7, 6]}, {"ConvKernelDim": [3]}, {"ConvKernelDim": [9, 9]}]
    for change in bad:
        with pytest.raises(UnsupportedOpError, match="ConvolutionInputGenerator_0"):
            layer(
                hw(
                    "ConvolutionInputGenerator",
                    ["x"],
                    inputDataType="UINT2",
                    outputDataType="UINT2",
                    **(attrs | change),
                )
            )
    with pytest.raises(UnsupportedOpError, match="must be equal"):
        layer(hw("ConvolutionInputGenerator", ["x"], inputDataType="UINT2", outputDataType="UINT3", **attrs))


@pytest.mark.parametrize("opset", [9, 13])
def test_fmpadding_opsets_and_zero_check(opset):
    pad = hw("FMPadding", ["x"], ImgDim=[3, 4], Padding=[2, 0, 1, 3], NumChannels=2, SIMD=2, inputDataType="UINT3")
    x = ints((2, 3, 4, 2), 1, 7)
    got = run(graph_model([pad], {"x": [1, 3, 4, 2]}, ["y"], {}, opset), {"x": x})["y"]
    np.testing.assert_array_equal(got, np.pad(x, ((0, 0), (2, 1), (0, 3), (0, 0))))
    op = layer(pad)
    assert op.folded_output_shape() == (1, 6, 7, 1, 2) and op.output_datatype() == DataType["UINT3"]
    with pytest.raises(UnsupportedOpError, match="zero padding"):
        layer(hw("FMPadding", ["x"], ImgDim=[3, 3], Padding=[1, 1, 1, 1], NumChannels=2, inputDataType="BIPOLAR"))
    with pytest.raises(UnsupportedOpError, match="UINT3 cannot hold the padding value -1"):
        layer(hw("FMPadding", ["x"], ImgDim=[3, 3], Padding=[1, 1, 1, 1], NumChannels=2, inputDataType="UINT3",
                 PadValue=-1))  # fmt: skip
    signed = hw("FMPadding", ["x"], ImgDim=[3, 4], Padding=[2, 0, 1, 3], NumChannels=2, inputDataType="INT3",
                PadValue=-4)  # fmt: skip
    got = run(graph_model([signed], {"x": [1, 3, 4, 2]}, ["y"], {}, opset), {"x": x - 4})["y"]
    np.testing.assert_array_equal(got, np.pad(x - 4, ((0, 0), (2, 1), (0, 3), (0, 0)), constant_values=-4))


# (ImgDim, C, PoolDim, CeilMode, PE, elements per word)
POOL_CASES = [
    ([8, 6], 4, [2, 2], 0, 2, 4),
    ([6, 6], 3, [3, 3], 0, 1, 3),
    ([1, 7], 4, [1, 2], 1, 2, 2),
    ([14, 14], 2, [3, 3], 0, 1, 2),  # does not tile: floor drops the last rows/columns (mnist-conv's pool)
    ([5, 7], 2, [2, 3], 1, 1, 2),  # does not tile: ceil keeps partial windows
]


@pytest.mark.parametrize(("img", "c", "pool", "ceil", "pe", "per_word"), POOL_CASES)
def test_streaming_maxpool_equals_maxpool_nhwc(img, c, pool, ceil, pe, per_word):
    node = hw("StreamingMaxPool", ["x"], ImgDim=img, PoolDim=pool, NumChannels=c, PE=pe, CeilMode=ceil, dataType="INT3")
    ref = helper.make_node("MaxPoolNHWC", ["x"], ["y"], domain=QONNX, kernel_shape=pool, strides=pool, ceil_mode=ceil)
    x = ints((4, *img, c), -4, 3)
    got = run(graph_model([node], {"x": [1, *img, c]}, ["y"], {}), {"x": x})["y"]
    np.testing.assert_array_equal(got, qnncc.execute(graph_model([ref], {"x": [1, *img, c]}, ["y"], {}), {"x": x})["y"])
    op = layer(node)
    assert got.shape[1:] == op.normal_output_shape()[1:]
    assert op.input_elems_per_word() == per_word and op.instream_width() == 3 * per_word
    with pytest.raises(UnsupportedOpError, match="larger than ImgDim"):
        layer(hw("StreamingMaxPool", ["x"], ImgDim=[1, 6], PoolDim=[2, 2], NumChannels=c, dataType="INT3"))


def sparse_depthwise(w: np.ndarray) -> np.ndarray:
    """``[C, 1, kh, kw]`` as LowerConvsToMatMul's block-sparse ``[kh*kw*C, C]`` matrix."""
    c = w.shape[0]
    dense = np.zeros((c, c, *w.shape[2:]), np.float32)
    dense[np.arange(c), np.arange(c)] = w[:, 0]
    return dense.transpose(0, 2, 3, 1).reshape(c, -1).T


@pytest.mark.parametrize("thresholds", [False, True])
def test_vvau_equals_block_sparse_matmul(thresholds):
    c, (kh, kw), (oh, ow) = 6, (3, 2), (4, 5)
    w = ints((c, 1, kh, kw), -7, 7)
    thr = np.sort(ints((c, 3), -60, 60), axis=1)
    attrs = {"Channels": c, "Kernel": [kh, kw], "Dim": [oh, ow], "PE": 3, "SIMD": 2, "inputDataType": "UINT4"}
    attrs |= {"weightDataType": "INT4", "accDataType": "INT12"}
    if thresholds:
        node = hw("VVAU", ["x", "w", "t"], outputDataType="INT2", ActVal=-2, noActivation=0, **attrs)
        mt = helper.make_node(
            "MultiThreshold", ["acc", "t"], ["y"], domain=QONNX, out_dtype="INT2", out_bias=-2.0, data_layout="NHWC"
        )
        ref_nodes = [helper.make_node("MatMul", ["x", "ws"], ["acc"]), mt]
    else:
        node = hw("VVAU", ["x", "w"], outputDataType="INT12", noActivation=1, **attrs)
        ref_nodes = [helper.make_node("MatMul", ["x", "ws"], ["y"])]
    x = ints((3, oh, ow, kh * kw * c), 0, 15)
    shape = {"x": [1, oh, ow, kh * kw * c]}
    got = run(graph_model([node], shape, ["y"], {"w": w, "t": thr}), {"x": x})["y"]
    ref = qnncc.execute(graph_model(ref_nodes, shape, ["y"], {"ws": sparse_depthwise(w), "t": thr}), {"x": x})["y"]
    np.testing.assert_array_equal(got, ref)
    op = layer(node)
    assert op.folded_input_shape() == (1, oh, ow, kh * kw * c // 6, 6) and op.folded_output_shape() == (1, oh, ow, 2, 3)
    assert op.legal_folding() == {"PE": [1, 2, 3, 6], "SIMD": [1, 2, 3, 6]}
    with pytest.raises(UnsupportedOpError, match="inputs"):
        layer(hw("VVAU", ["x", "w"], outputDataType="INT2", noActivation=0, **attrs))
    with pytest.raises(UnsupportedOpError, match="SIMD=4"):
        layer(hw("VVAU", ["x", "w"], outputDataType="INT12", noActivation=1, **(attrs | {"SIMD": 4})))


def test_global_acc_pool_sums_and_datatype():
    node = hw("GlobalAccPool", ["x"], NumChannels=4, PE=2, inputDataType="UINT4", numInputVectors=[1, 7, 7])
    x = ints((5, 7, 7, 4), 0, 15)
    got = run(graph_model([node], {"x": [1, 7, 7, 4]}, ["y"], {}), {"x": x})["y"]
    np.testing.assert_array_equal(got, x.sum(axis=(1, 2), keepdims=True))
    op = layer(node)
    assert op.output_datatype() == DataType["UINT10"] and op.normal_output_shape() == (1, 1, 1, 4)
    assert op.folded_input_shape() == (1, 7, 7, 2, 2) and op.outstream_width() == 20
    # symmetric input types need the whole range: 4 * 1 does not fit INT3 (FINN's one-sided rule)
    bip = layer(hw("GlobalAccPool", ["x"], NumChannels=1, inputDataType="BIPOLAR", numInputVectors=[1, 2, 2]))
    assert bip.output_datatype() == DataType["INT4"]
    with pytest.raises(UnsupportedOpError, match="numInputVectors"):
        layer(hw("GlobalAccPool", ["x"], NumChannels=4, inputDataType="UINT4", numInputVectors=[1, 49]))


@pytest.mark.parametrize(
    ("dts", "attrs", "out"),
    [
        (("INT3", "INT3"), {"inputDataType": "INT3"}, "INT4"),
        (("UINT3", "INT3"), {"inputDataTypes": ["UINT3", "INT3"]}, "INT5"),
    ],
)
def test_add_streams_equals_add(dts, attrs, out):
    node = hw("AddStreams", ["a", "b"], NumChannels=6, PE=3, numInputVectors=[1, 4, 4], **attrs)
    lo = [DataType[d] for d in dts]
    a, b = (ints((2, 4, 4, 6), int(d.min()), int(d.max())) for d in lo)
    model = graph_model([node], {"a": [1, 4, 4, 6], "b": [1, 4, 4, 6]}, ["y"], {})
    np.testing.assert_array_equal(run(model, {"a": a, "b": b})["y"], a + b)
    op = layer(node)
    assert op.output_datatype().name == out and op.input_datatype(1).name == dts[1]
    model.transform(InferShapes()).transform(InferDataTypes())
    assert model.get_tensor_datatype("y").name == out
    for bad in ({}, {"inputDataType": "INT3", "inputDataTypes": ["INT3", "INT3"]}, {"inputDataTypes": ["INT3"]}):
        with pytest.raises(UnsupportedOpError, match="inputDataType"):
            layer(hw("AddStreams", ["a", "b"], NumChannels=6, **bad))


def test_duplicate_streams_copies_and_infers_shapes():
    node = hw(
        "DuplicateStreams",
        ["x"],
        ["y0", "y1", "y2"],
        NumChannels=4,
        PE=2,
        NumOutputStreams=3,
        inputDataType="INT4",
        numInputVectors=[1, 3, 3],
    )
    model = graph_model([node], {"x": [1, 3, 3, 4]}, ["y0", "y1", "y2"], {})
    x = ints((2, 3, 3, 4), -8, 7)
    out = run(model, {"x": x})
    for name in ("y0", "y1", "y2"):
        np.testing.assert_array_equal(out[name], x)
    model.transform(InferShapes()).transform(InferDataTypes())
    assert [model.get_tensor_shape(f"y{i}") for i in range(3)] == [[1, 3, 3, 4]] * 3
    assert model.get_tensor_datatype("y2") == DataType["INT4"]
    assert layer(node).num_output_streams() == 3
    with pytest.raises(UnsupportedOpError, match="NumOutputStreams"):
        layer(hw("DuplicateStreams", ["x"], ["y0", "y1"], NumChannels=4, NumOutputStreams=3, inputDataType="INT4"))


@pytest.mark.parametrize("opset", [11, 13])
@pytest.mark.parametrize("func", ["add", "mul", "cmp_le", "cmp_ge"])
def test_channelwise_op(func, opset):
    p = ints((5,), -3, 3)
    node = hw(
        "ChannelwiseOp",
        ["x", "p"],
        Func=func,
        NumChannels=5,
        PE=5,
        inputDataType="INT3",
        paramDataType="INT3",
        outputDataType="INT6",
        numInputVectors=[1, 2, 3],
    )
    x = ints((4, 2, 3, 5), -4, 3)
    got = run(graph_model([node], {"x": [1, 2, 3, 5]}, ["y"], {"p": p}, opset), {"x": x})["y"]
    # finn-hlslib evaluates Func(param, x): cmp_le is p <= x, cmp_ge is p >= x
    expected = {"add": x + p, "mul": x * p, "cmp_le": (p <= x) * 1.0, "cmp_ge": (p >= x) * 1.0}[func]
    np.testing.assert_array_equal(got, expected.astype(np.float32))
    if func in ("add", "mul"):
        ref = helper.make_node(func.capitalize(), ["x", "p"], ["y"])
        np.testing.assert_array_equal(
            got, qnncc.execute(graph_model([ref], {"x": [1, 2, 3, 5]}, ["y"], {"p": p}), {"x": x})["y"]
        )


def test_width_converter_and_fifo_are_identities():
    dwc = hw(
        "StreamingDataWidthConverter",
        ["x"],
        ["m"],
        in_shape=[1, 4, 4, 6],
        out_shape=[1, 16, 6],
        inWidth=8,
        outWidth=24,
        dataType="UINT4",
    )
    fifo = hw(
        "StreamingFIFO", ["m"], ["y"], depth=16, normal_shape=[1, 16, 6], folded_shape=[1, 16, 2, 3], dataType="UINT4"
    )
    model = graph_model([dwc, fifo], {"x": [1, 4, 4, 6]}, ["y"], {})
    x = ints((3, 4, 4, 6), 0, 15)
    np.testing.assert_array_equal(run(model, {"x": x})["y"], x.reshape(3, 16, 6))
    d, f = layer(dwc), layer(fifo)
    assert (d.input_elems_per_word(), d.output_elems_per_word(), d.instream_width(), d.outstream_width()) == (
        2,
        6,
        8,
        24,
    )
    widths = [4 * e for e in (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 96)]  # words of any divisor of the 96 elements
    assert d.legal_folding() == {"inWidth": widths, "outWidth": widths}
    assert f.folded_output_shape() == (1, 16, 2, 3) and f.outstream_width() == 12
    # qnncc's converter handles non-multiple widths (2 -> 3 elements of 4 bits)
    odd = layer(
        hw(
            "StreamingDataWidthConverter",
            ["x"],
            in_shape=[1, 6],
            out_shape=[1, 6],
            inWidth=8,
            outWidth=12,
            dataType="UINT4",
        )
    )
    assert (odd.input_elems_per_word(), odd.output_elems_per_word()) == (2, 3)
    with pytest.raises(UnsupportedOpError, match="folded_shape"):
        layer(hw("StreamingFIFO", ["x"], depth=2, normal_shape=[1, 6], folded_shape=[1, 4, 2], dataType="UINT4"))
