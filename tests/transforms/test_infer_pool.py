"""``InferPool``: overlapping, strided and padded max pools become FMPadding + SWG + Pool, bit-exactly."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pytest
from onnx import helper
from qnncc.transforms.hw import InferPool, InferStreamingMaxPool
from test_infer_cnn import QONNX, assert_same, convert, ints, make_model

from qnncc.hw.layers import Pool
from qnncc.hw.layers.pool import window_max


def pool_node(out: str, kernel: int, stride: int, pads: int = 0, ceil: int = 0) -> Any:
    return helper.make_node(
        "MaxPoolNHWC", ["x"], [out], domain=QONNX, kernel_shape=[kernel] * 2, strides=[stride] * 2,
        pads=[pads] * 4, ceil_mode=ceil,
    )  # fmt: skip


@pytest.mark.parametrize("dt", ["UINT2", "UINT4", "INT3", "BIPOLAR"])
def test_pools_convert_exactly(dt: str) -> None:
    nodes = [
        pool_node("stem", 3, 2, 1),
        pool_node("overlap", 3, 1),
        pool_node("tiled", 2, 2),
        pool_node("ceil", 3, 2, 1, 1),
    ]
    model = make_model(nodes, {"x": ([1, 7, 7, 5], dt)}, ["stem", "overlap", "tiled", "ceil"], {})
    model.model.opset_import.add(domain=QONNX, version=1)
    converted, ops = convert(model, InferStreamingMaxPool(), InferPool())
    assert ops["Pool"] == 2 and ops["FMPadding"] == 1  # signed inputs too: padded with the datatype's minimum
    assert ops["StreamingMaxPool"] == 1 and ops["MaxPoolNHWC"] == 1  # ceil mode stays in software
    (padding,) = [n for n in converted.graph.node if n.op_type == "FMPadding"]
    pad_value = helper.get_attribute_value(next(a for a in padding.attribute if a.name == "PadValue"))
    assert pad_value == {"UINT2": 0, "UINT4": 0, "INT3": -4, "BIPOLAR": -1}[dt]
    assert_same(model, converted, {"x": ints((3, 7, 7, 5), dt)})


def test_signed_padded_pool_differs_from_zero_padding() -> None:
    """All-negative inputs: padding with 0 would put 0 into the border windows' maxima; the minimum does not."""
    model = make_model([pool_node("y", 3, 2, 1)], {"x": ([1, 5, 5, 2], "INT4")}, ["y"], {})
    model.model.opset_import.add(domain=QONNX, version=1)
    converted, ops = convert(model, InferPool())
    assert ops["FMPadding"] == 1 and ops["Pool"] == 1
    x = -1.0 - np.abs(ints((2, 5, 5, 2), "INT4")) % 7  # every value in [-7, -1]
    assert_same(model, converted, {"x": x.astype(np.float32)})


def test_resnet_stem_pool_shapes() -> None:
    model = make_model([pool_node("y", 3, 2, 1)], {"x": ([1, 112, 112, 4], "UINT2")}, ["y"], {})
    model.model.opset_import.add(domain=QONNX, version=1)
    converted, ops = convert(model, InferPool())
    assert ops == Counter({"FMPadding": 1, "ConvolutionInputGenerator": 1, "Pool": 1})
    assert converted.get_tensor_shape("y") == [1, 56, 56, 4]
    assert_same(model, converted, {"x": ints((2, 112, 112, 4), "UINT2")})


def test_pool_layer_attributes_and_folding() -> None:
    node = helper.make_node(
        "Pool", ["w"], ["y"], domain="qnncc.hw", Channels=6, PE=3, KernelSize=[3, 3], OutImgDims=[4, 4],
        InputDataType="UINT2", OutputDataType="UINT2", Function="MaxPool",
    )  # fmt: skip
    layer = Pool(node)
    assert layer.normal_input_shape() == (1, 4, 4, 54) and layer.normal_output_shape() == (1, 4, 4, 6)
    assert layer.legal_folding() == {"PE": [1, 2, 3, 6]} and layer.instream_width() == 6
    x = np.arange(2 * 9 * 3, dtype=np.float32).reshape(1, 2, 27) % 7
    np.testing.assert_array_equal(window_max(x, 9, 3), x.reshape(1, 2, 9, 3).max(axis=2))
