"""Helpers of the live-source tests: the moto server handle, uploads, and a request recorder."""

from __future__ import annotations

import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

REGION = "us-east-1"


@dataclass(frozen=True)
class Moto:
    """The running moto server."""

    url: str

    def client(self, service: str, **credentials: str) -> Any:
        """A boto3 client pointed at the server (fake credentials unless given)."""
        keys = credentials or {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        return boto3.client(service, endpoint_url=self.url, region_name=REGION, **keys)

    def post(self, path: str, body: bytes = b"") -> None:
        request = urllib.request.Request(
            f"{self.url}{path}", data=body, method="POST", headers={"Content-Type": "application/octet-stream"}
        )
        urllib.request.urlopen(request, timeout=10).close()

    def reset(self) -> None:
        """Forget every bucket, log group and user."""
        self.post("/moto-api/reset")

    def authenticate(self, on: bool) -> None:
        """Make moto check IAM permissions of every request (``on``), or stop checking."""
        self.post("/moto-api/reset-auth", b"0" if on else b"inf")


def upload(s3: Any, bucket: str, root: Path, prefix: str = "", metadata: dict[str, dict[str, str]] | None = None) -> list[str]:
    """Put every file under ``root`` into ``bucket`` at ``prefix`` + its relative path; returns the keys.

    ``metadata`` maps a relative path to the object's user metadata.
    """
    keys = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        extra = {"Metadata": metadata[rel]} if metadata and rel in metadata else {}
        s3.put_object(Bucket=bucket, Key=prefix + rel, Body=path.read_bytes(), **extra)
        keys.append(prefix + rel)
    return keys


class Calls:
    """Records the parameters of every request a real client makes, by operation name."""

    def __init__(self, client: Any) -> None:
        self.seen: list[tuple[str, dict[str, Any]]] = []
        client.meta.events.register("before-parameter-build", self._record)

    def _record(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        self.seen.append((model.name, dict(params)))

    def of(self, operation: str) -> list[dict[str, Any]]:
        return [params for name, params in self.seen if name == operation]
