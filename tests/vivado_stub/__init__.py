"""Test tooling: a Tcl interpreter with stub Vivado commands that checks generated IPI scripts.

:func:`check_stitch_tcl` runs a block design script against :mod:`.interp` (stub Vivado
commands) and :mod:`.xilinx_ips` (interface descriptions of the Xilinx IPs the shell uses), and
reports unconnected or doubly connected AXI-Stream pins, width mismatches, part and clock
errors. It needs Tk's Tcl interpreter (``tkinter``), so it lives with the tests, not in qnncc.
"""

from vivado_stub.check import TclCheckReport, check_stitch_tcl

__all__ = ["TclCheckReport", "check_stitch_tcl"]
