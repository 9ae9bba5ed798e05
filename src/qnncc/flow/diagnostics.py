"""Diagnostics of a partitioned model for the user: why it splits, and a float input left in software."""

from __future__ import annotations

import math

from qnncc.core.model_wrapper import ModelWrapper
from qnncc.custom_op.partition import partition_nodes

__all__ = ["float_input_warning", "split_cause"]


def split_cause(model: ModelWrapper) -> str:
    """Why a partitioned model has several partitions: the software nodes between them, else the budget.

    Software nodes both downstream of a partition and upstream of another
    split the stream (each is named with the reason it stays in software);
    without such nodes the split came from the resource budget.
    """
    from qnncc.transforms.hw import explain_software_nodes

    sdps = partition_nodes(model)
    downstream = _software_reach(model, [t for n in sdps for t in n.output], forward=True)
    upstream = _software_reach(model, [t for n in sdps for t in n.input], forward=False)
    names = downstream & upstream
    if not names:
        return "the layers do not fit the board together: fold more or pick a larger board"
    reasons = [line for line in explain_software_nodes(model) if line.split(" ", 1)[0] in names]
    return "software between HW layers splits the stream: " + "; ".join(reasons or sorted(names))


def _software_reach(model: ModelWrapper, tensors: list[str], forward: bool) -> set[str]:
    """Names of the non-partition nodes reachable from ``tensors`` (consumers if ``forward``, else producers)."""
    found: set[str] = set()
    stack = list(tensors)
    while stack:
        tensor = stack.pop()
        if forward:
            nodes = model.find_consumers(tensor)
        else:
            producer = model.find_producer(tensor)
            nodes = [] if producer is None else [producer]
        for node in nodes:
            if node.op_type == "StreamingDataflowPartition" or node.name in found:
                continue
            found.add(node.name)
            stack.extend(node.output if forward else node.input)
    return found


#: Ops that only rearrange the graph input (no arithmetic): no reason to warn when they stay in software.
_LAYOUT_OPS = frozenset({"Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze", "Identity"})


def float_input_warning(model: ModelWrapper, input_scale: float | None) -> str | None:
    """A warning when a float graph input without quantizer keeps the first layer in software, else None.

    Such a model (e.g. LFC exported for inputs ``pixels / 255``) builds, but its
    first thresholds run in software and the accelerator takes their outputs;
    ``--input-scale`` makes the accelerator take the integers instead.
    """
    names = model.graph_input_names()
    sdps = partition_nodes(model)
    if (
        input_scale is not None
        or len(names) != 1
        or len(sdps) < 1
        or not model.get_tensor_datatype(names[0]).is_float()
    ):
        return None
    first = sdps[0]
    if names[0] in first.input:
        return None
    software = []
    needed = set(first.input)
    for node in reversed(model.topological_sort()):
        if node is not first and any(o in needed for o in node.output):
            software.append(node)
            needed.update(node.input)
    compute = [n for n in reversed(software) if n.op_type not in _LAYOUT_OPS]
    if not compute:
        return None
    stream = first.input[0]
    dt = model.get_tensor_datatype(stream)
    shape = model.get_tensor_shape(stream) or []
    bits = int(math.prod(shape[1:])) * dt.bitwidth() if shape else 0
    ops = ", ".join(f"{n.name} ({n.op_type})" for n in compute)
    return (
        f"INPUT: the graph input {names[0]!r} is float and has no input quantizer, so {ops} run(s) in software "
        f"before the accelerator, which takes {dt.name} {shape} ({bits} bits per frame). If the input is x * SCALE "
        "for integers x (e.g. pixels / 255), pass --input-scale SCALE (e.g. --input-scale 1/255): the accelerator "
        "then takes the integers x (UINT8) and these layers move into hardware"
    )
