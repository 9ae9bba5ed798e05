"""A FINN model made of finn-plus's generic HW ops (shared by tests and benchmarks).

Written as finn-plus writes it after ``SpecializeLayers``: ``ElementwiseAdd_hls`` etc. in
``finn.custom_op.fpgadataflow.hls``, the shape ops in the generic domain, FINN's attribute
names, FLOAT containers, constants without ``lhs_style``/``rhs_style`` (the import marks them).
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

FINN = "finn.custom_op.fpgadataflow"
_RNG = np.random.default_rng(1515)
BIAS = _RNG.integers(-4, 4, (8,)).astype(np.float32)
SCALE = _RNG.integers(-2, 3, (1, 4, 1, 1)).astype(np.float32)
LIMIT = np.array([3.0], np.float32)


def _node(op: str, inputs: list[str], outputs: list[str], style: str = "hls", **attrs) -> onnx.NodeProto:
    name = f"{op}_{outputs[0]}"
    if style:
        return helper.make_node(f"{op}_{style}", inputs, outputs, name=name, domain=f"{FINN}.{style}", **attrs)
    return helper.make_node(op, inputs, outputs, name=name, domain=FINN, **attrs)


def finn_plus_model() -> onnx.ModelProto:
    """x [1,4,4,8] INT4 -> Add bias -> Split [4,2,2] -> (Mul scale, Sub) -> Concat -> Upsample 4->8
    -> Reshape [1,64,6] -> Unsqueeze -> Squeeze -> Greater 3 -> y [1,64,6] BINARY."""
    ew = {"lhs_dtype": "INT4", "PE": 4}
    nodes = [
        _node("ElementwiseAdd", ["x", "bias"], ["a"], rhs_dtype="INT4", out_dtype="INT5", lhs_shape=[1, 4, 4, 8],
              rhs_shape=[8], out_shape=[1, 4, 4, 8], **ew),
        _node("StreamingSplit", ["a"], ["s0", "s1", "s2"], SIMD=2, ChannelsPerStream=[4, 2, 2], inputDataType="INT5",
              numInputVectors=[1, 4, 4]),
        _node("ElementwiseMul", ["s0", "scale"], ["p"], lhs_dtype="INT5", rhs_dtype="INT3", out_dtype="INT8",
              lhs_shape=[1, 4, 4, 4], rhs_shape=[1, 4, 1, 1], out_shape=[1, 4, 4, 4], PE=2),
        _node("ElementwiseSub", ["s1", "s2"], ["d"], lhs_dtype="INT5", rhs_dtype="INT5", out_dtype="INT6",
              lhs_shape=[1, 4, 4, 2], rhs_shape=[1, 4, 4, 2], out_shape=[1, 4, 4, 2], PE=1),
        _node("StreamingConcat", ["p", "d"], ["c"], SIMD=2, ChannelsPerStream=[4, 2], inputDataTypes=["INT8", "INT6"],
              numInputVectors=[1, 4, 4]),
        _node("UpsampleNearestNeighbour", ["c"], ["u"], OFMDim=8, IFMDim=4, NumChannels=6, inputDataType="INT8"),
        _node("Reshape", ["u"], ["r"], "", inp_shape=[1, 8, 8, 6], out_shape=[1, 64, 6], dtype="INT8", PE=3),
        _node("Unsqueeze", ["r"], ["q"], "", axes=[1], inp_dtype="INT8", out_dtype="INT8", inp_shape=[1, 64, 6],
              out_shape=[1, 1, 64, 6], PE=2),
        _node("Squeeze", ["q"], ["z"], "", axes=[1], inp_dtype="INT8", out_dtype="INT8", inp_shape=[1, 1, 64, 6],
              out_shape=[1, 64, 6], PE=2),
        _node("ElementwiseGreater", ["z", "limit"], ["y"], lhs_dtype="INT8", rhs_dtype="INT3", out_dtype="BINARY",
              lhs_shape=[1, 64, 6], rhs_shape=[1], out_shape=[1, 64, 6], PE=6),
    ]  # fmt: skip
    graph = helper.make_graph(
        nodes,
        "finn_plus",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 4, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 64, 6])],
        [numpy_helper.from_array(v, k) for k, v in {"bias": BIAS, "scale": SCALE, "limit": LIMIT}.items()],
    )
    graph.quantization_annotation.append(
        onnx.TensorAnnotation(
            tensor_name="x",
            quant_parameter_tensor_names=[onnx.StringStringEntryProto(key="finn_datatype", value="INT4")],
        )
    )
    imports = [helper.make_opsetid("", 13)] + [helper.make_opsetid(d, 1) for d in (FINN, f"{FINN}.hls")]
    return helper.make_model(graph, opset_imports=imports)


def expected(x: np.ndarray) -> np.ndarray:
    """The model's function written out in numpy (FINN's semantics of each op)."""
    a = x + BIAS
    p, d = a[..., :4] * SCALE, a[..., 4:6] - a[..., 6:8]
    c = np.concatenate([p, d], axis=-1)
    u = c.repeat(2, axis=1).repeat(2, axis=2)
    return (u.reshape(len(x), 64, 6) > LIMIT).astype(np.float32)
