"""The fitted resource model: LUTs and flip-flops per layer from least squares on Yosys measurements.

Data: ``yosys_measurements.json`` (package data next to this module), one row
per synthesised single-layer case (written by
``benchmarks/sweep_yosys_resources.py``: Yosys ``synth_xilinx -family xc7`` of
qnncc's RTL, LUTs including LUT RAM and shift registers). Per model key
(:func:`.features.model_key`) and target (``lut``, ``ff``) the coefficients
of the natural terms of :mod:`.features` are fitted by non-negative least
squares (numpy ``lstsq`` with terms of negative weight dropped until none is
left). The error :func:`fit_report` states is on held-back cases:
leave-one-out, each case predicted by the model fitted on all the others
(mean absolute percentage error and the largest error), next to the error
of FINN's formula (:func:`qnncc.hw.perf.estimate_layer`, ``emitted=True``)
on the same cases. The model is fitted on first use (well
under a second) and cached.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np

from .features import feature_vector

__all__ = ["FitStats", "FittedModel", "fit_report", "fitted_model", "fitted_resources", "load_measurements"]

DATA_FILE = "yosys_measurements.json"
TARGETS = ("lut", "ff")


def load_measurements() -> list[dict[str, Any]]:
    """The packaged measurement rows (``op_type``, ``attrs``, ``lut``, ``ff``, ...); empty if none are packaged."""
    path = resources.files("qnncc.hw.perf.fitted") / DATA_FILE
    if not path.is_file():
        return []
    return list(json.loads(path.read_text())["rows"])


def nonnegative_lstsq(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least squares ``min |x c - y|`` with ``c >= 0``: drop the most negative term and refit until none is negative."""
    active = list(range(x.shape[1]))
    coef = np.zeros(x.shape[1])
    while active:
        sol, *_ = np.linalg.lstsq(x[:, active], y, rcond=None)
        if (sol >= -1e-9).all():
            coef[active] = np.maximum(sol, 0.0)
            return coef
        active.pop(int(np.argmin(sol)))
    return coef


@dataclass(frozen=True)
class FitStats:
    """Fit error of one model key and target on the held-back cases.

    Attributes:
        key: model key, e.g. ``MVAU/xnor``.
        target: ``lut`` or ``ff``.
        cases: measured cases (all fitted; each held back once for the error).
        mape: mean absolute percentage error of each case predicted by the
            model fitted without it (leave-one-out), in %.
        max_error: the largest of those errors (%).
        finn_mape: mean absolute percentage error of FINN's formula on the
            same cases (LUTs only; NaN for FF).
        finn_max_error: the largest error of FINN's formula (%).
        coefficients: term -> fitted coefficient.
    """

    key: str
    target: str
    cases: int
    mape: float
    max_error: float
    finn_mape: float
    finn_max_error: float
    coefficients: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class FittedModel:
    """Coefficients per model key and target, and the fit statistics."""

    coefficients: dict[str, dict[str, dict[str, float]]]
    stats: list[FitStats]

    def predict(self, op_type: str, attrs: Mapping[str, Any]) -> dict[str, float] | None:
        """``{"lut": .., "ff": ..}`` of a layer, or None when its type has no fitted model."""
        found = feature_vector(op_type, attrs)
        if found is None or found[0] not in self.coefficients:
            return None
        key, terms = found
        return {t: sum(c * terms.get(name, 0.0) for name, c in self.coefficients[key][t].items()) for t in TARGETS}


def _percent_errors(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    return np.abs(pred - true) / np.maximum(true, 1.0) * 100.0


def _finn_luts(rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
    from qnncc.hw.perf import estimate_layer

    return np.array([float(estimate_layer(r["op_type"], r["attrs"], emitted=True).lut) for r in rows])


def _loo_predictions(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Leave-one-out: each case predicted by the model fitted on all the others (NaN with one case)."""
    n = len(y)
    if n < 2:
        return np.full(n, np.nan)
    keep = np.ones(n, bool)
    out = np.empty(n)
    for i in range(n):
        keep[i] = False
        out[i] = x[i] @ nonnegative_lstsq(x[keep], y[keep])
        keep[i] = True
    return out


def fit(rows: Sequence[Mapping[str, Any]], with_finn: bool = False) -> FittedModel:
    """Fit every model key and target on all rows; the error statistics are leave-one-out (each case held back)."""
    groups: dict[str, list[tuple[dict[str, float], Mapping[str, Any]]]] = {}
    for row in rows:
        found = feature_vector(row["op_type"], row["attrs"])
        if found is not None:
            groups.setdefault(found[0], []).append((found[1], row))
    coefficients: dict[str, dict[str, dict[str, float]]] = {}
    stats = []
    for key, items in sorted(groups.items()):
        names = sorted(items[0][0])
        x = np.array([[f[n] for n in names] for f, _ in items])
        coefficients[key] = {}
        for target in TARGETS:
            y = np.array([float(r[target]) for _, r in items])
            coef = nonnegative_lstsq(x, y)
            coefficients[key][target] = {n: float(c) for n, c in zip(names, coef, strict=True) if c > 0}
            err = _percent_errors(_loo_predictions(x, y), y)
            finn = np.array([np.nan])
            if with_finn and target == "lut":
                finn = _percent_errors(_finn_luts([r for _, r in items]), y)
            stats.append(
                FitStats(
                    key,
                    target,
                    len(items),
                    float(np.mean(err)),
                    float(np.max(err)),
                    float(np.mean(finn)),
                    float(np.max(finn)),
                    coefficients[key][target],
                )
            )
    return FittedModel(coefficients, stats)


@functools.cache
def fitted_model() -> FittedModel:
    """The model fitted on the packaged measurements (cached)."""
    return fit(load_measurements())


def fitted_resources(op_type: str, attrs: Mapping[str, Any]) -> dict[str, float] | None:
    """Fitted ``{"lut", "ff"}`` of a layer (FINN attribute names), or None without a fitted model for its type.

    Example:
        >>> r = fitted_resources("MVAU", {"MW": 784, "MH": 64, "PE": 2, "SIMD": 28, "inputDataType": "BINARY",
        ...     "weightDataType": "BINARY", "outputDataType": "BINARY", "binaryXnorMode": 1, "noActivation": 0,
        ...     "ram_style": "block"})
        >>> r is None or r["lut"] > 0
        True
    """
    op = op_type.removesuffix("_hls").removesuffix("_rtl")
    return fitted_model().predict(op, attrs)


def fit_report() -> str:
    """Markdown table of the fit per model key: cases, held-back error of the fitted model and of FINN's formula."""
    rows = load_measurements()
    if not rows:
        return "no measurements packaged (run benchmarks/sweep_yosys_resources.py)"
    model = fit(rows, with_finn=True)
    head = "| model | target | cases | held-back MAPE % | held-back max % | FINN MAPE % | FINN max % | coefficients |"
    lines = [head, "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    for s in model.stats:
        coef = ", ".join(f"{n} {c:.3g}" for n, c in sorted(s.coefficients.items()))
        finn = "- | -" if np.isnan(s.finn_mape) else f"{s.finn_mape:.0f} | {s.finn_max_error:.0f}"
        fitted = f"{s.mape:.1f} | {s.max_error:.1f}"
        lines.append(f"| {s.key} | {s.target.upper()} | {s.cases} | {fitted} | {finn} | {coef} |")
    return "\n".join(lines)
