"""The activity graph: exact edges of small, realistic CloudTrail traces, walks in time, the events behind an edge."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from cloudtrail_builders import ACCOUNT, assumed_role, aws_service, iam_user, record
from forensics import ParameterError, SchemaError, WindowError, graphbuild, load_cloudtrail
from forensics.graph import activity_graph, select
from forensics.graphwalk import events_for_edge, reach, resolve_node, touched_by
from forensics.resources import extract_resources

OTHER = "210987654321"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
BOB = f"arn:aws:iam::{ACCOUNT}:user/bob"
ADMIN = f"arn:aws:iam::{ACCOUNT}:user/admin"
READER = f"arn:aws:iam::{ACCOUNT}:role/Reader"
BUCKET = "arn:aws:s3:::acme-data"
ALICE_KEY, BOB_KEY, ADMIN_KEY = "AKIAEXAMPLEALICE0001", "AKIAEXAMPLEBOBNEW001", "AKIAEXAMPLEADMIN0001"


def load(tmp_path: Path, records: list[dict]) -> pd.DataFrame:
    path = tmp_path / "trail.json"
    path.write_text(json.dumps({"Records": records}))
    return load_cloudtrail(path).events


def edges(graph: nx.DiGraph) -> dict[tuple[str, str], tuple[str, int, tuple[str, ...], int]]:
    """Each edge as (relation, count, actions, errors)."""
    return {(u, v): (d["relation"], d["count"], tuple(d["actions"]), d["errors"]) for u, v, d in graph.edges(data=True)}


def at(minute: int, hour: int = 2) -> str:
    return f"2024-03-14T{hour:02d}:{minute:02d}:00Z"


def when(minute: int, hour: int = 2) -> dt.datetime:
    return dt.datetime(2024, 3, 14, hour, minute, tzinfo=dt.timezone.utc)


def s3_read(event_id: str, time: str, identity: dict, name: str = "GetObject", **fields: object) -> dict:
    """An S3 data event on acme-data with the resources list CloudTrail writes."""
    listed = [{"type": "AWS::S3::Object", "ARN": f"{BUCKET}/reports/q1.csv"},
              {"accountId": ACCOUNT, "type": "AWS::S3::Bucket", "ARN": BUCKET}]  # fmt: skip
    return record(event_id, time, name=name, identity=identity, resources=listed, **fields)


def assume(event_id: str, time: str, identity: dict, role: str, session: str, key: str | None, **fields: object) -> dict:
    """An sts:AssumeRole record as CloudTrail writes it (a key and session in the response when given)."""
    account = role.split(":")[4]
    response = None
    if key is not None:
        response = {
            "credentials": {"accessKeyId": key, "sessionToken": "IQoJb3JpZ2luX2VjEXAMPLE", "expiration": "Mar 14, 2024, 3:10:00 AM"},
            "assumedRoleUser": {"assumedRoleId": f"AROAEXAMPLEROLEID:{session}",
                                "arn": f"arn:aws:sts::{account}:assumed-role/{role.rsplit('/', 1)[1]}/{session}"},
        }  # fmt: skip
    return record(
        event_id, time, name="AssumeRole", source="sts.amazonaws.com", identity=identity,
        requestParameters={"roleArn": role, "roleSessionName": session, "durationSeconds": 3600},
        responseElements=response, resources=[{"ARN": role, "accountId": account, "type": "AWS::IAM::Role"}],
        eventCategory="Management", managementEvent=True, **fields,
    )  # fmt: skip


def session_of(role: str, session: str, key: str) -> dict:
    """userIdentity of a session of ``role`` (any account)."""
    identity = assumed_role(role.rsplit("/", 1)[1], session, key=key, account=role.split(":")[4])
    identity["sessionContext"]["sessionIssuer"]["arn"] = role
    return identity


# --------------------------------------------------------------------------- the traces


@pytest.fixture
def role_then_bucket(tmp_path: Path) -> pd.DataFrame:
    """alice assumes Reader at 02:10; the session reads acme-data at 02:11 and lists it at 02:12."""
    session = session_of(READER, "alice", "ASIAEXAMPLEREADER001")
    return load(tmp_path, [
        assume("e1", at(10), iam_user("alice", key=ALICE_KEY), READER, "alice", "ASIAEXAMPLEREADER001"),
        s3_read("e2", at(11), session),
        s3_read("e3", at(12), session, name="ListObjects"),
    ])  # fmt: skip


SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/Reader/alice"


def test_user_assumes_a_role_that_reads_a_bucket(role_then_bucket):
    graph = activity_graph(role_then_bucket)
    assert edges(graph) == {
        (ALICE_KEY, ALICE): ("credential", 1, ("AssumeRole",), 0),
        (ALICE, READER): ("call", 1, ("AssumeRole",), 0),
        (ALICE, SESSION): ("session", 1, ("AssumeRole",), 0),
        (READER, SESSION): ("session", 3, ("AssumeRole", "GetObject", "ListObjects"), 0),
        ("ASIAEXAMPLEREADER001", SESSION): ("credential", 3, ("AssumeRole", "GetObject", "ListObjects"), 0),
        (SESSION, BUCKET): ("call", 2, ("GetObject", "ListObjects"), 0),
    }
    assert graph.edges[SESSION, BUCKET]["first_seen"] == when(11)
    assert graph.edges[SESSION, BUCKET]["last_seen"] == when(12)
    assert {n: d["kind"] for n, d in graph.nodes(data=True)} == {
        ALICE_KEY: "access-key", ALICE: "IAMUser", READER: "role", SESSION: "session",
        "ASIAEXAMPLEREADER001": "access-key", BUCKET: "AWS::S3::Bucket",
    }  # fmt: skip
    assert graph.nodes[BUCKET] == {"kind": "AWS::S3::Bucket", "type": "AWS::S3::Bucket", "name": "acme-data",
                                   "account": ACCOUNT, "region": "us-east-1"}  # fmt: skip
    assert graph.graph["events"] == 3 and graph.graph["unparsed"] == 0 and graph.graph["without_actor"] == 0


def test_everything_a_leaked_key_led_to_is_one_call(role_then_bucket):
    graph = activity_graph(role_then_bucket)
    reached = reach(graph, ALICE_KEY)  # assuming the role reaches the session alice started, through her
    assert set(reached.edges) == {(ALICE_KEY, ALICE), (ALICE, READER), (ALICE, SESSION), (SESSION, BUCKET)}
    assert reached.nodes[BUCKET]["reached"] == when(11)
    assert reached.nodes[ALICE_KEY]["reached"] is None
    assert set(touched_by(graph, BUCKET).edges) == set(graph.edges) - {(ALICE, READER)}


def test_cross_account_assumption_counts_the_call_once(tmp_path):
    """The caller's account and the role's account both log the AssumeRole (same sharedEventID)."""
    role = f"arn:aws:iam::{OTHER}:role/OrganizationAccountAccessRole"
    session = f"arn:aws:sts::{OTHER}:assumed-role/OrganizationAccountAccessRole/alice"
    mine = assume("e1", at(10), iam_user("alice", key=ALICE_KEY), role, "alice", "ASIAEXAMPLEXACCT0001",
                  sharedEventID="shared-1", recipientAccountId=ACCOUNT)  # fmt: skip
    theirs = assume("e2", at(10), {"type": "AWSAccount", "principalId": "AIDAEXAMPLEALICE0001", "accountId": ACCOUNT},
                    role, "alice", "ASIAEXAMPLEXACCT0001", sharedEventID="shared-1", recipientAccountId=OTHER)  # fmt: skip
    stop = record("e3", at(20), name="StopInstances", source="ec2.amazonaws.com", recipientAccountId=OTHER,
                  identity=session_of(role, "alice", "ASIAEXAMPLEXACCT0001"),
                  requestParameters={"instancesSet": {"items": [{"instanceId": "i-0a1b2c3d4e5f60001"}]}})  # fmt: skip
    instance = f"arn:aws:ec2:us-east-1:{OTHER}:instance/i-0a1b2c3d4e5f60001"
    graph = activity_graph(load(tmp_path, [mine, theirs, stop]))
    assert edges(graph) == {
        (ALICE_KEY, ALICE): ("credential", 1, ("AssumeRole",), 0),
        (ALICE, role): ("call", 1, ("AssumeRole",), 0),
        (ALICE, session): ("session", 1, ("AssumeRole",), 0),
        (role, session): ("session", 2, ("AssumeRole", "StopInstances"), 0),
        ("ASIAEXAMPLEXACCT0001", session): ("credential", 2, ("AssumeRole", "StopInstances"), 0),
        (session, instance): ("call", 1, ("StopInstances",), 0),
    }
    assert (graph.nodes[ALICE]["account"], graph.nodes[role]["account"], graph.nodes[instance]["account"]) == (
        ACCOUNT, OTHER, OTHER)
    assert graph.graph["events"] == 2


def test_cross_account_assumption_seen_only_from_the_role_account(tmp_path):
    """Without the caller's trail the caller is only a principal id of the other account."""
    role = f"arn:aws:iam::{OTHER}:role/OrganizationAccountAccessRole"
    theirs = assume("e2", at(10), {"type": "AWSAccount", "principalId": "AIDAEXAMPLEALICE0001", "accountId": ACCOUNT},
                    role, "alice", "ASIAEXAMPLEXACCT0001", sharedEventID="shared-1", recipientAccountId=OTHER)  # fmt: skip
    graph = activity_graph(load(tmp_path, [theirs]))
    assert ("AIDAEXAMPLEALICE0001", role) in graph.edges
    assert graph.nodes["AIDAEXAMPLEALICE0001"] == {"kind": "AWSAccount", "name": "AIDAEXAMPLEALICE0001", "account": ACCOUNT}


