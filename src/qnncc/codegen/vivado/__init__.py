"""Vivado back end: IPI block design, TLAST inserter IPs, bitstream tcl and ``Makefile.vivado``.

The block design is a Zynq shell with AXI DMA, or a generic IP.

* :mod:`.plan` turns a dataflow partition into cells and stream connections;
* :mod:`.shell` adds the Zynq processing system, DMAs and interconnect;
* :mod:`.stitch` renders the block design and bitstream scripts;
* :mod:`.tlast` writes the TLAST inserter HLS IPs before each DMA S2MM.
"""

from __future__ import annotations

from qnncc.codegen.vivado.cells import StitchPlan
from qnncc.codegen.vivado.plan import stitch_plan
from qnncc.codegen.vivado.stitch import StitchFiles, write_stitch

__all__ = ["StitchFiles", "StitchPlan", "stitch_plan", "write_stitch"]
