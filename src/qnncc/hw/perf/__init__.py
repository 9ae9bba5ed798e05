"""Performance model of streaming HW layers: pure functions over plain data.

Levels (fpgaConvNet): *module* (a block inside a layer) -> *layer*
(:func:`estimate_layer`, from a FINN attribute dict) -> *partition*
(:func:`estimate_partition`: interval, latency along the longest path,
resource totals) -> *network* (:func:`estimate_network`: partitions in turn
with reconfiguration). Layer formulas re-implement FINN's analytic estimates
(each estimator's docstring names its source); where FINN has none, qnncc's
own model is documented as such. A missing estimator raises
:class:`NoEstimatorError`, never returns zero.

Example:
    >>> from qnncc.hw.perf import estimate_layer
    >>> est = estimate_layer("LabelSelect", {"Labels": 10, "PE": 1, "K": 1, "inputDataType": "UINT8"})
    >>> est.cycles
    10
"""

from .estimate import EstimateError, LayerEstimate, ModuleEstimate, NoEstimatorError, SparsityHint
from .layer import estimate_layer, estimated_op_types, normalize_op_type
from .partition import NetworkEstimate, PartitionEstimate, estimate_network, estimate_partition, throughput_fps
from .reports import layer_cycles_report, layer_resources_report, network_performance_report
from .sparse import sparse_window_cycles

__all__ = [
    "estimated_op_types",
    "EstimateError",
    "LayerEstimate",
    "ModuleEstimate",
    "NetworkEstimate",
    "NoEstimatorError",
    "PartitionEstimate",
    "SparsityHint",
    "estimate_layer",
    "estimate_network",
    "estimate_partition",
    "layer_cycles_report",
    "layer_resources_report",
    "network_performance_report",
    "normalize_op_type",
    "sparse_window_cycles",
    "throughput_fps",
]
