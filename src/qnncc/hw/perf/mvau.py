"""Cost of the matrix-vector (MVAU) and vector-vector (VVAU) activation units.

LUTs follow the FINN-R model (Blott et al., "FINN-R: An End-to-End
Deep-Learning Framework for Fast Exploration of Quantized Neural Networks",
TRETS 2018) as coded in FINN ``matrixvectoractivation_hls.py`` /
``vectorvectoractivation_hls.py`` ``lut_estimation``::

    LUT = c0 + c1 * PE * (mult + adder_tree + acc + thr + cmp) + c2
    c0 = 300, c1 = 1.1
    mult       = SIMD * (2 * ceil((W + A) / 6) - 1) * (W + A)   (0 if resType == "dsp")
    adder_tree = (W + A) * (2 * SIMD - 1)
    acc        = accumulator bits
    thr, cmp   = threshold LUTRAM and comparators (see below)
    c2         = PE * SIMD * W * ceil(WMEM / 64)               (weights in LUTRAM)

Each term is reported as a module so that the breakdown is visible.
"""

from __future__ import annotations

import math

from qnncc.core.datatype import DataType, Kind
from qnncc.hw.layers.mmv import mmv_conflict

from .estimate import Attrs, LayerEstimate, ModuleEstimate, SparsityHint, ceil_log2, layer_from_modules, prod
from .memory import BRAM18_BITS, URAM_BITS, bram18_finn_r, bram18_hls, lutram_luts, uram_blocks
from .sparse import sparse_window_cycles

__all__ = ["estimate_mvau", "estimate_vvau", "vectors_per_cycle"]

C0_LUT = 300.0  # FINN-R fitted constant overhead (LUTs)
C1_LUT = 1.1  # FINN-R fitted multiplier on the per-PE datapath


def accumulator_bits(a: Attrs, dot_len: int, w_bits: int, idt: DataType, xnor: bool) -> int:
    """Accumulator width in bits.

    ``min(accDataType bits, bound)`` where the bound for a dot product of
    ``dot_len`` terms is ``ceil(alpha + log2(1 + 2**-alpha) + 1)`` with
    ``alpha = log2(dot_len) + W + A - 1 - signed(A)`` (Colbert et al.,
    arXiv:2301.13376, as used by FINN ``lut_estimation``). FINN defaults a
    missing ``accDataType`` to INT32; qnncc does the same. In XNOR-popcount
    mode the accumulator is a popcount, so ``dot_len.bit_length()`` bits
    suffice (exact, and tighter than the bound).
    """
    given = a.get_dtype("accDataType", "INT32").bitwidth()
    alpha = math.log2(dot_len) + w_bits + idt.bitwidth() - 1 - int(idt.signed())
    bound = math.ceil(alpha + math.log2(1 + 2.0**-alpha) + 1)
    bits = min(given, bound)
    if xnor:
        bits = min(bits, dot_len.bit_length())
    return max(1, bits)


def threshold_steps(a: Attrs, odt: DataType) -> int:
    """Thresholds per channel: ``numSteps`` if given, else ``2**B - 1`` (1 for BIPOLAR)."""
    if a.has("numSteps"):
        return a.get_int("numSteps")
    return 1 if odt.kind is Kind.BIPOLAR else 2 ** odt.bitwidth() - 1


def _is_xnor(a: Attrs, idt: DataType, wdt: DataType) -> bool:
    both_bipolar = idt.kind is Kind.BIPOLAR and wdt.kind is Kind.BIPOLAR
    return bool(a.get_int("binaryXnorMode", 0, minimum=0)) or both_bipolar


def _weight_memory(
    a: Attrs, width: int, depth: int, payload_bits: int, *, hls_brams: bool
) -> tuple[ModuleEstimate, float, float]:
    """Weight memory module and its BRAM/URAM efficiency.

    Storage resolution (FINN ``bram_estimation``/``uram_estimation``/``lut_estimation``):
    ``external`` -> no on-chip weights; ``internal_embedded`` -> LUTRAM up to
    128 words, else BRAM (URAM if ``ram_style == "ultra"``; FINN would count
    both); ``internal_decoupled`` -> ``distributed`` LUTRAM, ``ultra`` URAM,
    ``block`` and ``auto`` BRAM (FINN counts ``auto`` as BRAM).
    """
    mem_mode = a.get_str(
        "mem_mode", "internal_decoupled", choices=("internal_embedded", "internal_decoupled", "external")
    )
    ram_style = a.get_str("ram_style", "auto", choices=("auto", "block", "distributed", "ultra"))
    if mem_mode == "external":
        return ModuleEstimate("weight_memory"), 1.0, 1.0
    if mem_mode == "internal_embedded":
        style = "distributed" if depth <= 128 else ("ultra" if ram_style == "ultra" else "block")
    else:
        style = "block" if ram_style == "auto" else ram_style
    if style == "distributed":
        return ModuleEstimate("weight_memory", lut=lutram_luts(width, depth)), 1.0, 1.0
    if style == "ultra":
        n = uram_blocks(width, depth)
        return ModuleEstimate("weight_memory", uram=n), 1.0, payload_bits / (n * URAM_BITS)
    n = bram18_hls(width, depth) if hls_brams else bram18_finn_r(width, depth)
    return ModuleEstimate("weight_memory", bram_18k=n), (payload_bits / (n * BRAM18_BITS) if n else 1.0), 1.0


