"""Vitis link flow for Alveo boards: platforms, SLR floorplanning, kernels, link config and the XRT driver.

:mod:`.platform` (per-SLR resources and memory banks), :mod:`.slr` (per-SLR
partition cuts and placement), :mod:`.link` (``v++`` kernels, ``link.cfg``,
``package_xo.tcl``, Makefile) and :mod:`.driver` (the PYNQ-Alveo/XRT driver).
"""

from __future__ import annotations

from qnncc.codegen.vitis.driver import write_alveo_driver
from qnncc.codegen.vitis.link import VitisFiles, kernel_layout, mem_width, write_vitis_link
from qnncc.codegen.vitis.platform import AlveoPlatform, alveo_platform
from qnncc.codegen.vitis.slr import SlrPlacement, assign_slrs, slr_splits

__all__ = [
    "AlveoPlatform",
    "SlrPlacement",
    "VitisFiles",
    "alveo_platform",
    "assign_slrs",
    "kernel_layout",
    "mem_width",
    "slr_splits",
    "write_alveo_driver",
    "write_vitis_link",
]
