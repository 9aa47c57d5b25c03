"""Benchmark: Sigma rules evaluated on the events frame by :func:`forensics.detect.detect`.

    python bench/bench_detect.py                      # 100k events (the default; seconds)
    python bench/bench_detect.py --events 1000000     # the goal: 100 rules over 1M events in <= 10 s

The events frame is synthesised in the events schema with numpy only (no JSON files, no
loader): every column is drawn as codes into small value tables, so 1M rows take a couple
of seconds. Cardinalities follow the research data set (perf-baseline.md): ~50 event
names over 15 services, 6 regions, ~1,200 actors, 26 user agents, 312 source IPs, 5 %
errors. ``requestParameters`` holds CloudTrail-shaped JSON text for the calls the rules
look into (bucket policies, security-group rules, access blocks, Lambda concurrency...),
including some that match, so the nested-path conditions really parse JSON.

The rules are the suite pack plus generated rules up to ``--rules`` (default 100): plain
and list matches on category columns, contains/startswith/endswith, ``re``, ``cidr``,
null and ``exists`` checks, ``not`` filters, ``1 of``/``all of`` selections and nested
JSON paths behind cheaper conditions, all written as Sigma YAML and read by pySigma.

Timed (median of ``--repeat`` runs, in-process, imports excluded): the whole
``detect(events, rules)`` call, rule parsing included (wall and CPU seconds), and the
parsing alone.
Results are printed and written as JSON to ``bench/results/detect.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from forensics import schema
from forensics.detect import SUITE_RULES, Detections, detect, load_rules

ACCOUNT = "012345678901"
REGIONS = ("us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2")
PUBLIC = '{"bucketName":"b-%d","bucketPolicy":{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject"}]}}'
PRIVATE = '{"bucketName":"b-%d","bucketPolicy":{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*"}]}}'

# (eventSource, eventName, share, requestParameters templates; %d is filled with a small number)
CATALOGUE: tuple[tuple[str, str, float, tuple[str | None, ...]], ...] = (
    ("s3.amazonaws.com", "GetObject", 0.22, ('{"bucketName":"bucket-%d","key":"data/x.parquet"}',)),
    ("s3.amazonaws.com", "PutObject", 0.08, ('{"bucketName":"bucket-%d","key":"data/y.parquet"}',)),
    ("s3.amazonaws.com", "ListObjects", 0.03, ('{"bucketName":"bucket-%d","list-type":"2"}',)),
    ("s3.amazonaws.com", "PutBucketPolicy", 0.002, (PUBLIC, PRIVATE, PRIVATE)),
    ("s3.amazonaws.com", "PutBucketAcl", 0.001, ('{"bucketName":"b-%d","x-amz-acl":["private"]}', '{"bucketName":"b-%d","x-amz-acl":["public-read"]}')),
    ("s3.amazonaws.com", "PutBucketPublicAccessBlock", 0.001,
     ('{"bucketName":"b-%d","PublicAccessBlockConfiguration":{"BlockPublicAcls":true,"IgnorePublicAcls":true,"BlockPublicPolicy":true,"RestrictPublicBuckets":true}}',
      '{"bucketName":"b-%d","PublicAccessBlockConfiguration":{"BlockPublicAcls":false,"IgnorePublicAcls":true,"BlockPublicPolicy":true,"RestrictPublicBuckets":true}}')),
    ("kms.amazonaws.com", "Decrypt", 0.10, ('{"encryptionAlgorithm":"SYMMETRIC_DEFAULT","keyId":"k-%d"}',)),
    ("kms.amazonaws.com", "GenerateDataKey", 0.05, ('{"keyId":"k-%d","keySpec":"AES_256"}',)),
    ("kms.amazonaws.com", "ScheduleKeyDeletion", 0.0002, ('{"keyId":"k-%d","pendingWindowInDays":7}',)),
    ("sts.amazonaws.com", "AssumeRole", 0.06, ('{"roleArn":"arn:aws:iam::012345678901:role/app-%d","roleSessionName":"s"}',)),
    ("sts.amazonaws.com", "GetCallerIdentity", 0.02, (None,)),
    ("ec2.amazonaws.com", "DescribeInstances", 0.06, ('{"instancesSet":{"items":[{"instanceId":"i-%d"}]}}',)),
    ("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", 0.002,
     ('{"groupId":"sg-%d","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":22,"ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]}}]}}',
      '{"groupId":"sg-%d","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":443,"ipRanges":{"items":[{"cidrIp":"10.0.0.0/8"}]}}]}}')),
    ("ec2.amazonaws.com", "RunInstances", 0.003, ('{"instancesSet":{"items":[{"imageId":"ami-%d","minCount":1}]}}',)),
    ("iam.amazonaws.com", "GetUser", 0.02, ('{"userName":"user%d"}',)),
    ("iam.amazonaws.com", "ListRoles", 0.02, (None,)),
    ("iam.amazonaws.com", "CreateAccessKey", 0.001, ('{"userName":"user%d"}', None)),
    ("iam.amazonaws.com", "AttachRolePolicy", 0.002,
     ('{"roleName":"app-%d","policyArn":"arn:aws:iam::aws:policy/ReadOnlyAccess"}',
      '{"roleName":"app-%d","policyArn":"arn:aws:iam::aws:policy/AdministratorAccess"}')),
    ("iam.amazonaws.com", "CreateLoginProfile", 0.0005, ('{"userName":"user%d"}',)),
    ("lambda.amazonaws.com", "Invoke", 0.04, ('{"functionName":"fn-%d"}',)),
    ("lambda.amazonaws.com", "PutFunctionConcurrency20171031", 0.001,
     ('{"functionName":"fn-%d","reservedConcurrentExecutions":0}', '{"functionName":"fn-%d","reservedConcurrentExecutions":5}')),
    ("logs.amazonaws.com", "PutLogEvents", 0.06, ('{"logGroupName":"/aws/lambda/fn-%d"}',)),
    ("ssm.amazonaws.com", "GetParameter", 0.04, ('{"name":"/app/param-%d","withDecryption":true}',)),
    ("rds.amazonaws.com", "DescribeDBInstances", 0.01, ('{"dBInstanceIdentifier":"db-%d"}',)),
    ("rds.amazonaws.com", "StopDBInstance", 0.001, ('{"dBInstanceIdentifier":"db-%d"}',)),
    ("cloudtrail.amazonaws.com", "LookupEvents", 0.005, (None,)),
    ("cloudtrail.amazonaws.com", "StopLogging", 0.0005, ('{"name":"main-%d"}',)),
    ("signin.amazonaws.com", "ConsoleLogin", 0.002, (None,)),
    ("guardduty.amazonaws.com", "UpdateDetector", 0.001, ('{"detectorId":"d-%d","enable":false}', '{"detectorId":"d-%d","enable":true}')),
    ("config.amazonaws.com", "PutEvaluations", 0.02, ('{"resultToken":"t-%d"}',)),
    ("secretsmanager.amazonaws.com", "GetSecretValue", 0.02, ('{"secretId":"app/secret-%d"}',)),
    ("monitoring.amazonaws.com", "PutMetricData", 0.05, ('{"namespace":"App-%d"}',)),
    ("sqs.amazonaws.com", "SendMessage", 0.03, ('{"queueUrl":"https://sqs/queue-%d"}',)),
    ("dynamodb.amazonaws.com", "GetItem", 0.05, ('{"tableName":"table-%d"}',)),
)  # fmt: skip
AGENTS = tuple(
    [f"aws-cli/2.15.{i} Python/3.11.8 Linux/6.5.0 exe/x86_64.ubuntu.22" for i in range(10)]
    + [f"Boto3/1.34.{i} md/Botocore#1.34.{i} ua/2.0 os/linux" for i in range(10)]
    + ["console.amazonaws.com", "AWS Internal", "aws-sdk-go-v2/1.24.0", "Terraform/1.7.4", "aws-sdk-java/2.25.0",
       "aws-cli/2.13.5 Python/3.11.4 Linux/6.3.0-kali1-amd64 exe/x86_64.kali.2023"]
)  # fmt: skip


def synthesise(n: int, seed: int = 42) -> pd.DataFrame:
    """An events frame of ``n`` rows in the schema, sorted by time, deterministic for a seed."""
    rng = np.random.default_rng(seed)
    shares = np.array([c[2] for c in CATALOGUE])
    kind = rng.choice(len(CATALOGUE), size=n, p=shares / shares.sum())
    templates = [(k, t) for k, c in enumerate(CATALOGUE) for t in c[3]]
    per_kind = np.array([sum(1 for k2, _ in templates if k2 == k) for k in range(len(CATALOGUE))])
    first = np.concatenate([[0], np.cumsum(per_kind)[:-1]])
    template = first[kind] + rng.integers(0, 1 << 20, n) % per_kind[kind]
    variant = rng.integers(0, 50, n)
    texts = [None if t is None else t % v if "%d" in t else t for _, t in templates for v in range(50)]
    request = _take(texts, template * 50 + variant, "str")

    users = [f"arn:aws:iam::{ACCOUNT}:user/user{i:03d}" for i in range(200)]
    sessions = [f"arn:aws:sts::{ACCOUNT}:assumed-role/app-{i % 12}/s{i}" for i in range(1000)]
    arns = [*users, *sessions, f"arn:aws:iam::{ACCOUNT}:root"]
    kinds = ["IAMUser"] * 200 + ["AssumedRole"] * 1000 + ["Root"]
    who = rng.integers(0, len(arns), n)
    service = rng.random(n) < 0.13
    actor_codes = np.where(service, len(arns), who)
    errors = rng.random(n) < 0.05
    times = pd.Timestamp("2024-03-14T00:00:00Z").value // 1000 + np.sort(rng.integers(0, 86_400_000_000, n))
    columns: dict[str, object] = {c: pd.Series(pd.Categorical.from_codes(np.full(n, -1), [])) for c in schema.COLUMNS}
    columns.update({
        "eventTime": pd.DatetimeIndex(times.view("datetime64[us]")).tz_localize("UTC"),
        "eventVersion": _codes(["1.09"], np.zeros(n, int)), "eventType": _codes(["AwsApiCall"], np.zeros(n, int)),
        "eventSource": _codes([c[0] for c in CATALOGUE], kind), "eventName": _codes([c[1] for c in CATALOGUE], kind),
        "awsRegion": _codes(REGIONS, np.where(rng.random(n) < 0.9, who % 6, rng.integers(0, 6, n))),
        "sourceIPAddress": _codes([f"198.51.{i // 256}.{i % 256}" for i in range(312)], rng.integers(0, 312, n)),
        "userAgent": _codes(AGENTS, np.where(rng.random(n) < 1e-4, len(AGENTS) - 1, rng.integers(0, len(AGENTS) - 1, n))),
        "errorCode": _codes(["AccessDenied"], np.where(errors, 0, -1)),
        "errorMessage": _codes(["Access Denied"], np.where(errors, 0, -1)),
        "readOnly": pd.array(rng.random(n) < 0.7, dtype="boolean"), "managementEvent": pd.array(np.ones(n, bool), dtype="boolean"),
        "recipientAccountId": _codes([ACCOUNT], np.zeros(n, int)),
        "eventID": pd.array([f"{i:08x}-0000-4000-8000-{i:012x}" for i in range(n)], dtype="str"),
        "userIdentity.type": _codes([*kinds, "AWSService"], actor_codes),
        "userIdentity.arn": _codes(arns, np.where(service, -1, who)),
        "userIdentity.accountId": _codes([ACCOUNT], np.where(service, -1, 0)),
        "userIdentity.invokedBy": _codes(["lambda.amazonaws.com"], np.where(service, 0, -1)),
        "requestParameters": request,
        "actor": _codes([*arns, "lambda.amazonaws.com"], actor_codes),
        "source_file": _codes(["synthetic.json.gz"], np.zeros(n, int)),
        "record_index": np.arange(n) % 1000, "copies": 1,
    })  # fmt: skip
    frame = pd.DataFrame({c: columns[c] for c in schema.COLUMNS}).astype(schema.DTYPES)
    return schema.validate(frame)


def _codes(values: list[str] | tuple[str, ...], codes: np.ndarray) -> pd.Categorical:
    """A categorical of ``values[codes]`` (-1 for missing); repeated values share a category."""
    categories = list(dict.fromkeys(values))
    remap = np.array([categories.index(v) for v in values] + [-1])
    return pd.Categorical.from_codes(remap[np.asarray(codes)], categories=categories)


def _take(values: list[str | None], index: np.ndarray, dtype: str) -> pd.Series:
    distinct = pd.Series(values, dtype=dtype)
    return distinct.take(index).reset_index(drop=True)


def generated_rules(count: int) -> list[dict]:
    """``count`` Sigma rules mixing every supported form, deterministic."""
    names = [c[1] for c in CATALOGUE]
    sources = sorted({c[0] for c in CATALOGUE})
    forms = [
        lambda i: {"sel": {"eventSource": sources[i % len(sources)], "eventName": [names[i % len(names)], names[(i * 7) % len(names)]]},
                   "condition": "sel"},
        lambda i: {"sel": {"userAgent|contains": ["kali", f"1.34.{i % 10}"]}, "filter": {"userIdentity.type": "AWSService"},
                   "condition": "sel and not filter"},
        lambda i: {"sel": {"eventName|startswith": names[i % len(names)][:4]}, "err": {"errorCode": None}, "condition": "sel and err"},
        lambda i: {"sel": {"userIdentity.arn|re": f"user0{i % 10}[0-9]$"}, "condition": "sel"},
        lambda i: {"sel": {"sourceIPAddress|cidr": f"198.51.{i % 2}.0/25"}, "ro": {"readOnly": False}, "condition": "sel and ro"},
        lambda i: {"selection_a": {"eventName": "GetObject", "requestParameters.bucketName|endswith": f"-{i % 50}"},
                   "selection_b": {"eventName": "Decrypt", "requestParameters.keyId": f"k-{i % 50}"}, "condition": "1 of selection_*"},
        lambda i: {"selection_call": {"eventName": "AssumeRole"}, "selection_role": {"requestParameters.roleArn|contains": f"app-{i % 12}"},
                   "condition": "all of selection_*"},
        lambda i: {"sel": {"awsRegion": REGIONS[i % 6], "userIdentity.type": "Root"}, "inv": {"userIdentity.invokedBy|exists": True},
                   "condition": "sel and not inv"},
        lambda i: {"sel": {"eventName": "PutLogEvents", "requestParameters.logGroupName|startswith": f"/aws/lambda/fn-{i % 50}"},
                   "condition": "sel"},
        lambda i: {"sel": {"eventName": "GetParameter", "requestParameters.withDecryption": True, "errorCode|exists": True},
                   "condition": "sel"},
    ]  # fmt: skip
    return [
        {
            "title": f"Generated rule {i}",
            "id": f"00000000-0000-4000-8000-{i:012d}",
            "status": "test",
            "logsource": {"product": "aws", "service": "cloudtrail"},
            "detection": forms[i % len(forms)](i),
            "level": "low",
            "tags": ["attack.discovery", "attack.t1580"],
        }
        for i in range(count)
    ]


def timed(function: Callable[[], object], repeat: int) -> tuple[float, float, object]:
    """Median wall and CPU seconds over ``repeat`` calls, and the last result. CPU time
    (all threads of this process) is the fairer figure on a machine shared with others."""
    wall, cpu, result = [], [], None
    for _ in range(repeat):
        began, began_cpu = time.perf_counter(), time.process_time()
        result = function()
        wall.append(time.perf_counter() - began)
        cpu.append(time.process_time() - began_cpu)
    return statistics.median(wall), statistics.median(cpu), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000, help="rows to synthesise (default 100k)")
    parser.add_argument("--rules", type=int, default=100, help="rules in total, suite pack included (default 100)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the median is kept")
    parser.add_argument("--output", type=Path, default=Path(__file__).parent / "results" / "detect.json")
    args = parser.parse_args()

    began = time.perf_counter()
    events = synthesise(args.events)
    synthesis = time.perf_counter() - began
    suite = len(list(SUITE_RULES.glob("*.yml"))) + 1  # the correlation file holds two documents, one reports
    with tempfile.TemporaryDirectory() as folder:
        generated = Path(folder) / "generated.yml"
        generated.write_text(yaml.safe_dump_all(generated_rules(max(0, args.rules - suite))), encoding="utf-8")
        sources = [SUITE_RULES, generated]
        parse_s, _, _ = timed(lambda: load_rules(sources), args.repeat)
        detect_s, detect_cpu_s, result = timed(lambda: detect(events, sources), args.repeat)
    assert isinstance(result, Detections)
    numbers = {
        "events": args.events,
        "rules_run": len(result.rules),
        "rules_skipped": len(result.skipped),
        "findings": len(result.findings),
        "synthesis_s": round(synthesis, 2),
        "parse_s": round(parse_s, 3),
        "detect_s": round(detect_s, 3),
        "detect_cpu_s": round(detect_cpu_s, 3),
        "events_per_s": round(args.events / detect_s),
        "machine": f"{platform.machine()}, {platform.python_version()}",
    }
    print(json.dumps(numbers, indent=2))
    print(result.rule_summary().head(10).to_string())
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(numbers, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
