"""Performance model: FINN reference figures (TFC-W1A1), properties, errors, partitions, reports."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qnncc.core.errors import QnnccError, UnsupportedOpError
from qnncc.hw.layers.elementwise_binary import ELEMENTWISE_OPS
from qnncc.hw.perf import (
    EstimateError,
    LayerEstimate,
    NoEstimatorError,
    SparsityHint,
    estimate_layer,
    estimate_network,
    estimate_partition,
    estimated_op_types,
    layer_cycles_report,
    layer_resources_report,
    network_performance_report,
    normalize_op_type,
    sparse_window_cycles,
    throughput_fps,
)

# --------------------------------------------------------------------------- TFC-W1A1 reference
_XNOR = {"inputDataType": "BINARY", "weightDataType": "BINARY", "binaryXnorMode": 1}
TFC_LAYERS: list[tuple[str, str, dict[str, Any]]] = [
    (
        "Thresholding_rtl_0",
        "Thresholding_rtl",
        {"NumChannels": 784, "PE": 49, "numSteps": 1, "inputDataType": "UINT8", "outputDataType": "BIPOLAR"},
    ),
    (
        "MVAU_hls_0",
        "MVAU_hls",
        {"MW": 784, "MH": 64, "SIMD": 49, "PE": 16, **_XNOR, "outputDataType": "BIPOLAR", "noActivation": 0}
        | {"ram_style": "block", "mem_mode": "internal_decoupled", "numInputVectors": [1]},
    ),
    ("MVAU_hls_1", "MVAU_hls", {"MW": 64, "MH": 64, "SIMD": 8, "PE": 8, **_XNOR, "outputDataType": "BIPOLAR"}),
    ("MVAU_hls_2", "MVAU_hls", {"MW": 64, "MH": 64, "SIMD": 8, "PE": 8, **_XNOR, "outputDataType": "BIPOLAR"}),
    (
        "MVAU_hls_3",
        "MVAU_hls",
        {"MW": 64, "MH": 10, "SIMD": 8, "PE": 10, **_XNOR, "outputDataType": "INT32", "noActivation": 1}
        | {"ram_style": "distributed"},
    ),
    ("LabelSelect_hls_0", "LabelSelect_hls", {"Labels": 10, "PE": 1, "K": 1, "inputDataType": "INT32"}),
]
# FINN (finn-plus 1.6.1) analytic estimates, Pynq-Z1, 10 ns: cycles, LUT, BRAM_18K per layer
FINN_CYCLES = [16, 64, 64, 64, 8, 10]
FINN_LUT = [392, 5615, 766, 766, 963, 0]
FINN_BRAM = [0, 22, 2, 2, 0, 0]


def tfc_estimates(overrides: dict[str, dict[str, Any]] | None = None) -> list[tuple[str, LayerEstimate]]:
    overrides = overrides or {}
    return [(name, estimate_layer(op, attrs | overrides.get(name, {}))) for name, op, attrs in TFC_LAYERS]


@pytest.mark.parametrize("index", range(len(TFC_LAYERS)))
def test_tfc_reference_figures(index: int) -> None:
    est = tfc_estimates()[index][1]
    assert est.cycles == FINN_CYCLES[index]
    assert est.bram_18k == pytest.approx(FINN_BRAM[index], rel=0.15)
    if FINN_LUT[index]:
        assert est.lut == pytest.approx(FINN_LUT[index], rel=0.15)
    else:  # LabelSelect: FINN has no estimator and reports 0; qnncc models a small top-K unit
        assert 0 < est.lut < 100


def test_tfc_matches_finn_formulas_exactly() -> None:
    ests = [e for _, e in tfc_estimates()]
    assert [e.lut for e in ests[:5]] == FINN_LUT[:5]
    assert [e.bram_18k for e in ests] == FINN_BRAM
    total_lut = sum(e.lut for e in ests)
    assert total_lut == pytest.approx(8502, rel=0.15)
    assert sum(e.bram_18k for e in ests) == 26


def test_tfc_with_minimized_accumulators_is_unchanged() -> None:
    """accDataType as FINN's MinimizeAccumulatorWidth sets it gives the same figures."""
    acc = {"MVAU_hls_0": {"accDataType": "UINT10"}} | {f"MVAU_hls_{i}": {"accDataType": "UINT7"} for i in (1, 2, 3)}
    assert [e.lut for _, e in tfc_estimates(acc)][:5] == FINN_LUT[:5]


