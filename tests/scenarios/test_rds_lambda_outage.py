"""The ``rds-lambda-outage`` story: an insider's legitimate SSO role, after hours, with alarms silenced."""

from __future__ import annotations

from forensics.scenarios.times import utc

from .reading import Scenario


def test_the_insider(outage: Scenario) -> None:
    attacker = outage.key["attacker"]
    assert attacker["source_ips"] == ["198.51.100.140"]
    (principal,) = attacker["principal_arns"]
    assert principal.endswith("/sam@acme.example") and "AWSReservedSSO_AdministratorAccess_" in principal
    (role,) = attacker["roles_assumed"]
    sign_in = outage.by_id[role["eventID"]]
    assert sign_in["eventName"] == "AssumeRoleWithSAML"
    assert sign_in["userIdentity"] == {
        "type": "SAMLUser",
        "principalId": sign_in["userIdentity"]["principalId"],
        "userName": "sam@acme.example",
        "identityProvider": sign_in["userIdentity"]["identityProvider"],
    }
    assert utc(sign_in["eventTime"]).hour >= 18  # after office hours
    # the daytime administrator uses the same role: the session name tells them apart
    daytime = {
        r["userIdentity"]["arn"]
        for r in outage.records
        if r["userIdentity"].get("arn", "").count("AdministratorAccess")
    }
    assert daytime == {principal, principal.replace("sam@acme.example", "dave@acme.example")}
    assert attacker["access_key_ids"]["leaked"] == [] and attacker["access_key_ids"]["created"] == []


def test_the_stages(outage: Scenario) -> None:
    stages = {s["stage"]: s for s in outage.key["stages"]}
    assert list(stages) == ["initial-access", "discovery", "defense-evasion", "impact"]
    (silence,) = stages["defense-evasion"]["events"]
    record = outage.by_id[silence["eventID"]]
    assert record["eventName"] == "DisableAlarmActions"
    assert set(record["requestParameters"]["alarmNames"]) == {a["alarm"] for a in outage.key["alarms"]}
    impact = [outage.by_id[e["eventID"]] for e in stages["impact"]["events"]]
    assert [r["eventName"] for r in impact] == ["StopDBInstance", "PutFunctionConcurrency20171031"]
    assert all(r["sessionCredentialFromConsole"] == "true" for r in impact)
    assert outage.key["response"] == []


def test_alarms_fired_but_nobody_was_notified(outage: Scenario) -> None:
    alarms = {a["alarm"]: a for a in outage.key["alarms"]}
    silenced = utc(
        next(
            e["eventTime"] for s in outage.key["stages"] for e in s["events"] if e["eventName"] == "DisableAlarmActions"
        )
    )
    for name in ("orders-db-connections-low", "checkout-handler-throttles"):
        (raised,) = [t for t in alarms[name]["transitions"] if t["to"] == "ALARM"]
        assert not raised["notified"] and utc(raised["timestamp"]) > silenced
        (cause,) = raised["caused_by"]
        assert outage.by_id[cause]["eventName"] in ("StopDBInstance", "PutFunctionConcurrency20171031")
        assert outage.by_id[alarms[name]["actions_disabled_by"]]["eventName"] == "DisableAlarmActions"
    before = [t for t in alarms["orders-db-cpu-high"]["transitions"] if utc(t["timestamp"]) < silenced]
    assert before and all(t["notified"] for t in before)  # the afternoon's benign flap did page
    described = {a["AlarmName"]: a for a in outage.cloudwatch("describe-alarms.json")["MetricAlarms"]}
    assert not any(a["ActionsEnabled"] for a in described.values())
    assert described["orders-db-connections-low"]["StateValue"] == "ALARM"
    assert described["checkout-handler-throttles"]["StateValue"] == "ALARM"
