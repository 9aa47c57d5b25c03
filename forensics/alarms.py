"""CloudWatch alarms: their definitions and their state history, as frames.

Both come from a boto3 CloudWatch client (``DescribeAlarms``, ``DescribeAlarmHistory``,
every page) or from the JSON the AWS CLI writes for the same calls.

In the history, ``HistoryData`` is itself a JSON string holding the old and new state.
An item whose ``HistoryData`` cannot be read is kept, not dropped: its states are taken
from ``HistorySummary`` ("Alarm updated from OK to ALARM") when possible, its ``issue``
column says what was wrong, it is counted in the frame's ``attrs["report"]``
(:class:`HistoryReport`), and a :class:`~forensics.metrics.MetricsWarning` is issued.
"""

from __future__ import annotations

import json
import re
import warnings
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import pandas as pd
from botocore.client import BaseClient

from forensics.errors import ParameterError, SourceError
from forensics.metrics import MetricsWarning, dimensions_text, read_json
from forensics.window import Incident, TimeLike, parse_time

#: Columns of the alarms frame, in order.
ALARM_COLUMNS: tuple[str, ...] = (
    "alarm_name",
    "arn",
    "kind",
    "namespace",
    "metric",
    "dimensions",
    "statistic",
    "period",
    "evaluation_periods",
    "datapoints_to_alarm",
    "threshold",
    "comparison",
    "treat_missing_data",
    "expression",
    "state",
    "state_reason",
    "state_updated",
    "actions_enabled",
    "actions",
    "description",
)

#: Columns of the alarm history frame, in order.
HISTORY_COLUMNS: tuple[str, ...] = (
    "alarm_name",
    "alarm_type",
    "time",
    "old_state",
    "new_state",
    "reason",
    "summary",
    "reason_data",
    "issue",
)

#: How long CloudWatch keeps alarm history.
HISTORY_KEPT = pd.Timedelta(days=30)

_SUMMARY = re.compile(r"from (\w+) to (\w+)")


# --------------------------------------------------------------------------- definitions


def load_alarms(source: BaseClient | str | PathLike[str]) -> pd.DataFrame:
    """Load CloudWatch alarm definitions.

    Parameters
    ----------
    source
        A boto3 CloudWatch client (``DescribeAlarms``, metric and composite alarms, every
        page) or the path of ``aws cloudwatch describe-alarms`` output (one response or a
        list of pages).

    Returns
    -------
    pandas.DataFrame
        One row per alarm, columns :data:`ALARM_COLUMNS`. ``kind`` is ``metric`` (one
        metric), ``math`` (metric math: namespace, metric, dimensions, statistic and period
        are those of its first metric, ``expression`` the formula) or ``composite``
        (``expression`` is the alarm rule). ``dimensions`` uses
        :func:`forensics.metrics.dimensions_text`; ``actions`` joins the alarm actions with
        spaces.
    """
    request = {"AlarmTypes": ["MetricAlarm", "CompositeAlarm"]}
    pages = _pages(source, "describe_alarms", ("MetricAlarms", "CompositeAlarms"), request)
    rows = [_metric_alarm(a) for page in pages for a in page.get("MetricAlarms", [])]
    rows += [_composite_alarm(a) for page in pages for a in page.get("CompositeAlarms", [])]
    frame = pd.DataFrame(rows, columns=list(ALARM_COLUMNS))
    frame["state_updated"] = _utc(frame["state_updated"])
    return frame.astype(
        {
            "period": "Int64",
            "evaluation_periods": "Int64",
            "datapoints_to_alarm": "Int64",
            "threshold": "float64",
            "actions_enabled": "boolean",
        }
    ).sort_values("alarm_name", ignore_index=True)


def _metric_alarm(alarm: Mapping[str, Any]) -> dict[str, Any]:
    row = _common(alarm)
    metrics = alarm.get("Metrics") or []
    if metrics:
        stats = [m["MetricStat"] for m in metrics if "MetricStat" in m]
        first = stats[0] if stats else {}
        metric = first.get("Metric", {})
        returned = [m for m in metrics if m.get("ReturnData", True) and "Expression" in m]
        row.update(
            kind="math",
            namespace=metric.get("Namespace"),
            metric=metric.get("MetricName"),
            dimensions=dimensions_text(metric.get("Dimensions")),
            statistic=first.get("Stat"),
            period=first.get("Period"),
            expression=returned[0]["Expression"] if returned else None,
        )
    else:
        row.update(
            kind="metric",
            namespace=alarm.get("Namespace"),
            metric=alarm.get("MetricName"),
            dimensions=dimensions_text(alarm.get("Dimensions")),
            statistic=alarm.get("Statistic") or alarm.get("ExtendedStatistic"),
            period=alarm.get("Period"),
        )
    row.update(
        evaluation_periods=alarm.get("EvaluationPeriods"),
        datapoints_to_alarm=alarm.get("DatapointsToAlarm"),
        threshold=alarm.get("Threshold"),
        comparison=alarm.get("ComparisonOperator"),
        treat_missing_data=alarm.get("TreatMissingData"),
    )
    return row


