"""Streamlining the golden binarized MLPs: structure, integer constants, identical predictions.

500 images in CI; the full 10,000-image test set in ``make test-full``.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import GOLDEN
from qnncc.transforms import InferShapes, Tidy
from qnncc.transforms.streamline.sequence import Streamline
from qnncc.transforms.streamline.topk import InsertInputScaling, InsertTopK

import qnncc

ALLOWED = {"MatMul", "XnorPopcountMatMul", "MultiThreshold", "TopK", "Reshape"}


def _streamlined(name: str) -> tuple[qnncc.ModelWrapper, qnncc.ModelWrapper]:
    before = qnncc.load(GOLDEN[name].path).transform(Tidy())
    after = before.copy()
    if name == "lfc_w1a1":  # trained on pixels/255: take UINT8 pixels and output the class index
        after = after.transform(InsertInputScaling(1 / 255, "UINT8")).transform(InsertTopK()).transform(InferShapes())
    return before, after.transform(Streamline())


def _predictions(model: qnncc.ModelWrapper, images: np.ndarray) -> np.ndarray:
    out = qnncc.execute(model, {model.graph_input_names()[0]: images})[model.graph_output_names()[0]]
    return out.reshape(len(images), -1).argmax(-1) if out.shape[-1] > 1 else out.reshape(-1)


@pytest.fixture(scope="module", params=["tfc_w1a1", "lfc_w1a1"])
def streamlined(request):
    return request.param, *_streamlined(request.param)


def test_only_hw_mappable_ops_remain(streamlined):
    _, _, after = streamlined
    ops = [n.op_type for n in after.graph.node]
    assert set(ops) <= ALLOWED, ops
    assert ops.count("Reshape") <= 1 and ops[0] == "Reshape"
    assert ops.count("MultiThreshold") == 4 and ops[-1] == "TopK"


def test_initializers_are_annotated_integers(streamlined):
    _, _, after = streamlined
    for init in after.graph.initializer:
        value = after.get_initializer(init.name)
        assert value is not None and np.array_equal(value, np.round(value)), init.name
        dt = after.get_tensor_datatype(init.name)
        assert dt.is_integer(), (init.name, dt)
        assert bool(np.all(dt.allowed(value))), (init.name, dt)


def _check(streamlined, images, labels):
    name, before, after = streamlined
    scale = GOLDEN[name].input_scale
    ref = _predictions(before, images / np.float32(scale))
    got = _predictions(after, images)
    np.testing.assert_array_equal(got, ref)
    return int((got == labels).sum())


def test_identical_predictions_subset(streamlined, mnist):
    correct = _check(streamlined, mnist[0][:500], mnist[1][:500])
    assert correct == {"tfc_w1a1": 461, "lfc_w1a1": 494}[streamlined[0]]


@pytest.mark.slow
def test_identical_predictions_full(streamlined, mnist):
    correct = _check(streamlined, *mnist)
    assert correct == round(GOLDEN[streamlined[0]].accuracy * 10000)