@pytest.fixture
def key_handover(tmp_path: Path) -> pd.DataFrame:
    """admin creates an access key for bob at 02:10; bob uses it at 02:20 and 02:21."""
    create = record(
        "e1", at(10), name="CreateAccessKey", source="iam.amazonaws.com", identity=iam_user("admin", key=ADMIN_KEY),
        requestParameters={"userName": "bob"}, readOnly=False, managementEvent=True, eventCategory="Management",
        responseElements={"accessKey": {"userName": "bob", "accessKeyId": BOB_KEY, "status": "Active",
                                        "createDate": "Mar 14, 2024 2:10:00 AM"}},
    )  # fmt: skip
    bob = iam_user("bob", key=BOB_KEY)
    listing = record("e2", at(20), name="ListBuckets", identity=bob, requestParameters={"Host": "s3.amazonaws.com"},
                     eventCategory="Management", managementEvent=True)  # fmt: skip
    return load(tmp_path, [create, listing, s3_read("e3", at(21), bob)])


def test_access_key_created_by_one_user_and_used_by_another(key_handover):
    graph = activity_graph(key_handover)
    assert edges(graph) == {
        (ADMIN_KEY, ADMIN): ("credential", 1, ("CreateAccessKey",), 0),
        (ADMIN, BOB): ("call", 1, ("CreateAccessKey",), 0),
        (ADMIN, BOB_KEY): ("call", 1, ("CreateAccessKey",), 0),
        (BOB_KEY, BOB): ("credential", 3, ("CreateAccessKey", "GetObject", "ListBuckets"), 0),
        (BOB, "s3.amazonaws.com"): ("call", 1, ("ListBuckets",), 0),
        (BOB, BUCKET): ("call", 1, ("GetObject",), 0),
    }
    assert graph.nodes["s3.amazonaws.com"]["kind"] == "service"
    assert set(reach(graph, BOB_KEY).edges) == {(BOB_KEY, BOB), (BOB, "s3.amazonaws.com"), (BOB, BUCKET)}
    assert set(touched_by(graph, BUCKET)) == {BUCKET, BOB, BOB_KEY, ADMIN, ADMIN_KEY}


