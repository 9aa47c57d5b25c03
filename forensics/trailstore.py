"""Where a trail's evidence comes from: a local copy, the S3 bucket, and CloudTrail's API.

Both stores answer the same few questions for :mod:`forensics.digestchain`: which digest
and log objects are present, where the object an S3 bucket/key names is, its bytes, its
S3 user metadata (the digest signature lives there), and whether a location is the one
an object was acquired from. :class:`CloudTrailApi` lists the public keys and asks for
the trail's latest digest delivery. This is the only module of the integrity check that
calls AWS, always through injected (or default-session) boto3 clients.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pandas as pd
from botocore.exceptions import BotoCoreError, ClientError

from forensics.digests import PublicKey, public_keys_from_api
from forensics.errors import IntegrityError, SourceError

#: Windows of delivery times longer than this are listed whole rather than day by day.
MAX_LISTED_DAYS = 62

Window = tuple[pd.Timestamp | None, pd.Timestamp | None]


@dataclass(frozen=True)
class ObjectRef:
    """An object: ``bucket`` and S3 ``key`` online; ``bucket=None`` and the relative path offline."""

    bucket: str | None
    key: str


class Unreadable(Exception):
    """The object may exist but could not be read; the message says why (no internals)."""


class Store:
    """The interface both stores implement."""

    offline: bool

    def listing(self, digests: Window, logs: Window) -> tuple[list[ObjectRef], list[ObjectRef]]:
        """Digest and log objects present, at least those delivered in the given windows."""
        raise NotImplementedError

    def locate(self, bucket: str | None, key: str) -> ObjectRef | None:
        """The object an S3 bucket/key names; ``None`` when it is surely absent."""
        raise NotImplementedError

    def read(self, ref: ObjectRef) -> bytes | None:
        """The object's bytes; ``None`` when it does not exist; raises :class:`Unreadable`."""
        raise NotImplementedError

    def metadata(self, ref: ObjectRef) -> Mapping[str, str] | None:
        """The object's S3 user metadata; ``None`` when unknown (offline, not saved)."""
        raise NotImplementedError

    def acquired_from(self, ref: ObjectRef, bucket: str, key: str) -> bool:
        """Whether ``ref`` was acquired from the S3 location ``bucket``/``key``."""
        raise NotImplementedError

    def path(self, ref: ObjectRef) -> str:
        """How the object is shown and matched against the events' ``source_file``."""
        raise NotImplementedError


class LocalStore(Store):
    """A local copy, as ``aws s3 sync`` leaves a bucket or a prefix.

    S3 keys map to relative paths by suffix, so a copy of ``s3://bucket/prefix`` (paths
    without the prefix) and a copy of the whole bucket both work. Symbolic links are not
    followed. Paths are built like :func:`forensics.load_cloudtrail` builds its
    ``source_file`` (``os.path.join`` of the folder as given and the relative path).

    Parameters
    ----------
    root
        The folder.
    metadata
        Digest S3 key -> S3 user metadata (``signature``, ``signature-algorithm``, ...).
    """

    offline = True

    def __init__(self, root: Path, metadata: Mapping[str, Mapping[str, str]]) -> None:
        self.root = os.fspath(root)
        # A root inside the layout (".../AWSLogs" or ".../AWSLogs/<account>") keeps the
        # layout's head in its keys, so it reads like the folder above it.
        parts = Path(root).resolve().parts
        head = "/".join(parts[parts.index("AWSLogs") :]) + "/" if "AWSLogs" in parts else ""
        self._paths: dict[str, str] = {}
        for folder, dirs, files in os.walk(root, followlinks=False):
            dirs.sort()
            for name in sorted(files):
                path = os.path.join(folder, name)
                if not os.path.islink(path):
                    self._paths[head + os.path.relpath(path, root).replace(os.sep, "/")] = path
        self._by_tail: dict[str, list[str]] = {}
        for rel in self._paths:
            tail = _tail(rel)
            if tail is not None:
                self._by_tail.setdefault(tail, []).append(rel)
        self._metadata: dict[str, Mapping[str, str]] = {}
        for key, meta in metadata.items():
            ref = self.locate(None, key)
            if ref is not None:
                self._metadata[ref.key] = meta

    def listing(self, digests: Window, logs: Window) -> tuple[list[ObjectRef], list[ObjectRef]]:
        digest_refs: list[ObjectRef] = []
        log_refs: list[ObjectRef] = []
        for rel in self._paths:
            parts = rel.split("/")
            below = parts[parts.index("AWSLogs") + 1 :] if "AWSLogs" in parts else []
            if "CloudTrail-Digest" in below:
                digest_refs.append(ObjectRef(None, rel))
            elif "CloudTrail" in below:
                log_refs.append(ObjectRef(None, rel))
        return digest_refs, log_refs

    def locate(self, bucket: str | None, key: str) -> ObjectRef | None:
        if key in self._paths:
            return ObjectRef(None, key)
        for rel in self._by_tail.get(_tail(key) or "", []):
            if key.endswith("/" + rel):
                return ObjectRef(None, rel)
        return None

    def read(self, ref: ObjectRef) -> bytes | None:
        path = self._paths.get(ref.key)
        if path is None:
            return None
        try:
            with open(path, "rb") as handle:
                return handle.read()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise Unreadable(exc.strerror or type(exc).__name__) from None

    def metadata(self, ref: ObjectRef) -> Mapping[str, str] | None:
        return self._metadata.get(ref.key)

    def acquired_from(self, ref: ObjectRef, bucket: str, key: str) -> bool:
        return key == ref.key or key.endswith("/" + ref.key)

    def path(self, ref: ObjectRef) -> str:
        return self._paths.get(ref.key) or os.path.join(self.root, *ref.key.split("/"))


