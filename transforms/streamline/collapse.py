"""Collapsing streamline passes, and the local-rewrite machinery the reordering passes share.

Streamlining (Umuroglu & Jahre 2017, "Streamlined Deployment for Quantized
Neural Networks") moves the scalar and per-channel ``Mul``/``Add`` nodes left
by quantization scales and batch norms down the graph until they meet, then
collapses them into one node and absorbs it into the next thresholds. This
module holds the collapsing passes (FINN names) :class:`CollapseRepeatedAdd`
and :class:`CollapseRepeatedMul`, and the matching and rewiring helpers
(:class:`LocalRewrite`, :class:`RewriteContext`, :func:`swap_past`, ...) that
the moves in :mod:`.reorder` are built from.

Rules every rewrite here and in :mod:`.reorder` follows (:class:`LocalRewrite`):

* a *linear node* is a ``Mul`` or ``Add`` with exactly one initializer input
  (either side, finite values) and one dynamic input; constants are never
  taken from other nodes;
* an intermediate tensor that disappears or changes meaning has exactly one
  consumer, reads it once, and is neither a graph output nor read by a subgraph;
* output shapes never change: checks use the annotated shapes, and a match
  whose shapes are unknown triggers one shape inference and a second look;
* a changed constant is written in place only when nothing else reads it,
  otherwise under a new name; its datatype annotation is removed;
* the final tensor keeps its name, and its datatype annotation when the
  rewrite is bit-exact; otherwise the annotation is removed (FLOAT32: run
  ``InferDataTypes`` to re-derive it). A new intermediate tensor is annotated
  only when its datatype is known (data movement keeps its input's type);
* one rewrite per ``apply``, then shape inference; ``changed=True`` makes the
  bounded fixpoint of :class:`~qnncc.core.transformation.Transformation` repeat.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import onnx
from typing_extensions import override

from qnncc.core.datatype import DataType
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.core.transformation import Transformation

from .._graph import drop_tensor_metadata, outer_scope_names
from ..infer import InferShapes

LINEAR_OPS = ("Mul", "Add")


@dataclass(frozen=True)
class Linear:
    """A matched linear node: ``node(data, value)`` with ``value`` the constant at ``const_index``."""

    node: onnx.NodeProto
    data: str
    const_index: int
    value: np.ndarray

    @property
    def out(self) -> str:
        """The node's output tensor."""
        return str(self.node.output[0])

    @property
    def data_index(self) -> int:
        """Input slot of the dynamic operand."""
        return 1 - self.const_index


class RewriteContext:
    """Indexes of a model for one round of pattern matching, and the constant writer.

    Args:
        model: the model; the indexes are stale once a rewrite edits it, so a
            pass makes one rewrite per context.
    """

    def __init__(self, model: ModelWrapper) -> None:
        self.model = model
        self.nodes = list(model.graph.node)
        self.missing_shapes = False
        self._inits = {i.name for i in model.graph.initializer}
        self._private_blockers = set(model.graph_output_names()) | outer_scope_names(model.graph)
        self._readers: dict[str, list[int]] = {}
        self._producer: dict[str, int] = {}
        for i, node in enumerate(self.nodes):
            for t in dict.fromkeys(node.input):
                if t:
                    self._readers.setdefault(t, []).append(i)
            for t in node.output:
                if t:
                    self._producer[t] = i

    def producer(self, tensor: str) -> onnx.NodeProto | None:
        """The node writing ``tensor``, if any."""
        i = self._producer.get(tensor)
        return None if i is None else self.nodes[i]

    def sole_consumer(self, tensor: str) -> onnx.NodeProto | None:
        """The only reader of ``tensor`` if the tensor is private to it, else None.

        Private: one node reads it, once, and it is neither a graph output nor
        read by a subgraph.
        """
        readers = self._readers.get(tensor, [])
        if tensor in self._private_blockers or len(readers) != 1:
            return None
        node = self.nodes[readers[0]]
        return node if list(node.input).count(tensor) == 1 else None

    def linear(self, node: onnx.NodeProto | None, ops: tuple[str, ...] = LINEAR_OPS) -> Linear | None:
        """``node`` as a :class:`Linear` if it is one of ``ops`` with exactly one constant input."""
        if node is None or node.op_type not in ops or len(node.input) != 2 or len(node.output) != 1:
            return None
        consts = [t in self._inits for t in node.input]
        if consts.count(True) != 1 or not all(node.input):
            return None
        k = consts.index(True)
        value = self.model.get_initializer(node.input[k])
        assert value is not None
        if value.dtype.kind == "f" and not bool(np.all(np.isfinite(value))):
            return None  # inf/nan constants: the algebra below does not hold
        return Linear(node, str(node.input[1 - k]), k, value)

    def shape(self, name: str) -> tuple[int, ...] | None:
        """Static shape of a tensor; records a miss so that the pass can infer shapes and retry."""
        shape = self.model.get_tensor_shape(name)
        if shape is None:
            self.missing_shapes = True
            return None
        return tuple(shape)

    def same_shape(self, a: str, b: str) -> bool:
        """Whether both shapes are known and equal."""
        sa, sb = self.shape(a), self.shape(b)
        return sa is not None and sa == sb

    def set_const(self, node: onnx.NodeProto, index: int, value: np.ndarray) -> None:
        """Give ``node`` the constant ``value`` at input ``index``, in place if nobody else reads it."""
        name = str(node.input[index])
        if self.sole_consumer(name) is None:
            name = self.model.make_new_name(f"{node.name or node.op_type}_param")
            node.input[index] = name
        self.model.set_initializer(name, np.ascontiguousarray(value))
        self.model.set_tensor_datatype(name, None)


