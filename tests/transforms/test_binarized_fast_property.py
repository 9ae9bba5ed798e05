"""Fast path = reference on binarized Gemm/BatchNormalization chains (issue 15, item 1).

FINN's binarized TFC after ``ConvertQONNXtoFINN`` gave logits up to 8 apart
between the two back ends: onnxruntime's graph optimizations (even the BASIC
level) fuse ``MatMul`` + ``BatchNormalization`` into a ``Gemm`` whose
rounding differs, which flips the bipolar activation of accumulators sitting
exactly on the BatchNormalization's zero crossing. The property: for random
Brevitas-style binarized MLPs (:mod:`binarized_graphs`), before and after
``ConvertQONNXtoFINN`` and ``Streamline``, both back ends agree bit for bit,
at batch 1 and batched.
"""

from __future__ import annotations

import numpy as np
import pytest
from binarized_graphs import binarized_mlp, pixels
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from qnncc.transforms.qonnx import ConvertQONNXtoFINN
from qnncc.transforms.streamline.sequence import Streamline

import qnncc
from qnncc import ModelWrapper


def _agree(model: ModelWrapper, x: np.ndarray) -> None:
    ref = np.concatenate([qnncc.execute(model, {"inp": row[None]}, backend="reference")["out"] for row in x])
    single = np.concatenate([qnncc.execute(model, {"inp": row[None]})["out"] for row in x])
    batched = qnncc.execute(model, {"inp": x})["out"]
    np.testing.assert_array_equal(single, ref)
    np.testing.assert_array_equal(batched, ref)


@pytest.mark.parametrize("opset", [11, 13])
def test_tfc_like_fast_equals_reference_after_conversion(opset):
    """The reported construction: 784-256-256-256-10, integer BatchNorm means (failed at opset 11 before)."""
    model = binarized_mlp(0, dims=(784, 256, 256, 256, 10), opset=opset)
    x = pixels(1, 16, 784)
    _agree(model, x)
    converted = model.transform(ConvertQONNXtoFINN())
    _agree(converted, x)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**16),
    depth=st.integers(1, 3),
    width=st.sampled_from([16, 48, 128]),
    opset=st.sampled_from([11, 13]),
    integer_means=st.booleans(),
    weight_scale=st.sampled_from([1.0, 0.5, 0.037]),
)
def test_binarized_chain_fast_equals_reference(seed, depth, width, opset, integer_means, weight_scale):
    dims = (96, *([width] * depth), 10)
    model = binarized_mlp(seed, dims, opset, integer_means, weight_scale)
    x = pixels(seed + 1, 6, dims[0])
    _agree(model, x)
    model = model.transform(ConvertQONNXtoFINN())
    _agree(model, x)
    model = model.transform(Streamline())
    _agree(model, x)
