"""Bit-exact C++ simulation of AddStreams, DuplicateStreams, ChannelwiseOp and StreamingFIFO.

Property tests: random shapes, channel counts, legal PE, integer datatypes
and inputs; the cppsim of the generated HLS C++ must equal the Python
``execute`` of the HW layer element for element. Each distinct
configuration compiles a small C++ program (about 1-2 s, cached by source
hash), so CI runs a fixed (derandomized, hence cache-friendly) sample of
``CI_EXAMPLES`` per layer and ``make test-full`` ``SLOW_EXAMPLES`` random ones.
A residual partition (DuplicateStreams -> two branches -> AddStreams, with
width converters between different PEs) is simulated end to end.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hw_graphs import hw_graph_model as graph_model
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import helper
from qnncc.transforms import InferDataTypes, InferShapes
from qnncc.transforms.hw import InsertDWC

import qnncc
from qnncc import DataType, ModelWrapper
from qnncc.codegen.hls import hw_partition, layer_code, render_layer
from qnncc.codegen.hls.cppsim import build_layer_sim, build_partition_sim
from qnncc.codegen.render import CodegenError
from qnncc.custom_op import get_custom_op
from qnncc.hw.layers import HW_DOMAIN, HWLayer
from qnncc.hw.layers.base import divisors

CI_EXAMPLES = 8
SLOW_EXAMPLES = 60
PARTITION_CI_EXAMPLES = 3
PARTITION_SLOW_EXAMPLES = 20

_COMMON = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
    "print_blob": True,
}
CI = settings(max_examples=CI_EXAMPLES, derandomize=True, **_COMMON)
SLOW = settings(max_examples=SLOW_EXAMPLES, **_COMMON)

#: Integer datatypes drawn for streams (multi-bit types first: shrinking and the derandomized CI sample favour them).
INT_TYPES = [
    *(f"INT{b}" for b in range(4, 9)),
    *(f"UINT{b}" for b in range(3, 9)),
    *("BIPOLAR", "TERNARY", "BINARY", "INT2", "INT3", "UINT2"),
]


# ------------------------------------------------------------------ helpers
def hw(op_type: str, inputs: list[str], outputs: list[str], name: str | None = None, **attrs: Any) -> Any:
    return helper.make_node(op_type, inputs, outputs, name=name or f"{op_type}_0", domain=HW_DOMAIN, **attrs)


def values(dt: DataType, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Random values of an integer datatype (BIPOLAR: -1/+1)."""
    if dt.name == "BIPOLAR":
        return rng.choice(np.array([-1.0, 1.0], np.float32), shape)
    return rng.integers(int(dt.min()), int(dt.max()) + 1, shape).astype(np.float32)


def assert_layer_sim_matches(model: ModelWrapper, feeds: list[np.ndarray]) -> None:
    """cppsim of the model's single HW node equals its numpy ``execute`` on ``feeds`` (stream inputs)."""
    node = model.graph.node[0]
    layer = get_custom_op(node)
    assert isinstance(layer, HWLayer)
    consts = {t: model.get_initializer(t) for t in node.input if model.get_initializer(t) is not None}
    it = iter(feeds)
    args = [consts[t] if t in consts else next(it) for t in node.input]
    expected = layer.execute(args)
    got = build_layer_sim(model, node).run(feeds)
    assert len(got) == len(expected)
    for i, (g, e) in enumerate(zip(got, expected, strict=True)):
        assert g.shape == e.shape, (i, g.shape, e.shape)
        assert np.array_equal(g, e), f"output {i}: cppsim {g.ravel()[:16]} != execute {e.ravel()[:16]}"


@st.composite
def stream_shapes(draw: st.DrawFn, max_channels: int = 12) -> tuple[list[int], int, int, int]:
    """``(numInputVectors, C, PE, N)``: batch-first vectors, channels, a legal PE and a batch size."""
    vecs = [1, *draw(st.lists(st.integers(1, 4), max_size=2))]
    channels = draw(st.integers(1, max_channels))
    pe = draw(st.sampled_from(divisors(channels)))
    return vecs, channels, pe, draw(st.integers(1, 3))


dtypes = st.sampled_from(INT_TYPES).map(DataType.from_name)
seeds = st.integers(0, 2**32 - 1)


# ------------------------------------------------------------------ AddStreams
@st.composite
def add_streams_cases(draw: st.DrawFn) -> dict[str, Any]:
    vecs, c, pe, n = draw(stream_shapes())
    a = draw(dtypes)
    b = a if draw(st.booleans()) else draw(dtypes)
    names = {"inputDataType": a.name} if a == b and draw(st.booleans()) else {"inputDataTypes": [a.name, b.name]}
    return {"vecs": vecs, "c": c, "pe": pe, "n": n, "dts": (a, b), "names": names, "seed": draw(seeds)}


