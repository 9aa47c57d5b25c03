"""CloudWatch for Acme's checkout service: ``orders-db``, ``checkout-handler`` and the exports bucket.

Every scenario that touches the service describes what happened to it as an :class:`Outage`
(when the database was stopped and available again, when the function was throttled and
released, when alarm notifications were switched off); :func:`checkout_cloudwatch` turns that
and the scenario's CloudTrail records into one-minute series and evaluates the alarms on them.

Series (ids as in ``metric-data-queries.json``):

* ``rdsConnections``, ``rdsCpu``: a stopped instance publishes nothing; connections fade over
  two minutes after ``StopDBInstance`` and ramp up once the instance is available again;
* ``lambdaInvocations``, ``lambdaErrors``, ``lambdaThrottles``: a daily curve of requests;
  with reserved concurrency 0 they are throttled (no invocations, no errors); while the
  database is down nearly every invocation fails;
* ``s3BytesDownloaded``: the sum of ``bytesTransferredOut`` of the ``GetObject`` records on the
  exports bucket, minute by minute (request metrics of the whole bucket).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from forensics.scenarios.cast import HOME_REGION, Cast
from forensics.scenarios.cloudwatch import (
    MINUTE,
    Alarm,
    CloudWatchData,
    Metric,
    Series,
    Transition,
    add_alarm,
    diurnal,
    minutes,
    noisy,
)
from forensics.scenarios.identities import JSON
from forensics.scenarios.times import floor, iso_ms, utc

CONNECTIONS_LOW = "orders-db-connections-low"
CPU_HIGH = "orders-db-cpu-high"
THROTTLED = "checkout-handler-throttles"
DOWNLOAD_SPIKE = "customer-exports-download-spike"

#: Given an alarm name and one of its transitions: the records that caused it, and why.
Cause = Callable[[str, Transition], tuple[list[JSON], str]]


@dataclass(frozen=True)
class Outage:
    """What happened to the checkout service (``None``: did not happen, or not before the end).

    Attributes
    ----------
    db_stopped, db_available
        ``StopDBInstance`` time, and when the instance was available again.
    throttled, released
        When ``checkout-handler``'s reserved concurrency was set to 0, and removed.
    actions_disabled
        When alarm notifications were switched off (``DisableAlarmActions``).
    """

    db_stopped: datetime | None = None
    db_available: datetime | None = None
    throttled: datetime | None = None
    released: datetime | None = None
    actions_disabled: datetime | None = None


def _share_served(minute: datetime, throttled: datetime | None, released: datetime | None) -> float:
    """Share of a minute's requests served, given concurrency 0 from ``throttled`` to ``released``."""
    if throttled is None:
        return 1.0
    end = minute + MINUTE
    blocked = max(timedelta(0), min(end, released or end) - max(minute, throttled))
    return 1 - blocked / MINUTE


