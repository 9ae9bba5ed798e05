"""Tidy passes on the golden models: bit-exact differential execution and per-pass effects.

Every pass runs on a copy of each golden model, both as ``qnncc.load`` returns
it (onnxsim-simplified for the standard-ONNX models) and as exported
(``simplify=False``: LFC-W1A1 with static inputs and a Shape->Reshape chain,
mnist-conv in IR 3). The transformed model must compute bit-identical outputs
on real MNIST images and on random inputs.
"""

from __future__ import annotations

import re

import numpy as np
import onnx
import pytest
from conftest import GOLDEN
from qnncc.transforms import (
    FoldConstants,
    GiveReadableTensorNames,
    GiveUniqueNodeNames,
    InferDataTypes,
    InferShapes,
    RemoveIdentityOps,
    RemoveStaticGraphInputs,
    RemoveUnusedTensors,
    SortGraph,
    Tidy,
    tidy_passes,
)

import qnncc
from qnncc.data import demo_inputs, demo_model_path

VARIANTS = [f"{name}/{form}" for name in sorted(GOLDEN) for form in ("loaded", "raw")]
PASSES = [type(p) for p in tidy_passes()] + [Tidy]
N_MNIST, N_RANDOM, N_REFERENCE = 200, 32, 8


@pytest.fixture(scope="module")
def variants(golden_models):
    """Golden models keyed ``<name>/loaded`` (as the fixture) and ``<name>/raw`` (no onnxsim)."""
    out = {}
    for name, g in GOLDEN.items():
        out[f"{name}/loaded"] = golden_models[name]
        out[f"{name}/raw"] = qnncc.load(g.path, simplify=False)
    return out


def _inputs(variant: str, mnist) -> dict[str, np.ndarray]:
    g = GOLDEN[variant.split("/")[0]]
    rng = np.random.default_rng(0)
    images = mnist[0][:N_MNIST]
    noise = rng.uniform(-8.0, 264.0, size=(N_RANDOM, 1, 28, 28)).astype(np.float32)
    scaled = images / np.float32(g.input_scale)
    # batch 1 runs the declared graph (onnxruntime picks other float kernels than for batches)
    return {"mnist": scaled, "single": scaled[:1], "random": noise / np.float32(g.input_scale)}


def _run(model: qnncc.ModelWrapper, x: np.ndarray, backend: str = "fast") -> list[np.ndarray]:
    outs = qnncc.execute(model, {model.graph_input_names()[0]: x}, backend=backend)
    return [outs[name] for name in model.graph_output_names()]