def test_tfc_reports_in_finn_format() -> None:
    ests = tfc_estimates()
    assert layer_cycles_report(ests) == dict(zip([n for n, *_ in TFC_LAYERS], FINN_CYCLES, strict=True))
    res = layer_resources_report(ests)
    assert set(res["MVAU_hls_0"]) == {"BRAM_18K", "BRAM_efficiency", "LUT", "URAM", "URAM_efficiency", "DSP"}
    assert res["MVAU_hls_0"]["BRAM_efficiency"] == pytest.approx(784 * 64 / (22 * 36 * 512))
    assert res["total"]["BRAM_18K"] == 26 and res["total"]["LUT"] == sum(e.lut for _, e in ests)
    perf = network_performance_report(ests, clk_ns=10.0)
    assert perf == {
        "critical_path_cycles": 226,
        "max_cycles": 64,
        "max_cycles_node_name": "MVAU_hls_0",
        "estimated_throughput_fps": pytest.approx(1_562_500.0),
        "estimated_latency_ns": pytest.approx(2260.0),
    }


def test_modules_add_up_to_layer() -> None:
    for _, est in tfc_estimates():
        assert est.lut == int(sum(m.lut for m in est.modules) + 1e-9)
        assert est.bram_18k == sum(m.bram_18k for m in est.modules)
    mvau0 = tfc_estimates()[1][1]
    assert {m.name for m in mvau0.modules} >= {"weight_memory", "multipliers", "adder_tree", "accumulator"}


