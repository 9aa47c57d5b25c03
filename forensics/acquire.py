"""Acquire a window of a trail from S3 into a local evidence folder, with a chain-of-custody manifest.

>>> from forensics.acquire import acquire
>>> result = acquire("s3://acme-trail/audit", "case-42/", start="2024-03-14T00:00:00Z",
...                  end="2024-03-15T00:00:00Z")                            # doctest: +SKIP
>>> result.ok, result.objects["status"].value_counts()                    # doctest: +SKIP

The log objects whose delivery time can hold the window, and the digest objects that
cover them (delivered up to :data:`DIGEST_MARGIN` later), are copied to ``out_dir/<key>``:
the bucket's key layout, prefix included, as ``aws s3 sync`` would leave it, so
:func:`forensics.load_cloudtrail` and :func:`forensics.integrity.validate_trail` read the
folder directly. Listing and pruning are those of :mod:`forensics.s3trail`.

Two files describe the evidence:

``manifest.json``
    Per object: bucket, key, ``VersionId``, ``ETag``, size, ``LastModified``, user
    metadata (a digest's signature lives there), the SHA-256 of the bytes as received,
    the local path, when and by whom it was acquired, and the whole ``GetObject``
    response headers. Per run: the acquiring principal (STS ``GetCallerIdentity``), tool
    and library versions, start and end time, the window, the counts and every problem.
``object-metadata.json``
    Each digest key -> its ``head-object`` response (what the offline validator reads:
    ``validate_trail(folder, object_metadata="object-metadata.json", ...)``).

Evidence files are written once, read-only (mode ``0o444``), through a temporary file
and a hard link, so a file is complete or absent and is never replaced. Running again
resumes: an object whose local file still has the size and SHA-256 the manifest
recorded, with an unchanged ``ETag``, is not downloaded again; a local file without such
a record is checked against a fresh download; a local file that differs from the object
in S3 is left alone and reported as a ``conflict``. Keys that would leave ``out_dir``
(``..``, empty segments) are ``rejected``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import platform
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import boto3
import botocore
import pandas as pd
from botocore.exceptions import BotoCoreError, ClientError

from forensics import layout
from forensics.cloudtrail import DELIVERY_MARGIN
from forensics.errors import SourceError, WindowError
from forensics.s3trail import (
    DIGEST_FOLDER,
    LOG_FOLDER,
    S3Object,
    client_for,
    describe_error,
    list_trail,
    split_uri,
    worker_count,
)
from forensics.window import TimeLike, parse_bounds

#: File names of the manifest and of the digests' head-object responses, in ``out_dir``.
MANIFEST = "manifest.json"
OBJECT_METADATA = "object-metadata.json"
#: Format tag of the manifest.
MANIFEST_FORMAT = "forensics-acquisition/1"
#: Digests delivered up to this long after the last log of the window are acquired (they cover it).
DIGEST_MARGIN = pd.Timedelta(hours=2)
#: Mode of every evidence file.
READ_ONLY = 0o444
#: Object statuses of one run.
STATUSES: dict[str, str] = {
    "downloaded": "copied in this run",
    "present": "already in the folder, identical to the object in S3 (not downloaded again)",
    "conflict": "the local file differs from the object in S3; left untouched",
    "failed": "could not be downloaded or written",
    "rejected": "its key would leave the evidence folder; not written",
}
OBJECT_COLUMNS: tuple[str, ...] = ("key", "kind", "status", "reason", "size", "sha256", "path")
_GOOD = ("downloaded", "present")
_GET_SKIPPED = ("Body", "ResponseMetadata")


@dataclass(frozen=True)
class AcquisitionResult:
    """What one acquisition run did.

    Attributes
    ----------
    source
        The ``s3://`` URI acquired from.
    out_dir
        The evidence folder.
    manifest, object_metadata
        Paths of ``manifest.json`` and ``object-metadata.json``.
    objects
        One row per object of the window: ``key``, ``kind`` (``log`` or ``digest``),
        ``status`` (see :data:`STATUSES`), ``reason``, ``size``, ``sha256`` (of the local
        file), ``path``.
    gaps
        Locations that could not be listed (``location``, ``reason``).
    principal
        STS ``GetCallerIdentity`` (``Account``, ``Arn``, ``UserId``) or ``{"error": ...}``.
    """

    source: str
    out_dir: Path
    manifest: Path
    object_metadata: Path
    objects: pd.DataFrame
    gaps: pd.DataFrame
    principal: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every object of the window is in the folder as it is in S3, and nothing was unlistable."""
        return bool(self.objects["status"].isin(_GOOD).all()) and self.gaps.empty

    def summary(self) -> pd.DataFrame:
        """Headline numbers as a two-column frame (``measure``, ``value``)."""
        counts = self.objects["status"].value_counts()
        rows: list[tuple[str, object]] = [
            ("source", self.source),
            ("evidence folder", str(self.out_dir)),
            ("acquired by", self.principal.get("Arn") or f"unknown ({self.principal.get('error', 'no answer')})"),
            *((f"objects {status}", int(counts.get(status, 0))) for status in STATUSES),
            ("bytes in the folder", int(self.objects.loc[self.objects["status"].isin(_GOOD), "size"].sum())),
            ("unlistable locations (gaps)", len(self.gaps)),
            ("manifest", str(self.manifest)),
            ("verdict", "complete" if self.ok else "INCOMPLETE: see objects and gaps"),
        ]
        return pd.DataFrame(rows, columns=["measure", "value"]).astype({"value": str})

    def __str__(self) -> str:
        return "\n".join(f"{m}: {v}" for m, v in self.summary().itertuples(index=False))


