"""Yosys resource tables of models built with ``--backend rtl --synth``, next to FINN's formula and the fitted model.

Each model is built with ``qnncc.build`` (``backend="rtl"``, ``synth=True``:
the RTL backend's layers, width converters and FIFOs, Yosys ``synth_xilinx
-family xc7`` per layer, ``report/synth.json``) at each of its foldings:

* TFC-W1A1: the seed folding and 100,000 FPS;
* the Brevitas CNNs in ``tests/data/brevitas_dev`` (cnv3_w2a2, mlp_w2a2,
  res2_w3a3, dws_w4a4; ``--input-scale 1/255``): 10,000 FPS, as
  ``tests/rtl/test_rtl_cnns.py`` builds them, and the default folding (the
  fastest that fits the Pynq-Z1);
* mnist-conv quantized to INT8 per channel (calibrated on MNIST test images
  0..999, as the golden build ``mnist_conv_int8``): the default folding and
  10,000 FPS.

For every build it prints the Yosys counts per layer type and in total (LUT,
LUTRAM, FF, CARRY4, BRAM_18K, URAM, DSP), FINN's LUT and BRAM formula for the
same layers (``estimate_layer(..., emitted=True)``, what ``estimate.json``
reports), the LUTs of the model fitted on Yosys (``resource_model="fitted"``,
:mod:`qnncc.hw.perf.fitted`; FINN's figure for an op type without a fit) and
the ratios Yosys/FINN and fitted/Yosys; ``--layers`` adds the per-layer rows.
A summary table closes the run; ``--json`` stores every row.

``--from-json`` prints a stored run again with FINN's formula and the fitted
model recomputed (after a refit of the model; no build, no Yosys).

Usage: python benchmarks/bench_yosys_cnns.py [--models tfc,cnv3_w2a2,...] [--variants 10k,default]
       [--layers] [--json out.json] [--workdir DIR] [--from-json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import qnncc
from qnncc.data import demo_model_path
from qnncc.flow.build import BuildConfig
from qnncc.flow.folding import layer_specs
from qnncc.flow.steps import child_model
from qnncc.hw.perf import estimate_layer

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
CNNS = ("mlp_w2a2", "cnv3_w2a2", "dws_w4a4", "res2_w3a3")
KEYS = ("lut", "lutram", "ff", "carry", "bram_18k", "uram", "dsp")
HEAD = ("LUT", "LUTRAM", "FF", "CARRY4", "BRAM_18K", "URAM", "DSP")


def mnist_conv_int8() -> qnncc.ModelWrapper:
    """mnist-conv quantized to INT8 per channel, calibrated on MNIST test images 0..999 (golden ``mnist_conv_int8``)."""
    from qnncc.transforms.quantize import QuantizeAnnotate

    from qnncc.analysis import load_npz

    model = qnncc.load(DATA / "mnist_conv" / "model.onnx")
    calib = load_npz(DATA / "mnist_test.npz", model, items="0:1000")
    return model.copy().transform(QuantizeAnnotate("int8-channel", calib.images))


Source = Path | Callable[[], qnncc.ModelWrapper]
#: name -> (model, input scale, {variant: build settings}).
MODELS: dict[str, tuple[Source, str | None, dict[str, dict[str, Any]]]] = {
    "tfc": (
        demo_model_path(),
        None,
        {"seed": {"folding": demo_model_path().parent / "tfc_w1a1_folding_config.json"}, "100k": {"target_fps": 1e5}},
    ),
    **{
        n: (DATA / "brevitas_dev" / n / "model_qonnx.onnx", "1/255", {"10k": {"target_fps": 1e4}, "default": {}})
        for n in CNNS
    },
    "mnist_conv_int8": (mnist_conv_int8, None, {"default": {}, "10k": {"target_fps": 1e4}}),
}


def build_rows(name: str, variant: str, workdir: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Build one model variant with ``--backend rtl --synth``; per-layer Yosys, FINN formula and fitted rows.

    Raises:
        QnnccError: if the model does not build with the RTL backend (e.g. a layer without an RTL core).
    """
    source, scale, variants = MODELS[name]
    model = source() if callable(source) else source
    config = BuildConfig(
        output_dir=workdir / f"{name}-{variant}", input_scale=scale, backend="rtl", synth=True,
        generate_outputs=("estimate_reports", "hls"), force=True, **variants[variant],
    )  # fmt: skip
    t0 = time.perf_counter()
    result = qnncc.build(model, config, show_warnings=False)
    seconds = time.perf_counter() - t0
    report = json.loads((result.output_dir / "report" / "synth.json").read_text())
    assert result.model is not None
    specs = {s.name: s for s in layer_specs(child_model(result.model))}
    rows = []
    for r in report["layers"]:
        s = specs[r["node"]]
        finn = estimate_layer(s.op_type, s.attrs, emitted=True)
        fitted = estimate_layer(s.op_type, s.attrs, emitted=True, resource_model="fitted")
        fold = "/".join(str(s.attrs[k]) for k in ("PE", "SIMD", "ram_style") if k in s.attrs)
        rows.append({**{k: r[k] for k in ("layer", "op_type", *KEYS)}, "folding": fold, "attrs": s.attrs,
                     "finn_lut": finn.lut, "finn_bram": finn.bram_18k, "fit_lut": fitted.lut})  # fmt: skip
    estimate = result.estimate or {}
    info = {"cycles": estimate.get("max_cycles"), "fps": result.fps, "build_s": seconds, "synth_s": report["seconds"]}
    return rows, info


