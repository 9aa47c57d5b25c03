"""Build realistic CloudTrail records and write them in the S3 delivery layout, for tests."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

ACCOUNT = "012345678901"  # leading zero on purpose: it must survive every step


def iam_user(name: str = "alice", key: str = "AKIAEXAMPLEALICE0001", account: str = ACCOUNT) -> dict:
    """userIdentity of an IAM user signing with a long-term access key."""
    return {
        "type": "IAMUser",
        "principalId": f"AIDA{name.upper():0<16}"[:21],
        "arn": f"arn:aws:iam::{account}:user/{name}",
        "accountId": account,
        "accessKeyId": key,
        "userName": name,
    }


def assumed_role(role: str = "DataPipelineRole", session: str = "etl", key: str = "ASIAEXAMPLESESSION01",
                 account: str = ACCOUNT, mfa: str = "false") -> dict:
    """userIdentity of a role session, with its session issuer."""
    return {
        "type": "AssumedRole",
        "principalId": f"AROAEXAMPLEROLEID:{session}",
        "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{session}",
        "accountId": account,
        "accessKeyId": key,
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": "AROAEXAMPLEROLEID",
                "arn": f"arn:aws:iam::{account}:role/{role}",
                "accountId": account,
                "userName": role,
            },
            "attributes": {"creationDate": "2024-03-14T01:00:00Z", "mfaAuthenticated": mfa},
        },
    }


def aws_service(service: str = "lambda.amazonaws.com") -> dict:
    """userIdentity of an AWS service acting on its own."""
    return {"type": "AWSService", "invokedBy": service}


def record(
    event_id: str,
    time: str,
    name: str = "GetObject",
    source: str = "s3.amazonaws.com",
    identity: dict | None = None,
    region: str = "us-east-1",
    **fields: object,
) -> dict:
    """One CloudTrail record in CloudTrail's key order; ``fields`` override or add keys."""
    rec: dict[str, object] = {
        "eventVersion": "1.08",
        "userIdentity": identity if identity is not None else iam_user(),
        "eventTime": time,
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": "198.51.100.7",
        "userAgent": "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0 exe/x86_64.ubuntu.22",
        "requestParameters": {"bucketName": "acme-data", "key": "reports/q1.csv", "Host": "acme-data.s3.amazonaws.com"},
        "responseElements": None,
        "requestID": f"REQ{event_id}",
        "eventID": event_id,
        "readOnly": True,
        "eventType": "AwsApiCall",
        "managementEvent": False,
        "recipientAccountId": ACCOUNT,
        "eventCategory": "Data",
    }
    rec.update(fields)
    return rec


def log_path(root: Path, delivered: str, region: str = "us-east-1", account: str = ACCOUNT, unique: str = "AbCdEfGh12345678",
             suffix: str = ".json.gz", org: str = "") -> Path:
    """Path of a log file delivered at ``delivered`` (``YYYYMMDDTHHMMZ``) in the S3 layout under ``root``.

    ``org`` (an ``o-...`` id) gives the organisation-trail layout ``AWSLogs/<org>/<account>/...``.
    """
    base = root / "AWSLogs" / org if org else root / "AWSLogs"
    folder = base / account / "CloudTrail" / region / delivered[:4] / delivered[4:6] / delivered[6:8]
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{account}_CloudTrail_{region}_{delivered}_{unique}{suffix}"


def write_log(root: Path, delivered: str, records: list, **path_args: str) -> Path:
    """Write one gzipped ``{"Records": [...]}`` file as CloudTrail delivers it; returns its path."""
    path = log_path(root, delivered, **path_args)
    body = json.dumps({"Records": records}, separators=(",", ":")).encode()
    path.write_bytes(gzip.compress(body, mtime=0))
    return path
