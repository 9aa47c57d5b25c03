"""What every scenario's data must satisfy: the answer key agrees with the records, attackers are
separable from the background only by what the key states, records are realistic, files follow
CloudTrail's delivery layout, and alarm changes follow the calls that caused them."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import timedelta

from forensics.scenarios.times import utc

from .reading import Scenario

ACCOUNT = "012345678901"
EVENT_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
NAME_TIME = re.compile(r"_(\d{8}T\d{4}Z)_[A-Za-z0-9]{16}\.json\.gz$")
DATA_EVENTS = ("GetObject", "PutObject", "ListObjects", "DeleteObject", "DeleteObjects")


def _key_of(record: dict) -> str | None:
    return record["userIdentity"].get("accessKeyId")


def test_every_answer_key_event_exists_with_the_stated_fields(scenario: Scenario) -> None:
    by_id = scenario.by_id
    events = [e for stage in scenario.key["stages"] for e in stage["events"]]
    assert len(events) == len(scenario.attacker_ids) == scenario.key["delivery"]["attacker_events"]
    for entry in [*events, *scenario.key["response"], *scenario.key["benign_lookalikes"]]:
        record = by_id[entry["eventID"]]
        identity = record["userIdentity"]
        assert entry["eventTime"] == record["eventTime"]
        assert entry["eventName"] == record["eventName"]
        assert entry["eventSource"] == record["eventSource"]
        assert entry["awsRegion"] == record["awsRegion"]
        assert entry["actor"] == (identity.get("arn") or identity.get("principalId"))
        assert entry["accessKeyId"] == identity.get("accessKeyId")
        assert entry["sourceIPAddress"] == record["sourceIPAddress"]
        assert entry["errorCode"] == record.get("errorCode")
    for role in scenario.key["attacker"]["roles_assumed"]:
        assert by_id[role["eventID"]]["eventName"].startswith("AssumeRole")
        assert by_id[role["eventID"]]["responseElements"]["credentials"]["accessKeyId"] == role["accessKeyId"]


def test_attacker_events_are_exactly_those_with_the_attackers_keys_or_addresses(scenario: Scenario) -> None:
    attacker = scenario.key["attacker"]
    keys = set(attacker["access_key_ids_used"])
    addresses = set(attacker["source_ips"])
    assert keys and addresses
    assert keys <= {k for group in attacker["access_key_ids"].values() for k in group}
    flagged = {r["eventID"] for r in scenario.records if _key_of(r) in keys or r["sourceIPAddress"] in addresses}
    assert flagged == scenario.attacker_ids
    others = [r for r in scenario.records if r["eventID"] not in scenario.attacker_ids]
    assert not [r for r in others if _key_of(r) in keys or r["sourceIPAddress"] in addresses]
    assert not [r for r in others if r["userAgent"] in attacker["user_agents"]]
    principals = {r["userIdentity"].get("arn") for r in scenario.records if r["eventID"] in scenario.attacker_ids}
    assert principals - {None} == set(attacker["principal_arns"])


def test_records_are_realistic(scenario: Scenario) -> None:
    required = (
        "eventVersion", "eventTime", "eventID", "eventSource", "eventName", "awsRegion", "sourceIPAddress",
        "userAgent", "eventType", "recipientAccountId", "eventCategory", "managementEvent", "readOnly",
    )  # fmt: skip
    types: Counter[str] = Counter()
    for record in scenario.records:
        assert all(field in record for field in required), record
        assert record["eventVersion"] in ("1.08", "1.09")
        assert EVENT_TIME.fullmatch(record["eventTime"])
        assert record["recipientAccountId"] == ACCOUNT
        identity = record["userIdentity"]
        types[identity["type"]] += 1
        if identity["type"] == "AssumedRole":
            issuer = identity["sessionContext"]["sessionIssuer"]
            assert issuer["type"] == "Role" and issuer["arn"].startswith(f"arn:aws:iam::{ACCOUNT}:role/")
            assert identity["principalId"] == f"{issuer['principalId']}:{identity['arn'].rsplit('/', 1)[1]}"
            assert identity["sessionContext"]["attributes"]["mfaAuthenticated"] in ("true", "false")
            assert identity["accessKeyId"].startswith("ASIA")
        if identity["type"] == "IAMUser" and "accessKeyId" in identity:
            assert identity["accessKeyId"][:4] in ("AKIA", "ASIA")
        if identity["type"] == "AWSService":
            assert record["sourceIPAddress"] == identity["invokedBy"]
        data_event = record["eventSource"] == "s3.amazonaws.com" and record["eventName"] in DATA_EVENTS
        assert (record["eventCategory"], record["managementEvent"]) == (
            ("Data", False) if data_event else ("Management", True)
        )
        if record.get("errorCode"):
            assert record["responseElements"] is None and record["errorMessage"]
        if record["eventName"] == "ConsoleLogin":
            assert record["eventType"] == "AwsConsoleSignIn" and "requestID" not in record
    assert {"AssumedRole", "IAMUser", "AWSService", "AWSAccount", "SAMLUser"} <= set(types)
    assert sum(1 for r in scenario.records if r.get("errorCode")) >= 10  # the background has its own failures


def test_files_follow_the_delivery_layout(scenario: Scenario) -> None:
    per_region: Counter[str] = Counter()
    for path, records in scenario.files.items():
        parts = path.split("/")
        assert parts[:3] == ["AWSLogs", ACCOUNT, "CloudTrail"]
        named = NAME_TIME.search(path)
        assert named, path
        text = named[1]
        stamp = utc(f"{text[:4]}-{text[4:6]}-{text[6:8]}T{text[9:11]}:{text[11:13]}:00Z")
        assert parts[4:7] == [f"{stamp:%Y}", f"{stamp:%m}", f"{stamp:%d}"]
        assert all(utc(r["eventTime"]) <= stamp for r in records), path
        assert {r["awsRegion"] for r in records} == {parts[3]}
        per_region[parts[3]] += 1
    hours = (utc(scenario.key["data_window"]["end"]) - utc(scenario.key["data_window"]["start"])) / timedelta(hours=1)
    busy = sorted(region for region, count in per_region.items() if count >= 4 * hours)
    assert busy == ["eu-west-1", "us-east-1"]


def test_duplicates_match_the_answer_key(scenario: Scenario) -> None:
    holders: dict[str, list[str]] = {}
    for path, records in scenario.files.items():
        for record in records:
            holders.setdefault(record["eventID"], []).append(path)
    found = {event_id: sorted(paths) for event_id, paths in holders.items() if len(paths) > 1}
    stated = {d["eventID"]: sorted(d["files"]) for d in scenario.key["duplicates"]}
    assert found == stated and found
    assert all(d["attacker_event"] == (d["eventID"] in scenario.attacker_ids) for d in scenario.key["duplicates"])
    assert scenario.key["delivery"]["records_written"] == sum(len(r) for r in scenario.files.values())
    assert scenario.key["delivery"]["events"] == len(scenario.records)


def test_windows(scenario: Scenario) -> None:
    data = scenario.key["data_window"]
    times = sorted(utc(r["eventTime"]) for r in scenario.records)
    assert utc(data["start"]) <= times[0] and times[-1] < utc(data["end"])
    window = scenario.key["incident_window"]
    attack = [utc(scenario.by_id[e]["eventTime"]) for e in scenario.attacker_ids]
    assert utc(window["start"]) < min(attack) and max(attack) < utc(window["end"])
    assert utc(window["end"]) - utc(window["start"]) < timedelta(hours=3)


def test_alarm_history_is_the_answer_keys(scenario: Scenario) -> None:
    history = scenario.cloudwatch("describe-alarm-history.json")["AlarmHistoryItems"]
    stamps = [utc(item["Timestamp"]) for item in history]
    assert stamps == sorted(stamps, reverse=True)
    updates = sorted(
        (item["AlarmName"], utc(item["Timestamp"]), json.loads(item["HistoryData"]))
        for item in history
        if item["HistoryItemType"] == "StateUpdate"
    )
    stated = sorted((a["alarm"], utc(t["timestamp"]), t) for a in scenario.key["alarms"] for t in a["transitions"])
    assert [u[:2] for u in updates] == [s[:2] for s in stated]
    notified = {(item["AlarmName"], item["Timestamp"]) for item in history if item["HistoryItemType"] == "Action"}
    for (name, at, data), (_, _, transition) in zip(updates, stated, strict=True):
        assert (data["oldState"]["stateValue"], data["newState"]["stateValue"]) == (
            transition["from"],
            transition["to"],
        )
        sent = any(n == name and timedelta(0) < utc(t) - at < timedelta(seconds=1) for n, t in notified)
        assert sent == transition["notified"]
    final = {a["AlarmName"]: a["StateValue"] for a in scenario.cloudwatch("describe-alarms.json")["MetricAlarms"]}
    for alarm in scenario.key["alarms"]:
        if alarm["transitions"]:
            assert final[alarm["alarm"]] == alarm["transitions"][-1]["to"]


def test_alarm_causes_come_before_their_effects(scenario: Scenario) -> None:
    causes = 0
    for alarm in scenario.key["alarms"]:
        for transition in alarm["transitions"]:
            for event_id in transition["caused_by"]:
                record = scenario.by_id[event_id]
                lag = utc(transition["timestamp"]) - utc(record["eventTime"])
                assert timedelta(0) < lag < timedelta(minutes=15), (alarm["alarm"], transition, record["eventName"])
                causes += 1
    assert causes >= 2


def test_metrics_parse_in_the_cli_shapes(scenario: Scenario) -> None:
    results = {r["Id"]: r for r in scenario.cloudwatch("get-metric-data.json")["MetricDataResults"]}
    queries = {q["Id"]: q for q in scenario.cloudwatch("metric-data-queries.json")}
    assert set(results) == set(queries)
    start, end = utc(scenario.key["cloudwatch"]["start_time"]), utc(scenario.key["cloudwatch"]["end_time"])
    for query_id, result in results.items():
        stamps = [utc(s) for s in result["Timestamps"]]
        assert stamps == sorted(stamps, reverse=True) and len(stamps) == len(result["Values"])
        assert all(start <= t < end and t.second == 0 for t in stamps)
        assert result["StatusCode"] == "Complete"
        assert result["Label"] == queries[query_id]["MetricStat"]["Metric"]["MetricName"]
        assert queries[query_id]["MetricStat"]["Period"] == 60


def test_benign_lookalikes_are_not_attacker_events(scenario: Scenario) -> None:
    lookalikes = scenario.key["benign_lookalikes"]
    shared = {  # the ordinary day's look-alikes, in every scenario
        "StopDBInstance": {"dBInstanceIdentifier": "staging-db"},
        "PutFunctionConcurrency20171031": {"functionName": "report-generator", "reservedConcurrentExecutions": 5},
    }
    assert set(shared) <= {e["eventName"] for e in lookalikes}
    for entry in lookalikes:
        record = scenario.by_id[entry["eventID"]]
        assert entry["eventID"] not in scenario.attacker_ids and entry["why_benign"]
        assert record["eventName"] == entry["eventName"]
        if entry["eventName"] in shared:
            assert record["requestParameters"] == shared[entry["eventName"]]
    assert not {e["eventID"] for e in scenario.key["response"]} & scenario.attacker_ids
