"""Several dataflow partitions in one design: each its own stitched IP, connected in order.

A model whose HW layers form several ``StreamingDataflowPartition`` nodes (a
software node between two HW parts, or a design split by the resource
budget) is built as:

* ``partitions/partition_<k>/``: a complete single-partition build folder for
  partition ``k`` (``hls/<layer>/``, ``stitch/stitch_ipi.tcl`` in ``generic``
  mode, ``Makefile.vivado``): its block design ``qnncc_partition_<k>`` is
  packaged as the IP ``qnncc.org:qnncc:qnncc_partition_<k>:1.0`` with the
  external ports ``s_axis_<i>``/``m_axis_<i>``, ``ap_clk`` and ``ap_rst_n``;
* the top design (:func:`top_plan`): one ``partition`` cell per partition;
  an output of one partition read directly by another becomes an AXI-Stream
  net between their cells; every other partition stream (to or from software
  on the host, or a graph input/output) becomes an external stream of the top,
  numbered in partition order, so in the Zynq shell ``axi_dma_<k>`` serves
  the ``k``-th of them (:mod:`qnncc.codegen.vivado.shell`).

:func:`write_partitioned_stitch` writes all of it and a top ``Makefile.vivado``
that builds the partition IPs first.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path

from qnncc.boards import Board, get_board
from qnncc.codegen.render import CodegenError, render
from qnncc.codegen.vivado.cells import Cell, Connection, ExternalStream, StitchBackend, StitchPlan, StreamPort
from qnncc.codegen.vivado.plan import stitch_plan
from qnncc.codegen.vivado.shell import Mode, block_design
from qnncc.codegen.vivado.stitch import (
    StitchFiles,
    ip_catalog,
    render_build_tcl,
    render_stitch_tcl,
    rtl_sources,
    write_stitch,
)
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.custom_op.partition import partition_nodes

__all__ = [
    "PARTITIONS_DIR",
    "partition_bd_name",
    "partition_dir",
    "partition_ip_repo",
    "partition_vlnv",
    "top_plan",
    "write_partitioned_stitch",
]

#: Folder (relative to the build folder) holding one build folder per partition.
PARTITIONS_DIR = "partitions"


def partition_dir(index: int) -> str:
    """Build folder of partition ``index``, relative to the top build folder."""
    return f"{PARTITIONS_DIR}/partition_{index}"


def partition_bd_name(index: int) -> str:
    """Block design (and packaged IP module) name of partition ``index``."""
    return f"qnncc_partition_{index}"


def partition_vlnv(index: int) -> str:
    """VLNV of the packaged block design of partition ``index`` (``ipx::package_project`` in generic mode)."""
    return f"qnncc.org:qnncc:{partition_bd_name(index)}:1.0"


def partition_ip_repo(index: int) -> str:
    """IP repository of partition ``index``'s packaged block design, relative to the top build folder."""
    return f"{partition_dir(index)}/stitch/vivado_proj/ip"


def _partition_cell(index: int, node_name: str, plan: StitchPlan) -> Cell:
    streams = tuple(StreamPort(e.name, "slave", e.width, e.width) for e in plan.inputs) + tuple(
        StreamPort(e.name, "master", e.width, e.width) for e in plan.outputs
    )
    return Cell(
        name=partition_bd_name(index),
        vlnv=partition_vlnv(index),
        kind="partition",
        node=node_name,
        op_type="StreamingDataflowPartition",
        streams=streams,
        ip_repo=partition_ip_repo(index),
    )


def _is_weights(ext: ExternalStream) -> bool:
    """Sort key: data inputs before weight streams (stable)."""
    return bool(ext.weights)


