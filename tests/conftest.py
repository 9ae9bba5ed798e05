"""Shared fixtures: golden models and the MNIST test set (copied into tests/data)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import qnncc
from qnncc.data import demo_model_path

DATA = Path(__file__).parent / "data"


@dataclass(frozen=True)
class Golden:
    """A golden model with its input convention and reference accuracy."""

    name: str
    path: Path
    input_scale: float  # input = raw pixels / input_scale
    accuracy: float  # top-1 on the 10,000 MNIST test images
    predict: Callable[[np.ndarray], np.ndarray]


def _argmax(out: np.ndarray) -> np.ndarray:
    return np.asarray(out.reshape(out.shape[0], -1).argmax(-1))


def _index(out: np.ndarray) -> np.ndarray:
    return np.asarray(out.reshape(-1))


GOLDEN = {
    "tfc_w1a1": Golden("tfc_w1a1", demo_model_path(), 1.0, 0.9296, _index),
    "lfc_w1a1": Golden("lfc_w1a1", DATA / "lfc_w1a1" / "LFCW1A1.onnx", 255.0, 0.9835, _argmax),
    "mnist_conv": Golden("mnist_conv", DATA / "mnist_conv" / "model.onnx", 1.0, 0.9891, _argmax),
}


@pytest.fixture(scope="session")
def mnist() -> tuple[np.ndarray, np.ndarray]:
    """MNIST test set: images float32 [10000, 1, 28, 28] (0..255), labels [10000]."""
    data = np.load(DATA / "mnist_test.npz")
    return data["images"].astype(np.float32)[:, None], data["labels"].astype(np.int64)


@pytest.fixture(scope="session")
def golden_models() -> dict[str, qnncc.ModelWrapper]:
    """The three golden models, loaded once per session (do not mutate; copy first)."""
    return {name: qnncc.load(g.path) for name, g in GOLDEN.items()}


@pytest.fixture(scope="session")
def dask_cluster() -> Iterator[Any]:
    """A Dask ``distributed.LocalCluster`` of 2 single-threaded worker processes on 127.0.0.1 (tests/jobs)."""
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=":0",
        silence_logs=logging.CRITICAL,
    )
    try:
        yield cluster
    finally:
        cluster.close()
