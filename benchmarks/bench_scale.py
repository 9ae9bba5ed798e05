"""Scale benchmark: `qnncc estimate` on FINN's published example networks at full size.

For each network (seeded random weights from ``tests/scale_graphs.py``,
exported the way Brevitas exports it, input scale 1/255) this runs the
command a user runs::

    qnncc estimate MODEL --board BOARD --target-fps FPS --input-scale 1/255 -o OUT

in a fresh process and prints the estimated FPS against the target, the use
of every resource against 85% of the board, the layers left in software,
the wall time and the peak RSS of that process, and FINN's published frame
rate where the issue quotes one, then FINN's published per-resource figures
where they exist (``FINN_PUBLISHED``):

* ResNet-50 W1A2, 3x224x224, Alveo U250, 2,000 FPS (FINN: about 2,000 FPS);
* MobileNet-v1 W4A4, 3x224x224, ZCU104, 500 FPS;
* CNV-W2A2, 3x32x32, Pynq-Z1, 3,000 FPS.

Goals (issue 16): FPS >= target within 85% of each resource, under 60 s and
4 GB per estimate. Usage: ``python benchmarks/bench_scale.py [resnet50 mobilenet cnv resnet50_mmv]``
(``resnet50_mmv``: ResNet-50 at 5,800 FPS, above the one-pixel-per-cycle ceiling of its stem, which the
optimiser passes with two pixels per cycle, ``MMV = 2``, in the stem's padding and window generator).
"""

from __future__ import annotations

import json
import re
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import onnx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import scale_graphs  # noqa: E402

RESOURCES = ("LUT", "FF", "BRAM_18K", "URAM", "DSP")
MARGIN = 85.0  # percent of each resource


@dataclass(frozen=True)
class Case:
    """One acceptance figure: network, board, target and FINN's published frame rate (None if not quoted)."""

    name: str
    board: str
    target_fps: float
    finn_fps: float | None


CASES = {
    "resnet50": Case("ResNet-50 W1A2 224x224", "U250", 2000, 2000),
    "mobilenet": Case("MobileNet-v1 W4A4 224x224", "ZCU104", 500, None),
    "cnv": Case("CNV-W2A2 32x32", "Pynq-Z1", 3000, None),
    # beyond one stem pixel per cycle (300 MHz / 52,900 padded pixels = 5,671 FPS): MMV = 2 in the stem
    "resnet50_mmv": Case("ResNet-50 W1A2 224x224, 2 stem pixels/cycle", "U250", 5800, None),
}
#: FINN's published implementation figures for the same network and board, with their source; a case
#: without an entry has none published (see docs/scale.md for what was searched).
FINN_PUBLISHED: dict[str, dict[str, object]] = {
    "resnet50": {
        "fps": 2015,  # batch 1000, synth_bench_power.py (1,958 at batch 100; 495 at batch 1)
        "LUT": 986_892,
        "FF": 826_784,
        "BRAM_18K": 2 * 1975,  # 1,975 block RAM tiles (RAMB36)
        "URAM": 0,
        "DSP": 1611,
        "source": "github.com/Xilinx/ResNet50-PYNQ link/README.md (post-link utilisation, Vitis 2019.2, "
        "250 MHz) and host/README.md (FPS)",
    },
}
#: The issue's acceptance figures (run when no key is given).
DEFAULT_KEYS = ("resnet50", "mobilenet", "cnv")


def build_model(key: str) -> onnx.ModelProto:
    """The full-size seeded export of a network."""
    if key.startswith("resnet50"):
        return scale_graphs.resnet50().model
    if key == "mobilenet":
        return scale_graphs.mobilenet_v1().model
    return scale_graphs.cnv(2, 2).model


