"""Real-shaped CloudTrail records and events frames for the detection tests.

Frames are built by the package's own loader (records written as a ``{"Records": [...]}``
file and read back with :func:`forensics.cloudtrail.load_cloudtrail`), so the tests see
exactly the dtypes and JSON text an analyst's frame has.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pandas as pd

from forensics import schema
from forensics.cloudtrail import load_cloudtrail

Record = dict[str, Any]

ACCOUNT = "111122223333"
_ids = itertools.count(1)


def identity(kind: str = "IAMUser", name: str = "alice", **extra: Any) -> dict[str, Any]:
    """A ``userIdentity`` block of the given type, shaped as CloudTrail writes it."""
    if kind == "Root":
        block = {"type": "Root", "principalId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:root", "accountId": ACCOUNT, "accessKeyId": "ASIAROOTROOTROOT0001"}
    elif kind == "AssumedRole":
        block = {
            "type": "AssumedRole",
            "principalId": f"AROAEXAMPLEROLEID:{name}",
            "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{name}/session",
            "accountId": ACCOUNT,
            "accessKeyId": "ASIAEXAMPLESESSION01",
            "sessionContext": {
                "sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLEROLEID", "arn": f"arn:aws:iam::{ACCOUNT}:role/{name}", "accountId": ACCOUNT, "userName": name},
                "attributes": {"creationDate": "2024-05-01T09:00:00Z", "mfaAuthenticated": "false"},
            },
        }
    elif kind == "AWSService":
        block = {"type": "AWSService", "invokedBy": name}
    else:
        block = {"type": "IAMUser", "principalId": "AIDAEXAMPLEUSERID01", "arn": f"arn:aws:iam::{ACCOUNT}:user/{name}", "accountId": ACCOUNT, "accessKeyId": "AKIAEXAMPLEKEY000001", "userName": name}
    block.update(extra)
    return block


def ct(event_name: str, source: str, *, time: str = "2024-05-01T10:00:00Z", who: dict[str, Any] | None = None, **fields: Any) -> Record:
    """One CloudTrail management-event record; ``fields`` override or add top-level keys."""
    n = next(_ids)
    record: Record = {
        "eventVersion": "1.09",
        "userIdentity": who if who is not None else identity(),
        "eventTime": time,
        "eventSource": source,
        "eventName": event_name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.7",
        "userAgent": "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0 exe/x86_64.ubuntu.22",
        "requestParameters": None,
        "responseElements": None,
        "requestID": f"req-{n:08d}",
        "eventID": f"ev-{n:08d}",
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": ACCOUNT,
        "eventCategory": "Management",
    }
    record.update(fields)
    return record


def load_records(records: list[Record], folder: Path) -> pd.DataFrame:
    """Write ``records`` as a CloudTrail file in ``folder`` and load it as an events frame."""
    path = folder / f"{ACCOUNT}_CloudTrail_us-east-1_20240501T1000Z_test{next(_ids)}.json"
    path.write_text(json.dumps({"Records": records}), encoding="utf-8")
    result = load_cloudtrail(path)
    assert result.report.files["status"].tolist() == ["loaded"], "fixture records must be clean CloudTrail"
    return schema.validate(result.events)
