"""``estimate_layer``: dispatch a FINN op type and attribute dict to its estimator.

The estimator of each HW layer is a facet of its descriptor in :mod:`qnncc.hw.registry`
(imported inside the functions: the registry imports this package's estimators).

Op types are matched after removing a FINN backend suffix (``_hls``/``_rtl``)
and the legacy ``_Batch`` suffix, and mapping old names
(``MatrixVectorActivation``, ``StreamingFCLayer``, ``VectorVectorActivation``)
to the current ones. The suffix, or the ``preferred_impl_style`` attribute,
selects the backend where FINN's estimates differ between HLS and RTL
(MVAU, Thresholding, ConvolutionInputGenerator).

``emitted=True`` estimates the hardware qnncc itself emits (its HLS library
``hls_templates/include/qnncc``; backend :data:`~.estimate.EMITTED` for the
estimators) instead of FINN's: HLS thresholding costed as qnncc's unrolled
comparators, max pooling, GlobalAccPool, LabelSelect and VVAU cycles as
their loops iterate, the sliding window's line buffer as generated, and the
per-frame pipeline drain of every loop (the descriptor's ``latency``, the
simulator's). The qnncc flow (estimate, folding, build) uses it; FINN op
types without it keep FINN's formulas.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from .estimate import EMITTED, Attrs, EstimateError, LayerEstimate, NoEstimatorError, SparsityHint

__all__ = ["estimate_layer", "estimated_op_types", "normalize_op_type"]

#: Estimators of FINN op types that have no qnncc HW layer (so no entry in
#: :data:`qnncc.hw.registry.LAYERS`); none since FINN's generic ``Pool`` became a layer.
_FINN_ONLY: Mapping[str, Callable[[Attrs], LayerEstimate]] = MappingProxyType({})


def estimated_op_types() -> tuple[str, ...]:
    """Op types (after normalisation) with an estimator: the registered HW layers and FINN-only ops."""
    from qnncc.hw.registry import LAYERS  # the registry imports the estimators of this package

    return tuple(sorted([d.op_type for d in LAYERS] + list(_FINN_ONLY)))


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
    from qnncc.hw.registry import descriptors_by_op_type

    desc = descriptors_by_op_type().get(name)
    name = desc.op_type if desc is not None else name
    if not backend and attrs is not None:
        style = attrs.get("preferred_impl_style", "")
        style = style.decode() if isinstance(style, bytes) else str(style)
        backend = style if style in ("hls", "rtl") else ""
    return name, backend or (desc.default_backend if desc is not None else "hls")


def estimate_layer(
    op_type: str,
    attrs: Mapping[str, Any],
    *,
    sparsity: SparsityHint | None = None,
    fpga_part: str | None = None,
    emitted: bool = False,
    resource_model: str = "finn",
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
        resource_model: ``"finn"`` (FINN's formulas) or ``"fitted"``: LUTs and
            FFs from the model fitted on Yosys synthesis of qnncc's RTL
            (:mod:`qnncc.hw.perf.fitted`) where it covers the op type.

    Returns:
        The estimate; cycles per frame and resources with a module breakdown.

    Raises:
        NoEstimatorError: the op type has no estimator (never a silent zero).
        EstimateError: an attribute is missing, malformed or inconsistent
            (e.g. ``PE`` does not divide ``MH``), or ``sparsity`` is given
            for an op without a sparse model.
    """
    if resource_model != "finn":
        from .fitted.apply import with_fitted_resources

        est = estimate_layer(op_type, attrs, sparsity=sparsity, fpga_part=fpga_part, emitted=emitted)
        return with_fitted_resources(est, op_type, attrs, resource_model)
    from qnncc.hw.registry import LAYERS, descriptors_by_op_type

    base, backend = normalize_op_type(op_type, attrs)
    desc = descriptors_by_op_type().get(base)
    if desc is None:
        finn_only = _FINN_ONLY.get(base)
        if finn_only is None:
            known = ", ".join(estimated_op_types())
            raise NoEstimatorError(f"no performance estimator for op type {op_type!r}; known: {known}")
        if sparsity is not None:
            raise EstimateError(f"{op_type}: the sparse cycle model does not apply to {base}")
        return finn_only(Attrs(op_type, attrs))
    if sparsity is not None and not desc.sparse:
        sparse = " and ".join(d.op_type for d in LAYERS if d.sparse)
        raise EstimateError(f"{op_type}: the sparse cycle model applies to {sparse} only")
    if not emitted:
        return desc.estimate(Attrs(op_type, attrs), backend, sparsity, fpga_part)
    est = desc.estimate(Attrs(op_type, attrs), EMITTED, sparsity, fpga_part)
    if desc.op_type == "StreamingFIFO":  # stitched as a Xilinx axis_data_fifo, no HLS loop
        return est
    return dataclasses.replace(est, drain_cycles=desc.latency)
