"""MMV (several vectors per cycle) in the MVAU and VVAU: layer rules, cycle model = pattern, optimiser's choice."""

from __future__ import annotations

from typing import Any

import pytest
from onnx import helper

from qnncc.core.errors import UnsupportedOpError
from qnncc.hw.folding_opt import LayerSpec, optimize_folding
from qnncc.hw.layers import HW_DOMAIN, MVAU, VVAU
from qnncc.hw.layers.mmv import MAX_WORD_BITS, mmv_options
from qnncc.hw.perf import estimate_layer
from qnncc.hw.perf.estimate import EstimateError
from qnncc.hw.sim.patterns import layer_program

#: ResNet-50's stem convolution as an MVAU: 7x7x3 windows (8-bit), 64 channels, 112x112 pixels.
STEM: dict[str, Any] = {
    "MW": 147, "MH": 64, "inputDataType": "UINT8", "weightDataType": "INT8", "outputDataType": "UINT2",
    "numInputVectors": [1, 112, 112], "ActVal": 0,
}  # fmt: skip
#: A 3x3 depthwise convolution of 16 channels over 8x8 pixels.
DW: dict[str, Any] = {
    "Channels": 16, "Kernel": [3, 3], "Dim": [8, 8], "inputDataType": "UINT4", "weightDataType": "INT4",
    "outputDataType": "UINT4", "ActVal": 0,
}  # fmt: skip


def mvau(**attrs: Any) -> MVAU:
    node = helper.make_node("MVAU", ["x", "w", "t"], ["y"], domain=HW_DOMAIN, name="mvau", **{**STEM, **attrs})
    layer = MVAU(node)
    layer.validate()
    return layer


def vvau(**attrs: Any) -> VVAU:
    node = helper.make_node("VVAU", ["x", "w", "t"], ["y"], domain=HW_DOMAIN, name="vvau", **{**DW, **attrs})
    layer = VVAU(node)
    layer.validate()
    return layer


def test_mvau_rules_and_words() -> None:
    layer = mvau(SIMD=147, PE=64, MMV=2)
    assert layer.input_elems_per_word() == 294 and layer.output_elems_per_word() == 128
    assert layer.folded_input_shape() == (1, 6272, 294) and layer.folded_output_shape() == (1, 6272, 128)
    assert mvau(SIMD=49, PE=8).folded_input_shape() == (1, 112, 112, 3, 49)  # MMV = 1 unchanged
    assert layer.throughput_options()["MMV"] == [1, 2, 4, 7, 8] == mmv_options(112 * 112)
    with pytest.raises(UnsupportedOpError, match=r"MMV=2 needs SIMD = 147, PE = 64 .* got PE=32"):
        mvau(SIMD=147, PE=32, MMV=2)
    with pytest.raises(UnsupportedOpError, match="MMV=3 must divide the 12544 vectors"):
        mvau(SIMD=147, PE=64, MMV=3)
    with pytest.raises(UnsupportedOpError, match=f"4704-bit stream word .> {MAX_WORD_BITS}"):
        mvau(SIMD=147, PE=64, MMV=4)


def test_vvau_rules_and_words() -> None:
    layer = vvau(SIMD=9, PE=16, MMV=4)
    assert layer.input_elems_per_word() == 576 and layer.output_elems_per_word() == 64
    assert layer.folded_input_shape() == (1, 16, 576) and layer.folded_output_shape() == (1, 16, 64)
    with pytest.raises(UnsupportedOpError, match="MMV=2 needs SIMD = 9, PE = 16"):
        vvau(SIMD=3, PE=16, MMV=2)
    assert vvau(SIMD=9, PE=16).throughput_options()["MMV"] == [1, 2, 4, 8]


@pytest.mark.parametrize("mmv", [1, 2])
def test_mvau_cycles_divide_and_equal_the_pattern(mmv: int) -> None:
    layer = mvau(SIMD=147, PE=64, MMV=mmv)
    est = estimate_layer("MVAU", dict(layer.attrs), emitted=True)
    program = layer_program(layer)
    assert est.cycles == program.iterations == 112 * 112 // mmv
    assert est.drain_cycles == program.latency
    assert program.reads(0) == program.writes(0) == 112 * 112 // mmv
    one = estimate_layer("MVAU", {**layer.attrs, "MMV": 1}, emitted=True)
    assert est.lut > (mmv - 0.5) * (one.lut - 300) if mmv > 1 else est.lut == one.lut  # datapath replicated
    assert est.bram_18k == one.bram_18k  # weights shared


