"""Passes on graphs with hundreds of matches: every match rewritten, semantics kept.

A ResNet-50 export has ~160 quantizers and ~50 residual adds; a fixpoint bounded by a constant
number of rounds (one rewrite per round) would stop such a graph with "did not reach a fixpoint".
These graphs have 500 matches each.
"""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper
from qnncc.transforms import InferShapes
from qnncc.transforms.streamline import AbsorbAddIntoMultiThreshold, MoveAddPastMul

import qnncc
from qnncc import ModelWrapper, Transformation
from qnncc.core.errors import TransformationError
from qnncc.core.transformation import round_limit

MATCHES = 500
CHANNELS = 4


def _chain_model(blocks: int, block: str) -> ModelWrapper:
    """``blocks`` repetitions of ``Add -> Mul -> Relu`` ("add_mul") or ``Add -> MultiThreshold`` ("add_mt")."""
    rng = np.random.default_rng(0)
    nodes, inits = [], []
    x = "x"
    for i in range(blocks):
        b, a_out = f"b{i}", f"a{i}"
        inits.append(numpy_helper.from_array(rng.integers(-3, 4, size=(CHANNELS,)).astype(np.float32), b))
        nodes.append(helper.make_node("Add", [x, b], [a_out], name=f"Add_{i}"))
        if block == "add_mul":
            m, m_out, r_out = f"m{i}", f"p{i}", f"r{i}"
            inits.append(numpy_helper.from_array(np.float32(2.0).reshape(()), m))
            nodes.append(helper.make_node("Mul", [a_out, m], [m_out], name=f"Mul_{i}"))
            nodes.append(helper.make_node("Relu", [m_out], [r_out], name=f"Relu_{i}"))
            x = r_out
        else:
            t, t_out = f"t{i}", f"q{i}"
            thresholds = np.sort(rng.integers(-4, 12, size=(CHANNELS, 3)), axis=1).astype(np.float32)
            inits.append(numpy_helper.from_array(thresholds, t))
            nodes.append(
                helper.make_node(
                    "MultiThreshold",
                    [a_out, t],
                    [t_out],
                    domain="qonnx.custom_op.general",
                    name=f"MT_{i}",
                    out_dtype="UINT2",
                )
            )
            x = t_out
    graph = helper.make_graph(
        nodes,
        "chain",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, CHANNELS])],
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, CHANNELS])],
        initializer=inits,
    )
    proto = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("qonnx.custom_op.general", 1)]
    )
    return ModelWrapper(proto).transform(InferShapes())


class _Counted(Transformation):
    """Runs ``inner.apply`` and counts the rounds."""

    def __init__(self, inner: Transformation) -> None:
        self.inner = inner
        self.rounds = 0

    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        self.rounds += 1
        return self.inner.apply(model)


def _inputs() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    return {"x": rng.integers(-6, 7, size=(64, CHANNELS)).astype(np.float32)}


def test_local_rewrite_takes_all_matches_in_one_round() -> None:
    model = _chain_model(MATCHES, "add_mul")
    before = qnncc.execute(model, _inputs())
    counted = _Counted(MoveAddPastMul())
    model = model.transform(counted)
    ops = [n.op_type for n in model.graph.node]
    assert ops == ["Mul", "Add", "Relu"] * MATCHES  # all 500 moved
    assert counted.rounds == 2  # one round rewrites, the next finds nothing
    after = qnncc.execute(model, _inputs())
    np.testing.assert_array_equal(next(iter(after.values())), next(iter(before.values())))


def test_pass_with_500_matches_reaches_its_fixpoint() -> None:
    model = _chain_model(MATCHES, "add_mt")
    assert round_limit(AbsorbAddIntoMultiThreshold.max_iterations, len(model.graph.node)) > MATCHES
    before = qnncc.execute(model, _inputs())
    model = model.transform(AbsorbAddIntoMultiThreshold())
    assert [n.op_type for n in model.graph.node] == ["MultiThreshold"] * MATCHES
    after = qnncc.execute(model, _inputs())
    np.testing.assert_array_equal(next(iter(after.values())), next(iter(before.values())))


def test_a_pass_that_never_settles_still_stops() -> None:
    class Forever(Transformation):
        def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
            return model, True

    model = _chain_model(3, "add_mul")
    with pytest.raises(TransformationError, match="Forever did not reach a fixpoint within 109 rounds"):
        model.transform(Forever())
