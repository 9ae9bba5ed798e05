"""Bit-exact C++ simulation of finn-plus's generic HW ops (issue 15, item 4).

Property tests as ``test_cppsim_elementwise.py``: random shapes, broadcasting, folding,
integer datatypes and inputs; the cppsim of the generated HLS C++ must equal the layer's
Python ``execute`` element for element. CI runs a fixed (derandomized, cache-friendly)
sample of ``CI_EXAMPLES`` per op, ``make test-full`` ``SLOW_EXAMPLES`` random ones. The
cycle pattern of each op is checked against the words the cppsim moves and the FINN
cycle estimate.
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

from qnncc import DataType
from qnncc.codegen.hls import layer_code
from qnncc.codegen.hls.cppsim import build_layer_sim
from qnncc.codegen.hls.layers.elementwise_binary import result_range
from qnncc.codegen.render import CodegenError
from qnncc.custom_op import get_custom_op
from qnncc.hw.layers import HW_DOMAIN, HWLayer
from qnncc.hw.layers.base import divisors
from qnncc.hw.layers.elementwise_binary import ELEMENTWISE_OPS
from qnncc.hw.perf import estimate_layer
from qnncc.hw.sim.patterns import layer_program

CI_EXAMPLES = 2
SLOW_EXAMPLES = 60
_COMMON = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
    "print_blob": True,
}
CI = settings(max_examples=CI_EXAMPLES, derandomize=True, **_COMMON)
SLOW = settings(max_examples=SLOW_EXAMPLES, **_COMMON)

INT_TYPES = [*(f"INT{b}" for b in (3, 4, 6, 8)), *(f"UINT{b}" for b in (2, 4, 7)), "BIPOLAR", "BINARY", "TERNARY"]
#: Operations with exact integer hardware (numpy's true division has none).
EXACT_OPS = [op for op in ELEMENTWISE_OPS if op != "Div"]
#: The operations CI compiles (one of each kind; ``make test-full`` compiles all).
CI_OPS = ("Sub", "Mul", "Minimum", "Xor", "GreaterOrEqual", "BitwiseOr")


def values(dt: DataType, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Random values of an integer datatype (BIPOLAR: -1/+1)."""
    if dt.name == "BIPOLAR":
        return rng.choice(np.array([-1.0, 1.0], np.float32), shape)
    return rng.integers(int(dt.min()), int(dt.max()) + 1, shape).astype(np.float32)


def check_layer(model: Any, feeds: list[np.ndarray], batch: int, synthesis_path: bool = False) -> None:
    """cppsim == execute on ``feeds``; the cycle pattern moves the ports' words; cycles = FINN's estimate.

    ``synthesis_path`` compiles the code path Vitis HLS synthesises (no C-simulation fast paths).
    """
    node = model.graph.node[0]
    layer = get_custom_op(node)
    assert isinstance(layer, HWLayer)
    consts = {t: model.get_initializer(t) for t in node.input if model.get_initializer(t) is not None}
    it = iter(feeds)
    args = [consts[t] if t in consts else next(it) for t in node.input]
    expected = layer.execute(args)
    got = build_layer_sim(model, node, synthesis_path=synthesis_path).run(feeds)
    assert len(got) == len(expected)
    for i, (g, e) in enumerate(zip(got, expected, strict=True)):
        assert g.shape == e.shape, (i, g.shape, e.shape)
        assert np.array_equal(g, e), f"output {i}: cppsim {g.ravel()[:16]} != execute {e.ravel()[:16]}"
    program = layer_program(layer)
    code = layer_code(model, node)
    assert [program.reads(k) for k in range(program.n_in)] == [p.words for p in code.inputs]
    assert [program.writes(k) for k in range(program.n_out)] == [p.words for p in code.outputs]
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    assert estimate_layer(node.op_type, attrs).cycles == program.iterations * max(1, layer.normal_output_shape()[0])
    del batch