# --------------------------------------------------------------------------- every op, no silent zero
SAMPLES: dict[str, dict[str, Any]] = {
    "MVAU": {"MW": 72, "MH": 32, "PE": 4, "SIMD": 9, "inputDataType": "UINT4", "weightDataType": "INT4"}
    | {"outputDataType": "UINT4", "numInputVectors": [1, 8, 8]},
    "VVAU": {"Channels": 32, "PE": 4, "SIMD": 3, "Kernel": [3, 3], "Dim": [8, 8], "inputDataType": "UINT4"}
    | {"weightDataType": "INT4", "outputDataType": "UINT4"},
    "Thresholding": {"NumChannels": 64, "PE": 8, "inputDataType": "INT16", "outputDataType": "UINT4"},
    "ConvolutionInputGenerator": {"ConvKernelDim": [3, 3], "IFMChannels": 16, "IFMDim": [10, 10], "OFMDim": [8, 8]}
    | {"SIMD": 4, "Stride": [1, 1], "inputDataType": "UINT4", "outputDataType": "UINT4"},
    "FMPadding": {"ImgDim": [8, 8], "Padding": [1, 1, 1, 1], "NumChannels": 16, "SIMD": 4, "inputDataType": "UINT4"},
    "StreamingMaxPool": {"ImgDim": [28, 28], "PoolDim": [2, 2], "NumChannels": 16, "inputDataType": "UINT4"},
    "Pool": {"Channels": 16, "PE": 4, "KernelSize": [2, 2], "Function": "AvgPool", "OutImgDims": [4, 4]}
    | {"inputDataType": "UINT4", "outputDataType": "UINT4"},
    "GlobalAccPool": {"NumChannels": 64, "PE": 8, "numInputVectors": [1, 4, 4], "inputDataType": "UINT4"},
    "LabelSelect": {"Labels": 10, "PE": 2, "K": 3, "inputDataType": "INT16"},
    "AddStreams": {"NumChannels": 16, "PE": 4, "inputDataTypes": ["INT4", "INT6"], "numInputVectors": [1, 4, 4]},
    "DuplicateStreams": {"NumChannels": 16, "PE": 4, "NumOutputStreams": 2, "inputDataType": "INT4"},
    "ChannelwiseOp": {"NumChannels": 16, "PE": 4, "Func": "add", "inputDataType": "INT4"}
    | {"paramDataType": "INT4", "outputDataType": "INT5", "numInputVectors": [1, 4, 4]},
    "StreamingDataWidthConverter": {"in_shape": [1, 784], "out_shape": [1, 784], "inWidth": 8, "outWidth": 64}
    | {"dataType": "BINARY"},
    "StreamingFIFO": {"depth": 32, "folded_shape": [1, 16, 8], "dataType": "UINT4", "impl_style": "rtl"},
    **{
        f"Elementwise{op}": {"lhs_dtype": "INT4", "rhs_dtype": "INT4", "out_dtype": "INT9", "lhs_shape": [1, 4, 4, 8]}
        | {"rhs_shape": [1, 1, 4, 8], "out_shape": [1, 4, 4, 8], "PE": 2}
        for op in ELEMENTWISE_OPS
    },
    **{
        op: {"inp_shape": [1, 4, 4, 8], "out_shape": shape, "PE": 4, types[0]: "INT4", types[1]: "INT4"}
        for op, shape, types in (
            ("Squeeze", [1, 4, 4, 8], ("inp_dtype", "out_dtype")),
            ("Unsqueeze", [1, 4, 4, 8], ("inp_dtype", "out_dtype")),
            ("Reshape", [1, 16, 8], ("dtype", "dtype")),
        )
    },
    "StreamingConcat": {"SIMD": 2, "ChannelsPerStream": [4, 6], "inputDataTypes": ["INT4", "UINT6"]}
    | {"numInputVectors": [1, 4, 4]},
    "StreamingSplit": {"SIMD": 2, "ChannelsPerStream": [4, 6], "inputDataType": "INT4", "numInputVectors": [1, 4, 4]},
    "UpsampleNearestNeighbour": {"OFMDim": 8, "IFMDim": 4, "NumChannels": 16, "inputDataType": "INT4"},
}


def test_samples_cover_every_estimator() -> None:
    assert sorted(SAMPLES) == sorted(estimated_op_types())


@pytest.mark.parametrize("op_type", sorted(SAMPLES))
def test_every_estimator_is_nonzero(op_type: str) -> None:
    est = estimate_layer(op_type, SAMPLES[op_type])
    assert est.cycles > 0 and est.latency_cycles > 0
    assert est.lut + est.bram_18k + est.uram + est.dsp > 0
    assert est.modules


