"""Events-over-time plot: exact bars, failed calls, the shaded window, UTC axes, hostile labels."""

from __future__ import annotations

import io

import matplotlib
import matplotlib.dates as mdates
import pandas as pd
import pytest
from matplotlib.figure import Figure

from cloudtrail_builders import record, write_log
from forensics import load_cloudtrail
from forensics.plots import FAILED_LABEL, NO_EVENTS, WINDOW_LABEL, choose_freq, events_over_time, plot_label


@pytest.fixture
def events(small_trail) -> pd.DataFrame:
    return load_cloudtrail(small_trail.path).events


def bars(figure: Figure) -> dict[str, list[tuple[str, float, float]]]:
    """Series label -> [(bin start as ISO, bottom, height)] of every bar."""
    ax = figure.axes[0]
    return {
        container.get_label(): [
            (mdates.num2date(r.get_x()).strftime("%H:%M"), r.get_y(), r.get_height()) for r in container.patches
        ]
        for container in ax.containers
    }


def window_span(figure: Figure) -> tuple[str, str]:
    (patch,) = [p for p in figure.axes[0].patches if p.get_label() == WINDOW_LABEL]
    x0, x1 = patch.get_x(), patch.get_x() + patch.get_width()
    return mdates.num2date(x0).isoformat(), mdates.num2date(x1).isoformat()


@pytest.mark.parametrize(
    ("span", "freq"),
    [("30min", "1min"), ("2h", "1min"), ("2h1min", "5min"), ("1D", "15min"), ("5D", "1h"), ("30D", "6h"),
     ("3000D", "7D")],
)
def test_choose_freq_keeps_at_most_120_bins(span: str, freq: str) -> None:
    assert choose_freq(pd.Timedelta(span)) == freq


def test_bars_are_stacked_counts_per_bin_by_event_name(events, small_trail) -> None:
    figure = events_over_time(events, start=small_trail.start, end=small_trail.end, freq="1h")
    assert bars(figure) == {
        "GetObject": [("01:00", 0, 1), ("02:00", 0, 2), ("03:00", 0, 1)],
        "ListBuckets": [("01:00", 1, 0), ("02:00", 2, 2), ("03:00", 1, 0)],
        "PutBucketPolicy": [("01:00", 1, 0), ("02:00", 4, 2), ("03:00", 1, 0)],
    }


def test_failed_calls_are_their_own_series_at_the_bin_centre(events) -> None:
    ax = events_over_time(events, freq="1h").axes[0]
    (line,) = [line for line in ax.get_lines() if line.get_label() == FAILED_LABEL]
    assert [mdates.num2date(x).strftime("%H:%M") for x in mdates.date2num(line.get_xdata())] == ["02:30"]
    assert list(line.get_ydata()) == [2]


def test_window_is_shaded_and_axes_are_labelled_in_utc(events, small_trail) -> None:
    with matplotlib.rc_context({"timezone": "America/New_York"}):  # must not leak into the axis
        figure = events_over_time(events, start="2024-03-14T03:00:00+01:00", end=small_trail.end, freq="1h")
        figure.canvas.draw()
    ax = figure.axes[0]
    assert window_span(figure) == ("2024-03-14T02:00:00+00:00", "2024-03-14T03:00:00+00:00")
    assert [mdates.num2date(x).strftime("%H:%M") for x in ax.get_xlim()] == ["01:00", "04:00"]
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert "02:00" in ticks and "03:00" in ticks
    assert ax.get_xlabel() == "time (UTC)"
    assert ax.get_ylabel() == "events per 1h"
    assert ax.get_title() == "Events per 1h by eventName (8 events)"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == [WINDOW_LABEL, FAILED_LABEL, "GetObject", "ListBuckets", "PutBucketPolicy"]


def test_freq_is_chosen_from_the_span(events, small_trail) -> None:
    ax = events_over_time(events, start=small_trail.start, end=small_trail.end).axes[0]
    assert ax.get_ylabel() == "events per 1min"  # 01:30 to 03:30 is 120 one-minute bins


def test_one_series_when_by_is_none(events) -> None:
    figure = events_over_time(events, by=None, freq="1h")
    assert bars(figure) == {"events": [("01:00", 0, 1), ("02:00", 0, 6), ("03:00", 0, 1)]}
    assert figure.axes[0].get_title() == "Events per 1h (8 events)"


def test_rare_values_are_grouped_and_missing_ones_named(events) -> None:
    by_top = bars(events_over_time(events, freq="1h", top=1))
    assert list(by_top) == ["GetObject", "(other)"]
    assert [h for _, _, h in by_top["(other)"]] == [0, 4, 0]
    by_error = bars(events_over_time(events, freq="1h", by="errorCode"))
    assert {label: sum(h for _, _, h in b) for label, b in by_error.items()} == {"(none)": 6, "AccessDenied": 2}


def test_no_events_says_so_and_still_shows_the_window(events, small_trail) -> None:
    figure = events_over_time(events.iloc[:0], start=small_trail.start, end=small_trail.end)
    ax = figure.axes[0]
    assert [t.get_text() for t in ax.texts] == [NO_EVENTS]
    assert ax.containers == []
    assert window_span(figure) == ("2024-03-14T02:00:00+00:00", "2024-03-14T03:00:00+00:00")
    assert ax.get_title().endswith("(0 events)")
    figure.savefig(io.BytesIO(), format="png")


def test_no_events_and_no_window_still_draws() -> None:
    from forensics.schema import empty_events

    figure = events_over_time(empty_events())
    assert [t.get_text() for t in figure.axes[0].texts] == [NO_EVENTS]
    figure.savefig(io.BytesIO(), format="png")


def test_draws_into_given_axes() -> None:
    figure = Figure()
    ax = figure.add_subplot()
    assert events_over_time(pd.DataFrame({"eventTime": pd.Series([], dtype="datetime64[us, UTC]")}), ax=ax) is figure


@pytest.mark.parametrize(
    ("raw", "label"),
    [
        ("$x$", r"\$x\$"),
        ("_nolegend_", " _nolegend_"),
        ("\x1b[31mred", "\\x1b[31mred"),
        ("a" * 50, "a" * 40 + "… (truncated, 50 chars)"),
    ],
)
def test_plot_label_neutralises_evidence_text(raw: str, label: str) -> None:
    assert plot_label(raw) == label


def test_hostile_event_names_render(tmp_path) -> None:
    """Invalid TeX or legend-hiding names in evidence neither break the figure nor vanish."""
    names = ["$\\frac{$", "_nolegend_", "\u202eevil"]
    records = [record(f"h{i}", "2024-03-14T02:00:00Z", name=n) for i, n in enumerate(names)]
    write_log(tmp_path, "20240314T0300Z", records)
    figure = events_over_time(load_cloudtrail(tmp_path).events)
    figure.savefig(io.BytesIO(), format="png")
    legend = sorted(t.get_text() for t in figure.axes[0].get_legend().get_texts())
    assert legend == sorted(["\\$\\frac{\\$", " _nolegend_", "<U+202E>evil"])
