"""Serving scenarios through the AWS APIs, against a real moto server: S3 trail, metrics, alarms, logs."""

from __future__ import annotations

import datetime as dt
import json
import logging
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pandas as pd
import pytest
from moto.server import ThreadedMotoServer

from forensics.cloudtrail import load_cloudtrail
from forensics.errors import ParameterError, SourceError
from forensics.scenarios import load_answer_key, make_scenario
from forensics.scenarios.cli import main
from forensics.scenarios.serve import days_to_now, shift_key, shift_times, upload

from .reading import read_scenario

KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """An emptied moto server and a client factory pointed at it."""
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    urllib.request.urlopen(urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST"), timeout=10).close()

    def client(service: str, region: str = "us-east-1") -> Any:
        return boto3.client(service, region_name=region, endpoint_url=moto_url, **KEYS)

    return {"url": moto_url, "client": client}


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_scenario("rds-lambda-outage", tmp_path_factory.mktemp("served") / "data", seed=4, noise=0.3)


def _cli_output(scenario: Path, name: str) -> Any:
    return json.loads((scenario / "cloudwatch" / name).read_text())


def _without_source(events: pd.DataFrame) -> pd.DataFrame:
    return events.drop(columns=["source_file"]).reset_index(drop=True)


def test_served_trail_loads_like_the_folder_and_metrics_and_alarms_come_back(
    aws: dict[str, Any], scenario: Path
) -> None:
    s3, cloudwatch = aws["client"]("s3"), aws["client"]("cloudwatch", "eu-west-1")
    served = upload(scenario, s3_client=s3, cloudwatch_client=cloudwatch, prefix="org/")
    local_files = sorted(p.relative_to(scenario).as_posix() for p in (scenario / "AWSLogs").rglob("*.json.gz"))
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket="acme-cloudtrail-logs")
    listed = [o["Key"] for page in pages for o in page.get("Contents", [])]
    assert listed == [f"org/{f}" for f in local_files] and served.objects == len(local_files)
    assert served.uri == "s3://acme-cloudtrail-logs/org"

    local = load_cloudtrail(scenario / "AWSLogs", workers=1, progress=False)
    remote = load_cloudtrail(served.uri, s3_client=s3, progress=False)
    assert remote.report.ok and local.report.ok
    pd.testing.assert_frame_equal(_without_source(remote.events), _without_source(local.events))
    assert remote.events["source_file"].str.startswith("s3://acme-cloudtrail-logs/org/AWSLogs/").all()

    results = {r["Id"]: r for r in _cli_output(scenario, "get-metric-data.json")["MetricDataResults"]}
    queries = _cli_output(scenario, "metric-data-queries.json")
    window = load_answer_key(scenario)["cloudwatch"]
    answer = cloudwatch.get_metric_data(
        MetricDataQueries=queries,
        StartTime=dt.datetime.fromisoformat(window["start_time"].replace("Z", "+00:00")),
        EndTime=dt.datetime.fromisoformat(window["end_time"].replace("Z", "+00:00")),
    )
    for result in answer["MetricDataResults"]:
        mine = results[result["Id"]]
        got = dict(zip((t.isoformat() for t in result["Timestamps"]), result["Values"], strict=True))
        assert got == dict(zip(mine["Timestamps"], mine["Values"], strict=True)), result["Id"]
    assert served.metric_values == sum(len(r["Values"]) for r in results.values())

    described = {a["AlarmName"]: a for a in cloudwatch.describe_alarms()["MetricAlarms"]}
    expected = {a["AlarmName"]: a for a in _cli_output(scenario, "describe-alarms.json")["MetricAlarms"]}
    assert set(described) == set(expected) and served.alarms == len(expected)
    for name, alarm in expected.items():
        for field in ("StateValue", "Threshold", "ComparisonOperator", "EvaluationPeriods", "ActionsEnabled"):
            assert described[name][field] == alarm[field], (name, field)


