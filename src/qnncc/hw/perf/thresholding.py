"""Cost of Thresholding (multi-threshold activation) and ChannelwiseOp layers."""

from __future__ import annotations

import math

from qnncc.core.datatype import Kind

from .estimate import Attrs, LayerEstimate, ModuleEstimate, ceil_log2, layer_from_modules, prod
from .memory import BRAM18_BITS, MEM_PRIMITIVES, URAM_BITS, best_primitive

__all__ = ["estimate_channelwise", "estimate_thresholding"]


def _rtl_stage_memories(a: Attrs, channel_fold: int) -> list[tuple[int, int]]:
    """``(width bits, depth words)`` of each binary-search stage memory of one PE.

    Source: FINN ``thresholding_rtl.py`` ``get_pe_mem_geometries``: stage ``x``
    of an ``N``-bit output holds ``2**x`` thresholds per channel, i.e. a
    ``T``-bit wide, ``(C/PE) * 2**x`` deep memory (``uniform_thres``: the
    ``N - x`` low bits only).
    """
    odt_bits = a.get_dtype("outputDataType").bitwidth()
    t_bits = a.get_dtype("weightDataType", a.get_dtype("inputDataType")).bitwidth()
    if a.get_int("uniform_thres", 0, minimum=0):
        return [(odt_bits - x, channel_fold * 2**x) for x in range(1, odt_bits)]
    return [(t_bits, channel_fold * 2**x) for x in range(odt_bits)]


def _primitives_for_depth(a: Attrs, depth: int) -> dict[str, tuple[int, int]]:
    """Primitive catalogue allowed for a memory of ``depth`` words.

    An explicit ``ram_style`` (``block``/``distributed``/``ultra``) restricts
    the choice to that primitive (qnncc extension; FINN's RTL unit ignores
    ``ram_style``). With ``auto``:
    FINN ``depth_trigger_bram`` / ``depth_trigger_uram`` (0 = disabled): from
    ``depth_trigger_uram`` words on only URAM, from ``depth_trigger_bram`` on
    only BRAM, otherwise the least wasteful primitive. (FINN treats a zero
    URAM trigger as "always URAM" once the BRAM trigger is set; qnncc reads 0
    as disabled.)
    """
    style = a.get_str("ram_style", "auto", choices=("auto", "block", "distributed", "ultra"))
    if style != "auto":
        prefix = {"block": "BRAM", "distributed": "LUTRAM", "ultra": "URAM"}[style]
        return {k: v for k, v in MEM_PRIMITIVES.items() if k.startswith(prefix)}
    trig_bram = a.get_int("depth_trigger_bram", 0, minimum=0)
    trig_uram = a.get_int("depth_trigger_uram", 0, minimum=0)
    if trig_uram and depth >= trig_uram:
        return {k: v for k, v in MEM_PRIMITIVES.items() if k.startswith("URAM")}
    if trig_bram and depth >= trig_bram:
        return {k: v for k, v in MEM_PRIMITIVES.items() if k.startswith("BRAM")}
    return dict(MEM_PRIMITIVES)


def _threshold_rtl_memory(a: Attrs, pe: int, channel_fold: int) -> tuple[ModuleEstimate, float, float]:
    """Threshold memories of the RTL binary-search thresholding unit.

    Source: FINN ``thresholding_rtl.py`` ``get_memory_estimate``: for each
    stage memory the primitive with the least wasted bits (FINN
    ``get_memutil_alternatives`` over ``mem_primitives_versal``), times PE.
    LUT = LUTRAM LUTs only, as FINN (the binary-search comparators are not
    counted).
    """
    lut = bram = uram = 0
    payload_bram = payload_uram = 0
    for width, depth in _rtl_stage_memories(a, channel_fold):
        kind, count, _ = best_primitive(width, depth, _primitives_for_depth(a, depth))
        if kind == "LUTRAM":
            lut += pe * count
        elif kind == "BRAM18":
            bram += pe * count
            payload_bram += pe * width * depth
        else:
            uram += pe * count
            payload_uram += pe * width * depth
    bram_eff = payload_bram / (bram * BRAM18_BITS) if bram else 1.0
    uram_eff = payload_uram / (uram * URAM_BITS) if uram else 1.0
    return ModuleEstimate("threshold_memory", lut=lut, bram_18k=bram, uram=uram), bram_eff, uram_eff


def _param_memory_hls(a: Attrs, pe: int, tmem: int, in_bits: int, cycles: int) -> list[ModuleEstimate]:
    """Parameter memory and comparators of HLS Thresholding/ChannelwiseOp.

    Source: FINN ``thresholding_hls.py`` / ``channelwise_op_hls.py``:
    LUT = ``A*PE`` (comparators) + ``PE*A*ceil(TMEM/64)`` if
    ``ram_style == "distributed"`` and ``TMEM > 1``; BRAM =
    ``ceil(A*PE/16) * ceil(TMEM/1024)`` if ``ram_style == "block"`` and
    ``TMEM > 1`` (``A`` = input bits, FINN's proxy for the parameter width).
    ``auto`` is read as FINN's default, ``distributed``.
    """
    style = a.get_str("ram_style", "distributed", choices=("auto", "distributed", "block"))
    lutram = pe * in_bits * math.ceil(tmem / 64) if style == "distributed" and tmem > 1 else 0
    bram = math.ceil(in_bits * pe / 16) * math.ceil(tmem / 1024) if style == "block" and tmem > 1 else 0
    return [
        ModuleEstimate("parameter_memory", lut=lutram, bram_18k=bram),
        ModuleEstimate("comparators", cycles=cycles, lut=in_bits * pe),
    ]


