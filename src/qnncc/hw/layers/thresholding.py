"""Thresholding: per-channel multi-thresholding of a stream (FINN ``Thresholding``).

``y[..., c] = #{k : x[..., c] >= T[c, k]} + ActVal`` (``2n - 1`` for a BIPOLAR
output), with ``PE`` channels per cycle: ``NumChannels/PE · ∏numInputVectors``
cycles per frame.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar

import numpy as np
from typing_extensions import override

from qnncc.core.datatype import Kind
from qnncc.custom_op.base import AttrSpec, LoweringContext
from qnncc.hw.layers.descriptor import CODEGEN_HLS, CODEGEN_RTL, TRANSFORMS_HW, LayerDescriptor
from qnncc.hw.perf.estimate import Attrs, LayerEstimate, ModuleEstimate, ceil_log2, layer_from_modules, prod
from qnncc.hw.perf.fitted import terms as fit
from qnncc.hw.perf.memory import BRAM18_BITS, MEM_PRIMITIVES, URAM_BITS, best_primitive
from qnncc.hw.perf.params import param_memory_hls
from qnncc.hw.sim.patterns import read_write_each_program

from .base import ChannelwiseLayer, hw_attributes
from .mvau import MEM_MODES, lower_activation, threshold_activation


class Thresholding(ChannelwiseLayer):
    """Thresholding layer; inputs ``(x [..., C], T [C or 1, numSteps])``."""

    op_type = "Thresholding"
    finn_legacy_names = ("Thresholding_Batch", "Thresholding_Binary_Search")
    finn_impl_styles = ("hls", "rtl")
    attributes: ClassVar[dict[str, AttrSpec]] = hw_attributes(
        NumChannels=AttrSpec("i", required=True),
        PE=AttrSpec("i", default=1),
        numSteps=AttrSpec("i", required=True),
        weightDataType=AttrSpec("s", required=True),
        ActVal=AttrSpec("i", default=0),
        numInputVectors=AttrSpec("ints", default=[1]),
        mem_mode=AttrSpec("s", default="internal_embedded", allowed=MEM_MODES),
        ram_style=AttrSpec("s", default="distributed", allowed=frozenset({"auto", "block", "distributed"})),
        runtime_writeable_weights=AttrSpec("i", default=0, allowed=frozenset({0, 1})),
    )
    num_inputs = (2,)
    num_outputs = (1,)

    @override
    def execute(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        return [threshold_activation(self, np.asarray(inputs[0]), inputs[1])]

    @override
    def lower(self, ctx: LoweringContext) -> None:
        lower_activation(self, ctx, self.node.input[0], len(self.normal_input_shape()), 1)


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
    :func:`param_memory_hls`. ``backend == "qnncc"`` (the HLS thresholding
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
        return layer_from_modules(cycles, [control, *param_memory_hls(a, pe, fold, idt.bitwidth(), cycles)])
    if backend == "qnncc":
        return layer_from_modules(cycles, [control, *_qnncc_hls_thresholds(a, pe, fold, steps, cycles)])
    memory, bram_eff, uram_eff = _threshold_rtl_memory(a, pe, fold)
    return layer_from_modules(cycles, [control, memory], bram_efficiency=bram_eff, uram_efficiency=uram_eff)


def thresholding_fit_features(a: fit.Attrs) -> dict[str, float]:
    """Cost terms of ``qnncc_thresholding`` for the fitted resource model (:mod:`qnncc.hw.perf.fitted`).

    Comparators and a LUT-held threshold memory scale alike in the measured range (one term:
    the fit cannot tell them apart); the memory counts only when it is distributed.
    """
    c, pe, steps = int(a["NumChannels"]), int(a["PE"]), int(a["numSteps"])
    width = pe * steps * (fit.bits(a["inputDataType"]) + 1)
    memory = fit.lutmem(width, c // pe) if fit.distributed(a, "distributed") else 0.0
    return {"const": 1.0, "logic": float(width) + memory}


#: Every facet of the layer (collected by :mod:`qnncc.hw.registry`).
DESCRIPTOR = LayerDescriptor(
    Thresholding,
    lambda a, be, sp, part: estimate_thresholding(a, backend=be),
    read_write_each_program,
    3,  # read, compare with all thresholds and count, write
    (f"{TRANSFORMS_HW}:InferThresholdingLayer",),
    f"{CODEGEN_HLS}.thresholding:thresholding_code",
    "thresholding.hpp",
    aliases=("Threshold",),
    default_backend="rtl",
    rtl=f"{CODEGEN_RTL}.thresholding:thresholding_rtl",
    rtl_core="qnncc_thresholding.v",
    fit_features=thresholding_fit_features,
)
