"""Alarm evaluation on one-minute series, and the AWS CLI documents."""

from __future__ import annotations

import json
import random
from datetime import datetime
from pathlib import Path

from forensics.scenarios.cloudwatch import (
    MINUTE,
    Alarm,
    CloudWatchData,
    Metric,
    Series,
    add_alarm,
    evaluate,
    minutes,
    write_cloudwatch,
)
from forensics.scenarios.times import utc

START = utc("2024-03-12T10:00:00Z")
END = START + 20 * MINUTE
CONNECTIONS = Metric("conn", "AWS/RDS", "DatabaseConnections", (("DBInstanceIdentifier", "orders-db"),), "Average")
THROTTLES = Metric("thr", "AWS/Lambda", "Throttles", (("FunctionName", "checkout-handler"),), "Sum")
DB_DOWN = Alarm("db-down", "no connections", CONNECTIONS, "LessThanThreshold", 1.0, 3, 3, "breaching")
THROTTLED = Alarm("throttled", "throttles", THROTTLES, "GreaterThanThreshold", 5.0, 1, 1, "notBreaching")


def at(minute: int) -> datetime:
    return START + minute * MINUTE


def stopped_database() -> Series:
    """40 connections; 0 at 10:05; no datapoints 10:06-10:11 (stopped); 30 again from 10:12."""
    values = {m: 40.0 for m in minutes(START, END)}
    values[at(5)] = 0.0
    for i in range(6, 12):
        del values[at(i)]
    for i in range(12, 20):
        values[at(i)] = 30.0
    return Series(CONNECTIONS, values)


def test_missing_data_treated_as_breaching_raises_and_clears_the_alarm() -> None:
    baseline, found = evaluate(DB_DOWN, stopped_database(), START, END, random.Random(0))
    assert (baseline.old, baseline.new) == ("INSUFFICIENT_DATA", "OK")
    assert baseline.at < START
    assert [(t.old, t.new, t.period_start) for t in found] == [("OK", "ALARM", at(7)), ("ALARM", "OK", at(12))]
    raised, cleared = found
    assert at(8) < raised.at < at(9) + MINUTE  # evaluated 20-70 s after the period ends
    assert raised.reason == (
        "Threshold Crossed: 1 out of the last 3 datapoints [0.0 (12/03/24 10:05:00)] was less than the threshold (1.0) "
        "and 2 missing datapoints were treated as [Breaching] (minimum 3 datapoints for OK -> ALARM transition)."
    )
    assert cleared.reason.startswith(
        "Threshold Crossed: 1 datapoint [30.0 (12/03/24 10:12:00)] was not less than the threshold (1.0)"
    )
    assert raised.reason_data["evaluatedDatapoints"][0] == {"timestamp": "2024-03-12T10:07:00.000+0000"}


def test_one_breaching_datapoint_alarms_and_no_data_clears() -> None:
    series = Series(THROTTLES, {at(9): 250.0, at(10): 610.0})
    _, found = evaluate(THROTTLED, series, START, END, random.Random(0))
    assert [(t.old, t.new, t.period_start) for t in found] == [("OK", "ALARM", at(9)), ("ALARM", "OK", at(11))]
    assert found[0].reason == (
        "Threshold Crossed: 1 out of the last 1 datapoints [250.0 (12/03/24 10:09:00)] was greater than the "
        "threshold (5.0) (minimum 1 datapoint for OK -> ALARM transition)."
    )
    assert found[0].reason_data["recentDatapoints"] == [250.0]
    assert "treated as [NonBreaching]" in found[1].reason


