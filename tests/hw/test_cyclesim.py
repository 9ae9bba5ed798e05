"""Cycle-level dataflow simulation and FIFO sizing (qnncc.hw.sim, SetFIFODepths).

* token patterns: loop counts of every layer, and the exact order of stream
  reads and writes of each HLS template (compiled with a logging
  ``hls::stream``) against the pattern's expansion;
* engine: compiled C++ equals the Python reference; basic FIFO behaviour;
* acceptance: TFC-W1A1 and LFC-W1A1 intervals within 2 % of the perf
  model's bottleneck, kept by the sized FIFOs; a residual CNN deadlocks with
  depth-2 streams and the sizing removes the deadlock; sizing times.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hw_graphs import hw_graph_model as make_model
from onnx import helper
from qnncc.transforms.hw import InsertDWC
from qnncc.transforms.hw.insert_fifo import InsertFIFO
from qnncc.transforms.hw.set_fifo_depths import SetFIFODepths

import qnncc
from qnncc import ModelWrapper
from qnncc.custom_op import get_custom_op
from qnncc.data import demo_model_path
from qnncc.flow.estimate import estimate_layers
from qnncc.hw.layers import HW_DOMAIN, HWLayer
from qnncc.hw.sim import (
    UNBOUNDED,
    DeadlockError,
    Network,
    SimulationError,
    build_network,
    engine_available,
    layer_program,
    simulate,
)
from qnncc.hw.sim.fifo_sizing import practical_depth, size_fifos

ROOT = Path(__file__).resolve().parents[2]
LFC = ROOT / "tests" / "data" / "lfc_w1a1" / "LFCW1A1.onnx"
needs_cxx = pytest.mark.skipif(not engine_available(), reason="no C++ compiler")


def hw(op_type: str, inputs: list[str], outputs: list[str], name: str, **attrs: Any) -> Any:
    return helper.make_node(op_type, inputs, outputs, name=name, domain=HW_DOMAIN, **attrs)


def layer(node: Any) -> HWLayer:
    op = get_custom_op(node)
    assert isinstance(op, HWLayer)
    return op


def residual_cnn(h: int = 8, c: int = 4, simd: int = 4) -> ModelWrapper:
    """x [1, h, h, c] INT4 -> fork -> (pad -> 3x3 window -> MVAU + thresholds) | (channelwise mul) -> add -> y.

    The long branch emits its first pixel only after the window generator
    holds two padded rows, so the fork must write about two image rows into
    the short branch before the join reads anything: a deadlock with depth-2
    streams.
    """
    vec = [1, h, h]
    rng = np.random.default_rng(0)
    nodes = [
        hw("DuplicateStreams", ["x"], ["x0", "x1"], "fork", NumChannels=c, PE=simd, inputDataType="INT4",
           numInputVectors=vec),
        hw("FMPadding", ["x0"], ["xp"], "pad", ImgDim=[h, h], Padding=[1, 1, 1, 1], NumChannels=c, SIMD=simd,
           inputDataType="INT4"),
        hw("ConvolutionInputGenerator", ["xp"], ["win"], "window", ConvKernelDim=[3, 3], IFMChannels=c,
           IFMDim=[h + 2, h + 2], OFMDim=[h, h], SIMD=simd, inputDataType="INT4", outputDataType="INT4"),
        hw("MVAU", ["win", "w", "t"], ["conv"], "conv", MW=9 * c, MH=c, SIMD=simd, PE=simd, inputDataType="INT4",
           weightDataType="INT4", outputDataType="INT4", ActVal=-8, numInputVectors=vec),
        hw("ChannelwiseOp", ["x1", "p"], ["scaled"], "scale", Func="mul", PE=simd, NumChannels=c,
           inputDataType="INT4", paramDataType="INT3", outputDataType="INT7", numInputVectors=vec),
        hw("AddStreams", ["conv", "scaled"], ["y"], "join", NumChannels=c, PE=simd, inputDataTypes=["INT4", "INT7"],
           numInputVectors=vec),
    ]  # fmt: skip
    consts = {
        "w": rng.integers(-8, 8, (9 * c, c)),
        "t": np.sort(rng.integers(-60, 60, (c, 15)), axis=1),
        "p": rng.integers(-4, 4, c),
    }
    return make_model(nodes, {"x": [1, h, h, c]}, ["y"], consts)


@pytest.fixture(scope="module")
def tfc() -> tuple[ModelWrapper, int]:
    from qnncc.codegen.hls import hw_partition
    from qnncc.flow.estimate import estimate

    folding = json.loads((demo_model_path().parent / "tfc_w1a1_folding_config.json").read_text())
    r = estimate(demo_model_path(), board="Pynq-Z1", folding=folding)
    return hw_partition(r.model).transform(InsertDWC()), r.partition.interval_cycles


@pytest.fixture(scope="module")
def lfc() -> tuple[ModelWrapper, int]:
    from qnncc.codegen.hls import hw_partition
    from qnncc.flow.estimate import estimate

    r = estimate(LFC, board="Pynq-Z1", input_scale="1/255")
    return hw_partition(r.model).transform(InsertDWC()), r.partition.interval_cycles


# ---------------------------------------------------------------- patterns: loop counts
def test_mvau_pattern_follows_the_loop():
    node = hw("MVAU", ["x", "w"], ["y"], "m", MW=12, MH=6, SIMD=3, PE=2, inputDataType="UINT2",
              weightDataType="UINT2", outputDataType="INT16", noActivation=1, numInputVectors=[1, 3])  # fmt: skip
    p = layer_program(layer(node))
    sf, nf, vecs = 4, 3, 3
    assert (p.iterations, p.reads(0), p.writes(0)) == (vecs * sf * nf, vecs * sf, vecs * nf)
    r, w = p.expand()
    it = np.arange(p.iterations)
    np.testing.assert_array_equal(r, ((it // sf) % nf == 0).astype(int))  # reads only in the first neuron fold
    np.testing.assert_array_equal(w, (it % sf == sf - 1).astype(int))  # a write ends each synapse fold
    assert p.latency == 5


@pytest.mark.parametrize(("i", "o"), [(2, 3), (3, 2), (1, 4), (4, 1), (6, 4), (5, 5)])
def test_dwc_pattern(i, o):
    elems = 60
    node = hw("StreamingDataWidthConverter", ["x"], ["y"], "d", dataType="UINT4", in_shape=[1, elems],
              out_shape=[1, elems], inWidth=4 * i, outWidth=4 * o)  # fmt: skip
    p = layer_program(layer(node))
    assert (p.reads(0), p.writes(0)) == (elems // i, elems // o)
    assert p.iterations == max(elems // i, elems // o)  # one word per cycle on the busier side
    r, w = p.expand()
    held = np.cumsum(r) * i - np.cumsum(w) * o  # elements buffered after each iteration
    assert held.min() >= 0 and held.max() < i + o


def swg_literal(ih, iw, c, simd, kh, kw, sh, sw, dh, dw, oh_n, ow_n, rows):
    """swg.hpp's loop transcribed one iteration at a time."""
    cf, span = c // simd, dh * (kh - 1) + 1
    rr = rword = oh = top = ow = ki = kj = f = 0
    out = []
    while rr < ih or oh < oh_n:
        can_emit = oh < oh_n and rr >= top + span
        can_read = rr < ih and (oh == oh_n or rr < top + rows)
        out.append((int(can_read), int(can_emit)))
        if can_emit:
            f += 1
            if f == cf:
                f, kj = 0, kj + 1
                if kj == kw:
                    kj, ki = 0, ki + 1
                    if ki == kh:
                        ki, ow = 0, ow + 1
                        if ow == ow_n:
                            ow, oh, top = 0, oh + 1, top + sh
        if can_read:
            rword += 1
            if rword == iw * cf:
                rword, rr = 0, rr + 1
    return np.array(out).T


