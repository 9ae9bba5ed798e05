"""The PYNQ-Alveo (XRT) driver of an Alveo build: ``driver/driver.py`` plus its software segments.

The driver loads ``vitis/qnncc.xclbin`` with ``pynq.Overlay``, allocates one
device buffer per stream in the DDR bank of its DMA kernel (``link.cfg``'s
``sp``), packs frames with the same numpy code as the Zynq driver (a verbatim
copy of :mod:`qnncc.codegen.packing`'s standalone section), zero-pads each
stream word to its memory word, and runs the model's segments in order
(:func:`qnncc.codegen.schedule.run_schedule`): software segments with
onnxruntime, partitions by starting their ``qnncc_s2mm_<k>`` and
``qnncc_mm2s_<k>`` kernels with ``(buffer, frames)``. The weights of
``mem_mode="external"`` layers (``weights_<layer>.npy``, one packed pass) are
loaded once into device buffers; each run starts their ``qnncc_wm2s_<j>``
kernels with ``(buffer, frames * passes per frame)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import onnx

from qnncc.boards import Board, get_board
from qnncc.codegen.driver import python_literal, standalone_packing_source
from qnncc.codegen.render import render
from qnncc.codegen.schedule import run_schedule, segment_model
from qnncc.codegen.vitis.link import kernel_layout
from qnncc.codegen.vitis.platform import alveo_platform
from qnncc.codegen.vitis.slr import assign_slrs
from qnncc.codegen.weight_streams import write_weight_streams
from qnncc.core.model_wrapper import ModelWrapper

__all__ = ["alveo_driver_context", "write_alveo_driver"]

XCLBIN = "qnncc.xclbin"


def alveo_driver_context(model: ModelWrapper, board: str | Board) -> dict[str, Any]:
    """Streams (with compute unit, partition, memory bank and word sizes), metadata and the run order.

    Raises:
        CodegenError: as :func:`~qnncc.codegen.vitis.link.kernel_layout` and
            :func:`~qnncc.codegen.vitis.slr.assign_slrs`.
    """
    from qnncc.version import __version__

    b = get_board(board)
    platform = alveo_platform(b)
    layout = kernel_layout(model)
    placement = assign_slrs([p["resources"] for p in layout["partitions"]], platform, strict=False)
    for s in layout["inputs"] + layout["weights"] + layout["outputs"]:
        s["bank"] = platform.bank(placement.slr[s["partition"]])
    schedule: list[dict[str, Any]] = []
    for seg in run_schedule(model):
        if seg.kind == "software":
            schedule.append(
                {"kind": "software", "file": f"software_{seg.index}.onnx", "reads": list(seg.inputs),
                 "writes": list(seg.outputs)}
            )  # fmt: skip
            continue
        ins = [s["index"] for s in layout["inputs"] if s["partition"] == seg.index]
        outs = [s["index"] for s in layout["outputs"] if s["partition"] == seg.index]
        weights = [s["index"] for s in layout["weights"] if s["partition"] == seg.index]
        if schedule and schedule[-1]["kind"] == "partition":  # connected partitions run together
            schedule[-1]["inputs"] += ins
            schedule[-1]["outputs"] += outs
            schedule[-1]["weights"] += weights
            schedule[-1]["name"] += f"+{seg.nodes[0].name}"
            continue
        schedule.append(
            {"kind": "partition", "index": seg.index, "name": seg.nodes[0].name, "inputs": ins, "outputs": outs,
             "weights": weights}
        )  # fmt: skip
    io = [
        [{"name": t, "shape": [int(d) for d in model.get_tensor_shape(t) or []]} for t in names]
        for names in (model.graph_input_names(), model.graph_output_names())
    ]
    meta = {
        "qnncc_version": __version__,
        "model_name": model.graph.name,
        "board": b.name,
        "platform": platform.name,
        "xclbin": XCLBIN,
        "partitions": [{k: p[k] for k in ("index", "node", "kernel", "cu")} | {"slr": s} for p, s in
                       zip(layout["partitions"], placement.slr, strict=True)],
        "model_inputs": io[0],
        "model_outputs": io[1],
        "schedule": schedule,
    }  # fmt: skip
    return {"inputs": layout["inputs"], "outputs": layout["outputs"], "weights": layout["weights"], "meta": meta}


def write_alveo_driver(model: ModelWrapper, out_dir: str | Path, board: str | Board) -> Path:
    """Write ``<out_dir>/driver/driver.py`` (PYNQ-Alveo/XRT) and its ``software_<i>.onnx`` segments.

    Raises:
        CodegenError: see :func:`alveo_driver_context`.
    """
    from qnncc.execution.batching import make_batch_dynamic
    from qnncc.execution.lowering import lower_to_standard_onnx

    context = alveo_driver_context(model, board)
    text = render(
        "driver_alveo.py.j2",
        {
            **context,
            "io_literal": python_literal(
                {"inputs": context["inputs"], "outputs": context["outputs"], "weights": context["weights"]}
            ),
            "meta_literal": python_literal(context["meta"]),
            "packing_source": standalone_packing_source(),
        },
    )
    driver_dir = Path(out_dir) / "driver"
    driver_dir.mkdir(parents=True, exist_ok=True)
    path = driver_dir / "driver.py"
    path.write_text(text)
    if context["weights"]:  # one packed pass of each streamed layer's weights
        from qnncc.codegen.hls import hw_partition
        from qnncc.custom_op.partition import partition_child, partition_nodes

        sdps = partition_nodes(model)
        for child in [hw_partition(partition_child(model, n)) for n in sdps] if sdps else [hw_partition(model)]:
            write_weight_streams(child, driver_dir)
    for seg in run_schedule(model):
        if seg.kind == "software":
            lowered = lower_to_standard_onnx(segment_model(model, seg))
            make_batch_dynamic(lowered)
            onnx.save(lowered, str(driver_dir / f"software_{seg.index}.onnx"))
    return path