class S3Store(Store):
    """A live bucket, listed per account, region and (for bounded windows) day.

    Parameters
    ----------
    client
        A boto3 S3 client.
    bucket, prefix
        The trail's bucket and key prefix (``""`` or ending in ``/``).
    """

    offline = False

    def __init__(self, client: Any, bucket: str, prefix: str) -> None:
        self.client, self.bucket, self.prefix = client, bucket, prefix
        self._metadata: dict[ObjectRef, Mapping[str, str]] = {}

    def listing(self, digests: Window, logs: Window) -> tuple[list[ObjectRef], list[ObjectRef]]:
        base = self.prefix + "AWSLogs/"
        accounts: list[str] = []
        for top in self._list(base, "/")[1]:
            accounts += self._list(top, "/")[1] if top[len(base) :].startswith("o-") else [top]
        found: dict[str, list[ObjectRef]] = {"CloudTrail-Digest": [], "CloudTrail": []}
        for account in accounts:
            for folder, (lo, hi) in (("CloudTrail-Digest", digests), ("CloudTrail", logs)):
                for region in self._list(f"{account}{folder}/", "/")[1]:
                    if lo is not None and hi is not None and hi - lo <= pd.Timedelta(days=MAX_LISTED_DAYS):
                        days = pd.date_range(lo.floor("D"), hi.floor("D"), freq="D")
                        keys = [k for day in days for k in self._list(region + day.strftime("%Y/%m/%d/"))[0]]
                    else:
                        keys = self._list(region)[0]
                    found[folder] += [ObjectRef(self.bucket, k) for k in keys]
        return found["CloudTrail-Digest"], found["CloudTrail"]

    def _list(self, prefix: str, delimiter: str | None = None) -> tuple[list[str], list[str]]:
        keys: list[str] = []
        prefixes: list[str] = []
        args = {"Bucket": self.bucket, "Prefix": prefix, **({"Delimiter": delimiter} if delimiter else {})}
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(**args):
                keys += [item["Key"] for item in page.get("Contents", [])]
                prefixes += [item["Prefix"] for item in page.get("CommonPrefixes", [])]
        except (ClientError, BotoCoreError) as exc:
            raise SourceError(f"cannot list objects ({error_code(exc)})", f"s3://{self.bucket}/{prefix}") from None
        return keys, prefixes

    def locate(self, bucket: str | None, key: str) -> ObjectRef | None:
        return ObjectRef(bucket or self.bucket, key)

    def read(self, ref: ObjectRef) -> bytes | None:
        try:
            response = self.client.get_object(Bucket=ref.bucket, Key=ref.key)
            body = response["Body"].read()
        except (ClientError, BotoCoreError) as exc:
            if error_code(exc) in ("NoSuchKey", "404", "NotFound"):
                return None
            raise Unreadable(error_code(exc)) from None
        self._metadata[ref] = response.get("Metadata", {})
        return body

    def metadata(self, ref: ObjectRef) -> Mapping[str, str] | None:
        return self._metadata.get(ref, {})

    def acquired_from(self, ref: ObjectRef, bucket: str, key: str) -> bool:
        return bucket == ref.bucket and key == ref.key

    def path(self, ref: ObjectRef) -> str:
        return f"s3://{ref.bucket}/{ref.key}"


