"""Code generation: HLS C++, the Vivado IPI stitch and the PYNQ driver.

HLS C++ per layer lives in :mod:`.hls`, the Vivado IPI stitch in :mod:`.vivado`, the PYNQ
driver in :mod:`.driver`.

Shared by all three: :mod:`.names` (safe identifiers), :mod:`.render` (Jinja2 templates from
``hls_templates/``) and :mod:`.packing` (FINN-compatible stream packing). The stub-Vivado tcl
check used by the tests lives under ``tests/vivado_stub``.
"""

from __future__ import annotations

from qnncc.codegen.driver import driver_context, write_driver
from qnncc.codegen.hls import CppSim, HlsProject, build_layer_sim, build_partition_sim, generate_hls, hw_partition
from qnncc.codegen.names import roundup8, safe_identifier
from qnncc.codegen.packing import pack_words, packed_shape, unpack_words
from qnncc.codegen.render import CodegenError, include_dir, render, template_dir
from qnncc.codegen.vivado import StitchFiles, StitchPlan, stitch_plan, write_stitch

__all__ = [
    "CodegenError",
    "CppSim",
    "HlsProject",
    "StitchFiles",
    "StitchPlan",
    "build_layer_sim",
    "build_partition_sim",
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
