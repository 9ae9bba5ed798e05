"""Brevitas QONNX exports: qnncc.execute reproduces the reference predictions.

Every model in both export styles; 500 images in CI, all 5,000 evaluation
images (MNIST test 5000..9999) in ``make test-full``.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import DATA

import qnncc

MODELS = ["cnv3_w2a2", "mlp_w2a2", "res2_w3a3", "dws_w4a4"]
EXPORTS = ["model_qonnx.onnx", "model_qonnx_torchscript.onnx"]
FIRST_EVAL_IMAGE = 5000


def _check(name: str, export: str, mnist, count: int) -> None:
    images = mnist[0][FIRST_EVAL_IMAGE : FIRST_EVAL_IMAGE + count] / np.float32(255.0)
    ref = np.load(DATA / "brevitas_dev" / name / "ref_preds.npy")[:count]
    model = qnncc.load(DATA / "brevitas_dev" / name / export)
    feeds = {model.graph_input_names()[0]: images}
    out = model.graph_output_names()[0]
    fast = qnncc.execute(model, feeds)[out]
    np.testing.assert_array_equal(fast.argmax(-1), ref)
    head = {k: v[:50] for k, v in feeds.items()}
    np.testing.assert_array_equal(qnncc.execute(model, head, backend="reference")[out], fast[:50])


@pytest.mark.parametrize("export", EXPORTS)
@pytest.mark.parametrize("name", MODELS)
def test_brevitas_subset(mnist, name, export):
    _check(name, export, mnist, 500)


@pytest.mark.slow
@pytest.mark.parametrize("export", EXPORTS)
@pytest.mark.parametrize("name", MODELS)
def test_brevitas_full(mnist, name, export):
    _check(name, export, mnist, 5000)
