"""Property test of the QONNX -> FINN conversion and the streamline passes on random quantized networks.

For every graph drawn by :mod:`qnn_graphs` (tiny Brevitas-style MLPs and CNNs):

1. ``ConvertQONNXtoFINN`` alone computes the same function as the QONNX graph;
2. every pass of ``streamline_passes()``, applied one at a time in the order
   (and the repeated rounds) of ``Streamline``, computes the same function as
   the model before that pass;
3. the full ``Streamline()`` does too, and leaves the FINN form: no
   ``BatchNormalization``/``Sub``/``Div``/``Sign``/quantizer/``Gemm`` nodes,
   sorted thresholds, integer thresholds wherever a ``MultiThreshold`` reads an
   integer ``MatMul``/``Conv``, and for plain quantized MLPs exactly FINN's
   ``MultiThreshold (MatMul MultiThreshold)* MatMul`` chain;
4. the lowering passes (``LowerConvsToMatMul``, NHWC including the residual
   joins, XNOR-popcount) after streamlining, each against the model before it
   (if ``transforms.lower`` exists). The whole HW flow on residual CNNs is
   checked pass by pass in ``test_residual_property.py``.

After conversion, streamlining and lowering, every integer datatype annotation
must hold for the constant and for every value computed on the test inputs.

"Same function": ``qnncc.execute`` outputs agree bit for bit where the
graph's arithmetic is exact (dyadic scales, see :mod:`qnn_graphs`) or the
output is quantized (a ``Quant`` head, top-k indices); otherwise within
``1e-5`` of the output's largest magnitude (float32 rounding of reordered
sums and products). ``CI_EXAMPLES`` graphs run in ``make test`` (plus the
minimal graphs of the bugs found so far), ``SLOW_EXAMPLES`` under ``slow``.
"""

from __future__ import annotations

import dataclasses
import importlib
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import onnx
import pytest
from hypothesis import HealthCheck, example, given, settings
from onnx import TensorProto, helper, numpy_helper
from qnn_graphs import (
    QONNX_DOMAIN,
    ActSpec,
    Case,
    ConvSpec,
    DenseSpec,
    GraphSpec,
    Layer,
    WeightSpec,
    build_case,
    graph_specs,
)
from qnncc.transforms.qonnx import ConvertQONNXtoFINN
from qnncc.transforms.streamline.sequence import Streamline, streamline_passes

import qnncc
from qnncc import DataType, ModelWrapper, Transformation
from qnncc.core.errors import UnsupportedOpError
from qnncc.execution import Executor

#: Random graphs per CI run (``make test``), and under the ``slow`` marker.
CI_EXAMPLES = 300
SLOW_EXAMPLES = 2000
#: ``Streamline.max_rounds``: the per-pass replay below runs the same rounds.
MAX_ROUNDS = Streamline.max_rounds
RTOL = 1e-5

Outputs = list[np.ndarray]


def run(model: ModelWrapper, case: Case, check_datatypes: bool = False) -> Outputs:
    """The first graph output of ``model`` for each input of ``case``.

    With ``check_datatypes``, every tensor annotated with an integer datatype
    must hold only values of that datatype (constants, and every computed
    value on these inputs), as HW generation will rely on it.
    """
    name_in, name_out = model.graph_input_names()[0], model.graph_output_names()[0]
    probe, annotated = model, {}
    if check_datatypes:
        probe, annotated = _probe_annotated(model)
    executor = Executor(probe)  # what qnncc.execute builds and caches, built once for all inputs
    outs = []
    for f in case.feeds:
        res = executor.run({name_in: f["global_in"]})
        for name, dt in annotated.items():
            bad = ~np.asarray(dt.allowed(res[name]), dtype=bool)
            assert not bad.any(), f"{name} annotated {dt.name} holds {np.unique(res[name][bad])[:8]} ({case.spec})"
        outs.append(res[name_out])
    return outs


def _probe_annotated(model: ModelWrapper) -> tuple[ModelWrapper, dict[str, DataType]]:
    """A copy of ``model`` that also outputs every computed tensor with a non-float datatype annotation."""
    annotated: dict[str, DataType] = {}
    inputs = set(model.graph_input_names())
    for node in model.graph.node:
        for name in [*node.input, *node.output]:
            dt = model.get_tensor_datatype(name) if name else None
            if dt is None or dt.is_float() or name in inputs:
                continue
            value = model.get_initializer(name)
            if value is not None:
                assert bool(np.all(dt.allowed(value))), f"constant {name} annotated {dt.name} holds {value}"
            else:
                annotated[name] = dt
    probe = model.copy()
    infos = {vi.name: vi for vi in probe.graph.value_info}
    for name in annotated:
        if name not in probe.graph_output_names():
            probe.graph.output.append(infos[name] if name in infos else helper.make_empty_tensor_value_info(name))
    return probe, annotated


