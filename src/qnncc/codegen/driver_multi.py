"""PYNQ driver of a design of several dataflow partitions (one bitstream, partitions run in order).

The driver is the single-partition driver (``driver_multi.py.j2`` extends ``driver.py.j2``, see
:mod:`qnncc.codegen.driver`) with a run order in ``META["schedule"]``:
the streams of the top design (:func:`qnncc.codegen.vivado.partitions.top_plan`)
are numbered as the top's external streams, so stream ``k`` is served by
``axi_dma_<k>`` (input ``k`` by MM2S, output ``k`` by S2MM through
``qnncc_tlast_<k>``). A ``partition`` step moves the streams of consecutive
partitions (partitions connected directly run together); a ``software`` step
runs one software segment (``software_<i>.onnx`` next to the driver, standard
ONNX, batch axis symbolic) with onnxruntime on the CPU.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import onnx

from qnncc.codegen.driver import (
    BITFILE_DIR,
    _hw_layer,
    _stream,
    python_literal,
    standalone_packing_source,
    tlast_register_literals,
)
from qnncc.codegen.render import CodegenError, render
from qnncc.codegen.schedule import Segment, run_schedule, segment_model
from qnncc.codegen.vivado.cells import ExternalStream
from qnncc.codegen.vivado.plan import stitch_plan
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.custom_op.partition import partition_child, partition_nodes

__all__ = ["MULTI_DRIVER_TEMPLATE", "multi_driver_context", "write_multi_driver"]

#: The single-partition driver template with the run order (extends ``driver.py.j2``).
MULTI_DRIVER_TEMPLATE = "driver_multi.py.j2"


def _software_file(segment: Segment) -> str:
    return f"software_{segment.index}.onnx"


def _streams(
    children: list[ModelWrapper], owners: list[int], externals: tuple[ExternalStream, ...], direction: str
) -> list[dict[str, Any]]:
    out = []
    for k, (ext, owner) in enumerate(zip(externals, owners, strict=True)):
        child = children[owner]
        found = child.find_consumers(ext.tensor)[0] if direction == "input" else child.find_producer(ext.tensor)
        if found is None:
            raise CodegenError(f"output tensor {ext.tensor!r}: no node of partition {owner} produces it")
        node: onnx.NodeProto = found
        port = list(node.input if direction == "input" else node.output).index(ext.tensor)
        out.append({**_stream(child, ext.tensor, k, direction, _hw_layer(node, ext.tensor), port), "partition": owner})
    return out


def multi_driver_context(
    model: ModelWrapper, *, bitfile_name: str = "qnncc.bit", board: str | None = None, fclk_mhz: float | None = None
) -> dict[str, Any]:
    """What the driver template needs for a model of several partitions (see :func:`qnncc.codegen.driver_context`).

    ``meta["schedule"]`` lists the steps in run order: ``{"kind": "partition",
    "index", "name", "inputs", "outputs"}`` (stream indices) or ``{"kind":
    "software", "file", "reads", "writes"}`` (tensor names).

    Raises:
        CodegenError: as :func:`qnncc.codegen.driver_context`, or for a model with fewer than two partitions.
    """
    from qnncc.codegen.hls import hw_partition
    from qnncc.codegen.vivado.partitions import partition_bd_name, top_plan
    from qnncc.version import __version__

    sdps = partition_nodes(model)
    if len(sdps) < 2:
        raise CodegenError(f"a multi-partition driver needs several partitions, the model has {len(sdps)}")
    children = [hw_partition(partition_child(model, n)) for n in sdps]
    top = top_plan(model, [stitch_plan(c) for c in children])
    cell_owner = {partition_bd_name(k): k for k in range(len(sdps))}
    if top.weight_inputs:
        layers = ", ".join(e.weights for e in top.weight_inputs)
        raise CodegenError(
            f"the multi-partition PYNQ driver does not stream weights (mem_mode='external' in {layers}); "
            "keep those weights on chip or build one partition"
        )
    inputs = _streams(children, [cell_owner[e.cell] for e in top.inputs], top.inputs, "input")
    outputs = _streams(children, [cell_owner[e.cell] for e in top.outputs], top.outputs, "output")
    schedule: list[dict[str, Any]] = []
    for seg in run_schedule(model):
        if seg.kind == "software":
            schedule.append(
                {
                    "kind": "software",
                    "file": _software_file(seg),
                    "reads": list(seg.inputs),
                    "writes": list(seg.outputs),
                }
            )
            continue
        ins = [s["index"] for s in inputs if s["partition"] == seg.index]
        outs = [s["index"] for s in outputs if s["partition"] == seg.index]
        if schedule and schedule[-1]["kind"] == "partition":  # connected or independent: they run together
            last = schedule[-1]
            last.update(name=f"{last['name']}+{sdps[seg.index].name}", inputs=last["inputs"] + ins)
            last["outputs"] += outs
            continue
        schedule.append(
            {"kind": "partition", "index": seg.index, "name": sdps[seg.index].name, "inputs": ins, "outputs": outs}
        )
    stem = bitfile_name.rsplit(".", 1)[0] if "." in bitfile_name else bitfile_name
    io = [
        [{"name": t, "shape": [int(d) for d in model.get_tensor_shape(t) or []]} for t in names]
        for names in (model.graph_input_names(), model.graph_output_names())
    ]
    meta = {
        "qnncc_version": __version__,
        "model_name": model.graph.name,
        "partition_name": f"{len(sdps)} partitions ({', '.join(n.name for n in sdps)})",
        "partition_id": None,
        "software_nodes": [f"{n.op_type} ({n.name or n.output[0]})" for n in model.graph.node if n not in sdps],
        "board": board,
        "fclk_mhz": fclk_mhz,
        "bitfile": bitfile_name,
        "bitfile_dir": f"../{BITFILE_DIR}",
        "hwh": f"{stem}.hwh",
        "model_inputs": io[0],
        "model_outputs": io[1],
        "software_prefix": None,
        "software_suffix": None,
        "schedule": schedule,
    }
    return {"inputs": inputs, "outputs": outputs, "meta": meta}


def write_multi_driver(
    model: ModelWrapper,
    out_dir: str | Path,
    bitfile_name: str = "qnncc.bit",
    *,
    board: str | None = None,
    fclk_mhz: float | None = None,
) -> Path:
    """Write ``<out_dir>/driver/driver.py`` and its software segments for a model of several partitions.

    Returns:
        Path of the written ``driver.py``.

    Raises:
        CodegenError: see :func:`multi_driver_context`.
    """
    from qnncc.execution.batching import make_batch_dynamic
    from qnncc.execution.lowering import lower_to_standard_onnx

    context = multi_driver_context(model, bitfile_name=bitfile_name, board=board, fclk_mhz=fclk_mhz)
    text = render(
        MULTI_DRIVER_TEMPLATE,
        {
            **context,
            "io_literal": python_literal({"inputs": context["inputs"], "outputs": context["outputs"]}),
            "meta_literal": python_literal(context["meta"]),
            "packing_source": standalone_packing_source(),
            "tlast_regs": tlast_register_literals(),
        },
    )
    driver_dir = Path(out_dir) / "driver"
    driver_dir.mkdir(parents=True, exist_ok=True)
    path = driver_dir / "driver.py"
    path.write_text(text)
    for seg in run_schedule(model):
        if seg.kind == "software":
            lowered = lower_to_standard_onnx(segment_model(model, seg))
            make_batch_dynamic(lowered)
            onnx.save(lowered, str(driver_dir / _software_file(seg)))
    return path
