"""Brevitas QONNX CNNs through ``qnncc.flow.estimate``'s flow into one dataflow partition of HW layers.

For each development model (``tests/data/brevitas_dev``) and both export
styles: after every step of :func:`qnncc.flow.estimate.hw_pipeline` and after
partitioning, ``qnncc.execute`` reproduces the reference predictions
(``ref_preds.npy``, MNIST test images 5000..9999); everything up to the
classifier head is one ``StreamingDataflowPartition`` of the expected HW
layers; and the float head left in software (a per-class scale and bias
before the top-1, which integer HW cannot reproduce exactly) is named in
the estimate's software report. CI checks 500 images after partitioning and
100 after each step; ``make test-full`` all 5,000 everywhere.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterator

import numpy as np
import pytest
from conftest import DATA

import qnncc
from qnncc import ModelWrapper
from qnncc.core.pipeline import Pipeline
from qnncc.custom_op.partition import StreamingDataflowPartition
from qnncc.flow.estimate import EstimateResult, estimate, hw_pipeline
from qnncc.ingest import load

MODELS = ["mlp_w2a2", "cnv3_w2a2", "dws_w4a4", "res2_w3a3"]
EXPORTS = ["model_qonnx.onnx", "model_qonnx_torchscript.onnx"]
FIRST_EVAL_IMAGE = 5000
#: Steps before ``prepare_io`` take ``pixels / 255``; from there on the raw pixels (``InsertInputScaling``).
FLOAT_INPUT_STEPS = ("tidy", "qonnx_to_finn")

#: HW layers of the single partition (the shape-only Reshape/Flatten nodes inside it are not counted).
#: The 255-step UINT8 -> UINT8 input thresholding every model had is an identity and removed
#: (``RemoveIdentityThresholds``); the input's Reshape/Flatten then stays in software.
HW_LAYERS = {
    "mlp_w2a2": {"MVAU": 3},
    "cnv3_w2a2": {"FMPadding": 2, "ConvolutionInputGenerator": 3, "MVAU": 4, "StreamingMaxPool": 2},
    "dws_w4a4": {
        "Thresholding": 1,
        "FMPadding": 3,
        "ConvolutionInputGenerator": 3,
        "MVAU": 4,
        "VVAU": 2,
        "GlobalAccPool": 1,
    },
    "res2_w3a3": {
        "Thresholding": 4,
        "FMPadding": 5,
        "ConvolutionInputGenerator": 5,
        "MVAU": 6,
        "StreamingMaxPool": 2,
        "DuplicateStreams": 2,
        "AddStreams": 2,
    },
}
#: The classifier heads: per-class weight scales (scalar for res2's per-tensor weights) and float biases.
HEAD_SCALE = {
    "mlp_w2a2": "per-class scale [10]",
    "cnv3_w2a2": "per-class scale [10]",
    "dws_w4a4": "per-class scale [10]",
    "res2_w3a3": "positive scalar",
}


def images(mnist: tuple[np.ndarray, np.ndarray], count: int) -> np.ndarray:
    """Raw pixels (0..255) of the first ``count`` evaluation images, float32 [count, 1, 28, 28]."""
    return mnist[0][FIRST_EVAL_IMAGE : FIRST_EVAL_IMAGE + count]


def reference(name: str, count: int) -> np.ndarray:
    return np.load(DATA / "brevitas_dev" / name / "ref_preds.npy")[:count]


def predict(model: ModelWrapper, x: np.ndarray, batch: int = 250) -> np.ndarray:
    name_in, name_out = model.graph_input_names()[0], model.graph_output_names()[0]
    out = np.concatenate([qnncc.execute(model, {name_in: x[i : i + batch]})[name_out] for i in range(0, len(x), batch)])
    flat = out.reshape(len(x), -1)
    return flat.reshape(-1) if flat.shape[1] == 1 else flat.argmax(-1)  # top-1 index, or the logits' argmax


def flow_steps(name: str, export: str) -> Iterator[tuple[str, ModelWrapper]]:
    """The model after each step of the estimate flow, one step at a time (not kept: executors hold memory)."""
    model = load(DATA / "brevitas_dev" / name / export, simplify=False)
    for step, body in hw_pipeline(1 / 255, "UINT8", insert_topk=True).steps:
        model = Pipeline([(step, body)]).run(model)
        yield step, model.copy()


@functools.cache
def estimated(name: str, export: str) -> EstimateResult:
    """``qnncc.flow.estimate`` on the model: folded HW layers in dataflow partitions (do not mutate)."""
    return estimate(DATA / "brevitas_dev" / name / export, board="Pynq-Z1", input_scale="1/255")


def partitions(model: ModelWrapper) -> list[ModelWrapper]:
    """The child models of the dataflow partitions."""
    nodes = model.get_nodes_by_op_type("StreamingDataflowPartition")
    return [ModelWrapper(StreamingDataflowPartition(n).child_model(model.model.opset_import)) for n in nodes]


@pytest.mark.parametrize("export", EXPORTS)
@pytest.mark.parametrize("name", MODELS)
def test_one_partition_of_hw_layers(name: str, export: str) -> None:
    result = estimated(name, export)
    top = [n.op_type for n in result.model.graph.node]
    lead = top[: top.index("StreamingDataflowPartition")]
    assert lead in ([], ["Reshape"], ["Flatten"]), top  # an input reshape may stay in software (identity removed)
    assert top[len(lead) :] == ["StreamingDataflowPartition", "Mul", "Add", "TopK"], top
    (child,) = partitions(result.model)
    layers = Counter(n.op_type for n in child.graph.node if n.domain == "qnncc.hw")
    assert layers == Counter(HW_LAYERS[name]), layers
    assert {n.op_type for n in child.graph.node if n.domain != "qnncc.hw"} <= {"Reshape", "Flatten"}
    assert len(result.partitions) == 1 and len(result.layers) == sum(HW_LAYERS[name].values())
    line, *shape_only = result.software_report
    assert all(s.startswith(f"{result.model.graph.node[0].name} ({top[0]}) kept in software") for s in shape_only)
    assert line.startswith(f"float classifier head kept in software: Mul_0 (Mul, {HEAD_SCALE[name]}) -> ")
    assert "Add_0 (Add, per-class bias [10]) -> TopK_0 (TopK)" in line
    assert line in result.summary()


def check_predictions(name: str, export: str, mnist: tuple[np.ndarray, np.ndarray], per_step: int, final: int) -> None:
    pixels = images(mnist, max(per_step, final))
    for step, model in flow_steps(name, export):
        x = pixels[:per_step] / np.float32(255) if step in FLOAT_INPUT_STEPS else pixels[:per_step]
        np.testing.assert_array_equal(predict(model, x), reference(name, per_step), err_msg=f"after step {step!r}")
    partitioned = estimated(name, export).model.copy()  # the executor is cached on the copy, freed after the test
    np.testing.assert_array_equal(predict(partitioned, pixels[:final]), reference(name, final), err_msg="partitioned")


@pytest.mark.parametrize("export", EXPORTS)
@pytest.mark.parametrize("name", MODELS)
def test_every_step_reproduces_the_reference(name: str, export: str, mnist) -> None:
    check_predictions(name, export, mnist, per_step=100, final=500)


@pytest.mark.slow
@pytest.mark.parametrize("export", EXPORTS)
@pytest.mark.parametrize("name", MODELS)
def test_every_step_reproduces_the_reference_full(name: str, export: str, mnist) -> None:
    check_predictions(name, export, mnist, per_step=5000, final=5000)