def _qnncc_hls_thresholds(a: Attrs, pe: int, fold: int, steps: int, cycles: int) -> list[ModuleEstimate]:
    """Comparators, count adders and threshold ROM of qnncc's HLS thresholding.

    Source: qnncc's ``activation.hpp`` ``Thresholds::activate`` (the step loop
    fully unrolled in the II=1 loop of ``thresholding.hpp``): per PE lane
    ``numSteps`` comparators of ``T`` bits (one LUT per bit on the carry
    chain) and a ``numSteps``-input count (about one LUT per input); the
    thresholds of a lane are a ROM of ``C/PE`` words of ``numSteps * T``
    bits (constants folded into the comparators when ``C/PE == 1``), in
    LUTs (64 words per LUT) unless ``ram_style == "block"`` (least wasteful
    BRAM18 shape).
    """
    t_bits = a.get_dtype("weightDataType", a.get_dtype("inputDataType")).bitwidth()
    style = a.get_str("ram_style", "distributed", choices=("auto", "distributed", "block", "ultra"))
    width = steps * t_bits
    rom = ModuleEstimate("threshold_rom")
    if fold > 1 and style == "block":
        _, count, _ = best_primitive(width, fold, {k: v for k, v in MEM_PRIMITIVES.items() if k.startswith("BRAM")})
        rom = ModuleEstimate("threshold_rom", bram_18k=pe * count)
    elif fold > 1:
        rom = ModuleEstimate("threshold_rom", lut=pe * width * math.ceil(fold / 64))
    return [
        ModuleEstimate("comparators", cycles=cycles, lut=pe * steps * t_bits),
        ModuleEstimate("count", cycles=cycles, lut=pe * steps, ff=pe * ceil_log2(steps + 1)),
        rom,
    ]


def estimate_thresholding(a: Attrs, *, backend: str = "rtl") -> LayerEstimate:
    """Thresholding: ``numSteps`` thresholds per channel map inputs to ``outputDataType``.

    Cycles: ``NumChannels/PE * prod(numInputVectors)`` (FINN ``thresholding.py``
    ``get_exp_cycles``).

    Resources, ``backend == "rtl"`` (FINN ``Thresholding_rtl``, binary search;
    the default, as in FINN): stage memories of ``T`` bits (``weightDataType``,
    defaulting to ``inputDataType``), see :func:`_threshold_rtl_memory`.
    ``backend == "hls"`` (FINN ``Thresholding_hls``): see
    :func:`_param_memory_hls`. ``backend == "qnncc"`` (the HLS thresholding
    qnncc emits): see :func:`_qnncc_hls_thresholds`.
    """
    ch, pe = a.get_int("NumChannels"), a.get_int("PE")
    fold = a.divides("PE", pe, "NumChannels", ch)
    cycles = fold * prod(a.get_ints("numInputVectors", [1]))
    idt, odt = a.get_dtype("inputDataType"), a.get_dtype("outputDataType")
    steps = a.get_int("numSteps", 1 if odt.kind is Kind.BIPOLAR else 2 ** odt.bitwidth() - 1)
    control = ModuleEstimate(
        "control", cycles=cycles, ff=pe * (idt.bitwidth() + odt.bitwidth()) + ceil_log2(fold) + ceil_log2(steps + 1)
    )
    if backend == "hls":
        return layer_from_modules(cycles, [control, *_param_memory_hls(a, pe, fold, idt.bitwidth(), cycles)])
    if backend == "qnncc":
        return layer_from_modules(cycles, [control, *_qnncc_hls_thresholds(a, pe, fold, steps, cycles)])
    memory, bram_eff, uram_eff = _threshold_rtl_memory(a, pe, fold)
    return layer_from_modules(cycles, [control, memory], bram_efficiency=bram_eff, uram_efficiency=uram_eff)


def estimate_channelwise(a: Attrs) -> LayerEstimate:
    """ChannelwiseOp: per-channel ``add``/``mul``/``cmp_le``/``cmp_ge`` with a parameter.

    Cycles: ``NumChannels/PE * prod(numInputVectors)`` (FINN
    ``channelwise_op.py`` ``get_exp_cycles``). Resources: FINN
    ``channelwise_op_hls.py`` (same model as HLS thresholding, see
    :func:`_param_memory_hls`).
    """
    ch, pe = a.get_int("NumChannels"), a.get_int("PE")
    fold = a.divides("PE", pe, "NumChannels", ch)
    a.get_str("Func", "cmp_le", choices=("cmp_le", "cmp_ge", "add", "mul"))
    cycles = fold * prod(a.get_ints("numInputVectors", [1]))
    idt, odt = a.get_dtype("inputDataType"), a.get_dtype("outputDataType")
    a.get_dtype("paramDataType")
    control = ModuleEstimate("control", cycles=cycles, ff=pe * (idt.bitwidth() + odt.bitwidth()) + ceil_log2(fold))
    return layer_from_modules(cycles, [control, *_param_memory_hls(a, pe, fold, idt.bitwidth(), cycles)])
