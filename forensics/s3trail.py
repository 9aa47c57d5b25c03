"""Load CloudTrail straight from its S3 bucket: list only what the window needs, decode like local files.

>>> from forensics.s3trail import load_s3
>>> events, report = load_s3("s3://acme-trail/audit", start="2024-03-14T02:00:00Z",
...                          end="2024-03-14T05:00:00Z")                         # doctest: +SKIP

``load_cloudtrail("s3://...")`` ends up here. The bucket is read in CloudTrail's delivery
layout, ``[prefix/]AWSLogs/[o-id/]<account>/CloudTrail/<region>/YYYY/MM/DD/``:

1. accounts are discovered with delimiter listings under ``AWSLogs/`` (and under every
   ``o-...`` organisation folder), then each account's ``CloudTrail*`` folders, then its
   regions;
2. for each account and region only the date folders that can hold the window's
   deliveries are listed (a day per request; a month per request for windows longer
   than :data:`MAX_LISTED_DAYS`), and keys whose delivery time cannot hold the window
   are pruned, exactly as :func:`forensics.layout.may_hold` prunes local files;
3. log objects are downloaded by a bounded thread pool and decoded by
   :func:`forensics.reader.decode_blobs`; digests and Insights files are listed as
   skipped, never downloaded;
4. :func:`forensics.cloudtrail.canonical` and :func:`forensics.cloudtrail.assemble`
   finish the load, so the frame and the report are those of a local load of the same
   objects (``source_file`` holds ``s3://bucket/key``).

A prefix without ``AWSLogs/`` below it (exports copied to S3, one object) is read like a
local folder: every object under it, pruned by the time in its name when it has one.

Whatever cannot be listed (``AccessDenied``, ``NoSuchBucket``, an account or region that
was asked for and is absent) is a row of the report's ``gaps``; an object that cannot be
downloaded is a ``failed`` file. Nothing unreadable looks like "no activity".

Only listing and downloading touch AWS, through an injected client or session; without
one a client is made from the default session, which honours ``AWS_PROFILE``,
``AWS_ENDPOINT_URL`` and the other standard settings.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import boto3
import pandas as pd
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from tqdm import tqdm

from forensics import layout
from forensics.cloudtrail import DELIVERY_MARGIN, PROGRESS_MIN_FILES, LoadResult, assemble, canonical
from forensics.errors import ParameterError, SourceError
from forensics.reader import Batch, FileOutcome, decode_blobs
from forensics.window import TimeLike, parse_bounds

#: Threads listing and downloading when ``workers`` is not given.
DEFAULT_WORKERS = 8
#: Windows of delivery dates up to this many days are listed day by day, longer ones month by month.
MAX_LISTED_DAYS = 62
#: Downloaded bytes decoded together (bounds the memory held by downloaded objects).
DECODE_CHUNK_BYTES = 64 << 20
#: The CloudTrail folders of an account: logs, digests and Insights.
LOG_FOLDER, DIGEST_FOLDER, INSIGHT_FOLDER = "CloudTrail", "CloudTrail-Digest", "CloudTrail-Insight"

_ACCOUNT = re.compile(r"^\d{12}$")
_SKIPPED = {"digest": "digest file (checked by forensics.validate_trail)", "insight": "CloudTrail Insights file"}

#: Delivery-time bounds (``None``: unbounded on that side).
Bounds = tuple[pd.Timestamp | None, pd.Timestamp | None]
#: Bounds per folder to list (:data:`LOG_FOLDER`, ...); folders not named are not listed.
Windows = dict[str, Bounds]


@dataclass(frozen=True)
class S3Object:
    """One listed object.

    Attributes
    ----------
    bucket, key
        Where it is.
    size, etag, last_modified
        As the listing gave them.
    """

    bucket: str
    key: str
    size: int | None = None
    etag: str | None = None
    last_modified: pd.Timestamp | None = None

    @property
    def uri(self) -> str:
        """``s3://bucket/key``."""
        return f"s3://{self.bucket}/{self.key}"


