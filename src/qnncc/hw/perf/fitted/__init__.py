"""A resource model fitted on Yosys synthesis of qnncc's own RTL (``resource_model="fitted"``).

FINN's analytic LUT formulas were fitted to Vivado results of FINN's HLS
library; the hardware qnncc's RTL backend emits costs differently (e.g. an
XNOR-popcount lane is about 2.5 LUTs against 6.6 in FINN's formula). This
package holds single-layer Yosys measurements over a sweep of layer types,
foldings, bit widths and memory styles (:mod:`qnncc.codegen.rtl.fit_cases`,
``benchmarks/sweep_yosys_resources.py``), the natural cost terms each layer
type declares in its descriptor (``fit_features``, collected by
:mod:`.features`, built from :mod:`.terms`) and their least-squares fit with its error on
held-back cases (:mod:`.model`). ``estimate_layer(..., resource_model="fitted")``
and the folding optimiser's ``resources`` mode use it for LUTs and FFs; BRAM,
URAM and DSP stay FINN's (Yosys' BRAM counts match them).
"""

from __future__ import annotations

from .model import FitStats, FittedModel, fit_report, fitted_model, fitted_resources, load_measurements

__all__ = ["FitStats", "FittedModel", "fit_report", "fitted_model", "fitted_resources", "load_measurements"]
