"""VVAU: the vector-vector-activation unit of depthwise convolutions (FINN ``VVAU``).

Semantics (FINN ``VectorVectorActivation``): the input ``x [N, OH, OW, kh*kw*C]``
holds windows in Im2Col order ``(i, j, c)`` (from a depthwise
:class:`~.convolutioninputgenerator.ConvolutionInputGenerator`), the weights
``W [C, 1, kh, kw]`` are the depthwise convolution's (``Kernel = [kh, kw]``,
``Channels = C``, ``Dim = [OH, OW]``), and

    ``acc[n, oh, ow, c] = sum_{i,j} x[n, oh, ow, (i*kw + j)*C + c] * W[c, 0, i, j]``,

optionally thresholded per channel as in the MVAU (thresholds ``[C, steps]``,
``y = count + ActVal``, or ``2*count - 1`` for a BIPOLAR output). This equals
the block-sparse ``MatMul`` that ``LowerConvsToMatMul`` emits for a depthwise
convolution. Unlike FINN's Python model, BIPOLAR inputs and weights are
multiplied as ±1 values (no XNOR-popcount form).

Folding: ``PE`` channels and ``SIMD`` kernel positions per cycle (``PE``
divides ``C``, ``SIMD`` divides ``kh*kw``); the input word carries
``SIMD*PE`` values, the output word ``PE``; one output pixel takes
``(C/PE)*(kh*kw/SIMD)`` cycles. In hardware the window generator
interleaves channels by PE; the tensor order here is the Im2Col order.
With ``SIMD = kh*kw`` and ``PE = C``, ``MMV`` pixels per cycle (:mod:`.mmv`).

``inputOrder = "pe_interleaved"`` (a qnncc attribute the FINN-ONNX import sets, see
:func:`qnncc.custom_op.finn_names.mark_finn_vvau_input_order`) reads the input the way
FINN's Python model of a VVAU does when no window generator feeds it: the window axis
ordered ``[C/PE, kh*kw, PE]``. Such a VVAU executes like FINN; it has no HLS/RTL code
(qnncc's hardware reads the Im2Col order its own window generator writes).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar

import numpy as np
from typing_extensions import override

from qnncc.core.errors import ExecutionError, UnsupportedOpError
from qnncc.custom_op.base import AttrSpec, LoweringContext, float_type
from qnncc.hw.layers.descriptor import CODEGEN_HLS, CODEGEN_RTL, TRANSFORMS_HW, LayerDescriptor
from qnncc.hw.perf.estimate import (
    EMITTED,
    Attrs,
    LayerEstimate,
    ModuleEstimate,
    SparsityHint,
    ceil_log2,
    layer_from_modules,
    prod,
)
from qnncc.hw.perf.fitted import terms as fit
from qnncc.hw.perf.mac import (
    C0_LUT,
    C1_LUT,
    accumulator_bits,
    external_weight_cycles,
    is_xnor,
    threshold_steps,
    weight_memory,
)
from qnncc.hw.perf.sparse import sparse_window_cycles
from qnncc.hw.sim.patterns import Program, program_from_runs

from ._util import BINARY_FLAG, RAM_STYLES, pair, parse_datatype, positive
from .base import HWLayer, divisors, dsp_options, hw_attributes
from .mmv import mmv_conflict, mmv_options, vectors_per_cycle
from .mvau import MEM_MODES, lower_activation, threshold_activation

#: ``inputOrder`` values: windows in Im2Col order ``(i, j, c)``, or FINN's ``[C/PE, kh*kw, PE]``.
IM2COL, PE_INTERLEAVED = "im2col", "pe_interleaved"


#: Why a VVAU reading FINN's PE-interleaved order has no generated hardware.
INTERLEAVED_NO_HW = (
    "inputOrder='pe_interleaved' (FINN's order of a VVAU fed by no window generator) has no hardware: "
    "qnncc's VVAU reads the Im2Col order of its window generator"
)


class VVAU(HWLayer):
    """Depthwise MAC; inputs ``(x [N, OH, OW, kh*kw*C], W [C, 1, kh, kw], [T [C, steps]])``."""

    op_type = "VVAU"
    finn_legacy_names = ("VectorVectorActivation", "Vector_Vector_Activate_Batch")
    finn_impl_styles = ("hls", "rtl")
    folding_attrs = ("PE", "SIMD")
    attributes: ClassVar[dict[str, AttrSpec]] = hw_attributes(
        PE=AttrSpec("i", default=1),
        SIMD=AttrSpec("i", default=1),
        Dim=AttrSpec("ints", required=True),
        Channels=AttrSpec("i", required=True),
        Kernel=AttrSpec("ints", required=True),
        resType=AttrSpec("s", default="auto", allowed=frozenset({"auto", "lut", "dsp"})),
        ActVal=AttrSpec("i", default=0),
        weightDataType=AttrSpec("s", required=True),
        accDataType=AttrSpec("s", default="INT32"),
        noActivation=AttrSpec("i", default=0, allowed=BINARY_FLAG),
        mem_mode=AttrSpec("s", default="internal_decoupled", allowed=MEM_MODES),
        ram_style=AttrSpec("s", default="auto", allowed=RAM_STYLES),
        runtime_writeable_weights=AttrSpec("i", default=0, allowed=BINARY_FLAG),
        inputOrder=AttrSpec("s", default=IM2COL, allowed=frozenset({IM2COL, PE_INTERLEAVED})),
        MMV=AttrSpec("i", default=1),
    )
    num_inputs = (2, 3)
    num_outputs = (1,)

    @property
    def has_thresholds(self) -> bool:
        """Whether the layer thresholds its accumulators (``noActivation == 0``)."""
        return not self.attrs["noActivation"]

    def interleaved_input(self) -> bool:
        """Whether the input is in FINN's PE-interleaved window order (``inputOrder``, with ``PE < Channels``)."""
        return self.attrs["inputOrder"] == PE_INTERLEAVED and int(self.attrs["PE"]) < int(self.attrs["Channels"])

    def kernel_size(self) -> int:
        """``kh * kw``."""
        kh, kw = pair(self, "Kernel")
        return kh * kw

    @override
    def validate(self) -> None:
        positive(self, "Channels")
        pair(self, "Dim")
        self.kernel_size()
        for name in ("inputDataType", "weightDataType", "outputDataType", "accDataType"):
            parse_datatype(self, name)
        if len(self.node.input) != (3 if self.has_thresholds else 2):
            raise UnsupportedOpError(
                f"{self.describe()}: noActivation={self.attrs['noActivation']} needs "
                f"{2 if self.attrs['noActivation'] else 3} inputs, got {len(self.node.input)}"
            )
        super().validate()
        maxed = {"SIMD": self.kernel_size(), "PE": int(self.attrs["Channels"])}
        reason = mmv_conflict(self.attrs, maxed, self.pixels(), (self.instream_width(), self.outstream_width()))
        if reason:
            raise UnsupportedOpError(f"{self.describe()}: {reason}")

    @property
    def mmv(self) -> int:
        """Pixels per cycle (``MMV``, :mod:`.mmv`)."""
        return int(self.attrs["MMV"])

    def pixels(self) -> int:
        """Output pixels per frame, ``OH * OW``."""
        oh, ow = pair(self, "Dim")
        return oh * ow

    @override
    def legal_folding(self) -> dict[str, list[int]]:
        """PE divides Channels, SIMD divides ``kh*kw``; an input in FINN's PE-interleaved order fixes PE (its order)."""
        pe = divisors(int(self.attrs["Channels"]))
        if self.attrs["inputOrder"] == PE_INTERLEAVED and self.attrs["PE"] in pe:
            pe = [int(self.attrs["PE"])]
        return {"PE": pe, "SIMD": divisors(self.kernel_size())}

    @override
    def throughput_options(self) -> dict[str, list[int | str]]:
        """``resType`` lut or dsp for wide multipliers (:func:`.base.dsp_options`), and ``MMV``."""
        weights = parse_datatype(self, "weightDataType").bitwidth()
        options = dsp_options(weights, parse_datatype(self, "inputDataType").bitwidth())
        mmv = mmv_options(self.pixels())
        return {**options, "MMV": list(mmv)} if len(mmv) > 1 else options

    @override
    def normal_input_shape(self, index: int = 0) -> tuple[int, ...]:
        return (1, *pair(self, "Dim"), self.kernel_size() * int(self.attrs["Channels"]))

    @override
    def normal_output_shape(self, index: int = 0) -> tuple[int, ...]:
        return (1, *pair(self, "Dim"), int(self.attrs["Channels"]))

    @override
    def input_elems_per_word(self, index: int = 0) -> int:
        return int(self.attrs["SIMD"]) * int(self.attrs["PE"]) * self.mmv

    @override
    def output_elems_per_word(self, index: int = 0) -> int:
        return int(self.attrs["PE"]) * self.mmv

    def _kernel_by_channel(self, w: np.ndarray) -> np.ndarray:
        """Weights ``[C, 1, kh, kw]`` as ``[kh*kw, C]`` (row ``i*kw + j``)."""
        channels, k = int(self.attrs["Channels"]), self.kernel_size()
        if w.size != channels * k:
            shape = list(w.shape)
            raise ExecutionError(f"{self.describe()}: weights of shape {shape}, expected [{channels}, 1, kh, kw]")
        return np.ascontiguousarray(w.reshape(channels, k).T)

    @override
    def execute(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        ft = float_type(*inputs)
        x = np.asarray(inputs[0], ft)
        channels, k = int(self.attrs["Channels"]), self.kernel_size()
        if x.ndim != 4 or x.shape[-1] != k * channels:
            shape = list(x.shape)
            raise ExecutionError(f"{self.describe()}: input of shape {shape}, expected [N, OH, OW, {k}*{channels}]")
        w = self._kernel_by_channel(np.asarray(inputs[1], np.float64))
        lead = x.shape[:-1]
        if self.interleaved_input():  # [C/PE, k, PE] -> [k, C/PE, PE]
            pe = int(self.attrs["PE"])
            x = x.reshape(*lead, channels // pe, k, pe).swapaxes(-2, -3)
        windows = x.astype(np.float64).reshape(*lead, k, channels)
        acc = np.sum(windows * w, axis=-2).astype(ft)
        if not self.has_thresholds:
            return [acc]
        return [threshold_activation(self, acc, inputs[2])]

    @override
    def lower(self, ctx: LoweringContext) -> None:
        """``Reshape`` to ``[N, OH, OW, kh*kw, C]``, ``Mul`` by the ``[kh*kw, C]`` weights, ``ReduceSum``.

        Float32 sums, equal to :meth:`execute` for integer values whose partial
        sums stay below ``2**24`` in magnitude; beyond, the executors run the
        whole model in float64 (:mod:`qnncc.execution.precision`).
        """
        channels, k = int(self.attrs["Channels"]), self.kernel_size()
        oh, ow = pair(self, "Dim")
        w = self._kernel_by_channel(ctx.require_const(self, 1, "weights"))
        x = self.node.input[0]
        if self.interleaved_input():
            pe = int(self.attrs["PE"])
            split = ctx.op("Reshape", [x, ctx.const([-1, oh, ow, channels // pe, k, pe], np.int64, "shape")])
            x = ctx.op("Transpose", [split], perm=[0, 1, 2, 4, 3, 5])
        windows = ctx.op("Reshape", [x, ctx.const([-1, oh, ow, k, channels], np.int64, "shape")])
        products = ctx.op("Mul", [windows, ctx.const(w, hint="weights")])
        acc = self.node.output[0] if not self.has_thresholds else ctx.fresh("acc")
        ctx.reduce_sum(products, 3, acc)
        if self.has_thresholds:
            lower_activation(self, ctx, acc, 4, 2)


def vvau_program(layer: HWLayer, lat: int) -> Program:
    """VVAU: window reads and per-channel-fold writes in ``vvau.hpp``'s loop order.

    ``MMV > 1`` (``vvau_mmv``): one word of MMV windows read and one of MMV results written per iteration.
    """
    channels, pe, simd = (int(layer.attrs[a]) for a in ("Channels", "PE", "SIMD"))
    kh, kw = (int(k) for k in layer.attrs["Kernel"])
    oh, ow = (int(d) for d in layer.attrs["Dim"])
    pixels = oh * ow
    mmv = int(layer.attrs.get("MMV", 1))
    if mmv > 1:
        return program_from_runs([(1, 1, pixels // mmv)], 1, 1, lat)
    in_words, out_words = kh * kw * channels // (simd * pe), channels // pe
    runs: list[tuple[int, int, int]] = []
    rd_pix = word = dr_pix = dr_word = 0
    while dr_pix < pixels:  # vvau.hpp, in chunks between pixel events
        can_drain = dr_pix < rd_pix
        can_read = rd_pix < pixels and rd_pix < dr_pix + 2
        k = min(out_words - dr_word if can_drain else out_words, in_words - word if can_read else in_words)
        runs.append((int(can_read), int(can_drain), k))
        if can_drain:
            dr_word += k
            if dr_word == out_words:
                dr_word, dr_pix = 0, dr_pix + 1
        if can_read:
            word += k
            if word == in_words:
                word, rd_pix = 0, rd_pix + 1
    return program_from_runs(runs, 1, 1, lat)


def estimate_vvau(a: Attrs, *, sparsity: SparsityHint | None = None, emitted: bool = False) -> LayerEstimate:
    """VVAU (FINN ``VectorVectorActivation``): depthwise dot products of ``K_h*K_w`` terms.

    Cycles: ``(Channels * K_h * K_w) / PE / SIMD * H * W`` (FINN
    ``vectorvectoractivation.py`` ``get_exp_cycles``); ``Dim`` gives ``[H, W]``,
    else ``prod(numInputVectors)`` pixels. With a :class:`SparsityHint`,
    each window costs :func:`sparse_window_cycles` with ``fine = SIMD``.
    ``emitted`` (qnncc's ``vvau.hpp``): the last pixel's ``Channels/PE``
    results drain after its last word, ``Channels/PE`` cycles more per frame.
    ``MMV > 1`` (``SIMD = K_h*K_w``, ``PE = Channels``; qnncc's ``vvau_mmv``
    reads and writes one word per cycle): ``H * W / MMV`` cycles, datapath
    (multipliers, adder trees, accumulators, comparators) ``MMV`` times.

    Resources: FINN-R LUT model (module docstring) with ``acc`` bounded for
    ``K_h*K_w`` terms and threshold LUTs ``(2**B-1)*acc*TMEM/64`` plus
    comparators ``(2**B-1)*acc`` whenever ``noActivation == 0`` (FINN
    ``vectorvectoractivation_hls.py``); weight BRAM via :func:`bram18_hls`
    (FINN ``vectorvectoractivation.py``). Deliberate differences: with
    ``ram_style == "auto"`` and at most 128 weight words FINN counts neither
    BRAM nor LUTRAM; qnncc counts them as LUTRAM (where Vivado puts them).
    DSPs with ``resType == "dsp"`` are ``PE * SIMD * ceil((W+A)/48)``:
    ``PE*SIMD`` products per cycle need that many multipliers (FINN omits SIMD).
    """
    ch, pe, simd = a.get_int("Channels"), a.get_int("PE"), a.get_int("SIMD", 1)
    k_h, k_w = a.get_ints("Kernel", length=2)
    pixels = prod(a.get_ints("Dim", length=2)) if a.has("Dim") else prod(a.get_ints("numInputVectors", [1]))
    nf = a.divides("PE", pe, "Channels", ch)
    sf = a.divides("SIMD", simd, "Kernel (K_h*K_w)", k_h * k_w)
    idt, wdt, odt = a.get_dtype("inputDataType"), a.get_dtype("weightDataType"), a.get_dtype("outputDataType")
    w_bits, a_bits = wdt.bitwidth(), idt.bitwidth()
    acc = accumulator_bits(a, k_h * k_w, w_bits, idt, is_xnor(a, idt, wdt))
    res_type = a.get_str("resType", "auto", choices=("auto", "lut", "dsp"))
    words = (pe * simd * a_bits, pe * odt.bitwidth())
    mmv = vectors_per_cycle(a, {"SIMD": k_h * k_w, "PE": ch}, pixels, words)

    if sparsity is None:
        cycles = nf * sf * pixels // mmv + (nf if emitted and mmv == 1 else 0)
    else:
        if sparsity.kernel_elems != k_h * k_w:
            raise a.error(f"SparsityHint.kernel_elems={sparsity.kernel_elems} but Kernel is {k_h}x{k_w}")
        cycles = math.ceil(nf * sparse_window_cycles(sparsity.histogram, k_h * k_w, simd) * pixels / mmv)

    wmem = nf * sf
    if a.get_str("mem_mode", "internal_decoupled") == "external":  # the window's weights once per pixel, by DMA
        if mmv > 1 or sparsity is not None:
            raise a.error("mem_mode='external' needs MMV=1 and no SparsityHint (weights read from the stream)")
        cycles = max(cycles, external_weight_cycles(pixels * wmem, pe * simd * w_bits))
    ram_style = a.get_str("ram_style", "auto", choices=("auto", "block", "distributed", "ultra"))
    if ram_style == "auto" and wmem <= 128 and a.get_str("mem_mode", "internal_decoupled") == "internal_decoupled":
        a = a.replace(ram_style="distributed")
    payload = w_bits * ch * k_h * k_w
    weights, bram_eff, uram_eff = weight_memory(a, pe * simd * w_bits, wmem, payload, hls_brams=True)
    mult = 0 if res_type == "dsp" else simd * (2 * math.ceil((w_bits + a_bits) / 6) - 1) * (w_bits + a_bits)
    dsp = pe * simd * math.ceil((w_bits + a_bits) / 48) if res_type == "dsp" else 0
    in_w, out_w = mmv * pe * simd * a_bits, mmv * pe * odt.bitwidth()
    lanes = mmv * pe  # replicated datapaths
    modules = [
        ModuleEstimate(
            "control", cycles=cycles, lut=C0_LUT, ff=in_w + out_w + pe * simd * w_bits + 2 * ceil_log2(wmem)
        ),
        weights,
        ModuleEstimate("multipliers", cycles=cycles, lut=C1_LUT * lanes * mult, dsp=mmv * dsp),
        ModuleEstimate("adder_tree", cycles=cycles, lut=C1_LUT * lanes * (w_bits + a_bits) * (2 * simd - 1)),
        ModuleEstimate("accumulator", cycles=cycles, lut=C1_LUT * lanes * acc, ff=lanes * acc),
    ]
    if not a.get_int("noActivation", 0, minimum=0):
        steps = threshold_steps(a, odt)
        thr = C1_LUT * pe * (steps * acc * nf / 64 + mmv * steps * acc)
        modules.append(ModuleEstimate("thresholds", cycles=cycles, lut=thr))
    return layer_from_modules(cycles, modules, bram_efficiency=bram_eff, uram_efficiency=uram_eff)


def vvau_fit_features(a: fit.Attrs) -> dict[str, float]:
    """Cost terms of ``qnncc_vvau`` for the fitted resource model (:mod:`qnncc.hw.perf.fitted`).

    ``SIMD*PE`` products (LUT bits unless Yosys maps them to DSP48s) and adders into the
    accumulator ring, the drain of the ping-pong result buffer (a ``2*C/PE``-way mux per output
    bit), the threshold comparators and the LUT-held weight/threshold memories.
    """
    c, pe, simd = int(a["Channels"]), int(a["PE"]), int(a["SIMD"])
    k = math.prod(int(v) for v in a["Kernel"])
    ib, wb = fit.bits(a["inputDataType"]), fit.bits(a["weightDataType"])
    acc = fit.acc_bits(k, a["inputDataType"], a["weightDataType"], False)
    steps = fit.threshold_steps(a)
    lanes = pe * simd
    tmem = fit.lutmem(pe * steps * (acc + 1), c // pe) if steps else 0.0
    return {
        "const": 1.0,
        "mul_lut": 0.0 if fit.dsp_product(ib, wb) else float(lanes * (ib + 1) * (wb + 1)),
        "add": float(lanes * acc),
        "drain": float(2 * c * acc),
        "compare": float(pe * steps * acc),
        "mem_lut": (fit.lutmem(lanes * wb, k * c // lanes) if fit.distributed(a) else 0.0) + tmem,
    }


#: Every facet of the layer (collected by :mod:`qnncc.hw.registry`).
DESCRIPTOR = LayerDescriptor(
    VVAU,
    lambda a, be, sp, part: estimate_vvau(a, sparsity=sp, emitted=be == EMITTED),
    vvau_program,
    5,
    (f"{TRANSFORMS_HW}:InferVectorVectorActivation",),
    f"{CODEGEN_HLS}.vectorvectoractivation:vvau_code",
    "vvau.hpp",
    aliases=("VectorVectorActivation",),
    sparse=True,
    rtl=f"{CODEGEN_RTL}.vectorvectoractivation:vvau_rtl",
    rtl_core="qnncc_vvau.v",
    fit_features=vvau_fit_features,
)