def hw(op_type: str, inputs: list[str], outputs: list[str], **attrs: Any) -> Any:
    return helper.make_node(op_type, inputs, outputs, name=f"{op_type}_0", domain=HW_DOMAIN, **attrs)


# ------------------------------------------------------------------ ElementwiseBinary
def draw_elementwise(rng: np.random.Generator, op: str) -> dict[str, Any]:
    """A random elementwise case: output rank 2-5, each operand broadcast on random axes, maybe a constant."""
    rank = int(rng.integers(2, 6))
    out = [1, *(int(d) for d in rng.integers(1, 4, rank - 2)), int(rng.integers(1, 9))]
    shapes = [[1] + [d if rng.random() < 0.5 else 1 for d in out[1:]] for _ in range(2)]
    shapes[int(rng.integers(0, 2))] = list(out)  # at least one operand has the output's shape
    const = [(False, False), (False, True), (True, False)][int(rng.integers(0, 3))]
    for side in (0, 1):
        if const[side] and rng.random() < 0.5:
            shapes[side] = shapes[side][1:]  # numpy broadcasting of a lower-rank constant
    names = ["INT4", "UINT3", "INT6", "UINT8"] if op.startswith("Bitwise") else INT_TYPES
    dts = [DataType.from_name(str(rng.choice(names))) for _ in range(2)]
    pe = int(rng.choice(divisors(out[-1])))
    return {
        "op": op,
        "out": out,
        "shapes": shapes,
        "const": const,
        "dts": dts,
        "pe": pe,
        "seed": int(rng.integers(2**32)),
    }


#: Broadcast patterns every CI run covers: (out, lhs, rhs, constants), all four walk axes exercised.
PATTERNS = [
    ([1, 3, 2, 4, 6], [1, 3, 1, 4, 1], [1, 1, 2, 1, 6], (False, False)),
    ([1, 3, 2, 4, 6], [1, 1, 2, 4, 6], [1, 3, 2, 4, 6], (False, False)),
    ([1, 2, 3, 4, 4], [1, 2, 1, 4, 1], [3, 1, 4], (False, True)),
    ([1, 4, 4, 8], [1, 4, 4, 8], [1, 4, 1, 8], (True, False)),
]


def check_elementwise(case: dict[str, Any], synthesis_path: bool = False) -> None:
    rng = np.random.default_rng(case["seed"])
    dts, shapes, const = case["dts"], case["shapes"], case["const"]
    arrays = [values(dt, tuple(s), rng) for dt, s in zip(dts, shapes, strict=True)]
    ranges = []
    for dt, arr, is_const in zip(dts, arrays, const, strict=True):
        ranges.append((int(arr.min()), int(arr.max())) if is_const else (int(dt.min()), int(dt.max())))
    lo, hi = result_range(case["op"], ranges[0], ranges[1])
    out_dt = DataType.smallest_for_range(lo, hi)
    attrs = {
        "lhs_dtype": dts[0].name, "rhs_dtype": dts[1].name, "out_dtype": out_dt.name, "lhs_shape": shapes[0],
        "rhs_shape": shapes[1], "out_shape": case["out"], "PE": case["pe"],
        "lhs_style": "const" if const[0] else "input", "rhs_style": "const" if const[1] else "input",
    }  # fmt: skip
    node = hw(f"Elementwise{case['op']}", ["lhs", "rhs"], ["y"], **attrs)
    names = ["lhs", "rhs"]
    inputs = {n: s for n, s, c in zip(names, shapes, const, strict=True) if not c}
    consts = {n: a for n, a, c in zip(names, arrays, const, strict=True) if c}
    model = graph_model([node], inputs, ["y"], consts)
    check_layer(model, [a for a, c in zip(arrays, const, strict=True) if not c], 1, synthesis_path)


@pytest.mark.parametrize("op", [pytest.param(op, marks=[] if op in CI_OPS else [pytest.mark.slow]) for op in EXACT_OPS])
def test_elementwise_cppsim(op):
    """Every operation with a seeded random case (shapes, broadcasting, constants, types, PE)."""
    check_elementwise(draw_elementwise(np.random.default_rng(EXACT_OPS.index(op)), op))


