"""Threshold tables of the MVAU/VVAU and the Thresholding layer, in the library's ``[pe][nf][step]`` order."""

from __future__ import annotations

import numpy as np

from qnncc.codegen.hls.layer_code import LayerCode
from qnncc.codegen.hls.layers._common import int_ctype, nested_init, param_header, signed_bits
from qnncc.codegen.hls.param_files import int_table
from qnncc.codegen.render import CodegenError
from qnncc.hw.layers.base import HWLayer

__all__ = ["THRESHOLD_IMPL", "threshold_activation"]

#: Threshold memory style (MVAU/VVAU ``ram_style_thresholds``, Thresholding ``ram_style``) -> Vitis HLS
#: storage implementation of the threshold ROM (UG1399 ``BIND_STORAGE``); ``auto`` leaves the choice to the tool.
THRESHOLD_IMPL = {"block": "bram", "distributed": "lutram"}


def threshold_activation(
    code: LayerCode, layer: HWLayer, thresholds: np.ndarray, channels: int, pe: int, ram_style: str = "auto"
) -> str:
    """Write ``thresh_<name>.h`` and return the name of its ``qnncc::Thresholds`` object.

    The table is partitioned into one memory per PE lane and threshold step
    (``[pe][nf][step]``, dimensions 1 and 3), each of ``NF = channels / pe``
    entries read once per output word. ``ram_style`` ``block`` or
    ``distributed`` binds those memories to block RAM or LUTRAM
    (``#pragma HLS BIND_STORAGE ... type = rom_1p impl = bram | lutram``), as
    FINN's HLS backend binds ``threshs.m_thresholds`` by ``ram_style_thresholds``
    (MVAU) or ``ram_style`` (Thresholding); with ``NF = 1`` every memory is one
    register and no storage is bound (FINN's ``PE < NumChannels`` condition).

    Args:
        code: the layer being generated (receives the header).
        layer: the HW layer (``ActVal``, output datatype).
        thresholds: ``[channels or 1, steps]``; float thresholds are rounded up,
            which is exact for integer inputs (``x >= t  <=>  x >= ceil(t)``).
        channels: output channels (MH or NumChannels).
        pe: channels per word; channel ``c = nf * pe + p`` goes to ``[p][nf]``.
        ram_style: ``auto``, ``block`` or ``distributed`` (anything else is ``auto``).

    Raises:
        CodegenError: if the table's shape does not fit ``channels``.
    """
    t = np.asarray(thresholds, dtype=np.float64)
    if t.ndim != 2 or t.shape[0] not in (1, channels):
        raise CodegenError(f"{code.node_name}: thresholds of shape {list(t.shape)} do not fit {channels} channels")
    if not np.isfinite(t).all():
        raise CodegenError(f"{code.node_name}: thresholds must be finite")
    t = np.broadcast_to(np.ceil(t), (channels, t.shape[1])).astype(np.int64)
    steps = t.shape[1]
    nf = channels // pe
    table = t.reshape(nf, pe, steps).transpose(1, 0, 2)  # [pe][nf][step]
    bipolar = layer.output_datatype().name == "BIPOLAR"
    lo, hi = int(t.min()), int(t.max())
    ttype = int_ctype(lo, hi)
    act_val = int(layer.attrs.get("ActVal", 0))
    ctype = f"qnncc::Thresholds<{nf}, {pe}, {steps}, {ttype}, {act_val}, {'true' if bipolar else 'false'}>"
    var = f"thresholds_{code.name}"
    param_header(
        code,
        "thresh",
        ctype,
        var,
        "",
        "{" + nested_init(table) + "}",
        ["qnncc/activation.hpp"],
        f"// [pe][nf][step]: channel c = nf * {pe} + pe",
        table=int_table(table, signed_bits(lo, hi)),
        first=f"&{var}.values[0][0][0]",
    )
    code.pragmas.append(f"ARRAY_PARTITION variable = {var}.values complete dim = 1")
    code.pragmas.append(f"ARRAY_PARTITION variable = {var}.values complete dim = 3")
    impl = THRESHOLD_IMPL.get(ram_style)
    if impl is not None and nf > 1:
        code.pragmas.append(f"BIND_STORAGE variable = {var}.values type = rom_1p impl = {impl}")
    return var