def assert_bit_identical(before: list[np.ndarray], after: list[np.ndarray]) -> None:
    assert len(before) == len(after)
    for b, a in zip(before, after, strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
        assert a.tobytes() == b.tobytes()  # also distinguishes -0.0 from +0.0


def _transformed(model: qnncc.ModelWrapper, pass_type: type) -> qnncc.ModelWrapper:
    after = model.copy()
    if pass_type is GiveReadableTensorNames and not all(n.name for n in after.graph.node):
        after = after.transform(GiveUniqueNodeNames())  # node names are its precondition
    result = after.transform(pass_type())
    assert result is after  # in place, no copy
    return after


@pytest.mark.parametrize("pass_type", PASSES, ids=[p.__name__ for p in PASSES])
@pytest.mark.parametrize("variant", VARIANTS)
def test_pass_preserves_semantics_bit_exactly(variants, mnist, variant, pass_type):
    before = variants[variant]
    snapshot = before.serialize()
    after = _transformed(before, pass_type)
    assert before.serialize() == snapshot  # the fixture (the "before" model) is untouched
    after.check()
    assert len(after.graph_input_names()) == len(before.graph_input_names())
    for x in _inputs(variant, mnist).values():
        assert_bit_identical(_run(before, x), _run(after, x))


@pytest.mark.parametrize("variant", VARIANTS)
def test_tidy_matches_reference_backend(variants, mnist, variant):
    before = variants[variant]
    after = _transformed(before, Tidy)
    x = _inputs(variant, mnist)["mnist"][:N_REFERENCE]
    assert_bit_identical(_run(before, x, "reference"), _run(after, x, "reference"))
    assert_bit_identical(_run(before, x, "fast"), _run(after, x, "reference"))


@pytest.mark.parametrize("variant", VARIANTS)
def test_tidy_result_is_tidy_and_idempotent(variants, variant):
    model = _transformed(variants[variant], Tidy)
    node_names = [n.name for n in model.graph.node]
    assert len(set(node_names)) == len(node_names)
    assert all(re.fullmatch(rf"{n.op_type}_\d+", n.name) for n in model.graph.node)
    assert model.graph_input_names() == ["global_in"] and model.graph_output_names() == ["global_out"]
    assert [vi.name for vi in model.graph.input] == ["global_in"]  # static inputs gone
    inits = {i.name for i in model.graph.initializer}
    for node in model.graph.node:
        for i, t in enumerate(node.output):
            assert t in ("global_out", f"{node.name}_out{i}")
        params = [t for t in node.input if t in inits]
        assert all(re.fullmatch(r".+_param\d+", t) for t in params)
    assert model.topological_sort() == list(model.graph.node)
    assert not any(n.op_type in ("Identity", "Shape", "Dropout") for n in model.graph.node)
    assert model.model.ir_version >= 4
    again = model.copy().transform(Tidy())
    assert again.serialize() == model.serialize()
    for p in tidy_passes():
        assert p.apply(model.copy())[1] is False  # every pass is at its fixpoint


def test_remove_static_graph_inputs_on_old_exports(variants):
    for name in ("lfc_w1a1", "mnist_conv"):
        raw = variants[f"{name}/raw"]
        assert len(raw.graph.input) > 1  # the exporter listed the weights as inputs
        model, changed = RemoveStaticGraphInputs().apply(raw.copy())
        assert changed
        assert [vi.name for vi in model.graph.input] == raw.graph_input_names()
        assert len(model.graph.initializer) == len(raw.graph.initializer)
        assert model.model.ir_version == max(raw.model.ir_version, 4)
        onnx.checker.check_model(model.model)
        assert RemoveStaticGraphInputs().apply(model)[1] is False


def test_fold_constants_folds_the_shape_chain_of_lfc(variants):
    raw = variants["lfc_w1a1/raw"]
    assert [n.op_type for n in raw.graph.node[:6]] == ["Shape", "Gather", "Unsqueeze", "Unsqueeze", "Concat", "Reshape"]
    model = raw.copy().transform(FoldConstants())
    assert model.graph.node[0].op_type == "Reshape"
    np.testing.assert_array_equal(model.get_initializer(model.graph.node[0].input[1]), [1, -1])
    assert not any(n.op_type in ("Shape", "Gather", "Concat") for n in model.graph.node)
    kept = raw.copy().transform(FoldConstants(fold_shapes=False))
    assert [n.op_type for n in kept.graph.node].count("Shape") == 1


def test_fold_constants_folds_weight_reshape_of_mnist_conv(variants):
    raw = variants["mnist_conv/raw"]
    model = raw.copy().transform(FoldConstants())
    assert len(model.graph.node) == len(raw.graph.node) - 1
    weights = model.get_initializer("Parameter193_reshape1")
    np.testing.assert_array_equal(weights, raw.get_initializer("Parameter193").reshape(256, 10))
    assert "Parameter193_reshape1" in {vi.name for vi in model.graph.input}  # IR 3 rule kept
    model.check()


def test_remove_identity_ops_drops_the_unit_muls_of_tfc(variants):
    tfc = variants["tfc_w1a1/loaded"]
    unit_muls = [n for n in tfc.graph.node if n.op_type == "Mul" and np.all(tfc.get_initializer(n.input[1]) == 1)]
    assert len(unit_muls) == 4
    model = tfc.copy().transform(RemoveIdentityOps())
    assert len(model.graph.node) == len(tfc.graph.node) - 4
    assert not any(n.name in {m.name for m in unit_muls} for n in model.graph.node)
    assert model.find_consumer("MatMul_0_out0").op_type == "Unsqueeze"


def test_infer_datatypes_on_tfc_matches_values(variants, mnist):
    model = variants["tfc_w1a1/loaded"].copy()
    for name in ("MatMul_0_out0", "MultiThreshold_0_out0"):
        model.set_tensor_datatype(name, None)
    model, changed = InferDataTypes().apply(model)
    assert changed
    assert model.get_tensor_datatype("global_in").name == "UINT8"  # graph input untouched
    assert model.get_tensor_datatype("MultiThreshold_0_out0").name == "BIPOLAR"
    # BIPOLAR x BIPOLAR accumulators: K=784 -> [-784, 784] (FINN says INT32), K=64 -> [-64, 64]
    assert model.get_tensor_datatype("MatMul_0_out0").name == "INT11"
    assert model.get_tensor_datatype("Unsqueeze_0_out0").name == "INT11"
    assert model.get_tensor_datatype("MatMul_1_out0").name == "INT8"
    assert model.get_tensor_datatype("BatchNormalization_0_out0").name == "FLOAT32"
    assert model.get_tensor_datatype("global_out").name == "UINT32"  # index output keeps its wider type
    assert InferDataTypes().apply(model)[1] is False


@pytest.mark.parametrize("variant", VARIANTS)
def test_inferred_datatypes_hold_the_computed_values(variants, mnist, variant):
    model = _transformed(variants[variant], Tidy)
    x = _inputs(variant, mnist)["mnist"][:100]
    values = qnncc.execute(model, {"global_in": x}, backend="reference", return_all=True)
    checked = 0
    for qa in model.graph.quantization_annotation:
        dt = model.get_tensor_datatype(qa.tensor_name)
        value = values.get(qa.tensor_name)
        if value is None:
            value = model.get_initializer(qa.tensor_name)
        assert value is not None, qa.tensor_name
        assert np.all(dt.allowed(value)), f"{qa.tensor_name}: values outside {dt}"
        checked += not dt.is_float()
    expected_int = {"tfc_w1a1": 17, "lfc_w1a1": 12, "mnist_conv": 0}[variant.split("/")[0]]
    assert checked == expected_int


def test_sort_graph_restores_a_shuffled_golden_model(variants, mnist):
    tfc = variants["tfc_w1a1/loaded"]
    shuffled = tfc.copy()
    nodes = list(shuffled.graph.node)
    order = np.random.default_rng(1).permutation(len(nodes))
    copies = [onnx.NodeProto() for _ in nodes]
    for dst, i in zip(copies, order, strict=True):
        dst.CopyFrom(nodes[i])
    del shuffled.graph.node[:]
    shuffled.graph.node.extend(copies)
    assert not _producers_first(shuffled)
    model = shuffled.transform(SortGraph())
    assert _producers_first(model)
    assert [n.name for n in model.graph.node] == [n.name for n in tfc.graph.node]
    x = mnist[0][:N_MNIST]
    assert_bit_identical(_run(tfc, x), _run(model, x))
    assert_bit_identical(_run(tfc, x[:4], "reference"), _run(model, x[:4], "reference"))


def _producers_first(model: qnncc.ModelWrapper) -> bool:
    available = {vi.name for vi in model.graph.input} | {i.name for i in model.graph.initializer}
    for node in model.graph.node:
        if any(t and t not in available for t in node.input):
            return False
        available.update(node.output)
    return True


def test_readme_example():
    model = qnncc.load(demo_model_path())
    for p in (InferShapes(), InferDataTypes(), GiveUniqueNodeNames(), GiveReadableTensorNames()):
        model = model.transform(p)
    images, expected = demo_inputs()
    out = qnncc.execute(model, {model.graph_input_names()[0]: images})
    np.testing.assert_array_equal(out[model.graph_output_names()[0]].ravel(), expected)
    assert str(model.get_tensor_datatype(model.graph.node[4].output[0])) == "BIPOLAR"


def test_batched_execution_after_tidy_of_raw_lfc(variants, mnist):
    raw = variants["lfc_w1a1/raw"]
    model = _transformed(raw, Tidy)
    x = mnist[0][:16] / np.float32(255)
    batched = _run(model, x)[0]
    single = np.concatenate([_run(model, x[i : i + 1])[0] for i in range(len(x))])
    assert_bit_identical([batched], [single])
    assert_bit_identical(_run(raw, x), [batched])


def test_remove_unused_tensors_on_golden_models(variants):
    for variant in VARIANTS:
        model = variants[variant].copy().transform(FoldConstants())
        before = len(model.graph.initializer)
        model, changed = RemoveUnusedTensors().apply(model)
        used = {t for n in model.graph.node for t in n.input}
        assert all(i.name in used for i in model.graph.initializer)
        assert changed == (len(model.graph.initializer) < before)
        model.check()
