"""The digest-chain walk behind :func:`forensics.integrity.validate_trail`.

One run reads every digest in scope, follows each digest's link to its predecessor
(reading predecessors the listing lacks), verifies signatures newest first (offline, a
digest without saved metadata is verified through its successor's
``previousDigestSignature``), cross-checks the links, groups digests into chains
(account x region x trail, backfill digests apart), finds the gaps and checks the tail,
then hashes every log file a digest lists or the store holds. Trail-control events that
can explain a gap are read only from log files a valid digest vouches for, from the
very bytes that were hashed.

The statuses and the verdict are described in :mod:`forensics.integrity`.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from botocore.exceptions import BotoCoreError, ClientError

from forensics.cloudtrail import load_cloudtrail
from forensics.digests import (
    SIGNATURE_ALGORITHM,
    Digest,
    DigestFormatError,
    DigestName,
    LogReference,
    PublicKey,
    decode_signature,
    inflate,
    parse_digest,
    parse_digest_name,
    parse_log_name,
)
from forensics.trailstore import CloudTrailApi, ObjectRef, Store, Unreadable, error_code

#: Kinds of gaps: a starting digest after older ones (or after the window start), a digest
#: its successor references but that is absent, and a chain whose newest digest ends too early.
GAP_KINDS: tuple[str, ...] = ("chain-start", "missing-digest", "tail")
#: Digest files inflating beyond this are refused (real ones are kilobytes to a few megabytes).
MAX_DIGEST_BYTES = 1 << 28
#: Digests whose name time lies up to this long after ``end`` are read (late deliveries).
DIGEST_MARGIN = pd.Timedelta(hours=2)
#: How late CloudTrail may deliver a file after the time in its name (about 5 minutes on
#: average, not guaranteed); a log this close to a digest's end may fall in the next one.
DELIVERY_SLACK = pd.Timedelta(minutes=15)
#: A chain's newest digest may end this long before the reference time (the hourly
#: cadence plus the delivery slack) before the tail counts as missing.
TAIL_TOLERANCE = pd.Timedelta(hours=1) + DELIVERY_SLACK
#: How far around a gap CloudTrail events are searched for an explanation.
EXPLAIN_MARGIN = pd.Timedelta(hours=1)
#: Trail events that can explain a chain start (logging or validation turned off/on).
CONTROL_EVENTS: tuple[str, ...] = ("StopLogging", "DeleteTrail", "UpdateTrail", "CreateTrail", "StartLogging")
#: Trail events that can explain digests ending early (the tail).
STOP_EVENTS: tuple[str, ...] = ("StopLogging", "DeleteTrail", "UpdateTrail")

DIGEST_COLUMNS: tuple[str, ...] = (
    "key", "status", "reason", "chain", "account", "region", "trail", "home_region", "backfill",
    "digestStartTime", "digestEndTime", "log_files", "signature_source", "link", "previous", "path",
)  # fmt: skip
LOG_COLUMNS: tuple[str, ...] = (
    "key", "status", "reason", "account", "region", "delivered", "digest", "sha256", "expected_sha256", "pending", "path",
)  # fmt: skip
GAP_COLUMNS: tuple[str, ...] = ("chain", "kind", "gap_start", "gap_end", "digest", "explained", "events", "reason")
CHAIN_COLUMNS: tuple[str, ...] = (
    "chain", "account", "region", "trail", "home_region", "backfill", "digests", "valid", "invalid", "not_found",
    "unverifiable", "first_start", "last_end", "chain_starts", "tail", "tail_reference", "tail_reference_source",
)  # fmt: skip
_TIMES = {
    "digestStartTime", "digestEndTime", "delivered", "gap_start", "gap_end", "first_start", "last_end", "tail_reference",
}  # fmt: skip


@dataclass(frozen=True)
class Walked:
    """What one walk found: the four frames of :class:`forensics.integrity.TrailValidation` and notes."""

    digests: pd.DataFrame
    logs: pd.DataFrame
    gaps: pd.DataFrame
    chains: pd.DataFrame
    notes: tuple[str, ...]


def walk(
    store: Store,
    start: pd.Timestamp | None,
    end: pd.Timestamp | None,
    acquired_at: pd.Timestamp | None,
    public_keys: dict[str, PublicKey] | None,
    api: CloudTrailApi,
) -> Walked:
    """Validate the digests and log files of ``store`` delivered between ``start`` and ``end``.

    ``public_keys`` of ``None`` means: list them per region through ``api``.
    """
    return _Walk(store, start, end, acquired_at, public_keys, api).run()


# ------------------------------------------------------------------------------ the walk


@dataclass(eq=False)
class _Entry:
    """The working state of one digest during the walk."""

    ref: ObjectRef
    name: DigestName | None
    found: bool = True
    digest: Digest | None = None
    metadata: Mapping[str, str] | None = None
    problem: str | None = None
    authentic: bool = False
    status: str = ""
    reason: str = ""
    signature_source: str = ""
    link: str = ""
    predecessor: _Entry | None = None
    successors: list[_Entry] = field(default_factory=list)

    @property
    def end(self) -> pd.Timestamp:
        """The end time from the key (from the content when the key does not parse)."""
        if self.name is not None:
            return self.name.end
        return self.digest.end if self.digest is not None else pd.NaT

    def fail(self, reason: str) -> None:
        """Mark the digest invalid (the first reason found is kept)."""
        if self.status != "invalid":
            self.status, self.reason = "invalid", reason


@dataclass
class _Gap:
    """A break in a chain's coverage and the trail events that could explain it."""

    chain: str
    trail: str
    kind: str
    start: pd.Timestamp
    end: pd.Timestamp
    digest: str
    reason: str
    explainers: tuple[str, ...]
    events: tuple[str, ...] = ()

    @property
    def search(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """The times within which events can explain the gap."""
        lo = self.end if pd.isna(self.start) else self.start
        return lo - EXPLAIN_MARGIN, self.end + EXPLAIN_MARGIN


class _Walk:
    """One validation run: read the digests, verify them, follow the links, check the logs."""

    def __init__(
        self,
        store: Store,
        lo: pd.Timestamp | None,
        hi: pd.Timestamp | None,
        acquired: pd.Timestamp | None,
        keys: dict[str, PublicKey] | None,
        api: CloudTrailApi,
    ) -> None:
        self.store, self.lo, self.hi, self.acquired = store, lo, hi, acquired
        self.keys, self.api = keys, api
        self.entries: dict[ObjectRef, _Entry] = {}
        self.region_keys: dict[str, dict[str, PublicKey]] = {}
        self.key_problems: dict[str, str] = {}
        self.tails: dict[str, tuple[str, pd.Timestamp, str]] = {}
        self.notes: list[str] = []
        self.bucket: str | None = None

    def run(self) -> Walked:
        digest_window = (self.lo, None if self.hi is None else self.hi + DIGEST_MARGIN)
        digest_refs, log_refs = self.store.listing(digest_window, (self.lo, self.hi))
        for ref in digest_refs:
            name = parse_digest_name(ref.key)
            if name is None or _inside(name.end, *digest_window):
                self.entries[ref] = self._load(ref, name)
        self._follow_links()
        if self.store.offline:
            self.bucket = self._copied_bucket()
        if self.keys is None:
            self._list_keys()
        for entry in sorted(self.entries.values(), key=_newest_first):
            self._verify(entry)
        self._check_links()
        chains = self._chains()
        gaps = [gap for chain, members in chains.items() for gap in self._gaps(chain, members)]
        logs, evidence = self._logs(log_refs, gaps, chains)
        events = _control_events(evidence) if evidence else None
        for gap in gaps:
            lo, hi = gap.search
            gap.events = () if events is None else tuple(
                f"{e.eventName} by {e.actor} at {e.eventTime.isoformat()} ({e.eventID})"
                for e in events.itertuples()
                if e.eventName in gap.explainers and _names_trail(e.name, gap.trail) and lo <= e.eventTime <= hi
            )
            if gap.kind == "tail" and gap.events:
                self.tails[gap.chain] = ("explained", *self.tails[gap.chain][1:])
        digests = [self._digest_row(e) for members in chains.values() for e in members]
        digests += [self._digest_row(e) for e in self.entries.values() if e.name is None]
        return Walked(
            digests=_frame(digests, DIGEST_COLUMNS),
            logs=logs,
            gaps=_frame([_gap_row(g) for g in gaps], GAP_COLUMNS),
            chains=_frame([self._chain_row(c, m) for c, m in chains.items()], CHAIN_COLUMNS),
            notes=tuple(self.notes),
        )

    # -- reading digests

    def _load(self, ref: ObjectRef, name: DigestName | None) -> _Entry:
        entry = _Entry(ref, name)
        try:
            blob = self.store.read(ref)
        except Unreadable as exc:
            entry.problem = f"could not be read ({exc})"
            return entry
        if blob is None:
            entry.found = False
            return entry
        entry.metadata = self.store.metadata(ref)
        if name is None:
            entry.problem = "not a CloudTrail digest file name"
            return entry
        inflated = inflate(blob, limit=MAX_DIGEST_BYTES)
        if inflated.problem:
            entry.problem = f"invalid format: {inflated.problem}"
            return entry
        try:
            entry.digest = digest = parse_digest(inflated.data)
        except DigestFormatError as exc:
            entry.problem = f"invalid format: {exc}"
            return entry
        if not self.store.acquired_from(ref, digest.bucket, digest.key):
            entry.problem = f"moved: the digest says it was written to s3://{digest.bucket}/{digest.key}"
        elif digest.account != name.account:
            entry.problem = f"awsAccountId {digest.account} differs from the account {name.account} in its key"
        else:
            entry.problem = digest.algorithm_problem()
        return entry

    def _follow_links(self) -> None:
        """Attach each digest to its predecessor, reading predecessors the listing lacks."""
        queue = list(self.entries.values())
        while queue:
            entry = queue.pop()
            digest = entry.digest
            if digest is None or digest.previous_key is None:
                continue
            name = parse_digest_name(digest.previous_key)
            if self.lo is not None and name is not None and name.end < self.lo:
                entry.link = "predecessor before the window (not checked)"
                continue
            ref = self.store.locate(digest.previous_bucket, digest.previous_key) or ObjectRef(None, digest.previous_key)
            if ref not in self.entries:
                self.entries[ref] = self._load(ref, name)
                queue.append(self.entries[ref])
            entry.predecessor = self.entries[ref]
            self.entries[ref].successors.append(entry)

    def _copied_bucket(self) -> str | None:
        """Offline: the bucket the copy holds, as most of its digests name it."""
        counts = Counter(e.digest.bucket for e in self.entries.values() if e.digest is not None)
        ranked = counts.most_common(2)
        if len(ranked) == 2:
            self.notes.append(
                f"the digests name several buckets {sorted(counts)}; the copy is taken to hold "
                f"{ranked[0][0]!r} (named by {ranked[0][1]} of {counts.total()})"
                if ranked[0][1] > ranked[1][1] else f"the digests name several buckets {sorted(counts)} equally often"
            )
        return ranked[0][0] if ranked and (len(ranked) == 1 or ranked[0][1] > ranked[1][1]) else None

    def _in_place(self, entry: _Entry) -> bool:
        """Whether a digest claims the bucket it was acquired from (offline: the copy's
        bucket, or one its authentic successor names, as when a trail changes bucket)."""
        digest = entry.digest
        if digest is None or self.bucket is None or digest.bucket == self.bucket:
            return True
        here = (digest.bucket, digest.key)
        return any(
            s.authentic and s.digest is not None and (s.digest.previous_bucket, s.digest.previous_key) == here
            for s in entry.successors
        )

    # -- public keys

    def _list_keys(self) -> None:
        """List CloudTrail's public keys per region, for the times the digests span."""
        times: dict[str, list[pd.Timestamp]] = {}
        for entry in self.entries.values():
            if entry.name is not None and entry.found:
                stamp = (entry.metadata or {}).get("backfill-generation-timestamp")
                extra = [pd.to_datetime(stamp, utc=True, errors="coerce")] if stamp else []
                times.setdefault(entry.name.region, []).extend([entry.name.end, *extra])
        now = pd.Timestamp.now(tz="UTC")
        for region, found in times.items():
            known = [t for t in found if not pd.isna(t)]
            lo, hi = min(known) - DIGEST_MARGIN, min(max(known) + DIGEST_MARGIN, now)
            try:
                self.region_keys[region] = self.api.public_keys(region, lo, hi)
            except (ClientError, BotoCoreError) as exc:
                self.key_problems[region] = f"public keys could not be listed in {region} ({error_code(exc)})"
                self.notes.append(self.key_problems[region])

    # -- signatures and links

    def _verify(self, entry: _Entry) -> None:
        """Set the entry's status from its own checks and its signature (links come later)."""
        digest, name = entry.digest, entry.name
        if not entry.found:
            referrers = ", ".join(s.ref.key for s in entry.successors)
            entry.status, entry.reason = "not-found", f"absent, but referenced as the previous digest of {referrers}"
            return
        if entry.problem or digest is None or name is None:
            entry.fail(entry.problem or "unreadable")
            return
        keys = self.keys if self.keys is not None else self.region_keys.get(name.region, {})
        key = keys.get(digest.fingerprint.lower())
        if key is None:
            empty = " (the key list is empty)" if not keys else ""
            missing = f"public key not found for fingerprint {digest.fingerprint}{empty}"
            entry.fail(self.key_problems.get(name.region) or missing)
            return
        if key.problem:
            entry.fail(f"public key {key.fingerprint} cannot be used: {key.problem}")
            return
        message = digest.string_to_sign()
        if entry.metadata is not None:
            problem = _metadata_problem(entry.metadata, name.backfill)
            signature = decode_signature(entry.metadata.get("signature"))
            if problem:
                entry.fail(problem)
            elif signature is None:
                entry.fail("the signature in the object metadata is not even-length hexadecimal")
            elif not key.verify(message, signature):
                entry.fail("signature verification failed")
            else:
                entry.status, entry.signature_source, entry.authentic = "valid", "object metadata", True
            return
        for successor in entry.successors:
            signature = decode_signature(successor.digest.previous_signature if successor.digest else None)
            if signature is not None and key.verify(message, signature):
                entry.status, entry.authentic = "valid", True
                entry.signature_source = f"previousDigestSignature of {successor.ref.key}"
                return
        trusted = [s for s in entry.successors if s.authentic]
        if trusted:
            entry.fail(f"the signature its valid successor {trusted[0].ref.key} recorded does not verify")
        else:
            entry.status = "unverifiable-offline"
            entry.reason = "no object metadata (signature) for this digest and no valid successor recording it"

    def _check_links(self) -> None:
        """Cross-check each authentic digest's link fields against its authentic predecessor."""
        for entry in self.entries.values():
            if entry.digest is not None and not self._in_place(entry):
                where = f"it says it was written to bucket {entry.digest.bucket}; the copy holds {self.bucket}'s digests"
                entry.fail(f"moved: {where}")
        for entry in self.entries.values():
            digest, before = entry.digest, entry.predecessor
            if digest is None:
                continue
            if digest.starting:
                entry.link = "chain start"
            elif before is None:
                entry.link = entry.link or "predecessor not read"
            elif not before.found:
                entry.link = "predecessor not found"
            elif not entry.authentic:
                entry.link = "not checked"
            elif not before.authentic or before.digest is None:
                entry.link = f"predecessor {before.status}"
            else:
                entry.link = self._link(entry, digest, before, before.digest)

    def _link(self, entry: _Entry, digest: Digest, before: _Entry, previous: Digest) -> str:
        problem = None
        if (previous.bucket, previous.key) != (digest.previous_bucket, digest.previous_key):
            if not self._in_place(before) or before.status == "invalid":
                return "predecessor invalid"
            problem = (
                f"it points to s3://{digest.previous_bucket}/{digest.previous_key}; "
                f"the predecessor says s3://{previous.bucket}/{previous.key}"
            )
        problem = problem or digest.previous_hash_problem(previous.sha256)
        recorded = (before.metadata or {}).get("signature")
        if problem is None and recorded is not None and (digest.previous_signature or "").lower() != recorded.lower():
            problem = "previousDigestSignature differs from the signature in the predecessor's object metadata"
        if problem:
            entry.fail(f"broken link to {before.ref.key}: {problem}")
            return "broken"
        return "ok"

    # -- chains, gaps and the tail

    def _chains(self) -> dict[str, list[_Entry]]:
        chains: dict[str, list[_Entry]] = {}
        for entry in sorted(self.entries.values(), key=lambda e: (_order(e.end), e.ref.key)):
            if entry.name is not None:
                chains.setdefault(entry.name.chain, []).append(entry)
        return dict(sorted(chains.items()))

    def _gaps(self, chain: str, members: list[_Entry]) -> list[_Gap]:
        """Chain starts and missing digests, oldest first, then the tail."""
        assert members[0].name is not None
        trail = members[0].name.trail
        gaps: list[_Gap] = []
        last: _Entry | None = None
        for entry in members:
            before = last.end if last is not None else (pd.NaT if self.lo is None else self.lo)
            digest = entry.digest
            after_window_start = self.lo is not None and digest is not None and self.lo < digest.start
            if digest is not None and digest.starting and (last is not None or after_window_start):
                why = "starting digest: logging or log file validation was turned on or restarted"
                gaps.append(_Gap(chain, trail, "chain-start", before, digest.start, entry.ref.key, why, CONTROL_EVENTS))
            elif not entry.found:
                after = min((s.digest.start for s in entry.successors if s.digest is not None), default=entry.end)
                why = "a digest that its successor references is missing"
                gaps.append(_Gap(chain, trail, "missing-digest", before, after, entry.ref.key, why, ()))
            if entry.found:
                last = entry
        if members[0].name.backfill:
            self.tails[chain] = ("n/a", pd.NaT, "")
            return gaps
        reference, source = self._reference(members[0].name)
        if reference is None or last is None:
            self.tails[chain] = ("unchecked", pd.NaT, "")
        elif reference - last.end <= TAIL_TOLERANCE:
            self.tails[chain] = ("ok", reference, source)
        else:
            self.tails[chain] = ("missing", reference, source)
            why = f"the newest digest ends {reference - last.end} before the reference time ({source}); digests are hourly"
            gaps.append(_Gap(chain, trail, "tail", last.end, reference, last.ref.key, why, STOP_EVENTS))
        return gaps

    def _reference(self, name: DigestName) -> tuple[pd.Timestamp | None, str]:
        """The time a chain's newest digest must reach, and where that time comes from."""
        reference, source = None, ""
        if not self.store.offline:
            reference, note = self.api.latest_digest_delivery(name.home_region, name.account, name.trail)
            source = "GetTrailStatus LatestDigestDeliveryTime"
            if note and note not in self.notes:
                self.notes.append(note)
        if reference is None and self.acquired is not None:
            reference, source = self.acquired, "acquired_at"
        if reference is None and not self.store.offline:
            reference, source = pd.Timestamp.now(tz="UTC"), "now (online)"
        if self.hi is not None and (reference is None or self.hi < reference):
            reference, source = self.hi, "window end"
        return reference, source

    # -- log files

    def _logs(
        self, listed: list[ObjectRef], gaps: list[_Gap], chains: dict[str, list[_Entry]]
    ) -> tuple[pd.DataFrame, list[bytes]]:
        """Check every log a digest lists and every log present; keep valid logs' bytes near gaps."""
        claims: dict[ObjectRef | None, list[tuple[_Entry, LogReference]]] = {}
        for members in chains.values():
            for entry in members:
                for ref in entry.digest.log_files if entry.digest is not None else ():
                    target = self.store.locate(ref.bucket, ref.key)
                    claims.setdefault(target or ObjectRef(ref.bucket, ref.key), []).append((entry, ref))
        newest: dict[tuple[str, str], pd.Timestamp] = {}
        for chain, members in chains.items():
            name = members[0].name
            ends = [e.end for e in members if e.found]
            if name is not None and self.tails[chain][0] == "ok" and ends:
                region = (name.account, name.region)
                newest[region] = max([*ends, newest.get(region, ends[0])])
        windows = [gap.search for gap in gaps]
        rows: list[dict[str, object]] = []
        evidence: list[bytes] = []
        for target, refs in claims.items():
            trusted = [(e, r) for e, r in refs if e.status in ("valid", "unverifiable-offline")]
            if trusted:
                rows.append(self._check_log(trusted[0][1].key, target, trusted, windows, evidence))
        for target in listed:
            if any(e.status in ("valid", "unverifiable-offline") for e, _ in claims.get(target, [])):
                continue
            if not _inside_log(target.key, self.lo, self.hi):
                continue
            row = self._check_log(target.key, target, [], windows, evidence)
            listed_by = [e.ref.key for e, _ in claims.get(target, [])]
            row["reason"] = "referenced by no valid digest"
            if listed_by:
                row["reason"] += f" (listed by {listed_by[0]}, which is not valid)"
            name = parse_log_name(target.key)
            last = newest.get((name.account, name.region)) if name is not None else None
            if name is not None and last is not None and name.delivered >= last - DELIVERY_SLACK:
                row["pending"] = True
                row["reason"] = f"delivered after the newest digest of its region ends ({last.isoformat()}): not digested yet"
            rows.append(row)
        frame = _frame(rows, LOG_COLUMNS).sort_values(["delivered", "key"], na_position="last", kind="stable")
        return frame.reset_index(drop=True), evidence

    def _check_log(
        self,
        key: str,
        target: ObjectRef,
        refs: list[tuple[_Entry, LogReference]],
        windows: list[tuple[pd.Timestamp, pd.Timestamp]],
        evidence: list[bytes],
    ) -> dict[str, object]:
        """One log file's row; with ``refs`` empty it is ``unreferenced``."""
        name = parse_log_name(key)
        row: dict[str, object] = {
            "key": key, "status": "unreferenced", "reason": "", "account": name.account if name else None,
            "region": name.region if name else None, "delivered": name.delivered if name else pd.NaT,
            "digest": refs[0][0].ref.key if refs else None, "pending": False, "path": self.store.path(target),
            "expected_sha256": ",".join(sorted({r.sha256 for _, r in refs})) or None, "sha256": None,
        }  # fmt: skip
        try:
            blob = self.store.read(target)
        except Unreadable as exc:
            return row | {"status": "not-found", "reason": f"could not be read ({exc})"}
        if blob is None:
            return row | {"status": "not-found", "reason": f"listed in {row['digest']}, absent", "path": None}
        delivered = row["delivered"]
        wanted = bool(refs) and any(pd.isna(delivered) or lo <= delivered <= hi + EXPLAIN_MARGIN for lo, hi in windows)
        inflated = inflate(blob, keep=wanted)
        row["sha256"] = inflated.sha256 if inflated.size or inflated.problem is None else None
        if not refs:
            return row
        wrong = [r.sha256 for _, r in refs if r.sha256 != inflated.sha256]
        if inflated.problem and not inflated.trailing:
            return row | {"status": "hash-mismatch", "reason": inflated.problem}
        if wrong:
            reason = f"SHA-256 {inflated.sha256} differs from {wrong[0]} in the digest"
            return row | {"status": "hash-mismatch", "reason": reason}
        if inflated.trailing:
            return row | {"status": "trailing-data", "reason": f"{inflated.problem} (the digest covers the first only)"}
        if not any(e.status == "valid" for e, _ in refs):
            return row | {"reason": f"listed only by {row['digest']}, which is unverifiable offline (its hash matches)"}
        if wanted:
            evidence.append(inflated.data)
        return row | {"status": "valid"}

    # -- output

    def _digest_row(self, entry: _Entry) -> dict[str, object]:
        name, digest = entry.name, entry.digest
        return {
            "key": entry.ref.key, "status": entry.status, "reason": entry.reason,
            "chain": name.chain if name else None, "account": name.account if name else None,
            "region": name.region if name else None, "trail": name.trail if name else None,
            "home_region": name.home_region if name else None, "backfill": bool(name and name.backfill),
            "digestStartTime": digest.start if digest else pd.NaT, "digestEndTime": digest.end if digest else pd.NaT,
            "log_files": len(digest.log_files) if digest else 0, "signature_source": entry.signature_source,
            "link": entry.link, "previous": digest.previous_key if digest else None,
            "path": self.store.path(entry.ref) if entry.found else None,
        }  # fmt: skip

    def _chain_row(self, chain: str, members: list[_Entry]) -> dict[str, object]:
        name = members[0].name
        assert name is not None
        statuses = [e.status for e in members]
        digests = [e.digest for e in members if e.digest is not None]
        tail, reference, source = self.tails[chain]
        return {
            "chain": chain, "account": name.account, "region": name.region, "trail": name.trail,
            "home_region": name.home_region, "backfill": name.backfill, "digests": len(members),
            "valid": statuses.count("valid"), "invalid": statuses.count("invalid"),
            "not_found": statuses.count("not-found"), "unverifiable": statuses.count("unverifiable-offline"),
            "first_start": min((d.start for d in digests), default=pd.NaT),
            "last_end": max((d.end for d in digests), default=pd.NaT),
            "chain_starts": sum(d.starting for d in digests), "tail": tail, "tail_reference": reference,
            "tail_reference_source": source,
        }  # fmt: skip


# ------------------------------------------------------------------------------ helpers


def _metadata_problem(metadata: Mapping[str, str], backfill: bool) -> str | None:
    if "signature" not in metadata or "signature-algorithm" not in metadata:
        return "object metadata lacks signature or signature-algorithm"
    if metadata["signature-algorithm"] != SIGNATURE_ALGORITHM:
        declared = metadata["signature-algorithm"]
        return f"signature-algorithm in the object metadata is {declared!r}, not {SIGNATURE_ALGORITHM}"
    if backfill and "backfill-generation-timestamp" not in metadata:
        return "backfill digest without backfill-generation-timestamp metadata"
    return None


def _control_events(files: list[bytes]) -> pd.DataFrame:
    """Successful trail-control calls in the given verified (inflated) log files.

    The exact bytes that were hashed are decoded, by the package's loader, so an event
    counts only if it comes from a file a valid digest vouches for.
    """
    with tempfile.TemporaryDirectory(prefix="forensics-verified-") as folder:
        for number, data in enumerate(files):
            Path(folder, f"{number:06d}.json").write_bytes(data)
        events = load_cloudtrail(folder, progress=False).events
    calls = events[events["eventName"].isin(CONTROL_EVENTS) & events["errorCode"].isna()]
    names = [_requested_name(text) for text in calls["requestParameters"]]
    return calls.assign(name=names)[["eventTime", "eventName", "actor", "eventID", "name"]].dropna()


def _requested_name(text: object) -> str | None:
    try:
        params = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None
    name = params.get("name") if isinstance(params, dict) else None
    return name if isinstance(name, str) else None


def _names_trail(name: str, trail: str) -> bool:
    return name == trail or name.endswith(f":trail/{trail}")


def _order(t: pd.Timestamp) -> int:
    """Sort key of a time; ``NaT`` sorts first."""
    return int(t.value)


def _newest_first(entry: _Entry) -> tuple[int, str]:
    return -_order(entry.end), entry.ref.key


def _inside(t: pd.Timestamp, lo: pd.Timestamp | None, hi: pd.Timestamp | None) -> bool:
    return (lo is None or t >= lo) and (hi is None or t <= hi)


def _inside_log(key: str, lo: pd.Timestamp | None, hi: pd.Timestamp | None) -> bool:
    name = parse_log_name(key)
    return name is None or _inside(name.delivered, lo, hi)


def _gap_row(gap: _Gap) -> dict[str, object]:
    return {
        "chain": gap.chain, "kind": gap.kind, "gap_start": gap.start, "gap_end": gap.end, "digest": gap.digest,
        "explained": bool(gap.events), "events": "; ".join(gap.events), "reason": gap.reason,
    }  # fmt: skip


def _frame(rows: list[dict[str, object]], columns: tuple[str, ...]) -> pd.DataFrame:
    frame = pd.DataFrame([{c: row.get(c) for c in columns} for row in rows], columns=list(columns))
    for name in columns:
        if name in _TIMES:
            frame[name] = pd.to_datetime(frame[name], utc=True).astype("datetime64[us, UTC]")
        elif name in ("backfill", "pending", "explained"):
            frame[name] = frame[name].astype(bool)
    return frame