@pytest.mark.parametrize(
    ("ifm", "c", "simd", "k", "s", "d"),
    [
        ((6, 5), 4, 2, (3, 2), (2, 1), (1, 2)),
        ((10, 10), 2, 1, (3, 3), (1, 1), (1, 1)),
        ((7, 7), 3, 3, (1, 1), (2, 2), (1, 1)),
    ],
)
def test_swg_pattern_equals_the_literal_loop(ifm, c, simd, k, s, d):
    oh, ow = ((ifm[j] - d[j] * (k[j] - 1) - 1) // s[j] + 1 for j in range(2))
    node = hw("ConvolutionInputGenerator", ["x"], ["y"], "g", ConvKernelDim=list(k), IFMChannels=c,
              IFMDim=list(ifm), OFMDim=[oh, ow], SIMD=simd, Stride=list(s), Dilation=list(d),
              inputDataType="UINT4", outputDataType="UINT4")  # fmt: skip
    p = layer_program(layer(node))
    rows = min(d[0] * (k[0] - 1) + 1 + s[0], ifm[0])
    r, w = swg_literal(*ifm, c, simd, *k, *s, *d, oh, ow, rows)
    np.testing.assert_array_equal(np.stack(p.expand()), np.stack([r, w]))
    assert p.reads(0) == ifm[0] * ifm[1] * c // simd and p.writes(0) == oh * ow * k[0] * k[1] * c // simd


def test_vvau_pattern_equals_the_literal_loop():
    c, kk, pe, simd, pix = 4, 9, 2, 3, 5
    node = hw("VVAU", ["x", "w"], ["y"], "v", Channels=c, Kernel=[3, 3], Dim=[1, pix], PE=pe, SIMD=simd,
              inputDataType="UINT4", weightDataType="INT4", outputDataType="INT16", noActivation=1)  # fmt: skip
    p = layer_program(layer(node))
    in_words, out_words = kk * c // (simd * pe), c // pe
    rd = word = dr = dword = 0
    ref = []
    while dr < pix:
        drain, read = dr < rd, rd < pix and rd < dr + 2
        ref.append((int(read), int(drain)))
        if drain:
            dword += 1
            if dword == out_words:
                dword, dr = 0, dr + 1
        if read:
            word += 1
            if word == in_words:
                word, rd = 0, rd + 1
    np.testing.assert_array_equal(np.stack(p.expand()), np.array(ref).T)


def test_simple_patterns():
    common = {"numInputVectors": [1, 3, 5]}
    pad = layer_program(layer(hw("FMPadding", ["x"], ["y"], "p", ImgDim=[3, 4], Padding=[1, 2, 0, 1], NumChannels=4,
                                 SIMD=2, inputDataType="UINT4")))  # fmt: skip
    assert (pad.iterations, pad.reads(0), pad.writes(0)) == (4 * 7 * 2, 3 * 4 * 2, 4 * 7 * 2)
    pool = layer_program(layer(hw("StreamingMaxPool", ["x"], ["y"], "m", ImgDim=[4, 6], PoolDim=[2, 2],
                                  NumChannels=4, dataType="UINT4")))  # fmt: skip
    assert (pool.iterations, pool.reads(0), pool.writes(0)) == (24, 24, 6)  # 2-D: all channels per word
    gap = layer_program(layer(hw("GlobalAccPool", ["x"], ["y"], "g", NumChannels=4, PE=2, inputDataType="UINT4",
                                 **common)))  # fmt: skip
    assert (gap.iterations, gap.reads(0), gap.writes(0)) == (30, 30, 2)
    top = layer_program(layer(hw("LabelSelect", ["x"], ["y"], "l", Labels=10, PE=2, K=3, inputDataType="UINT4",
                                 outputDataType="UINT8", numInputVectors=[1, 2])))  # fmt: skip
    assert (top.iterations, top.reads(0), top.writes(0)) == (16, 10, 6)
    dup = layer_program(layer(hw("DuplicateStreams", ["x"], ["a", "b"], "d", NumChannels=4, PE=2,
                                 inputDataType="UINT4", **common)))  # fmt: skip
    assert (dup.iterations, dup.reads(0), dup.writes(0), dup.writes(1)) == (30, 30, 30, 30)
    with pytest.raises(SimulationError, match="no cycle-level pattern for StreamingFIFO"):
        layer_program(layer(hw("StreamingFIFO", ["x"], ["y"], "f", dataType="UINT4", depth=4, normal_shape=[1, 4],
                               folded_shape=[1, 2, 2])))  # fmt: skip


# ---------------------------------------------------------------- patterns: the C++ templates
_LOG_STREAM = r"""
#ifndef QNNCC_HLS_STREAM_H
#define QNNCC_HLS_STREAM_H
#include <cstdlib>
#include <deque>
#include <string>
namespace hls {
inline std::string& log_events() { static std::string s; return s; }
template <typename T>
class stream {
 public:
  stream() {}
  explicit stream(const char*) {}
  char tag = '?';  // 'a'.. inputs (read events), 'A'.. outputs (write events)
  void write(const T& v) { q_.push_back(v); if (tag >= 'A' && tag <= 'Z') log_events() += tag; }
  T read() {
    if (q_.empty()) std::abort();
    T v = q_.front(); q_.pop_front();
    if (tag >= 'a' && tag <= 'z') log_events() += tag;
    return v;
  }
  bool empty() const { return q_.empty(); }
  std::size_t size() const { return q_.size(); }
 private:
  std::deque<T> q_;
};
}  // namespace hls
#endif
"""

#: (name, node, C++ call, input word bits per port, output word bits per port, write-before-read in an iteration)
_TEMPLATE_CASES: list[tuple[str, Any, str, list[int], list[int], bool]] = [
    ("mvau", hw("MVAU", ["x", "w"], ["y"], "m", MW=12, MH=6, SIMD=3, PE=2, inputDataType="UINT2",
                weightDataType="UINT2", outputDataType="INT16", noActivation=1, numInputVectors=[1, 3]),
     "static ap_uint<6> w[2][12] = {}; qnncc::mvau<12, 6, 3, 2, 3, qnncc::UInt<2>, qnncc::UInt<2>, qnncc::Int<16>,"
     " ap_int<16>, false>(in0, out0, w, qnncc::NoActivation());", [6], [32], False),
    ("labelselect", hw("LabelSelect", ["x"], ["y"], "l", Labels=10, PE=2, K=3, inputDataType="UINT4",
                       outputDataType="UINT8", numInputVectors=[1, 2]),
     "qnncc::labelselect<10, 2, 3, 2, qnncc::UInt<4>, qnncc::UInt<8> >(in0, out0);", [8], [8], False),
    *[
        (f"dwc_{i}_{o}", hw("StreamingDataWidthConverter", ["x"], ["y"], "d", dataType="UINT4", in_shape=[1, 12],
                            out_shape=[1, 12], inWidth=4 * i, outWidth=4 * o),
         f"qnncc::dwc<{i}, {o}, 12, qnncc::UInt<4> >(in0, out0);", [4 * i], [4 * o], False)
        for i, o in [(2, 3), (3, 2), (1, 4), (4, 1), (6, 4)]
    ],
    ("fmpadding", hw("FMPadding", ["x"], ["y"], "p", ImgDim=[3, 4], Padding=[1, 2, 0, 1], NumChannels=4, SIMD=2,
                     inputDataType="UINT4"),
     "qnncc::fmpadding<3, 4, 1, 2, 0, 1, 4, 2, qnncc::UInt<4> >(in0, out0);", [8], [8], False),
    ("maxpool2d", hw("StreamingMaxPool", ["x"], ["y"], "m", ImgDim=[4, 6], PoolDim=[2, 2], NumChannels=4,
                     dataType="UINT4"),
     "qnncc::maxpool<4, 6, 4, 4, 2, 2, 2, 3, qnncc::UInt<4> >(in0, out0);", [16], [16], False),
    ("maxpool1d_ceil", hw("StreamingMaxPool", ["x"], ["y"], "m", ImgDim=[1, 5], PoolDim=[1, 2], NumChannels=4,
                          PE=2, CeilMode=1, dataType="UINT4"),
     "qnncc::maxpool<1, 5, 4, 2, 1, 2, 1, 3, qnncc::UInt<4> >(in0, out0);", [8], [8], False),
    ("global_acc_pool", hw("GlobalAccPool", ["x"], ["y"], "g", NumChannels=4, PE=2, inputDataType="UINT4",
                           numInputVectors=[1, 2, 3]),
     "qnncc::global_acc_pool<6, 4, 2, qnncc::UInt<4>, qnncc::UInt<8> >(in0, out0);", [8], [16], False),
    ("swg", hw("ConvolutionInputGenerator", ["x"], ["y"], "s", ConvKernelDim=[3, 2], IFMChannels=4, IFMDim=[6, 5],
               OFMDim=[2, 3], SIMD=2, Stride=[2, 1], Dilation=[1, 2], inputDataType="UINT4", outputDataType="UINT4"),
     "static ap_uint<8> buf[5 * 5 * 2]; qnncc::swg<6, 5, 4, 2, 3, 2, 2, 1, 1, 2, 2, 3, 5, qnncc::UInt<4> >"
     "(in0, out0, buf);", [8], [8], True),
    ("vvau", hw("VVAU", ["x", "w"], ["y"], "v", Channels=4, Kernel=[3, 3], Dim=[1, 5], PE=2, SIMD=3,
                inputDataType="UINT4", weightDataType="INT4", outputDataType="INT16", noActivation=1),
     "static ap_uint<24> w[6] = {}; qnncc::vvau<4, 9, 2, 3, 5, qnncc::UInt<4>, qnncc::Int<4>, qnncc::Int<16>,"
     " ap_int<16> >(in0, out0, w, qnncc::NoActivation());", [24], [32], True),
    ("mvau_mmv", hw("MVAU", ["x", "w"], ["y"], "m", MW=4, MH=3, SIMD=4, PE=3, MMV=2, inputDataType="UINT2",
                    weightDataType="UINT2", outputDataType="INT16", noActivation=1, numInputVectors=[1, 6]),
     "static ap_uint<8> w[3][1] = {}; qnncc::mvau_mmv<4, 3, 2, 6, qnncc::UInt<2>, qnncc::UInt<2>, qnncc::Int<16>,"
     " ap_int<16>, false>(in0, out0, w, qnncc::NoActivation());", [16], [96], False),
    ("swg_parallel_mmv", hw("ConvolutionInputGenerator", ["x"], ["y"], "s", ConvKernelDim=[3, 3], IFMChannels=2,
                            IFMDim=[7, 9], OFMDim=[3, 3], SIMD=2, Stride=[2, 3], parallel_window=1, MMV=3,
                            inputDataType="UINT4", outputDataType="UINT4"),
     "qnncc::swg_parallel_mmv<7, 9, 2, 3, 3, 2, 3, 3, 3, 3, qnncc::UInt<4> >(in0, out0);", [24], [216], False),
    ("fmpadding_mmv", hw("FMPadding", ["x"], ["y"], "p", ImgDim=[3, 4], Padding=[1, 3, 0, 1], NumChannels=2, SIMD=2,
                         MMV=4, inputDataType="UINT4"),
     "qnncc::fmpadding_mmv<3, 4, 1, 3, 0, 1, 2, 4, qnncc::UInt<4> >(in0, out0);", [32], [32], False),
    ("vvau_mmv", hw("VVAU", ["x", "w"], ["y"], "v", Channels=2, Kernel=[2, 1], Dim=[1, 4], PE=2, SIMD=2, MMV=2,
                    inputDataType="UINT4", weightDataType="INT4", outputDataType="INT16", noActivation=1),
     "static ap_uint<16> w[1] = {}; qnncc::vvau_mmv<2, 2, 2, 4, qnncc::UInt<4>, qnncc::Int<4>, qnncc::Int<16>,"
     " ap_int<16> >(in0, out0, w, qnncc::NoActivation());", [32], [64], False),
    ("add_streams", hw("AddStreams", ["a", "b"], ["y"], "a", NumChannels=4, PE=2, inputDataType="UINT4",
                       numInputVectors=[1, 3]),
     "qnncc::add_streams<4, 2, 3, qnncc::UInt<4>, qnncc::UInt<4>, qnncc::UInt<5> >(in0, in1, out0);",
     [8, 8], [10], False),
    ("duplicate_streams", hw("DuplicateStreams", ["x"], ["a", "b"], "d", NumChannels=4, PE=2,
                             inputDataType="UINT4", numInputVectors=[1, 3]),
     "qnncc::duplicate_streams<6>(in0, out0, out1);", [8], [8, 8], False),
]  # fmt: skip


def _expected_events(node: Any, write_first: bool) -> str:
    p = layer_program(layer(node))
    events = []
    for rm, wm, n in zip(p.rmask, p.wmask, p.length, strict=True):
        reads = "".join(chr(ord("a") + k) for k in range(p.n_in) if (rm >> k) & 1)
        writes = "".join(chr(ord("A") + k) for k in range(p.n_out) if (wm >> k) & 1)
        events.append((writes + reads if write_first else reads + writes) * int(n))
    return "".join(events)


@needs_cxx
def test_patterns_replay_the_hls_templates(tmp_path: Path) -> None:
    """Each template, compiled with a logging hls::stream, reads and writes in the pattern's order."""
    from qnncc.codegen.hls.ap_types import ap_types_dir
    from qnncc.codegen.render import include_dir

    (tmp_path / "hls_stream.h").write_text(_LOG_STREAM)
    lines = [
        "#include <cstdio>",
        '#include "qnncc/mvau.hpp"',
        '#include "qnncc/labelselect.hpp"',
        '#include "qnncc/dwc.hpp"',
        '#include "qnncc/fmpadding.hpp"',
        '#include "qnncc/pool.hpp"',
        '#include "qnncc/swg.hpp"',
        '#include "qnncc/vvau.hpp"',
        '#include "qnncc/streams.hpp"',
        "int main() {",
    ]
    for name, node, call, in_bits, out_bits, _ in _TEMPLATE_CASES:
        lay = layer(node)
        lines.append("  {")
        for k, bits in enumerate(in_bits):
            words = math.prod(lay.normal_input_shape(k)[1:]) // lay.input_elems_per_word(k)
            lines.append(f"    hls::stream<ap_uint<{bits}> > in{k}; in{k}.tag = '{chr(ord('a') + k)}';")
            lines.append(f"    for (int i = 0; i < {words}; i++) in{k}.write(0);")
        for k, bits in enumerate(out_bits):
            lines.append(f"    hls::stream<ap_uint<{bits}> > out{k}; out{k}.tag = '{chr(ord('A') + k)}';")
        dump = f'    std::printf("{name} %s\\n", hls::log_events().c_str());'
        lines += ["    hls::log_events().clear();", f"    {call}", dump, "  }"]
    lines += ["  return 0;", "}"]
    src = tmp_path / "replay.cpp"
    src.write_text("\n".join(lines))
    exe = tmp_path / "replay"
    include = ["-I", str(tmp_path), "-I", str(include_dir()), "-I", str(ap_types_dir())]
    subprocess.run(["g++", "-O0", "-std=c++14", "-w", *include, str(src), "-o", str(exe)], check=True)
    got = dict(line.split(" ", 1) for line in subprocess.run([str(exe)], capture_output=True, text=True,
                                                             check=True).stdout.splitlines())  # fmt: skip
    for name, node, _, _, _, write_first in _TEMPLATE_CASES:
        assert got[name] == _expected_events(node, write_first), name


# ---------------------------------------------------------------- engine
def chain(n1: int, n2: int, pe1: int = 1) -> ModelWrapper:
    """Two thresholding layers in a row (C channels, PE 1 each): one word in and out per cycle."""
    nodes = [
        hw("Thresholding", ["x", "t"], ["a"], "t0", NumChannels=n1, PE=pe1, numSteps=1, weightDataType="INT4",
           inputDataType="INT4", outputDataType="UINT1"),
        hw("Thresholding", ["a", "t1"], ["y"], "t1", NumChannels=n2, PE=pe1, numSteps=1, weightDataType="INT4",
           inputDataType="UINT1", outputDataType="UINT1"),
    ]  # fmt: skip
    return make_model(nodes, {"x": [1, n1]}, ["y"], {"t": np.zeros((n1, 1)), "t1": np.zeros((n2, 1))})


def test_streams_pass_a_word_per_cycle_with_depth_two_and_half_with_one():
    net = build_network(chain(64, 64))
    two = simulate(net, frames=4).check()
    assert two.interval_cycles == 64 + 3  # a frame plus the 3-cycle pipeline drain
    # source writes in cycle 0; t0 reads in 1, writes 3 cycles later (4); t1 reads in 5, writes in 8; sink reads in 9
    assert two.first_output_latency == 10
    one = simulate(net, frames=4, capacities=[1] * len(net.streams)).check()
    assert one.interval_cycles is not None and one.interval_cycles >= 2 * 64


@pytest.mark.parametrize("model", ["tfc", "residual"])
def test_cpp_engine_equals_python_reference(model, tfc):
    m = tfc[0] if model == "tfc" else residual_cnn(h=5)
    net = build_network(m)
    for caps in (None, dict.fromkeys(range(len(net.streams)), 40)):
        if not engine_available():
            pytest.skip("no C++ compiler")
        a = simulate(net, frames=3, capacities=caps, engine="cpp")
        b = simulate(net, frames=3, capacities=caps, engine="python")
        assert (a.status, a.cycles, a.max_occupancy) == (b.status, b.cycles, b.max_occupancy)
        np.testing.assert_array_equal(a.frame_end, b.frame_end)
        assert a.layer_stats == b.layer_stats
        if a.deadlock is not None:
            assert a.deadlock == b.deadlock


def test_inconsistent_streams_are_rejected():
    with pytest.raises(SimulationError, match=r"writes 64 words per frame .* reads 32"):
        build_network(chain(64, 32))


def test_unbounded_streams_and_throttled_sources():
    net = build_network(chain(64, 64))
    caps = dict.fromkeys(range(len(net.streams)), UNBOUNDED)
    throttled = simulate(net, frames=4, capacities=caps, source_period=500).check()
    assert throttled.frame_intervals == [500, 500, 500]


# ---------------------------------------------------------------- acceptance
def test_tfc_interval_matches_perf_model_and_sized_fifos_keep_it(tfc):
    model, perf = tfc
    base = simulate(build_network(model), frames=4).check()
    assert abs(base.interval_cycles - perf) <= 0.02 * perf, (base.interval_cycles, perf)
    sizing = size_fifos(model)
    assert sizing.verified.ok and sizing.interval_cycles == sizing.reference.interval_cycles
    assert abs(sizing.interval_cycles - perf) <= 0.02 * perf


def test_lfc_interval_matches_perf_model_and_sized_fifos_keep_it(lfc):
    model, perf = lfc
    sizing = size_fifos(model)
    assert abs(sizing.reference.interval_cycles - perf) <= 0.02 * perf, (sizing.reference.interval_cycles, perf)
    assert sizing.verified.ok and sizing.interval_cycles == sizing.reference.interval_cycles
    # depth-2 streams lose throughput: MVAU_3 reads its input only in the first of its two neuron folds
    assert sizing.baseline is not None and sizing.baseline.interval_cycles > 1.2 * perf
    deep = [row for row in sizing.fifos() if row["depth"] > 2]
    assert deep and all(row["consumer"] == "MVAU_3" for row in deep)


def test_residual_cnn_deadlocks_with_small_fifos_and_sizing_fixes_it():
    model = residual_cnn()
    net = build_network(model)
    small = simulate(net, frames=4)
    assert small.status == "deadlock"
    with pytest.raises(DeadlockError) as err:
        small.check()
    message = str(err.value)
    assert "fork" in message and "writes full 'x1' (fork -> scale" in message
    assert "join" in message and "reads empty 'conv' (conv -> join)" in message
    assert message.endswith("wait cycle: fork -> scale -> join -> conv -> window -> pad -> fork")

    sized = model.transform(SetFIFODepths(), copy=True)
    result = simulate(build_network(sized), frames=6).check()
    depth = {n.name: sized.get_nodeattr(n, "depth") for n in sized.graph.node if n.op_type == "StreamingFIFO"}
    assert len(depth) == 1 and 2 < next(iter(depth.values())) <= 64  # one FIFO on the short branch
    fifo = next(n for n in sized.graph.node if n.op_type == "StreamingFIFO")
    assert list(fifo.input) == ["x1"]
    perf = max(e.cycles for _, e in estimate_layers(model))  # the window generator's pace
    assert abs(result.interval_cycles - perf) <= 0.02 * perf

    x = np.random.default_rng(3).integers(-8, 8, (2, 8, 8, 4)).astype(np.float32)
    np.testing.assert_array_equal(qnncc.execute(model, {"x": x})["y"], qnncc.execute(sized, {"x": x})["y"])


def test_fifo_depths_are_monotone_and_minimal_search_is_verified():
    model = residual_cnn()
    sizing = size_fifos(model, search="serial")  # the one-FIFO-at-a-time bisection finds the word-exact minimum
    short = sizing.network.stream_index("x1")
    assert sizing.minimal[short] > 2 and sizing.depths[short] >= sizing.minimal[short]
    assert all(d == 2 for i, d in sizing.depths.items() if i != short)  # the buffer sits on the narrow branch
    caps = dict(sizing.depths)
    caps[short] = sizing.minimal[short] - 1
    assert simulate(sizing.network, frames=4, capacities=caps).status == "deadlock"  # one word less deadlocks
    caps[short] = sizing.minimal[short]
    assert simulate(sizing.network, frames=4, capacities=caps).ok
    report = sizing.report()
    assert report["baseline_status"] == "deadlock" and report["fifos"]


def test_set_fifo_depths_updates_inserted_fifos_and_removes_shallow_ones():
    model = residual_cnn().transform(InsertFIFO())
    assert sum(n.op_type == "StreamingFIFO" for n in model.graph.node) == 6
    t = SetFIFODepths()
    model = model.transform(t)
    fifos = [n for n in model.graph.node if n.op_type == "StreamingFIFO"]
    assert [list(n.input) for n in fifos] == [["x1"]]
    assert model.get_nodeattr(fifos[0], "impl_style") == "rtl"
    assert t.result is not None and t.result.verified.ok
    assert simulate(build_network(model), frames=4).ok


def test_set_fifo_depths_inside_a_partition():
    from qnncc.transforms.hw import CreateDataflowPartition

    parent = residual_cnn().transform(CreateDataflowPartition())
    parent = parent.transform(SetFIFODepths())
    net = build_network(parent)
    assert any(s.fifo_nodes for s in net.streams) and simulate(net, frames=4).ok


def test_practical_depth():
    assert [practical_depth(n) for n in (1, 2, 3, 31, 32, 33, 64, 65, 5000)] == [2, 2, 32, 32, 32, 64, 64, 128, 8192]


@needs_cxx
def test_sizing_times(tfc):
    sys.path.insert(0, str(ROOT / "tests" / "transforms"))
    from test_cnn_flow import build_cnn

    from qnncc.codegen.hls import hw_partition
    from qnncc.flow.estimate import estimate

    simulate(build_network(tfc[0]), frames=2)  # compile (or load) the engine outside the timing
    start = time.perf_counter()
    tfc[0].transform(SetFIFODepths(), copy=True)
    assert time.perf_counter() - start < 2.0
    cnn = hw_partition(estimate(ModelWrapper(build_cnn(0)), input_scale="1/255").model).transform(InsertDWC())
    start = time.perf_counter()
    t = SetFIFODepths()
    cnn.transform(t, copy=True)
    assert time.perf_counter() - start < 10.0
    assert t.result is not None and t.result.baseline is not None
    assert t.result.interval_cycles < t.result.baseline.interval_cycles  # depth-2 streams slow this CNN down


def test_network_view(tfc):
    net: Network = build_network(tfc[0])
    assert [la.op_type for la in net.layers][:2] == ["Source", "Thresholding"]
    assert net.layers[-1].op_type == "Sink"
    i = net.stream_index("MultiThreshold_1_out0")
    assert net.describe_stream(i) == "'MultiThreshold_1_out0' (MVAU_0 -> StreamingDataWidthConverter_0)"
    assert not net.is_io(i) and net.streams[i].width == 16 and net.streams[i].words == 4
