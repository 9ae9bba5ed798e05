"""C++ simulation of CNV-W2A2 (issue 16, acceptance 3): compiled cold in bounded time, bit-exact with ``execute``.

Before the parameter files (weights compiled in as ROM initialisers) the cold
compile of this partition took 386 s of CPU on the 2-core machine; it is now
about 16 s. The check uses CPU seconds (g++ and all workers), which the load
of other processes does not inflate; ``benchmarks/bench_flow_scale.py`` prints
wall and CPU time next to the compiled-in reference.
"""

from __future__ import annotations

import resource
from pathlib import Path

import numpy as np
import pytest
import scale_graphs as sg

import qnncc
from qnncc.codegen.hls import build_partition_sim, hw_partition
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.flow.build import BuildConfig, build


def cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@pytest.mark.slow
def test_cnv_w2a2_cppsim_compiles_cold_in_bounded_cpu_time_and_is_bit_exact(tmp_path: Path) -> None:
    onnx_path = tmp_path / "cnv_w2a2.onnx"
    sg.cnv(2, 2).save(onnx_path)
    config = BuildConfig(
        output_dir=tmp_path / "build", board="Pynq-Z1", input_scale="1/255", fifo_sizing="off", to_step="hls"
    )
    build(onnx_path, config)
    child = hw_partition(ModelWrapper(str(tmp_path / "build" / "intermediate_models" / "dataflow_partition.onnx")))
    start = cpu_seconds()
    sim = build_partition_sim(child, cache=tmp_path / "cache")  # an empty cache: everything compiles
    cpu = cpu_seconds() - start
    assert sim.compiled_units >= 30 and sim.param_dir is not None
    assert cpu < 60, f"cold compile took {cpu:.0f} CPU seconds (386 s with compiled-in weights)"
    shape = child.get_tensor_shape(child.graph.input[0].name)
    assert shape is not None
    x = np.random.default_rng(16).integers(0, 256, [4, *shape[1:]]).astype(np.float32)
    (got,) = sim.run([x.reshape(4, -1)])
    expected = next(iter(qnncc.execute(child, {child.graph.input[0].name: x}).values()))
    np.testing.assert_array_equal(got.reshape(-1), expected.reshape(-1))