def rescore(rows: list[dict[str, Any]]) -> None:
    """Recompute FINN's formula and the fitted model of stored rows (after a refit), in place."""
    for r in rows:
        finn = estimate_layer(r["op_type"], r["attrs"], emitted=True)
        fitted = estimate_layer(r["op_type"], r["attrs"], emitted=True, resource_model="fitted")
        r.update({"finn_lut": finn.lut, "finn_bram": finn.bram_18k, "fit_lut": fitted.lut})


def _sum(rows: list[dict[str, Any]]) -> dict[str, float]:
    return {k: sum(float(r[k]) for r in rows) for k in (*KEYS, "finn_lut", "finn_bram", "fit_lut")}


def _line(label: str, count: Any, t: dict[str, float]) -> str:
    res = " | ".join(f"{int(t[k]):,}" for k in KEYS)
    return (
        f"| {label} | {count} | {res} | {t['finn_lut']:,.0f} | {t['finn_bram']:,.0f} "
        f"| {t['lut'] / max(t['finn_lut'], 1):.2f} | {t['fit_lut']:,.0f} | {t['fit_lut'] / max(t['lut'], 1):.2f} |"
    )


def print_table(title: str, rows: list[dict[str, Any]], info: dict[str, Any], layers: bool) -> None:
    """Per op type (and per layer with ``layers``) and total: Yosys, FINN formula, fitted model, ratios."""
    print(f"\n#### {title}: {info['cycles']:,} cycles per frame (perf model), Yosys {info['synth_s']:.0f} s\n")
    print(f"| op type | layers | {' | '.join(HEAD)} | FINN LUT | FINN BRAM_18K | Yosys/FINN LUT | fitted LUT "
          "| fitted/Yosys |")  # fmt: skip
    print("| --- | ---: |" + " ---: |" * (len(HEAD) + 5))
    for op in dict.fromkeys(r["op_type"] for r in rows):
        group = [r for r in rows if r["op_type"] == op]
        print(_line(op, len(group), _sum(group)))
    print(_line("**total**", len(rows), _sum(rows)))
    if layers:
        print(f"\n| layer | PE/SIMD/ram_style | {' | '.join(HEAD)} | FINN LUT | FINN BRAM_18K | Yosys/FINN LUT "
              "| fitted LUT | fitted/Yosys |")  # fmt: skip
        print("| --- | --- |" + " ---: |" * (len(HEAD) + 5))
        for r in rows:
            print(_line(r["layer"], r["folding"], _sum([r])))
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--variants", default="", help="only these variants (e.g. 10k,seed,100k)")
    parser.add_argument("--layers", action="store_true", help="also the per-layer rows")
    parser.add_argument("--json", type=Path, default=None, help="write every row here")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the builds here")
    parser.add_argument("--from-json", type=Path, default=None, help="print the rows of an earlier --json run, "
                        "FINN's formula and the fitted model recomputed (no build, no Yosys)")  # fmt: skip
    args = parser.parse_args()
    if args.from_json:
        stored = json.loads(args.from_json.read_text())
        summary = []
        for label, entry in stored.items():
            rescore(entry["rows"])
            print_table(label.replace("/", ", "), entry["rows"], entry["info"], args.layers)
            summary.append((label.replace("/", ", "), entry["rows"], entry["info"]))
        print_summary(summary)
        return
    wanted = set(args.variants.split(",")) - {""}
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-yosys-"))
    results: dict[str, Any] = {}
    summary = []
    for name in args.models.split(","):
        for variant in MODELS[name][2]:
            if wanted and variant not in wanted:
                continue
            try:
                rows, info = build_rows(name, variant, work)
            except qnncc.QnnccError as err:  # a model the RTL backend cannot build: say so and go on
                print(f"\n#### {name}, {variant}: not built: {str(err).splitlines()[0][:200]}", flush=True)
                continue
            print_table(f"{name}, {variant}", rows, info, args.layers)
            results[f"{name}/{variant}"] = {"info": info, "rows": rows}
            summary.append((f"{name}, {variant}", rows, info))
            if args.json:  # after every build, so a stopped run keeps what it measured
                args.json.write_text(json.dumps(results, indent=1, default=str) + "\n")
    print_summary(summary)


def print_summary(summary: list[tuple[str, list[dict[str, Any]], dict[str, Any]]]) -> None:
    """One row of totals per model and folding."""
    print("\n#### Summary (totals)\n")
    print(f"| model, folding | cycles | layers | {' | '.join(HEAD)} | FINN LUT | FINN BRAM_18K | Yosys/FINN LUT "
          "| fitted LUT | fitted/Yosys |")  # fmt: skip
    print("| --- | ---: | ---: |" + " ---: |" * (len(HEAD) + 5))
    for label, rows, info in summary:
        print(_line(f"{label} | {info['cycles']:,}", len(rows), _sum(rows)))


if __name__ == "__main__":
    main()
