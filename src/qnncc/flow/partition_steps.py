"""The code-generation steps of ``qnncc build`` for a design of several dataflow partitions.

:mod:`qnncc.flow.steps` hands a model with more than one
``StreamingDataflowPartition`` to these functions. Each partition is prepared
and generated on its own (width converters, FIFOs, HLS sources, a generic
stitch packaged as IP, under ``partitions/partition_<k>/``); the top design
connects the partition IPs in order (:mod:`qnncc.codegen.vivado.partitions`),
the driver runs partitions and software segments in the model's run order
(:mod:`qnncc.codegen.driver_multi`), and ``verify`` simulates every partition
(:mod:`qnncc.flow.verify_partitions`). On an Alveo board the stitch step
writes the Vitis link flow instead (:mod:`qnncc.codegen.vitis`).

With ``--backend rtl`` the step ``rtl`` writes each partition's Verilog under
``partitions/partition_<k>/rtl`` (:func:`rtl`), every partition's stitch uses
its layers as module references (packaged with their sources, so the Alveo
flow's ``package_xo`` takes RTL kernels) and ``verify`` simulates every
partition in Verilator.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from qnncc.core.errors import QnnccError
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.custom_op.partition import partition_child, partition_nodes, set_partition_child

if TYPE_CHECKING:
    from qnncc.flow.steps import BuildContext

__all__ = [
    "check_one_configuration",
    "children",
    "driver",
    "fifo",
    "hls",
    "insert_dwc",
    "is_multi",
    "rtl",
    "slr_splits_of",
    "stitch",
    "verify",
    "vitis_link",
]

log = logging.getLogger("qnncc.build")


def is_multi(model: ModelWrapper) -> bool:
    """Whether ``model`` has more than one dataflow partition."""
    return len(partition_nodes(model)) > 1


def children(model: ModelWrapper) -> list[ModelWrapper]:
    """The HW child model of every partition of ``model``, in graph order.

    Raises:
        QnnccError: if a child holds a node that is not a HW layer (names it).
    """
    from qnncc.codegen import hw_partition

    return [hw_partition(partition_child(model, node)) for node in partition_nodes(model)]


def check_one_configuration(ctx: BuildContext, model: ModelWrapper) -> None:
    """Stop a build whose partitions are configurations run in turn (the estimate's budget split).

    The estimate runs such parts one after another with a reconfiguration in
    between (:func:`qnncc.custom_op.partition.partition_configurations`);
    code generation builds one design per build, and connecting the parts in
    one design would need the resources the split was made to avoid.

    Raises:
        QnnccError: naming the configurations and what to do.
    """
    from qnncc.custom_op.partition import partition_configurations

    groups = partition_configurations(model)
    if len(groups) > 1:
        sizes = ", ".join(str(len(g)) for g in groups)
        raise QnnccError(
            f"the layers do not fit {ctx.board.name} together: the estimate runs them as {len(groups)} "
            f"configurations in turn with reconfiguration (partitions per configuration: {sizes}), and code "
            "generation builds one design; fold more (a lower --target-fps or a folding file) or pick a larger board"
        )


def insert_dwc(ctx: BuildContext, model: ModelWrapper) -> ModelWrapper:
    """Width converters inside every partition (a design of one configuration only)."""
    from qnncc.transforms.hw import InsertDWC

    check_one_configuration(ctx, model)
    for node, child in zip(partition_nodes(model), children(model), strict=True):
        set_partition_child(model, child.transform(InsertDWC()), node)
    return model


def fifo(ctx: BuildContext, model: ModelWrapper) -> ModelWrapper:
    """FIFO sizing of every partition on its own (``--fifo-sizing``), one report over all of them."""
    from qnncc.flow.fifo_report import fifo_table, joins, large_fifos, record_fifos

    mode = ctx.config.fifo_sizing
    rows: list[dict[str, Any]] = []
    sizing: list[dict[str, Any]] = []
    merging: list[str] = []
    models = ctx.out / "intermediate_models"
    models.mkdir(parents=True, exist_ok=True)
    kids = children(model)
    sized: list[tuple[ModelWrapper, dict[str, Any] | None]] = [(c, None) for c in kids]
    if mode == "sim":  # the partitions are independent: sized in parallel, one job each
        from qnncc.flow.fifo_jobs import size_partitions

        sized = size_partitions(kids, ctx.config.scheduler)
    for k, (node, (child, found)) in enumerate(zip(partition_nodes(model), sized, strict=True)):
        if found is not None:
            log.info("FIFO sizing of partition %d: %.3f s of simulation", k, found.pop("seconds", 0.0))
            sizing.append({"partition": k, **found})
        if mode == "largefifo":
            large_fifos(child)
        set_partition_child(model, child, node)
        rows += [{"partition": k, **row} for row in fifo_table(child)]
        merging += joins(child)
        child.save(models / f"dataflow_partition_{k}.onnx")
    slowest = max(sizing, key=lambda r: r.get("interval_cycles") or 0, default=None)  # the summary's figure
    report = {"strategy": mode, "fifos": rows, "sizing": slowest, "sizing_per_partition": sizing or None}
    record_fifos(ctx, report, merging)
    return model


def hls(ctx: BuildContext, model: ModelWrapper) -> ModelWrapper:
    """HLS sources of every partition under ``partitions/partition_<k>/hls``; the top's TLAST inserters."""
    from qnncc.codegen import generate_hls
    from qnncc.codegen.vivado.partitions import PARTITIONS_DIR, partition_dir, top_plan
    from qnncc.codegen.vivado.plan import stitch_plan
    from qnncc.codegen.vivado.tlast import write_plan_tlast_ips

    ctx.fresh_dir("hls")
    ctx.fresh_dir(PARTITIONS_DIR)
    kids = children(model)
    ctx.layers = []
    for k, child in enumerate(kids):
        project = generate_hls(child, ctx.out / partition_dir(k), part=ctx.board.part, clock_ns=ctx.clock_ns)
        ctx.layers += [c.name for c in project.layers]
    if ctx.shell == "zynq":
        write_plan_tlast_ips(top_plan(model, [stitch_plan(c) for c in kids]), ctx.out, ctx.board.part, ctx.clock_ns)
    return model


def rtl(ctx: BuildContext, model: ModelWrapper) -> ModelWrapper:
    """Verilog of every partition under ``partitions/partition_<k>/rtl``; the top's RTL TLAST inserters in ``rtl/``.

    Raises:
        CodegenError: for a layer without an RTL core (names it).
    """
    from qnncc.codegen.rtl import generate_rtl
    from qnncc.codegen.vivado.partitions import PARTITIONS_DIR, partition_dir, top_plan
    from qnncc.codegen.vivado.plan import stitch_plan
    from qnncc.codegen.vivado.tlast import write_tlast_rtl

    ctx.fresh_dir("rtl")  # the top's: the RTL TLAST inserters
    ctx.fresh_dir(PARTITIONS_DIR)
    hls = ctx.out / "hls"
    if hls.exists():
        import shutil

        shutil.rmtree(hls)
    kids = children(model)
    ctx.layers = []
    for k, child in enumerate(kids):
        project = generate_rtl(child, ctx.out / partition_dir(k))
        ctx.layers += [r.name for r in project.layers]
    if ctx.shell == "zynq":
        write_tlast_rtl(top_plan(model, [stitch_plan(c, "rtl") for c in kids]), ctx.out)
    return model


def stitch(ctx: BuildContext, model: ModelWrapper) -> ModelWrapper:
    """Every partition's packaged block design and the top design over them; on Alveo the Vitis link instead."""
    from qnncc.codegen.vivado.partitions import partition_bd_name, partition_dir, write_partitioned_stitch
    from qnncc.codegen.vivado.stitch import write_stitch

    ctx.fresh_dir("stitch")
    kids = children(model)
    backend = ctx.config.backend
    if ctx.board.shell == "alveo":
        for k, child in enumerate(kids):
            path = ctx.out / partition_dir(k)
            write_stitch(child, path, ctx.board, ctx.clock_ns, "generic", bd_name=partition_bd_name(k), backend=backend)
        vitis_link(ctx, model)
        return model
    write_partitioned_stitch(model, kids, ctx.out, ctx.board, ctx.clock_ns, ctx.shell, backend=backend)  # type: ignore[arg-type]
    return model


def vitis_link(ctx: BuildContext, model: ModelWrapper) -> None:
    """The Vitis link flow of an Alveo build under ``vitis/`` (kernels, ``v++ --link`` config, Makefile, driver)."""
    from qnncc.codegen.vitis import write_vitis_link

    path = ctx.fresh_dir("vitis")
    files = write_vitis_link(model, ctx.out, ctx.board, ctx.clock_ns)
    log.info("Vitis link flow: %s (SLRs: %s)", path, files.slr_summary)
    if not files.within_limits:
        ctx.warn(
            f"Vitis link: an SLR of {ctx.board.name} is over its resources ({files.slr_summary}; see "
            "vitis/slr_assignment.json): v++ will not place the design; fold more (--target-fps)"
        )


def driver(ctx: BuildContext, model: ModelWrapper) -> ModelWrapper:
    """The driver that runs partitions and software segments in order (PYNQ on Zynq, PYNQ-Alveo/XRT on Alveo)."""
    from qnncc.codegen.driver_multi import write_multi_driver
    from qnncc.codegen.vitis import write_alveo_driver

    ctx.fresh_dir("driver")
    if ctx.board.shell == "alveo":
        write_alveo_driver(model, ctx.out, ctx.board)
    else:
        write_multi_driver(model, ctx.out, board=ctx.board.name)
    return model


def slr_splits_of(ctx: BuildContext, model: ModelWrapper) -> dict[str, int]:
    """Partition index per HW layer so that each partition fits one SLR of the Alveo board (empty: one fits)."""
    from qnncc.codegen.vitis import alveo_platform, slr_splits
    from qnncc.codegen.vitis.slr import fits_one_slr
    from qnncc.transforms.hw import InsertDWC

    platform = alveo_platform(ctx.board)
    if fits_one_slr(model, platform):
        return {}
    model.transform(InsertDWC())  # width converters first, so that a cut between two layers has one width
    try:
        splits = slr_splits(model, platform)
    except QnnccError as err:
        ctx.warn(f"SLR partitions: {err}; the design stays one partition (it will not place on {ctx.board.name})")
        return {}
    ctx.state["slr_splits"] = splits
    if splits:
        log.info("%d SLR partitions on %s", max(splits.values()) + 1, ctx.board.name)
    return splits


def verify(ctx: BuildContext, model: ModelWrapper) -> ModelWrapper:
    """Every partition's C++ (``--backend rtl``: Verilator) simulation bit-exact against ``execute``, in run order."""
    from qnncc.flow.verify_partitions import verify_partitions

    assert ctx.config.verify_data is not None
    figures = verify_partitions(
        model,
        ctx.config.verify_data,
        ctx.fresh_dir("verification"),
        count=ctx.config.verify_count,
        scheduler=ctx.config.scheduler,
        backend=ctx.config.backend,
    )
    ctx.verification = figures
    if not figures["bit_exact"]:
        wrong = [p["name"] for p in figures["partitions"] if not p["bit_exact"]]
        what = "RTL simulation" if ctx.config.backend == "rtl" else "C++ simulation"
        raise QnnccError(
            f"{what} differs from execute on {figures['mismatching_images']} of {figures['images']} "
            f"images in partition(s) {', '.join(wrong)} (see {ctx.out / 'verification'})"
        )
    return model
