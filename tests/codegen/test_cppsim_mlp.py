"""C++ simulation of the MLP layers (MVAU, Thresholding, LabelSelect, width converter) and of whole partitions.

Every check compares the compiled HLS C++ (our library, g++) with qnncc's
Python execution bit for bit: random layers with random legal foldings, and
TFC-W1A1 / LFC-W1A1 partitions on MNIST.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hw_graphs import hw_graph_model
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper
from qnncc.transforms.hw import InsertDWC

import qnncc
from qnncc import DataType, ModelWrapper
from qnncc.codegen.hls import generate_hls, hw_partition
from qnncc.codegen.hls.cppsim import build_layer_sim, build_partition_sim
from qnncc.codegen.render import CodegenError
from qnncc.data import demo_model_path
from qnncc.flow.estimate import estimate
from qnncc.hw.layers import HW_DOMAIN
from qnncc.hw.layers.base import divisors

DATA = Path(__file__).resolve().parent.parent / "data"
TFC_FOLDING = Path(qnncc.data.__file__).parent / "tfc_w1a1_folding_config.json"
CI_EXAMPLES = 8
SLOW_EXAMPLES = 40
SETTINGS: dict[str, Any] = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}


def single_node(
    node: Any,
    inputs: dict[str, list[int]],
    consts: dict[str, np.ndarray],
    dts: dict[str, str],
    out_type: int = TensorProto.FLOAT,
) -> Any:
    model = hw_graph_model([node], inputs, node.output, consts, out_type=out_type)
    for name, dt in dts.items():
        model.set_tensor_datatype(name, dt)
    return model


def random_values(rng: np.random.Generator, dt: DataType, shape: tuple[int, ...]) -> np.ndarray:
    if dt.name == "BIPOLAR":
        return rng.choice([-1.0, 1.0], size=shape).astype(np.float32)
    return rng.integers(int(dt.min()), int(dt.max()) + 1, size=shape).astype(np.float32)


def assert_cppsim_equals_execute(model: ModelWrapper, feeds: dict[str, np.ndarray]) -> None:
    node = model.graph.node[0]
    expected = qnncc.execute(model, feeds)
    sim = build_layer_sim(model, node)
    got = sim.run([feeds[t] for t in node.input if t in feeds])
    for name, value in zip(node.output, got, strict=True):
        np.testing.assert_array_equal(value, expected[name].reshape(value.shape), err_msg=name)


@st.composite
def mvau_cases(draw: st.DrawFn) -> tuple[ModelWrapper, dict[str, np.ndarray]]:
    mode = draw(st.sampled_from(["xnor", "thresholds", "accumulator"]))
    mw, mh = draw(st.sampled_from([4, 6, 8, 12, 18])), draw(st.sampled_from([2, 4, 6]))
    simd, pe = draw(st.sampled_from(divisors(mw))), draw(st.sampled_from(divisors(mh)))
    vectors = draw(st.sampled_from([[1], [1, 3], [1, 2, 2]]))
    mmv = draw(st.sampled_from(divisors(int(np.prod(vectors[1:])))))  # MMV > 1: whole vectors per word
    if mmv > 1:
        simd, pe = mw, mh
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    if mode == "xnor":
        idt = wdt = DataType["BINARY"]
    else:
        idt = DataType[draw(st.sampled_from(["UINT2", "INT3", "UINT8", "BIPOLAR", "INT8"]))]
        wdt = DataType[draw(st.sampled_from(["INT2", "INT4", "BIPOLAR", "UINT3"]))]
    w = random_values(rng, wdt, (mw, mh))
    x = random_values(rng, idt, (5, *vectors[1:], mw))
    consts: dict[str, np.ndarray] = {"w": w}
    attrs: dict[str, Any] = {"binaryXnorMode": int(mode == "xnor"), "noActivation": int(mode == "accumulator")}
    inputs = ["x", "w"]
    if mode == "accumulator":
        odt = DataType["INT32"]
    else:
        odt = DataType[draw(st.sampled_from(["UINT2", "BIPOLAR", "INT2"]))]
        steps = 1 if odt.name == "BIPOLAR" else 3
        bound = mw * 64
        table = np.sort(rng.integers(-bound // 8, bound // 8, size=(mh, steps)), axis=1).astype(np.float32)
        if mode == "xnor":
            table = np.sort(rng.integers(0, mw + 1, size=(mh, steps)), axis=1).astype(np.float32)
        if draw(st.booleans()):
            table = table[:1]  # one row broadcast to every channel
        if draw(st.booleans()):
            table = table - 0.5  # non-integer thresholds round up exactly
        consts["t"] = table
        inputs.append("t")
        attrs["ActVal"] = -2 if odt.name == "INT2" else 0
    node = helper.make_node(
        "MVAU",
        inputs,
        ["y"],
        name="MVAU_0",
        domain=HW_DOMAIN,
        MW=mw,
        MH=mh,
        SIMD=simd,
        PE=pe,
        inputDataType=idt.name,
        weightDataType=wdt.name,
        outputDataType=odt.name,
        numInputVectors=vectors,
        MMV=mmv,
        resType=draw(st.sampled_from(["auto", "lut", "dsp"])),
        **attrs,
    )
    shape = [1, *vectors[1:], mw]
    return single_node(node, {"x": shape}, consts, {"x": idt.name, "w": wdt.name}), {"x": x}


@settings(max_examples=CI_EXAMPLES, **SETTINGS)
@given(mvau_cases())
def test_mvau_cppsim_bit_exact(case):
    assert_cppsim_equals_execute(*case)


@pytest.mark.slow
@settings(max_examples=SLOW_EXAMPLES, **SETTINGS)
@given(mvau_cases())
def test_mvau_cppsim_bit_exact_many(case):
    assert_cppsim_equals_execute(*case)


@st.composite
def thresholding_cases(draw: st.DrawFn) -> tuple[ModelWrapper, dict[str, np.ndarray]]:
    c = draw(st.sampled_from([1, 3, 4, 6, 10]))
    pe = draw(st.sampled_from(divisors(c)))
    idt = DataType[draw(st.sampled_from(["UINT4", "INT5", "UINT8", "INT8"]))]
    odt = DataType[draw(st.sampled_from(["UINT2", "BIPOLAR", "INT2", "BINARY"]))]
    steps = {"UINT2": 3, "BIPOLAR": 1, "INT2": 3, "BINARY": 1}[odt.name]
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    table = np.sort(rng.integers(int(idt.min()), int(idt.max()) + 2, size=(c, steps)), axis=1).astype(np.float32)
    vectors = draw(st.sampled_from([[1], [1, 4], [1, 2, 3]]))
    node = helper.make_node(
        "Thresholding",
        ["x", "t"],
        ["y"],
        name="Thresholding_0",
        domain=HW_DOMAIN,
        NumChannels=c,
        PE=pe,
        numSteps=steps,
        inputDataType=idt.name,
        outputDataType=odt.name,
        weightDataType="INT16",
        ActVal=-2 if odt.name == "INT2" else 0,
        numInputVectors=vectors,
    )
    x = random_values(rng, idt, (4, *vectors[1:], c))
    return single_node(node, {"x": [1, *vectors[1:], c]}, {"t": table}, {"x": idt.name}), {"x": x}


@settings(max_examples=CI_EXAMPLES, **SETTINGS)
@given(thresholding_cases())
def test_thresholding_cppsim_bit_exact(case):
    assert_cppsim_equals_execute(*case)


@st.composite
def labelselect_cases(draw: st.DrawFn) -> tuple[ModelWrapper, dict[str, np.ndarray]]:
    labels = draw(st.sampled_from([2, 4, 6, 10, 12]))
    pe = draw(st.sampled_from(divisors(labels)))
    k = draw(st.integers(1, min(4, labels)))
    idt = DataType[draw(st.sampled_from(["UINT2", "INT4", "UINT7"]))]  # UINT2: many ties
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    node = helper.make_node(
        "LabelSelect",
        ["x"],
        ["y"],
        name="LabelSelect_0",
        domain=HW_DOMAIN,
        Labels=labels,
        PE=pe,
        K=k,
        inputDataType=idt.name,
        outputDataType="UINT4",
    )
    x = random_values(rng, idt, (20, labels))
    return single_node(node, {"x": [1, labels]}, {}, {"x": idt.name}, TensorProto.INT64), {"x": x}


@settings(max_examples=CI_EXAMPLES, **SETTINGS)
@given(labelselect_cases())
def test_labelselect_cppsim_bit_exact(case):
    assert_cppsim_equals_execute(*case)


@st.composite
def dwc_cases(draw: st.DrawFn) -> tuple[ModelWrapper, dict[str, np.ndarray]]:
    c = draw(st.sampled_from([6, 12, 20, 64]))
    dt = DataType[draw(st.sampled_from(["BINARY", "UINT3", "INT8", "BIPOLAR"]))]
    a, b = draw(st.sampled_from(divisors(c))), draw(st.sampled_from(divisors(c)))
    rows = draw(st.sampled_from([1, 3]))
    shape = [1, rows, c]
    node = helper.make_node(
        "StreamingDataWidthConverter",
        ["x"],
        ["y"],
        name="StreamingDataWidthConverter_0",
        domain=HW_DOMAIN,
        dataType=dt.name,
        in_shape=shape,
        out_shape=shape,
        inWidth=a * dt.bitwidth(),
        outWidth=b * dt.bitwidth(),
    )
    x = random_values(np.random.default_rng(draw(st.integers(0, 2**16))), dt, (3, rows, c))
    return single_node(node, {"x": shape}, {}, {"x": dt.name}), {"x": x}


@settings(max_examples=CI_EXAMPLES, **SETTINGS)
@given(dwc_cases())
def test_width_converter_cppsim_any_ratio(case):
    assert_cppsim_equals_execute(*case)


def test_float_stream_is_a_clear_error():
    node = helper.make_node(
        "Thresholding",
        ["x", "t"],
        ["y"],
        name="th/0",
        domain=HW_DOMAIN,
        NumChannels=2,
        PE=1,
        numSteps=1,
        inputDataType="FLOAT32",
        outputDataType="BINARY",
        weightDataType="FLOAT32",
    )
    model = single_node(node, {"x": [1, 2]}, {"t": np.zeros((2, 1))}, {})
    with pytest.raises(CodegenError, match=r"th/0 input.*FLOAT32 is not an integer"):
        build_layer_sim(model, node)


# ---------------------------------------------------------------- whole partitions on MNIST
def hw_child(result: Any) -> ModelWrapper:
    child = hw_partition(result.model)
    child.transform(InsertDWC())
    return child


@pytest.fixture(scope="module")
def tfc_hw():
    folding = json.loads(TFC_FOLDING.read_text())
    return estimate(demo_model_path(), board="Pynq-Z1", folding=folding)


def predict(model: ModelWrapper, images: np.ndarray) -> np.ndarray:
    feed = {model.graph.input[0].name: images}
    return next(iter(qnncc.execute(model, feed).values())).reshape(len(images), -1)[:, 0]


def test_tfc_partition_cppsim_all_mnist(tfc_hw, mnist):
    images, labels = mnist
    child = hw_child(tfc_hw)
    sim = build_partition_sim(child)
    start = time.perf_counter()
    got = sim.run([images.reshape(len(images), -1)])[0][:, 0]
    seconds = time.perf_counter() - start
    expected = predict(tfc_hw.model, images)
    np.testing.assert_array_equal(got, expected)
    assert np.count_nonzero(got == labels) == 9296  # 92.96 %, the source model's accuracy
    print(f"TFC cppsim: 10,000 images in {seconds:.2f} s, compile {sim.compile_seconds:.1f} s")


def test_generated_sources_layout(tfc_hw, tmp_path):
    child = hw_child(tfc_hw)
    project = generate_hls(child, tmp_path, part="xc7z020clg400-1", clock_ns=10.0)
    names = [c.name for c in project.layers]
    assert names[0] == "Thresholding_0" and names[-1] == "LabelSelect_0"
    assert "StreamingDataWidthConverter_0" in names
    mvau = tmp_path / "hls" / "MVAU_0"
    assert {p.name for p in mvau.iterdir()} == {
        "top_MVAU_0.cpp",
        "params_MVAU_0.h",
        "thresh_MVAU_0.h",
        "hls_synth.tcl",
    }
    tcl = (mvau / "hls_synth.tcl").read_text()
    for line in (
        "set_part xc7z020clg400-1",
        "create_clock -period 10",
        "csynth_design",
        "export_design -format ip_catalog",
    ):
        assert line in tcl
    top = (mvau / "top_MVAU_0.cpp").read_text()
    assert "#pragma HLS INTERFACE axis port = in0_V" in top and "ap_ctrl_none" in top
    assert (tmp_path / "hls" / "include" / "qnncc" / "mvau.hpp").is_file()


@pytest.fixture(scope="module")
def lfc_hw():
    return estimate(DATA / "lfc_w1a1" / "LFCW1A1.onnx", board="Pynq-Z1", input_scale="1/255")


def check_lfc(lfc_hw: Any, images: np.ndarray, labels: np.ndarray) -> int:
    sim = build_partition_sim(hw_child(lfc_hw))
    got = sim.run([images.reshape(len(images), -1)])[0][:, 0]
    np.testing.assert_array_equal(got, predict(lfc_hw.model, images))
    return int(np.count_nonzero(got == labels))


def test_lfc_partition_cppsim_subset(lfc_hw, mnist):
    images, labels = mnist
    assert check_lfc(lfc_hw, images[:500], labels[:500]) == 494


@pytest.mark.slow
def test_lfc_partition_cppsim_all_mnist(lfc_hw, mnist):
    images, labels = mnist
    assert check_lfc(lfc_hw, images, labels) == 9835  # 98.35 %
