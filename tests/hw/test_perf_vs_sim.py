"""The performance model describes the hardware qnncc emits: layer by layer and network-wide it equals the simulator.

The cycle-level simulator (:mod:`qnncc.hw.sim`) replays the loops of qnncc's
HLS library (``tests/hw/test_cyclesim.py`` checks its patterns against the
compiled templates). ``estimate_layer(..., emitted=True)`` must give, for
every layer of TFC, LFC and the four Brevitas CNNs, the loop's iterations as
``cycles`` and its pipeline depth as ``drain_cycles``, and the partition
interval must equal the simulated one within 2 % (``benchmarks/bench_perf_vs_sim.py``
prints the table). FINN's formulas (``emitted=False``) are the broken case:
they miss qnncc's max pool, LabelSelect and GlobalAccPool loops.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from qnncc.transforms.hw import InsertDWC

from qnncc.codegen.hls import hw_partition
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.custom_op import get_custom_op
from qnncc.data import demo_model_path
from qnncc.flow.estimate import estimate, layer_specs
from qnncc.hw.layers.base import HWLayer
from qnncc.hw.layers.convolutioninputgenerator import swg_buffer_rows
from qnncc.hw.perf import estimate_layer, estimate_partition
from qnncc.hw.perf.shell import estimate_dma_shell, partition_dma_streams
from qnncc.hw.sim import UNBOUNDED, build_network, layer_program, simulate

DATA = Path(__file__).resolve().parents[1] / "data"
DESIGNS = {
    "tfc_w1a1": dict(model=demo_model_path(), folding=demo_model_path().parent / "tfc_w1a1_folding_config.json"),
    "lfc_w1a1": dict(model=DATA / "lfc_w1a1" / "LFCW1A1.onnx", input_scale="1/255"),
    **{n: dict(model=DATA / "brevitas_dev" / n / "model_qonnx.onnx") for n in ("cnv3_w2a2", "mlp_w2a2")},
    **{n: dict(model=DATA / "brevitas_dev" / n / "model_qonnx.onnx") for n in ("res2_w3a3", "dws_w4a4")},
}


@functools.cache
def child(name: str) -> ModelWrapper:
    """HW partition of the design with width converters (do not mutate)."""
    return hw_partition(estimate(board="Pynq-Z1", **DESIGNS[name]).model).transform(InsertDWC())  # type: ignore[arg-type]


def _layer(node) -> HWLayer:  # type: ignore[no-untyped-def]
    layer = get_custom_op(node)
    assert isinstance(layer, HWLayer)
    return layer


@pytest.mark.parametrize("name", list(DESIGNS))
def test_layer_model_equals_the_emitted_loop(name: str) -> None:
    model = child(name)
    nodes = {n.name: n for n in model.graph.node}
    for spec in layer_specs(model):
        est = estimate_layer(spec.op_type, spec.attrs, emitted=True)
        program = layer_program(_layer(nodes[spec.name]))
        assert (est.cycles, est.drain_cycles) == (program.iterations, program.latency), spec.name


@pytest.mark.parametrize("name", list(DESIGNS))
def test_partition_interval_equals_the_simulator(name: str) -> None:
    model = child(name)
    layers = [(s.name, estimate_layer(s.op_type, s.attrs, emitted=True)) for s in layer_specs(model)]
    part = estimate_partition(layers)
    net = build_network(model)
    sim = simulate(net, frames=3, capacities=[UNBOUNDED] * len(net.streams)).check()
    assert sim.interval_cycles is not None
    assert abs(part.interval_cycles - sim.interval_cycles) <= 0.02 * sim.interval_cycles, (part, sim.interval_cycles)


def test_finn_formulas_miss_the_emitted_loops() -> None:
    """The broken case: FINN's cycle formulas differ from qnncc's loops by far more than 2 %."""
    off = {}
    for name in ("tfc_w1a1", "cnv3_w2a2", "dws_w4a4"):
        model = child(name)
        nodes = {n.name: n for n in model.graph.node}
        for spec in layer_specs(model):
            finn = estimate_layer(spec.op_type, spec.attrs).cycles
            loop = layer_program(_layer(nodes[spec.name])).iterations
            if abs(finn - loop) > 0.02 * loop:
                off[f"{name}/{spec.name}"] = (finn, loop)
    kinds = {k.split("/")[1].rsplit("_", 1)[0] for k in off}
    assert {"StreamingMaxPool", "LabelSelect", "GlobalAccPool"} <= kinds, off
    pools = [v for k, v in off.items() if "StreamingMaxPool" in k]
    assert all(4 * finn == 5 * loop for finn, loop in pools)  # IH*IW*(1+1/(2*2)) vs IH*IW*C/C


def test_dma_shell_bounds_tfc() -> None:
    """Issue item 3: TFC's 16 x 392-bit input words enter through an 8-bit DMA stream: 784 cycles per frame."""
    shell = estimate_dma_shell(partition_dma_streams(child("tfc_w1a1")))
    assert shell.cycles == 784 and "8-bit DMA" in shell.bottleneck
    result = estimate(board="Pynq-Z1", **DESIGNS["tfc_w1a1"])
    perf = result.reports["estimate_network_performance.json"]
    assert perf["estimated_throughput_fps"] == pytest.approx(1e9 / (784 * 10.0))  # ~127.6k, not 156k
    assert result.network is not None and result.network.throughput_fps[10000] < 128_000
    generic = estimate(board="U250", **DESIGNS["tfc_w1a1"])  # no Zynq shell: the accelerator alone
    assert "dma_shell_cycles" not in generic.reports["estimate_network_performance.json"]


def test_emitted_swg_buffer_and_hls_thresholding_cost() -> None:
    """The line buffer is min(span + stride, H) rows; HLS thresholds cost their unrolled comparators."""
    assert swg_buffer_rows(3, 1, 3) == 3 and swg_buffer_rows(5, 2, 30) == 7
    swg = {"ConvKernelDim": [3, 3], "IFMChannels": 64, "IFMDim": [3, 64], "SIMD": 1, "inputDataType": "UINT8"}
    swg |= {"ram_style": "distributed"}
    finn, ours = (
        estimate_layer("ConvolutionInputGenerator", swg),
        estimate_layer("ConvolutionInputGenerator", swg, emitted=True),
    )
    buffer = lambda e: next(m for m in e.modules if m.name == "line_buffer").lut  # noqa: E731
    assert buffer(ours) * 4 == buffer(finn) * 3  # 3 image rows, not K_h + S_h = 4
    thr = {"NumChannels": 28, "PE": 1, "numSteps": 255, "inputDataType": "UINT8", "outputDataType": "UINT8"}
    rtl, hls = estimate_layer("Thresholding", thr), estimate_layer("Thresholding", thr, emitted=True)
    assert hls.lut >= 255 * 8 + 255 and hls.lut > 4 * rtl.lut  # the ~4k-LUT no-op the issue names
