"""FINN ``DataflowBuildConfig`` settings in a qnncc build configuration: names, steps, outputs, refusals.

qnncc reads FINN's names where they map: ``synth_clk_period_ns``,
``folding_config_file``, ``start_step``/``stop_step`` (also FINN step names such as
``step_create_stitched_ip``, :func:`normalize_step`), ``shell_flow_type``
(``vivado_zynq``; ``vitis_alveo`` with an Alveo board), ``vitis_platform`` (picks the
Alveo board whose platform it names), ``auto_fifo_depths``/``auto_fifo_strategy``,
``fpga_part`` (must be the board's part) and outputs such as ``stitched_ip``/``pynq_driver``
(also spelt ``DataflowOutputType.STITCHED_IP``). FINN tuning knobs without a qnncc
equivalent are ignored with a logged note (:data:`FINN_IGNORED`); the others are refused
with the reason (:data:`FINN_UNSUPPORTED`).
"""

from __future__ import annotations

import logging
from typing import Any

from qnncc.core.errors import ConfigError, QnnccError

__all__ = ["FINN_IGNORED", "FINN_UNSUPPORTED", "finn_output", "finn_settings", "normalize_step"]

log = logging.getLogger("qnncc.build")


#: FINN's ``DataFlowOutputType`` names for the outputs qnncc generates.
_FINN_OUTPUTS = {"stitched_ip": "stitch", "pynq_driver": "driver", "estimate_reports": "estimate_reports"}


#: FINN outputs that need Vivado/Vitis or a board (qnncc writes the scripts that make them).
_VENDOR_OUTPUTS = {"out_of_context_synth", "rtlsim_performance", "bitfile", "deployment_package"}


#: FINN build steps by the qnncc step that does their work.
_FINN_STEPS = {
    "step_qonnx_to_finn": "qonnx_to_finn",
    "step_tidy_up": "tidy",
    "step_streamline": "streamline",
    "step_convert_to_hw": "convert_to_hw",
    "step_convert_to_hls": "convert_to_hw",
    "step_create_dataflow_partition": "partition",
    "step_specialize_layers": "names",
    "step_target_fps_parallelization": "fold",
    "step_apply_folding_config": "fold",
    "step_generate_estimate_reports": "estimate",
    "step_hw_codegen": "hls",
    "step_rtl_codegen": "rtl",
    "step_synth": "synth",
    "step_hls_codegen": "hls",
    "step_hw_ipgen": "hls",
    "step_hls_ipgen": "hls",
    "step_set_fifo_depths": "fifo",
    "step_create_stitched_ip": "stitch",
    "step_make_pynq_driver": "driver",
}


#: FINN settings that tune FINN's own implementation and have no qnncc counterpart (ignored, logged).
FINN_IGNORED = frozenset(
    {
        "mvau_wwidth_max",
        "standalone_thresholds",
        "minimize_bit_width",
        "verbose",
        "enable_build_pdb_debug",
        "enable_hw_debug",
        "verify_steps",
        "verify_save_full_context",
        "verify_save_rtlsim_waveforms",
        "signature",
        "force_python_rtlsim",
        "rtlsim_batch_size",
        "rtlsim_use_vivado_comps",
        "fifosim_n_inferences",
        "fifosim_save_waveform",
        "split_large_fifos",
        "large_fifo_mem_style",
        "stitched_ip_gen_dcp",
        "default_swg_exception",
        "max_multithreshold_bit_width",
    }
)


#: FINN settings qnncc refuses, with the reason.
FINN_UNSUPPORTED = {
    "vitis_floorplan_file": "qnncc assigns the partitions to SLRs itself (vitis/slr_assignment.json)",
    "vitis_opt_strategy": "qnncc writes the v++ link options itself (vitis/link.cfg); edit them there",
    "hls_clk_period_ns": "qnncc uses one clock for HLS and the design: set clock_ns (synth_clk_period_ns)",
    "verify_input_npy": "qnncc verifies with verify_data: an .npz with 'images' (and 'labels')",
    "verify_expected_output_npy": "qnncc verifies with verify_data: an .npz with 'images' (and 'labels')",
    "specialize_layers_config_file": "qnncc picks the HLS implementation of every layer itself",
    "floorplan_file": "qnncc stitches one partition without a floorplan",
}


_SHELLS = {"vivado_zynq": "zynq"}


_FIFO_STRATEGIES = {"characterize": "sim", "largefifo_rtlsim": "largefifo"}


def normalize_step(name: str) -> str:
    """A step name as the flow spells it: lower case, ``-`` and spaces as ``_``; FINN step names map to qnncc's."""
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    return _FINN_STEPS.get(key, key)


