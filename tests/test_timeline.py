"""The joint timeline, probable causes of alarm transitions, and change points in metric series."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from cloudtrail_builders import ACCOUNT, assumed_role, iam_user, record

from forensics.alarms import load_alarm_history, load_alarms
from forensics.changepoints import CHANGE_COLUMNS, change_points
from forensics.cloudtrail import load_cloudtrail
from forensics.errors import SchemaError
from forensics.metrics import load_metric_data
from forensics.timeline import CAUSE_COLUMNS, TIMELINE_COLUMNS, CausePattern, probable_causes, timeline
from forensics.window import Incident

DB = [{"Name": "DBInstanceIdentifier", "Value": "orders-db"}]
FN = [{"Name": "FunctionName", "Value": "checkout-handler"}]
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/checkout-role"


def call(event_id: str, minute: str, name: str, source: str, params: dict, who: dict | None = None,
         read_only: bool = False, **fields: object) -> dict:
    """A management call at 2024-03-14T<minute>Z."""
    return record(event_id, f"2024-03-14T{minute}:00Z", name=name, source=f"{source}.amazonaws.com",
                  identity=who or iam_user("ops"), requestParameters=params, readOnly=read_only,
                  managementEvent=True, eventCategory="Management", **fields)


ALICE = iam_user("alice", key="AKIAEXAMPLEALICE0001")
MALLORY = assumed_role("OpsAdmin", "mallory", key="ASIAEXAMPLEMALLORY01")
DEPLOYER = assumed_role("Deployer", "ci", key="ASIAEXAMPLEDEPLOYER1")

#: The story: StopDBInstance (db-stop) makes orders-db lose its connections, and
#: PutFunctionConcurrency 0 (fn-zero) throttles checkout-handler, among realistic noise.
RECORDS = [
    call("fn-code-1", "01:05", "UpdateFunctionCode20150331v2", "lambda", {"functionName": "checkout-handler"}, DEPLOYER),
    call("fn-code-2", "01:30", "UpdateFunctionCode20150331v2", "lambda", {"functionName": "checkout-handler"}, DEPLOYER),
    call("db-snap", "01:50", "CreateDBSnapshot", "rds",
         {"dBInstanceIdentifier": "orders-db", "dBSnapshotIdentifier": "orders-db-before-maint"}),
    call("other-db", "02:05", "ModifyDBInstance", "rds", {"dBInstanceIdentifier": "reports-db", "applyImmediately": True}),
    call("db-read", "02:15", "DescribeDBInstances", "rds", {"dBInstanceIdentifier": "orders-db"}, ALICE, read_only=True),
    call("db-stop", "02:20", "StopDBInstance", "rds", {"dBInstanceIdentifier": "orders-db"}, ALICE),
    call("db-modify", "02:25", "ModifyDBInstance", "rds", {"dBInstanceIdentifier": "orders-db", "backupRetentionPeriod": 7}),
    call("db-reboot-denied", "02:26", "RebootDBInstance", "rds", {"dBInstanceIdentifier": "orders-db"}, MALLORY,
         errorCode="AccessDenied", errorMessage="not authorized"),
    record("s3-put", "2024-03-14T02:27:00Z", name="PutObject", readOnly=False),
    call("other-fn", "02:33", "PutFunctionConcurrency20171031", "lambda",
         {"functionName": "reports-fn", "reservedConcurrentExecutions": 50}),
    call("fn-zero", "02:35", "PutFunctionConcurrency20171031", "lambda",
         {"functionName": "checkout-handler", "reservedConcurrentExecutions": 0}, MALLORY),
    call("fn-config", "02:36", "UpdateFunctionConfiguration20150331v2", "lambda",
         {"functionName": "checkout-handler", "timeout": 30, "role": ROLE_ARN}, DEPLOYER),
    call("role-detach", "02:38", "DetachRolePolicy", "iam",
         {"roleName": "checkout-role", "policyArn": "arn:aws:iam::aws:policy/AmazonSQSFullAccess"}, MALLORY),
    call("key", "02:39", "CreateAccessKey", "iam", {"userName": "backup"}, MALLORY),
    call("db-start", "02:45", "StartDBInstance", "rds", {"dBInstanceIdentifier": "orders-db"}, ALICE),
]


def write_json(path: Path, document: object) -> Path:
    path.write_text(json.dumps(document, indent=2))
    return path


def state_change(name: str, time: str, old: str, new: str) -> dict:
    data = {"version": "1.0", "oldState": {"stateValue": old}, "newState": {"stateValue": new, "stateReason": f"{old} to {new}"}}
    return {"AlarmName": name, "AlarmType": "MetricAlarm", "Timestamp": time, "HistoryItemType": "StateUpdate",
            "HistorySummary": f"Alarm updated from {old} to {new}", "HistoryData": json.dumps(data)}


def metric_alarm(name: str, namespace: str, metric: str, dims: list[dict], stat: str, threshold: float, op: str) -> dict:
    return {"AlarmName": name, "AlarmArn": f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:{name}", "StateValue": "OK",
            "Namespace": namespace, "MetricName": metric, "Dimensions": dims, "Statistic": stat, "Period": 60,
            "EvaluationPeriods": 1, "Threshold": threshold, "ComparisonOperator": op}


@pytest.fixture
def story(tmp_path: Path) -> dict[str, pd.DataFrame]:
    trail = write_json(tmp_path / "trail.json", {"Records": RECORDS})
    alarms = write_json(tmp_path / "describe-alarms.json", {"MetricAlarms": [
        metric_alarm("orders-db-connections", "AWS/RDS", "DatabaseConnections", DB, "Average", 1.0, "LessThanThreshold"),
        metric_alarm("checkout-throttles", "AWS/Lambda", "Throttles", FN, "Sum", 0.0, "GreaterThanThreshold"),
    ]})
    history = write_json(tmp_path / "describe-alarm-history.json", {"AlarmHistoryItems": [
        state_change("checkout-throttles", "2024-03-14T02:55:00Z", "ALARM", "OK"),
        state_change("checkout-throttles", "2024-03-14T02:40:00Z", "OK", "ALARM"),
        state_change("orders-db-connections", "2024-03-14T02:31:00Z", "OK", "ALARM"),
        state_change("forgotten-alarm", "2024-03-14T02:50:00Z", "INSUFFICIENT_DATA", "ALARM"),
    ]})
    return {"events": load_cloudtrail(trail).events, "alarms": load_alarms(alarms),
            "history": load_alarm_history(history)}


# --------------------------------------------------------------------------- probable causes


def ranking(causes: pd.DataFrame, alarm: str) -> list[tuple[int, str, str]]:
    rows = causes[causes["alarm_name"] == alarm]
    return [(int(r), e, m) for r, e, m in rows[["rank", "eventID", "match"]].itertuples(index=False)]


def test_the_calls_that_broke_things_rank_first(story: dict[str, pd.DataFrame]) -> None:
    causes = probable_causes(story["events"], story["history"], story["alarms"])
    assert tuple(causes.columns) == CAUSE_COLUMNS
    assert ranking(causes, "orders-db-connections") == [
        (1, "db-stop", "resource"),
        (2, "db-modify", "resource"),
        (3, "db-snap", "resource"),
        (4, "db-reboot-denied", "resource"),
        (5, "other-db", "service"),
    ]
    assert ranking(causes, "checkout-throttles") == [
        (1, "fn-zero", "resource"),
        (2, "fn-config", "resource"),
        (3, "role-detach", "related"),
        (4, "other-fn", "service"),
        (5, "fn-code-2", "resource"),
        (6, "fn-code-1", "resource"),
    ]
    first = causes[causes["rank"] == 1].set_index("alarm_name")
    assert first.loc["orders-db-connections", "lag"] == pd.Timedelta(minutes=11)
    assert first.loc["checkout-throttles", "lag"] == pd.Timedelta(minutes=5)
    assert first.loc["orders-db-connections", "actor"] == f"arn:aws:iam::{ACCOUNT}:user/alice"
    assert first.loc["checkout-throttles", "eventName"] == "PutFunctionConcurrency20171031"
    assert "reserved concurrency 0 throttles every invocation" in first.loc["checkout-throttles", "why"]
    assert first.loc["orders-db-connections", "why"] == (
        "on the alarm's resource (orders-db); known cause: a stopped DB instance accepts no connections; "
        "11 min before the alarm; StopDBInstance called 1 time in the events")
    denied = causes[causes["eventID"] == "db-reboot-denied"].iloc[0]
    assert denied["why"].endswith("failed (AccessDenied), so it changed nothing")


def test_confidence_says_whether_cloudtrail_explains_the_transition(story: dict[str, pd.DataFrame]) -> None:
    causes = probable_causes(story["events"], story["history"], story["alarms"]).set_index("eventID")
    assert causes.loc["db-stop", "confidence"] == "high"  # the alarm's resource and a known pattern
    assert causes.loc["db-snap", "confidence"] == "medium"  # the alarm's resource, no pattern
    assert causes.loc["other-db", "confidence"] == "low"  # only the same service
    assert causes.loc["db-reboot-denied", "confidence"] == "low"  # failed
    assert set(causes["new_state"].dropna()) == {"ALARM"}


def test_calls_after_the_evaluated_datapoints_cannot_be_causes(story: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    item = state_change("checkout-throttles", "2024-03-14T02:40:00Z", "OK", "ALARM")
    data = json.loads(item["HistoryData"])
    data["newState"]["stateReasonData"] = {"period": 60, "evaluatedDatapoints": [
        {"timestamp": "2024-03-14T02:35:00.000+0000", "value": 40.0}, {"timestamp": "2024-03-14T02:34:00.000+0000"}]}
    item["HistoryData"] = json.dumps(data)
    history = load_alarm_history(write_json(tmp_path / "h.json", {"AlarmHistoryItems": [item]}))
    causes = probable_causes(story["events"], history, story["alarms"])
    # the 02:35 datapoint ends at 02:36: fn-config (02:36) and role-detach (02:38) come too late
    assert [e for _, e, _ in ranking(causes, "checkout-throttles")] == ["fn-zero", "other-fn", "fn-code-2", "fn-code-1"]
    assert causes["lag"].iloc[0] == pd.Timedelta(minutes=5)  # the lag is still counted to the transition


def test_reads_later_calls_and_other_services_are_never_candidates(story: dict[str, pd.DataFrame]) -> None:
    causes = probable_causes(story["events"], story["history"], story["alarms"])
    assert not {"db-read", "db-start", "s3-put", "key"} & set(causes["eventID"].dropna())
    # only transitions into ALARM are explained: the 02:55 recovery is not
    assert sorted(causes["alarm_time"].unique()) == [pd.Timestamp(f"2024-03-14T{m}Z") for m in ("02:31", "02:40", "02:50")]


def test_an_alarm_without_definition_or_candidates_keeps_a_row_saying_so(story: dict[str, pd.DataFrame]) -> None:
    causes = probable_causes(story["events"], story["history"], story["alarms"])
    unknown = causes[causes["alarm_name"] == "forgotten-alarm"]
    assert len(unknown) == 1 and pd.isna(unknown["eventID"].iloc[0]) and pd.isna(unknown["rank"].iloc[0])
    assert "not among the alarm definitions" in unknown["why"].iloc[0]
    early = story["history"][story["history"]["alarm_name"] == "orders-db-connections"].assign(
        time=pd.Timestamp("2024-03-14T01:00:00Z"))
    none = probable_causes(story["events"], early, story["alarms"])
    assert len(none) == 1 and pd.isna(none["eventID"].iloc[0])
    assert none["why"].iloc[0] == ("no call on DBInstanceIdentifier=orders-db, a related resource "
                                   "or the rds service in the 6 h before")


def test_lookback_and_patterns_are_parameters(story: dict[str, pd.DataFrame]) -> None:
    short = probable_causes(story["events"], story["history"], story["alarms"], lookback="1h")
    assert ranking(short, "checkout-throttles")[-1] == (4, "other-fn", "service")
    # without known patterns, the closer direct call on checkout-handler wins
    plain = probable_causes(story["events"], story["history"], story["alarms"], patterns=())
    assert ranking(plain, "checkout-throttles")[0] == (1, "fn-config", "resource")
    # a pattern taught instead of the defaults lifts the deploys above the concurrency change
    taught = (CausePattern("UpdateFunctionCode", "Throttles", "AWS/Lambda", strength=1.0),)
    custom = probable_causes(story["events"], story["history"], story["alarms"], patterns=taught)
    assert [e for _, e, _ in ranking(custom, "checkout-throttles")[:4]] == ["fn-code-2", "fn-code-1", "fn-config", "fn-zero"]


# --------------------------------------------------------------------------- timeline


@pytest.fixture
def metrics(tmp_path: Path) -> pd.DataFrame:
    minutes = pd.date_range("2024-03-14T02:10Z", "2024-03-14T02:49Z", freq="1min")
    conn = [14.0 if t < pd.Timestamp("2024-03-14T02:21Z") else 0.0 for t in minutes]
    thr = [0.0 if t < pd.Timestamp("2024-03-14T02:35Z") else 40.0 for t in minutes]
    stamps = [t.isoformat() for t in minutes]
    results = write_json(tmp_path / "get-metric-data.json", {"MetricDataResults": [
        {"Id": "conn", "Label": "DatabaseConnections", "Timestamps": stamps, "Values": conn, "StatusCode": "Complete"},
        {"Id": "thr", "Label": "Throttles", "Timestamps": stamps, "Values": thr, "StatusCode": "Complete"},
    ]})
    queries = [
        {"Id": "conn", "MetricStat": {"Metric": {"Namespace": "AWS/RDS", "MetricName": "DatabaseConnections",
                                                 "Dimensions": DB}, "Period": 60, "Stat": "Average"}},
        {"Id": "thr", "MetricStat": {"Metric": {"Namespace": "AWS/Lambda", "MetricName": "Throttles",
                                                "Dimensions": FN}, "Period": 60, "Stat": "Sum"}},
    ]
    return load_metric_data(results, queries)


def test_timeline_stacks_every_kind_in_time_order(story: dict[str, pd.DataFrame], metrics: pd.DataFrame) -> None:
    events = story["events"]
    findings = pd.DataFrame({"eventTime": [pd.Timestamp("2024-03-14T02:35:00Z")], "title": ["Lambda concurrency set to 0"],
                             "level": ["high"], "eventID": ["fn-zero"], "actor": ["mallory"]})
    frame = timeline(events, metrics, story["history"], findings)
    assert tuple(frame.columns) == TIMELINE_COLUMNS
    assert frame["kind"].value_counts().to_dict() == {"metric": 80, "event": 15, "alarm": 4, "finding": 1}
    assert frame["time"].is_monotonic_increasing
    stop = frame[(frame["kind"] == "event") & (frame["label"] == "StopDBInstance")].iloc[0]
    assert events.loc[stop["ref"], "eventID"] == "db-stop"
    assert (stop["resource"], stop["actor"]) == ("orders-db", f"arn:aws:iam::{ACCOUNT}:user/alice")
    denied = frame[frame["label"] == "RebootDBInstance"].iloc[0]
    assert denied["detail"] == "AccessDenied"
    alarm = frame[frame["kind"] == "alarm"].iloc[0]
    assert (alarm["label"], alarm["time"]) == ("orders-db-connections: OK → ALARM", pd.Timestamp("2024-03-14T02:31Z"))
    finding = frame[frame["kind"] == "finding"].iloc[0]
    assert (finding["label"], finding["resource"], finding["actor"], finding["detail"]) == (
        "Lambda concurrency set to 0", "checkout-handler", "mallory", "high")
    with pytest.raises(SchemaError, match=r"findings lack columns \['title'\]"):
        timeline(events, findings=findings.drop(columns="title"))
    point = frame[frame["kind"] == "metric"].iloc[0]
    assert metrics.loc[point["ref"], "timestamp"] == point["time"] and point["resource"] == "DBInstanceIdentifier=orders-db"
    # at equal times alarms sort before events, events before metrics
    at_0235 = frame[frame["time"] == pd.Timestamp("2024-03-14T02:35Z")]["kind"].tolist()
    assert at_0235 == ["event", "finding", "metric", "metric"]


def test_timeline_keeps_only_the_padded_window(story: dict[str, pd.DataFrame]) -> None:
    inc = Incident("2024-03-14T02:30:00Z", "2024-03-14T02:40:00Z", pad="5min")
    events = story["events"]
    frame = timeline(events, alarm_history=story["history"], incident=inc)
    assert frame["time"].min() >= inc.padded_start and frame["time"].max() <= inc.padded_end
    assert [events.loc[r, "eventID"] for r in frame[frame["kind"] == "event"]["ref"]] == [
        "db-modify", "db-reboot-denied", "s3-put", "other-fn", "fn-zero", "fn-config", "role-detach", "key", "db-start"]
    assert frame[frame["kind"] == "alarm"]["label"].tolist() == [
        "orders-db-connections: OK → ALARM", "checkout-throttles: OK → ALARM"]  # 02:50 and 02:55 are outside


# --------------------------------------------------------------------------- change points


def test_change_points_list_the_calls_just_before(story: dict[str, pd.DataFrame], metrics: pd.DataFrame) -> None:
    found = change_points(metrics, story["events"])
    assert tuple(found.columns) == CHANGE_COLUMNS
    rows = found[["id", "time", "kind", "before", "after", "eventIDs", "matched"]].to_dict("records")
    assert rows == [
        {"id": "conn", "time": pd.Timestamp("2024-03-14T02:21Z"), "kind": "step", "before": 14.0, "after": 0.0,
         "eventIDs": ("db-stop",), "matched": ("db-stop",)},
        # every write call of the 15 minutes before the end of the changed minute, and those about the function
        {"id": "thr", "time": pd.Timestamp("2024-03-14T02:35Z"), "kind": "step", "before": 0.0, "after": 40.0,
         "eventIDs": ("db-stop", "db-modify", "db-reboot-denied", "s3-put", "other-fn", "fn-zero"),
         "matched": ("other-fn", "fn-zero")},
    ]
    assert found["calls"].iloc[0] == f"02:20:00 StopDBInstance by arn:aws:iam::{ACCOUNT}:user/alice"
    narrow = change_points(metrics, story["events"], before="30s")
    assert narrow["eventIDs"].tolist() == [(), ("fn-zero",)]
    assert change_points(metrics).loc[0, "eventIDs"] == ()


# --------------------------------------------------------------------------- the bundled sample incident


@pytest.fixture(scope="module")
def sample_incident() -> dict[str, object]:
    from forensics import sample

    cloudwatch = sample.sample_cloudwatch_path()
    return {
        "events": load_cloudtrail(sample.sample_cloudtrail_path()).events,
        "alarms": load_alarms(cloudwatch / "describe-alarms.json"),
        "history": load_alarm_history(cloudwatch / "describe-alarm-history.json"),
        "metrics": load_metric_data(cloudwatch / "get-metric-data.json", cloudwatch / "metric-data-queries.json"),
        "key": sample.sample_answer_key(),
    }


def test_the_sample_answer_key_causes_rank_first(sample_incident: dict) -> None:
    causes = probable_causes(sample_incident["events"], sample_incident["history"], sample_incident["alarms"],
                             states=("ALARM", "OK", "INSUFFICIENT_DATA"))
    checked = 0
    for alarm in sample_incident["key"]["alarms"]:
        for change in alarm["transitions"]:
            rows = causes[(causes["alarm_name"] == alarm["alarm"])
                          & (causes["alarm_time"] == pd.Timestamp(change["timestamp"]))]
            expected = set(change["caused_by"])
            top = rows.head(len(expected) or 1)
            if expected:  # the calls that caused it are exactly the first ones, with high confidence
                assert set(top["eventID"]) == expected, (alarm["alarm"], change["timestamp"])
                assert set(top["confidence"]) == {"high"}
            else:  # nothing in CloudTrail caused it, and the ranking does not claim otherwise
                assert top["confidence"].iloc[0] != "high", (alarm["alarm"], change["timestamp"])
            checked += 1
    assert checked == 10


def test_the_sample_metric_changes_list_the_calls_behind_them(sample_incident: dict) -> None:
    found = change_points(sample_incident["metrics"], sample_incident["events"])
    connections = found[(found["metric"] == "DatabaseConnections") & (found["kind"] == "step")]
    stop, start = "988e2aab-074d-415b-81a0-26879041174c", "db09f0a6-2ca6-4777-846a-f521568d3df6"
    assert [(t.strftime("%H:%M"), m) for t, m in connections[["time", "matched"]].itertuples(index=False)] == [
        ("11:33", (stop,)), ("11:58", (start,))]
    throttles = found[found["metric"] == "Throttles"]
    assert "a73f629e-5b66-461a-8d19-6ca2e8f0300c" in throttles["matched"].iloc[0]
