"""LabelSelect: top-K class indices of a stream of scores (FINN ``LabelSelect``).

Indices are sorted by decreasing score, the lower index first on ties (as
ONNX ``TopK``). ``PE`` scores are read per cycle: ``Labels/PE`` cycles per frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
import onnx
from onnx import TensorProto, helper
from typing_extensions import override

from qnncc.custom_op.base import AttrSpec, LoweringContext
from qnncc.hw.layers.descriptor import CODEGEN_HLS, CODEGEN_RTL, TRANSFORMS_HW, LayerDescriptor
from qnncc.hw.perf.estimate import EMITTED, Attrs, LayerEstimate, ModuleEstimate, ceil_log2, layer_from_modules, prod
from qnncc.hw.perf.fitted import terms as fit
from qnncc.hw.sim.patterns import Program, frame_vectors, program_from_runs

from .base import HWLayer, divisors, hw_attributes, vectors


class LabelSelect(HWLayer):
    """Top-K selection; input ``x [..., Labels]``, output int64 indices ``[..., K]``."""

    op_type = "LabelSelect"
    finn_legacy_names = ("LabelSelect_Batch",)
    finn_impl_styles = ("hls",)
    folding_attrs = ("PE",)
    attributes: ClassVar[dict[str, AttrSpec]] = hw_attributes(
        Labels=AttrSpec("i", required=True),
        PE=AttrSpec("i", default=1),
        K=AttrSpec("i", default=1),
        numInputVectors=AttrSpec("ints", default=[1]),
    )
    num_inputs = (1,)
    num_outputs = (1,)

    @override
    def legal_folding(self) -> dict[str, list[int]]:
        return {"PE": divisors(int(self.attrs["Labels"]))}

    @override
    def normal_input_shape(self, index: int = 0) -> tuple[int, ...]:
        return (*vectors(self.attrs), int(self.attrs["Labels"]))

    @override
    def normal_output_shape(self, index: int = 0) -> tuple[int, ...]:
        return (*vectors(self.attrs), int(self.attrs["K"]))

    @override
    def input_elems_per_word(self, index: int = 0) -> int:
        return int(self.attrs["PE"])

    @override
    def output_elems_per_word(self, index: int = 0) -> int:
        return 1

    @override
    def shape_compatible_node(self) -> onnx.NodeProto:
        shape = list(self.normal_output_shape())
        return helper.make_node("RandomNormal", [], [self.node.output[0]], shape=shape, dtype=TensorProto.INT64)

    @override
    def execute(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        x = np.asarray(inputs[0])
        order = np.argsort(-x.astype(np.float64), axis=-1, kind="stable")
        return [order[..., : int(self.attrs["K"])].astype(np.int64)]

    @override
    def lower(self, ctx: LoweringContext) -> None:
        k = int(self.attrs["K"])
        outputs = [ctx.fresh("values"), self.node.output[0]]
        if ctx.opset < 10:  # opsets 1..9 take k as an attribute
            node = helper.make_node("TopK", [self.node.input[0]], outputs, name=ctx.fresh("TopK"), axis=-1, k=k)
        else:
            inputs = [self.node.input[0], ctx.const([k], np.int64, "k")]
            node = helper.make_node("TopK", inputs, outputs, name=ctx.fresh("TopK"), axis=-1, largest=1, sorted=1)
        ctx.nodes.append(node)


def label_select_program(layer: HWLayer, lat: int) -> Program:
    """LabelSelect: Labels/PE reads per vector, then the K indices written."""
    labels, pe, k = (int(layer.attrs[a]) for a in ("Labels", "PE", "K"))
    return program_from_runs([(1, 0, labels // pe), (0, 1, k)], 1, 1, lat, frame_vectors(layer))


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


def labelselect_fit_features(a: fit.Attrs) -> dict[str, float]:
    """Cost terms of ``qnncc_labelselect`` (per-lane comparators, top-K registers) for the fitted model."""
    pe, k = int(a["PE"]), int(a.get("K", 1))
    width = fit.bits(a["inputDataType"]) + fit.clog2(int(a["Labels"]))
    return {"const": 1.0, "compare": float(pe * k * width), "topk": float(k * width)}


#: Every facet of the layer (collected by :mod:`qnncc.hw.registry`).
DESCRIPTOR = LayerDescriptor(
    LabelSelect,
    lambda a, be, sp, part: estimate_label_select(a, emitted=be == EMITTED),
    label_select_program,
    2,
    (f"{TRANSFORMS_HW}:InferLabelSelectLayer",),
    f"{CODEGEN_HLS}.labelselect:labelselect_code",
    "labelselect.hpp",
    rtl=f"{CODEGEN_RTL}.labelselect:labelselect_rtl",
    rtl_core="qnncc_labelselect.v",
    fit_features=labelselect_fit_features,
)
