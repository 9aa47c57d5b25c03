"""Plots of events over time.

Figures are built with :class:`matplotlib.figure.Figure` directly, not pyplot: no global
state, nothing to close, safe in tests and threads. In a notebook, call
:func:`forensics.display.setup` once so a returned figure renders as a PNG.

Labels taken from evidence (event names, actors) go through :func:`plot_label`, which
makes invisible characters visible, shortens long values, and escapes the ``$`` that
matplotlib would otherwise typeset as math.
"""

from __future__ import annotations

import datetime as dt

import matplotlib.dates as mdates
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from forensics.display import safe_text
from forensics.window import TimeLike, parse_bounds

#: Candidate bin widths, smallest first; :func:`choose_freq` takes the first that gives
#: at most ``max_bins`` bins.
FREQUENCIES: tuple[str, ...] = ("1min", "5min", "15min", "30min", "1h", "3h", "6h", "12h", "1D", "7D")
#: Series shown separately before the rest is grouped as "other".
TOP_SERIES = 8
OTHER = "(other)"
MISSING = "(none)"
FAILED_LABEL = "failed calls (errorCode set)"
WINDOW_LABEL = "incident window"
NO_EVENTS = "no events"

_UTC = dt.UTC


def choose_freq(span: pd.Timedelta, max_bins: int = 120) -> str:
    """The smallest bin width of :data:`FREQUENCIES` that cuts ``span`` into at most ``max_bins`` bins.

    Examples
    --------
    >>> choose_freq(pd.Timedelta(hours=2))
    '1min'
    >>> choose_freq(pd.Timedelta(days=3))
    '1h'
    """
    for freq in FREQUENCIES:
        if span / pd.Timedelta(freq) <= max_bins:
            return freq
    return FREQUENCIES[-1]


def plot_label(value: object, limit: int = 40) -> str:
    """A legend or tick label for a value taken from evidence.

    Invisible characters are made visible and long values shortened (see
    :func:`forensics.display.safe_text`), ``$`` is escaped so matplotlib does not typeset
    it as math, and a leading ``_`` (which matplotlib's legend would hide) is kept visible.
    """
    text = safe_text(value, limit).replace("$", r"\$")
    return " " + text if text.startswith("_") else text


def events_over_time(
    events: pd.DataFrame,
    *,
    start: TimeLike | None = None,
    end: TimeLike | None = None,
    freq: str | None = None,
    by: str | None = "eventName",
    top: int = TOP_SERIES,
    ax: Axes | None = None,
) -> Figure:
    """Stacked counts of events per time bin, with failed calls and the incident window.

    Parameters
    ----------
    events
        An events frame (needs ``eventTime``, ``errorCode`` and the ``by`` column).
    start, end
        The incident window, shaded; also widens the time axis to include it.
    freq
        Bin width (a pandas offset such as ``"5min"``); chosen from the span by
        :func:`choose_freq` when ``None``.
    by
        Column whose ``top`` most frequent values get their own colour (the rest is
        grouped as ``(other)``, missing values as ``(none)``); ``None`` for one series.
    top
        How many values of ``by`` get their own colour.
    ax
        Axes to draw into; a new figure is made when ``None``.

    Returns
    -------
    matplotlib.figure.Figure
        The figure. A frame without events gives axes that say "no events" (and still
        show the window), never an error and never an empty-looking success.
    """
    lo, hi = parse_bounds(start, end)
    if ax is None:
        figure = Figure(figsize=(11, 4.5), layout="constrained")
        ax = figure.add_subplot()
    else:
        figure = ax.get_figure()  # type: ignore[assignment]
    times = events["eventTime"]
    valid = times.notna()
    times = times[valid]
    bounds = [t for t in (lo, hi) if t is not None]
    if len(times):
        bounds += [times.min(), times.max()]
    freq = freq or choose_freq(max(bounds) - min(bounds) if bounds else pd.Timedelta(0))
    width = pd.Timedelta(freq)
    if len(times):
        bounds += [times.min().floor(freq), times.max().floor(freq) + width]

    if lo is not None and hi is not None:
        ax.axvspan(lo, hi, color="tab:red", alpha=0.12, label=WINDOW_LABEL)
    if len(times) == 0:
        ax.text(0.5, 0.5, NO_EVENTS, transform=ax.transAxes, ha="center", va="center", fontsize=14, color="0.4")
        ax.set_yticks([])
    else:
        bins = times.dt.floor(freq)
        groups = _series_labels(events.loc[valid, by], top) if by else pd.Series("events", index=bins.index)
        table = pd.crosstab(bins, groups).reindex(columns=_column_order(groups, top))
        bottom = pd.Series(0, index=table.index)
        for column in table.columns:
            ax.bar(table.index, table[column], width=width, bottom=bottom, align="edge", label=plot_label(column))
            bottom = bottom + table[column]
        failed = events.loc[valid, "errorCode"].notna()
        if failed.any():
            failures = bins[failed].value_counts().sort_index()
            centres = failures.index + width / 2
            ax.plot(centres, failures.to_numpy(), "kx", markersize=7, label=FAILED_LABEL)
        ax.set_ylabel(f"events per {freq}")
        ax.set_ylim(bottom=0)
    if bounds:
        ax.set_xlim(min(bounds), max(bounds))
    locator = mdates.AutoDateLocator(tz=_UTC)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=_UTC))
    ax.set_xlabel("time (UTC)")
    title = f"Events per {freq}" + (f" by {by}" if by else "")
    ax.set_title(f"{title} ({len(times):,} events)")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)
    return figure


def _series_labels(values: pd.Series, top: int) -> pd.Series:
    """Map each value to itself when among the ``top`` most frequent, else to ``(other)``."""
    text = values.astype(object).where(values.notna(), MISSING)
    keep = set(text.value_counts().index[:top])
    return text.where(text.isin(keep), OTHER)


def _column_order(groups: pd.Series, top: int) -> list[object]:
    """Most frequent first; ``(other)`` last."""
    order = [g for g in groups.value_counts().index if g != OTHER]
    return order + ([OTHER] if (groups == OTHER).any() else [])