def test_lambda_execution_role(tmp_path):
    """admin creates a function with a role; Lambda assumes the role; the function's session reads a table."""
    role = f"arn:aws:iam::{ACCOUNT}:role/service-role/resize-role"
    function = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:resize"
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/resize-role/resize"
    table = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/orders"
    records = [
        record("e1", at(0), name="CreateFunction20150331", source="lambda.amazonaws.com",
               identity=iam_user("admin", key=ADMIN_KEY), readOnly=False, eventCategory="Management",
               requestParameters={"functionName": "resize", "runtime": "python3.12", "role": role, "handler": "app.h"},
               responseElements={"functionName": "resize", "functionArn": function, "role": role}),
        record("e2", at(5), name="AssumeRole", source="sts.amazonaws.com", identity=aws_service("lambda.amazonaws.com"),
               sourceIPAddress="lambda.amazonaws.com", userAgent="lambda.amazonaws.com",
               requestParameters={"roleArn": role, "roleSessionName": "resize"},
               responseElements={"credentials": {"accessKeyId": "ASIAEXAMPLERESIZE001", "sessionToken": "IQoJ",
                                                 "expiration": "Mar 14, 2024, 2:05:00 PM"}},
               resources=[{"accountId": ACCOUNT, "type": "AWS::IAM::Role", "ARN": role}], sharedEventID="lambda-1"),
        record("e3", at(6), name="DescribeTable", source="dynamodb.amazonaws.com",
               identity=session_of(role, "resize", "ASIAEXAMPLERESIZE001"), requestParameters={"tableName": "orders"}),
    ]  # fmt: skip
    graph = activity_graph(load(tmp_path, records))
    assert edges(graph) == {
        (ADMIN_KEY, ADMIN): ("credential", 1, ("CreateFunction20150331",), 0),
        (ADMIN, function): ("call", 1, ("CreateFunction20150331",), 0),
        (ADMIN, role): ("call", 1, ("CreateFunction20150331",), 0),
        (function, role): ("runs-as", 1, ("CreateFunction20150331",), 0),
        ("lambda.amazonaws.com", role): ("call", 1, ("AssumeRole",), 0),
        (role, session): ("session", 1, ("DescribeTable",), 0),
        ("ASIAEXAMPLERESIZE001", session): ("credential", 1, ("DescribeTable",), 0),
        (session, table): ("call", 1, ("DescribeTable",), 0),
    }
    assert graph.nodes["lambda.amazonaws.com"]["kind"] == "service"
    assert set(reach(graph, "resize").edges) == {(function, role), (role, session), (session, table)}
    # Lambda's AssumeRole acted on the role; the function that runs as it is what led to the table
    assert set(touched_by(graph, "orders")) == {table, session, "ASIAEXAMPLERESIZE001", role, function, ADMIN, ADMIN_KEY}