def check_add_streams(case: dict[str, Any]) -> None:
    vecs, c = case["vecs"], case["c"]
    node = hw("AddStreams", ["a", "b"], ["y"], NumChannels=c, PE=case["pe"], numInputVectors=vecs, **case["names"])
    model = graph_model([node], {"a": [*vecs, c], "b": [*vecs, c]}, ["y"], {})
    rng = np.random.default_rng(case["seed"])
    shape = (case["n"], *vecs[1:], c)
    assert_layer_sim_matches(model, [values(dt, shape, rng) for dt in case["dts"]])


@CI
@given(add_streams_cases())
def test_add_streams_cppsim(case):
    check_add_streams(case)


@pytest.mark.slow
@SLOW
@given(add_streams_cases())
def test_add_streams_cppsim_slow(case):
    check_add_streams(case)


# ------------------------------------------------------------------ DuplicateStreams
@st.composite
def duplicate_cases(draw: st.DrawFn) -> dict[str, Any]:
    vecs, c, pe, n = draw(stream_shapes())
    return {
        "vecs": vecs,
        "c": c,
        "pe": pe,
        "n": n,
        "dt": draw(dtypes),
        "k": draw(st.integers(2, 4)),
        "seed": draw(seeds),
    }


def check_duplicate(case: dict[str, Any]) -> None:
    vecs, c, k = case["vecs"], case["c"], case["k"]
    outs = [f"y{i}" for i in range(k)]
    node = hw(
        "DuplicateStreams",
        ["x"],
        outs,
        NumChannels=c,
        PE=case["pe"],
        NumOutputStreams=k,
        inputDataType=case["dt"].name,
        numInputVectors=vecs,
    )
    model = graph_model([node], {"x": [*vecs, c]}, outs, {})
    x = values(case["dt"], (case["n"], *vecs[1:], c), np.random.default_rng(case["seed"]))
    assert_layer_sim_matches(model, [x])


@CI
@given(duplicate_cases())
def test_duplicate_streams_cppsim(case):
    check_duplicate(case)


@pytest.mark.slow
@SLOW
@given(duplicate_cases())
def test_duplicate_streams_cppsim_slow(case):
    check_duplicate(case)


# ------------------------------------------------------------------ ChannelwiseOp
PARAM_TYPES = ["INT3", "INT5", "UINT4", "UINT2", "INT2", "BINARY"]


def result_range(func: str, idt: DataType, p: np.ndarray) -> tuple[int, int]:
    """Exact range of ``Func(p[c], x)`` over every value ``x`` of ``idt`` and every parameter (brute force)."""
    xs = np.array([-1, 1]) if idt.name == "BIPOLAR" else np.arange(int(idt.min()), int(idt.max()) + 1)
    grid = {"add": xs[:, None] + p, "mul": xs[:, None] * p, "cmp_le": p <= xs[:, None], "cmp_ge": p >= xs[:, None]}
    r = grid[func].astype(np.int64)
    return int(r.min()), int(r.max())


@st.composite
def channelwise_cases(draw: st.DrawFn) -> dict[str, Any]:
    vecs, c, pe, n = draw(stream_shapes())
    func = draw(st.sampled_from(["add", "mul", "cmp_le", "cmp_ge"]))
    idt = draw(dtypes)
    pdt = DataType.from_name(draw(st.sampled_from(PARAM_TYPES)))
    seed = draw(seeds)
    p = values(pdt, (c,), np.random.default_rng(seed + 1))
    lo, hi = result_range(func, idt, p)
    widen = 2 ** draw(st.sampled_from([0, 0, 1, 3]))  # sometimes a wider output type than needed
    odt = DataType.smallest_for_range(lo * widen, hi * widen)
    ram = draw(st.sampled_from(["distributed", "block"]))
    return {"vecs": vecs, "c": c, "pe": pe, "n": n, "func": func, "idt": idt, "pdt": pdt, "odt": odt, "p": p,
            "ram": ram, "seed": seed}  # fmt: skip


def channelwise_model(case: dict[str, Any]) -> ModelWrapper:
    vecs, c = case["vecs"], case["c"]
    node = hw(
        "ChannelwiseOp",
        ["x", "p"],
        ["y"],
        Func=case["func"],
        PE=case["pe"],
        NumChannels=c,
        inputDataType=case["idt"].name,
        paramDataType=case["pdt"].name,
        outputDataType=case["odt"].name,
        numInputVectors=vecs,
        ram_style=case["ram"],
    )
    return graph_model([node], {"x": [*vecs, c]}, ["y"], {"p": case["p"]})


def check_channelwise(case: dict[str, Any]) -> None:
    x = values(case["idt"], (case["n"], *case["vecs"][1:], case["c"]), np.random.default_rng(case["seed"]))
    assert_layer_sim_matches(channelwise_model(case), [x])


