"""Reference executor: node by node, every intermediate tensor kept.

Custom nodes run through the numpy ``execute`` of their
:class:`~qnncc.custom_op.CustomOp`. Standard nodes run one at a time in a
single-node onnxruntime session (cached per node), which is what FINN's and
QONNX's ``execute_onnx`` do; ONNX's own numpy reference (``onnx.reference``)
rounds ``BatchNormalization`` differently from onnxruntime and flips 9 of the
10,000 TFC-W1A1 predictions, so it would not serve as a bit-exact reference
for models whose golden results were measured with onnxruntime.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import helper

from qnncc.core.errors import ExecutionError, QnnccError
from qnncc.custom_op import CustomOp, get_custom_op, is_custom_node
from qnncc.custom_op.partition import StreamingDataflowPartition


class ReferenceRunner:
    """Executes a model node by node.

    Args:
        proto: the model (standard and custom ops); it is not modified.

    Raises:
        UnsupportedOpError: if a custom op is unknown or has bad attributes.
    """

    def __init__(self, proto: onnx.ModelProto) -> None:
        self._proto = proto
        self._constants = {i.name: onnx.numpy_helper.to_array(i) for i in proto.graph.initializer}
        self._custom: dict[int, CustomOp] = {
            i: get_custom_op(n) for i, n in enumerate(proto.graph.node) if is_custom_node(n)
        }
        self._children: dict[int, ReferenceRunner] = {
            i: ReferenceRunner(op.child_model(op.child_opsets()))
            for i, op in self._custom.items()
            if isinstance(op, StreamingDataflowPartition)
        }
        self._sessions: dict[tuple[int, tuple[Any, ...]], Any] = {}
        self._opset = next((imp.version for imp in proto.opset_import if imp.domain in ("", "ai.onnx")), 13)
        self._fixed = _constant_derived(proto)
        self.output_names = [o.name for o in proto.graph.output]

    def run(self, feeds: dict[str, np.ndarray], return_all: bool = False) -> dict[str, np.ndarray]:
        """Execute the graph on ``feeds`` (graph inputs by name).

        Returns:
            Graph outputs, or every tensor computed (plus the feeds) with ``return_all``.

        Raises:
            ExecutionError: naming the node that failed.
        """
        context: dict[str, np.ndarray] = dict(self._constants)
        context.update(feeds)
        for idx, node in enumerate(self._proto.graph.node):
            missing = [t for t in node.input if t and t not in context]
            if missing:
                raise ExecutionError(f"node {node.name or node.op_type!r} reads {missing} before they are computed")
            args = [context[t] if t else None for t in node.input]
            try:
                if idx in self._children:
                    partition = self._custom[idx]
                    assert isinstance(partition, StreamingDataflowPartition)
                    outs = partition.run_child(self._children[idx].run, [a for a in args if a is not None])
                elif idx in self._custom:
                    outs = self._custom[idx].execute([a for a in args if a is not None])
                else:
                    outs = self._run_standard(idx, node, args)
            except QnnccError:
                raise
            except Exception as exc:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise ExecutionError(f"node {node.name or node.op_type!r} ({node.op_type}) failed: {first}") from None
            for name, value in zip(node.output, outs, strict=False):
                if name:
                    context[name] = np.asarray(value)
        if return_all:
            return {k: v for k, v in context.items() if k not in self._constants}
        return {name: context[name] for name in self.output_names}

    def _run_standard(self, idx: int, node: onnx.NodeProto, args: list[np.ndarray | None]) -> list[np.ndarray]:
        # Constants stay initializers of the one-node model, as in the whole graph, so
        # onnxruntime picks the same kernels (e.g. prepacked MatMul weights) as the fast path.
        # Tensors computed from constants only (e.g. quantized weights) are initializers
        # too, as in the fast path, which folds them before running the graph.
        pairs = list(zip(node.input, args, strict=True))
        dynamic = {t: a for t, a in pairs if t and a is not None and t not in self._fixed}
        key = (idx, tuple((a.dtype.str, a.ndim) for a in dynamic.values()))
        sess = self._sessions.get(key)
        if sess is None:
            consts = {t: a for t, a in pairs if t and a is not None and t in self._fixed}
            sess = _single_node_session(node, dynamic, consts, self._opset, self._proto.ir_version)
            self._sessions[key] = sess
        return list(sess.run(None, dynamic))


def _constant_derived(proto: onnx.ModelProto) -> set[str]:
    """Initializers and the tensors computed from them alone by deterministic ops."""
    from qnncc.execution.constant_fold import NONDETERMINISTIC

    fixed = {i.name for i in proto.graph.initializer}
    for node in proto.graph.node:
        if node.op_type in NONDETERMINISTIC or any(a.type == onnx.AttributeProto.GRAPH for a in node.attribute):
            continue
        if all(not t or t in fixed for t in node.input):
            fixed.update(t for t in node.output if t)
    return fixed


def _single_node_session(
    node: onnx.NodeProto, dynamic: dict[str, np.ndarray], consts: dict[str, np.ndarray], opset: int, ir_version: int
) -> Any:
    import onnxruntime as ort

    inputs = [
        helper.make_tensor_value_info(t, helper.np_dtype_to_tensor_dtype(a.dtype), [f"d{k}" for k in range(a.ndim)])
        for t, a in dynamic.items()
    ]
    inits = [onnx.numpy_helper.from_array(a, t) for t, a in consts.items()]
    outputs = [helper.make_empty_tensor_value_info(t) for t in node.output if t]
    graph = helper.make_graph([node], "single_node", inputs, outputs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = max(ir_version, 4)
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    opts.intra_op_num_threads = 1  # one small thread pool per node session, no spinning
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