def test_missing_data_as_missing_goes_to_insufficient_data() -> None:
    cpu = Metric("cpu", "AWS/RDS", "CPUUtilization", (("DBInstanceIdentifier", "orders-db"),), "Average")
    high = Alarm("cpu", "cpu", cpu, "GreaterThanThreshold", 80.0, 3, 3, "missing")
    values = {m: 20.0 for m in minutes(START, END)}
    for i in range(4, 8):
        values[at(i)] = 95.0
    for i in range(8, 15):
        del values[at(i)]
    _, found = evaluate(high, Series(cpu, values), START, END, random.Random(0))
    # ALARM after three high minutes; still ALARM while the breaching points present all breach;
    # INSUFFICIENT_DATA once the whole evaluation range is missing; OK when data returns.
    assert [(t.new, t.period_start) for t in found] == [("ALARM", at(6)), ("INSUFFICIENT_DATA", at(10)), ("OK", at(15))]
    assert found[1].reason == "Insufficient Data: 3 datapoints were unknown."
    ignoring = Alarm("cpu", "cpu", cpu, "GreaterThanThreshold", 80.0, 3, 3, "ignore")
    _, found = evaluate(ignoring, Series(cpu, values), START, END, random.Random(0))
    assert [(t.new, t.period_start) for t in found] == [("ALARM", at(6)), ("OK", at(15))]


def test_cli_documents(tmp_path: Path) -> None:
    data = CloudWatchData(
        "eu-west-1", "012345678901", START, END, alarm_actions=("arn:aws:sns:eu-west-1:012345678901:ops-alerts",)
    )
    data.series.extend([stopped_database(), Series(THROTTLES, {at(9): 250.0})])
    add_alarm(data, DB_DOWN, random.Random(0))
    add_alarm(data, THROTTLED, random.Random(0))
    paths = write_cloudwatch(data, tmp_path)
    assert [p.name for p in paths] == [
        "metric-data-queries.json",
        "get-metric-data.json",
        "describe-alarms.json",
        "describe-alarm-history.json",
    ]

    queries = json.loads((tmp_path / "metric-data-queries.json").read_text())
    assert queries[0] == {
        "Id": "conn",
        "MetricStat": {
            "Metric": {
                "Namespace": "AWS/RDS",
                "MetricName": "DatabaseConnections",
                "Dimensions": [{"Name": "DBInstanceIdentifier", "Value": "orders-db"}],
            },
            "Period": 60,
            "Stat": "Average",
        },
        "ReturnData": True,
    }

    output = json.loads((tmp_path / "get-metric-data.json").read_text())
    result = output["MetricDataResults"][0]
    assert (result["Id"], result["Label"], result["StatusCode"]) == ("conn", "DatabaseConnections", "Complete")
    assert len(result["Timestamps"]) == len(result["Values"]) == 20 - 6
    assert result["Timestamps"][:2] == ["2024-03-12T10:19:00+00:00", "2024-03-12T10:18:00+00:00"]  # newest first
    assert output["Messages"] == []

    alarms = {a["AlarmName"]: a for a in json.loads((tmp_path / "describe-alarms.json").read_text())["MetricAlarms"]}
    assert alarms["db-down"]["StateValue"] == "OK" and alarms["throttled"]["StateValue"] == "OK"
    assert alarms["db-down"]["AlarmArn"] == "arn:aws:cloudwatch:eu-west-1:012345678901:alarm:db-down"
    assert alarms["db-down"]["Dimensions"] == [{"Name": "DBInstanceIdentifier", "Value": "orders-db"}]
    assert (
        alarms["db-down"]["Threshold"],
        alarms["db-down"]["ComparisonOperator"],
        alarms["db-down"]["TreatMissingData"],
    ) == (1.0, "LessThanThreshold", "breaching")
    assert json.loads(alarms["db-down"]["StateReasonData"])["threshold"] == 1.0

    items = json.loads((tmp_path / "describe-alarm-history.json").read_text())["AlarmHistoryItems"]
    stamps = [i["Timestamp"] for i in items]
    assert stamps == sorted(stamps, reverse=True)
    updates = [i for i in items if i["HistoryItemType"] == "StateUpdate"]
    assert len(updates) == 4 and len(items) == 8  # each state change also notified the SNS topic
    for item in updates:
        history = json.loads(item["HistoryData"])
        assert (
            item["HistorySummary"]
            == f"Alarm updated from {history['oldState']['stateValue']} to {history['newState']['stateValue']}"
        )
        assert history["newState"]["stateReason"].startswith("Threshold Crossed")
