"""Natural cost terms of each layer type, the regressors of the fitted resource model.

Each HW layer declares the terms its RTL core (``hls_templates/rtl``) spends
LUTs and flip-flops on as a facet of its descriptor
(``LayerDescriptor.fit_features`` in ``qnncc/hw/layers/<layer>.py``, built
from :mod:`.terms`), e.g. for an MVAU ``PE*SIMD`` XNOR-popcount lanes (or
``PE*SIMD*IN_BITS*W_BITS`` multiplier bits), ``PE*SIMD*log2(SIMD)`` adder-tree
bits, ``PE*ACC_W`` accumulator bits, ``PE*STEPS*ACC_W`` threshold-comparator
bits and the LUTs of a memory held in LUTs (``width * ceil(depth/64)``). A
model key splits op types whose datapaths differ (``MVAU/xnor`` and
``MVAU/int``: ``LayerDescriptor.fit_variants``). The coefficients come from
least squares on Yosys measurements (:mod:`.model`); FINN's analytic formulas
use similar terms with coefficients fitted to Vivado (Umuroglu et al., FINN,
FPGA'17; FINN's ``lut_estimation`` per custom op).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from types import MappingProxyType

from .terms import Attrs, CostTerms

__all__ = ["FEATURES", "feature_vector", "fitted_layer_keys", "model_key"]


@functools.cache
def fitted_layer_keys() -> Mapping[str, CostTerms]:
    """Model key -> cost-term function of every HW layer that declares ``fit_features`` (read-only)."""
    from qnncc.hw.registry import LAYERS

    table: dict[str, CostTerms] = {}
    for desc in LAYERS:
        if desc.fit_features is not None:
            for key in desc.fit_keys():
                table[key] = desc.fit_features
    return MappingProxyType(table)


class _Features(Mapping[str, CostTerms]):
    """:func:`fitted_layer_keys`, read when first used (the layer registry imports this package's terms)."""

    def __getitem__(self, key: str) -> CostTerms:
        return fitted_layer_keys()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(fitted_layer_keys())

    def __len__(self) -> int:
        return len(fitted_layer_keys())


#: Model key -> feature function (derived from the layer descriptors' ``fit_features``).
FEATURES: Mapping[str, CostTerms] = _Features()


def model_key(op_type: str, attrs: Attrs) -> str:
    """The fitted model's key of a layer (``MVAU/xnor`` vs ``MVAU/int``; else the op type)."""
    from qnncc.hw.registry import descriptors_by_op_type

    desc = descriptors_by_op_type().get(op_type)
    return desc.fit_key(attrs) if desc is not None and desc.fit_features is not None else op_type


def feature_vector(op_type: str, attrs: Attrs) -> tuple[str, dict[str, float]] | None:
    """``(model key, terms)`` of a layer, or None when the op type has no fitted model."""
    key = model_key(op_type, attrs)
    fn = fitted_layer_keys().get(key)
    return None if fn is None else (key, fn(attrs))
