"""Serve a scenario from AWS APIs (a moto server, or an account of your own), to practise the live path.

>>> served = upload("exercise/", s3_client=s3, cloudwatch_client=cloudwatch, logs_client=logs)  # doctest: +SKIP
>>> forensics.load_cloudtrail(served.uri, s3_client=s3)                                          # doctest: +SKIP

:func:`upload` puts, through clients the caller makes (so endpoint, region and credentials are
the caller's choice):

* the CloudTrail files into ``s3://<bucket>/<prefix>AWSLogs/...`` with the keys CloudTrail
  gives them (the bucket is created when missing);
* the metric series with ``PutMetricData``, one value per minute (asking for the series'
  statistic at a period of 60 seconds gives the scenario's values back);
* the alarms with ``PutMetricAlarm``, then ``SetAlarmState`` to the state each ends in. The
  alarm *history* cannot be served: no API writes it, and CloudWatch keeps no history of
  ``SetAlarmState`` beyond the current state (use the scenario's
  ``describe-alarm-history.json``);
* optionally every CloudTrail event into a CloudWatch Logs group, one stream per region named
  as CloudTrail names them, each event once.

**Time.** Scenarios are dated in the past. moto accepts metric data of any age, but real
CloudWatch rejects datapoints older than two weeks, and CloudWatch Logs (moto included)
rejects events older than 14 days. ``days`` moves every time forward by whole days, so the
times of day (office hours, the night) stay; :func:`days_to_now` gives the shift that ends the
data within the last day. Shifted are: ``eventTime``, file names and date folders, metric
timestamps, and every string inside a record that is a whole ISO 8601 time or a console-style
date (``Mar 12, 2024, 11:20:31 AM``); numbers holding epoch times are not. The answer key is
not served; compare answers about times with :func:`shift_times` of it.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from forensics.errors import MetricsError, ParameterError, SourceError
from forensics.scenarios import load_answer_key
from forensics.scenarios.writer import encode

DEFAULT_BUCKET = "acme-cloudtrail-logs"
#: CloudWatch Logs refuses older events; real CloudWatch refuses older metric data (two weeks).
LOGS_MAX_AGE = dt.timedelta(days=14)
#: Values per PutMetricData call (the API takes up to 1,000 and 1 MB).
METRIC_BATCH = 500
#: Events per PutLogEvents call (the API takes up to 10,000, 1 MB and 24 hours).
LOG_BATCH = 5_000
LOG_BATCH_BYTES = 900_000

_ISO = re.compile(r"(\d{4}-\d\d-\d\d)(T\d\d:\d\d:\d\d.*)")
_CONSOLE = re.compile(r"([A-Z][a-z]{2}) (\d{1,2}), (\d{4}), (\d{1,2}:\d\d:\d\d [AP]M)")
_KEY_DATE = re.compile(r"/(\d{4})/(\d\d)/(\d\d)/(.*_)(\d{8})(T\d{4}Z_.*)$")


@dataclass(frozen=True)
class Served:
    """What :func:`upload` put where.

    Attributes
    ----------
    bucket, prefix
        Where the trail is; ``uri`` is what to give a loader.
    objects
        Log files uploaded.
    metric_values
        Datapoints put with ``PutMetricData``.
    alarms
        Alarms created.
    log_group, log_events
        The CloudWatch Logs group (``None`` when not asked for) and the events put into it.
    days
        How many days every time was moved forward.
    """

    bucket: str
    prefix: str
    objects: int
    metric_values: int
    alarms: int
    log_group: str | None
    log_events: int
    days: int

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")


# --- shifting time ---------------------------------------------------------------------------


def _utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _compact(record: dict[str, Any]) -> str:
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False)


def _epoch_ms(text: str) -> int:
    return int(_utc(text).timestamp() * 1000)


def days_to_now(scenario_dir: str | Path, now: dt.datetime | None = None) -> int:
    """Whole days that move the end of the scenario's data to within the last day before ``now``."""
    end = _utc(load_answer_key(scenario_dir)["data_window"]["end"])
    now = now or dt.datetime.now(dt.UTC)
    return max(0, (now - end).days)


def _shift_text(text: str, days: int) -> str:
    if match := _ISO.fullmatch(text):
        day = dt.date.fromisoformat(match[1]) + dt.timedelta(days=days)
        return day.isoformat() + match[2]
    if match := _CONSOLE.fullmatch(text):
        day = dt.datetime.strptime(f"{match[1]} {match[2]} {match[3]}", "%b %d %Y") + dt.timedelta(days=days)
        return f"{day:%b} {day.day}, {day.year}, {match[4]}"
    return text


def shift_times(document: Any, days: int) -> Any:
    """A copy of a JSON document with every whole-string time moved by ``days`` days."""
    if days == 0:
        return document
    if isinstance(document, dict):
        return {k: shift_times(v, days) for k, v in document.items()}
    if isinstance(document, list):
        return [shift_times(v, days) for v in document]
    if isinstance(document, str):
        return _shift_text(document, days)
    return document


