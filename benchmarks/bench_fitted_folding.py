"""Folding for fewest LUTs with the Yosys-fitted resource model vs FINN's SetFolding, measured by Yosys.

For TFC-W1A1 and LFC-W1A1 (``--input-scale 1/255``) at ``--fps`` (100k) on
Pynq-Z1 (10 ns), three foldings of the same HW model:

* ``finn-setfolding``: the PE/SIMD FINN's ``SetFolding(target_cycles_per_frame=
  int(f_clk/fps))`` picks (re-implemented in ``finn_setfolding.py``; for TFC
  MVAU_0 PE=2, SIMD=28), every other attribute as converted (``ram_style``
  "auto": Yosys chooses);
* ``qnncc-estimate``: qnncc's optimiser with FINN's formulas (the default
  ``--folding-mode estimate``);
* ``qnncc-resources``: qnncc's optimiser minimising the LUTs of the model
  fitted on Yosys synthesis (``--folding-mode resources``), channels padded
  where that opens cheaper foldings (LFC);
* ``qnncc-resources-unpadded`` (on request): the same with ``--no-pad-channels``.

Each is generated with the RTL backend (layers plus the width converters
between them) and synthesised per layer by Yosys ``synth_xilinx -family xc7``;
the table gives the frame interval (performance model), the Yosys totals,
FINN's formula and the fitted model for the same layers, and the LUT ratio
against FINN's SetFolding. ``--tables`` adds per-layer Yosys / FINN formula /
fitted-model tables for TFC at the seed folding and at 100k FPS and for the
Brevitas CNNs (10k FPS).

``--layers`` prints each compared folding's Yosys counts per layer; ``--variants`` picks the
foldings (e.g. ``finn-setfolding,qnncc-resources``: LFC's MVAUs take Yosys minutes each).

Usage: python benchmarks/bench_fitted_folding.py [--fps 100000] [--models tfc,lfc] [--layers] [--tables] [--jobs 2]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from qnncc.transforms.hw import InsertDWC

import qnncc
from qnncc.codegen.hls import hw_partition
from qnncc.codegen.render import CodegenError
from qnncc.codegen.rtl import synth_model
from qnncc.codegen.rtl.layer import module_name
from qnncc.data import demo_model_path
from qnncc.estimate import estimate
from qnncc.flow.estimate import hw_pipeline, prepare_input
from qnncc.flow.folding import layer_specs
from qnncc.hw.perf import estimate_layer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from finn_setfolding import finn_set_folding

ROOT = Path(__file__).resolve().parent.parent
BREVITAS = ROOT / "tests" / "data" / "brevitas_dev"
CNNS = ("mlp_w2a2", "cnv3_w2a2", "dws_w4a4", "res2_w3a3")
MODELS: dict[str, tuple[Path, str | None]] = {
    "tfc": (demo_model_path(), None),
    "lfc": (ROOT / "tests/data/lfc_w1a1/LFCW1A1.onnx", "1/255"),
    **{n: (BREVITAS / n / "model_qonnx.onnx", "1/255") for n in CNNS},
}
CLOCK_NS = 10.0
#: The MVAU attributes the comparison table shows (ram_style_thresholds: "auto" leaves them in LUTs).
FOLD_KEYS = ("PE", "SIMD", "ram_style", "ram_style_thresholds")


def measured(result: Any, jobs: int) -> list[dict[str, Any]]:
    """Per layer (width converters included): Yosys counts, FINN's formula and the fitted model."""
    child = hw_partition(result.model).transform(InsertDWC())
    specs = {module_name(child.get_node_by_name(s.name)): s for s in layer_specs(child)}
    rows = []
    for r in synth_model(child, jobs=jobs):
        s = specs[r.layer]
        finn = estimate_layer(s.op_type, s.attrs, emitted=True)
        fitted = estimate_layer(s.op_type, s.attrs, emitted=True, resource_model="fitted")
        rows.append(
            {
                "layer": r.layer,
                "op": r.op_type,
                "lut": r.lut,
                "lutram": r.lutram,
                "ff": r.ff,
                "bram": r.bram_18k,
                "dsp": r.dsp,
                "finn_lut": finn.lut,
                "finn_bram": finn.bram_18k,
                "fit_lut": fitted.lut,
                "folding": {k: s.attrs[k] for k in ("PE", "SIMD", "ram_style", "ram_style_thresholds") if k in s.attrs},
            }
        )
    return rows


