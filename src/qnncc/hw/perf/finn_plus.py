"""Cost of finn-plus's generic HW ops: ElementwiseBinary, Squeeze/Unsqueeze/Reshape, StreamingConcat/Split, Upsample.

Cycles are FINN's ``get_exp_cycles`` (finn-plus ``src/finn/custom_op/fpgadataflow/
{elementwise_binary,squeeze,unsqueeze,reshape,concat,split,upsampler}.py``): one output
word per cycle. FINN has no resource estimate for these ops (``HWCustomOp``'s default 0);
qnncc's models, each stated on its function, count the datapath of qnncc's templates
(``elementwise_binary.hpp``, ``reshape.hpp``, ``upsample.hpp``) so the resources are never a
silent zero. qnncc's templates take the same cycles (``emitted`` changes nothing).
"""

from __future__ import annotations

from qnncc.hw.layers.concat_split import concat_datatype

from .estimate import Attrs, LayerEstimate, ModuleEstimate, ceil_log2, layer_from_modules, prod
from .memory import bram18_hls, lutram_luts

__all__ = [
    "estimate_concat",
    "estimate_elementwise",
    "estimate_split",
    "estimate_stream_shape",
    "estimate_upsample",
    "memory_module",
]

#: Largest memory (bits) the estimate puts in LUTRAM; larger ones go to BRAM18 (as Vitis HLS's default).
LUTRAM_MAX_BITS = 1024

#: ElementwiseBinary operations by LUT cost per result bit of one lane: comparisons and logic
#: are a comparator/gate per input bit; add/sub/min/max a carry chain; bitwise one LUT.
_COMPARE = frozenset({"Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual", "And", "Or", "Xor"})


def memory_module(name: str, width: int, depth: int) -> ModuleEstimate:
    """A ``width`` x ``depth`` memory: LUTRAM up to :data:`LUTRAM_MAX_BITS` bits, else HLS BRAM18s."""
    if width <= 0 or depth <= 0:
        return ModuleEstimate(name)
    if width * depth <= LUTRAM_MAX_BITS:
        return ModuleEstimate(name, lut=lutram_luts(width, depth))
    return ModuleEstimate(name, bram_18k=bram18_hls(width, depth))


def _shape(a: Attrs, name: str) -> tuple[int, ...]:
    shape = a.get_ints(name)
    if not shape or min(shape) < 1:
        raise a.error(f"attribute {name!r} must be a non-empty shape of positive sizes, got {list(shape)}")
    return shape


def _words(a: Attrs, shape: tuple[int, ...], pe: int, what: str) -> int:
    """Words of ``shape`` folded by ``pe`` on its last axis (batch included, as FINN)."""
    a.divides("PE", pe, f"{what}[-1]", shape[-1])
    return prod(shape[:-1]) * shape[-1] // pe


def estimate_elementwise(a: Attrs, operation: str) -> LayerEstimate:
    """ElementwiseBinary ``operation`` (``Add``, ``Mul``, ``Greater``, ...) with broadcasting.

    Cycles: ``prod(out_shape[:-1]) * out_shape[-1] / PE`` (finn-plus ``elementwise_binary.py``
    ``get_exp_cycles``). Resources (qnncc's model of ``elementwise_binary.hpp``): ``PE``
    operators of the output width (multipliers ``lhs_bits * rhs_bits`` LUTs each, comparisons
    and logic the wider input's bits), an output register, and per operand either a constant
    table (``lhs_style``/``rhs_style`` ``"const"``) or, for a broadcast stream, a buffer of its
    words (:func:`memory_module`).
    """
    out = _shape(a, "out_shape")
    pe = a.get_int("PE", 1)
    cycles = _words(a, out, pe, "out_shape")
    dts = [a.get_dtype("lhs_dtype"), a.get_dtype("rhs_dtype")]
    obits = a.get_dtype("out_dtype").bitwidth()
    ibits = max(dt.bitwidth() for dt in dts)
    if operation == "Mul":
        per_lane = dts[0].bitwidth() * dts[1].bitwidth()
    elif operation in _COMPARE:
        per_lane = ibits
    else:
        per_lane = max(obits, ibits + 1)
    modules = [ModuleEstimate("operators", cycles=cycles, lut=pe * per_lane, ff=pe * obits)]
    for side, dt in zip(("lhs", "rhs"), dts, strict=True):
        shape = _shape(a, f"{side}_shape")
        shape = (1,) * (len(out) - len(shape)) + shape
        elems = 1 if shape[-1] == 1 and out[-1] > 1 else pe
        words = prod(shape[1:]) // elems
        const = a.get_str(f"{side}_style", "input", choices=("input", "const")) == "const"
        broadcast = any(s == 1 and o > 1 for s, o in zip(shape[1:], out[1:], strict=True))
        if const or broadcast:
            modules.append(memory_module(f"{side}_{'table' if const else 'buffer'}", elems * dt.bitwidth(), words))
    modules.append(ModuleEstimate("control", cycles=cycles, lut=4 * ceil_log2(cycles), ff=ceil_log2(cycles)))
    return layer_from_modules(cycles, modules)


