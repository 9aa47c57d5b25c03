"""CloudTrail digest files: their names, their content, the public keys and the signature.

CloudTrail writes one digest per hour, per account, region and trail, next to the log
files::

    [prefix/]AWSLogs/[o-id/]<acct>/CloudTrail-Digest/<region>/YYYY/MM/DD/
        <acct>_CloudTrail-Digest_<region>_<trail>_<home-region>_<YYYYMMDDTHHMMSSZ>[_backfill].json.gz

A digest lists the SHA-256 of every log file delivered in its hour and the SHA-256 and
signature of the previous digest, so the digests form a chain. Each digest is signed
with RSA PKCS#1 v1.5 over SHA-256; the signature (hex) lives in the S3 object metadata
(``x-amz-meta-signature``), not in the file. The signed text is::

    digestEndTime + "\\n" + digestS3Bucket + "/" + digestS3Object + "\\n"
    + hex(SHA-256(inflated digest)) + "\\n" + previousDigestSignature   (or "null")

with every value taken verbatim from the JSON, encoded as UTF-8 and no final newline.
This module parses names and digests, loads public keys and checks one signature; the
chain walk and the verdict are in :mod:`forensics.integrity`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from isal import isal_zlib

from forensics.errors import IntegrityError

#: The only signature algorithm CloudTrail uses (metadata and ``digestSignatureAlgorithm``).
SIGNATURE_ALGORITHM = "SHA256withRSA"
#: The only hash algorithm CloudTrail uses (``previousDigestHashAlgorithm``, ``hashAlgorithm``).
HASH_ALGORITHM = "SHA-256"
#: Public keys shorter than this are refused as weak (CloudTrail's keys have 2048 bits).
MIN_KEY_BITS = 2048
#: Objects inflating beyond this are refused (the loader's limit too; real log objects are
#: at most 50 MB compressed).
MAX_INFLATED_BYTES = 1 << 30
#: Bytes inflated per step when hashing a gzip object.
_CHUNK = 1 << 22

_REGION = r"[a-z]{2}(?:-[a-z]+)+-\d+"
_BASE = r"^(?P<prefix>(?:.*/)?)AWSLogs/(?:(?P<org>o-[a-z0-9]{10,32})/)?(?P<account>\d{12})/"
_DIGEST_KEY = re.compile(
    _BASE + r"CloudTrail-Digest/(?P<region>[a-z0-9-]+)/\d{4}/\d{2}/\d{2}/"
    r"(?P=account)_CloudTrail-Digest_(?P=region)_(?P<trail>.+)_(?P<home>" + _REGION + r")_"
    r"(?P<time>\d{8}T\d{6}Z)(?P<backfill>_backfill)?\.json\.gz$"
)
_LOG_KEY = re.compile(
    _BASE + r"CloudTrail/(?P<region>[a-z0-9-]+)/\d{4}/\d{2}/\d{2}/"
    r"(?P=account)_CloudTrail_(?P=region)_(?P<time>\d{8}T\d{4}Z)[^/]*$"
)
_HEX = re.compile(r"^[0-9a-fA-F]*$")
_SHA256_HEX = re.compile(r"^[0-9a-fA-F]{64}$")

#: Fields every digest must have (``previous*`` may be null, all together).
REQUIRED_FIELDS: tuple[str, ...] = (
    "awsAccountId",
    "digestStartTime",
    "digestEndTime",
    "digestS3Bucket",
    "digestS3Object",
    "digestPublicKeyFingerprint",
    "digestSignatureAlgorithm",
    "logFiles",
)
#: The link fields: all null in a starting digest, all set otherwise.
PREVIOUS_FIELDS: tuple[str, ...] = (
    "previousDigestS3Bucket",
    "previousDigestS3Object",
    "previousDigestHashValue",
    "previousDigestHashAlgorithm",
    "previousDigestSignature",
)


class DigestFormatError(IntegrityError):
    """A digest file is not a well-formed CloudTrail digest (the message says what is wrong)."""


# ----------------------------------------------------------------------------- names


@dataclass(frozen=True)
class DigestName:
    """What a digest's S3 key says.

    Attributes
    ----------
    key
        The key (or local path relative to the evidence folder) as given.
    prefix
        Everything before ``AWSLogs/`` (``""`` or ending in ``/``).
    organization
        The organization ID of an organization trail, else ``None``.
    account, region
        The account and the region that delivered the digest (its chain's region).
    trail, home_region
        The trail's name and home region.
    end
        The digest's end time, to the second, from the name.
    backfill
        Whether this is a backfill digest (``_backfill`` before ``.json.gz``).
    """

    key: str
    prefix: str
    organization: str | None
    account: str
    region: str
    trail: str
    home_region: str
    end: pd.Timestamp
    backfill: bool

    @property
    def chain(self) -> str:
        """Identifier of the chain this digest belongs to: ``account/region/trail``."""
        chain = f"{self.account}/{self.region}/{self.trail}"
        return chain + " (backfill)" if self.backfill else chain


@dataclass(frozen=True)
class LogName:
    """What a log file's S3 key says: account, region and delivery time (to the minute)."""

    key: str
    prefix: str
    organization: str | None
    account: str
    region: str
    delivered: pd.Timestamp


def parse_digest_name(key: str) -> DigestName | None:
    """Parse a digest key; ``None`` if it does not follow CloudTrail's digest layout.

    Trail names may contain ``_`` and ``.``: the name is anchored on the account, the
    regions and the fixed-width time, as the AWS CLI does.
    """
    m = _DIGEST_KEY.match(key)
    if not m:
        return None
    end = pd.to_datetime(m["time"], format="%Y%m%dT%H%M%SZ", utc=True, errors="coerce")
    if pd.isna(end):
        return None
    return DigestName(
        key, m["prefix"], m["org"], m["account"], m["region"], m["trail"], m["home"], end, bool(m["backfill"])
    )


def parse_log_name(key: str) -> LogName | None:
    """Parse a log file key; ``None`` if it does not follow CloudTrail's log layout."""
    m = _LOG_KEY.match(key)
    if not m:
        return None
    delivered = pd.to_datetime(m["time"], format="%Y%m%dT%H%MZ", utc=True, errors="coerce")
    if pd.isna(delivered):
        return None
    return LogName(key, m["prefix"], m["org"], m["account"], m["region"], delivered)


# ----------------------------------------------------------------------------- content


@dataclass(frozen=True)
class Inflated:
    """A gzip object inflated the way CloudTrail hashes it: its first member only.

    Attributes
    ----------
    sha256
        Lowercase hex SHA-256 of the inflated first member (of what could be inflated).
    size
        Number of inflated bytes hashed.
    data
        The inflated bytes when they were asked for (``keep=True``), else ``b""``.
    problem
        ``None`` when the object is exactly one complete gzip member; otherwise why not:
        not gzip, truncated, too large, or data after the first member (``trailing``).
    trailing
        Number of bytes after the end of the first member (``0`` when none).
    """

    sha256: str
    size: int
    data: bytes = field(default=b"", repr=False)
    problem: str | None = None
    trailing: int = 0


def inflate(blob: bytes, keep: bool = True, limit: int = MAX_INFLATED_BYTES) -> Inflated:
    """Hash (and with ``keep``, return) the first gzip member of ``blob``, streaming.

    CloudTrail's hashes cover the inflated first member. Data after it (a second member
    with forged records, say) would pass the hash check while some readers still load
    it, so it is reported, as the AWS CLI does since 2026. Objects that inflate beyond
    ``limit`` (the loader's own limit; a gzip bomb) are refused.
    """
    inflater = isal_zlib.decompressobj(31)
    digest = hashlib.sha256()
    kept: list[bytes] = []
    size, pending = 0, blob
    try:
        while not inflater.eof and size <= limit:
            chunk = inflater.decompress(pending, _CHUNK)
            pending = inflater.unconsumed_tail
            if not chunk and not pending:
                break
            digest.update(chunk)
            size += len(chunk)
            if keep:
                kept.append(chunk)
    except isal_zlib.error:
        return Inflated(digest.hexdigest(), size, problem="not a valid gzip stream")
    data = b"".join(kept)
    if size > limit:
        return Inflated(digest.hexdigest(), size, problem=f"inflates to more than {limit >> 20} MiB (refused)")
    if not inflater.eof:
        return Inflated(digest.hexdigest(), size, data, "truncated gzip (the stream ends before its end marker)")
    trailing = len(inflater.unused_data)
    if trailing:
        return Inflated(digest.hexdigest(), size, data, f"{trailing} bytes of data after the first gzip member", trailing)
    return Inflated(digest.hexdigest(), size, data)


@dataclass(frozen=True)
class LogReference:
    """One entry of a digest's ``logFiles``: where a log is and the hash it must have."""

    bucket: str
    key: str
    sha256: str
    algorithm: str


@dataclass(frozen=True)
class Digest:
    """A parsed digest file.

    String fields keep the JSON values verbatim (they are signed as written). Missing
    optional fields are ``None``.

    Attributes
    ----------
    sha256
        Lowercase hex SHA-256 of the inflated digest bytes, as used in the signature and
        in the successor's ``previousDigestHashValue``.
    fields
        The decoded JSON object, for anything not surfaced below.
    """

    sha256: str
    account: str
    start_time: str
    end_time: str
    bucket: str
    key: str
    fingerprint: str
    algorithm: str
    previous_bucket: str | None
    previous_key: str | None
    previous_hash: str | None
    previous_hash_algorithm: str | None
    previous_signature: str | None
    log_files: tuple[LogReference, ...]
    fields: Mapping[str, Any] = field(repr=False, compare=False)

    @property
    def starting(self) -> bool:
        """Whether this is a starting digest (all ``previous*`` fields null)."""
        return self.previous_key is None

    @property
    def start(self) -> pd.Timestamp:
        """``digestStartTime`` as a UTC time (``NaT`` when it is not a time)."""
        return _time(self.start_time)

    @property
    def end(self) -> pd.Timestamp:
        """``digestEndTime`` as a UTC time (``NaT`` when it is not a time)."""
        return _time(self.end_time)

    def algorithm_problem(self) -> str | None:
        """Why the algorithms the digest declares are not acceptable, or ``None``."""
        if self.algorithm != SIGNATURE_ALGORITHM:
            return f"digestSignatureAlgorithm is {self.algorithm!r}, not {SIGNATURE_ALGORITHM}"
        if not self.starting and self.previous_hash_algorithm != HASH_ALGORITHM:
            return f"previousDigestHashAlgorithm is {self.previous_hash_algorithm!r}, not {HASH_ALGORITHM}"
        for ref in self.log_files:
            if ref.algorithm != HASH_ALGORITHM:
                return f"hashAlgorithm of log {ref.key} is {ref.algorithm!r}, not {HASH_ALGORITHM}"
        return None

    def previous_hash_problem(self, predecessor_sha256: str) -> str | None:
        """Why ``previousDigestHashValue`` does not match the predecessor's hash, or ``None``."""
        recorded = self.previous_hash or ""
        if not _SHA256_HEX.match(recorded):
            return f"previousDigestHashValue {recorded!r} is not a 64-digit hex SHA-256"
        if recorded.lower() != predecessor_sha256:
            return f"previousDigestHashValue {recorded.lower()} differs from the predecessor's SHA-256 {predecessor_sha256}"
        return None

    def string_to_sign(self) -> bytes:
        """The exact bytes CloudTrail signs for this digest."""
        previous = "null" if self.previous_signature is None else self.previous_signature
        text = f"{self.end_time}\n{self.bucket}/{self.key}\n{self.sha256}\n{previous}"
        return text.encode("utf-8")


def parse_digest(inflated: bytes) -> Digest:
    """Parse the inflated bytes of a digest file.

    Raises
    ------
    DigestFormatError
        If the bytes are not a JSON object with the digest's fields and types, or if the
        ``previous*`` fields are partly null (all null marks a starting digest; a mix is
        malformed).
    """
    try:
        doc = json.loads(inflated)
    except (ValueError, UnicodeDecodeError):
        raise DigestFormatError("not JSON") from None
    if not isinstance(doc, dict):
        raise DigestFormatError("not a JSON object")
    missing = [name for name in REQUIRED_FIELDS if name not in doc]
    if missing:
        raise DigestFormatError(f"missing field(s) {', '.join(missing)}")
    for name in REQUIRED_FIELDS[:-1]:
        if not isinstance(doc[name], str):
            raise DigestFormatError(f"{name} is not a string")
    nulls = [name for name in PREVIOUS_FIELDS if doc.get(name) is None]
    if nulls and len(nulls) != len(PREVIOUS_FIELDS):
        raise DigestFormatError(f"previous-digest fields partly null ({', '.join(nulls)}); all or none must be")
    for name in PREVIOUS_FIELDS:
        if doc.get(name) is not None and not isinstance(doc[name], str):
            raise DigestFormatError(f"{name} is not a string")
    if not isinstance(doc["logFiles"], list):
        raise DigestFormatError("logFiles is not a list")
    refs = []
    for number, entry in enumerate(doc["logFiles"]):
        names = ("s3Bucket", "s3Object", "hashValue", "hashAlgorithm")
        if not isinstance(entry, dict) or not all(isinstance(entry.get(n), str) for n in names):
            raise DigestFormatError(f"logFiles[{number}] lacks s3Bucket, s3Object, hashValue or hashAlgorithm")
        refs.append(LogReference(entry["s3Bucket"], entry["s3Object"], entry["hashValue"].lower(), entry["hashAlgorithm"]))
    return Digest(
        sha256=hashlib.sha256(inflated).hexdigest(),
        account=doc["awsAccountId"],
        start_time=doc["digestStartTime"],
        end_time=doc["digestEndTime"],
        bucket=doc["digestS3Bucket"],
        key=doc["digestS3Object"],
        fingerprint=doc["digestPublicKeyFingerprint"],
        algorithm=doc["digestSignatureAlgorithm"],
        previous_bucket=doc.get("previousDigestS3Bucket"),
        previous_key=doc.get("previousDigestS3Object"),
        previous_hash=doc.get("previousDigestHashValue"),
        previous_hash_algorithm=doc.get("previousDigestHashAlgorithm"),
        previous_signature=doc.get("previousDigestSignature"),
        log_files=tuple(refs),
        fields=doc,
    )


def decode_signature(text: object) -> bytes | None:
    """The bytes of a hex signature (either case); ``None`` if it is not even-length hex."""
    if not isinstance(text, str) or not text or len(text) % 2 or not _HEX.match(text):
        return None
    return bytes.fromhex(text)


def _time(text: str) -> pd.Timestamp:
    return pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601")


# ----------------------------------------------------------------------------- keys


@dataclass(frozen=True)
class PublicKey:
    """A CloudTrail public key, as listed by ``ListPublicKeys``.

    Attributes
    ----------
    fingerprint
        Lowercase hex MD5 of :attr:`der`, the name digests use for the key.
    der
        The key bytes as given: PKCS#1 ``RSAPublicKey`` or X.509 SubjectPublicKeyInfo.
    valid_from, valid_until
        The validity window CloudTrail states (``None`` when not given).
    problem
        Why the key cannot be used (not RSA, too short, listed under another
        fingerprint), else ``None``.
    """

    fingerprint: str
    der: bytes = field(repr=False)
    valid_from: pd.Timestamp | None = None
    valid_until: pd.Timestamp | None = None
    problem: str | None = None
    rsa_key: rsa.RSAPublicKey | None = field(default=None, repr=False, compare=False)

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Whether ``signature`` is a valid RSA PKCS#1 v1.5 SHA-256 signature of ``message``."""
        if self.rsa_key is None:
            return False
        try:
            self.rsa_key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return False
        return True


def public_key(
    der: bytes,
    listed_fingerprint: str | None = None,
    valid_from: object = None,
    valid_until: object = None,
) -> PublicKey:
    """Build a :class:`PublicKey` from DER bytes (PKCS#1 or SubjectPublicKeyInfo).

    A key that cannot be used keeps a :attr:`PublicKey.problem`; the reason never
    includes the decoder's own error text.
    """
    fingerprint = hashlib.md5(der, usedforsecurity=False).hexdigest()
    start, until = _optional_time(valid_from), _optional_time(valid_until)
    problem: str | None = None
    key: rsa.RSAPublicKey | None = None
    try:
        loaded = serialization.load_der_public_key(der)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        loaded = None
    if loaded is None:
        problem = "the key bytes are not a DER public key"
    elif not isinstance(loaded, rsa.RSAPublicKey):
        problem = "the key is not an RSA key"
    elif loaded.key_size < MIN_KEY_BITS:
        problem = f"the RSA key has {loaded.key_size} bits, fewer than {MIN_KEY_BITS}"
    else:
        key = loaded
    if problem is None and listed_fingerprint is not None and listed_fingerprint.lower() != fingerprint:
        problem = f"listed with fingerprint {listed_fingerprint}, but the MD5 of its bytes is {fingerprint}"
        key = None
    return PublicKey(fingerprint, der, start, until, problem, key)


def public_keys_from_api(entries: Iterable[Mapping[str, Any]]) -> dict[str, PublicKey]:
    """Public keys from boto3's ``list_public_keys()["PublicKeyList"]`` (``Value`` is raw DER bytes)."""
    keys: dict[str, PublicKey] = {}
    for entry in entries:
        value = entry.get("Value")
        if isinstance(value, (bytes, bytearray)):
            key = public_key(bytes(value), entry.get("Fingerprint"), entry.get("ValidityStartTime"), entry.get("ValidityEndTime"))
            keys.setdefault(key.fingerprint, key)
    return keys


def read_public_keys(path: str | Path) -> dict[str, PublicKey]:
    """Public keys from a file holding ``aws cloudtrail list-public-keys`` output.

    The AWS CLI prints ``Value`` as base64 text (boto3 returns raw bytes instead; see
    :func:`public_keys_from_api`).

    Raises
    ------
    IntegrityError
        If the file cannot be read or is not that JSON.
    """
    location = str(path)
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise IntegrityError(f"{location}: cannot read the public keys ({exc.strerror or exc})") from None
    except ValueError:
        raise IntegrityError(f"{location}: the public keys file is not JSON") from None
    entries = doc.get("PublicKeyList") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise IntegrityError(f"{location}: expected the JSON output of `aws cloudtrail list-public-keys` (PublicKeyList)")
    keys: dict[str, PublicKey] = {}
    for number, entry in enumerate(entries):
        value = entry.get("Value") if isinstance(entry, dict) else None
        try:
            der = base64.b64decode(value, validate=True) if isinstance(value, str) else None
        except binascii.Error:
            der = None
        if der is None:
            raise IntegrityError(f"{location}: PublicKeyList[{number}].Value is not base64 text")
        key = public_key(der, entry.get("Fingerprint"), entry.get("ValidityStartTime"), entry.get("ValidityEndTime"))
        keys.setdefault(key.fingerprint, key)
    return keys


def _optional_time(value: object) -> pd.Timestamp | None:
    if value is None or value == "":
        return None
    ts = pd.to_datetime(value, utc=True, errors="coerce")
    return None if pd.isna(ts) else ts
