"""Execute graphs that mix standard ONNX and custom ops.

Two back ends compute the same function:

* ``"fast"`` lowers custom ops to standard ONNX and runs the whole graph in
  one onnxruntime session (cached on the model, reused, batched);
* ``"reference"`` runs node by node in numpy and can return every
  intermediate tensor for debugging.

Both agree bit for bit (the fast path runs onnxruntime without graph
fusions and folds constants with the reference's kernels). A model whose
integer datatypes or accumulators exceed float32's exact range (``2**24``)
runs in float64 in both (:mod:`qnncc.execution.precision`).

Example:
    >>> out = qnncc.execute(model, {"global_in": images})  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import onnx
from onnx import helper

from qnncc.core.errors import ExecutionError
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.core.optional_inputs import drop_undefined_optional_inputs
from qnncc.custom_op.finn_names import is_unmarked_finn_vvau, mark_finn_vvau_input_order
from qnncc.custom_op.shapes import infer_shapes
from qnncc.execution.batching import make_batch_dynamic
from qnncc.execution.constant_fold import fold_constants
from qnncc.execution.fingerprint import model_fingerprint
from qnncc.execution.lowering import lower_to_standard_onnx
from qnncc.execution.precision import exact_integer_convs, float32_outputs, needs_float64, widen_to_float64
from qnncc.execution.reference import ReferenceRunner

Backend = Literal["fast", "reference"]


class Executor:
    """A compiled executor for one model snapshot (edits to the model later are not seen).

    Args:
        model: the model to execute.
        backend: ``"fast"`` (onnxruntime) or ``"reference"`` (numpy, node by node).

    Raises:
        UnsupportedOpError: if the model has an op the back end cannot run.
    """

    def __init__(self, model: ModelWrapper, backend: Backend = "fast") -> None:
        if backend not in ("fast", "reference"):
            raise ValueError(f"backend must be 'fast' or 'reference', got {backend!r}")
        self.backend = backend
        self.input_names = model.graph_input_names()
        self.output_names = model.graph_output_names()
        self._declared = {n: model.get_tensor_shape(n) for n in self.input_names}
        if _unmarked_finn_vvau(model.model.graph):  # FINN's VVAU input order depends on its producer
            model = model.copy()
            mark_finn_vvau_input_order(model.model.graph)
        #: Whether the model runs in float64 (integers beyond 2**24, see qnncc.execution.precision).
        self.float64 = needs_float64(model)
        #: Graph outputs a float64 run returns in float32 (float values within float32's integer grid).
        self._float32_outputs = frozenset(float32_outputs(model)) if self.float64 else frozenset()
        if _has_dangling_inputs(model.model):
            model = model.copy()
            drop_undefined_optional_inputs(model.model)
        if self.float64:
            model = model.copy()
            infer_shapes(model)
            exact_integer_convs(model)
        base = lower_to_standard_onnx(model, float64=self.float64) if backend == "fast" else _copy(model.model)
        if self.float64:
            widen_to_float64(base)
        if backend == "fast":
            base = fold_constants(base)
        elems = {vi.name: vi.type.tensor_type.elem_type for vi in base.graph.input}
        self._elem = {n: elems.get(n) or onnx.TensorProto.FLOAT for n in self.input_names}
        dyn = _copy(base)
        self._can_batch = make_batch_dynamic(dyn)
        self._runners: dict[bool, Any] = {}
        self._protos = {False: base, True: dyn}

    def _runner(self, batched: bool) -> Any:
        if batched not in self._runners:
            proto = self._protos[batched]
            if self.backend == "fast":
                self._runners[batched] = _ort_session(proto)
            else:
                self._runners[batched] = ReferenceRunner(proto)
        return self._runners[batched]

    def run(self, inputs: dict[str, np.ndarray], return_all: bool = False) -> dict[str, np.ndarray]:
        """Execute on a dict of input arrays.

        Args:
            inputs: one array per graph input, keyed by tensor name. A model
                declared with batch 1 accepts any leading batch size N.
            return_all: return every intermediate tensor (reference back end only).

        Returns:
            Graph outputs keyed by name (all tensors with ``return_all``).

        Raises:
            ExecutionError: for missing/unknown inputs, wrong shapes, or a
                failing node.
        """
        feeds = self._prepare(inputs)
        batched = self._needs_batching(feeds)
        if return_all and self.backend != "reference":
            raise ExecutionError("return_all needs backend='reference'")
        runner = self._runner(batched)
        if self.backend == "reference":
            return self._narrow(runner.run(feeds, return_all))
        try:
            outs = runner.run(None, feeds)
        except Exception as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ExecutionError(f"onnxruntime execution failed: {first}") from None
        return self._narrow(dict(zip(self.output_names, outs, strict=True)))

    def _narrow(self, outs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Float outputs of a float64 run as float32 (:func:`qnncc.execution.precision.float32_outputs`)."""
        for name in self._float32_outputs:
            if name in outs:
                outs[name] = np.asarray(outs[name], np.float32)
        return outs

    def _prepare(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        missing = [n for n in self.input_names if n not in inputs]
        unknown = [n for n in inputs if n not in self.input_names]
        if missing or unknown:
            raise ExecutionError(
                f"inputs do not match the graph: missing {missing}, unknown {unknown}; expected {self.input_names}"
            )
        feeds = {}
        for name in self.input_names:
            arr = np.asarray(inputs[name])
            dtype = helper.tensor_dtype_to_np_dtype(self._elem[name])
            if arr.dtype.kind not in "biuf":
                raise ExecutionError(f"input {name!r} has dtype {arr.dtype}, graph expects {np.dtype(dtype).name}")
            feeds[name] = np.ascontiguousarray(arr, dtype=dtype)
            declared = self._declared[name]
            if declared is not None and list(arr.shape[1:]) != declared[1:]:
                raise ExecutionError(f"input {name!r} has shape {list(arr.shape)}, graph expects {declared}")
        return feeds

    def _needs_batching(self, feeds: dict[str, np.ndarray]) -> bool:
        mismatch = any(
            (d := self._declared[n]) is not None and d and feeds[n].shape[0] != d[0] for n in self.input_names
        )
        if mismatch and not self._can_batch:
            raise ExecutionError("the graph has a fixed batch size other than 1; feed inputs with the declared shape")
        return mismatch


def _unmarked_finn_vvau(graph: onnx.GraphProto) -> bool:
    """Whether a FINN-domain VVAU node (also in a subgraph) lacks qnncc's ``inputOrder`` attribute."""
    for node in graph.node:
        if any(a.type == onnx.AttributeProto.GRAPH and _unmarked_finn_vvau(a.g) for a in node.attribute):
            return True
        if is_unmarked_finn_vvau(node):
            return True
    return False


def _has_dangling_inputs(proto: onnx.ModelProto) -> bool:
    graph = proto.graph
    known = {i.name for i in graph.input} | {i.name for i in graph.initializer}
    known.update(t for n in graph.node for t in n.output if t)
    return any(t and t not in known for n in graph.node for t in n.input)


def _copy(proto: onnx.ModelProto) -> onnx.ModelProto:
    out = onnx.ModelProto()
    out.CopyFrom(proto)
    return out


def _ort_session(proto: onnx.ModelProto) -> Any:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    # No graph optimizations: even the BASIC level fuses MatMul+BatchNormalization
    # (and Conv+BatchNormalization/Add/Mul) into one Gemm/Conv, which rounds
    # differently and flips thresholds near zero (a binarized TFC's logits moved
    # by up to 8). The reference path runs the same kernels node by node.
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    try:
        return ort.InferenceSession(proto.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ExecutionError(f"onnxruntime cannot load the lowered graph: {first}") from None


def execute(
    model: ModelWrapper | onnx.ModelProto | Any,
    inputs: dict[str, np.ndarray],
    backend: Backend = "fast",
    return_all: bool = False,
) -> dict[str, np.ndarray]:
    """Execute a model on named inputs.

    The compiled executor is cached on the ModelWrapper and rebuilt when the
    model changes, detected by :func:`~qnncc.execution.fingerprint.model_fingerprint`
    (its structure, small constants, and the wrapper's edit counter; not the
    bytes of large weights, so a repeated call costs about as much as running
    the model). After overwriting a large initializer's bytes directly on the
    protobuf, call :meth:`ModelWrapper.mark_changed`.

    Args:
        model: a ModelWrapper (qnncc's or qonnx's) or ModelProto.
        inputs: arrays keyed by graph input name, e.g. ``{"global_in": x}``
            with ``x`` of shape ``[N, 1, 28, 28]`` for a ``[1, 1, 28, 28]`` input.
        backend: ``"fast"`` (onnxruntime) or ``"reference"`` (numpy).
        return_all: also return every intermediate tensor (reference only).

    Returns:
        Output arrays keyed by tensor name.

    Raises:
        ExecutionError: on bad inputs or a failing node.
        UnsupportedOpError: on an op qnncc cannot execute.
    """
    if not isinstance(model, ModelWrapper | onnx.ModelProto) and isinstance(
        getattr(model, "model", None), onnx.ModelProto
    ):
        model = model.model  # a qonnx ModelWrapper (or another wrapper of a ModelProto)
    wrapper = model if isinstance(model, ModelWrapper) else ModelWrapper(model)
    key = model_fingerprint(wrapper)
    cache = wrapper._exec_cache
    entry = cache.get(backend)
    if entry is None or entry[0] != key:
        entry = (key, Executor(wrapper, backend))
        cache[backend] = entry
    executor: Executor = entry[1]
    return executor.run(inputs, return_all=return_all)


__all__ = ["Executor", "execute", "lower_to_standard_onnx"]
