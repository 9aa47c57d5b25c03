"""CloudWatch metrics and alarms of a scenario, written in the JSON shapes the AWS CLI prints.

Series are one-minute values keyed by the minute they start; a missing minute means CloudWatch
has no datapoint (a stopped database publishes nothing, Lambda publishes ``Throttles`` only
when something is throttled). Alarms are *evaluated* on those series the way CloudWatch does
(M out of N periods, the four ``TreatMissingData`` modes), so every state change in the
history follows from the data, and the data from the scenario's API calls.

Files written (see :func:`write_cloudwatch`):

* ``metric-data-queries.json``: the ``--metric-data-queries`` input naming each ``Id``;
* ``get-metric-data.json``: ``aws cloudwatch get-metric-data`` output, newest first
  (the API's default ``TimestampDescending``);
* ``describe-alarms.json``: ``aws cloudwatch describe-alarms`` output at acquisition time;
* ``describe-alarm-history.json``: ``aws cloudwatch describe-alarm-history`` output, newest
  first, with ``StateUpdate`` and ``Action`` items; ``HistoryData`` is a JSON *string*.
"""

from __future__ import annotations

import json
import math
import operator
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from forensics.errors import ParameterError
from forensics.scenarios.api.observability import metric_query
from forensics.scenarios.identities import JSON
from forensics.scenarios.times import cli, cloudwatch_reason, cloudwatch_short

MINUTE = timedelta(minutes=1)

#: ComparisonOperator -> (words used in state reasons, test of value against threshold).
_OPERATORS: dict[str, tuple[str, Callable[[float, float], bool]]] = {
    "GreaterThanThreshold": ("greater than", operator.gt),
    "GreaterThanOrEqualToThreshold": ("greater than or equal to", operator.ge),
    "LessThanThreshold": ("less than", operator.lt),
    "LessThanOrEqualToThreshold": ("less than or equal to", operator.le),
}


@dataclass(frozen=True)
class Metric:
    """One metric as a ``MetricDataQuery`` names it."""

    query_id: str
    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]
    stat: str

    def query(self) -> JSON:
        return metric_query(self.query_id, self.namespace, self.name, dict(self.dimensions), self.stat)


@dataclass(frozen=True)
class Series:
    """One-minute values of a metric; minutes without a datapoint are absent."""

    metric: Metric
    values: dict[datetime, float]


@dataclass(frozen=True)
class Alarm:
    """A metric alarm's configuration."""

    name: str
    description: str
    metric: Metric
    comparison: str
    threshold: float
    evaluation_periods: int
    datapoints_to_alarm: int
    treat_missing: str
    period: int = 60

    def arn(self, region: str, account: str) -> str:
        return f"arn:aws:cloudwatch:{region}:{account}:alarm:{self.name}"


@dataclass(frozen=True)
class Transition:
    """One state change of an alarm."""

    alarm: str
    at: datetime
    old: str
    new: str
    reason: str
    reason_data: JSON
    #: Start of the newest period the evaluation looked at.
    period_start: datetime


@dataclass
class CloudWatchData:
    """Everything CloudWatch holds for a scenario: series, alarms and their transitions."""

    region: str
    account: str
    start: datetime
    end: datetime
    series: list[Series] = field(default_factory=list)
    alarms: list[Alarm] = field(default_factory=list)
    transitions: list[Transition] = field(default_factory=list)
    baseline: dict[str, Transition] = field(default_factory=dict)
    alarm_actions: tuple[str, ...] = ()
    #: Alarm name -> when its actions were disabled (``DisableAlarmActions``): no notifications after.
    actions_disabled: dict[str, datetime] = field(default_factory=dict)

    def notified(self, transition: Transition) -> bool:
        """Whether the alarm's actions ran for ``transition`` (an SNS notification was sent)."""
        disabled = self.actions_disabled.get(transition.alarm)
        return bool(self.alarm_actions) and (disabled is None or transition.at < disabled)


