"""Small ONNX models made of HW layer nodes, shared by the tests."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from qnncc import ModelWrapper
from qnncc.hw.layers import HW_DOMAIN


def hw_graph_model(
    nodes: Sequence[Any],
    inputs: Mapping[str, list[int]],
    outputs: Iterable[str],
    consts: Mapping[str, Any],
    *,
    opset: int = 13,
    domains: Iterable[tuple[str, int]] = (),
    out_type: int = TensorProto.FLOAT,
    float_consts: bool = True,
) -> ModelWrapper:
    """A model of ``nodes`` with float inputs ``{name: shape}``, outputs of unknown shape and constants.

    ``consts`` become initializers (float32 unless ``float_consts`` is False,
    then with their own dtype); the HW domain and ``domains`` are imported.
    """
    graph = helper.make_graph(
        list(nodes),
        "g",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs.items()],
        [helper.make_tensor_value_info(n, out_type, None) for n in outputs],
        [numpy_helper.from_array(np.asarray(v, np.float32 if float_consts else None), n) for n, v in consts.items()],
    )
    imports = [helper.make_opsetid("", opset), helper.make_opsetid(HW_DOMAIN, 1)]
    imports += [helper.make_opsetid(d, v) for d, v in domains]
    return ModelWrapper(helper.make_model(graph, opset_imports=imports))
