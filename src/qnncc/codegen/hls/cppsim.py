"""C++ simulation (cppsim): compile generated HLS C++ with g++ and run it on numpy data.

A layer or a whole partition is compiled together with a generated test
bench (``cppsim_main.cpp.j2``) that reads int64 ``.npy`` inputs, packs each
frame into stream words, calls the top function once per frame and unpacks
the outputs. Object files are cached by the SHA-256 of their sources, the
library headers, the compiler version and the flags, so an unchanged layer is
never recompiled (``$QNNCC_CACHE_DIR`` or ``~/.cache/qnncc/cppsim``). The
translation units still to compile run as :mod:`qnncc.jobs` jobs (a local
process pool, or the Dask cluster named by ``$QNNCC_SCHEDULER``); the
toolchain, the precompiled header and the object cache are
:mod:`qnncc.codegen.hls.compile_cache`, this module links and runs.

``synthesis_path=True`` compiles with ``-DQNNCC_SYNTHESIS_PATH``: every C
simulation fast path of the library (``QNNCC_CSIM_FAST`` in ``types.hpp``,
normally on when ``__SYNTHESIS__`` is not defined) is off, so the code Vitis
HLS synthesises is what runs. The g++ stand-ins for ``hls_stream.h`` and
``ap_axi_sdata.h`` come from :func:`~qnncc.codegen.render.csim_include_dir`,
a folder only this module puts on the include path.

Weights, thresholds and channel parameters are not compiled in: each layer's
parameter headers are replaced by twins that read the values at run time
from ``$QNNCC_PARAM_DIR`` (:mod:`~qnncc.codegen.hls.param_files`), so the
compile time does not depend on the weight count and a layer whose name,
shapes and types are unchanged hits the object cache when only its weights
change (retraining, another seed, a sweep). The synthesis
code path (``synthesis_path=True``) compiles the ROM initialisers Vitis HLS
reads, so they are checked too.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx

from qnncc.codegen.hls.compile_cache import (
    CXXFLAGS,
    SYNTHESIS_PATH_DEFINE,
    Toolchain,
    compile_all,
    compile_job,
    object_path,
    precompiled_header,
    unit_hash,
)
from qnncc.codegen.hls.layer_code import LayerCode, Port
from qnncc.codegen.hls.param_files import read_param_files, store_param_files
from qnncc.codegen.hls.project import (
    hw_partition,
    layer_code,
    partition_source,
    render_layer,
    render_layer_sim,
)
from qnncc.codegen.render import CodegenError, render
from qnncc.core.cache import cache_dir
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.custom_op import get_custom_op
from qnncc.custom_op.partition import is_stream_pass_through
from qnncc.hw.layers.base import HWLayer
from qnncc.jobs import Executor, Job

__all__ = [
    "CXXFLAGS",
    "SYNTHESIS_PATH_DEFINE",
    "CppSim",
    "build_layer_sim",
    "build_partition_sim",
    "cache_dir",
    "compile_job",
    "run_sharded",
    "simulate_job",
]


@dataclass
class CppSim:
    """A compiled C++ simulation of a layer or a partition.

    Attributes:
        binary: the executable.
        inputs: input stream ports (element datatype, words per frame, ...).
        outputs: output stream ports.
        output_shapes: per-frame shape of each output (without the batch axis).
        compile_seconds: wall-clock time spent compiling (0 when fully cached).
        compiled_units: translation units compiled (the rest came from the cache).
        param_dir: folder of the parameter files the binary reads at run time
            (``$QNNCC_PARAM_DIR``); None when every table is compiled in.
    """

    binary: Path
    inputs: list[Port]
    outputs: list[Port]
    output_shapes: list[tuple[int, ...]]
    compile_seconds: float
    compiled_units: int
    param_dir: Path | None = None

    def run(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Simulate ``N`` frames.

        Args:
            inputs: one array ``[N, ...]`` per input stream, integer values of
                the stream's datatype in stream (C) order.

        Returns:
            One int64 array ``[N, *output_shape]`` per output stream.

        Raises:
            CodegenError: on a shape mismatch, non-integer input, or a failing
                simulation (its stderr is quoted).
        """
        if len(inputs) != len(self.inputs):
            raise CodegenError(f"cppsim expects {len(self.inputs)} inputs, got {len(inputs)}")
        with tempfile.TemporaryDirectory(prefix="qnncc-cppsim-") as tmp:
            in_paths, out_paths = [], []
            frames = None
            for port, x in zip(self.inputs, inputs, strict=True):
                arr = np.asarray(x, dtype=np.float64)
                n = arr.shape[0] if arr.ndim else 0
                if arr.ndim == 0 or arr.size != n * port.frame_elems:
                    raise CodegenError(
                        f"cppsim input {port.name} ({port.tensor!r}): shape {list(arr.shape)} does not hold "
                        f"N frames of {port.frame_elems} elements"
                    )
                if not (np.isfinite(arr).all() and (arr == np.round(arr)).all()):
                    raise CodegenError(f"cppsim input {port.name} ({port.tensor!r}): values must be integers")
                frames = n if frames is None else frames
                path = Path(tmp) / f"{port.name}.npy"
                np.save(path, arr.reshape(n, -1).astype(np.int64))
                in_paths.append(str(path))
            out_paths = [str(Path(tmp) / f"{p.name}.npy") for p in self.outputs]
            env = None if self.param_dir is None else {**os.environ, "QNNCC_PARAM_DIR": str(self.param_dir)}
            proc = subprocess.run([str(self.binary), *in_paths, *out_paths], capture_output=True, text=True, env=env)
            if proc.returncode != 0:
                tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
                raise CodegenError(f"cppsim {self.binary.name} failed (exit {proc.returncode}): {tail}")
            assert frames is not None
            return [np.load(p).reshape(frames, *shape) for p, shape in zip(out_paths, self.output_shapes, strict=True)]