def assert_same(ref: Outputs, got: Outputs, case: Case, stage: str) -> None:
    """Outputs agree: bit for bit for exact cases, else within RTOL of the largest magnitude.

    The magnitude is the output's largest value, but at least the builder's
    estimate of the logits' size: logits that cancel to about 0 (sums of integer
    terms) are float32 rounding noise of the size of the terms, not of the result.
    """
    for i, (r, g) in enumerate(zip(ref, got, strict=True)):
        msg = f"{stage}: outputs differ on input {i} of {case.spec}"
        assert g.shape == r.shape, msg
        if case.exact:
            np.testing.assert_array_equal(g, r, err_msg=msg)
        else:
            scale = max(float(np.abs(r).max()) if r.size else 0.0, case.magnitude)
            np.testing.assert_allclose(g, r, rtol=RTOL, atol=RTOL * scale, err_msg=msg)


def apply_checked(model: ModelWrapper, p: Transformation, ref: Outputs, case: Case) -> tuple[ModelWrapper, Outputs]:
    """Run ``p`` in place; if it changed the model, its outputs must equal ``ref`` (those before ``p``)."""
    before = model.serialize()
    model = model.transform(p)
    if model.serialize() == before:
        return model, ref
    model.check()
    out = run(model, case)
    assert_same(ref, out, case, f"pass {p.name}")
    return model, out


def streamline_one_pass_at_a_time(model: ModelWrapper, ref: Outputs, case: Case) -> tuple[ModelWrapper, Outputs]:
    """Replay ``Streamline``'s rounds, checking every pass application against the model before it."""
    for _ in range(MAX_ROUNDS):
        start = model.serialize()
        for p in streamline_passes():
            model, ref = apply_checked(model, p, ref, case)
        if model.serialize() == start:
            return model, ref
    raise AssertionError(f"streamline passes did not converge in {MAX_ROUNDS} rounds on {case.spec}")


# ----------------------------------------------------------------- structural checks
LEFT_BY_STREAMLINE = {"BatchNormalization", "Sub", "Div", "Sign", "Quant", "BipolarQuant", "Gemm"}


def _is_integer(model: ModelWrapper, name: str) -> bool:
    value = model.get_initializer(name)
    if value is not None:
        return bool(np.all(np.isfinite(value)) and np.all(value == np.round(value)))
    return model.get_tensor_datatype(name).is_integer()


def _exact_in_float32(model: ModelWrapper, node: onnx.NodeProto) -> bool:
    """Whether every partial sum of an integer MatMul/Conv stays below 2**24 for any input of its datatype.

    Beyond that the sums are not exact in float32 and InferDataTypes rightly gives FLOAT32.
    """
    dt = model.get_tensor_datatype(node.input[0])
    weights = model.get_initializer(node.input[1])
    if weights is None:
        return False
    per_output = (
        np.abs(weights).sum(axis=0) if node.op_type == "MatMul" else np.abs(weights).reshape(len(weights), -1).sum(1)
    )
    return max(abs(dt.min()), abs(dt.max())) * float(per_output.max()) <= 2**24


#: FINN's streamlined MLP: thresholds, then integer MatMul -> thresholds per layer, then the head.
FINN_MLP = re.compile(r"MT( Flatten| Reshape)?( MatMul MT)* MatMul( Mul)?( Add)?( TopK| MT( Mul)?)?")


def is_plain_mlp(spec: GraphSpec) -> bool:
    """An MLP with an input quantizer and a per-tensor quantized activation after every hidden layer."""
    return (
        spec.kind == "mlp"
        and spec.input_quant != "none"
        and all(isinstance(d, DenseSpec) and d.act.kind != "none" and not d.act.per_channel for d in spec.layers)
    )


