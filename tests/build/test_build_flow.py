"""The build flow: named steps, checkpoints, resume with identical outputs, failures, FIFOs, reports."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

import qnncc
from qnncc.core import ModelWrapper, QnnccError
from qnncc.data import demo_inputs, demo_model_path
from qnncc.flow.build import BuildConfig, BuildError, build, checkpoints
from qnncc.flow.config import ConfigError, load_build_config, make_build_config
from qnncc.flow.estimate import hw_pipeline
from qnncc.flow.steps import changes_model, get_state, step_names

MODEL = demo_model_path()
FOLDING = MODEL.parent / "tfc_w1a1_folding_config.json"
NO_PLOTS = ("estimate_reports", "hls", "stitch", "driver")
#: Files that record times or the invocation, not the design.
VOLATILE = {
    "build.log",
    "build_log.json",
    "build_config.json",
    "report/summary.md",
    "report/summary.html",
    "verification/cppsim_results.json",  # compile and simulation seconds
}


def digest(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.relative_to(folder).as_posix() not in VOLATILE
    }


@pytest.fixture(scope="module")
def demo_npz(tmp_path_factory) -> Path:
    images, labels = demo_inputs()
    path = tmp_path_factory.mktemp("data") / "demo.npz"
    np.savez(path, images=images, labels=labels)
    return path


@pytest.fixture(scope="module")
def full_build(tmp_path_factory, demo_npz) -> tuple[Path, dict[str, str]]:
    """A complete TFC build with plots and verification, and the digest of its files."""
    out = tmp_path_factory.mktemp("full") / "tfc"
    build(MODEL, BuildConfig(output_dir=out, folding=FOLDING, verify_data=demo_npz))
    return out, digest(out)


def test_step_names_reuse_the_estimate_pipeline():
    names = step_names()
    pipeline = hw_pipeline(None, "UINT8", True).step_names
    assert list(names[1 : 1 + len(pipeline)]) == pipeline
    assert names[0] == "load" and names[-1] == "verify"
    for step in ("fold", "partition", "estimate", "insert_dwc", "fifo", "hls", "stitch", "driver"):
        assert step in names
    assert not changes_model("hls") and changes_model("fold")


def test_every_model_changing_step_saves_a_checkpoint_with_its_state(full_build):
    out, _ = full_build
    saved = checkpoints(out)
    assert list(saved) == [s for s in step_names() if changes_model(s)]
    state = get_state(ModelWrapper(str(saved["fold"])))
    assert state["input_datatype"] == "UINT8" and state["unmatched_folding_keys"] == ["MVA_hls_3"]
    assert (out / "intermediate_models" / "dataflow_partition.onnx").exists()


@pytest.mark.parametrize("step", ["tidy", "fold", "estimate", "fifo", "hls", "verify"])
def test_resume_gives_identical_outputs(full_build, demo_npz, tmp_path, step):
    import shutil

    out, expected = full_build
    copy = tmp_path / "tfc"
    shutil.copytree(out, copy)
    result = build(MODEL, BuildConfig(output_dir=copy, folding=FOLDING, verify_data=demo_npz, from_step=step))
    assert next(iter(result.steps)) == step and result.resumed_from is not None
    assert digest(copy) == expected
    assert result.verification is not None and result.verification["bit_exact"]


def test_failed_step_leaves_incomplete_folder_that_resumes(tmp_path, monkeypatch):
    from qnncc.flow import steps as build_steps

    def broken(ctx, model):
        raise RuntimeError("simulated crash in code generation")

    out = tmp_path / "tfc"
    config = BuildConfig(output_dir=out, folding=FOLDING, generate_outputs=NO_PLOTS)
    monkeypatch.setitem(build_steps._FIXED, "hls", broken)
    with pytest.raises(BuildError) as err:
        build(MODEL, config)
    message = str(err.value)
    assert "\n" not in message and "step 'hls' failed: RuntimeError: simulated crash" in message
    incomplete = tmp_path / "tfc.incomplete"
    assert not out.exists() and incomplete.is_dir()
    record = json.loads((incomplete / "build_log.json").read_text())
    assert record["status"] == "failed" and record["failed_step"] == "hls"
    assert "Traceback" in (incomplete / "build.log").read_text()
    assert "failed" in (incomplete / "report" / "summary.md").read_text()
    monkeypatch.undo()
    result = build(MODEL, config.model_copy(update={"from_step": "hls"}))  # resumes from the failed folder
    assert "tfc.incomplete" in str(result.resumed_from) and list(result.steps) == ["hls", "stitch", "driver"]
    assert (out / "hls" / "MVAU_0" / "top_MVAU_0.cpp").exists() and not incomplete.exists()
    reference = tmp_path / "ref"
    build(MODEL, config.model_copy(update={"output_dir": reference}))
    assert digest(out) == digest(reference)


def test_resume_removes_outputs_of_the_steps_it_redoes(full_build, tmp_path):
    import shutil

    copy = tmp_path / "tfc"
    shutil.copytree(full_build[0], copy)
    result = build(MODEL, BuildConfig(output_dir=copy, folding=FOLDING, from_step="fifo", to_step="fifo"))
    assert list(result.steps) == ["fifo"]
    for stale in ("hls", "stitch", "driver", "verification", "Makefile.vivado"):
        assert not (copy / stale).exists(), stale
    assert (copy / "report" / "fifo_depths.json").exists() and (copy / "report" / "estimate.json").exists()


def test_resume_without_previous_build_is_one_line(tmp_path):
    with pytest.raises(QnnccError, match="cannot resume at step 'hls'"):
        build(MODEL, BuildConfig(output_dir=tmp_path / "none", from_step="hls"))
    assert not (tmp_path / "none").exists() and not (tmp_path / "none.incomplete").exists()


def test_to_step_and_explicit_steps(tmp_path):
    out = tmp_path / "est"
    result = qnncc.build(MODEL, BuildConfig(output_dir=out, folding=FOLDING, to_step="estimate"))
    assert list(result.steps)[-1] == "estimate" and result.fps == pytest.approx(156250.0)
    assert (out / "report" / "estimate_layer_cycles.json").exists() and not (out / "hls").exists()
    assert (out / "report" / "layer_cycles.png").read_bytes().startswith(b"\x89PNG")
    steps = ["load", "tidy", "qonnx_to_finn", "prepare_io", "streamline", "lower", "convert_to_hw"]
    result = build(MODEL, BuildConfig(output_dir=tmp_path / "front", steps=",".join(steps)))
    assert list(result.steps) == steps and result.estimate is None


def test_step_names_are_validated():
    with pytest.raises(ConfigError, match="unknown steps") as err:
        make_build_config(output_dir="x", steps=["load", "frobnicate"])
    assert "\n" not in str(err.value)
    with pytest.raises(ConfigError, match="flow order"):
        make_build_config(output_dir="x", steps=["hls", "fold"])
    assert make_build_config(output_dir="x", from_step="Convert-To-HW").from_step == "convert_to_hw"
    with pytest.raises(ConfigError, match="not both"):
        make_build_config(output_dir="x", folding="f.json", target_fps=1000)


def test_progress_observer_sees_every_step(tmp_path):
    events: list[tuple[str, str]] = []

    class Observer:
        def step_started(self, name, index, total):
            events.append(("start", name))

        def step_finished(self, name, seconds):
            assert seconds >= 0
            events.append(("done", name))

    result = build(MODEL, BuildConfig(output_dir=tmp_path / "p", folding=FOLDING, to_step="fold"), progress=Observer())
    assert events == [(kind, s) for s in result.steps for kind in ("start", "done")]


def test_api_takes_a_loaded_model_and_leaves_it_unchanged(tmp_path):
    model = qnncc.load(MODEL)
    before = model.model.SerializeToString()
    config = qnncc.BuildConfig(output_dir=tmp_path / "m", folding=FOLDING, generate_outputs=NO_PLOTS)
    result = qnncc.build(model, config)
    assert model.model.SerializeToString() == before
    assert result.layers[-1] == "LabelSelect_0" and result.model is not None


@pytest.mark.parametrize("strategy", ["largefifo", "off"])
def test_fifo_strategies_reach_report_stitch_and_cppsim(tmp_path, demo_npz, strategy):
    out = tmp_path / strategy
    config = BuildConfig(
        output_dir=out, folding=FOLDING, fifo_sizing=strategy, verify_data=demo_npz, generate_outputs=NO_PLOTS
    )
    result = build(MODEL, config)
    assert result.verification is not None and result.verification["bit_exact"]
    report = json.loads((out / "report" / "fifo_depths.json").read_text())
    tcl = (out / "stitch" / "stitch_ipi.tcl").read_text()
    assert report["strategy"] == strategy
    if strategy == "off":
        assert result.fifo_depths == {} and "axis_data_fifo" not in tcl
    else:
        # one FIFO per stream between layers, each holding a whole frame of its words
        assert len(result.fifo_depths) == 7 and all(d >= 2 for d in result.fifo_depths.values())
        assert tcl.count("axis_data_fifo") >= 7
        summary = (out / "report" / "summary.md").read_text()
        assert "## FIFOs" in summary and "StreamingFIFO_0" in summary
        lines = {line.split()[-1].rstrip("]"): line for line in tcl.splitlines() if "CONFIG.FIFO_DEPTH" in line}
        for row in report["fifos"]:  # axis_data_fifo takes powers of two from 16
            assert f"CONFIG.FIFO_DEPTH {{{max(16, row['depth'])}}}" in lines[row["name"]]


def test_sim_fifo_sizing_is_the_default(full_build):
    out, _ = full_build
    report = json.loads((out / "report" / "fifo_depths.json").read_text())
    assert report["strategy"] == "sim" and report["sizing"]["interval_cycles"] >= 640
    assert "seconds" not in report["sizing"]  # reproducible


def test_report_summary_and_plots(full_build):
    out, _ = full_build
    md = (out / "report" / "summary.md").read_text()
    html = (out / "report" / "summary.html").read_text()
    for text in ("156,250 FPS", "MVAU_3", "bit-exact", "## Steps", "layer_cycles.png"):
        assert text in md, text
    assert html.startswith("<!DOCTYPE html>") and '<img src="resource_utilisation.png"' in html
    for png in ("layer_cycles.png", "resource_utilisation.png"):
        assert (out / "report" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    estimate = json.loads((out / "report" / "estimate.json").read_text())
    assert estimate["max_cycles"] == 640 and estimate["bottleneck"] == "MVAU_3"
    log = (out / "build.log").read_text()
    assert "step verify: done" in log and "folding file" in log


def test_config_files_json_and_yaml(tmp_path):
    (tmp_path / "fold.json").write_text(FOLDING.read_text())
    (tmp_path / "b.yaml").write_text(
        "board: Pynq-Z2\nsynth_clk_period_ns: 8\nfolding_config_file: fold.json\noutput_dir: out\n"
        "fifo_sizing: largefifo\ngenerate_outputs: [estimate_reports, stitched_ip, hls]\n"
    )
    config = load_build_config(tmp_path / "b.yaml", {"board": "Pynq-Z1"})
    assert config.board == "Pynq-Z1" and config.clock_ns == 8 and config.folding == tmp_path / "fold.json"
    assert config.output_dir == tmp_path / "out" and config.generate_outputs == ("estimate_reports", "stitch", "hls")
    (tmp_path / "b.json").write_text(json.dumps({"output_dir": "o", "bord": "Pynq-Z1"}))
    with pytest.raises(ConfigError, match="bord: unknown setting"):
        load_build_config(tmp_path / "b.json")
    (tmp_path / "bad.yaml").write_text("board: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_build_config(tmp_path / "bad.yaml")
    with pytest.raises(ConfigError, match="needs Vivado"):
        make_build_config(output_dir="o", generate_outputs=["bitfile"])
    with pytest.raises(BaseException) as err:
        BuildConfig(output_dir=tmp_path).model_copy(update={"board": "x"}).__setattr__("board", "y")
    assert "frozen" in str(err.value).lower()
