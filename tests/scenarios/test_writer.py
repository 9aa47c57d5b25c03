"""The S3 delivery layout: names, delivery times, unordered files, duplicates, reproducible bytes."""

from __future__ import annotations

import gzip
import json
import random
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from forensics.scenarios.api import ec2
from forensics.scenarios.identities import IAMUser
from forensics.scenarios.ids import Ids
from forensics.scenarios.records import Actor, Trail
from forensics.scenarios.times import utc
from forensics.scenarios.writer import write_trail

from .reading import tree

ACCT = "012345678901"
KEY = re.compile(
    r"AWSLogs/(?P<acct>\d{12})/CloudTrail/(?P<region>[a-z0-9-]+)/(?P<y>\d{4})/(?P<m>\d\d)/(?P<d>\d\d)/"
    r"(?P=acct)_CloudTrail_(?P=region)_(?P<stamp>\d{8}T\d{4}Z)_[A-Za-z0-9]{16}\.json\.gz"
)


def _records(count: int = 240) -> list[dict]:
    """``count`` calls, one every 15 seconds from 10:00, alternating between two regions."""
    trail = Trail(ACCT, Ids(random.Random(5)))
    actor = Actor(IAMUser(ACCT, "bob.dev", "AIDAEXAMPLEBOBEXAMPLE", "AKIAEXAMPLEBOB000001"), "192.0.2.37", "aws-cli/2")
    start = utc("2024-03-12T10:00:00Z")
    for i in range(count):
        trail.record(
            start + timedelta(seconds=15 * i), actor, ec2.describe_instances(), region=("eu-west-1", "us-east-1")[i % 2]
        )
    return trail.records


def _read(out: Path) -> dict[str, list[dict]]:
    return {
        p.relative_to(out).as_posix(): json.loads(gzip.decompress(p.read_bytes()))["Records"]
        for p in sorted(out.rglob("*.json.gz"))
    }


def test_layout_and_delivery_times(tmp_path: Path) -> None:
    records = _records()
    delivery = write_trail(records, tmp_path, ACCT, random.Random(1))
    files = _read(tmp_path)
    assert set(files) == {f.path for f in delivery.files}
    for path, content in files.items():
        match = KEY.fullmatch(path)
        assert match, path
        assert match["acct"] == "012345678901"
        named = datetime.strptime(match["stamp"], "%Y%m%dT%H%MZ").replace(tzinfo=UTC)
        assert (match["y"], match["m"], match["d"]) == (f"{named:%Y}", f"{named:%m}", f"{named:%d}")
        assert {r["awsRegion"] for r in content} == {match["region"]}
        assert all(utc(r["eventTime"]) < named for r in content), path
    # one hour of events at 4 a minute per region: about 12 five-minute files each
    per_region = {region: sum(1 for f in delivery.files if f.region == region) for region in ("eu-west-1", "us-east-1")}
    assert all(11 <= n <= 14 for n in per_region.values()), per_region
    # every event delivered, some twice, none lost
    delivered = [r["eventID"] for content in files.values() for r in content]
    assert set(delivered) == {r["eventID"] for r in records}
    assert len(delivered) == len(records) + len(delivery.duplicates)


def test_files_are_single_line_unordered_and_gzipped_without_time(tmp_path: Path) -> None:
    write_trail(_records(), tmp_path, ACCT, random.Random(1))
    unordered = 0
    for path in tmp_path.rglob("*.json.gz"):
        raw = path.read_bytes()
        assert raw[4:8] == b"\x00\x00\x00\x00"  # gzip MTIME
        text = gzip.decompress(raw).decode("utf-8")
        assert "\n" not in text and text.startswith('{"Records":[')
        times = [r["eventTime"] for r in json.loads(text)["Records"]]
        unordered += times != sorted(times)
    assert unordered >= 5


def test_duplicates_are_in_two_files_of_their_region(tmp_path: Path) -> None:
    delivery = write_trail(_records(), tmp_path, ACCT, random.Random(1), duplicate_rate=0.02)
    files = _read(tmp_path)
    assert len(delivery.duplicates) == round(240 * 0.02)
    for duplicate in delivery.duplicates:
        holders = sorted(
            path for path, content in files.items() if any(r["eventID"] == duplicate.event_id for r in content)
        )
        assert holders == sorted(duplicate.files)
        copies = [r for path in holders for r in files[path] if r["eventID"] == duplicate.event_id]
        assert copies[0] == copies[1]
        assert len({KEY.fullmatch(p)["region"] for p in holders}) == 1  # type: ignore[index]


def test_no_duplicates_when_rate_is_zero(tmp_path: Path) -> None:
    delivery = write_trail(_records(), tmp_path, ACCT, random.Random(1), duplicate_rate=0)
    assert delivery.duplicates == ()
    assert sum(len(f.event_ids) for f in delivery.files) == 240


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        write_trail(_records(), tmp_path / name, ACCT, random.Random(seed))
    assert tree(tmp_path / "a") == tree(tmp_path / "b")
    assert tree(tmp_path / "a") != tree(tmp_path / "c")
