"""Bit-exact C++ simulation of the sliding-window layers and of the test CNN.

ConvolutionInputGenerator, FMPadding, StreamingMaxPool, GlobalAccPool and
VVAU: property tests draw random shapes, channel counts, kernels, strides,
dilations, paddings, legal foldings, datatypes, weights, thresholds and
inputs, and the cppsim of the generated HLS C++ must equal the Python
``execute`` of the HW layer element for element.

Each distinct configuration compiles a small C++ unit (about 1 s of CPU), so
one Hypothesis example is a batch of ``BATCH`` random layers of one type,
side by side in one partition (one test bench, layer units compiled in
parallel). CI runs a fixed (derandomized, hence cache-friendly) sample of
``CI_EXAMPLES`` batches per layer type; ``make test-full`` runs
``SLOW_EXAMPLES`` random ones. The test CNN (two seeds, random legal
foldings, width converters inserted) and a depthwise chain
(FMPadding -> SWG -> VVAU -> GlobalAccPool) are simulated as whole partitions.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper
from qnncc.transforms import InferShapes
from qnncc.transforms.hw import InsertDWC

import qnncc
from qnncc import DataType, ModelWrapper
from qnncc.codegen.hls import hw_partition, layer_code
from qnncc.codegen.hls.cppsim import build_layer_sim, build_partition_sim
from qnncc.codegen.render import CodegenError
from qnncc.custom_op import get_custom_op
from qnncc.hw.layers import HW_DOMAIN, HWLayer
from qnncc.hw.layers.base import divisors

sys.path.insert(0, str(Path(__file__).parents[1] / "transforms"))
from test_cnn_flow import build_cnn, run_flow
from test_infer_cnn import to_hw

BATCH = 5
CI_EXAMPLES = 3
SLOW_EXAMPLES = 15

_COMMON: dict[str, Any] = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
    "print_blob": True,
}
CI = settings(max_examples=CI_EXAMPLES, derandomize=True, **_COMMON)
SLOW = settings(max_examples=SLOW_EXAMPLES, **_COMMON)

STREAM_TYPES = ["BINARY", "BIPOLAR", "TERNARY", "INT1"] + [f"UINT{b}" for b in range(2, 9)]
STREAM_TYPES += [f"INT{b}" for b in range(2, 9)]


@dataclass(frozen=True)
class Case:
    """One random HW layer: op type, attributes, input shape (batch 1) and constant inputs."""

    op_type: str
    attrs: dict[str, Any]
    shape: tuple[int, ...]
    consts: dict[str, np.ndarray] = field(default_factory=dict)

    def key(self) -> str:
        """Identity of the configuration (duplicates in a batch are simulated once)."""
        consts = {k: v.tolist() for k, v in self.consts.items()}
        return repr((self.op_type, sorted(self.attrs.items()), self.shape, sorted(consts.items())))


# ------------------------------------------------------------------ helpers
def random_values(rng: np.random.Generator, dt: DataType, shape: tuple[int, ...]) -> np.ndarray:
    """Random values of datatype ``dt`` (float32, as the Python layers take them)."""
    if dt.name == "BIPOLAR":
        return rng.choice(np.array([-1.0, 1.0], np.float32), shape)
    return rng.integers(int(dt.min()), int(dt.max()) + 1, shape).astype(np.float32)


def batch_model(cases: list[Case]) -> ModelWrapper:
    """The cases side by side: input ``x<i>`` -> layer ``<op>_<i>`` -> output ``y<i>``."""
    nodes, inputs, outputs, inits = [], [], [], []
    for i, case in enumerate(cases):
        names = [f"x{i}"]
        for cname, value in case.consts.items():
            names.append(f"{cname}{i}")
            inits.append(numpy_helper.from_array(np.asarray(value, np.float32), f"{cname}{i}"))
        nodes.append(
            helper.make_node(case.op_type, names, [f"y{i}"], name=f"{case.op_type}_{i}", domain=HW_DOMAIN, **case.attrs)
        )
        inputs.append(helper.make_tensor_value_info(f"x{i}", TensorProto.FLOAT, list(case.shape)))
        elem = TensorProto.INT64 if case.op_type == "LabelSelect" else TensorProto.FLOAT  # indices
        outputs.append(helper.make_tensor_value_info(f"y{i}", elem, None))
    graph = helper.make_graph(nodes, "batch", inputs, outputs, inits)
    imports = [helper.make_opsetid("", 13), helper.make_opsetid(HW_DOMAIN, 1)]
    return ModelWrapper(helper.make_model(graph, opset_imports=imports)).transform(InferShapes())


def input_datatype(case: Case) -> DataType:
    node = helper.make_node(case.op_type, ["x"], ["y"], domain=HW_DOMAIN, **case.attrs)
    if case.op_type == "VVAU":  # validation wants the weight (and threshold) inputs
        node.input.extend(case.consts)
    layer = get_custom_op(node)
    assert isinstance(layer, HWLayer)
    return layer.input_datatype()


def check_batch(cases: list[Case], seed: int, frames: int = 2) -> None:
    """cppsim of the (deduplicated) cases equals their Python ``execute`` on random inputs."""
    unique = list({c.key(): c for c in cases}.values())
    model = batch_model(unique)
    sim = build_partition_sim(model)
    rng = np.random.default_rng(seed)
    feeds = {f"x{i}": random_values(rng, input_datatype(c), (frames, *c.shape[1:])) for i, c in enumerate(unique)}
    got = sim.run(list(feeds.values()))
    expected = qnncc.execute(model, feeds, backend="reference")
    for i, (case, y) in enumerate(zip(unique, got, strict=True)):
        ref = expected[f"y{i}"]
        assert np.array_equal(y.reshape(ref.shape), ref), f"{case.op_type} {case.attrs} {case.shape}"


# ------------------------------------------------------------------ strategies
def folding(channels: int) -> st.SearchStrategy[int]:
    return st.sampled_from(divisors(channels))


@st.composite
def swg_cases(draw: st.DrawFn) -> Case:
    c = draw(st.integers(1, 8))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw, dh, dw = (draw(st.integers(1, 3)) for _ in range(4))
    span_h, span_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    ih, iw = span_h + draw(st.integers(0, 6)), span_w + draw(st.integers(0, 6))
    dt = draw(st.sampled_from(STREAM_TYPES))
    attrs = {
        "ConvKernelDim": [kh, kw],
        "IFMChannels": c,
        "IFMDim": [ih, iw],
        "OFMDim": [(ih - span_h) // sh + 1, (iw - span_w) // sw + 1],
        "SIMD": draw(folding(c)),
        "Stride": [sh, sw],
        "Dilation": [dh, dw],
        "depthwise": draw(st.integers(0, 1)),
        "ram_style": draw(st.sampled_from(["auto", "block", "distributed", "ultra"])),
        "inputDataType": dt,
        "outputDataType": dt,
    }
    if not attrs["depthwise"] and (dh, dw) == (1, 1) and draw(st.booleans()):
        attrs |= {"parallel_window": 1, "SIMD": c}  # one whole window per word
    return Case("ConvolutionInputGenerator", attrs, (1, ih, iw, c))


@st.composite
def fmpadding_cases(draw: st.DrawFn) -> Case:
    c, h, w = draw(st.integers(1, 8)), draw(st.integers(1, 6)), draw(st.integers(1, 6))
    attrs = {
        "ImgDim": [h, w],
        "Padding": [draw(st.integers(0, 3)) for _ in range(4)],
        "NumChannels": c,
        "SIMD": draw(folding(c)),
        "numInputVectors": draw(st.integers(1, 2)),
        "inputDataType": draw(st.sampled_from([t for t in STREAM_TYPES if t != "BIPOLAR"])),
    }
    return Case("FMPadding", attrs, (1, h, w, c))


@st.composite
def maxpool_cases(draw: st.DrawFn) -> Case:
    c = draw(st.integers(1, 8))
    kind = draw(st.sampled_from(["2d", "row", "column"]))
    if kind == "2d":
        kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
        # image sizes that tile and that do not (floor drops, ceil keeps the partial windows)
        h, w = kh * draw(st.integers(1, 4)) + draw(st.integers(0, kh - 1)), kw * draw(st.integers(1, 4))
    elif kind == "row":  # H = kh = 1: W need not be a multiple of kw
        h = kh = 1
        w = draw(st.integers(1, 10))
        kw = draw(st.integers(1, w))
    else:
        w = kw = 1
        h = draw(st.integers(1, 10))
        kh = draw(st.integers(1, h))
    attrs = {
        "ImgDim": [h, w],
        "PoolDim": [kh, kw],
        "NumChannels": c,
        "PE": draw(folding(c)),
        "CeilMode": draw(st.integers(0, 1)),
        "dataType": draw(st.sampled_from(STREAM_TYPES)),
    }
    return Case("StreamingMaxPool", attrs, (1, h, w, c))


@st.composite
def pool_cases(draw: st.DrawFn) -> Case:
    c, kh, kw = draw(st.integers(1, 8)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    oh, ow = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dt = draw(st.sampled_from(STREAM_TYPES))
    attrs = {"Channels": c, "PE": draw(folding(c)), "KernelSize": [kh, kw], "OutImgDims": [oh, ow]}
    attrs |= {"Function": "MaxPool", "InputDataType": dt, "OutputDataType": dt}
    return Case("Pool", attrs, (1, oh, ow, kh * kw * c))


@st.composite
def global_acc_pool_cases(draw: st.DrawFn) -> Case:
    c, h, w = draw(st.integers(1, 8)), draw(st.integers(1, 6)), draw(st.integers(1, 6))
    attrs = {
        "NumChannels": c,
        "PE": draw(folding(c)),
        "numInputVectors": [1, h, w],
        "inputDataType": draw(st.sampled_from(STREAM_TYPES)),
    }
    return Case("GlobalAccPool", attrs, (1, h, w, c))


def accumulator_range(w: np.ndarray, idt: DataType) -> tuple[int, int]:
    """Smallest and largest accumulator over all inputs of ``idt``, per the actual weights ``[C, K]``."""
    lo, hi = float(idt.min()), float(idt.max())
    low = np.minimum(w * lo, w * hi).sum(axis=1)
    high = np.maximum(w * lo, w * hi).sum(axis=1)
    return int(low.min()), int(high.max())


@st.composite
def vvau_cases(draw: st.DrawFn) -> Case:
    c, kh, kw = draw(st.integers(1, 8)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    oh, ow = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    idt = DataType[draw(st.sampled_from(["BIPOLAR", "BINARY", "UINT3", "UINT4", "INT2", "INT4", "INT6"]))]
    wdt = DataType[draw(st.sampled_from(["BIPOLAR", "TERNARY", "INT2", "INT4", "UINT3"]))]
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    w = random_values(rng, wdt, (c, 1, kh, kw))
    lo, hi = accumulator_range(w.reshape(c, -1).astype(np.float64), idt)
    attrs: dict[str, Any] = {
        "Channels": c,
        "Kernel": [kh, kw],
        "Dim": [oh, ow],
        "PE": draw(folding(c)),
        "SIMD": draw(folding(kh * kw)),
        "inputDataType": idt.name,
        "weightDataType": wdt.name,
        "accDataType": "INT32",
        "ram_style": draw(st.sampled_from(["auto", "block", "distributed"])),
        "resType": draw(st.sampled_from(["auto", "lut", "dsp"])),  # the products' binding (mul.hpp)
    }
    consts = {"w": w}
    if draw(st.booleans()):
        attrs |= {"noActivation": 1, "outputDataType": DataType.smallest_for_range(lo, hi).name}
    else:
        odt = DataType[draw(st.sampled_from(["BIPOLAR", "BINARY", "UINT2", "UINT3", "INT2", "INT3"]))]
        steps = 1 if odt.name == "BIPOLAR" else int(odt.max() - odt.min())
        rows = c if draw(st.booleans()) else 1
        thr = np.sort(rng.integers(lo - 1, hi + 2, (rows, steps)), axis=1).astype(np.float32)
        if draw(st.booleans()):
            thr -= np.float32(0.5)  # non-integer thresholds: x >= t for integer x is x >= ceil(t)
        act_val = 0 if odt.name == "BIPOLAR" else int(odt.min())
        attrs |= {"noActivation": 0, "outputDataType": odt.name, "ActVal": act_val}
        consts["t"] = thr
    return Case("VVAU", attrs, (1, oh, ow, kh * kw * c), consts)


STRATEGIES = {
    "ConvolutionInputGenerator": swg_cases(),
    "FMPadding": fmpadding_cases(),
    "StreamingMaxPool": maxpool_cases(),
    "GlobalAccPool": global_acc_pool_cases(),
    "Pool": pool_cases(),
    "VVAU": vvau_cases(),
}


# ------------------------------------------------------------------ property tests
@pytest.mark.parametrize("op_type", list(STRATEGIES))
@CI
@given(data=st.data())
def test_layer_cppsim_equals_execute(op_type, data):
    cases = data.draw(st.lists(STRATEGIES[op_type], min_size=BATCH, max_size=BATCH), label="cases")
    check_batch(cases, data.draw(st.integers(0, 2**32 - 1), label="seed"))


@pytest.mark.slow
@pytest.mark.parametrize("op_type", list(STRATEGIES))
@SLOW
@given(data=st.data())
def test_layer_cppsim_equals_execute_many(op_type, data):
    cases = data.draw(st.lists(STRATEGIES[op_type], min_size=BATCH, max_size=BATCH), label="cases")
    check_batch(cases, data.draw(st.integers(0, 2**32 - 1), label="seed"), frames=3)


# ------------------------------------------------------------------ fixed cases and errors
def single(case: Case) -> tuple[ModelWrapper, Any]:
    model = batch_model([case])
    return model, model.graph.node[0]


@pytest.mark.parametrize("ceil", [0, 1])
def test_maxpool_that_does_not_tile(ceil):
    attrs = {"ImgDim": [14, 14], "PoolDim": [3, 3], "NumChannels": 4, "PE": 2, "CeilMode": ceil, "dataType": "UINT4"}
    model, node = single(Case("StreamingMaxPool", attrs, (1, 14, 14, 4)))
    x = random_values(np.random.default_rng(ceil), DataType["UINT4"], (3, 14, 14, 4))
    (y,) = build_layer_sim(model, node).run([x])
    expected = qnncc.execute(model, {"x0": x}, backend="reference")["y0"]
    assert expected.shape == ((3, 5, 5, 4) if ceil else (3, 4, 4, 4))
    np.testing.assert_array_equal(y, expected)


def test_single_layer_sim_of_a_strided_dilated_window():
    attrs = {"ConvKernelDim": [3, 2], "IFMChannels": 6, "IFMDim": [9, 8], "OFMDim": [3, 6], "SIMD": 3}
    attrs |= {"Stride": [2, 1], "Dilation": [2, 2], "inputDataType": "INT4", "outputDataType": "INT4"}
    model, node = single(Case("ConvolutionInputGenerator", attrs, (1, 9, 8, 6)))
    sim = build_layer_sim(model, node)
    x = random_values(np.random.default_rng(0), DataType["INT4"], (3, 9, 8, 6))
    (y,) = sim.run([x])
    np.testing.assert_array_equal(y, qnncc.execute(model, {"x0": x}, backend="reference")["y0"])
    code = layer_code(model, node)
    assert any("BIND_STORAGE" in line and "lutram" in line for line in code.body)  # ram_style=distributed
    assert "7 image rows" in code.body[0]  # dilated kernel height 5 + stride 2


def vvau_case(c: int, k: tuple[int, int], pe: int, simd: int, seed: int) -> Case:
    rng = np.random.default_rng(seed)
    w = random_values(rng, DataType["INT4"], (c, 1, *k))
    lo, hi = accumulator_range(w.reshape(c, -1).astype(np.float64), DataType["INT3"])
    thr = np.sort(rng.integers(lo, hi + 1, (c, 3)), axis=1).astype(np.float32)
    attrs = {"Channels": c, "Kernel": list(k), "Dim": [2, 3], "PE": pe, "SIMD": simd, "inputDataType": "INT3"}
    attrs |= {"weightDataType": "INT4", "outputDataType": "INT2", "ActVal": -2, "noActivation": 0}
    return Case("VVAU", attrs, (1, 2, 3, k[0] * k[1] * c), {"w": w, "t": thr})


def test_vvau_datapath_regimes():
    """Words of SIMD*PE elements against C channels (see vvau.hpp): every way a word meets the rows."""
    cases = [
        vvau_case(8, (3, 3), 2, 1, 0),  # SIMD*PE divides C: one row per word
        vvau_case(4, (3, 3), 4, 9, 1),  # C divides SIMD*PE: whole kernel positions per word
        vvau_case(6, (2, 2), 2, 2, 2),  # neither, fewer chunks than rows (G=2, R=3, SUB=2)
        vvau_case(8, (3, 3), 4, 3, 3),  # neither, a row twice in one word (G=4, R=2, SUB=3)
    ]
    check_batch(cases, 5, frames=3)


def test_unsupported_vvau_attributes_raise_codegen_error():
    rng = np.random.default_rng(1)
    attrs = {"Channels": 2, "Kernel": [2, 2], "Dim": [2, 2], "inputDataType": "UINT2", "weightDataType": "INT3"}
    attrs |= {"noActivation": 1, "outputDataType": "INT8"}
    w = random_values(rng, DataType["INT3"], (2, 1, 2, 2))
    for change in ({"runtime_writeable_weights": 1}, {"mem_mode": "external", "MMV": 2, "PE": 2, "SIMD": 4}):
        model, node = single(Case("VVAU", attrs | change, (1, 2, 2, 8), {"w": w}))
        with pytest.raises(CodegenError, match="VVAU_0"):
            layer_code(model, node)
    model, node = single(Case("VVAU", attrs, (1, 2, 2, 8), {"w": w}))
    model.set_initializer(node.input[1], np.full((2, 1, 2, 2), 0.5, np.float32))
    with pytest.raises(CodegenError, match="VVAU_0"):
        layer_code(model, node)


def test_float_stream_raises_codegen_error():
    attrs = {"ImgDim": [2, 2], "Padding": [1, 1, 1, 1], "NumChannels": 2, "inputDataType": "FLOAT32"}
    model, node = single(Case("FMPadding", attrs, (1, 2, 2, 2)))
    with pytest.raises(CodegenError, match="FMPadding_0"):
        layer_code(model, node)


# ------------------------------------------------------------------ partitions
def fold_randomly(model: ModelWrapper, rng: np.random.Generator) -> ModelWrapper:
    """Set every folding attribute of every HW layer to a random legal value."""
    for node in model.graph.node:
        if node.domain != HW_DOMAIN:
            continue
        layer = get_custom_op(node)
        assert isinstance(layer, HWLayer)
        for name, legal in layer.legal_folding().items():
            model.set_nodeattr(node, name, int(rng.choice(legal)))
    return model


def check_partition(model: ModelWrapper, x: np.ndarray) -> None:
    """Whole-partition cppsim (width converters inserted) equals ``qnncc.execute`` of the HW model."""
    child = hw_partition(model.copy()).transform(InsertDWC())
    sim = build_partition_sim(child)
    (y,) = sim.run([x])
    expected = qnncc.execute(model, {model.graph_input_names()[0]: x})[model.graph_output_names()[0]]
    assert np.array_equal(y.reshape(expected.shape), expected)


@pytest.mark.parametrize("seed", [0, 1])
def test_cnn_partition_cppsim_equals_execute(seed):
    model = to_hw(run_flow(qnncc.ModelWrapper(build_cnn(seed))))
    ops = {n.op_type for n in model.graph.node}
    assert {"FMPadding", "ConvolutionInputGenerator", "StreamingMaxPool", "MVAU"} <= ops
    rng = np.random.default_rng(seed)
    fold_randomly(model, rng)
    pixels = rng.integers(0, 256, (20, 1, 12, 12)).astype(np.float32)
    pixels[:4] = np.minimum(np.round(pixels[:4] / 64) * 64, 255)  # flat regions: ties in pools and top-k
    check_partition(model, pixels)


def depthwise_chain(rng: np.random.Generator) -> ModelWrapper:
    """FMPadding -> depthwise SWG -> VVAU (thresholds) -> GlobalAccPool on a 5x6 image of 4 channels."""
    c, (h, w) = 4, (5, 6)
    wts = random_values(rng, DataType["INT3"], (c, 1, 3, 3))
    lo, hi = accumulator_range(wts.reshape(c, -1).astype(np.float64), DataType["UINT3"])
    thr = np.sort(rng.integers(lo, hi + 1, (c, 3)), axis=1).astype(np.float32)

    def node(op: str, inputs: list[str], out: str, **attrs: Any) -> Any:
        return helper.make_node(op, inputs, [out], name=f"{op}_0", domain=HW_DOMAIN, **attrs)

    nodes = [
        node("FMPadding", ["x"], "p", ImgDim=[h, w], Padding=[1, 1, 1, 1], NumChannels=c, inputDataType="UINT3"),
        node(
            "ConvolutionInputGenerator",
            ["p"],
            "win",
            ConvKernelDim=[3, 3],
            IFMChannels=c,
            IFMDim=[h + 2, w + 2],
            OFMDim=[h, w],
            depthwise=1,
            inputDataType="UINT3",
            outputDataType="UINT3",
        ),
        node(
            "VVAU",
            ["win", "w", "t"],
            "act",
            Channels=c,
            Kernel=[3, 3],
            Dim=[h, w],
            inputDataType="UINT3",
            weightDataType="INT3",
            outputDataType="UINT2",
            noActivation=0,
        ),
        node("GlobalAccPool", ["act"], "y", NumChannels=c, numInputVectors=[1, h, w], inputDataType="UINT2"),
    ]
    graph = helper.make_graph(
        nodes,
        "dw",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, h, w, c])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(wts, "w"), numpy_helper.from_array(thr, "t")],
    )
    imports = [helper.make_opsetid("", 13), helper.make_opsetid(HW_DOMAIN, 1)]
    return ModelWrapper(helper.make_model(graph, opset_imports=imports)).transform(InferShapes())


@pytest.mark.parametrize("seed", [0, 1])
def test_depthwise_chain_partition_cppsim_equals_execute(seed):
    rng = np.random.default_rng(10 + seed)
    model = fold_randomly(depthwise_chain(rng), rng)
    x = random_values(rng, DataType["UINT3"], (5, 5, 6, 4))
    check_partition(model, x)


def test_parallel_window_stem_cppsim_equals_execute():
    """A 7x7/2 window over 3 channels (ResNet's stem) as one 147-element word per output pixel."""
    attrs = {"ConvKernelDim": [7, 7], "IFMChannels": 3, "IFMDim": [21, 20], "OFMDim": [8, 7], "SIMD": 3}
    attrs |= {"Stride": [2, 2], "parallel_window": 1, "inputDataType": "UINT8", "outputDataType": "UINT8"}
    model, node = single(Case("ConvolutionInputGenerator", attrs, (1, 21, 20, 3)))
    layer = get_custom_op(node)
    assert isinstance(layer, HWLayer) and layer.outstream_width() == 147 * 8
    x = random_values(np.random.default_rng(3), DataType["UINT8"], (2, 21, 20, 3))
    (y,) = build_layer_sim(model, node).run([x])
    expected = qnncc.execute(model, {"x0": x}, backend="reference")["y0"]
    np.testing.assert_array_equal(y.reshape(expected.shape), expected)


@pytest.mark.parametrize("dt", ["UINT2", "INT3"])
def test_padded_stem_pool_partition_cppsim_equals_execute(dt):
    """ResNet's stem pool (3x3, stride 2, padding 1) as FMPadding -> depthwise SWG -> Pool, folded by 2.

    INT3: the padding is the datatype's minimum (-4), and the input is all negative, so zero padding would differ.
    """
    from qnncc.transforms.hw import InferPool

    pool = helper.make_node(
        "MaxPoolNHWC", ["x"], ["y"], domain="qonnx.custom_op.general", kernel_shape=[3, 3], strides=[2, 2],
        pads=[1, 1, 1, 1],
    )  # fmt: skip
    graph = helper.make_graph(
        [pool],
        "stem_pool",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 9, 10, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    )
    imports = [helper.make_opsetid("", 13), helper.make_opsetid("qonnx.custom_op.general", 1)]
    model = ModelWrapper(helper.make_model(graph, opset_imports=imports))
    model.set_tensor_datatype("x", dt)
    model = model.transform(InferShapes()).transform(InferPool())
    assert [n.op_type for n in model.graph.node] == ["FMPadding", "ConvolutionInputGenerator", "Pool"]
    for node in model.graph.node:
        model.set_nodeattr(node, "PE" if node.op_type == "Pool" else "SIMD", 2)
    x = random_values(np.random.default_rng(7), DataType[dt], (2, 9, 10, 4))
    if dt == "INT3":
        x = -1 - np.abs(x) % 4  # values in [-4, -1]
    (y,) = build_partition_sim(model).run([x])
    expected = qnncc.execute(model, {"x": x}, backend="reference")["y"]
    assert expected.shape == (2, 5, 5, 4)
    np.testing.assert_array_equal(y.reshape(expected.shape), expected)
