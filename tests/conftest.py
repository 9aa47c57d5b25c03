"""Shared fixtures: small, generic evidence sets written in CloudTrail's own layout, and a moto server."""

from __future__ import annotations

import os

if os.environ.get("FORENSICS_CTDECODE_BUILD"):  # bench/ctdecode_asan.sh: the sanitizer build of the C decoder
    import forensics

    forensics.__path__.insert(0, os.environ["FORENSICS_CTDECODE_BUILD"])

import datetime as dt
import logging
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from cloudtrail_builders import assumed_role, iam_user, record, write_log

if TYPE_CHECKING:
    from botocore.client import BaseClient


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


# --------------------------------------------------------------------------- a real moto server


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """The URL of a moto server in this process, on 127.0.0.1 and a free port, for the whole session.

    Started on first use and stopped through its own handle. Tests that need an empty
    server use :func:`moto_url`.
    """
    from moto.server import ThreadedMotoServer  # imported here: only the tests that use it pay for moto

    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def moto_url(moto_server: str) -> str:
    """The URL of the moto server, emptied first: nothing an earlier test made is left."""
    request = urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST")
    urllib.request.urlopen(request, timeout=10).close()
    return moto_server


@pytest.fixture
def cloudwatch(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> BaseClient:
    """A CloudWatch client of the empty moto server, with fake credentials and no instance metadata."""
    import boto3

    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return boto3.client("cloudwatch", region_name="us-east-1", endpoint_url=moto_url,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


@pytest.fixture
def put_series(cloudwatch: BaseClient) -> Callable[[str, str, list[dict[str, str]], dt.datetime, list[float]], None]:
    """``put_series(namespace, metric, dimensions, start, values)`` writes one value a minute from ``start``."""

    def put(namespace: str, metric: str, dims: list[dict[str, str]], start: dt.datetime, values: list[float]) -> None:
        data = [{"MetricName": metric, "Dimensions": dims, "Timestamp": start + dt.timedelta(minutes=i), "Value": v}
                for i, v in enumerate(values)]
        cloudwatch.put_metric_data(Namespace=namespace, MetricData=data)

    return put
