"""MVAU weights on chip, decoupled or streamed (``mem_mode``): C++ simulation, stitch, drivers, errors (issue 16)."""

from __future__ import annotations

import importlib.util
import itertools
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from mem_mode_graphs import Layer, mvau_chain, random_input, vvau_layer
from vitis_stub import check as vitis_check
from vivado_stub.check import check_stitch_tcl

import qnncc
from qnncc.codegen.driver import driver_context, write_driver
from qnncc.codegen.hls import build_layer_sim, build_partition_sim, generate_hls, layer_code, render_layer
from qnncc.codegen.hls.cxx_reader import find_function, find_loops, is_pipelined
from qnncc.codegen.packing import pack_words, unpack_words
from qnncc.codegen.render import CodegenError, include_dir
from qnncc.codegen.vivado import write_stitch
from qnncc.codegen.vivado.plan import stitch_plan
from qnncc.codegen.vivado.tlast import write_tlast_ips
from qnncc.custom_op import get_custom_op
from qnncc.data import demo_inputs, demo_model_path
from qnncc.flow.build import BuildConfig, build
from qnncc.hw.perf import estimate_layer
from qnncc.hw.perf.estimate import EstimateError

MODES = ("internal_embedded", "internal_decoupled", "external")
#: Single-layer cases: fully connected, conv-like (9 vectors per frame), XNOR, no activation.
CASES = {
    "fc": (Layer(16, 8, pe=2, simd=4), ()),
    "conv": (Layer(12, 6, pe=3, simd=4, wbits=3), (3, 3)),
    "xnor": (Layer(32, 8, pe=4, simd=8, xnor=True), ()),
    "noact": (Layer(8, 4, pe=4, simd=8, wbits=4, act=False), (2,)),
}


@pytest.mark.parametrize(("case", "mode"), list(itertools.product(CASES, MODES)))
def test_layer_cppsim_is_bit_exact_in_every_mem_mode(case: str, mode: str) -> None:
    spec, vectors = CASES[case]
    model = mvau_chain([Layer(**{**spec.__dict__, "mem_mode": mode})], vectors, seed=3)
    x = random_input(model, 5)
    expected = qnncc.execute(model, {"x": x})["y"]
    sim = build_layer_sim(model, model.graph.node[0])
    assert len(sim.inputs) == 1  # the weight stream is fed by the test bench, not by the caller
    np.testing.assert_array_equal(sim.run([x])[0].reshape(expected.shape), expected)


#: VVAU datapath regimes (vvau.hpp): SIMD*PE divides C; C divides SIMD*PE; neither.
VVAU_CASES = {"rows": (8, (3, 3), 2, 1), "positions": (4, (3, 3), 4, 9), "neither": (6, (2, 2), 2, 2)}


@pytest.mark.parametrize(("case", "mode"), list(itertools.product(VVAU_CASES, MODES)))
def test_vvau_cppsim_is_bit_exact_in_every_mem_mode(case: str, mode: str) -> None:
    model = vvau_layer(mode, *VVAU_CASES[case], seed=2)
    x = random_input(model, 3)
    expected = qnncc.execute(model, {"x": x})["y"]
    sim = build_layer_sim(model, model.graph.node[0])
    np.testing.assert_array_equal(sim.run([x])[0].reshape(expected.shape), expected)
    ports = layer_code(model, model.graph.node[0]).ports
    assert [p.name for p in ports] == (["in0_V", "in1_V", "out0_V"] if mode == "external" else ["in0_V", "out0_V"])


def test_each_compute_loop_exists_once() -> None:
    """The ROM and stream entry points of the MVAU and VVAU run one shared compute loop each.

    ``mvau``/``mvau_stream`` call ``mvau_compute`` and ``vvau``/``vvau_stream`` call
    ``vvau_compute`` (the weight source chosen by ``weight_source.hpp``); the loops and
    their II=1 and dependence pragmas live only in the compute functions.
    """
    library = {p.name: p.read_text() for p in sorted((Path(include_dir()) / "qnncc").glob("*.hpp"))}
    for compute, entries in (("mvau_compute", ("mvau", "mvau_stream")), ("vvau_compute", ("vvau", "vvau_stream"))):
        for entry in entries:
            fn = find_function(library, entry)
            assert fn is not None and find_loops(fn.body) == [] and f"{compute}<" in fn.body, entry
        loop = find_function(library, compute)
        assert loop is not None and any(is_pipelined(lp) for lp in find_loops(loop.body))
    pipelines = sum(
        text.count("#pragma HLS PIPELINE") for name, text in library.items() if name.startswith(("mvau", "vvau"))
    )
    assert pipelines == 6  # mvau_compute, mvau_mmv, weight_streamer, vvau_compute, vvau_mmv, word_streamer