def test_walks_do_not_pass_through_a_service(tmp_path):
    """Calling the EC2 API does not make you the EC2 service: a service node is a dead end."""
    role = f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/ec2.amazonaws.com/AWSServiceRoleForEC2"
    records = [
        record("e1", at(0), name="DescribeRegions", source="ec2.amazonaws.com", identity=iam_user("alice", key=ALICE_KEY),
               requestParameters={"regionSet": {}}),
        assume("e2", at(5), aws_service("ec2.amazonaws.com"), role, "ec2-session", None),
    ]  # fmt: skip
    graph = activity_graph(load(tmp_path, records))
    assert {(ALICE, "ec2.amazonaws.com"), ("ec2.amazonaws.com", role)} <= set(graph.edges)
    assert set(reach(graph, ALICE_KEY)) == {ALICE_KEY, ALICE, "ec2.amazonaws.com"}
    assert set(touched_by(graph, role)) == {role, "ec2.amazonaws.com"}
    assert set(reach(graph, "ec2.amazonaws.com")) == {"ec2.amazonaws.com", role}


def test_failed_calls_are_counted_and_can_be_kept_alone(tmp_path):
    mallory = iam_user("mallory", key="AKIAEXAMPLEMALLORY01")
    denied = {"errorCode": "AccessDenied", "errorMessage": "User is not authorized to perform this action"}
    records = [
        s3_read("e1", at(1), mallory),
        record("e2", at(2), name="PutBucketPolicy", identity=mallory, readOnly=False, requestParameters={
            "bucketName": "acme-data", "bucketPolicy": {"Statement": [{"Principal": "*"}]}}, **denied),
        record("e3", at(3), name="PutBucketPolicy", identity=mallory, readOnly=False,
               requestParameters={"bucketName": "acme-data"}, **denied),
        record("e4", at(4), name="DeleteBucket", identity=mallory, readOnly=False,
               requestParameters={"bucketName": "acme-data"}, **denied),
        assume("e5", at(5), mallory, READER, "mallory", None, readOnly=None, **denied),
    ]  # fmt: skip
    mallory_arn = f"arn:aws:iam::{ACCOUNT}:user/mallory"
    events = load(tmp_path, records)
    assert edges(activity_graph(events)) == {
        ("AKIAEXAMPLEMALLORY01", mallory_arn): ("credential", 5, ("AssumeRole", "DeleteBucket", "GetObject",
                                                                  "PutBucketPolicy"), 4),
        (mallory_arn, BUCKET): ("call", 4, ("DeleteBucket", "GetObject", "PutBucketPolicy"), 3),
        (mallory_arn, READER): ("call", 1, ("AssumeRole",), 1),
    }  # fmt: skip
    failed = activity_graph(events, category="errors")
    assert edges(failed)[(mallory_arn, BUCKET)] == ("call", 3, ("DeleteBucket", "PutBucketPolicy"), 3)
    assert failed.graph["events"] == 4
    assert edges(activity_graph(events, category="reads"))[(mallory_arn, BUCKET)] == ("call", 1, ("GetObject",), 0)
    writes = activity_graph(events, category="writes")
    assert writes.graph["events"] == 4  # readOnly false, and the AssumeRole whose flag is unknown


