"""Cost of stream plumbing and small layers: LabelSelect, AddStreams, DuplicateStreams, DWC, FIFO."""

from __future__ import annotations

import math

from .estimate import Attrs, LayerEstimate, ModuleEstimate, ceil_log2, layer_from_modules, prod
from .memory import BRAM18_BITS, MEM_PRIMITIVES, URAM_BITS, best_primitive, bram18_finn_r, uram_blocks

__all__ = [
    "estimate_add_streams",
    "estimate_dwc",
    "estimate_duplicate_streams",
    "estimate_fifo",
    "estimate_label_select",
]

FIFO_LATENCY_CYCLES = 2  # pipeline depth of a streaming FIFO (write to first read)


def estimate_label_select(a: Attrs, *, emitted: bool = False) -> LayerEstimate:
    """LabelSelect: indices of the ``K`` largest of ``Labels`` scores.

    Cycles: ``Labels/PE * prod(numInputVectors)`` (FINN ``labelselect.py``
    ``get_exp_cycles``, batch 1: ``Labels/PE``); ``emitted`` (qnncc's
    ``labelselect.hpp``): ``(Labels/PE + K) * prod(numInputVectors)``, the
    ``K`` output words leave in their own loop after each vector.

    Resources: FINN has no estimate (its reports show 0 LUT, a silent zero).
    qnncc's model of finn-hlslib ``LabelSelect_Batch``: ``K`` sorted slots of
    (score, index); each cycle ``PE`` scores are compared with every slot
    (``PE*K*bits`` LUTs) and a slot is updated through a mux
    (``K*(bits + index bits)`` LUTs), plus a ``Labels`` counter.
    """
    labels, pe, k = a.get_int("Labels"), a.get_int("PE", 1), a.get_int("K", 1)
    fold = a.divides("PE", pe, "Labels", labels)
    if k > labels:
        raise a.error(f"K={k} must not exceed Labels={labels}")
    cycles = (fold + (k if emitted else 0)) * prod(a.get_ints("numInputVectors", [1]))
    bits = a.get_dtype("inputDataType").bitwidth()
    idx_bits = max(1, ceil_log2(labels))
    modules = [
        ModuleEstimate("comparators", cycles=cycles, lut=pe * k * bits),
        ModuleEstimate("topk_slots", cycles=cycles, lut=k * (bits + idx_bits), ff=k * (bits + idx_bits)),
        ModuleEstimate("control", cycles=cycles, lut=2 * idx_bits, ff=idx_bits + pe * bits),
    ]
    return layer_from_modules(cycles, modules)


def estimate_add_streams(a: Attrs) -> LayerEstimate:
    """AddStreams: element-wise sum of two streams.

    Cycles: ``NumChannels/PE * prod(numInputVectors)`` (FINN ``addstreams.py``
    ``get_exp_cycles``). FINN has no resource estimate; qnncc's model: ``PE``
    adders of ``max(in bits) + 1`` bits (one LUT per sum bit on the carry
    chain) and an output register.
    """
    ch, pe = a.get_int("NumChannels"), a.get_int("PE")
    fold = a.divides("PE", pe, "NumChannels", ch)
    cycles = fold * prod(a.get_ints("numInputVectors", [1]))
    listed = list(a.get_dtypes("inputDataTypes")) if a.has("inputDataTypes") else []
    if listed:  # the layer's defaults list an empty inputDataTypes when inputDataType is set
        dtypes = listed
        if len(dtypes) != 2:
            raise a.error(f"attribute 'inputDataTypes' must list 2 datatypes, got {len(dtypes)}")
    else:
        dtypes = [a.get_dtype("inputDataType")] * 2
    sum_bits = max(dt.bitwidth() for dt in dtypes) + 1
    modules = [
        ModuleEstimate("adders", cycles=cycles, lut=pe * sum_bits, ff=pe * sum_bits),
        ModuleEstimate("control", cycles=cycles, lut=2 * ceil_log2(fold), ff=ceil_log2(fold)),
    ]
    return layer_from_modules(cycles, modules)


def estimate_duplicate_streams(a: Attrs) -> LayerEstimate:
    """DuplicateStreams: copy one stream to ``NumOutputStreams`` outputs.

    Cycles: ``NumChannels/PE * prod(numInputVectors)`` (FINN
    ``duplicatestreams.py`` ``get_exp_cycles``). FINN has no resource
    estimate; qnncc's model: an output register per stream
    (``n * PE * bits`` FFs) and ``2 * n`` LUTs of handshake logic.
    """
    ch, pe = a.get_int("NumChannels"), a.get_int("PE")
    fold = a.divides("PE", pe, "NumChannels", ch)
    n_out = a.get_int("NumOutputStreams", 2)
    cycles = fold * prod(a.get_ints("numInputVectors", [1]))
    width = pe * a.get_dtype("inputDataType").bitwidth()
    return layer_from_modules(cycles, [ModuleEstimate("fork", cycles=cycles, lut=2 * n_out, ff=n_out * width)])