def minutes(start: datetime, end: datetime) -> list[datetime]:
    """The minutes in ``[start, end)``."""
    count = int((end - start) / MINUTE)
    return [start + i * MINUTE for i in range(count)]


def diurnal(moment: datetime, low: float, high: float) -> float:
    """A smooth daily curve between ``low`` (around 03:00 UTC) and ``high`` (around 15:00 UTC)."""
    hour = moment.hour + moment.minute / 60
    return low + (high - low) * (0.5 - 0.5 * math.cos(2 * math.pi * (hour - 3) / 24))


def noisy(rng: random.Random, value: float, spread: float) -> float:
    """``value`` with multiplicative Gaussian noise of relative ``spread``, never negative."""
    return max(0.0, value * (1 + rng.gauss(0, spread)))


def _format(value: float) -> str:
    return repr(float(value))


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _was(count: int) -> str:
    return "was" if count == 1 else "were"


def evaluate(
    alarm: Alarm, series: Series, start: datetime, end: datetime, rng: random.Random
) -> tuple[Transition, list[Transition]]:
    """Evaluate ``alarm`` every minute of ``[start, end)`` and return (the state before ``start``,
    the transitions inside the window).

    The alarm starts ``OK``, as evaluated on the first full set of periods. Each evaluation
    happens 20 to 70 seconds after the newest period ends, as CloudWatch's does.
    """
    words, compare = _OPERATORS[alarm.comparison]
    state = "OK"
    baseline: Transition | None = None
    found: list[Transition] = []
    first = start + (alarm.evaluation_periods - 1) * MINUTE
    for newest in minutes(first, end):
        window = [newest - i * MINUTE for i in range(alarm.evaluation_periods)]  # newest first
        present = [(m, series.values[m]) for m in window if m in series.values]
        breaching = [(m, v) for m, v in present if compare(v, alarm.threshold)]
        missing = alarm.evaluation_periods - len(present)
        new = _decide(alarm, state, len(present), len(breaching), missing)
        at = newest + MINUTE + timedelta(seconds=rng.randrange(20, 70), milliseconds=rng.randrange(1000))
        if baseline is None:
            reason, data = _reason(alarm, words, "OK", window, present, breaching, missing, at)
            baseline = Transition(
                alarm.name,
                start - timedelta(days=2, minutes=rng.randrange(600)),
                "INSUFFICIENT_DATA",
                "OK",
                reason,
                data,
                window[0],
            )
            continue
        if new != state:
            reason, data = _reason(alarm, words, new, window, present, breaching, missing, at)
            found.append(Transition(alarm.name, at, state, new, reason, data, newest))
            state = new
    if baseline is None:
        raise ParameterError(f"the window {start}..{end} is too short to evaluate alarm {alarm.name}")
    return baseline, found


def _decide(alarm: Alarm, state: str, present: int, breaching: int, missing: int) -> str:
    """The state an evaluation leads to, by ``TreatMissingData``.

    ``breaching``/``notBreaching`` count missing periods as breaching or not; ``ignore`` and
    ``missing`` judge on the datapoints present (all of them must breach when fewer than
    ``DatapointsToAlarm`` are present); with none present ``ignore`` keeps the state and
    ``missing`` goes to ``INSUFFICIENT_DATA``.
    """
    if alarm.treat_missing == "breaching":
        return "ALARM" if breaching + missing >= alarm.datapoints_to_alarm else "OK"
    if alarm.treat_missing == "notBreaching":
        return "ALARM" if breaching >= alarm.datapoints_to_alarm else "OK"
    if not present:
        return state if alarm.treat_missing == "ignore" else "INSUFFICIENT_DATA"
    return "ALARM" if breaching >= min(alarm.datapoints_to_alarm, present) else "OK"