def acquire(
    uri: str,
    out_dir: str | os.PathLike[str],
    *,
    start: TimeLike,
    end: TimeLike,
    s3_client: Any = None,
    sts_client: Any = None,
    include_digests: bool = True,
    session: Any = None,
    delivery_margin: str | pd.Timedelta = DELIVERY_MARGIN,
    accounts: Sequence[str] | None = None,
    regions: Sequence[str] | None = None,
    workers: int | None = None,
) -> AcquisitionResult:
    """Copy the window's log and digest objects into ``out_dir`` and write the manifest.

    Parameters
    ----------
    uri
        ``s3://bucket[/prefix]`` of the trail (see :func:`forensics.s3trail.load_s3`).
    out_dir
        The evidence folder (created if needed); objects go to ``out_dir/<key>``.
    start, end
        The incident window (ISO 8601 with a zone, or aware datetimes).
    s3_client, sts_client
        boto3 clients; by default made from ``session`` or the default session.
    include_digests
        Also acquire the digests that cover the window's logs (needed to validate them).
    session
        A boto3 session for the default clients.
    delivery_margin
        How long after ``end`` a log may have been delivered and still hold window events.
    accounts, regions
        Only these accounts and regions; any of them not found is a gap.
    workers
        Threads listing and downloading.

    Returns
    -------
    AcquisitionResult

    Raises
    ------
    SourceError
        If ``uri`` is not an ``s3://`` URI or ``out_dir`` is not a folder.
    WindowError
        If a time is missing, naive, invalid, or ``start`` is after ``end``.
    """
    lo, hi = parse_bounds(start, end)
    if lo is None or hi is None:
        raise WindowError("an acquisition needs both start and end")
    margin = pd.Timedelta(delivery_margin)
    bucket, _ = split_uri(uri)
    out = _evidence_folder(out_dir)
    previous = read_manifest(out)  # before any request: an unreadable manifest stops the run
    count = worker_count(workers)
    s3 = s3_client if s3_client is not None else client_for(session, count)
    sts = sts_client if sts_client is not None else (session if session is not None else boto3.Session()).client("sts")
    started = _now()
    principal = caller_identity(sts)
    windows = {LOG_FOLDER: (lo - layout.DELIVERY_SKEW, hi + margin)}
    if include_digests:
        windows[DIGEST_FOLDER] = (lo - layout.DELIVERY_SKEW, hi + margin + DIGEST_MARGIN)
    known = {(e.get("bucket"), e.get("key")): e for e in previous.get("objects", []) if isinstance(e, dict)}
    copier = _Copier(out.resolve(), s3, known, principal.get("Arn"))
    with ThreadPoolExecutor(max_workers=count, thread_name_prefix="acquire") as pool:
        listing = list_trail(s3, uri, windows, accounts=accounts, regions=regions, pool=pool)
        chosen = [obj for obj in listing.objects if _wanted(obj, lo, hi, margin, include_digests)]
        done = list(pool.map(copier.copy, chosen))

    rows = [outcome.row for outcome in done]
    run = {
        "source": uri,
        "window": {"start": lo.isoformat(), "end": hi.isoformat(), "delivery_margin": str(margin),
                   "digest_margin": str(DIGEST_MARGIN) if include_digests else None},
        "started": started,
        "finished": _now(),
        "principal": principal,
        "tool": tool_versions(),
        "counts": {status: sum(r["status"] == status for r in rows) for status in STATUSES},
        "gaps": list(listing.gaps),
        "problems": [{k: r[k] for k in ("key", "status", "reason")} for r in rows if r["status"] not in _GOOD],
    }  # fmt: skip
    entries = known | {(bucket, outcome.row["key"]): outcome.entry for outcome in done if outcome.entry is not None}
    _write_records(out, bucket, entries, [*previous.get("runs", []), run])
    objects = pd.DataFrame(rows, columns=list(OBJECT_COLUMNS)).astype({"size": "Int64"})
    return AcquisitionResult(
        uri, out, out / MANIFEST, out / OBJECT_METADATA,
        objects.sort_values("key", kind="stable").reset_index(drop=True),
        pd.DataFrame(list(listing.gaps), columns=["location", "reason"]), principal,
    )  # fmt: skip