def top_plan(parent: ModelWrapper, plans: Sequence[StitchPlan]) -> StitchPlan:
    """The top design of a multi-partition model: one cell per partition, direct nets, external streams.

    Args:
        parent: the model with its ``StreamingDataflowPartition`` nodes (in graph order).
        plans: the stitch plan of each partition's child, in the same order.

    Returns:
        A plan whose cells are the partitions (kind ``partition``), whose
        connections join a partition output to the partition reading it, and
        whose inputs/outputs (``s_axis_<k>``/``m_axis_<k>``, numbered in
        partition order) are the streams that meet software or the graph.

    Raises:
        CodegenError: if the plans do not match the partitions, a partition
            output feeds both software and another partition, or two directly
            connected partitions disagree on the stream width.
    """
    sdps = partition_nodes(parent)
    if len(sdps) != len(plans):
        raise CodegenError(f"{len(plans)} stitch plans for {len(sdps)} partitions")
    cells = [_partition_cell(k, n.name, p) for k, (n, p) in enumerate(zip(sdps, plans, strict=True))]
    owner = {id(n): k for k, n in enumerate(sdps)}
    connections: list[Connection] = []
    inputs: list[ExternalStream] = []
    outputs: list[ExternalStream] = []
    graph_outputs = set(parent.graph_output_names())
    for k, (node, plan) in enumerate(zip(sdps, plans, strict=True)):
        for ext in plan.inputs:
            producer = parent.find_producer(ext.tensor)
            if producer is None or id(producer) not in owner:  # a weight stream keeps its words and layer
                inputs.append(dataclasses.replace(ext, name="", cell=cells[k].name, port=ext.name))
        for ext in plan.outputs:
            readers = parent.find_consumers(ext.tensor)
            hw = [r for r in readers if id(r) in owner]
            if hw and (len(hw) != len(readers) or len(hw) > 1 or ext.tensor in graph_outputs):
                raise CodegenError(
                    f"partition {node.name!r}: output {ext.tensor!r} is read by another partition and by software "
                    "or a second reader; a stream has one reader"
                )
            if not hw:
                outputs.append(ExternalStream("", ext.tensor, cells[k].name, ext.name, ext.width, ext.words))
                continue
            j = owner[id(hw[0])]
            dst = next((e for e in plans[j].inputs if e.tensor == ext.tensor), None)
            if dst is None:
                raise CodegenError(f"partition {hw[0].name!r} has no input stream {ext.tensor!r}")
            if dst.width != ext.width:
                raise CodegenError(
                    f"tensor {ext.tensor!r} between partitions {node.name!r} and {hw[0].name!r}: {ext.width}-bit "
                    f"words out, {dst.width}-bit words in; fold the two layers at the boundary alike"
                )
            connections.append(Connection(cells[k].name, ext.name, cells[j].name, dst.name, ext.width, ext.tensor))
    return StitchPlan(
        tuple(cells),
        tuple(connections),
        tuple(dataclasses.replace(e, name=f"s_axis_{k}") for k, e in enumerate(sorted(inputs, key=_is_weights))),
        tuple(ExternalStream(f"m_axis_{k}", e.tensor, e.cell, e.port, e.width, e.words) for k, e in enumerate(outputs)),
        plans[0].backend if plans else "hls",
    )


def write_partitioned_stitch(
    parent: ModelWrapper,
    children: Sequence[ModelWrapper],
    out_dir: str | Path,
    board: str | Board,
    clock_ns: float | None = None,
    mode: Mode = "zynq",
    jobs: int = 8,
    backend: StitchBackend = "hls",
) -> StitchFiles:
    """Write every partition's generic stitch (packaged IP) and the top design over them.

    Args:
        parent: the model with several ``StreamingDataflowPartition`` nodes.
        children: each partition's child model as code generation sees it (same order).
        out_dir: the top build folder; partition ``k`` goes to :func:`partition_dir` ``(k)``,
            whose ``hls/`` (``rtl/`` with the RTL backend) must already hold its sources.
        board: board or board name.
        clock_ns: clock period in ns (default: the board's).
        mode: the top's shell: ``zynq`` (PS, AXI DMAs, TLAST inserters) or ``generic``.
        jobs: default parallel jobs of the Vivado runs.
        backend: ``hls`` (HLS IP per layer) or ``rtl`` (each partition's layers as module
            references to its ``rtl/*.v``, packaged with them into the partition IP).

    Returns:
        The top's stitch tcl, build tcl, IP catalogue and ``Makefile.vivado``.

    Raises:
        CodegenError: see :func:`top_plan` and :func:`~qnncc.codegen.vivado.stitch.write_stitch`.
    """
    b = get_board(board)
    clk = b.default_clk_ns if clock_ns is None else clock_ns
    out = Path(out_dir)
    plans = []
    for k, child in enumerate(children):
        write_stitch(child, out / partition_dir(k), b, clk, "generic", jobs, partition_bd_name(k), backend)
        plans.append(stitch_plan(child, backend))
    top = top_plan(parent, plans)
    (out / "stitch").mkdir(parents=True, exist_ok=True)
    files = StitchFiles(
        out / "stitch" / "stitch_ipi.tcl",
        out / "stitch" / "build_bitstream.tcl",
        out / "stitch" / "ip_catalog.json",
        out / "Makefile.vivado",
    )
    refs = [c.reference for c in block_design(top, b, clk, mode).cells if c.reference]  # the RTL TLAST inserters
    rtl_files = rtl_sources(out, refs) if refs else None
    files.stitch_tcl.write_text(render_stitch_tcl(top, b, clk, mode, rtl_files=rtl_files))
    files.build_tcl.write_text(render_build_tcl(mode, jobs, clock_ns=clk))
    files.catalog.write_text(json.dumps(ip_catalog(top, b, clk, mode), indent=2) + "\n")
    tops = [c.name for c in block_design(top, b, clk, mode).cells if c.kind == "tlast" and c.ip_repo]
    files.makefile.write_text(
        render(
            "vivado_partitions_Makefile.j2",
            {"tops": tops, "mode": mode, "partitions": list(map(partition_dir, range(len(children))))},
        )
    )
    return files
