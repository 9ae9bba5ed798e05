"""MMV MVAUs/VVAUs and DSP-bound multipliers: C++ simulation bit-exact with ``execute``; the BIND_OP lint rule."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hw_graphs import hw_graph_model
from onnx import helper
from qnncc.transforms import InferShapes

import qnncc
from qnncc import DataType, ModelWrapper
from qnncc.codegen.hls import layer_code, render_layer
from qnncc.codegen.hls.cppsim import build_partition_sim
from qnncc.codegen.hls.lint import _library, lint_top
from qnncc.hw.layers import HW_DOMAIN

RNG = np.random.default_rng(16)


def values(dt: str, shape: tuple[int, ...]) -> np.ndarray:
    d = DataType[dt]
    if d.name == "BIPOLAR":
        return RNG.choice(np.array([-1.0, 1.0], np.float32), shape)
    return RNG.integers(int(d.min()), int(d.max()) + 1, shape).astype(np.float32)


def thresholds(rows: int, steps: int, lo: int, hi: int) -> np.ndarray:
    return np.sort(RNG.integers(lo, hi + 1, (rows, steps)), axis=1).astype(np.float32)


def mvau_case(i: int, mw: int, mh: int, vecs: list[int], mmv: int, idt: str, wdt: str, odt: str, **extra: Any):  # type: ignore[no-untyped-def]
    """An MVAU with SIMD = MW, PE = MH and the given MMV: (node, input shape, consts, input datatype)."""
    consts: dict[str, np.ndarray] = {f"w{i}": values(wdt, (mw, mh))}
    attrs: dict[str, Any] = {"MW": mw, "MH": mh, "SIMD": mw, "PE": mh, "MMV": mmv, "numInputVectors": vecs}
    attrs |= {"inputDataType": idt, "weightDataType": wdt, "outputDataType": odt, **extra}
    inputs = [f"x{i}", f"w{i}"]
    if (odt.startswith("INT3") and odt != "INT32") or odt in ("UINT2", "BIPOLAR"):
        steps = 1 if odt == "BIPOLAR" else int(DataType[odt].max() - DataType[odt].min())
        bound = mw * 8 if not extra.get("binaryXnorMode") else mw
        consts[f"t{i}"] = thresholds(mh, steps, -bound if not extra.get("binaryXnorMode") else 0, bound)
        inputs.append(f"t{i}")
        attrs["ActVal"] = 0 if odt in ("UINT2", "BIPOLAR") else int(DataType[odt].min())
    else:
        attrs["noActivation"] = 1
    node = helper.make_node("MVAU", inputs, [f"y{i}"], name=f"MVAU_{i}", domain=HW_DOMAIN, **attrs)
    return node, [1, *vecs[1:], mw], consts, idt


def vvau_case(i: int, c: int, k: tuple[int, int], dim: tuple[int, int], mmv: int, act: bool, **extra: Any):  # type: ignore[no-untyped-def]
    kk = k[0] * k[1]
    consts: dict[str, np.ndarray] = {f"w{i}": values("INT4", (c, 1, *k))}
    attrs: dict[str, Any] = {"Channels": c, "Kernel": list(k), "Dim": list(dim), "PE": c, "SIMD": kk, "MMV": mmv}
    attrs |= {"inputDataType": "UINT4", "weightDataType": "INT4", **extra}
    inputs = [f"x{i}", f"w{i}"]
    if act:
        consts[f"t{i}"] = thresholds(c, 3, -kk * 60, kk * 60)
        inputs.append(f"t{i}")
        attrs |= {"outputDataType": "UINT2", "ActVal": 0}
    else:
        attrs |= {"outputDataType": "INT16", "noActivation": 1}
    node = helper.make_node("VVAU", inputs, [f"y{i}"], name=f"VVAU_{i}", domain=HW_DOMAIN, **attrs)
    return node, [1, *dim, kk * c], consts, "UINT4"


def side_by_side(cases: list[Any]) -> tuple[ModelWrapper, dict[str, np.ndarray]]:
    nodes = [c[0] for c in cases]
    inputs = {f"x{i}": c[1] for i, c in enumerate(cases)}
    consts = {k: v for c in cases for k, v in c[2].items()}
    model = hw_graph_model(nodes, inputs, [n.output[0] for n in nodes], consts)
    for i, c in enumerate(cases):
        model.set_tensor_datatype(f"x{i}", c[3])
        model.set_tensor_datatype(
            f"w{i}", c[0].attribute[[a.name for a in c[0].attribute].index("weightDataType")].s.decode()
        )
    feeds = {f"x{i}": values(c[3], (3, *c[1][1:])) for i, c in enumerate(cases)}
    return model.transform(InferShapes()), feeds


CASES = [
    mvau_case(0, 6, 4, [1, 3, 2], 3, "INT3", "INT4", "UINT2", resType="dsp"),
    mvau_case(1, 8, 4, [1, 2, 2], 2, "BINARY", "BINARY", "BIPOLAR", binaryXnorMode=1),
    mvau_case(2, 5, 3, [1, 4], 4, "UINT8", "INT8", "INT32", resType="lut"),
    vvau_case(3, 3, (2, 2), (2, 3), 2, True, resType="dsp"),
    vvau_case(4, 4, (3, 1), (2, 2), 4, False),
]


def test_mmv_layers_cppsim_equal_execute() -> None:
    model, feeds = side_by_side(CASES)
    sim = build_partition_sim(model)
    got = sim.run([feeds[f"x{i}"] for i in range(len(CASES))])
    expected = qnncc.execute(model, feeds, backend="reference")
    for i, y in enumerate(got):
        ref = expected[f"y{i}"]
        assert np.array_equal(y.reshape(ref.shape), ref), CASES[i][0].name


def _top(model: ModelWrapper, name: str) -> str:
    node = next(n for n in model.graph.node if n.name == name)
    files = render_layer(layer_code(model, node))
    return next(text for fname, text in files.items() if fname.startswith("top_"))


def test_dsp_binding_reaches_the_top_and_the_linter_checks_it() -> None:
    model, _ = side_by_side(CASES)
    dsp, lut = _top(model, "MVAU_0"), _top(model, "MVAU_2")
    assert "qnncc::mvau_mmv<" in dsp and "qnncc::RES_DSP" in dsp and "qnncc::RES_LUT" in lut
    assert "qnncc::vvau_mmv<" in _top(model, "VVAU_3")
    assert lint_top(dsp) == [] and lint_top(lut) == []
    dsp_pragma = "#pragma HLS BIND_OP variable = p op = mul impl = dsp"
    lib = _library()
    wrong = {**lib, "mul.hpp": lib["mul.hpp"].replace(dsp_pragma, dsp_pragma.replace("dsp", "fabric"))}
    assert {p.rule for p in lint_top(dsp, wrong)} == {"bind-op"} and lint_top(lut, wrong) == []
    missing = {**lib, "mul.hpp": lib["mul.hpp"].replace(dsp_pragma, "")}
    assert any("no BIND_OP" in p.message for p in lint_top(dsp, missing))
    undeclared = {**lib, "mul.hpp": lib["mul.hpp"].replace(dsp_pragma, dsp_pragma.replace("= p ", "= q "))}
    assert any("not declared" in p.message for p in lint_top(dsp, undeclared))


@pytest.mark.parametrize("res", ["dsp", "lut"])
def test_serial_mvau_with_bound_multipliers_cppsim(res: str) -> None:
    """The folded (MMV = 1) MVAU with resType lut/dsp: wide accumulators take the bound-multiplier path in C sim."""
    node, shape, consts, idt = mvau_case(0, 6, 4, [1, 2], 1, "INT8", "INT8", "INT32", resType=res)
    node.attribute.remove(next(a for a in node.attribute if a.name == "SIMD"))
    node.attribute.append(helper.make_attribute("SIMD", 3))
    model, feeds = side_by_side([(node, shape, consts, idt)])
    (y,) = build_partition_sim(model).run([feeds["x0"]])
    ref = qnncc.execute(model, feeds, backend="reference")["y0"]
    assert np.array_equal(y.reshape(ref.shape), ref)


def swg_node(i: int, src: str, out: str, dims: tuple[int, int], c: int, k: int, stride: tuple[int, int], mmv: int):  # type: ignore[no-untyped-def]
    oh, ow = ((d - k) // s + 1 for d, s in zip(dims, stride, strict=True))
    attrs = {"ConvKernelDim": [k, k], "IFMChannels": c, "IFMDim": list(dims), "OFMDim": [oh, ow], "SIMD": c}
    attrs |= {"Stride": list(stride), "parallel_window": 1, "MMV": mmv}
    attrs |= {"inputDataType": "INT3", "outputDataType": "INT3"}
    node = helper.make_node("ConvolutionInputGenerator", [src], [out], name=f"SWG_{i}", domain=HW_DOMAIN, **attrs)
    return node, (oh, ow)


def test_multi_pixel_windows_cppsim_equal_execute() -> None:
    """swg_parallel_mmv alone (stride 1 and 2x3) and feeding an MMV MVAU (3x3 conv, 2 pixels per cycle)."""
    a, _ = swg_node(0, "x0", "y0", (6, 6), 2, 3, (1, 1), 2)
    b, _ = swg_node(1, "x1", "y1", (7, 9), 2, 3, (2, 3), 3)
    c, (oh, ow) = swg_node(2, "x2", "win2", (6, 8), 3, 3, (1, 1), 2)
    w = values("INT2", (27, 4))
    conv = helper.make_node(
        "MVAU", ["win2", "w2"], ["y2"], name="MVAU_2", domain=HW_DOMAIN, MW=27, MH=4, SIMD=27, PE=4, MMV=2,
        numInputVectors=[1, oh, ow], inputDataType="INT3", weightDataType="INT2", outputDataType="INT32",
        noActivation=1, resType="dsp",
    )  # fmt: skip
    shapes = {"x0": [1, 6, 6, 2], "x1": [1, 7, 9, 2], "x2": [1, 6, 8, 3]}
    model = hw_graph_model([a, b, c, conv], shapes, ["y0", "y1", "y2"], {"w2": w})
    for name in shapes:
        model.set_tensor_datatype(name, "INT3")
    model.set_tensor_datatype("w2", "INT2")
    model = model.transform(InferShapes())
    feeds = {name: values("INT3", (2, *shape[1:])) for name, shape in shapes.items()}
    got = build_partition_sim(model).run([feeds[n] for n in shapes])
    expected = qnncc.execute(model, feeds, backend="reference")
    for name, y in zip(["y0", "y1", "y2"], got, strict=True):
        assert np.array_equal(y.reshape(expected[name].shape), expected[name]), name
    for node in ("SWG_0", "SWG_1", "SWG_2", "MVAU_2"):
        assert lint_top(_top(model, node)) == [], node


def test_multi_pixel_stem_chain_cppsim_equals_execute() -> None:
    """A stem at 2 pixels per cycle: FMPadding (pad 3, signed: PadValue -4) -> SWG 7x7/2 -> MVAU, all MMV = 2;
    and an FMPadding of 4 pixels per word whose left padding (3) splits the input words."""
    pad = helper.make_node(
        "FMPadding", ["x0"], ["p0"], name="FMPadding_0", domain=HW_DOMAIN, ImgDim=[8, 10], Padding=[3, 3, 3, 3],
        NumChannels=3, SIMD=3, MMV=2, PadValue=-4, inputDataType="INT3",
    )  # fmt: skip
    swg, (oh, ow) = swg_node(0, "p0", "win0", (14, 16), 3, 7, (2, 2), 2)
    conv = helper.make_node(
        "MVAU", ["win0", "w0"], ["y0"], name="MVAU_0", domain=HW_DOMAIN, MW=147, MH=2, SIMD=147, PE=2, MMV=2,
        numInputVectors=[1, oh, ow], inputDataType="INT3", weightDataType="INT2", outputDataType="INT32",
        noActivation=1,
    )  # fmt: skip
    split = helper.make_node(
        "FMPadding", ["x1"], ["y1"], name="FMPadding_1", domain=HW_DOMAIN, ImgDim=[3, 4], Padding=[1, 3, 0, 1],
        NumChannels=2, SIMD=2, MMV=4, inputDataType="INT3",
    )  # fmt: skip
    shapes = {"x0": [1, 8, 10, 3], "x1": [1, 3, 4, 2]}
    model = hw_graph_model([pad, swg, conv, split], shapes, ["y0", "y1"], {"w0": values("INT2", (147, 2))})
    for name in shapes:
        model.set_tensor_datatype(name, "INT3")
    model.set_tensor_datatype("w0", "INT2")
    model = model.transform(InferShapes())
    feeds = {name: values("INT3", (2, *shape[1:])) for name, shape in shapes.items()}
    got = build_partition_sim(model).run([feeds[n] for n in shapes])
    expected = qnncc.execute(model, feeds, backend="reference")
    for name, y in zip(["y0", "y1"], got, strict=True):
        assert np.array_equal(y.reshape(expected[name].shape), expected[name]), name
    for node in ("FMPadding_0", "FMPadding_1"):
        assert lint_top(_top(model, node)) == [], node


def test_optimiser_chosen_mmv_design_cppsim_equals_execute() -> None:
    """The test CNN folded as fast as Pynq-Z1 allows takes MMV = 2 in its first layers; the partition
    (width converters and FIFO depths inserted) simulates bit-exactly."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parents[1] / "transforms"))
    from qnncc.transforms.hw import InsertDWC, SetFIFODepths
    from test_cnn_flow import build_cnn

    from qnncc.codegen.hls import hw_partition
    from qnncc.custom_op import get_custom_op
    from qnncc.flow.estimate import estimate

    child = hw_partition(estimate(ModelWrapper(build_cnn(0)), input_scale="1/255").model)
    mmv = {n.name: get_custom_op(n).attrs.get("MMV", 1) for n in child.graph.node if n.domain == HW_DOMAIN}
    assert {k for k, v in mmv.items() if v > 1} >= {"FMPadding_0", "ConvolutionInputGenerator_0", "MVAU_0"}
    child = child.transform(InsertDWC()).transform(SetFIFODepths())
    name = child.graph.input[0].name
    x = values("UINT8", (3, *child.get_tensor_shape(name)[1:]))
    (y,) = build_partition_sim(child).run([x])
    ref = qnncc.execute(child, {name: x}, backend="reference")[child.graph.output[0].name]
    assert np.array_equal(y.reshape(ref.shape), ref)