def test_federation_token_chain(tmp_path):
    """GetFederationToken: the user issues a federated session, which then acts with the returned key."""
    federated = f"arn:aws:sts::{ACCOUNT}:federated-user/contractor"
    token = record(
        "e1", at(0), name="GetFederationToken", source="sts.amazonaws.com", identity=iam_user("alice", key=ALICE_KEY),
        requestParameters={"name": "contractor", "durationSeconds": 3600},
        responseElements={"credentials": {"accessKeyId": "ASIAEXAMPLEFEDTOKEN1", "sessionToken": "x", "expiration": "x"},
                          "federatedUser": {"federatedUserId": f"{ACCOUNT}:contractor", "arn": federated}},
    )  # fmt: skip
    identity = {"type": "FederatedUser", "principalId": f"{ACCOUNT}:contractor", "arn": federated, "accountId": ACCOUNT,
                "accessKeyId": "ASIAEXAMPLEFEDTOKEN1",
                "sessionContext": {"sessionIssuer": {"type": "IAMUser", "principalId": "AIDAEXAMPLEALICE", "arn": ALICE,
                                                     "accountId": ACCOUNT, "userName": "alice"}}}  # fmt: skip
    graph = activity_graph(load(tmp_path, [token, s3_read("e2", at(5), identity)]))
    assert edges(graph) == {
        (ALICE_KEY, ALICE): ("credential", 1, ("GetFederationToken",), 0),
        (ALICE, federated): ("session", 2, ("GetFederationToken", "GetObject"), 0),
        ("ASIAEXAMPLEFEDTOKEN1", federated): ("credential", 2, ("GetFederationToken", "GetObject"), 0),
        (federated, BUCKET): ("call", 1, ("GetObject",), 0),
    }
    assert graph.nodes[federated]["kind"] == "session"


def test_session_token_key_leads_back_to_its_user(tmp_path):
    temporary = "ASIAEXAMPLESESSTOK1"
    token = record("e1", at(0), name="GetSessionToken", source="sts.amazonaws.com", identity=iam_user("alice", key=ALICE_KEY),
                   requestParameters={"durationSeconds": 43200},
                   responseElements={"credentials": {"accessKeyId": temporary, "sessionToken": "x", "expiration": "x"}})  # fmt: skip
    graph = activity_graph(load(tmp_path, [token, s3_read("e2", at(5), iam_user("alice", key=temporary))]))
    assert edges(graph) == {
        (ALICE_KEY, ALICE): ("credential", 1, ("GetSessionToken",), 0),
        (temporary, ALICE): ("credential", 2, ("GetObject", "GetSessionToken"), 0),
        (ALICE, BUCKET): ("call", 1, ("GetObject",), 0),
    }


def test_a_session_re_assuming_its_own_role_counts_each_event_once(tmp_path):
    """Role chaining onto the same role and session name: issuer and caller links coincide."""
    session = session_of(READER, "alice", "ASIAEXAMPLEREADER001")
    graph = activity_graph(load(tmp_path, [assume("e1", at(0), session, READER, "alice", "ASIAEXAMPLEREADER002")]))
    assert edges(graph) == {
        ("ASIAEXAMPLEREADER001", SESSION): ("credential", 1, ("AssumeRole",), 0),
        ("ASIAEXAMPLEREADER002", SESSION): ("credential", 1, ("AssumeRole",), 0),
        (READER, SESSION): ("session", 1, ("AssumeRole",), 0),
        (SESSION, READER): ("call", 1, ("AssumeRole",), 0),
    }


def test_acting_on_a_user_is_not_becoming_the_user(tmp_path):
    """mallory resets bob's console password; bob's own calls are not mallory's."""
    records = [
        record("e1", at(0), name="UpdateLoginProfile", source="iam.amazonaws.com",
               identity=iam_user("mallory", key="AKIAEXAMPLEMALLORY01"), requestParameters={"userName": "bob"}),
        s3_read("e2", at(5), iam_user("bob", key="AKIAEXAMPLEBOBOLD001")),
    ]  # fmt: skip
    graph = activity_graph(load(tmp_path, records))
    mallory = f"arn:aws:iam::{ACCOUNT}:user/mallory"
    assert (mallory, BOB) in graph.edges and (BOB, BUCKET) in graph.edges
    assert set(reach(graph, mallory)) == {mallory, BOB}
    assert set(touched_by(graph, BUCKET)) == {BUCKET, BOB, "AKIAEXAMPLEBOBOLD001"}


# ----------------------------------------------------------------------------- walking


