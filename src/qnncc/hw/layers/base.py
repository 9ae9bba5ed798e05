"""Base class of streaming HW layers (FINN's ``HWCustomOp`` concept, slimmed down).

A HW layer is a custom op in domain :data:`HW_DOMAIN` whose attributes use
FINN's names (``PE``, ``SIMD``, ``MW``, ``MH``, ``inputDataType``, ...), so
folding files and habits carry over. A layer class holds only semantics and
folding rules: shapes, datatypes, stream widths, legal PE/SIMD values and a
bit-exact numpy ``execute`` (plus a lowering to standard ONNX for the fast
path). Costs live in :mod:`qnncc.hw.perf`, code templates in ``hls_templates``.

Tensors are channels-last: the last axis is the channel/feature axis, the
leading axes (batch included) are ``numInputVectors``.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import onnx
from onnx import TensorProto, helper
from typing_extensions import override

from qnncc.core.datatype import DataType
from qnncc.core.errors import ExecutionError, UnsupportedOpError
from qnncc.custom_op.base import AttrSpec, CustomOp

if TYPE_CHECKING:
    from collections.abc import Mapping

    from qnncc.core.model_wrapper import ModelWrapper
    from qnncc.hw.perf.estimate import LayerEstimate, SparsityHint

#: Domain of qnncc's HW layer nodes.


def divisors(n: int) -> list[int]:
    """All positive divisors of ``n`` in increasing order (legal PE/SIMD values)."""
    small = [d for d in range(1, math.isqrt(n) + 1) if n % d == 0]
    return sorted(set(small + [n // d for d in small]))


class HWLayer(CustomOp):
    """A streaming HW layer node.

    Subclasses declare ``attributes`` (FINN names), ``folding_attrs`` (e.g.
    ``("PE", "SIMD")``) and implement the shape methods; stream widths,
    folding checks and shape/datatype inference follow from them.
    ``finn_legacy_names`` are older FINN op types of the layer
    (``StreamingFCLayer_Batch``), ``finn_impl_styles`` FINN's specialized
    backends (``MVAU_hls``, ``MVAU_rtl``); FINN-ONNX models with those names
    load as this layer (:mod:`qnncc.custom_op.finn_names`).
    """

    folding_attrs: ClassVar[tuple[str, ...]] = ()
    finn_legacy_names: ClassVar[tuple[str, ...]] = ()
    finn_impl_styles: ClassVar[tuple[str, ...]] = ()

    def __init__(self, node: onnx.NodeProto) -> None:
        super().__init__(node)
        self.validate()

    # ------------------------------------------------------------ datatypes
    def input_datatype(self, index: int = 0) -> DataType:
        """Datatype of input stream ``index``."""
        return DataType.from_name(self.attrs["inputDataType"])

    def output_datatype(self, index: int = 0) -> DataType:
        """Datatype of output stream ``index``."""
        return DataType.from_name(self.attrs["outputDataType"])

    # ------------------------------------------------------------ shapes
    @abstractmethod
    def normal_input_shape(self, index: int = 0) -> tuple[int, ...]:
        """Unfolded shape of input ``index`` (channels last, batch first)."""

    @abstractmethod
    def normal_output_shape(self, index: int = 0) -> tuple[int, ...]:
        """Unfolded shape of output ``index``."""

    def input_elems_per_word(self, index: int = 0) -> int:
        """Elements carried by one word of input stream ``index`` (e.g. SIMD).

        Defaults to the value of the layer's single folding attribute; layers
        with two (MVAU: SIMD in, PE out) or another rule override it.
        """
        return self._single_folding_value()

    def output_elems_per_word(self, index: int = 0) -> int:
        """Elements carried by one word of output stream ``index`` (e.g. PE); see :meth:`input_elems_per_word`."""
        return self._single_folding_value()

    def _single_folding_value(self) -> int:
        if len(self.folding_attrs) != 1:
            raise NotImplementedError(f"{type(self).__name__} must define its stream word sizes")
        return int(self.attrs[self.folding_attrs[0]])

    def check_nhwc_input(self, x: np.ndarray) -> None:
        """Check that ``x`` is ``[N, H, W, C]`` with the layer's ``(H, W, C)``.

        Raises:
            ExecutionError: naming the node, the given and the expected shape.
        """
        expected = self.normal_input_shape()[1:]
        if x.ndim != 4 or tuple(x.shape[1:]) != expected:
            raise ExecutionError(f"{self.describe()}: input of shape {list(x.shape)}, expected [N, *{list(expected)}]")

    def folded_input_shape(self, index: int = 0) -> tuple[int, ...]:
        """Input shape with the last axis split into ``(words, elems_per_word)``."""
        return _fold(self.normal_input_shape(index), self.input_elems_per_word(index))

    def folded_output_shape(self, index: int = 0) -> tuple[int, ...]:
        """Output shape with the last axis split into ``(words, elems_per_word)``."""
        return _fold(self.normal_output_shape(index), self.output_elems_per_word(index))

    def instream_width(self, index: int = 0) -> int:
        """Width of input stream ``index`` in bits."""
        return self.input_elems_per_word(index) * self.input_datatype(index).bitwidth()

    def outstream_width(self, index: int = 0) -> int:
        """Width of output stream ``index`` in bits."""
        return self.output_elems_per_word(index) * self.output_datatype(index).bitwidth()

    def num_output_streams(self) -> int:
        """Number of output streams (1 except for forks)."""
        return 1

    # ------------------------------------------------------------ folding
    def legal_folding(self) -> dict[str, list[int]]:
        """Legal values of each folding attribute (divisors of the folded dimension)."""
        return {}

    def throughput_options(self) -> dict[str, list[int | str]]:
        """Further attributes the folding optimiser may choose, with their values (e.g. ``parallel_window``).

        Unlike :meth:`legal_folding` not every combination with the folding is
        legal; the performance model rejects the illegal ones.
        """
        return {}

    def estimate(
        self,
        folding: Mapping[str, Any] | None = None,
        *,
        emitted: bool = True,
        sparsity: SparsityHint | None = None,
        fpga_part: str | None = None,
    ) -> LayerEstimate:
        """Cycles per frame and LUT/FF/BRAM_18K/URAM/DSP of this layer (its descriptor's estimate).

        Args:
            folding: attribute values to estimate instead of the node's (e.g. ``{"PE": 4}``).
            emitted: the hardware qnncc emits (default) rather than FINN's formula for the op type.
            sparsity: zeros-per-window histogram for the sparse cycle model (MVAU, VVAU).
            fpga_part: target part where the estimate depends on it (DSP58 vs DSP48).

        Raises:
            EstimateError: for inconsistent attributes (e.g. ``PE`` not dividing ``MH``).
        """
        from qnncc.hw.perf.layer import estimate_layer  # the perf package imports the layer modules' base

        attrs = {**self.attrs, **(folding or {})}
        return estimate_layer(self.node.op_type, attrs, sparsity=sparsity, fpga_part=fpga_part, emitted=emitted)

    def validate(self) -> None:
        """Check folding attributes against :meth:`legal_folding`.

        Raises:
            UnsupportedOpError: naming the node, the attribute and the legal values.
        """
        for name, legal in self.legal_folding().items():
            value = self.attrs.get(name)
            if value not in legal:
                shown = legal if len(legal) <= 12 else [*legal[:6], "...", *legal[-3:]]
                raise UnsupportedOpError(
                    f"{self.describe()}: {name}={value} is not a legal folding; use one of {shown}"
                )

    # ------------------------------------------------------------ inference
    @override
    def shape_compatible_node(self) -> onnx.NodeProto:
        return helper.make_node(
            "RandomNormal", [], [self.node.output[0]], shape=list(self.normal_output_shape()), dtype=TensorProto.FLOAT
        )

    @override
    def infer_datatype(self, model: ModelWrapper) -> list[DataType]:
        return [self.output_datatype(i) for i in range(len(self.node.output))]


class ChannelwiseLayer(HWLayer):
    """A layer streaming ``[..., NumChannels]`` in and out, ``PE`` channels per word.

    Shapes, stream words and legal folding of Thresholding, AddStreams,
    DuplicateStreams and ChannelwiseOp (and GlobalAccPool, which overrides
    the output shape); subclasses add semantics.
    """

    folding_attrs = ("PE",)

    @override
    def legal_folding(self) -> dict[str, list[int]]:
        return {"PE": divisors(int(self.attrs["NumChannels"]))}

    @override
    def normal_input_shape(self, index: int = 0) -> tuple[int, ...]:
        return (*vectors(self.attrs), int(self.attrs["NumChannels"]))

    @override
    def normal_output_shape(self, index: int = 0) -> tuple[int, ...]:
        return self.normal_input_shape()


def hw_attributes(**specific: AttrSpec) -> dict[str, AttrSpec]:
    """Attribute schema of a HW layer: the datatypes every layer has plus ``specific``."""
    return {
        "inputDataType": AttrSpec("s", required=True),
        "outputDataType": AttrSpec("s", required=True),
        **specific,
    }


def _fold(shape: tuple[int, ...], per_word: int) -> tuple[int, ...]:
    """``shape`` with the last axis split into ``(words, per_word)``.

    ``[N, words, per_word]`` if a word does not tile the last axis (it spans
    several vectors, e.g. ``MMV > 1``, or a width converter's words).
    """
    *lead, last = shape
    if last % per_word == 0:
        return (*lead, last // per_word, per_word)
    return (shape[0], math.prod(shape[1:]) // per_word, per_word)


def vectors(attrs: dict[str, Any]) -> list[int]:
    """``numInputVectors`` as a list of ints (batch first)."""
    return [int(v) for v in attrs.get("numInputVectors") or [1]]


#: Narrowest weight and input width (bits) whose multipliers the optimiser may map to DSPs.
DSP_MIN_BITS = 4


def dsp_options(weight_bits: int, input_bits: int) -> dict[str, list[int | str]]:
    """``resType`` choices for a dot product of ``weight_bits`` x ``input_bits`` multipliers.

    LUTs only below :data:`DSP_MIN_BITS` (1-3 bit products are a few LUTs each; FINN maps
    XNOR and few-bit MACs to LUTs), else ``lut`` or ``dsp`` for the optimiser to choose
    (FINN's ``resType``; the cost models charge DSPs ``PE*SIMD*ceil((W+A)/48)``).
    """
    if min(weight_bits, input_bits) < DSP_MIN_BITS:
        return {}
    return {"resType": ["lut", "dsp"]}