def check_streamlined_form(model: ModelWrapper, case: Case) -> None:
    ops = [n.op_type for n in model.graph.node]
    left = sorted(LEFT_BY_STREAMLINE.intersection(ops))
    assert not left, f"Streamline left {left} in {ops} for {case.spec}"
    if is_plain_mlp(case.spec):
        seq = " ".join("MT" if op == "MultiThreshold" else op for op in ops)
        assert FINN_MLP.fullmatch(seq), f"not streamlined: {seq} for {case.spec}"
    for mt in model.get_nodes_by_op_type("MultiThreshold"):
        thr = model.get_initializer(mt.input[1])
        assert thr is not None and thr.ndim == 2
        assert bool(np.all(thr[:, 1:] >= thr[:, :-1])), f"thresholds of {mt.name} not sorted: {thr}"
        producer = model.find_producer(mt.input[0])
        if producer is None or producer.op_type not in ("MatMul", "Conv"):
            continue
        if all(_is_integer(model, t) for t in producer.input if t) and _exact_in_float32(model, producer):
            assert model.get_tensor_datatype(mt.input[0]).is_integer(), f"{producer.name} output not integer-typed"
            assert bool(np.all(thr == np.round(thr))), f"{mt.name} after integer {producer.op_type}: {thr}"


# ----------------------------------------------------------------- lowering (being written; optional)
def lowering_passes() -> list[Transformation] | None:
    try:
        lower = importlib.import_module("qnncc.transforms.lower")
    except ImportError:
        return None
    names = (
        "LowerConvsToMatMul",
        "MakeMaxPoolNHWC",
        "AbsorbTransposeIntoMultiThreshold",
        "MoveTransposeBeforeMultiThreshold",
        "MoveTransposePastJoinAdd",
        "MergeParallelTransposes",
        "RemoveConsecutiveTransposes",
        "CollapseConsecutiveReshapes",
        "InferDataLayouts",
    )
    if not all(hasattr(lower, n) for n in names):
        return None
    passes: list[Transformation] = [getattr(lower, n)() for n in names]
    passes.append(Streamline())
    passes.extend(getattr(lower, n)() for n in names[1:])
    if hasattr(lower, "ConvertBipolarMatMulToXnorPopcount"):
        passes.append(lower.ConvertBipolarMatMulToXnorPopcount())
        passes.append(Streamline())
    return passes


# ----------------------------------------------------------------- the property
def check_case(case: Case) -> None:
    """All checks on one built graph (see the module docstring)."""
    qonnx = case.model
    qonnx.check()
    ref = run(qonnx, case)

    finn = qonnx.copy().transform(ConvertQONNXtoFINN())
    finn.check()
    converted = run(finn, case, check_datatypes=True)
    assert_same(ref, converted, case, "ConvertQONNXtoFINN")
    assert not {"Quant", "BipolarQuant", "Gemm"}.intersection(n.op_type for n in finn.graph.node)

    stepwise, _ = streamline_one_pass_at_a_time(finn.copy(), converted, case)

    streamlined = finn.copy().transform(Streamline())
    streamlined.check()
    out = run(streamlined, case, check_datatypes=True)
    assert_same(converted, out, case, "Streamline")
    assert_same(ref, out, case, "ConvertQONNXtoFINN + Streamline")
    check_streamlined_form(streamlined, case)
    assert [n.op_type for n in stepwise.graph.node] == [n.op_type for n in streamlined.graph.node]

    passes = lowering_passes()
    if passes is None:
        return
    model = streamlined
    for p in passes:
        model, out = apply_checked(model, p, out, case)
    assert "Conv" not in [n.op_type for n in model.graph.node]
    assert_same(ref, run(model, case, check_datatypes=True), case, "QONNX -> lowered")


SETTINGS = {
    "deadline": None,
    "derandomize": True,
    "database": None,
    "print_blob": False,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}


_BASE = GraphSpec(
    kind="mlp",
    batch=2,
    input_shape=(4,),
    input_quant="u8_255",
    layers=(),
    flatten="none",
    head_weight=WeightSpec(),
    head_op="gemm",
    head_bias=False,
    classes=2,
    head="float",
    dyadic=False,
    seed=0,
)


def _spec(layers: tuple[Layer, ...], **changes: Any) -> GraphSpec:
    """A small spec for the regression examples below (a CNN if the first layer is a Conv)."""
    if layers and isinstance(layers[0], ConvSpec):
        changes = {"kind": "cnn", "input_shape": (2, 4, 4), "flatten": "flatten", **changes}
    return dataclasses.replace(_BASE, layers=layers, **changes)


_BIPOLAR2 = WeightSpec(bipolar=True, bits=2, narrow=False, per_channel=False)
_NO_ACT = ActSpec(kind="none", bits=2)

