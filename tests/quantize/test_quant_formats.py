"""Quantizer formats: the reference's affine min/max quantizer, symmetric INTn, format names."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from qnncc.transforms.quantize import FORMATS, affine_params, get_format, symmetric_params

from qnncc.core.errors import QnnccError


def reference_affine(x: np.ndarray, lo: float, hi: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """fpgaConvNet's emulation in float64: integers and dequantized values."""
    scale = (2**n - 1) / max(hi - lo, 1e-8)
    zero = np.round(scale * lo) + 2 ** (n - 1)
    q = np.clip(np.round(scale * x.astype(np.float64) - zero), -(2 ** (n - 1)), 2 ** (n - 1) - 1)
    return q, (q + zero) / scale


def test_affine_params_hand_computed():
    # n = 8, [lo, hi] = [-1, 3]: scale = 255/4 = 63.75, zero = round(-63.75) + 128 = 64
    p = affine_params(np.asarray(-1.0), np.asarray(3.0), 8)
    assert p.bits == 8 and p.signed and not p.narrow
    assert float(p.zeropt) == -64.0
    assert float(p.scale) == pytest.approx(4 / 255)
    x = np.array([-1.0, 0.0, 1.0, 3.0, 10.0, -5.0], np.float32)
    q = p.integers(x)
    np.testing.assert_array_equal(q, [-128, -64, 0, 127, 127, -128])  # clamped at both ends
    np.testing.assert_allclose(
        p.fake_quantize(x), [-64 / 63.75, 0, 64 / 63.75, 191 / 63.75, 191 / 63.75, -64 / 63.75], 1e-6
    )
    assert p.fake_quantize(np.zeros(3, np.float32)).tolist() == [0.0, 0.0, 0.0]  # integer zero-point: 0 is exact


@settings(max_examples=60, deadline=None)
@given(
    st.floats(0, 1),
    st.floats(1e-3, 200),
    st.sampled_from([2, 4, 8, 16]),
    st.integers(0, 2**31 - 1),
)
def test_affine_matches_reference_emulation(frac, width, n, seed):
    # ranges that hold 0, as weight and activation ranges do (far from 0, |x / s| outgrows float32 at 16 bits)
    lo = -frac * width
    hi = lo + width
    rng = np.random.default_rng(seed)
    x = rng.uniform(lo - width / 4, hi + width / 4, 500).astype(np.float32)
    p = affine_params(np.asarray(lo), np.asarray(hi), n)
    q_ref, y_ref = reference_affine(x, lo, hi, n)
    q = p.integers(x)
    # x / s + z in float32 against scale * x - zero in float64: equal except next to rounding ties
    assert np.mean(q == q_ref) > 0.98
    assert np.max(np.abs(q - q_ref)) <= 1
    step = width / (2**n - 1)
    np.testing.assert_allclose(p.fake_quantize(x), y_ref, atol=1.01 * step + 1e-5 * (abs(lo) + width))


def test_per_channel_affine_broadcasts():
    lo = np.array([-1.0, 0.0, -2.0]).reshape(3, 1, 1, 1)
    hi = np.array([1.0, 4.0, 0.5]).reshape(3, 1, 1, 1)
    p = affine_params(lo, hi, 8)
    assert p.scale.shape == (3, 1, 1, 1) and p.zeropt.shape == (3, 1, 1, 1)
    w = np.random.default_rng(0).uniform(-2, 4, (3, 2, 3, 3)).astype(np.float32)
    for c in range(3):
        pc = affine_params(lo[c], hi[c], 8)
        np.testing.assert_array_equal(p.fake_quantize(w)[c], pc.fake_quantize(w[c]))


def test_symmetric_weights_and_activations():
    w = symmetric_params(np.asarray(-0.5), np.asarray(1.27), 8, weight=True)
    assert w.signed and w.narrow and float(w.zeropt) == 0 and float(w.scale) == pytest.approx(0.01)
    np.testing.assert_array_equal(w.integers(np.array([1.27, -1.27, 0.0, 5.0], np.float32)), [127, -127, 0, 127])
    a = symmetric_params(np.asarray(0.0), np.asarray(25.5), 8, weight=False)
    assert not a.signed and float(a.scale) == pytest.approx(0.1)
    np.testing.assert_array_equal(a.integers(np.array([0, 25.5, 30, -1], np.float32)), [0, 255, 255, 0])
    s = symmetric_params(np.asarray(-3.0), np.asarray(1.0), 4, weight=False)
    assert s.signed and float(s.scale) == pytest.approx(3 / 7)
    z = symmetric_params(np.asarray(0.0), np.asarray(0.0), 4, weight=True)  # all-zero tensor: positive scale
    assert float(z.scale) > 0 and z.fake_quantize(np.zeros(2, np.float32)).tolist() == [0.0, 0.0]


def test_format_names():
    assert list(FORMATS) == [
        "float32", "fixed16", "fixed8", "bfp8-layer", "bfp8-channel", "int8-channel", "int4-channel",
    ]  # fmt: skip
    assert get_format("fixed16").weight_scope == "network" and get_format("fixed16").act_bits == 16
    assert get_format("BFP8-Channel").act_scope == "channel"
    f = get_format("int3-tensor-affine")
    assert (f.weight_bits, f.weight_scope, f.act_scope, f.scheme) == (3, "tensor", "tensor", "affine")
    f = get_format("int2-channel")
    assert (f.weight_scope, f.act_scope, f.scheme) == ("channel", "tensor", "symmetric")
    assert get_format("bfp6-layer").weight_scope == "tensor" and get_format("fixed12").weight_bits == 12
    assert get_format("float32").is_float
    for bad in ("int9-channel", "int1-tensor", "bfp8-row", "float16", "fixed40"):
        with pytest.raises(QnnccError):
            get_format(bad)