def _composite_alarm(alarm: Mapping[str, Any]) -> dict[str, Any]:
    row = _common(alarm)
    row.update(kind="composite", expression=alarm.get("AlarmRule"))
    return row


def _common(alarm: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "alarm_name": alarm.get("AlarmName"),
        "arn": alarm.get("AlarmArn"),
        "state": alarm.get("StateValue"),
        "state_reason": alarm.get("StateReason"),
        "state_updated": alarm.get("StateUpdatedTimestamp"),
        "actions_enabled": alarm.get("ActionsEnabled"),
        "actions": " ".join(alarm.get("AlarmActions") or []),
        "description": alarm.get("AlarmDescription"),
    }


# --------------------------------------------------------------------------- history


@dataclass(frozen=True)
class HistoryIssue:
    """One history item whose ``HistoryData`` could not be read.

    Attributes
    ----------
    item
        Position of the item in the source (page order).
    alarm_name, time
        Which alarm and when.
    problem
        What was wrong.
    """

    item: int
    alarm_name: str
    time: str
    problem: str


@dataclass(frozen=True)
class HistoryReport:
    """What an alarm-history load read.

    Attributes
    ----------
    source
        ``"DescribeAlarmHistory"`` or the path of the JSON file.
    items
        History items read.
    state_changes
        Items kept as state changes (rows of the frame).
    other_types
        Items of other types (``ConfigurationUpdate``, ``Action``, ...) and how many,
        as ``(type, count)`` pairs; they are not state changes.
    outside_window
        State changes dropped because they lie outside the incident's padded window.
    issues
        Items kept whose ``HistoryData`` or ``Timestamp`` could not be read.
    gone_before
        Asked of the API for a window reaching further back than CloudWatch keeps history
        (:data:`HISTORY_KEPT`): changes before this time are gone, not absent.
    """

    source: str
    items: int = 0
    state_changes: int = 0
    other_types: tuple[tuple[str, int], ...] = ()
    outside_window: int = 0
    issues: tuple[HistoryIssue, ...] = ()
    gone_before: pd.Timestamp | None = None

    @property
    def ok(self) -> bool:
        """True when every state change was read completely and none is gone."""
        return not self.issues and self.gone_before is None


def history_report(frame: pd.DataFrame) -> HistoryReport:
    """Return the :class:`HistoryReport` a :func:`load_alarm_history` frame carries."""
    report = frame.attrs.get("report")
    if not isinstance(report, HistoryReport):
        raise ParameterError("this frame carries no history report; it did not come from load_alarm_history")
    return report


def load_alarm_history(
    source: BaseClient | str | PathLike[str], *, incident: Incident | None = None, now: TimeLike | None = None
) -> pd.DataFrame:
    """Load the state changes of CloudWatch alarms.

    Parameters
    ----------
    source
        A boto3 CloudWatch client (``DescribeAlarmHistory`` for state updates of metric and
        composite alarms, every page, within the incident's padded window) or the path of
        ``aws cloudwatch describe-alarm-history`` output (one response or a list of pages).
    incident
        The window. With a client it bounds the request; offline it trims the rows (the
        trimmed count is in the report).
    now
        The present (default: the clock), to tell whether the window reaches back past the
        30 days of history CloudWatch keeps; if it does, the report says from when
        changes are gone and a :class:`~forensics.metrics.MetricsWarning` is issued.

    Returns
    -------
    pandas.DataFrame
        One row per state change, columns :data:`HISTORY_COLUMNS`: ``time`` (UTC),
        ``old_state`` and ``new_state`` (``OK``, ``ALARM``, ``INSUFFICIENT_DATA``),
        ``reason`` (the new state's reason), ``summary``, ``reason_data`` (the new state's
        ``stateReasonData`` as JSON text, with the datapoints that were evaluated) and
        ``issue`` (why ``HistoryData`` or ``Timestamp`` could not be read, else missing).
        Sorted by time; a change whose time cannot be read has ``NaT``, sorts last and is
        kept whatever the window.
        ``attrs["report"]`` holds a :class:`HistoryReport`.
    """
    request: dict[str, Any] = {"HistoryItemType": "StateUpdate", "AlarmTypes": ["MetricAlarm", "CompositeAlarm"]}
    if incident is not None:
        request.update(StartDate=incident.padded_start.to_pydatetime(), EndDate=incident.padded_end.to_pydatetime())
    request["ScanBy"] = "TimestampAscending"
    gone_before = None
    if incident is not None and isinstance(source, BaseClient):
        kept_from = (pd.Timestamp.now(tz="UTC") if now is None else parse_time(now, "now")) - HISTORY_KEPT
        gone_before = kept_from if incident.padded_start < kept_from else None
    pages = _pages(source, "describe_alarm_history", ("AlarmHistoryItems",), request)
    items = [item for page in pages for item in page.get("AlarmHistoryItems", [])]
    rows: list[dict[str, Any]] = []
    issues: list[HistoryIssue] = []
    others: Counter[str] = Counter()
    for position, item in enumerate(items):
        kind = item.get("HistoryItemType", "StateUpdate")
        if kind != "StateUpdate":
            others[str(kind)] += 1
            continue
        row = _state_change(item)
        if row["issue"] is not None:
            issues.append(HistoryIssue(position, str(row["alarm_name"]), str(item.get("Timestamp")), row["issue"]))
        rows.append(row)
    frame = pd.DataFrame(rows, columns=list(HISTORY_COLUMNS))
    frame["time"] = _utc(frame["time"])
    frame = frame.astype({c: "str" for c in HISTORY_COLUMNS if c != "time"})
    outside = 0
    if incident is not None:
        # a change that cannot be placed in time is kept, never counted as outside the window
        keep = incident.contains(frame["time"], padded=True) | frame["time"].isna()
        outside = int((~keep).sum())
        frame = frame[keep]
    frame = frame.sort_values(["time", "alarm_name"], kind="stable", ignore_index=True)
    report = HistoryReport(
        _source_name(source, "DescribeAlarmHistory"),
        items=len(items),
        state_changes=len(frame),
        other_types=tuple(sorted(others.items())),
        outside_window=outside,
        issues=tuple(issues),
        gone_before=gone_before,
    )
    frame.attrs["report"] = report
    if gone_before is not None:
        warnings.warn(
            f"CloudWatch keeps alarm history for {HISTORY_KEPT.days} days: state changes before "
            f"{gone_before:%Y-%m-%d %H:%M} UTC are gone, so their absence says nothing",
            MetricsWarning,
            stacklevel=2,
        )
    if issues:
        warnings.warn(
            f"{len(issues)} alarm history item(s) from {report.source} could not be read fully "
            f"(first: {issues[0].alarm_name} at {issues[0].time}: {issues[0].problem}); "
            "they are kept, with their states taken from the summary where needed (see the issue column)",
            MetricsWarning,
            stacklevel=2,
        )
    return frame


