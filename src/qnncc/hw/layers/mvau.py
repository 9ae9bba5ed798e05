"""MVAU: the matrix-vector-activation unit (FINN ``MatrixVectorActivation``).

Computes ``acc = x @ W`` for each of the ``numInputVectors`` input vectors
``x [MW]`` with weights ``W [MW, MH]``, then optionally thresholds ``acc``
per output channel. Folding: ``SIMD`` input elements and ``PE`` output
channels per cycle, so one frame takes ``(MH/PE)·(MW/SIMD)·∏numInputVectors``
cycles (Umuroglu et al., "FINN", FPGA 2017). With ``SIMD = MW`` and
``PE = MH``, ``MMV`` vectors per cycle (:mod:`.mmv`).
"""

from __future__ import annotations

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

from .base import HWLayer, divisors, dsp_options, hw_attributes, vectors
from .mmv import mmv_conflict, mmv_options

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
