"""ModelWrapper: the IR qnncc passes work on, a thin layer over ``onnx.ModelProto``.

The wrapper keeps the ONNX protobuf as the single source of truth. Datatypes
and data layouts live in ``graph.quantization_annotation`` under the keys
``finn_datatype`` and ``tensor_layout``, exactly where FINN and QONNX put
them, so files round-trip between the three tools.

Copy or mutate: passes **mutate the wrapped model in place**. ``transform``
returns the same wrapper so the FINN idiom ``model = model.transform(P())``
keeps working, but no deep copy is made per pass (a known cost in FINN/QONNX
on large models). Call :meth:`ModelWrapper.copy` (or ``transform(p,
copy=True)``) when the model before the pass is still needed, e.g. for
differential tests.

The protobuf-level pieces live in their own modules: the annotation store
(:mod:`qnncc.core.annotations`), the graph's structure and validation
(:mod:`qnncc.core.graph_structure`), reading a model and node attributes
(:mod:`qnncc.core.model_proto`); ``DATATYPE_KEY``, ``LAYOUT_KEY`` and
``set_node_attribute`` are re-exported here.
"""

from __future__ import annotations

import copy as _copy
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import networkx as nx
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from qnncc.core.annotations import DATATYPE_KEY, LAYOUT_KEY, format_layout, get_annotation, parse_layout, set_annotation
from qnncc.core.datatype import DataType
from qnncc.core.errors import GraphError
from qnncc.core.graph_structure import check_model, graph_to_networkx, topological_order
from qnncc.core.model_proto import get_node_attribute, read_model_proto, set_node_attribute

if TYPE_CHECKING:
    from qnncc.core.transformation import Transformation

__all__ = ["DATATYPE_KEY", "LAYOUT_KEY", "ModelWrapper", "set_node_attribute"]

T = TypeVar("T")