def checkout_cloudwatch(cast: Cast, records: list[JSON], outage: Outage, seed: int, noise: float) -> CloudWatchData:
    """Series and alarms of the checkout service for ``cast``'s data window.

    ``noise > 0`` adds a benign CPU spike (a reporting query) that flaps ``orders-db-cpu-high``.
    """
    c = cast
    rng = random.Random(f"{seed}:metrics")
    data = CloudWatchData(HOME_REGION, c.account, c.start, c.end, alarm_actions=(c.alerts_topic_arn,))
    db = (("DBInstanceIdentifier", c.orders_db.identifier),)
    fn = (("FunctionName", c.checkout_function),)
    connections = Metric("rdsConnections", "AWS/RDS", "DatabaseConnections", db, "Average")
    cpu = Metric("rdsCpu", "AWS/RDS", "CPUUtilization", db, "Average")
    invocations = Metric("lambdaInvocations", "AWS/Lambda", "Invocations", fn, "Sum")
    errors = Metric("lambdaErrors", "AWS/Lambda", "Errors", fn, "Sum")
    throttles = Metric("lambdaThrottles", "AWS/Lambda", "Throttles", fn, "Sum")
    bucket = (("BucketName", c.exports_bucket), ("FilterId", "EntireBucket"))
    downloaded = Metric("s3BytesDownloaded", "AWS/S3", "BytesDownloaded", bucket, "Sum")

    never = c.end + timedelta(days=1)
    stop = floor(outage.db_stopped, 1) if outage.db_stopped else never
    available = floor(outage.db_available, 1) if outage.db_available else never
    spike = floor(c.start + timedelta(minutes=rng.randrange(80, 140)), 1)
    series: dict[Metric, dict[datetime, float]] = {
        m: {} for m in (connections, cpu, invocations, errors, throttles, downloaded)
    }
    for minute in minutes(c.start, c.end):
        stopped = stop + 3 * MINUTE <= minute < available
        if not stopped:
            ramp = {0: 0.3, 1: 0.7}.get(int((minute - available) / MINUTE), 1.0) if minute >= available else 1.0
            fade = {0: 0.7, 1: 0.15, 2: 0.0}.get(int((minute - stop) / MINUTE), 1.0) if minute >= stop else 1.0
            series[connections][minute] = round(noisy(rng, diurnal(minute, 14, 52), 0.08) * ramp * fade, 1)
            busy = noise > 0 and spike <= minute < spike + 4 * MINUTE
            load = rng.uniform(86, 97) if busy else noisy(rng, diurnal(minute, 7, 31), 0.12)
            series[cpu][minute] = round(load * (fade if fade < 1 else 1.0) or 1.2, 3)
        demand = noisy(rng, diurnal(minute, 110, 720), 0.07)
        served = demand * _share_served(minute, outage.throttled, outage.released)
        if served >= 0.5:
            series[invocations][minute] = float(round(served))
            db_down = stop + MINUTE <= minute < available + MINUTE
            failed = served * rng.uniform(0.9, 0.99) if db_down else (rng.random() < 0.1) * rng.randint(1, 3)
            series[errors][minute] = float(round(failed))
        if demand - served >= 0.5:
            series[throttles][minute] = float(round(demand - served))
    for record in records:
        if record["eventName"] == "GetObject" and record["requestParameters"]["bucketName"] == c.exports_bucket:
            minute = floor(utc(record["eventTime"]), 1)
            values = series[downloaded]
            values[minute] = values.get(minute, 0.0) + float(record["additionalEventData"]["bytesTransferredOut"])
    data.series.extend(Series(metric, values) for metric, values in series.items())

    alarms = (
        Alarm(CONNECTIONS_LOW, "orders-db has no client connections: stopped or unreachable", connections,
              "LessThanThreshold", 1.0, 3, 3, "breaching"),
        Alarm(CPU_HIGH, "orders-db CPU above 80% for 3 minutes", cpu, "GreaterThanThreshold", 80.0, 3, 3, "missing"),
        Alarm(THROTTLED, "checkout-handler requests are being throttled", throttles,
              "GreaterThanThreshold", 5.0, 1, 1, "notBreaching"),
        Alarm(DOWNLOAD_SPIKE, "More than 100 MiB a minute downloaded from acme-customer-exports", downloaded,
              "GreaterThanThreshold", 104857600.0, 1, 1, "notBreaching"),
    )  # fmt: skip
    alarm_rng = random.Random(f"{seed}:alarms")
    for alarm in alarms:
        add_alarm(data, alarm, alarm_rng)
        if outage.actions_disabled:
            data.actions_disabled[alarm.name] = outage.actions_disabled
    return data


def alarm_key(data: CloudWatchData, cause: Cause, actions_disabled_by: JSON | None = None) -> list[JSON]:
    """The answer key's ``alarms``: each alarm's transitions with the event IDs that caused them.

    ``actions_disabled_by`` is the record that switched the alarms' notifications off, if any.
    """
    result = []
    for alarm in data.alarms:
        entries = []
        for t in sorted((t for t in data.transitions if t.alarm == alarm.name), key=lambda t: t.at):
            records, why = cause(alarm.name, t)
            entries.append(
                {
                    "timestamp": iso_ms(t.at),
                    "from": t.old,
                    "to": t.new,
                    "caused_by": [r["eventID"] for r in records],
                    "explanation": why,
                    "notified": data.notified(t),
                }
            )
        result.append(
            {
                "alarm": alarm.name,
                "arn": alarm.arn(data.region, data.account),
                "namespace": alarm.metric.namespace,
                "metric": alarm.metric.name,
                "dimensions": dict(alarm.metric.dimensions),
                "transitions": entries,
                "actions_disabled_by": actions_disabled_by["eventID"] if actions_disabled_by else None,
            }
        )
    return result