def test_cycle_formulas() -> None:
    # FINN ConvolutionInputGenerator (HLS): IFM_W*K_h*(C/SIMD) + OFM_H*max(OFM_W*K*K*C/SIMD, S*IFM_W*C/SIMD)
    assert estimate_layer(
        "ConvolutionInputGenerator", SAMPLES["ConvolutionInputGenerator"]
    ).cycles == 10 * 3 * 4 + 8 * (8 * 9 * 4)
    assert estimate_layer("StreamingMaxPool", SAMPLES["StreamingMaxPool"]).cycles == 980  # 28*28*(1+1/4)
    assert estimate_layer("FMPadding", SAMPLES["FMPadding"]).cycles == 4 * 10 * 10
    assert estimate_layer("GlobalAccPool", SAMPLES["GlobalAccPool"]).cycles == 16 * 8 + 8
    assert estimate_layer("Pool", SAMPLES["Pool"]).cycles == 16 * 4 // 4 * 16
    assert estimate_layer("VVAU", SAMPLES["VVAU"]).cycles == 32 * 9 // 4 // 3 * 64
    assert estimate_layer("StreamingDataWidthConverter", SAMPLES["StreamingDataWidthConverter"]).cycles == 98
    # finn-plus get_exp_cycles: prod(folded output shape[:-1]); the upsampler OFMDim**2 per image
    assert estimate_layer("ElementwiseAdd", SAMPLES["ElementwiseAdd"]).cycles == 4 * 4 * 8 // 2
    assert estimate_layer("ElementwiseAdd_hls", SAMPLES["ElementwiseAdd"]).lut > 0
    assert estimate_layer("Reshape", SAMPLES["Reshape"]).cycles == 16 * 8 // 4
    assert estimate_layer("StreamingConcat", SAMPLES["StreamingConcat"]).cycles == 16 * 10 // 2
    assert estimate_layer("StreamingSplit", SAMPLES["StreamingSplit"]).cycles == 16 * 10 // 2
    assert estimate_layer("UpsampleNearestNeighbour", SAMPLES["UpsampleNearestNeighbour"]).cycles == 64
    fifo = estimate_layer("StreamingFIFO", SAMPLES["StreamingFIFO"])
    assert (fifo.cycles, fifo.latency_cycles, fifo.lut) == (16, 2, 2 * 5 + 1 * 16)  # FINN: 2*log2(d) + d/32*W/2


def test_backends_and_aliases() -> None:
    assert normalize_op_type("MatrixVectorActivation") == ("MVAU", "hls")
    assert normalize_op_type("Thresholding_Batch") == ("Thresholding", "rtl")
    assert normalize_op_type("Thresholding", {"preferred_impl_style": "hls"}) == ("Thresholding", "hls")
    assert normalize_op_type("ConvolutionInputGenerator_rtl") == ("ConvolutionInputGenerator", "rtl")
    thr = SAMPLES["Thresholding"]
    hls = estimate_layer("Thresholding_hls", thr)
    assert hls.lut == 16 * 8 + 8 * 16 * 1  # comparators A*PE + LUTRAM PE*A*ceil(TMEM/64)
    swg = SAMPLES["ConvolutionInputGenerator"]
    assert estimate_layer("ConvolutionInputGenerator_rtl", swg).cycles == (2 * 10 + 3) * 4 + 8 * 8 * 9 * 4


def test_mvau_rtl_dsp_depends_on_device() -> None:
    attrs = SAMPLES["MVAU"] | {"resType": "dsp"}
    assert estimate_layer("MVAU_rtl", attrs).dsp == math.ceil(4 / 4) * 9
    assert estimate_layer("MVAU_rtl", attrs, fpga_part="xcve2802-vsvh1760-2MP-e-S").dsp == 4 * 3
    assert estimate_layer("MVAU_hls", attrs).dsp == 4 * 9 * 1


# --------------------------------------------------------------------------- errors
def test_unknown_op_raises() -> None:
    with pytest.raises(NoEstimatorError, match="no performance estimator for op type 'Softmax'") as info:
        estimate_layer("Softmax", {})
    assert isinstance(info.value, UnsupportedOpError) and isinstance(info.value, QnnccError)


@pytest.mark.parametrize(
    ("attrs", "message"),
    [
        ({k: v for k, v in SAMPLES["MVAU"].items() if k != "MW"}, "attribute 'MW' is missing"),
        (SAMPLES["MVAU"] | {"PE": 5}, "PE=5 must divide MH=32"),
        (SAMPLES["MVAU"] | {"weightDataType": "INT99"}, "attribute 'weightDataType'"),
        (SAMPLES["MVAU"] | {"mem_mode": "const"}, "attribute 'mem_mode' must be one of"),
        (SAMPLES["MVAU"] | {"SIMD": 2.5}, "attribute 'SIMD' must be an integer"),
    ],
)
def test_bad_attributes_raise(attrs: dict[str, Any], message: str) -> None:
    with pytest.raises(EstimateError, match=message):
        estimate_layer("MVAU", attrs)


