"""Number formats of post-training quantization and their quantizer parameters.

The formats are those of fpgaConvNet's PyTorch front end (``fpgaconvnet-torch``,
``quantization/utils.py``): a min/max *affine* quantizer of ``n`` bits,

    scale = (2^n - 1) / (max - min),   zero = round(scale * min) + 2^(n-1),
    q = clamp(round(scale * x - zero), -2^(n-1), 2^(n-1) - 1),   x' = (q + zero) / scale,

with the range ``[min, max]`` taken once for the whole network (``Fixed16``,
``Fixed8``: one range for all weights, one for all activations), once per
tensor (``BFP8 (Layer)``) or once per output channel (``BFP8 (Channel)``; the
activations then use one range per channel, axis 1). Integer formats
``INTn`` (n = 2..8) add a *symmetric* quantizer with zero-point 0 (weights
signed narrow-range ``[-(2^(n-1)-1), 2^(n-1)-1]``; activations unsigned
``[0, 2^n-1]`` when the calibrated minimum is >= 0, else signed), which is what
the integer HW flow needs (FINN folds only zero-point-0 weight quantizers into
integer weights).

Every quantizer is written as a QONNX ``Quant`` node,
``y = (round(clamp(x / s + z, lo, hi)) - z) * s``: the affine quantizer maps to
``s = 1 / scale`` and ``z = -zero`` (signed, not narrow), which is the same
function up to float32 rounding of ``x / s`` versus ``scale * x``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import numpy as np

from qnncc.core.errors import QnnccError

__all__ = [
    "FORMATS",
    "QuantFormat",
    "QuantParams",
    "Scheme",
    "Scope",
    "affine_params",
    "get_format",
    "params_for_range",
    "symmetric_params",
]

Scope = Literal["network", "tensor", "channel"]
Scheme = Literal["affine", "symmetric"]

#: Smallest range used for a constant tensor (``max == min``), as the reference's ``clamp(min=1e-8)``.
MIN_RANGE = 1e-8


@dataclass(frozen=True)
class QuantFormat:
    """A post-training quantization format.

    Attributes:
        name: command-line name, e.g. ``"bfp8-channel"``.
        label: table label, e.g. ``"BFP8 (Channel)"``.
        weight_bits: bits of the weights (0: not quantized, the float format).
        act_bits: bits of the activations (0: not quantized).
        weight_scope: ``"network"``, ``"tensor"`` or ``"channel"`` (per output channel).
        act_scope: ``"network"``, ``"tensor"`` or ``"channel"`` (per channel, axis 1).
        scheme: ``"affine"`` (the reference's min/max quantizer) or ``"symmetric"``
            (zero-point 0).
    """

    name: str
    label: str
    weight_bits: int
    act_bits: int
    weight_scope: Scope = "tensor"
    act_scope: Scope = "tensor"
    scheme: Scheme = "affine"

    @property
    def is_float(self) -> bool:
        """Whether the format leaves the model in float32 (nothing is quantized)."""
        return self.weight_bits == 0 and self.act_bits == 0


@dataclass(frozen=True)
class QuantParams:
    """Parameters of one QONNX ``Quant`` node.

    Attributes:
        scale: ``s`` (float32, scalar or broadcastable per channel), > 0.
        zeropt: ``z`` (float32, same shape as ``scale``), integer-valued.
        bits: bit width.
        signed: signed integer grid.
        narrow: narrow range (``-2^(n-1)`` excluded).
    """

    scale: np.ndarray
    zeropt: np.ndarray
    bits: int
    signed: bool
    narrow: bool

    def integers(self, x: np.ndarray) -> np.ndarray:
        """The integer grid values ``round(clamp(x / s + z))`` (float32) of ``x``."""
        from qnncc.custom_op.quant import max_int, min_int

        y = np.asarray(x, np.float32) / self.scale + self.zeropt
        lo, hi = (
            np.float32(min_int(self.signed, self.narrow, self.bits)),
            np.float32(max_int(self.signed, self.narrow, self.bits)),
        )
        return np.round(np.minimum(np.maximum(y, lo), hi)).astype(np.float32)

    def fake_quantize(self, x: np.ndarray) -> np.ndarray:
        """``Quant(x)``: the dequantized values, exactly as the QONNX node computes them."""
        from qnncc.custom_op.quant import int_quant

        return int_quant(
            np.asarray(x, np.float32), self.scale, self.zeropt, self.bits, self.signed, self.narrow, "ROUND"
        )


def affine_params(lo: np.ndarray, hi: np.ndarray, bits: int) -> QuantParams:
    """The reference's asymmetric min/max quantizer (fpgaConvNet ``asymmetric_linear_no_clipping``).

    ``scale = (2^n - 1) / max(hi - lo, 1e-8)``, ``zero = round(scale * lo) + 2^(n-1)``,
    computed in float64; the QONNX form is ``s = 1 / scale``, ``z = -zero``, signed.

    Args:
        lo: calibrated minimum (scalar or per channel).
        hi: calibrated maximum (same shape).
        bits: bit width n.

    Returns:
        The QONNX parameters.
    """
    lo64, hi64 = np.asarray(lo, np.float64), np.asarray(hi, np.float64)
    scale = (2.0**bits - 1) / np.maximum(hi64 - lo64, MIN_RANGE)
    zero = np.round(scale * lo64) + 2.0 ** (bits - 1)
    return QuantParams(
        scale=(1.0 / scale).astype(np.float32),
        zeropt=(-zero).astype(np.float32),
        bits=bits,
        signed=True,
        narrow=False,
    )


def symmetric_params(lo: np.ndarray, hi: np.ndarray, bits: int, weight: bool) -> QuantParams:
    """A zero-point-0 quantizer covering ``[lo, hi]``.

    Weights are signed narrow-range: ``s = max|w| / (2^(n-1) - 1)``. Activations are
    unsigned when ``lo >= 0`` everywhere (``s = hi / (2^n - 1)``), else signed with
    ``s = max(|lo|, |hi|) / (2^(n-1) - 1)``.

    Args:
        lo: calibrated minimum (scalar or per channel).
        hi: calibrated maximum (same shape).
        bits: bit width n (>= 2).
        weight: quantize weights (signed, narrow) rather than activations.

    Returns:
        The QONNX parameters.
    """
    lo64, hi64 = np.asarray(lo, np.float64), np.asarray(hi, np.float64)
    unsigned = not weight and bool(np.all(lo64 >= 0))
    if unsigned:
        scale = np.maximum(hi64, MIN_RANGE) / (2.0**bits - 1)
    else:
        scale = np.maximum(np.maximum(np.abs(lo64), np.abs(hi64)), MIN_RANGE) / (2.0 ** (bits - 1) - 1)
    return QuantParams(
        scale=scale.astype(np.float32),
        zeropt=np.zeros_like(scale, dtype=np.float32),
        bits=bits,
        signed=not unsigned,
        narrow=weight,
    )


def params_for_range(fmt: QuantFormat, lo: np.ndarray, hi: np.ndarray, weight: bool) -> QuantParams:
    """Quantizer parameters of ``fmt`` for a calibrated range (weights or activations)."""
    bits = fmt.weight_bits if weight else fmt.act_bits
    if fmt.scheme == "symmetric":
        return symmetric_params(lo, hi, bits, weight)
    return affine_params(lo, hi, bits)


FORMATS: dict[str, QuantFormat] = {
    f.name: f
    for f in (
        QuantFormat("float32", "Float32", 0, 0),
        QuantFormat("fixed16", "Fixed16", 16, 16, "network", "network"),
        QuantFormat("fixed8", "Fixed8", 8, 8, "network", "network"),
        QuantFormat("bfp8-layer", "BFP8 (Layer)", 8, 8, "tensor", "tensor"),
        QuantFormat("bfp8-channel", "BFP8 (Channel)", 8, 8, "channel", "channel"),
        QuantFormat("int8-channel", "INT8 (Channel)", 8, 8, "channel", "tensor", "symmetric"),
        QuantFormat("int4-channel", "INT4 (Channel)", 4, 4, "channel", "tensor", "symmetric"),
    )
}

_INT = re.compile(r"int(\d+)-(tensor|channel)(?:-(affine|symmetric))?")
_FIXED = re.compile(r"fixed(\d+)")
_BFP = re.compile(r"bfp(\d+)-(layer|channel)")


def get_format(name: str | QuantFormat) -> QuantFormat:
    """A format by name.

    Besides the names in :data:`FORMATS`, accepts ``fixed<n>``, ``bfp<n>-layer``,
    ``bfp<n>-channel`` (n = 2..16) and ``int<n>-tensor`` / ``int<n>-channel``
    (n = 2..8) with an optional ``-affine`` or ``-symmetric`` suffix (default
    symmetric). ``int<n>-channel`` quantizes weights per output channel and
    activations per tensor.

    Raises:
        QnnccError: for an unknown name or a bit width out of range.
    """
    if isinstance(name, QuantFormat):
        return name
    key = name.strip().lower()
    if key in FORMATS:
        return FORMATS[key]
    if m := _INT.fullmatch(key):
        bits, scope, scheme = int(m[1]), m[2], m[3] or "symmetric"
        if not 2 <= bits <= 8:
            raise QnnccError(f"format {name!r}: integer formats have 2..8 bits")
        label = f"INT{bits} ({scope.title()}{', affine' if scheme == 'affine' else ''})"
        w_scope: Scope = "channel" if scope == "channel" else "tensor"
        return QuantFormat(
            key, label, bits, bits, w_scope, "tensor", "symmetric" if scheme == "symmetric" else "affine"
        )
    if (m := _FIXED.fullmatch(key)) or (m := _BFP.fullmatch(key)):
        bits = int(m[1])
        if not 2 <= bits <= 16:
            raise QnnccError(f"format {name!r}: fixed/BFP formats have 2..16 bits")
        if key.startswith("fixed"):
            return QuantFormat(key, f"Fixed{bits}", bits, bits, "network", "network")
        bfp_scope: Scope = "tensor" if m[2] == "layer" else "channel"
        return QuantFormat(key, f"BFP{bits} ({m[2].title()})", bits, bits, bfp_scope, bfp_scope)
    known = ", ".join(FORMATS)
    raise QnnccError(f"unknown quantization format {name!r}; known: {known}, int<n>-tensor|channel[-affine]")
