"""Issue 19, "the build a user trusts": output folders, warnings, resume, verify data, Ctrl-C, papercuts."""

from __future__ import annotations

import configparser
import fnmatch
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from click.testing import CliRunner

import qnncc
from qnncc.cli import main
from qnncc.core import QnnccError
from qnncc.data import demo_inputs, demo_model_path
from qnncc.flow.build import BuildConfig, BuildError, BuildInterrupted, BuildWarning, build
from qnncc.flow.config import ConfigError, load_build_config, make_build_config
from qnncc.flow.outdir import MARKER
from qnncc.flow.verify import check_verification_data

ROOT = Path(__file__).parents[2]
DATA = ROOT / "tests" / "data"
MODEL = demo_model_path()
FOLDING = MODEL.parent / "tfc_w1a1_folding_config.json"
LFC = DATA / "lfc_w1a1" / "LFCW1A1.onnx"
CNV = DATA / "brevitas_dev" / "cnv3_w2a2" / "model_qonnx.onnx"
FAST = ("estimate_reports",)


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def quick(out: Path, **kw: object) -> BuildConfig:
    values = {"output_dir": out, "folding": FOLDING, "to_step": "fold", "generate_outputs": FAST, **kw}
    return BuildConfig(**values)  # type: ignore[arg-type]


# ---------------------------------------------------------------- 1. -o DIR safety
def test_a_users_folder_is_refused_and_force_keeps_its_files(tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(QnnccError, match=r"not empty and is not a qnncc build.*--force"):
        build(MODEL, quick(out), show_warnings=False)
    assert (out / "notes.txt").read_text() == "mine" and not (tmp_path / "mine.incomplete").exists()
    build(MODEL, quick(out, force=True), show_warnings=False)
    assert (out / "notes.txt").read_text() == "mine" and (out / MARKER).is_file()
    assert (out / "intermediate_models").is_dir()


def test_a_previous_build_is_replaced_and_the_users_files_stay(tmp_path: Path) -> None:
    out = tmp_path / "b"
    build(MODEL, quick(out, to_step="partition"), show_warnings=False)
    assert "intermediate_models" in json.loads((out / MARKER).read_text())["entries"]
    (out / "my_notes.md").write_text("keep")
    (out / "intermediate_models" / "stale.onnx").write_text("old")  # inside qnncc's own folder: replaced
    build(MODEL, quick(out), show_warnings=False)
    assert (out / "my_notes.md").read_text() == "keep"
    assert not (out / "intermediate_models" / "stale.onnx").exists()
    assert not (tmp_path / "b.previous").exists() and not (tmp_path / "b.incomplete").exists()
    assert "my_notes.md" not in json.loads((out / MARKER).read_text())["entries"]


def test_output_dot_and_pwd_are_refused_with_a_clear_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "keep.txt").write_text("x")
    for flag in (".", str(tmp_path), ".."):
        code, out = run("build", str(MODEL), "-o", flag, "--to-step", "fold")
        assert code == 2 and "Traceback" not in out and "working directory" in out, out
        assert "give a folder of its own" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


# ---------------------------------------------------------------- 2. Docker: no tkinter, g++
def test_qnncc_never_imports_tkinter() -> None:
    sources = [*(ROOT / "src").rglob("*.py"), *(ROOT / "transforms").rglob("*.py")]
    assert sources and not [p for p in sources if "tkinter" in p.read_text()]


def test_build_works_where_tk_is_missing(tmp_path: Path) -> None:
    """What the Docker image (python:3.11-slim, no Tk) runs: `qnncc demo` and a build up to the driver."""
    script = (
        "import sys; sys.modules['tkinter'] = None; sys.modules['_tkinter'] = None\n"
        "from qnncc.cli import main\n"
        "main(sys.argv[1:])\n"
    )
    out = tmp_path / "b"
    env = {**os.environ, "MPLBACKEND": "Agg"}
    args = ["build", str(MODEL), "--folding", str(FOLDING), "-o", str(out), "--no-plots"]
    proc = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (out / "stitch").is_dir() and (out / "driver" / "driver.py").is_file()
    proc = subprocess.run([sys.executable, "-c", script, "demo"], capture_output=True, text=True, env=env)
    assert proc.returncode == 0 and "OK" in proc.stdout, proc.stderr[-2000:]


