"""Catalogue of FPGA boards: part numbers, device resources, clocks, and a fit check.

Part numbers follow FINN ``finn/util/basic.py`` (``pynq_part_map``,
``alveo_part_map``/``vitis_part_map``); resources are the full-device
figures of the AMD/Xilinx product tables (DS190 Zynq-7000, DS891 Zynq
UltraScale+ MPSoC, DS987 Kria K26 SOM, DS962 Alveo U250, DS963 Alveo U280).
``BRAM_18K`` counts RAMB18 halves (2 per RAMB36). Alveo figures are for the
whole device; the shell takes part of it.

Example:
    >>> from qnncc.boards import check_fit, get_board
    >>> report = check_fit(get_board("pynq-z1"), {"LUT": 8502, "BRAM_18K": 26})
    >>> report.fits, round(report.utilisation["LUT"], 1)
    (True, 16.0)
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from qnncc.core.errors import QnnccError

__all__ = [
    "RESOURCE_KEYS",
    "Board",
    "BoardResources",
    "FitReport",
    "OverBudgetError",
    "UnknownBoardError",
    "check_fit",
    "get_board",
    "list_boards",
    "require_fit",
]

#: Resource names, as in FINN's estimate reports.
RESOURCE_KEYS: tuple[str, ...] = ("LUT", "FF", "BRAM_18K", "URAM", "DSP")


class UnknownBoardError(QnnccError, KeyError):
    """The board name is not in the catalogue."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class OverBudgetError(QnnccError):
    """A design needs more of some resource than the board offers within the margin."""


