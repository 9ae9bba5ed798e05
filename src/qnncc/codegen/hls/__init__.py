"""HLS back end: per-layer Vitis HLS projects, the partition as one C++ function, C++ simulation.

* :func:`generate_hls` writes ``hls/<layer>/`` (top, weights, thresholds, Vitis HLS script)
  for every HW layer of a dataflow partition (:mod:`.project`);
* :mod:`.layers` holds one code builder per HW op type, :mod:`.layer_code` their result type;
* :func:`build_partition_sim` / :func:`build_layer_sim` compile the same C++ with g++ into a
  bit-exact simulation (:mod:`.cppsim`).
"""

from __future__ import annotations

from qnncc.codegen.hls.cppsim import CppSim, build_layer_sim, build_partition_sim
from qnncc.codegen.hls.project import (
    PASS_THROUGH_OPS,
    HlsProject,
    generate_hls,
    hw_partition,
    layer_code,
    partition_source,
    render_layer,
)

__all__ = [
    "PASS_THROUGH_OPS",
    "CppSim",
    "HlsProject",
    "build_layer_sim",
    "build_partition_sim",
    "generate_hls",
    "hw_partition",
    "layer_code",
    "partition_source",
    "render_layer",
]