def simulate_job(
    sim: CppSim, binary: bytes, inputs: Sequence[np.ndarray], params: Mapping[str, bytes] | None = None
) -> list[np.ndarray]:
    """One shard of frames simulated by a worker: :meth:`CppSim.run` of ``inputs``.

    A worker on another machine has no ``sim.binary`` (nor ``sim.param_dir``);
    it writes ``binary`` (the executable's bytes) and ``params`` (the parameter
    files) into its own cache folder first.

    Raises:
        CodegenError: as :meth:`CppSim.run`.
    """
    if not sim.binary.exists():
        local = cache_dir() / "bin" / sim.binary.name
        if not local.exists():
            local.parent.mkdir(parents=True, exist_ok=True)
            tmp = local.with_suffix(f".tmp{os.getpid()}")
            tmp.write_bytes(binary)
            tmp.chmod(0o755)
            os.replace(tmp, local)
        sim = dataclasses.replace(sim, binary=local)
    if sim.param_dir is not None and not sim.param_dir.is_dir():
        sim = dataclasses.replace(sim, param_dir=store_param_files(cache_dir() / "params", params or {}))
    return sim.run(inputs)


def run_sharded(sim: CppSim, inputs: Sequence[np.ndarray], executor: Executor, shards: int) -> list[np.ndarray]:
    """Simulate ``N`` frames split into ``shards`` jobs of ``executor`` (one :meth:`CppSim.run` for 1 shard).

    Args:
        sim: the compiled simulation.
        inputs: one array ``[N, ...]`` per input stream (as :meth:`CppSim.run`).
        executor: runs the shards.
        shards: number of jobs (at most ``N``).

    Returns:
        One int64 array ``[N, *output_shape]`` per output stream, frames in order.

    Raises:
        CodegenError: as :meth:`CppSim.run`, naming the failing shard.
    """
    frames = len(inputs[0]) if inputs else 0
    shards = max(1, min(shards, frames))
    if shards == 1:
        return sim.run(inputs)
    binary = sim.binary.read_bytes()
    params = read_param_files(sim.param_dir)
    edges = np.linspace(0, frames, shards + 1).astype(int)
    jobs = [
        Job(
            simulate_job,
            (sim, binary, [np.asarray(x)[a:b] for x in inputs], params),
            name=f"cppsim {sim.binary.name} frames {a}:{b}",
            cacheable=False,
        )
        for a, b in itertools.pairwise(edges.tolist())
    ]
    results = executor.run(jobs, cache=False)
    failed = next((r for r in results if not r.ok), None)
    if failed is not None:
        raise CodegenError(f"{failed.name}: {failed.error.removeprefix('CodegenError: ')}")
    return [np.concatenate([r.value[k] for r in results]) for k in range(len(sim.outputs))]


def build_layer_sim(
    model: ModelWrapper,
    node: onnx.NodeProto,
    cache: Path | None = None,
    executor: Executor | None = None,
    synthesis_path: bool = False,
    library: Path | None = None,
) -> CppSim:
    """Compile the C++ simulation of one HW node (top function + test bench).

    ``executor`` runs the compile (default: in this process, one unit).
    ``synthesis_path`` compiles the synthesis code path (fast paths off, see the
    module docstring); ``library`` is the folder of the ``qnncc/*.hpp`` library
    (default :func:`~qnncc.codegen.render.include_dir`).

    Raises:
        CodegenError: if the node cannot be generated or g++ fails.
    """
    code = layer_code(model, node)
    layer = get_custom_op(node)
    assert isinstance(layer, HWLayer)
    shapes = [tuple(layer.normal_output_shape(i)[1:]) for i in range(len(node.output))]
    tc = Toolchain.of(synthesis_path, library)
    files, data = (render_layer(code), dict(code.feeds)) if synthesis_path else render_layer_sim(code)
    return _build({}, code.name, code.ports, shapes, cache, files, executor, tc, data)


