"""Brevitas-style binarized MLPs (FINN's TFC/SFC/LFC test models), built with ``onnx.helper``.

The structure of a Brevitas ``export_qonnx`` of FINN's ``TFC``: input
``Mul 2`` / ``Sub 1``, a ``BipolarQuant`` of the input, then per layer a
``BipolarQuant`` weight (``[out, in]``) feeding ``Gemm(transB=1)``,
``BatchNormalization`` and a ``BipolarQuant`` activation; the head is
Brevitas' ``TensorNorm`` exported as ``Sub``/``Div``/``Mul``/``Add``.

With ``integer_means`` the BatchNormalization means are even integers and
the biases zero, so some accumulators hit the zero crossing exactly: the
graph then only computes the same function in two back ends if both round
BatchNormalization the same way (onnxruntime's MatMul+BatchNormalization
fusion does not).
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from qnncc import ModelWrapper

QONNX_DOMAIN = "qonnx.custom_op.general"


def binarized_mlp(
    seed: int,
    dims: tuple[int, ...] = (64, 32, 32, 10),
    opset: int = 11,
    integer_means: bool = True,
    weight_scale: float = 1.0,
) -> ModelWrapper:
    """A TFC-like binarized MLP; input ``inp [1, dims[0]]`` (pixels 0..255), output ``out [1, dims[-1]]``."""
    rng = np.random.default_rng(seed)
    nodes: list = []
    inits: list = []

    def const(value: object, name: str) -> str:
        inits.append(numpy_helper.from_array(np.asarray(value, np.float32), name))
        return name

    def node(op: str, inputs: list[str], output: str, **attrs: object) -> None:
        domain = QONNX_DOMAIN if op == "BipolarQuant" else ""
        nodes.append(helper.make_node(op, inputs, [output], name=f"{op}_{len(nodes)}", domain=domain, **attrs))

    node("Mul", ["inp", const(2.0, "two")], "m0")
    node("Sub", ["m0", const(1.0, "one")], "s0")
    node("BipolarQuant", ["s0", const(1.0, "in_scale")], "q0")
    current = "q0"
    for i in range(len(dims) - 1):
        fan_in, n = dims[i], dims[i + 1]
        w = rng.normal(size=(n, fan_in)).astype(np.float32)
        node("BipolarQuant", [const(w, f"w{i}"), const(weight_scale, f"ws{i}")], f"wq{i}")
        node("Gemm", [current, f"wq{i}"], f"g{i}", transB=1)
        if i == len(dims) - 2:
            break
        if integer_means:
            mean, bias = 2.0 * rng.integers(-4, 5, n), np.zeros(n)
        else:
            mean, bias = rng.normal(0, 3, n), rng.normal(0, 2, n)
        scale, var = rng.uniform(0.3, 2.0, n), rng.uniform(0.3, 5.0, n)
        bn = [const(v, f"bn{i}_{k}") for k, v in enumerate((scale, bias, mean, var))]
        node("BatchNormalization", [f"g{i}", *bn], f"bn{i}", epsilon=1e-4)
        node("BipolarQuant", [f"bn{i}", const(1.0, f"as{i}")], f"a{i}")
        current = f"a{i}"
    n, last = dims[-1], f"g{len(dims) - 2}"
    node("Sub", [last, const(rng.normal(0, 2, n), "tn_mean")], "t1")
    node("Div", ["t1", const(rng.uniform(1, 3, n), "tn_std")], "t2")
    node("Mul", ["t2", const(rng.uniform(0.5, 2, n), "tn_w")], "t3")
    node("Add", ["t3", const(rng.normal(0, 1, n), "tn_b")], "out")
    graph = helper.make_graph(
        nodes,
        "binarized_mlp",
        [helper.make_tensor_value_info("inp", TensorProto.FLOAT, [1, dims[0]])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, dims[-1]])],
        initializer=inits,
    )
    opsets = [helper.make_opsetid("", opset), helper.make_opsetid(QONNX_DOMAIN, 1)]
    return ModelWrapper(helper.make_model(graph, opset_imports=opsets))


def pixels(seed: int, count: int, features: int) -> np.ndarray:
    """``count`` MNIST-like inputs ``[count, features]``: integer pixels 0..255, a third of them 0."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(count, features)).astype(np.float32)
    x[rng.random(x.shape) < 0.33] = 0.0
    return x
