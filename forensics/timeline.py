"""CloudTrail, CloudWatch and findings on one time axis, and "why did this alarm fire?".

* :func:`timeline` stacks events, metric datapoints, alarm state changes and findings in
  one frame (``time``, ``kind``, ``label``, ``ref`` back to the source row).
* :func:`probable_causes` ranks, for every alarm transition into ``ALARM``, the CloudTrail
  calls made before it on the alarm's resource (matched through the alarm's metric
  dimensions and :data:`forensics.discovery.RESOURCE_DIMENSIONS`), on related resources or
  in the same service. The score adds up, with the weights of :class:`Weights`: how
  closely the call matches the alarm's resource, whether a known cause pattern
  (:data:`CAUSE_PATTERNS`, declared as data) links the call to the alarm's metric, how
  recent the call is, and how rare its action is. Each row says why, and how confident
  the link is; a transition nothing in CloudTrail explains says so.
* :func:`change_points` (from :mod:`forensics.changepoints`, importable from here too)
  finds level shifts and spikes in each metric series and lists the API calls made just
  before each.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from forensics.changepoints import (  # noqa: F401 (change points stay importable from here)
    CHANGE_COLUMNS,
    Change,
    change_points,
    detect_changes,
)
from forensics.discovery import NAMESPACE_SERVICES, Touched, service_of  # noqa: F401 (re-exported)
from forensics.errors import SchemaError
from forensics.resources import base_action, extract_resources
from forensics.window import Incident

#: Kinds of timeline rows, in the order they sort at equal times.
KINDS: tuple[str, ...] = ("alarm", "event", "finding", "metric")
TIMELINE_COLUMNS: tuple[str, ...] = ("time", "kind", "label", "ref", "actor", "resource", "value", "detail")
CAUSE_COLUMNS: tuple[str, ...] = (
    "alarm_name", "alarm_time", "eventID", "eventName", "rank", "lag", "why",
    "actor", "score", "confidence", "match", "resource", "eventTime", "new_state",
)


# --------------------------------------------------------------------------- timeline


def timeline(
    events: pd.DataFrame,
    metrics: pd.DataFrame | None = None,
    alarm_history: pd.DataFrame | None = None,
    findings: pd.DataFrame | None = None,
    incident: Incident | None = None,
) -> pd.DataFrame:
    """One frame of everything that happened, sorted by time.

    Parameters
    ----------
    events
        An events frame (:mod:`forensics.schema`).
    metrics
        A metric data frame (:func:`forensics.metrics.load_metric_data`).
    alarm_history
        Alarm state changes (:func:`forensics.alarms.load_alarm_history`).
    findings
        Detection findings (``forensics.detect(...).findings``): ``eventTime`` and
        ``title``, with ``level``, ``actor`` and ``eventID`` when present.
    incident
        Keep only rows inside the padded window.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`TIMELINE_COLUMNS`: ``time`` (UTC), ``kind`` (``event``, ``metric``,
        ``alarm``, ``finding``), ``label``, ``ref`` (the index label of the row in its
        source frame, so ``events.loc[ref]`` gives it back), ``actor``, ``resource``
        (resource names, or the metric's dimensions, or the alarm name), ``value`` (metric
        value) and ``detail`` (error code, alarm reason, status).
    """
    parts = [_event_rows(events)]
    if metrics is not None and len(metrics):
        parts.append(
            pd.DataFrame(
                {
                    "time": metrics["timestamp"],
                    "kind": "metric",
                    "label": metrics["metric"].astype(str) + " " + metrics["stat"].fillna("").astype(str),
                    "ref": metrics.index,
                    "resource": metrics["dimensions"],
                    "value": metrics["value"],
                    "detail": metrics.get("status"),
                }
            )
        )
    if alarm_history is not None and len(alarm_history):
        parts.append(
            pd.DataFrame(
                {
                    "time": alarm_history["time"],
                    "kind": "alarm",
                    "label": alarm_history["alarm_name"].astype(str) + ": "
                    + alarm_history["old_state"].fillna("?").astype(str) + " → "
                    + alarm_history["new_state"].fillna("?").astype(str),
                    "ref": alarm_history.index,
                    "resource": alarm_history["alarm_name"],
                    "detail": alarm_history["reason"],
                }
            )
        )
    if findings is not None and len(findings):
        parts.append(_finding_rows(findings, events))
    frame = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) else parts[0]
    frame = frame.reindex(columns=list(TIMELINE_COLUMNS))
    frame["time"] = pd.to_datetime(frame["time"], utc=True).astype("datetime64[us, UTC]")
    frame["kind"] = pd.Categorical(frame["kind"], categories=list(KINDS))
    frame["value"] = frame["value"].astype("float64")
    for column in ("label", "actor", "resource", "detail"):
        frame[column] = frame[column].astype("str")
    if incident is not None:
        frame = frame[incident.contains(frame["time"], padded=True)]
    return frame.sort_values(["time", "kind"], kind="stable", ignore_index=True)


def _event_rows(events: pd.DataFrame) -> pd.DataFrame:
    names = _resource_names(events)
    failed = events["errorCode"].notna()
    return pd.DataFrame(
        {
            "time": events["eventTime"],
            "kind": "event",
            "label": events["eventName"].astype(str),
            "ref": events.index,
            "actor": events["actor"].astype(str),
            "resource": events["eventID"].map(names),
            "detail": events["errorCode"].astype(str).where(failed),
        }
    )


def _finding_rows(findings: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in ("eventTime", "title") if c not in findings.columns]
    if missing:
        raise SchemaError(f"findings lack columns {missing}; pass forensics.detect(...).findings")
    return pd.DataFrame(
        {
            "time": findings["eventTime"],
            "kind": "finding",
            "label": findings["title"].astype(str),
            "ref": findings.index,
            "actor": findings["actor"].astype(str) if "actor" in findings else None,
            "resource": findings["eventID"].map(_resource_names(events)) if "eventID" in findings else None,
            "detail": findings["level"].astype(str) if "level" in findings else None,
        }
    )


def _resource_names(events: pd.DataFrame) -> pd.Series:
    """eventID → the names of the resources it touched, comma-joined."""
    resources = extract_resources(events)
    if not len(resources):
        return pd.Series(dtype="str")
    names = resources.dropna(subset=["name"]).drop_duplicates(["eventID", "name"])
    return names.groupby("eventID", sort=False)["name"].agg(lambda s: ", ".join(map(str, s)))


# --------------------------------------------------------------------------- probable causes


@dataclass(frozen=True)
class CausePattern:
    """A known way an API call makes a metric move.

    Attributes
    ----------
    event_name
        The API action (without Lambda's version suffix).
    metric
        The metric it moves.
    namespace
        The metric's namespace; ``None`` for any.
    request
        ``requestParameters`` values that must hold, as ``(key, value)`` pairs.
    strength
        How strongly the call explains the metric (0..1); the best matching pattern counts.
    note
        Why, in words (shown in the ranking's ``why``).
    """

    event_name: str
    metric: str
    namespace: str | None = None
    request: tuple[tuple[str, object], ...] = ()
    strength: float = 1.0
    note: str = ""

    def matches(
        self, event_name: str, namespace: str | None, metric: str | None, request: Mapping[str, object]
    ) -> bool:
        """Whether this pattern links the call to the metric."""
        return (
            base_action(event_name) == self.event_name
            and metric == self.metric
            and (self.namespace is None or self.namespace == namespace)
            and all(key in request and request[key] == value for key, value in self.request)
        )


_P = CausePattern
#: Known cause patterns: call → metric. Add a line to teach the ranking a new one.
CAUSE_PATTERNS: tuple[CausePattern, ...] = (
    # RDS
    _P("StopDBInstance", "DatabaseConnections", "AWS/RDS", note="a stopped DB instance accepts no connections"),
    _P("StopDBInstance", "CPUUtilization", "AWS/RDS", strength=0.8, note="a stopped DB instance publishes no CPU data"),
    _P("DeleteDBInstance", "DatabaseConnections", "AWS/RDS", note="a deleted DB instance accepts no connections"),
    _P("RebootDBInstance", "DatabaseConnections", "AWS/RDS", strength=0.8, note="a reboot drops every connection"),
    _P("StartDBInstance", "DatabaseConnections", "AWS/RDS", strength=0.8,
       note="a started DB instance accepts connections again"),
    _P("StartDBInstance", "CPUUtilization", "AWS/RDS", strength=0.6,
       note="a started DB instance publishes CPU data again"),
    _P("StopDBCluster", "DatabaseConnections", "AWS/RDS", note="a stopped cluster accepts no connections"),
    _P("FailoverDBCluster", "DatabaseConnections", "AWS/RDS", strength=0.8, note="a failover drops connections"),
    _P("ModifyDBInstance", "DatabaseConnections", "AWS/RDS", strength=0.5,
       note="a modification applied immediately can restart the instance"),
    _P("ModifyDBInstance", "CPUUtilization", "AWS/RDS", strength=0.5, note="a new instance class changes CPU headroom"),
    # Lambda
    _P("PutFunctionConcurrency", "Throttles", "AWS/Lambda", request=(("reservedConcurrentExecutions", 0),),
       note="reserved concurrency 0 throttles every invocation"),
    _P("PutFunctionConcurrency", "Throttles", "AWS/Lambda", strength=0.7,
       note="lower reserved concurrency throttles invocations above it"),
    _P("DeleteFunctionConcurrency", "Throttles", "AWS/Lambda", strength=0.7,
       note="removing reserved concurrency lifts its cap"),
    _P("DeleteFunction", "Errors", None, note="callers of a deleted function fail"),
    _P("DeleteFunction", "Invocations", "AWS/Lambda", note="a deleted function is no longer invoked"),
    _P("UpdateFunctionConfiguration", "Errors", "AWS/Lambda", strength=0.8,
       note="a changed handler, role, timeout or environment can make invocations fail"),
    _P("UpdateFunctionConfiguration", "Duration", "AWS/Lambda", strength=0.6,
       note="memory and timeout set the duration"),
    _P("UpdateFunctionCode", "Errors", "AWS/Lambda", strength=0.8, note="new code can fail"),
    _P("UpdateFunctionCode", "Duration", "AWS/Lambda", strength=0.6, note="new code can run longer"),
    # IAM
    _P("DetachRolePolicy", "Errors", None, strength=0.5, note="permissions taken from a role make its calls fail"),
    _P("DeleteRolePolicy", "Errors", None, strength=0.5, note="permissions taken from a role make its calls fail"),
    # EC2 and VPC
    _P("RevokeSecurityGroupIngress", "DatabaseConnections", None, strength=0.6, note="a closed port cuts clients off"),
    _P("RevokeSecurityGroupIngress", "Errors", None, strength=0.4, note="a closed port cuts clients off"),
    _P("StopInstances", "CPUUtilization", "AWS/EC2", strength=0.8, note="a stopped instance does no work"),
    _P("TerminateInstances", "CPUUtilization", "AWS/EC2", strength=0.8, note="a terminated instance does no work"),
    _P("RebootInstances", "StatusCheckFailed", "AWS/EC2", strength=0.6, note="status checks fail while rebooting"),
    # DynamoDB
    _P("UpdateTable", "ThrottledRequests", "AWS/DynamoDB", strength=0.8, note="lower capacity throttles requests"),
    _P("UpdateTable", "ReadThrottleEvents", "AWS/DynamoDB", strength=0.8, note="lower capacity throttles reads"),
    _P("UpdateTable", "WriteThrottleEvents", "AWS/DynamoDB", strength=0.8, note="lower capacity throttles writes"),
    # S3 (GetObject is a read: reads are candidates only through a pattern like these)
    _P("PutBucketPolicy", "4xxErrors", "AWS/S3", strength=0.8, note="a denying bucket policy turns requests into 403s"),
    _P("PutPublicAccessBlock", "4xxErrors", "AWS/S3", strength=0.6, note="blocking public access denies public reads"),
    _P("GetObject", "BytesDownloaded", "AWS/S3", strength=0.8, note="each download adds to BytesDownloaded"),
    _P("GetObject", "GetRequests", "AWS/S3", strength=0.8, note="each download is a GET request"),
    _P("PutObject", "BytesUploaded", "AWS/S3", strength=0.8, note="each upload adds to BytesUploaded"),
    _P("PutObject", "PutRequests", "AWS/S3", strength=0.8, note="each upload is a PUT request"),
    # SQS
    _P("DeleteEventSourceMapping", "ApproximateAgeOfOldestMessage", "AWS/SQS",
       note="without its Lambda trigger nobody consumes the queue"),
    _P("UpdateEventSourceMapping", "ApproximateAgeOfOldestMessage", "AWS/SQS", strength=0.7,
       note="a disabled Lambda trigger stops consuming the queue"),
    _P("SetQueueAttributes", "ApproximateAgeOfOldestMessage", "AWS/SQS", strength=0.5,
       note="queue attributes change how messages are delivered"),
)
del _P


@dataclass(frozen=True)
class Weights:
    """How the parts of a cause's score are weighed.

    The score is ``match + pattern * strength + recency + rarity``, multiplied by
    ``failed_factor`` for a failed call. ``match`` is the weight of the match level;
    ``recency`` is ``0.5 ** (lag / half_life)``; ``rarity`` is ``1 / n`` for an API action
    called ``n`` times in the events frame.
    """

    resource: float = 3.0
    related: float = 2.0
    service: float = 1.0
    pattern: float = 2.0
    half_life: pd.Timedelta = pd.Timedelta(minutes=30)
    failed_factor: float = 0.5

    def match(self, level: str) -> float:
        """Weight of a match level (``resource``, ``related``, ``service``)."""
        return {"resource": self.resource, "related": self.related, "service": self.service}[level]


WEIGHTS = Weights()


def probable_causes(
    events: pd.DataFrame,
    alarm_history: pd.DataFrame,
    alarms: pd.DataFrame,
    *,
    lookback: str | pd.Timedelta = "6h",
    states: Sequence[str] = ("ALARM",),
    patterns: Sequence[CausePattern] = CAUSE_PATTERNS,
    weights: Weights = WEIGHTS,
) -> pd.DataFrame:
    """Rank the CloudTrail calls that may have made each alarm fire.

    Parameters
    ----------
    events
        An events frame. Write calls (``readOnly`` false) are candidates; a read call is
        one only for a transition into ``ALARM`` and when a pattern links its action to the
        alarm's metric (downloads and ``BytesDownloaded``).
    alarm_history
        Alarm state changes (:func:`forensics.alarms.load_alarm_history`).
    alarms
        Alarm definitions (:func:`forensics.alarms.load_alarms`), for the metric and its
        dimensions.
    lookback
        How long before the transition a call may lie. Calls after the end of the newest
        datapoint the alarm evaluated (from the history's ``reason_data``) are left out:
        they cannot have moved it.
    states
        Transitions into these states are explained (default: into ``ALARM``; add ``OK``
        or ``INSUFFICIENT_DATA`` to explain recoveries and missing data too).
    patterns
        Known cause patterns.
    weights
        Score weights.

    Returns
    -------
    pandas.DataFrame
        One row per (transition, candidate), columns :data:`CAUSE_COLUMNS`, sorted by
        transition then ``rank`` (1 = most probable). ``match`` is ``resource`` (the call
        names the alarm's resource), ``related`` (it names a resource that some call names
        together with the alarm's resource) or ``service`` (it went to the metric's
        service). ``confidence`` is ``high`` (the alarm's or a related resource and a known
        pattern), ``medium`` (the resource without a pattern) or ``low`` (same service
        only, or a failed call): a transition whose best cause is ``low`` is not explained
        by CloudTrail. ``new_state`` is the state the alarm went into. A transition with
        no candidate keeps one row with a missing ``eventID`` and the reason in ``why``, so
        it never looks explained by silence.
    """
    window = pd.Timedelta(lookback)
    actions = events["eventName"].map(base_action).astype(str)
    writes = events["readOnly"].eq(False).fillna(False).astype(bool)
    counts = actions.value_counts()
    touched = Touched.of(events)
    definitions = alarms.drop_duplicates("alarm_name").set_index("alarm_name")
    transitions = alarm_history[
        alarm_history["new_state"].isin(list(states)).fillna(False).astype(bool)
        & alarm_history["old_state"].ne(alarm_history["new_state"]).fillna(True).astype(bool)
    ]
    if "reason_data" not in transitions:
        transitions = transitions.assign(reason_data=None)
    rows: list[dict[str, object]] = []
    matches: dict[str, dict[str, tuple[str, str]]] = {}
    columns = ["alarm_name", "time", "new_state", "reason_data"]
    for alarm_name, alarm_time, new_state, reason_data in transitions[columns].itertuples(index=False):
        head = {"alarm_name": alarm_name, "alarm_time": alarm_time, "new_state": new_state}
        alarm = definitions.loc[alarm_name] if alarm_name in definitions.index else None
        if alarm is None:
            why = f"alarm {alarm_name!r} is not among the alarm definitions given; its metric and resource are unknown"
        elif not isinstance(alarm["namespace"], str):
            why = f"alarm {alarm_name!r} watches no metric of its own ({alarm['kind']}); its resource is unknown"
        elif pd.isna(alarm_time):
            why = "the time of this transition could not be read"
        else:
            if alarm_name not in matches:
                matches[alarm_name] = touched.matches(alarm["namespace"], alarm["dimensions"])
            levels = matches[alarm_name]
            readable = {p.event_name for p in patterns if p.metric == alarm["metric"]
                        and p.namespace in (None, alarm["namespace"])} if new_state == "ALARM" else set()
            eligible = writes | actions.isin(readable)
            until = _evaluated_until(reason_data, alarm_time)
            inside = (events["eventTime"] < until) & (events["eventTime"] >= alarm_time - window)
            before = events[eligible & inside & events["eventID"].isin(levels.keys())]
            scored = [
                _score(event, alarm, alarm_time, levels[str(event["eventID"])], counts, patterns, weights)
                for event in before.to_dict("records")
            ]
            scored.sort(key=lambda r: (-float(r["score"]), r["lag"], str(r["eventID"])))
            rows.extend({**head, **r, "rank": rank} for rank, r in enumerate(scored, start=1))
            if scored:
                continue
            why = (f"no call on {alarm['dimensions'] or alarm_name}, a related resource or the "
                   f"{service_of(alarm['namespace'])} service in the {_duration(window)} before")
        rows.append({**head, "why": why})
    frame = pd.DataFrame(rows, columns=list(CAUSE_COLUMNS))
    return frame.astype(
        {"rank": "Int64", "score": "float64", "lag": "timedelta64[us]", "alarm_time": "datetime64[us, UTC]",
         "eventTime": "datetime64[us, UTC]", "eventID": "str", "eventName": "str", "actor": "str",
         "resource": "str", "match": "str", "confidence": "str", "why": "str", "alarm_name": "str",
         "new_state": "str"}
    ).sort_values(["alarm_time", "alarm_name", "rank"], kind="stable", ignore_index=True)


_MATCH_WORDS = {
    "resource": "on the alarm's resource",
    "related": "on a related resource",
    "service": "in the same service",
}


def _score(
    event: Mapping[str, Any],
    alarm: pd.Series,
    alarm_time: pd.Timestamp,
    match: tuple[str, str],
    counts: pd.Series,
    patterns: Sequence[CausePattern],
    weights: Weights,
) -> dict[str, object]:
    level, resource = match
    name = str(event["eventName"])
    action = base_action(name)
    lag = alarm_time - event["eventTime"]
    request = _json_object(event.get("requestParameters"))
    metric = alarm["metric"] if isinstance(alarm["metric"], str) else None
    known = [p for p in patterns if p.matches(name, alarm["namespace"], metric, request)]
    best = max(known, key=lambda p: p.strength) if known else None
    recency = 0.5 ** (lag / weights.half_life)
    seen = int(counts.get(action, 1))
    score = weights.match(level) + (weights.pattern * best.strength if best else 0.0) + recency + 1.0 / seen
    error = event.get("errorCode")
    failed = isinstance(error, str) and bool(error)
    if failed:
        score *= weights.failed_factor
    why = [_MATCH_WORDS[level] + (f" ({resource})" if resource else "")]
    if best:
        why.append(f"known cause: {best.note or best.event_name + ' moves ' + best.metric}")
    why.append(f"{_duration(lag)} before the alarm")
    why.append(f"{action} called {seen} time{'s' if seen > 1 else ''} in the events")
    if failed:
        why.append(f"failed ({error}), so it changed nothing")
    if failed or level == "service":
        confidence = "low"
    else:
        confidence = "high" if best else "medium"
    return {
        "eventID": str(event["eventID"]),
        "eventName": name,
        "eventTime": event["eventTime"],
        "lag": lag,
        "actor": event.get("actor"),
        "resource": resource or None,
        "match": level,
        "confidence": confidence,
        "score": round(score, 6),
        "why": "; ".join(why),
    }


def _evaluated_until(reason_data: object, alarm_time: pd.Timestamp) -> pd.Timestamp:
    """End of the newest datapoint the alarm evaluated (calls after it cannot have moved it).

    Read from ``stateReasonData`` (``evaluatedDatapoints`` timestamps plus ``period``); the
    transition time itself when that is missing or unreadable.
    """
    data = _json_object(reason_data)
    points = data.get("evaluatedDatapoints")
    period = data.get("period")
    if not isinstance(points, list) or not isinstance(period, int | float):
        return alarm_time
    stamps = [p.get("timestamp") for p in points if isinstance(p, dict)]
    times = pd.to_datetime(pd.Series(stamps, dtype=object), utc=True, format="ISO8601", errors="coerce").dropna()
    if not len(times):
        return alarm_time
    return min(alarm_time, times.max() + pd.Timedelta(seconds=float(period)))


def _json_object(text: object) -> Mapping[str, object]:
    if not isinstance(text, str):
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _duration(delta: pd.Timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds / 3600:.3g} h"
