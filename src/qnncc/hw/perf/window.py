"""Cost of sliding-window and pooling layers: SWG, FMPadding, max/avg/global pooling."""

from __future__ import annotations

import math

from qnncc.custom_op.im2col import conv_output_dim
from qnncc.custom_op.maxpool_nhwc import pool_output_dim
from qnncc.hw.layers.convolutioninputgenerator import swg_buffer_rows, swg_mmv_conflict
from qnncc.hw.layers.mmv import mmv_conflict

from .estimate import Attrs, EstimateError, LayerEstimate, ModuleEstimate, ceil_log2, layer_from_modules, prod
from .memory import MEM_PRIMITIVES, best_primitive, bram18_line_buffer, uram_blocks

__all__ = [
    "estimate_fmpadding",
    "estimate_global_acc_pool",
    "estimate_pool",
    "estimate_streaming_maxpool",
    "estimate_swg",
]

SWG_CONTROL_LUT = 300  # FINN's constant control overhead of a sliding window generator (LUTs)
#: Primitives HLS infers for plain arrays (URAM only on request).
_BRAM_OR_LUTRAM = {k: v for k, v in MEM_PRIMITIVES.items() if not k.startswith("URAM")}


def conv_out_dim(a: Attrs, ifm: int, k: int, stride: int, dilation: int = 1) -> int:
    """Output size of an unpadded convolution window (the ops' own rule, ``conv_output_dim``).

    Raises:
        EstimateError: naming the op if the window does not fit the input.
    """
    try:
        return conv_output_dim(ifm, k, stride, 0, dilation)
    except ValueError as err:
        raise a.error(str(err)) from None


def pool_out_dim(a: Attrs, ifm: int, k: int, stride: int, ceil_mode: bool) -> int:
    """Output size of an unpadded pooling window (the ops' own rule, ``pool_output_dim``).

    Raises:
        EstimateError: naming the op if the window does not fit the input.
    """
    try:
        return pool_output_dim(ifm, k, stride, 0, 0, ceil_mode)
    except ValueError as err:
        raise a.error(str(err)) from None


def _buffer_module(name: str, width: int, depth: int, count: int, ram_style: str, lut_words: int) -> ModuleEstimate:
    """A line buffer of ``count`` memories, ``width`` bits x ``depth`` words, by ``ram_style``.

    ``block``/``auto``: :func:`bram18_line_buffer`; ``distributed``:
    ``width * ceil(depth / lut_words)`` LUTs; ``ultra``: :func:`uram_blocks`.
    """
    if ram_style == "distributed":
        return ModuleEstimate(name, lut=count * width * math.ceil(depth / lut_words))
    if ram_style == "ultra":
        return ModuleEstimate(name, uram=count * uram_blocks(width, depth))
    return ModuleEstimate(name, bram_18k=count * bram18_line_buffer(width, depth))


def swg_line_buffer_rows(span: int, stride: int, height: int) -> int:
    """Rows of qnncc's sliding-window line buffer: ``min(span + stride, height)``.

    ``span`` is the dilated kernel height ``D_h*(K_h-1)+1``; one stride more
    lets the next output row's rows stream in while the current one is
    emitted (``swg.hpp``). The same rule as the HLS generator's
    (:func:`qnncc.hw.layers.convolutioninputgenerator.swg_buffer_rows`).
    """
    return swg_buffer_rows(span, stride, height)


