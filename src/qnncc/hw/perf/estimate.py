"""Plain-data results of the performance model and the attribute reader.

The model is a set of pure functions from a layer's FINN attribute dict to a
:class:`LayerEstimate`. Costs are split into fpgaConvNet-style *modules*
(weight memory, multipliers, adder tree, line buffer, ...) so that a reader
can see where the LUTs and BRAMs of a layer go.

Units: cycles are clock cycles per frame (one input sample), memories are
counted in primitives (``bram_18k`` = RAMB18 halves, ``uram`` = 288 Kib
URAM blocks), LUT/FF/DSP in device primitives.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from qnncc.core.datatype import DataType
from qnncc.core.errors import DataTypeError, QnnccError, UnsupportedOpError

__all__ = [
    "Attrs",
    "EstimateError",
    "LayerEstimate",
    "ModuleEstimate",
    "NoEstimatorError",
    "SparsityHint",
    "layer_from_modules",
]


#: Backend name of the hardware qnncc emits (its own HLS library): estimators given it model
#: qnncc's loops instead of FINN's (``estimate_layer(..., emitted=True)``).
EMITTED = "qnncc"


class EstimateError(QnnccError, ValueError):
    """A layer's attributes cannot be estimated (missing, malformed or inconsistent)."""


class NoEstimatorError(EstimateError, UnsupportedOpError):
    """The op type has no estimator; raised instead of returning a silent zero."""


@dataclass(frozen=True)
class ModuleEstimate:
    """Cost of one hardware block inside a layer (fpgaConvNet's *module*).

    Attributes:
        name: Block name, e.g. ``"weight_memory"`` or ``"adder_tree"``.
        cycles: Cycles per frame the block is busy (0 for pure storage/control).
        lut: LUTs (float: FINN's fitted coefficients give fractions).
        ff: Flip-flops.
        bram_18k: RAMB18 primitives.
        uram: URAM blocks.
        dsp: DSP slices.
    """

    name: str
    cycles: int = 0
    lut: float = 0.0
    ff: float = 0.0
    bram_18k: int = 0
    uram: int = 0
    dsp: int = 0


@dataclass(frozen=True)
class LayerEstimate:
    """Cycles and resources of one streaming layer.

    Attributes:
        cycles: Initiation interval of the layer in cycles per frame (FINN
            ``get_exp_cycles``).
        lut: LUTs, the module sum truncated to an integer as FINN does.
        ff: Flip-flops (qnncc's register-count model; FINN has no FF estimate).
        bram_18k: RAMB18 primitives.
        uram: URAM blocks.
        dsp: DSP slices.
        modules: Breakdown by hardware block.
        latency_cycles: Cycles from first input to last output of a frame;
            equal to ``cycles`` unless the layer has a short fixed pipeline
            depth (FIFOs, width converters).
        bram_efficiency: Payload bits over allocated BRAM bits (1.0 if no BRAM).
        uram_efficiency: Payload bits over allocated URAM bits (1.0 if no URAM).
        drain_cycles: Cycles per frame on top of ``cycles`` in the hardware
            qnncc emits: the pipeline drain of the layer's HLS loop, which
            returns after every frame (the layer descriptor's ``latency`` in
            :mod:`qnncc.hw.registry`); 0 in FINN's model.
    """

    cycles: int
    lut: int
    ff: int
    bram_18k: int
    uram: int
    dsp: int
    modules: tuple[ModuleEstimate, ...] = ()
    latency_cycles: int = -1
    bram_efficiency: float = 1.0
    uram_efficiency: float = 1.0
    drain_cycles: int = 0

    @property
    def frame_cycles(self) -> int:
        """Cycles between frames of the layer alone: ``cycles + drain_cycles``."""
        return self.cycles + self.drain_cycles

    def __post_init__(self) -> None:
        if self.latency_cycles < 0:
            object.__setattr__(self, "latency_cycles", self.cycles)

    def resources(self) -> dict[str, int]:
        """Resources keyed by FINN's report names (``LUT``, ``FF``, ``BRAM_18K``, ``URAM``, ``DSP``)."""
        return {"LUT": self.lut, "FF": self.ff, "BRAM_18K": self.bram_18k, "URAM": self.uram, "DSP": self.dsp}


@dataclass(frozen=True)
class SparsityHint:
    """Distribution of zeros per sliding window, for the sparse cycle model.

    Attributes:
        histogram: ``histogram[j]`` = probability that a window holds ``j``
            zeros, ``j = 0 .. kernel_elems`` (normalised on use).
        kernel_elems: Elements per window (``K_h * K_w``).
    """

    histogram: tuple[float, ...]
    kernel_elems: int


