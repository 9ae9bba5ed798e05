"""The HW layer registry: one descriptor per HW layer type, every facet named in one place.

A HW layer has facets on several floors (docs/design.md, "Floors"):

* on this floor (``hw``): its op class (semantics, shapes, folding rules; :mod:`qnncc.hw.layers`),
  its cost model (:mod:`qnncc.hw.perf`), its cycle pattern and pipeline latency for the
  cycle-level simulator (:mod:`qnncc.hw.sim.patterns`);
* on the ``transforms`` floor: the passes that create it (``Infer*`` conversions, or the pass that
  inserts it, e.g. ``InsertDWC``);
* on the ``codegen`` floor: its HLS code builder and the header of qnncc's C++ library it uses,
  and its RTL builder and the Verilog core of qnncc's RTL library.

The descriptor holds the facets of this floor as objects, and those of the floors above as
``"module:attribute"`` references resolved when first used (:meth:`LayerDescriptor.infer_passes`,
:meth:`LayerDescriptor.hls_builder`), so this floor imports nothing above it. Every table that
dispatches on a HW op type (estimates, simulation patterns and latencies, HLS builders, the
conversion passes of the flow) is derived from :data:`LAYERS`, and
``tests/hw/test_registry.py`` checks that every registered layer has every facet.

Adding a HW layer: its op class in ``hw/layers/<layer>.py``, its estimate and cycle pattern, its
``Infer`` pass, its HLS builder and C++ header, one :class:`LayerDescriptor` here, and its tests
(docs/design.md, "Adding a HW layer").
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from qnncc.core.errors import UnsupportedOpError
from qnncc.hw.layers import (
    MVAU,
    VVAU,
    AddStreams,
    ChannelwiseOp,
    ConvolutionInputGenerator,
    DuplicateStreams,
    FMPadding,
    GlobalAccPool,
    HWLayer,
    LabelSelect,
    Pool,
    StreamingDataWidthConverter,
    StreamingFIFO,
    StreamingMaxPool,
    Thresholding,
)
from qnncc.hw.layers.concat_split import StreamingConcat, StreamingSplit
from qnncc.hw.layers.elementwise_binary import ELEMENTWISE_LAYERS
from qnncc.hw.layers.stream_shape import FinnReshape, FinnSqueeze, FinnUnsqueeze
from qnncc.hw.layers.upsample import UpsampleNearestNeighbour
from qnncc.hw.perf.estimate import EMITTED, Attrs, LayerEstimate, SparsityHint
from qnncc.hw.perf.finn_plus import (
    estimate_concat,
    estimate_elementwise,
    estimate_split,
    estimate_stream_shape,
    estimate_upsample,
)
from qnncc.hw.perf.mvau import estimate_mvau, estimate_vvau
from qnncc.hw.perf.stream import (
    estimate_add_streams,
    estimate_duplicate_streams,
    estimate_dwc,
    estimate_fifo,
    estimate_label_select,
)
from qnncc.hw.perf.thresholding import estimate_channelwise, estimate_thresholding
from qnncc.hw.perf.window import (
    estimate_fmpadding,
    estimate_global_acc_pool,
    estimate_pool,
    estimate_streaming_maxpool,
    estimate_swg,
)
from qnncc.hw.sim import finn_plus_patterns as fp_sim
from qnncc.hw.sim import patterns as sim

__all__ = ["LAYERS", "Estimator", "LayerDescriptor", "descriptor", "descriptors_by_op_type", "resolve"]

#: A layer's cost model: ``(attributes, backend, sparsity hint, FPGA part) -> LayerEstimate``.
Estimator = Callable[[Attrs, str, SparsityHint | None, str | None], LayerEstimate]
#: A layer's cycle pattern: ``(layer, pipeline latency in cycles) -> Program`` (one frame).
ProgramBuilder = Callable[[HWLayer, int], sim.Program]


def resolve(reference: str) -> Any:
    """The object a ``"package.module:attribute"`` reference names.

    Raises:
        UnsupportedOpError: if the module or the attribute does not exist.
    """
    module_name, _, attribute = reference.partition(":")
    try:
        return getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as err:
        raise UnsupportedOpError(f"HW layer registry: cannot resolve {reference!r}: {err}") from None


@dataclass(frozen=True)
class LayerDescriptor:
    """Every facet of one HW layer type.

    Attributes:
        op: the op class (``op.op_type`` is the ONNX op type, FINN's name).
        estimate: cycles and resources (a FINN analytic formula; the function names its source);
            backend ``EMITTED`` (``"qnncc"``) asks for the hardware qnncc emits instead.
        program: one frame's read/write pattern for the cycle-level simulator, or None where
            the simulator models the layer otherwise (``no_program`` says how).
        latency: assumed pipeline depth in cycles (issue to write) of the layer's loop.
        infer: the passes that create the layer from a streamlined graph, in the order the flow
            runs them (``"module:Class"``); empty when ``inserted_by`` creates it.
        inserted_by: the pass that inserts the layer between others (``"module:Class"``).
        hls: the HLS code builder (``"module:function"``, :mod:`qnncc.codegen.hls.layers`).
        header: the header of qnncc's C++ library (``hls_templates/include/qnncc/``) it uses.
        aliases: older FINN op types the estimate accepts for it (e.g. ``StreamingFCLayer``).
        default_backend: FINN's backend when a node names none (``hls`` or ``rtl``).
        sparse: whether the sparse (zero-skipping) cycle model applies.
        no_program: why ``program`` is None.
        rtl: the RTL (Verilog) builder (``"module:function"``, :mod:`qnncc.codegen.rtl`).
        rtl_core: the Verilog core of qnncc's RTL library (``hls_templates/rtl/``) it instantiates.
        no_rtl: why ``rtl`` is empty (a layer the RTL backend does not implement yet).
        imported_by: for a layer no qnncc pass creates, the FINN-ONNX import that adopts it
            (``"module:function"``; finn-plus's generic ops arrive in FINN's models only).
    """

    op: type[HWLayer]
    estimate: Estimator
    program: ProgramBuilder | None
    latency: int
    infer: tuple[str, ...]
    hls: str
    header: str
    inserted_by: str = ""
    aliases: tuple[str, ...] = ()
    default_backend: str = "hls"
    sparse: bool = False
    no_program: str = ""
    rtl: str = ""
    rtl_core: str = ""
    no_rtl: str = ""
    imported_by: str = ""

    @property
    def op_type(self) -> str:
        """The ONNX op type (FINN's name)."""
        return self.op.op_type

    def infer_passes(self) -> list[type[Any]]:
        """The conversion pass classes (``transforms`` floor), resolved on first use."""
        return [resolve(ref) for ref in self.infer]

    def rtl_builder(self) -> Callable[..., Any]:
        """The RTL builder (``codegen`` floor), resolved on first use.

        Raises:
            UnsupportedOpError: if the layer has no RTL implementation.
        """
        if not self.rtl:
            raise UnsupportedOpError(f"{self.op_type}: no RTL implementation ({self.no_rtl})")
        builder = resolve(self.rtl)
        if not callable(builder):
            raise UnsupportedOpError(f"HW layer registry: {self.rtl!r} is not callable")
        return builder

    def hls_builder(self) -> Callable[..., Any]:
        """The HLS code builder (``codegen`` floor), resolved on first use."""
        builder = resolve(self.hls)
        if not callable(builder):
            raise UnsupportedOpError(f"HW layer registry: {self.hls!r} is not callable")
        return builder


def _elementwise_estimator(operation: str) -> Estimator:
    """The estimate of ``Elementwise<operation>`` (:func:`estimate_elementwise`)."""
    return lambda a, be, sp, part: estimate_elementwise(a, operation)


def _stream_shape_estimator(dtype_attr: str) -> Estimator:
    """The estimate of a shape-only op whose datatype attribute is ``dtype_attr`` (:func:`estimate_stream_shape`)."""
    return lambda a, be, sp, part: estimate_stream_shape(a, dtype_attr)


_T = "qnncc.transforms.hw"
_ADOPT = "qnncc.custom_op.finn_names:adopt_finn_layers"
_NO_RTL_FINN_PLUS = "finn-plus generic op: the RTL library has no core for it yet; it builds with HLS"
_H = "qnncc.codegen.hls.layers"
_R = "qnncc.codegen.rtl"

#: The HW layers in the order the flow tries their conversion passes (windows and pools before the
#: matrix layers that read them, thresholds after the MVAUs that may absorb them, the label select
#: last); the inserted ones (width converters, FIFOs) at the end.
LAYERS: tuple[LayerDescriptor, ...] = (
    LayerDescriptor(
        ConvolutionInputGenerator,
        lambda a, be, sp, part: estimate_swg(a, backend=be),
        sim.swg_program,
        3,  # address, line-buffer read, write
        (f"{_T}:InferConvInpGen",),
        f"{_H}.sliding:swg_code",
        "swg.hpp",
        rtl=f"{_R}.sliding:swg_rtl",
        rtl_core="qnncc_swg.v",
    ),
    LayerDescriptor(
        StreamingMaxPool,
        lambda a, be, sp, part: estimate_streaming_maxpool(a, emitted=be == EMITTED),
        sim.maxpool_program,
        2,
        (f"{_T}:InferStreamingMaxPool",),
        f"{_H}.sliding:maxpool_code",
        "pool.hpp",
        rtl=f"{_R}.sliding:maxpool_rtl",
        rtl_core="qnncc_maxpool.v",
    ),
    LayerDescriptor(
        Pool,
        lambda a, be, sp, part: estimate_pool(a),
        sim.pool_program,
        2,
        (f"{_T}:InferPool",),
        f"{_H}.sliding:pool_code",
        "pool.hpp",
        no_rtl="the RTL library has no window-max core yet (issue 17); a design with it builds with HLS only",
    ),
    LayerDescriptor(
        VVAU,
        lambda a, be, sp, part: estimate_vvau(a, sparsity=sp, emitted=be == EMITTED),
        sim.vvau_program,
        5,
        (f"{_T}:InferVectorVectorActivation",),
        f"{_H}.vvau:vvau_code",
        "vvau.hpp",
        aliases=("VectorVectorActivation",),
        sparse=True,
        rtl=f"{_R}.sliding:vvau_rtl",
        rtl_core="qnncc_vvau.v",
    ),
    LayerDescriptor(
        GlobalAccPool,
        lambda a, be, sp, part: estimate_global_acc_pool(a, emitted=be == EMITTED),
        sim.global_acc_pool_program,
        2,
        (f"{_T}:InferGlobalAccPoolLayer",),
        f"{_H}.sliding:global_acc_pool_code",
        "pool.hpp",
        rtl=f"{_R}.sliding:global_acc_pool_rtl",
        rtl_core="qnncc_gap.v",
    ),
    LayerDescriptor(
        MVAU,
        lambda a, be, sp, part: estimate_mvau(a, backend=be, sparsity=sp, fpga_part=part),
        sim.mvau_program,
        5,  # input buffer, weight read, dot product / popcount, accumulate, activation + write
        (f"{_T}:InferBinaryMatrixVectorActivation", f"{_T}:InferQuantizedMatrixVectorActivation"),
        f"{_H}.mvau:mvau_code",
        "mvau.hpp",
        aliases=("MatrixVectorActivation", "StreamingFCLayer"),
        sparse=True,
        rtl=f"{_R}.mlp:mvau_rtl",
        rtl_core="qnncc_mvau.v",
    ),
    LayerDescriptor(
        Thresholding,
        lambda a, be, sp, part: estimate_thresholding(a, backend=be),
        sim.read_write_each_program,
        3,  # read, compare with all thresholds and count, write
        (f"{_T}:InferThresholdingLayer",),
        f"{_H}.thresholding:thresholding_code",
        "thresholding.hpp",
        aliases=("Threshold",),
        default_backend="rtl",
        rtl=f"{_R}.mlp:thresholding_rtl",
        rtl_core="qnncc_thresholding.v",
    ),
    LayerDescriptor(
        AddStreams,
        lambda a, be, sp, part: estimate_add_streams(a),
        sim.add_streams_program,
        2,
        (f"{_T}:InferAddStreamsLayer",),
        f"{_H}.elementwise:add_streams_code",
        "streams.hpp",
        rtl=f"{_R}.elementwise:add_streams_rtl",
        rtl_core="qnncc_add.v",
    ),
    LayerDescriptor(
        DuplicateStreams,
        lambda a, be, sp, part: estimate_duplicate_streams(a),
        sim.duplicate_streams_program,
        1,
        (f"{_T}:InferDuplicateStreamsLayer",),
        f"{_H}.elementwise:duplicate_streams_code",
        "streams.hpp",
        rtl=f"{_R}.elementwise:duplicate_streams_rtl",
        rtl_core="qnncc_dup.v",
    ),
    LayerDescriptor(
        ChannelwiseOp,
        lambda a, be, sp, part: estimate_channelwise(a),
        sim.read_write_each_program,
        2,
        (f"{_T}:InferChannelwiseLinearLayer",),
        f"{_H}.elementwise:channelwise_code",
        "channelwise.hpp",
        rtl=f"{_R}.elementwise:channelwise_rtl",
        rtl_core="qnncc_channelwise.v",
    ),
    LayerDescriptor(
        LabelSelect,
        lambda a, be, sp, part: estimate_label_select(a, emitted=be == EMITTED),
        sim.label_select_program,
        2,
        (f"{_T}:InferLabelSelectLayer",),
        f"{_H}.labelselect:labelselect_code",
        "labelselect.hpp",
        rtl=f"{_R}.mlp:labelselect_rtl",
        rtl_core="qnncc_labelselect.v",
    ),
    LayerDescriptor(
        FMPadding,
        lambda a, be, sp, part: estimate_fmpadding(a),
        sim.fmpadding_program,
        1,
        (),
        f"{_H}.sliding:fmpadding_code",
        "fmpadding.hpp",
        inserted_by=f"{_T}:InferConvInpGen",
        rtl=f"{_R}.sliding:fmpadding_rtl",
        rtl_core="qnncc_fmpadding.v",
    ),
    LayerDescriptor(
        StreamingDataWidthConverter,
        lambda a, be, sp, part: estimate_dwc(a),
        sim.dwc_program,
        1,
        (),
        f"{_H}.dwc:dwc_code",
        "dwc.hpp",
        inserted_by=f"{_T}:InsertDWC",
        rtl=f"{_R}.mlp:dwc_rtl",
        rtl_core="qnncc_dwc.v",
    ),
    LayerDescriptor(
        StreamingFIFO,
        lambda a, be, sp, part: estimate_fifo(a),
        None,
        0,
        (),
        f"{_H}.elementwise:fifo_code",
        "fifo.hpp",
        inserted_by=f"{_T}:InsertFIFO",
        no_program="the simulator models a FIFO as the capacity of the stream it sits on",
        rtl=f"{_R}.mlp:fifo_rtl",
        rtl_core="qnncc_fifo.v",
    ),
    *(
        LayerDescriptor(
            cls,
            _elementwise_estimator(cls.operation),
            fp_sim.elementwise_program,
            3,  # operand fetch (read, buffer or table), operation, write
            (),
            f"{_H}.finn_plus:elementwise_code",
            "elementwise_binary.hpp",
            imported_by=_ADOPT,
            no_rtl=_NO_RTL_FINN_PLUS,
        )
        for cls in ELEMENTWISE_LAYERS
    ),
    *(
        LayerDescriptor(
            cls,
            _stream_shape_estimator(cls.dtype_attrs[0]),
            fp_sim.stream_shape_program,
            1,
            (),
            f"{_H}.finn_plus:stream_shape_code",
            "reshape.hpp",
            imported_by=_ADOPT,
            no_rtl=_NO_RTL_FINN_PLUS,
        )
        for cls in (FinnSqueeze, FinnUnsqueeze, FinnReshape)
    ),
    LayerDescriptor(
        StreamingConcat,
        lambda a, be, sp, part: estimate_concat(a),
        fp_sim.concat_program,
        1,
        (),
        f"{_H}.finn_plus:concat_code",
        "reshape.hpp",
        imported_by=_ADOPT,
        no_rtl=_NO_RTL_FINN_PLUS,
    ),
    LayerDescriptor(
        StreamingSplit,
        lambda a, be, sp, part: estimate_split(a),
        fp_sim.split_program,
        1,
        (),
        f"{_H}.finn_plus:split_code",
        "reshape.hpp",
        imported_by=_ADOPT,
        no_rtl=_NO_RTL_FINN_PLUS,
    ),
    LayerDescriptor(
        UpsampleNearestNeighbour,
        lambda a, be, sp, part: estimate_upsample(a),
        fp_sim.upsample_program,
        2,  # row-buffer read or input read, write
        (),
        f"{_H}.finn_plus:upsample_code",
        "upsample.hpp",
        imported_by=_ADOPT,
        no_rtl=_NO_RTL_FINN_PLUS,
    ),
)


@functools.cache
def descriptors_by_op_type() -> Mapping[str, LayerDescriptor]:
    """Every descriptor by op type and by alias (read-only)."""
    table: dict[str, LayerDescriptor] = {}
    for desc in LAYERS:
        for name in (desc.op_type, *desc.aliases):
            table[name] = desc
    return MappingProxyType(table)


def descriptor(op_type: str) -> LayerDescriptor:
    """The descriptor of a HW op type (or a FINN alias of it).

    Raises:
        UnsupportedOpError: if no HW layer has that op type.
    """
    found = descriptors_by_op_type().get(op_type)
    if found is None:
        known = ", ".join(d.op_type for d in LAYERS)
        raise UnsupportedOpError(f"{op_type!r} is not a qnncc HW layer (have: {known})")
    return found
