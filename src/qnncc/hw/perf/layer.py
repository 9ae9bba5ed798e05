"""``estimate_layer``: dispatch a FINN op type and attribute dict to its estimator.

Op types are matched after removing a FINN backend suffix (``_hls``/``_rtl``)
and the legacy ``_Batch`` suffix, and mapping old names
(``MatrixVectorActivation``, ``StreamingFCLayer``, ``VectorVectorActivation``)
to the current ones. The suffix, or the ``preferred_impl_style`` attribute,
selects the backend where FINN's estimates differ between HLS and RTL
(MVAU, Thresholding, ConvolutionInputGenerator).

``emitted=True`` estimates the hardware qnncc itself emits (its HLS library
``hls_templates/include/qnncc``; backend ``"qnncc"`` for the estimators)
instead of FINN's: HLS thresholding costed as qnncc's unrolled comparators,
max pooling, GlobalAccPool, LabelSelect and VVAU cycles as their loops
iterate, the sliding window's line buffer as generated, and the per-frame
pipeline drain of every loop (:mod:`.pipeline`). The qnncc flow
(estimate, folding, build) uses it; FINN op types without it keep FINN's
formulas.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from .estimate import Attrs, EstimateError, LayerEstimate, NoEstimatorError, SparsityHint
from .mvau import estimate_mvau, estimate_vvau
from .pipeline import pipeline_depth
from .stream import estimate_add_streams, estimate_duplicate_streams, estimate_dwc, estimate_fifo, estimate_label_select
from .thresholding import estimate_channelwise, estimate_thresholding
from .window import (
    estimate_fmpadding,
    estimate_global_acc_pool,
    estimate_pool,
    estimate_streaming_maxpool,
    estimate_swg,
)

__all__ = ["EMITTED", "ESTIMATED_OP_TYPES", "estimate_layer", "normalize_op_type"]

#: Backend name of the hardware qnncc emits (its own HLS library).
EMITTED = "qnncc"

_Estimator = Callable[[Attrs, str, SparsityHint | None, str | None], LayerEstimate]

_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "MatrixVectorActivation": "MVAU",
        "StreamingFCLayer": "MVAU",
        "VectorVectorActivation": "VVAU",
        "Threshold": "Thresholding",
    }
)

#: Backend used when neither the op type nor ``preferred_impl_style`` names one (FINN's choice).
_DEFAULT_BACKEND: Mapping[str, str] = MappingProxyType({"Thresholding": "rtl"})

_ESTIMATORS: Mapping[str, _Estimator] = MappingProxyType(
    {
        "MVAU": lambda a, be, sp, part: estimate_mvau(a, backend=be, sparsity=sp, fpga_part=part),
        "VVAU": lambda a, be, sp, part: estimate_vvau(a, sparsity=sp, emitted=be == EMITTED),
        "Thresholding": lambda a, be, sp, part: estimate_thresholding(a, backend=be),
        "ConvolutionInputGenerator": lambda a, be, sp, part: estimate_swg(a, backend=be),
        "FMPadding": lambda a, be, sp, part: estimate_fmpadding(a),
        "StreamingMaxPool": lambda a, be, sp, part: estimate_streaming_maxpool(a, emitted=be == EMITTED),
        "Pool": lambda a, be, sp, part: estimate_pool(a),
        "GlobalAccPool": lambda a, be, sp, part: estimate_global_acc_pool(a, emitted=be == EMITTED),
        "LabelSelect": lambda a, be, sp, part: estimate_label_select(a, emitted=be == EMITTED),
        "AddStreams": lambda a, be, sp, part: estimate_add_streams(a),
        "DuplicateStreams": lambda a, be, sp, part: estimate_duplicate_streams(a),
        "ChannelwiseOp": lambda a, be, sp, part: estimate_channelwise(a),
        "StreamingDataWidthConverter": lambda a, be, sp, part: estimate_dwc(a),
        "StreamingFIFO": lambda a, be, sp, part: estimate_fifo(a),
    }
)

#: Op types (after normalisation) with an estimator.
ESTIMATED_OP_TYPES: tuple[str, ...] = tuple(sorted(_ESTIMATORS))

_SPARSE_OPS = ("MVAU", "VVAU")


def normalize_op_type(op_type: str, attrs: Mapping[str, Any] | None = None) -> tuple[str, str]:
    """Base op type and backend (``"hls"`` or ``"rtl"``) of a FINN op type.

    Examples:
        >>> normalize_op_type("MVAU_hls")
        ('MVAU', 'hls')
        >>> normalize_op_type("Thresholding_Batch")
        ('Thresholding', 'rtl')
    """
    name, backend = op_type, ""
    for suffix in ("_hls", "_rtl"):
        if name.endswith(suffix):
            name, backend = name[: -len(suffix)], suffix[1:]
    name = name.removesuffix("_Batch")
    name = _ALIASES.get(name, name)
    if not backend and attrs is not None:
        style = attrs.get("preferred_impl_style", "")
        style = style.decode() if isinstance(style, bytes) else str(style)
        backend = style if style in ("hls", "rtl") else ""
    return name, backend or _DEFAULT_BACKEND.get(name, "hls")


def estimate_layer(
    op_type: str,
    attrs: Mapping[str, Any],
    *,
    sparsity: SparsityHint | None = None,
    fpga_part: str | None = None,
    emitted: bool = False,
) -> LayerEstimate:
    """Cycles and resources of one streaming layer from its FINN attributes.

    Args:
        op_type: FINN op type, e.g. ``"MVAU"``, ``"MVAU_hls"``, ``"Thresholding_rtl"``.
        attrs: The layer's node attributes with FINN's names, e.g.
            ``{"MW": 784, "MH": 64, "PE": 16, "SIMD": 49, "inputDataType": "BINARY", ...}``.
        sparsity: Optional zeros-per-window histogram for the sparse cycle
            model (MVAU and VVAU only; not used by default).
        fpga_part: Target part, only used where FINN's estimate depends on the
            device (DSP58 vs DSP48 in ``MVAU_rtl``).
        emitted: estimate the hardware qnncc emits (see the module docstring)
            rather than FINN's for the op type; adds the per-frame pipeline
            drain (``drain_cycles``).

    Returns:
        The estimate; cycles per frame and resources with a module breakdown.

    Raises:
        NoEstimatorError: the op type has no estimator (never a silent zero).
        EstimateError: an attribute is missing, malformed or inconsistent
            (e.g. ``PE`` does not divide ``MH``), or ``sparsity`` is given
            for an op without a sparse model.
    """
    base, backend = normalize_op_type(op_type, attrs)
    estimator = _ESTIMATORS.get(base)
    if estimator is None:
        raise NoEstimatorError(
            f"no performance estimator for op type {op_type!r}; known: {', '.join(ESTIMATED_OP_TYPES)}"
        )
    if sparsity is not None and base not in _SPARSE_OPS:
        raise EstimateError(f"{op_type}: the sparse cycle model applies to {' and '.join(_SPARSE_OPS)} only")
    if not emitted:
        return estimator(Attrs(op_type, attrs), backend, sparsity, fpga_part)
    est = estimator(Attrs(op_type, attrs), EMITTED, sparsity, fpga_part)
    if base == "StreamingFIFO":  # stitched as a Xilinx axis_data_fifo, no HLS loop
        return est
    return dataclasses.replace(est, drain_cycles=pipeline_depth(base))
