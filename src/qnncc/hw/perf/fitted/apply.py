"""Swap the LUT and FF figures of a layer estimate for the fitted model's."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from ..estimate import EstimateError, LayerEstimate, ModuleEstimate
from .model import fitted_resources

__all__ = ["RESOURCE_MODELS", "with_fitted_resources"]

#: Resource models of :func:`qnncc.hw.perf.estimate_layer`.
RESOURCE_MODELS = ("finn", "fitted")


def with_fitted_resources(
    est: LayerEstimate, op_type: str, attrs: Mapping[str, Any], resource_model: str
) -> LayerEstimate:
    """``est`` with LUT and FF from the fitted model (unchanged for op types it does not cover).

    The module breakdown becomes one ``fitted_yosys`` module (the fit is per
    layer, not per block); cycles, BRAM, URAM and DSP stay the estimate's.

    Raises:
        EstimateError: for an unknown resource model.
    """
    if resource_model not in RESOURCE_MODELS:
        raise EstimateError(
            f"{op_type}: unknown resource model {resource_model!r}; known: {', '.join(RESOURCE_MODELS)}"
        )
    fitted = fitted_resources(op_type, attrs) if resource_model == "fitted" else None
    if fitted is None:
        return est
    lut, ff = round(fitted["lut"]), round(fitted["ff"])
    whole = ModuleEstimate("fitted_yosys", est.cycles, lut, ff, est.bram_18k, est.uram, est.dsp)
    return dataclasses.replace(est, lut=lut, ff=ff, modules=(whole,))
