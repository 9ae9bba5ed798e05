"""A small QONNX CNN whose HW layers form two dataflow partitions with a software node between them.

Built with :class:`scale_graphs.Exporter` (exported the way Brevitas exports it, seeded random
weights, input pixels/255): conv 3x3 -> BN -> QuantReLU, then a float ``Sigmoid`` (no HW layer
implements it, so it runs on the host), then an unsigned 4-bit quantizer, conv 3x3 -> BN ->
QuantReLU, global-average-free flatten and a linear classifier with a float head. The first conv
block is partition 0, the second conv block and the classifier partition 1.
"""

from __future__ import annotations

import numpy as np
from scale_graphs import Exporter

from qnncc import ModelWrapper

__all__ = ["two_partition_cnn", "two_partition_mlp"]


def two_partition_cnn(resolution: int = 8, channels: int = 4, classes: int = 10, seed: int = 3) -> ModelWrapper:
    """Input ``[1, 3, R, R]`` (pixels/255), logits ``[1, classes]``; a ``Sigmoid`` splits the HW layers in two."""
    e = Exporter(seed)
    x = e.quant("x", np.float32(1 / 255), 8, signed=False)
    x = e.relu_quant(e.bn(e.conv(x, 3, channels, 3, 1, 1, 4), channels, 27), channels, 4)
    x = e.quant(e.op("Sigmoid", [x]), np.float32(1 / 15), 4, signed=False)  # software between the partitions
    x = e.relu_quant(e.bn(e.conv(x, channels, channels, 3, 1, 1, 4), channels, 9 * channels), channels, 4)
    features = channels * resolution * resolution
    y = e.linear(e.flatten(x, features), features, classes, 4, bias=False)
    y = e.op("Add", [e.op("Mul", [y, e.const(e.rng.uniform(0.5, 1.5, classes).astype(np.float32))]),
                     e.const(e.rng.normal(0, 0.1, classes).astype(np.float32))])  # fmt: skip
    return e.model("x", [1, 3, resolution, resolution], y, classes, "two_partition_cnn")


def two_partition_mlp(features: int = 16, hidden: int = 8, classes: int = 4, seed: int = 5) -> ModelWrapper:
    """Input ``[1, features]`` (pixels/255), logits ``[1, classes]``: linear -> BN -> QuantReLU, ``Sigmoid``, linear.

    The smallest model with two partitions and software between them (for the C++ simulation in CI).
    """
    e = Exporter(seed)
    x = e.quant("x", np.float32(1 / 255), 8, signed=False)
    x = e.relu_quant(e.bn(e.linear(x, features, hidden, 4, bias=False), hidden, features), hidden, 4)
    x = e.quant(e.op("Sigmoid", [x]), np.float32(1 / 15), 4, signed=False)  # software between the partitions
    x = e.relu_quant(e.bn(e.linear(x, hidden, hidden, 4, bias=False), hidden, hidden), hidden, 4)
    y = e.linear(x, hidden, classes, 4, bias=False)
    y = e.op("Add", [e.op("Mul", [y, e.const(e.rng.uniform(0.5, 1.5, classes).astype(np.float32))]),
                     e.const(e.rng.normal(0, 0.1, classes).astype(np.float32))])  # fmt: skip
    return e.model("x", [1, features], y, classes, "two_partition_mlp")
