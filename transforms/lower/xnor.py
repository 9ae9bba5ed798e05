"""ConvertBipolarMatMulToXnorPopcount: bipolar ``MatMul`` as ``XnorPopcountMatMul`` (FINN/QONNX pass)."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper
from typing_extensions import override

from qnncc.core.datatype import DataType
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.core.transformation import Transformation

from ._util import QONNX_DOMAIN, ensure_domain_import, insert_nodes, is_graph_output

BIPOLAR = DataType.from_name("BIPOLAR")
BINARY = DataType.from_name("BINARY")
#: Ops between the MultiThreshold and the MatMul that commute with (a + 1) / 2.
PASS_THROUGH = frozenset(
    {"Transpose", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "MaxPool", "MaxPoolNHWC", "Im2Col"}
)


class ConvertBipolarMatMulToXnorPopcount(Transformation):
    """Turn every bipolar-by-bipolar ``MatMul`` fed by a bipolar ``MultiThreshold`` into XNOR-popcount.

    Pattern: a ``MatMul`` whose input 0 and constant weights (input 1, 2-D,
    values in {-1, +1}) are both annotated ``BIPOLAR``, and whose input 0 is
    computed by a ``MultiThreshold`` with one threshold per channel,
    ``out_scale=2``, ``out_bias=-1`` (so it outputs ``2*[x >= t] - 1``), possibly
    through data-movement ops (``Transpose``, ``Reshape``, ``Flatten``,
    ``Squeeze``, ``Unsqueeze``, ``Identity``, ``MaxPool``, ``MaxPoolNHWC``, and
    ``Im2Col`` without padding), each tensor on the way read only by the next.

    Rewrite (FINN/QONNX's pass): the ``MultiThreshold`` gets ``out_scale=1``,
    ``out_bias=0``, ``out_dtype=BINARY`` (it now outputs ``b = (a + 1) / 2``),
    every tensor from it to the ``MatMul`` is annotated ``BINARY``, the weights
    become ``(W + 1) / 2`` annotated ``BINARY``, and the ``MatMul`` becomes
    ``XnorPopcountMatMul -> Mul(2) -> Add(-K)`` (``K`` = rows of ``W``), writing
    the original output. As in FINN, streamlining later absorbs the Mul/Add.

    Why it is exact: the data-movement ops commute with the increasing map
    ``a -> (a + 1) / 2`` (the max of a window included; unpadded Im2Col only),
    so the ``MatMul`` now sees ``b``. For bipolar vectors
    ``a . w = (#agreeing positions) - (#differing positions) = 2p - K`` where
    ``p = popcount(xnor(b_a, b_w))`` is what ``XnorPopcountMatMul`` computes;
    all values are integers far below ``2**24``, so float32 is exact.

    Matches without such a ``MultiThreshold`` (e.g. a bipolar graph input) are
    left alone: re-encoding a graph input would change the model's interface.

    All matches are rewritten in one round.
    """

    @override
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        changed = False
        for node in list(model.graph.node):
            if node.op_type != "MatMul" or node.domain not in ("", "ai.onnx"):
                continue
            a, w_name = node.input[0], node.input[1]
            if model.get_tensor_datatype(a) != BIPOLAR or model.get_tensor_datatype(w_name) != BIPOLAR:
                continue
            w = model.get_initializer(w_name)
            if w is None or w.ndim != 2 or not bool(np.all((w == 1) | (w == -1))):
                continue
            chain = _bipolar_source(model, a)
            if chain is None:
                continue
            _convert(model, node, w, chain)
            changed = True
        if changed:
            ensure_domain_import(model)
        return model, changed


def _bipolar_source(model: ModelWrapper, tensor: str) -> tuple[onnx.NodeProto, list[str]] | None:
    """The bipolar MultiThreshold upstream of ``tensor`` and the tensors from it to ``tensor``."""
    tensors = [tensor]
    while True:
        if len(model.find_consumers(tensor)) != 1 or is_graph_output(model, tensor):
            return None
        prod = model.find_producer(tensor)
        if prod is None:
            return None
        if prod.op_type == "MultiThreshold":
            return (prod, tensors) if _is_bipolar_threshold(model, prod) else None
        if prod.op_type not in PASS_THROUGH:
            return None
        if prod.op_type == "Im2Col" and any(int(p) for p in model.get_nodeattr(prod, "pad_amount", [0])):
            return None  # padding zeros are not bipolar: no binary encoding preserves them
        tensor = prod.input[0]
        tensors.append(tensor)


def _is_bipolar_threshold(model: ModelWrapper, node: onnx.NodeProto) -> bool:
    thr = model.get_initializer(node.input[1])
    return (
        str(model.get_nodeattr(node, "out_dtype", "")) == "BIPOLAR"
        and float(model.get_nodeattr(node, "out_scale", 1.0)) == 2.0
        and float(model.get_nodeattr(node, "out_bias", 0.0)) == -1.0
        and thr is not None
        and thr.ndim == 2
        and thr.shape[1] == 1
    )


def _const(model: ModelWrapper, hint: str, value: float) -> str:
    name = model.make_new_name(hint)
    model.set_initializer(name, np.asarray([value], dtype=np.float32))
    return name


def _convert(model: ModelWrapper, node: onnx.NodeProto, w: np.ndarray, chain: tuple[onnx.NodeProto, list[str]]) -> None:
    mt, tensors = chain
    base = node.name or "MatMul"
    model.set_nodeattr(mt, "out_scale", 1.0)
    model.set_nodeattr(mt, "out_bias", 0.0)
    model.set_nodeattr(mt, "out_dtype", "BINARY")
    for t in tensors:
        model.set_tensor_datatype(t, BINARY)
    w_name = node.input[1]
    if len(model.find_consumers(w_name)) > 1:
        w_name = model.make_new_name(f"{base}_Wbin")
        node.input[1] = w_name
    model.set_initializer(w_name, ((w + 1) / 2).astype(np.float32))
    model.set_tensor_datatype(w_name, BINARY)
    k = int(w.shape[0])
    out = node.output[0]
    out_shape = model.get_tensor_shape(out)
    popcount = model.make_new_name(f"{base}_popcount")
    doubled = model.make_new_name(f"{base}_doubled")
    node.op_type, node.domain = "XnorPopcountMatMul", QONNX_DOMAIN
    node.output[0] = popcount
    model.set_tensor_datatype(popcount, DataType.smallest_for_range(0, k))
    model.set_tensor_datatype(doubled, DataType.smallest_for_range(0, 2 * k))
    for t in (popcount, doubled):
        model.set_tensor_layout(t, model.get_tensor_layout(out))
        if out_shape is not None:
            model.set_tensor_shape(t, out_shape)
    mul = helper.make_node("Mul", [popcount, _const(model, f"{base}_two", 2.0)], [doubled], name=f"{base}_xnor_mul")
    add = helper.make_node("Add", [doubled, _const(model, f"{base}_minus_k", -k)], [out], name=f"{base}_xnor_add")
    insert_nodes(model, model.get_node_index(node) + 1, [mul, add])
