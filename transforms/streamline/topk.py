"""Pre- and post-processing around the accelerator: input scaling and top-k."""

from __future__ import annotations

import logging

import numpy as np
from onnx import TensorProto, helper
from typing_extensions import override

from qnncc.core.datatype import DataType
from qnncc.core.errors import TransformationError
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.core.transformation import Transformation

from ._match import bypass, const_operand

log = logging.getLogger(__name__)

#: Most values :func:`reachable_values` enumerates.
MAX_VALUES = 1 << 22


def reachable_values(model: ModelWrapper, tensor: str, depth: int = 4) -> np.ndarray | None:
    """Every float32 value ``tensor`` can take, if it is small and known, sorted and unique.

    Known: ``tensor`` is integer-typed (its datatype's integer range, at most
    :data:`MAX_VALUES` values), or the output of a scalar-constant
    ``Mul``/``Add`` whose input is known (the op applied in float32), up to
    ``depth`` such ops back.
    """
    dt = model.get_tensor_datatype(tensor)
    if dt.is_integer():
        lo, hi = int(dt.min()), int(dt.max())
        if hi - lo + 1 > MAX_VALUES or max(abs(lo), abs(hi)) >= 2**24:
            return None
        return np.arange(lo, hi + 1, dtype=np.float32)
    producer = model.find_producer(tensor)
    if depth == 0 or producer is None or producer.op_type not in ("Mul", "Add"):
        return None
    operand = const_operand(model, producer)
    if operand is None or operand[1].size != 1:
        return None
    inner = reachable_values(model, operand[0], depth - 1)
    if inner is None:
        return None
    c = np.float32(operand[1].reshape(-1)[0])
    return np.unique((inner * c) if producer.op_type == "Mul" else (inner + c)).astype(np.float32)


class AbsorbScalarMulAddIntoTopK(Transformation):
    """Drop a positive scalar ``Mul`` or a scalar ``Add`` feeding only a ``TopK`` (FINN name).

    TopK's indices are invariant to ``x -> a*x + b`` for scalar ``a > 0`` in
    real arithmetic, so only the index output may be in use (the pass skips
    nodes whose values are read). In float32 the dropped op's rounding could
    merge two distinct logits into a tie (the lower index wins a tie) or
    split one, so the pass checks exactness first: every value the op's
    input can take is enumerated (:func:`reachable_values`, e.g. the integer
    range of an MVAU accumulator, through earlier scalar ``Mul``/``Add``
    nodes), and the op must map them strictly increasingly. Then equal
    logits stay equal and unequal ones keep their order, so the indices are
    the same for every input. Unknown inputs are left alone.
    """

    @override
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        changed = False
        for topk in model.get_nodes_by_op_type("TopK"):
            values_used = bool(topk.output[0]) and (
                topk.output[0] in model.graph_output_names() or bool(model.find_consumers(topk.output[0]))
            )
            if values_used:
                continue
            producer = model.find_producer(topk.input[0])
            if (
                producer is None
                or producer.op_type not in ("Mul", "Add")
                or len(model.find_consumers(topk.input[0])) != 1
            ):
                continue
            operand = const_operand(model, producer)
            if operand is None or operand[1].size != 1:
                continue
            c = np.float32(operand[1].reshape(-1)[0])
            if producer.op_type == "Mul" and not c > 0:
                continue
            values = reachable_values(model, operand[0])
            if values is None:
                continue
            mapped = (values * c) if producer.op_type == "Mul" else (values + c)
            if not bool(np.all(np.diff(mapped.astype(np.float32)) > 0)):
                continue  # two logits would merge into a tie
            bypass(model, producer, operand[0])
            changed = True
        return model, changed


def classifier_output(model: ModelWrapper) -> str | None:
    """None if the single graph output looks like class scores, else why not (one line).

    Class scores are ``[N, K]`` (any further axes of size 1, e.g. ``[N, K, 1, 1]``)
    with ``K >= 2`` classes along the last non-unit axis, of a non-binary
    datatype: a ``BINARY``/``BIPOLAR`` output is a bit vector or mask, and an
    output with several axes above 1 (``[1, 64, 6]``) is a feature map, not a
    class axis.
    """
    outputs = model.graph_output_names()
    if len(outputs) != 1:
        return f"the model has {len(outputs)} outputs"
    name = outputs[0]
    shape = model.get_tensor_shape(name)
    if shape is None:
        return f"output {name!r} has no known shape"
    wide = [int(d) for d in list(shape)[1:] if int(d) != 1]
    if not wide:
        return f"output {name!r} of shape {list(shape)} has one class"
    if len(wide) != 1:
        return f"output {name!r} of shape {list(shape)} is not [N, classes]"
    dtype = model.get_tensor_datatype(name)
    if dtype.name in ("BINARY", "BIPOLAR"):
        return f"output {name!r} is {dtype.name} (a bit vector, not class scores)"
    return None


