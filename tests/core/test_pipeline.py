"""Pipeline: named steps, timing records, checkpoints, from_step and bad names."""

from __future__ import annotations

import time

import numpy as np
import pytest
from onnx import TensorProto, helper

from qnncc import ModelWrapper, Pipeline, Transformation
from qnncc.core import PipelineError, QnnccError, StepRecord, TransformationError


def tiny() -> ModelWrapper:
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"], name="r")],
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])],
    )
    return ModelWrapper(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]))


class Mark(Transformation):
    """Appends its tag to the graph doc string and to a shared log (one change per run)."""

    def __init__(self, tag: str, log: list[str]) -> None:
        self.tag, self.log = tag, log

    def apply(self, model):
        done = model.graph.doc_string.endswith(f"[{self.tag}]")
        if not done:
            model.graph.doc_string += f"[{self.tag}]"
            self.log.append(self.tag)
        return model, not done


class Sleep(Transformation):
    def apply(self, model):
        time.sleep(0.05)
        return model, False


class Spins(Transformation):
    max_iterations = 3

    def apply(self, model):
        return model, True


def three_steps(log: list[str], **kw) -> Pipeline:
    def fn(model: ModelWrapper) -> ModelWrapper:
        model.graph.doc_string += "[fn]"
        log.append("fn")
        return model

    return Pipeline(
        [("first", Mark("a", log)), ("second_step", [Mark("b", log), Mark("c", log)]), ("third-step", fn)],
        **kw,
    )


def test_runs_steps_in_order_and_records_them():
    log: list[str] = []
    pipe = three_steps(log)
    assert pipe.step_names == ["first", "second_step", "third-step"]
    model = tiny()
    out = pipe.run(model)
    assert out is model  # in place
    assert log == ["a", "b", "c", "fn"]
    assert model.graph.doc_string == "[a][b][c][fn]"
    assert [r.name for r in pipe.records] == pipe.step_names
    assert all(isinstance(r, StepRecord) and r.seconds >= 0 and r.checkpoint is None for r in pipe.records)


def test_timing_is_per_step():
    pipe = Pipeline([("fast", Mark("a", [])), ("slow", Sleep()), ("fast2", Mark("b", []))])
    pipe.run(tiny())
    seconds = {r.name: r.seconds for r in pipe.records}
    assert seconds["slow"] >= 0.05
    assert seconds["fast"] < seconds["slow"] and seconds["fast2"] < seconds["slow"]


def test_checkpoints_hold_the_model_after_each_step(tmp_path):
    log: list[str] = []
    ckpt = tmp_path / "ckpt" / "nested"
    pipe = three_steps(log, checkpoint_dir=ckpt)
    pipe.run(tiny())
    expected = {"00_first.onnx": "[a]", "01_second_step.onnx": "[a][b][c]", "02_third-step.onnx": "[a][b][c][fn]"}
    assert sorted(p.name for p in ckpt.iterdir()) == sorted(expected)
    for name, doc in expected.items():
        assert ModelWrapper(ckpt / name).graph.doc_string == doc
    assert [r.checkpoint for r in pipe.records] == [ckpt / n for n in sorted(expected)]


def test_from_step_skips_earlier_steps(tmp_path):
    log: list[str] = []
    pipe = three_steps(log, checkpoint_dir=tmp_path)
    model = pipe.run(tiny(), from_step="second_step")
    assert log == ["b", "c", "fn"]
    assert model.graph.doc_string == "[b][c][fn]"
    assert [r.name for r in pipe.records] == ["second_step", "third-step"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["01_second_step.onnx", "02_third-step.onnx"]
    pipe.run(tiny(), from_step="third-step")
    assert [r.name for r in pipe.records] == ["third-step"]  # records reset on each run


def test_unknown_from_step():
    pipe = three_steps([])
    with pytest.raises(PipelineError) as err:
        pipe.run(tiny(), from_step="secnod_step")
    msg = str(err.value)
    assert "'secnod_step'" in msg and "second_step" in msg and "\n" not in msg
    assert isinstance(err.value, QnnccError) and isinstance(err.value, ValueError)


@pytest.mark.parametrize("bad", ["", "has space", "a/b", "../up", "tab\tname", "new\nline", "é"])
def test_malformed_step_names(bad):
    with pytest.raises(PipelineError, match="step name"):
        Pipeline([("ok", Mark("a", [])), (bad, Mark("b", []))])


def test_duplicate_step_names():
    with pytest.raises(PipelineError, match="unique"):
        Pipeline([("same", Mark("a", [])), ("other", Mark("b", [])), ("same", Mark("c", []))])


def test_failing_step_is_named():
    log: list[str] = []
    pipe = Pipeline([("good", Mark("a", log)), ("stuck", Spins()), ("never", Mark("z", log))])
    model = tiny()
    with pytest.raises(TransformationError) as err:
        pipe.run(model)
    msg = str(err.value)
    assert msg.startswith("step 'stuck':") and "Spins" in msg and "\n" not in msg
    assert log == ["a"]  # the step after the failure did not run
    assert [r.name for r in pipe.records] == ["good"]


def test_empty_pipeline_is_identity():
    model = tiny()
    before = model.serialize()
    assert Pipeline([]).run(model) is model and model.serialize() == before


def test_steps_operate_on_returned_model():
    def replace(model: ModelWrapper) -> ModelWrapper:
        fresh = model.copy()
        fresh.set_initializer("k", np.zeros(3, np.float32))
        return fresh

    model = tiny()
    out = Pipeline([("swap", replace), ("mark", Mark("m", []))]).run(model)
    assert out is not model and out.is_constant("k") and out.graph.doc_string == "[m]"
    assert not model.is_constant("k") and model.graph.doc_string == ""