@pytest.fixture
def shared_role(tmp_path: Path) -> pd.DataFrame:
    """carol's session of Reader reads acme-data at 01:00; bob assumes Reader at 02:00 and reads acme-logs."""
    carol = session_of(READER, "carol", "ASIAEXAMPLECAROL0001")
    bob = session_of(READER, "bob", "ASIAEXAMPLEBOB000001")
    logs = record("e3", at(5), identity=bob, requestParameters={"bucketName": "acme-logs", "key": "app.log"})
    return load(tmp_path, [
        s3_read("e1", at(0, hour=1), carol),
        assume("e2", at(0), iam_user("bob", key="AKIAEXAMPLEBOB000001"), READER, "bob", "ASIAEXAMPLEBOB000001"),
        logs,
    ])  # fmt: skip


def test_reach_follows_edges_forward_in_time_only(shared_role):
    graph = activity_graph(shared_role)
    carol = f"arn:aws:sts::{ACCOUNT}:assumed-role/Reader/carol"
    bob_session = f"arn:aws:sts::{ACCOUNT}:assumed-role/Reader/bob"
    assert (READER, carol) in graph.edges  # the role is a hub of both sessions
    reached = reach(graph, BOB)
    assert carol not in reached and BUCKET not in reached
    assert set(reached.edges) == {(BOB, READER), (BOB, bob_session), (bob_session, "arn:aws:s3:::acme-logs")}
    from_role = reach(graph, READER)  # from the role itself: every session active from then on
    assert set(from_role) == {READER, carol, bob_session, BUCKET, "arn:aws:s3:::acme-logs"}
    later = reach(graph, READER, start="2024-03-14T01:30:00Z")  # carol's session acted before
    assert carol not in later and bob_session in later
    assert set(touched_by(graph, BUCKET)) == {BUCKET, carol, READER, "ASIAEXAMPLECAROL0001"}


def test_walks_respect_their_window(shared_role):
    graph = activity_graph(shared_role)
    assert set(reach(graph, READER, start="2024-03-14T02:01:00Z")) == {
        READER, f"arn:aws:sts::{ACCOUNT}:assumed-role/Reader/bob", "arn:aws:s3:::acme-logs"}
    assert set(touched_by(graph, "acme-logs", end="2024-03-14T02:04:00Z")) == {"arn:aws:s3:::acme-logs"}
    with pytest.raises(WindowError):
        reach(graph, READER, start="2024-03-14T02:01:00")


def test_nodes_resolve_by_id_or_unique_name(role_then_bucket):
    graph = activity_graph(role_then_bucket)
    assert resolve_node(graph, "acme-data") == BUCKET
    assert resolve_node(graph, READER) == READER
    with pytest.raises(ParameterError, match="did you mean"):
        resolve_node(graph, "acme")
    with pytest.raises(ParameterError, match="not a node"):
        resolve_node(graph, "nothing-like-it")


# -------------------------------------------------------------------------- selection


def test_window_and_actor_filters(role_then_bucket):
    late = activity_graph(role_then_bucket, start="2024-03-14T02:11:30Z", end="2024-03-14T02:30:00Z")
    assert set(late.edges) == {(READER, SESSION), ("ASIAEXAMPLEREADER001", SESSION), (SESSION, BUCKET)}
    assert late.graph["start"] == pd.Timestamp("2024-03-14T02:11:30Z") and late.graph["events"] == 1
    only_alice = activity_graph(role_then_bucket, actors=[ALICE])  # her AssumeRole also issued the session
    assert edges(only_alice) == {
        (ALICE_KEY, ALICE): ("credential", 1, ("AssumeRole",), 0),
        (ALICE, READER): ("call", 1, ("AssumeRole",), 0),
        (ALICE, SESSION): ("session", 1, ("AssumeRole",), 0),
        (READER, SESSION): ("session", 1, ("AssumeRole",), 0),
        ("ASIAEXAMPLEREADER001", SESSION): ("credential", 1, ("AssumeRole",), 0),
    }
    assert only_alice.graph["actors"] == (ALICE,)


def test_bad_selections_are_refused(role_then_bucket):
    with pytest.raises(ParameterError, match="category"):
        activity_graph(role_then_bucket, category="deletes")
    with pytest.raises(WindowError):
        select(role_then_bucket, start="2024-03-14T03:00:00Z", end="2024-03-14T02:00:00Z")
    with pytest.raises(SchemaError):
        activity_graph(role_then_bucket.drop(columns=["actor"]))


