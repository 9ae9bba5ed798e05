"""Boards catalogue: parts, resources, lookup and the fit check."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from qnncc.boards import (
    RESOURCE_KEYS,
    Board,
    OverBudgetError,
    UnknownBoardError,
    check_fit,
    get_board,
    list_boards,
    require_fit,
)
from qnncc.core.errors import QnnccError

# Parts as in FINN finn/util/basic.py (pynq_part_map, alveo/vitis part maps)
PARTS = {
    "Pynq-Z1": "xc7z020clg400-1",
    "Pynq-Z2": "xc7z020clg400-1",
    "Ultra96": "xczu3eg-sbva484-1-e",
    "Ultra96-V2": "xczu3eg-sbva484-1-i",
    "ZCU102": "xczu9eg-ffvb1156-2-e",
    "ZCU104": "xczu7ev-ffvc1156-2-e",
    "KV260_SOM": "xck26-sfvc784-2LV-c",
    "AUP-ZU3_8GB": "xczu3eg-sfvc784-2-e",
    "ZedBoard": "xc7z020clg484-1",
    "ZC706": "xc7z045ffg900-2",
    "U250": "xcu250-figd2104-2L-e",
    "U280": "xcu280-fsvh2892-2L-e",
}


@pytest.mark.parametrize(("name", "part"), sorted(PARTS.items()))
def test_catalogue_parts(name: str, part: str) -> None:
    board = get_board(name)
    assert board.name == name and board.part == part
    assert board.shell == ("alveo" if name in ("U250", "U280") else "zynq")
    assert all(v > 0 for k, v in board.resources.as_dict().items() if k != "URAM")


def test_list_boards_is_complete() -> None:
    assert set(list_boards()) == set(PARTS)


def test_datasheet_resources() -> None:
    assert get_board("Pynq-Z1").resources.as_dict() == {
        "LUT": 53_200,
        "FF": 106_400,
        "BRAM_18K": 280,
        "URAM": 0,
        "DSP": 220,
    }
    zcu104 = get_board("ZCU104").resources
    assert (zcu104.lut, zcu104.bram_18k, zcu104.uram, zcu104.dsp) == (230_400, 624, 96, 1_728)
    assert get_board("U250").resources.uram == 1_280


def test_lookup_is_case_insensitive_with_aliases() -> None:
    assert get_board("pynq-z1").name == "Pynq-Z1"
    assert get_board("PYNQ_Z2").name == "Pynq-Z2"
    assert get_board("kv260").name == "KV260_SOM"
    assert get_board("aup-zu3").name == "AUP-ZU3_8GB"
    assert get_board("ultra96v2").name == "Ultra96-V2"
    board = get_board("ZCU104")
    assert get_board(board) is board


def test_unknown_board_lists_known_boards() -> None:
    with pytest.raises(UnknownBoardError, match=r"unknown board 'VCU9000'; known boards: Pynq-Z1, .*U280") as info:
        get_board("VCU9000")
    assert isinstance(info.value, QnnccError)
    assert "\n" not in str(info.value)


def test_board_models_are_frozen_and_strict() -> None:
    board = get_board("Pynq-Z1")
    with pytest.raises(ValidationError):
        board.part = "xc7z010"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        Board.model_validate(board.model_dump() | {"unknown_field": 1})
    assert board.default_clk_mhz == pytest.approx(100.0)


def test_check_fit_tfc_on_pynq() -> None:
    report = check_fit("Pynq-Z1", {"LUT": 8502, "BRAM_18K": 26, "BRAM_efficiency": 0.12, "URAM": 0, "DSP": 0})
    assert report.fits and report.over_budget == ()
    assert report.utilisation["LUT"] == pytest.approx(100 * 8502 / 53_200)
    assert report.utilisation["BRAM_18K"] == pytest.approx(100 * 26 / 280)
    table = report.table()
    assert "Pynq-Z1" in table and "LUT" in table and "16.0%" in table
    assert list(report.used) == list(RESOURCE_KEYS)


def test_check_fit_over_budget_and_missing_resource() -> None:
    report = check_fit("pynq-z2", {"lut": 50_000, "bram_18k": 100, "uram": 4}, margin=0.85)
    assert not report.fits
    assert report.over_budget == ("LUT", "URAM")
    assert math.isinf(report.utilisation["URAM"])
    assert "OVER" in report.table()


def test_require_fit_message_names_exceeded_resources() -> None:
    with pytest.raises(OverBudgetError) as info:
        require_fit("Pynq-Z1", {"LUT": 59_740, "BRAM_18K": 256, "DSP": 10})
    message = str(info.value)
    assert "\n" not in message
    assert "LUT 112.3% (59,740/53,200)" in message and "BRAM_18K 91.4% (256/280)" in message
    assert "DSP" not in message
    assert require_fit("ZCU104", {"LUT": 59_740}).fits


def test_check_fit_rejects_bad_input() -> None:
    with pytest.raises(QnnccError, match="unknown resource 'CLB'"):
        check_fit("Pynq-Z1", {"CLB": 1})
    with pytest.raises(QnnccError, match="margin"):
        check_fit("Pynq-Z1", {"LUT": 1}, margin=1.5)
    with pytest.raises(QnnccError, match="non-negative"):
        check_fit("Pynq-Z1", {"LUT": -1})
