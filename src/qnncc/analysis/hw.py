"""From a quantized QONNX model to HW layers: C++-simulation check and sparsity-aware cycle estimates.

:func:`verify_cppsim` compiles the model with :func:`qnncc.flow.estimate.estimate`
(streamline, HW layers, folding, dataflow partitions), builds the C++
simulation of every dataflow partition (:func:`qnncc.codegen.build_partition_sim`)
and runs the images end to end: partitions in cppsim, the nodes left in
software between them (e.g. a max pool the HW layers do not support) with
:func:`qnncc.execute`. The predictions are compared with the same chain run
by :func:`qnncc.execute` and with the emulation of the QONNX model.

:func:`sparse_cycle_table` reads the zeros-per-window histograms written by
:class:`~qnncc.transforms.quantize.SparsityAnnotate` (they follow the weight
tensors into the MVAU/VVAU layers) and gives the perf model's dense and
sparsity-aware cycle estimates per layer.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import onnx
from onnx import helper

from qnncc.core.model_wrapper import ModelWrapper
from qnncc.custom_op import get_custom_op
from qnncc.custom_op.partition import partition_child
from qnncc.execution import execute
from qnncc.transforms.quantize import read_tensor_sparsity, sparsity_hint

from .emulate import Emulator
from .table import Table

__all__ = ["CppsimReport", "sparse_cycle_table", "verify_cppsim"]


@dataclass
class CppsimReport:
    """Result of :func:`verify_cppsim`.

    Attributes:
        images: images simulated.
        partitions: dataflow partitions (each simulated in C++).
        software_nodes: ``(name, op_type)`` of top-level nodes run in software.
        partition_mismatches: per partition, images whose cppsim output differs
            from :func:`qnncc.execute` on the same input.
        cppsim_predictions: top-1 classes from the cppsim chain.
        execute_predictions: top-1 classes from the same chain run by execute.
        emulation_predictions: top-1 classes of the QONNX model (emulation).
        accuracy: top-1 accuracy of the cppsim chain (percent), if labels were given.
        compile_seconds: g++ time (0 when cached).
        simulation_seconds: cppsim run time.
        hw_model: the HW model (partitions).
        layers: HW layers per partition.
    """

    images: int
    partitions: int
    software_nodes: list[tuple[str, str]]
    partition_mismatches: list[int]
    cppsim_predictions: np.ndarray
    execute_predictions: np.ndarray
    emulation_predictions: np.ndarray
    accuracy: float | None
    compile_seconds: float
    simulation_seconds: float
    hw_model: ModelWrapper
    layers: list[list[str]] = field(default_factory=list)

    @property
    def identical_to_execute(self) -> bool:
        """Cppsim predictions equal execute's, and every partition output is bit-exact."""
        return not any(self.partition_mismatches) and bool(
            np.array_equal(self.cppsim_predictions, self.execute_predictions)
        )

    @property
    def identical_to_emulation(self) -> bool:
        """Cppsim predictions equal the QONNX model's."""
        return bool(np.array_equal(self.cppsim_predictions, self.emulation_predictions))


def _node_model(model: ModelWrapper, node: onnx.NodeProto) -> ModelWrapper:
    """A one-node model computing ``node`` (constant inputs as initializers)."""
    inputs, inits = [], []
    for t in node.input:
        value = model.get_initializer(t) if t else None
        if value is not None:
            inits.append(onnx.numpy_helper.from_array(value, t))
        elif t:
            inputs.append(helper.make_tensor_value_info(t, onnx.TensorProto.FLOAT, model.get_tensor_shape(t)))
    outputs = [helper.make_tensor_value_info(t, onnx.TensorProto.FLOAT, model.get_tensor_shape(t)) for t in node.output]
    graph = helper.make_graph([node], "node", inputs, outputs, inits)
    proto = helper.make_model(graph, opset_imports=list(model.model.opset_import))
    proto.ir_version = model.model.ir_version
    return ModelWrapper(proto)


def _child(model: ModelWrapper, node: onnx.NodeProto) -> ModelWrapper:
    from qnncc.transforms.hw import InsertDWC

    child = partition_child(model, node)
    return child.transform(InsertDWC())


def _classes(out: np.ndarray, n: int) -> np.ndarray:
    arr = np.asarray(out).reshape(n, -1)
    if np.issubdtype(arr.dtype, np.integer) or arr.shape[1] == 1:
        return arr[:, 0].astype(np.int64)
    return arr.argmax(-1)


