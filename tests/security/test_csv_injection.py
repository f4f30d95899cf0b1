"""§5: every CSV export escapes cells a spreadsheet would run as a formula (one shared helper)."""

from __future__ import annotations

import csv
import io
import subprocess
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from assets.coop.domain.bank import PaymentLine, payment_file
from community import csvsafe
from planning.domain.buildings import Building
from planning.domain.csvio import ParsedBuilding, buildings_to_csv

FORMULAS = ['=HYPERLINK("http://evil","x")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tx", "\rx"]


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_it_escapes_every_formula_trigger_and_keeps_numbers():
    buf = io.StringIO()
    csvsafe.writer(buf).writerow([*FORMULAS, "-1.9", Decimal("-3.20"), 7, "plain"])
    row = _rows(buf.getvalue())[0]
    assert row[: len(FORMULAS)] == ["'" + f for f in FORMULAS]
    assert row[len(FORMULAS) :] == ["-1.9", "-3.20", "7", "plain"]


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30))
def test_no_escaped_text_cell_starts_a_formula(text):
    cell = csvsafe.safe_cell(text)
    assert not cell.startswith(csvsafe.TRIGGERS) or csvsafe.PLAIN_NUMBER.match(cell)
    assert cell.removeprefix("'") == text or cell == text


def test_a_bank_payment_file_escapes_a_member_named_like_a_formula():
    text = payment_file([PaymentLine('=HYPERLINK("x")', "12-34-56", "12345678", 1050, "@ref")])
    header, line = _rows(text)
    assert line[0] == '\'=HYPERLINK("x")'
    assert line[4] == "'@ref"
    assert line[3] == "10.50"


def test_the_buildings_export_escapes_an_imported_address():
    b = Building(ref="=1+1", building_type="house", floor_area_m2=90.0, lat=52.1, lon=-1.9)
    rows = _rows(buildings_to_csv([ParsedBuilding(line=2, building=b, address="+cmd", postcode="AB1 2CD")]))
    record = dict(zip(rows[0], rows[1], strict=True))
    assert record["ref"] == "'=1+1"
    assert record["address"] == "'+cmd"
    assert record["lon"] == "-1.9"


def test_no_module_writes_csv_without_the_shared_helper():
    found = subprocess.run(
        ["git", "grep", "-n", "-E", r"csv\.(writer|DictWriter)\(", "--", "*.py", ":!community/csvsafe.py", ":!tests/*"],
        capture_output=True,
        text=True,
    ).stdout
    assert found == "", f"CSV written without community.csvsafe:\n{found}"
