"""The ``leaked-key`` story: the keys, the session chain, the stages, and the outages in the metrics."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from forensics.scenarios.times import utc

from .reading import Scenario

ACCOUNT = "012345678901"


def _key_of(record: dict) -> str | None:
    return record["userIdentity"].get("accessKeyId")


def test_the_keys_and_the_session_chain(leaked_key: Scenario) -> None:
    attacker = leaked_key.key["attacker"]
    assert attacker["source_ips"] == ["203.0.113.66", "198.51.100.23"]
    keys = attacker["access_key_ids"]
    leaked, created, session_key = keys["leaked"][0], keys["created"][0], keys["sessions"][0]
    assert attacker["access_key_ids_used"] == [leaked, created, session_key]
    records = sorted(leaked_key.records, key=lambda r: (r["eventTime"], r["eventID"]))
    first = next(r for r in records if r["eventID"] in leaked_key.attacker_ids)
    assert (first["userIdentity"]["userName"], _key_of(first), first["eventName"]) == (
        "ci-deploy",
        leaked,
        "GetCallerIdentity",
    )
    ci_deploy = [r for r in records if r["userIdentity"].get("userName") == "ci-deploy"]
    assert {r["eventID"] for r in ci_deploy} <= leaked_key.attacker_ids  # a dormant user: only the attacker uses it

    create = next(r for r in records if r["eventName"] == "CreateAccessKey")
    assert create["requestParameters"] == {"userName": "jane.admin"}
    assert create["responseElements"]["accessKey"]["accessKeyId"] == created
    assert _key_of(create) == leaked
    assert {r["userIdentity"]["userName"] for r in records if _key_of(r) == created} == {"jane.admin"}

    (role,) = attacker["roles_assumed"]
    assume = leaked_key.by_id[role["eventID"]]
    assert assume["eventName"] == "AssumeRole" and _key_of(assume) == created
    assert assume["requestParameters"]["roleArn"] == role["roleArn"] == f"arn:aws:iam::{ACCOUNT}:role/DataPipelineRole"
    assert assume["requestParameters"]["roleSessionName"] == role["sessionName"]
    assert assume["responseElements"]["credentials"]["accessKeyId"] == session_key == role["accessKeyId"]
    later = [r for r in records if _key_of(r) == session_key]
    assert later and all(r["eventTime"] >= assume["eventTime"] for r in later)
    for record in later:
        identity = record["userIdentity"]
        assert identity["type"] == "AssumedRole"
        assert identity["arn"] == role["sessionArn"]
        assert identity["sessionContext"]["sessionIssuer"]["arn"] == role["roleArn"]
    assert attacker["principal_arns"] == [
        f"arn:aws:iam::{ACCOUNT}:user/ci-deploy",
        f"arn:aws:iam::{ACCOUNT}:user/jane.admin",
        role["sessionArn"],
    ]
    # the pipeline role is assumed all day by ECS too, with other sessions: only the session tells them apart
    pipeline = [
        r for r in records if r["eventName"] == "AssumeRole" and r["requestParameters"]["roleArn"] == role["roleArn"]
    ]
    assert len(pipeline) > 10 and [r["eventID"] for r in pipeline if r["eventID"] in leaked_key.attacker_ids] == [
        assume["eventID"]
    ]


def test_the_stages(leaked_key: Scenario) -> None:
    stages = {s["stage"]: s for s in leaked_key.key["stages"]}
    assert list(stages)[:2] == ["initial-access", "discovery"]
    assert set(stages) == {
        "initial-access", "discovery", "privilege-escalation", "persistence", "collection", "exfiltration", "impact",
    }  # fmt: skip
    names = {stage: Counter(e["eventName"] for e in s["events"]) for stage, s in stages.items()}
    assert {"AttachUserPolicy", "AssumeRole"} <= set(names["privilege-escalation"])
    assert names["collection"]["GetObject"] >= 60
    assert set(names["exfiltration"]) == {"PutBucketPolicy", "PutBucketAcl", "DeleteBucketPublicAccessBlock"}
    assert set(names["impact"]) == {"StopDBInstance", "PutFunctionConcurrency20171031"}
    by_id = leaked_key.by_id
    events = {e["eventName"]: by_id[e["eventID"]] for s in stages.values() for e in s["events"]}
    assert events["AttachUserPolicy"]["requestParameters"] == {
        "userName": "ci-deploy",
        "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess",
    }
    assert events["PutBucketPolicy"]["requestParameters"]["bucketPolicy"]["Statement"][0]["Principal"] == "*"
    assert events["StopDBInstance"]["requestParameters"] == {"dBInstanceIdentifier": "orders-db"}
    assert events["PutFunctionConcurrency20171031"]["requestParameters"] == {
        "functionName": "checkout-handler",
        "reservedConcurrentExecutions": 0,
    }
    # the discovery burst: at least eight denied calls within three minutes, DescribeInstances in five regions
    denied = sorted(utc(e["eventTime"]) for e in stages["discovery"]["events"] if e["errorCode"])
    assert len(denied) >= 8 and denied[7] - denied[0] <= timedelta(minutes=3)
    assert len({e["awsRegion"] for e in stages["discovery"]["events"] if e["eventName"] == "DescribeInstances"}) == 5
    techniques = {t["id"] for s in stages.values() for t in s["techniques"]}
    assert {"T1078.004", "T1098.003", "T1098.001", "T1548.005", "T1530", "T1537", "T1489"} <= techniques
    objects = sorted(
        by_id[e["eventID"]]["requestParameters"]["key"]
        for e in stages["collection"]["events"]
        if e["eventName"] == "GetObject"
    )
    assert objects == leaked_key.key["objects_downloaded"]
    touched = set(leaked_key.key["resources_touched"])
    assert {
        "arn:aws:s3:::acme-customer-exports",
        f"arn:aws:rds:eu-west-1:{ACCOUNT}:db:orders-db",
        f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:checkout-handler",
    } <= touched


def test_every_identity_type_appears(leaked_key: Scenario) -> None:
    types = {r["userIdentity"]["type"] for r in leaked_key.records}
    assert types == {"AssumedRole", "IAMUser", "AWSService", "AWSAccount", "Root", "SAMLUser", "WebIdentityUser"}
    assert 1500 <= len(leaked_key.records) <= 3000


def test_alarms_fire_after_their_causes(leaked_key: Scenario) -> None:
    by_id = leaked_key.by_id
    alarms = {a["alarm"]: a for a in leaked_key.key["alarms"]}
    expected = {
        "orders-db-connections-low": ("StopDBInstance", timedelta(minutes=2), timedelta(minutes=8)),
        "checkout-handler-throttles": ("PutFunctionConcurrency20171031", timedelta(0), timedelta(minutes=3)),
    }
    for name, (event_name, low, high) in expected.items():
        raised = [t for t in alarms[name]["transitions"] if t["to"] == "ALARM"]
        assert len(raised) == 1, name
        (cause,) = raised[0]["caused_by"]
        assert by_id[cause]["eventName"] == event_name and cause in leaked_key.attacker_ids
        assert low < utc(raised[0]["timestamp"]) - utc(by_id[cause]["eventTime"]) < high
        assert raised[0]["notified"]
        cleared = [t for t in alarms[name]["transitions"] if t["from"] == "ALARM"]
        assert len(cleared) == 1 and cleared[0]["caused_by"], name
        assert {by_id[e]["eventID"] for e in cleared[0]["caused_by"]} <= {
            e["eventID"] for e in leaked_key.key["response"]
        }
    spike = [t for t in alarms["customer-exports-download-spike"]["transitions"] if t["to"] == "ALARM"]
    assert spike
    assert all(
        by_id[e]["eventName"] == "GetObject" and e in leaked_key.attacker_ids for t in spike for e in t["caused_by"]
    )
    benign = [t for t in alarms["orders-db-cpu-high"]["transitions"] if t["to"] == "ALARM"]
    assert benign and all(t["caused_by"] == [] for t in benign)


def test_metrics_show_the_outages(leaked_key: Scenario) -> None:
    results = {r["Id"]: r for r in leaked_key.cloudwatch("get-metric-data.json")["MetricDataResults"]}

    def series(query_id: str) -> dict:
        result = results[query_id]
        return {utc(t): v for t, v in zip(result["Timestamps"], result["Values"], strict=True)}

    events = {e["eventName"]: utc(e["eventTime"]) for s in leaked_key.key["stages"] for e in s["events"]}
    response = {e["eventName"]: utc(e["eventTime"]) for e in leaked_key.key["response"]}
    stop, throttle = events["StopDBInstance"], events["PutFunctionConcurrency20171031"]
    started, released = response["StartDBInstance"], response["DeleteFunctionConcurrency20171031"]

    connections = series("rdsConnections")
    assert not [t for t in connections if stop + timedelta(minutes=3) <= t < started]  # stopped: no data
    assert all(v > 1 for t, v in connections.items() if t < stop - timedelta(minutes=1))
    throttles = series("lambdaThrottles")
    assert throttles and all(throttle - timedelta(minutes=1) < t <= released for t in throttles)
    assert not [t for t in series("lambdaInvocations") if throttle < t < released - timedelta(minutes=1)]
    downloads = series("s3BytesDownloaded")
    get_objects = [
        leaked_key.by_id[e] for e in leaked_key.attacker_ids if leaked_key.by_id[e]["eventName"] == "GetObject"
    ]
    total = sum(r["additionalEventData"]["bytesTransferredOut"] for r in get_objects)
    assert sum(downloads.values()) >= total > 0
