"""Questions asked of the events behind a graph: who called which API on a resource, and when.

The walks (``reach``, ``touched_by``, ``resolve_node``) and ``events_for_edge`` are tested
in ``test_graph.py``, on the traces whose exact edges it checks.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from cloudtrail_builders import ACCOUNT, assumed_role, iam_user, record

from forensics import load_cloudtrail
from forensics.graphwalk import who_did
from forensics.resources import extract_resources

ALICE_KEY = "AKIAEXAMPLEALICE0001"
BUCKET = "arn:aws:s3:::acme-data"


def at(minute: int) -> str:
    return f"2024-03-14T02:{minute:02d}:00Z"


@pytest.fixture
def seeds(tmp_path: Path) -> pd.DataFrame:
    mallory = iam_user("mallory", key="AKIAEXAMPLEMALLORY01")
    ops = assumed_role("Ops", "dave", key="ASIAEXAMPLEOPSDAVE01")
    manage = {"readOnly": False, "managementEvent": True, "eventCategory": "Management"}
    records = [
        record("e1", at(0), name="CreateBucket", identity=iam_user("alice", key=ALICE_KEY),
               requestParameters={"bucketName": "acme-data", "Host": "acme-data.s3.amazonaws.com"}, **manage),
        record("e2", at(1), name="CreateBucket", identity=iam_user("alice", key=ALICE_KEY),
               requestParameters={"bucketName": "acme-logs", "Host": "acme-logs.s3.amazonaws.com"}, **manage),
        record("e3", at(5), name="GetFunction20150331v2", source="lambda.amazonaws.com", identity=ops,
               requestParameters={"functionName": "resize"}),
        record("e4", at(6), name="PutFunctionConcurrency20171031", source="lambda.amazonaws.com", identity=ops,
               requestParameters={"functionName": "resize", "reservedConcurrentExecutions": 0},
               responseElements={"reservedConcurrentExecutions": 0}, **manage),
        record("e5", at(7), name="DeleteFunctionConcurrency20171031", source="lambda.amazonaws.com", identity=mallory,
               requestParameters={"functionName": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:resize"}, **manage),
        record("e6", at(10), name="StopDBInstance", source="rds.amazonaws.com", identity=mallory,
               requestParameters={"dBInstanceIdentifier": "orders-db"}, errorCode="AccessDenied",
               errorMessage="not authorized to perform: rds:StopDBInstance", **manage),
        record("e7", at(12), name="StopDBInstance", source="rds.amazonaws.com", identity=ops, sourceIPAddress="203.0.113.9",
               requestParameters={"dBInstanceIdentifier": "Orders-DB"}, **manage),
        record("e8", at(13), name="StopDBInstance", source="rds.amazonaws.com", identity=ops,
               requestParameters={"dBInstanceIdentifier": "billing-db"}, **manage),
    ]  # fmt: skip
    path = tmp_path / "trail.json"
    path.write_text(json.dumps({"Records": records}))
    return load_cloudtrail(path).events


def answer(frame: pd.DataFrame) -> list[tuple[str, str, str, str]]:
    return [(r.eventID, str(r.actor).rsplit("/", 1)[-1], str(r.eventName), r.errorCode if isinstance(r.errorCode, str) else "")
            for r in frame.itertuples()]  # fmt: skip


def test_who_created_this_bucket(seeds):
    result = who_did(seeds, "acme-data", "CreateBucket")
    assert answer(result) == [("e1", "alice", "CreateBucket", "")]
    assert list(result.columns) == ["eventTime", "actor", "eventName", "arn", "sourceIPAddress",
                                    "userIdentity.accessKeyId", "errorCode", "eventID"]  # fmt: skip
    assert result.iloc[0]["arn"] == BUCKET and result.iloc[0]["userIdentity.accessKeyId"] == ALICE_KEY


def test_who_changed_this_functions_concurrency(seeds):
    result = who_did(seeds, "resize", ["PutFunctionConcurrency", "DeleteFunctionConcurrency"])
    assert answer(result) == [
        ("e4", "dave", "PutFunctionConcurrency20171031", ""),
        ("e5", "mallory", "DeleteFunctionConcurrency20171031", ""),
    ]


def test_who_stopped_this_rds_instance(seeds):
    result = who_did(seeds, f"arn:aws:rds:us-east-1:{ACCOUNT}:db:orders-db", "StopDBInstance")
    assert answer(result) == [("e6", "mallory", "StopDBInstance", "AccessDenied"), ("e7", "dave", "StopDBInstance", "")]
    assert result.loc[result["eventID"] == "e7", "sourceIPAddress"].item() == "203.0.113.9"
    assert answer(who_did(seeds, "ORDERS-DB", "StopDBInstance")) == answer(result)


def test_who_did_with_precomputed_resources_and_without_actions(seeds):
    resources = extract_resources(seeds)
    assert answer(who_did(seeds, "resize", resources=resources)) == answer(who_did(seeds, "resize"))
    assert [r[0] for r in answer(who_did(seeds, "resize"))] == ["e3", "e4", "e5"]
    assert who_did(seeds, "no-such-bucket").empty
