"""Seeded HW-level models of chained MVAUs with a chosen ``mem_mode`` per layer (tests of issue 16's weight streaming).

Each MVAU reads UINT2 (the first UINT3) activations, has INTn weights (or BINARY in XNOR
mode) and thresholds to UINT2 outputs, or no activation (INT32 out) for the last layer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from onnx import TensorProto, helper

from qnncc import ModelWrapper
from qnncc.custom_op.partition import HW_DOMAIN


@dataclass(frozen=True)
class Layer:
    """One MVAU: ``mw`` inputs, ``mh`` outputs, folding, weight bits, mem_mode and options."""

    mw: int
    mh: int
    pe: int = 1
    simd: int = 1
    wbits: int = 2
    mem_mode: str = "internal_decoupled"
    act: bool = True
    xnor: bool = False
    extra: dict[str, object] = field(default_factory=dict)


def mvau_chain(layers: Sequence[Layer], vectors: Sequence[int] = (), seed: int = 0) -> ModelWrapper:
    """A HW model ``x [1, *vectors, MW0] -> MVAU_0 -> MVAU_1 -> ... -> y``.

    Args:
        layers: the MVAUs in order (``mh`` of one is ``mw`` of the next).
        vectors: spatial dims of the input (``numInputVectors[1:]``), e.g. ``(3, 3)`` for a conv-like layer.
        seed: seed of weights and thresholds.
    """
    rng = np.random.default_rng(seed)
    nodes, inits = [], []
    idt = "BINARY" if layers[0].xnor else "UINT3"
    x = "x"
    dtypes = {"x": idt}
    shape = [1, *vectors, layers[0].mw]
    for k, spec in enumerate(layers):
        if spec.xnor:
            w = rng.integers(0, 2, (spec.mw, spec.mh)).astype(np.float32)
            wdt = "BINARY"
        else:
            lo = -(2 ** (spec.wbits - 1))
            w = rng.integers(lo, -lo, (spec.mw, spec.mh)).astype(np.float32)
            wdt = f"INT{spec.wbits}"
        wname = f"W{k}"
        inits.append(helper.make_tensor(wname, TensorProto.FLOAT, w.shape, w.ravel()))
        dtypes[wname] = wdt
        inputs = [x, wname]
        if spec.act:
            bound = spec.mw if spec.xnor else 3 * spec.mw
            t = np.sort(rng.integers(-bound // 4, bound // 4 + 1, (spec.mh, 3)), axis=1).astype(np.float32)
            inits.append(helper.make_tensor(f"T{k}", TensorProto.FLOAT, t.shape, t.ravel()))
            inputs.append(f"T{k}")
            odt = "UINT2"
        else:
            odt = "INT32"
        out = "y" if k == len(layers) - 1 else f"a{k}"
        nodes.append(
            helper.make_node(
                "MVAU", inputs, [out], domain=HW_DOMAIN, name=f"MVAU_{k}", MW=spec.mw, MH=spec.mh, PE=spec.pe,
                SIMD=spec.simd, inputDataType=idt, weightDataType=wdt, outputDataType=odt, accDataType="INT32",
                noActivation=int(not spec.act), binaryXnorMode=int(spec.xnor), numInputVectors=[1, *vectors],
                mem_mode=spec.mem_mode, ActVal=0, **spec.extra,
            )
        )  # fmt: skip
        dtypes[out] = odt
        x, idt = out, odt
    oshape = [*shape[:-1], layers[-1].mh]
    graph = helper.make_graph(
        nodes,
        "mvau_chain",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, oshape)],
        inits,
    )
    imports = [helper.make_opsetid("", 13), helper.make_opsetid(HW_DOMAIN, 1)]
    model = ModelWrapper(helper.make_model(graph, opset_imports=imports))
    for name, dt in dtypes.items():
        model.set_tensor_datatype(name, dt)
    return model


def random_input(model: ModelWrapper, frames: int, seed: int = 1) -> np.ndarray:
    """``frames`` random inputs of the model's input datatype."""
    shape = [frames, *[d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim][1:]]
    dt = model.get_tensor_datatype("x")
    return np.random.default_rng(seed).integers(int(dt.min()), int(dt.max()) + 1, shape).astype(np.float32)


def vvau_layer(mode: str, channels: int, kernel: tuple[int, int], pe: int, simd: int, seed: int = 0) -> ModelWrapper:
    """A HW model ``x [1, 2, 3, K*C] (INT3, Im2Col order) -> VVAU_0 -> y [1, 2, 3, C] (INT2)`` with ``mem_mode``."""
    rng = np.random.default_rng(seed)
    kh, kw = kernel
    w = rng.integers(-8, 8, (channels, 1, kh, kw)).astype(np.float32)
    t = np.sort(rng.integers(-40, 41, (channels, 3)), axis=1).astype(np.float32)
    node = helper.make_node(
        "VVAU", ["x", "W", "T"], ["y"], domain=HW_DOMAIN, name="VVAU_0", Channels=channels, Kernel=[kh, kw],
        Dim=[2, 3], PE=pe, SIMD=simd, inputDataType="INT3", weightDataType="INT4", outputDataType="INT2",
        ActVal=-2, noActivation=0, mem_mode=mode,
    )  # fmt: skip
    graph = helper.make_graph(
        [node],
        "vvau",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 3, kh * kw * channels])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 3, channels])],
        [
            helper.make_tensor("W", TensorProto.FLOAT, w.shape, w.ravel()),
            helper.make_tensor("T", TensorProto.FLOAT, t.shape, t.ravel()),
        ],
    )
    imports = [helper.make_opsetid("", 13), helper.make_opsetid(HW_DOMAIN, 1)]
    model = ModelWrapper(helper.make_model(graph, opset_imports=imports))
    for name, dt in {"x": "INT3", "W": "INT4", "y": "INT2"}.items():
        model.set_tensor_datatype(name, dt)
    return model
