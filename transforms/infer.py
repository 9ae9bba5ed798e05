"""Inference passes: InferShapes and InferDataTypes."""

from __future__ import annotations

import onnx

from qnncc.core.annotations import DATATYPE_KEY
from qnncc.core.datatype import DataType
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.core.transformation import Transformation
from qnncc.custom_op import get_custom_op, is_custom_node
from qnncc.custom_op.shapes import infer_shapes

from ._graph import replace_nodes
from .datatype_rules import FLOAT32, RULES


class InferShapes(Transformation):
    """Annotate the shape and element type of every tensor ONNX can infer.

    Mirrors FINN/QONNX ``InferShapes`` and wraps
    :func:`qnncc.custom_op.shapes.infer_shapes`: custom ops are replaced by
    shape-compatible standard nodes in a scratch copy, ``onnx.shape_inference``
    runs on it and the value infos are written back. Existing intermediate
    value infos are replaced. ONNX inference needs producers before
    consumers, so an unsorted graph is inferred on a sorted scratch copy (the
    node order of the model is left alone). One round always suffices
    (``changed`` is False).

    Raises:
        UnsupportedOpError: if a custom op is unknown.
        GraphError: if ONNX shape inference finds an inconsistency, or the
            graph has a cycle.
    """

    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        """Infer the shapes of ``model`` in place."""
        order = model.topological_sort()
        if [id(n) for n in order] == [id(n) for n in model.graph.node]:
            infer_shapes(model)
            return model, False
        scratch = model.copy()
        replace_nodes(scratch, [scratch.graph.node[i] for i in _positions(model, order)])
        infer_shapes(scratch)
        del model.graph.value_info[:]
        model.graph.value_info.extend(scratch.graph.value_info)
        for old, new in zip(model.graph.output, scratch.graph.output, strict=True):
            old.CopyFrom(new)
        return model, False


def _positions(model: ModelWrapper, order: list[onnx.NodeProto]) -> list[int]:
    index = {id(n): i for i, n in enumerate(model.graph.node)}
    return [index[id(n)] for n in order]


class InferDataTypes(Transformation):
    """Propagate ``finn_datatype`` annotations from the graph inputs to every node output.

    Mirrors FINN/QONNX ``InferDataTypes``; nodes are visited in topological
    order, so one round reaches every tensor:

    * custom ops (``MultiThreshold``, ``Quant``, ...) use their
      :meth:`~qnncc.custom_op.CustomOp.infer_datatype`;
    * data-movement ops (``Reshape``, ``Transpose``, ``Flatten``,
      ``Squeeze``, ``Unsqueeze``, ``Identity``, ``Slice``, ``Gather``,
      ``MaxPool``, ...) pass their input's datatype on; ``Concat``, ``Max``,
      ``Min`` and ``Where`` get one type holding all their inputs;
    * ``MatMul``, ``Gemm``, ``Conv``, ``Add``, ``Sub`` and ``Mul`` whose
      inputs are integer (annotated, or constants holding only integers) get
      the smallest integer type holding every possible result, computed by
      interval arithmetic from the constant weights (e.g. a BIPOLAR x BIPOLAR
      ``MatMul`` with K=784 gives INT11 where FINN writes INT32); the result
      is FLOAT32 when a partial sum could exceed 2**24 and so lose exactness
      in float32;
    * ``Sign`` gives TERNARY ({-1, 0, 1}), or BIPOLAR when its input cannot
      be 0 or the exporter annotated the output BIPOLAR (Brevitas, FINN);
      ``Relu``, ``Neg``, ``Clip``, ``Pad``, ``Cast``, ``Round``, ``TopK``
      and ``ArgMax`` follow their value ranges;
    * every other output is FLOAT32 (FLOAT32 claims nothing about values).

    Graph inputs and initializers are never re-annotated, so the annotation
    of a graph input is never downgraded. ``changed`` is True if any
    annotation was added or changed (a second round then finds nothing new).

    Raises:
        UnsupportedOpError: if a custom op is unknown.
        GraphError: if the graph has a cycle.
    """

    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        """Annotate the node outputs of ``model`` in place."""
        protected = {vi.name for vi in model.graph.input} | {i.name for i in model.graph.initializer}
        changed = False
        for node in model.topological_sort():
            if is_custom_node(node):
                dtypes = get_custom_op(node).infer_datatype(model)
            else:
                rule = RULES.get(node.op_type)
                dtypes = rule(model, node) if rule is not None else [FLOAT32] * len(node.output)
            if len(dtypes) < len(node.output):
                dtypes = list(dtypes) + [FLOAT32] * (len(node.output) - len(dtypes))
            for name, dtype in zip(node.output, dtypes, strict=False):
                if not name or name in protected:
                    continue
                changed |= _annotate(model, name, dtype)
        return model, changed


def _annotate(model: ModelWrapper, name: str, dtype: DataType) -> bool:
    """Set the datatype annotation of ``name``; True if it was absent or different."""
    before = None
    for qa in model.graph.quantization_annotation:
        if qa.tensor_name == name:
            before = next((kv.value for kv in qa.quant_parameter_tensor_names if kv.key == DATATYPE_KEY), None)
            break
    if before is not None and DataType.from_name(before) == dtype:
        return False
    model.set_tensor_datatype(name, dtype)
    return True