def test_partition_with_all_three_modes_is_bit_exact_also_on_the_synthesis_path() -> None:
    layers = [
        Layer(24, 8, pe=2, simd=6, mem_mode="external"),
        Layer(8, 8, pe=4, simd=2, mem_mode="internal_decoupled"),
        Layer(8, 6, pe=3, simd=4, wbits=3, mem_mode="external"),
        Layer(6, 4, pe=2, simd=3, mem_mode="internal_embedded", act=False),
    ]
    model = mvau_chain(layers, (2,), seed=5)
    x = random_input(model, 6)
    expected = qnncc.execute(model, {"x": x})["y"]
    for synthesis_path in (False, True):
        sim = build_partition_sim(model, synthesis_path=synthesis_path)
        np.testing.assert_array_equal(sim.run([x])[0].reshape(expected.shape), expected)


def test_tops_of_each_mode() -> None:
    model = mvau_chain([Layer(16, 8, pe=2, simd=4), Layer(8, 4, pe=2, simd=2, mem_mode="external")])
    decoupled, external = (layer_code(model, n) for n in model.graph.node)
    top = render_layer(decoupled)["top_MVAU_0.cpp"]
    assert "#pragma HLS DATAFLOW" in top and "qnncc::weight_streamer<2, 16, 1, 8>(weights_MVAU_0, wstream);" in top
    assert [p.name for p in decoupled.ports] == ["in0_V", "out0_V"]
    assert [(p.name, p.width, p.words, p.feed) for p in external.ports] == [
        ("in0_V", 8, 4, ""),
        ("in1_V", 8, 8, "wstream_MVAU_1.bin"),  # PE*SIMD*2 = 8 bits, MH/PE * MW/SIMD = 8 words per vector
        ("out0_V", 8, 2, ""),
    ]
    assert "params_MVAU_1.h" not in render_layer(external)  # no weights on chip


def test_decoupled_weight_word_wider_than_a_stream_stays_embedded_and_exact() -> None:
    """PE*SIMD*W above MAX_STREAM_BITS (ResNet-50's stem: 9,408 bits) keeps the ROM in the compute."""
    model = mvau_chain([Layer(1024, 8, pe=8, simd=1024, wbits=1)], seed=4)  # 8,192-bit weight words
    top = render_layer(layer_code(model, model.graph.node[0]))["top_MVAU_0.cpp"]
    assert "weight_streamer" not in top and "qnncc::mvau<" in top
    x = random_input(model, 2)
    expected = qnncc.execute(model, {"x": x})["y"]
    sim = build_layer_sim(model, model.graph.node[0])
    np.testing.assert_array_equal(sim.run([x])[0].reshape(expected.shape), expected)