class LocalRewrite(Transformation):
    """Base of the streamline rewrites: rewrite every match in one round, then infer shapes once.

    Subclasses implement :meth:`rewrite`. A round walks the nodes in graph order; after a
    rewrite the indexes are rebuilt and the walk goes on from the same position (the rewritten
    node's place now holds what followed it, or the moved node), so a graph with hundreds of
    matches takes one or two rounds, not one round per match. Each rewrite removes or moves a
    linear node towards the graph outputs, so the fixpoint is reached; a round stops after
    :func:`round_budget` rewrites (then the next round goes on), which bounds a round even for
    a pair of rewrites that would undo each other. Candidates whose tensors lack shapes (e.g.
    made by an earlier rewrite of the round) are left for the next round, after shape inference.
    """

    @override
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        changed = False
        for attempt in range(2):
            ctx = RewriteContext(model)
            missing = False
            budget = round_budget(len(ctx.nodes))
            idx = 0
            while idx < len(ctx.nodes) and budget > 0:
                if self.rewrite(ctx, ctx.nodes[idx]):
                    changed, budget = True, budget - 1
                    missing = missing or ctx.missing_shapes
                    ctx = RewriteContext(model)  # indexes are stale after a rewrite
                else:
                    idx += 1
            missing = missing or ctx.missing_shapes
            if changed or missing:
                InferShapes().apply(model)
            if changed or attempt or not missing:
                break  # (a candidate lacked shapes and nothing changed: infer once, look again)
        return model, changed

    @abstractmethod
    def rewrite(self, ctx: RewriteContext, node: onnx.NodeProto) -> bool:
        """Rewrite the pattern starting at ``node`` if it matches.

        Returns:
            Whether the model was changed (then the context is stale).
        """


def round_budget(nodes: int) -> int:
    """Rewrites one round of a :class:`LocalRewrite` may make on a graph of ``nodes`` nodes."""
    return 4 * nodes + 16


def move_after(model: ModelWrapper, node: onnx.NodeProto, anchor: onnx.NodeProto) -> None:
    """Place ``node`` directly after ``anchor`` in ``graph.node``."""
    i, j = model.get_node_index(node), model.get_node_index(anchor)
    moved = onnx.NodeProto()
    moved.CopyFrom(node)
    del model.graph.node[i]
    model.graph.node.insert(j if i < j else j + 1, moved)


def remove_node(model: ModelWrapper, node: onnx.NodeProto) -> None:
    """Delete ``node`` from the graph."""
    del model.graph.node[model.get_node_index(node)]


def retire(model: ModelWrapper, old: str, end: str, exact: bool) -> None:
    """Bookkeeping after a rewrite: drop ``old``'s metadata; keep ``end``'s datatype only if ``exact``."""
    drop_tensor_metadata(model, old)
    if not exact:
        model.set_tensor_datatype(end, None)


def annotate(model: ModelWrapper, name: str, datatype: DataType | None) -> None:
    """Annotate a new tensor when its datatype is known and not FLOAT32."""
    if datatype is not None and not datatype.is_float():
        model.set_tensor_datatype(name, datatype)


def broadcasts_to(value: np.ndarray, shape: Sequence[int] | None) -> bool:
    """Whether ``value`` broadcast against a tensor of ``shape`` leaves the shape unchanged."""
    if shape is None:
        return True  # unknown shape: elementwise identities hold, nothing to check
    try:
        return np.broadcast_shapes(value.shape, tuple(shape)) == tuple(shape)
    except ValueError:
        return False


def swap_past(
    ctx: RewriteContext, lin: Linear, f: onnx.NodeProto, value: np.ndarray | None, exact: bool, keep_type: bool
) -> None:
    """Rewrite ``x -> lin -> t -> f -> y`` into ``x -> f -> m -> lin -> y``.

    Args:
        ctx: the matching context.
        lin: the linear node; its constant becomes ``value`` unless None.
        f: the single consumer of ``lin``'s output.
        value: the new constant of ``lin``, or None to keep it.
        exact: whether ``y`` is bit-identical afterwards (keeps its datatype).
        keep_type: whether ``m`` holds elements of ``x`` (gets ``x``'s datatype).
    """
    model = ctx.model
    t, y = lin.out, str(f.output[0])
    m = model.make_new_name(f"{y}_pre_{lin.node.op_type.lower()}")
    f.input[list(f.input).index(t)] = lin.data
    f.output[0] = m
    lin.node.input[lin.data_index] = m
    lin.node.output[0] = y
    if value is not None:
        ctx.set_const(lin.node, lin.const_index, value)
    retire(model, t, y, exact)
    annotate(model, m, model.get_tensor_datatype(lin.data) if keep_type else None)
    move_after(model, lin.node, f)


