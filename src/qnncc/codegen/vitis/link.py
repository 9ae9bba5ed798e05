"""The Vitis link flow of an Alveo build: kernels, ``v++ --link`` config, Makefile and SLR assignment.

:func:`write_vitis_link` writes under ``<build>/vitis/``:

* ``kernels/qnncc_mm2s_<k>.cpp`` / ``kernels/qnncc_s2mm_<k>.cpp``: one Vitis HLS
  kernel per external stream of the design (top plan of
  :mod:`qnncc.codegen.vivado.partitions`): memory to stream for input ``k``,
  stream to memory for output ``k``; each reads or writes one memory word
  (the stream width rounded up to a power of two bytes) per stream word;
  ``kernels/qnncc_wm2s_<j>.cpp`` streams the weights of the ``j``-th
  ``mem_mode="external"`` layer (one pass over the matrix, replayed ``passes`` times);
* ``package_xo.tcl``: every partition's packaged block design (generic stitch)
  as a free-running RTL kernel (``package_xo -ctrl_protocol ap_ctrl_none``)
  named after its block design;
* ``link.cfg``: ``[connectivity]`` with ``nk`` (one compute unit
  ``<kernel>_1`` per kernel), ``stream_connect`` (DMA kernels to partitions and
  partition to partition), ``sp`` (each DMA kernel's memory port to the DDR
  bank of its SLR) and ``slr`` (partitions placed in order by estimated
  resources, :func:`qnncc.codegen.vitis.slr.assign_slrs`; a DMA kernel in
  the SLR of the partition it serves);
* ``slr_assignment.json``: per partition its SLR and estimated resources, per
  SLR the estimate (with one DDR controller per bank used) and the limits;
* ``Makefile``: ``partitions``, ``xo``, ``kernels``, ``link`` and ``all``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qnncc.boards import Board, get_board
from qnncc.codegen.driver import _hw_layer, _stream
from qnncc.codegen.render import render
from qnncc.codegen.vitis.platform import alveo_platform
from qnncc.codegen.vitis.slr import RESOURCES, assign_slrs, layer_resources
from qnncc.codegen.vivado.cells import ExternalStream
from qnncc.codegen.vivado.partitions import partition_bd_name, partition_dir, partition_ip_repo, top_plan
from qnncc.codegen.vivado.plan import stitch_plan
from qnncc.codegen.vivado.stitch import BD_NAME
from qnncc.codegen.weight_streams import weight_stream_descs
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.custom_op.partition import is_hw, partition_child, partition_nodes

__all__ = ["VitisFiles", "kernel_layout", "mem_width", "write_vitis_link"]


def mem_width(width: int) -> int:
    """Memory word width (bits) of a DMA kernel for a ``width``-bit stream: a power of two bytes, at least 8 bits."""
    return max(8, 1 << (max(width, 1) - 1).bit_length())


@dataclass(frozen=True)
class VitisFiles:
    """What :func:`write_vitis_link` wrote (paths) and the SLR of each partition."""

    config: Path
    makefile: Path
    package_tcl: Path
    kernels: tuple[Path, ...]
    slr_json: Path
    slrs: tuple[int, ...]
    within_limits: bool = True

    @property
    def slr_summary(self) -> str:
        """``partition k -> SLRn`` for the log."""
        return ", ".join(f"partition {k} -> SLR{s}" for k, s in enumerate(self.slrs))


def kernel_layout(model: ModelWrapper) -> dict[str, Any]:
    """Kernels, compute units and streams of the Alveo design of ``model`` (one or several partitions).

    Returns:
        ``partitions`` (index, node, kernel, cu, ip_repo, build dir, resources),
        ``inputs``/``outputs`` (driver stream descriptions plus ``kernel``, ``cu``,
        ``partition``, ``port`` on the partition kernel, ``mem_width``) and
        ``links`` (partition-to-partition stream connections ``src``/``dst``).
    """
    from qnncc.codegen.hls import hw_partition

    sdps = partition_nodes(model)
    children = [hw_partition(partition_child(model, n)) for n in sdps] if sdps else [hw_partition(model)]
    single = len(children) == 1
    plans = [stitch_plan(c) for c in children]
    top = top_plan(model, plans) if sdps else plans[0]
    kernel = [BD_NAME if single else partition_bd_name(k) for k in range(len(children))]
    cell_index = {partition_bd_name(k): k for k in range(len(children))}
    partitions = []
    for k, child in enumerate(children):
        need = dict.fromkeys(RESOURCES, 0.0)
        for node in child.graph.node:
            if is_hw(node):
                for r, v in layer_resources(node).items():
                    need[r] += v
        partitions.append(
            {
                "index": k,
                "node": sdps[k].name if sdps else child.graph.name,
                "kernel": kernel[k],
                "cu": f"{kernel[k]}_1",
                "ip_repo": "stitch/vivado_proj/ip" if single else partition_ip_repo(k),
                "dir": "." if single else partition_dir(k),
                "resources": {r: round(v, 1) for r, v in need.items()},
            }
        )

    def owner(ext: ExternalStream) -> int:
        return 0 if single or not sdps else cell_index[ext.cell]

    streams: dict[str, list[dict[str, Any]]] = {"inputs": [], "outputs": [], "weights": []}
    for j, ext in enumerate(top.weight_inputs):  # mem_mode="external": one weight kernel per streamed layer
        p = owner(ext)
        desc = next(d for d in weight_stream_descs(children[p], 0) if d["name"] == ext.tensor)
        name = f"qnncc_wm2s_{j}"
        pport = next(e.name for e in plans[p].inputs if e.tensor == ext.tensor)
        streams["weights"].append(
            {**desc, "index": j, "dma": name, "kernel": name, "cu": f"{name}_1", "partition": p, "port": pport,
             "mem_width": mem_width(ext.width), "mem_bytes": mem_width(ext.width) // 8}
        )  # fmt: skip
    for direction, exts in (("input", top.data_inputs), ("output", top.outputs)):
        for k, ext in enumerate(exts):
            p = owner(ext)
            child = children[p]
            if direction == "input":
                node = child.find_consumers(ext.tensor)[0]
                idx = list(node.input).index(ext.tensor)
            else:
                node = child.find_producer(ext.tensor)
                assert node is not None
                idx = list(node.output).index(ext.tensor)
            desc = _stream(child, ext.tensor, k, direction, _hw_layer(node, ext.tensor), idx)
            name = f"qnncc_{'mm2s' if direction == 'input' else 's2mm'}_{k}"
            inner = plans[p].inputs if direction == "input" else plans[p].outputs
            pport = next(e.name for e in inner if e.tensor == ext.tensor)
            streams[f"{direction}s"].append(
                {
                    **desc,
                    "kernel": name,
                    "cu": f"{name}_1",
                    "partition": p,
                    "port": pport,
                    "mem_width": mem_width(ext.width),
                    "mem_bytes": mem_width(ext.width) // 8,
                }
            )
    links = (
        [
            {
                "src": f"{partitions[cell_index[c.src_cell]]['cu']}.{c.src_port}",
                "dst": f"{partitions[cell_index[c.dst_cell]]['cu']}.{c.dst_port}",
            }
            for c in top.connections
        ]
        if sdps and not single
        else []
    )
    return {"partitions": partitions, **streams, "links": links}


def _dma_streams(layout: dict[str, Any]) -> list[dict[str, Any]]:
    """Every DMA kernel's stream: inputs, weight streams, outputs."""
    return [*layout["inputs"], *layout["weights"], *layout["outputs"]]