def _one_pass(w: np.ndarray, pe: int, simd: int) -> np.ndarray:
    """Weight stream words from the matrix by the documented order (independent of the generator)."""
    mw, mh = w.shape
    words = []
    for nf in range(mh // pe):
        for sf in range(mw // simd):
            words.append([w[sf * simd + s, nf * pe + p] for p in range(pe) for s in range(simd)])
    return np.array(words)


class _Shell:
    """Fake DMAs: data input k / output k on ``axi_dma_<k>``, weight stream j on ``axi_dma_<inputs + j>``."""

    def __init__(self, model: qnncc.ModelWrapper) -> None:
        self.context = driver_context(model)
        self.model = model
        self.weight_bytes: dict[int, list[np.ndarray]] = {}
        self.pending: dict[int, tuple[np.ndarray, int, int]] = {}

    def transfer(self, dma: int, direction: str, buf: np.ndarray, start: int, nbytes: int) -> None:
        data = np.array(buf).reshape(-1)[start : start + (nbytes or buf.nbytes)]
        if dma >= len(self.context["inputs"]) and direction == "send":
            self.weight_bytes.setdefault(dma, []).append(data)
            return
        self.pending[dma if direction == "send" else -1 - dma] = (buf, start, nbytes or buf.nbytes)

    def wait(self, dma: int, direction: str) -> None:
        if direction != "recv":
            return
        s_in, s_out = self.context["inputs"][0], self.context["outputs"][0]
        buf, start, nbytes = self.pending.pop(0)
        frames = nbytes // s_in["frame_bytes"]
        raw = np.array(buf).reshape(-1)[start : start + nbytes].reshape(frames, *s_in["packed_shape"][1:])
        x = unpack_words(raw, s_in["datatype"], s_in["elems_per_word"]).reshape(frames, *s_in["frame_shape"])
        y = qnncc.execute(self.model, {"x": x.astype(np.float32)})["y"]
        obuf, ostart, onbytes = self.pending.pop(-1)
        folded = y.reshape(frames, *s_out["folded_shape"][1:])
        obuf.view(np.ndarray).reshape(-1)[ostart : ostart + onbytes] = pack_words(folded, s_out["datatype"]).reshape(-1)


def _fake_pynq(shell: _Shell) -> types.ModuleType:
    module = types.ModuleType("pynq")

    class Buffer(np.ndarray):
        def flush(self) -> None:
            pass

        def invalidate(self) -> None:
            pass

        def freebuffer(self) -> None:
            pass

    class Channel:
        def __init__(self, dma: int, direction: str) -> None:
            self.dma, self.direction = dma, direction

        def transfer(self, buf: np.ndarray, start: int = 0, nbytes: int = 0) -> None:
            shell.transfer(self.dma, self.direction, buf, start, nbytes)

        def wait(self) -> None:
            shell.wait(self.dma, self.direction)

    class Tlast:
        def __init__(self) -> None:
            self.regs = {0x00: 0x4, 0x10: 0}

        def read(self, offset: int) -> int:
            return self.regs[offset]

        def write(self, offset: int, value: int) -> None:
            self.regs[offset] = value if offset else 0x4

    class Overlay:
        def __init__(self, bitfile_name: str, download: bool = True, **kwargs: Any) -> None:
            n = len(shell.context["inputs"]) + len(shell.context["weights"])
            for k in range(n):
                dma = types.SimpleNamespace(sendchannel=Channel(k, "send"), recvchannel=Channel(k, "recv"))
                setattr(self, f"axi_dma_{k}", dma)
            self.qnncc_tlast_0 = Tlast()

    def allocate(shape: tuple[int, ...], dtype: Any = "u4", **kwargs: Any) -> np.ndarray:
        return np.zeros(shape, dtype=dtype).view(Buffer)

    module.Overlay = Overlay  # type: ignore[attr-defined]
    module.allocate = allocate  # type: ignore[attr-defined]
    return module


def test_pynq_driver_streams_the_weights_each_frame(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    layers = [Layer(12, 6, pe=3, simd=4, wbits=3, mem_mode="external"), Layer(6, 4, pe=2, simd=3, act=False)]
    model = mvau_chain(layers, (2, 2), seed=7)
    path = write_driver(model, tmp_path)
    assert (tmp_path / "driver" / "weights_MVAU_0.npy").exists()
    shell = _Shell(model)
    [w] = shell.context["weights"]
    assert (w["index"], w["dma"], w["pass_words"], w["repeats"], w["word_bytes"]) == (1, "axi_dma_1", 6, 4, 5)
    monkeypatch.setitem(sys.modules, "pynq", _fake_pynq(shell))
    spec = importlib.util.spec_from_file_location("qnncc_mem_mode_driver", path)
    assert spec is not None and spec.loader is not None
    driver = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(driver)
    accel = driver.QnnccAccelerator(batch_size=3)
    x = random_input(model, 3)
    np.testing.assert_array_equal(accel.execute(x), qnncc.execute(model, {"x": x})["y"].astype(np.int64))
    sent = shell.weight_bytes[1]
    assert len(sent) == 3  # one transfer per frame
    weights = model.get_initializer("W0")
    expected = np.tile(_one_pass(weights, 3, 4), (4, 1))  # the matrix once per input vector (2 x 2 vectors)
    for frame in sent:
        words = unpack_words(frame.reshape(-1, w["word_bytes"]), w["datatype"], w["elems_per_word"])
        np.testing.assert_array_equal(words, expected)


@pytest.mark.parametrize("mode", ["zynq", "generic"])
def test_stitch_exposes_the_weight_stream(tmp_path: Path, mode: str) -> None:
    model = mvau_chain([Layer(16, 8, pe=2, simd=4, mem_mode="external"), Layer(8, 4, pe=2, simd=2)])
    plan = stitch_plan(model)
    assert [(s.name, s.cell, s.port, s.width, s.words, s.weights) for s in plan.inputs] == [
        ("s_axis_0", "MVAU_0", "in0_V", 16, 0, ""),  # SIMD 4 x UINT3
        ("s_axis_1", "MVAU_0", "in1_V", 16, 16, "MVAU_0"),  # PE*SIMD*2 bits, MH/PE * MW/SIMD words
    ]
    generate_hls(model, tmp_path, "xc7z020clg400-1", 10.0)
    if mode == "zynq":
        write_tlast_ips(model, tmp_path, "xc7z020clg400-1", 10.0)
    files = write_stitch(model, tmp_path, "Pynq-Z1", 10.0, mode)  # type: ignore[arg-type]
    report = check_stitch_tcl(files.stitch_tcl, files.catalog, "Pynq-Z1", 10.0)
    assert report.problems == []
    text = files.stitch_tcl.read_text()
    if mode == "zynq":  # one MM2S DMA per weight stream, straight into the layer's in1_V
        assert [c for c in report.cells if c.startswith("axi_dma")] == ["axi_dma_0", "axi_dma_1"]
        assert "axi_dma_1/M_AXIS_MM2S] [get_bd_intf_pins MVAU_0/in1_V]" in text
    else:
        assert "make_bd_intf_pins_external -name s_axis_1 [get_bd_intf_pins MVAU_0/in1_V]" in text


def test_alveo_build_links_a_weight_kernel_and_verifies(tmp_path: Path) -> None:
    folding = tmp_path / "folding.json"
    folding.write_text('{"MVAU_1": {"PE": 8, "SIMD": 8, "mem_mode": "external"}}')
    images, labels = demo_inputs()
    data = tmp_path / "demo.npz"
    np.savez(data, images=images[:2], labels=labels[:2])
    out = tmp_path / "alveo"
    build(demo_model_path(), BuildConfig(output_dir=out, board="U250", folding=folding, verify_data=data))
    assert "bit-exact with execute" in (out / "report" / "summary.md").read_text()
    assert vitis_check.check_vitis_link(out, "U250").problems == []
    cfg = (out / "vitis" / "link.cfg").read_text()
    assert "nk=qnncc_wm2s_0:1:qnncc_wm2s_0_1" in cfg and "stream_connect=qnncc_wm2s_0_1.out:qnncc_bd_1.s_axis_1" in cfg
    assert "sp=qnncc_wm2s_0_1.src:DDR[" in cfg
    assert (out / "driver" / "weights_MVAU_1.npy").exists()


def test_unsupported_combinations_fail_with_one_line() -> None:
    mmv = mvau_chain([Layer(8, 4, pe=4, simd=8, mem_mode="external", extra={"MMV": 2})], (2,))
    with pytest.raises(CodegenError, match="MVAU_0: MMV=2 reads its weights from on-chip registers"):
        layer_code(mmv, mmv.graph.node[0])
    attrs = dict(get_custom_op(mmv.graph.node[0]).attrs)
    with pytest.raises(EstimateError, match="mem_mode='external' needs MMV=1"):
        estimate_layer("MVAU", attrs, emitted=True)
    ext = mvau_chain([Layer(16, 8, pe=2, simd=4, mem_mode="external")])
    with pytest.raises(CodegenError, match=r"MVAU_0: mem_mode='external' .* has no RTL implementation"):
        stitch_plan(ext, backend="rtl")