def test_shifted_to_now_with_cloudwatch_logs(aws: dict[str, Any], scenario: Path) -> None:
    days = days_to_now(scenario)
    end = dt.datetime.fromisoformat(load_answer_key(scenario)["data_window"]["end"].replace("Z", "+00:00"))
    assert dt.timedelta(0) <= dt.datetime.now(dt.UTC) - (end + dt.timedelta(days=days)) < dt.timedelta(days=1)
    s3, logs = aws["client"]("s3"), aws["client"]("logs")
    cloudwatch = aws["client"]("cloudwatch", "eu-west-1")
    served = upload(scenario, s3_client=s3, cloudwatch_client=cloudwatch, logs_client=logs, days=days)
    local = read_scenario(scenario)
    remote = load_cloudtrail(served.uri, s3_client=s3, progress=False).events
    assert sorted(remote["eventID"]) == sorted(r["eventID"] for r in local.records)
    moved = remote.set_index("eventID")["eventTime"]
    for record in local.records[:50]:
        original = pd.Timestamp(record["eventTime"])
        assert moved[record["eventID"]] == original + pd.Timedelta(days=days)

    group = "aws-cloudtrail-logs-012345678901"
    assert (served.log_group, served.log_events) == (group, len(local.records))
    streams = {s["logStreamName"] for s in logs.describe_log_streams(logGroupName=group)["logStreams"]}
    assert streams == {f"012345678901_CloudTrail_{r}" for r in load_answer_key(scenario)["regions"]}
    pages = logs.get_paginator("filter_log_events").paginate(logGroupName=group)
    messages = [json.loads(e["message"]) for page in pages for e in page["events"]]
    assert sorted(m["eventID"] for m in messages) == sorted(r["eventID"] for r in local.records)
    first = next(r for r in local.records if r["eventName"] == "AssumeRoleWithSAML")
    assert next(m for m in messages if m["eventID"] == first["eventID"]) == shift_times(first, days)


def test_refusals(aws: dict[str, Any], scenario: Path, tmp_path: Path) -> None:
    s3, logs = aws["client"]("s3"), aws["client"]("logs")
    with pytest.raises(ParameterError, match="metrics and alarms are in eu-west-1"):
        upload(scenario, s3_client=s3, cloudwatch_client=aws["client"]("cloudwatch", "us-east-1"))
    with pytest.raises(ParameterError, match="ends with '/'"):
        upload(scenario, s3_client=s3, cloudwatch_client=aws["client"]("cloudwatch", "eu-west-1"), prefix="org")
    with pytest.raises(ParameterError, match="older than 14 days"):
        upload(scenario, s3_client=s3, cloudwatch_client=aws["client"]("cloudwatch", "eu-west-1"), logs_client=logs)
    with pytest.raises(SourceError, match="no answer key"):
        upload(tmp_path, s3_client=s3, cloudwatch_client=aws["client"]("cloudwatch", "eu-west-1"))


def test_shifting_times_keeps_the_time_of_day() -> None:
    record = {
        "eventTime": "2024-03-12T23:59:07Z",
        "requestParameters": {"startTime": 1710287947000, "note": "2024-03-12 is not a time"},
        "responseElements": {"credentials": {"expiration": "Mar 12, 2024, 11:20:31 PM"}},
        "x": ["2024-03-12T10:41:07.312Z", "2024-03-12T10:41:00.000+0000"],
    }
    assert shift_times(record, 20) == {
        "eventTime": "2024-04-01T23:59:07Z",
        "requestParameters": {"startTime": 1710287947000, "note": "2024-03-12 is not a time"},
        "responseElements": {"credentials": {"expiration": "Apr 1, 2024, 11:20:31 PM"}},
        "x": ["2024-04-01T10:41:07.312Z", "2024-04-01T10:41:00.000+0000"],
    }
    folder = "AWSLogs/012345678901/CloudTrail/eu-west-1"
    name = "012345678901_CloudTrail_eu-west-1_{}T2359Z_Ab.json.gz"
    shifted = shift_key(f"{folder}/2024/03/31/{name.format(20240331)}", 1)
    assert shifted == f"{folder}/2024/04/01/{name.format(20240401)}"


def test_command_line(
    aws: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in KEYS.items():
        monkeypatch.setenv(name.upper(), value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    kept = str(tmp_path / "kept")
    argv = ["serve", "crypto-mining", "--endpoint-url", aws["url"], "--seed", "3", "--noise", "0.2", "--out", kept]
    assert main([*argv, "--shift-to-now", "--logs"]) == 0
    out = capsys.readouterr().out
    assert "CloudTrail: s3://acme-cloudtrail-logs" in out and "CloudWatch (ap-northeast-1)" in out
    assert load_answer_key(tmp_path / "kept")["seed"] == 3
    alarms = aws["client"]("cloudwatch", "ap-northeast-1").describe_alarms()["MetricAlarms"]
    assert [a["AlarmName"] for a in alarms] == ["ec2-vcpu-guardrail"]
    assert main(argv) == 2
    assert "not empty" in capsys.readouterr().err