@dataclass(frozen=True)
class Listing:
    """What listing a trail found: objects (sorted by key) and the locations that could not be listed."""

    objects: tuple[S3Object, ...]
    gaps: tuple[dict[str, str], ...] = ()


def load_s3(
    uri: str,
    *,
    start: TimeLike | None = None,
    end: TimeLike | None = None,
    delivery_margin: str | pd.Timedelta = DELIVERY_MARGIN,
    s3_client: Any = None,
    session: Any = None,
    workers: int | None = None,
    accounts: Sequence[str] | None = None,
    regions: Sequence[str] | None = None,
    progress: bool | None = None,
) -> LoadResult:
    """Load the CloudTrail records of an S3 trail into the events frame.

    Parameters
    ----------
    uri
        ``s3://bucket[/prefix]``: the trail's bucket and key prefix (the part before
        ``AWSLogs/``), ``.../AWSLogs/o-xxxx`` for one organisation, or any prefix or
        object holding CloudTrail files outside the delivery layout.
    start, end
        The window (inclusive; ISO 8601 with a zone, or aware datetimes). Only date
        folders and objects whose delivery time can hold it are listed and read.
    delivery_margin
        How long after ``end`` an object may have been delivered and still hold events
        of the window.
    s3_client, session
        A boto3 S3 client, or a boto3 session to make one from; by default the default
        session (``AWS_PROFILE``, ``AWS_ENDPOINT_URL``, ... apply).
    workers
        Threads listing and downloading (default :data:`DEFAULT_WORKERS`).
    accounts, regions
        Read only these accounts and regions; any of them not found is a gap.
    progress
        Show a progress bar; ``None`` shows one for large loads.

    Returns
    -------
    LoadResult
        The frame follows :mod:`forensics.schema`; ``source_file`` holds ``s3://`` URIs.

    Raises
    ------
    SourceError
        If ``uri`` is not an ``s3://bucket[/prefix]`` URI.
    WindowError
        If ``start``/``end`` are naive, invalid or reversed.
    """
    split_uri(uri)  # a bad URI fails before any client is made
    lo, hi = parse_bounds(start, end)
    margin = pd.Timedelta(delivery_margin)
    count = worker_count(workers)
    client = s3_client if s3_client is not None else client_for(session, count)
    bounds = (None if lo is None else lo - layout.DELIVERY_SKEW, None if hi is None else hi + margin)
    windows = {LOG_FOLDER: bounds, DIGEST_FOLDER: bounds, INSIGHT_FOLDER: bounds}
    with ThreadPoolExecutor(max_workers=count, thread_name_prefix="s3trail") as pool:
        listing = list_trail(client, uri, windows, accounts=accounts, regions=regions, pool=pool)
        outcomes, to_read = _plan(listing.objects, lo, hi, margin)
        show = progress if progress is not None else len(to_read) >= PROGRESS_MIN_FILES
        batches, failed = _read(client, to_read, pool, count, show)
    table = canonical([table for b in batches for table in b.tables])
    outcomes = sorted(outcomes + failed + [o for b in batches for o in b.outcomes], key=lambda o: o.path)
    issues = [row for b in batches for row in b.issues]
    paths = [obj.uri for obj in to_read]
    return assemble(uri, table, paths, outcomes, issues, lo, hi, margin, gaps=list(listing.gaps))


def client_for(session: Any = None, workers: int = DEFAULT_WORKERS) -> Any:
    """An S3 client from ``session`` (or the default session) with a connection per worker."""
    maker = session if session is not None else boto3.Session()
    return maker.client("s3", config=Config(max_pool_connections=max(10, workers)))