def test_sparsity_only_for_dot_product_layers() -> None:
    with pytest.raises(EstimateError, match="sparse cycle model"):
        estimate_layer("Thresholding", SAMPLES["Thresholding"], sparsity=SparsityHint((1.0,), 9))


# --------------------------------------------------------------------------- properties
_DIVS = [1, 2, 3, 4, 6, 8, 12, 16, 24, 48]


@st.composite
def mvau_attrs(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "MW": draw(st.sampled_from([48, 96, 144])),
        "MH": draw(st.sampled_from([48, 96])),
        "inputDataType": draw(st.sampled_from(["BINARY", "UINT2", "INT4", "UINT8"])),
        "weightDataType": draw(st.sampled_from(["BINARY", "INT2", "INT4", "INT8"])),
        "outputDataType": draw(st.sampled_from(["BIPOLAR", "UINT2", "UINT4"])),
        "noActivation": draw(st.sampled_from([0, 1])),
        "mem_mode": draw(st.sampled_from(["internal_embedded", "internal_decoupled", "external"])),
        "ram_style": draw(st.sampled_from(["auto", "block", "distributed", "ultra"])),
        "ram_style_thresholds": draw(st.sampled_from(["auto", "block", "distributed"])),
        "resType": draw(st.sampled_from(["auto", "lut", "dsp"])),
        "numInputVectors": [1, draw(st.integers(1, 8))],
    }


@settings(max_examples=60, deadline=None)
@given(
    mvau_attrs(), st.sampled_from(_DIVS), st.sampled_from([1, 2, 3]), st.sampled_from(_DIVS), st.sampled_from([1, 2])
)
def test_mvau_more_parallelism_is_faster_and_not_smaller(
    attrs: dict[str, Any], pe: int, pe_mult: int, simd: int, simd_mult: int
) -> None:
    if attrs["MH"] % (pe * pe_mult) or attrs["MW"] % (simd * simd_mult):
        return
    base = estimate_layer("MVAU", attrs | {"PE": pe, "SIMD": simd})
    more_pe = estimate_layer("MVAU", attrs | {"PE": pe * pe_mult, "SIMD": simd})
    more_simd = estimate_layer("MVAU", attrs | {"PE": pe, "SIMD": simd * simd_mult})
    if attrs["mem_mode"] != "external":  # streamed weights: a 5-byte word through an 8-bit DMA is slower than 2 bytes
        assert more_pe.cycles <= base.cycles and more_simd.cycles <= base.cycles
    assert more_pe.lut >= base.lut
    assert more_pe.dsp >= base.dsp


@settings(max_examples=40, deadline=None)
@given(st.sampled_from([1, 2, 4, 8, 16, 32]), st.sampled_from([1, 2, 4]), st.sampled_from(["UINT4", "INT8"]))
def test_more_pe_never_slower_for_streaming_layers(pe: int, mult: int, dtype: str) -> None:
    cases = [
        ("VVAU", SAMPLES["VVAU"] | {"Channels": 128, "SIMD": 1, "inputDataType": dtype}),
        ("Thresholding", SAMPLES["Thresholding"] | {"NumChannels": 128}),
        ("ChannelwiseOp", SAMPLES["ChannelwiseOp"] | {"NumChannels": 128}),
        ("GlobalAccPool", SAMPLES["GlobalAccPool"] | {"NumChannels": 128}),
        ("AddStreams", SAMPLES["AddStreams"] | {"NumChannels": 128}),
        ("LabelSelect", SAMPLES["LabelSelect"] | {"Labels": 128}),
    ]
    for op, attrs in cases:
        slow = estimate_layer(op, attrs | {"PE": pe})
        fast = estimate_layer(op, attrs | {"PE": pe * mult})
        assert fast.cycles <= slow.cycles, op
        if op == "VVAU":
            assert fast.lut >= slow.lut


