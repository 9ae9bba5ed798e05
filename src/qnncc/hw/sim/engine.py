"""Cycle-level simulation of a :class:`~.network.Network`: compiled C++ engine, Python reference, results.

Model (one clock cycle at a time, every layer at II=1):

* A layer runs its per-frame :class:`~.patterns.Program` once per frame.
  Its pipeline is a shift register of ``latency`` stages: an *advance*
  issues the next iteration (or a bubble once the frame's iterations are
  all issued) and retires the iteration issued ``latency`` advances before,
  whose writes then happen. The pipeline stalls as a whole (Vitis HLS's
  default stall pipeline): it advances in a cycle only if every stream the
  issued iteration reads holds a word and every stream the retiring
  iteration writes has space. After the last iteration of a frame the
  pipeline drains before the next frame starts (the template function
  returns once per frame).
* A stream is a bounded FIFO counter. Decisions in a cycle use the counts at
  the start of the cycle, so a word written in cycle ``t`` is readable at
  ``t + 1``, space freed in ``t`` is usable at ``t + 1``, and a full FIFO
  cannot take a word in the cycle it gives one (as an ``hls::stream``). A
  depth of 2 sustains one word per cycle.
* Occupancy of a stream is recorded as ``count + 1`` at each write (the
  word being written plus those not yet read at the start of the cycle):
  a depth equal to the maximum occupancy seen with larger FIFOs replays the
  same schedule exactly.
* Deadlock: a cycle in which no layer advances while work remains (and no
  source waits for a later start time); every blocked layer is reported
  with the stream it waits on.

Sources may be *throttled*: frame ``f`` of a layer does not start before
cycle ``f * period``. The engine is a small C++ file compiled with ``g++``
into a shared library on first use and cached by the hash of its source and
flags (as the C++ simulation in ``qnncc.codegen.hls.cppsim``); :func:`simulate` falls back to the
(slow) Python reference implementation when no compiler is available.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import shutil
import subprocess
import tempfile
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from qnncc.core.cache import cache_dir

from .network import Network
from .patterns import SimulationError
from .results import Deadlock, LayerStats, SimResult

__all__ = ["engine_available", "simulate"]

_OCCUPIED = 1 << 62  # ring entry flag: an iteration (not a bubble) is in this pipeline stage


_CXXFLAGS = ("-O2", "-std=c++14", "-shared", "-fPIC", "-w")

#: The engine's C++ source (package data next to this module).
_SOURCE = (Path(__file__).with_name("cyclesim_engine.cpp")).read_text()


# ---------------------------------------------------------------- compiled engine
def _cache_dir() -> Path:
    return cache_dir() / "cyclesim"


def _compiler() -> str | None:
    return shutil.which(os.environ.get("CXX", "g++"))


@functools.lru_cache(maxsize=1)
def _engine() -> ctypes.CDLL | None:
    """The compiled engine (built once, cached on disk by content hash), or None without a compiler."""
    cxx = _compiler()
    if cxx is None:
        return None
    key = hashlib.sha256("\0".join([_SOURCE, cxx, *_CXXFLAGS]).encode()).hexdigest()[:20]
    lib = _cache_dir() / f"cyclesim_{key}.so"
    if not lib.exists():
        lib.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=lib.parent) as tmp:
            src = Path(tmp) / "cyclesim.cpp"
            src.write_text(_SOURCE)
            out = Path(tmp) / lib.name
            proc = subprocess.run([cxx, *_CXXFLAGS, str(src), "-o", str(out)], capture_output=True, text=True)
            if proc.returncode != 0:
                raise SimulationError(f"compiling the cycle simulator failed:\n{proc.stderr[-2000:]}")
            os.replace(out, lib)  # atomic: concurrent builds leave one complete file
    dll = ctypes.CDLL(str(lib))
    dll.qnncc_cyclesim.restype = ctypes.c_int64
    return dll


@functools.lru_cache(maxsize=1)
def _warn_python_engine() -> None:
    warnings.warn("no C++ compiler found ($CXX or g++): the cycle simulator runs in slow pure Python", stacklevel=3)


def engine_available() -> bool:
    """Whether the compiled engine can be used (a C++ compiler is on the PATH or in ``$CXX``)."""
    return _compiler() is not None


# ---------------------------------------------------------------- running
@dataclass
class _Arrays:
    run_off: np.ndarray
    run_r: np.ndarray
    run_w: np.ndarray
    run_len: np.ndarray
    lat: np.ndarray
    in_off: np.ndarray
    in_stream: np.ndarray
    out_off: np.ndarray
    out_stream: np.ndarray


def _flatten(net: Network) -> _Arrays:
    progs = [layer.program for layer in net.layers]
    i64 = np.int64
    return _Arrays(
        run_off=np.concatenate([[0], np.cumsum([p.runs for p in progs])]).astype(i64),
        run_r=np.concatenate([p.rmask for p in progs]).astype(i64),
        run_w=np.concatenate([p.wmask for p in progs]).astype(i64),
        run_len=np.concatenate([p.length for p in progs]).astype(i64),
        lat=np.array([p.latency for p in progs], dtype=i64),
        in_off=np.concatenate([[0], np.cumsum([len(la.inputs) for la in net.layers])]).astype(i64),
        in_stream=np.array([s for la in net.layers for s in la.inputs], dtype=i64),
        out_off=np.concatenate([[0], np.cumsum([len(la.outputs) for la in net.layers])]).astype(i64),
        out_stream=np.array([s for la in net.layers for s in la.outputs], dtype=i64),
    )


def _ptr(a: np.ndarray) -> ctypes.c_void_p:
    return a.ctypes.data_as(ctypes.c_void_p)


def _run_cpp(
    dll: ctypes.CDLL,
    a: _Arrays,
    cap: np.ndarray,
    period: np.ndarray,
    spread: np.ndarray,
    frames: int,
    max_cycles: int,
) -> tuple[int, int, dict[str, np.ndarray]]:
    n_l, n_s = len(a.lat), len(cap)
    out = {
        "count": np.zeros(n_s, np.int64),
        "maxocc": np.zeros(n_s, np.int64),
        "frame_start": np.full(n_l * frames, -1, np.int64),
        "frame_end": np.full(n_l * frames, -1, np.int64),
        "stats": np.zeros(n_l * 4, np.int64),
        "state": np.zeros(n_l * 4, np.int64),
    }
    cycles = np.zeros(1, np.int64)
    status = dll.qnncc_cyclesim(
        ctypes.c_int64(n_l),
        ctypes.c_int64(n_s),
        ctypes.c_int64(frames),
        ctypes.c_int64(max_cycles),
        *(_ptr(x) for x in (a.run_off, a.run_r, a.run_w, a.run_len, a.lat, period, spread)),
        *(_ptr(x) for x in (a.in_off, a.in_stream, a.out_off, a.out_stream, cap)),
        *(_ptr(out[k]) for k in ("count", "maxocc", "frame_start", "frame_end", "stats", "state")),
        _ptr(cycles),
    )
    return int(status), int(cycles[0]), out


def _run_python(
    a: _Arrays, cap: np.ndarray, period: np.ndarray, spread: np.ndarray, frames: int, max_cycles: int
) -> tuple[int, int, dict[str, np.ndarray]]:
    """The engine's algorithm in plain Python (reference and fallback; about 10^5 layer-cycles/s)."""
    n_l, n_s = len(a.lat), len(cap)
    run_off, run_r, run_w, run_len = (x.tolist() for x in (a.run_off, a.run_r, a.run_w, a.run_len))
    lat, ins, outs = a.lat.tolist(), a.in_stream.tolist(), a.out_stream.tolist()
    in_off, out_off, capl, per = a.in_off.tolist(), a.out_off.tolist(), cap.tolist(), period.tolist()
    spr = spread.tolist()
    iters = [sum(run_len[run_off[la] : run_off[la + 1]]) for la in range(n_l)]
    count, maxocc = [0] * n_s, [0] * n_s
    fstart, fend = [-1] * (n_l * frames), [-1] * (n_l * frames)
    stats, state = [0] * (n_l * 4), [0] * (n_l * 4)
    f, r, it, pos, pending = [0] * n_l, list(run_off[:-1]), [0] * n_l, [0] * n_l, [0] * n_l
    rem = [run_len[run_off[la]] if run_off[la] < run_off[la + 1] else 0 for la in range(n_l)]
    rings = [[0] * lat[la] for la in range(n_l)]
    done = [run_off[la] == run_off[la + 1] for la in range(n_l)]
    for la in range(n_l):
        if done[la]:
            for k in range(frames):
                fstart[la * frames + k] = fend[la * frames + k] = 0
    rf, wf = [0] * n_l, [0] * n_l

    def bits(m: int) -> list[int]:
        return [k for k in range(m.bit_length()) if (m >> k) & 1]

    t, status = 0, 2
    while t < max_cycles:
        if all(done):
            status = 0
            break
        wake, active = None, []
        for la in range(n_l):
            if done[la]:
                continue
            bubble = r[la] == run_off[la + 1]
            if not bubble and per[la] > 0 and (it[la] == 0 or spr[la]):
                start = f[la] * per[la] + (it[la] * per[la] // iters[la] if spr[la] else 0)
                if t < start:
                    wake = start if wake is None else min(wake, start)
                    continue
            er = 0 if bubble else run_r[r[la]]
            ew = 0 if bubble else run_w[r[la]] | _OCCUPIED
            xw = (rings[la][pos[la]] if lat[la] > 0 else ew) & ~_OCCUPIED
            rf[la] = sum(1 << k for k in bits(er) if count[ins[in_off[la] + k]] == 0)
            wf[la] = sum(1 << k for k in bits(xw) if count[outs[out_off[la] + k]] >= capl[outs[out_off[la] + k]])
            if rf[la] or wf[la]:
                stats[4 * la + (1 if rf[la] else 2)] += 1
                continue
            active.append((la, er, ew, xw))
        if not active:
            if wake is not None:
                t = wake
                continue
            status = 1
            break
        for la, _, _, xw in active:
            for k in bits(xw):
                s = outs[out_off[la] + k]
                count[s] += 1
                maxocc[s] = max(maxocc[s], count[s])
        for la, er, ew, _ in active:
            for k in bits(er):
                count[ins[in_off[la] + k]] -= 1
            if lat[la] > 0:
                pending[la] += (ew != 0) - (rings[la][pos[la]] != 0)
                rings[la][pos[la]] = ew
                pos[la] = (pos[la] + 1) % lat[la]
            if ew:
                if it[la] == 0:
                    fstart[la * frames + f[la]] = t
                it[la] += 1
                stats[4 * la] += 1
                rem[la] -= 1
                if rem[la] == 0:
                    r[la] += 1
                    if r[la] < run_off[la + 1]:
                        rem[la] = run_len[r[la]]
            else:
                stats[4 * la + 3] += 1
            if r[la] == run_off[la + 1] and pending[la] == 0:
                fend[la * frames + f[la]] = t
                f[la] += 1
                if f[la] == frames:
                    done[la] = True
                else:
                    r[la], rem[la], it[la] = run_off[la], run_len[run_off[la]], 0
        t += 1
    if status == 2 and all(done):
        status = 0
    for la in range(n_l):
        state[4 * la : 4 * la + 4] = [f[la], it[la], 0 if done[la] else rf[la], 0 if done[la] else wf[la]]
    out = {
        "count": np.array(count, np.int64),
        "maxocc": np.array(maxocc, np.int64),
        "frame_start": np.array(fstart, np.int64),
        "frame_end": np.array(fend, np.int64),
        "stats": np.array(stats, np.int64),
        "state": np.array(state, np.int64),
    }
    return status, t, out


def _deadlock(net: Network, cycle: int, state: np.ndarray, count: np.ndarray, cap: np.ndarray) -> Deadlock:
    blocked = []
    waits: dict[int, int] = {}  # layer -> a layer it waits for
    for li, layer in enumerate(net.layers):
        frame, it, rfail, wfail = (int(v) for v in state[4 * li : 4 * li + 4])
        reasons = []
        for k in range(len(layer.inputs)):
            if (rfail >> k) & 1:
                s = layer.inputs[k]
                reasons.append(f"reads empty {net.describe_stream(s)}")
                waits.setdefault(li, net.streams[s].producer)
        for k in range(len(layer.outputs)):
            if (wfail >> k) & 1:
                s = layer.outputs[k]
                reasons.append(f"writes full {net.describe_stream(s)}, {count[s]}/{cap[s]} words")
                waits.setdefault(li, net.streams[s].consumer)
        if reasons:
            blocked.append((layer.name, frame, it, " and ".join(reasons)))
    ring: tuple[str, ...] = ()
    if waits:
        path, node = [], next(iter(waits))
        while node in waits and node not in path:
            path.append(node)
            node = waits[node]
        if node in path:
            loop = [*path[path.index(node) :], node]
            ring = tuple(net.layers[i].name for i in loop)
    return Deadlock(cycle, tuple(blocked), ring)


def simulate(
    net: Network,
    frames: int = 4,
    capacities: Mapping[int, int] | Sequence[int] | None = None,
    source_period: int = 0,
    max_cycles: int | None = None,
    engine: Literal["auto", "cpp", "python"] = "auto",
    smooth_source: bool = False,
) -> SimResult:
    """Simulate ``frames`` frames of a network cycle by cycle.

    Args:
        net: the network (:func:`~.network.build_network`).
        frames: frames to push through (the steady-state interval needs >= 2;
            a few more let deep FIFOs reach their periodic state).
        capacities: stream capacities, by stream index (a full list or a
            partial mapping); default the network's (FIFO depths, else 2).
            :data:`UNBOUNDED` for an unbounded stream.
        source_period: when > 0, frame ``f`` of every source starts no
            earlier than cycle ``f * source_period`` (an input throttled to
            one frame per period); 0 feeds inputs as fast as they are taken.
        smooth_source: with ``source_period``, also spread each frame's
            words evenly over the period: word ``j`` of ``W`` starts no
            earlier than ``f * source_period + j * source_period // W`` (an
            input at the steady rate, without bursts).
        max_cycles: cycle limit; default ``100 * frames *`` (largest program
            length + latencies) + 10^5.
        engine: ``"cpp"`` (compiled), ``"python"`` (reference) or ``"auto"``
            (compiled when a compiler exists).

    Returns:
        The :class:`SimResult` (check ``status`` or call :meth:`SimResult.check`).

    Raises:
        SimulationError: bad arguments, or the engine cannot be compiled.
    """
    if frames < 1:
        raise SimulationError(f"frames must be >= 1, got {frames}")
    cap = np.array(net.capacities(), dtype=np.int64)
    if isinstance(capacities, Mapping):
        for k, v in capacities.items():
            cap[int(k)] = int(v)
    elif capacities is not None:
        if len(capacities) != len(cap):
            raise SimulationError(f"{len(capacities)} capacities for {len(cap)} streams")
        cap = np.array([int(c) for c in capacities], dtype=np.int64)
    if (cap < 1).any():
        raise SimulationError("stream capacities must be >= 1")
    period = np.array([source_period if layer.op_type == "Source" else 0 for layer in net.layers], dtype=np.int64)
    spread = np.array([int(smooth_source and layer.op_type == "Source") for layer in net.layers], dtype=np.int64)
    arrays = _flatten(net)
    if max_cycles is None:
        longest = max(la.program.iterations for la in net.layers) + int(arrays.lat.sum())
        max_cycles = 100 * frames * longest + frames * source_period + 100_000
    dll = None
    if engine in ("auto", "cpp"):
        dll = _engine()
        if dll is None and engine == "cpp":
            raise SimulationError("no C++ compiler for the cycle simulator (set $CXX or install g++)")
        if dll is None:
            _warn_python_engine()
    start = time.perf_counter()
    if dll is not None:
        status, cycles, out = _run_cpp(dll, arrays, cap, period, spread, frames, max_cycles)
    else:
        status, cycles, out = _run_python(arrays, cap, period, spread, frames, max_cycles)
    wall = time.perf_counter() - start
    n_l = len(net.layers)
    fstart, fend = out["frame_start"].reshape(n_l, frames), out["frame_end"].reshape(n_l, frames)
    st = out["stats"].reshape(n_l, 4)
    stats = [
        LayerStats(
            int(a), int(rs), int(ws), int(d), int(fend[i, -1] - fend[i, -2]) if frames > 1 and fend[i, -2] >= 0 else 0
        )
        for i, (a, rs, ws, d) in enumerate(st)
    ]
    names: dict[int, Literal["ok", "deadlock", "timeout"]] = {0: "ok", 1: "deadlock", 2: "timeout"}
    return SimResult(
        network=net,
        frames=frames,
        status=names[status],
        cycles=cycles,
        capacities=cap.tolist(),
        max_occupancy=out["maxocc"].tolist(),
        frame_start=fstart,
        frame_end=fend,
        layer_stats=stats,
        deadlock=_deadlock(net, cycles, out["state"], out["count"], cap) if status == 1 else None,
        wall_seconds=wall,
        engine="cpp" if dll is not None else "python",
        source_period=source_period,
    )
