"""Code generation: HLS C++ per layer, Vitis HLS and Vivado IPI tcl, PYNQ driver, C++ simulation.

* :func:`generate_hls` writes ``hls/<layer>/`` (top, weights, thresholds,
  Vitis HLS script) for every HW layer of a dataflow partition;
* :func:`build_partition_sim` / :func:`build_layer_sim` compile the same C++
  with g++ into a bit-exact simulation (:class:`CppSim`);
* :func:`write_stitch` writes the Vivado IPI block design (Zynq shell with
  AXI DMA, or generic IP), the bitstream tcl and ``Makefile.vivado``;
  :func:`check_stitch_tcl` runs the block design script here against stub
  Vivado commands and checks cells, connections, widths, part and clock;
* :func:`write_driver` writes the PYNQ driver; :mod:`.packing` holds the
  FINN-compatible stream packing it uses.
"""

from __future__ import annotations

from .cppsim import CppSim, build_layer_sim, build_partition_sim
from .driver import driver_context, write_driver
from .hls import HlsProject, generate_hls, hw_partition
from .names import roundup8, safe_identifier
from .packing import pack_words, packed_shape, unpack_words
from .render import CodegenError, include_dir, render, template_dir
from .stitch import StitchFiles, write_stitch
from .stitch_plan import StitchPlan, stitch_plan
from .tclcheck import TclCheckReport, check_stitch_tcl

__all__ = [
    "CodegenError",
    "CppSim",
    "HlsProject",
    "StitchFiles",
    "StitchPlan",
    "TclCheckReport",
    "build_layer_sim",
    "build_partition_sim",
    "check_stitch_tcl",
    "driver_context",
    "generate_hls",
    "hw_partition",
    "include_dir",
    "pack_words",
    "packed_shape",
    "render",
    "roundup8",
    "safe_identifier",
    "stitch_plan",
    "template_dir",
    "unpack_words",
    "write_driver",
    "write_stitch",
]
