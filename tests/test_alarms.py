"""CloudWatch alarm definitions (moto, saved JSON) and state history (Stubber, saved JSON)."""

from __future__ import annotations

import datetime as dt
import json
import warnings
from pathlib import Path

import boto3
import pandas as pd
import pytest
from botocore.client import BaseClient
from botocore.stub import Stubber

from forensics.alarms import ALARM_COLUMNS, HISTORY_COLUMNS, history_report, load_alarm_history, load_alarms
from forensics.errors import ParameterError, SourceError
from forensics.metrics import MetricsWarning
from forensics.window import Incident

DB = [{"Name": "DBInstanceIdentifier", "Value": "orders-db"}]
FN = [{"Name": "FunctionName", "Value": "checkout-handler"}]


def stub_client() -> BaseClient:
    return boto3.client("cloudwatch", region_name="us-east-1", aws_access_key_id="testing",
                        aws_secret_access_key="testing")


def write_json(path: Path, document: object) -> Path:
    path.write_text(json.dumps(document, indent=2))
    return path


# --------------------------------------------------------------------------- definitions


def test_moto_alarms_and_their_states(cloudwatch: BaseClient) -> None:
    cloudwatch.put_metric_alarm(
        AlarmName="orders-db-connections", Namespace="AWS/RDS", MetricName="DatabaseConnections", Dimensions=DB,
        Statistic="Average", Period=60, EvaluationPeriods=2, DatapointsToAlarm=2, Threshold=1.0,
        ComparisonOperator="LessThanThreshold", TreatMissingData="breaching",
        AlarmActions=["arn:aws:sns:us-east-1:123456789012:oncall"], AlarmDescription="no connections")
    cloudwatch.put_metric_alarm(
        AlarmName="checkout-error-rate", EvaluationPeriods=1, Threshold=5.0, ComparisonOperator="GreaterThanThreshold",
        Metrics=[{"Id": "e1", "Expression": "100 * m1", "ReturnData": True, "Label": "error %"},
                 {"Id": "m1", "MetricStat": {"Metric": {"Namespace": "AWS/Lambda", "MetricName": "Errors", "Dimensions": FN},
                                             "Period": 300, "Stat": "Sum"}, "ReturnData": False}])
    cloudwatch.set_alarm_state(AlarmName="orders-db-connections", StateValue="ALARM",
                               StateReason="Threshold Crossed: 2 datapoints were less than the threshold (1.0)")
    alarms = load_alarms(cloudwatch)
    assert tuple(alarms.columns) == ALARM_COLUMNS
    assert alarms["alarm_name"].tolist() == ["checkout-error-rate", "orders-db-connections"]
    db = alarms.iloc[1].to_dict()
    assert {k: db[k] for k in ("arn", "kind", "namespace", "metric", "dimensions", "statistic", "period",
                               "evaluation_periods", "datapoints_to_alarm", "threshold", "comparison",
                               "treat_missing_data", "state", "state_reason", "actions", "description")} == {
        "arn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:orders-db-connections",
        "kind": "metric", "namespace": "AWS/RDS", "metric": "DatabaseConnections",
        "dimensions": "DBInstanceIdentifier=orders-db", "statistic": "Average", "period": 60,
        "evaluation_periods": 2, "datapoints_to_alarm": 2, "threshold": 1.0, "comparison": "LessThanThreshold",
        "treat_missing_data": "breaching", "state": "ALARM",
        "state_reason": "Threshold Crossed: 2 datapoints were less than the threshold (1.0)",
        "actions": "arn:aws:sns:us-east-1:123456789012:oncall", "description": "no connections",
    }
    assert db["state_updated"].tzinfo is not None
    assert abs(pd.Timestamp.now(tz="UTC") - db["state_updated"]) < pd.Timedelta(minutes=5)
    math_alarm = alarms.iloc[0]
    assert (math_alarm["kind"], math_alarm["namespace"], math_alarm["metric"], math_alarm["dimensions"],
            math_alarm["statistic"], math_alarm["period"], math_alarm["expression"], math_alarm["state"]) == (
        "math", "AWS/Lambda", "Errors", "FunctionName=checkout-handler", "Sum", 300, "100 * m1", "OK")