def layer_from_modules(
    cycles: int,
    modules: Sequence[ModuleEstimate],
    *,
    latency_cycles: int = -1,
    bram_efficiency: float = 1.0,
    uram_efficiency: float = 1.0,
) -> LayerEstimate:
    """Build a :class:`LayerEstimate` whose resources are the sums over ``modules``.

    LUT and FF sums are truncated to integers (FINN's ``int(...)``).
    """
    return LayerEstimate(
        cycles=int(cycles),
        lut=int(sum(m.lut for m in modules) + 1e-9),
        ff=int(sum(m.ff for m in modules) + 1e-9),
        bram_18k=sum(m.bram_18k for m in modules),
        uram=sum(m.uram for m in modules),
        dsp=sum(m.dsp for m in modules),
        modules=tuple(modules),
        latency_cycles=latency_cycles,
        bram_efficiency=bram_efficiency,
        uram_efficiency=uram_efficiency,
    )


_MISSING: Any = object()


class Attrs:
    """Typed read access to a FINN attribute dict, with one-line errors naming the op.

    Values may be Python or numpy scalars, lists/tuples, or ``bytes`` (as ONNX
    stores strings).
    """

    def __init__(self, op_type: str, attrs: Mapping[str, Any]) -> None:
        self.op_type = op_type
        self._attrs = attrs

    def error(self, message: str) -> EstimateError:
        """An :class:`EstimateError` prefixed with the op type."""
        return EstimateError(f"{self.op_type}: {message}")

    def replace(self, **updates: Any) -> Attrs:
        """A copy with some attributes overridden (e.g. a resolved ``ram_style``)."""
        return Attrs(self.op_type, {**self._attrs, **updates})

    def has(self, name: str) -> bool:
        """Whether attribute ``name`` is present."""
        return name in self._attrs

    def _get(self, name: str, default: Any) -> Any:
        if name in self._attrs:
            return self._attrs[name]
        if default is _MISSING:
            raise self.error(f"attribute {name!r} is missing")
        return default

    def get_int(self, name: str, default: Any = _MISSING, *, minimum: int | None = 1) -> int:
        """Integer attribute, at least ``minimum`` (``None``: no bound)."""
        raw = self._get(name, default)
        try:
            value = int(raw)
        except (TypeError, ValueError):
            raise self.error(f"attribute {name!r} must be an integer, got {raw!r}") from None
        if value != raw:
            raise self.error(f"attribute {name!r} must be an integer, got {raw!r}")
        if minimum is not None and value < minimum:
            raise self.error(f"attribute {name!r} must be >= {minimum}, got {value}")
        return value

    def get_ints(self, name: str, default: Any = _MISSING, *, length: int | None = None) -> tuple[int, ...]:
        """List-of-integers attribute (a scalar is read as a 1-list; ``length`` 2 broadcasts it)."""
        raw = self._get(name, default)
        values = [raw] if isinstance(raw, int | float) or not hasattr(raw, "__iter__") else list(raw)
        try:
            out = tuple(int(v) for v in values)
        except (TypeError, ValueError):
            out = ()
        if len(out) != len(values) or any(o != v for o, v in zip(out, values, strict=False)):
            raise self.error(f"attribute {name!r} must be a list of integers, got {raw!r}")
        if length is not None:
            if len(out) == 1 and length > 1:
                out = out * length
            if len(out) != length:
                raise self.error(f"attribute {name!r} must have {length} entries, got {list(out)}")
        if any(v < 0 for v in out):
            raise self.error(f"attribute {name!r} must not be negative, got {list(out)}")
        return out

    def get_str(self, name: str, default: Any = _MISSING, *, choices: Sequence[str] | None = None) -> str:
        """String attribute (``bytes`` decoded), optionally one of ``choices``."""
        raw = self._get(name, default)
        value = raw.decode() if isinstance(raw, bytes) else str(raw)
        if choices is not None and value not in choices:
            raise self.error(f"attribute {name!r} must be one of {', '.join(choices)}; got {value!r}")
        return value

    def get_dtype(self, name: str, default: Any = _MISSING) -> DataType:
        """Datatype attribute, parsed with :meth:`DataType.from_name`."""
        return self._parse_dtype(name, self._get(name, default))

    def get_dtypes(self, name: str, default: Any = _MISSING) -> tuple[DataType, ...]:
        """List-of-datatypes attribute (e.g. AddStreams ``inputDataTypes``)."""
        raw = self._get(name, default)
        names = [raw] if isinstance(raw, str | bytes | DataType) else list(raw)
        return tuple(self._parse_dtype(name, n) for n in names)

    def _parse_dtype(self, name: str, raw: Any) -> DataType:
        if isinstance(raw, DataType):
            return raw
        try:
            return DataType.from_name(raw.decode() if isinstance(raw, bytes) else str(raw))
        except DataTypeError as exc:
            raise self.error(f"attribute {name!r}: {exc}") from None

    def divides(self, part_name: str, part: int, whole_name: str, whole: int) -> int:
        """``whole // part``; raises if ``part`` does not divide ``whole`` (FINN's folding rule)."""
        if whole % part != 0:
            raise self.error(f"{part_name}={part} must divide {whole_name}={whole}")
        return whole // part


def prod(values: Sequence[int]) -> int:
    """Product of integers (1 for an empty sequence)."""
    return math.prod(values)


def ceil_log2(n: int) -> int:
    """Bits to address ``n`` items (0 for ``n <= 1``)."""
    return max(0, (int(n) - 1).bit_length())
