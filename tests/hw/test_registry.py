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
from qnncc.hw.registry import LAYER_MODULES, LAYERS, LayerDescriptor, descriptor, module_descriptors, resolve
from qnncc.hw.sim.patterns import read_write_each_program

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
    if desc.rtl:  # cost terms for the resource model fitted on Yosys, or why there are none
        assert desc.fit_features is not None or desc.no_fit
    if desc.fit_features is not None:
        assert desc.rtl and desc.fit_keys() and all(k.startswith(desc.op_type) for k in desc.fit_keys())
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


@pytest.mark.parametrize("module", LAYER_MODULES)
def test_one_layer_one_place(module: str) -> None:
    """A layer's hw-floor facets are in its own module, and its code builders in same-named ones."""
    import importlib

    layer_module = importlib.import_module(f"qnncc.hw.layers.{module}")
    for desc in module_descriptors(module):  # DESCRIPTOR, or DESCRIPTORS of a family of layer types
        assert desc.op.__module__ == layer_module.__name__
        assert desc.estimate.__module__ == layer_module.__name__  # the lambda adapting the estimator
        if desc.program is not None and desc.program is not read_write_each_program:
            assert desc.program.__module__ == layer_module.__name__
        assert desc.hls.startswith(f"qnncc.codegen.hls.layers.{module}:"), desc.hls
        assert not desc.rtl or desc.rtl.startswith(f"qnncc.codegen.rtl.layers.{module}:"), desc.rtl
        assert all(ref.startswith("qnncc.transforms.hw:") for ref in (*desc.infer, desc.inserted_by) if ref)


def test_layer_modules_hold_no_other_layers_code() -> None:
    """No estimate or cycle pattern of a layer is left in the shared perf/sim modules."""
    import qnncc.hw.perf.mac as mac
    import qnncc.hw.perf.params as params
    import qnncc.hw.perf.window as window
    import qnncc.hw.sim.patterns as patterns

    for shared in (mac, params, window, patterns):
        public = [
            n
            for n in vars(shared)
            if n.startswith("estimate_")
            or (
                n.endswith("_program")
                and n not in ("read_write_each_program", "layer_program", "source_program", "sink_program")
            )
        ]
        assert public == [], (shared.__name__, public)