@CI
@given(channelwise_cases())
def test_channelwise_op_cppsim(case):
    check_channelwise(case)


@pytest.mark.slow
@SLOW
@given(channelwise_cases())
def test_channelwise_op_cppsim_slow(case):
    check_channelwise(case)


def _cw_case(**over: Any) -> dict[str, Any]:
    dts = {"idt": DataType["INT4"], "pdt": DataType["INT3"], "odt": DataType["INT6"]}
    p = np.array([-3, 0, 2, 3], np.float32)
    case = {"vecs": [1, 3], "c": 4, "pe": 2, "n": 2, "func": "add", "p": p, "ram": "distributed", "seed": 0, **dts}
    return case | over


def test_channelwise_bipolar_product():
    """BIPOLAR x times +-1 parameters stays BIPOLAR: the one case a BIPOLAR output is exact."""
    p = np.array([1, -1, -1, 1], np.float32)
    check_channelwise(_cw_case(func="mul", idt=DataType["BIPOLAR"], pdt=DataType["INT2"], odt=DataType["BIPOLAR"], p=p))


def test_channelwise_params_header_and_pragmas():
    model = channelwise_model(_cw_case(ram="block"))
    files = render_layer(layer_code(model, model.graph.node[0]))
    header = files["params_ChannelwiseOp_0.h"]
    assert "params_ChannelwiseOp_0[2][2] = {{-3, 2}, {0, 3}};" in header  # [pe][nf], channel nf * 2 + pe
    top = files["top_ChannelwiseOp_0.cpp"]
    assert "qnncc::ChannelwiseAdd" in top and "impl = bram" in top and "complete dim = 1" in top


@pytest.mark.parametrize(
    ("over", "match"),
    [
        ({"p": np.array([0.5, 1, 2, 3], np.float32)}, "must be integers"),
        ({"odt": DataType["INT4"]}, "cannot hold"),  # add of INT4 and [-3, 3] needs INT5
        ({"func": "cmp_le", "odt": DataType["BIPOLAR"]}, "cannot hold"),  # 0 is not bipolar
        ({"idt": DataType["FLOAT32"]}, "not an integer type"),
    ],
)
def test_channelwise_errors_name_the_node(over, match):
    model = channelwise_model(_cw_case(**over))
    with pytest.raises(CodegenError, match=match) as info:
        layer_code(model, model.graph.node[0])
    assert "ChannelwiseOp_0" in str(info.value)


def test_add_streams_float_input_is_an_error():
    node = hw("AddStreams", ["a", "b"], ["y"], NumChannels=4, PE=2, inputDataTypes=["INT4", "FLOAT32"])
    model = graph_model([node], {"a": [1, 4], "b": [1, 4]}, ["y"], {})
    with pytest.raises(CodegenError, match=r"AddStreams_0.*FLOAT32"):
        layer_code(model, node)


# ------------------------------------------------------------------ StreamingFIFO
@st.composite
def fifo_cases(draw: st.DrawFn) -> dict[str, Any]:
    vecs, c, elems, n = draw(stream_shapes())
    depth = draw(st.sampled_from([1, 2, 3, 16, 64, 300]))
    return {"vecs": vecs, "c": c, "elems": elems, "n": n, "dt": draw(dtypes), "depth": depth, "seed": draw(seeds)}


