"""Estimate and build agree on what a design of several dataflow partitions is (issue 16).

One rule, :func:`qnncc.custom_op.partition.partition_configurations`, by split cause:
software between HW layers or an SLR cut -> one design (partitions connected, run together);
the optimiser's budget split -> configurations run in turn with reconfiguration. The estimate
groups layers by it (:func:`qnncc.flow.estimate.layer_configurations`); the build connects the
partitions of one configuration and refuses several (:func:`check_one_configuration`). Each test
compares the estimate's parts with the build's view, so a disagreement fails.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from conftest import DATA
from partition_graphs import two_partition_cnn

from qnncc.boards import get_board
from qnncc.core.errors import QnnccError
from qnncc.custom_op.partition import partition_child, partition_configurations, partition_nodes
from qnncc.flow.estimate import EstimateResult, estimate, finish_estimate, layer_configurations
from qnncc.flow.partition_steps import check_one_configuration
from qnncc.hw.perf import estimate_partition

LFC = DATA / "lfc_w1a1" / "LFCW1A1.onnx"


def build_view(result: EstimateResult) -> list[set[str]]:
    """Layer names per configuration, as the build sees the partitioned model."""
    model = result.model
    return [
        {n.name for node in nodes for n in partition_child(model, node).graph.node}
        for nodes in partition_configurations(model)
    ]


def estimate_view(result: EstimateResult) -> list[set[str]]:
    """Layer names per estimated part (each part a configuration)."""
    groups = layer_configurations(result.model)
    return [{n for n, _ in result.layers if groups[n] == k} for k in range(len(result.partitions))]


def assert_agree(result: EstimateResult) -> None:
    assert len(result.partitions) == len(partition_configurations(result.model))
    assert estimate_view(result) == [view & {n for n, _ in result.layers} for view in build_view(result)]
    for part, names in zip(result.partitions, estimate_view(result), strict=True):
        whole = estimate_partition([(n, e) for n, e in result.layers if n in names])
        assert (part.lut, part.bram_18k, part.interval_cycles) == (whole.lut, whole.bram_18k, whole.interval_cycles)


def ctx_for(board: str) -> SimpleNamespace:
    return SimpleNamespace(board=get_board(board))


def test_budget_split_runs_in_turn_in_the_estimate_and_is_refused_by_the_build() -> None:
    result = estimate(LFC, board="Pynq-Z1", input_scale="1/255", margin=0.3)
    assert len(result.partitions) > 1
    assert_agree(result)
    perf = result.reports["estimate_network_performance.json"]
    assert perf["num_partitions"] == len(result.partitions) and perf["reconfiguration_ms"] > 0
    with pytest.raises(QnnccError, match=r"configurations in turn with reconfiguration .* fold more"):
        check_one_configuration(ctx_for("Pynq-Z1"), result.model)  # type: ignore[arg-type]


def test_software_split_is_one_design_in_both() -> None:
    result = estimate(two_partition_cnn(), board="Pynq-Z1", input_scale="1/255")
    assert len(partition_nodes(result.model)) == 2 and len(result.partitions) == 1
    assert_agree(result)
    check_one_configuration(ctx_for("Pynq-Z1"), result.model)  # type: ignore[arg-type]
    everything = estimate_partition(result.layers)
    assert result.partition.lut == everything.lut  # both partitions' resources add up (one bitstream)
    assert "reconfiguration_ms" not in result.reports["estimate_network_performance.json"]


def test_slr_cut_is_one_design_and_a_budget_split_of_the_same_layers_is_not() -> None:
    from qnncc.transforms.hw import CreateDataflowPartition

    result = estimate(LFC, board="Pynq-Z1", input_scale="1/255", margin=0.3)
    names = [n for n, _ in result.layers]
    splits = {n: int(k >= len(names) // 2) for k, n in enumerate(names)}
    flat = result.model.copy()  # back to one graph: inline every partition's child
    for node in partition_nodes(flat):
        child = partition_child(flat, node)
        index = list(flat.graph.node).index(node)
        flat.graph.node.remove(node)
        for k, n in enumerate(child.graph.node):
            flat.graph.node.insert(index + k, n)
        flat.graph.initializer.extend(child.graph.initializer)
        flat.graph.value_info.extend(child.graph.value_info)
        flat.graph.quantization_annotation.extend(child.graph.quantization_annotation)
    board = get_board("Pynq-Z1")
    for in_turn, parts in ((False, 1), (True, 2)):
        work = flat.copy().transform(CreateDataflowPartition(splits, in_turn=in_turn))
        assert len(partition_nodes(work)) == 2
        got = finish_estimate(work, board, board.default_clk_ns)
        assert len(got.partitions) == parts and len(partition_configurations(work)) == parts
        assert_agree(got)