def test_saved_describe_alarms_with_a_composite_alarm(tmp_path: Path) -> None:
    path = write_json(tmp_path / "describe-alarms.json", {
        "MetricAlarms": [{
            "AlarmName": "checkout-throttles", "AlarmArn": "arn:aws:cloudwatch:us-east-1:012345678901:alarm:checkout-throttles",
            "StateValue": "ALARM", "StateReason": "Threshold Crossed", "StateUpdatedTimestamp": "2024-03-14T02:40:00.123000+00:00",
            "MetricName": "Throttles", "Namespace": "AWS/Lambda", "Statistic": "Sum", "Dimensions": FN,
            "Period": 60, "EvaluationPeriods": 1, "Threshold": 0.0, "ComparisonOperator": "GreaterThanThreshold",
            "ActionsEnabled": True, "AlarmActions": []}],
        "CompositeAlarms": [{
            "AlarmName": "checkout-down", "AlarmArn": "arn:aws:cloudwatch:us-east-1:012345678901:alarm:checkout-down",
            "AlarmRule": 'ALARM("checkout-throttles") OR ALARM("orders-db-connections")', "StateValue": "ALARM",
            "StateUpdatedTimestamp": "2024-03-14T02:41:00+00:00", "ActionsEnabled": False}],
    })
    alarms = load_alarms(path)
    assert alarms["alarm_name"].tolist() == ["checkout-down", "checkout-throttles"]
    composite, metric = alarms.iloc[0], alarms.iloc[1]
    assert (composite["kind"], composite["expression"], composite["actions_enabled"]) == (
        "composite", 'ALARM("checkout-throttles") OR ALARM("orders-db-connections")', False)
    assert pd.isna(composite["metric"]) and pd.isna(composite["threshold"])
    assert (metric["metric"], metric["dimensions"], metric["threshold"]) == ("Throttles", "FunctionName=checkout-handler", 0.0)
    assert metric["state_updated"] == pd.Timestamp("2024-03-14T02:40:00.123Z")
    assert str(alarms["state_updated"].dtype) == "datetime64[us, UTC]"


