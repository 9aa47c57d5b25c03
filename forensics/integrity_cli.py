"""``forensics validate``: check a trail's digest chains and log files (see :mod:`forensics.integrity`).

Examples
--------
::

    forensics validate evidence/ --public-keys evidence/public-keys.json \\
        --object-metadata evidence/digest-metadata.json --acquired-at 2024-03-15T09:00:00Z
    forensics validate s3://acme-cloudtrail/audit --start 2024-03-14T00:00:00Z --end 2024-03-15T00:00:00Z
    forensics validate evidence/ --public-keys keys.json --json integrity.json

Exit status: 0 when everything verified, 1 when something did not (the problems are
listed), 2 when the validation could not run (no keys, unreadable source, bad time).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from forensics.display import safe_text
from forensics.integrity import TrailValidation, validate_trail

#: Problem rows printed per table; the JSON output has them all.
SHOWN_ROWS = 30


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``forensics validate``."""
    parser.add_argument("source", help="local copy of the trail's bucket or prefix (holding AWSLogs/), or s3://bucket[/prefix]")
    parser.add_argument(
        "--public-keys",
        action="append",
        metavar="PATH",
        help="`aws cloudtrail list-public-keys` JSON output (repeatable; required offline, replaces ListPublicKeys online)",
    )
    parser.add_argument(
        "--object-metadata", metavar="PATH", help="JSON mapping each digest's S3 key to its `aws s3api head-object` response"
    )
    parser.add_argument("--start", metavar="TIME", help="first delivery time to check (ISO 8601 with a zone)")
    parser.add_argument("--end", metavar="TIME", help="last delivery time to check (ISO 8601 with a zone)")
    parser.add_argument(
        "--acquired-at", metavar="TIME", help="when the evidence was acquired: the newest digests must reach it (tail check)"
    )
    parser.add_argument("--json", metavar="PATH", help="also write every digest, log file, gap and chain as JSON")


def run(args: argparse.Namespace) -> int:
    """Run ``forensics validate``; returns 0 when verified, 1 otherwise."""
    result = validate_trail(
        args.source,
        public_keys=args.public_keys,
        object_metadata=args.object_metadata,
        start=args.start,
        end=args.end,
        acquired_at=args.acquired_at,
    )
    print(render(result))
    if args.json:
        Path(args.json).write_text(json.dumps(as_json(result), indent=1), encoding="utf-8")
    return 0 if result.ok else 1


def render(result: TrailValidation) -> str:
    """The summary, the chains and every problem, as terminal-safe text."""
    lines = [safe_text(line, 500) for line in str(result).splitlines()]
    chains = result.chains
    for row in chains.itertuples(index=False):
        lines.append(
            f"chain {safe_text(row.chain)}: {row.valid}/{row.digests} digests valid, "
            f"{_time(row.first_start)} to {_time(row.last_end)}, tail {row.tail}"
        )
    digests = result.digests[result.digests["status"] != "valid"]
    lines += _table("digests not verified", digests, ("status", "key", "reason"))
    logs = result.logs[result.logs["status"] != "valid"]
    lines += _table("log files not verified", logs, ("status", "key", "reason"))
    gaps = result.gaps.assign(state=result.gaps["explained"].map({True: "explained", False: "UNEXPLAINED"}))
    lines += _table("gaps", gaps, ("state", "kind", "chain", "gap_start", "gap_end", "events", "reason"))
    return "\n".join(lines)


def as_json(result: TrailValidation) -> dict[str, object]:
    """The whole result as JSON-ready values (times in ISO 8601)."""
    frames = {"chains": result.chains, "digests": result.digests, "logs": result.logs, "gaps": result.gaps}
    return {
        "source": result.source,
        "ok": result.ok,
        "problems": result.problems(),
        "notes": list(result.notes),
        **{name: json.loads(frame.to_json(orient="records", date_format="iso")) for name, frame in frames.items()},
    }


def _table(title: str, frame: pd.DataFrame, columns: tuple[str, ...]) -> list[str]:
    if frame.empty:
        return []
    lines = [f"{title} ({len(frame)}):"]
    for row in frame[list(columns)].head(SHOWN_ROWS).itertuples(index=False):
        lines.append("  " + "  ".join(safe_text(_time(v) if isinstance(v, pd.Timestamp) else v, 300) for v in row))
    if len(frame) > SHOWN_ROWS:
        lines.append(f"  ... {len(frame) - SHOWN_ROWS} more (write them all with --json)")
    return lines


def _time(value: object) -> str:
    return "-" if value is None or pd.isna(value) else pd.Timestamp(value).isoformat()  # type: ignore[arg-type]