def write_vitis_link(
    model: ModelWrapper, out_dir: str | Path, board: str | Board, clock_ns: float | None = None
) -> VitisFiles:
    """Write the Vitis link flow of the Alveo design of ``model`` under ``out_dir/vitis`` (see the module docstring).

    Args:
        model: the partitioned model (one or several ``StreamingDataflowPartition`` nodes).
        out_dir: the build folder (the partitions' stitch scripts are written by the ``stitch`` step).
        board: an Alveo board.
        clock_ns: kernel clock period in ns (default: the board's).

    A partition larger than an SLR is still placed (``within_limits`` is then false, in the
    returned files and in ``slr_assignment.json``).

    Raises:
        CodegenError: for a board without a Vitis platform.
    """
    b = get_board(board)
    platform = alveo_platform(b)
    clk = b.default_clk_ns if clock_ns is None else clock_ns
    layout = kernel_layout(model)
    parts = layout["partitions"]
    placement = assign_slrs([p["resources"] for p in parts], platform, [], strict=False)
    for p, slr in zip(parts, placement.slr, strict=True):
        p["slr"] = slr
    banks: list[int] = []
    memories = []
    for s in _dma_streams(layout):
        s["slr"] = parts[s["partition"]]["slr"]
        s["bank"] = platform.bank(s["slr"])
        banks.append(platform.bank_slr(s["bank"]))
        memories.append(
            {"cu": s["cu"], "port": "dst" if s["kernel"].startswith("qnncc_s2mm") else "src", "bank": s["bank"]}
        )
    placement = assign_slrs([p["resources"] for p in parts], platform, banks, strict=False)
    vitis = Path(out_dir) / "vitis"
    (vitis / "kernels").mkdir(parents=True, exist_ok=True)
    kernels = []
    for s in _dma_streams(layout):
        what = f"{'input' if s['kernel'].startswith('qnncc_mm2s') else 'output'} {s['index']} {s['name']!r}"
        template = "vitis_mm2s.cpp.j2" if s["kernel"].startswith("qnncc_mm2s") else "vitis_s2mm.cpp.j2"
        words = s["words_per_frame"]
        if s.get("kind") == "weights":
            what, template, words = f"layer {s['node']!r}", "vitis_weights_mm2s.cpp.j2", s["pass_words"]
        path = vitis / "kernels" / f"{s['kernel']}.cpp"
        path.write_text(
            render(
                template,
                {"name": s["kernel"], "what": what.replace("\n", " "), "width": s["axis_width"],
                 "mem_width": s["mem_width"], "words": words, "repeats": s.get("repeats", 1)},
            )
        )  # fmt: skip
        kernels.append(path)
    streams = [
        {"src": f"{s['cu']}.out", "dst": f"{parts[s['partition']]['cu']}.{s['port']}"}
        for s in layout["inputs"] + layout["weights"]
    ]
    streams += layout["links"]
    streams += [
        {"src": f"{parts[s['partition']]['cu']}.{s['port']}", "dst": f"{s['cu']}.in"} for s in layout["outputs"]
    ]
    cus = [{"kernel": p["kernel"], "cu": p["cu"], "slr": p["slr"]} for p in parts]
    cus += [{"kernel": s["kernel"], "cu": s["cu"], "slr": s["slr"]} for s in _dma_streams(layout)]
    slr_lines = [
        f"partition {p['index']} {p['node']} ({p['kernel']}): SLR{p['slr']}, "
        + ", ".join(f"{r} {p['resources'][r]:.0f}" for r in RESOURCES)
        for p in parts
    ]
    files = VitisFiles(
        vitis / "link.cfg", vitis / "Makefile", vitis / "package_xo.tcl", tuple(kernels), vitis / "slr_assignment.json",
        placement.slr,
        placement.within_limits(),
    )  # fmt: skip
    files.config.write_text(
        render(
            "vitis_link.cfg.j2",
            {"board": b.name, "platform": platform.name, "partitions": len(parts), "slr_lines": slr_lines,
             "kernels": cus, "streams": streams, "memories": memories},
        )
    )  # fmt: skip
    files.package_tcl.write_text(render("vitis_package_xo.tcl.j2", {"partitions": parts}))
    files.makefile.write_text(
        render(
            "vitis_Makefile.j2",
            {"board": b.name, "platform": platform.name, "freq_mhz": f"{1e3 / clk:.0f}",
             "partition_dirs": [p["dir"] for p in parts], "partitions": parts,
             "dma_kernels": [s["kernel"] for s in _dma_streams(layout)]},
        )
    )  # fmt: skip
    slr_doc = {
        "format": "qnncc-slr-assignment/1",
        "board": b.name,
        "platform": platform.name,
        "partitions": [{k: p[k] for k in ("index", "node", "kernel", "cu", "slr", "resources")} for p in parts],
        "dma_kernels": [{"kernel": s["kernel"], "cu": s["cu"], "slr": s["slr"], "bank": s["bank"]}
                        for s in _dma_streams(layout)],
        "slrs": [
            {"slr": k, "estimate": {r: round(v, 1) for r, v in used.items()}, "limits": dict(lim)}
            for k, (used, lim) in enumerate(zip(placement.used, placement.limits, strict=True))
        ],
        "within_limits": placement.within_limits(),
    }  # fmt: skip
    files.slr_json.write_text(json.dumps(slr_doc, indent=2) + "\n")
    (vitis / "io.json").write_text(
        json.dumps({"inputs": layout["inputs"], "outputs": layout["outputs"], "weights": layout["weights"]}, indent=2)
        + "\n"
    )
    return files
