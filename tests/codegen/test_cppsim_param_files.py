"""C++ simulation reads weights and thresholds from files at run time (issue 16: compile time independent of weights).

The simulation's sources of a layer depend on its name, shapes and types only,
so the same layer with other weights hits the object cache; the
results stay bit-exact with ``execute``; the synthesis code path keeps the ROM
initialisers Vitis HLS needs (and checks them against the same values).
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest
from onnx import TensorProto, helper
from test_cppsim_mlp import random_values, single_node

import qnncc
from qnncc import DataType, ModelWrapper
from qnncc.codegen.hls import layer_code, render_layer
from qnncc.codegen.hls.cppsim import build_layer_sim, build_partition_sim, simulate_job
from qnncc.codegen.hls.param_files import int_table, word_table
from qnncc.codegen.hls.project import render_layer_sim
from qnncc.codegen.render import CodegenError
from qnncc.hw.layers import HW_DOMAIN


def mvau_model(seed: int, mw: int = 12, mh: int = 6, simd: int = 4, pe: int = 3) -> ModelWrapper:
    """MVAU with INT4 weights (SIMD lanes of 16 bits) and 3 thresholds per channel, seeded."""
    rng = np.random.default_rng(seed)
    w = random_values(rng, DataType["INT4"], (mw, mh))
    t = np.sort(rng.integers(-60, 60, size=(mh, 3)), axis=1).astype(np.float32)
    node = helper.make_node(
        "MVAU",
        ["x", "w", "t"],
        ["y"],
        name="MVAU_0",
        domain=HW_DOMAIN,
        MW=mw,
        MH=mh,
        SIMD=simd,
        PE=pe,
        inputDataType="INT3",
        weightDataType="INT4",
        outputDataType="UINT2",
        numInputVectors=[1, 2],
        binaryXnorMode=0,
        noActivation=0,
        ActVal=0,
    )
    return single_node(node, {"x": [1, 2, mw]}, {"w": w, "t": t}, {"x": "INT3", "w": "INT4"})


def run_both(model: ModelWrapper, cache: Path, **kw: bool) -> tuple[np.ndarray, np.ndarray, int]:
    node = model.graph.node[0]
    x = random_values(np.random.default_rng(1), DataType["INT3"], (7, 2, 12))
    sim = build_layer_sim(model, node, cache=cache, **kw)
    (got,) = sim.run([x])
    expected = qnncc.execute(model, {"x": x})["y"].reshape(got.shape)
    return got, expected, sim.compiled_units


def test_sources_do_not_depend_on_weights_and_the_object_is_reused(tmp_path: Path) -> None:
    a, b = mvau_model(0), mvau_model(1)
    files_a, data_a = render_layer_sim(layer_code(a, a.graph.node[0]))
    files_b, data_b = render_layer_sim(layer_code(b, b.graph.node[0]))
    assert files_a == files_b and set(data_a) == {"params_MVAU_0.bin", "thresh_MVAU_0.bin"}
    assert data_a != data_b
    assert "load_param_file(&weights_MVAU_0[0][0], 18u" in files_a["params_MVAU_0.h"]
    synth = render_layer(layer_code(a, a.graph.node[0]))
    assert "static const ap_uint<16> weights_MVAU_0[3][6] = {{" in synth["params_MVAU_0.h"]
    got, expected, compiled = run_both(a, tmp_path)
    np.testing.assert_array_equal(got, expected)
    assert compiled == 1
    got, expected, compiled = run_both(b, tmp_path)
    np.testing.assert_array_equal(got, expected)
    assert compiled == 0  # other weights, same shapes: the cached object, only the data files differ


def test_synthesis_path_compiles_the_rom_initialisers_and_agrees(tmp_path: Path) -> None:
    model = mvau_model(2)
    got, expected, _ = run_both(model, tmp_path, synthesis_path=True)
    np.testing.assert_array_equal(got, expected)
    sim = build_layer_sim(model, model.graph.node[0], cache=tmp_path, synthesis_path=True)
    assert sim.param_dir is None


def test_missing_parameter_file_is_a_clear_error(tmp_path: Path) -> None:
    model = mvau_model(3)
    sim = build_layer_sim(model, model.graph.node[0], cache=tmp_path)
    assert sim.param_dir is not None
    broken = tmp_path / "broken"
    shutil.copytree(sim.param_dir, broken)
    (broken / "thresh_MVAU_0.bin").unlink()
    (broken / "params_MVAU_0.bin").write_bytes(b"\0" * 5)
    x = np.zeros((1, 2, 12))
    with pytest.raises(CodegenError, match=r"params_MVAU_0\.bin holds 5 bytes, expected 144"):
        dataclasses.replace(sim, param_dir=broken).run([x])


def test_remote_worker_gets_the_parameter_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = mvau_model(4)
    sim = build_layer_sim(model, model.graph.node[0], cache=tmp_path / "here")
    params = {p.name: p.read_bytes() for p in sim.param_dir.iterdir()}  # type: ignore[union-attr]
    away = dataclasses.replace(sim, binary=tmp_path / "elsewhere" / sim.binary.name, param_dir=tmp_path / "nowhere")
    monkeypatch.setenv("QNNCC_CACHE_DIR", str(tmp_path / "worker"))
    x = random_values(np.random.default_rng(5), DataType["INT3"], (3, 2, 12))
    (got,) = simulate_job(away, sim.binary.read_bytes(), [x], params)
    np.testing.assert_array_equal(got, qnncc.execute(model, {"x": x})["y"].reshape(got.shape))


def test_partition_reads_one_parameter_file_per_table(tmp_path: Path) -> None:
    """Two thresholding layers of one shape in a partition: each reads its own table, bit-exact."""
    nodes = [
        helper.make_node(
            "Thresholding",
            [src, f"t{k}"],
            [dst],
            name=f"Thresholding_{k}",
            domain=HW_DOMAIN,
            NumChannels=4,
            PE=2,
            numSteps=3,
            ActVal=0,
            inputDataType="INT8" if k == 0 else "UINT2",
            weightDataType="INT8",
            outputDataType="UINT2",
            numInputVectors=[1, 5],
        )
        for k, (src, dst) in enumerate([("x", "h"), ("h", "y")])
    ]
    rng = np.random.default_rng(6)
    consts = {
        "t0": np.sort(rng.integers(-100, 100, (4, 3)), axis=1).astype(np.float32),
        "t1": np.sort(rng.integers(0, 4, (4, 3)), axis=1).astype(np.float32),
    }
    model = single_node(nodes[0], {"x": [1, 5, 4]}, consts, {"x": "INT8"})
    model.graph.node.append(nodes[1])
    model.graph.output.pop()
    model.graph.output.append(helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5, 4]))
    model.set_tensor_datatype("h", "UINT2")
    x = random_values(rng, DataType["INT8"], (9, 5, 4))
    sim = build_partition_sim(model, cache=tmp_path)
    (got,) = sim.run([x.reshape(9, -1)])
    np.testing.assert_array_equal(got.reshape(-1), qnncc.execute(model, {"x": x})["y"].reshape(-1))
    assert {p.name for p in sim.param_dir.iterdir()} == {"thresh_Thresholding_0.bin", "thresh_Thresholding_1.bin"}  # type: ignore[union-attr]


def test_table_layouts() -> None:
    words = np.array([[1, -1, 0, 7], [-8, 0, 0, 0]])  # INT4 x 4 lanes = 16-bit words, lane 0 in the LSBs
    table = word_table(words, DataType["INT4"], "w")
    assert (table.bits, table.count) == (16, 2)
    assert np.frombuffer(table.data, "<u8").tolist() == [0x70F1, 0x0008]
    wide = word_table(np.ones((1, 65)), DataType["BINARY"], "w")
    assert (wide.bits, len(wide.data)) == (65, 16)
    assert np.frombuffer(wide.data, "<u8").tolist() == [2**64 - 1, 1]
    assert np.frombuffer(int_table(np.array([[-3, 5]]), 4).data, "<i8").tolist() == [-3, 5]
    with pytest.raises(CodegenError, match="w: "):
        word_table(np.array([[9]]), DataType["INT4"], "w")