def _evidence_folder(out_dir: str | os.PathLike[str]) -> Path:
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SourceError(f"cannot create the evidence folder ({exc.strerror or exc})", os.fspath(out)) from None
    if not out.is_dir():
        raise SourceError("the evidence folder is not a folder", os.fspath(out))
    return out


def _write_records(out: Path, bucket: str, entries: dict[tuple[Any, Any], dict[str, Any]], runs: list[Any]) -> None:
    """Write ``manifest.json`` (every object and run) and ``object-metadata.json`` (this bucket's digests)."""
    ordered = [entries[k] for k in sorted(entries, key=lambda k: (str(k[0]), str(k[1])))]
    _write_json(out / MANIFEST, {"format": MANIFEST_FORMAT, "objects": ordered, "runs": runs})
    heads = {e["key"]: e["response"] for e in ordered if e.get("kind") == "digest" and e.get("bucket") == bucket}
    _write_json(out / OBJECT_METADATA, heads)


def _wanted(obj: S3Object, lo: pd.Timestamp, hi: pd.Timestamp, margin: pd.Timedelta, digests: bool) -> bool:
    info = layout.describe(obj.key)
    if info.kind == "log":
        return layout.may_hold(info, lo, hi, margin)
    if info.kind == "digest" and digests:
        return layout.may_hold(info, lo, hi, margin + DIGEST_MARGIN)
    return False


# ------------------------------------------------------------------------------ one object


@dataclass(frozen=True)
class _Outcome:
    row: dict[str, object]
    entry: dict[str, Any] | None = None


@dataclass(frozen=True)
class _Copier:
    """Copies objects into the evidence folder ``root`` (resolved), never replacing a file."""

    root: Path
    client: Any
    known: dict[tuple[Any, Any], dict[str, Any]]
    acquired_by: str | None

    def copy(self, obj: S3Object) -> _Outcome:
        kind = layout.describe(obj.key).kind
        path = local_path(self.root, obj.key)
        row: dict[str, object] = {"key": obj.key, "kind": kind, "size": obj.size, "sha256": None, "path": None}
        if path is None:
            return _Outcome(row | {"status": "rejected", "reason": "the key would leave the evidence folder"})
        row["path"] = os.fspath(path)
        if os.path.lexists(path):
            return self._check(obj, path, row)
        fetched = self._download(obj)
        if isinstance(fetched, str):
            return _Outcome(row | {"status": "failed", "reason": fetched})
        data, entry = fetched
        try:
            write_evidence(path, data)
        except FileExistsError:  # appeared meanwhile: compare instead
            return self._check(obj, path, row)
        except OSError as exc:
            return _Outcome(row | {"status": "failed", "reason": f"cannot write: {exc.strerror or exc}"})
        row |= {"status": "downloaded", "reason": "", "sha256": entry["sha256"], "size": len(data)}
        return _Outcome(row, entry)

    def _check(self, obj: S3Object, path: Path, row: dict[str, object]) -> _Outcome:
        """A local file exists: keep it when it is the object, report a conflict otherwise."""
        if path.is_symlink() or not path.is_file():
            return _Outcome(row | {"status": "conflict", "reason": "the local path exists and is not a regular file"})
        local_sha, local_size = file_sha256(path)
        row |= {"sha256": local_sha, "size": local_size}
        before = self.known.get((obj.bucket, obj.key))
        recorded = None if before is None else (before.get("sha256"), before.get("size"), before.get("etag"))
        if recorded == (local_sha, local_size, obj.etag) and obj.size in (None, local_size):
            return _Outcome(row | {"status": "present", "reason": "size, SHA-256 and ETag match the manifest"}, before)
        fetched = self._download(obj)
        if isinstance(fetched, str):
            reason = f"a local copy exists but cannot be checked: {fetched}"
            return _Outcome(row | {"status": "failed", "reason": reason})
        data, entry = fetched
        if entry["sha256"] != local_sha:
            reason = (f"the local file (SHA-256 {local_sha}) differs from the object in S3 (SHA-256 {entry['sha256']}, "
                      f"ETag {entry['etag']}); not overwritten")  # fmt: skip
            return _Outcome(row | {"status": "conflict", "reason": reason})
        if before is not None and before.get("sha256") == local_sha:
            entry = before | {"etag": entry["etag"], "version_id": entry["version_id"]}
        return _Outcome(row | {"status": "present", "reason": "identical to a fresh download (not rewritten)"}, entry)

    def _download(self, obj: S3Object) -> tuple[bytes, dict[str, Any]] | str:
        """The object's bytes and its manifest entry, or why it could not be downloaded."""
        try:
            response = self.client.get_object(Bucket=obj.bucket, Key=obj.key)
            data = response["Body"].read()
        except (ClientError, BotoCoreError) as exc:
            return f"cannot download: {describe_error(exc)}"
        head = {k: _plain(v) for k, v in response.items() if k not in _GET_SKIPPED}
        entry = {
            "bucket": obj.bucket,
            "key": obj.key,
            "kind": layout.describe(obj.key).kind,
            "version_id": response.get("VersionId"),
            "etag": response.get("ETag"),
            "size": len(data),
            "last_modified": head.get("LastModified"),
            "metadata": dict(response.get("Metadata", {})),
            "sha256": hashlib.sha256(data).hexdigest(),
            "path": obj.key,
            "acquired_at": _now(),
            "acquired_by": self.acquired_by,
            "response": head,
        }
        return data, entry


