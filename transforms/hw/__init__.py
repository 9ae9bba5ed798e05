"""Passes that map a streamlined graph onto streaming HW layers."""

from .folding import (
    ApplyFoldingConfig,
    canonical_layer_name,
    extract_folding_config,
    iter_hw_nodes,
    load_folding_config,
    save_folding_config,
)
from .identity_thresholds import RemoveIdentityThresholds, is_identity_thresholding
from .infer_cnn import InferConvInpGen, InferGlobalAccPoolLayer, InferVectorVectorActivation
from .infer_mlp import (
    InferBinaryMatrixVectorActivation,
    InferLabelSelectLayer,
    InferQuantizedMatrixVectorActivation,
    InferThresholdingLayer,
)
from .infer_pool import InferPool, InferStreamingMaxPool
from .infer_streams import InferAddStreamsLayer, InferChannelwiseLinearLayer, InferDuplicateStreamsLayer
from .insert_dwc import InsertDWC
from .insert_fifo import InsertFIFO
from .partition import (
    CreateDataflowPartition,
    explain_software_nodes,
    is_hw_node,
    partition_levels,
    split_by_budget,
)
from .set_fifo_depths import SetFIFODepths

__all__ = [
    "ApplyFoldingConfig",
    "canonical_layer_name",
    "extract_folding_config",
    "iter_hw_nodes",
    "load_folding_config",
    "save_folding_config",
    "CreateDataflowPartition",
    "explain_software_nodes",
    "InsertDWC",
    "RemoveIdentityThresholds",
    "is_identity_thresholding",
    "InsertFIFO",
    "SetFIFODepths",
    "is_hw_node",
    "partition_levels",
    "split_by_budget",
    "InferBinaryMatrixVectorActivation",
    "InferLabelSelectLayer",
    "InferQuantizedMatrixVectorActivation",
    "InferThresholdingLayer",
    "InferAddStreamsLayer",
    "InferChannelwiseLinearLayer",
    "InferConvInpGen",
    "InferDuplicateStreamsLayer",
    "InferGlobalAccPoolLayer",
    "InferPool",
    "InferStreamingMaxPool",
    "InferVectorVectorActivation",
]