def test_objects_and_ips_on_request(role_then_bucket):
    graph = activity_graph(role_then_bucket, objects=True, ips=True)
    obj = f"{BUCKET}/reports/q1.csv"
    assert edges(graph)[(SESSION, obj)] == ("call", 2, ("GetObject", "ListObjects"), 0)
    assert edges(graph)[("198.51.100.7", SESSION)] == ("ip", 2, ("GetObject", "ListObjects"), 0)
    assert graph.nodes["198.51.100.7"] == {"kind": "ip", "name": "198.51.100.7"}
    assert graph.nodes[obj]["kind"] == "AWS::S3::Object"


def test_precomputed_resources_give_the_same_graph_and_must_match(role_then_bucket):
    resources = extract_resources(role_then_bucket)
    assert edges(activity_graph(role_then_bucket, resources=resources)) == edges(activity_graph(role_then_bucket))
    with pytest.raises(SchemaError, match="eventIDs differ"):
        activity_graph(role_then_bucket.iloc[::-1].reset_index(drop=True), resources=resources)
    with pytest.raises(SchemaError, match="out of range"):
        activity_graph(role_then_bucket.iloc[:1], resources=resources)


def test_unreadable_text_is_reported_in_the_graph(tmp_path):
    events = load(tmp_path, [record("e1", at(0), name="DeleteUser", source="iam.amazonaws.com", requestParameters="userName=bob")])
    graph = activity_graph(events)
    assert graph.graph["unparsed"] == 1
    assert edges(graph)[(ALICE, "iam.amazonaws.com")] == ("call", 1, ("DeleteUser",), 0)


def test_an_empty_frame_gives_an_empty_graph():
    from forensics.schema import empty_events

    graph = activity_graph(empty_events())
    assert graph.number_of_nodes() == 0 and graph.graph["events"] == 0


# ------------------------------------------------------------------- back to the rows


def test_events_behind_an_edge(role_then_bucket):
    graph = activity_graph(role_then_bucket)
    resources = extract_resources(role_then_bucket)
    for given in (None, resources):
        assert list(events_for_edge(role_then_bucket, graph, READER, SESSION, resources=given)["eventID"]) == ["e1", "e2", "e3"]
        assert list(events_for_edge(role_then_bucket, graph, SESSION, "acme-data", resources=given)["eventID"]) == ["e2", "e3"]
        assert list(events_for_edge(role_then_bucket, graph, ALICE, READER, resources=given)["eventID"]) == ["e1"]
    late = activity_graph(role_then_bucket, start="2024-03-14T02:11:30Z")
    assert list(events_for_edge(role_then_bucket, late, SESSION, BUCKET)["eventID"]) == ["e3"]
    with pytest.raises(ParameterError, match="no edge"):
        events_for_edge(role_then_bucket, graph, BUCKET, SESSION)


def test_every_kept_event_is_behind_some_edge(key_handover):
    graph = activity_graph(key_handover)
    behind = set()
    for u, v in graph.edges:
        behind |= set(events_for_edge(key_handover, graph, u, v)["eventID"])
    assert behind == set(key_handover["eventID"])


# ------------------------------------------------------------- the build, checked another way


@pytest.fixture
def random_trace(tmp_path: Path) -> pd.DataFrame:
    """A seeded mix of 300 calls: users and role sessions reading, writing and failing on buckets,
    tables and functions, assuming roles (their own too), creating keys; events share times."""
    rng = np.random.default_rng(7)
    users = [iam_user(name, key=f"AKIAEXAMPLE{name.upper():0<9}") for name in ("alice", "bob", "carol")]
    roles = [f"arn:aws:iam::{ACCOUNT}:role/{name}" for name in ("Reader", "Deployer")]
    sessions = [session_of(role, name, f"ASIAEXAMPLE{role[-4:].upper()}{name.upper():0<5}")
                for role in roles for name in ("alice", "bob")]  # fmt: skip
    records = []
    for i in range(300):
        who = (users + sessions)[rng.integers(0, 7)]
        when = at(int(rng.integers(0, 6)), hour=int(rng.integers(1, 4)))
        failed = {"errorCode": "AccessDenied", "errorMessage": "denied"} if rng.random() < 0.1 else {}
        kind = rng.integers(0, 6)
        if kind == 0:
            role, name = roles[rng.integers(0, 2)], ("alice", "bob")[rng.integers(0, 2)]
            key = f"ASIAEXAMPLE{role[-4:].upper()}{name.upper():0<5}" if rng.random() < 0.5 else f"ASIANEW{i:013d}"
            records.append(assume(f"e{i:03d}", when, who, role, name, key, **failed))
        elif kind == 1:
            records.append(record(f"e{i:03d}", when, name="CreateAccessKey", source="iam.amazonaws.com", identity=who,
                                  requestParameters={"userName": ("alice", "bob", "carol")[rng.integers(0, 3)]},
                                  responseElements={"accessKey": {"accessKeyId": f"AKIANEW{i:013d}", "status": "Active"}},
                                  **failed))  # fmt: skip
        elif kind == 2:
            table = ("orders", "users")[rng.integers(0, 2)]
            records.append(record(f"e{i:03d}", when, name=("DescribeTable", "DeleteTable")[rng.integers(0, 2)],
                                  source="dynamodb.amazonaws.com", identity=who, requestParameters={"tableName": table},
                                  **failed))  # fmt: skip
        elif kind == 3:
            records.append(record(f"e{i:03d}", when, name="DescribeRegions", source="ec2.amazonaws.com", identity=who,
                                  requestParameters=None, **failed))  # fmt: skip
        else:
            name = ("GetObject", "PutObject", "ListObjects")[rng.integers(0, 3)]
            records.append(s3_read(f"e{i:03d}", when, who, name=name, **failed))
    return load(tmp_path, records)


