"""Checks standing in for Vitis HLS and Vivado on the generated HLS (issue 18), each with a broken case it catches.

* the loop/pragma linter over the library as each generated top instantiates it;
* clang ``-fsyntax-only`` of every top in synthesis mode (skipped without clang);
* the Vitis HLS script check (FINN's ``config_compile``, part, clock, include path);
* ``Makefile.vivado`` with ``vitis-run`` or ``vitis_hls``; the out-of-context clock;
* the stream width cap.

The synthesis-path C simulation is in ``test_synthesis_path.py``.
"""

from __future__ import annotations

import functools
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from vivado_stub.hls_check import check_hls_synth_tcl, ooc_clock_period

from qnncc.codegen.hls import generate_hls, hw_partition
from qnncc.codegen.hls.layer_code import MAX_STREAM_BITS, check_stream_width
from qnncc.codegen.hls.lint import lint_call, lint_hls_dir, lint_top
from qnncc.codegen.hls.syntax_check import find_clang, syntax_check_hls_dir
from qnncc.codegen.render import CodegenError, include_dir, render
from qnncc.codegen.vivado.stitch import render_build_tcl, render_vivado_makefile
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.data import demo_model_path
from qnncc.flow.estimate import estimate

DATA = Path(__file__).resolve().parents[1] / "data"
TFC_FOLDING = demo_model_path().parent / "tfc_w1a1_folding_config.json"
DESIGNS = {
    "tfc_w1a1": dict(model=demo_model_path(), folding=TFC_FOLDING),
    "tfc_zcu104_5M": dict(model=demo_model_path(), board="ZCU104", target_fps=5e6),  # SIMD up to 784
    "lfc_w1a1": dict(model=DATA / "lfc_w1a1" / "LFCW1A1.onnx", input_scale="1/255"),
    **{n: dict(model=DATA / "brevitas_dev" / n / "model_qonnx.onnx") for n in ("cnv3_w2a2", "mlp_w2a2", "res2_w3a3")},
    "dws_w4a4": dict(model=DATA / "brevitas_dev" / "dws_w4a4" / "model_qonnx.onnx"),
}
needs_clang = pytest.mark.skipif(find_clang() is None, reason="clang++ not installed (Debian: apt-get install clang)")


@functools.cache
def hw_child(name: str) -> ModelWrapper:
    """The design's HW partition with width converters (do not mutate)."""
    from qnncc.transforms.hw import InsertDWC

    kwargs = dict(DESIGNS[name])
    kwargs.setdefault("board", "Pynq-Z1")
    return hw_partition(estimate(**kwargs).model).transform(InsertDWC())  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def hls_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``hls/`` folders of the designs, generated once."""
    out = {}
    for name in DESIGNS:
        root = tmp_path_factory.mktemp(name)
        generate_hls(hw_child(name), root)
        out[name] = root / "hls"
    return out


def _library(**patches: tuple[str, str]) -> dict[str, str]:
    """qnncc's headers with ``{header: (old, new)}`` text replacements (each must apply)."""
    lib = {p.name: p.read_text() for p in sorted((include_dir() / "qnncc").glob("*.hpp"))}
    for header, (old, new) in patches.items():
        name = f"{header.removesuffix('_hpp')}.hpp"
        assert old in lib[name], (name, old)
        lib[name] = lib[name].replace(old, new)
    return lib


# ---------------------------------------------------------------- linter
@pytest.mark.parametrize("name", list(DESIGNS))
def test_generated_tops_pass_the_linter(hls_dirs: dict[str, Path], name: str) -> None:
    problems = lint_hls_dir(hls_dirs[name])
    assert problems == [], "\n".join(map(str, problems))
    assert len(list(hls_dirs[name].glob("*/top_*.cpp"))) >= 3


def _rules(problems: list) -> set[str]:  # type: ignore[type-arg]
    return {p.rule for p in problems}


