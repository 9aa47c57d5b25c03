"""Reading generated scenarios with plain gzip + json (never the package's loader)."""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Scenario:
    """A generated scenario folder, its records (per file) and its answer key."""

    path: Path
    files: dict[str, list[dict[str, Any]]]
    key: dict[str, Any]

    @property
    def records(self) -> list[dict[str, Any]]:
        """Every record once (the first copy of a duplicated event)."""
        seen: dict[str, dict[str, Any]] = {}
        for records in self.files.values():
            for record in records:
                seen.setdefault(record["eventID"], record)
        return list(seen.values())

    @property
    def by_id(self) -> dict[str, dict[str, Any]]:
        return {r["eventID"]: r for r in self.records}

    def cloudwatch(self, name: str) -> Any:
        return json.loads((self.path / "cloudwatch" / name).read_text(encoding="utf-8"))

    @property
    def attacker_ids(self) -> set[str]:
        return {e["eventID"] for stage in self.key["stages"] for e in stage["events"]}


def read_scenario(path: Path) -> Scenario:
    """Read a scenario folder without the package's loader."""
    files = {
        p.relative_to(path).as_posix(): json.loads(gzip.decompress(p.read_bytes()))["Records"]
        for p in sorted((path / "AWSLogs").rglob("*.json.gz"))
    }
    key = json.loads((path / "answer-key.json").read_text(encoding="utf-8"))
    return Scenario(path, files, key)


def tree(path: Path) -> dict[str, bytes]:
    """Every file under ``path`` (relative POSIX path -> bytes)."""
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}