@pytest.mark.parametrize("mmv", [2, 4])
def test_vvau_cycles_divide_and_equal_the_pattern(mmv: int) -> None:
    layer = vvau(SIMD=9, PE=16, MMV=mmv)
    est = estimate_layer("VVAU", dict(layer.attrs), emitted=True)
    program = layer_program(layer)
    assert est.cycles == program.iterations == 64 // mmv
    assert program.reads(0) == program.writes(0) == 64 // mmv


def test_estimate_rejects_mmv_without_maxed_folding_and_on_rtl() -> None:
    with pytest.raises(EstimateError, match="MMV=2 needs SIMD = 147"):
        estimate_layer("MVAU", {**STEM, "SIMD": 49, "PE": 64, "MMV": 2})
    with pytest.raises(EstimateError, match="no RTL implementation"):
        estimate_layer("MVAU_rtl", {**STEM, "SIMD": 147, "PE": 64, "MMV": 2})


def test_optimiser_chooses_mmv_only_beyond_one_vector_per_cycle() -> None:
    layer = mvau(SIMD=1, PE=1)
    spec = LayerSpec("mvau", "MVAU", dict(layer.attrs), layer.legal_folding(), layer.throughput_options())
    budget = {"LUT": 1e7, "FF": 1e7, "BRAM_18K": 4000, "URAM": 1000, "DSP": 12000}
    clock = 4.0  # ns: one pixel per cycle is 250e6 / 12544 = 19,930 FPS
    slow = optimize_folding([spec], budget, clock_ns=clock, target_fps=2000)
    assert slow.choice["mvau"].values.get("MMV", 1) == 1 and slow.fps >= 2000
    fast = optimize_folding([spec], budget, clock_ns=clock, target_fps=30000)
    assert fast.choice["mvau"].values["MMV"] == 2 and fast.fps >= 30000
    assert fast.choice["mvau"].values["SIMD"] == 147 and fast.choice["mvau"].values["PE"] == 64
    without = LayerSpec("mvau", "MVAU", dict(layer.attrs), layer.legal_folding(), {})
    assert optimize_folding([without], budget, clock_ns=clock, target_fps=30000).fps < 20000


#: ResNet-50's stem window (7x7/2 over the padded 230x230 image of 3 channels).
SWG: dict[str, Any] = {
    "ConvKernelDim": [7, 7], "IFMChannels": 3, "IFMDim": [230, 230], "OFMDim": [112, 112], "Stride": [2, 2],
    "inputDataType": "UINT8", "outputDataType": "UINT8", "SIMD": 3, "parallel_window": 1,
}  # fmt: skip


def swg(**attrs: Any) -> Any:
    from qnncc.hw.layers import ConvolutionInputGenerator

    node = helper.make_node("ConvolutionInputGenerator", ["x"], ["y"], domain=HW_DOMAIN, name="swg", **{**SWG, **attrs})
    layer = ConvolutionInputGenerator(node)
    layer.validate()
    return layer


def test_swg_mmv_rules_cycles_and_pattern() -> None:
    layer = swg(MMV=2)
    assert layer.input_elems_per_word() == 6 and layer.output_elems_per_word() == 294
    assert layer.folded_output_shape() == (1, 6272, 294)
    assert swg().throughput_options() == {"parallel_window": [0, 1], "MMV": [1, 2]}  # 2 divides 230 and 112*112
    with pytest.raises(UnsupportedOpError, match="MMV=2 needs parallel_window=1"):
        swg(MMV=2, parallel_window=0)
    with pytest.raises(UnsupportedOpError, match="MMV=4 must divide the image width 230"):
        swg(MMV=4)
    est = estimate_layer("ConvolutionInputGenerator", dict(layer.attrs), emitted=True)
    program = layer_program(layer)
    assert est.cycles == program.iterations == 230 * 230 // 2
    assert program.reads(0) == 230 * 115 and program.writes(0) == 112 * 112 // 2
    with pytest.raises(EstimateError, match="MMV=2 needs parallel_window=1"):
        estimate_layer("ConvolutionInputGenerator", {**SWG, "parallel_window": 0, "MMV": 2})


