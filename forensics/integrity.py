"""Is the CloudTrail evidence complete and unaltered? Digest chains, log hashes, gaps, tail.

>>> from forensics.integrity import validate_trail
>>> check = validate_trail("evidence/", public_keys="evidence/public-keys.json",
...                        object_metadata="evidence/digest-metadata.json",
...                        acquired_at="2024-03-15T09:00:00Z")     # doctest: +SKIP
>>> check.ok, check.chains                                         # doctest: +SKIP
>>> check.logs[check.logs.status != "valid"]                       # doctest: +SKIP

The walk follows the AWS CLI's ``validate-logs`` (every digest's signature, the chain
links, the SHA-256 of every log a valid digest lists) and adds what the CLI does not
check: log files that no valid digest references (planted), digests deleted at the
tail, the links cross-checked both ways, declared algorithms, the account in the digest
against its key, and gaps explained (or not) by the trail's own ``StopLogging``,
``DeleteTrail`` and ``UpdateTrail`` events. It works on a local copy (offline, with the
public keys and the digests' S3 metadata saved at acquisition) or live on S3.

The pieces: :mod:`forensics.digests` (names, fields, string-to-sign, public keys),
:mod:`forensics.trailstore` (the local copy, the bucket and CloudTrail's API: the only
AWS calls) and :mod:`forensics.digestchain` (the walk). This module holds the entry
point, the result and the verdict.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pandas as pd

from forensics.digestchain import (
    CONTROL_EVENTS,
    DELIVERY_SLACK,
    DIGEST_MARGIN,
    GAP_KINDS,
    STOP_EVENTS,
    TAIL_TOLERANCE,
    walk,
)
from forensics.digests import PublicKey, read_public_keys
from forensics.errors import IntegrityError, SourceError
from forensics.trailstore import CloudTrailApi, LocalStore, S3Store, Store, read_object_metadata
from forensics.window import TimeLike, parse_bounds, parse_time

__all__ = [
    "CONTROL_EVENTS",
    "DELIVERY_SLACK",
    "DIGEST_MARGIN",
    "DIGEST_STATUSES",
    "GAP_KINDS",
    "LOG_STATUSES",
    "STOP_EVENTS",
    "TAIL_TOLERANCE",
    "TrailValidation",
    "file_status",
    "validate_trail",
]

#: Digest statuses and what they mean.
DIGEST_STATUSES: dict[str, str] = {
    "valid": "signature verified with CloudTrail's public key, and its link to the predecessor holds",
    "invalid": "malformed, moved, wrongly signed, or a broken link (see reason)",
    "not-found": "a successor references it, but the object is absent",
    "unverifiable-offline": "no signature available offline: no object metadata and no valid successor",
}
#: Log file statuses and what they mean.
LOG_STATUSES: dict[str, str] = {
    "valid": "its SHA-256 matches the hash a valid digest recorded",
    "hash-mismatch": "its content differs from what the digest recorded (or it is not gzip / truncated)",
    "not-found": "a valid digest lists it, but the object is absent or unreadable",
    "unreferenced": "present, but no valid digest lists it: unverified (planted, or not yet digested)",
    "trailing-data": "the first gzip member matches the digest, but more data follows it",
}


# ------------------------------------------------------------------------------ result


@dataclass(frozen=True)
class TrailValidation:
    """The outcome of :func:`validate_trail`.

    Attributes
    ----------
    source
        The source as given (a folder or ``s3://bucket[/prefix]``).
    start, end, acquired_at
        The window and the acquisition time used (``None`` when not given).
    digests
        One row per digest: ``key``, ``status`` (see :data:`DIGEST_STATUSES`), ``reason``,
        ``chain`` (``account/region/trail``), account, region, trail, home region,
        ``backfill``, ``digestStartTime``/``digestEndTime``, ``log_files`` listed,
        ``signature_source`` (object metadata or a successor's ``previousDigestSignature``),
        ``link`` (state of the link to its predecessor), ``previous`` key and ``path``.
    logs
        One row per log file referenced or present: ``key``, ``status`` (see
        :data:`LOG_STATUSES`), ``reason``, account, region, ``delivered`` (from the
        name), the ``digest`` that lists it, ``sha256`` (of the inflated first member)
        and ``expected_sha256``, ``pending`` (unreferenced but delivered after the
        chain's newest digest, so possibly not digested yet) and ``path``.
    gaps
        Breaks in coverage: ``kind`` is ``chain-start`` (a starting digest: logging or
        validation was turned off or on), ``missing-digest`` or ``tail`` (the newest
        digest ends too early); ``explained`` says whether CloudTrail events from valid
        log files account for it, and ``events`` lists them.
    chains
        One row per chain (account x region x trail): counts per status, coverage, the
        number of chain starts and the ``tail`` check (``ok``; ``missing`` or
        ``explained`` when the newest digest ends too early, unexplained or explained
        by a ``StopLogging``-like event; ``unchecked`` without a reference time; ``n/a``
        for backfill chains), with the reference time used and where it came from.
    notes
        Things that limited the check (a key listing or trail status that failed, ...).
    """

    source: str
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    acquired_at: pd.Timestamp | None
    digests: pd.DataFrame
    logs: pd.DataFrame
    gaps: pd.DataFrame
    chains: pd.DataFrame
    notes: tuple[str, ...] = ()

    def problems(self) -> list[str]:
        """Why the evidence is not fully verified, one line per kind of problem (empty when ok)."""
        found: list[str] = []
        if self.chains.empty:
            found.append("no CloudTrail digest files found: nothing could be verified")
        digests = self.digests["status"].value_counts()
        found += [f"{digests[s]} digest(s) {s}" for s in DIGEST_STATUSES if s != "valid" and s in digests]
        logs = self.logs.loc[~self.logs["pending"].astype(bool), "status"].value_counts()
        found += [f"{logs[s]} log file(s) {s}" for s in LOG_STATUSES if s != "valid" and s in logs]
        gaps = self.gaps.loc[~self.gaps["explained"].astype(bool), "kind"].value_counts()
        found += [f"{gaps[k]} unexplained gap(s) of kind {k}" for k in GAP_KINDS if k in gaps]
        unchecked = int((self.chains["tail"] == "unchecked").sum())
        if unchecked:
            found.append(f"{unchecked} chain tail(s) unchecked: give acquired_at (or an end) to detect deleted newest digests")
        return found

    @property
    def ok(self) -> bool:
        """True when every digest and log verified, every gap is explained and every tail checked."""
        return not self.problems()

    def summary(self) -> pd.DataFrame:
        """Headline numbers as a two-column frame (``measure``, ``value``)."""
        rows: list[tuple[str, object]] = [("source", self.source)]
        rows += [("window", f"{_fmt(self.start)} to {_fmt(self.end)}"), ("acquired at", _fmt(self.acquired_at))]
        rows += [("chains", len(self.chains))]
        rows += [(f"digests {s}", int((self.digests["status"] == s).sum())) for s in DIGEST_STATUSES]
        rows += [(f"log files {s}", int((self.logs["status"] == s).sum())) for s in LOG_STATUSES]
        rows += [("log files pending (after the newest digest)", int(self.logs["pending"].astype(bool).sum()))]
        rows += [("gaps", len(self.gaps)), ("unexplained gaps", int((~self.gaps["explained"].astype(bool)).sum()))]
        rows += [("verdict", "VERIFIED" if self.ok else "NOT VERIFIED: " + "; ".join(self.problems()))]
        return pd.DataFrame(rows, columns=["measure", "value"]).astype({"value": str})

    def __str__(self) -> str:
        lines = [f"{m}: {v}" for m, v in self.summary().itertuples(index=False)]
        return "\n".join(lines + [f"note: {n}" for n in self.notes])


def file_status(result: TrailValidation) -> dict[str, str]:
    """Integrity status of every log file, keyed like the events frame's ``source_file``.

    Offline the key is the local path as :func:`forensics.load_cloudtrail` writes it
    for the same folder (``os.path.join`` of the folder as given and the relative
    path); online it is ``s3://bucket/key``. Map it onto events with
    ``events["source_file"].astype(str).map(file_status(result))``; files the validation
    did not see map to missing.
    """
    logs = result.logs
    return dict(zip(logs["path"].astype(str), logs["status"].astype(str)))


# ------------------------------------------------------------------------------ entry point


def validate_trail(
    source: str | os.PathLike[str],
    *,
    public_keys: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
    object_metadata: str | os.PathLike[str] | None = None,
    start: TimeLike | None = None,
    end: TimeLike | None = None,
    acquired_at: TimeLike | None = None,
    s3_client: Any = None,
    cloudtrail_client: Any = None,
) -> TrailValidation:
    """Validate the CloudTrail digest chains and log files of a trail's S3 layout.

    Parameters
    ----------
    source
        A local folder laid out as ``aws s3 sync`` leaves a trail's bucket or prefix
        (it holds ``AWSLogs/``), or ``s3://bucket[/prefix]`` to validate live.
    public_keys
        Path(s) of ``aws cloudtrail list-public-keys`` JSON output (``Value`` is base64
        text there). Required offline; online, given keys replace ``ListPublicKeys``.
    object_metadata
        Offline: path of a JSON object mapping each digest's S3 key to its ``aws s3api
        head-object`` response (the signature is ``Metadata.signature``). A digest
        without an entry is verified through its successor's
        ``previousDigestSignature``, or is ``unverifiable-offline``.
    start, end
        Window of delivery times (ISO 8601 with a zone, or aware datetimes): digests
        whose name time is in ``[start, end + DIGEST_MARGIN]`` and logs delivered in
        ``[start, end]`` are checked.
    acquired_at
        When the evidence was acquired; the newest digest of every chain must end
        within :data:`TAIL_TOLERANCE` of it (or of ``end``, if earlier). Online,
        ``GetTrailStatus``'s ``LatestDigestDeliveryTime`` is preferred, then this, then now.
    s3_client, cloudtrail_client
        boto3 clients for the online case (made from a default session when ``None``).
        A given CloudTrail client serves every region; by default one is made per region.

    Returns
    -------
    TrailValidation
        Frames per digest, per log file, per gap and per chain, and the verdict ``.ok``.

    Raises
    ------
    SourceError
        If the folder does not exist or the bucket cannot be listed.
    IntegrityError
        If the public keys or object metadata files cannot be read, or no public keys
        are given offline.
    WindowError
        If a time is naive, invalid, or ``start`` is after ``end``.
    """
    lo, hi = parse_bounds(start, end)
    acquired = None if acquired_at is None else parse_time(acquired_at, "acquired_at")
    text = os.fspath(source)
    keys = None if public_keys is None else _read_keys(public_keys)
    store: Store
    if text.startswith("s3://"):
        bucket, _, prefix = text[len("s3://") :].partition("/")
        if not bucket:
            raise SourceError("an S3 source looks like s3://bucket[/prefix]", text)
        prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        store = S3Store(s3_client or boto3.Session().client("s3"), bucket, prefix)
    else:
        if keys is None:
            raise IntegrityError(
                "offline validation needs public_keys: save `aws cloudtrail list-public-keys` output with the evidence"
            )
        root = Path(text)
        if not root.is_dir():
            raise SourceError("no such folder", text)
        store = LocalStore(root, read_object_metadata(object_metadata) if object_metadata is not None else {})
    found = walk(store, lo, hi, acquired, keys, CloudTrailApi(cloudtrail_client))
    return TrailValidation(text, lo, hi, acquired, found.digests, found.logs, found.gaps, found.chains, found.notes)


def _read_keys(paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> dict[str, PublicKey]:
    keys: dict[str, PublicKey] = {}
    for path in [paths] if isinstance(paths, (str, os.PathLike)) else paths:
        for fingerprint, key in read_public_keys(path).items():
            keys.setdefault(fingerprint, key)
    return keys


def _fmt(ts: pd.Timestamp | None) -> str:
    return "-" if ts is None else ts.isoformat()
