"""Reading the S3 delivery layout: kinds of file, accounts and regions, delivery times, pruning."""

from __future__ import annotations

import pandas as pd
import pytest

from forensics.layout import DELIVERY_SKEW, describe, may_hold

LOG = "AWSLogs/012345678901/CloudTrail/eu-west-1/2024/03/14/012345678901_CloudTrail_eu-west-1_20240314T0215Z_AbCd1234EfGh5678.json.gz"


def test_log_file_in_the_delivery_layout():
    info = describe(LOG)
    assert (info.kind, info.account, info.region, info.organization) == ("log", "012345678901", "eu-west-1", None)
    assert info.delivered_from == pd.Timestamp("2024-03-14T02:15:00Z")
    assert info.delivered_to == pd.Timestamp("2024-03-14T02:16:00Z")


def test_organization_trail_and_prefix():
    info = describe("my/prefix/AWSLogs/o-aa11bb22cc/012345678901/CloudTrail/us-east-1/2024/03/14/x.json.gz")
    assert (info.organization, info.account, info.region) == ("o-aa11bb22cc", "012345678901", "us-east-1")
    assert info.delivered_from == pd.Timestamp("2024-03-14T00:00:00Z")  # no stamp in the name: the whole day
    assert info.delivered_to == pd.Timestamp("2024-03-15T00:00:00Z")


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("AWSLogs/1/CloudTrail-Digest/us-east-1/2024/03/14/1_CloudTrail-Digest_us-east-1_t_us-east-1_20240314T030000Z.json.gz", "digest"),
        ("AWSLogs/1/CloudTrail-Insight/us-east-1/2024/03/14/x.json.gz", "insight"),
        ("AWSLogs/1/CloudTrail/us-east-1/2024/03/14/.DS_Store", "other"),
        ("AWSLogs/1/CloudTrail/us-east-1/2024/03/14/._x.json.gz", "other"),
        ("notes.txt", "other"),
        ("export.jsonl", "log"),
        ("export.ndjson.gz", "log"),
        ("trail.JSON", "log"),
    ],
)
def test_kinds(path, kind):
    assert describe(path).kind == kind


def test_digest_names_carry_seconds():
    name = "AWSLogs/012345678901/CloudTrail-Digest/us-east-1/2024/03/14/012345678901_CloudTrail-Digest_us-east-1_my_trail.v2_us-east-1_20240314T030512Z.json.gz"
    assert describe(name).delivered_from == pd.Timestamp("2024-03-14T03:05:12Z")


def test_impossible_dates_in_paths_give_no_time():
    info = describe("AWSLogs/1/CloudTrail/us-east-1/2024/02/30/x.json.gz")
    assert info.delivered_from is None and may_hold(info, pd.Timestamp("2020-01-01T00:00:00Z"), None, pd.Timedelta(0))


def test_may_hold_uses_the_margin_after_and_the_skew_before():
    info = describe(LOG)  # delivered 02:15
    start, end = pd.Timestamp("2024-03-14T01:00:00Z"), pd.Timestamp("2024-03-14T02:00:00Z")
    assert not may_hold(info, start, end, pd.Timedelta(minutes=10))
    assert may_hold(info, start, end, pd.Timedelta(minutes=15))
    late_start = pd.Timestamp("2024-03-14T02:16:00Z") + DELIVERY_SKEW
    assert may_hold(info, late_start, None, pd.Timedelta(0))
    assert not may_hold(info, late_start + pd.Timedelta(seconds=1), None, pd.Timedelta(0))
    assert may_hold(describe("loose.json"), start, end, pd.Timedelta(0))
