"""MVAU: the matrix-vector-activation unit (FINN ``MatrixVectorActivation``).

Computes ``acc = x @ W`` for each of the ``numInputVectors`` input vectors
``x [MW]`` with weights ``W [MW, MH]``, then optionally thresholds ``acc``
per output channel. Folding: ``SIMD`` input elements and ``PE`` output
channels per cycle, so one frame takes ``(MH/PE)·(MW/SIMD)·∏numInputVectors``
cycles (Umuroglu et al., "FINN", FPGA 2017). With ``SIMD = MW`` and
``PE = MH``, ``MMV`` vectors per cycle (:mod:`.mmv`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar

import numpy as np
from onnx import helper
from typing_extensions import override

from qnncc.core.datatype import DataType
from qnncc.core.errors import ExecutionError, UnsupportedOpError
from qnncc.custom_op.base import AttrSpec, LoweringContext, float_type
from qnncc.custom_op.multithreshold import MultiThreshold, multithreshold
from qnncc.custom_op.xnorpopcount import XnorPopcountMatMul, xnor_popcount_matmul
from qnncc.hw.layers.descriptor import CODEGEN_HLS, CODEGEN_RTL, TRANSFORMS_HW, LayerDescriptor
from qnncc.hw.perf.estimate import (
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
    threshold_memory,
    weight_memory,
)
from qnncc.hw.perf.sparse import sparse_window_cycles
from qnncc.hw.sim.patterns import Program, frame_vectors, program_from_runs

from .base import HWLayer, divisors, dsp_options, hw_attributes, vectors
from .mmv import mmv_conflict, mmv_options, vectors_per_cycle

MEM_MODES = frozenset({"internal_embedded", "internal_decoupled", "external"})
RAM_STYLES = frozenset({"auto", "block", "distributed", "ultra"})


def activation_out(counts: np.ndarray, bipolar: bool, act_val: int) -> np.ndarray:
    """Thresholding output from threshold counts: ``2n-1`` for BIPOLAR, else ``n + ActVal``."""
    return (2 * counts - 1) if bipolar else (counts + act_val)


def threshold_activation(layer: HWLayer, acc: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """The layer's thresholding of ``acc`` (channels last) with ``thresholds [C or 1, steps]``.

    Compared in float64 if either is float64 (:func:`float_type`), else float32.

    Shared by the MVAU, VVAU and Thresholding layers: counts from
    :func:`multithreshold`, then :func:`activation_out` with the layer's
    output datatype and ``ActVal``.
    """
    ft = float_type(acc, thresholds)
    counts = multithreshold(np.asarray(acc, ft), np.asarray(thresholds, ft), axis=acc.ndim - 1)
    bipolar = layer.output_datatype().name == "BIPOLAR"
    return activation_out(counts, bipolar, int(layer.attrs["ActVal"])).astype(ft)


def lower_activation(layer: HWLayer, ctx: LoweringContext, acc: str, rank: int, thr_index: int) -> None:
    """Emit the thresholding of ``acc`` (channels last) into the layer's output, via MultiThreshold's lowering."""
    bipolar = layer.output_datatype().name == "BIPOLAR"
    scale, bias = (2.0, -1.0) if bipolar else (1.0, float(layer.attrs.get("ActVal", 0)))
    layout = "N" + "H" * (rank - 2) + "C"
    mt = helper.make_node(
        "MultiThreshold",
        [acc, layer.node.input[thr_index]],
        [layer.node.output[0]],
        domain="qnncc",
        out_dtype=layer.output_datatype().name,
        out_scale=scale,
        out_bias=bias,
        data_layout=layout,
    )
    ctx.ranks[acc] = rank
    MultiThreshold(mt).lower(ctx)


class MVAU(HWLayer):
    """Matrix-vector-activation unit; inputs ``(x, W [MW, MH], [T [MH, steps]])``."""

    op_type = "MVAU"
    finn_legacy_names = ("MatrixVectorActivation", "StreamingFCLayer_Batch")
    finn_impl_styles = ("hls", "rtl")
    folding_attrs = ("PE", "SIMD")
    attributes: ClassVar[dict[str, AttrSpec]] = hw_attributes(
        MW=AttrSpec("i", required=True),
        MH=AttrSpec("i", required=True),
        PE=AttrSpec("i", default=1),
        SIMD=AttrSpec("i", default=1),
        weightDataType=AttrSpec("s", required=True),
        accDataType=AttrSpec("s", default="INT32"),
        ActVal=AttrSpec("i", default=0),
        binaryXnorMode=AttrSpec("i", default=0, allowed=frozenset({0, 1})),
        noActivation=AttrSpec("i", default=0, allowed=frozenset({0, 1})),
        numInputVectors=AttrSpec("ints", default=[1]),
        mem_mode=AttrSpec("s", default="internal_decoupled", allowed=MEM_MODES),
        ram_style=AttrSpec("s", default="auto", allowed=RAM_STYLES),
        ram_style_thresholds=AttrSpec("s", default="auto", allowed=frozenset({"auto", "block", "distributed"})),
        resType=AttrSpec("s", default="auto", allowed=frozenset({"auto", "lut", "dsp"})),
        runtime_writeable_weights=AttrSpec("i", default=0, allowed=frozenset({0, 1})),
        MMV=AttrSpec("i", default=1),
        # of the MH outputs, the last padOutputs are constant channels added by PadChannels
        padOutputs=AttrSpec("i", default=0),
    )
    num_inputs = (2, 3)
    num_outputs = (1,)

    @override
    def legal_folding(self) -> dict[str, list[int]]:
        return {"SIMD": divisors(int(self.attrs["MW"])), "PE": divisors(int(self.attrs["MH"]))}

    @property
    def mmv(self) -> int:
        """Vectors per cycle (``MMV``, :mod:`.mmv`)."""
        return int(self.attrs["MMV"])

    def frame_vectors(self) -> int:
        """Vectors per frame (``numInputVectors`` without the batch)."""
        return int(np.prod(vectors(self.attrs)[1:]))

    @override
    def validate(self) -> None:
        """Folding as :meth:`HWLayer.validate`, and ``MMV`` (:func:`.mmv.mmv_conflict`).

        Raises:
            UnsupportedOpError: naming the node and the attribute.
        """
        super().validate()
        mw, mh = int(self.attrs["MW"]), int(self.attrs["MH"])
        widths = (self.instream_width(), self.outstream_width())
        reason = mmv_conflict(self.attrs, {"SIMD": mw, "PE": mh}, self.frame_vectors(), widths)
        if reason:
            raise UnsupportedOpError(f"{self.describe()}: {reason}")

    @override
    def throughput_options(self) -> dict[str, list[int | str]]:
        """``resType`` lut or dsp for wide multipliers (:func:`.base.dsp_options`; XNOR stays in LUTs), and ``MMV``."""
        mmv = mmv_options(self.frame_vectors())
        options: dict[str, list[int | str]] = {"MMV": list(mmv)} if len(mmv) > 1 else {}
        if self.attrs["binaryXnorMode"]:
            return options
        weights = DataType.from_name(self.attrs["weightDataType"]).bitwidth()
        return {**dsp_options(weights, self.input_datatype().bitwidth()), **options}

    @override
    def normal_input_shape(self, index: int = 0) -> tuple[int, ...]:
        return (*vectors(self.attrs), int(self.attrs["MW"]))

    @override
    def normal_output_shape(self, index: int = 0) -> tuple[int, ...]:
        return (*vectors(self.attrs), int(self.attrs["MH"]))

    @override
    def input_elems_per_word(self, index: int = 0) -> int:
        return int(self.attrs["SIMD"]) * self.mmv

    @override
    def output_elems_per_word(self, index: int = 0) -> int:
        return int(self.attrs["PE"]) * self.mmv

    @property
    def has_thresholds(self) -> bool:
        """Whether the layer thresholds its accumulators (``noActivation == 0``)."""
        return not self.attrs["noActivation"]

    @override
    def execute(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        ft = float_type(*inputs)
        x, w = self._stream_input(np.asarray(inputs[0], ft)), np.asarray(inputs[1], ft)
        if self.attrs["binaryXnorMode"]:
            acc = xnor_popcount_matmul(x, w)
        else:
            acc = np.matmul(x.astype(np.float64), w.astype(np.float64)).astype(ft)
        if not self.has_thresholds:
            return [acc]
        return [threshold_activation(self, acc, inputs[2])]

    def _stream_input(self, x: np.ndarray) -> np.ndarray:
        """``x`` as ``[N, *numInputVectors[1:], MW]`` when its last axis is not ``MW``.

        A HW layer reads a stream, so FINN feeds it tensors of any shape with
        the right number of elements: after ``RemoveCNVtoFCFlatten`` the first
        FC layer reads the last conv layer's ``[N, H, W, C]`` output directly.

        Raises:
            ExecutionError: if the element count does not fit.
        """
        normal = self.normal_input_shape()
        if x.shape[-1] == normal[-1]:
            return x
        per_image = int(np.prod(normal[1:]))
        if x.ndim == 0 or x.size % per_image or x.size // per_image != x.shape[0]:
            raise ExecutionError(f"{self.describe()}: input of shape {list(x.shape)} does not stream as {list(normal)}")
        return x.reshape(-1, *normal[1:])

    @override
    def lower(self, ctx: LoweringContext) -> None:
        x, w = self.node.input[0], self.node.input[1]
        normal = self.normal_input_shape()
        if ctx.ranks.get(x, len(normal)) != len(normal):  # see _stream_input
            x = ctx.op("Reshape", [x, ctx.const([-1, *normal[1:]], np.int64, "shape")])
        out = self.node.output[0] if not self.has_thresholds else ctx.fresh("acc")
        if self.attrs["binaryXnorMode"]:
            XnorPopcountMatMul(helper.make_node("XnorPopcountMatMul", [x, w], [out], domain="qnncc")).lower(ctx)
        else:
            ctx.op("MatMul", [x, w], out)
        if self.has_thresholds:
            lower_activation(self, ctx, out, len(self.normal_input_shape()), 2)


def mvau_program(layer: HWLayer, lat: int) -> Program:
    """MVAU: NF x SF iterations per vector; reads in the first neuron fold, a write closing each fold.

    ``MMV > 1`` (``mvau_mmv``, NF = SF = 1): one word of MMV vectors read and one written per iteration.
    """
    sf = int(layer.attrs["MW"]) // int(layer.attrs["SIMD"])
    nf = int(layer.attrs["MH"]) // int(layer.attrs["PE"])
    # one vector: nf == 0 reads every iteration; every synapse fold ends with a write
    runs = [(1, 0, sf - 1), (1, 1, 1)] + [(0, 0, sf - 1), (0, 1, 1)] * (nf - 1)
    return program_from_runs(runs, 1, 1, lat, frame_vectors(layer) // int(layer.attrs.get("MMV", 1)))


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

    ``mem_mode == "external"``: no weight memory on chip, and the frame takes
    at least the cycles its weight stream needs through the shell's DMA
    (:func:`~qnncc.hw.perf.mac.external_weight_cycles`).

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
    xnor = is_xnor(a, idt, wdt)
    acc = accumulator_bits(a, mw, w_bits, idt, xnor)
    no_act = bool(a.get_int("noActivation", 0, minimum=0))
    res_type = a.get_str("resType", "auto", choices=("auto", "lut", "dsp"))
    frame_vecs = prod(a.get_ints("numInputVectors", [1])[1:])
    mmv = vectors_per_cycle(a, {"SIMD": mw, "PE": mh}, frame_vecs, (simd * a_bits, pe * odt.bitwidth()))
    if mmv > 1 and backend == "rtl":
        raise a.error(f"MMV={mmv} has no RTL implementation (use the HLS backend)")

    if sparsity is None:
        cycles = nf * sf * vecs // mmv
    elif a.get_str("mem_mode", "internal_decoupled") == "external":
        raise a.error("a SparsityHint (skipped zero windows) needs on-chip weights, not mem_mode='external'")
    else:
        windows = a.divides("SparsityHint.kernel_elems", sparsity.kernel_elems, "MW", mw)
        sparse = sparse_window_cycles(sparsity.histogram, sparsity.kernel_elems, simd)
        cycles = math.ceil(nf * windows * sparse * vecs / mmv)

    wmem = mw * mh // (pe * simd)
    if a.get_str("mem_mode", "internal_decoupled") == "external":
        if mmv > 1:
            raise a.error(f"MMV={mmv} reads its weights from on-chip memory; mem_mode='external' needs MMV=1")
        cycles = max(cycles, external_weight_cycles(vecs * wmem, pe * simd * w_bits))
    weights, bram_eff, uram_eff = weight_memory(a, pe * simd * w_bits, wmem, w_bits * mw * mh, hls_brams=False)
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
        modules.append(threshold_memory(a, odt, acc, pe, nf, cycles, mmv))
    return layer_from_modules(cycles, modules, bram_efficiency=bram_eff, uram_efficiency=uram_eff)


def lut_thresholds(a: fit.Attrs, words: int) -> bool:
    """Whether an MVAU's threshold ROM (``words`` deep) costs LUTs of its own in ``qnncc_mvau``.

    Not in block RAM (``ram_style_thresholds``), and deeper than 4 words: Yosys
    folds a ROM of 1-4 words into the comparators (measured: those layers are no
    cheaper with block-RAM thresholds).
    """
    return not a.get("noActivation", 0) and a.get("ram_style_thresholds") != "block" and words > 4


def mvau_fit_features(a: fit.Attrs) -> dict[str, float]:
    """Cost terms of ``qnncc_mvau`` for the fitted resource model (:mod:`qnncc.hw.perf.fitted`).

    ``PE*SIMD`` XNOR lanes (or ``PE*SIMD*IN_BITS*W_BITS`` multiplier bits),
    ``PE*SIMD*log2(SIMD)`` adder-tree bits, ``PE*ACC_W`` accumulator bits,
    ``PE*STEPS*ACC_W`` comparator bits, LUT-held weight/threshold memories and the input buffer.
    """
    mw, mh, pe, simd = int(a["MW"]), int(a["MH"]), int(a["PE"]), int(a["SIMD"])
    xnor = bool(a.get("binaryXnorMode", 0))
    ib, wb = fit.bits(a["inputDataType"]), fit.bits(a["weightDataType"])
    acc = fit.acc_bits(mw, a["inputDataType"], a["weightDataType"], xnor)
    steps = fit.threshold_steps(a)
    sf, nf = mw // simd, mh // pe
    return {
        "const": 1.0,
        "lanes": float(pe * simd * (1 if xnor else ib * wb)),
        "lane_sum": float(pe * simd * (1 if xnor else ib + wb)),
        "tree": float(pe * simd * fit.clog2(simd)),
        "acc": float(pe * acc),
        "compare": float(pe * steps * acc),
        "wmem_lut": fit.lutmem(pe * simd * wb, sf * nf) if fit.distributed(a) else 0.0,
        "tmem_lut": fit.lutmem(pe * steps * (acc + 1), nf) if steps and lut_thresholds(a, nf) else 0.0,
        "inbuf": fit.lutmem(simd * ib, sf) if nf > 1 else 0.0,
        "out": float(pe * fit.bits(a["outputDataType"])),
    }


def mvau_fit_variant(a: fit.Attrs) -> str:
    """The MVAU's fitted sub-model: ``xnor`` (XNOR-popcount) or ``int`` (integer multipliers)."""
    return "xnor" if a.get("binaryXnorMode", 0) else "int"


#: Every facet of the layer (collected by :mod:`qnncc.hw.registry`).
DESCRIPTOR = LayerDescriptor(
    MVAU,
    lambda a, be, sp, part: estimate_mvau(a, backend=be, sparsity=sp, fpga_part=part),
    mvau_program,
    5,  # input buffer, weight read, dot product / popcount, accumulate, activation + write
    (f"{TRANSFORMS_HW}:InferBinaryMatrixVectorActivation", f"{TRANSFORMS_HW}:InferQuantizedMatrixVectorActivation"),
    f"{CODEGEN_HLS}.mvau:mvau_code",
    "mvau.hpp",
    aliases=("MatrixVectorActivation", "StreamingFCLayer"),
    sparse=True,
    rtl=f"{CODEGEN_RTL}.mvau:mvau_rtl",
    rtl_core="qnncc_mvau.v",
    fit_features=mvau_fit_features,
    fit_variants=("xnor", "int"),
    fit_variant=mvau_fit_variant,
)
