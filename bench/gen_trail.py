"""Generate a synthetic CloudTrail trail in the native S3 layout, deterministically, for benchmarks.

Realistic field shapes: 47 event names over 15 services; identity types AssumedRole (with
session issuer and attributes), IAMUser, AWSService, Root and AWSAccount; about 5 % errors;
``requestParameters``/``responseElements`` of varied shapes including real type clashes (a
bucket-policy ``Principal`` that is ``"*"`` in one event and ``{"AWS": ...}`` in another,
``tags`` that is a list in IAM and a map in Lambda). Files are compact one-line
``{"Records":[...]}`` objects of 200-2000 records, gzipped, named by delivery time.

    python bench/gen_trail.py OUT EVENTS [--seed 42] [--days 1] [--per-file MIN MAX]
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
from pathlib import Path

import pandas as pd

ACCOUNTS = ("012345678901", "111122223333", "444455556666")
REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2", "sa-east-1")
AGENTS = (
    "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0 exe/x86_64.ubuntu.22",
    "Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#6.5.0 md/arch#x86_64 lang/python#3.11.8",
    "aws-sdk-go-v2/1.25.2 os/linux lang/go#1.22.1 md/GOOS#linux md/GOARCH#amd64 api/s3#1.51.3",
    "console.amazonaws.com", "AWS Internal", "terraform-provider-aws/5.42.0 (+https://registry.terraform.io)",
) + tuple(f"Mozilla/5.0 (X11; Linux x86_64) Chrome/12{i}.0 Safari/537.36" for i in range(20))  # fmt: skip


def _params(name: str, rng: random.Random, account: str, region: str) -> tuple[object, object, str]:
    """requestParameters, responseElements and eventSource of one call."""
    n = rng.randrange(10_000)
    bucket = f"bucket-{n % 40}"
    if name in ("GetObject", "PutObject", "HeadObject", "DeleteObject"):
        return {"bucketName": bucket, "key": f"data/{n}/part-{n % 97}.parquet", "Host": f"{bucket}.s3.{region}.amazonaws.com"}, None, "s3.amazonaws.com"
    if name == "PutBucketPolicy":
        principal = "*" if n % 2 else {"AWS": f"arn:aws:iam::{account}:root"}
        stmt = {"Effect": "Allow", "Principal": principal, "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}
        return {"bucketName": bucket, "bucketPolicy": {"Version": "2012-10-17", "Statement": [stmt]}}, None, "s3.amazonaws.com"
    if name in ("ListBuckets", "GetBucketAcl", "GetBucketLocation", "ListObjects"):
        return ({"bucketName": bucket} if name != "ListBuckets" else None), None, "s3.amazonaws.com"
    if name in ("Decrypt", "Encrypt", "GenerateDataKey"):
        return {"encryptionContext": {"aws:lambda:FunctionArn": f"arn:aws:lambda:{region}:{account}:function:fn-{n % 30}"},
                "encryptionAlgorithm": "SYMMETRIC_DEFAULT", "keyId": f"arn:aws:kms:{region}:{account}:key/{n:08x}-aaaa-bbbb-cccc-{n:012x}"}, None, "kms.amazonaws.com"  # fmt: skip
    if name in ("AssumeRole", "GetCallerIdentity", "GetSessionToken"):
        if name != "AssumeRole":
            return None, None, "sts.amazonaws.com"
        creds = {"accessKeyId": f"ASIA{n:016d}", "sessionToken": "IQoJb3JpZ2luX2VjE" + "x" * 40, "expiration": "Mar 14, 2024, 3:00:00 AM"}
        return ({"roleArn": f"arn:aws:iam::{account}:role/role-{n % 12}", "roleSessionName": f"s-{n % 500}", "durationSeconds": 3600},
                {"credentials": creds, "assumedRoleUser": {"assumedRoleId": f"AROA{n:016d}:s-{n % 500}", "arn": f"arn:aws:sts::{account}:assumed-role/role-{n % 12}/s-{n % 500}"}},
                "sts.amazonaws.com")  # fmt: skip
    if name in ("TagRole", "TagUser"):
        return {"roleName": f"role-{n % 12}", "tags": [{"key": "team", "value": f"t{n % 9}"}]}, None, "iam.amazonaws.com"
    if name in ("ListUsers", "ListRoles", "GetUser", "GetRole", "ListAttachedRolePolicies", "CreateAccessKey", "AttachRolePolicy"):
        return {"userName": f"user-{n % 200}"} if "User" in name or "Access" in name else {"roleName": f"role-{n % 12}"}, None, "iam.amazonaws.com"
    if name in ("TagResource", "UpdateFunctionConfiguration", "Invoke", "GetFunction", "PutFunctionConcurrency"):
        params = {"functionName": f"fn-{n % 30}"}
        if name == "TagResource":
            params = {"resource": f"arn:aws:lambda:{region}:{account}:function:fn-{n % 30}", "tags": {"team": f"t{n % 9}"}}
        return params, None, "lambda.amazonaws.com"
    if name in ("DescribeInstances", "RunInstances", "StopInstances", "DescribeSecurityGroups", "AuthorizeSecurityGroupIngress", "DescribeVolumes"):
        return {"instancesSet": {"items": [{"instanceId": f"i-{n:017x}"}]}, "filterSet": {}}, None, "ec2.amazonaws.com"
    if name in ("PutLogEvents", "CreateLogStream", "DescribeLogGroups"):
        return {"logGroupName": f"/aws/lambda/fn-{n % 30}", "logStreamName": f"2024/03/14/[$LATEST]{n:032x}"}, None, "logs.amazonaws.com"
    if name in ("GetParameter", "GetParameters", "PutParameter"):
        return {"name": f"/app/config/{n % 50}", "withDecryption": bool(n % 2)}, None, "ssm.amazonaws.com"
    if name in ("DescribeDBInstances", "StopDBInstance"):
        return {"dBInstanceIdentifier": f"db-{n % 5}"}, None, "rds.amazonaws.com"
    if name in ("GetSecretValue",):
        return {"secretId": f"arn:aws:secretsmanager:{region}:{account}:secret:app/{n % 20}-AbCdEf"}, None, "secretsmanager.amazonaws.com"
    if name in ("SendMessage", "ReceiveMessage"):
        return {"queueUrl": f"https://sqs.{region}.amazonaws.com/{account}/q-{n % 10}"}, None, "sqs.amazonaws.com"
    if name in ("Publish",):
        return {"topicArn": f"arn:aws:sns:{region}:{account}:topic-{n % 10}"}, None, "sns.amazonaws.com"
    if name in ("GetItem", "PutItem", "Query"):
        return {"tableName": f"table-{n % 10}", "key": {"pk": {"S": f"user#{n}"}}}, None, "dynamodb.amazonaws.com"
    if name in ("LookupEvents", "DescribeTrails"):
        return None, None, "cloudtrail.amazonaws.com"
    if name in ("ConsoleLogin",):
        return None, {"ConsoleLogin": "Success"}, "signin.amazonaws.com"
    return None, None, "ec2.amazonaws.com"


EVENT_NAMES = (
    "GetObject", "PutObject", "HeadObject", "DeleteObject", "PutBucketPolicy", "ListBuckets", "GetBucketAcl",
    "GetBucketLocation", "ListObjects", "Decrypt", "Encrypt", "GenerateDataKey", "AssumeRole", "GetCallerIdentity",
    "GetSessionToken", "TagRole", "TagUser", "ListUsers", "ListRoles", "GetUser", "GetRole", "ListAttachedRolePolicies",
    "CreateAccessKey", "AttachRolePolicy", "TagResource", "UpdateFunctionConfiguration", "Invoke", "GetFunction",
    "PutFunctionConcurrency", "DescribeInstances", "RunInstances", "StopInstances", "DescribeSecurityGroups",
    "AuthorizeSecurityGroupIngress", "DescribeVolumes", "PutLogEvents", "CreateLogStream", "DescribeLogGroups",
    "GetParameter", "GetParameters", "PutParameter", "DescribeDBInstances", "StopDBInstance", "GetSecretValue",
    "SendMessage", "Publish", "GetItem",
)  # fmt: skip
WEIGHTS = [30 if n in ("GetObject", "Decrypt", "AssumeRole", "PutLogEvents", "GetParameter") else 3 for n in EVENT_NAMES]


def _identity(rng: random.Random, account: str) -> tuple[dict, str]:
    roll = rng.random()
    if roll < 0.62:
        role, session = f"role-{rng.randrange(12)}", f"session-{rng.randrange(800)}"
        return {
            "type": "AssumedRole", "principalId": f"AROA{rng.randrange(12):016d}:{session}",
            "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{session}", "accountId": account,
            "accessKeyId": f"ASIA{rng.randrange(20000):016d}",
            "sessionContext": {
                "sessionIssuer": {"type": "Role", "principalId": f"AROA{rng.randrange(12):016d}",
                                  "arn": f"arn:aws:iam::{account}:role/{role}", "accountId": account, "userName": role},
                "webIdFederationData": {},
                "attributes": {"creationDate": "2024-03-14T00:00:00Z", "mfaAuthenticated": rng.choice(["false", "true"])},
            },
        }, "AwsApiCall"  # fmt: skip
    if roll < 0.84:
        user = f"user-{rng.randrange(200)}"
        return {"type": "IAMUser", "principalId": f"AIDA{rng.randrange(200):016d}", "arn": f"arn:aws:iam::{account}:user/{user}",
                "accountId": account, "accessKeyId": f"AKIA{rng.randrange(400):016d}", "userName": user}, "AwsApiCall"  # fmt: skip
    if roll < 0.97:
        return {"type": "AWSService", "invokedBy": rng.choice(["lambda.amazonaws.com", "ec2.amazonaws.com", "cloudtrail.amazonaws.com"])}, "AwsServiceEvent" if rng.random() < 0.08 else "AwsApiCall"
    if roll < 0.985:
        return {"type": "Root", "principalId": account, "arn": f"arn:aws:iam::{account}:root", "accountId": account}, "AwsApiCall"
    return {"type": "AWSAccount", "principalId": f"AIDA{rng.getrandbits(64):016x}", "accountId": rng.choice(ACCOUNTS)}, "AwsApiCall"


def _record(rng: random.Random, when: pd.Timestamp, account: str, region: str) -> dict:
    name = rng.choices(EVENT_NAMES, WEIGHTS)[0]
    params, response, source = _params(name, rng, account, region)
    identity, event_type = _identity(rng, account)
    rec: dict[str, object] = {
        "eventVersion": "1.08", "userIdentity": identity, "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": source, "eventName": name, "awsRegion": region,
        "sourceIPAddress": f"{rng.randrange(1, 255)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}" if rng.random() < 0.3 else f"10.0.{rng.randrange(3)}.{rng.randrange(100)}",
        "userAgent": rng.choice(AGENTS), "requestParameters": params, "responseElements": response,
        "requestID": f"{rng.getrandbits(128):032x}", "eventID": f"{rng.getrandbits(128):032x}",
        "readOnly": name.startswith(("Get", "List", "Describe", "Head", "Lookup")), "eventType": event_type,
        "managementEvent": source != "s3.amazonaws.com" or name not in ("GetObject", "PutObject", "HeadObject", "DeleteObject"),
        "recipientAccountId": account, "eventCategory": "Management",
    }  # fmt: skip
    if not rec["managementEvent"]:
        rec["eventCategory"] = "Data"
        rec["resources"] = [{"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::bucket/{rng.randrange(1000)}"}]
    if rng.random() < 0.05:
        rec["errorCode"] = rng.choice(["AccessDenied", "ThrottlingException", "NoSuchKey", "ResourceNotFoundException"])
        rec["errorMessage"] = f"User is not authorized to perform {name} on resource {rng.randrange(50000)}"
    if rng.random() < 0.02:
        rec["tlsDetails"] = {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256", "clientProvidedHostHeader": f"{source}"}
    return rec


def generate(out: Path, events: int, *, seed: int = 42, days: float = 1.0, per_file: tuple[int, int] = (200, 2000),
             start: str = "2024-03-01T00:00:00Z") -> dict[str, int]:
    """Write ``events`` records under ``out``; returns counts. Byte-identical for the same arguments."""
    rng = random.Random(seed)
    origin = pd.Timestamp(start)
    span = pd.Timedelta(days=days)
    sizes: list[int] = []
    while sum(sizes) < events:
        sizes.append(min(rng.randint(*per_file), events - sum(sizes)))
    files = len(sizes)
    written = 0
    for number, size in enumerate(sizes):
        account = ACCOUNTS[number % len(ACCOUNTS)]
        region = REGIONS[(number // len(ACCOUNTS)) % len(REGIONS)]
        delivered = origin + span * (number + 1) / files
        batch_start = delivered - pd.Timedelta(minutes=5)
        recs = [_record(rng, batch_start + pd.Timedelta(seconds=rng.randrange(280)), account, region) for _ in range(size)]
        folder = out / "AWSLogs" / account / "CloudTrail" / region / delivered.strftime("%Y/%m/%d")
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{account}_CloudTrail_{region}_{delivered.strftime('%Y%m%dT%H%MZ')}_{rng.getrandbits(64):016X}.json.gz"
        body = json.dumps({"Records": recs}, separators=(",", ":")).encode()
        (folder / name).write_bytes(gzip.compress(body, compresslevel=6, mtime=0))
        written += size
    return {"files": files, "events": written}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("events", type=int)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--days", type=float, default=1.0)
    parser.add_argument("--per-file", type=int, nargs=2, default=(200, 2000))
    args = parser.parse_args()
    print(generate(args.out, args.events, seed=args.seed, days=args.days, per_file=tuple(args.per_file)))


if __name__ == "__main__":
    main()
