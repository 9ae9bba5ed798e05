"""A quantized CNN built with onnx.helper goes through conversion, streamlining and lowering.

The network (QONNX, as Brevitas exports it): 8-bit input quantizer, two
3x3 convolutions with 4-bit per-channel weights, BatchNorm, ReLU and 4-bit
activations, 2x2 max pools, and a fully connected layer with 4-bit weights.
After the flow only Im2Col, MatMul, MultiThreshold, MaxPoolNHWC and TopK
remain, plus shape-only ops (a Reshape of the one-channel input and the
Flatten of the NHWC features before the fully connected layer, which a
stream reinterprets at no cost), and the predicted classes equal the
original model's argmax on every input.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from qnncc.transforms import InferShapes, Tidy
from qnncc.transforms.lower import ConvertToNHWC, LowerConvsToMatMul
from qnncc.transforms.qonnx import ConvertQONNXtoFINN
from qnncc.transforms.streamline.sequence import Streamline
from qnncc.transforms.streamline.topk import InsertInputScaling, InsertTopK

import qnncc

QONNX = "qonnx.custom_op.general"
HW_OPS = {"Im2Col", "MatMul", "MultiThreshold", "MaxPoolNHWC", "TopK"}


def build_cnn(seed: int, size: int = 12, c1: int = 4, c2: int = 8, classes: int = 10) -> onnx.ModelProto:
    """QONNX CNN on a ``[1, 1, size, size]`` input holding pixels/255."""
    rng = np.random.default_rng(seed)
    inits: list[onnx.TensorProto] = []
    nodes: list[onnx.NodeProto] = []

    def const(name: str, value: np.ndarray | float) -> str:
        inits.append(numpy_helper.from_array(np.asarray(value, dtype=np.float32), name))
        return name

    def quant(x: str, out: str, scale: np.ndarray | float, bits: int, signed: int, narrow: int) -> str:
        nodes.append(
            helper.make_node(
                "Quant",
                [x, const(f"{out}_s", scale), const(f"{out}_z", 0.0), const(f"{out}_b", float(bits))],
                [out],
                domain=QONNX,
                signed=signed,
                narrow=narrow,
                rounding_mode="ROUND",
            )
        )
        return out

    def conv_block(x: str, k: int, cin: int, cout: int, pad: int) -> str:
        w = const(f"w{k}", rng.normal(0, 0.5, (cout, cin, 3, 3)))
        wq = quant(w, f"w{k}_q", np.abs(rng.normal(0.1, 0.03, (cout, 1, 1, 1))) + 0.02, 4, 1, 1)
        nodes.append(helper.make_node("Conv", [x, wq], [f"conv{k}"], kernel_shape=[3, 3], pads=[pad] * 4))
        bn = [
            const(f"bn{k}_{p}", v)
            for p, v in (
                ("g", rng.normal(1, 0.3, cout)),
                ("b", rng.normal(0, 0.5, cout)),
                ("m", rng.normal(0, 0.5, cout)),
                ("v", rng.uniform(0.5, 2, cout)),
            )
        ]
        nodes.append(helper.make_node("BatchNormalization", [f"conv{k}", *bn], [f"bn{k}"]))
        nodes.append(helper.make_node("Relu", [f"bn{k}"], [f"relu{k}"]))
        act = quant(f"relu{k}", f"act{k}", float(rng.uniform(0.1, 0.4)), 4, 0, 0)
        nodes.append(helper.make_node("MaxPool", [act], [f"pool{k}"], kernel_shape=[2, 2], strides=[2, 2]))
        return f"pool{k}"

    x = quant("x", "xq", 1 / 255, 8, 0, 0)
    x = conv_block(x, 1, 1, c1, 1)
    x = conv_block(x, 2, c1, c2, 0)
    flat_size = c2 * ((size // 2 - 2) // 2) ** 2
    nodes.append(helper.make_node("Flatten", [x], ["flat"], axis=1))
    wfc = quant(const("wfc", rng.normal(0, 0.3, (classes, flat_size))), "wfc_q", 0.05, 4, 1, 1)
    nodes.append(helper.make_node("Gemm", ["flat", wfc], ["logits"], transB=1))
    graph = helper.make_graph(
        nodes,
        "qcnn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, size, size])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, classes])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(QONNX, 1)])
    model.ir_version = 8
    return model


def run_flow(model: qnncc.ModelWrapper) -> qnncc.ModelWrapper:
    """Conversion, input scaling, top-k, streamline, lowering, channels-last, streamline again."""
    model = model.transform(Tidy()).transform(ConvertQONNXtoFINN())
    model = model.transform(InsertInputScaling(1 / 255, "UINT8")).transform(InsertTopK()).transform(InferShapes())
    model = model.transform(Streamline()).transform(LowerConvsToMatMul()).transform(ConvertToNHWC())
    return model.transform(Streamline())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cnn_flow_structure_and_predictions(seed):
    original = qnncc.ModelWrapper(build_cnn(seed))
    original.check()
    lowered = run_flow(original.copy())
    ops = Counter(n.op_type for n in lowered.graph.node)
    assert set(ops) - {"Reshape", "Flatten"} <= HW_OPS, ops
    assert ops["Im2Col"] == 2 and ops["MaxPoolNHWC"] == 2 and ops["MultiThreshold"] == 3 and ops["TopK"] == 1
    assert ops.get("Reshape", 0) <= 1 and ops.get("Flatten", 0) <= 1
    assert lowered.graph.node[0].op_type in ("Reshape", "MultiThreshold")
    for init in lowered.graph.initializer:
        value = lowered.get_initializer(init.name)
        assert value is not None and np.array_equal(value, np.round(value)), init.name

    rng = np.random.default_rng(100 + seed)
    pixels = rng.integers(0, 256, (64, 1, 12, 12)).astype(np.float32)
    pixels[:8] = np.round(pixels[:8] / 64) * 64  # flat regions: many exact ties downstream
    logits = qnncc.execute(original, {"x": pixels / np.float32(255)})["logits"]
    got = qnncc.execute(lowered, {lowered.graph_input_names()[0]: pixels})[lowered.graph_output_names()[0]]
    np.testing.assert_array_equal(got.reshape(-1), logits.argmax(-1))
