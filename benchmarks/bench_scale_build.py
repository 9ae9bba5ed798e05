"""Scale benchmark, build half: `qnncc build --verify-data` on FINN's example networks at full size.

For each network of ``benchmarks/bench_scale.py`` (seeded exports from ``tests/scale_graphs.py``,
input scale 1/255) this runs, in a fresh process, the command of issue 16's acceptance point 2::

    qnncc build MODEL --board BOARD --target-fps FPS --input-scale 1/255 --verify-data DATA -o OUT

with ``DATA`` four seeded random images, and prints the build wall time and peak RSS of that
process, the dataflow partitions (and SLRs on Alveo), whether every partition's C++ simulation is
bit-exact with ``execute``, the compile/simulation seconds, and the results of the tcl check
(``tests/vivado_stub``: every stitch script) and of the Vitis link check (``tests/vitis_stub``, Alveo).
Goals: ResNet-50 under 30 min and 8 GB. A build takes minutes to an hour on 2 cores (the C++ compile
dominates), so this is a separate script from the estimate benchmark.

Usage: ``python benchmarks/bench_scale_build.py [cnv mobilenet resnet50] [--fifo-sizing MODE]``.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_scale import CASES, Case, build_model  # noqa: E402

IMAGES = 4


def run_build(model: Path, data: Path, case: Case, out: Path, fifo_sizing: str) -> tuple[float, float, int]:
    """Run ``qnncc build`` in a child process: ``(wall s, peak RSS GB, exit status)``."""
    cmd = [sys.executable, "-c", "from qnncc.cli import main; main()", "build", str(model), "--board", case.board]
    cmd += ["--target-fps", str(case.target_fps), "--input-scale", "1/255", "--verify-data", str(data)]
    cmd += ["--fifo-sizing", fifo_sizing, "-o", str(out), "--no-plots"]
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    rss_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1e6
    if done.returncode != 0:
        print(f"{case.name}: qnncc build failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}", file=sys.stderr)
    return wall, rss_gb, done.returncode


def checks(out: Path, case: Case) -> str:
    """Stub-Vivado check of every stitch script and, on Alveo, the Vitis link check: ``ok`` or the problems."""
    from vitis_stub.check import check_vitis_link
    from vivado_stub.check import check_stitch_tcl

    from qnncc.boards import get_board

    board = get_board(case.board)
    problems = []
    for tcl in sorted(out.glob("**/stitch/stitch_ipi.tcl")):
        catalog = json.loads((tcl.parent / "ip_catalog.json").read_text())
        report = check_stitch_tcl(tcl, tcl.parent / "ip_catalog.json", board, float(catalog["clock_ns"]))
        problems += [f"{tcl.relative_to(out)}: {p}" for p in report.problems]
    if board.shell == "alveo":
        problems += [f"vitis: {p}" for p in check_vitis_link(out, board.name).problems]
    return "ok" if not problems else f"{len(problems)} problems: " + "; ".join(problems[:3])


def main(keys: list[str], fifo_sizing: str) -> None:
    print("| network | board | wall s | peak RSS GB | partitions (SLRs) | bit-exact | compile s | sim s | checks |")
    print("| --- | --- | ---: | ---: | --- | --- | ---: | ---: | --- |")
    with tempfile.TemporaryDirectory(prefix="bench_scale_build_") as tmp:
        for key in keys:
            case = CASES[key]
            model = Path(tmp) / f"{key}.onnx"
            onnx.save(build_model(key), model)
            shape = [d.dim_value for d in onnx.load(str(model)).graph.input[0].type.tensor_type.shape.dim][1:]
            data = Path(tmp) / f"{key}.npz"
            rng = np.random.default_rng(16)
            np.savez(data, images=rng.integers(0, 256, (IMAGES, *shape)).astype(np.float32))
            out = Path(tmp) / f"{key}_build"
            wall, rss, status = run_build(model, data, case, out, fifo_sizing)
            if status != 0:
                print(f"| {case.name} | {case.board} | {wall:.0f} | {rss:.2f} | failed (exit {status}) | | | | |")
                continue
            ver = json.loads((out / "verification" / "cppsim_results.json").read_text())
            parts = len(ver.get("partitions", [None]))
            slr_file = out / "vitis" / "slr_assignment.json"
            if slr_file.is_file():
                slrs = sorted({p["slr"] for p in json.loads(slr_file.read_text())["partitions"]})
                parts_text = f"{parts} ({', '.join(f'SLR{s}' for s in slrs)})"
            else:
                parts_text = str(parts)
            print(
                f"| {case.name} | {case.board} | {wall:.0f} | {rss:.2f} | {parts_text} | "
                f"{'yes' if ver['bit_exact'] else 'NO'} ({ver['images']} images) | {ver['compile_seconds']:.0f} | "
                f"{ver['simulation_seconds']:.1f} | {checks(out, case)} |",
                flush=True,
            )


if __name__ == "__main__":
    args = sys.argv[1:]
    mode = "sim"
    if "--fifo-sizing" in args:
        i = args.index("--fifo-sizing")
        mode = args[i + 1]
        del args[i : i + 2]
    main(args or list(CASES), mode)
