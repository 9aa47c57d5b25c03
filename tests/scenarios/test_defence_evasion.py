"""The ``defence-evasion`` story: defences off, a logging gap that really is a gap, a backdoor user."""

from __future__ import annotations

from datetime import timedelta

from forensics.scenarios.times import utc

from .reading import Scenario

ACCOUNT = "012345678901"


def _events(evasion: Scenario) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for stage in evasion.key["stages"]:
        for entry in stage["events"]:
            found.setdefault(entry["eventName"], []).append(evasion.by_id[entry["eventID"]])
    return found


def test_sign_in_without_mfa_then_the_session(evasion: Scenario) -> None:
    attacker = evasion.key["attacker"]
    assert attacker["source_ips"] == ["203.0.113.118", "198.51.100.77"]
    assert attacker["principal_arns"] == [
        f"arn:aws:iam::{ACCOUNT}:user/ops-breakglass",
        f"arn:aws:iam::{ACCOUNT}:user/svc-backup",
    ]
    (login,) = _events(evasion)["ConsoleLogin"]
    assert login["additionalEventData"]["MFAUsed"] == "No" and "accessKeyId" not in login["userIdentity"]
    (session_key,) = attacker["access_key_ids"]["sessions"]
    console = [r for r in evasion.records if r["userIdentity"].get("accessKeyId") == session_key]
    assert console and all(r["sessionCredentialFromConsole"] == "true" for r in console)
    assert all(r["userIdentity"]["sessionContext"]["attributes"]["mfaAuthenticated"] == "false" for r in console)


def test_defences_switched_off(evasion: Scenario) -> None:
    events = _events(evasion)
    assert {r["awsRegion"] for r in events["DeleteDetector"]} == {"us-east-1", "eu-west-1"}
    assert {r["awsRegion"] for r in events["StopConfigurationRecorder"]} == {"us-east-1", "eu-west-1"}
    (stop,) = events["StopLogging"]
    assert stop["requestParameters"] == {"name": evasion.key["logging_gap"]["trail"]}
    switched_off = ("DeleteDetector", "StopConfigurationRecorder", "StopLogging")
    sources = {r["eventSource"] for name in switched_off for r in events[name]}
    assert sources == set(evasion.key["defences_disabled"])


def test_the_gap_holds_no_event_at_all(evasion: Scenario) -> None:
    gap = evasion.key["logging_gap"]
    stopped, restarted = utc(gap["stopped"]["eventTime"]), utc(gap["restarted"]["eventTime"])
    assert timedelta(minutes=10) <= restarted - stopped <= timedelta(minutes=18)
    inside = [r for r in evasion.records if stopped < utc(r["eventTime"]) < restarted]
    assert inside == []
    assert gap["unrecorded_background_events"] > 0  # the ordinary day went on, unrecorded
    restart = evasion.by_id[gap["restarted"]["eventID"]]
    assert restart["eventName"] == "StartLogging" and gap["restarted"]["eventID"] in {
        e["eventID"] for e in evasion.key["response"]
    }
    (create,) = [a for a in gap["unrecorded_attacker_actions"] if a["eventName"] == "CreateUser"]
    assert stopped < utc(create["eventTime"]) < restarted
    assert not [r for r in evasion.records if r["eventName"] == "CreateUser"]
    # the later records act on the user whose creation is missing
    later = _events(evasion)
    assert later["CreateLoginProfile"][0]["requestParameters"]["userName"] == create["requestParameters"]["userName"]
    assert all(utc(r["eventTime"]) > restarted for r in later["CreateLoginProfile"] + later["AttachUserPolicy"])


def test_backdoor_key_comes_from_the_records(evasion: Scenario) -> None:
    events = _events(evasion)
    (created,) = events["CreateAccessKey"]
    key = created["responseElements"]["accessKey"]["accessKeyId"]
    assert [key] == evasion.key["attacker"]["access_key_ids"]["created"]
    used = [r for r in evasion.records if r["userIdentity"].get("accessKeyId") == key]
    assert {r["sourceIPAddress"] for r in used} == {"198.51.100.77"}
    assert events["AttachUserPolicy"][0]["requestParameters"] == {
        "userName": "svc-backup",
        "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess",
    }


def test_cis_alarms_count_the_recorded_events(evasion: Scenario) -> None:
    alarms = {a["alarm"]: a for a in evasion.key["alarms"]}
    causes = {
        name: {evasion.by_id[e]["eventName"] for t in a["transitions"] if t["to"] == "ALARM" for e in t["caused_by"]}
        for name, a in alarms.items()
    }
    assert causes == {
        "cis-console-signin-without-mfa": {"ConsoleLogin"},
        "cis-cloudtrail-changes": {"StartLogging", "StopLogging"},  # the intruder's, then the responder's
        "cis-config-changes": {"StopConfigurationRecorder"},
        "cis-iam-policy-changes": {"AttachUserPolicy", "DetachUserPolicy"},
    }
    assert evasion.key["cloudwatch"]["region"] == "us-east-1"
    assert all(t["notified"] for a in alarms.values() for t in a["transitions"])
