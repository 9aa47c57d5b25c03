"""Machine-readable results of a report: verdicts, findings and key answers as JSON.

A report notebook ends with one call that hands its answers to the runner::

    glue("triage", {"case_id": case_id, "window": incident, "load": report, ...})

:func:`glue` converts the values with :func:`jsonable` and displays them as an
``application/json`` output tagged ``{"forensics": {"results": name}}``. JupyterLab shows
it as a JSON tree; the HTML report drops it (only a one-line note stays); and
:func:`forensics.report.run_report` collects it from the executed notebook
(:func:`collect`) and writes ``<notebook>.results.json`` beside the HTML, with the
run's status and parameters (:func:`results_document`). Nothing is written from inside
the kernel, so exploring a notebook interactively leaves no files behind, and the
runner alone decides where results go.

The JSON is plain and stable: the keys are the ones each notebook passes (documented in
the README), times are ISO 8601 strings, durations are seconds, missing values are
``null``, frames are lists of row objects. Values that have no JSON form are refused,
never turned into their ``repr``. The runner's keys come first; the notebook's follow
with every object's keys sorted (the notebook format stores JSON that way), so the files
of two runs compare line by line.

:func:`load_verdict` and :func:`integrity_verdict` turn a load report and a digest-chain
validation into the one-line :class:`Verdict` shown in every report's title block.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from forensics.detect import Detections
from forensics.errors import ParameterError, ReportError
from forensics.integrity import TrailValidation
from forensics.loadreport import LoadReport
from forensics.window import Incident

#: Version of the results document; bumped when a key changes meaning.
RESULTS_VERSION = 1
#: MIME type of the output :func:`glue` displays.
MIME = "application/json"
#: Output metadata key that marks a :func:`glue` output.
MARK = "forensics"
#: Keys the runner writes; a notebook cannot use them.
RESERVED: tuple[str, ...] = ("results_version", "notebook", "status", "error", "parameters")
#: Suffix of the results file: ``<notebook>.results.json``.
SUFFIX = ".results.json"

Json = None | bool | int | float | str | list[Any] | dict[str, Any]


# ------------------------------------------------------------------------------ verdicts


@dataclass(frozen=True)
class Verdict:
    """A one-line conclusion for a report's title block and its results.

    Attributes
    ----------
    status
        A short word for machines (see :func:`load_verdict`, :func:`integrity_verdict`).
    ok
        True only when the evidence was positively checked and found complete or valid;
        "nothing to check" is never ok.
    text
        The line shown to readers; starts with the verdict in capitals when not ok.
    """

    status: str
    ok: bool
    text: str

    def __str__(self) -> str:
        return self.text


def load_verdict(report: LoadReport) -> Verdict:
    """Whether a load read everything: ``complete`` or ``incomplete``.

    Examples
    --------
    >>> from forensics.loadreport import LoadReport
    >>> load_verdict(LoadReport("logs/", None, None, pd.Timedelta("1h"), events=0)).text
    'complete: 0 events kept from 0 files read'
    """
    counts = report.status_counts()
    read = sum(counts[s] for s in ("loaded", "recovered", "partial"))
    if report.ok:
        return Verdict("complete", True, f"complete: {report.events:,} events kept from {read:,} files read")
    lost = [
        f"{counts['failed']:,} files failed" if counts["failed"] else "",
        f"{counts['partial']:,} files partly read" if counts["partial"] else "",
        f"{report.records_rejected:,} records rejected" if report.records_rejected else "",
        f"{len(report.gaps):,} locations unreadable" if len(report.gaps) else "",
    ]
    detail = ", ".join(part for part in lost if part)
    return Verdict("incomplete", False, f"INCOMPLETE: {detail}; see the load report")


def integrity_verdict(check: TrailValidation | None, digests: int = 0) -> Verdict:
    """What can be said about the integrity of the CloudTrail evidence.

    Parameters
    ----------
    check
        The result of :func:`forensics.validate_trail`, or ``None`` when no validation ran
        (no public keys were given).
    digests
        How many digest files were seen in the source (by the loader or a listing).

    Returns
    -------
    Verdict
        ``status`` is one of

        * ``verified``: every digest and log file verified, gaps explained, tails checked;
        * ``not-verified``: validation ran and found problems (the text lists them);
        * ``not-checked``: digest files exist but were not validated (no public keys), or
          the validator found no chain where digest files exist;
        * ``no-digests``: there is nothing to validate, so the evidence is unverified.

        Only ``verified`` is ok.
    """
    if check is not None and not check.chains.empty:
        if check.ok:
            logs = int((check.logs["status"] == "valid").sum())
            text = (f"VERIFIED: {len(check.chains):,} digest chains, {len(check.digests):,} digests and {logs:,} "
                    "log files valid; gaps explained; chain tails checked")  # fmt: skip
            return Verdict("verified", True, text)
        return Verdict("not-verified", False, "NOT VERIFIED: " + "; ".join(check.problems()))
    if digests == 0:
        return Verdict(
            "no-digests", False, "UNVERIFIED: no CloudTrail digest files found, so nothing could be verified"
        )
    if check is None:
        return Verdict(
            "not-checked",
            False,
            f"UNVERIFIED: {digests:,} digest files found but not validated; give public_keys (the output of "
            "`aws cloudtrail list-public-keys`) or run the integrity report",
        )
    return Verdict(
        "not-checked",
        False,
        f"UNVERIFIED: {digests:,} digest files are present but the validator found no digest chain in "
        f"{check.source}; validate the folder that holds AWSLogs/",
    )


# ------------------------------------------------------------------------------ to JSON


def jsonable(value: object) -> Json:
    """Convert a value into plain JSON data (dicts, lists, strings, numbers, booleans, null).

    * missing values (``None``, ``NaN``, ``pd.NA``, ``NaT``) and infinities become ``null``;
    * times become ISO 8601 strings (``2024-03-12T10:44:00+00:00``; a naive time stays
      without a zone), durations seconds;
    * numpy scalars become Python numbers, paths strings;
    * mappings become objects with string keys; lists, tuples and sets arrays (sets sorted);
    * a DataFrame becomes a list of row objects, a Series an object (index -> value);
    * a :class:`~forensics.loadreport.LoadReport`, a
      :class:`~forensics.integrity.TrailValidation`, a :class:`~forensics.detect.Detections`
      and an :class:`~forensics.window.Incident` become their summaries (see the README);
    * other dataclasses become objects of their fields.

    Raises
    ------
    ParameterError
        For a value with no JSON form (an arbitrary object is never written as its repr).
    """
    return _convert(value)


@functools.singledispatch
def _convert(value: object) -> Json:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _convert(getattr(value, f.name)) for f in dataclasses.fields(value)}
    raise ParameterError(f"a {type(value).__name__} has no JSON form for the results; convert it first")


@_convert.register(type(None))
@_convert.register(bool)
@_convert.register(str)
def _plain(value: None | bool | str) -> Json:
    return value


@_convert.register(int)
def _int(value: int) -> Json:
    return int(value)  # an IntEnum or a bool subclass becomes a plain int


@_convert.register(float)
def _float(value: float) -> Json:
    return float(value) if math.isfinite(value) else None


@_convert.register(np.generic)
def _numpy(value: np.generic) -> Json:
    return _convert(value.item())


@_convert.register(type(pd.NA))
def _na(value: object) -> Json:
    return None


@_convert.register(dt.datetime)
def _datetime(value: dt.datetime) -> Json:
    return None if pd.isna(value) else value.isoformat()


@_convert.register(dt.date)
def _date(value: dt.date) -> Json:
    return value.isoformat()


@_convert.register(dt.timedelta)
def _timedelta(value: dt.timedelta) -> Json:
    return None if pd.isna(value) else value.total_seconds()


@_convert.register(np.datetime64)
def _numpy_datetime(value: np.datetime64) -> Json:
    return _convert(pd.Timestamp(value) if not np.isnat(value) else None)  # naive stays naive


@_convert.register(np.timedelta64)
def _numpy_timedelta(value: np.timedelta64) -> Json:
    return _convert(pd.Timedelta(value) if not np.isnat(value) else None)


@_convert.register(enum.Enum)
def _enum(value: enum.Enum) -> Json:
    return _convert(value.value)


@_convert.register(os.PathLike)
def _path(value: os.PathLike[str]) -> Json:
    return os.fspath(value)


@_convert.register(Mapping)
def _mapping(value: Mapping[object, object]) -> Json:
    return {_key(k): _convert(v) for k, v in value.items()}


@_convert.register(list)
@_convert.register(tuple)
def _sequence(value: list[object] | tuple[object, ...]) -> Json:
    return [_convert(v) for v in value]


@_convert.register(set)
@_convert.register(frozenset)
def _set(value: set[object] | frozenset[object]) -> Json:
    return sorted((_convert(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))


@_convert.register(np.ndarray)
@_convert.register(pd.Index)
@_convert.register(pd.api.extensions.ExtensionArray)
def _array(value: np.ndarray | pd.Index | pd.api.extensions.ExtensionArray) -> Json:
    return [_convert(v) for v in value.tolist()]


@_convert.register(pd.Series)
def _series(value: pd.Series) -> Json:
    return {_key(k): _convert(v) for k, v in zip(value.index.tolist(), value.tolist(), strict=True)}


@_convert.register(pd.DataFrame)
def _frame(value: pd.DataFrame) -> Json:
    columns = [_key(c) for c in value.columns]
    if len(set(columns)) != len(columns):
        raise ParameterError(f"a frame with repeated column names {columns} has no JSON form")
    cells = [[_convert(v) for v in value.iloc[:, i].tolist()] for i in range(value.shape[1])]
    return [{c: cells[i][row] for i, c in enumerate(columns)} for row in range(len(value))]


@_convert.register(Incident)
def _incident(value: Incident) -> Json:
    return {"start": _convert(value.start), "end": _convert(value.end), "pad": _convert(value.pad)}


@_convert.register(LoadReport)
def _load_report(value: LoadReport) -> Json:
    verdict = load_verdict(value)
    return {
        "ok": value.ok,
        "verdict": verdict.text,
        "source": value.source,
        "start": _convert(value.start),
        "end": _convert(value.end),
        "events": value.events,
        "records_read": value.records_read,
        "records_rejected": value.records_rejected,
        "duplicates_dropped": value.duplicates_dropped,
        "outside_window": value.outside_window,
        "files": value.status_counts(),
        "problems": _convert(value.problems()),
        "gaps": _convert(value.gaps),
    }


@_convert.register(TrailValidation)
def _trail_validation(value: TrailValidation) -> Json:
    return {
        "ok": value.ok,
        "problems": value.problems(),
        "source": value.source,
        "start": _convert(value.start),
        "end": _convert(value.end),
        "acquired_at": _convert(value.acquired_at),
        "digests": _status_counts(value.digests),
        "logs": _status_counts(value.logs),
        "chains": _convert(value.chains),
        "gaps": _convert(value.gaps),
        "notes": list(value.notes),
    }


@_convert.register(Detections)
def _detections(value: Detections) -> Json:
    findings = value.findings[["rule_id", "title", "level", "tags", "eventID", "eventTime", "actor"]]
    return {
        "findings": _convert(findings),
        "attack": _convert(value.attack_summary()),
        "skipped": _convert(value.skipped[["rule_id", "title", "reason"]]),
    }


def _key(key: object) -> str:
    converted = _convert(key)
    return converted if isinstance(converted, str) else json.dumps(converted)


def _status_counts(frame: pd.DataFrame) -> dict[str, int]:
    return {str(k): int(v) for k, v in frame["status"].astype(str).value_counts().sort_index().items()}


def counts(values: pd.Series, top: int | None = None) -> dict[str, int]:
    """How often each value occurs, most frequent first (ties by value), missing values left out.

    Unused categories of a categorical series are not listed. (Once in a results file, the
    object's keys are sorted by value, like every JSON object there.)

    Examples
    --------
    >>> counts(pd.Series(["b", "a", "b", None]))
    {'b': 2, 'a': 1}
    """
    found = values.dropna().astype(str).value_counts()
    ordered = sorted(found.items(), key=lambda item: (-item[1], item[0]))
    return {value: int(n) for value, n in ordered[:top]}


# ------------------------------------------------------------------------------ glue and collect


def glue(name: str, results: Mapping[str, object]) -> None:
    """Hand a notebook's results to the report runner (call once, at the end).

    Parameters
    ----------
    name
        The notebook's name (``"triage"``); the runner writes ``<name>.results.json``.
    results
        Key -> value; values are converted by :func:`jsonable`. Keys of
        :data:`RESERVED` belong to the runner.

    Raises
    ------
    ParameterError
        For a reserved or non-string key, or a value with no JSON form.
    """
    bad = [k for k in results if not isinstance(k, str) or k in RESERVED]
    if bad:
        raise ParameterError(f"results keys {bad!r} are reserved or not strings; reserved: {list(RESERVED)}")
    data = jsonable(dict(results))
    note = f"Machine-readable results ({', '.join(results)}): {name}{SUFFIX} beside this report"
    from IPython.display import display

    display({MIME: data, "text/plain": note}, raw=True, metadata={MARK: {"results": name}})


def collect(notebook: Mapping[str, Any]) -> dict[str, Any] | None:
    """The results a notebook glued, merged in cell order; ``None`` when it glued none.

    Parameters
    ----------
    notebook
        An executed notebook (an ``nbformat`` node or its JSON as a dict).
    """
    found: dict[str, Any] | None = None
    for cell in notebook.get("cells", []):
        for output in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            mark = (output.get("metadata") or {}).get(MARK)
            if output.get("output_type") in ("display_data", "execute_result") and isinstance(mark, Mapping):
                data = (output.get("data") or {}).get(MIME)
                if not isinstance(data, Mapping):
                    raise ReportError(f"glued results of {mark.get('results')!r} are not a JSON object")
                found = {**(found or {}), **data}
    return found


def results_path(out_dir: str | os.PathLike[str], notebook: str) -> Path:
    """Where the runner writes a notebook's results: ``<out_dir>/<notebook>.results.json``."""
    return Path(out_dir) / f"{notebook}{SUFFIX}"


def results_document(
    notebook: str,
    results: Mapping[str, Any],
    *,
    status: str,
    error: str | None = None,
    parameters: Mapping[str, object] | None = None,
) -> dict[str, Any]:
    """The results file's content: the runner's keys first, then the notebook's.

    ``status`` is ``ok`` or ``failed``; a failed run keeps what was glued before the
    failure, and a key that was never glued is absent (never an empty "no findings").
    """
    clash = [k for k in results if k in RESERVED]
    if clash:
        raise ReportError(f"results of {notebook} use reserved keys {clash}", notebook)
    head: dict[str, Any] = {
        "results_version": RESULTS_VERSION,
        "notebook": notebook,
        "status": status,
        "error": error,
        "parameters": jsonable(dict(parameters or {})),
    }
    return head | dict(results)


def write_results(path: str | os.PathLike[str], document: Mapping[str, Any]) -> Path:
    """Write a results document as UTF-8 JSON (strict: no NaN), indented, keys in order."""
    target = Path(path)
    text = json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False)
    target.write_text(text + "\n", encoding="utf-8")
    return target


def read_results(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a results file written by :func:`write_results`.

    Raises
    ------
    ReportError
        If the file is not a results document of a known version.
    """
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReportError(f"cannot read results {path}: {exc}") from None
    if not isinstance(document, dict) or document.get("results_version") != RESULTS_VERSION:
        raise ReportError(f"{path} is not a results file of version {RESULTS_VERSION}")
    return document
