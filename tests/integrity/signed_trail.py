"""Build CloudTrail log files and signed digest chains in the real S3 layout, for tests.

The builder signs with its own RSA test key and its own string-to-sign (written from
the AWS documentation, independently of :mod:`forensics.digests`), so a bug in the
package cannot make both sides agree. A test mutates the result afterwards (delete,
modify, copy objects; drop or change metadata) or passes ``tweak`` to change a digest's
fields *before* it is signed (what CloudTrail itself would have signed).
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

ACCOUNT = "012345678901"
BUCKET = "acme-cloudtrail"
TRAIL = "org_audit.trail"  # "_" and "." on purpose: key parsing must anchor, not split
HOME = "us-east-1"
UTC = dt.timezone.utc
#: Start of the first digest of most test chains (CloudTrail's windows end at odd seconds).
START = dt.datetime(2024, 3, 14, 0, 0, 31, tzinfo=UTC)

Tweak = Callable[[int, dict[str, Any]], None]
Records = Callable[[int, dt.datetime], list[dict[str, Any]]]


def stamp(t: dt.datetime, seconds: bool = True) -> str:
    """CloudTrail's compact time in file names."""
    return t.strftime("%Y%m%dT%H%M%SZ" if seconds else "%Y%m%dT%H%MZ")


def iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def event(name: str, when: dt.datetime, *, trail: str = TRAIL, region: str = HOME, error: str | None = None,
          event_id: str | None = None, **params: Any) -> dict[str, Any]:
    """One CloudTrail management event (a trail-control call when ``name`` is one)."""
    record: dict[str, Any] = {
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLEMALLORY01", "accountId": ACCOUNT,
                         "arn": f"arn:aws:iam::{ACCOUNT}:user/mallory", "userName": "mallory"},
        "eventTime": iso(when),
        "eventSource": "cloudtrail.amazonaws.com",
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": "198.51.100.7",
        "userAgent": "aws-cli/2.15.30",
        "requestParameters": {"name": trail, **params},
        "responseElements": None,
        "eventID": event_id or hashlib.md5(f"{name}{when}{region}".encode()).hexdigest(),
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": ACCOUNT,
        "eventCategory": "Management",
    }
    if error:
        record["errorCode"] = error
    return record


def routine(i: int, when: dt.datetime, region: str) -> dict[str, Any]:
    """An ordinary read event."""
    rec = event("DescribeInstances", when, region=region, event_id=f"{region}-{stamp(when)}-{i}")
    rec.update(eventSource="ec2.amazonaws.com", requestParameters={"maxResults": 5}, readOnly=True)
    return rec


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


@dataclass
class Signer:
    """A test RSA key and the DER form CloudTrail would list it in."""

    private: rsa.RSAPrivateKey
    form: str = "spki"  # or "pkcs1"

    @property
    def der(self) -> bytes:
        fmt = serialization.PublicFormat.SubjectPublicKeyInfo if self.form == "spki" else serialization.PublicFormat.PKCS1
        return self.private.public_key().public_bytes(serialization.Encoding.DER, fmt)

    @property
    def fingerprint(self) -> str:
        return hashlib.md5(self.der).hexdigest()

    def sign(self, message: bytes) -> str:
        return self.private.sign(message, padding.PKCS1v15(), hashes.SHA256()).hex()