def test_linter_catches_an_unpipelined_or_ii2_streaming_loop(hls_dirs: dict[str, Path]) -> None:
    top = (hls_dirs["tfc_w1a1"] / "Thresholding_0" / "top_Thresholding_0.cpp").read_text()
    assert lint_top(top) == []
    unpipelined = _library(thresholding_hpp=("#pragma HLS PIPELINE II = 1\n", ""))
    assert _rules(lint_top(top, unpipelined)) == {"pipeline"}
    ii2 = _library(thresholding_hpp=("#pragma HLS PIPELINE II = 1\n", "#pragma HLS PIPELINE II = 2\n"))
    assert any("not II = 1" in p.message for p in lint_top(top, ii2))


def test_linter_catches_ram_read_modify_write_without_distance(hls_dirs: dict[str, Path]) -> None:
    """Issue item 2: CNV's max pools (C/PE = 1) and the MVAU input buffer need a proven dependence distance."""
    cnv = hls_dirs["cnv3_w2a2"]
    pool = (cnv / "StreamingMaxPool_0" / "top_StreamingMaxPool_0.cpp").read_text()
    line = "#pragma HLS DEPENDENCE variable = maxima type = inter direction = RAW dependent = true distance = DIST\n"
    problems = lint_top(pool, _library(pool_hpp=(line, "")))
    assert any(p.rule == "ram-dependence" and "maxima" in p.message for p in problems)
    short = _library(pool_hpp=("const unsigned DIST = CF >= 2 ? CF : IW - KW + 1;", "const unsigned DIST = 1;"))
    assert any("distance 1 < 2" in p.message for p in lint_top(pool, short))
    line = "#pragma HLS DEPENDENCE variable = inbuf type = inter direction = RAW dependent = true distance = DIST\n"
    no_inbuf_distance = _library(mvau_hpp=(line, ""))  # one compute loop (mvau_compute) for every mem_mode
    mvaus = [top.read_text() for top in sorted(cnv.glob("MVAU_*/top_MVAU_*.cpp"))]
    assert any("inbuf" in p.message for mvau in mvaus for p in lint_top(mvau, no_inbuf_distance))
    proof = "// proof: the read side writes bank rd_pix & 1 and the drain reads bank\n"
    vvau = (hls_dirs["dws_w4a4"] / "VVAU_0" / "top_VVAU_0.cpp").read_text()
    unproven = _library(vvau_hpp=(proof, "// the banks differ\n"))
    assert any("`res`" in p.message for p in lint_top(vvau, unproven))


def test_linter_catches_modulo_and_wide_variable_shifts() -> None:
    """Issue item 6: ``top % ROWS`` (ROWS = 3) and the DWC's variable shift."""
    swg = "qnncc::swg<8, 8, 4, 4, 2, 2, 1, 1, 1, 1, 7, 7, 3, qnncc::UInt<4>>(in0_V, out0_V, buf)"
    assert lint_call("t", swg) == []
    old = "              base += SH % ROWS;  // slot of row top: no modulo unit on this loop-carried path\n"
    modulo = _library(swg_hpp=(old, "              base = top % ROWS;\n"))
    assert any(p.rule == "modulo" and "top % ROWS" in p.message for p in lint_call("t", swg, modulo))
    dwc = "qnncc::dwc<3, 2, 6, qnncc::UInt<8>>(in0_V, out0_V)"
    assert lint_call("t", dwc) == []
    shift = _library(dwc_hpp=("if (have == l * G) buffer |= wide << (l * G * B);", "buffer |= wide << (have * B);"))
    assert _rules(lint_call("t", dwc, shift)) == {"shift"}


def test_linter_catches_unroll_and_width_limits() -> None:
    wide = "qnncc::thresholding<8192, 8192, 1, qnncc::UInt<1>, qnncc::UInt<1>>(in0_V, out0_V, act)"
    assert {"unroll", "width"} <= _rules(lint_call("t", wide))
    top = "void t(hls::stream<ap_uint<5000> >& in0_V) {\n}\n"
    assert _rules(lint_top(top)) == {"width"}


