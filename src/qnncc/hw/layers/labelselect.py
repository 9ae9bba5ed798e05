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

from .base import HWLayer, divisors, hw_attributes, vectors


class LabelSelect(HWLayer):
    """Top-K selection; input ``x [..., Labels]``, output int64 indices ``[..., K]``."""

    op_type = "LabelSelect"
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