def axis_vector(value: np.ndarray, shape: tuple[int, ...], axis: int) -> np.ndarray | None:
    """``value`` as a vector along ``axis`` of a tensor of ``shape``, if it varies along that axis only.

    A scalar gives a constant vector; a constant of higher rank than the
    tensor, or varying along another axis, gives None.
    """
    rank = len(shape)
    if rank == 0 or value.ndim > rank:
        return None
    axis %= rank
    full = value.reshape((1,) * (rank - value.ndim) + value.shape)
    if any(d != 1 for i, d in enumerate(full.shape) if i != axis) or full.shape[axis] not in (1, shape[axis]):
        return None
    return np.broadcast_to(full.reshape(-1), (shape[axis],)).copy()


def fit_scalar(value: np.ndarray, shape: Sequence[int] | None) -> np.ndarray | None:
    """A scalar constant reshaped to 0-d if its rank would grow ``shape``, else None (keep it)."""
    return None if broadcasts_to(value, shape) else value.reshape(())


def match_pair(
    ctx: RewriteContext, node: onnx.NodeProto, ops: tuple[str, ...], consumers: tuple[str, ...]
) -> tuple[Linear, onnx.NodeProto] | None:
    """A linear node among ``ops`` whose private output is the data input 0 of one of ``consumers``."""
    lin = ctx.linear(node, ops)
    if lin is None:
        return None
    f = ctx.sole_consumer(lin.out)
    if f is None or f.op_type not in consumers or f.input[0] != lin.out:
        return None
    return lin, f


def no_padding(ctx: RewriteContext, node: onnx.NodeProto) -> bool:
    """Whether a Conv/pool node reads no padding (explicit or implied)."""
    pads = ctx.model.get_nodeattr(node, "pads", []) or []
    auto_pad = ctx.model.get_nodeattr(node, "auto_pad", "NOTSET")
    return not any(pads) and auto_pad in ("NOTSET", "VALID", "") and not ctx.model.get_nodeattr(node, "ceil_mode", 0)


class _CollapseRepeated(LocalRewrite):
    op_type: ClassVar[str]

    @staticmethod
    def _combine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    @override
    def rewrite(self, ctx: RewriteContext, node: onnx.NodeProto) -> bool:
        first = ctx.linear(node, (self.op_type,))
        if first is None:
            return False
        second = ctx.linear(ctx.sole_consumer(first.out), (self.op_type,))
        if second is None or second.data != first.out:
            return False
        combined = np.asarray(self._combine(first.value, second.value)).astype(first.value.dtype)
        end = second.out
        if not broadcasts_to(combined, ctx.model.get_tensor_shape(end)):
            return False
        node.output[0] = end
        ctx.set_const(node, first.const_index, combined)
        remove_node(ctx.model, second.node)
        retire(ctx.model, first.out, end, exact=False)
        return True


class CollapseRepeatedAdd(_CollapseRepeated):
    """Merge two consecutive constant ``Add`` nodes into one (FINN ``CollapseRepeatedAdd``).

    Pattern: ``x -> Add(x, b1) -> t -> Add(t, b2) -> y`` with ``b1``, ``b2``
    initializers (scalar, per-channel or full; either input slot) and ``t``
    private to the second ``Add``.

    Rewrite: ``x -> Add(x, b1 + b2) -> y``; the second node is removed.

    Exactness: ``(x + b1) + b2 = x + (b1 + b2)`` in real arithmetic and
    ``broadcast(x, b1, b2) = broadcast(x, b1 + b2)``, so shapes are kept; in
    float32 the result differs by rounding only (bit-exact for integers below
    2**24). ``y`` loses its datatype annotation.
    """

    op_type = "Add"

    @staticmethod
    @override
    def _combine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.add(a, b)


class CollapseRepeatedMul(_CollapseRepeated):
    """Merge two consecutive constant ``Mul`` nodes into one (FINN ``CollapseRepeatedMul``).

    Pattern: ``x -> Mul(x, a1) -> t -> Mul(t, a2) -> y`` with ``a1``, ``a2``
    initializers (scalar, per-channel or full; either input slot) and ``t``
    private to the second ``Mul``.

    Rewrite: ``x -> Mul(x, a1 * a2) -> y``; the second node is removed.

    Exactness: ``(x * a1) * a2 = x * (a1 * a2)`` in real arithmetic with the
    same broadcast shape; in float32 the result differs by rounding only
    (bit-exact when the factors are powers of two and nothing under- or
    overflows). ``y`` loses its datatype annotation.
    """

    op_type = "Mul"

    @staticmethod
    @override
    def _combine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.multiply(a, b)


__all__ = ["CollapseRepeatedAdd", "CollapseRepeatedMul"]
