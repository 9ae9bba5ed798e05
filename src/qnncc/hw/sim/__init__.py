"""Cycle-level simulation of dataflow partitions and FIFO sizing without RTL simulation.

Each HW layer is modelled by the per-cycle token pattern of its HLS loop
(:mod:`.patterns`), layers are joined by bounded FIFOs with back-pressure
(:mod:`.network`), and a compiled engine steps the whole partition cycle by
cycle (:mod:`.engine`). :mod:`.fifo_sizing` uses it to choose FIFO depths.

Example (``child`` is the HW partition of TFC-W1A1 with width converters)::

    from qnncc.hw.sim import build_network, simulate, size_fifos
    simulate(build_network(child), frames=4).check().interval_cycles  # 645 (perf model: 640)
    size_fifos(child).summary()  # depths, intervals, timings

:class:`qnncc.transforms.hw.set_fifo_depths.SetFIFODepths` applies the
sizing to a model (inserts and updates ``StreamingFIFO`` nodes).
"""

from .engine import engine_available, simulate
from .fifo_sizing import FIFOSizing, practical_depth, size_fifos
from .network import DEFAULT_STREAM_DEPTH, Network, SimLayer, SimStream, build_network, hw_model
from .patterns import Program, SimulationError, layer_latency, layer_program
from .results import UNBOUNDED, Deadlock, DeadlockError, LayerStats, SimResult

__all__ = [
    "DEFAULT_STREAM_DEPTH",
    "UNBOUNDED",
    "Deadlock",
    "DeadlockError",
    "FIFOSizing",
    "LayerStats",
    "Network",
    "Program",
    "SimLayer",
    "SimResult",
    "SimStream",
    "SimulationError",
    "build_network",
    "engine_available",
    "hw_model",
    "layer_latency",
    "layer_program",
    "practical_depth",
    "simulate",
    "size_fifos",
]
