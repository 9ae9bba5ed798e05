"""Golden-model regression: qnncc.execute reproduces the reference accuracies.

The 500-image subset runs in CI with exact expected counts; the full
10,000-image checks are marked slow (``make test-full``).
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import GOLDEN

import qnncc
from qnncc.data import demo_inputs

# Correct predictions on MNIST test images 0..499, measured independently of qnncc, one
# image at a time: qonnx 1.0.0 execute_onnx for TFC-W1A1, plain onnxruntime for the others.
SUBSET = 500
SUBSET_CORRECT = {"tfc_w1a1": 461, "lfc_w1a1": 494, "mnist_conv": 493}


def _predict(model: qnncc.ModelWrapper, name: str, images: np.ndarray, backend: str) -> np.ndarray:
    g = GOLDEN[name]
    out = qnncc.execute(model, {model.graph_input_names()[0]: images / g.input_scale}, backend=backend)
    return g.predict(out[model.graph_output_names()[0]])


def test_tfc_reproduces_expected_output(golden_models):
    images, expected = demo_inputs()
    for backend in ("fast", "reference"):
        pred = _predict(golden_models["tfc_w1a1"], "tfc_w1a1", images, backend)
        np.testing.assert_array_equal(pred, expected)


def test_mnist_conv_reproduces_test_data_set(golden_models):
    import onnx
    from conftest import DATA

    x = onnx.numpy_helper.to_array(onnx.load_tensor(str(DATA / "mnist_conv/test_data_set_0/input_0.pb")))
    y = onnx.numpy_helper.to_array(onnx.load_tensor(str(DATA / "mnist_conv/test_data_set_0/output_0.pb")))
    model = golden_models["mnist_conv"]
    out = qnncc.execute(model, {"Input3": x})["Plus214_Output_0"]
    np.testing.assert_allclose(out, y, rtol=1e-4, atol=1e-2)
    assert out.argmax() == y.argmax() == 2


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_subset_accuracy_and_backends_agree(golden_models, mnist, name):
    images, labels = mnist[0][:SUBSET], mnist[1][:SUBSET]
    model = golden_models[name]
    g = GOLDEN[name]
    feeds = {model.graph_input_names()[0]: images / g.input_scale}
    fast = qnncc.execute(model, feeds, backend="fast")
    ref = qnncc.execute(model, feeds, backend="reference")
    for key in fast:
        np.testing.assert_array_equal(fast[key], ref[key])  # bit-exact, floats included
    pred = g.predict(fast[model.graph_output_names()[0]])
    assert int((pred == labels).sum()) == SUBSET_CORRECT[name]


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_batched_equals_per_image(golden_models, mnist, name):
    images = mnist[0][:8]
    model = golden_models[name]
    batched = _predict(model, name, images, "fast")
    single = np.concatenate([_predict(model, name, images[i : i + 1], "fast") for i in range(len(images))])
    np.testing.assert_array_equal(batched, single)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_full_test_set_accuracy(golden_models, mnist, name):
    images, labels = mnist
    model = golden_models[name]
    g = GOLDEN[name]
    feeds = {model.graph_input_names()[0]: images / g.input_scale}
    fast = qnncc.execute(model, feeds, backend="fast")
    ref = qnncc.execute(model, feeds, backend="reference")
    out = model.graph_output_names()[0]
    np.testing.assert_array_equal(fast[out], ref[out])
    correct = int((g.predict(fast[out]) == labels).sum())
    assert correct == round(g.accuracy * len(labels))