# ---------------------------------------------------------------- stream width cap
def test_stream_width_cap(hls_dirs: dict[str, Path], tmp_path: Path) -> None:
    """Issue item 10: no stream wider than 4096 bits reaches the generated code."""
    assert check_stream_width(MAX_STREAM_BITS, "x") == MAX_STREAM_BITS
    child = hw_child("tfc_w1a1").copy()
    thr = child.get_nodes_by_op_type("Thresholding")[0]
    child.set_nodeattr(thr, "PE", 784)  # 784 UINT8 lanes: 6272 bits
    with pytest.raises(CodegenError, match=r"Thresholding_0 input .*6272 bits exceeds the 4096-bit AXI-Stream limit"):
        generate_hls(child, tmp_path)


# ---------------------------------------------------------------- clang, synthesis mode
@needs_clang
@pytest.mark.parametrize("name", ["tfc_w1a1", "cnv3_w2a2"])
def test_clang_parses_every_top_in_synthesis_mode(hls_dirs: dict[str, Path], name: str) -> None:
    assert syntax_check_hls_dir(hls_dirs[name]) == []


@needs_clang
def test_clang_check_catches_csim_only_code(hls_dirs: dict[str, Path], tmp_path: Path) -> None:
    """Code that uses the g++ stand-in's extras (``.size()``) compiles in csim but not for Vitis HLS."""
    hls = tmp_path / "hls"
    shutil.copytree(hls_dirs["tfc_w1a1"], hls)
    header = hls / "include" / "qnncc" / "thresholding.hpp"
    text = header.read_text()
    header.write_text(
        text.replace(
            "const ap_uint<PE * InT::bits> x = in.read();",
            "(void)in.size();\n    const ap_uint<PE * InT::bits> x = in.read();",
        )
    )
    errors = syntax_check_hls_dir(hls)
    assert errors and any("size" in e for e in errors), errors


# ---------------------------------------------------------------- Vitis HLS script, Makefile, OOC clock
def test_hls_synth_tcl_passes_the_check(hls_dirs: dict[str, Path]) -> None:
    scripts = sorted(hls_dirs["cnv3_w2a2"].glob("*/hls_synth.tcl"))
    assert scripts
    for script in scripts:
        assert check_hls_synth_tcl(script, "xc7z020clg400-1", 10.0) == [], script


def test_hls_synth_tcl_check_catches_the_reviewed_defects(hls_dirs: dict[str, Path], tmp_path: Path) -> None:
    """Issue items 1, 4, 5: no FINN config_compile, no flp pipelines, stand-ins on the synthesis include path."""
    layer = tmp_path / "MVAU_0"
    shutil.copytree(hls_dirs["tfc_w1a1"] / "MVAU_0", layer)
    shutil.copytree(hls_dirs["tfc_w1a1"] / "include", tmp_path / "include")
    script = layer / "hls_synth.tcl"
    good = script.read_text()
    script.write_text(good.replace("config_compile -disable_unroll_code_size_check -pipeline_style flp\n", ""))
    problems = check_hls_synth_tcl(script, "xc7z020clg400-1", 10.0)
    assert "config_compile -disable_unroll_code_size_check is missing" in problems
    assert "config_compile -pipeline_style flp is missing" in problems
    script.write_text(good.replace("-pipeline_style flp", "-pipeline_style stp"))
    assert any("-pipeline_style is 'stp'" in p for p in check_hls_synth_tcl(script, "xc7z020clg400-1", 10.0))
    # the old layout: the csim stand-ins inside the library folder on the synthesis path
    (tmp_path / "include" / "hls_stream.h").write_text("// stand-in\n")
    script.write_text(good)
    problems = check_hls_synth_tcl(script, "xc7z020clg400-1", 10.0)
    assert any("stand-in hls_stream.h is on the synthesis path" in p for p in problems)
    (tmp_path / "include" / "hls_stream.h").unlink()
    assert check_hls_synth_tcl(script, "xc7z020clg400-1", 8.0) == ["create_clock -period 10, expected 8"]