def estimate_swg(a: Attrs, *, backend: str = "hls") -> LayerEstimate:
    """ConvolutionInputGenerator (sliding window generator, SWG).

    ``backend == "hls"`` (FINN ``ConvolutionInputGenerator`` /
    ``convolutioninputgenerator_hls.py``, finn-hlslib ``slidingwindow.h``)::

        cycles = IFM_W * K_h * D_h * (C/SIMD)
                 + OFM_H * max(OFM_W * K_w * K_h * C/SIMD, S_w * IFM_W * C/SIMD)

    and ``K_h + S_h`` line buffers of ``IFM_W * C/SIMD`` words of
    ``SIMD * bits``; LUT = 300 + LUTRAM (64 words/LUT). ``backend ==
    "qnncc"`` (qnncc's ``swg.hpp``, same loop): the line buffer has
    :func:`swg_line_buffer_rows` rows, ``min(span + S_h, IFM_H)``. FINN indexes the
    square-kernel case with ``[0]``; qnncc uses the row-direction values
    (``K_h``, ``S_h``, ``IFM_W``), identical for square windows.

    ``backend == "rtl"`` (FINN ``convolutioninputgenerator_rtl.py``, default
    implementation style): one circular buffer of
    ``((K_h-1)*D_h*IFM_W + (K_w-1)*D_w + 1) * C/SIMD`` words (plus stride
    slack), ``cycles = buffer + OFM_H * max(write, read)`` in 2D and
    ``OFM_W * K_w * C/SIMD + 2`` in 1D (depthwise corrections included);
    ``parallel_window == 1``: ``cycles = input words + 2`` and ``K_h - 1``
    line buffers; LUT = 300 + LUTRAM (38 words/LUT).

    ``parallel_window == 1`` with the HLS backend: qnncc's own parallel window
    generator (:func:`_swg_parallel_hls`).

    Raises:
        EstimateError: for ``parallel_window == 1`` with ``SIMD != IFMChannels``,
            dilation or ``depthwise``.
    """
    k_h, k_w = a.get_ints("ConvKernelDim", length=2)
    ifm_h, ifm_w = a.get_ints("IFMDim", length=2)
    s_h, s_w = a.get_ints("Stride", [1, 1], length=2)
    d_h, d_w = a.get_ints("Dilation", [1, 1], length=2)
    ch, simd = a.get_int("IFMChannels"), a.get_int("SIMD")
    cf = a.divides("SIMD", simd, "IFMChannels", ch)
    if a.has("OFMDim"):
        ofm_h, ofm_w = a.get_ints("OFMDim", length=2)
    else:
        ofm_h, ofm_w = conv_out_dim(a, ifm_h, k_h, s_h, d_h), conv_out_dim(a, ifm_w, k_w, s_w, d_w)
    depthwise = bool(a.get_int("depthwise", 0, minimum=0))
    ram_style = a.get_str("ram_style", "auto", choices=("auto", "block", "distributed", "ultra"))
    width = simd * a.get_dtype("inputDataType").bitwidth()
    out_words = ofm_h * ofm_w * k_h * k_w * cf
    parallel = bool(a.get_int("parallel_window", 0, minimum=0))
    if parallel and (cf != 1 or depthwise or (d_h, d_w) != (1, 1)):
        raise EstimateError(f"{a.op_type}: parallel_window=1 needs SIMD = IFMChannels, no dilation, not depthwise")
    mmv = a.get_int("MMV", 1)
    if mmv > 1:
        values = {"MMV": mmv, "parallel_window": int(parallel), "IFMChannels": ch, "SIMD": simd}
        words = (mmv * width, mmv * k_h * k_w * width)
        reason = swg_mmv_conflict(values, ifm_w, ofm_h * ofm_w, words)
        if reason or backend == "rtl":
            raise EstimateError(f"{a.op_type}: {reason or f'MMV={mmv} has no RTL implementation'}")
    if parallel and backend != "rtl":
        return _swg_parallel_hls((k_h, k_w), (ifm_h, ifm_w), ofm_h * ofm_w, width, ram_style, mmv)
    if backend == "rtl":
        cycles, buffer = _swg_rtl(a, (k_h, k_w), (ifm_h, ifm_w), (ofm_h, ofm_w), (s_h, s_w), (d_h, d_w), cf, depthwise)
        depth, count = buffer
        memory = _buffer_module("line_buffer", width, depth, count, ram_style, lut_words=38)
    else:
        write_block = ofm_w * k_w * k_h * cf
        read_block = s_w * ifm_w * cf
        cycles = ifm_w * k_h * d_h * cf + ofm_h * max(write_block, read_block)
        rows = k_h + s_h if backend != "qnncc" else swg_line_buffer_rows(d_h * (k_h - 1) + 1, s_h, ifm_h)
        memory = _buffer_module("line_buffer", width, ifm_w * cf, rows, ram_style, lut_words=64)
    control = ModuleEstimate("control", cycles=cycles, lut=SWG_CONTROL_LUT, ff=2 * width + 4 * ceil_log2(out_words))
    window = ModuleEstimate("window_output", cycles=out_words)
    return layer_from_modules(cycles, [control, memory, window])