def local_path(root: Path, key: str) -> Path | None:
    """Where ``key`` goes under ``root`` (a resolved folder); ``None`` if it would leave it.

    Keys with ``..``, ``.`` or empty segments, backslashes or NUL are refused, and the
    result must stay under ``root`` once symbolic links in the folder are followed.
    """
    parts = key.split("/")
    if not key or any(p in ("", ".", "..") or "\\" in p or "\x00" in p for p in parts):
        return None
    path = root.joinpath(*parts)
    try:
        inside = path.resolve().is_relative_to(root)
    except (OSError, RuntimeError):
        return None
    return path if inside else None


def write_evidence(path: Path, data: bytes) -> None:
    """Write ``data`` to a new read-only file at ``path``; never replaces an existing file.

    Raises
    ------
    FileExistsError
        If ``path`` exists.
    OSError
        If the file cannot be written.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, READ_ONLY)
        try:
            os.link(temporary, path)  # fails when the path exists: evidence is never replaced
        except FileExistsError:
            raise
        except OSError:  # a file system without hard links
            if os.path.lexists(path):
                raise FileExistsError(path) from None
            os.rename(temporary, path)
    finally:
        if os.path.lexists(temporary):
            os.unlink(temporary)


def file_sha256(path: Path) -> tuple[str, int]:
    """SHA-256 (hex) and size of a file."""
    with open(path, "rb") as stream:
        digest = hashlib.file_digest(stream, "sha256")
        return digest.hexdigest(), stream.tell()


# ------------------------------------------------------------------------------ manifest


def read_manifest(out_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """The manifest of an evidence folder (``{}`` when there is none yet).

    Raises
    ------
    SourceError
        If the manifest exists but is not a JSON object of this format: it is evidence
        of earlier runs, so it is never silently replaced.
    """
    path = Path(out_dir) / MANIFEST
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        reason = f"the manifest cannot be read ({exc}); move it away to start a new acquisition"
        raise SourceError(reason, os.fspath(path)) from None
    if not isinstance(doc, dict) or doc.get("format") != MANIFEST_FORMAT:
        raise SourceError(f"not a {MANIFEST_FORMAT} manifest; use another folder", os.fspath(path))
    return doc


def caller_identity(sts: Any) -> dict[str, str]:
    """``Account``, ``Arn`` and ``UserId`` of the caller, or ``{"error": ...}``."""
    try:
        answer = sts.get_caller_identity()
    except (ClientError, BotoCoreError) as exc:
        return {"error": describe_error(exc)}
    return {k: str(answer[k]) for k in ("Account", "Arn", "UserId") if k in answer}


def tool_versions() -> dict[str, str]:
    """Versions of this package, Python and the AWS libraries."""
    try:
        own = importlib_metadata.version("aws-forensics")
    except importlib_metadata.PackageNotFoundError:
        from forensics import __version__ as own
    return {
        "forensics": own,
        "python": platform.python_version(),
        "boto3": boto3.__version__,
        "botocore": botocore.__version__,
        "pandas": pd.__version__,
        "platform": platform.platform(),
    }


def _write_json(path: Path, doc: object) -> None:
    """Replace ``path`` atomically with ``doc`` as JSON, read-only."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(doc, stream, indent=1, ensure_ascii=False, sort_keys=False)
            stream.write("\n")
        os.chmod(temporary, READ_ONLY)
        if path.exists():
            os.chmod(path, 0o644)  # Windows refuses to replace a read-only file
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def _plain(value: object) -> object:
    """A JSON-ready copy of a botocore response value (times in ISO 8601)."""
    if isinstance(value, dt.datetime):
        return pd.Timestamp(value).tz_convert("UTC").isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _now() -> str:
    return pd.Timestamp.now(tz="UTC").isoformat()
