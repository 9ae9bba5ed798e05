"""The build state a model carries between steps (metadata ``qnncc.build_state``) and the partition a step works on.

Everything a later build step needs besides the model (input scale,
partition splits, unmatched folding keys, FIFO figures) is JSON saved in the
checkpoint model's metadata, so a build resumes from any step with nothing
but the saved model.
"""

from __future__ import annotations

import json
from typing import Any

from qnncc.core.errors import QnnccError
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.custom_op.partition import partition_nodes
from qnncc.flow.diagnostics import split_cause

__all__ = ["STATE_KEY", "child_model", "get_state", "set_state"]


#: Metadata key of the build state in saved intermediate models.
STATE_KEY = "qnncc.build_state"


def get_state(model: ModelWrapper) -> dict[str, Any]:
    """The build state saved in a model's metadata (empty if none)."""
    for prop in model.model.metadata_props:
        if prop.key == STATE_KEY:
            value = json.loads(prop.value)
            return value if isinstance(value, dict) else {}
    return {}


def set_state(model: ModelWrapper, state: dict[str, Any]) -> None:
    """Store the build state in the model's metadata (replacing an earlier one)."""
    props = model.model.metadata_props
    for i in reversed(range(len(props))):
        if props[i].key == STATE_KEY:
            del props[i]
    entry = props.add()
    entry.key = STATE_KEY
    entry.value = json.dumps(state, sort_keys=True)


def child_model(model: ModelWrapper) -> ModelWrapper:
    """The HW-only model of the single dataflow partition of ``model``.

    The build steps hand models of several partitions to :mod:`qnncc.flow.partition_steps`.

    Raises:
        QnnccError: if the model has no partition or several.
    """
    from qnncc.codegen import hw_partition

    sdps = partition_nodes(model)
    if not sdps:
        raise QnnccError("the model has no dataflow partition (run the 'partition' step first)")
    if len(sdps) > 1:
        raise QnnccError(f"the design has {len(sdps)} partitions; this function takes one ({split_cause(model)})")
    return hw_partition(model)