def totals(rows: list[dict[str, Any]]) -> dict[str, int]:
    return {k: int(sum(r[k] for r in rows)) for k in ("lut", "lutram", "ff", "bram", "dsp", "finn_lut", "fit_lut")}


def foldings(name: str, fps: float) -> dict[str, Any]:
    """Variant name -> estimate result of the three foldings of a model at ``fps``."""
    path, scale = MODELS[name]
    work, s, dtype = prepare_input(path, scale)
    finn_cfg = finn_set_folding(hw_pipeline(s, dtype, True).run(work), int(1e9 / (CLOCK_NS * fps)))
    common: dict[str, Any] = {"board": "Pynq-Z1", "input_scale": scale}
    return {
        "finn-setfolding": estimate(path, folding=finn_cfg, **common),
        "qnncc-estimate": estimate(path, target_fps=fps, **common),
        "qnncc-resources": estimate(path, target_fps=fps, folding_mode="resources", **common),
        "qnncc-resources-unpadded": estimate(
            path, target_fps=fps, folding_mode="resources", pad_channels=False, **common
        ),
    }


VARIANTS = ("finn-setfolding", "qnncc-estimate", "qnncc-resources")


def comparison(
    names: list[str], fps: float, jobs: int, layers: bool = False, variants: tuple[str, ...] = VARIANTS
) -> None:
    print(f"## Folding at {fps:,.0f} FPS: Yosys resources of the RTL backend (layers + width converters)\n")
    print(
        "| model | folding | interval cycles (perf model) | Yosys LUT | of which LUTRAM | FF | BRAM_18K | DSP "
        "| FINN formula LUT | fitted LUT | LUT vs SetFolding | MVAU PE/SIMD/ram_style/thresholds |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    per_layer: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for name in names:
        base = None
        for variant, result in foldings(name, fps).items():
            if variant not in variants:
                continue
            t0 = time.perf_counter()
            rows = measured(result, jobs)
            per_layer.setdefault(name, {})[variant] = rows
            t = totals(rows)
            base = base or t["lut"]
            mvaus = "; ".join(
                f"{r['layer']} " + "/".join(str(r["folding"].get(k, "-")) for k in FOLD_KEYS)
                for r in rows
                if r["op"] == "MVAU"
            )
            print(
                f"| {name} | {variant} | {result.partition.interval_cycles:,} | {t['lut']:,} | {t['lutram']:,} "
                f"| {t['ff']:,} | {t['bram']} | {t['dsp']} | {t['finn_lut']:,} | {t['fit_lut']:,} "
                f"| {base / t['lut']:.2f}x | {mvaus} |",
                flush=True,
            )
            print(f"<!-- {name} {variant}: synthesis {time.perf_counter() - t0:.0f} s -->", file=sys.stderr)
    if layers:
        for name, variants_rows in per_layer.items():
            layer_comparison(name, variants_rows)


def layer_comparison(name: str, variants_rows: dict[str, list[dict[str, Any]]]) -> None:
    """Per layer: each folding's PE/SIMD/styles and Yosys LUT / LUTRAM / FF / BRAM_18K (where the LUTs go)."""
    print(f"\n### {name}: Yosys per layer (LUT / LUTRAM / FF / BRAM_18K; PE/SIMD/ram_style/thresholds)\n")
    print("| layer | op | " + " | ".join(variants_rows) + " |")
    print("| --- | --- |" + " ---: |" * len(variants_rows))
    names: list[str] = []
    for rows in variants_rows.values():
        names += [r["layer"] for r in rows if r["layer"] not in names]
    for layer in names:
        cells, op = [], ""
        for rows in variants_rows.values():
            r = next((r for r in rows if r["layer"] == layer), None)
            if r is None:
                cells.append("-")
                continue
            op = r["op"]
            fold = "/".join(str(r["folding"][k]) for k in FOLD_KEYS if k in r["folding"])
            cells.append(f"{r['lut']:,} / {r['lutram']} / {r['ff']:,} / {r['bram']}" + (f" ({fold})" if fold else ""))
        print(f"| {layer} | {op} | " + " | ".join(cells) + " |")


def layer_table(title: str, result: Any, jobs: int) -> None:
    print(f"\n### {title}\n")
    print(
        "| layer | op | PE/SIMD/ram_style | Yosys LUT | FF | BRAM_18K | DSP | FINN formula LUT | BRAM_18K "
        "| Yosys/FINN | fitted LUT | fitted/Yosys |"
    )
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    try:
        rows = measured(result, jobs)
    except CodegenError as err:  # a layer the RTL backend cannot build: say so and go on
        print(f"| failed: {str(err)[:150]} |", flush=True)
        return
    for r in rows:
        fold = "/".join(str(v) for v in r["folding"].values())
        print(
            f"| {r['layer']} | {r['op']} | {fold} | {r['lut']:,} | {r['ff']:,} | {r['bram']} | {r['dsp']} "
            f"| {r['finn_lut']:,} | {r['finn_bram']} | {r['lut'] / max(r['finn_lut'], 1):.2f} | {r['fit_lut']:,} "
            f"| {r['fit_lut'] / max(r['lut'], 1):.2f} |"
        )
    t = totals(rows)
    print(
        f"| **total** | | | {t['lut']:,} | {t['ff']:,} | {t['bram']} | {t['dsp']} | {t['finn_lut']:,} | "
        f"| {t['lut'] / max(t['finn_lut'], 1):.2f} | {t['fit_lut']:,} | {t['fit_lut'] / max(t['lut'], 1):.2f} |",
        flush=True,
    )


def tables(fps: float, jobs: int, cnns: tuple[str, ...] = CNNS, tfc: bool = True) -> None:
    if not tfc:
        cnns_only(cnns, jobs)
        return
    seed = json.loads((Path(qnncc.data.__file__).parent / "tfc_w1a1_folding_config.json").read_text())
    layer_table("TFC-W1A1, seed folding", estimate(demo_model_path(), board="Pynq-Z1", folding=seed), jobs)
    layer_table(
        f"TFC-W1A1, {fps:,.0f} FPS (qnncc optimiser, FINN formulas)",
        estimate(demo_model_path(), board="Pynq-Z1", target_fps=fps),
        jobs,
    )
    for name in cnns:
        path, scale = MODELS[name]
        layer_table(f"{name}, 10,000 FPS", estimate(path, board="Pynq-Z1", input_scale=scale, target_fps=10_000), jobs)


def cnns_only(cnns: tuple[str, ...], jobs: int) -> None:
    for name in cnns:
        path, scale = MODELS[name]
        layer_table(f"{name}, 10,000 FPS", estimate(path, board="Pynq-Z1", input_scale=scale, target_fps=10_000), jobs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fps", type=float, default=100_000)
    parser.add_argument("--models", default="tfc,lfc")
    parser.add_argument("--tables", action="store_true")
    parser.add_argument("--layers", action="store_true", help="per-layer Yosys counts of the compared foldings")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="foldings to synthesise (the first is the base)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--cnns", default=",".join(CNNS), help="Brevitas CNNs of the --tables run")
    parser.add_argument("--no-tfc-tables", action="store_true", help="--tables for the CNNs only")
    args = parser.parse_args()
    if args.models:
        comparison(args.models.split(","), args.fps, args.jobs, args.layers, tuple(args.variants.split(",")))
    if args.tables:
        tables(args.fps, args.jobs, tuple(args.cnns.split(",")), not args.no_tfc_tables)


if __name__ == "__main__":
    main()
