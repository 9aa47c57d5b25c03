"""Write records the way CloudTrail delivers them to S3.

Layout: ``AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<file>``, where ``<file>`` is
``<account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<16 letters and digits>.json.gz``.

* Each region's events are batched into delivery files of about five minutes. An event may
  arrive late and land in a later batch. A file is named (and foldered) by its delivery time,
  one to ten minutes after the end of its batch, so the name's time is never before an event it
  holds.
* Events inside a file are in no particular order ("CloudTrail log files aren't an ordered
  stack trace").
* A few events are delivered twice, in two files of their region, with the same ``eventID``.
* Each file is one compact line ``{"Records":[...]}``, gzipped with ``mtime=0`` so the bytes
  depend only on the seed.
"""

from __future__ import annotations

import gzip
import json
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from forensics.scenarios.identities import JSON
from forensics.scenarios.ids import Ids
from forensics.scenarios.times import utc


@dataclass(frozen=True)
class DeliveredFile:
    """One log file written: its path relative to the output folder and what it holds."""

    path: str
    region: str
    delivered: datetime
    event_ids: tuple[str, ...]


@dataclass(frozen=True)
class Duplicate:
    """An event delivered in more than one file."""

    event_id: str
    files: tuple[str, ...]


@dataclass(frozen=True)
class Delivery:
    """What :func:`write_trail` wrote."""

    files: tuple[DeliveredFile, ...]
    duplicates: tuple[Duplicate, ...]


def log_key(account: str, region: str, delivered: datetime, unique: str) -> str:
    """The S3 key CloudTrail gives a log file delivered at ``delivered``."""
    stamp = delivered.strftime("%Y%m%dT%H%MZ")
    name = f"{account}_CloudTrail_{region}_{stamp}_{unique}.json.gz"
    return f"AWSLogs/{account}/CloudTrail/{region}/{delivered:%Y/%m/%d}/{name}"


def encode(records: list[JSON]) -> bytes:
    """A log file's bytes: one compact JSON line, gzipped reproducibly."""
    text = json.dumps({"Records": records}, separators=(",", ":"), ensure_ascii=False)
    return gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)


def _batches(records: list[JSON], rng: random.Random, batch: timedelta) -> list[tuple[datetime, list[JSON]]]:
    """Group one region's records into delivery batches keyed by the batch's end."""
    groups: dict[datetime, list[JSON]] = defaultdict(list)
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    for record in sorted(records, key=lambda r: (r["eventTime"], r["eventID"])):
        lateness = (
            timedelta(seconds=rng.randrange(0, 90))
            if rng.random() < 0.97
            else batch + timedelta(seconds=rng.randrange(0, 120))
        )
        arrival = utc(record["eventTime"]) + lateness
        end = arrival - (arrival - epoch) % batch + batch
        groups[end].append(record)
    return sorted(groups.items())


def write_trail(
    records: list[JSON],
    out: Path,
    account: str,
    rng: random.Random,
    *,
    batch_minutes: int = 5,
    duplicate_rate: float = 0.002,
) -> Delivery:
    """Write ``records`` under ``out`` in the S3 delivery layout.

    Parameters
    ----------
    records
        CloudTrail records (any order; each has ``awsRegion``, ``eventTime`` and ``eventID``).
    out
        Folder that receives ``AWSLogs/...``.
    account
        Account ID in the key (kept as a string, leading zeros and all).
    rng
        Source of delivery delays, file names, in-file order and duplicates.
    batch_minutes
        Length of a delivery batch.
    duplicate_rate
        Share of events delivered twice; at least one when the rate is positive and a region has
        two or more files.

    Returns
    -------
    Delivery
        The files written and the duplicated events.
    """
    ids = Ids(rng)
    by_region: dict[str, list[JSON]] = defaultdict(list)
    for record in records:
        by_region[record["awsRegion"]].append(record)
    planned: list[tuple[str, datetime, list[JSON]]] = []
    for region in sorted(by_region):
        for end, batch in _batches(by_region[region], rng, timedelta(minutes=batch_minutes)):
            delivered = end + timedelta(seconds=rng.randrange(60, 600))
            planned.append((region, delivered, batch))

    # Duplicates: an event of a file is delivered again in the next file of its region.
    follows = {
        i: j
        for i, j in zip(range(len(planned)), range(1, len(planned)), strict=False)
        if planned[i][0] == planned[j][0]
    }
    candidates = [(i, record) for i in follows for record in planned[i][2]]
    count = min(len(candidates), max(1, round(len(records) * duplicate_rate))) if duplicate_rate > 0 else 0
    extra: dict[int, list[JSON]] = defaultdict(list)
    twice: list[tuple[str, int, int]] = []
    for i, record in rng.sample(candidates, count):
        extra[follows[i]].append(record)
        twice.append((record["eventID"], i, follows[i]))

    files: list[DeliveredFile] = []
    for i, (region, delivered, batch) in enumerate(planned):
        content = batch + extra[i]
        rng.shuffle(content)
        key = log_key(account, region, delivered, ids.alnum(16))
        path = out / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(encode(content))
        files.append(DeliveredFile(key, region, delivered, tuple(r["eventID"] for r in content)))
    duplicates = tuple(
        sorted((Duplicate(e, (files[a].path, files[b].path)) for e, a, b in twice), key=lambda d: d.event_id)
    )
    return Delivery(tuple(files), duplicates)
