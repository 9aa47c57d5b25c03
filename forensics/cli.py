"""The ``forensics`` command line (also ``python -m forensics``).

Each verb lives in its own module, listed in :data:`COMMANDS` and imported only when that
verb runs. A verb module exposes two functions::

    def add_arguments(parser: argparse.ArgumentParser) -> None: ...
    def run(args: argparse.Namespace) -> int: ...

Errors derived from :class:`~forensics.errors.ForensicsError` are printed as one line
(no traceback) and give exit status 2, like usage errors.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType

from forensics.display import safe_text
from forensics.errors import ForensicsError

#: Exit status for errors (bad arguments, unreadable evidence, a failed notebook).
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130


@dataclass(frozen=True)
class Command:
    """A verb of the command line.

    Attributes
    ----------
    module
        Module exposing ``add_arguments(parser)`` and ``run(args) -> int``.
    help
        One line for ``forensics --help``.
    """

    module: str
    help: str


#: Verb name -> the module that implements it.
COMMANDS: dict[str, Command] = {
    "report": Command("forensics.report_cli", "run notebooks into HTML incident reports"),
    "validate": Command("forensics.integrity_cli", "check a trail's digest chains and log files"),
    "acquire": Command("forensics.acquire_cli", "copy a window of a trail from S3 into an evidence folder"),
    "scenario": Command("forensics.scenarios.cli", "generate training scenarios with answer keys"),
}


def version() -> str:
    """The installed version of the package."""
    try:
        return importlib.metadata.version("aws-forensics")
    except importlib.metadata.PackageNotFoundError:
        from forensics import __version__

        return __version__


def build_parser(verb: str | None = None) -> tuple[argparse.ArgumentParser, ModuleType | None]:
    """The argument parser, with the arguments of ``verb`` only (its module is imported).

    Returns
    -------
    tuple
        The parser and the imported module of ``verb`` (``None`` when no verb is given).
    """
    parser = argparse.ArgumentParser(
        prog="forensics",
        description="Investigate incidents in AWS accounts: CloudTrail, CloudWatch and notebook reports.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    verbs = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    module = None
    for name, command in COMMANDS.items():
        sub = verbs.add_parser(name, help=command.help, description=command.help)
        if name == verb:
            module = importlib.import_module(command.module)
            module.add_arguments(sub)
    return parser, module


def _verb(argv: Sequence[str]) -> str | None:
    return next((arg for arg in argv if not arg.startswith("-")), None)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    verb = _verb(args_list)
    try:
        parser, module = build_parser(verb if verb in COMMANDS else None)
        args = parser.parse_args(args_list)
        assert module is not None  # parse_args rejects unknown verbs
        return int(module.run(args))
    except SystemExit as exc:  # --help, --version and usage errors
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        return EXIT_ERROR
    except ForensicsError as exc:
        print(f"forensics {verb}: error: {safe_text(str(exc), 2000)}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("forensics: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
