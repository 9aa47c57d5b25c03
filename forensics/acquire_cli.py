"""``forensics acquire``: copy a window of a trail from S3 into an evidence folder (see :mod:`forensics.acquire`).

Examples
--------
::

    forensics acquire s3://acme-trail/audit case-42/ --start 2024-03-14T00:00:00Z --end 2024-03-15T00:00:00Z
    forensics acquire s3://acme-trail case-42/ --start ... --end ... --account 012345678901 --region eu-west-1
    forensics acquire s3://acme-trail case-42/ --start ... --end ... --profile incident-response

Credentials and endpoint come from the standard AWS settings (``AWS_PROFILE``,
``AWS_ENDPOINT_URL``, ...) or ``--profile``. Running the same command again resumes.

Exit status: 0 when every object of the window is in the folder as it is in S3, 1 when
something is missing, conflicting or unlistable (listed), 2 when the acquisition could
not run (bad URI or time, unusable folder).
"""

from __future__ import annotations

import argparse

import boto3

from forensics.acquire import AcquisitionResult, acquire
from forensics.display import safe_text

#: Problem rows printed; the manifest has them all.
SHOWN_ROWS = 30


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``forensics acquire``."""
    parser.add_argument("source", help="the trail's bucket and prefix: s3://bucket[/prefix] (the part before AWSLogs/)")
    parser.add_argument("out_dir", metavar="OUT", help="evidence folder (created if needed; objects keep their keys)")
    parser.add_argument("--start", required=True, metavar="TIME", help="start of the window (ISO 8601 with a zone)")
    parser.add_argument("--end", required=True, metavar="TIME", help="end of the window (ISO 8601 with a zone)")
    parser.add_argument("--no-digests", action="store_true", help="skip the digests (they are needed to validate the logs)")
    parser.add_argument("--account", action="append", metavar="ID", help="only this account (repeatable)")
    parser.add_argument("--region", action="append", metavar="REGION", help="only this region (repeatable)")
    parser.add_argument("--delivery-margin", default="1h", metavar="DURATION",
                        help="how long after --end a log may have been delivered (default 1h)")  # fmt: skip
    parser.add_argument("--workers", type=int, metavar="N", help="parallel downloads (default 8)")
    parser.add_argument("--profile", metavar="NAME", help="AWS profile to use (default: the standard AWS settings)")


def run(args: argparse.Namespace) -> int:
    """Run ``forensics acquire``; returns 0 when complete, 1 otherwise."""
    session = boto3.Session(profile_name=args.profile) if args.profile else None
    result = acquire(
        args.source,
        args.out_dir,
        start=args.start,
        end=args.end,
        include_digests=not args.no_digests,
        session=session,
        delivery_margin=args.delivery_margin,
        accounts=args.account,
        regions=args.region,
        workers=args.workers,
    )
    print(render(result))
    return 0 if result.ok else 1


def render(result: AcquisitionResult) -> str:
    """The summary and every problem, as terminal-safe text."""
    lines = [safe_text(line, 500) for line in str(result).splitlines()]
    problems = result.objects[~result.objects["status"].isin(["downloaded", "present"])]
    if len(problems):
        lines.append(f"objects not acquired cleanly ({len(problems)}):")
        for row in problems.head(SHOWN_ROWS).itertuples(index=False):
            lines.append(f"  {row.status}  {safe_text(row.key, 300)}  {safe_text(row.reason, 300)}")
        if len(problems) > SHOWN_ROWS:
            lines.append(f"  ... {len(problems) - SHOWN_ROWS} more (see the manifest)")
    if len(result.gaps):
        lines.append(f"locations that could not be listed ({len(result.gaps)}):")
        for row in result.gaps.itertuples(index=False):
            lines.append(f"  {safe_text(row.location, 300)}  {safe_text(row.reason, 300)}")
    return "\n".join(lines)
