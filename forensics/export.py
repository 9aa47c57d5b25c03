"""CSV and XLSX exports of evidence tables that are safe to open in a spreadsheet.

Evidence holds attacker-controlled text. A spreadsheet evaluates a cell that starts with
``=``, ``+``, ``-`` or ``@`` as a formula (CWE-1236), so an attacker's user agent
``=HYPERLINK("https://x", "click")`` would become a live link. Exports therefore

* quote every CSV field (RFC 4180, ``csv.QUOTE_ALL``) and write UTF-8;
* prefix ``'`` to string cells that start with ``=``, ``+``, ``-``, ``@``, a tab, a
  carriage return or a NUL (also after leading spaces); numbers are left alone;
* in XLSX, never turn strings into formulas or links, and cut cells at Excel's 32,767
  characters with a visible marker;
* say so, in a README sheet (XLSX) and in a header comment line (CSV).

These are *presentation* copies. The canonical, lossless evidence is the original files
(hashed in the load report and the run manifest) and the events frame itself.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

#: First characters that make a spreadsheet read a cell as a formula (OWASP ASVS 1.2.10).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\0")
#: Excel's limit on the characters in one cell.
XLSX_CELL_LIMIT = 32_767
#: The note every export carries.
NOTE = (
    "Presentation copy made by forensics: string cells that a spreadsheet would run as a formula "
    "(starting with = + - @ tab CR or NUL) are prefixed with an apostrophe, and XLSX cells are cut at "
    "32,767 characters. The original evidence files, hashed in the run manifest, are the lossless record."
)


def neutralise(value: object) -> object:
    """``value`` with a leading ``'`` if a spreadsheet would read it as a formula; non-strings unchanged."""
    if isinstance(value, str) and value.lstrip(" ").startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _cells(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with every string cell (and column name) neutralised, times as ISO text."""
    out = frame.copy()
    for name in out.columns:
        column = out[name]
        if isinstance(column.dtype, pd.DatetimeTZDtype):
            out[name] = column.map(lambda t: None if pd.isna(t) else t.isoformat())
        elif not pd.api.types.is_numeric_dtype(column.dtype) or isinstance(column.dtype, pd.CategoricalDtype):
            out[name] = column.astype(object).map(neutralise)
    out.columns = [neutralise(str(c)) for c in out.columns]
    return out


def write_csv(frame: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write ``frame`` as a formula-safe CSV (UTF-8, every field quoted, a ``#`` note first)."""
    target = Path(path)
    with open(target, "w", encoding="utf-8", newline="") as handle:
        handle.write(f"# {NOTE}\n")
        _cells(frame).to_csv(handle, index=False, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    return target


def write_xlsx(tables: Mapping[str, pd.DataFrame], path: str | os.PathLike[str]) -> Path:
    """Write one sheet per table, plus a README sheet, with strings never read as formulas or links."""
    target = Path(path)
    options = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
    with pd.ExcelWriter(target, engine="xlsxwriter", engine_kwargs={"options": options}) as writer:
        pd.DataFrame({"note": [NOTE]}).to_excel(writer, sheet_name="README", index=False)
        for name, frame in tables.items():
            cells = _cells(frame).map(_fit_cell)
            cells.to_excel(writer, sheet_name=_sheet_name(name), index=False)
    return target


def export_tables(stem: str, tables: Mapping[str, pd.DataFrame], folder: str | os.PathLike[str] = ".") -> list[Path]:
    """Write ``<stem>.<name>.csv`` for each table and ``<stem>.xlsx`` with all of them; returns the paths.

    Report notebooks call this with their own name, so the files land beside the HTML
    (the kernel runs in the output folder) and the run manifest hashes them.
    """
    base = Path(folder)
    paths = [write_csv(frame, base / f"{stem}.{name}.csv") for name, frame in tables.items()]
    paths.append(write_xlsx(tables, base / f"{stem}.xlsx"))
    return paths


def _fit_cell(value: object) -> object:
    if isinstance(value, str) and len(value) > XLSX_CELL_LIMIT:
        marker = f"… (cut at {XLSX_CELL_LIMIT} characters of {len(value)})"
        return value[: XLSX_CELL_LIMIT - len(marker)] + marker
    return value


def _sheet_name(name: str) -> str:
    cleaned = "".join("_" if ch in "[]:*?/\\" else ch for ch in name)[:31]
    return cleaned or "sheet"
