"""Safe display of evidence in notebooks, HTML reports and terminals.

Evidence strings (user agents, error messages, resource names, request parameters) are
written by whoever made the API call, including an attacker. Shown naively they can hide
text (ANSI colours, zero-width characters), reorder it (bidi overrides, "Trojan Source"),
overwrite it (``\\r``), or inject markup. Everything a notebook shows goes through this
module:

* :func:`safe_text` makes control, format and invisible characters visible and truncates
  long values with a marker;
* :func:`show_table`, :func:`show_counts` and :func:`show_fields` return a :class:`Table`
  whose HTML is ``DataFrame.to_html(escape=True)`` of a copy with every string passed
  through :func:`safe_text` (never a Styler, never ``render_links``);
* :func:`setup` sets pandas display options (no MathJax) and the PNG rendering of figures.

Truncation happens only in the view; the loaded frame keeps every value verbatim.
"""

from __future__ import annotations

import datetime as dt
import html
import numbers
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Default number of characters of one value shown in a table cell.
DEFAULT_LIMIT = 120
#: Default number of rows shown by :func:`show_table`.
DEFAULT_ROWS = 50
#: Appended to truncated text; ``total`` is the length of the original text.
TRUNCATION = "… (truncated, {total:,} chars)"

_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}

# Characters shown as escapes: C0 and C1 controls and DEL (as \xNN), and every format
# (Cf), line/paragraph separator (Zl/Zp) and surrogate (Cs) code point as <U+XXXX>, plus
# the Hangul fillers and the combining grapheme joiner, which render as nothing.
# tests/test_display.py checks this class against unicodedata.
_CONTROL = "\x00-\x1f\x7f-\x9f"
_INVISIBLE = (
    "\u00ad\u034f\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u115f\u1160\u180e"
    "\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\u3164\ud800-\udfff\ufeff"
    "\uffa0\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
)
_UNSAFE = re.compile(f"[{_CONTROL}{_INVISIBLE}]")


def _visible(char: str) -> str:
    code = ord(char)
    if char in _NAMED:
        return _NAMED[char]
    if code <= 0x9F:
        return f"\\x{code:02x}"
    return f"<U+{code:04X}>"


def safe_text(value: object, limit: int | None = DEFAULT_LIMIT) -> str:
    """Return a string that shows exactly what ``value`` contains, and no more than needed.

    Parameters
    ----------
    value
        Any value; non-strings are converted with ``str``.
    limit
        Maximum number of characters kept (after making characters visible); longer text
        ends with ``… (truncated, N chars)``, N being the length of the original. ``None``
        keeps everything.

    Returns
    -------
    str
        The text with C0/C1 controls shown as ``\\xNN`` (``\\t``, ``\\n``, ``\\r`` by name),
        and bidi overrides, zero-width and other invisible characters shown as
        ``<U+XXXX>``. Escapes are never cut in half by truncation.

    Examples
    --------
    >>> safe_text("\\x1b[30mhidden")
    '\\\\x1b[30mhidden'
    >>> safe_text("evil\\u202etxt.exe")
    'evil<U+202E>txt.exe'
    >>> safe_text("a" * 10, limit=4)
    'aaaa… (truncated, 10 chars)'
    """
    text = value if isinstance(value, str) else str(value)
    if (limit is None or len(text) <= limit) and not _UNSAFE.search(text):
        return text
    pieces: list[str] = []
    size = 0
    for char in text:
        piece = _visible(char) if _UNSAFE.match(char) else char
        if limit is not None and size + len(piece) > limit:
            return "".join(pieces) + TRUNCATION.format(total=len(text))
        pieces.append(piece)
        size += len(piece)
    return "".join(pieces)


def _safe_cell(value: object, limit: int | None) -> object:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return value
    if isinstance(value, (numbers.Number, dt.datetime, dt.timedelta)):
        return value
    return safe_text(value, limit)


def _plain_dtype(dtype: object) -> bool:
    """Whether a column's values cannot hold text (numbers, booleans, times)."""
    types = pd.api.types
    if isinstance(dtype, pd.CategoricalDtype):
        return False
    return bool(
        types.is_numeric_dtype(dtype)
        or types.is_bool_dtype(dtype)
        or types.is_datetime64_any_dtype(dtype)
        or types.is_timedelta64_dtype(dtype)
    )


def safe_frame(frame: pd.DataFrame, max_colwidth: int | None = DEFAULT_LIMIT) -> pd.DataFrame:
    """Copy of ``frame`` with every string cell, index label and column name made safe.

    Numbers, booleans, times and missing values are kept as they are; every other cell
    (strings, categories, lists, dicts) becomes :func:`safe_text` of it.
    """

    def cell(value: object) -> object:
        return _safe_cell(value, max_colwidth)

    out = frame.copy()
    for position in range(out.shape[1]):
        series = out.iloc[:, position]
        if not _plain_dtype(series.dtype):
            out.isetitem(position, series.astype(object).map(cell))
    out = out.rename(index=cell, columns=cell)
    out.index.names = [None if n is None else safe_text(n, max_colwidth) for n in out.index.names]
    out.columns.names = [None if n is None else safe_text(n, max_colwidth) for n in out.columns.names]
    return out