@pytest.mark.parametrize("pattern", range(len(PATTERNS)))
def test_elementwise_broadcast_patterns_cppsim(pattern):
    out, lhs, rhs, const = PATTERNS[pattern]
    dts = [DataType["INT4"], DataType["UINT3"]]
    check_elementwise(
        {"op": "Sub", "out": out, "shapes": [lhs, rhs], "const": const, "dts": dts, "pe": 2, "seed": pattern}
    )


def test_elementwise_synthesis_path_cppsim():
    """The code Vitis HLS synthesises (broadcast buffer, constant table) is bit-exact too."""
    out, lhs, rhs, _ = PATTERNS[0]
    case = {"op": "Mul", "out": out, "shapes": [lhs, rhs], "const": (False, False), "pe": 3, "seed": 7}
    check_elementwise({**case, "dts": [DataType["INT4"], DataType["UINT3"]]}, synthesis_path=True)


@pytest.mark.slow
@SLOW
@given(st.sampled_from(EXACT_OPS), st.integers(0, 2**32 - 1))
def test_elementwise_cppsim_slow(op, seed):
    check_elementwise(draw_elementwise(np.random.default_rng(seed), op))


def test_elementwise_refuses_what_the_hardware_would_get_wrong():
    attrs = {"lhs_dtype": "INT8", "rhs_dtype": "INT8", "out_shape": [1, 4], "lhs_shape": [1, 4], "rhs_shape": [1, 4]}
    model = graph_model(
        [hw("ElementwiseAdd", ["a", "b"], ["y"], out_dtype="INT8", **attrs)], {"a": [1, 4], "b": [1, 4]}, ["y"], {}
    )
    with pytest.raises(CodegenError, match=r"out_dtype INT8 cannot hold the Add results in \[-256, 254\]"):
        layer_code(model, model.graph.node[0])
    model = graph_model(
        [hw("ElementwiseDiv", ["a", "b"], ["y"], out_dtype="INT8", **attrs)], {"a": [1, 4], "b": [1, 4]}, ["y"], {}
    )
    with pytest.raises(CodegenError, match="no exact integer hardware"):
        layer_code(model, model.graph.node[0])
    const = graph_model(
        [hw("ElementwiseAdd", ["a", "b"], ["y"], out_dtype="INT9", **attrs)], {"a": [1, 4]}, ["y"], {"b": np.ones(4)}
    )
    with pytest.raises(CodegenError, match="rhs 'b' is a constant but rhs_style is 'input'"):
        layer_code(const, const.graph.node[0])


# ------------------------------------------------------------------ Squeeze / Unsqueeze / Reshape
@st.composite
def shape_cases(draw: st.DrawFn) -> dict[str, Any]:
    op = draw(st.sampled_from(["Squeeze", "Unsqueeze", "Reshape"]))
    dims = draw(st.lists(st.integers(2, 4), min_size=1, max_size=3))
    c = draw(st.integers(1, 12))
    inp = [1, *dims, c]
    if op == "Squeeze":
        inp, out, extra = [1, *dims, 1, c], [1, *dims, c], {"axes": [len(dims) + 1]}
    elif op == "Unsqueeze":
        out, extra = [1, 1, *dims, c], {"axes": [1]}
    else:
        out, extra = [1, math.prod(dims), c], {}
    pe = draw(st.sampled_from(divisors(c)))
    dt = draw(st.sampled_from(INT_TYPES))
    types = {"dtype": dt} if op == "Reshape" else {"inp_dtype": dt, "out_dtype": dt}
    return {
        "op": op,
        "inp": inp,
        "out": out,
        "attrs": {**extra, **types, "PE": pe},
        "seed": draw(st.integers(0, 2**32 - 1)),
    }