@dataclass
class Trail:
    """Objects of one bucket: log files and digests, with the digests' S3 metadata.

    Attributes
    ----------
    objects
        S3 key -> object bytes (gzip), as CloudTrail wrote them.
    metadata
        Digest key -> S3 user metadata (``signature``, ``signature-algorithm``, ...).
    digests
        Chain label (``region`` or ``region/backfill``) -> digest keys, oldest first.
    logs
        Digest key -> log keys it lists.
    """

    signer: Signer
    bucket: str = BUCKET
    prefix: str = ""
    organization: str | None = None
    account: str = ACCOUNT
    trail: str = TRAIL
    home: str = HOME
    objects: dict[str, bytes] = field(default_factory=dict)
    metadata: dict[str, dict[str, str]] = field(default_factory=dict)
    digests: dict[str, list[str]] = field(default_factory=dict)
    logs: dict[str, list[str]] = field(default_factory=dict)
    ends: dict[str, str] = field(default_factory=dict)
    _previous: dict[str, tuple[str, str, str, str] | None] = field(default_factory=dict)

    def base(self, folder: str, region: str) -> str:
        org = f"{self.organization}/" if self.organization else ""
        return f"{self.prefix}AWSLogs/{org}{self.account}/{folder}/{region}"

    def digest_key(self, region: str, end: dt.datetime, backfill: bool = False) -> str:
        name = f"{self.account}_CloudTrail-Digest_{region}_{self.trail}_{self.home}_{stamp(end)}"
        return f"{self.base('CloudTrail-Digest', region)}/{end:%Y/%m/%d}/{name}{'_backfill' if backfill else ''}.json.gz"

    def log_key(self, region: str, delivered: dt.datetime, unique: str) -> str:
        name = f"{self.account}_CloudTrail_{region}_{stamp(delivered, seconds=False)}_{unique}.json.gz"
        return f"{self.base('CloudTrail', region)}/{delivered:%Y/%m/%d}/{name}"

    def add_log(self, region: str, delivered: dt.datetime, records: list[dict[str, Any]], unique: str) -> str:
        """Write one log file (not listed by any digest unless a digest is built after it)."""
        key = self.log_key(region, delivered, unique)
        self.objects[key] = gz(json.dumps({"Records": records}).encode())
        return key

    def chain(
        self,
        region: str,
        start: dt.datetime,
        hours: int,
        *,
        logs_per_hour: int = 2,
        starting: bool = True,
        records: Records | None = None,
        tweak: Tweak | None = None,
        backfill: bool = False,
    ) -> list[str]:
        """Add ``hours`` hourly digests for ``region`` from ``start``; return their keys.

        ``starting`` begins a new chain (the first digest's ``previous*`` fields are
        null); otherwise the chain continues from the last digest built for ``region``.
        ``records(hour, delivered)`` gives extra records for an hour's first log file;
        ``tweak(hour, digest)`` edits a digest before it is signed.
        """
        label = f"{region}/backfill" if backfill else region
        if starting:
            self._previous[label] = None
        keys = []
        for hour in range(hours):
            t0 = start + dt.timedelta(hours=hour)
            t1 = t0 + dt.timedelta(hours=1)
            refs = []
            for n in range(logs_per_hour):
                delivered = t0 + dt.timedelta(minutes=5 + 50 * n // max(logs_per_hour, 1))
                recs = [routine(j, delivered - dt.timedelta(minutes=2), region) for j in range(3)]
                if n == 0 and records is not None:
                    recs += records(hour, delivered)
                key = self.add_log(region, delivered, recs, f"h{hour:03d}n{n:02d}{'bf' if backfill else ''}")
                inflated = gzip.decompress(self.objects[key])
                refs.append({
                    "s3Bucket": self.bucket, "s3Object": key, "hashValue": hashlib.sha256(inflated).hexdigest(),
                    "hashAlgorithm": "SHA-256", "newestEventTime": iso(delivered), "oldestEventTime": iso(delivered),
                })  # fmt: skip
            keys.append(self._digest(label, region, t0, t1, refs, hour, tweak, backfill))
        self.digests.setdefault(label, []).extend(keys)
        return keys

    def _digest(self, label: str, region: str, t0: dt.datetime, t1: dt.datetime, refs: list[dict[str, Any]],
                hour: int, tweak: Tweak | None, backfill: bool) -> str:
        key = self.digest_key(region, t1, backfill)
        previous = self._previous.get(label)
        doc: dict[str, Any] = {
            "awsAccountId": self.account,
            "digestStartTime": iso(t0),
            "digestEndTime": iso(t1),
            "digestS3Bucket": self.bucket,
            "digestS3Object": key,
            "digestPublicKeyFingerprint": self.signer.fingerprint,
            "digestSignatureAlgorithm": "SHA256withRSA",
            "newestEventTime": refs[-1]["newestEventTime"] if refs else None,
            "oldestEventTime": refs[0]["oldestEventTime"] if refs else None,
            "previousDigestS3Bucket": previous[0] if previous else None,
            "previousDigestS3Object": previous[1] if previous else None,
            "previousDigestHashValue": previous[2] if previous else None,
            "previousDigestHashAlgorithm": "SHA-256" if previous else None,
            "previousDigestSignature": previous[3] if previous else None,
            "logFiles": refs,
        }
        if tweak is not None:
            tweak(hour, doc)
        raw = json.dumps(doc).encode()
        previous_signature = doc["previousDigestSignature"]
        to_sign = "\n".join([
            doc["digestEndTime"],
            f"{doc['digestS3Bucket']}/{doc['digestS3Object']}",
            hashlib.sha256(raw).hexdigest(),
            "null" if previous_signature is None else previous_signature,
        ]).encode("utf-8")  # fmt: skip
        signature = self.signer.sign(to_sign)
        self.objects[key] = gz(raw)
        self.metadata[key] = {"signature": signature, "signature-algorithm": "SHA256withRSA"}
        if backfill:
            self.metadata[key]["backfill-generation-timestamp"] = iso(t1 + dt.timedelta(hours=6))
        self.logs[key] = [r["s3Object"] for r in refs]
        self.ends[key] = doc["digestEndTime"]
        self._previous[label] = (self.bucket, key, hashlib.sha256(raw).hexdigest(), signature)
        return key

    # -- mutations

    def rewrite(self, key: str, change: Callable[[dict[str, Any]], None]) -> None:
        """Change a digest's JSON after it was signed (tampering)."""
        doc = json.loads(gzip.decompress(self.objects[key]))
        change(doc)
        self.objects[key] = gz(json.dumps(doc).encode())

    def delete(self, keys: Iterable[str]) -> None:
        for key in keys:
            del self.objects[key]

    # -- output

    def write(self, folder: Path) -> Path:
        """Write every object under ``folder`` at its key (a copy of the whole bucket)."""
        for key, body in self.objects.items():
            path = folder / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(body)
        return folder

    def public_keys_file(self, path: Path, signers: Iterable[Signer] | None = None) -> Path:
        """``aws cloudtrail list-public-keys`` output (Value is base64 text)."""
        listed = [self.signer] if signers is None else list(signers)
        path.write_text(json.dumps({"PublicKeyList": [
            {"Value": base64.b64encode(s.der).decode(), "ValidityStartTime": "2014-01-01T00:00:00Z",
             "ValidityEndTime": "2030-01-01T00:00:00Z", "Fingerprint": s.fingerprint}
            for s in listed
        ]}))  # fmt: skip
        return path

    def metadata_file(self, path: Path, keys: Iterable[str] | None = None) -> Path:
        """Digest key -> ``aws s3api head-object`` response, for ``keys`` (default all)."""
        chosen = self.metadata if keys is None else {k: self.metadata[k] for k in keys}
        path.write_text(json.dumps({
            key: {"AcceptRanges": "bytes", "ContentLength": len(self.objects.get(key, b"")),
                  "ContentType": "application/json", "Metadata": meta}
            for key, meta in chosen.items()
        }))  # fmt: skip
        return path

    def upload(self, s3: Any, with_metadata: bool = True) -> None:
        """Put every object in the bucket (created if needed), digests with their metadata."""
        for key, body in self.objects.items():
            meta = self.metadata.get(key, {}) if with_metadata else {}
            s3.put_object(Bucket=self.bucket, Key=key, Body=body, Metadata=meta)


def statuses(frame: Any) -> dict[str, str]:
    """key -> status of a digests or logs frame."""
    return dict(zip(frame["key"], frame["status"]))


def column(frame: Any, name: str) -> dict[str, Any]:
    """key -> value of one column."""
    return dict(zip(frame["key"], frame[name]))
