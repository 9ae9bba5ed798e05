"""Golden-model builds: what each build must reproduce (``tests/data/golden_expectations.json``).

For every golden model that builds, :func:`run_case` runs ``qnncc.build``
with C++-simulated verification and records the accuracy, the estimates
(cycles, FPS, LUT, FF, BRAM, DSP), the FIFO depths and the SHA-256 of every
generated file (HLS sources and scripts, stitch, driver, Makefile, FINN
reports; not logs, timings, summaries or plots). :func:`compare` lists
every difference from the stored expectations.

Regenerate the expectations after an intended change with::

    .venv/bin/python tests/build/update_golden.py            # every case (a few minutes)
    .venv/bin/python tests/build/update_golden.py tfc_w1a1   # some cases

``mnist_conv`` is a float model (no quantized layer): it does not build,
and the tests check that it fails with one clear line instead; its INT8
quantization (``qnncc quantize``'s ``int8-channel``, calibrated on test
images 0..999) builds and is the case ``mnist_conv_int8``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import qnncc
from qnncc.data import demo_model_path
from qnncc.flow.build import BuildConfig, build

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
EXPECTATIONS = DATA / "golden_expectations.json"
#: Generated files whose bytes are checked (folders and files relative to the build folder).
HASHED = ("hls", "stitch", "driver", "Makefile.vivado", "report")
#: Report files left out: summaries, plots and the copy of the model carry nothing new or vary by library version.
UNHASHED_REPORTS = (
    "summary.md",
    "summary.html",
    "layer_cycles.png",
    "resource_utilisation.png",
    "dataflow_graph.png",
    "hw_model.onnx",
)


@dataclass(frozen=True)
class Case:
    """A golden build: model, build settings and the MNIST test images it is verified on."""

    model: Path | Callable[[], qnncc.ModelWrapper]  # a file, or a function making the model
    images: tuple[int, int]  # [start, stop) of the MNIST test set
    settings: dict[str, Any] = field(default_factory=dict)
    ci: bool = False  # run by `make test` (the others by `make test-full`)


CASES: dict[str, Case] = {
    "tfc_w1a1": Case(
        demo_model_path(), (0, 10000), {"folding": demo_model_path().parent / "tfc_w1a1_folding_config.json"}, ci=True
    ),
    "lfc_w1a1": Case(DATA / "lfc_w1a1" / "LFCW1A1.onnx", (0, 10000), {"input_scale": "1/255"}),
    # Brevitas development models: trained on images 0..4999, references on 5000..9999
    **{
        name: Case(DATA / "brevitas_dev" / name / "model_qonnx.onnx", (5000, 10000))
        for name in ("mlp_w2a2", "cnv3_w2a2", "res2_w3a3", "dws_w4a4")
    },
}


def _mnist_conv_int8() -> qnncc.ModelWrapper:
    """mnist-conv quantized to INT8 per channel, calibrated on MNIST test images 0..999."""
    from qnncc.transforms.quantize import QuantizeAnnotate

    from qnncc.analysis import load_npz

    model = qnncc.load(DATA / "mnist_conv" / "model.onnx")
    calib = load_npz(DATA / "mnist_test.npz", model, items="0:1000")
    return model.copy().transform(QuantizeAnnotate("int8-channel", calib.images))


# the C++ simulation of this CNN takes about 19 s per 1,000 images on the 2-core machine
CASES["mnist_conv_int8"] = Case(_mnist_conv_int8, (5000, 6000))


def file_hashes(folder: Path) -> dict[str, str]:
    """SHA-256 of every checked generated file of a build folder, by relative path."""
    found = {}
    for top in HASHED:
        root = folder / top
        paths = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in paths:
            rel = path.relative_to(folder).as_posix()
            if top == "report" and path.name in UNHASHED_REPORTS:
                continue
            found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return dict(sorted(found.items()))


def verification_data(case: Case, folder: Path) -> Path:
    """An ``.npz`` with the case's MNIST images (raw pixels, flattened) and labels."""
    data = np.load(DATA / "mnist_test.npz")
    start, stop = case.images
    path = folder / "verify.npz"
    np.savez(path, images=data["images"][start:stop].reshape(stop - start, -1), labels=data["labels"][start:stop])
    return path


def run_case(name: str, workdir: Path) -> dict[str, Any]:
    """Build golden case ``name`` under ``workdir`` and return its record (see the module docstring)."""
    case = CASES[name]
    workdir.mkdir(parents=True, exist_ok=True)
    config = BuildConfig(
        output_dir=workdir / name,
        verify_data=verification_data(case, workdir),
        generate_outputs=("estimate_reports", "hls", "stitch", "driver"),
        **case.settings,
    )
    model = case.model() if callable(case.model) else case.model
    result = build(model, config)
    assert result.verification is not None and result.estimate is not None
    est = result.estimate
    return {
        "images": list(case.images),
        "accuracy": result.verification.get("accuracy"),
        "bit_exact": result.verification["bit_exact"],
        "estimate": {
            "max_cycles": est["max_cycles"],
            "fps": round(est["estimated_throughput_fps"], 3),
            **{k: round(est["used"][k], 3) for k in ("LUT", "FF", "BRAM_18K", "URAM", "DSP")},
        },
        "fifo_depths": result.fifo_depths,
        "layers": result.layers,
        "files": file_hashes(result.output_dir),
    }


def load_expectations() -> dict[str, Any]:
    """The stored expectations (empty if the file does not exist yet)."""
    return json.loads(EXPECTATIONS.read_text()) if EXPECTATIONS.exists() else {}


def save_expectations(records: dict[str, Any]) -> None:
    """Write the expectations file (sorted keys, so diffs stay small)."""
    EXPECTATIONS.write_text(json.dumps(records, indent=1, sort_keys=True) + "\n")


def compare(actual: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    """Every difference between a case's record and its expectation, one line each."""
    diffs = []
    for key in ("images", "accuracy", "bit_exact", "estimate", "fifo_depths", "layers"):
        if actual.get(key) != expected.get(key):
            diffs.append(f"{key}: expected {expected.get(key)}, got {actual.get(key)}")
    want, got = expected.get("files", {}), actual.get("files", {})
    for path in sorted(set(want) | set(got)):
        if path not in got:
            diffs.append(f"file {path}: missing")
        elif path not in want:
            diffs.append(f"file {path}: new")
        elif want[path] != got[path]:
            diffs.append(f"file {path}: changed")
    return diffs
