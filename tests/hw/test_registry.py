"""The HW layer registry: every registered layer has every facet, and nothing else dispatches."""

from __future__ import annotations

from pathlib import Path

import pytest

import qnncc
from qnncc.core.errors import UnsupportedOpError
from qnncc.core.transformation import Transformation
from qnncc.custom_op import custom_ops
from qnncc.flow.estimate import hw_pipeline
from qnncc.hw.layers import HW_LAYERS, HW_OPS
from qnncc.hw.registry import LAYERS, LayerDescriptor, descriptor, resolve

HEADERS = Path(qnncc.__file__).resolve().parents[2] / "hls_templates" / "include" / "qnncc"


def test_every_hw_layer_has_one_descriptor() -> None:
    assert sorted(d.op_type for d in LAYERS) == sorted(cls.op_type for cls in HW_LAYERS)
    assert len({d.op_type for d in LAYERS}) == len(LAYERS)
    for desc in LAYERS:
        assert HW_OPS[desc.op_type] is desc.op
        assert custom_ops()[desc.op_type] is desc.op  # the op table knows it too


@pytest.mark.parametrize("desc", LAYERS, ids=lambda d: d.op_type)
def test_every_registered_layer_has_every_facet(desc: LayerDescriptor) -> None:
    assert callable(desc.estimate)
    assert desc.program is not None or desc.no_program, "a cycle pattern, or why the simulator needs none"
    assert isinstance(desc.latency, int) and desc.latency >= 0
    creators = [*desc.infer, *([desc.inserted_by] if desc.inserted_by else [])]
    assert creators or desc.imported_by, "a pass that creates the layer, or the FINN-ONNX import that adopts it"
    for ref in creators:
        cls = resolve(ref)
        assert isinstance(cls, type) and issubclass(cls, Transformation), ref
    if desc.imported_by:
        assert callable(resolve(desc.imported_by)), desc.imported_by
    assert callable(desc.hls_builder())
    assert (HEADERS / desc.header).is_file(), desc.header
    if desc.rtl or not desc.no_rtl:  # an RTL builder and core, or why there is none yet
        assert callable(desc.rtl_builder())
        assert (HEADERS.parents[1] / "rtl" / desc.rtl_core).is_file(), desc.rtl_core
    assert desc.default_backend in ("hls", "rtl")


def test_aliases_and_unknown_op_types() -> None:
    assert descriptor("StreamingFCLayer").op_type == "MVAU"
    with pytest.raises(UnsupportedOpError, match="'Frobnicate' is not a qnncc HW layer"):
        descriptor("Frobnicate")


def test_a_broken_reference_is_reported_not_skipped() -> None:
    broken = LayerDescriptor(
        LAYERS[0].op, LAYERS[0].estimate, None, 1, ("qnncc.transforms.hw:InferNothing",), "x:y", "swg.hpp"
    )
    with pytest.raises(UnsupportedOpError, match=r"cannot resolve 'qnncc\.transforms\.hw:InferNothing'"):
        broken.infer_passes()
    with pytest.raises(UnsupportedOpError, match="cannot resolve 'x:y'"):
        broken.hls_builder()


def test_the_flow_converts_in_registry_order() -> None:
    step = dict(hw_pipeline(None, "UINT8", False).steps)["convert_to_hw"]
    names = [type(p).__name__ for p in step]
    expected = [cls.__name__ for d in LAYERS for cls in d.infer_passes()]
    # identity thresholdings go first (RemoveIdentityThresholds), then the registry's passes in order
    assert names[: len(expected) + 1] == ["RemoveIdentityThresholds", *expected]
    assert expected[:2] == ["InferConvInpGen", "InferStreamingMaxPool"]
    assert expected[-1] == "InferLabelSelectLayer"


def test_static_step_names_are_the_pipelines() -> None:
    from qnncc.flow.config import BUILD_STEPS, PIPELINE_STEPS
    from qnncc.flow.steps import step_names

    assert tuple(hw_pipeline(1 / 255, "UINT8", True).step_names) == PIPELINE_STEPS
    assert step_names() == BUILD_STEPS
