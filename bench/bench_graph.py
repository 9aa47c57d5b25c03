"""Benchmark: the aggregated activity graph against a per-event MultiDiGraph, same frame, same run.

    python bench/bench_graph.py                      # 100k events (the default; seconds)
    python bench/bench_graph.py --events 1000000     # the goal: graph <= 0.3 s on 1M events

The events frame is synthesised directly in the events schema with numpy (no JSON files,
no loader), with the cardinalities measured on the research data set (perf-baseline.md):
15 services, 47 event names, 6 regions, ~1,200 actor ARNs, 12 session issuers, ~22k access
keys, 312 source IPs, 5 % errors, and request/response JSON text shaped like CloudTrail's
for the services whose resources are extracted (S3 data events with ``resources`` lists,
EC2 instance sets, IAM, STS AssumeRole with returned credentials, Lambda, RDS, KMS ...).

Timed separately (median of ``--repeat`` runs, in-process, imports excluded):

* ``extract``: :func:`forensics.resources.extract_resources` (parses JSON for some rows);
* ``extract_buckets``: the same with ``objects=False``, what ``activity_graph`` does;
* ``graph``: :func:`forensics.graph.activity_graph` given those resources (the goal);
* ``graph_python``: the same with the C extension ``forensics._edges`` switched off (numpy
  and Python sum the links and make the dicts), measured in the same run;
* ``graph_total``: ``activity_graph(events)`` extracting on its own;
* ``graph_services``: ``activity_graph`` with every event's target its ``eventSource``, the
  shape of the research measurement (actor -> service, 0.24 s for 28k edges there);
* ``baseline``: a ``MultiDiGraph`` with one edge per (event, resource) carrying
  ``eventName``/``eventTime``/``eventID``: what "no aggregation" costs;
* ``reach``: :func:`forensics.graphwalk.reach` from the busiest access key;
* ``python_floor_seconds``: what the graph's Python objects cost by themselves (two
  datetimes and one dict per edge, putting nodes and edges into the ``DiGraph``), from
  values already computed: no build of this graph goes below its ``total``.

Results are printed and written as JSON to ``bench/results/graph.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd

from forensics import graphbuild, schema
from forensics.graph import activity_graph
from forensics.graphbuild import fill, utc_datetimes
from forensics.graphwalk import reach
from forensics.resources import SERVICE, extract_resources

ACCOUNT = "012345678901"
REGIONS = ("us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2")

# (eventSource, eventName, readOnly, share of events)
CATALOGUE: tuple[tuple[str, str, bool, float], ...] = (
    ("s3.amazonaws.com", "GetObject", True, 0.22), ("s3.amazonaws.com", "PutObject", False, 0.08),
    ("s3.amazonaws.com", "ListObjects", True, 0.03), ("s3.amazonaws.com", "HeadObject", True, 0.03),
    ("s3.amazonaws.com", "DeleteObject", False, 0.01), ("s3.amazonaws.com", "GetBucketAcl", True, 0.02),
    ("s3.amazonaws.com", "PutBucketPolicy", False, 0.002), ("s3.amazonaws.com", "CreateBucket", False, 0.001),
    ("kms.amazonaws.com", "Decrypt", True, 0.10), ("kms.amazonaws.com", "GenerateDataKey", True, 0.05),
    ("kms.amazonaws.com", "Encrypt", True, 0.02), ("kms.amazonaws.com", "DescribeKey", True, 0.01),
    ("sts.amazonaws.com", "AssumeRole", True, 0.06), ("sts.amazonaws.com", "GetCallerIdentity", True, 0.02),
    ("sts.amazonaws.com", "GetSessionToken", True, 0.002),
    ("ec2.amazonaws.com", "DescribeInstances", True, 0.06), ("ec2.amazonaws.com", "StartInstances", False, 0.005),
    ("ec2.amazonaws.com", "StopInstances", False, 0.005), ("ec2.amazonaws.com", "RunInstances", False, 0.003),
    ("ec2.amazonaws.com", "DescribeSecurityGroups", True, 0.02),
    ("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", False, 0.002),
    ("iam.amazonaws.com", "GetUser", True, 0.02), ("iam.amazonaws.com", "ListRoles", True, 0.02),
    ("iam.amazonaws.com", "AttachRolePolicy", False, 0.002), ("iam.amazonaws.com", "CreateAccessKey", False, 0.001),
    ("iam.amazonaws.com", "GetRole", True, 0.02),
    ("lambda.amazonaws.com", "GetFunction20150331v2", True, 0.02), ("lambda.amazonaws.com", "Invoke", False, 0.04),
    ("lambda.amazonaws.com", "PutFunctionConcurrency20171031", False, 0.001),
    ("logs.amazonaws.com", "CreateLogStream", False, 0.03), ("logs.amazonaws.com", "PutLogEvents", False, 0.03),
    ("ssm.amazonaws.com", "GetParameter", True, 0.03), ("ssm.amazonaws.com", "GetParameters", True, 0.01),
    ("rds.amazonaws.com", "DescribeDBInstances", True, 0.01), ("rds.amazonaws.com", "StopDBInstance", False, 0.001),
    ("dynamodb.amazonaws.com", "DescribeTable", True, 0.01), ("sqs.amazonaws.com", "SendMessage", False, 0.01),
    ("sns.amazonaws.com", "Publish", False, 0.01), ("secretsmanager.amazonaws.com", "GetSecretValue", True, 0.01),
    ("monitoring.amazonaws.com", "PutMetricData", False, 0.02), ("monitoring.amazonaws.com", "DescribeAlarms", True, 0.01),
    ("cloudtrail.amazonaws.com", "LookupEvents", True, 0.005), ("cloudtrail.amazonaws.com", "StopLogging", False, 0.0005),
    ("signin.amazonaws.com", "ConsoleLogin", False, 0.002), ("config.amazonaws.com", "PutEvaluations", False, 0.01),
    ("guardduty.amazonaws.com", "ListDetectors", True, 0.005), ("ecs.amazonaws.com", "DescribeClusters", True, 0.01),
)  # fmt: skip


def synthesise(n: int, seed: int = 42) -> pd.DataFrame:
    """An events frame of ``n`` rows in the schema, sorted by time, deterministic for a seed."""
    rng = np.random.default_rng(seed)
    shares = np.array([c[3] for c in CATALOGUE])
    kind = rng.choice(len(CATALOGUE), size=n, p=shares / shares.sum())
    source = [CATALOGUE[k][0] for k in kind]
    name = [CATALOGUE[k][1] for k in kind]
    read_only = np.array([CATALOGUE[k][2] for k in kind])
    region = rng.integers(0, len(REGIONS), n)  # replaced below by each principal's home region, 9 times in 10
    times = pd.Timestamp("2024-03-14T00:00:00Z").value // 1000 + np.sort(rng.integers(0, 86_400_000_000, n))

    roles = [f"arn:aws:iam::{ACCOUNT}:role/{'service-role/' if i % 3 == 0 else ''}app-role-{i}" for i in range(12)]
    users = [f"arn:aws:iam::{ACCOUNT}:user/user{i:03d}" for i in range(200)]
    sessions = [(r, f"{r.replace(':iam:', ':sts:').replace(':role/', ':assumed-role/').replace('service-role/', '')}/s{i}")
                for i in range(1000) for r in [roles[i % 12]]]  # fmt: skip
    services = ("lambda.amazonaws.com", "ec2.amazonaws.com", "cloudformation.amazonaws.com", "config.amazonaws.com")
    identity = rng.choice(5, size=n, p=[0.62, 0.22, 0.13, 0.015, 0.015])  # AssumedRole, IAMUser, AWSService, Root, AWSAccount
    who = rng.integers(0, 1 << 30, n)
    keys_per_session = max(1, round(22 * n / 1_000_000))  # ~22k temporary keys per 1M events
    types, arns, issuers, keys, principal, account_id, invoked, owner = [], [], [], [], [], [], [], []
    for i, w in zip(identity.tolist(), who.tolist()):
        owner.append((w % 1000, 1000 + w % 200, 1200 + w % 4, 1300, 1400 + w % 14000)[i])  # who the principal is
        if i == 0:
            role, session = sessions[w % 1000]
            types.append("AssumedRole"), arns.append(session), issuers.append(role)
            keys.append(f"ASIA{w % 1000:06d}{(w >> 10) % keys_per_session:010d}"), principal.append(None)
            account_id.append(ACCOUNT), invoked.append(None)
        elif i == 1:
            u = w % 200
            types.append("IAMUser"), arns.append(users[u]), issuers.append(None)
            keys.append(f"AKIA{u:016d}"), principal.append(None), account_id.append(ACCOUNT), invoked.append(None)
        elif i == 2:
            types.append("AWSService"), arns.append(None), issuers.append(None), keys.append(None)
            principal.append(None), account_id.append(None), invoked.append(services[w % 4])
        elif i == 3:
            types.append("Root"), arns.append(f"arn:aws:iam::{ACCOUNT}:root"), issuers.append(None)
            keys.append(f"AKIAROOT{w % 3:012d}"), principal.append(None), account_id.append(ACCOUNT), invoked.append(None)
        else:
            types.append("AWSAccount"), arns.append(None), issuers.append(None), keys.append(None)
            principal.append(f"AIDA{w % 14000:016d}"), account_id.append("210987654321"), invoked.append(None)
    actor = [a or v or p or c for a, v, p, c in zip(arns, invoked, principal, account_id)]
    region = np.where(rng.random(n) < 0.9, np.array(owner) % len(REGIONS), region)

    request, response, listed = _json_columns(rng, name, region, owner, roles, sessions, keys_per_session)
    errors = rng.random(n) < 0.05
    ips = [f"198.51.{i // 256}.{i % 256}" for i in rng.integers(0, 312, n)]
    columns: dict[str, object] = {c: pd.Series([None] * n, dtype="object") for c in schema.COLUMNS}
    columns.update({
        "eventTime": pd.DatetimeIndex(times.view("datetime64[us]")).tz_localize("UTC"),
        "eventVersion": "1.08", "eventSource": source, "eventName": name, "eventType": "AwsApiCall",
        "eventCategory": np.where(np.isin(name, ["GetObject", "PutObject", "HeadObject", "DeleteObject", "Invoke"]),
                                  "Data", "Management"),
        "awsRegion": [REGIONS[r] for r in region], "sourceIPAddress": ips, "userAgent": "aws-cli/2.15.30",
        "errorCode": np.where(errors, "AccessDenied", None), "errorMessage": np.where(errors, "Access Denied", None),
        "readOnly": read_only, "managementEvent": True, "recipientAccountId": ACCOUNT,
        "eventID": [f"{i:08x}-0000-4000-8000-{i:012x}" for i in range(n)], "requestID": [f"R{i}" for i in range(n)],
        "userIdentity.type": types, "userIdentity.arn": arns, "userIdentity.principalId": principal,
        "userIdentity.accountId": account_id, "userIdentity.accessKeyId": keys, "userIdentity.invokedBy": invoked,
        "userIdentity.sessionContext.sessionIssuer.arn": issuers,
        "requestParameters": request, "responseElements": response, "resources": listed,
        "actor": actor, "source_file": "synthetic.json.gz", "record_index": np.arange(n) % 1000, "copies": 1,
    })  # fmt: skip
    frame = pd.DataFrame({c: columns[c] for c in schema.COLUMNS})
    frame = frame.astype(schema.DTYPES)
    return schema.validate(frame)


def _json_columns(rng: np.random.Generator, names: list[str], region: np.ndarray, principal: list[int], roles: list[str],
                  sessions: list[tuple[str, str]], per_session: int) -> tuple[list, list, list]:  # fmt: skip
    """requestParameters, responseElements and resources text shaped like CloudTrail's.

    Principals work on their own resources: 99 times out of 100 a principal draws from a
    working set of 3 resources of each pool that depends on who it is, else from the
    whole pool.
    """
    n = len(names)
    draw = rng.integers(0, 1 << 30, n).tolist()
    request: list[str | None] = []
    response: list[str | None] = []
    listed: list[str | None] = []
    for i, (name, d, w) in enumerate(zip(names, draw, principal)):
        reg = REGIONS[region[i]]
        g = w % 12  # the team (role) whose sessions this principal assumes

        def pool(k: int, d: int = d, w: int = w) -> int:
            return d % k if d % 100 == 0 else (w * 7 + (d >> 5) % 3) % k

        p = d
        req = resp = res = None
        if name in ("GetObject", "PutObject", "HeadObject", "DeleteObject"):
            bucket, key = f"bucket-{pool(50)}", f"data/{p % 100_000}.parquet"
            req = f'{{"bucketName":"{bucket}","Host":"{bucket}.s3.{reg}.amazonaws.com","key":"{key}"}}'
            res = (f'[{{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::{bucket}/{key}"}},'
                   f'{{"accountId":"{ACCOUNT}","type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::{bucket}"}}]')  # fmt: skip
        elif name.startswith(("ListObjects", "GetBucket", "PutBucket", "CreateBucket")):
            bucket = f"bucket-{pool(50)}"
            req = f'{{"bucketName":"{bucket}","Host":"{bucket}.s3.{reg}.amazonaws.com","list-type":"2"}}'
            res = f'[{{"accountId":"{ACCOUNT}","type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::{bucket}"}}]'
        elif name in ("Decrypt", "GenerateDataKey", "Encrypt", "DescribeKey"):
            key = f"arn:aws:kms:{reg}:{ACCOUNT}:key/{pool(30):08d}-1111-2222-3333-444455556666"
            req = f'{{"encryptionAlgorithm":"SYMMETRIC_DEFAULT","encryptionContext":{{"aws:s3:arn":"x"}},"keyId":"{key}"}}'
            res = f'[{{"accountId":"{ACCOUNT}","type":"AWS::KMS::Key","ARN":"{key}"}}]'
        elif name == "AssumeRole":
            index = (g + 12 * ((d >> 5) % 83)) % 1000  # a session of the team's role
            role, session = sessions[index]
            req = f'{{"roleArn":"{role}","roleSessionName":"{session.rsplit("/", 1)[1]}","durationSeconds":3600}}'
            resp = (f'{{"credentials":{{"accessKeyId":"ASIA{index:06d}{(p >> 10) % per_session:010d}","sessionToken":"IQoJb3JpZ2lu",'
                    f'"expiration":"Mar 14, 2024, 3:00:00 AM"}},"assumedRoleUser":{{"assumedRoleId":"AROAEXAMPLE:s",'
                    f'"arn":"{session}"}}}}')  # fmt: skip
            res = f'[{{"accountId":"{ACCOUNT}","type":"AWS::IAM::Role","ARN":"{role}"}}]'
        elif name in ("StartInstances", "StopInstances", "DescribeInstances"):
            items = ",".join(f'{{"instanceId":"i-{(pool(500) + j) % 500:017x}"}}' for j in range(1 + p % 3))
            req = f'{{"instancesSet":{{"items":[{items}]}}}}' if name != "DescribeInstances" or p % 2 else '{"instancesSet":{}}'
        elif name == "RunInstances":
            req = '{"instancesSet":{"items":[{"imageId":"ami-0abcdef1234567890","minCount":1,"maxCount":1}]}}'
            resp = f'{{"instancesSet":{{"items":[{{"instanceId":"i-{pool(500):017x}","imageId":"ami-0abcdef1234567890"}}]}}}}'
        elif name == "AuthorizeSecurityGroupIngress":
            req = f'{{"groupId":"sg-{pool(80):017x}","ipPermissions":{{"items":[{{"ipProtocol":"tcp","fromPort":22}}]}}}}'
        elif name in ("GetUser", "CreateAccessKey"):
            req = f'{{"userName":"user{pool(200):03d}"}}'
            if name == "CreateAccessKey":
                resp = f'{{"accessKey":{{"accessKeyId":"AKIANEW{p:013d}","status":"Active","userName":"user{pool(200):03d}"}}}}'
        elif name in ("GetRole", "AttachRolePolicy"):
            req = f'{{"roleName":"{roles[pool(12)].rsplit("/", 1)[1]}","policyArn":"arn:aws:iam::aws:policy/ReadOnlyAccess"}}'
        elif name.startswith(("GetFunction", "Invoke", "PutFunctionConcurrency")):
            req = f'{{"functionName":"fn-{pool(100)}","reservedConcurrentExecutions":0}}'
        elif name in ("CreateLogStream", "PutLogEvents"):
            req = f'{{"logGroupName":"/aws/lambda/fn-{pool(100)}","logStreamName":"2024/03/14/[$LATEST]{p:x}"}}'
        elif name == "GetParameter":
            req = f'{{"name":"/app/config/param-{pool(300)}","withDecryption":true}}'
        elif name == "GetParameters":
            req = f'{{"names":["/app/a-{pool(300)}","/app/b-{pool(300)}"],"withDecryption":true}}'
        elif name in ("DescribeDBInstances", "StopDBInstance"):
            req = f'{{"dBInstanceIdentifier":"db-{pool(20)}"}}'
        elif name == "DescribeTable":
            req = f'{{"tableName":"table-{pool(40)}"}}'
        elif name == "SendMessage":
            req = f'{{"queueUrl":"https://sqs.{reg}.amazonaws.com/{ACCOUNT}/queue-{pool(30)}","messageBody":"HIDDEN"}}'
        elif name == "Publish":
            req = f'{{"topicArn":"arn:aws:sns:{reg}:{ACCOUNT}:topic-{pool(30)}","message":"HIDDEN"}}'
        elif name == "GetSecretValue":
            req = f'{{"secretId":"arn:aws:secretsmanager:{reg}:{ACCOUNT}:secret:app/secret-{pool(20)}-AbCdEf"}}'
        elif name == "StopLogging":
            req = f'{{"name":"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/main"}}'
        elif name == "DescribeClusters":
            req = f'{{"clusters":["cluster-{pool(5)}"],"cluster":"cluster-{pool(5)}"}}'
        elif name == "PutMetricData":
            req = '{"namespace":"App","metricData":[{"metricName":"Latency","value":12.5}]}'
        request.append(req)
        response.append(resp)
        listed.append(res)
    return request, response, listed


def per_event_multidigraph(events: pd.DataFrame, resources: pd.DataFrame) -> nx.MultiDiGraph:
    """The baseline: one edge per (event, resource), attributes per edge, no aggregation."""
    rows = resources["row"].to_numpy()
    graph = nx.MultiDiGraph()
    graph.add_edges_from(zip(
        events["actor"].astype(str).to_numpy()[rows],
        resources["arn"].astype(str).to_numpy(),
        ({"eventName": n, "eventTime": t, "eventID": i} for n, t, i in zip(
            events["eventName"].astype(str).to_numpy()[rows], events["eventTime"].array.asi8[rows],
            events["eventID"].to_numpy()[rows])),
    ))  # fmt: skip
    return graph


def service_targets(events: pd.DataFrame) -> pd.DataFrame:
    """A resources frame whose only target per event is its service (the research graph's shape)."""
    return pd.DataFrame({
        "eventID": events["eventID"], "row": np.arange(len(events)), "arn": events["eventSource"],
        "type": pd.Categorical([SERVICE] * len(events)), "name": events["eventSource"],
        "account": events["recipientAccountId"], "region": events["awsRegion"],
    })  # fmt: skip


def timed(function: Callable[[], object], repeat: int) -> tuple[float, object]:
    """Median wall seconds over ``repeat`` calls, and the last result.

    The previous call's result is freed, and garbage collected, before the clock starts:
    freeing a graph of 180k edges takes a good part of a second, and it is no part of
    building the next one.
    """
    seconds, result = [], None
    for _ in range(repeat):
        result = None
        gc.collect()
        began = time.perf_counter()
        result = function()
        seconds.append(time.perf_counter() - began)
    return statistics.median(seconds), result


def python_floor(graph: nx.DiGraph, repeat: int) -> dict[str, float]:
    """What the graph's Python objects cost by themselves, from values already computed.

    No build can go below their sum: ``datetimes``, the two aware datetimes of every edge
    made from microseconds (the fastest way :mod:`forensics.graphbuild` knows); ``edge_dicts``,
    one attribute dict per edge; ``insert``, nodes and edges put into a ``DiGraph`` the
    way the build does; ``add_edges_from``, the same through networkx's public methods.
    """
    nodes, edges = list(graph.nodes(data=True)), list(graph.edges(data=True))
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    micros = np.array([(d["first_seen"] - epoch) // dt.timedelta(microseconds=1) for _, _, d in edges], dtype=np.int64)
    known = np.zeros(len(micros), dtype=bool)
    values = [[d[k] for _, _, d in edges] for k in ("count", "first_seen", "last_seen", "actions", "errors", "relation")]
    sources, targets = [u for u, _, _ in edges], [v for _, v, _ in edges]

    def dicts() -> list[dict[str, object]]:
        return [{"count": c, "first_seen": f, "last_seen": l, "actions": a, "errors": e, "relation": r}
                for c, f, l, a, e, r in zip(*values)]  # fmt: skip

    data = dicts()

    def insert() -> nx.DiGraph:
        built = nx.DiGraph()
        fill(built, [n for n, _ in nodes], [dict(d) for _, d in nodes], sources, targets, data)
        return built

    def public() -> nx.DiGraph:
        built = nx.DiGraph()
        built.add_nodes_from(nodes)
        built.add_edges_from(zip(sources, targets, data))
        return built

    return {
        "datetimes": timed(lambda: (utc_datetimes(micros, known), utc_datetimes(micros, known)), repeat)[0],
        "edge_dicts": timed(dicts, repeat)[0],
        "insert": timed(insert, repeat)[0],
        "add_edges_from": timed(public, repeat)[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000, help="rows to synthesise (default 100k)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the median is kept")
    parser.add_argument("--baseline-repeat", type=int, default=1, help="runs of the slow per-event baseline")
    parser.add_argument("--output", type=Path, default=Path(__file__).parent / "results" / "graph.json")
    args = parser.parse_args()

    began = time.perf_counter()
    events = synthesise(args.events)
    made = time.perf_counter() - began
    extract_s, resources = timed(lambda: extract_resources(events), args.repeat)
    buckets_s, _ = timed(lambda: extract_resources(events, objects=False), args.repeat)
    graph_s, graph = timed(lambda: activity_graph(events, resources=resources), args.repeat)
    python_s = None
    if graphbuild._edges is not None:
        built, graphbuild._edges = graphbuild._edges, None
        try:
            python_s, _ = timed(lambda: activity_graph(events, resources=resources), args.repeat)
        finally:
            graphbuild._edges = built
    total_s, _ = timed(lambda: activity_graph(events), 1)
    services = service_targets(events)
    services_s, coarse = timed(lambda: activity_graph(events, resources=services), args.repeat)
    baseline_s, baseline = timed(lambda: per_event_multidigraph(events, resources), args.baseline_repeat)
    key = events["userIdentity.accessKeyId"].value_counts().index[0]
    reach_s, reached = timed(lambda: reach(graph, str(key)), args.repeat)
    floor = python_floor(graph, args.repeat)
    floor_s = floor["datetimes"] + floor["edge_dicts"] + floor["insert"]

    result = {
        "events": len(events),
        "resource_rows": len(resources),
        "nodes": graph.number_of_nodes(),
        "edges": graph.number_of_edges(),
        "baseline_edges": baseline.number_of_edges(),
        "service_level_edges": coarse.number_of_edges(),
        "seconds": {
            "synthesise": round(made, 3), "extract": round(extract_s, 3), "extract_buckets": round(buckets_s, 3),
            "graph": round(graph_s, 3), "graph_python": None if python_s is None else round(python_s, 3),
            "graph_total": round(total_s, 3), "graph_services": round(services_s, 3), "baseline": round(baseline_s, 3),
            "reach": round(reach_s, 4),
        },
        "python_floor_seconds": {**{k: round(v, 3) for k, v in floor.items()}, "total": round(floor_s, 3)},
        "ratios": {
            "baseline_over_graph": round(baseline_s / graph_s, 1),
            "graph_python_over_graph": None if python_s is None else round(python_s / graph_s, 2),
            "baseline_over_graph_total": round(baseline_s / total_s, 2),
            "graph_seconds_per_1m_events": round(graph_s * 1_000_000 / len(events), 3),
            "extract_seconds_per_1m_events": round(extract_s * 1_000_000 / len(events), 3),
            "graph_microseconds_per_edge": round(graph_s * 1e6 / max(graph.number_of_edges(), 1), 2),
            "python_floor_microseconds_per_edge": round(floor_s * 1e6 / max(graph.number_of_edges(), 1), 2),
            "python_floor_share_of_graph": round(floor_s / graph_s, 2),
        },
        "reach_nodes": reached.number_of_nodes(),
        "goal": "graph <= 0.3 s per 1M events on top of the loaded frame (resources given)",
        "c_extension": graphbuild._edges is not None,
        "goal_met": graph_s * 1_000_000 / len(events) <= 0.3,
        "machine": {"python": platform.python_version(), "pandas": pd.__version__, "networkx": nx.__version__,
                    "numpy": np.__version__, "processor": platform.processor() or platform.machine()},
        "repeat": args.repeat,
    }  # fmt: skip
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