def _fake_tool(folder: Path, name: str, log: Path) -> None:
    """An executable that logs its arguments and writes the IP the Makefile expects."""
    script = folder / name
    script.write_text(
        "#!/bin/sh\n"
        f'echo "{name} $*" >> {log}\n'
        'for a in "$@"; do case "$a" in *hls_synth.tcl) d=$(dirname "$a"); t=$(basename "$d");'
        ' mkdir -p "$d/project_$t/sol1/impl/ip"; touch "$d/project_$t/sol1/impl/ip/component.xml";; esac; done\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)


@pytest.mark.skipif(shutil.which("make") is None, reason="make not installed")
@pytest.mark.parametrize("tools", [("vitis-run",), ("vitis_hls",), ("vitis-run", "vitis_hls")])
def test_makefile_runs_vitis_run_or_vitis_hls(tmp_path: Path, tools: tuple[str, ...]) -> None:
    """Issue item 9: ``vitis-run --mode hls --tcl`` when installed (2024.2+), else ``vitis_hls -f``."""
    build, bin_dir, log = tmp_path / "build", tmp_path / "bin", tmp_path / "calls.log"
    (build / "hls" / "MVAU_0").mkdir(parents=True)
    (build / "hls" / "MVAU_0" / "hls_synth.tcl").write_text("# stub\n")
    bin_dir.mkdir()
    for tool in tools:
        _fake_tool(bin_dir, tool, log)
    makefile = build / "Makefile.vivado"
    makefile.write_text(render_vivado_makefile(["MVAU_0"]))
    env = {**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin"}
    proc = subprocess.run(["make", "-f", "Makefile.vivado", "hls"], cwd=build, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    call = log.read_text().strip()
    if "vitis-run" in tools:
        assert call.startswith("vitis-run --mode hls --tcl hls/MVAU_0/hls_synth.tcl"), call
    else:
        assert call == "vitis_hls -f hls/MVAU_0/hls_synth.tcl", call
    # the pre-2024.2 Makefile called vitis_hls unconditionally: it fails where only vitis-run exists
    if tools == ("vitis-run",):
        old = makefile.read_text().replace("$(HLS_RUN) hls/MVAU_0", "$(VITIS_HLS) -f hls/MVAU_0")
        makefile.write_text(old)
        shutil.rmtree(build / "hls" / "MVAU_0" / "project_MVAU_0")
        failed = subprocess.run(["make", "-f", "Makefile.vivado", "hls"], cwd=build, env=env, capture_output=True)
        assert failed.returncode != 0


def test_out_of_context_build_has_a_clock_constraint() -> None:
    """Issue item 8: the generic (OOC) build constrains ap_clk; the zynq build has the PS clock."""
    assert ooc_clock_period(render_build_tcl("generic", clock_ns=4.0)) == 4.0
    assert ooc_clock_period(render_build_tcl("zynq", clock_ns=4.0)) is None
    old = render("build_bitstream.tcl.j2", {"mode": "generic", "jobs": 8, "bv": "b", "bd_name": "bd", "project": "p",
                                            "clock_ns": "4"})  # fmt: skip
    without = old.replace("add_files -fileset constrs_1", "# no constraint")
    assert ooc_clock_period(without) is None


def test_tfc_and_cnv_builds_pass_every_check(hls_dirs: dict[str, Path]) -> None:
    """Acceptance: the CNV-class and TFC builds pass the linter, the script check and (with clang) the syntax check."""
    for name in ("tfc_w1a1", "cnv3_w2a2"):
        assert lint_hls_dir(hls_dirs[name]) == []
        for script in hls_dirs[name].glob("*/hls_synth.tcl"):
            assert check_hls_synth_tcl(script, "xc7z020clg400-1", 10.0) == []