def shift_key(key: str, days: int) -> str:
    """An S3 key of the delivery layout with its date folders and file-name time moved by ``days``."""
    match = _KEY_DATE.search(key)
    if days == 0 or not match:
        return key
    folder = dt.date(int(match[1]), int(match[2]), int(match[3])) + dt.timedelta(days=days)
    named = dt.datetime.strptime(match[5], "%Y%m%d") + dt.timedelta(days=days)
    return f"{key[: match.start()]}/{folder:%Y/%m/%d}/{match[4]}{named:%Y%m%d}{match[6]}"


# --- uploading -------------------------------------------------------------------------------


def _client_error(error: Exception) -> str:
    if isinstance(error, ClientError):
        info = error.response.get("Error", {})
        return f"{info.get('Code', 'error')}: {info.get('Message', '')}".rstrip(": ")
    return f"{type(error).__name__}: {error}"


def _trail_files(folder: Path) -> list[Path]:
    logs = folder / "AWSLogs"
    if not logs.is_dir():
        raise SourceError("no AWSLogs folder: not a scenario folder", str(folder))
    return sorted(p for p in logs.rglob("*.json.gz") if p.is_file())


def _records(path: Path) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = json.loads(gzip.decompress(path.read_bytes()))["Records"]
    return records


def _ensure_bucket(s3_client: Any, bucket: str) -> None:
    try:
        s3_client.head_bucket(Bucket=bucket)
        return
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket", "NotFound"):
            raise SourceError(f"cannot use the bucket: {_client_error(error)}", f"s3://{bucket}") from error
    region = s3_client.meta.region_name
    settings = {} if region in (None, "us-east-1") else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    try:
        s3_client.create_bucket(Bucket=bucket, **settings)
    except (ClientError, BotoCoreError) as error:
        raise SourceError(f"cannot create the bucket: {_client_error(error)}", f"s3://{bucket}") from error


def _upload_trail(folder: Path, s3_client: Any, bucket: str, prefix: str, days: int) -> int:
    files = _trail_files(folder)
    _ensure_bucket(s3_client, bucket)
    for path in files:
        key = prefix + shift_key(path.relative_to(folder).as_posix(), days)
        body = path.read_bytes() if days == 0 else encode(shift_times(_records(path), days))
        try:
            s3_client.put_object(Bucket=bucket, Key=key, Body=body)
        except (ClientError, BotoCoreError) as error:
            raise SourceError(f"upload failed: {_client_error(error)}", f"s3://{bucket}/{key}") from error
    return len(files)