#: Minimal graphs of bugs this property found (fixed), kept as explicit examples.
REGRESSIONS = [
    # FoldQuantWeights put the weight-scale Mul after a Conv bias, scaling the bias too
    _spec((ConvSpec(channels=2, bias=True),), input_quant="none"),
    # Absorb1BitMulIntoConv negated the weights but not the Conv bias
    _spec(
        (
            ConvSpec(
                channels=2,
                weight=WeightSpec(bipolar=True, per_channel=False),
                bias=True,
                affine="mul_c_neg",
                act=ActSpec(bits=2),
            ),
        ),
        batch=1,
        input_shape=(1, 4, 4),
        head_weight=WeightSpec(bipolar=True, per_channel=False),
        dyadic=True,
    ),
    # ConvertQuantActToMultiThreshold annotated a 1-bit signed Quant with zero-point 3 as BIPOLAR (values -4, -2)
    _spec((DenseSpec(features=4, act=ActSpec(kind="quant", bits=1, zero_point=3.0)),)),
    # ... and a fractional zero-point's levels (k - 0.5) as INTn
    _spec((DenseSpec(features=4, act=ActSpec(kind="quant", bits=4, zero_point=0.5)),)),
    # accumulators beyond 2**24: the FINN model ran in float64, the QONNX one in float32, and the quantized
    # head's float output differed by an ulp (float outputs of a float64 run now come back as float32)
    _spec(
        (
            DenseSpec(features=6, weight=_BIPOLAR2, act=_NO_ACT),
            DenseSpec(features=6, weight=_BIPOLAR2, act=_NO_ACT),
            DenseSpec(features=15, weight=WeightSpec(bits=6, narrow=False, per_channel=False), act=_NO_ACT),
        ),
        batch=1,
        input_shape=(13,),
        head_weight=_BIPOLAR2,
        head="quant",
    ),
]


def _with_regressions(test: Callable[..., None]) -> Callable[..., None]:
    for spec in reversed(REGRESSIONS):
        test = example(spec=spec)(test)
    return test


@_with_regressions
@settings(max_examples=CI_EXAMPLES, **SETTINGS)
@given(spec=graph_specs())
def test_conversion_and_streamline_preserve_function(spec: GraphSpec) -> None:
    check_case(build_case(spec))


@pytest.mark.slow
@settings(max_examples=SLOW_EXAMPLES, **SETTINGS)
@given(spec=graph_specs())
def test_conversion_and_streamline_preserve_function_many(spec: GraphSpec) -> None:
    check_case(build_case(spec))


# ----------------------------------------------------------------- activation scale shapes (found by the property)
def _act_quant(scale: np.ndarray, shape: list[int]) -> ModelWrapper:
    consts = {"s": scale.astype(np.float32), "z": np.zeros((), np.float32), "b": np.array(4, np.float32)}
    quant = helper.make_node("Quant", ["x", "s", "z", "b"], ["y"], domain=QONNX_DOMAIN, signed=1, narrow=0)
    graph = helper.make_graph(
        [quant],
        "act",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)],
        [numpy_helper.from_array(v, k) for k, v in consts.items()],
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(QONNX_DOMAIN, 1)])
    proto.ir_version = 8
    return ModelWrapper(proto)


@pytest.mark.parametrize(
    ("scale_shape", "shape", "per_channel"),
    [
        ((1, 3), [2, 3], True),
        ((3,), [2, 3], True),
        ((1, 3, 1, 1), [2, 3, 4, 5], True),
        ((3, 1, 1), [2, 3, 4, 5], True),
        ((1, 3, 1), [2, 3, 4], True),  # rank 3: MultiThreshold's default layout is NWC
        ((3, 1), [2, 3, 4], True),
        ((3,), [2, 3, 4, 3], False),  # broadcasts along W, which happens to equal C
        ((1, 3), [2, 3, 3], False),  # along the last axis of an NCW tensor
    ],
)
def test_activation_scale_broadcasting(scale_shape: tuple[int, ...], shape: list[int], per_channel: bool) -> None:
    """A scale is per channel exactly when it broadcasts along axis 1; anything else is refused, never misread."""
    rng = np.random.default_rng(0)
    model = _act_quant(rng.uniform(0.1, 1.0, scale_shape), shape)
    x = {"x": rng.normal(0.0, 2.0, shape).astype(np.float32)}
    if not per_channel:
        with pytest.raises(UnsupportedOpError, match="not per channel"):
            model.copy().transform(ConvertQONNXtoFINN())
        return
    converted = model.copy().transform(ConvertQONNXtoFINN())
    assert [n.op_type for n in converted.graph.node] == ["MultiThreshold", "Mul"]
    np.testing.assert_array_equal(qnncc.execute(converted, x)["y"], qnncc.execute(model, x)["y"])