def _swg_parallel_hls(
    k: tuple[int, int], ifm: tuple[int, int], out_pixels: int, width: int, ram_style: str, mmv: int = 1
) -> LayerEstimate:
    """Parallel-window SWG of qnncc (``swg.hpp`` ``swg_parallel``): one input pixel per cycle.

    ``cycles = IFM_H * IFM_W`` (II=1, one iteration per input pixel, a whole
    window written on the cycle that completes it); ``K_h`` line buffers of
    ``IFM_W`` pixels of ``width = C * bits`` bits and a ``K_h x K_w`` window
    register of ``width``-bit FFs (the output word); LUT = 300 control.
    ``MMV > 1`` (``swg_parallel_mmv``): ``IFM_H * IFM_W / MMV`` cycles, line
    buffers of ``IFM_W / MMV`` words of ``MMV * width`` bits, a
    ``K_h x (K_w + MMV - 1)`` window register and a queue of ``2*MMV - 1`` windows.
    """
    (k_h, k_w), (ifm_h, ifm_w) = k, ifm
    cycles = ifm_h * ifm_w // mmv
    memory = _buffer_module("line_buffer", mmv * width, ifm_w // mmv, k_h, ram_style, lut_words=64)
    control = ModuleEstimate("control", cycles=cycles, lut=SWG_CONTROL_LUT, ff=4 * ceil_log2(ifm_h * ifm_w))
    registers = k_h * k_w * width if mmv == 1 else (k_h * (k_w + mmv - 1) + (2 * mmv - 1) * k_h * k_w) * width
    window = ModuleEstimate("window_register", cycles=out_pixels // mmv, ff=registers)
    return layer_from_modules(cycles, [control, memory, window])


def _swg_rtl(
    a: Attrs,
    k: tuple[int, int],
    ifm: tuple[int, int],
    ofm: tuple[int, int],
    stride: tuple[int, int],
    dil: tuple[int, int],
    cf: int,
    depthwise: bool,
) -> tuple[int, tuple[int, int]]:
    """Cycles and ``(buffer depth, buffer count)`` of FINN's RTL SWG."""
    (k_h, k_w), (ifm_h, ifm_w), (ofm_h, ofm_w) = k, ifm, ofm
    (s_h, s_w), (d_h, d_w) = stride, dil
    if a.get_int("parallel_window", 0, minimum=0):
        cycles = ifm_h * ifm_w * cf + 2
        if ifm_h == 1 or ifm_w == 1:
            return cycles, (0, 0)
        kernel_width = (k_w - 1) * d_w + 1
        return cycles, ((ifm_w - kernel_width) + ifm_w * (d_h - 1), k_h - 1)
    min_size = ((k_h - 1) * d_h * ifm_w + (k_w - 1) * d_w + 1) * cf
    depth = min_size + max(0, (s_w - 1 - k_h * k_w) * cf) + max(0, ((s_h - 1) * ifm_w - k_h * k_w) * cf)
    if ifm_h == 1 or ifm_w == 1:  # 1D: normalise to a row [1, W]
        if ifm_w == 1:
            k_w, ofm_w, s_w = k_h, ofm_h, s_h
        cycles = ofm_w * k_w * cf + 2
        if depthwise:
            cycles += cf * (k_w - 1) * (s_w - 1) - (k_w - 1)
        return cycles, (depth, 1)
    longest = max(ofm_w * k_w * k_h * cf, s_w * ifm_w * cf)
    if depthwise:
        longest += ofm_w * (s_w - 1) * (cf - 1)
    cycles = min_size + ofm_h * longest
    if depthwise:
        cycles += (s_h - 1) * ifm_w * cf
    return cycles, (depth, 1)


def estimate_fmpadding(a: Attrs) -> LayerEstimate:
    """FMPadding: zero padding of a feature map.

    Cycles: ``(C/SIMD) * batch * (H + pad_t + pad_b) * (W + pad_l + pad_r)``
    (FINN ``fmpadding.py`` ``get_exp_cycles``; ``numInputVectors`` is the batch).
    FINN has no resource estimate; qnncc's model: one LUT per output bit for
    the zero mux (``SIMD * bits``) plus row/column/channel counters.
    ``MMV > 1`` (``SIMD = C``, qnncc's ``fmpadding_mmv``): ``MMV`` pixels per
    cycle, ``batch * H_out * W_out / MMV`` cycles; the mux is ``MMV`` pixels
    wide and a queue of ``2*MMV - 1`` pixels (FFs and a LUT mux per bit) realigns
    the input words.

    Raises:
        EstimateError: for ``MMV > 1`` with ``SIMD != C``, or not dividing ``H*W`` and ``W_out``.
    """
    img_h, img_w = a.get_ints("ImgDim", length=2)
    pad = a.get_ints("Padding", length=4)
    ch, simd = a.get_int("NumChannels"), a.get_int("SIMD")
    cf = a.divides("SIMD", simd, "NumChannels", ch)
    batch = prod(a.get_ints("numInputVectors", [1]))
    odim_h, odim_w = img_h + pad[0] + pad[2], img_w + pad[1] + pad[3]
    mmv = a.get_int("MMV", 1)
    width = simd * a.get_dtype("inputDataType").bitwidth()
    reason = "" if odim_w % mmv == 0 else f"MMV={mmv} must divide the padded width {odim_w}"
    values = {"MMV": mmv, "SIMD": simd}
    reason = reason or mmv_conflict(values, {"SIMD": ch}, img_h * img_w, (mmv * width, mmv * width))
    if reason:
        raise a.error(reason)
    cycles = cf * batch * odim_h * odim_w // mmv
    counters = ceil_log2(odim_h) + ceil_log2(odim_w) + ceil_log2(cf)
    modules = [
        ModuleEstimate("zero_mux", cycles=cycles, lut=mmv * width, ff=mmv * width),
        ModuleEstimate("control", cycles=cycles, lut=2 * counters, ff=counters),
    ]
    if mmv > 1:
        queue = (2 * mmv - 1) * width
        modules.append(ModuleEstimate("pixel_queue", cycles=cycles, lut=queue, ff=queue))
    return layer_from_modules(cycles, modules)


def estimate_streaming_maxpool(a: Attrs, *, emitted: bool = False) -> LayerEstimate:
    """StreamingMaxPool: non-overlapping max pooling (stride = kernel).

    Cycles (FINN ``streamingmaxpool.py`` ``get_exp_cycles``): 1D (``[1, W]``
    or ``[H, 1]``): ``OFM * (C/PE) * (K + 1)``; 2D: ``IFM_H * IFM_W * (1 +
    1/(K_h*K_w))`` (FINN writes the square case ``IFM_W**2``). FINN has no
    resource estimate; qnncc's model: a comparator and a mux per lane bit
    (lanes = C in 2D, PE in 1D) and a running-max buffer of ``OFM_W`` (2D) or
    ``C/PE`` (1D) words, in the least wasteful BRAM18/LUTRAM primitive.

    ``emitted`` (qnncc's ``pool.hpp``, 1D and 2D alike): one input word of
    ``L`` channels per iteration (``L = PE`` in 1D, ``C`` in 2D as the
    layer's stream), ``IFM_H * IFM_W * C/L`` cycles; ``L`` lanes and a
    buffer of ``OFM_W * C/L`` words (a register when it is one word).
    """
    ifm = list(a.get_ints("ImgDim", length=2))
    k = list(a.get_ints("PoolDim", length=2))
    ch = a.get_int("NumChannels")
    dtype = a.get_dtype("inputDataType") if a.has("inputDataType") else a.get_dtype("dataType")
    ceil_mode = bool(a.get_int("CeilMode", 0, minimum=0))
    if emitted:
        one_d = (ifm[0] == 1 and k[0] == 1) or (ifm[1] == 1 and k[1] == 1)
        lanes = a.get_int("PE", 1) if one_d else ch  # 2D: a word holds every channel (the layer's stream)
        nf = a.divides("PE", lanes, "NumChannels", ch)
        cycles = ifm[0] * ifm[1] * nf
        depth = pool_out_dim(a, ifm[1], k[1], k[1], ceil_mode) * nf
        width = lanes * dtype.bitwidth()
        kind, count, _ = best_primitive(width, depth, _BRAM_OR_LUTRAM) if depth > 1 else ("REG", 0, 0)
        buffer = ModuleEstimate(
            "max_buffer",
            lut=count if kind == "LUTRAM" else 0,
            ff=width if kind == "REG" else 0,
            bram_18k=count if kind == "BRAM18" else 0,
        )
        return layer_from_modules(
            cycles, [ModuleEstimate("comparators", cycles=cycles, lut=2 * width, ff=width), buffer]
        )
    if ifm[1] == 1:
        ifm, k = ifm[::-1], k[::-1]
    if ifm[0] == 1 and k[0] == 1:
        pe = a.get_int("PE", 1)
        nf = a.divides("PE", pe, "NumChannels", ch)
        ofm = pool_out_dim(a, ifm[1], k[1], k[1], ceil_mode)
        cycles, lanes, depth = ofm * nf * (k[1] + 1), pe, nf
    else:
        cycles = int(ifm[0] * ifm[1] * (1 + 1 / (k[0] * k[1])))
        lanes, depth = ch, pool_out_dim(a, ifm[1], k[1], k[1], ceil_mode)
    width = lanes * dtype.bitwidth()
    kind, count, _ = best_primitive(width, depth, _BRAM_OR_LUTRAM)
    buffer = ModuleEstimate(
        "max_buffer", lut=count if kind == "LUTRAM" else 0, bram_18k=count if kind == "BRAM18" else 0
    )
    modules = [ModuleEstimate("comparators", cycles=cycles, lut=2 * width, ff=width), buffer]
    return layer_from_modules(cycles, modules)


def estimate_pool(a: Attrs) -> LayerEstimate:
    """Pool (FINN ``Pool_Batch``): max/average/accumulate over depthwise SWG windows.

    Cycles: ``(Channels * K_h*K_w / PE) * OH * OW * BatchSize`` (FINN
    ``pool.py`` ``get_exp_cycles``). FINN has no resource estimate; qnncc's
    model: per PE lane a comparator and mux (MaxPool, ``2 * bits`` LUTs) or
    an adder (``acc`` LUTs) and an ``acc``-bit register, ``acc = AccumBits``
    or ``in_bits + ceil(log2(K_h*K_w))``.
    """
    ch, pe = a.get_int("Channels"), a.get_int("PE", 1)
    a.divides("PE", pe, "Channels", ch)
    k_prod = prod(a.get_ints("KernelSize"))
    odims = prod(a.get_ints("OutImgDims"))
    batch = a.get_int("BatchSize", 1)
    func = a.get_str("Function", choices=("MaxPool", "AvgPool", "AccPool", "QuantAvgPool"))
    in_name = "inputDataType" if a.has("inputDataType") else "InputDataType"
    in_bits = a.get_dtype(in_name).bitwidth()
    cycles = (ch * k_prod // pe) * odims * batch
    if func == "MaxPool":
        lane_lut, acc = 2 * in_bits, in_bits
    else:
        acc = a.get_int("AccumBits", 0, minimum=0) or in_bits + ceil_log2(k_prod)
        lane_lut = acc
    modules = [
        ModuleEstimate("reduce", cycles=cycles, lut=pe * lane_lut, ff=pe * acc),
        ModuleEstimate("control", cycles=cycles, lut=2 * ceil_log2(k_prod * ch // pe), ff=ceil_log2(k_prod * ch // pe)),
    ]
    return layer_from_modules(cycles, modules)


def estimate_global_acc_pool(a: Attrs, *, emitted: bool = False) -> LayerEstimate:
    """GlobalAccPool: sum over all pixels per channel.

    Cycles: ``prod(numInputVectors) * C/PE + C/PE`` (FINN ``globalaccpool.py``
    ``get_exp_cycles``: read every input word, then emit the sums). FINN has
    no resource estimate; qnncc's model: ``PE`` adders of ``acc`` bits and a
    ``C/PE``-deep, ``PE * acc``-bit accumulator memory (least wasteful
    BRAM18/LUTRAM), ``acc = in_bits + ceil(log2(pixels))``. ``emitted``
    (qnncc's ``pool.hpp``): the sums leave with the last pixel's words, so
    ``prod(numInputVectors) * C/PE`` cycles.
    """
    ch, pe = a.get_int("NumChannels"), a.get_int("PE")
    folds = a.divides("PE", pe, "NumChannels", ch)
    vecs = a.get_ints("numInputVectors", [1])
    cycles = prod(vecs) * folds + (0 if emitted else folds)
    pixels = prod(vecs[1:]) if len(vecs) > 1 else 1
    acc = a.get_dtype("inputDataType").bitwidth() + ceil_log2(pixels)
    kind, count, _ = best_primitive(pe * acc, folds, _BRAM_OR_LUTRAM)
    modules = [
        ModuleEstimate("adders", cycles=cycles, lut=pe * acc, ff=pe * acc),
        ModuleEstimate(
            "accumulator_memory", lut=count if kind == "LUTRAM" else 0, bram_18k=count if kind == "BRAM18" else 0
        ),
    ]
    return layer_from_modules(cycles, modules)
