"""Interfaces of the Xilinx IPs qnncc's stitch script instantiates, as the tcl check sees them.

For each IP (processing systems, AXI DMA, SmartConnect, AXI-Stream FIFO and
width converter, processor system reset) :func:`xilinx_ip` returns its
clock/reset pins and AXI interfaces, stream widths computed from the cell's
recorded ``CONFIG`` the way Vivado derives them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["PS_FREQ_KEYS", "XilinxIp", "xilinx_ip"]


@dataclass
class XilinxIp:
    """Pins of one IP: interfaces ``name -> (protocol, mode, width)``, clock/reset inputs and sources."""

    intf: dict[str, tuple[str, str, int]]
    clk_in: tuple[str, ...] = ()
    rst_in: tuple[str, ...] = ()
    clk_out: tuple[str, ...] = ()
    rst_out: tuple[str, ...] = ()
    pins: tuple[str, ...] = ()  # other plain pins


def _num(cfg: Mapping[str, str], key: str, default: int) -> int:
    try:
        return int(float(cfg.get(key, default)))
    except ValueError:
        return default


def _on(cfg: Mapping[str, str], key: str, default: bool) -> bool:
    return str(cfg.get(key, "1" if default else "0")).lower() in ("1", "true")


#: Zynq UltraScale+ AXI ports: (PSU__USE__ key, interface, clock pin, mode, enabled by default).
_PSU_PORTS = (
    ("M_AXI_GP0", "M_AXI_HPM0_FPD", "maxihpm0_fpd_aclk", "master", True),
    ("M_AXI_GP1", "M_AXI_HPM1_FPD", "maxihpm1_fpd_aclk", "master", True),
    ("M_AXI_GP2", "M_AXI_HPM0_LPD", "maxihpm0_lpd_aclk", "master", True),
    ("S_AXI_GP2", "S_AXI_HP0_FPD", "saxihp0_fpd_aclk", "slave", False),
)


def xilinx_ip(name: str, cfg: Mapping[str, str]) -> XilinxIp | None:
    """Built-in description of the Xilinx IPs the stitch script uses (None for others)."""
    if name == "axis_data_fifo":
        w = 8 * _num(cfg, "TDATA_NUM_BYTES", 1)
        intf = {"S_AXIS": ("axis", "slave", w), "M_AXIS": ("axis", "master", w)}
        return XilinxIp(intf, ("s_axis_aclk",), ("s_axis_aresetn",))
    if name == "axis_dwidth_converter":
        s, m = 8 * _num(cfg, "S_TDATA_NUM_BYTES", 1), 8 * _num(cfg, "M_TDATA_NUM_BYTES", 1)
        return XilinxIp({"S_AXIS": ("axis", "slave", s), "M_AXIS": ("axis", "master", m)}, ("aclk",), ("aresetn",))
    if name == "axi_dma":
        intf = {"S_AXI_LITE": ("aximm", "slave", 0)}
        clk = ["s_axi_lite_aclk"]
        if _on(cfg, "c_include_sg", True):
            intf["M_AXI_SG"] = ("aximm", "master", 0)
            clk.append("m_axi_sg_aclk")
        if _on(cfg, "c_include_mm2s", True):
            intf["M_AXI_MM2S"] = ("aximm", "master", 0)
            intf["M_AXIS_MM2S"] = ("axis", "master", _num(cfg, "c_m_axis_mm2s_tdata_width", 32))
            clk.append("m_axi_mm2s_aclk")
        if _on(cfg, "c_include_s2mm", True):
            intf["M_AXI_S2MM"] = ("aximm", "master", 0)
            intf["S_AXIS_S2MM"] = ("axis", "slave", _num(cfg, "c_s_axis_s2mm_tdata_width", 32))
            clk.append("m_axi_s2mm_aclk")
        return XilinxIp(intf, tuple(clk), ("axi_resetn",), pins=("mm2s_introut", "s2mm_introut"))
    if name == "smartconnect":
        intf = {f"S{k:02d}_AXI": ("aximm", "slave", 0) for k in range(_num(cfg, "NUM_SI", 1))}
        intf |= {f"M{k:02d}_AXI": ("aximm", "master", 0) for k in range(_num(cfg, "NUM_MI", 1))}
        return XilinxIp(intf, ("aclk",), ("aresetn",))
    if name == "proc_sys_reset":
        return XilinxIp(
            {},
            ("slowest_sync_clk",),
            ("ext_reset_in",),
            rst_out=("peripheral_aresetn", "interconnect_aresetn"),
            pins=("aux_reset_in", "mb_debug_sys_rst", "dcm_locked", "peripheral_reset", "bus_struct_reset", "mb_reset"),
        )
    if name == "processing_system7":
        intf = {"DDR": ("ddr", "master", 0), "FIXED_IO": ("fixed_io", "master", 0)}
        clk = []
        if _on(cfg, "PCW_USE_M_AXI_GP0", True):
            intf["M_AXI_GP0"] = ("aximm", "master", 0)
            clk.append("M_AXI_GP0_ACLK")
        if _on(cfg, "PCW_USE_S_AXI_HP0", False):
            intf["S_AXI_HP0"] = ("aximm", "slave", 0)
            clk.append("S_AXI_HP0_ACLK")
        return XilinxIp(intf, tuple(clk), clk_out=("FCLK_CLK0",), rst_out=("FCLK_RESET0_N",), pins=("IRQ_F2P",))
    if name == "zynq_ultra_ps_e":
        intf = {}
        clk = []
        for key, pin, aclk, mode, default in _PSU_PORTS:
            if _on(cfg, f"PSU__USE__{key}", default):
                intf[pin] = ("aximm", mode, 0)
                clk.append(aclk)
        return XilinxIp(intf, tuple(clk), clk_out=("pl_clk0",), rst_out=("pl_resetn0",), pins=("pl_ps_irq0",))
    return None


#: Configuration key of the fabric clock (MHz) of each processing system.
PS_FREQ_KEYS = {
    "processing_system7": "PCW_FPGA0_PERIPHERAL_FREQMHZ",
    "zynq_ultra_ps_e": "PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ",
}