def test_saved_alarms_must_be_describe_alarms_output(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no MetricAlarms"):
        load_alarms(write_json(tmp_path / "x.json", {"Records": []}))
    with pytest.raises(SourceError, match="file not found"):
        load_alarms(tmp_path / "missing.json")
    with pytest.raises(ParameterError):
        load_alarms(42)  # type: ignore[arg-type]
    empty = load_alarms(write_json(tmp_path / "none.json", {"MetricAlarms": [], "CompositeAlarms": []}))
    assert tuple(empty.columns) == ALARM_COLUMNS and len(empty) == 0


# --------------------------------------------------------------------------- history


def history_item(name: str, time: str, old: str, new: str, reason: str = "Threshold Crossed", **extra: object) -> dict:
    data = {"version": "1.0", "oldState": {"stateValue": old, "stateReason": "before"},
            "newState": {"stateValue": new, "stateReason": reason,
                         "stateReasonData": {"version": "1.0", "threshold": 1.0, "recentDatapoints": [0.0]}}}
    item = {"AlarmName": name, "AlarmType": "MetricAlarm", "Timestamp": time, "HistoryItemType": "StateUpdate",
            "HistorySummary": f"Alarm updated from {old} to {new}", "HistoryData": json.dumps(data)}
    item.update(extra)
    return item


def test_history_pages_from_the_api_become_state_changes() -> None:
    client = stub_client()
    inc = Incident("2024-03-14T02:00:00Z", "2024-03-14T03:00:00Z", pad="30min")
    expected = {"HistoryItemType": "StateUpdate", "AlarmTypes": ["MetricAlarm", "CompositeAlarm"],
                "StartDate": dt.datetime(2024, 3, 14, 1, 30, tzinfo=dt.UTC),
                "EndDate": dt.datetime(2024, 3, 14, 3, 30, tzinfo=dt.UTC), "ScanBy": "TimestampAscending"}
    t1 = dt.datetime(2024, 3, 14, 2, 31, tzinfo=dt.UTC)
    t2 = dt.datetime(2024, 3, 14, 2, 58, tzinfo=dt.UTC)
    with Stubber(client) as stub:
        stub.add_response("describe_alarm_history", {
            "AlarmHistoryItems": [history_item("orders-db-connections", t1, "OK", "ALARM",
                                               "Threshold Crossed: 2 datapoints [0.0, 0.0] were less than the threshold (1.0).")],
            "NextToken": "next"}, expected)
        stub.add_response("describe_alarm_history", {
            "AlarmHistoryItems": [history_item("orders-db-connections", t2, "ALARM", "OK", "Threshold no longer crossed")]},
            {**expected, "NextToken": "next"})
        history = load_alarm_history(client, incident=inc, now="2024-03-20T00:00:00Z")
        stub.assert_no_pending_responses()
    assert tuple(history.columns) == HISTORY_COLUMNS
    rows = history[["alarm_name", "time", "old_state", "new_state", "reason", "summary"]].to_dict("records")
    assert rows == [
        {"alarm_name": "orders-db-connections", "time": pd.Timestamp(t1), "old_state": "OK", "new_state": "ALARM",
         "reason": "Threshold Crossed: 2 datapoints [0.0, 0.0] were less than the threshold (1.0).",
         "summary": "Alarm updated from OK to ALARM"},
        {"alarm_name": "orders-db-connections", "time": pd.Timestamp(t2), "old_state": "ALARM", "new_state": "OK",
         "reason": "Threshold no longer crossed", "summary": "Alarm updated from ALARM to OK"},
    ]
    assert json.loads(history["reason_data"].iloc[0]) == {"recentDatapoints": [0.0], "threshold": 1.0, "version": "1.0"}
    assert history["issue"].isna().all()
    report = history_report(history)
    assert (report.source, report.items, report.state_changes, report.ok) == ("DescribeAlarmHistory", 2, 2, True)


def test_history_older_than_cloudwatch_keeps_is_reported_as_gone() -> None:
    client = stub_client()
    inc = Incident("2024-03-14T02:00:00Z", "2024-03-14T03:00:00Z", pad="0s")
    with Stubber(client) as stub:
        stub.add_response("describe_alarm_history", {"AlarmHistoryItems": []})
        with pytest.warns(MetricsWarning, match="keeps alarm history for 30 days: state changes before 2024-03-21 12:00 UTC are gone"):
            history = load_alarm_history(client, incident=inc, now="2024-04-20T12:00:00Z")
    report = history_report(history)
    assert len(history) == 0 and not report.ok
    assert report.gone_before == pd.Timestamp("2024-03-21T12:00:00Z")


@pytest.fixture
def saved_history(tmp_path: Path) -> Path:
    return write_json(tmp_path / "describe-alarm-history.json", {"AlarmHistoryItems": [
        history_item("checkout-throttles", "2024-03-14T02:44:00.000Z", "ALARM", "OK"),
        {"AlarmName": "checkout-throttles", "AlarmType": "MetricAlarm", "Timestamp": "2024-03-14T02:30:00.000Z",
         "HistoryItemType": "ConfigurationUpdate", "HistorySummary": "Alarm \"checkout-throttles\" updated",
         "HistoryData": "{}"},
        history_item("checkout-throttles", "2024-03-14T02:40:00.000Z", "OK", "ALARM"),
        {"AlarmName": "orders-db-connections", "AlarmType": "MetricAlarm", "Timestamp": "2024-03-14T02:31:00.000Z",
         "HistoryItemType": "StateUpdate", "HistorySummary": "Alarm updated from OK to ALARM",
         "HistoryData": "{\"version\": \"1.0\", \"oldState\": "},
        {"AlarmName": "orders-db-connections", "AlarmType": "MetricAlarm", "Timestamp": "2024-03-14T02:20:00.000Z",
         "HistoryItemType": "Action", "HistorySummary": "Published a notification to SNS", "HistoryData": "{}"},
        history_item("old-alarm", "2024-03-13T09:00:00.000Z", "OK", "ALARM"),
    ]})


def test_saved_history_keeps_broken_items_and_counts_everything(saved_history: Path) -> None:
    with pytest.warns(MetricsWarning, match="1 alarm history item.* could not be read fully"):
        history = load_alarm_history(saved_history)
    got = history[["alarm_name", "time", "old_state", "new_state"]].to_dict("records")
    t = pd.Timestamp
    assert got == [
        {"alarm_name": "old-alarm", "time": t("2024-03-13T09:00Z"), "old_state": "OK", "new_state": "ALARM"},
        {"alarm_name": "orders-db-connections", "time": t("2024-03-14T02:31Z"), "old_state": "OK", "new_state": "ALARM"},
        {"alarm_name": "checkout-throttles", "time": t("2024-03-14T02:40Z"), "old_state": "OK", "new_state": "ALARM"},
        {"alarm_name": "checkout-throttles", "time": t("2024-03-14T02:44Z"), "old_state": "ALARM", "new_state": "OK"},
    ]
    broken = history[history["issue"].notna()]
    assert broken["alarm_name"].tolist() == ["orders-db-connections"]
    assert broken["issue"].iloc[0].startswith("HistoryData is not a JSON object")
    assert pd.isna(broken["reason"].iloc[0])
    report = history_report(history)
    assert (report.items, report.state_changes, report.outside_window, report.ok) == (6, 4, 0, False)
    assert report.other_types == (("Action", 1), ("ConfigurationUpdate", 1))
    assert [(i.item, i.alarm_name) for i in report.issues] == [(3, "orders-db-connections")]


def test_saved_history_is_trimmed_to_the_padded_window(saved_history: Path) -> None:
    inc = Incident("2024-03-14T02:30:00Z", "2024-03-14T03:00:00Z", pad="15min")
    with pytest.warns(MetricsWarning):
        history = load_alarm_history(saved_history, incident=inc)
    assert "old-alarm" not in set(history["alarm_name"])
    assert history_report(history).outside_window == 1 and len(history) == 3


def test_history_data_missing_a_state_is_an_issue_too(tmp_path: Path) -> None:
    item = history_item("a", "2024-03-14T02:40:00Z", "OK", "ALARM")
    item["HistoryData"] = json.dumps({"version": "1.0", "newState": {"stateValue": "ALARM"}})
    item["HistorySummary"] = "something else"
    with pytest.warns(MetricsWarning):
        history = load_alarm_history(write_json(tmp_path / "h.json", {"AlarmHistoryItems": [item]}))
    row = history.iloc[0]
    assert row["issue"] == "HistoryData lacks 'oldState'"
    assert pd.isna(row["old_state"]) and pd.isna(row["new_state"])  # neither data nor summary says


def test_a_history_item_without_a_readable_time_is_kept_and_flagged(tmp_path: Path) -> None:
    items = [history_item("a", "2024-03-14T02:40:00Z", "OK", "ALARM"), history_item("b", "yesterday", "OK", "ALARM")]
    inc = Incident("2024-03-14T02:00:00Z", "2024-03-14T03:00:00Z")
    with pytest.warns(MetricsWarning, match="b at yesterday: Timestamp 'yesterday' is not a time"):
        history = load_alarm_history(write_json(tmp_path / "h.json", {"AlarmHistoryItems": items}), incident=inc)
    assert history["alarm_name"].tolist() == ["a", "b"]
    assert pd.isna(history["time"].iloc[1]) and history["new_state"].iloc[1] == "ALARM"
    assert history_report(history).outside_window == 0


def test_empty_history_is_quiet_and_typed(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        history = load_alarm_history(write_json(tmp_path / "h.json", {"AlarmHistoryItems": []}))
    assert tuple(history.columns) == HISTORY_COLUMNS and len(history) == 0
    assert str(history["time"].dtype) == "datetime64[us, UTC]"
    with pytest.raises(SourceError, match="no AlarmHistoryItems"):
        load_alarm_history(write_json(tmp_path / "x.json", {"MetricAlarms": []}))
