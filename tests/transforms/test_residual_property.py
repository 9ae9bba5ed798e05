"""Property test: random residual CNNs go through the whole HW flow, every pass checked by differential execution.

Graphs come from :func:`qnn_graphs.residual_cnn_specs` (Brevitas-style
residual blocks with shared-scale quantizers before the ``Add``). The flow is
``qnncc.flow.estimate``'s (:func:`qnncc.flow.estimate.hw_pipeline`) with the input
scaling of the 8-bit input quantizer, replayed one pass at a time:
``Streamline`` as its rounds of :func:`streamline_passes`, ``ConvertToNHWC``
as its rounds of channels-last passes, the HW conversions one by one, then
``CreateDataflowPartition``. After every pass that changes the graph, the
outputs on the test inputs must equal those before it (bit for bit where the
graph's arithmetic is exact or the output quantized, else within float32
rounding), and at the end equal the QONNX model's.

Structure: each residual ``Add`` becomes an ``AddStreams`` with a
``DuplicateStreams`` at its fork, and everything up to the classifier head
lands in one dataflow partition; unless ``MoveSharedScalePastAdd`` refused a
join because a threshold separates two differently rounded sums (reported as
a hypothesis event; never seen so far).
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from qnn_graphs import Case, GraphSpec, ResidualSpec, build_case, residual_cnn_specs
from qnncc.transforms.hw import CreateDataflowPartition
from qnncc.transforms.lower import ConvertToNHWC, channels_last_passes, reshape_cleanup_passes
from qnncc.transforms.streamline import Streamline, streamline_passes
from qnncc.transforms.streamline.residual import MoveSharedScalePastAdd

from qnncc import ModelWrapper, Transformation
from qnncc.execution import Executor
from qnncc.flow.estimate import detect_input_scale, hw_pipeline

#: Random graphs per CI run (``make test``), and under the ``slow`` marker.
EXAMPLES = 25
SLOW_EXAMPLES = 300
RTOL = 1e-5
MAX_ROUNDS = 20


def pixels(case: Case, count: int = 3) -> list[np.ndarray]:
    """Integer pixel inputs: random, all 0 and all 255 mixed in, per feed."""
    rng = np.random.default_rng(case.spec.seed % 2**32)
    shape = [case.spec.batch, *case.spec.input_shape]
    out = [rng.integers(0, 256, shape).astype(np.float32) for _ in range(count)]
    out[-1] = np.where(rng.random(shape) < 0.3, rng.choice([0.0, 255.0], shape), out[-1]).astype(np.float32)
    return out


def run(model: ModelWrapper, feeds: list[np.ndarray]) -> list[np.ndarray]:
    executor = Executor(model)
    name_in, name_out = model.graph_input_names()[0], model.graph_output_names()[0]
    return [np.asarray(executor.run({name_in: x})[name_out]) for x in feeds]


def assert_same(ref: list[np.ndarray], got: list[np.ndarray], case: Case, stage: str) -> None:
    for i, (r, g) in enumerate(zip(ref, got, strict=True)):
        msg = f"{stage}: outputs differ on input {i} of {case.spec}"
        assert g.shape == r.shape, msg
        if case.exact:
            np.testing.assert_array_equal(g, r, err_msg=msg)
        else:
            scale = max(float(np.abs(r).max()) if r.size else 0.0, case.magnitude)
            np.testing.assert_allclose(g, r, rtol=RTOL, atol=RTOL * scale, err_msg=msg)


def expand(body: object) -> list[object]:
    """A pipeline step body as single passes; Streamline / ConvertToNHWC become markers replayed by rounds."""
    items = list(body) if isinstance(body, list | tuple) else [body]
    return [("rounds", streamline_passes) if isinstance(p, Streamline) else p for p in items]


class Checker:
    """Applies passes one at a time, checking each change against the outputs before it."""

    def __init__(self, case: Case, feeds: list[np.ndarray], ref: list[np.ndarray]) -> None:
        self.case, self.feeds, self.ref = case, feeds, ref

    def apply(self, model: ModelWrapper, p: Transformation) -> ModelWrapper:
        before = model.serialize()
        model = model.transform(p)
        if model.serialize() != before:
            model.check()
            out = run(model, self.feeds)
            assert_same(self.ref, out, self.case, f"pass {p.name}")
            self.ref = out
        return model

    def rounds(self, model: ModelWrapper, make: object) -> ModelWrapper:
        assert callable(make)
        for _ in range(MAX_ROUNDS):
            start = model.serialize()
            for p in make():
                model = self.apply(model, p)
            if model.serialize() == start:
                return model
        raise AssertionError(f"no fixpoint in {MAX_ROUNDS} rounds on {self.case.spec}")

    def convert_to_nhwc(self, model: ModelWrapper) -> ModelWrapper:
        """``ConvertToNHWC``'s schedule: layout passes to a fixpoint, then the reshape clean-up, repeated."""
        for _ in range(MAX_ROUNDS):
            start = model.serialize()
            model = self.rounds(model, channels_last_passes)
            for p in reshape_cleanup_passes():
                model = self.apply(model, p)
            if model.serialize() == start:
                return model
        raise AssertionError(f"ConvertToNHWC: no fixpoint in {MAX_ROUNDS} rounds on {self.case.spec}")