def test_every_edge_sums_up_the_events_behind_it(random_trace):
    """count, first/last seen, actions and errors of each edge, recomputed from its own events."""
    resources = extract_resources(random_trace)
    graph = activity_graph(random_trace, resources=resources, ips=True)
    assert graph.number_of_edges() > 50
    for u, v, data in graph.edges(data=True):
        rows = events_for_edge(random_trace, graph, u, v, resources=resources)
        times = rows["eventTime"]
        assert data["count"] == len(rows) and data["errors"] == rows["errorCode"].notna().sum()
        assert data["actions"] == tuple(sorted(set(rows["eventName"].astype(str))))
        assert (data["first_seen"], data["last_seen"]) == (times.min().to_pydatetime(), times.max().to_pydatetime())
        assert all(type(t) is dt.datetime and t.tzinfo is dt.UTC for t in (data["first_seen"], data["last_seen"]))


def test_the_graph_is_what_networkx_own_methods_build(random_trace):
    """The build writes networkx's dicts directly; the result is the graph add_nodes_from/add_edges_from make."""
    graph = activity_graph(random_trace, ips=True)
    plain = nx.DiGraph(**graph.graph)
    plain.add_nodes_from(graph.nodes(data=True))
    plain.add_edges_from(graph.edges(data=True))
    assert nx.utils.graphs_equal(graph, plain) and list(graph.edges) == list(plain.edges)
    assert {n: dict(graph.pred[n]) for n in graph} == {n: dict(plain.pred[n]) for n in plain}
    assert all(graph.pred[v][u] is data for u, v, data in graph.edges(data=True))  # one dict per edge, shared
    assert len({id(data) for _, _, data in graph.edges(data=True)}) == graph.number_of_edges()


def test_a_resources_frame_in_another_order_gives_the_same_graph(random_trace):
    """extract_resources sorts by row; a frame shuffled elsewhere (credential chains read it per event) is the same."""
    resources = extract_resources(random_trace)
    shuffled = resources.sample(frac=1, random_state=3)
    assert not shuffled["row"].is_monotonic_increasing
    made, again = (activity_graph(random_trace, resources=r, ips=True) for r in (resources, shuffled))
    assert edges(again) == edges(made) and dict(again.nodes(data=True)) == dict(made.nodes(data=True))
    assert any(data["relation"] == "session" for *_, data in made.edges(data=True))


@pytest.mark.skipif(graphbuild._edges is None, reason="forensics._edges was not built")
def test_the_c_steps_in_their_thread_build_what_numpy_and_python_build(random_trace, monkeypatch):
    """With the C extension the links are summed in a worker thread while the nodes go in; the same graph."""
    resources = extract_resources(random_trace)
    made = activity_graph(random_trace, resources=resources, ips=True, objects=True)
    assert graphbuild.sums_without_gil()
    monkeypatch.setattr(graphbuild, "_edges", None)
    assert not graphbuild.sums_without_gil()
    plain = activity_graph(random_trace, resources=resources, ips=True, objects=True)
    assert nx.utils.graphs_equal(made, plain) and made.graph == plain.graph
    assert list(made.nodes(data=True)) == list(plain.nodes(data=True)) and list(made.edges) == list(plain.edges)