def vectors_per_cycle(a: Attrs, maxed: dict[str, int], vectors: int, word_bits: tuple[int, int]) -> int:
    """The layer's ``MMV`` (1 if absent), checked by :func:`qnncc.hw.layers.mmv.mmv_conflict`.

    ``word_bits``: the input and output word widths of one vector per word (``MMV = 1``).

    Raises:
        EstimateError: when ``MMV > 1`` and the folding is not maxed, ``MMV`` does not divide
            ``vectors`` or a word exceeds the stream limit.
    """
    mmv = a.get_int("MMV", 1)
    values = {"MMV": mmv, **{k: a.get_int(k, 1) for k in maxed}}
    reason = mmv_conflict(values, maxed, vectors, [mmv * bits for bits in word_bits])
    if reason:
        raise a.error(reason)
    return mmv


def _is_versal(fpga_part: str | None) -> bool:
    """Versal parts (DSP58), as FINN ``is_versal``."""
    p = (fpga_part or "").lower()
    return p[:4] in ("xcvc", "xcve", "xcvp", "xcvm", "xqvc", "xqvm") or p[:5] in ("xqrvc", "xcv80")


def estimate_mvau(
    a: Attrs, *, backend: str = "hls", sparsity: SparsityHint | None = None, fpga_part: str | None = None
) -> LayerEstimate:
    """MVAU (FINN ``MatrixVectorActivation``): ``MH x MW`` matrix times vectors, optional thresholds.

    Cycles: ``(MH/PE) * (MW/SIMD) * prod(numInputVectors) / MMV`` (FINN
    ``matrixvectoractivation.py`` ``get_exp_cycles``; ``MMV``, FINN-hlslib's
    multi-vector unit, replicates the multipliers, adder trees, accumulators
    and threshold comparators ``MMV`` times and shares the weights,
    :mod:`qnncc.hw.layers.mmv`). With a
    :class:`SparsityHint` the ``MW`` inputs are read as ``MW/K`` windows of
    ``K`` elements, each costing :func:`sparse_window_cycles` with ``fine = SIMD``.

    Resources: module docstring (FINN-R LUT model); weight BRAM via
    :func:`bram18_finn_r` on a ``PE*SIMD*W``-bit, ``MW*MH/(PE*SIMD)``-deep
    memory; DSP ``PE*SIMD*ceil((W+A)/48)`` if ``resType == "dsp"`` (FINN
    ``dsp_estimation``). Thresholds (``noActivation == 0``) cost LUTs only
    with ``ram_style_thresholds == "distributed"`` (as FINN; ``numSteps``
    replaces FINN's ``2**B - 1`` when given); with ``"block"`` qnncc adds
    their BRAM, which FINN omits.

    ``backend == "rtl"`` (FINN ``MVAU_rtl``, DSP-based): DSPs
    ``PE * ceil(SIMD/3)`` on Versal (DSP58), else ``ceil(PE/4) * SIMD``
    (FINN ``matrixvectoractivation_rtl.py``); FINN reports 0 LUTs there,
    qnncc keeps the ``c0`` control overhead, LUTRAM weights and thresholds.
    """
    mw, mh = a.get_int("MW"), a.get_int("MH")
    pe, simd = a.get_int("PE"), a.get_int("SIMD")
    nf = a.divides("PE", pe, "MH", mh)
    sf = a.divides("SIMD", simd, "MW", mw)
    vecs = prod(a.get_ints("numInputVectors", [1]))
    idt, wdt, odt = a.get_dtype("inputDataType"), a.get_dtype("weightDataType"), a.get_dtype("outputDataType")
    w_bits, a_bits = wdt.bitwidth(), idt.bitwidth()
    xnor = _is_xnor(a, idt, wdt)
    acc = accumulator_bits(a, mw, w_bits, idt, xnor)
    no_act = bool(a.get_int("noActivation", 0, minimum=0))
    res_type = a.get_str("resType", "auto", choices=("auto", "lut", "dsp"))
    frame_vecs = prod(a.get_ints("numInputVectors", [1])[1:])
    mmv = vectors_per_cycle(a, {"SIMD": mw, "PE": mh}, frame_vecs, (simd * a_bits, pe * odt.bitwidth()))
    if mmv > 1 and backend == "rtl":
        raise a.error(f"MMV={mmv} has no RTL implementation (use the HLS backend)")

    if sparsity is None:
        cycles = nf * sf * vecs // mmv
    else:
        windows = a.divides("SparsityHint.kernel_elems", sparsity.kernel_elems, "MW", mw)
        sparse = sparse_window_cycles(sparsity.histogram, sparsity.kernel_elems, simd)
        cycles = math.ceil(nf * windows * sparse * vecs / mmv)

    wmem = mw * mh // (pe * simd)
    weights, bram_eff, uram_eff = _weight_memory(a, pe * simd * w_bits, wmem, w_bits * mw * mh, hls_brams=False)
    in_w, w_w, out_w = mmv * simd * a_bits, pe * simd * w_bits, mmv * pe * odt.bitwidth()
    control = ModuleEstimate("control", cycles=cycles, lut=C0_LUT, ff=in_w + out_w + w_w + 2 * ceil_log2(nf * sf))
    modules = [control, weights]
    if backend == "rtl":
        dsp = pe * math.ceil(simd / 3) if _is_versal(fpga_part) else math.ceil(pe / 4) * simd
        modules.append(ModuleEstimate("dsp_dot_product", cycles=cycles, ff=pe * acc, dsp=dsp))
    else:
        mult = 0 if res_type == "dsp" else simd * (2 * math.ceil((w_bits + a_bits) / 6) - 1) * (w_bits + a_bits)
        dsp = pe * simd * math.ceil((w_bits + a_bits) / 48) if res_type == "dsp" else 0
        modules += [
            ModuleEstimate("multipliers", cycles=cycles, lut=C1_LUT * mmv * pe * mult, dsp=mmv * dsp),
            ModuleEstimate("adder_tree", cycles=cycles, lut=C1_LUT * mmv * pe * (w_bits + a_bits) * (2 * simd - 1)),
            ModuleEstimate("accumulator", cycles=cycles, lut=C1_LUT * mmv * pe * acc, ff=mmv * pe * acc),
        ]
    if not no_act:
        modules.append(_mvau_thresholds(a, odt, acc, pe, nf, cycles, mmv))
    return layer_from_modules(cycles, modules, bram_efficiency=bram_eff, uram_efficiency=uram_eff)