def test_docker_image_has_gxx_and_the_package_ships_its_templates() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    base = dockerfile.split("FROM base AS test")[0]
    assert "g++" in base and "make" in base  # the runtime stage (from base) can verify
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    patterns = cfg["options.package_data"]["qnncc.hls_templates"].split(", ")
    files = [p.relative_to(ROOT / "hls_templates").as_posix() for p in (ROOT / "hls_templates").rglob("*")]
    shipped = [f for f in files if (ROOT / "hls_templates" / f).is_file() and "__pycache__" not in f]
    missing = [f for f in shipped if not f.endswith(".py") and not any(fnmatch.fnmatch(f, p) for p in patterns)]
    assert not missing, f"files a non-editable install (the runtime image) would lack: {missing}"


# ---------------------------------------------------------------- 3. float input without quantizer
def test_lfc_without_input_scale_warns_and_says_what_the_scale_would_do(tmp_path: Path) -> None:
    config = BuildConfig(output_dir=tmp_path / "lfc", to_step="partition", generate_outputs=FAST)
    with pytest.warns(BuildWarning, match=r"--input-scale 1/255") as record:
        result = build(LFC, config)
    (message,) = [m for m in result.warnings if m.startswith("INPUT")]
    assert "MultiThreshold_0 (MultiThreshold)" in message and "TERNARY [1, 784]" in message
    assert "1568 bits per frame" in message and len(record) >= 1
    scaled = build(LFC, config.model_copy(update={"input_scale": "1/255"}), show_warnings=False)
    assert not [m for m in scaled.warnings if m.startswith("INPUT")]


# ---------------------------------------------------------------- 5. misspelt folding key
def test_misspelt_folding_key_tops_the_summary_and_warns_in_python(tmp_path: Path) -> None:
    with pytest.warns(BuildWarning, match=r"'MVA_hls_3' \(did you mean 'MVAU_3'\?\)"):
        build(MODEL, quick(tmp_path / "b", to_step="estimate"))
    summary = (tmp_path / "b" / "report" / "summary.md").read_text()
    assert summary.index("MVA_hls_3") < summary.index("## Performance estimate")
    assert "slowest" in summary
    html = (tmp_path / "b" / "report" / "summary.html").read_text()
    assert html.index("MVA_hls_3") < html.index("Performance estimate")


# ---------------------------------------------------------------- 6. resume with changed settings
def test_resume_refuses_changed_settings_and_needs_no_model(tmp_path: Path) -> None:
    out = tmp_path / "b"
    build(
        MODEL, quick(out, to_step="fifo", generate_outputs=("estimate_reports", "hls", "stitch")), show_warnings=False
    )
    changed = quick(out, to_step=None, from_step="hls", board="ZCU104", clock_ns=5.0)
    with pytest.raises(QnnccError, match=r"--board Pynq-Z1 -> ZCU104.*--clock-ns 10.0 -> 5.0.*--from-step fold"):
        build(None, changed.model_copy(update={"generate_outputs": ("estimate_reports", "hls", "stitch")}))
    assert not (out / "stitch").exists()
    code, text = run("build", "-o", str(out), "--from-step", "hls", "--board", "ZCU104")
    assert code == 2 and "--from-step fold" in text
    code, text = run("build", "-o", str(out), "--from-step", "hls")  # no MODEL_PATH: the saved settings
    assert code == 0, text
    assert (out / "stitch").is_dir() and "resumed from" in text
    assert json.loads((out / "build_config.json").read_text())["board"] == "Pynq-Z1"
    code, text = run("build", "-o", str(out))
    assert code == 2 and "missing MODEL_PATH" in text


# ---------------------------------------------------------------- 7. verify data checked at step 1
@pytest.mark.parametrize(
    ("arrays", "needle"),
    [
        ({"x": np.zeros((2, 784))}, r"needs an array 'images'.*it has 'x'"),
        ({"images": np.zeros((3, 784)), "labels": np.zeros(2)}, r"'labels' has shape \[2\].*shape \[3\]"),
        ({"images": np.zeros((3, 10))}, r"do not fit the model input \[1, 1, 28, 28\]"),
    ],
)
def test_bad_verify_data_fails_in_step_load(tmp_path: Path, arrays: dict[str, np.ndarray], needle: str) -> None:
    data = tmp_path / "bad.npz"
    np.savez(data, **arrays)  # type: ignore[arg-type]
    with pytest.raises(BuildError, match=needle) as err:
        build(MODEL, quick(tmp_path / "b", to_step=None, verify_data=data), show_warnings=False)
    assert err.value.step == "load"


