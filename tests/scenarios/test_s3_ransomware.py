"""The ``s3-ransomware`` story: a foreign workflow's token, recovery sabotaged, objects deleted, the key held."""

from __future__ import annotations

from collections import Counter

from forensics.scenarios.times import utc

from .reading import Scenario

ACCOUNT = "012345678901"
BUCKET = "acme-customer-exports"


def _attack(ransomware: Scenario) -> list[dict]:
    return sorted(
        (ransomware.by_id[e["eventID"]] for s in ransomware.key["stages"] for e in s["events"]),
        key=lambda r: (r["eventTime"], r["eventID"]),
    )


def test_a_foreign_repository_assumes_the_deploy_role(ransomware: Scenario) -> None:
    (role,) = ransomware.key["attacker"]["roles_assumed"]
    assume = ransomware.by_id[role["eventID"]]
    assert assume["eventName"] == "AssumeRoleWithWebIdentity"
    assert assume["userIdentity"]["userName"] == ransomware.key["oidc_subject"]
    assert role["roleArn"] == f"arn:aws:iam::{ACCOUNT}:role/github-actions-deploy"
    exchanges = [r for r in ransomware.records if r["eventName"] == "AssumeRoleWithWebIdentity"]
    ci = [r for r in exchanges if r["eventID"] != assume["eventID"]]
    assert ci and {r["userIdentity"]["userName"] for r in ci} == {"repo:acme/checkout:ref:refs/heads/main"}
    # the real deploys use the same role and session name: only the key (and address) tell them apart
    arns = {r["userIdentity"].get("arn", "") for r in ransomware.records}
    sessions = {arn for arn in arns if arn.endswith("/GitHubActions")}
    assert sessions == {role["sessionArn"]}
    assert ransomware.key["attacker"]["source_ips"] == ["198.18.22.93"]


def test_recovery_is_sabotaged_before_the_deletions(ransomware: Scenario) -> None:
    names = [r["eventName"] for r in _attack(ransomware)]
    first_delete = names.index("DeleteObject")
    assert names.index("PutBucketVersioning") < first_delete and names.index("PutBucketLifecycle") < first_delete
    records = {r["eventName"]: r for r in _attack(ransomware)}
    assert records["PutBucketVersioning"]["requestParameters"]["VersioningConfiguration"]["Status"] == "Suspended"
    rule = records["PutBucketLifecycle"]["requestParameters"]["LifecycleConfiguration"]["Rule"]
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 1}
    assert records["ScheduleKeyDeletion"]["responseElements"]["keyState"] == "PendingDeletion"
    recovery = {"DisableKey", "PutBucketLifecycle", "PutBucketVersioning", "ScheduleKeyDeletion"}
    assert set(ransomware.key["recovery"]) == recovery
    undone = {e["eventName"] for e in ransomware.key["response"]}
    assert {"CancelKeyDeletion", "EnableKey", "PutBucketVersioning", "DeleteBucketLifecycle"} <= undone


def test_every_export_is_deleted_one_by_one(ransomware: Scenario) -> None:
    attack = _attack(ransomware)
    deletes = [r for r in attack if r["eventName"] == "DeleteObject"]
    keys = sorted(r["requestParameters"]["key"] for r in deletes)
    assert keys == ransomware.key["objects_deleted"] and len(set(keys)) == len(keys) > 100
    assert {r["requestParameters"]["bucketName"] for r in deletes} == {BUCKET}
    batch = [r for r in attack if r["eventName"] == "DeleteObjects"]
    artifacts = "acme-build-artifacts"
    keys_not_logged = {"bucketName": artifacts, "Host": f"{artifacts}.s3.eu-west-1.amazonaws.com", "delete": ""}
    assert batch and all(r["requestParameters"] == keys_not_logged for r in batch)
    notes = [r for r in attack if r["eventName"] == "PutObject"]
    assert {r["requestParameters"]["key"] for r in notes} == {ransomware.key["ransom_note"]}


def test_the_ordinary_day_feels_it(ransomware: Scenario) -> None:
    attack = {r["eventName"]: r for r in _attack(ransomware)}
    disabled = utc(attack["DisableKey"]["eventTime"])
    enabled = utc(next(e["eventTime"] for e in ransomware.key["response"] if e["eventName"] == "EnableKey"))
    deletes = [r for r in _attack(ransomware) if r["eventName"] == "DeleteObject"]
    deleted = {r["requestParameters"]["key"]: utc(r["eventTime"]) for r in deletes}
    others = [r for r in ransomware.records if r["eventID"] not in ransomware.attacker_ids]
    failures: Counter[str | None] = Counter()
    for record in others:
        params = record.get("requestParameters") or {}
        if record["eventName"] == "GetObject" and params.get("bucketName") == BUCKET:
            gone = params["key"] in deleted and deleted[params["key"]] < utc(record["eventTime"])
            assert (record.get("errorCode") == "NoSuchKey") == gone
            failures[record.get("errorCode")] += 1
        exports = params.get("bucketName") == BUCKET or record["eventSource"] == "kms.amazonaws.com"
        if record["eventName"] in ("PutObject", "GenerateDataKey") and exports:
            failing = disabled <= utc(record["eventTime"]) < enabled
            assert bool(record.get("errorCode")) == failing
            if failing:
                assert record["responseElements"] is None
                assert record["errorCode"] in ("KMS.DisabledException", "DisabledException")
    assert failures["NoSuchKey"] >= 1 and failures[None] >= 1


def test_alarms(ransomware: Scenario) -> None:
    alarms = {a["alarm"]: a for a in ransomware.key["alarms"]}
    (spike,) = [t for t in alarms["customer-exports-delete-spike"]["transitions"] if t["to"] == "ALARM"]
    assert len(spike["caused_by"]) > 20
    assert {ransomware.by_id[e]["eventName"] for e in spike["caused_by"]} == {"DeleteObject"}
    raised = [t for t in alarms["customer-exports-4xx-errors"]["transitions"] if t["to"] == "ALARM"]
    checks = {r["eventID"] for r in _attack(ransomware) if r.get("errorCode") == "KMS.DisabledException"}
    assert raised and checks <= {e for t in raised for e in t["caused_by"]}
    assert ransomware.key["cloudwatch"]["region"] == "eu-west-1"