def _mvau_thresholds(
    a: Attrs, odt: DataType, acc: int, pe: int, tmem: int, cycles: int, mmv: int = 1
) -> ModuleEstimate:
    """Threshold memory and comparators of an MVAU (FINN ``lut_estimation`` thr/comp terms).

    ``MMV > 1`` adds ``MMV - 1`` further comparator sets (``C1 * PE * steps * acc`` LUTs each);
    the thresholds themselves are shared.
    """
    steps = threshold_steps(a, odt)
    style = a.get_str("ram_style_thresholds", "auto", choices=("auto", "block", "distributed"))
    extra = C1_LUT * pe * steps * acc * (mmv - 1)
    if style == "distributed":
        lut = C1_LUT * pe * (steps * acc * math.ceil(tmem / 64) + steps * acc)
        return ModuleEstimate("thresholds", cycles=cycles, lut=lut + extra)
    if style == "block":
        bram = bram18_finn_r(pe * steps * acc, tmem)
        return ModuleEstimate("thresholds", cycles=cycles, lut=extra, bram_18k=bram)
    return ModuleEstimate("thresholds", cycles=cycles, lut=extra)


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
    acc = accumulator_bits(a, k_h * k_w, w_bits, idt, _is_xnor(a, idt, wdt))
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
    ram_style = a.get_str("ram_style", "auto", choices=("auto", "block", "distributed", "ultra"))
    if ram_style == "auto" and wmem <= 128 and a.get_str("mem_mode", "internal_decoupled") == "internal_decoupled":
        a = a.replace(ram_style="distributed")
    payload = w_bits * ch * k_h * k_w
    weights, bram_eff, uram_eff = _weight_memory(a, pe * simd * w_bits, wmem, payload, hls_brams=True)
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
