"""C++ simulation through qnncc.jobs: per-layer compiles on a Dask LocalCluster and simulation shards.

A two-layer MVAU partition is compiled with its units as jobs of a Dask
executor (fresh cache) and checked bit for bit against qnncc's execution;
sharded simulation equals one run; a worker without the binary (another
machine) writes it from the shipped bytes; a g++ error names its unit.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hw_graphs import hw_graph_model
from onnx import helper

import qnncc
from qnncc.codegen.hls.compile_cache import compile_all
from qnncc.codegen.hls.cppsim import build_partition_sim, run_sharded, simulate_job
from qnncc.codegen.render import CodegenError
from qnncc.hw.layers import HW_DOMAIN
from qnncc.jobs import DaskExecutor, Job, JobEvent, JobResult, LocalExecutor


class Recording(DaskExecutor):
    """A Dask executor that remembers the jobs it ran."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ran: list[JobResult] = []

    def run(self, jobs: Any, on_event: Any = None, cache: Any = True) -> list[JobResult]:
        results = super().run(jobs, on_event, cache)
        self.ran += results
        return results


def two_layer_model() -> qnncc.ModelWrapper:
    """UINT2 [1, 8] -> MVAU (INT2 weights, thresholds to UINT2) -> MVAU (accumulator, INT32) [1, 4]."""
    rng = np.random.default_rng(7)
    w0 = rng.integers(-2, 2, size=(8, 6)).astype(np.float32)
    t0 = np.sort(rng.integers(-6, 6, size=(6, 3)), axis=1).astype(np.float32)
    w1 = rng.integers(-2, 2, size=(6, 4)).astype(np.float32)
    common: dict[str, Any] = {"domain": HW_DOMAIN, "weightDataType": "INT2", "numInputVectors": [1]}
    n0 = helper.make_node(
        "MVAU", ["x", "w0", "t0"], ["h"], name="MVAU_0", MW=8, MH=6, SIMD=4, PE=3,
        inputDataType="UINT2", outputDataType="UINT2", ActVal=0, **common,
    )  # fmt: skip
    n1 = helper.make_node(
        "MVAU", ["h", "w1"], ["y"], name="MVAU_1", MW=6, MH=4, SIMD=3, PE=2,
        inputDataType="UINT2", outputDataType="INT32", noActivation=1, **common,
    )  # fmt: skip
    model = hw_graph_model([n0, n1], {"x": [1, 8]}, ["y"], {"w0": w0, "t0": t0, "w1": w1})
    for name, dt in {"x": "UINT2", "w0": "INT2", "w1": "INT2", "h": "UINT2", "y": "INT32"}.items():
        model.set_tensor_datatype(name, dt)
    model.set_tensor_shape("h", [1, 6])
    model.set_tensor_shape("y", [1, 4])
    return model


@pytest.fixture(scope="module")
def compiled(dask_cluster: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Recording, Path]:
    cache = tmp_path_factory.mktemp("cppsim-cache")
    executor = Recording(dask_cluster.scheduler_address)
    sim = build_partition_sim(two_layer_model(), cache=cache, executor=executor)
    yield sim, executor, cache
    executor.close()


def test_per_layer_compiles_run_on_the_cluster(compiled: tuple[Any, Recording, Path]) -> None:
    sim, executor, _ = compiled
    names = sorted(r.name for r in executor.ran)
    units = ["qnncc_partition.cpp", "qnncc_partition_main.cpp", "top_MVAU_0.cpp", "top_MVAU_1.cpp"]
    assert names == [f"g++ {u}" for u in units]
    assert all(r.ok for r in executor.ran) and sim.compiled_units == 4
    x = np.random.default_rng(1).integers(0, 4, size=(40, 8)).astype(np.float32)
    expected = qnncc.execute(two_layer_model(), {"x": x})["y"]
    np.testing.assert_array_equal(sim.run([x])[0], expected.reshape(40, 4))


def test_cached_units_are_not_compiled_again(compiled: tuple[Any, Recording, Path]) -> None:
    _, executor, cache = compiled
    before = len(executor.ran)
    again = build_partition_sim(two_layer_model(), cache=cache, executor=executor)
    assert again.compiled_units == 0 and len(executor.ran) == before


def test_simulation_shards_equal_one_run(compiled: tuple[Any, Recording, Path]) -> None:
    sim, executor, _ = compiled
    x = np.random.default_rng(2).integers(0, 4, size=(23, 8)).astype(np.float32)
    whole = sim.run([x])[0]
    events: list[JobEvent] = []
    with LocalExecutor(2) as local:
        np.testing.assert_array_equal(run_sharded(sim, [x], local, 3)[0], whole)
        local.run([Job(simulate_job, (sim, b"", [x[:2]]))], events.append, cache=False)
    np.testing.assert_array_equal(run_sharded(sim, [x], executor, 2)[0], whole)
    assert [e.kind for e in events] == ["done"]


def test_worker_without_the_binary_writes_it(
    compiled: tuple[Any, Recording, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim, _, _ = compiled
    monkeypatch.setenv("QNNCC_CACHE_DIR", str(tmp_path / "remote"))
    elsewhere = dataclasses.replace(sim, binary=tmp_path / "not-here" / sim.binary.name)
    x = np.random.default_rng(3).integers(0, 4, size=(5, 8)).astype(np.float32)
    got = simulate_job(elsewhere, sim.binary.read_bytes(), [x])[0]
    np.testing.assert_array_equal(got, sim.run([x])[0])
    assert (tmp_path / "remote" / "bin" / sim.binary.name).is_file()


def test_a_failing_unit_is_named(compiled: tuple[Any, Recording, Path]) -> None:
    _, _, cache = compiled
    units = [({"good.cpp": "int good_one() { return 1; }\n"}, "good.cpp"), ({"bad.cpp": "int x = ;\n"}, "bad.cpp")]
    with LocalExecutor(2) as local, pytest.raises(CodegenError, match=r"g\+\+ bad\.cpp: g\+\+ failed on bad\.cpp"):
        compile_all(units, cache, local)