def _state_change(item: Mapping[str, Any]) -> dict[str, Any]:
    summary = item.get("HistorySummary")
    row: dict[str, Any] = {
        "alarm_name": item.get("AlarmName"),
        "alarm_type": item.get("AlarmType"),
        "time": item.get("Timestamp"),
        "summary": summary,
        "old_state": None,
        "new_state": None,
        "reason": None,
        "reason_data": None,
        "issue": None,
    }
    try:
        data = json.loads(item["HistoryData"])
        old, new = data["oldState"], data["newState"]
        row.update(old_state=old["stateValue"], new_state=new["stateValue"], reason=new.get("stateReason"))
        if new.get("stateReasonData") is not None:
            row["reason_data"] = json.dumps(new["stateReasonData"], sort_keys=True)
    except KeyError as exc:
        row["issue"] = f"HistoryData lacks {exc}"
    except (TypeError, ValueError) as exc:
        row["issue"] = f"HistoryData is not a JSON object ({exc})"
    if pd.isna(pd.to_datetime(row["time"], utc=True, format="ISO8601", errors="coerce")):
        row["issue"] = "; ".join(filter(None, [row["issue"], f"Timestamp {row['time']!r} is not a time"]))
    if row["issue"] is not None and row["new_state"] is None:
        found = _SUMMARY.search(summary) if isinstance(summary, str) else None
        if found:
            row.update(old_state=found.group(1), new_state=found.group(2))
    return row


# --------------------------------------------------------------------------- shared


def _pages(
    source: BaseClient | str | PathLike[str], operation: str, keys: tuple[str, ...], request: Mapping[str, Any]
) -> list[Mapping[str, Any]]:
    """Every response page, from a client's paginator or from a saved JSON file holding ``keys``."""
    if isinstance(source, BaseClient):
        return list(source.get_paginator(operation).paginate(**request))
    if not isinstance(source, (str, PathLike)):
        raise ParameterError(f"source must be a boto3 CloudWatch client or a JSON path, not {type(source).__name__}")
    document = read_json(Path(source))
    pages = document if isinstance(document, list) else [document]
    command = operation.replace("_", "-")
    if not all(isinstance(p, dict) and all(isinstance(p.get(k, []), list) for k in keys) for p in pages):
        raise SourceError(f"not {command} output ({' or '.join(keys)} is not a list)", str(source))
    if not any(k in p for p in pages for k in keys):
        raise SourceError(f"not {command} output (no {' or '.join(keys)})", str(source))
    return pages


def _source_name(source: object, operation: str) -> str:
    return str(source) if isinstance(source, (str, PathLike)) else operation


def _utc(values: pd.Series) -> pd.Series:
    """Times as UTC; an unreadable one becomes ``NaT``."""
    series = pd.Series(list(values), index=values.index, dtype=object)
    return pd.to_datetime(series, utc=True, format="ISO8601", errors="coerce").astype("datetime64[us, UTC]")