class ModelWrapper:
    """Wraps an ONNX model with the queries and edits compiler passes need.

    Args:
        model: an ``onnx.ModelProto``, a path to an ``.onnx`` file, or the
            serialized bytes of a model. A ModelProto is wrapped without copy.

    Raises:
        ModelLoadError: if a path or bytes cannot be parsed as ONNX.
    """

    def __init__(self, model: onnx.ModelProto | str | Path | bytes) -> None:
        self._model = read_model_proto(model)
        self._exec_cache: dict[str, Any] = {}
        self._generation = 0

    def mark_changed(self) -> None:
        """Tell the model's caches (e.g. :func:`qnncc.execute`'s) that its contents changed.

        Wrapper methods and passes call it; call it yourself only after
        overwriting the bytes of a large initializer directly on the protobuf
        (same name, shape and type), which the execution cache does not read.
        """
        self._generation += 1

    @property
    def generation(self) -> int:
        """Counter bumped by :meth:`mark_changed` (by every initializer edit and pass run)."""
        return self._generation

    # ------------------------------------------------------------ basics
    @property
    def model(self) -> onnx.ModelProto:
        """The wrapped ``onnx.ModelProto`` (not a copy)."""
        return self._model

    @property
    def graph(self) -> onnx.GraphProto:
        """The main graph of the model."""
        return self._model.graph

    def copy(self) -> ModelWrapper:
        """Deep copy of the model (caches are not copied)."""
        return ModelWrapper(_copy.deepcopy(self._model))

    def save(self, path: str | Path) -> None:
        """Write the model to ``path`` (parent folders are created)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        onnx.save(self._model, str(path))

    def serialize(self) -> bytes:
        """Serialized model bytes (ONNX has no map fields, so this is deterministic)."""
        return self._model.SerializeToString()

    def get_opset(self, domain: str = "") -> int | None:
        """Opset version imported for ``domain`` ("" is the default ONNX domain)."""
        for imp in self._model.opset_import:
            if imp.domain == domain:
                return int(imp.version)
        return None

    # ------------------------------------------------------------ passes
    def transform(self, transformation: Transformation, copy: bool = False) -> ModelWrapper:
        """Apply a pass to a bounded fixpoint (see :class:`Transformation`).

        Args:
            transformation: the pass instance.
            copy: deep-copy the model first and leave ``self`` untouched.

        Returns:
            The transformed wrapper: ``self`` unless ``copy`` is set.

        Raises:
            TransformationError: if the pass does not converge.
        """
        target = self.copy() if copy else self
        return transformation.run(target)

    def analysis(self, fn: Callable[[ModelWrapper], T]) -> T:
        """Run an analysis function ``fn(model) -> result`` and return its result."""
        return fn(self)

    # ------------------------------------------------------------ tensors
    def graph_input_names(self) -> list[str]:
        """Names of graph inputs that are not initializers (the real inputs)."""
        inits = {i.name for i in self.graph.initializer}
        return [i.name for i in self.graph.input if i.name not in inits]

    def graph_output_names(self) -> list[str]:
        """Names of the graph outputs."""
        return [o.name for o in self.graph.output]

    def get_all_tensor_names(self) -> list[str]:
        """Every tensor name used by the graph, in order of first appearance."""
        names: dict[str, None] = {}
        for vi in self.graph.input:
            names[vi.name] = None
        for init in self.graph.initializer:
            names[init.name] = None
        for node in self.graph.node:
            for t in list(node.input) + list(node.output):
                if t:
                    names[t] = None
        return list(names)

    def _find_value_info(self, name: str) -> onnx.ValueInfoProto | None:
        for coll in (self.graph.input, self.graph.output, self.graph.value_info):
            for vi in coll:
                if vi.name == name:
                    return vi
        return None

    def get_tensor_shape(self, name: str) -> list[int] | None:
        """Static shape of a tensor, or None if unknown or not fully static.

        Initializers report their array shape; other tensors their value info.
        """
        init = self._find_initializer(name)
        if init is not None:
            return list(init.dims)
        vi = self._find_value_info(name)
        if vi is None or not vi.type.tensor_type.HasField("shape"):
            return None
        dims = vi.type.tensor_type.shape.dim
        if any(not d.HasField("dim_value") for d in dims):
            return None
        return [int(d.dim_value) for d in dims]

    def get_tensor_elem_type(self, name: str) -> int | None:
        """ONNX element type (``TensorProto.FLOAT`` ...) of a tensor, if known."""
        init = self._find_initializer(name)
        if init is not None:
            return int(init.data_type)
        vi = self._find_value_info(name)
        if vi is None or not vi.type.tensor_type.elem_type:
            return None
        return int(vi.type.tensor_type.elem_type)

    def set_tensor_shape(self, name: str, shape: Sequence[int], elem_type: int = TensorProto.FLOAT) -> None:
        """Record a static shape for a tensor in its value info (created if missing)."""
        vi = self._find_value_info(name)
        new = helper.make_tensor_value_info(name, elem_type, list(shape))
        if vi is None:
            self.graph.value_info.append(new)
        else:
            if vi.type.tensor_type.elem_type:
                new.type.tensor_type.elem_type = vi.type.tensor_type.elem_type
            vi.CopyFrom(new)

    def get_tensor_datatype(self, name: str) -> DataType:
        """Annotated datatype of a tensor; FLOAT32 when there is none."""
        value = get_annotation(self.graph, name, DATATYPE_KEY)
        return DataType.from_name(value) if value else DataType["FLOAT32"]

    def set_tensor_datatype(self, name: str, datatype: DataType | str | None) -> None:
        """Annotate a tensor's datatype (``None`` removes the annotation)."""
        value = None if datatype is None else DataType.from_name(str(datatype)).name
        set_annotation(self.graph, name, DATATYPE_KEY, value)

    def get_tensor_layout(self, name: str) -> str | None:
        """Data layout of a tensor as a string such as ``"NHWC"``, or None.

        Reads both qnncc's plain strings and the list form FINN/QONNX write
        (``"['N', 'C', 'H', 'W']"``).
        """
        return parse_layout(get_annotation(self.graph, name, LAYOUT_KEY))

    def set_tensor_layout(self, name: str, layout: str | Sequence[str] | None) -> None:
        """Annotate a tensor's data layout, stored in FINN/QONNX list form."""
        set_annotation(self.graph, name, LAYOUT_KEY, None if layout is None else format_layout(layout))

    # ------------------------------------------------------------ initializers
    def _find_initializer(self, name: str) -> onnx.TensorProto | None:
        for init in self.graph.initializer:
            if init.name == name:
                return init
        return None

    def get_initializer(self, name: str) -> np.ndarray | None:
        """Value of an initializer as a numpy array, or None if not constant."""
        init = self._find_initializer(name)
        return None if init is None else numpy_helper.to_array(init)

    def set_initializer(self, name: str, value: np.ndarray) -> None:
        """Create or replace an initializer (its value info is updated too)."""
        arr = np.asarray(value)
        tensor = numpy_helper.from_array(arr, name)
        self.mark_changed()
        init = self._find_initializer(name)
        if init is None:
            self.graph.initializer.append(tensor)
        else:
            init.CopyFrom(tensor)
        vi = self._find_value_info(name)
        if vi is not None and vi in self.graph.input:  # old-style exports list initializers as inputs
            vi.CopyFrom(helper.make_tensor_value_info(name, tensor.data_type, list(arr.shape)))
        elif vi is not None:
            self.graph.value_info.remove(vi)

    def del_initializer(self, name: str) -> None:
        """Remove an initializer if present."""
        init = self._find_initializer(name)
        if init is not None:
            self.mark_changed()
            self.graph.initializer.remove(init)

    def is_constant(self, name: str) -> bool:
        """Whether a tensor is an initializer."""
        return self._find_initializer(name) is not None

    # ------------------------------------------------------------ nodes
    def find_producer(self, tensor: str) -> onnx.NodeProto | None:
        """The node that writes ``tensor``, or None for inputs and initializers."""
        for node in self.graph.node:
            if tensor in node.output:
                return node
        return None

    def find_consumers(self, tensor: str) -> list[onnx.NodeProto]:
        """Every node that reads ``tensor``, in graph order."""
        return [n for n in self.graph.node if tensor in n.input]

    def find_consumer(self, tensor: str) -> onnx.NodeProto | None:
        """The single consumer of ``tensor``, or None if there are 0 or several."""
        consumers = self.find_consumers(tensor)
        return consumers[0] if len(consumers) == 1 else None

    def get_node_index(self, node: onnx.NodeProto) -> int:
        """Position of ``node`` in ``graph.node``.

        Raises:
            GraphError: if the node is not in this graph.
        """
        for i, cand in enumerate(self.graph.node):
            if cand is node or cand == node:
                return i
        raise GraphError(f"node {node.name or node.op_type!r} is not in the graph")

    def get_nodes_by_op_type(self, op_type: str) -> list[onnx.NodeProto]:
        """All nodes of one op type, in graph order."""
        return [n for n in self.graph.node if n.op_type == op_type]

    def get_node_by_name(self, name: str) -> onnx.NodeProto | None:
        """The node called ``name``, or None."""
        for node in self.graph.node:
            if node.name == name:
                return node
        return None

    def is_fork_node(self, node: onnx.NodeProto) -> bool:
        """Whether any output of ``node`` feeds more than one consumer."""
        return any(len(self.find_consumers(t)) > 1 for t in node.output)

    def is_join_node(self, node: onnx.NodeProto) -> bool:
        """Whether ``node`` reads more than one produced (non-constant) tensor."""
        return sum(1 for t in node.input if t and self.find_producer(t) is not None) > 1

    def remove_node(self, node: onnx.NodeProto) -> None:
        """Delete ``node`` from the graph (its tensors are left alone)."""
        self.graph.node.remove(node)

    def get_nodeattr(self, node: onnx.NodeProto, name: str, default: Any = None) -> Any:
        """Value of a node attribute, decoded (bytes become str), or ``default``."""
        return get_node_attribute(node, name, default)

    def set_nodeattr(self, node: onnx.NodeProto, name: str, value: Any) -> None:
        """Create or replace a node attribute."""
        set_node_attribute(node, name, value)

    def make_new_name(self, prefix: str) -> str:
        """A tensor name not yet used in the graph, ``prefix`` plus a counter."""
        used = set(self.get_all_tensor_names()) | {vi.name for vi in self.graph.value_info}
        i = 0
        while f"{prefix}{i}" in used:
            i += 1
        return f"{prefix}{i}"

    def rename_tensor(self, old: str, new: str) -> None:
        """Rename a tensor everywhere it appears (nodes, I/O, value infos, annotations)."""
        for node in self.graph.node:
            node.input[:] = [new if t == old else t for t in node.input]
            node.output[:] = [new if t == old else t for t in node.output]
        for coll in (self.graph.input, self.graph.output, self.graph.value_info):
            for vi in coll:
                if vi.name == old:
                    vi.name = new
        for init in self.graph.initializer:
            if init.name == old:
                init.name = new
        for qa in self.graph.quantization_annotation:
            if qa.tensor_name == old:
                qa.tensor_name = new

    # ------------------------------------------------------------ structure
    def to_networkx(self) -> nx.MultiDiGraph:
        """Graph view: vertices are node indices (data ``node``, ``name``, ``op_type``), edges carry ``tensor``.

        See :func:`~qnncc.core.graph_structure.graph_to_networkx`.
        """
        return graph_to_networkx(self.graph)

    def topological_sort(self) -> list[onnx.NodeProto]:
        """Nodes in an order where every producer comes before its consumers.

        Ties keep the current graph order, so a sorted graph stays unchanged.

        Raises:
            GraphError: if the graph has a cycle (the message names its nodes).
        """
        return topological_order(self.graph)

    def check(self, require_shapes: bool = False) -> None:
        """Validate the model and raise one clear error for the first problem found.

        Checks: ``onnx.checker`` passes, no cycle, every node input is
        produced, an initializer or a graph input, no tensor is produced twice
        and, with ``require_shapes``, every graph input has a static shape
        (:func:`~qnncc.core.graph_structure.check_model`).

        Raises:
            GraphError: naming the node or tensor at fault.
        """
        check_model(self._model, require_shapes)

    def cleanup_value_infos(self, keep: Iterable[str] = ()) -> None:
        """Drop value infos of tensors the graph no longer uses."""
        used = set(self.get_all_tensor_names()) | set(keep)
        stale = [vi for vi in self.graph.value_info if vi.name not in used]
        for vi in stale:
            self.graph.value_info.remove(vi)