def build_partition_sim(
    model: ModelWrapper,
    cache: Path | None = None,
    executor: Executor | None = None,
    synthesis_path: bool = False,
    library: Path | None = None,
) -> CppSim:
    """Compile the C++ simulation of a whole partition (every layer top chained by streams).

    Each layer is one translation unit; the units not in the cache are
    compiled as jobs of ``executor`` (in parallel).

    Args:
        model: a HW partition model or a model with one StreamingDataflowPartition node.
        cache: cache folder (default :func:`cache_dir`).
        executor: runs the per-layer compiles (default: :func:`qnncc.jobs.get_executor`,
            the local process pool or ``$QNNCC_SCHEDULER``'s cluster).
        synthesis_path: compile the synthesis code path (fast paths off, see the module docstring).
        library: folder of the ``qnncc/*.hpp`` library (default :func:`~qnncc.codegen.render.include_dir`).

    Raises:
        CodegenError: if a layer cannot be generated, streams do not match, or g++ fails.
    """
    child = hw_partition(model)
    codes: list[LayerCode] = [layer_code(child, n) for n in child.topological_sort() if not is_stream_pass_through(n)]
    name = "qnncc_partition"
    text, ports = partition_source(child, codes, name)
    units: dict[str, dict[str, str]] = {}
    data: dict[str, bytes] = {}
    for c in codes:
        if synthesis_path:
            units[c.name] = render_layer(c)
            data.update(c.feeds)
        else:
            units[c.name], files = render_layer_sim(c)
            data.update(files)
    units[name] = {f"{name}.cpp": text}
    shapes = []
    for out in child.graph.output:
        shape = child.get_tensor_shape(out.name)
        if shape is None:
            raise CodegenError(f"partition output {out.name!r} has no shape")
        shapes.append(tuple(int(d) for d in shape[1:]))
    tc = Toolchain.of(synthesis_path, library)
    return _build(units, name, ports, shapes, cache, None, executor, tc, data)


def _build(
    units: Mapping[str, Mapping[str, str]],
    dut: str,
    ports: list[Port],
    shapes: list[tuple[int, ...]],
    cache: Path | None,
    bench_files: Mapping[str, str] | None = None,
    executor: Executor | None = None,
    tc: Toolchain | None = None,
    params: Mapping[str, bytes] | None = None,
) -> CppSim:
    """Compile ``units`` (one object each) and the test bench, link, and describe the binary.

    ``bench_files`` (a layer's top and headers) are compiled in the test
    bench's own translation unit, which includes the top: one compile per layer.
    ``params`` (parameter files read at run time) go to a folder of the cache
    named by their hash.
    """
    cache = cache or cache_dir()
    tc = tc or Toolchain.of(False, None)
    inputs = [p for p in ports if p.direction == "in" and not p.feed]
    feeds = [p for p in ports if p.direction == "in" and p.feed]
    outputs = [p for p in ports if p.direction == "out"]
    for port, shape in zip(outputs, shapes, strict=True):
        if math.prod(shape) != port.frame_elems:
            raise CodegenError(f"output {port.tensor!r}: shape {list(shape)} != {port.frame_elems} stream elements")
    main = render(
        "cppsim_main.cpp.j2", {"dut": dut, "ports": ports, "inputs": inputs, "feeds": feeds, "outputs": outputs}
    )
    bench = dict(bench_files or {})
    if bench_files:
        top = next(n for n in bench_files if n.endswith(".cpp"))
        main = f'#include "{top}"\n{main}'
    bench[f"{dut}_main.cpp"] = main
    all_units = [(dict(files), next(n for n in files if n.endswith(".cpp"))) for files in units.values()]
    all_units.append((bench, f"{dut}_main.cpp"))
    start = time.perf_counter()
    precompiled_header(cache, tc)
    fresh = compile_all(all_units, cache, executor, tc)
    objects = [object_path(cache, files, tc) for files, _ in all_units]
    binary = cache / "bin" / f"{unit_hash({o.name: '' for o in objects}, tc)}_{dut}"
    if not binary.exists():
        binary.parent.mkdir(parents=True, exist_ok=True)
        tmp_bin = binary.with_suffix(f".tmp{os.getpid()}")
        proc = subprocess.run(["g++", *[str(o) for o in objects], "-o", str(tmp_bin)], capture_output=True, text=True)
        if proc.returncode != 0:
            raise CodegenError(f"linking the {dut} simulation failed: {proc.stderr[-500:]}")
        os.replace(tmp_bin, binary)
    compiled = sum(fresh)
    seconds = time.perf_counter() - start if compiled else 0.0
    param_dir = store_param_files(cache / "params", params or {})
    return CppSim(binary, inputs, outputs, shapes, seconds, compiled, param_dir)
