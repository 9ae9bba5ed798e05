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
"""

from __future__ import annotations

import ast
import copy as _copy
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import networkx as nx
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from qnncc.core.datatype import DataType
from qnncc.core.errors import GraphError, ModelLoadError

if TYPE_CHECKING:
    from qnncc.core.transformation import Transformation

T = TypeVar("T")

DATATYPE_KEY = "finn_datatype"
LAYOUT_KEY = "tensor_layout"


class ModelWrapper:
    """Wraps an ONNX model with the queries and edits compiler passes need.

    Args:
        model: an ``onnx.ModelProto``, a path to an ``.onnx`` file, or the
            serialized bytes of a model. A ModelProto is wrapped without copy.

    Raises:
        ModelLoadError: if a path or bytes cannot be parsed as ONNX.
    """

    def __init__(self, model: onnx.ModelProto | str | Path | bytes) -> None:
        if isinstance(model, onnx.ModelProto):
            self._model = model
        elif isinstance(model, bytes):
            self._model = _parse_bytes(model, "<bytes>")
        else:
            path = Path(model)
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise ModelLoadError(f"cannot read model file {path}: {exc.strerror}") from None
            self._model = _parse_bytes(data, str(path))
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

    def _annotation(self, name: str, create: bool) -> onnx.TensorAnnotation | None:
        for qa in self.graph.quantization_annotation:
            if qa.tensor_name == name:
                return qa
        if not create:
            return None
        qa = self.graph.quantization_annotation.add()
        qa.tensor_name = name
        return qa

    def _get_annotation_value(self, name: str, key: str) -> str | None:
        qa = self._annotation(name, create=False)
        if qa is None:
            return None
        for kv in qa.quant_parameter_tensor_names:
            if kv.key == key:
                return str(kv.value)
        return None

    def _set_annotation_value(self, name: str, key: str, value: str | None) -> None:
        qa = self._annotation(name, create=value is not None)
        if qa is None:
            return
        for i, kv in enumerate(qa.quant_parameter_tensor_names):
            if kv.key == key:
                if value is None:
                    del qa.quant_parameter_tensor_names[i]
                else:
                    kv.value = value
                return
        if value is not None:
            kv = qa.quant_parameter_tensor_names.add()
            kv.key, kv.value = key, value

    def get_tensor_datatype(self, name: str) -> DataType:
        """Annotated datatype of a tensor; FLOAT32 when there is none."""
        value = self._get_annotation_value(name, DATATYPE_KEY)
        return DataType.from_name(value) if value else DataType["FLOAT32"]

    def set_tensor_datatype(self, name: str, datatype: DataType | str | None) -> None:
        """Annotate a tensor's datatype (``None`` removes the annotation)."""
        value = None if datatype is None else DataType.from_name(str(datatype)).name
        self._set_annotation_value(name, DATATYPE_KEY, value)

    def get_tensor_layout(self, name: str) -> str | None:
        """Data layout of a tensor as a string such as ``"NHWC"``, or None.

        Reads both qnncc's plain strings and the list form FINN/QONNX write
        (``"['N', 'C', 'H', 'W']"``).
        """
        value = self._get_annotation_value(name, LAYOUT_KEY)
        if not value:
            return None
        if value.startswith("["):
            try:
                return "".join(ast.literal_eval(value))
            except (ValueError, SyntaxError):
                return None
        return value

    def set_tensor_layout(self, name: str, layout: str | Sequence[str] | None) -> None:
        """Annotate a tensor's data layout, stored in FINN/QONNX list form."""
        value = None if layout is None else str(list(layout))
        self._set_annotation_value(name, LAYOUT_KEY, value)

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
        for attr in node.attribute:
            if attr.name == name:
                return _decode(helper.get_attribute_value(attr))
        return default

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
        """Graph view: nodes keyed by index with ``node`` data, edges labelled by tensor.

        Returns:
            A ``networkx.MultiDiGraph`` whose vertices are node indices into
            ``graph.node`` (attribute ``node`` holds the NodeProto, ``name`` its
            name) and whose edges carry the connecting tensor name in
            attribute ``tensor``.
        """
        g: nx.MultiDiGraph = nx.MultiDiGraph()
        producer: dict[str, int] = {}
        for i, node in enumerate(self.graph.node):
            g.add_node(i, node=node, name=node.name, op_type=node.op_type)
            for t in node.output:
                if t:
                    producer[t] = i
        for j, node in enumerate(self.graph.node):
            for t in node.input:
                if t in producer:
                    g.add_edge(producer[t], j, tensor=t)
        return g

    def topological_sort(self) -> list[onnx.NodeProto]:
        """Nodes in an order where every producer comes before its consumers.

        Ties keep the current graph order, so a sorted graph stays unchanged.

        Raises:
            GraphError: if the graph has a cycle (the message names its nodes).
        """
        g = self.to_networkx()
        try:
            order = list(nx.lexicographical_topological_sort(g))
        except nx.NetworkXUnfeasible:
            cycle = nx.find_cycle(g)
            names = [self.graph.node[u].name or f"{self.graph.node[u].op_type}#{u}" for u, *_ in cycle]
            raise GraphError(f"graph has a cycle through nodes {' -> '.join(names)}") from None
        return [self.graph.node[i] for i in order]

    def check(self, require_shapes: bool = False) -> None:
        """Validate the model and raise one clear error for the first problem found.

        Checks: ``onnx.checker`` passes, no cycle, every node input is
        produced, an initializer or a graph input, no tensor is produced twice
        and, with ``require_shapes``, every graph input has a static shape.

        Raises:
            GraphError: naming the node or tensor at fault.
        """
        self.topological_sort()
        available = {i.name for i in self.graph.input} | {i.name for i in self.graph.initializer}
        produced: dict[str, str] = {}
        for node in self.graph.node:
            for t in node.output:
                if not t:
                    continue
                if t in produced or t in available:
                    raise GraphError(f"tensor {t!r} is produced twice (by node {node.name or node.op_type!r})")
                produced[t] = node.name
        known = available | set(produced)
        for node in self.graph.node:
            missing = [t for t in node.input if t and t not in known]
            if missing:
                raise GraphError(f"node {node.name or node.op_type!r} reads tensor(s) {missing} that nothing produces")
        for out in self.graph_output_names():
            if out not in known:
                raise GraphError(f"graph output {out!r} is not produced by any node")
        if require_shapes:
            for name in self.graph_input_names():
                if self.get_tensor_shape(name) is None:
                    raise GraphError(f"graph input {name!r} has no static shape")
        try:
            onnx.checker.check_model(self._model)
        except onnx.checker.ValidationError as exc:
            first = str(exc).strip().splitlines()[0]
            raise GraphError(f"ONNX checker: {first}") from None

    def cleanup_value_infos(self, keep: Iterable[str] = ()) -> None:
        """Drop value infos of tensors the graph no longer uses."""
        used = set(self.get_all_tensor_names()) | set(keep)
        stale = [vi for vi in self.graph.value_info if vi.name not in used]
        for vi in stale:
            self.graph.value_info.remove(vi)


def set_node_attribute(node: onnx.NodeProto, name: str, value: Any) -> None:
    """Create or replace attribute ``name`` of ``node`` (also for nodes inside subgraphs)."""
    new = helper.make_attribute(name, value)
    for attr in node.attribute:
        if attr.name == name:
            attr.CopyFrom(new)
            return
    node.attribute.append(new)


def _decode(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, list) and value and isinstance(value[0], bytes):
        return [v.decode("utf-8") for v in value]
    return value


def _parse_bytes(data: bytes, origin: str) -> onnx.ModelProto:
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except Exception as exc:  # protobuf raises DecodeError or RuntimeError
        raise ModelLoadError(
            f"{origin} is not a valid ONNX file (truncated or corrupt): {type(exc).__name__}"
        ) from None
    if not model.HasField("graph") or (len(model.graph.node) == 0 and len(model.graph.output) == 0):
        raise ModelLoadError(f"{origin} holds no ONNX graph (empty, truncated or not an ONNX file)")
    return model
