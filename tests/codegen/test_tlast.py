"""TLAST inserter HLS IP: generated top, C simulation with g++, and the ap_axi_sdata.h stand-in."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from qnncc.codegen.hls.ap_types import ap_types_dir
from qnncc.codegen.render import CodegenError, include_dir
from qnncc.codegen.vivado.tlast import tlast_sources

pytestmark = pytest.mark.skipif(shutil.which("g++") is None, reason="needs g++")

#: 3-frame batch of 4 words of 24 bits, then a 1-frame batch: data passes through, TLAST on the batch's last word.
BENCH = r"""
#include <cstdio>
#include "top_qnncc_tlast_0.cpp"

// The stand-in declares user/id/dest only for non-zero widths.
static_assert(sizeof(ap_axiu<24, 0, 0, 0>) < sizeof(ap_axiu<24, 5, 6, 7>), "side channels take room");

static int run(unsigned frames, unsigned first) {
  hls::stream<ap_uint<24> > in("in");
  hls::stream<ap_axiu<24, 0, 0, 0> > out("out");
  const unsigned words = frames * 4;
  for (unsigned i = 0; i < words; i++) in.write(ap_uint<24>(first + i * 0x10101u));
  qnncc_tlast_0(in, out, frames);
  if (!in.empty() || out.size() != words) {
    std::printf("frames %u: %u words out\n", frames, (unsigned)out.size());
    return 1;
  }
  for (unsigned i = 0; i < words; i++) {
    const ap_axiu<24, 0, 0, 0> w = out.read();
    const unsigned last = i == words - 1;
    std::printf("%u %u %u %u %u\n", (unsigned)w.data, (unsigned)w.keep, (unsigned)w.strb, (unsigned)w.last, last);
  }
  return 0;
}

int main() {
  ap_axiu<8, 2, 3, 4> side;
  side.user = 3;
  side.id = 7;
  side.dest = 15;
  if (side.user + side.id + side.dest != 25) return 2;
  return run(3, 0xABCDE0u) | run(1, 5u);
}
"""


def test_tlast_top_csim(tmp_path: Path) -> None:
    (tmp_path / "top_qnncc_tlast_0.cpp").write_text(tlast_sources(24, 4, "qnncc_tlast_0")["top_qnncc_tlast_0.cpp"])
    (tmp_path / "tb.cpp").write_text(BENCH)
    exe = tmp_path / "tb"
    cmd = ["g++", "-std=c++14", "-O0", "-w", "-I", str(include_dir()), "-I", str(ap_types_dir()), "-I", str(tmp_path)]
    subprocess.run([*cmd, str(tmp_path / "tb.cpp"), "-o", str(exe)], check=True, capture_output=True, text=True)
    proc = subprocess.run([str(exe)], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = [[int(v) for v in line.split()] for line in proc.stdout.splitlines()]
    assert len(rows) == 12 + 4
    for batch, first, count in ((rows[:12], 0xABCDE0, 12), (rows[12:], 5, 4)):
        assert [r[0] for r in batch] == [(first + i * 0x10101) & 0xFFFFFF for i in range(count)]
        assert all(r[1] == 0b111 and r[2] == 0b111 for r in batch)  # TKEEP/TSTRB: all 3 bytes
        assert [r[3] for r in batch] == [r[4] for r in batch] == [0] * (count - 1) + [1]


def test_ap_axi_sdata_defers_to_vitis_hls(tmp_path: Path) -> None:
    """Under Vitis HLS (``__VITIS_HLS__``) the stand-in includes the tool's own header next on the path."""
    vitis = tmp_path / "vitis_include"
    vitis.mkdir()
    (vitis / "ap_axi_sdata.h").write_text("#define VITIS_AP_AXI_SDATA 1\n")
    source = ["#include <ap_axi_sdata.h>", "#ifndef VITIS_AP_AXI_SDATA", "#error stand-in used", "#endif"]
    (tmp_path / "t.cpp").write_text("\n".join([*source, "int main() { return 0; }", ""]))
    cmd = ["g++", "-std=c++14", "-fsyntax-only", "-D__VITIS_HLS__", "-I", str(include_dir()), "-I", str(vitis)]
    proc = subprocess.run([*cmd, str(tmp_path / "t.cpp")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_tlast_sources_validate_arguments() -> None:
    top = tlast_sources(64, 100, "qnncc_tlast_1", "partition output 1")["top_qnncc_tlast_1.cpp"]
    assert "TLAST inserter qnncc_tlast_1 (partition output 1)" in top
    assert "void qnncc_tlast_1(hls::stream<ap_uint<64> >& in0_V, hls::stream<ap_axiu<64, 0, 0, 0> >& out0_V" in top
    with pytest.raises(CodegenError, match="not a multiple of 8"):
        tlast_sources(12, 1, "t")
    with pytest.raises(CodegenError, match="words per frame"):
        tlast_sources(8, 0, "t")
    with pytest.raises(CodegenError, match="identifier"):
        tlast_sources(8, 1, "bad name")
