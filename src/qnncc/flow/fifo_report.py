"""FIFOs of a HW partition for the build: a frame-deep FIFO on every stream, the FIFO table, the joins."""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

from qnncc.core.model_wrapper import ModelWrapper

if TYPE_CHECKING:
    from qnncc.flow.steps import BuildContext


def joins(child: ModelWrapper) -> list[str]:
    """Names of the nodes of a HW model that merge two or more streams (e.g. ``AddStreams`` after a fork)."""
    return [n.name for n in child.graph.node if sum(1 for t in n.input if t and child.get_initializer(t) is None) > 1]


def large_fifos(child: ModelWrapper) -> None:
    """A StreamingFIFO on every stream, deep enough for one whole frame of its words (power of two)."""
    from qnncc.custom_op import get_custom_op
    from qnncc.hw.layers.streamingfifo import fifo_style
    from qnncc.transforms.hw import InsertFIFO

    child.transform(InsertFIFO(depth=2))
    for node in child.get_nodes_by_op_type("StreamingFIFO"):
        layer = get_custom_op(node)
        folded = [int(d) for d in layer.attrs["folded_shape"]]
        words = math.prod(folded[1:-1]) if len(folded) > 2 else 1
        depth = max(2, 1 << max(words - 1, 1).bit_length())
        width = folded[-1] * layer.output_datatype(0).bitwidth()  # type: ignore[attr-defined]
        impl, ram = fifo_style(depth, width)
        child.set_nodeattr(node, "depth", depth)
        child.set_nodeattr(node, "impl_style", impl)
        child.set_nodeattr(node, "ram_style", ram)


def fifo_table(child: ModelWrapper) -> list[dict[str, Any]]:
    """One row per StreamingFIFO of a HW model: name, stream, depth, width, styles, LUT and BRAM estimates."""
    from qnncc.custom_op import get_custom_op

    rows = []
    for node in child.get_nodes_by_op_type("StreamingFIFO"):
        layer = get_custom_op(node)
        attrs = dict(layer.attrs)
        folded = [int(d) for d in attrs["folded_shape"]]
        width = folded[-1] * layer.output_datatype(0).bitwidth()  # type: ignore[attr-defined]
        est = layer.estimate(emitted=False)  # type: ignore[attr-defined]
        producer = child.find_producer(node.input[0])
        consumer = child.find_consumer(node.output[0])
        rows.append(
            {
                "name": node.name,
                "producer": producer.name if producer is not None else "(input)",
                "consumer": consumer.name if consumer is not None else "(output)",
                "depth": int(attrs["depth"]),
                "width_bits": int(width),
                "impl_style": str(attrs.get("impl_style", "")),
                "ram_style": str(attrs.get("ram_style", "")),
                "LUT": int(est.lut),
                "BRAM_18K": int(est.bram_18k),
            }
        )
    return rows


def record_fifos(ctx: BuildContext, report: dict[str, Any], merging: list[str]) -> None:
    """Keep a ``fifo`` step's report: warn for unsized joins, save the depths, write ``report/fifo_depths.json``.

    Args:
        ctx: the build context; gets ``fifo_report`` and ``state["fifo_depths"]``.
        report: ``{"strategy": ..., "fifos": [rows of fifo_table], "sizing": ...}``.
        merging: the nodes that join streams (:func:`joins`), which ``--fifo-sizing off`` leaves unsized.
    """
    ctx.fifo_report = report
    if report["strategy"] == "off" and merging:
        report["unsized_joins"] = merging
        ctx.warn(
            f"--fifo-sizing off: the design forks and joins streams ({', '.join(merging)}); without FIFOs sized "
            "for the longer branch the stitched accelerator can deadlock (use --fifo-sizing sim or largefifo)"
        )
    ctx.state["fifo_depths"] = {f["name"]: f["depth"] for f in report["fifos"]}
    folder = ctx.out / "report"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "fifo_depths.json").write_text(json.dumps(report, indent=2) + "\n")