# --------------------------------------------------------------------------- sparsity
def test_sparse_window_cycles() -> None:
    assert sparse_window_cycles([1.0], 9, 3) == 3  # dense: ceil(9/3)
    assert sparse_window_cycles([0] * 9 + [1], 9, 3) == 1  # all-zero window still takes a cycle
    # half dense (3 cycles), half with 4 zeros (ceil(5/3) = 2): 2.5
    assert sparse_window_cycles([1, 0, 0, 0, 1], 9, 3) == pytest.approx(2.5)
    with pytest.raises(EstimateError):
        sparse_window_cycles([1.0] * 11, 9, 3)
    with pytest.raises(EstimateError):
        sparse_window_cycles([0.0, -1.0], 9, 3)


def test_sparsity_hint_changes_vvau_cycles_only_when_given() -> None:
    attrs = SAMPLES["VVAU"] | {"SIMD": 1}
    dense = estimate_layer("VVAU", attrs)
    same = estimate_layer("VVAU", attrs, sparsity=SparsityHint((1.0,), 9))
    sparse = estimate_layer("VVAU", attrs, sparsity=SparsityHint((0.0, 0.0, 0.0, 1.0), 9))
    assert same.cycles == dense.cycles
    assert sparse.cycles == dense.cycles * 6 // 9


# --------------------------------------------------------------------------- partitions and networks
def _est(cycles: int, lut: int = 10) -> LayerEstimate:
    return LayerEstimate(cycles=cycles, lut=lut, ff=0, bram_18k=1, uram=0, dsp=0)


def test_partition_longest_path_in_dag() -> None:
    layers = [("in", _est(5)), ("a", _est(100)), ("b", _est(10)), ("b2", _est(10)), ("add", _est(7))]
    edges = [("in", "a"), ("in", "b"), ("b", "b2"), ("a", "add"), ("b2", "add")]
    part = estimate_partition(layers, edges)
    assert (part.interval_cycles, part.bottleneck) == (100, "a")
    assert part.critical_path == ("in", "a", "add") and part.latency_cycles == 112
    assert part.resources()["BRAM_18K"] == 5 and part.lut == 50
    assert part.throughput_fps(5.0) == throughput_fps(100, 5.0) == pytest.approx(2e6)


@pytest.mark.parametrize(
    ("layers", "edges", "message"),
    [
        ([], None, "at least one layer"),
        ([("a", _est(1)), ("a", _est(2))], None, "duplicate layer names"),
        ([("a", _est(1)), ("b", _est(2))], [("a", "c")], "unknown layer 'c'"),
        ([("a", _est(1)), ("b", _est(2))], [("a", "b"), ("b", "a")], "cycle"),
    ],
)
def test_partition_errors(layers: list[tuple[str, LayerEstimate]], edges: Any, message: str) -> None:
    with pytest.raises(EstimateError, match=message):
        estimate_partition(layers, edges)


def test_network_adds_reconfiguration_per_extra_partition() -> None:
    p1 = estimate_partition([("a", _est(100)), ("b", _est(50))])  # latency 150, interval 100
    p2 = estimate_partition([("c", _est(200))])
    one = estimate_network([p1], reconfiguration_ms=80.0, clk_ns=10.0, batch_sizes=(1, 10))
    assert one.latency_ns == pytest.approx(1500.0)
    assert one.batch_time_ms[10] == pytest.approx((150 + 9 * 100) * 10 / 1e6)
    two = estimate_network([p1, p2], reconfiguration_ms=80.0, clk_ns=[10.0, 5.0], batch_sizes=(1, 1000))
    assert two.latency_ns == pytest.approx(1500.0 + 1000.0 + 80e6)
    expected_ms = ((150 + 999 * 100) * 10 + (200 + 999 * 200) * 5) / 1e6 + 80.0
    assert two.batch_time_ms[1000] == pytest.approx(expected_ms)
    assert two.throughput_fps[1000] == pytest.approx(1000 / (expected_ms / 1e3))
    with pytest.raises(EstimateError):
        estimate_network([p1, p2], 1.0, clk_ns=[10.0])
