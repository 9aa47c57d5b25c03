"""CSV/XLSX exports: formula injection neutralised, RFC 4180 quoting, Excel's cell limit."""

from __future__ import annotations

import csv
import io
import re
import zipfile

import pandas as pd
import pytest

from cloudtrail_builders import record, write_log
from forensics import load_cloudtrail
from forensics.export import NOTE, XLSX_CELL_LIMIT, export_tables, neutralise, write_csv, write_xlsx

PAYLOADS = [
    '=HYPERLINK("https://evil.example","click")',
    "=cmd|' /C calc'!A0",
    "+1+1",
    "-2+3",
    "@SUM(1)",
    "\t=1+1",
    "\r=1+1",
    "\0=1",
    "   =1+1",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_formula_starts_are_prefixed(payload):
    assert neutralise(payload) == "'" + payload


@pytest.mark.parametrize("value", ["aws-cli/2.15", "arn:aws:iam::012345678901:user/x", "", "a=b", 5, -3.5, None])
def test_other_values_are_unchanged(value):
    assert neutralise(value) is value or neutralise(value) == value


def frame() -> pd.DataFrame:
    return pd.DataFrame({
        "userAgent": pd.Series(PAYLOADS[:3] + ["plain, with \"quotes\"\nand a newline"], dtype="category"),
        "count": [1, -2, 3, 4],
        "eventTime": pd.to_datetime(["2024-03-14T02:10:00Z"] * 4, utc=True),
    })  # fmt: skip


def test_csv_is_quoted_utf8_with_a_note_and_neutralised_cells(tmp_path):
    path = write_csv(frame(), tmp_path / "x.csv")
    text = path.read_text(encoding="utf-8")
    first, rest = text.split("\n", 1)
    assert first == f"# {NOTE}"
    rows = list(csv.reader(io.StringIO(rest)))
    assert rows[0] == ["userAgent", "count", "eventTime"]
    assert [r[0] for r in rows[1:]] == ["'" + p for p in PAYLOADS[:3]] + ['plain, with "quotes"\nand a newline']
    assert [r[1] for r in rows[1:]] == ["1", "-2", "3", "4"]  # numbers are not strings: never prefixed
    assert rows[1][2] == "2024-03-14T02:10:00+00:00"
    assert all(line.startswith('"') for line in rest.splitlines() if line and not line.startswith("and a newline"))


def test_xlsx_cells_are_text_never_formulas_or_links_and_fit_excel(tmp_path):
    long = "x" * (XLSX_CELL_LIMIT + 10)
    data = frame().astype({"userAgent": object})
    data.loc[3, "userAgent"] = long
    path = write_xlsx({"events": data}, tmp_path / "x.xlsx")
    with zipfile.ZipFile(path) as book:
        names = book.namelist()
        sheet = book.read("xl/worksheets/sheet2.xml").decode()
        shared = book.read("xl/sharedStrings.xml").decode()
    assert "<f>" not in sheet and "hyperlink" not in sheet.lower()
    assert not any("externalLink" in n for n in names)
    assert "&apos;=HYPERLINK" in shared or "'=HYPERLINK" in shared
    cut = re.findall(r"<t[^>]*>(x+… \(cut at 32767 characters of \d+\))</t>", shared)
    assert len(cut) == 1 and len(cut[0]) == XLSX_CELL_LIMIT
    assert "Presentation copy" in shared  # the README sheet


def test_export_tables_of_real_events(tmp_path):
    evil = record("e1", "2024-03-14T02:10:00Z", userAgent="=HYPERLINK(\"https://x\")", errorMessage="@SUM(1)")
    write_log(tmp_path / "evidence", "20240314T0215Z", [evil])
    events = load_cloudtrail(tmp_path / "evidence").events
    paths = export_tables("triage", {"events": events}, tmp_path)
    assert [p.name for p in paths] == ["triage.events.csv", "triage.xlsx"]
    rows = list(csv.DictReader(io.StringIO(paths[0].read_text().split("\n", 1)[1])))
    assert rows[0]["userAgent"] == "'=HYPERLINK(\"https://x\")" and rows[0]["errorMessage"] == "'@SUM(1)"
    assert rows[0]["recipientAccountId"] == "012345678901"  # strings stay strings
    assert rows[0]["requestParameters"] == events.loc[0, "requestParameters"]  # JSON text in full