def _reason(
    alarm: Alarm,
    words: str,
    new: str,
    window: list[datetime],
    present: list[tuple[datetime, float]],
    breaching: list[tuple[datetime, float]],
    missing: int,
    at: datetime,
) -> tuple[str, JSON]:
    n = alarm.evaluation_periods
    threshold = _format(alarm.threshold)
    least = _plural(alarm.datapoints_to_alarm, "datapoint")
    missed = f"{_plural(missing, 'missing datapoint')} {_was(missing)} treated as"
    if new == "INSUFFICIENT_DATA":
        reason = f"Insufficient Data: {_plural(missing, 'datapoint')} {_was(missing)} unknown."
    elif new == "ALARM" and not breaching:
        reason = f"Threshold Crossed: no datapoints were received for {_plural(n, 'period')} and {missed} [Breaching]."
    elif new == "ALARM":
        shown = ", ".join(f"{_format(v)} ({cloudwatch_short(m)})" for m, v in breaching)
        k = len(breaching)
        treated = f" and {missed} [Breaching]" if alarm.treat_missing == "breaching" and missing else ""
        reason = (
            f"Threshold Crossed: {k} out of the last {n} datapoints [{shown}] {_was(k)} {words} the threshold "
            f"({threshold}){treated} (minimum {least} for OK -> ALARM transition)."
        )
    elif not present:
        reason = (
            f"Threshold Crossed: no datapoints were received for {_plural(n, 'period')} and {missed} [NonBreaching]."
        )
    else:
        shown = ", ".join(f"{_format(v)} ({cloudwatch_short(m)})" for m, v in present)
        k = len(present)
        reason = (
            f"Threshold Crossed: {_plural(k, 'datapoint')} [{shown}] {_was(k)} not {words} the threshold "
            f"({threshold}) (minimum 1 datapoint for ALARM -> OK transition)."
        )
    values = dict(present)
    data: JSON = {
        "version": "1.0",
        "queryDate": cloudwatch_reason(at),
        "startDate": cloudwatch_reason(window[-1]),
        "statistic": alarm.metric.stat,
        "period": alarm.period,
        "recentDatapoints": [values[m] for m in reversed(window) if m in values],
        "threshold": alarm.threshold,
        "evaluatedDatapoints": [
            {"timestamp": cloudwatch_reason(m), "sampleCount": 60.0, "value": values[m]}
            if m in values
            else {"timestamp": cloudwatch_reason(m)}
            for m in window
        ],
    }
    return reason, data


def add_alarm(data: CloudWatchData, alarm: Alarm, rng: random.Random) -> list[Transition]:
    """Evaluate ``alarm`` on its metric's series in ``data`` and record it and its transitions."""
    series = next(s for s in data.series if s.metric == alarm.metric)
    baseline, found = evaluate(alarm, series, data.start, data.end, rng)
    data.alarms.append(alarm)
    data.baseline[alarm.name] = baseline
    data.transitions.extend(found)
    return found


# --- the CLI documents --------------------------------------------------------------------


def get_metric_data_output(data: CloudWatchData) -> JSON:
    """``aws cloudwatch get-metric-data`` output for every series (newest first)."""
    results = []
    for series in data.series:
        stamps = sorted(series.values, reverse=True)
        results.append(
            {
                "Id": series.metric.query_id,
                "Label": series.metric.name,
                "Timestamps": [cli(m) for m in stamps],
                "Values": [series.values[m] for m in stamps],
                "StatusCode": "Complete",
            }
        )
    return {"MetricDataResults": results, "Messages": []}