def _enum_value(value: Any) -> str:
    """``ShellFlowType.VIVADO_ZYNQ``, an enum member or ``vivado_zynq`` -> ``vivado_zynq``."""
    value = getattr(value, "value", value)
    return str(value).strip().lower().rsplit(".", 1)[-1]


def finn_settings(values: dict[str, Any]) -> dict[str, Any]:
    """FINN ``DataflowBuildConfig`` settings translated to qnncc's (others unchanged).

    Raises:
        ConfigError: for a FINN setting or value qnncc cannot honour (with the reason).
    """
    out = dict(values)
    for key in sorted(FINN_IGNORED & out.keys()):
        log.info("FINN setting %r has no qnncc counterpart and is ignored", key)
        out.pop(key)
    refused = [f"{k}: {FINN_UNSUPPORTED[k]}" for k in sorted(FINN_UNSUPPORTED) if out.get(k) not in (None, "")]
    for key in FINN_UNSUPPORTED:
        out.pop(key, None)
    refused += _vitis_settings(out)
    if "shell_flow_type" in out:
        flow = _enum_value(out.pop("shell_flow_type"))
        if flow == "vitis_alveo":
            refused += _alveo_board(out, "shell_flow_type: vitis_alveo")
        elif flow not in _SHELLS:
            refused.append(f"shell_flow_type: {flow!r} is not supported (qnncc: vivado_zynq, vitis_alveo)")
        else:
            out.setdefault("shell", _SHELLS[flow])
    strategy = out.pop("auto_fifo_strategy", None)
    if strategy is not None:
        name = _enum_value(strategy)
        if name not in _FIFO_STRATEGIES:
            refused.append(f"auto_fifo_strategy: {name!r} is not one of {', '.join(_FIFO_STRATEGIES)}")
        else:
            out.setdefault("fifo_sizing", _FIFO_STRATEGIES[name])
    if "auto_fifo_depths" in out and not out.pop("auto_fifo_depths"):
        out["fifo_sizing"] = "off"
    part = out.pop("fpga_part", None)
    if part:
        from qnncc.boards import get_board

        try:
            board_part = get_board(out.get("board", "Pynq-Z1")).part
        except QnnccError:
            board_part = None
        if board_part is not None and str(part).strip().lower() != board_part.lower():
            board = out.get("board", "Pynq-Z1")
            refused.append(f"fpga_part: {part} is not the part of board {board} ({board_part}); qnncc targets boards")
    if refused:
        raise ConfigError("; ".join(refused))
    return out


def _alveo_board(out: dict[str, Any], setting: str) -> list[str]:
    """The refusal of ``setting`` when the configured board is not an Alveo card (else nothing)."""
    from qnncc.boards import get_board

    try:
        board = get_board(out.get("board", "Pynq-Z1"))
    except QnnccError:
        return []  # the board itself is refused by the configuration
    if board.shell == "alveo":
        return []
    return [f"{setting} needs an Alveo board (board: U250 or U280), not {board.name}"]


def _vitis_settings(out: dict[str, Any]) -> list[str]:
    """Translate ``vitis_platform`` into the Alveo board it names (in place); the refusals."""
    platform = out.pop("vitis_platform", None)
    if not platform:
        return []
    from qnncc.boards import get_board
    from qnncc.codegen.vitis.platform import alveo_platforms

    known = alveo_platforms()
    card = str(platform).strip().lower().split("_")[:2]  # xilinx_u250_gen3x16_xdma_... -> xilinx, u250
    matches = [p for p in known if p.name.split("_")[:2] == card]
    if not matches:
        names = ", ".join(p.name for p in known)
        return [f"vitis_platform: {platform} is not a platform qnncc targets ({names})"]
    board = matches[0].board
    try:
        given = get_board(out["board"]).name if "board" in out else board
    except QnnccError:
        return []  # the board itself is refused by the configuration
    if given != board:
        return [f"vitis_platform: {platform} is the platform of board {board}, not of {out['board']}"]
    out["board"] = board
    if str(platform).strip() != matches[0].name:
        log.info("vitis_platform %s: qnncc targets %s (board %s)", platform, matches[0].name, board)
    return []


def finn_output(item: Any) -> str:
    """A FINN output name (``DataflowOutputType.STITCHED_IP``, ``pynq_driver``) as qnncc's output.

    Raises:
        ValueError: for an output that needs Vivado/Vitis or a board.
    """
    key = _enum_value(item)
    if key in _VENDOR_OUTPUTS:
        raise ValueError(f"output {item!r} needs Vivado/Vitis; qnncc writes the scripts (Makefile.vivado)")
    return _FINN_OUTPUTS.get(key, key)
