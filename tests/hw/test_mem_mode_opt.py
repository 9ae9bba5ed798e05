"""The optimiser's choice of ``mem_mode`` and the estimate of streamed weights (issue 16)."""

from __future__ import annotations

import math

import pytest
from mem_mode_graphs import Layer, mvau_chain

from qnncc.boards import get_board
from qnncc.custom_op import get_custom_op
from qnncc.flow.folding import fold_model, layer_specs
from qnncc.hw.folding_opt import optimize_folding
from qnncc.hw.mem_mode_opt import choose_mem_modes, shared_port_cycles, stream_order
from qnncc.hw.perf import estimate_layer
from qnncc.hw.perf.shell import DmaStream, estimate_dma_shell, partition_dma_streams

#: Two 4-Mbit FC layers (4-bit weights) and a small head: 8.6 Mbit, the Pynq-Z1 has 280 x 18 Kbit of BRAM.
BIG = [Layer(1024, 1024, wbits=4), Layer(1024, 1024, wbits=4), Layer(1024, 64, wbits=4), Layer(64, 10, act=False)]


def modes(model) -> dict[str, str]:
    return {n.name: get_custom_op(n).attrs["mem_mode"] for n in model.graph.node}


def test_weights_that_do_not_fit_are_streamed_largest_first_and_the_design_fits() -> None:
    board = get_board("Pynq-Z1")
    model = mvau_chain(BIG)
    specs = layer_specs(model, board)
    budget = {k: v * 0.85 for k, v in board.resources.as_dict().items()}
    on_chip = optimize_folding(specs, budget, 10.0)
    assert not on_chip.fits  # the premise: the weights do not fit on chip

    notes: list[str] = []
    model, _, splits = fold_model(model, board, 10.0, notes=notes)
    assert splits == {}  # streamed instead of split
    assert modes(model) == {
        "MVAU_0": "external",
        "MVAU_1": "external",
        "MVAU_2": "internal_decoupled",
        "MVAU_3": "internal_decoupled",
    }
    assert any("MVAU_0, MVAU_1" in n for n in notes)
    # the shared 64-bit HP port bounds the frame: 2 x 4 Mbit per frame / 64 bits
    assert shared_port_cycles(layer_specs(model, board), 64) == 2 * 1024 * 1024 * 4 // 64
    estimates = [estimate_layer(s.op_type, s.attrs, emitted=True) for s in layer_specs(model)]
    assert sum(e.bram_18k for e in estimates) <= budget["BRAM_18K"]
    assert sum(e.lut for e in estimates) <= budget["LUT"]
    assert estimates[0].bram_18k == estimates[1].bram_18k == 0  # no weight memory on chip


def test_nothing_is_streamed_when_everything_fits() -> None:
    model = mvau_chain([Layer(256, 256), Layer(256, 64), Layer(64, 10, act=False)])
    notes: list[str] = []
    model, _, _ = fold_model(model, get_board("Pynq-Z1"), 10.0, notes=notes)
    assert set(modes(model).values()) == {"internal_decoupled"}
    assert not any("streamed" in n for n in notes)


def test_streaming_can_be_switched_off() -> None:
    model, _, _ = fold_model(mvau_chain(BIG), get_board("Pynq-Z1"), 10.0, stream_weights=False)
    assert "external" not in modes(model).values()


def test_stream_order_prefers_bits_per_vector() -> None:
    conv = mvau_chain([Layer(576, 64, wbits=4)], (28, 28))  # 147 Kbit, streamed 784 times per frame
    fc = mvau_chain([Layer(512, 128, wbits=2)])  # 131 Kbit, once per frame
    specs = [*layer_specs(conv), *(s.__class__(**{**s.__dict__, "name": "FC"}) for s in layer_specs(fc))]
    assert stream_order(specs) == ["FC", "MVAU_0"]


def test_choose_keeps_every_layer_on_chip_when_streaming_cannot_make_it_fit() -> None:
    board = get_board("Pynq-Z1")
    specs = layer_specs(mvau_chain(BIG), board)
    tiny = {"LUT": 100.0, "FF": 100.0, "BRAM_18K": 0.0, "URAM": 0.0, "DSP": 0.0}
    plan, trial, streamed = choose_mem_modes(specs, lambda s: optimize_folding(s, tiny, 10.0))
    assert streamed == [] and trial == specs and "does not fit" in plan.notes[-1]


def test_external_estimate_has_no_weight_memory_and_the_dma_bound() -> None:
    base = {
        "MW": 64, "MH": 48, "PE": 3, "SIMD": 4, "inputDataType": "UINT2", "weightDataType": "INT2",
        "outputDataType": "UINT2", "numInputVectors": [1, 4], "ram_style": "block",
    }  # fmt: skip
    on_chip = estimate_layer("MVAU", {**base, "mem_mode": "internal_decoupled"}, emitted=True)
    streamed = estimate_layer("MVAU", {**base, "mem_mode": "external"}, emitted=True)
    assert on_chip.bram_18k > 0 and streamed.bram_18k == 0 and streamed.uram == 0
    compute = 4 * (64 // 4) * (48 // 3)
    # 24-bit weight words: 3-byte TDATA through an 8-bit DMA stream (3 DMA cycles per word)
    assert on_chip.cycles == compute and streamed.cycles == 3 * compute
    wide = estimate_layer("MVAU", {**base, "PE": 4, "mem_mode": "external"}, emitted=True)  # 32-bit words
    assert wide.cycles == 4 * (64 // 4) * (48 // 4)


def test_shell_counts_weight_streams_and_the_shared_port() -> None:
    model = mvau_chain([Layer(16, 8, pe=2, simd=4, mem_mode="external"), Layer(8, 4, pe=2, simd=2)], (3,))
    streams = partition_dma_streams(model)
    assert [(s.tensor, s.direction, s.width, s.words) for s in streams] == [
        ("x", "in", 16, 12),
        ("y", "out", 8, 6),
        ("W0", "weights", 16, 3 * 16),
    ]
    assert estimate_dma_shell(streams).cycles == 48
    heavy = [DmaStream("a", "in", 8, 10), DmaStream("w", "weights", 512, 100), DmaStream("v", "weights", 512, 100)]
    shell = estimate_dma_shell(heavy, port_bits=64)
    assert shell.cycles == math.ceil(2 * 100 * 512 / 64) and "memory port" in shell.bottleneck
    assert estimate_dma_shell(heavy).cycles == 100  # without a shared port: the slowest stream


@pytest.mark.slow
def test_resnet50_on_zcu104_fits_with_streamed_weights() -> None:
    """ResNet-50 W1A2 (8-bit stem and classifier) exceeds the ZCU104's BRAM + URAM on chip: the classifier streams."""
    import scale_graphs as sg

    from qnncc.flow.estimate import estimate

    result = estimate(sg.resnet50(), board="ZCU104", input_scale="1/255")
    assert len(result.partitions) == 1
    assert any("mem_mode='external'" in n and "MVAU_53" in n for n in result.folding_notes)
    assert result.fit.fits