def check_shape(case: dict[str, Any]) -> None:
    node = hw(case["op"], ["x"], ["y"], inp_shape=case["inp"], out_shape=case["out"], **case["attrs"])
    model = graph_model([node], {"x": case["inp"]}, ["y"], {})
    dt = DataType.from_name(case["attrs"].get("dtype") or case["attrs"]["inp_dtype"])
    check_layer(model, [values(dt, (2, *case["inp"][1:]), np.random.default_rng(case["seed"]))], 2)


@CI
@given(shape_cases())
def test_squeeze_unsqueeze_reshape_cppsim(case):
    check_shape(case)


# ------------------------------------------------------------------ StreamingConcat / StreamingSplit
@st.composite
def concat_split_cases(draw: st.DrawFn) -> dict[str, Any]:
    simd = draw(st.sampled_from([1, 2, 3]))
    sizes = [simd * draw(st.integers(1, 4)) for _ in range(draw(st.integers(2, 4)))]
    vecs = [1, *draw(st.lists(st.integers(1, 3), max_size=2))]
    dts = [draw(st.sampled_from(INT_TYPES)) for _ in sizes]
    return {"op": draw(st.sampled_from(["StreamingConcat", "StreamingSplit"])), "simd": simd, "sizes": sizes,
            "vecs": vecs, "dts": dts, "seed": draw(st.integers(0, 2**32 - 1))}  # fmt: skip


def check_concat_split(case: dict[str, Any]) -> None:
    rng = np.random.default_rng(case["seed"])
    vecs, sizes = case["vecs"], case["sizes"]
    common = {"SIMD": case["simd"], "ChannelsPerStream": sizes, "numInputVectors": vecs}
    if case["op"] == "StreamingConcat":
        names = [f"x{i}" for i in range(len(sizes))]
        node = hw("StreamingConcat", names, ["y"], inputDataTypes=case["dts"], **common)
        model = graph_model([node], {n: [*vecs, s] for n, s in zip(names, sizes, strict=True)}, ["y"], {})
        feeds = [values(DataType.from_name(d), (2, *vecs[1:], s), rng) for d, s in zip(case["dts"], sizes, strict=True)]
    else:
        outs = [f"y{i}" for i in range(len(sizes))]
        node = hw("StreamingSplit", ["x"], outs, inputDataType=case["dts"][0], **common)
        model = graph_model([node], {"x": [*vecs, sum(sizes)]}, outs, {})
        feeds = [values(DataType.from_name(case["dts"][0]), (2, *vecs[1:], sum(sizes)), rng)]
    check_layer(model, feeds, 2)


@CI
@given(concat_split_cases())
def test_concat_split_cppsim(case):
    check_concat_split(case)


# ------------------------------------------------------------------ UpsampleNearestNeighbour
@st.composite
def upsample_cases(draw: st.DrawFn) -> dict[str, Any]:
    ifm = draw(st.integers(1, 5))
    return {"ifm": ifm, "ofm": draw(st.integers(ifm, 3 * ifm)), "c": draw(st.integers(1, 5)),
            "mode": draw(st.integers(0, 1)), "dt": draw(st.sampled_from(INT_TYPES)),
            "seed": draw(st.integers(0, 2**32 - 1))}  # fmt: skip


def check_upsample(case: dict[str, Any]) -> None:
    ifm, mode = case["ifm"], case["mode"]
    attrs = {
        "IFMDim": ifm,
        "OFMDim": case["ofm"],
        "NumChannels": case["c"],
        "inputDataType": case["dt"],
        "DimMode": mode,
    }
    shape = [1, ifm, 1 if mode else ifm, case["c"]]
    model = graph_model([hw("UpsampleNearestNeighbour", ["x"], ["y"], **attrs)], {"x": shape}, ["y"], {})
    x = values(DataType.from_name(case["dt"]), (2, *shape[1:]), np.random.default_rng(case["seed"]))
    check_layer(model, [x], 2)


@CI
@given(upsample_cases())
def test_upsample_cppsim(case):
    check_upsample(case)
