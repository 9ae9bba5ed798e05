"""Post-training quantization and sparsity passes (fpgaConvNet's PyTorch front end, on ONNX).

* :class:`QuantizeAnnotate`: float ONNX model + calibration data -> QONNX graph
  with ``Quant`` nodes on the weights of Conv/Gemm/MatMul and on the activations
  around Conv, Gemm/MatMul, Relu and pooling; formats Fixed16, Fixed8,
  BFP8 per layer, BFP8 per channel and INTn (n = 2..8) per tensor/channel,
  symmetric or affine (:mod:`.formats`).
* :class:`SparsityAnnotate`: zeros-per-window histograms of every
  Conv/Gemm/MatMul input, per channel, recorded as JSON in the graph.
* :class:`ThresholdRelu`: ``Relu`` -> ``ThresholdedRelu(tau)``.
* :class:`PruneWeights`: global weight pruning ``|w| < tau -> 0``.

Example:
    >>> from qnncc.transforms.quantize import QuantizeAnnotate
    >>> model = model.transform(QuantizeAnnotate("int8-channel", calib_images))  # doctest: +SKIP
"""

from .annotate import (
    ACTIVATION_OPS,
    QUANT_METADATA_KEY,
    WEIGHT_OPS,
    QuantizeAnnotate,
    QuantizedTensor,
    activation_tensors,
    insert_quant,
    quantized_tensors,
    upgrade_opset,
    weight_tensors,
)
from .calibrate import CalibrationData, RangeStats, as_batches, collect_ranges, expose_tensors, run_exposed
from .formats import FORMATS, QuantFormat, QuantParams, affine_params, get_format, symmetric_params
from .prune import PruneWeights
from .sparsity import (
    SPARSITY_METADATA_KEY,
    SPARSITY_TENSOR_KEY,
    LayerSparsity,
    SparsityAnnotate,
    network_sparsity,
    read_sparsity,
    read_tensor_sparsity,
    sparse_speedup,
    sparsity_hint,
)
from .threshold_relu import ThresholdRelu
from .window_zeros import conv_histograms, gemm_histograms, window_zero_counts

__all__ = [
    "ACTIVATION_OPS",
    "FORMATS",
    "QUANT_METADATA_KEY",
    "SPARSITY_METADATA_KEY",
    "SPARSITY_TENSOR_KEY",
    "WEIGHT_OPS",
    "CalibrationData",
    "LayerSparsity",
    "PruneWeights",
    "QuantFormat",
    "QuantParams",
    "QuantizeAnnotate",
    "QuantizedTensor",
    "RangeStats",
    "SparsityAnnotate",
    "ThresholdRelu",
    "activation_tensors",
    "affine_params",
    "as_batches",
    "collect_ranges",
    "conv_histograms",
    "expose_tensors",
    "gemm_histograms",
    "get_format",
    "insert_quant",
    "network_sparsity",
    "quantized_tensors",
    "read_sparsity",
    "read_tensor_sparsity",
    "run_exposed",
    "sparse_speedup",
    "sparsity_hint",
    "symmetric_params",
    "upgrade_opset",
    "weight_tensors",
    "window_zero_counts",
]