def describe_alarms_output(data: CloudWatchData) -> JSON:
    """``aws cloudwatch describe-alarms`` output as of the end of the window."""
    alarms = []
    for alarm in data.alarms:
        last = max(
            (t for t in data.transitions if t.alarm == alarm.name),
            key=lambda t: t.at,
            default=data.baseline[alarm.name],
        )
        arn = alarm.arn(data.region, data.account)
        alarms.append(
            {
                "AlarmName": alarm.name,
                "AlarmArn": arn,
                "AlarmDescription": alarm.description,
                "AlarmConfigurationUpdatedTimestamp": cli(
                    data.start - timedelta(days=41, hours=3, minutes=17, seconds=5, milliseconds=412)
                ),
                "ActionsEnabled": alarm.name not in data.actions_disabled,
                "OKActions": list(data.alarm_actions),
                "AlarmActions": list(data.alarm_actions),
                "InsufficientDataActions": [],
                "StateValue": last.new,
                "StateReason": last.reason,
                "StateReasonData": json.dumps(last.reason_data, separators=(",", ":")),
                "StateUpdatedTimestamp": cli(last.at),
                "MetricName": alarm.metric.name,
                "Namespace": alarm.metric.namespace,
                "Statistic": alarm.metric.stat,
                "Dimensions": [{"Name": k, "Value": v} for k, v in alarm.metric.dimensions],
                "Period": alarm.period,
                "EvaluationPeriods": alarm.evaluation_periods,
                "DatapointsToAlarm": alarm.datapoints_to_alarm,
                "Threshold": alarm.threshold,
                "ComparisonOperator": alarm.comparison,
                "TreatMissingData": alarm.treat_missing,
                "StateTransitionedTimestamp": cli(last.at),
            }
        )
    return {"MetricAlarms": alarms, "CompositeAlarms": []}


def describe_alarm_history_output(data: CloudWatchData) -> JSON:
    """``aws cloudwatch describe-alarm-history`` output for the window (newest first)."""
    items: list[tuple[datetime, JSON]] = []
    previous: dict[str, Transition] = dict(data.baseline)
    for transition in sorted(data.transitions, key=lambda t: t.at):
        before = previous[transition.alarm]
        history = {
            "version": "1.0",
            "oldState": {"stateValue": before.new, "stateReason": before.reason, "stateReasonData": before.reason_data},
            "newState": {
                "stateValue": transition.new,
                "stateReason": transition.reason,
                "stateReasonData": transition.reason_data,
            },
        }
        items.append(
            (
                transition.at,
                {
                    "AlarmName": transition.alarm,
                    "AlarmType": "MetricAlarm",
                    "Timestamp": cli(transition.at),
                    "HistoryItemType": "StateUpdate",
                    "HistorySummary": f"Alarm updated from {transition.old} to {transition.new}",
                    "HistoryData": json.dumps(history, separators=(",", ":")),
                },
            )
        )
        for action in data.alarm_actions if data.notified(transition) else ():
            acted = transition.at + timedelta(milliseconds=180)
            action_data = {
                "actionState": "Succeeded",
                "stateUpdateTimestamp": int(transition.at.timestamp() * 1000),
                "notificationResource": action,
            }
            items.append(
                (
                    acted,
                    {
                        "AlarmName": transition.alarm,
                        "AlarmType": "MetricAlarm",
                        "Timestamp": cli(acted),
                        "HistoryItemType": "Action",
                        "HistorySummary": f"Successfully executed action {action}",
                        "HistoryData": json.dumps(action_data, separators=(",", ":")),
                    },
                )
            )
        previous[transition.alarm] = transition
    items.sort(key=lambda item: item[0], reverse=True)
    return {"AlarmHistoryItems": [item for _, item in items]}


def write_cloudwatch(data: CloudWatchData, folder: Path) -> list[Path]:
    """Write the four CLI documents into ``folder`` (created) and return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    documents = {
        "metric-data-queries.json": [s.metric.query() for s in data.series],
        "get-metric-data.json": get_metric_data_output(data),
        "describe-alarms.json": describe_alarms_output(data),
        "describe-alarm-history.json": describe_alarm_history_output(data),
    }
    paths = []
    for name, document in documents.items():
        path = folder / name
        path.write_text(json.dumps(document, indent=4) + "\n", encoding="utf-8")
        paths.append(path)
    return paths