@dataclass(frozen=True)
class Table:
    """A frame prepared for display: safe cells, at most ``max_rows`` rows, and a caption.

    Attributes
    ----------
    frame
        The rows shown, already passed through :func:`safe_frame`.
    total_rows
        Number of rows of the original frame.
    caption
        Plain text shown under the table (escaped when rendered).
    index
        Whether the index is shown.
    """

    frame: pd.DataFrame
    total_rows: int
    caption: str = ""
    index: bool = True

    @property
    def note(self) -> str:
        """The caption, plus the row count when rows were left out or there are none."""
        shown = len(self.frame)
        if self.total_rows == 0:
            rows = "no rows"
        elif shown < self.total_rows:
            rows = f"showing {shown:,} of {self.total_rows:,} rows"
        else:
            rows = ""
        return f"{self.caption} ({rows})" if self.caption and rows else self.caption or rows

    def _repr_html_(self) -> str:
        note = f'<p class="forensics-note">{html.escape(self.note)}</p>' if self.note else ""
        if self.frame.empty:
            return note
        return self.frame.to_html(escape=True, index=self.index, na_rep="", border=0, render_links=False) + note

    def __repr__(self) -> str:
        if self.frame.empty:
            return self.note
        text = self.frame.to_string(index=self.index, na_rep="")
        return f"{text}\n{self.note}" if self.note else text


def show_table(
    frame: pd.DataFrame,
    max_rows: int = DEFAULT_ROWS,
    max_colwidth: int | None = DEFAULT_LIMIT,
    *,
    caption: str = "",
    index: bool = True,
) -> Table:
    """Prepare a frame of evidence for display.

    Parameters
    ----------
    frame
        Any frame; it is not modified.
    max_rows
        Rows shown (the first ones); the caption says how many there are in all.
    max_colwidth
        Characters shown per value (see :func:`safe_text`).
    caption
        Plain text shown under the table.
    index
        Whether to show the index.

    Returns
    -------
    Table
        Renders as an escaped HTML table in notebooks and as text in a terminal.
    """
    return Table(safe_frame(frame.head(max_rows), max_colwidth), len(frame), caption, index)


def show_counts(
    values: pd.Series, top: int = 15, *, label: str | None = None, max_colwidth: int | None = DEFAULT_LIMIT
) -> Table:
    """The most frequent values of a series, with counts and shares.

    Missing values are not counted as a value; the caption says how many there were.
    Unused categories of a categorical series are left out.

    Parameters
    ----------
    values
        The series to count, e.g. ``events["actor"]``.
    top
        How many values to show.
    label
        Header of the value column (default: the series name).
    max_colwidth
        Characters shown per value.
    """
    name = label or (str(values.name) if values.name is not None else "value")
    counts = values.value_counts(dropna=True)
    counts = counts[counts > 0]
    missing = int(values.isna().sum())
    table = pd.DataFrame(
        {
            name: counts.index.astype(object),
            "events": counts.to_numpy(),
            "share": [f"{n / len(values):.1%}" for n in counts.to_numpy()] if len(values) else [],
        }
    )
    caption = f"{len(counts):,} distinct values in {len(values):,} events"
    if missing:
        caption += f"; {missing:,} without a value"
    return Table(safe_frame(table.head(top), max_colwidth), len(table), caption, index=False)


def show_fields(fields: Mapping[str, object], max_colwidth: int | None = 300) -> Table:
    """A two-column table (field, value) for a title block or a summary."""
    frame = pd.DataFrame({"field": list(fields), "value": [str(v) for v in fields.values()]})
    return Table(safe_frame(frame, max_colwidth), len(frame), index=False)


def _figure_png(figure: Figure) -> tuple[bytes, dict[str, str]]:
    """PNG of a figure, with its axes titles as alternative text (``metadata["alt"]``)."""
    from IPython.core.pylabtools import print_figure

    titles = [ax.get_title() for ax in figure.axes if ax.get_title()]
    return print_figure(figure, "png", bbox_inches="tight"), {"alt": "; ".join(titles) or "figure"}


def setup() -> None:
    """Prepare a notebook for showing evidence; call once at the top.

    Turns off pandas' MathJax marking (``$...$`` in evidence must stay literal), sets
    moderate row and column limits, and, inside IPython, renders
    :class:`matplotlib.figure.Figure` objects as PNG so the figures of
    :mod:`forensics.plots` show up in reports without pyplot.
    """
    pd.set_option("display.html.use_mathjax", False)
    pd.set_option("display.max_rows", 60)
    pd.set_option("display.max_colwidth", DEFAULT_LIMIT)
    pd.set_option("display.width", 160)
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython ships with ipykernel, a dependency
        return
    shell = get_ipython()
    if shell is not None:
        from matplotlib.figure import Figure

        shell.display_formatter.formatters["image/png"].for_type(Figure, _figure_png)