def estimate_dwc(a: Attrs) -> LayerEstimate:
    """StreamingDataWidthConverter: repack a stream from ``inWidth`` to ``outWidth`` bits.

    Cycles: ``max(input words, output words)`` per frame, words = elements *
    bits / width (one word per cycle on each side; FINN's DWC has no
    ``get_exp_cycles`` and reports 0). Latency: one intermediate word is
    filled and drained, ``lcm/inWidth + lcm/outWidth`` cycles.

    LUTs (FINN ``streamingdatawidthconverter.py`` ``lut_estimation``):
    shift-register model through an intermediate ``lcm(in, out)``-bit word,
    ``|ceil(log2(in/lcm))| + |ceil(log2(lcm/out))|`` counter LUTs plus the
    control-set LUTs of the widths that differ from ``lcm``.
    """
    in_w, out_w = a.get_int("inWidth"), a.get_int("outWidth")
    dtype = a.get_dtype("dataType") if a.has("dataType") else a.get_dtype("inputDataType")
    bits = dtype.bitwidth()
    in_shape = a.get_ints("in_shape") if a.has("in_shape") else a.get_ints("shape")
    out_shape = a.get_ints("out_shape", in_shape)
    if prod(in_shape) != prod(out_shape):
        raise a.error(f"in_shape {list(in_shape)} and out_shape {list(out_shape)} hold different element counts")
    if in_w % bits or out_w % bits:
        raise a.error(f"inWidth={in_w} and outWidth={out_w} must be multiples of the {bits}-bit {dtype} element")
    total_bits = prod(in_shape) * bits
    in_words, out_words = math.ceil(total_bits / in_w), math.ceil(total_bits / out_w)
    lcm = math.lcm(in_w, out_w)
    cnt_luts = cset_luts = 0
    if in_w != lcm:
        cnt_luts += abs(math.ceil(math.log2(in_w / lcm)))
        cset_luts += lcm
    if lcm != out_w:
        cnt_luts += abs(math.ceil(math.log2(lcm / out_w)))
        cset_luts += out_w
    cycles = max(in_words, out_words)
    module = ModuleEstimate("width_converter", cycles=cycles, lut=cnt_luts + cset_luts, ff=lcm + in_w + out_w)
    return layer_from_modules(cycles, [module], latency_cycles=lcm // in_w + lcm // out_w)


def estimate_fifo(a: Attrs) -> LayerEstimate:
    """StreamingFIFO of ``depth`` words of ``folded_shape[-1] * bits`` bits.

    Cycles: words per frame, ``prod(folded_shape[:-1])`` (a FIFO passes one
    word per cycle; FINN reports 0); latency :data:`FIFO_LATENCY_CYCLES`.

    Resources (FINN ``streamingfifo.py``): ``impl_style == "vivado"`` rounds
    the depth up to a power of two (``get_adjusted_depth``); BRAM
    :func:`bram18_finn_r` for ``vivado`` + ``block``; URAM
    ``ceil(depth/4096) * ceil(W/72)`` for ``vivado`` + ``ultra``; LUT
    ``2*ceil(log2(depth))`` address logic plus ``ceil(depth/32) * ceil(W/2)``
    for ``rtl`` (SRL) or ``vivado`` + ``distributed``. Deliberate difference:
    for ``vivado`` + ``auto`` FINN counts no storage at all; qnncc takes the
    least wasteful BRAM18/LUTRAM primitive.
    """
    depth = a.get_int("depth", minimum=1)
    folded = a.get_ints("folded_shape")
    if not folded:
        raise a.error("attribute 'folded_shape' must not be empty")
    dtype = a.get_dtype("dataType") if a.has("dataType") else a.get_dtype("inputDataType")
    width = folded[-1] * dtype.bitwidth()
    impl = a.get_str("impl_style", "rtl", choices=("rtl", "vivado"))
    style = a.get_str("ram_style", "auto", choices=("auto", "block", "distributed", "ultra"))
    if impl == "vivado":
        depth = 1 << (depth - 1).bit_length()
        if style == "auto":
            allowed = {k: v for k, v in MEM_PRIMITIVES.items() if not k.startswith("URAM")}
            style = "block" if best_primitive(width, depth, allowed)[0] == "BRAM18" else "distributed"
    address = 2 * ceil_log2(depth)
    bram = uram = ram_luts = 0
    if impl == "rtl" or style == "distributed":
        ram_luts = math.ceil(depth / 32) * math.ceil(width / 2)
    elif style == "block":
        bram = bram18_finn_r(width, depth)
    else:
        uram = uram_blocks(width, depth)
    words = prod(folded[:-1])
    module = ModuleEstimate("fifo", cycles=words, lut=address + ram_luts, ff=address + width, bram_18k=bram, uram=uram)
    return layer_from_modules(
        words,
        [module],
        latency_cycles=FIFO_LATENCY_CYCLES,
        bram_efficiency=width * depth / (bram * BRAM18_BITS) if bram else 1.0,
        uram_efficiency=width * depth / (uram * URAM_BITS) if uram else 1.0,
    )
