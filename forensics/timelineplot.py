"""Stacked panels on one UTC time axis: metric series, alarms, CloudTrail calls, probable causes.

:func:`alarm_panels` draws one panel per metric series (its alarm thresholds as dashed
lines, the periods its alarms spent in ``ALARM`` shaded red) and a last panel with the
CloudTrail events as markers, one row and colour per actor, failed calls crossed out.
The incident window is shaded grey on every panel and the rank-1 probable cause of each
alarm transition is marked and annotated on the panel of the alarm's metric.

Artists carry a ``gid`` naming what they show (``threshold:<alarm>``,
``alarm:<alarm>``, ``window``, ``cause:<eventID>``, ``events``, ``failed``), so tests
and notebooks can find them. Figures are built without pyplot (see :mod:`forensics.plots`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any

import matplotlib.dates as mdates
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from forensics.errors import ParameterError
from forensics.plots import OTHER, plot_label
from forensics.resources import base_action
from forensics.window import Incident

#: Metric panels drawn at most; more series are listed in the title as left out.
MAX_PANELS = 6
#: Actors that get their own row and colour in the events panel; the rest share ``(other)``.
MAX_ACTORS = 8
ALARM_COLOUR = "tab:red"
CAUSE_COLOUR = "tab:purple"

#: Comparison operators of alarms as symbols, for legends.
COMPARISONS: dict[str, str] = {
    "GreaterThanThreshold": ">",
    "GreaterThanOrEqualToThreshold": "≥",
    "LessThanThreshold": "<",
    "LessThanOrEqualToThreshold": "≤",
    "LessThanLowerOrGreaterThanUpperThreshold": "outside band",
    "LessThanLowerThreshold": "< band",
    "GreaterThanUpperThreshold": "> band",
}

_UTC = dt.UTC
_SSO_ROLE = re.compile(r"^AWSReservedSSO_(.+)_[0-9a-f]{16}(?=/)")


def alarm_panels(
    metrics: pd.DataFrame,
    *,
    events: pd.DataFrame | None = None,
    alarms: pd.DataFrame | None = None,
    alarm_history: pd.DataFrame | None = None,
    causes: pd.DataFrame | None = None,
    incident: Incident | None = None,
    series: Sequence[str] | None = None,
    max_actors: int = MAX_ACTORS,
) -> Figure:
    """Draw metric series, alarms and CloudTrail calls on a shared UTC time axis.

    Parameters
    ----------
    metrics
        A metric data frame (:func:`forensics.metrics.load_metric_data`).
    events
        An events frame; drawn in a last panel when given.
    alarms
        Alarm definitions (:func:`forensics.alarms.load_alarms`): an alarm whose namespace,
        metric and dimensions are a series' gets its threshold drawn on that panel.
    alarm_history
        Alarm state changes (:func:`forensics.alarms.load_alarm_history`): the time each
        alarm of a panel spent in ``ALARM`` is shaded.
    causes
        :func:`forensics.timeline.probable_causes`; each rank-1 cause is annotated.
    incident
        Shaded on every panel; the padded window sets the time axis.
    series
        Query ``id`` values to draw, in order (default: every series, those with an alarm
        first, at most :data:`MAX_PANELS`).
    max_actors
        Actors with their own row in the events panel.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per series, plus the events panel.
    """
    ids = _choose_series(metrics, alarms, series)
    panels = len(ids) + (events is not None)
    if panels == 0:
        raise ParameterError("nothing to draw: no metric series and no events")
    figure = Figure(figsize=(11, 2.3 * panels + 0.6), layout="constrained")
    axes = figure.subplots(panels, 1, sharex=True, squeeze=False)[:, 0]
    lo, hi = _bounds(metrics, events, incident)
    for ax in axes:
        if incident is not None:
            ax.axvspan(incident.start, incident.end, color="0.5", alpha=0.12, zorder=0, gid="window",
                       label="incident window" if ax is axes[0] else None)
        ax.grid(axis="x", color="0.9")
    for ax, qid in zip(axes, ids, strict=False):
        data = metrics[metrics["id"] == qid].sort_values("timestamp")
        own = _alarms_of(data.iloc[0], alarms) if alarms is not None and len(data) else pd.DataFrame()
        _metric_panel(ax, data, own, alarm_history, causes, lo, hi)
    if events is not None:
        shown = events if incident is None else events[incident.contains(events["eventTime"], padded=True)]
        _events_panel(axes[-1], shown, causes, max_actors)
    axes[0].set_xlim(lo, hi)
    locator = mdates.AutoDateLocator(tz=_UTC)
    axes[-1].xaxis.set_major_locator(locator)
    axes[-1].xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=_UTC))
    axes[-1].set_xlabel("time (UTC)")
    total = metrics["id"].nunique() if len(metrics) else 0
    title = "Metrics, alarms and API calls"
    if incident is not None:
        title += f": {incident.start:%Y-%m-%d %H:%M} to {incident.end:%Y-%m-%d %H:%M} UTC"
    if total > len(ids):
        title += f" (showing {len(ids)} of {total} series)"
    figure.suptitle(title)
    return figure


def _choose_series(metrics: pd.DataFrame, alarms: pd.DataFrame | None, series: Sequence[str] | None) -> list[str]:
    present = list(dict.fromkeys(metrics["id"].astype(str))) if len(metrics) else []
    if series is not None:
        missing = [s for s in series if s not in present]
        if missing:
            raise ParameterError(f"series {missing} are not in the metrics frame (ids: {present})")
        return list(series)
    if alarms is not None:
        firsts = metrics.drop_duplicates("id")
        alarmed = {str(r["id"]) for _, r in firsts.iterrows() if len(_alarms_of(r, alarms))}
        present.sort(key=lambda qid: qid not in alarmed)
    return present[:MAX_PANELS]


def _alarms_of(point: pd.Series, alarms: pd.DataFrame) -> pd.DataFrame:
    same = (
        alarms["namespace"].eq(point["namespace"])
        & alarms["metric"].eq(point["metric"])
        & alarms["dimensions"].eq(point["dimensions"])
    )
    return alarms[same.fillna(False).astype(bool)]


def _bounds(
    metrics: pd.DataFrame, events: pd.DataFrame | None, incident: Incident | None
) -> tuple[pd.Timestamp, pd.Timestamp]:
    if incident is not None:
        return incident.padded_start, incident.padded_end
    times = [metrics["timestamp"].dropna()] if len(metrics) else []
    if events is not None:
        times.append(events["eventTime"].dropna())
    every = pd.concat(times) if times else pd.Series(dtype="datetime64[us, UTC]")
    if not len(every):
        now = pd.Timestamp.now(tz="UTC").floor("h")
        return now - pd.Timedelta(hours=1), now
    return every.min(), max(every.max(), every.min() + pd.Timedelta(minutes=1))


def _metric_panel(ax: Axes, data: pd.DataFrame, own: pd.DataFrame, history: pd.DataFrame | None,
                  causes: pd.DataFrame | None, start: pd.Timestamp, end: pd.Timestamp) -> None:
    if len(data):
        first = data.iloc[0]
        ax.plot(data["timestamp"], data["value"], drawstyle="steps-post", marker=".", markersize=3, color="tab:blue")
        ax.set_title(plot_label(f"{first['namespace']} {first['metric']} {first['dimensions']} ({first['stat']})", 90),
                     fontsize="medium", loc="left")
        ax.set_ylabel(plot_label(first["stat"], 20))
    for alarm in own.itertuples(index=False):
        if pd.notna(alarm.threshold):
            symbol = COMPARISONS.get(str(alarm.comparison), str(alarm.comparison))
            ax.axhline(alarm.threshold, color=ALARM_COLOUR, linestyle="--", linewidth=1,
                       gid=f"threshold:{alarm.alarm_name}",
                       label=plot_label(f"{alarm.alarm_name} {symbol} {alarm.threshold:g}", 80))
        if history is not None:
            for begin, finish in alarm_periods(history, alarm.alarm_name, start, end):
                ax.axvspan(begin, finish, color=ALARM_COLOUR, alpha=0.18, gid=f"alarm:{alarm.alarm_name}")
        if causes is not None:
            best = causes[(causes["alarm_name"] == alarm.alarm_name) & (causes["rank"] == 1)]
            for cause in best[best["eventTime"].between(start, end)].itertuples(index=False):
                _mark_cause(ax, cause, annotate=True)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="best", fontsize="small", framealpha=0.8)


def alarm_periods(
    history: pd.DataFrame, alarm_name: str, start: pd.Timestamp, end: pd.Timestamp
) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """The ``(start, stop)`` intervals one alarm spent in ``ALARM``.

    An interval already open before the first change (a change *from* ``ALARM``) begins
    at ``start``; one still open after the last change runs to ``end``.

    Examples
    --------
    >>> h = pd.DataFrame({"alarm_name": ["a", "a"], "old_state": ["OK", "ALARM"], "new_state": ["ALARM", "OK"],
    ...                   "time": pd.to_datetime(["2024-03-14T02:31Z", "2024-03-14T02:58Z"])})
    >>> alarm_periods(h, "a", h["time"].min(), h["time"].max())
    [(Timestamp('2024-03-14 02:31:00+0000', tz='UTC'), Timestamp('2024-03-14 02:58:00+0000', tz='UTC'))]
    """
    own = history[history["alarm_name"] == alarm_name].dropna(subset=["time"]).sort_values("time")
    periods: list[tuple[pd.Timestamp, pd.Timestamp]] = []
    opened: pd.Timestamp | None = None
    for time, old, new in own[["time", "old_state", "new_state"]].itertuples(index=False):
        if new == "ALARM" and opened is None:
            opened = time
        elif new != "ALARM" and (opened is not None or old == "ALARM"):
            periods.append((start if opened is None else opened, time))
            opened = None
    if opened is not None:
        periods.append((opened, max(end, opened)))
    return periods


def _mark_cause(ax: Axes, cause: Any, annotate: bool) -> None:
    """A vertical line at a cause (a row of :func:`~forensics.timeline.probable_causes`), annotated or not."""
    at = cause.eventTime
    ax.axvline(at, color=CAUSE_COLOUR, linewidth=1.2, gid=f"cause:{cause.eventID}")
    if annotate:
        who = _short_actor(cause.actor).rsplit("/", 1)[-1]
        name = base_action(str(cause.eventName))
        doubt = ", low confidence" if cause.confidence == "low" else ""
        text = plot_label(f"{name} by {who}", 60) + f"\n{_lag(cause.lag)} before alarm{doubt}"
        ax.annotate(text, xy=(at, 1.0), xycoords=("data", "axes fraction"), xytext=(4, -4),
                    textcoords="offset points", va="top", fontsize="small", color=CAUSE_COLOUR,
                    bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "none", "alpha": 0.8},
                    gid=f"cause:{cause.eventID}")


def _events_panel(ax: Axes, events: pd.DataFrame, causes: pd.DataFrame | None, max_actors: int) -> None:
    ax.set_title(f"CloudTrail calls ({len(events):,})", fontsize="medium", loc="left")
    if not len(events):
        ax.text(0.5, 0.5, "no events", transform=ax.transAxes, ha="center", va="center", color="0.4")
        ax.set_yticks([])
        return
    actors = events["actor"].astype(object).where(events["actor"].notna(), "(none)").map(_short_actor)
    order = list(actors.value_counts().index[:max_actors])
    rows = actors.where(actors.isin(order), OTHER)
    if (rows == OTHER).any():
        order.append(OTHER)
    position = rows.map({name: i for i, name in enumerate(order)})
    colours = rows.map({name: f"C{i % 10}" for i, name in enumerate(order)})
    ax.scatter(events["eventTime"], position, c=colours.tolist(), s=22, zorder=3, gid="events")
    failed = events["errorCode"].notna().to_numpy()
    if failed.any():
        ax.scatter(events["eventTime"][failed], position[failed], marker="x", c="black", s=40, zorder=4,
                   gid="failed", label="failed call (errorCode)")
    ax.set_yticks(range(len(order)), [plot_label(name, 48) for name in order], fontsize="small")
    ax.set_ylim(-0.7, len(order) - 0.3)
    ax.invert_yaxis()
    if causes is not None:
        best = causes[(causes["rank"] == 1) & causes["eventID"].isin(events["eventID"])]
        for cause in best.itertuples(index=False):
            _mark_cause(ax, cause, annotate=False)
    if failed.any():
        ax.legend(loc="best", fontsize="small", framealpha=0.8)


def _short_actor(actor: object) -> str:
    """A short name for an actor ARN, for tick labels and annotations.

    Examples
    --------
    >>> _short_actor("arn:aws:sts::012345678901:assumed-role/DataPipelineRole/export-backfill")
    'DataPipelineRole/export-backfill'
    >>> _short_actor("arn:aws:sts::012345678901:assumed-role/AWSReservedSSO_Admin_ef1426cca2b7f211/dave@acme.example")
    'SSO Admin/dave@acme.example'
    >>> _short_actor("arn:aws:iam::012345678901:user/jane.admin")
    'user/jane.admin'
    """
    text = str(actor)
    if not text.startswith("arn:"):
        return text
    resource = text.split(":", 5)[-1]
    if resource.startswith("assumed-role/"):
        resource = _SSO_ROLE.sub(r"SSO \1", resource.removeprefix("assumed-role/"))
    return resource


def _lag(lag: object) -> str:
    seconds = int(pd.Timedelta(lag).total_seconds())
    return f"{seconds // 60} min" if seconds >= 120 else f"{seconds} s"
