"""One step runner for both flows: ``estimate`` and ``build`` run their named steps through it."""

from __future__ import annotations

from pathlib import Path

import pytest

from qnncc.boards import get_board
from qnncc.core import ModelWrapper, QnnccError
from qnncc.data import demo_model_path
from qnncc.estimate import estimate
from qnncc.flow import runner
from qnncc.flow.build import BuildConfig, build
from qnncc.flow.config import PIPELINE_STEPS, make_build_config
from qnncc.flow.steps import BuildContext

MODEL = demo_model_path()
FOLDING = MODEL.parent / "tfc_w1a1_folding_config.json"


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def step_started(self, name: str, index: int, total: int) -> None:
        self.events.append(("start", name))

    def step_finished(self, name: str, seconds: float) -> None:
        self.events.append(("done", name))


def _context(tmp_path: Path) -> BuildContext:
    board = get_board("Pynq-Z1")
    config = make_build_config("test", output_dir=tmp_path / "out")
    return BuildContext(config, board, board.default_clk_ns, "zynq", tmp_path / "out", MODEL, quiet=True)


def test_run_steps_times_observes_and_hands_each_model_on(tmp_path: Path) -> None:
    ctx = _context(tmp_path)
    seen: list[str] = []

    def after(step: str, model: ModelWrapper) -> Path | None:
        seen.append(step)
        return tmp_path / f"{step}.onnx" if step == "tidy" else None

    recorder = Recorder()
    model, records = runner.run_steps(["load", "tidy"], ctx, None, observer=recorder, after_step=after)
    assert isinstance(model, ModelWrapper)
    assert [r.name for r in records] == ["load", "tidy"] and all(r.seconds >= 0 for r in records)
    assert [r.checkpoint for r in records] == [None, tmp_path / "tidy.onnx"]
    assert seen == ["load", "tidy"]
    assert recorder.events == [("start", "load"), ("done", "load"), ("start", "tidy"), ("done", "tidy")]


def test_a_failing_step_is_named_by_the_context(tmp_path: Path) -> None:
    ctx = _context(tmp_path)
    with pytest.raises(QnnccError, match="needs a model"):
        runner.run_steps(["tidy"], ctx, None)  # no model before 'load'
    assert ctx.step == "tidy"


@pytest.fixture
def plans(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The plans handed to the runner (it still runs them)."""
    seen: list[list[str]] = []
    real = runner.run_steps

    def spy(plan, ctx, model, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(list(plan))
        return real(plan, ctx, model, **kwargs)

    monkeypatch.setattr(runner, "run_steps", spy)
    return seen


def test_estimate_runs_the_build_steps_through_the_runner(plans: list[list[str]]) -> None:
    result = estimate(MODEL, folding=FOLDING)
    assert plans == [["load", *PIPELINE_STEPS, "fold", "partition"]]
    assert [r.name for r in result.records] == plans[0]
    assert result.unmatched_folding_keys == ["MVA_hls_3"]  # the demo file's misspelt key, reported not raised


def test_build_runs_its_plan_through_the_same_runner(tmp_path: Path, plans: list[list[str]]) -> None:
    config = BuildConfig(
        output_dir=tmp_path / "b", folding=FOLDING, to_step="estimate", generate_outputs=["estimate_reports"]
    )
    result = build(MODEL, config, show_warnings=False)
    assert plans == [["load", *PIPELINE_STEPS, "fold", "partition", "estimate"]]
    assert list(result.steps) == plans[0]
