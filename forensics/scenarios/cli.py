"""The ``scenario`` verb: ``python -m forensics.scenarios list|make`` (and ``forensics scenario ...``).

Example::

    python -m forensics.scenarios make leaked-key forensics/sample_data --seed 7 --overwrite
"""

from __future__ import annotations

import argparse
import sys
import textwrap

from forensics.errors import ForensicsError
from forensics.scenarios import DEFAULT_SEED, list_scenarios, make_scenario


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``list`` and ``make`` subcommands to ``parser`` (also used by ``forensics scenario``)."""
    commands = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    commands.add_parser("list", help="list the scenarios")
    make = commands.add_parser("make", help="generate a scenario's data and answer key into a folder")
    make.add_argument("name", help="scenario name, see `list`")
    make.add_argument("out", help="folder to write (must be empty unless --overwrite)")
    make.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    make.add_argument("--noise", type=float, default=1.0, help="scale of the benign background (default 1.0)")
    make.add_argument("--overwrite", action="store_true", help="replace the contents of a non-empty folder")


def run(args: argparse.Namespace) -> int:
    """Run the parsed command; return the exit status."""
    if args.action == "list":
        for info in list_scenarios():
            print(f"{info.name}: {info.title}")
            print(textwrap.indent(textwrap.fill(info.description, 88), "    "))
            print(f"    ATT&CK tactics: {', '.join(info.tactics)}")
        return 0
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
