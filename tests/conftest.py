"""Shared fixtures: small, generic evidence sets written in CloudTrail's own layout."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from cloudtrail_builders import assumed_role, iam_user, record, write_log


@dataclass(frozen=True)
class Trail:
    """A CloudTrail folder written for a test, with the incident window it was built around."""

    path: Path
    start: str
    end: str


@pytest.fixture
def small_trail(tmp_path: Path) -> Trail:
    """Eight records around the window 02:00-03:00 UTC on 2024-03-14, in one gzipped log file.

    Inside the window: alice reads twice (GetObject 02:10, 02:20), the DataPipelineRole
    session lists buckets twice (02:15, 02:45), mallory fails PutBucketPolicy twice with
    AccessDenied (02:30, 02:31). Outside: alice at 01:30 and 03:30.
    """
    mallory = iam_user("mallory", key="AKIAEXAMPLEMALLORY01")
    bob = assumed_role()
    denied = {"errorCode": "AccessDenied", "errorMessage": "User is not authorized to perform s3:PutBucketPolicy"}
    records = [
        record("e1", "2024-03-14T01:30:00Z"),
        record("e2", "2024-03-14T02:10:00Z"),
        record("e3", "2024-03-14T02:15:00Z", name="ListBuckets", identity=bob, readOnly=True),
        record("e4", "2024-03-14T02:20:00Z"),
        record("e5", "2024-03-14T02:30:00Z", name="PutBucketPolicy", identity=mallory, readOnly=False, **denied),
        record("e6", "2024-03-14T02:31:00Z", name="PutBucketPolicy", identity=mallory, readOnly=False, **denied),
        record("e7", "2024-03-14T02:45:00Z", name="ListBuckets", identity=bob, readOnly=True),
        record("e8", "2024-03-14T03:30:00Z"),
    ]
    root = tmp_path / "trail"
    write_log(root, "20240314T0335Z", records)
    return Trail(root, "2024-03-14T02:00:00Z", "2024-03-14T03:00:00Z")
