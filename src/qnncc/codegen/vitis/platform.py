"""Alveo platforms for the Vitis link flow: SLRs, their resources and their memory banks.

Per-SLR resources are those UG1120 ("Alveo Data Center Accelerator Card Platforms") lists as
available to kernels in each SLR of the dynamic region (FINN's ``finn.util.platforms`` quotes the
same figures); a DDR memory controller instantiated by ``v++`` in an SLR costs the resources FINN
measured for one (``DDR_RESOURCE_REQUIREMENTS``), subtracted from the SLR whose bank a kernel uses.
"""

from __future__ import annotations

from dataclasses import dataclass

from qnncc.boards import Board, get_board
from qnncc.codegen.render import CodegenError

__all__ = ["DDR_CONTROLLER", "AlveoPlatform", "alveo_platform"]

#: Resources of one DDR4 memory controller in the dynamic region (FINN, finn.util.platforms).
DDR_CONTROLLER: dict[str, int] = {"LUT": 33256, "FF": 44889, "BRAM_18K": 199, "URAM": 0, "DSP": 3}


def _slr(lut: int, ff: int, bram36: int, uram: int, dsp: int) -> dict[str, int]:
    return {"LUT": lut, "FF": ff, "BRAM_18K": 2 * bram36, "URAM": uram, "DSP": dsp}


@dataclass(frozen=True)
class AlveoPlatform:
    """One Alveo target platform.

    Attributes:
        board: qnncc board name (``U250``, ``U280``).
        name: Vitis platform (``v++ --platform``).
        slrs: kernel resources per SLR (``LUT``, ``FF``, ``BRAM_18K``, ``URAM``, ``DSP``), SLR0 first.
        ddr: memory bank name per SLR (``DDR[k]``; ``""`` for an SLR without a DDR bank).
    """

    board: str
    name: str
    slrs: tuple[dict[str, int], ...]
    ddr: tuple[str, ...]

    def bank(self, slr: int) -> str:
        """The DDR bank a kernel in ``slr`` should use: its own, else the nearest SLR's."""
        order = sorted(range(len(self.ddr)), key=lambda k: (abs(k - slr), k))
        return next(self.ddr[k] for k in order if self.ddr[k])

    def bank_slr(self, bank: str) -> int:
        """The SLR of memory bank ``bank``.

        Raises:
            CodegenError: for a bank the platform does not have.
        """
        if bank not in self.ddr:
            raise CodegenError(
                f"platform {self.name} has no memory bank {bank}; banks: {', '.join(b for b in self.ddr if b)}"
            )
        return self.ddr.index(bank)


_PLATFORMS: dict[str, AlveoPlatform] = {
    "U250": AlveoPlatform(
        "U250",
        "xilinx_u250_gen3x16_xdma_4_1_202210_1",
        tuple(_slr(345_000, 690_000, 500, 320, 2_877) for _ in range(4)),  # UG1120, identical SLRs
        ("DDR[0]", "DDR[1]", "DDR[2]", "DDR[3]"),
    ),
    "U280": AlveoPlatform(
        "U280",
        "xilinx_u280_gen3x16_xdma_1_202211_1",
        (
            _slr(369_000, 746_000, 507, 320, 2_733),
            _slr(333_000, 675_000, 468, 320, 2_877),
            _slr(367_000, 729_000, 512, 320, 2_880),
        ),  # UG1120
        ("DDR[0]", "DDR[1]", ""),
    ),
}


def alveo_platforms() -> list[AlveoPlatform]:
    """Every Vitis platform qnncc targets, one per Alveo board."""
    return list(_PLATFORMS.values())


def alveo_platform(board: str | Board) -> AlveoPlatform:
    """The Vitis platform of an Alveo board.

    Raises:
        CodegenError: if the board is not an Alveo card qnncc knows the platform of.
    """
    b = get_board(board)
    if b.shell != "alveo" or b.name not in _PLATFORMS:
        raise CodegenError(f"board {b.name} has no Vitis platform (Alveo boards: {', '.join(_PLATFORMS)})")
    return _PLATFORMS[b.name]