@pytest.mark.parametrize(("dims", "kernel", "stride", "mmv"), [((6, 6), 3, 1, 2), ((7, 9), 3, 2, 3), ((5, 8), 2, 1, 4)])
def test_swg_mmv_pattern_writes_when_the_queue_fills(dims: tuple[int, int], kernel: int, stride: int, mmv: int) -> None:
    """The pattern's writes follow the windows completed word by word (raster order, MMV per write)."""
    from qnncc.custom_op.im2col import conv_output_dim

    oh, ow = (conv_output_dim(d, kernel, stride, 0, 1) for d in dims)
    layer = swg(ConvKernelDim=[kernel] * 2, IFMDim=list(dims), OFMDim=[oh, ow], Stride=[stride] * 2, MMV=mmv)
    reads, writes = layer_program(layer).expand()
    completed = 0
    for i, (r, w) in enumerate(zip(reads, writes, strict=True)):
        h, col0 = divmod(i * mmv, dims[1])
        for c in range(col0, col0 + mmv):
            top, left = h - kernel + 1, c - kernel + 1
            completed += top >= 0 and top % stride == 0 and left >= 0 and left % stride == 0 and left // stride < ow
        assert r == 1 and w == (completed >= mmv)
        completed -= mmv * int(w)
    assert completed == 0 and int(writes.sum()) == oh * ow // mmv


def test_fmpadding_mmv_rules_cycles_and_pattern() -> None:
    from qnncc.hw.layers import FMPadding

    attrs = {"ImgDim": [224, 224], "Padding": [3, 3, 3, 3], "NumChannels": 3, "SIMD": 3, "inputDataType": "UINT8"}
    node = helper.make_node("FMPadding", ["x"], ["y"], domain=HW_DOMAIN, name="pad", MMV=2, **attrs)
    layer = FMPadding(node)
    layer.validate()
    assert layer.input_elems_per_word() == layer.output_elems_per_word() == 6
    assert layer.throughput_options() == {"MMV": [1, 2]}  # 4 and 8 do not divide the padded 230
    est = estimate_layer("FMPadding", dict(layer.attrs), emitted=True)
    program = layer_program(layer)
    assert est.cycles == program.iterations == 230 * 230 // 2
    assert program.reads(0) == 224 * 224 // 2 and program.writes(0) == 230 * 115
    with pytest.raises(UnsupportedOpError, match="MMV=2 needs SIMD = 3"):
        FMPadding(
            helper.make_node("FMPadding", ["x"], ["y"], domain=HW_DOMAIN, **{**attrs, "SIMD": 1, "MMV": 2})
        ).validate()
    with pytest.raises(EstimateError, match="MMV=4 must divide the padded width 230"):
        estimate_layer("FMPadding", {**attrs, "MMV": 4})


def test_folding_config_with_mmv_applies_in_any_key_order() -> None:
    """Entries with MMV sorted before SIMD and parallel_window apply: folding factors, styles, then MMV."""
    from hw_graphs import hw_graph_model
    from qnncc.transforms.hw import ApplyFoldingConfig

    attrs = {"ImgDim": [4, 4], "Padding": [1, 1, 1, 1], "NumChannels": 3, "SIMD": 1, "inputDataType": "UINT8"}
    node = helper.make_node("FMPadding", ["x"], ["y"], domain=HW_DOMAIN, name="pad", **attrs)
    swg_attrs = {**SWG, "IFMDim": [6, 6], "OFMDim": [2, 2], "Stride": [1, 1], "SIMD": 1, "parallel_window": 0}
    swg_attrs |= {"ConvKernelDim": [5, 5], "inputDataType": "UINT8", "outputDataType": "UINT8"}
    window = helper.make_node("ConvolutionInputGenerator", ["y"], ["z"], domain=HW_DOMAIN, name="swg", **swg_attrs)
    model = hw_graph_model([node, window], {"x": [1, 4, 4, 3]}, ["z"], {})
    config = {"pad": {"MMV": 2, "SIMD": 3}, "swg": {"MMV": 2, "SIMD": 3, "parallel_window": 1}}
    model = model.transform(ApplyFoldingConfig({"Defaults": {}, **config}))
    for node, want in zip(model.graph.node, config.values(), strict=True):
        got = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        assert {k: got[k] for k in want} == want
