"""The CloudTrail S3 delivery layout: what a key or path is, and when it was delivered.

Log files live under
``[prefix/]AWSLogs/[o-id/]<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<unique>.json.gz``;
digests under ``CloudTrail-Digest/`` and Insights under ``CloudTrail-Insight/``. The date
folders and the time in the name are the *delivery* time, not the event time: events are
delivered after they happen, usually within minutes but with no guarantee. Names are
parsed leniently (trail names and prefixes may contain ``_`` and ``.``); the content of a
file, not its name, finally decides what it is.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pandas as pd

#: File-name endings that may hold CloudTrail records.
EVENT_SUFFIXES: tuple[str, ...] = (".json.gz", ".json", ".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz", ".gz")

#: Files ``forensics acquire`` writes at the top of an evidence folder; never CloudTrail records.
ACQUISITION_FILES = frozenset({"manifest.json", "object-metadata.json"})

#: How long before the window a file may have been delivered and still hold window events
#: (clock skew between the event time and CloudTrail's delivery stamp).
DELIVERY_SKEW = pd.Timedelta(minutes=15)

_MINUTE = dt.timedelta(minutes=1)
_DAY = dt.timedelta(days=1)
_STAMP = re.compile(r"_(\d{8}T\d{4,6}Z)[_.]")
_DATE_DIRS = re.compile(r"(?:^|/)(\d{4})/(\d{2})/(\d{2})/")
_ACCOUNT_REGION = re.compile(r"(?:^|/)AWSLogs/(?:(o-[a-z0-9]+)/)?(\d{12})/CloudTrail[^/]*/([a-z0-9-]+)/")


@dataclass(frozen=True)
class PathInfo:
    """What a path in the delivery layout says about its file.

    Attributes
    ----------
    kind
        ``log``, ``digest``, ``insight`` or ``other``.
    account, region, organization
        From ``AWSLogs/[o-id/]<account>/CloudTrail/<region>/``, when present.
    delivered_from, delivered_to
        Bounds of the delivery time read from the name (to the minute) or, failing that,
        from the date folders (the whole day); ``None`` when the path has neither.
    """

    kind: str
    account: str | None = None
    region: str | None = None
    organization: str | None = None
    delivered_from: pd.Timestamp | None = None
    delivered_to: pd.Timestamp | None = None


def describe(path: str) -> PathInfo:
    """Classify a local path or S3 key (use ``/`` separators) by the delivery layout."""
    parts = path.split("/")
    name = parts[-1]
    if "CloudTrail-Digest" in parts:
        kind = "digest"
    elif "CloudTrail-Insight" in parts:
        kind = "insight"
    elif name.startswith(".") or not name.lower().endswith(EVENT_SUFFIXES) or (len(parts) == 1 and name in ACQUISITION_FILES):
        kind = "other"
    else:
        kind = "log"
    account = region = org = None
    m = _ACCOUNT_REGION.search(path)
    if m:
        org, account, region = m.group(1), m.group(2), m.group(3)
    lo, hi = _delivery_bounds(path, name)
    return PathInfo(kind, account, region, org, lo, hi)


def _delivery_bounds(path: str, name: str) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    stamp = _STAMP.search(name)
    if stamp:
        text = stamp.group(1)
        try:
            t = dt.datetime(
                int(text[0:4]), int(text[4:6]), int(text[6:8]), int(text[9:11]), int(text[11:13]),
                int(text[13:15]) if len(text) == 16 else 0, tzinfo=dt.timezone.utc,
            )  # fmt: skip
        except ValueError:
            t = None
        if t is not None:
            return pd.Timestamp(t), pd.Timestamp(t + _MINUTE)
    day = _DATE_DIRS.search(path)
    if day:
        try:
            d = dt.datetime(int(day.group(1)), int(day.group(2)), int(day.group(3)), tzinfo=dt.timezone.utc)
        except ValueError:
            return None, None
        return pd.Timestamp(d), pd.Timestamp(d + _DAY)
    return None, None


def may_hold(info: PathInfo, start: pd.Timestamp | None, end: pd.Timestamp | None, margin: pd.Timedelta) -> bool:
    """Whether a file delivered as ``info`` says can hold events between ``start`` and ``end``.

    A file delivered at time T holds events from about ``T - margin`` to ``T``, so it is
    needed when ``T >= start - DELIVERY_SKEW`` and ``T <= end + margin``. Files whose
    path carries no time are always needed.
    """
    if info.delivered_from is None or info.delivered_to is None:
        return True
    if end is not None and info.delivered_from > end + margin:
        return False
    if start is not None and info.delivered_to < start - DELIVERY_SKEW:
        return False
    return True