def refused_joins(model: ModelWrapper) -> int:
    """Adds of two Mul outputs left after streamlining (MoveSharedScalePastAdd found them inexact)."""
    count = 0
    for node in model.get_nodes_by_op_type("Add"):
        producers = [model.find_producer(t) for t in node.input]
        count += all(p is not None and p.op_type == "Mul" for p in producers)
    return count


def check_residual_flow(spec: GraphSpec) -> None:
    case = build_case(spec)
    qonnx = case.model
    detected = detect_input_scale(qonnx)
    assert detected is not None
    scale, dtype = detected
    feeds = pixels(case)
    scaled = [(x * np.float32(scale)).astype(np.float32) for x in feeds]  # what InsertInputScaling computes
    ref = run(qonnx, scaled)
    checker = Checker(case, scaled, ref)
    model = qonnx.copy()
    refused = 0
    for name, body in hw_pipeline(scale, dtype, insert_topk=False).steps:
        if name == "prepare_io":  # the input changes meaning (pixels instead of pixels * scale)
            for p in expand(body):
                assert isinstance(p, Transformation)
                model = model.transform(p)
            assert_same(checker.ref, run(model, feeds), case, "prepare_io")
            checker.feeds = feeds
            continue
        for p in expand(body):
            if isinstance(p, tuple):
                model = checker.rounds(model, p[1])
                if name == "streamline":
                    refused = max(refused, refused_joins(model))
            elif isinstance(p, ConvertToNHWC):
                model = checker.convert_to_nhwc(model)
            else:
                assert isinstance(p, Transformation)
                model = checker.apply(model, p)
    assert_same(ref, run(model, feeds), case, "QONNX -> HW")
    partition = CreateDataflowPartition()
    partitioned = model.copy().transform(partition)
    assert_same(ref, run(partitioned, feeds), case, "CreateDataflowPartition")

    if refused:
        event("MoveSharedScalePastAdd refused a join")
        return
    blocks = sum(isinstance(layer, ResidualSpec) for layer in spec.layers)
    hw = Counter(n.op_type for n in model.graph.node if n.domain == "qnncc.hw")
    assert hw["AddStreams"] == blocks, (hw, spec)
    assert hw["DuplicateStreams"] == blocks, (hw, spec)
    top = [n.op_type for n in partitioned.graph.node]
    assert top.count("StreamingDataflowPartition") == 1, (top, partition.software_report, spec)
    # before the accelerator at most the NCHW -> NHWC transpose of a multi-channel input
    leading = top[: top.index("StreamingDataflowPartition")]
    assert leading in ([], ["Transpose"]), (top, spec)
    assert not leading or spec.input_shape[0] > 1, (top, spec)
    head = top[top.index("StreamingDataflowPartition") + 1 :]
    assert set(head) <= {"Mul", "Add", "TopK", "MultiThreshold"}, (top, spec)


SETTINGS = {
    "deadline": None,
    "derandomize": True,
    "database": None,
    "print_blob": False,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}


@settings(max_examples=EXAMPLES, **SETTINGS)
@given(spec=residual_cnn_specs())
def test_residual_cnns_reach_one_partition_exactly(spec: GraphSpec) -> None:
    check_residual_flow(spec)


@pytest.mark.slow
@settings(max_examples=SLOW_EXAMPLES, **SETTINGS)
@given(spec=residual_cnn_specs())
def test_residual_cnns_reach_one_partition_exactly_many(spec: GraphSpec) -> None:
    check_residual_flow(spec)


def test_shared_scale_move_is_in_the_default_sequence() -> None:
    assert any(isinstance(p, MoveSharedScalePastAdd) for p in streamline_passes())