def split_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` -> (``bucket``, ``some/prefix``).

    Raises
    ------
    SourceError
        If the text is not an ``s3://`` URI with a bucket.
    """
    if not uri.startswith("s3://"):
        raise SourceError("not an S3 URI; write it like s3://bucket/prefix", uri)
    bucket, _, prefix = uri[len("s3://") :].partition("/")
    if not bucket:
        raise SourceError("an S3 URI needs a bucket: s3://bucket[/prefix]", uri)
    return bucket, prefix.lstrip("/")


# ------------------------------------------------------------------------------ listing


def list_trail(
    client: Any,
    uri: str,
    windows: Windows,
    *,
    accounts: Sequence[str] | None = None,
    regions: Sequence[str] | None = None,
    pool: ThreadPoolExecutor | None = None,
) -> Listing:
    """List the objects of a trail that the given delivery windows need.

    Parameters
    ----------
    client
        A boto3 S3 client.
    uri
        ``s3://bucket[/prefix]`` (see :func:`load_s3`).
    windows
        Folder name (:data:`LOG_FOLDER`, :data:`DIGEST_FOLDER`, :data:`INSIGHT_FOLDER`)
        -> delivery-time bounds whose date folders are listed; folders not named are
        not listed. Outside the delivery layout every object under the prefix is listed.
    accounts, regions
        Only these; each one asked for and not found is a gap.
    pool
        Threads for the listing requests (one is made when ``None``).
    """
    bucket, prefix = split_uri(uri)
    accounts_, regions_ = _names(accounts, "accounts"), _names(regions, "regions")
    if pool is None:
        with ThreadPoolExecutor(max_workers=DEFAULT_WORKERS, thread_name_prefix="s3trail") as own:
            return _Lister(client, bucket, own, windows, accounts_, regions_).run(prefix)
    return _Lister(client, bucket, pool, windows, accounts_, regions_).run(prefix)


class _ListError(Exception):
    """A listing request failed: where, and why (the gap's reason)."""

    def __init__(self, prefix: str, reason: str) -> None:
        super().__init__(reason)
        self.prefix, self.reason = prefix, reason


@dataclass
class _Lister:
    """One listing of one bucket: discovery, then date folders, and the gaps found on the way."""

    client: Any
    bucket: str
    pool: ThreadPoolExecutor
    windows: Windows
    accounts: frozenset[str] | None
    regions: frozenset[str] | None
    gaps: list[dict[str, str]] = field(default_factory=list)

    def run(self, prefix: str) -> Listing:
        root = prefix if prefix == "" or prefix.endswith("/") else prefix + "/"
        parts = root.split("/")[:-1]
        try:
            if "AWSLogs" not in parts:
                tops = self._prefixes(root + "AWSLogs/")
                return self._finish(self._layout(root + "AWSLogs/", tops) if tops else self._flat(prefix))
            at = parts.index("AWSLogs")
            base, below = "/".join(parts[: at + 1]) + "/", parts[at + 1 :]
            if not below:
                return self._finish(self._layout(base, self._prefixes(base)))
            if len(below) == 1 and below[0].startswith("o-"):
                return self._finish(self._layout(base, [root]))
            return self._finish(self._flat(prefix))  # below an account: read whatever is there
        except _ListError as exc:
            self._gap(exc.prefix, exc.reason)
            return self._finish([])

    # discovery ------------------------------------------------------------------

    def _layout(self, base: str, tops: list[str]) -> list[S3Object]:
        """Objects of the window under ``base`` (``.../AWSLogs/``), whose top folders are ``tops``."""
        found: list[str] = []
        organizations: list[str] = []
        for top in tops:
            if _last(top).startswith("o-"):
                organizations.append(top)
                found += [p for p in self._prefixes(top) if _ACCOUNT.match(_last(p))]
            elif _ACCOUNT.match(_last(top)):
                found.append(top)
        if not found:
            self._gap(tops[0] if len(tops) == 1 else base, "no account folders found (wrong bucket or prefix?)")
            return []
        for missing in sorted((self.accounts or frozenset()) - {_last(p) for p in found}):
            where = organizations[0] if len(organizations) == 1 else base
            self._gap(f"{where}{missing}/", "account asked for is not in the bucket")
        chosen = [p for p in found if self.accounts is None or _last(p) in self.accounts]
        regions = [folder for group in self.pool.map(self._region_folders, chosen) for folder in group]
        periods = [folder + period for folder, bounds in regions for period in _periods(*bounds)]
        return [obj for group in self.pool.map(self._objects, periods) for obj in group]

    def _region_folders(self, account: str) -> list[tuple[str, Bounds]]:
        """Region folders of one account to list (``.../<folder>/<region>/``), with their delivery bounds."""
        try:
            present = {_last(p) for p in self._prefixes(account)}
        except _ListError as exc:
            self._gap(exc.prefix, exc.reason)
            return []
        if LOG_FOLDER in self.windows and LOG_FOLDER not in present:
            self._gap(f"{account}{LOG_FOLDER}/", "no CloudTrail log folder for this account")
        result: list[tuple[str, Bounds]] = []
        for folder in (f for f in self.windows if f in present):
            try:
                regions = {_last(p): p for p in self._prefixes(f"{account}{folder}/")}
            except _ListError as exc:
                self._gap(exc.prefix, exc.reason)
                continue
            if folder == LOG_FOLDER:
                for missing in sorted((self.regions or frozenset()) - set(regions)):
                    self._gap(f"{account}{folder}/{missing}/", "region asked for has no CloudTrail log folder")
            chosen = (p for r, p in sorted(regions.items()) if self.regions is None or r in self.regions)
            result += [(p, self.windows[folder]) for p in chosen]
        return result

    def _flat(self, prefix: str) -> list[S3Object]:
        """Every object under ``prefix`` (as a folder), or the one object it names."""
        folder = prefix if prefix == "" or prefix.endswith("/") else prefix + "/"
        objects = self._objects(folder)
        if not objects and folder != prefix:
            objects = [o for o in self._objects(prefix) if o.key == prefix]
        if not objects and not self.gaps:
            self._gap(folder, "no objects found (wrong bucket or prefix?)")
        return objects

    # requests -------------------------------------------------------------------

    def _objects(self, prefix: str) -> list[S3Object]:
        """Every object under ``prefix``; a failure is a gap."""
        try:
            pages = self._pages(prefix, None)
        except _ListError as exc:
            self._gap(exc.prefix, exc.reason)
            return []
        return [
            S3Object(self.bucket, item["Key"], item.get("Size"), item.get("ETag"), _time(item.get("LastModified")))
            for page in pages
            for item in page.get("Contents", [])
        ]

    def _prefixes(self, prefix: str) -> list[str]:
        """The folders right under ``prefix``; raises :class:`_ListError`."""
        return [p["Prefix"] for page in self._pages(prefix, "/") for p in page.get("CommonPrefixes", [])]

    def _pages(self, prefix: str, delimiter: str | None) -> list[dict[str, Any]]:
        args: dict[str, str] = {"Bucket": self.bucket, "Prefix": prefix}
        if delimiter:
            args["Delimiter"] = delimiter
        try:
            return list(self.client.get_paginator("list_objects_v2").paginate(**args))
        except (ClientError, BotoCoreError) as exc:
            raise _ListError(prefix, f"cannot list: {describe_error(exc)}") from None

    def _gap(self, prefix: str, reason: str) -> None:
        self.gaps.append({"location": f"s3://{self.bucket}/{prefix}", "reason": reason})

    def _finish(self, objects: Iterable[S3Object]) -> Listing:
        unique = {obj.key: obj for obj in objects}
        return Listing(tuple(unique[k] for k in sorted(unique)), tuple(sorted(self.gaps, key=lambda g: g["location"])))


def _last(prefix: str) -> str:
    """The last folder name of a prefix (``a/b/c/`` -> ``c``)."""
    return prefix.rstrip("/").rsplit("/", 1)[-1]


def _periods(lo: pd.Timestamp | None, hi: pd.Timestamp | None) -> list[str]:
    """Date-folder prefixes (``YYYY/MM/DD/`` or ``YYYY/MM/``) covering [lo, hi]; ``[""]`` when unbounded."""
    if lo is None or hi is None:
        return [""]
    days = pd.date_range(lo.floor("D"), hi.floor("D"), freq="D")
    if len(days) <= MAX_LISTED_DAYS:
        return [day.strftime("%Y/%m/%d/") for day in days]
    return sorted({day.strftime("%Y/%m/") for day in days})


def _names(values: Sequence[str] | None, what: str) -> frozenset[str] | None:
    if values is None:
        return None
    items = [values] if isinstance(values, str) else list(values)
    if not all(isinstance(v, str) and v for v in items):
        raise ParameterError(f"{what} must be non-empty strings (account IDs keep their leading zeros as text)")
    return frozenset(items)


def _time(value: object) -> pd.Timestamp | None:
    return None if value is None else pd.Timestamp(value).tz_convert("UTC")  # type: ignore[arg-type]


def describe_error(exc: Exception) -> str:
    """``Code: message`` of a botocore error, without internals."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code") or "error")
        message = str(error.get("Message") or "")
        return f"{code}: {message}" if message and message != code else code
    return type(exc).__name__


# ------------------------------------------------------------------------------ reading


def _plan(
    objects: Iterable[S3Object], lo: pd.Timestamp | None, hi: pd.Timestamp | None, margin: pd.Timedelta
) -> tuple[list[FileOutcome], list[S3Object]]:
    """Sort listed objects into outcomes (not read) and objects to read, as the local loader sorts files."""
    outcomes: list[FileOutcome] = []
    to_read: list[S3Object] = []
    for obj in objects:
        info = layout.describe(obj.key)
        if info.kind in ("digest", "insight"):
            outcomes.append(FileOutcome(obj.uri, info.kind, "skipped", _SKIPPED[info.kind], size=obj.size))
        elif info.kind == "other":
            outcomes.append(FileOutcome(obj.uri, "other", "ignored", "not a CloudTrail file name", size=obj.size))
        elif not layout.may_hold(info, lo, hi, margin):
            outcomes.append(FileOutcome(obj.uri, "log", "pruned", "delivered outside the window", size=obj.size))
        else:
            to_read.append(obj)
    return outcomes, to_read


def _read(
    client: Any, objects: list[S3Object], pool: ThreadPoolExecutor, workers: int, show: bool
) -> tuple[list[Batch], list[FileOutcome]]:
    """Download ``objects`` (numbered by position) and decode them in chunks."""
    batches: list[Batch] = []
    failed: list[FileOutcome] = []
    chunk: list[tuple[int, str, bytes]] = []
    size = 0
    with tqdm(total=len(objects), desc="CloudTrail objects", unit="object", disable=not show) as bar:
        for number, (obj, body) in enumerate(_fetch(client, objects, pool, in_flight=4 * workers)):
            bar.update(1)
            if isinstance(body, str):
                failed.append(FileOutcome(obj.uri, "log", "failed", f"cannot download: {body}", size=obj.size))
                continue
            chunk.append((number, obj.uri, body))
            size += len(body)
            if size >= DECODE_CHUNK_BYTES:
                batches.append(decode_blobs(chunk))
                chunk, size = [], 0
    batches.append(decode_blobs(chunk))
    return batches, failed


def _fetch(
    client: Any, objects: Sequence[S3Object], pool: ThreadPoolExecutor, in_flight: int
) -> Iterator[tuple[S3Object, bytes | str]]:
    """Download objects in parallel, yielding (object, bytes) in order; a failure gives its reason instead of bytes.

    At most ``in_flight`` downloads are pending at any time, so memory stays bounded.
    """
    def get(obj: S3Object) -> bytes | str:
        try:
            return client.get_object(Bucket=obj.bucket, Key=obj.key)["Body"].read()
        except (ClientError, BotoCoreError) as exc:
            return describe_error(exc)

    queue: deque[tuple[S3Object, Future[bytes | str]]] = deque()
    pending = iter(objects)
    for obj in islice(pending, max(1, in_flight)):
        queue.append((obj, pool.submit(get, obj)))
    while queue:
        obj, future = queue.popleft()
        following = next(pending, None)
        if following is not None:
            queue.append((following, pool.submit(get, following)))
        yield obj, future.result()


def worker_count(workers: int | None) -> int:
    """``workers`` checked, or :data:`DEFAULT_WORKERS` when ``None``."""
    if workers is None:
        return DEFAULT_WORKERS
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ParameterError(f"workers must be a positive integer, not {workers!r}")
    return workers