def test_float_images_for_an_integer_input_and_nhwc_images_are_named(tmp_path: Path) -> None:
    images = np.load(DATA / "mnist_test.npz")["images"][:4].astype(np.float32) / 255
    data = tmp_path / "float.npz"
    np.savez(data, images=images)
    config = BuildConfig(output_dir=tmp_path / "c", verify_data=data, generate_outputs=FAST)
    with pytest.raises(BuildError, match=r"not integers.*UINT8.*multiply by 255") as err:
        build(CNV, config, show_warnings=False)
    assert err.value.step == "load"
    with pytest.raises(QnnccError, match=r"channels-last \[N, H, W, C\].*transpose\(0, 3, 1, 2\)"):
        np.savez(tmp_path / "nhwc.npz", images=np.zeros((2, 32, 32, 3)))
        check_verification_data(tmp_path / "nhwc.npz", [1, 3, 32, 32])
    np.savez(tmp_path / "ok.npz", images=np.zeros((2, 3, 32, 32)), labels=np.zeros(2))
    assert check_verification_data(tmp_path / "ok.npz", [1, 3, 32, 32])[0].shape == (2, 3, 32, 32)


# ---------------------------------------------------------------- 9. Ctrl-C
def test_ctrl_c_exits_130_and_names_the_step_to_resume(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from qnncc.flow import steps

    def interrupted(ctx: object, model: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setitem(steps._FIXED, "partition", interrupted)
    out = tmp_path / "b"
    code, text = run("build", str(MODEL), "--folding", str(FOLDING), "-o", str(out), "--to-step", "partition")
    assert code == 130 and "qnncc: interrupted; resume with --from-step partition" in text
    record = json.loads((tmp_path / "b.incomplete" / "build_log.json").read_text())
    assert record["status"] == "interrupted" and record["failed_step"] == "partition"
    with pytest.raises(BuildInterrupted, match="resume with --from-step partition"):
        build(MODEL, quick(out, to_step="partition"))
    monkeypatch.undo()
    code, text = run("build", "-o", str(out), "--from-step", "partition", "--to-step", "partition")
    assert code == 0 and (out / "intermediate_models").is_dir(), text


# ---------------------------------------------------------------- 10. papercuts
def test_list_steps_needs_no_model() -> None:
    code, text = run("build", "--list-steps")
    assert code == 0 and text.split()[0] == "load" and "verify" in text


def test_missing_gxx_is_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    real = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None if name == "g++" else real(name, *a, **k))
    np.savez(tmp_path / "d.npz", images=demo_inputs()[0])
    code, text = run("build", str(MODEL), "-o", str(tmp_path / "b"), "--verify-data", str(tmp_path / "d.npz"))
    assert code == 2 and "g++ is not on PATH" in text and "apt-get install g++" in text
    assert not (tmp_path / "b.incomplete").exists()
    assert "g++" in (ROOT / "README.md").read_text()


def test_mlp_input_reshape_is_not_reported(tmp_path: Path) -> None:
    result = build(MODEL, quick(tmp_path / "b", to_step="estimate"), show_warnings=False)
    assert result.estimate is not None
    assert not [line for line in result.estimate["software_report"] if "Reshape" in line]


def test_finn_dataflow_build_config_names(tmp_path: Path) -> None:
    (tmp_path / "finn.json").write_text(
        json.dumps(
            {
                "output_dir": "out",
                "board": "Pynq-Z1",
                "synth_clk_period_ns": 10.0,
                "folding_config_file": str(FOLDING),
                "shell_flow_type": "vivado_zynq",
                "fpga_part": "xc7z020clg400-1",
                "mvau_wwidth_max": 80,
                "auto_fifo_strategy": "largefifo_rtlsim",
                "generate_outputs": ["estimate_reports", "DataflowOutputType.STITCHED_IP", "hls", "pynq_driver"],
                "stop_step": "step_create_dataflow_partition",
            }
        )
    )
    config = load_build_config(tmp_path / "finn.json")
    assert (config.shell, config.fifo_sizing, config.to_step) == ("zynq", "largefifo", "partition")
    assert set(config.generate_outputs) == {"estimate_reports", "stitch", "hls", "driver"}
    with pytest.raises(ConfigError, match=r"shell_flow_type: vitis_alveo needs an Alveo board .* not Pynq-Z1"):
        make_build_config(output_dir="o", shell_flow_type="ShellFlowType.VITIS_ALVEO")
    with pytest.raises(ConfigError, match=r"shell_flow_type: 'vivado_versal' is not supported"):
        make_build_config(output_dir="o", shell_flow_type="vivado_versal")
    alveo = make_build_config(output_dir="o", board="U250", shell_flow_type="ShellFlowType.VITIS_ALVEO")
    assert (alveo.board, alveo.shell) == ("U250", None)
    with pytest.raises(ConfigError, match=r"fpga_part: xcu250.*not the part of board Pynq-Z1"):
        make_build_config(output_dir="o", fpga_part="xcu250-figd2104-2L-e")
    # FINN names the Alveo target by its platform: qnncc picks that card's board
    assert make_build_config(output_dir="o", vitis_platform="xilinx_u280_xdma_201920_3").board == "U280"
    assert (
        make_build_config(output_dir="o", board="U250", vitis_platform="xilinx_u250_gen3x16_xdma_2_1").board == "U250"
    )
    with pytest.raises(
        ConfigError, match=r"vitis_platform: xilinx_u250_gen3x16_xdma_2_1 is the platform of board U250"
    ):
        make_build_config(output_dir="o", board="Pynq-Z1", vitis_platform="xilinx_u250_gen3x16_xdma_2_1")
    with pytest.raises(ConfigError, match=r"vitis_platform: xilinx_vck5000_gen4x8 is not a platform qnncc targets"):
        make_build_config(output_dir="o", vitis_platform="xilinx_vck5000_gen4x8")
    with pytest.raises(ConfigError, match=r"vitis_floorplan_file: qnncc assigns the partitions to SLRs itself"):
        make_build_config(output_dir="o", board="U250", vitis_floorplan_file="floorplan.json")
    assert make_build_config(output_dir="o", auto_fifo_depths=False).fifo_sizing == "off"


def test_build_and_execute_take_qonnx_and_onnx_models(tmp_path: Path) -> None:
    qonnx_wrapper = pytest.importorskip("qonnx.core.modelwrapper").ModelWrapper
    images, expected = demo_inputs()
    for model in (qonnx_wrapper(str(MODEL)), onnx.load(str(MODEL))):
        out = qnncc.execute(model, {"global_in": images})
        np.testing.assert_array_equal(next(iter(out.values())).reshape(-1), expected)
        result = qnncc.build(model, quick(tmp_path / type(model).__name__), show_warnings=False)
        assert result.steps["fold"] >= 0
    with pytest.raises(QnnccError, match="got int"):
        qnncc.build(3, quick(tmp_path / "x"))


# ---------------------------------------------------------------- 8. reports
def test_report_has_folding_io_graph_dwcs_and_a_readable_resource_plot(tmp_path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from qnncc.flow.plots import resource_figure

    out = tmp_path / "b"
    config = quick(out, to_step=None, generate_outputs=("estimate_reports", "plots", "driver"))
    result = build(MODEL, config, show_warnings=False)
    summary = (out / "report" / "summary.md").read_text()
    sections = [
        "## Warnings (1)",
        "## Dataflow graph",
        "## Inputs and outputs",
        "## Performance estimate",
        "## Folding",
    ]
    assert [summary.index(s) for s in sections] == sorted(summary.index(s) for s in sections)
    assert "| MVAU_0 | 16 | 49 | block | internal_decoupled |" in summary  # PE, SIMD, ram_style, mem_mode
    io = json.loads((out / "report" / "io.json").read_text())
    assert (io["inputs"][0]["datatype"], io["inputs"][0]["words_per_frame"], io["inputs"][0]["elems_per_word"]) == (
        "UINT8",
        16,
        49,
    )
    assert "| input Reshape_0_out0_pre_mul0 | UINT8 |" in summary and "| output global_out | UINT4 |" in summary
    dwcs = json.loads((out / "report" / "stream_components.json").read_text())
    assert dwcs and all(d["name"] in summary for d in dwcs) and "## Width converters" in summary
    assert "Width converters and FIFOs add" in summary
    assert (out / "report" / "dataflow_graph.png").stat().st_size > 5000
    assert result.steps["estimate"] < 0.5  # no plotting in the step (drawn when the build finishes)
    figures = json.loads((out / "report" / "estimate.json").read_text())
    fig = resource_figure(figures)
    FigureCanvasAgg(fig)
    ax = fig.axes[0]
    top = max(figures["utilisation_percent"].values())
    assert top < 20 and ax.get_xlim()[1] < 2 * top and "zoomed" in ax.get_xlabel()