class BoardResources(BaseModel):
    """Device resources (counts of primitives)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    lut: int = Field(ge=0, description="6-input LUTs")
    ff: int = Field(ge=0, description="flip-flops")
    bram_18k: int = Field(ge=0, description="RAMB18 primitives (2 per RAMB36)")
    uram: int = Field(ge=0, description="UltraRAM blocks (288 Kib)")
    dsp: int = Field(ge=0, description="DSP slices")

    def as_dict(self) -> dict[str, int]:
        """Resources keyed by :data:`RESOURCE_KEYS`."""
        return {"LUT": self.lut, "FF": self.ff, "BRAM_18K": self.bram_18k, "URAM": self.uram, "DSP": self.dsp}


class Board(BaseModel):
    """One FPGA board.

    Attributes:
        name: Canonical name (FINN's spelling, e.g. ``"Pynq-Z1"``, ``"KV260_SOM"``).
        part: FPGA part number, e.g. ``"xc7z020clg400-1"``.
        family: Device family, e.g. ``"zynq7000"``, ``"zynq_us+"``, ``"alveo_us+"``.
        shell: ``"zynq"`` (processor system + PL, FINN ``ZynqBuild``) or
            ``"alveo"`` (PCIe card, FINN ``VitisBuild``).
        pynq: Whether FINN's PYNQ driver flow targets the board (``pynq_part_map``).
        default_clk_ns: Default target clock period in ns.
        axi_port_width_bits: Native AXI HP port width of the PS, in bits (0 for Alveo).
        resources: Full-device resources.
        aliases: Other accepted names.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    part: str
    family: str
    shell: Literal["zynq", "alveo"]
    pynq: bool
    default_clk_ns: float = Field(gt=0)
    axi_port_width_bits: int = Field(ge=0)
    resources: BoardResources
    aliases: tuple[str, ...] = ()

    @property
    def default_clk_mhz(self) -> float:
        """Default clock frequency in MHz."""
        return 1e3 / self.default_clk_ns


def _res(lut: int, ff: int, bram36: int, uram: int, dsp: int) -> BoardResources:
    return BoardResources(lut=lut, ff=ff, bram_18k=2 * bram36, uram=uram, dsp=dsp)


_Z7020 = _res(53_200, 106_400, 140, 0, 220)  # DS190
_Z7045 = _res(218_600, 437_200, 545, 0, 900)  # DS190
_ZU3EG = _res(70_560, 141_120, 216, 0, 360)  # DS891
_ZU7EV = _res(230_400, 460_800, 312, 96, 1_728)  # DS891
_ZU9EG = _res(274_080, 548_160, 912, 0, 2_520)  # DS891
_K26 = _res(117_120, 234_240, 144, 64, 1_248)  # DS987
_U250 = _res(1_728_000, 3_456_000, 2_688, 1_280, 12_288)  # DS962
_U280 = _res(1_304_000, 2_607_000, 2_016, 960, 9_024)  # DS963


def _zynq(
    name: str, part: str, family: str, res: BoardResources, clk: float, port: int, pynq: bool, *aliases: str
) -> Board:
    return Board(
        name=name,
        part=part,
        family=family,
        shell="zynq",
        pynq=pynq,
        default_clk_ns=clk,
        axi_port_width_bits=port,
        resources=res,
        aliases=aliases,
    )


def _alveo(name: str, part: str, res: BoardResources) -> Board:
    return Board(
        name=name,
        part=part,
        family="alveo_us+",
        shell="alveo",
        pynq=False,
        default_clk_ns=3.333,
        axi_port_width_bits=0,
        resources=res,
    )


_BOARDS: tuple[Board, ...] = (
    _zynq("Pynq-Z1", "xc7z020clg400-1", "zynq7000", _Z7020, 10.0, 64, True, "PynqZ1"),
    _zynq("Pynq-Z2", "xc7z020clg400-1", "zynq7000", _Z7020, 10.0, 64, True, "PynqZ2"),
    _zynq("ZedBoard", "xc7z020clg484-1", "zynq7000", _Z7020, 10.0, 64, False, "Zed"),
    _zynq("ZC706", "xc7z045ffg900-2", "zynq7000", _Z7045, 10.0, 64, False),
    _zynq("Ultra96", "xczu3eg-sbva484-1-e", "zynq_us+", _ZU3EG, 5.0, 128, True, "Ultra96-V1"),
    _zynq("Ultra96-V2", "xczu3eg-sbva484-1-i", "zynq_us+", _ZU3EG, 5.0, 128, True),
    _zynq("AUP-ZU3_8GB", "xczu3eg-sfvc784-2-e", "zynq_us+", _ZU3EG, 5.0, 128, True, "AUP-ZU3"),
    _zynq("KV260_SOM", "xck26-sfvc784-2LV-c", "zynq_us+", _K26, 5.0, 128, True, "KV260", "K26"),
    _zynq("ZCU102", "xczu9eg-ffvb1156-2-e", "zynq_us+", _ZU9EG, 5.0, 128, True),
    _zynq("ZCU104", "xczu7ev-ffvc1156-2-e", "zynq_us+", _ZU7EV, 5.0, 128, True),
    _alveo("U250", "xcu250-figd2104-2L-e", _U250),
    _alveo("U280", "xcu280-fsvh2892-2L-e", _U280),
)


def _key(name: str) -> str:
    """Lookup key: case-insensitive, ignoring ``-``, ``_``, spaces and dots."""
    return re.sub(r"[\s_.\-]", "", name).casefold()


_BY_KEY: Mapping[str, Board] = {_key(alias): b for b in _BOARDS for alias in (b.name, *b.aliases)}


def list_boards() -> list[str]:
    """Canonical names of all catalogued boards, in catalogue order."""
    return [b.name for b in _BOARDS]


def get_board(name: str | Board) -> Board:
    """Look a board up by name or alias (case-insensitive; ``-``/``_`` ignored).

    Raises:
        UnknownBoardError: listing the known boards.
    """
    if isinstance(name, Board):
        return name
    board = _BY_KEY.get(_key(str(name)))
    if board is None:
        raise UnknownBoardError(f"unknown board {name!r}; known boards: {', '.join(list_boards())}")
    return board


class FitReport(BaseModel):
    """Result of :func:`check_fit`.

    Attributes:
        board: Board name.
        part: FPGA part.
        margin: Usable fraction of each resource (e.g. 0.85).
        used: Demanded resources, by :data:`RESOURCE_KEYS` name.
        available: Board resources, same keys.
        utilisation: ``100 * used / available`` in percent (``inf`` if the
            board has none of a demanded resource).
        over_budget: Resources whose utilisation exceeds ``100 * margin``.
        fits: Whether no resource is over budget.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    board: str
    part: str
    margin: float
    used: dict[str, float]
    available: dict[str, int]
    utilisation: dict[str, float]
    over_budget: tuple[str, ...]
    fits: bool

    def table(self) -> str:
        """A fixed-width table: resource, used, available, utilisation, status."""
        limit = f"{100 * self.margin:.0f}%"
        lines = [
            f"{self.board} ({self.part}), limit {limit} per resource",
            f"{'resource':<9} {'used':>12} {'available':>12} {'util':>8}  status",
        ]
        for key in self.used:
            util = self.utilisation[key]
            util_s = "inf" if math.isinf(util) else f"{util:.1f}%"
            status = "OVER" if key in self.over_budget else "ok"
            lines.append(f"{key:<9} {self.used[key]:>12,.0f} {self.available[key]:>12,} {util_s:>8}  {status}")
        return "\n".join(lines)

    def summary(self) -> str:
        """One line naming the exceeded resources with their utilisation."""
        if self.fits:
            return f"design fits {self.board} ({self.part}) within {100 * self.margin:.0f}%"
        parts = [
            f"{k} {self.utilisation[k]:.1f}% ({self.used[k]:,.0f}/{self.available[k]:,})"
            if not math.isinf(self.utilisation[k])
            else f"{k} {self.used[k]:,.0f} needed, board has none"
            for k in self.over_budget
        ]
        return (
            f"design does not fit {self.board} ({self.part}) within {100 * self.margin:.0f}% "
            f"per resource: {', '.join(parts)}"
        )


_KEY_ALIASES: Mapping[str, str] = {
    "lut": "LUT",
    "luts": "LUT",
    "ff": "FF",
    "ffs": "FF",
    "bram": "BRAM_18K",
    "bram18": "BRAM_18K",
    "bram18k": "BRAM_18K",
    "uram": "URAM",
    "dsp": "DSP",
    "dsps": "DSP",
}


def _normalise_totals(totals: Mapping[str, float]) -> dict[str, float]:
    """Map report keys (``LUT``, ``bram_18k``, ...) to :data:`RESOURCE_KEYS`; efficiency keys are ignored."""
    out: dict[str, float] = {}
    for raw, value in totals.items():
        if raw.lower().endswith("_efficiency"):
            continue
        key = _KEY_ALIASES.get(re.sub(r"[_\s]", "", raw).casefold())
        if key is None:
            raise QnnccError(f"unknown resource {raw!r}; expected one of {', '.join(RESOURCE_KEYS)}")
        if not math.isfinite(float(value)) or float(value) < 0:
            raise QnnccError(f"resource {raw!r} must be a finite non-negative number, got {value!r}")
        out[key] = out.get(key, 0.0) + float(value)
    return out


def check_fit(board: str | Board, totals: Mapping[str, float], margin: float = 0.85) -> FitReport:
    """Compare resource totals with a board's resources.

    Args:
        board: Board or board name.
        totals: Demanded resources with FINN's keys (``LUT``, ``FF``,
            ``BRAM_18K``, ``URAM``, ``DSP``; case and ``_`` ignored;
            ``*_efficiency`` keys skipped), e.g. the ``"total"`` entry of a
            FINN resources report. Missing resources count as 0.
        margin: Usable fraction of each resource, ``0 < margin <= 1``
            (0.85 leaves 15% for routing and the shell/driver logic).

    Returns:
        The report; ``fits`` is False if any resource exceeds ``margin``.

    Raises:
        UnknownBoardError: unknown board name.
        QnnccError: unknown resource key, negative value, or margin outside ``(0, 1]``.
    """
    b = get_board(board)
    if not 0 < margin <= 1:
        raise QnnccError(f"margin must be in (0, 1], got {margin}")
    demand = _normalise_totals(totals)
    available = b.resources.as_dict()
    used = {k: demand.get(k, 0.0) for k in RESOURCE_KEYS}
    util = {
        k: (100.0 * used[k] / available[k] if available[k] else (math.inf if used[k] > 0 else 0.0))
        for k in RESOURCE_KEYS
    }
    over = tuple(k for k in RESOURCE_KEYS if util[k] > 100.0 * margin + 1e-9)
    return FitReport(
        board=b.name,
        part=b.part,
        margin=margin,
        used=used,
        available=available,
        utilisation=util,
        over_budget=over,
        fits=not over,
    )


def require_fit(board: str | Board, totals: Mapping[str, float], margin: float = 0.85) -> FitReport:
    """:func:`check_fit`, raising if the design does not fit.

    Raises:
        OverBudgetError: one line naming each exceeded resource with its
            utilisation, e.g. ``design does not fit Pynq-Z1 (xc7z020clg400-1)
            within 85% per resource: LUT 112.3% (59,740/53,200)``.
    """
    report = check_fit(board, totals, margin)
    if not report.fits:
        raise OverBudgetError(report.summary())
    return report
