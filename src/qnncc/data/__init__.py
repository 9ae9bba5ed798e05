"""Packaged data: the embedded demo model TFC-W1A1 and its sample inputs.

TFC-W1A1 is a binarized 4-layer MLP for MNIST from finn-plus-tests 1.6.0
(BSD-3-Clause, Xilinx/AMD; see ``SOURCES.md`` beside this file).
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

DEMO_MODEL = "tfc_w1a1.onnx"


def _path(name: str) -> Path:
    return Path(str(resources.files(__name__).joinpath(name)))


def demo_model_path() -> Path:
    """Path of the packaged TFC-W1A1 model (input ``global_in`` [1,1,28,28], raw pixels 0..255)."""
    return _path(DEMO_MODEL)


def demo_inputs() -> tuple[np.ndarray, np.ndarray]:
    """MNIST test images 0..3 as float32 ``[4, 1, 28, 28]`` (0..255) and their expected classes ``[4]``."""
    return np.load(_path("tfc_w1a1_input.npy")), np.load(_path("tfc_w1a1_expected_output.npy"))


def demo_folding_config() -> dict[str, Any]:
    """FINN folding configuration shipped with TFC-W1A1 (PE/SIMD per layer)."""
    return dict(json.loads(_path("tfc_w1a1_folding_config.json").read_text()))
