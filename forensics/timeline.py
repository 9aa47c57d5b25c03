"""CloudTrail, CloudWatch and findings on one time axis, and "why did this alarm fire?".

* :func:`timeline` stacks events, metric datapoints, alarm state changes and findings in
  one frame (``time``, ``kind``, ``label``, ``ref`` back to the source row).
* :func:`probable_causes` ranks, for every alarm transition into ``ALARM``, the CloudTrail
  calls made before it on the alarm's resource (matched through the alarm's metric
  dimensions and :data:`forensics.metrics.RESOURCE_DIMENSIONS`), on related resources or
  in the same service. The score adds up, with the weights of :class:`Weights`: how
  closely the call matches the alarm's resource, whether a known cause pattern
  (:data:`CAUSE_PATTERNS`, declared as data) links the call to the alarm's metric, how
  recent the call is, and how rare its action is. Each row says why, and how confident
  the link is; a transition nothing in CloudTrail explains says so.
* :func:`change_points` finds level shifts and spikes in each metric series with robust
  statistics (medians, and a noise scale from the median absolute first difference) and
  lists the API calls made just before each.
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from forensics.errors import ParameterError, SchemaError
from forensics.metrics import RESOURCE_DIMENSIONS, parse_dimensions
from forensics.resources import SERVICE, base_action, extract_resources
from forensics.window import Incident

#: Kinds of timeline rows, in the order they sort at equal times.
KINDS: tuple[str, ...] = ("alarm", "event", "finding", "metric")
TIMELINE_COLUMNS: tuple[str, ...] = ("time", "kind", "label", "ref", "actor", "resource", "value", "detail")
CAUSE_COLUMNS: tuple[str, ...] = (
    "alarm_name", "alarm_time", "eventID", "eventName", "rank", "lag", "why",
    "actor", "score", "confidence", "match", "resource", "eventTime", "new_state",
)
CHANGE_COLUMNS: tuple[str, ...] = (
    "id", "namespace", "metric", "dimensions", "stat", "time", "kind", "before", "after", "score",
    "calls", "eventIDs", "matched",
)

#: Service (first label of ``eventSource``) behind a metric namespace, where it is not the
#: namespace's own name in lower case.
NAMESPACE_SERVICES: Mapping[str, str] = {
    "AWS/EBS": "ec2",
    "AWS/ApplicationELB": "elasticloadbalancing",
    "AWS/NetworkELB": "elasticloadbalancing",
    "AWS/ELB": "elasticloadbalancing",
    "AWS/ApiGateway": "apigateway",
}


def service_of(namespace: str) -> str:
    """The ``eventSource`` service label of a CloudWatch namespace (``AWS/RDS`` → ``rds``)."""
    return NAMESPACE_SERVICES.get(namespace, namespace.rpartition("/")[2].lower())


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
    touched = _Touched.of(events)
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


@dataclass(frozen=True)
class _Touched:
    """What each call touched: its resources and its service, to match metrics against."""

    resources: pd.DataFrame
    keys: pd.Series
    real: pd.Series
    services: pd.Series
    ids: pd.Series

    @classmethod
    def of(cls, events: pd.DataFrame) -> _Touched:
        resources = extract_resources(events)
        keys = resources["type"].astype(str) + "|" + resources["name"].astype(str)
        real = resources["type"].ne(SERVICE).fillna(False).astype(bool)
        services = events["eventSource"].astype("category").map(lambda source: str(source).split(".", 1)[0])
        return cls(resources, keys, real, services.astype(str), events["eventID"])

    def matches(self, namespace: str, dimensions: str) -> dict[str, tuple[str, str]]:
        """eventID → (match level, resource name) for a metric's namespace and dimensions.

        ``resource``: the call names the resource of a dimension (by its type's dimension in
        :data:`~forensics.metrics.RESOURCE_DIMENSIONS`, or by name for other dimensions);
        ``related``: the call names a resource that some call names together with it;
        ``service``: the call went to the metric's service. The best level wins.
        """
        resources = self.resources
        direct = pd.Series(False, index=resources.index)
        for dimension, value in parse_dimensions(dimensions).items():
            rules = [r for r in RESOURCE_DIMENSIONS if r.dimension == dimension]
            if not rules:
                direct |= resources["name"].eq(value).fillna(False).astype(bool)
            for rule in rules:
                field = resources["arn"] if rule.value == "arn" else resources["name"]
                direct |= (field.eq(value) & resources["type"].eq(rule.resource_type)).fillna(False).astype(bool)
        direct_events = set(resources.loc[direct, "eventID"])
        related_keys = set(self.keys[resources["eventID"].isin(direct_events) & ~direct & self.real])
        related = self.keys.isin(related_keys)
        named = resources.loc[direct | related].drop_duplicates("eventID").set_index("eventID")["name"]
        levels: dict[str, tuple[str, str]] = {}
        for event_id in self.ids[self.services.eq(service_of(namespace)).to_numpy()]:
            levels[str(event_id)] = ("service", "")
        for event_id in set(resources.loc[related, "eventID"]) - direct_events:
            levels[str(event_id)] = ("related", str(named.get(event_id, "")))
        for event_id in direct_events:
            levels[str(event_id)] = ("resource", str(named.get(event_id, "")))
        return levels


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


# --------------------------------------------------------------------------- change points


@dataclass(frozen=True)
class Change:
    """A change in one series.

    Attributes
    ----------
    index
        Position of the first changed value.
    kind
        ``step`` (a lasting level shift) or ``spike`` (a few values off the level).
    before, after
        Level before; level after (a step) or the most extreme value (a spike).
    score
        Size of the change in noise units (robust z-score).
    """

    index: int
    kind: str
    before: float
    after: float
    score: float


def detect_changes(values: Sequence[float] | np.ndarray, *, window: int = 5, threshold: float = 5.0,
                   spike_threshold: float = 8.0, min_change: float = 0.0) -> list[Change]:
    """Find level shifts and spikes in one series.

    A **step** at ``i``: the median of the ``window`` values from ``i`` differs from the
    median of the ``window`` values before it by more than ``threshold`` times the
    standard error of that difference; the noise scale ``sigma`` is the median absolute
    deviation of the first differences divided by √2 (robust to the steps themselves),
    falling back to their mean absolute deviation when more than half the differences
    are equal. Only the strongest position within ``window`` of another is kept.
    A **spike**: a run of at most ``window`` values whose distance to the centred rolling
    median (``2 * window + 1`` values) exceeds ``spike_threshold * sigma``. Single values
    are noisier than medians, hence the higher default; heavy-tailed series still show
    their outliers as spikes.
    A flat series has no change; changes smaller than ``min_change`` are ignored.

    Parameters
    ----------
    values
        The series, in time order, without missing values.
    window
        Values on each side of a step (at least 2).
    threshold
        Robust z-score above which a step is reported.
    spike_threshold
        Robust z-score above which a spike is reported.
    min_change
        Smallest absolute change reported.

    Returns
    -------
    list of Change
        Sorted by position.
    """
    x = np.asarray(values, dtype="float64")
    if window < 2:
        raise ParameterError(f"window={window}: a step needs at least 2 values on each side")
    if len(x) < 3:
        return []
    sigma = _noise(x)
    if sigma == 0:
        return []
    steps = _steps(x, window, threshold, sigma, min_change)
    spikes = _spikes(x, window, spike_threshold, sigma, min_change, {c.index for c in steps})
    return sorted(steps + spikes, key=lambda c: c.index)


def _noise(x: np.ndarray) -> float:
    d = np.diff(x)
    centred = np.abs(d - np.median(d))
    sigma = 1.4826 * float(np.median(centred)) / math.sqrt(2)
    if sigma == 0:
        sigma = 1.2533 * float(np.mean(centred)) / math.sqrt(2)
    return sigma


def _steps(x: np.ndarray, w: int, threshold: float, sigma: float, min_change: float) -> list[Change]:
    windows = np.lib.stride_tricks.sliding_window_view(x, w)
    medians, means = np.median(windows, axis=1), windows.mean(axis=1)
    # a step at i compares the window ending before i (index i - w) with the one starting at i
    before, after = medians[:-w], medians[w:]
    shift = np.abs(after - before)
    z = shift / (sigma * 1.2533 * math.sqrt(2 / w))
    strength = np.abs(means[w:] - means[:-w])  # breaks ties between neighbours: largest at the true step
    kept: list[Change] = []
    for k in sorted(np.flatnonzero((z > threshold) & (shift >= min_change) & (shift > 0)),
                    key=lambda k: (-z[k], -strength[k])):
        i = int(k) + w
        if all(abs(i - c.index) >= w for c in kept):
            kept.append(Change(i, "step", float(before[k]), float(after[k]), round(float(z[k]), 3)))
    return kept


def _spikes(x: np.ndarray, w: int, threshold: float, sigma: float, min_change: float, steps: set[int]) -> list[Change]:
    level = pd.Series(x).rolling(2 * w + 1, center=True, min_periods=1).median().to_numpy()
    residual = x - level
    flagged = (np.abs(residual) > threshold * sigma) & (np.abs(residual) >= min_change)
    out: list[Change] = []
    i = 0
    while i < len(x):
        if not flagged[i]:
            i += 1
            continue
        j = i
        while j + 1 < len(x) and flagged[j + 1]:
            j += 1
        near_step = any(i - 1 <= s <= j + 1 for s in steps)
        if j - i + 1 <= w and not near_step:
            peak = i + int(np.argmax(np.abs(residual[i:j + 1])))
            out.append(Change(i, "spike", float(level[peak]), float(x[peak]), round(abs(residual[peak]) / sigma, 3)))
        i = j + 1
    return out


def change_points(
    metrics: pd.DataFrame,
    events: pd.DataFrame | None = None,
    *,
    incident: Incident | None = None,
    window: int = 5,
    threshold: float = 5.0,
    spike_threshold: float = 8.0,
    min_change: float = 0.0,
    before: str | pd.Timedelta = "15min",
) -> pd.DataFrame:
    """Change points of every metric series, each with the API calls made just before it.

    Parameters
    ----------
    metrics
        A metric data frame (:func:`forensics.metrics.load_metric_data`).
    events
        An events frame; its write calls from ``before`` the change to the end of the
        changed datapoint's period are listed.
    incident
        Only series values inside the padded window are examined.
    window, threshold, spike_threshold, min_change
        See :func:`detect_changes`.
    before
        How long before a change a call may lie.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`CHANGE_COLUMNS`: the series (``id``, ``namespace``, ``metric``,
        ``dimensions``, ``stat``), ``time`` of the first changed datapoint, ``kind``
        (``step``/``spike``), ``before``/``after`` levels, ``score``, ``calls`` (text:
        ``HH:MM:SS eventName by actor``, ``; ``-joined), ``eventIDs`` (a tuple) and
        ``matched``, those of ``eventIDs`` on the series' resource, a related resource or
        its service (as in :func:`probable_causes`).
    """
    lead = pd.Timedelta(before)
    data = metrics.dropna(subset=["timestamp", "value"])
    if incident is not None:
        data = data[incident.contains(data["timestamp"], padded=True)]
    writes = None
    touched = None
    if events is not None:
        writes = events[events["readOnly"].eq(False).fillna(False).astype(bool)]
        touched = _Touched.of(events)
    rows: list[dict[str, object]] = []
    keys = ["id", "namespace", "metric", "dimensions", "stat"]
    for key, series in data.groupby(keys, sort=False, dropna=False):
        named = dict(zip(keys, key, strict=True))
        about: dict[str, tuple[str, str]] = {}
        if touched is not None and isinstance(named["namespace"], str):
            about = touched.matches(named["namespace"], named["dimensions"])
        series = series.sort_values("timestamp", ignore_index=True)
        period = series["period"].dropna()
        width = pd.Timedelta(seconds=int(period.iloc[0])) if len(period) else _step_of(series["timestamp"])
        for change in detect_changes(series["value"].to_numpy(), window=window, threshold=threshold,
                                     spike_threshold=spike_threshold, min_change=min_change):
            at = series["timestamp"].iloc[change.index]
            calls = _calls(writes, at - lead, at + width)
            ids = tuple(calls["eventID"].astype(str))
            rows.append({
                **named,
                "time": at, "kind": change.kind, "before": change.before, "after": change.after,
                "score": change.score,
                "calls": "; ".join(f"{t:%H:%M:%S} {n} by {a}" for t, n, a in
                                   calls[["eventTime", "eventName", "actor"]].itertuples(index=False)),
                "eventIDs": ids,
                "matched": tuple(i for i in ids if i in about),
            })
    frame = pd.DataFrame(rows, columns=list(CHANGE_COLUMNS))
    frame["time"] = pd.to_datetime(frame["time"], utc=True).astype("datetime64[us, UTC]")
    return frame.sort_values(["time", "id"], kind="stable", ignore_index=True)


def _calls(writes: pd.DataFrame | None, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    if writes is None:
        return pd.DataFrame(columns=["eventTime", "eventName", "actor", "eventID"])
    inside = writes[(writes["eventTime"] >= start) & (writes["eventTime"] < end)]
    return inside.sort_values("eventTime")


def _step_of(times: pd.Series) -> pd.Timedelta:
    gaps = times.diff().dropna()
    return gaps.min() if len(gaps) else pd.Timedelta(minutes=1)
