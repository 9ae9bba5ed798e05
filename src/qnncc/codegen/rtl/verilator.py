"""RTL simulation with Verilator: a generated C++ test bench drives a layer or a stitched partition.

The test bench (``rtl_tb.cpp.j2``) streams packed words from files into the
design's AXI-Stream inputs and collects its outputs, with optional random
back-pressure (input TVALID and output TREADY each high with a given
probability), and reports the cycle of the first input and output word and of
the last word of every output frame. Builds are cached by the SHA-256 of the
Verilog, the test bench, the Verilator version and the flags under
``rtl_cache_dir()/verilator``; ROM files are read at run time, so a layer
with new weights but the same shape reuses its build.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qnncc.codegen.hls.layer_code import Port
from qnncc.core.datatype import DataType
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.custom_op import get_custom_op
from qnncc.hw.layers.base import HWLayer

from ..packing import pack_words, unpack_words
from ..render import CodegenError, render
from .generate import library_files, partition_layers, partition_top, render_rtl_layer, rtl_layer
from .tools import RtlToolError, rtl_cache_dir, verilator_env, verilator_root

__all__ = ["RtlRun", "RtlSim", "build_layer_rtlsim", "build_partition_rtlsim"]

VERILATOR_FLAGS = (
    "--cc",
    "--exe",
    "--build",
    "-j",
    "1",
    "-Wno-fatal",
    "-Wno-lint",
    "-Wno-style",
    "--x-assign",
    "fast",
    "--x-initial",
    "fast",
    "-CFLAGS",
    "-O1",
    # the wheel's verilated.mk leaves the precompiled-header include flag empty (g++ then fails on big designs)
    "-MAKEFLAGS",
    "CFG_CXXFLAGS_PCH_I=-include",
)


@dataclass(frozen=True)
class RtlRun:
    """Outputs and timing of one RTL simulation.

    Attributes:
        outputs: one array ``[N, *shape]`` per output stream (values of its datatype).
        cycles: clock cycles simulated (after reset).
        first_in: cycle of the first input handshake.
        first_out: cycle of the first output handshake.
        frame_end: cycle of the last word of each frame on output 0.
    """

    outputs: list[np.ndarray]
    cycles: int
    first_in: int
    first_out: int
    frame_end: list[int]

    @property
    def latency(self) -> int:
        """First-output latency: cycles from the first input word to the first output word."""
        return self.first_out - self.first_in

    @property
    def cycles_per_frame(self) -> int:
        """Steady-state cycles per frame: cycles between the last output words of the last two frames.

        (The definition of the cycle-level simulator's ``interval_cycles``.) With
        one frame: cycles from the first input word to the frame's last output word.
        """
        if len(self.frame_end) > 1:
            return self.frame_end[-1] - self.frame_end[-2]
        return self.frame_end[0] - self.first_in + 1


@dataclass
class RtlSim:
    """A Verilator-compiled layer or partition with its test bench.

    Attributes:
        binary: the simulator executable.
        inputs: input stream ports; outputs: output stream ports.
        dtypes: element datatype per port name.
        output_shapes: per-frame shape of each output (no batch axis).
        roms: ROM files the design reads at start-up (file name -> text).
        build_seconds: wall-clock time of the Verilator build (0 when cached).
    """

    binary: Path
    inputs: list[Port]
    outputs: list[Port]
    dtypes: dict[str, DataType]
    output_shapes: list[tuple[int, ...]]
    roms: dict[str, str]
    build_seconds: float

    def run(
        self,
        inputs: Sequence[np.ndarray],
        seed: int = 0,
        p_valid: int = 100,
        p_ready: int = 100,
        max_idle: int = 100_000,
    ) -> RtlRun:
        """Simulate ``N`` frames.

        Args:
            inputs: one array ``[N, ...]`` per input stream: values of its datatype in stream (C) order.
            seed: seed of the random back-pressure.
            p_valid: percent of cycles an idle input raises TVALID (100: always).
            p_ready: percent of cycles each output raises TREADY (100: always).
            max_idle: cycles without any handshake that count as a deadlock.

        Raises:
            CodegenError: on a shape mismatch, values outside the datatype, a
                deadlock or a failing simulation (its stderr is quoted).
        """
        if len(inputs) != len(self.inputs):
            raise CodegenError(f"RTL simulation expects {len(self.inputs)} inputs, got {len(inputs)}")
        with tempfile.TemporaryDirectory(prefix="qnncc-rtlsim-") as tmp:
            work = Path(tmp)
            for name, text in self.roms.items():
                (work / name).write_text(text)
            frames = None
            args = []
            for port, x in zip(self.inputs, inputs, strict=True):
                arr = np.asarray(x)
                n = arr.shape[0] if arr.ndim else 0
                if arr.ndim == 0 or arr.size != n * port.frame_elems:
                    raise CodegenError(
                        f"RTL input {port.name} ({port.tensor!r}): shape {list(arr.shape)} does not hold "
                        f"N frames of {port.frame_elems} elements"
                    )
                frames = n if frames is None else frames
                packed = _packed(arr.reshape(n * port.words, port.elems), self.dtypes[port.name], port)
                (work / f"{port.name}.bin").write_bytes(packed.tobytes())
                args.append(f"{port.name}.bin")
            assert frames is not None
            args += [f"{p.name}.out.bin" for p in self.outputs]
            cmd = [str(self.binary), str(frames), str(seed), str(p_valid), str(p_ready), str(max_idle), *args]
            proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True)
            if proc.returncode != 0:
                tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
                raise CodegenError(f"RTL simulation {self.binary.parent.name} failed (exit {proc.returncode}): {tail}")
            stats = json.loads(proc.stdout.strip().splitlines()[-1])
            outputs = []
            for port, shape in zip(self.outputs, self.output_shapes, strict=True):
                raw = np.frombuffer((work / f"{port.name}.out.bin").read_bytes(), dtype=np.uint8)
                words = raw.reshape(frames * port.words, port.width // 8)
                values = unpack_words(words, self.dtypes[port.name], port.elems)
                outputs.append(values.reshape(frames, *shape))
        return RtlRun(outputs, stats["cycles"], stats["first_in"], stats["first_out"], stats["frame_end"])


def _packed(values: np.ndarray, dt: DataType, port: Port) -> np.ndarray:
    """Words ``[words, elems]`` packed into ``[words, TDATA bytes]`` (zero high bytes when TDATA is wider)."""
    packed = pack_words(values, dt)
    nbytes = port.width // 8
    if packed.shape[1] < nbytes:
        packed = np.concatenate([packed, np.zeros((packed.shape[0], nbytes - packed.shape[1]), np.uint8)], axis=1)
    return packed


def _verilator_version() -> str:
    root = verilator_root()
    proc = subprocess.run(
        [str(root / "bin" / "verilator"), "--version"], capture_output=True, text=True, env=verilator_env()
    )
    if proc.returncode != 0:
        raise RtlToolError(f"verilator --version failed: {proc.stderr.strip()[-300:]}")
    return proc.stdout.strip()


def _build(files: Mapping[str, str], top: str, ports: list[Port], cache: Path | None) -> tuple[Path, float]:
    """Verilate ``files`` with a test bench for ``top``; returns the binary and the build time (0 if cached).

    Raises:
        RtlToolError: if Verilator is missing or the build fails (first error lines quoted).
    """
    tb = render(
        "rtl_tb.cpp.j2",
        {
            "top": top,
            "inputs": [p for p in ports if p.direction == "in"],
            "outputs": [p for p in ports if p.direction == "out"],
        },
    )
    digest = hashlib.sha256(_verilator_version().encode() + " ".join(VERILATOR_FLAGS).encode() + top.encode())
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name].encode() + b"\0")
    digest.update(tb.encode())
    folder = (cache or rtl_cache_dir()) / "verilator" / digest.hexdigest()[:32]
    binary = folder / "Vsim"
    if binary.exists():
        return binary, 0.0
    start = time.perf_counter()
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="build-", dir=folder.parent))
    try:
        for name, text in files.items():
            (tmp / name).write_text(text)
        (tmp / "tb.cpp").write_text(tb)
        vfiles = sorted(n for n in files if n.endswith(".v"))
        cmd = [str(verilator_root() / "bin" / "verilator"), *VERILATOR_FLAGS, "--top-module", top]
        cmd += ["--Mdir", "obj", "-o", "../Vsim", *vfiles, "tb.cpp"]
        proc = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, env=verilator_env())
        if proc.returncode != 0 or not (tmp / "Vsim").exists():
            lines = [line for line in (proc.stdout + proc.stderr).splitlines() if "Error" in line or "error" in line]
            raise RtlToolError(f"Verilator build of {top} failed: {' | '.join(lines[:3]) or proc.stderr[-500:]}")
        shutil.rmtree(tmp / "obj", ignore_errors=True)
        try:
            os.rename(tmp, folder)
        except OSError:  # another process built the same design first
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return binary, time.perf_counter() - start


def _frame_shape(model: ModelWrapper, tensor: str, port: Port) -> tuple[int, ...]:
    shape = model.get_tensor_shape(tensor)
    if shape is None:
        raise CodegenError(f"tensor {tensor!r} has no shape")
    frame = tuple(int(d) for d in shape[1:])
    if math.prod(frame) != port.frame_elems:
        raise CodegenError(f"tensor {tensor!r}: shape {list(frame)} != {port.frame_elems} stream elements")
    return frame


def build_layer_rtlsim(model: ModelWrapper, node_name: str, cache: Path | None = None) -> RtlSim:
    """Verilate one HW node (its wrapper as the top) with a test bench.

    Raises:
        CodegenError: if the node cannot be generated; RtlToolError if Verilator fails.
    """
    node = model.get_node_by_name(node_name)
    if node is None:
        raise CodegenError(f"no node named {node_name!r}")
    rtl = rtl_layer(model, node)
    texts = render_rtl_layer(rtl)
    files = {**library_files(), **{k: v for k, v in texts.items() if k.endswith(".v")}}
    binary, seconds = _build(files, rtl.name, rtl.ports, cache)
    layer = get_custom_op(node)
    assert isinstance(layer, HWLayer)
    ins, outs = rtl.inputs, rtl.outputs
    shapes = [tuple(int(d) for d in layer.normal_output_shape(i)[1:]) for i in range(len(outs))]
    return RtlSim(binary, ins, outs, rtl.dtypes, shapes, rtl.roms, seconds)


def build_partition_rtlsim(model: ModelWrapper, cache: Path | None = None) -> RtlSim:
    """Verilate a whole stitched partition with a test bench.

    Args:
        model: a HW partition model or a model with one StreamingDataflowPartition node.
        cache: build cache folder (default ``rtl_cache_dir()``).

    Raises:
        CodegenError: if a layer cannot be generated or streams do not match; RtlToolError if Verilator fails.
    """
    child, layers = partition_layers(model)
    files = dict(library_files())
    roms: dict[str, str] = {}
    for rtl in layers:
        for name, text in render_rtl_layer(rtl).items():
            (files if name.endswith(".v") else roms)[name] = text
    text, ports, dtypes = partition_top(child, layers)
    files["qnncc_partition.v"] = text
    binary, seconds = _build(files, "qnncc_partition", ports, cache)
    ins = [p for p in ports if p.direction == "in"]
    outs = [p for p in ports if p.direction == "out"]
    shapes = [_frame_shape(child, p.tensor, p) for p in outs]
    return RtlSim(binary, ins, outs, dtypes, shapes, roms, seconds)
