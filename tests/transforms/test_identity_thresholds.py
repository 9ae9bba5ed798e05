"""RemoveIdentityThresholds: exact removal of identity multi-thresholdings (differential tests)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import DATA
from hw_graphs import hw_graph_model
from onnx import helper
from qnncc.transforms import InferShapes
from qnncc.transforms.hw import RemoveIdentityThresholds, is_identity_thresholding

import qnncc
from qnncc.core.datatype import DataType
from qnncc.core.pipeline import Pipeline
from qnncc.flow.estimate import hw_pipeline


def _mt_model(thresholds: np.ndarray, in_dt: str = "UINT8", out_dt: str = "UINT8") -> qnncc.ModelWrapper:
    """x -> MultiThreshold(thresholds) -> Mul(2) -> y, x of shape [2, C] with datatype ``in_dt``."""
    c = thresholds.shape[0]
    nodes = [
        helper.make_node("MultiThreshold", ["x", "thr"], ["t"], domain="qonnx.custom_op.general", out_dtype=out_dt),
        helper.make_node("Mul", ["t", "two"], ["y"]),
    ]
    model = hw_graph_model(
        nodes, {"x": [2, c]}, ["y"], {"thr": thresholds, "two": np.float32(2)}, domains=[("qonnx.custom_op.general", 1)]
    )
    model = model.transform(InferShapes())
    model.set_tensor_datatype("x", DataType.from_name(in_dt))
    model.set_tensor_datatype("t", DataType.from_name(out_dt))
    return model


def _differential(model: qnncc.ModelWrapper, x: np.ndarray) -> tuple[int, int]:
    before = model.copy()
    model = model.transform(RemoveIdentityThresholds())
    feeds = {"x": x}
    np.testing.assert_array_equal(qnncc.execute(model, feeds)["y"], qnncc.execute(before, feeds)["y"])
    count = lambda m: len(m.get_nodes_by_op_type("MultiThreshold"))  # noqa: E731
    return count(before), count(model)


def test_uint8_identity_is_removed_and_exact() -> None:
    thr = np.tile(np.arange(1, 256, dtype=np.float32), (3, 1))  # 255 steps per channel: count(x >= k) = x
    x = np.random.default_rng(0).integers(0, 256, size=(2, 3)).astype(np.float32)
    x[0] = [0, 255, 128]
    assert _differential(_mt_model(thr), x) == (1, 0)


@pytest.mark.parametrize(
    "broken",
    ["off_by_one_channel", "missing_step", "bias"],
)
def test_near_identities_are_kept(broken: str) -> None:
    """A thresholding that differs from the identity on a single value must stay."""
    thr = np.tile(np.arange(1, 256, dtype=np.float32), (3, 1))
    if broken == "off_by_one_channel":
        thr[1, 99] += 1  # channel 1 maps 100 to 99
    elif broken == "missing_step":
        thr = thr[:, :-1]  # 255 -> 254
    model = _mt_model(thr)
    if broken == "bias":
        model.graph.node[0].attribute.append(helper.make_attribute("out_bias", 1.0))
    x = np.arange(6, dtype=np.float32).reshape(2, 3) * 50
    assert _differential(model, x) == (1, 1)
    assert not is_identity_thresholding(model, model.graph.node[0])


def test_signed_identity_and_float_input() -> None:
    thr = np.arange(-7, 8, dtype=np.float32)[None, :]  # INT4: count(x >= k, k=-7..7) - 8 = x
    model = _mt_model(thr, "INT4", "INT4")
    model.graph.node[0].attribute.append(helper.make_attribute("out_bias", -8.0))
    x = np.array([[-8, 7, 0], [3, -1, -5]], np.float32)[:, :1]
    assert _differential(model, x) == (1, 0)
    floaty = _mt_model(np.tile(np.arange(1, 256, dtype=np.float32), (3, 1)), "FLOAT32")
    assert not is_identity_thresholding(floaty, floaty.graph.node[0])  # no finite range to enumerate


def test_cnv_input_quantizer_is_removed_exactly(mnist: tuple[np.ndarray, np.ndarray]) -> None:
    """cnv3_w2a2's 255-step UINT8 -> UINT8 input thresholding goes; execution is unchanged."""
    model = qnncc.load(DATA / "brevitas_dev" / "cnv3_w2a2" / "model_qonnx.onnx", simplify=False)
    steps = hw_pipeline(1 / 255, "UINT8", insert_topk=True).steps
    model = Pipeline([s for s in steps if s[0] in ("tidy", "qonnx_to_finn", "prepare_io", "streamline", "lower")]).run(
        model
    )
    identities = [n.name for n in model.graph.node if is_identity_thresholding(model, n)]
    assert len(identities) == 1
    before = model.copy()
    model = model.transform(RemoveIdentityThresholds())
    assert not any(n.name in identities for n in model.graph.node)
    name_in, name_out = model.graph_input_names()[0], model.graph_output_names()[0]
    images = mnist[0][:16]
    noise = np.random.default_rng(1).integers(0, 256, size=(8, *images.shape[1:])).astype(np.float32)
    for x in (images, noise):
        np.testing.assert_array_equal(
            qnncc.execute(model, {name_in: x})[name_out], qnncc.execute(before, {name_in: x})[name_out]
        )