class InsertTopK(Transformation):
    """Append ``TopK(k)`` to the (single) graph output, which becomes the top-k indices (FINN name).

    Args:
        k: number of classes to return (FINN uses 1).
        axis: class axis of the output (default the last).
        only_classifiers: append it only when the output looks like class
            scores (:func:`classifier_output`); the flows' default, so that
            e.g. a binary ``[1, 64, 6]`` mask is not turned into indices.

    Attributes:
        skipped: why no TopK was appended (``only_classifiers``), else None.

    Raises:
        TransformationError: if the graph has several outputs.
    """

    def __init__(self, k: int = 1, axis: int = -1, only_classifiers: bool = False) -> None:
        self.k, self.axis = k, axis
        self.only_classifiers = only_classifiers
        self.skipped: str | None = None

    @override
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        outputs = list(model.graph.output)
        if len(outputs) != 1:
            raise TransformationError(f"InsertTopK needs one graph output, found {len(outputs)}")
        producer = model.find_producer(outputs[0].name)
        if producer is not None and producer.op_type == "TopK":
            return model, False
        old = outputs[0].name
        shape = model.get_tensor_shape(old)
        if self.only_classifiers:
            self.skipped = classifier_output(model)
            if self.skipped is not None:
                log.info("no top-%d appended: %s", self.k, self.skipped)
                return model, False
        if shape is None:
            raise TransformationError(f"InsertTopK: output {old!r} has no known shape; run InferShapes first")
        logits = model.make_new_name(f"{old}_logits")
        model.rename_tensor(old, logits)
        values = model.make_new_name("topk_values")
        if (model.get_opset("") or 1) < 10:  # opsets 1..9 take k as an attribute
            node = helper.make_node("TopK", [logits], [values, old], name="TopK_0", axis=self.axis, k=self.k)
        else:
            k_name = model.make_new_name("topk_k")
            model.set_initializer(k_name, np.array([self.k], dtype=np.int64))
            node = helper.make_node(
                "TopK", [logits, k_name], [values, old], name="TopK_0", axis=self.axis, largest=1, sorted=1
            )
        model.graph.node.append(node)
        out_shape = list(shape)
        out_shape[self.axis] = self.k
        del model.graph.output[:]
        model.graph.output.append(helper.make_tensor_value_info(old, TensorProto.INT64, out_shape))
        model.set_tensor_datatype(old, DataType.smallest_for_range(0, shape[self.axis] - 1))
        return model, False


class InsertInputScaling(Transformation):
    """Let the graph take raw integer pixels: new input ``x`` then ``Mul(scale)`` into the old input.

    Used for models trained on ``pixels / 255``: with ``scale = 1/255`` the
    accelerator takes UINT8 pixels and the ``Mul`` is absorbed by streamlining.
    The result equals the old model fed with ``fl(x * scale)``; for
    ``scale = 1/255`` and integer pixels this is bit-identical to ``x / 255``
    only where both round the same, so compare predictions, not raw floats.

    Args:
        scale: multiplier applied to the new input.
        datatype: datatype annotation of the new input (e.g. ``"UINT8"``).
    """

    def __init__(self, scale: float = 1.0 / 255.0, datatype: str = "UINT8") -> None:
        self.scale, self.datatype = scale, DataType[datatype]

    @override
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        names = model.graph_input_names()
        if len(names) != 1:
            raise TransformationError(f"InsertInputScaling needs one graph input, found {len(names)}")
        old = names[0]
        scaled = model.make_new_name(f"{old}_scaled")
        for node in model.find_consumers(old):
            node.input[:] = [scaled if t == old else t for t in node.input]
        s_name = model.make_new_name("input_scale")
        model.set_initializer(s_name, np.asarray(self.scale, dtype=np.float32))
        model.graph.node.insert(0, helper.make_node("Mul", [old, s_name], [scaled], name="InputScaling"))
        model.set_tensor_datatype(old, self.datatype)
        return model, False


__all__ = ["AbsorbScalarMulAddIntoTopK", "InsertInputScaling", "InsertTopK", "classifier_output"]