def _metric_data(folder: Path, days: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """(namespace, MetricData item) for every value of every series."""
    cloudwatch = folder / "cloudwatch"
    queries = {q["Id"]: q["MetricStat"] for q in json.loads((cloudwatch / "metric-data-queries.json").read_text())}
    results = json.loads((cloudwatch / "get-metric-data.json").read_text())["MetricDataResults"]
    for result in results:
        stat = queries[result["Id"]]
        metric = stat["Metric"]
        for stamp, value in zip(result["Timestamps"], result["Values"], strict=True):
            yield metric["Namespace"], {
                "MetricName": metric["MetricName"],
                "Dimensions": metric["Dimensions"],
                "Timestamp": dt.datetime.fromisoformat(stamp) + dt.timedelta(days=days),
                "Value": value,
            }


def _upload_metrics(folder: Path, cloudwatch_client: Any, days: int) -> int:
    by_namespace: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for namespace, item in _metric_data(folder, days):
        by_namespace[namespace].append(item)
    count = 0
    for namespace, items in sorted(by_namespace.items()):
        for start in range(0, len(items), METRIC_BATCH):
            batch = items[start : start + METRIC_BATCH]
            try:
                cloudwatch_client.put_metric_data(Namespace=namespace, MetricData=batch)
            except (ClientError, BotoCoreError) as error:
                raise MetricsError(f"PutMetricData into {namespace} failed: {_client_error(error)}") from error
            count += len(batch)
    return count


_ALARM_SETTINGS = (
    "AlarmName", "AlarmDescription", "ActionsEnabled", "OKActions", "AlarmActions", "InsufficientDataActions",
    "MetricName", "Namespace", "Statistic", "Dimensions", "Period", "EvaluationPeriods", "DatapointsToAlarm",
    "Threshold", "ComparisonOperator", "TreatMissingData",
)  # fmt: skip


def _upload_alarms(folder: Path, cloudwatch_client: Any, days: int) -> int:
    alarms = json.loads((folder / "cloudwatch" / "describe-alarms.json").read_text())["MetricAlarms"]
    for alarm in alarms:
        try:
            cloudwatch_client.put_metric_alarm(**{k: alarm[k] for k in _ALARM_SETTINGS if k in alarm})
            reason_data = shift_times(json.loads(alarm["StateReasonData"]), days)
            cloudwatch_client.set_alarm_state(
                AlarmName=alarm["AlarmName"],
                StateValue=alarm["StateValue"],
                StateReason=alarm["StateReason"],
                StateReasonData=json.dumps(reason_data, separators=(",", ":")),
            )
        except (ClientError, BotoCoreError) as error:
            raise MetricsError(f"alarm {alarm['AlarmName']}: {_client_error(error)}") from error
    return len(alarms)


def _log_batches(events: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """Chronological batches within PutLogEvents' limits (count, bytes, 24 hours)."""
    batch: list[dict[str, Any]] = []
    size = 0
    for event in events:
        cost = len(event["message"].encode("utf-8")) + 26
        too_long = batch and event["timestamp"] - batch[0]["timestamp"] >= 24 * 3600 * 1000
        if batch and (len(batch) >= LOG_BATCH or size + cost > LOG_BATCH_BYTES or too_long):
            yield batch
            batch, size = [], 0
        batch.append(event)
        size += cost
    if batch:
        yield batch


def _upload_logs(folder: Path, logs_client: Any, log_group: str, days: int) -> int:
    streams: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for path in _trail_files(folder):
        for record in shift_times(_records(path), days):
            streams[f"{record['recipientAccountId']}_CloudTrail_{record['awsRegion']}"][record["eventID"]] = record
    try:
        logs_client.create_log_group(logGroupName=log_group)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ResourceAlreadyExistsException":
            raise SourceError(f"cannot create the log group: {_client_error(error)}", log_group) from error
    count = 0
    for stream, records in sorted(streams.items()):
        events = sorted(
            ({"timestamp": _epoch_ms(r["eventTime"]), "message": _compact(r)} for r in records.values()),
            key=lambda e: e["timestamp"],
        )
        try:
            logs_client.create_log_stream(logGroupName=log_group, logStreamName=stream)
            for batch in _log_batches(events):
                answer = logs_client.put_log_events(logGroupName=log_group, logStreamName=stream, logEvents=batch)
                if answer.get("rejectedLogEventsInfo"):
                    raise SourceError(f"events rejected: {answer['rejectedLogEventsInfo']}", f"{log_group}/{stream}")
                count += len(batch)
        except (ClientError, BotoCoreError) as error:
            raise SourceError(f"PutLogEvents failed: {_client_error(error)}", f"{log_group}/{stream}") from error
    return count


def upload(
    scenario_dir: str | Path,
    *,
    s3_client: Any,
    cloudwatch_client: Any,
    logs_client: Any = None,
    bucket: str = DEFAULT_BUCKET,
    prefix: str = "",
    days: int = 0,
    log_group: str | None = None,
    now: dt.datetime | None = None,
) -> Served:
    """Serve a generated scenario through the given boto3 clients.

    Parameters
    ----------
    scenario_dir
        A folder made by :func:`forensics.scenarios.make_scenario`.
    s3_client
        Receives the trail (its region is the bucket's when the bucket is created).
    cloudwatch_client
        Receives metrics and alarms; it must be in the scenario's CloudWatch region
        (``answer-key.json``: ``cloudwatch.region``).
    logs_client
        If given, receives every CloudTrail event in ``log_group``.
    bucket, prefix
        Where the trail goes: ``s3://bucket/<prefix>AWSLogs/...``; a prefix ends with ``/``.
    days
        Move every time forward by this many days (see :func:`days_to_now`).
    log_group
        Default ``aws-cloudtrail-logs-<account>``, the name the console suggests.
    now
        The present, for the CloudWatch Logs age check (default: the clock).

    Returns
    -------
    Served

    Raises
    ------
    ParameterError
        A client in the wrong region, a bad prefix or shift, or log events that would be too old.
    SourceError
        The folder is not a scenario, or S3 or CloudWatch Logs refused something (the error
        names the object or stream).
    MetricsError
        CloudWatch refused a metric value or an alarm.
    """
    folder = Path(scenario_dir)
    key = load_answer_key(folder)
    if days < 0:
        raise ParameterError(f"days must be >= 0, got {days}")
    if prefix and not prefix.endswith("/"):
        raise ParameterError(f"a prefix ends with '/', got {prefix!r}")
    region = key["cloudwatch"]["region"]
    if cloudwatch_client.meta.region_name != region:
        raise ParameterError(
            f"the scenario's metrics and alarms are in {region}; pass a CloudWatch client for that region "
            f"(got {cloudwatch_client.meta.region_name})"
        )
    start = _utc(key["data_window"]["start"]) + dt.timedelta(days=days)
    if logs_client is not None and (now or dt.datetime.now(dt.UTC)) - start > LOGS_MAX_AGE:
        raise ParameterError(
            f"CloudWatch Logs refuses events older than 14 days and the data start at {start:%Y-%m-%d %H:%M}Z; "
            "shift the times (days=days_to_now(...), `forensics scenario serve --shift-to-now`)"
        )
    objects = _upload_trail(folder, s3_client, bucket, prefix, days)
    values = _upload_metrics(folder, cloudwatch_client, days)
    alarms = _upload_alarms(folder, cloudwatch_client, days)
    group, events = None, 0
    if logs_client is not None:
        group = log_group or f"aws-cloudtrail-logs-{key['accounts']['victim']}"
        events = _upload_logs(folder, logs_client, group, days)
    return Served(bucket, prefix, objects, values, alarms, group, events, days)
