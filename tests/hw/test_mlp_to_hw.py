"""TFC-W1A1 and LFC-W1A1 to HW layers: names, partition, folding files, identical predictions."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import GOLDEN
from qnncc.transforms import (
    ConvertBipolarMatMulToXnorPopcount,
    GiveUniqueNodeNames,
    InferShapes,
    InsertInputScaling,
    InsertTopK,
    Streamline,
    Tidy,
)
from qnncc.transforms.hw import (
    ApplyFoldingConfig,
    CreateDataflowPartition,
    InferBinaryMatrixVectorActivation,
    InferLabelSelectLayer,
    InferQuantizedMatrixVectorActivation,
    InferThresholdingLayer,
    extract_folding_config,
    iter_hw_nodes,
)

import qnncc
from qnncc.core.errors import TransformationError
from qnncc.data import demo_folding_config

HW_NAMES = ["Thresholding_0", "MVAU_0", "MVAU_1", "MVAU_2", "MVAU_3", "LabelSelect_0"]


def to_hw(name: str) -> tuple[qnncc.ModelWrapper, qnncc.ModelWrapper, CreateDataflowPartition]:
    source = qnncc.load(GOLDEN[name].path).transform(Tidy())
    model = source.copy()
    if name == "lfc_w1a1":
        model = model.transform(InsertInputScaling(1 / 255, "UINT8")).transform(InsertTopK()).transform(InferShapes())
    model = model.transform(Streamline()).transform(ConvertBipolarMatMulToXnorPopcount()).transform(Streamline())
    for step in (
        InferBinaryMatrixVectorActivation(),
        InferQuantizedMatrixVectorActivation(),
        InferThresholdingLayer(),
        InferLabelSelectLayer(),
        GiveUniqueNodeNames(),
    ):
        model = model.transform(step)
    partition = CreateDataflowPartition()
    return source, model.transform(partition), partition


@pytest.fixture(scope="module", params=["tfc_w1a1", "lfc_w1a1"])
def hw(request):
    return (request.param, *to_hw(request.param))


def _predict(model: qnncc.ModelWrapper, images: np.ndarray, backend: str = "fast") -> np.ndarray:
    out = qnncc.execute(model, {model.graph_input_names()[0]: images}, backend=backend)  # type: ignore[arg-type]
    y = out[model.graph_output_names()[0]]
    return y.reshape(len(images), -1).argmax(-1) if y.shape[-1] > 1 else y.reshape(-1)


def test_one_partition_of_hw_layers_with_finn_names(hw):
    _, _, model, partition = hw
    assert [n.op_type for n in model.graph.node] == ["Reshape", "StreamingDataflowPartition"]
    assert partition.software_nodes == [("Reshape_0", "Reshape")]
    assert [n.name for n in iter_hw_nodes(model)] == HW_NAMES
    model.check()


def test_predictions_identical_subset(hw, mnist):
    name, source, model, _ = hw
    images = mnist[0][:300]
    ref = _predict(source, images / np.float32(GOLDEN[name].input_scale))
    np.testing.assert_array_equal(_predict(model, images), ref)
    np.testing.assert_array_equal(_predict(model, images[:20], "reference"), ref[:20])


@pytest.mark.slow
def test_predictions_identical_full(hw, mnist):
    name, source, model, _ = hw
    images, labels = mnist
    ref = _predict(source, images / np.float32(GOLDEN[name].input_scale))
    got = _predict(model, images)
    np.testing.assert_array_equal(got, ref)
    assert int((got == labels).sum()) == round(GOLDEN[name].accuracy * 10000)


def test_finn_folding_file_applies_and_reports_unknown_names(tmp_path):
    _, model, _ = to_hw("tfc_w1a1")
    path = tmp_path / "folding.json"
    path.write_text(json.dumps(demo_folding_config()))
    step = ApplyFoldingConfig(path)
    model = model.transform(step)
    assert step.unmatched == ["MVA_hls_3"]  # the golden file's misspelt key
    folding = extract_folding_config(model)
    assert folding["Thresholding_0"]["PE"] == 49
    assert (folding["MVAU_0"]["PE"], folding["MVAU_0"]["SIMD"], folding["MVAU_0"]["ram_style"]) == (16, 49, "block")
    assert (folding["MVAU_3"]["PE"], folding["MVAU_3"]["SIMD"]) == (1, 1)
    again = to_hw("tfc_w1a1")[1].transform(ApplyFoldingConfig(folding))
    assert extract_folding_config(again) == folding


def test_illegal_folding_is_a_clear_error():
    _, model, _ = to_hw("tfc_w1a1")
    with pytest.raises(TransformationError, match=r"MVAU_0.*SIMD=50.*legal"):
        model.transform(ApplyFoldingConfig({"MVAU_0": {"SIMD": 50}}))
    with pytest.raises(TransformationError, match="no attribute 'Foo'"):
        model.transform(ApplyFoldingConfig({"MVAU_1": {"Foo": 1}}))


def test_folding_does_not_change_function(mnist):
    source, model, _ = to_hw("tfc_w1a1")
    folded = model.copy().transform(
        ApplyFoldingConfig({"MVAU_0": {"PE": 16, "SIMD": 49}, "Thresholding_0": {"PE": 49}})
    )
    images = mnist[0][:100]
    np.testing.assert_array_equal(_predict(folded, images), _predict(source, images))