def error_code(exc: Exception) -> str:
    """The AWS error code of a botocore exception (its class name for non-HTTP errors)."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "error"))
    return type(exc).__name__


def read_object_metadata(path: str | os.PathLike[str]) -> dict[str, Mapping[str, str]]:
    """Digest key -> S3 user metadata, from a JSON object of ``aws s3api head-object`` responses.

    Keys may be S3 keys or ``s3://bucket/key`` URIs; metadata names are lower-cased as
    boto3 returns them.

    Raises
    ------
    IntegrityError
        If the file cannot be read or is not a JSON object.
    """
    location = os.fspath(path)
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise IntegrityError(f"{location}: cannot read the object metadata ({exc.strerror or exc})") from None
    except ValueError:
        raise IntegrityError(f"{location}: the object metadata file is not JSON") from None
    if not isinstance(doc, dict):
        raise IntegrityError(f"{location}: expected a JSON object mapping digest keys to head-object responses")
    found: dict[str, Mapping[str, str]] = {}
    for key, response in doc.items():
        meta = response.get("Metadata") if isinstance(response, dict) else None
        if isinstance(meta, dict):
            name = key.split("/", 3)[3] if key.startswith("s3://") and key.count("/") >= 3 else key
            found[name] = {str(k).lower(): str(v) for k, v in meta.items()}
    return found


def _tail(key: str) -> str | None:
    """The part of a key from ``AWSLogs/`` on (``None`` when it has none)."""
    if key.startswith("AWSLogs/"):
        return key
    at = key.find("/AWSLogs/")
    return None if at < 0 else key[at + 1 :]


class CloudTrailApi:
    """CloudTrail's ``ListPublicKeys`` and ``GetTrailStatus``, per region.

    Parameters
    ----------
    client
        A boto3 CloudTrail client used for every region; when ``None``, one client per
        region is made from a default session.
    """

    def __init__(self, client: Any = None) -> None:
        self._given = client
        self._clients: dict[str, Any] = {}
        self._latest: dict[str, tuple[pd.Timestamp | None, str | None]] = {}

    def client(self, region: str) -> Any:
        """The client for ``region``."""
        if self._given is not None:
            return self._given
        if region not in self._clients:
            self._clients[region] = boto3.Session().client("cloudtrail", region_name=region)
        return self._clients[region]

    def public_keys(self, region: str, start: pd.Timestamp, end: pd.Timestamp) -> dict[str, PublicKey]:
        """Keys valid between ``start`` and ``end`` (raises botocore's errors)."""
        args: dict[str, Any] = {"StartTime": start.to_pydatetime(), "EndTime": end.to_pydatetime()}
        entries: list[Mapping[str, Any]] = []
        while True:
            page = self.client(region).list_public_keys(**args)
            entries += page.get("PublicKeyList", [])
            token = page.get("NextToken")
            if not token or token == args.get("NextToken"):
                return public_keys_from_api(entries)
            args["NextToken"] = token

    def latest_digest_delivery(self, home_region: str, account: str, trail: str) -> tuple[pd.Timestamp | None, str | None]:
        """The trail's ``LatestDigestDeliveryTime``, or ``None`` and a note saying why not."""
        client = self.client(home_region)
        partition = getattr(getattr(client, "meta", None), "partition", "aws")
        arn = f"arn:{partition}:cloudtrail:{home_region}:{account}:trail/{trail}"
        if arn not in self._latest:
            try:
                latest = client.get_trail_status(Name=arn).get("LatestDigestDeliveryTime")
            except (ClientError, BotoCoreError) as exc:
                self._latest[arn] = None, f"GetTrailStatus failed for {arn} ({error_code(exc)})"
            else:
                if latest is None:
                    self._latest[arn] = None, f"GetTrailStatus gave no LatestDigestDeliveryTime for {arn}"
                else:
                    self._latest[arn] = pd.Timestamp(latest).tz_convert("UTC"), None
        return self._latest[arn]
