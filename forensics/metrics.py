"""CloudWatch metric data around an incident: from GetMetricData or its saved JSON.

One long frame holds every series: one row per datapoint, named by ``namespace``,
``metric``, ``dimensions`` and ``stat``. Two sources give the same frame:

* a boto3 CloudWatch client plus an :class:`~forensics.window.Incident` and a list of
  ``MetricDataQueries``: the window is widened to whole periods, the period is the finest
  one CloudWatch still keeps for data that old (:data:`RETENTION`), and every page
  (``NextToken``) of every batch of 500 queries is read;
* the JSON that ``aws cloudwatch get-metric-data`` writes, with the ``MetricDataQueries``
  JSON that was sent, so each ``Id`` gets its namespace, metric and dimensions back.

A query that did not finish (``StatusCode`` ``PartialData``, ``InternalError``,
``Forbidden``) is never silent: every row carries its query's ``status``, the frame's
``attrs["report"]`` is a :class:`MetricReport` with one :class:`QueryStatus` per query
(so a query that returned nothing is still listed), and a :class:`MetricsWarning` is
issued.

Which metrics exist for the resources of some events, and the queries to load them, is
:func:`forensics.discovery.discover_metrics` (importable from here too).
"""

from __future__ import annotations

import copy
import json
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from os import PathLike
from pathlib import Path
from typing import Any

import pandas as pd
from botocore.client import BaseClient

from forensics.discovery import (  # noqa: F401 (discovery's names stay importable from here)
    DEFAULT_STAT,
    DISCOVERY_COLUMNS,
    METRIC_STATS,
    RESOURCE_DIMENSIONS,
    SKIPPED_COLUMNS,
    Discovery,
    ResourceDimension,
    dimensions_text,
    discover_metrics,
    parse_dimensions,
)
from forensics.errors import MetricsError, ParameterError, SourceError
from forensics.window import Incident, TimeLike, parse_time

#: A ``MetricDataQuery`` as boto3 and the AWS CLI take it.
Query = dict[str, Any]

#: Columns of the metric data frame, in order.
METRIC_COLUMNS: tuple[str, ...] = (
    "timestamp",
    "namespace",
    "metric",
    "dimensions",
    "stat",
    "value",
    "period",
    "id",
    "label",
    "status",
)

#: GetMetricData takes at most this many queries per call.
MAX_QUERIES_PER_CALL = 500


class MetricsWarning(UserWarning):
    """Metric or alarm data was read, but not all of it (see the frame's ``attrs["report"]``)."""


# --------------------------------------------------------------------------- periods


@dataclass(frozen=True)
class Retention:
    """How long CloudWatch keeps datapoints of one period.

    Attributes
    ----------
    period
        Period in seconds.
    kept
        How long datapoints of that period stay available.
    """

    period: int
    kept: pd.Timedelta


#: CloudWatch's retention schedule, finest period first.
RETENTION: tuple[Retention, ...] = (
    Retention(60, pd.Timedelta(days=15)),
    Retention(300, pd.Timedelta(days=63)),
    Retention(3600, pd.Timedelta(days=455)),
)


@dataclass(frozen=True)
class QueryWindow:
    """The time range and period of one GetMetricData request.

    Attributes
    ----------
    start, end
        The incident's padded window widened to whole periods (see :func:`align_window`;
        counted from the Unix epoch, so one-hour periods start on the hour).
    period
        The finest period CloudWatch keeps for data as old as ``start``, or the coarser
        one asked for.
    """

    start: pd.Timestamp
    end: pd.Timestamp
    period: int