def estimate_stream_shape(a: Attrs, dtype_attr: str) -> LayerEstimate:
    """Squeeze/Unsqueeze/Reshape: each word passed through.

    Cycles: ``prod(out_shape[:-1]) * out_shape[-1] / PE`` (finn-plus ``squeeze.py``,
    ``unsqueeze.py``, ``reshape.py`` ``get_exp_cycles``). Resources (qnncc's model of
    ``qnncc::stream_copy``): a ``PE * bits`` output register and its handshake.
    """
    inp, out = _shape(a, "inp_shape"), _shape(a, "out_shape")
    if prod(inp) != prod(out):
        raise a.error(f"inp_shape {list(inp)} and out_shape {list(out)} hold different element counts")
    pe = a.get_int("PE", 1)
    _words(a, inp, pe, "inp_shape")
    cycles = _words(a, out, pe, "out_shape")
    width = pe * a.get_dtype(dtype_attr).bitwidth()
    return layer_from_modules(cycles, [ModuleEstimate("register", cycles=cycles, lut=2, ff=width)])


def _channel_streams(a: Attrs) -> tuple[list[int], int, int]:
    sizes = list(a.get_ints("ChannelsPerStream"))
    simd = a.get_int("SIMD", 1)
    if not sizes or min(sizes) < 1:
        raise a.error(f"ChannelsPerStream={sizes} must list positive sizes")
    for size in sizes:
        a.divides("SIMD", simd, "ChannelsPerStream", size)
    cycles = prod(a.get_ints("numInputVectors", [1])) * sum(sizes) // simd
    return sizes, simd, cycles


def estimate_concat(a: Attrs) -> LayerEstimate:
    """StreamingConcat: ``n`` streams joined along the channel axis.

    Cycles: ``prod(numInputVectors) * sum(ChannelsPerStream) / SIMD`` (FINN ``concat.py``
    ``get_exp_cycles``). Resources (qnncc's model of ``qnncc::concat_part``): an ``n``-way
    word multiplexer (``SIMD * bits * ceil(log2 n)`` LUTs) into the output register.
    """
    sizes, simd, cycles = _channel_streams(a)
    bits = concat_datatype(list(a.get_dtypes("inputDataTypes"))).bitwidth()
    n = len(sizes)
    modules = [
        ModuleEstimate("mux", cycles=cycles, lut=simd * bits * max(1, ceil_log2(n)), ff=simd * bits),
        ModuleEstimate("control", cycles=cycles, lut=2 * n + ceil_log2(cycles), ff=ceil_log2(cycles)),
    ]
    return layer_from_modules(cycles, modules)


def estimate_split(a: Attrs) -> LayerEstimate:
    """StreamingSplit: one stream cut into ``n`` along the channel axis.

    Cycles: ``prod(numInputVectors) * sum(ChannelsPerStream) / SIMD`` (FINN ``split.py``: one
    input word per cycle). Resources (qnncc's model of ``qnncc::split_part``): an output
    register per stream and the handshake of each.
    """
    sizes, simd, cycles = _channel_streams(a)
    bits = a.get_dtype("inputDataType").bitwidth()
    n = len(sizes)
    modules = [
        ModuleEstimate("demux", cycles=cycles, lut=2 * n, ff=n * simd * bits),
        ModuleEstimate("control", cycles=cycles, lut=2 * n + ceil_log2(cycles), ff=ceil_log2(cycles)),
    ]
    return layer_from_modules(cycles, modules)


def estimate_upsample(a: Attrs) -> LayerEstimate:
    """UpsampleNearestNeighbour: nearest-neighbour upsampling ``IFMDim`` -> ``OFMDim``.

    Cycles: ``OFMDim**2 * numInputVectors`` (``DimMode`` 0) or ``OFMDim`` (``DimMode`` 1)
    (FINN ``upsampler.py`` ``get_exp_cycles``). Resources (qnncc's model of
    ``qnncc::upsample_nn``): a buffer of one input row (``IFMDim`` pixels of
    ``NumChannels * bits``; one pixel in 1-D mode) and the row/column counters.
    """
    ofm, ifm = a.get_int("OFMDim"), a.get_int("IFMDim")
    channels = a.get_int("NumChannels")
    one_d = a.get_int("DimMode", 0, minimum=0) == 1
    cycles = ofm if one_d else ofm * ofm * a.get_int("numInputVectors", 1)
    width = channels * a.get_dtype("inputDataType").bitwidth()
    modules = [
        memory_module("row_buffer", width, 1 if one_d else ifm),
        ModuleEstimate("output", cycles=cycles, ff=width),
        ModuleEstimate("control", cycles=cycles, lut=4 * ceil_log2(ofm) + 4, ff=2 * ceil_log2(ofm)),
    ]
    return layer_from_modules(cycles, modules)