def verify_cppsim(
    qmodel: ModelWrapper,
    images: np.ndarray,
    labels: np.ndarray | None = None,
    input_scale: float | str | None = None,
    board: str = "Pynq-Z1",
    folding: Any = None,
) -> CppsimReport:
    """C++-simulate a quantized QONNX model end to end and compare with execute and the emulation.

    Args:
        qmodel: the QONNX model (e.g. from ``QuantizeAnnotate("int8-channel")``).
        images: float inputs ``[N, ...]`` of the QONNX model.
        labels: optional labels for the accuracy.
        input_scale: the accelerator takes ``images / input_scale`` as integers;
            detected from the input quantizer when None (as ``qnncc estimate``).
        board: target board for folding.
        folding: optional FINN folding config.

    Returns:
        The report (predictions of the three paths, mismatches, accuracy, timings).

    Raises:
        QnnccError: if the model cannot be compiled or simulated (the message names the step).
    """
    from qnncc.codegen import build_partition_sim
    from qnncc.flow.estimate import detect_input_scale, estimate, parse_scale

    result = estimate(qmodel, board=board, folding=folding, input_scale=input_scale)
    hw = result.model
    scale = parse_scale(input_scale)
    if scale is None:
        detected = detect_input_scale(qmodel)
        scale = detected[0] if detected is not None else 1.0
    n = len(images)
    feed = (np.asarray(images, np.float32) / np.float32(scale)).reshape(
        n, *(hw.get_tensor_shape(hw.graph_input_names()[0]) or [])[1:]
    )
    sim_ctx: dict[str, np.ndarray] = {hw.graph_input_names()[0]: feed}
    exe_ctx: dict[str, np.ndarray] = dict(sim_ctx)
    mismatches: list[int] = []
    software: list[tuple[str, str]] = []
    layers: list[list[str]] = []
    compile_s = sim_s = 0.0
    for node in hw.topological_sort():
        if node.op_type == "StreamingDataflowPartition":
            child = _child(hw, node)
            layers.append([c.name for c in child.graph.node])
            sim = build_partition_sim(child)
            compile_s += sim.compile_seconds
            x_sim = sim_ctx[node.input[0]]
            t0 = time.perf_counter()
            got = sim.run([x_sim.reshape(n, -1)])[0]
            sim_s += time.perf_counter() - t0
            out_shape = [n, *(hw.get_tensor_shape(node.output[0]) or [])[1:]]
            sim_ctx[node.output[0]] = got.reshape(out_shape).astype(np.float32)
            x_exe = exe_ctx[node.input[0]]
            expected = next(iter(execute(child, {child.graph_input_names()[0]: x_exe}).values()))
            exe_ctx[node.output[0]] = expected.reshape(out_shape).astype(np.float32)
            on_same_input = next(iter(execute(child, {child.graph_input_names()[0]: x_sim}).values()))
            diff = (got.reshape(n, -1) != on_same_input.reshape(n, -1)).any(axis=1)
            mismatches.append(int(diff.sum()))
        else:
            software.append((node.name, node.op_type))
            single = _node_model(hw, node)
            for ctx in (sim_ctx, exe_ctx):
                feeds = {t: ctx[t] for t in single.graph_input_names()}
                outs = execute(single, feeds)
                ctx.update(outs)
    out_name = hw.graph_output_names()[0]
    cppsim_pred = _classes(sim_ctx[out_name], n)
    exe_pred = _classes(exe_ctx[out_name], n)
    emu_pred = Emulator(qmodel).predict(np.asarray(images, np.float32))
    accuracy = None if labels is None else 100.0 * float(np.mean(cppsim_pred == np.asarray(labels).reshape(-1)))
    return CppsimReport(
        n, len(layers), software, mismatches, cppsim_pred, exe_pred, emu_pred, accuracy, compile_s, sim_s, hw, layers
    )


def sparse_cycle_table(model: ModelWrapper, include_weights: bool = False) -> Table:
    """Dense and sparsity-aware cycles of the MVAU/VVAU layers that carry a sparsity record.

    Args:
        model: a HW model (after :func:`qnncc.flow.estimate.estimate`) of a sparsity-annotated QONNX model.
        include_weights: use the zero products ``x * w`` instead of the zero activations.

    Returns:
        Table ``Layer``, ``Window``, ``SIMD``, ``Dense cycles``, ``Sparse cycles``, ``Speed-up``.
    """
    from qnncc.hw.perf import estimate_layer

    table = Table(
        "Sparsity-aware cycle estimate (zero-skipping, a window with j zeros costs ceil((K-j)/SIMD))",
        ["Layer", "Window", "SIMD", "Dense cycles", "Sparse cycles", "Speed-up"],
        formats={"Speed-up": ".2f"},
    )
    graphs = [model.graph] + [
        a.g
        for n in model.graph.node
        if n.op_type == "StreamingDataflowPartition"
        for a in n.attribute
        if a.name == "model"
    ]
    for graph in graphs:
        owner = ModelWrapper(helper.make_model(graph))
        for node in owner.graph.node:
            if not node.op_type.startswith(("MVAU", "VVAU")) or len(node.input) < 2:
                continue
            layer = read_tensor_sparsity(owner, node.input[1], node.name)
            if layer is None:
                continue
            attrs = dict(get_custom_op(node).attrs)
            dense = estimate_layer(node.op_type, attrs)
            sparse = estimate_layer(node.op_type, attrs, sparsity=sparsity_hint(layer, include_weights))
            table.add_row(
                node.name, f"{layer.kernel_shape[0]}x{layer.kernel_shape[1]}", attrs.get("SIMD"), dense.cycles,
                sparse.cycles, dense.cycles / max(sparse.cycles, 1),
            )  # fmt: skip
    return table