def check_fifo(case: dict[str, Any]) -> None:
    vecs, c, elems = case["vecs"], case["c"], case["elems"]
    node = hw(
        "StreamingFIFO",
        ["x"],
        ["y"],
        depth=case["depth"],
        normal_shape=[*vecs, c],
        folded_shape=[*vecs, c // elems, elems],
        dataType=case["dt"].name,
    )
    model = graph_model([node], {"x": [*vecs, c]}, ["y"], {})
    x = values(case["dt"], (case["n"], *vecs[1:], c), np.random.default_rng(case["seed"]))
    assert_layer_sim_matches(model, [x])
    top = render_layer(layer_code(model, node))["top_StreamingFIFO_0.cpp"]
    assert "DATAFLOW" in top and f"qnncc::fifo<{case['depth']}, {math.prod(vecs[1:]) * c // elems}," in top


@CI
@given(fifo_cases())
def test_streaming_fifo_cppsim(case):
    check_fifo(case)


@pytest.mark.slow
@SLOW
@given(fifo_cases())
def test_streaming_fifo_cppsim_slow(case):
    check_fifo(case)


# ------------------------------------------------------------------ residual partition
@st.composite
def residual_cases(draw: st.DrawFn) -> dict[str, Any]:
    vecs, c, _, n = draw(stream_shapes(max_channels=8))
    pes = [draw(st.sampled_from(divisors(c))) for _ in range(4)]
    idt = draw(st.sampled_from(["UINT2", "UINT4", "INT3", "INT4", "BIPOLAR"]))
    branch_b = draw(st.sampled_from(["ChannelwiseOp", "StreamingFIFO"]))
    return {"vecs": vecs, "c": c, "n": n, "pes": pes, "idt": idt, "branch_b": branch_b,
            "funcs": [draw(st.sampled_from(["add", "mul"])) for _ in range(2)], "seed": draw(seeds)}  # fmt: skip


def residual_model(case: dict[str, Any]) -> ModelWrapper:
    """x -> DuplicateStreams -> (ChannelwiseOp | ChannelwiseOp or FIFO) -> AddStreams -> y, PEs per case."""
    vecs, c, pes = case["vecs"], case["c"], case["pes"]
    idt = DataType.from_name(case["idt"])
    rng = np.random.default_rng(case["seed"] + 7)
    shape = [*vecs, c]
    common = {"NumChannels": c, "numInputVectors": vecs}
    nodes = [hw("DuplicateStreams", ["x"], ["x0", "x1"], "fork", PE=pes[0], inputDataType=idt.name, **common)]
    consts: dict[str, np.ndarray] = {}
    branch_dts = []
    for i, (src, dst) in enumerate((("x0", "a"), ("x1", "b"))):
        if i == 1 and case["branch_b"] == "StreamingFIFO":
            elems = pes[2]
            nodes.append(hw("StreamingFIFO", [src], [dst], "fifo_b", depth=8, normal_shape=shape,
                            folded_shape=[*vecs, c // elems, elems], dataType=idt.name))  # fmt: skip
            branch_dts.append(idt)
            continue
        func = case["funcs"][i]
        p = rng.integers(-3, 4, c).astype(np.float32)
        consts[f"p{i}"] = p
        odt = DataType.smallest_for_range(*result_range(func, idt, p))
        nodes.append(hw("ChannelwiseOp", [src, f"p{i}"], [dst], f"branch_{'ab'[i]}", Func=func, PE=pes[1 + i],
                        inputDataType=idt.name, paramDataType="INT3", outputDataType=odt.name, **common))  # fmt: skip
        branch_dts.append(odt)
    names = [dt.name for dt in branch_dts]
    dts: dict[str, Any] = {"inputDataType": names[0]} if names[0] == names[1] else {"inputDataTypes": names}
    nodes.append(hw("AddStreams", ["a", "b"], ["y"], "join", PE=pes[3], **common, **dts))
    model = graph_model(nodes, {"x": shape}, ["y"], consts)
    model.set_tensor_datatype("x", idt)
    return model.transform(InferShapes()).transform(InferDataTypes())


def check_residual(case: dict[str, Any]) -> None:
    model = residual_model(case)
    x = values(
        DataType.from_name(case["idt"]), (case["n"], *case["vecs"][1:], case["c"]), np.random.default_rng(case["seed"])
    )
    expected = qnncc.execute(model, {"x": x}, backend="reference")["y"]
    np.testing.assert_array_equal(qnncc.execute(model, {"x": x})["y"], expected)
    child = hw_partition(model)
    child.transform(InsertDWC())
    if len(set(case["pes"])) > 1:
        assert child.get_nodes_by_op_type("StreamingDataWidthConverter")
    np.testing.assert_array_equal(qnncc.execute(child, {"x": x}, backend="reference")["y"], expected)
    (y,) = build_partition_sim(child).run([x])
    assert np.array_equal(y, expected), f"cppsim {y.ravel()[:16]} != execute {expected.ravel()[:16]}"


RESIDUAL_EXAMPLES = [
    {"vecs": [1, 2, 2], "c": 6, "n": 2, "pes": [1, 3, 2, 6], "idt": "INT4", "branch_b": "ChannelwiseOp",
     "funcs": ["mul", "add"], "seed": 3},
    {"vecs": [1, 3], "c": 4, "n": 1, "pes": [4, 2, 1, 2], "idt": "UINT2", "branch_b": "StreamingFIFO",
     "funcs": ["add", "add"], "seed": 5},
]  # fmt: skip


@pytest.mark.parametrize("case", RESIDUAL_EXAMPLES, ids=["two-channelwise", "channelwise-fifo"])
def test_residual_partition_cppsim(case):
    check_residual(case)


@settings(max_examples=PARTITION_CI_EXAMPLES, derandomize=True, **_COMMON)
@given(residual_cases())
def test_residual_partition_cppsim_property(case):
    check_residual(case)


@pytest.mark.slow
@settings(max_examples=PARTITION_SLOW_EXAMPLES, **_COMMON)
@given(residual_cases())
def test_residual_partition_cppsim_property_slow(case):
    check_residual(case)
