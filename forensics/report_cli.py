"""``forensics report``: run notebooks into HTML reports (see :mod:`forensics.report`).

Examples
--------
::

    forensics report --sample --out reports/
    forensics report triage --param source=evidence/ --param start=2024-03-14T02:00:00Z \\
        --param end=2024-03-14T05:00:00Z --param case_id=IR-42
    forensics report all --sample
    forensics report --list
"""

from __future__ import annotations

import argparse
import os
import sys

from forensics.errors import ParameterError, ReportError
from forensics.report import (
    Parameter,
    available_notebooks,
    notebook_parameters,
    parse_assignments,
    resolve_notebook,
    run_report,
    validate_parameters,
)

ALL = "all"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``forensics report``."""
    parser.add_argument(
        "notebook",
        nargs="?",
        default="triage",
        help=f"notebook name ({', '.join(available_notebooks())}), a path to an .ipynb file, or '{ALL}' "
        "(default: triage)",
    )
    parser.add_argument(
        "--sample", action="store_true", help="run on the bundled sample incident (sets source, start, end, case_id)"
    )
    parser.add_argument(
        "--param",
        "-p",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set a notebook parameter; VALUE is read by the parameter's declared type (repeatable)",
    )
    parser.add_argument("--out", default="reports", metavar="DIR", help="output folder (default: reports)")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar, no summary")
    parser.add_argument("--list", action="store_true", help="list the notebooks and their parameters, then exit")


def _describe(name: str, declared: dict[str, Parameter]) -> str:
    lines = [name]
    for p in declared.values():
        lines.append(f"  {p.name}: {p.type or 'untyped'} = {p.default}" + (f"  # {p.help}" if p.help else ""))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Run ``forensics report``; returns the exit status."""
    # "all" means the report notebooks; exercises (training/...) take their own scenario and run by name
    names = [n for n in available_notebooks() if "/" not in n] if args.notebook == ALL else [args.notebook]
    declared = {name: notebook_parameters(resolve_notebook(name)) for name in names}
    if args.list:
        print("\n\n".join(_describe(resolve_notebook(n).stem, d) for n, d in declared.items()))
        return 0

    every = args.notebook == ALL
    if every:  # each notebook gets the parameters it declares; each parameter must fit one
        known = set().union(*(d.keys() for d in declared.values()))
        unknown = sorted({a.partition("=")[0].strip() for a in args.param} - known)
        if unknown:
            raise ParameterError(f"no notebook has the parameters {unknown}; known: {sorted(known)}")
    plans: list[tuple[str, dict[str, object]]] = []
    for name in names:
        mine = [a for a in args.param if a.partition("=")[0].strip() in declared[name]] if every else args.param
        parameters = parse_assignments(mine, declared[name])
        validate_parameters(parameters, declared[name], resolve_notebook(name).stem)
        plans.append((name, parameters))

    progress = not args.quiet and not os.environ.get("CI") and sys.stderr.isatty()
    failures: list[str] = []
    for name, parameters in plans:
        try:
            result = run_report(name, parameters, args.out, sample=args.sample, progress=progress)
        except ReportError as exc:
            if not every:
                raise
            failures.append(name)
            print(f"forensics report: error: {exc}", file=sys.stderr)
            continue
        if not args.quiet:
            seconds = (result.finished - result.started).total_seconds()
            also = ", ".join(p.name for p in (result.executed, result.manifest, result.results) if p)
            print(f"{result.notebook}: {result.html} ({seconds:.1f} s; also {also})")
    if failures:
        raise ReportError(f"{len(failures)} of {len(plans)} notebooks failed (see above): {', '.join(failures)}")
    return 0
