"""The ``scenario`` verb: ``python -m forensics.scenarios list|make|serve`` (and ``forensics scenario ...``).

Examples::

    python -m forensics.scenarios make leaked-key forensics/sample_data --seed 7 --overwrite
    forensics scenario serve crypto-mining --endpoint-url http://127.0.0.1:5000 --shift-to-now --logs
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import textwrap
from pathlib import Path

from forensics.errors import ForensicsError
from forensics.scenarios import DEFAULT_SEED, list_scenarios, load_answer_key, make_scenario


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``list``, ``make`` and ``serve`` subcommands to ``parser`` (also used by ``forensics scenario``)."""
    commands = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    commands.add_parser("list", help="list the scenarios")
    make = commands.add_parser("make", help="generate a scenario's data and answer key into a folder")
    make.add_argument("name", help="scenario name, see `list`")
    make.add_argument("out", help="folder to write (must be empty unless --overwrite)")
    make.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    make.add_argument("--noise", type=float, default=1.0, help="scale of the benign background (default 1.0)")
    make.add_argument("--overwrite", action="store_true", help="replace the contents of a non-empty folder")
    serve = commands.add_parser(
        "serve",
        help="generate a scenario and upload its trail, metrics and alarms to an AWS API endpoint (e.g. moto)",
        description=(
            "Upload a scenario through the AWS APIs: CloudTrail files to S3, metric data and alarms to CloudWatch, "
            "optionally the events to CloudWatch Logs. Credentials and profile come from the usual AWS settings. "
            "moto accepts metric data of any age; real CloudWatch refuses data older than two weeks and CloudWatch "
            "Logs (moto too) events older than 14 days: use --shift-to-now."
        ),
    )
    serve.add_argument("name", help="scenario name, see `list`")
    serve.add_argument("--endpoint-url", required=True, help="API endpoint, e.g. http://127.0.0.1:5000 for moto")
    serve.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    serve.add_argument("--noise", type=float, default=1.0, help="scale of the benign background (default 1.0)")
    serve.add_argument("--out", help="also keep the generated scenario (and its answer key) in this empty folder")
    serve.add_argument("--bucket", default="acme-cloudtrail-logs", help="bucket for the trail (created if missing)")
    serve.add_argument("--prefix", default="", help="key prefix before AWSLogs/, ending with '/'")
    serve.add_argument("--shift-to-now", action="store_true", help="move all times forward by whole days to today")
    serve.add_argument("--logs", action="store_true", help="also put the events into a CloudWatch Logs group")


def _serve(args: argparse.Namespace) -> int:
    import boto3

    from forensics.scenarios.serve import days_to_now, upload

    with tempfile.TemporaryDirectory(prefix=f"forensics-{args.name}-") as scratch:
        folder = make_scenario(args.name, args.out or Path(scratch) / "scenario", seed=args.seed, noise=args.noise)
        region = load_answer_key(folder)["cloudwatch"]["region"]
        session = boto3.session.Session()
        served = upload(
            folder,
            s3_client=session.client("s3", region_name="us-east-1", endpoint_url=args.endpoint_url),
            cloudwatch_client=session.client("cloudwatch", region_name=region, endpoint_url=args.endpoint_url),
            logs_client=session.client("logs", region_name="us-east-1", endpoint_url=args.endpoint_url)
            if args.logs
            else None,
            bucket=args.bucket,
            prefix=args.prefix,
            days=days_to_now(folder) if args.shift_to_now else 0,
        )
    print(f"served {args.name} (seed {args.seed}) at {args.endpoint_url}:")
    print(f"  CloudTrail: {served.uri} ({served.objects} files; forensics.load_cloudtrail({served.uri!r}))")
    print(f"  CloudWatch ({region}): {served.metric_values} metric values, {served.alarms} alarms")
    if served.log_group:
        print(f"  CloudWatch Logs (us-east-1): {served.log_group} ({served.log_events} events)")
    if served.days:
        print(f"  times moved forward by {served.days} days (the answer key keeps the original times)")
    if args.out:
        print(f"  the scenario and its answer key are in {args.out}")
    else:
        print(f"  answer key: forensics scenario make {args.name} DIR --seed {args.seed} --noise {args.noise:g}")
    return 0


def run(args: argparse.Namespace) -> int:
    """Run the parsed command; return the exit status."""
    if args.action == "list":
        for info in list_scenarios():
            print(f"{info.name}: {info.title}")
            print(textwrap.indent(textwrap.fill(info.description, 88), "    "))
            print(f"    ATT&CK tactics: {', '.join(info.tactics)}")
        return 0
    if args.action == "serve":
        return _serve(args)
    out = make_scenario(args.name, args.out, seed=args.seed, noise=args.noise, overwrite=args.overwrite)
    print(f"wrote scenario {args.name} (seed {args.seed}) to {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run ``python -m forensics.scenarios``; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m forensics.scenarios", description="Generate incident scenarios with answer keys."
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except ForensicsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