def choose_period(start: TimeLike, now: TimeLike | None = None) -> int:
    """Return the finest period (seconds) CloudWatch still keeps for data from ``start``.

    Parameters
    ----------
    start
        Oldest time the query needs.
    now
        The present (default: the clock); injectable for tests.

    Raises
    ------
    MetricsError
        If the data is older than the coarsest retention (455 days): it is gone.

    Examples
    --------
    >>> choose_period("2024-03-01T00:00:00Z", now="2024-03-20T00:00:00Z")
    300
    """
    first = parse_time(start, "start")
    present = _now(now)
    age = present - first
    for rule in RETENTION:
        if age <= rule.kept:
            return rule.period
    oldest = RETENTION[-1]
    raise MetricsError(
        f"metric data from {first.isoformat()} is {age.days} days old; CloudWatch keeps datapoints "
        f"for at most {oldest.kept.days} days (period {oldest.period} s), so it is gone. "
        "Use metrics exported at the time (get-metric-data JSON) instead."
    )


def align_window(start: TimeLike, end: TimeLike, align: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Widen ``start``..``end`` (inclusive) to whole periods of ``align`` seconds since the epoch.

    The result is the start of the period holding ``start`` and the end of the period
    holding ``end``: GetMetricData's ``EndTime`` is exclusive, so the datapoint stamped
    ``end`` is still returned.

    Examples
    --------
    >>> align_window("2024-03-14T02:07:30Z", "2024-03-14T02:10:00Z", 300)
    (Timestamp('2024-03-14 02:05:00+0000', tz='UTC'), Timestamp('2024-03-14 02:15:00+0000', tz='UTC'))
    """
    lo, hi = parse_time(start, "start"), parse_time(end, "end")
    step = pd.Timedelta(seconds=align)
    return lo.floor(step), hi.floor(step) + step


def query_window(incident: Incident, *, now: TimeLike | None = None, period: int | None = None) -> QueryWindow:
    """Return the aligned window and period for metric data of ``incident``.

    Parameters
    ----------
    incident
        The window; its padded bounds are queried.
    now
        The present (default: the clock); decides which periods are still kept.
    period
        A coarser period to use instead of the finest kept one; it must be a multiple of it.

    Raises
    ------
    MetricsError
        If the data is gone, or ``period`` is finer than CloudWatch keeps for data this old.
    """
    finest = choose_period(incident.padded_start, now)
    chosen = finest if period is None else int(period)
    if chosen <= 0 or chosen % finest:
        raise MetricsError(
            f"period={period} is not a multiple of {finest} s, the finest period CloudWatch keeps "
            f"for data from {incident.padded_start.isoformat()}"
        )
    lo, hi = align_window(incident.padded_start, incident.padded_end, chosen)
    return QueryWindow(lo, hi, chosen)


# --------------------------------------------------------------------------- report


@dataclass(frozen=True)
class QueryStatus:
    """How one query of a metric load ended.

    Attributes
    ----------
    id, label
        The query's ``Id`` and label.
    status
        Final ``StatusCode`` (``Complete``, ``PartialData``, ``InternalError``, ``Forbidden``).
    points
        Datapoints read.
    messages
        ``Messages`` CloudWatch attached to the query, as ``Code: Value`` text.
    """

    id: str
    label: str
    status: str
    points: int
    messages: tuple[str, ...] = ()


@dataclass(frozen=True)
class MetricReport:
    """What a metric load asked for and what came back.

    Attributes
    ----------
    source
        ``"GetMetricData"`` or the path of the JSON file.
    start, end, period
        The request's aligned window and period (``None`` offline when unknown).
    queries
        One :class:`QueryStatus` per query, in the order given.
    messages
        Response-level ``Messages``.
    calls
        GetMetricData calls made (pages read, offline).
    outside_window
        Datapoints dropped because they lie outside the incident's padded window.
    """

    source: str
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    period: int | None
    queries: tuple[QueryStatus, ...] = ()
    messages: tuple[str, ...] = ()
    calls: int = 0
    outside_window: int = 0

    @property
    def ok(self) -> bool:
        """True when every query is ``Complete`` and no response message was attached."""
        return not self.messages and all(q.status == "Complete" for q in self.queries)

    def problems(self) -> pd.DataFrame:
        """Queries that did not complete: ``id``, ``label``, ``status``, ``points``, ``messages``."""
        rows = [
            (q.id, q.label, q.status, q.points, "; ".join(q.messages))
            for q in self.queries
            if q.status != "Complete" or q.messages
        ]
        return pd.DataFrame(rows, columns=["id", "label", "status", "points", "messages"])


def metric_report(frame: pd.DataFrame) -> MetricReport:
    """Return the :class:`MetricReport` a :func:`load_metric_data` frame carries."""
    report = frame.attrs.get("report")
    if not isinstance(report, MetricReport):
        raise ParameterError("this frame carries no metric report; it did not come from load_metric_data")
    return report


# --------------------------------------------------------------------------- loading


def load_metric_data(
    source: BaseClient | str | PathLike[str] | None = None,
    queries: Sequence[Query] | str | PathLike[str] | None = None,
    *,
    incident: Incident | None = None,
    client: BaseClient | None = None,
    now: TimeLike | None = None,
    period: int | None = None,
) -> pd.DataFrame:
    """Load CloudWatch metric data into one long frame.

    Parameters
    ----------
    source
        A boto3 CloudWatch client, or the path of a JSON file written by
        ``aws cloudwatch get-metric-data`` (one response, or a list of pages).
    queries
        The ``MetricDataQueries``: a list of dicts, or the path of their JSON (a list, or
        an object with a ``MetricDataQueries`` key). Live, they are sent; offline, they name
        each ``Id`` of the file. ``MetricStat`` queries get the window's period unless they
        ask for a coarser multiple of it.
    incident
        The window. Required with a client; offline it trims the datapoints to the padded
        window (the trimmed count is in the report).
    client
        Alternative to passing the client as ``source``.
    now
        The present, which decides the period (default: the clock). For tests.
    period
        A coarser period than the finest one still kept (seconds).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`METRIC_COLUMNS`: ``timestamp`` (UTC, start of the period), ``namespace``,
        ``metric``, ``dimensions`` (see :func:`dimensions_text`), ``stat``, ``value``,
        ``period`` (seconds), the query's ``id`` and ``label``, and its final ``status``.
        Sorted by query order, then time. ``attrs["report"]`` holds a :class:`MetricReport`.

    Raises
    ------
    MetricsError
        If the data is too old, a query is malformed, or a result names an unknown ``Id``.
    SourceError
        If the JSON file cannot be read.

    Examples
    --------
    >>> inc = Incident("2024-03-14T02:00:00Z", "2024-03-14T03:00:00Z")  # doctest: +SKIP
    >>> load_metric_data(cloudwatch, queries, incident=inc)  # doctest: +SKIP
    """
    if source is not None and client is not None:
        raise ParameterError("give the CloudWatch client as source or as client=, not both")
    origin = client if source is None else source
    if origin is None:
        raise ParameterError("load_metric_data needs a CloudWatch client or a get-metric-data JSON path")
    if isinstance(origin, (str, PathLike)):
        frame = _load_offline(Path(origin), queries, incident)
    elif isinstance(origin, BaseClient):
        if incident is None:
            raise ParameterError("load_metric_data with a client needs incident=Incident(start, end)")
        if queries is None:
            raise ParameterError("load_metric_data with a client needs queries (see discover_metrics)")
        frame = _load_live(origin, _read_queries(queries), incident, now, period)
    else:
        raise ParameterError(
            f"source must be a boto3 CloudWatch client or a JSON path, not {type(origin).__name__}"
        )
    report = metric_report(frame)
    if not report.ok:
        detail = "; ".join(f"{q.id}: {q.status} ({q.points} points)" for q in report.queries if q.status != "Complete")
        warnings.warn(
            f"metric data from {report.source} is incomplete: {detail or '; '.join(report.messages)}",
            MetricsWarning,
            stacklevel=2,
        )
    return frame


@dataclass
class _Series:
    """Datapoints of one query accumulated over pages."""

    label: str = ""
    status: str = "Complete"
    timestamps: list[Any] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)


def _load_live(
    client: BaseClient,
    queries: list[Query],
    incident: Incident,
    now: TimeLike | None,
    period: int | None,
) -> pd.DataFrame:
    window = query_window(incident, now=now, period=period)
    prepared = [_with_period(q, window.period) for q in queries]
    align = math.lcm(window.period, *(q["MetricStat"]["Period"] for q in prepared if "MetricStat" in q))
    start, end = align_window(incident.padded_start, incident.padded_end, align)
    series: dict[str, _Series] = {q["Id"]: _Series() for q in prepared}
    messages: list[str] = []
    calls = 0
    for first in range(0, len(prepared), MAX_QUERIES_PER_CALL):
        batch = prepared[first : first + MAX_QUERIES_PER_CALL]
        token: str | None = None
        seen: set[str] = set()
        while True:
            request: dict[str, Any] = {
                "MetricDataQueries": batch,
                "StartTime": start.to_pydatetime(),
                "EndTime": end.to_pydatetime(),
                "ScanBy": "TimestampAscending",
            }
            if token:
                request["NextToken"] = token
            page = client.get_metric_data(**request)
            calls += 1
            _add_page(page, series, messages)
            token = page.get("NextToken")
            if not token:
                break
            if token in seen:
                raise MetricsError(f"GetMetricData returned the same NextToken twice ({token[:20]}...)")
            seen.add(token)
    report = MetricReport("GetMetricData", start, end, window.period, calls=calls)
    return _frame(prepared, series, messages, report, None)


def _load_offline(
    path: Path, queries: Sequence[Query] | str | PathLike[str] | None, incident: Incident | None
) -> pd.DataFrame:
    if queries is None:
        raise ParameterError(
            f"{path}: offline metric data needs the MetricDataQueries JSON that was sent, "
            "to name each Id (queries=...)"
        )
    named = _read_queries(queries)
    document = read_json(path)
    pages = document if isinstance(document, list) else [document]
    if not all(isinstance(p, dict) and isinstance(p.get("MetricDataResults"), list) for p in pages):
        raise SourceError("not get-metric-data output (no MetricDataResults list)", str(path))
    known = {q["Id"] for q in named}
    found = {r.get("Id") for p in pages for r in p["MetricDataResults"]}
    unknown = sorted(str(i) for i in found - known)
    if unknown:
        raise MetricsError(f"{path}: results {unknown} have no query in the MetricDataQueries given")
    series: dict[str, _Series] = {q["Id"]: _Series() for q in named}
    messages: list[str] = []
    for page in pages:
        _add_page(page, series, messages)
    report = MetricReport(str(path), None, None, None, calls=len(pages))
    return _frame(named, series, messages, report, incident)


def _add_page(page: Mapping[str, Any], series: dict[str, _Series], messages: list[str]) -> None:
    for result in page.get("MetricDataResults", []):
        acc = series.setdefault(str(result.get("Id")), _Series())
        acc.label = result.get("Label", acc.label) or acc.label
        acc.status = result.get("StatusCode", "Complete")
        acc.timestamps.extend(result.get("Timestamps", []))
        acc.values.extend(result.get("Values", []))
        for message in map(_message_text, result.get("Messages", [])):
            if message not in acc.messages:
                acc.messages.append(message)
    messages.extend(_message_text(m) for m in page.get("Messages", []))


def _message_text(message: Mapping[str, Any]) -> str:
    return f"{message.get('Code', '?')}: {message.get('Value', '')}"


def _frame(
    queries: list[Query],
    series: dict[str, _Series],
    messages: list[str],
    report: MetricReport,
    incident: Incident | None,
) -> pd.DataFrame:
    parts: list[pd.DataFrame] = []
    statuses: list[QueryStatus] = []
    outside = 0
    for query in queries:
        acc = series[query["Id"]]
        namespace, metric, dims, stat, qperiod = _describe(query)
        label = acc.label or query.get("Label") or query["Id"]
        if len(acc.timestamps) != len(acc.values):
            raise MetricsError(
                f"{report.source}: query {query['Id']} has {len(acc.timestamps)} timestamps "
                f"but {len(acc.values)} values"
            )
        times = pd.to_datetime(pd.Series(acc.timestamps, dtype=object), utc=True, format="ISO8601", errors="coerce")
        if times.isna().any():
            bad = acc.timestamps[int(times.isna().to_numpy().argmax())]
            raise MetricsError(f"{report.source}: query {query['Id']} has a timestamp that is not a time: {bad!r}")
        values = pd.Series(acc.values, dtype="float64")
        part = pd.DataFrame({"timestamp": times.astype("datetime64[us, UTC]"), "value": values})
        if incident is not None:
            keep = incident.contains(part["timestamp"], padded=True)
            outside += int((~keep).sum())
            part = part[keep]
        part = part.sort_values("timestamp").assign(
            namespace=namespace, metric=metric, dimensions=dims, stat=stat,
            period=qperiod, id=query["Id"], label=label, status=acc.status,
        )
        parts.append(part)
        statuses.append(QueryStatus(query["Id"], label, acc.status, len(part), tuple(acc.messages)))
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(METRIC_COLUMNS))
    frame = frame.reindex(columns=list(METRIC_COLUMNS)).astype(
        {
            "timestamp": "datetime64[us, UTC]",
            "namespace": "str",
            "metric": "str",
            "dimensions": "str",
            "stat": "str",
            "value": "float64",
            "period": "Int64",
            "id": "str",
            "label": "str",
            "status": "str",
        }
    )
    frame.attrs["report"] = replace(report, queries=tuple(statuses), messages=tuple(messages), outside_window=outside)
    return frame


def _describe(query: Query) -> tuple[str | None, str, str, str | None, int | None]:
    """Namespace, metric, dimensions text, stat and period of one query."""
    stat = query.get("MetricStat")
    if stat:
        metric = stat["Metric"]
        period = stat.get("Period")
        return (
            metric.get("Namespace"),
            metric["MetricName"],
            dimensions_text(metric.get("Dimensions")),
            stat.get("Stat"),
            None if period is None else int(period),
        )
    text = query.get("Expression") or ""
    period = query.get("Period")
    return None, query.get("Label") or text, "", None, None if period is None else int(period)


def _with_period(query: Query, finest: int) -> Query:
    out = copy.deepcopy(query)
    stat = out.get("MetricStat")
    if stat is None:
        return out
    asked = stat.get("Period")
    if asked is None or int(asked) < finest:
        stat["Period"] = finest
    elif int(asked) % finest:
        raise MetricsError(
            f"query {out['Id']} asks Period {asked} s, which is not a multiple of {finest} s, "
            "the finest period kept for data this old"
        )
    return out


def _read_queries(queries: Sequence[Query] | str | PathLike[str]) -> list[Query]:
    if isinstance(queries, (str, PathLike)):
        document = read_json(Path(queries))
        if isinstance(document, dict):
            document = document.get("MetricDataQueries")
        if not isinstance(document, list):
            raise SourceError("not a MetricDataQueries list", str(queries))
        queries = document
    out = list(queries)
    for position, query in enumerate(out):
        if not isinstance(query, Mapping) or not isinstance(query.get("Id"), str):
            raise MetricsError(f"query {position} has no Id: {query!r}")
        if "MetricStat" not in query and "Expression" not in query:
            raise MetricsError(f"query {query['Id']} has neither MetricStat nor Expression")
        if "MetricStat" in query and "MetricName" not in query["MetricStat"].get("Metric", {}):
            raise MetricsError(f"query {query['Id']}: MetricStat.Metric has no MetricName")
    ids = [q["Id"] for q in out]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise MetricsError(f"query Ids {twice} are used more than once")
    return [dict(q) for q in out]


def read_json(path: Path) -> Any:
    """Read one JSON document, raising :class:`SourceError` with the path when it cannot be read."""
    try:
        with path.open("rb") as handle:
            return json.load(handle)
    except FileNotFoundError:
        raise SourceError("file not found", str(path)) from None
    except (OSError, ValueError) as exc:
        raise SourceError(f"cannot read JSON ({exc})", str(path)) from None


def _now(now: TimeLike | None) -> pd.Timestamp:
    return pd.Timestamp.now(tz="UTC") if now is None else parse_time(now, "now")
