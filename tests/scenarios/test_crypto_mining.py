"""The ``crypto-mining`` story: a dormant user's key, unused regions, refused GPUs, miners, the guardrail."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from forensics.scenarios.times import utc

from .reading import Scenario

ACCOUNT = "012345678901"
UNUSED = {"ap-northeast-1", "sa-east-1", "eu-north-1"}


def test_one_key_two_addresses_and_nobody_else_uses_the_user(mining: Scenario) -> None:
    attacker = mining.key["attacker"]
    assert attacker["source_ips"] == ["203.0.113.45", "198.51.100.211"]
    (key,) = attacker["access_key_ids"]["leaked"]
    assert attacker["access_key_ids_used"] == [key] and key.startswith("AKIA")
    assert attacker["principal_arns"] == [f"arn:aws:iam::{ACCOUNT}:user/ml-sandbox"]
    by_user = [r for r in mining.records if r["userIdentity"].get("userName") == "ml-sandbox"]
    assert {r["eventID"] for r in by_user} == mining.attacker_ids
    first = mining.by_id[mining.key["stages"][0]["events"][0]["eventID"]]
    assert (first["eventName"], first["sourceIPAddress"]) == ("GetCallerIdentity", "203.0.113.45")


def test_unused_regions_see_only_the_attack_and_the_response(mining: Scenario) -> None:
    response = {e["eventID"] for e in mining.key["response"]}
    in_unused = {r["eventID"] for r in mining.records if r["awsRegion"] in UNUSED}
    assert in_unused <= mining.attacker_ids | response
    assert set(mining.key["regions_abused"]) == UNUSED
    assert UNUSED < set(mining.key["regions"])


def test_gpus_are_refused_and_miners_start(mining: Scenario) -> None:
    events = [mining.by_id[e["eventID"]] for s in mining.key["stages"] for e in s["events"]]
    runs = [r for r in events if r["eventName"] == "RunInstances"]
    assert {r["awsRegion"] for r in runs} == UNUSED
    refused = [r for r in runs if r.get("errorCode")]
    assert {r["requestParameters"]["instanceType"] for r in refused} == {"p3.16xlarge", "g4dn.12xlarge"}
    assert {r["errorCode"] for r in refused} == {"Client.VcpuLimitExceeded"}
    assert all(r["responseElements"] is None for r in refused)
    started = [r for r in runs if not r.get("errorCode")]
    assert len(started) == 3 and all(r["requestParameters"]["instanceType"] == "c5.24xlarge" for r in started)
    assert all(r["requestParameters"]["userData"] == "<sensitiveDataRemoved>" for r in runs)
    launched = {i["instanceId"] for r in started for i in r["responseElements"]["instancesSet"]["items"]}
    assert launched == {i["instanceId"] for i in mining.key["instances_launched"]}
    increases = [r for r in events if r["eventName"] == "RequestServiceQuotaIncrease"]
    assert Counter(r["awsRegion"] for r in increases) == dict.fromkeys(UNUSED, 2)
    assert all(r["responseElements"]["requestedQuota"]["status"] == "PENDING" for r in increases)
    opened = [r for r in events if r["eventName"] == "AuthorizeSecurityGroupIngress"]
    ranges = {
        (p["fromPort"], item["cidrIp"])
        for r in opened
        for p in r["requestParameters"]["ipPermissions"]["items"]
        for item in p["ipRanges"]["items"]
    }
    assert ranges == {(22, "0.0.0.0/0")} and len(opened) == 3


def test_guardrail_fires_on_the_launch_and_clears_on_termination(mining: Scenario) -> None:
    (alarm,) = mining.key["alarms"]
    assert alarm["alarm"] == "ec2-vcpu-guardrail" and mining.key["cloudwatch"]["region"] == "ap-northeast-1"
    assert [t["to"] for t in alarm["transitions"]] == ["ALARM", "OK"]
    raised, cleared = alarm["transitions"]
    (run,) = (mining.by_id[e] for e in raised["caused_by"])
    assert (run["eventName"], run["awsRegion"], run.get("errorCode")) == ("RunInstances", "ap-northeast-1", None)
    assert timedelta(0) < utc(raised["timestamp"]) - utc(run["eventTime"]) < timedelta(minutes=4)
    (stop,) = (mining.by_id[e] for e in cleared["caused_by"])
    assert stop["eventName"] == "TerminateInstances"
    assert stop["eventID"] in {e["eventID"] for e in mining.key["response"]}
    terminated = {
        i["instanceId"]
        for e in mining.key["response"]
        if e["eventName"] == "TerminateInstances"
        for i in mining.by_id[e["eventID"]]["requestParameters"]["instancesSet"]["items"]
    }
    assert terminated == {i["instanceId"] for i in mining.key["instances_launched"]}
    results = {r["Id"]: r for r in mining.cloudwatch("get-metric-data.json")["MetricDataResults"]}
    assert set(results["vcpuStandard"]["Values"]) == {192.0}
    cpu = [r for query_id, r in results.items() if query_id.startswith("cpuMiner")]
    assert len(cpu) == 2 and all(utc(t).minute % 5 == 0 for r in cpu for t in r["Timestamps"])


def test_leftovers_are_what_the_response_did_not_undo(mining: Scenario) -> None:
    attack = [mining.by_id[e["eventID"]] for s in mining.key["stages"] for e in s["events"]]
    written = {r["eventName"] for r in attack if not r["readOnly"]}
    undone = {"RunInstances", "CreateKeyPair"}  # terminated, deleted by the responders
    assert set(mining.key["leftovers"]) == written - undone
    response = {e["eventName"] for e in mining.key["response"]}
    assert {"TerminateInstances", "DeleteKeyPair", "UpdateAccessKey"} <= response
    assert not {"DeleteSecurityGroup", "RevokeSecurityGroupIngress"} & response
    lookalike_runs = [e for e in mining.key["benign_lookalikes"] if e["eventName"] == "RunInstances"]
    assert lookalike_runs and all(e["awsRegion"] == "us-east-1" for e in lookalike_runs)
