"""``qnncc.flow.estimate``: ingest -> streamline -> HW layers -> partition -> fold -> estimate.

The Python twin of ``qnncc estimate MODEL --board NAME``. It writes FINN-format
reports into an output directory atomically: files go to
``<dir>.incomplete`` first, which is renamed only when every step succeeded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qnncc.boards import Board, FitReport, check_fit, get_board
from qnncc.core.errors import QnnccError
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.core.pipeline import StepRecord
from qnncc.flow.estimate_report import dma_shells, network_report, write_reports
from qnncc.flow.folding import estimate_layers, fold_model, layer_specs, memory_styles
from qnncc.flow.front_end import detect_input_scale, hw_pipeline, parse_scale, prepare_input
from qnncc.hw.perf import (
    LayerEstimate,
    NetworkEstimate,
    PartitionEstimate,
    estimate_network,
    estimate_partition,
    layer_cycles_report,
    layer_resources_report,
)

if TYPE_CHECKING:
    from qnncc.flow.steps import BuildContext

__all__ = [
    "EstimateResult",
    "detect_input_scale",
    "estimate",
    "estimate_context",
    "estimate_layers",
    "finish_estimate",
    "fold_model",
    "hw_pipeline",
    "layer_configurations",
    "layer_specs",
    "memory_styles",
    "parse_scale",
    "prepare_input",
    "write_reports",
]


@dataclass
class EstimateResult:
    """Everything ``estimate`` computed.

    Attributes:
        model: the HW-level model (HW layers inside a dataflow partition).
        layers: ``(name, estimate)`` per HW layer in stream order.
        partition: partition-level estimate (interval, latency, totals).
        fit: utilisation against the board.
        folding: the applied folding (FINN format).
        software_nodes: ``(name, op_type)`` of nodes left in software.
        records: per-step wall-clock times.
        reports: the FINN-format report dicts by file name.
        unmatched_folding_keys: folding-file keys that matched no layer.
        partitions: one estimate per dataflow partition (several when the
            network was split to fit the device).
        network: partitions run in turn with reconfiguration (fpgaConvNet's network level).
        software_report: one line per reason why nodes stay in software.
        folding_notes: the optimiser's remarks, e.g. an unreachable target
            FPS with the best frame rate found and the layer that limits it.
    """

    model: ModelWrapper
    layers: list[tuple[str, LayerEstimate]]
    partition: PartitionEstimate
    fit: FitReport
    folding: dict[str, Any]
    software_nodes: list[tuple[str, str]]
    records: list[StepRecord]
    reports: dict[str, Any] = field(default_factory=dict)
    unmatched_folding_keys: list[str] = field(default_factory=list)
    partitions: list[PartitionEstimate] = field(default_factory=list)
    network: NetworkEstimate | None = None
    software_report: list[str] = field(default_factory=list)
    folding_notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """Readable Markdown table of layers, cycles and resources plus the totals."""
        lines = [
            "| layer | cycles | LUT | FF | BRAM_18K | URAM | DSP |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for name, e in self.layers:
            lines.append(
                f"| {name} | {e.cycles} | {e.lut:.0f} | {e.ff:.0f} | {e.bram_18k:.0f} | {e.uram:.0f} | {e.dsp:.0f} |"
            )
        p = self.partition
        totals = f"{p.lut:.0f} | {p.ff:.0f} | {p.bram_18k:.0f} | {p.uram:.0f} | {p.dsp:.0f}"
        lines.append(f"| **total** | {p.interval_cycles} (max) | {totals} |")
        perf = self.reports.get("estimate_network_performance.json", {})
        fps = perf.get("estimated_throughput_fps", 0.0)
        lines.append("")
        lines.append(
            f"Throughput {fps:,.0f} FPS, latency {perf.get('estimated_latency_ns', 0.0) / 1e3:,.2f} us, "
            f"bottleneck {p.bottleneck}."
        )
        lines.extend(f"Folding: {note}" for note in self.folding_notes)
        if self.software_nodes:
            lines.append("Software nodes: " + ", ".join(f"{n} ({t})" for n, t in self.software_nodes) + ".")
            lines.extend(f"- {line}" for line in self.software_report)
        return "\n".join(lines)


def estimate(
    model: ModelWrapper | str | Path,
    board: str | Board = "Pynq-Z1",
    clock_ns: float | None = None,
    folding: str | Path | Mapping[str, Any] | None = None,
    target_fps: float | None = None,
    output_dir: str | Path | None = None,
    input_scale: float | str | None = None,
    input_datatype: str = "UINT8",
    insert_topk: bool = True,
    margin: float = 0.85,
    split: bool = True,
    reconfiguration_ms: float = 50.0,
    folding_mode: str = "estimate",
    stream_weights: bool = True,
    pad_channels: bool = True,
) -> EstimateResult:
    """Compile a model down to folded HW layers and estimate performance and resources.

    Args:
        model: a model file or a loaded model (not modified).
        board: board name from :func:`qnncc.boards.list_boards` or a Board.
        clock_ns: clock period in ns (default: the board's).
        folding: a FINN-format folding config (path or mapping); if None the
            optimiser folds, for ``target_fps`` or as fast as the board allows.
        target_fps: frames/s for the optimiser (ignored when ``folding`` is given).
        output_dir: where to write the reports, ``folding_config.json`` and ``hw_model.onnx``.
        input_scale: make the accelerator take integers ``x`` for an input that
            was ``x * input_scale`` (e.g. ``1/255`` for pixel inputs); detected
            from a leading Brevitas input quantizer when None.
        input_datatype: datatype of the new integer input.
        insert_topk: append a top-1 ``TopK`` when the model ends in logits.
        margin: usable fraction of each board resource.
        split: when even the most folded design exceeds the board, split the
            layers into partitions that each fit and run in turn (optimiser mode only).
        reconfiguration_ms: time of one device reconfiguration between partitions, ms.
        folding_mode: ``estimate`` (the optimiser costs layers with FINN's
            formulas) or ``resources`` (with the LUT/FF model fitted on Yosys
            synthesis of qnncc's RTL; the reports keep FINN's formulas).
        stream_weights: when the design does not fit, stream the weights that do
            not fit on chip from DRAM (``mem_mode="external"``) before splitting.
        pad_channels: in the ``resources`` mode with a ``target_fps``, pad the
            channels between fully connected MVAUs when that opens a cheaper
            folding (:mod:`qnncc.hw.padding_opt`).

    Returns:
        The :class:`EstimateResult`.

    Raises:
        QnnccError: for bad input, an unknown board, an unreachable target or a
            failing step (the message names it).
    """
    from qnncc.flow.config import PIPELINE_STEPS
    from qnncc.flow.runner import run_steps

    the_board = get_board(board)
    clk = clock_ns or the_board.default_clk_ns
    ctx = estimate_context(
        model,
        the_board,
        clk,
        folding,
        target_fps,
        input_scale,
        input_datatype,
        insert_topk,
        margin,
        split,
        folding_mode,
        stream_weights,
        pad_channels,
    )
    # the build's first steps, run by the same runner: load, the HW pipeline, fold, partition
    work, records = run_steps(["load", *PIPELINE_STEPS, "fold", "partition"], ctx, None)
    assert work is not None
    unmatched = ctx.state.get("unmatched_folding_keys") or []
    splits = ctx.state.get("splits") or {}
    result = finish_estimate(work, the_board, clk, splits, margin, reconfiguration_ms, records, unmatched)
    result.folding_notes = list(ctx.notes)
    if output_dir is not None:
        write_reports(result, Path(output_dir))
    return result


def estimate_context(
    model: ModelWrapper | str | Path,
    board: Board,
    clock_ns: float,
    folding: str | Path | Mapping[str, Any] | None = None,
    target_fps: float | None = None,
    input_scale: float | str | None = None,
    input_datatype: str = "UINT8",
    insert_topk: bool = True,
    margin: float = 0.85,
    split: bool = True,
    folding_mode: str = "estimate",
    stream_weights: bool = True,
    pad_channels: bool = True,
) -> BuildContext:
    """The step context of an estimate (no output folder; warnings returned, not logged).

    The arguments are those of :func:`estimate`; the flows run the build's steps with it
    (:func:`qnncc.flow.runner.run_steps`).

    Raises:
        QnnccError: (a ``ConfigError``) for a malformed input scale or datatype.
    """
    from qnncc.flow.config import make_build_config
    from qnncc.flow.steps import BuildContext

    config = make_build_config(
        "estimate",
        output_dir=Path("."),
        board=board.name,
        clock_ns=clock_ns,
        target_fps=target_fps if folding is None else None,
        folding_mode=folding_mode,
        pad_channels=pad_channels,
        input_scale=input_scale,
        input_datatype=input_datatype,
        insert_topk=insert_topk,
        generate_outputs=[],
    )
    return BuildContext(
        config=config,
        board=board,
        clock_ns=clock_ns,
        shell=board.shell,
        out=Path("."),
        source=model,
        folding=folding,
        margin=margin,
        split=split,
        stream_weights=stream_weights,
        quiet=True,
    )


def finish_estimate(
    work: ModelWrapper,
    board: Board,
    clock_ns: float,
    splits: Mapping[str, int] | None = None,
    margin: float = 0.85,
    reconfiguration_ms: float = 50.0,
    records: Sequence[StepRecord] = (),
    unmatched: Sequence[str] = (),
) -> EstimateResult:
    """Estimates, fit and FINN-format reports of a folded, partitioned model (``CreateDataflowPartition`` done).

    Args:
        work: the partitioned model.
        board: the target board.
        clock_ns: clock period in ns.
        splits: layer name -> partition index from :func:`fold_model` (empty: one partition);
            used only for a model without dataflow partitions (see :func:`layer_configurations`).
        margin: usable fraction of each board resource.
        reconfiguration_ms: time of one device reconfiguration between partitions, ms.
        records: step records to keep in the result.
        unmatched: folding-file keys that matched no layer.

    Raises:
        QnnccError: if no layer was mapped to hardware.
    """
    from qnncc.transforms.hw import extract_folding_config
    from qnncc.transforms.hw.partition import explain_software_nodes

    splits = dict(splits or {})
    budget = {k: v * margin for k, v in board.resources.as_dict().items()}
    layers = estimate_layers(work)
    if not layers:
        raise QnnccError("no layer of the model could be mapped to hardware; see the software nodes")
    configuration = layer_configurations(work, splits)
    parts = [
        estimate_partition([(n, e) for n, e in layers if configuration.get(n, 0) == k])
        for k in sorted(set(configuration.values()) or {0})
    ]
    part = max(parts, key=lambda p: p.interval_cycles)
    worst = max(parts, key=lambda p: max(p.lut / budget["LUT"], p.bram_18k / max(budget["BRAM_18K"], 1)))
    totals = {"LUT": worst.lut, "FF": worst.ff, "BRAM_18K": worst.bram_18k, "URAM": worst.uram, "DSP": worst.dsp}
    fit = check_fit(board, totals, margin)
    shells = dma_shells(work, len(parts), board.axi_port_width_bits) if board.shell == "zynq" else None
    network = estimate_network(
        parts,
        reconfiguration_ms,
        clk_ns=clock_ns,
        batch_sizes=(1, 100, 10000),
        shell_cycles=[s.cycles for s in shells] if shells else None,
    )
    result = EstimateResult(
        model=work,
        layers=layers,
        partition=part,
        fit=fit,
        folding=extract_folding_config(work),
        software_nodes=[(n.name, n.op_type) for n in work.graph.node if n.op_type != "StreamingDataflowPartition"],
        records=list(records),
        unmatched_folding_keys=list(unmatched),
        partitions=parts,
        network=network,
        software_report=explain_software_nodes(work),
    )
    result.reports = {
        "estimate_layer_cycles.json": layer_cycles_report(layers),
        "estimate_layer_resources.json": layer_resources_report(layers),
        "estimate_network_performance.json": network_report(parts, network, clock_ns, shells),
    }
    return result


def layer_configurations(work: ModelWrapper, splits: Mapping[str, int] | None = None) -> dict[str, int]:
    """Configuration index per HW layer name: the estimate's view of a partitioned model.

    Follows :func:`qnncc.custom_op.partition.partition_configurations`, the
    rule the build follows too: partitions split by software or an SLR cut
    are one configuration (estimated as one design: resources add up, the
    slowest layer sets the interval); a budget split's parts are
    configurations run in turn with reconfiguration. A model without
    partitions takes ``splits`` (layer name -> part, run in turn).
    """
    from qnncc.custom_op.partition import partition_child, partition_configurations

    groups = partition_configurations(work)
    if not groups:
        return dict(splits or {})
    found: dict[str, int] = {}
    for k, nodes in enumerate(groups):
        for node in nodes:
            found.update(dict.fromkeys((n.name for n in partition_child(work, node).graph.node), k))
    return found