def run_estimate(model_path: Path, case: Case, out: Path) -> tuple[float, float, str]:
    """Run ``qnncc estimate`` in a child process: ``(wall s, peak RSS GB, stdout)``."""
    cmd = [sys.executable, "-c", "from qnncc.cli import main; main()", "estimate", str(model_path)]
    cmd += ["--board", case.board]
    cmd += ["--target-fps", str(case.target_fps), "--input-scale", "1/255", "-o", str(out)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if done.returncode != 0:
        raise SystemExit(f"{case.name}: qnncc estimate failed:\n{done.stdout}\n{done.stderr}")
    rss_kb = peak if peak > before else before  # ru_maxrss of children is the largest child so far
    return wall, rss_kb / 1e6, done.stdout


def fit_table(stdout: str) -> dict[str, tuple[float, float]]:
    """``resource -> (used, percent of the board)`` from the fit table ``qnncc estimate`` prints."""
    rows = {}
    for line in stdout.splitlines():
        m = re.match(r"^(LUT|FF|BRAM_18K|URAM|DSP)\s+([\d,.]+)\s+([\d,.]+)\s+([\d.]+)%", line.strip())
        if m:
            rows[m.group(1)] = (float(m.group(2).replace(",", "")), float(m.group(4)))
    missing = [r for r in RESOURCES if r not in rows]
    if missing:
        raise SystemExit(f"no fit table rows for {missing} in the output of qnncc estimate:\n{stdout}")
    return rows


def report(case: Case, out: Path, wall: float, rss_gb: float, stdout: str) -> tuple[str, str]:
    """A Markdown row of the figures and the line naming the software nodes."""
    perf = json.loads((out / "estimate_network_performance.json").read_text())
    fps = float(perf["estimated_throughput_fps"])
    fit = fit_table(stdout)
    ok = fps >= case.target_fps and all(share <= MARGIN for _, share in fit.values())
    software = [line for line in stdout.splitlines() if line.startswith("Software nodes:")]
    finn = f"{case.finn_fps:,.0f}" if case.finn_fps else "n/a"
    cells = " | ".join(f"{fit[r][0]:,.0f} ({fit[r][1]:.1f}%)" for r in RESOURCES)
    row = (
        f"| {case.name} | {case.board} | {case.target_fps:,.0f} | {fps:,.0f} | {finn} | {cells} | "
        f"{wall:.1f} | {rss_gb:.2f} | {'yes' if ok else 'NO'} |"
    )
    return row, software[0] if software else "Software nodes: none"


def main(keys: list[str]) -> None:
    header = " | ".join(f"{r} (% of board)" for r in RESOURCES)
    print(f"| network | board | target FPS | qnncc FPS | FINN FPS | {header} | wall s | peak RSS GB | meets |")
    print("| --- | --- | ---: | ---: | ---: |" + " ---: |" * len(RESOURCES) + " ---: | ---: | --- |")
    notes = []
    with tempfile.TemporaryDirectory(prefix="bench_scale_") as tmp:
        for key in keys:
            case = CASES[key]
            path = Path(tmp) / f"{key}.onnx"
            onnx.save(build_model(key), path)
            out = Path(tmp) / f"{key}_est"
            wall, rss, stdout = run_estimate(path, case, out)
            row, note = report(case, out, wall, rss, stdout)
            print(row, flush=True)
            notes.append(f"{case.name}: {note.strip()}")
    print()
    print("\n".join(notes))
    print()
    print("FINN's published builds of the same network on the same board (post-implementation, whole design):")
    for key in keys:
        finn = FINN_PUBLISHED.get(key)
        if finn is None:
            print(f"- {CASES[key].name} on {CASES[key].board}: no published FINN figure (docs/scale.md)")
            continue
        used = ", ".join(f"{r} {float(finn[r]):,.0f}" for r in RESOURCES)  # type: ignore[arg-type]
        print(f"- {CASES[key].name} on {CASES[key].board}: {float(finn['fps']):,.0f} FPS, {used} ({finn['source']})")  # type: ignore[arg-type]
    print("qnncc's figures are estimates of the accelerator's layers (FIFOs and the shell not included).")


if __name__ == "__main__":
    main(sys.argv[1:] or list(DEFAULT_KEYS))
