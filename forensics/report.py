"""Run a notebook into an incident report: checked parameters, papermill, safe HTML, manifest.

>>> from forensics.report import run_report
>>> result = run_report("triage", {"case_id": "IR-42"}, "reports", sample=True)  # doctest: +SKIP
>>> result.html                                                                   # doctest: +SKIP
PosixPath('reports/triage.html')

A run writes its files into the output folder, named after the notebook (never after a
parameter value): ``<name>.ipynb`` (the executed notebook), ``<name>.html`` (the report,
without code), ``<name>.results.json`` (the verdicts, findings and key answers the notebook
handed over with :func:`forensics.results.glue`, when it did) and ``<name>.manifest.json``
(parameters, SHA-256 of the input files and of the outputs, library versions, start and
end of the run).

Parameters are checked against the notebook's ``parameters`` cell *before* anything runs:
names must be identifiers that the notebook declares, secret-like names are refused (the
values would be stored in the outputs), and values must fit the declared type. Values given
as text (``--param name=value``) are converted according to that type, so an account ID
declared ``str`` keeps its leading zero.

The HTML is safe to open although it shows attacker-controlled strings; see
:mod:`forensics.reporthtml`.
"""

from __future__ import annotations

import ast
import datetime as dt
import glob
import hashlib
import importlib.metadata
import importlib.resources
import json
import keyword
import os
import platform
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat
import papermill
from papermill.exceptions import PapermillExecutionError

from forensics.display import safe_text
from forensics.errors import ParameterError, ReportError
from forensics.reporthtml import render_html
from forensics.results import collect, results_document, results_path, write_results

#: Package holding the notebooks when installed; the repository's ``notebooks/`` otherwise.
NOTEBOOK_PACKAGE = "forensics.notebooks"
REPO_NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
#: Value of a notebook's ``source`` parameter that stands for the bundled sample's CloudTrail
#: (:func:`forensics.sample.sample_cloudtrail_path`).
SAMPLE_SOURCE = ""
SAMPLE_CASE_ID = "SAMPLE"
#: Distributions whose versions go into the manifest.
VERSIONED: tuple[str, ...] = (
    "aws-forensics", "pandas", "numpy", "pyarrow", "matplotlib", "networkx", "msgspec", "boto3",
    "botocore", "papermill", "nbconvert", "nbformat", "nbclient", "ipykernel", "jupyter_client",
)  # fmt: skip
MANIFEST_VERSION = 1

_NOTEBOOK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
_SECRET = re.compile(r"secret|passw|token|credential|private_?key|api_?key|session_?key", re.IGNORECASE)
_TYPES: dict[str, type] = {"str": str, "int": int, "float": float, "bool": bool, "list": list, "dict": dict}
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}



@dataclass(frozen=True)
class Parameter:
    """One parameter declared in a notebook's ``parameters`` cell.

    Attributes
    ----------
    name
        Variable name.
    type
        The annotation as written (``"str"``, ``"int"``, ``"Optional[str]"``, ...), or
        ``None`` when the parameter has no annotation.
    default
        The default value as source text (``'"SAMPLE"'``).
    help
        The comment after the assignment.
    """

    name: str
    type: str | None
    default: str
    help: str

    @property
    def python_type(self) -> type | None:
        """The declared base type (``list`` for ``list[str]``), or ``None`` if untyped or unknown."""
        inner = _unwrap_optional(self.type or "")
        return _TYPES.get(inner.split("[", 1)[0].strip().lower())

    @property
    def optional(self) -> bool:
        """Whether ``None`` is an acceptable value (``Optional[...]`` or a ``None`` default)."""
        return self.default == "None" or _unwrap_optional(self.type or "") != (self.type or "")

    @property
    def default_value(self) -> object:
        """The default as a Python value (``None`` when it is not a literal)."""
        try:
            return ast.literal_eval(self.default)
        except (ValueError, SyntaxError):
            return None


@dataclass(frozen=True)
class ReportResult:
    """The files a successful run wrote.

    Attributes
    ----------
    notebook
        Name of the notebook (the stem of its file).
    executed, html, manifest
        Paths of the executed notebook, the HTML report and the run manifest.
    parameters
        The parameters passed to the notebook (after checking).
    started, finished
        When the run started and finished (UTC).
    results
        Path of ``<name>.results.json``, or ``None`` when the notebook glued no results.
    """

    notebook: str
    executed: Path
    html: Path
    manifest: Path
    parameters: dict[str, object]
    started: dt.datetime
    finished: dt.datetime
    results: Path | None = None


# --- notebooks ---------------------------------------------------------------------------


def _notebook_files() -> dict[str, Path]:
    """Name -> file of every notebook; the package data wins over the repository folder.

    Notebooks one folder down are named ``folder/name`` (the exercises: ``training/leaked-key``).
    """
    found: dict[str, Path] = {}
    try:
        # A regular or a namespace package; on a file system its children are Paths.
        entries = list(importlib.resources.files(NOTEBOOK_PACKAGE).iterdir())
    except (ModuleNotFoundError, FileNotFoundError, NotADirectoryError):
        entries = []
    if REPO_NOTEBOOKS.is_dir():
        entries += sorted(REPO_NOTEBOOKS.iterdir())
    for entry in entries:
        if not isinstance(entry, Path):
            continue
        if entry.is_dir() and _NOTEBOOK_NAME.fullmatch(entry.name):
            inside = [(f"{entry.name}/", child) for child in sorted(entry.iterdir())]
        else:
            inside = [("", entry)]
        for folder, path in inside:
            name, suffix = os.path.splitext(path.name)
            if suffix == ".ipynb" and path.is_file() and _NOTEBOOK_NAME.fullmatch(name):
                found.setdefault(folder + name, path)
    return found


def available_notebooks() -> tuple[str, ...]:
    """Names of the notebooks that :func:`run_report` can run, sorted."""
    return tuple(sorted(_notebook_files()))


def notebook_path(name: str) -> Path:
    """Path of the notebook called ``name``.

    Looks in the installed package data (``forensics.notebooks``) first, then in the
    repository's ``notebooks/`` folder (editable installs and source checkouts).

    Raises
    ------
    ReportError
        If there is no such notebook.
    """
    files = _notebook_files()
    if name in files:
        return files[name]
    known = ", ".join(sorted(files)) or "none found"
    raise ReportError(f"no notebook named {name[:80]!r}; available: {known}")


def resolve_notebook(notebook: str | os.PathLike[str]) -> Path:
    """A notebook name (see :func:`available_notebooks`) or a path to an ``.ipynb`` file."""
    text = os.fspath(notebook)
    if not text.endswith(".ipynb"):
        return notebook_path(text)
    path = Path(text)
    if not path.is_file():
        raise ReportError("no such notebook file", notebook=text)
    if not _NOTEBOOK_NAME.fullmatch(path.stem):
        raise ReportError("notebook file names may hold only letters, digits, '_' and '-'", notebook=text)
    return path


def notebook_parameters(notebook: str | os.PathLike[str]) -> dict[str, Parameter]:
    """The parameters a notebook declares, as ``papermill --help-notebook`` sees them."""
    path = resolve_notebook(notebook)
    found = papermill.inspect_notebook(str(path))
    return {
        name: Parameter(name, _annotation(p["inferred_type_name"]), p["default"], p["help"])
        for name, p in found.items()
    }


# --- parameters --------------------------------------------------------------------------


def _annotation(inferred: str) -> str | None:
    """papermill writes "None" for a parameter without annotation."""
    return None if inferred == "None" else inferred


def _unwrap_optional(annotation: str) -> str:
    match = re.fullmatch(r"\s*Optional\[(.*)\]\s*", annotation)
    return match.group(1) if match else annotation


def is_secret_name(name: str) -> bool:
    """Whether a parameter name looks like it would carry a secret (password, token, ...)."""
    return bool(_SECRET.search(name))


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise ParameterError(f"parameter name {name!r:.80} is not a Python identifier")
    if is_secret_name(name):
        raise ParameterError(
            f"parameter {name!r} looks like a secret; secrets are never parameters (they would be stored "
            "in the executed notebook and the manifest). Use an AWS profile or the environment instead"
        )
    return name


def _is_plain(value: object) -> bool:
    if value is None or isinstance(value, (str, bool, int, float)):
        return True
    if isinstance(value, list):
        return all(_is_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_plain(v) for k, v in value.items())
    return False


def _check_value(param: Parameter, value: object) -> object:
    expected = param.python_type
    if isinstance(value, os.PathLike) and expected in (str, None):
        value = os.fspath(value)
    if not _is_plain(value):
        raise ParameterError(
            f"parameter {param.name!r}: a {type(value).__name__} cannot be passed; "
            "use str, int, float, bool, None, or lists and dicts of those"
        )
    if value is None:
        if param.optional or expected is None:
            return None
        raise ParameterError(f"parameter {param.name!r} ({param.type}) cannot be None")
    if expected is None:
        return value
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        hint = " (pass IDs as strings so leading zeros survive)" if expected is str else ""
        raise ParameterError(
            f"parameter {param.name!r} is declared {param.type}, got {type(value).__name__} {value!r:.80}{hint}"
        )
    return value


def validate_parameters(
    parameters: Mapping[str, object], declared: Mapping[str, Parameter], notebook: str = "notebook"
) -> dict[str, object]:
    """Check parameters against a notebook's declarations.

    Parameters
    ----------
    parameters
        Name to value; values are str, int, float, bool, None, or lists/dicts of those
        (``os.PathLike`` is accepted for ``str`` parameters and converted).
    declared
        The notebook's parameters (:func:`notebook_parameters`).
    notebook
        Name used in messages.

    Returns
    -------
    dict
        The parameters, with paths turned into strings and ints into floats where the
        notebook declares ``float``.

    Raises
    ------
    ParameterError
        For a name that is not an identifier, looks like a secret, or is unknown to the
        notebook (the message lists the known ones), and for a value of the wrong type.
    """
    checked: dict[str, object] = {}
    for name, value in parameters.items():
        _check_name(name)
        if name not in declared:
            known = ", ".join(declared) or "none"
            raise ParameterError(f"{notebook} has no parameter {name!r}; its parameters are: {known}")
        checked[name] = _check_value(declared[name], value)
    return checked


def parse_value(param: Parameter, text: str) -> object:
    """Convert the text of ``--param name=text`` according to the declared type.

    ``str`` and untyped parameters take the text as it is; ``int``, ``float`` and
    ``bool`` (true/false, yes/no, on/off, 1/0) are parsed; ``list`` and ``dict`` are JSON;
    ``None``/``null`` gives ``None`` for optional parameters.
    """
    expected = param.python_type
    if param.optional and text in ("None", "null"):
        return None
    try:
        if expected is int:
            return int(text)
        if expected is float:
            return float(text)
        if expected is bool:
            if text.lower() in _TRUE | _FALSE:
                return text.lower() in _TRUE
            raise ValueError("expected true or false")
        if expected in (list, dict):
            value = json.loads(text)
            if not isinstance(value, expected):
                raise ValueError(f"expected a JSON {expected.__name__}")
            return value
    except ValueError as exc:
        raise ParameterError(f"parameter {param.name!r} ({param.type}): cannot read {text[:80]!r}: {exc}") from None
    return text


def parse_assignments(assignments: Sequence[str], declared: Mapping[str, Parameter]) -> dict[str, object]:
    """Parse ``name=value`` texts (the CLI's ``--param``) by the notebook's declared types.

    Names are checked by :func:`validate_parameters`; an undeclared name keeps its text.
    """
    parsed: dict[str, object] = {}
    for item in assignments:
        name, sep, text = item.partition("=")
        if not sep:
            raise ParameterError(f"--param {item[:80]!r} is not of the form name=value")
        name = name.strip()
        parsed[name] = parse_value(declared[name], text) if name in declared else text
    return parsed


def sample_parameters() -> dict[str, object]:
    """Parameters that point a notebook at the bundled sample incident."""
    from forensics.sample import SAMPLE_END, SAMPLE_START, sample_cloudtrail_path

    source = str(sample_cloudtrail_path())
    return {"source": source, "start": SAMPLE_START, "end": SAMPLE_END, "case_id": SAMPLE_CASE_ID}


# --- running -----------------------------------------------------------------------------


def run_report(
    notebook: str | os.PathLike[str],
    parameters: Mapping[str, object] | None = None,
    out_dir: str | os.PathLike[str] = "reports",
    *,
    sample: bool = False,
    progress: bool = False,
) -> ReportResult:
    """Run a notebook with papermill and write its HTML report and manifest.

    Parameters
    ----------
    notebook
        A notebook name (``"triage"``; see :func:`available_notebooks`) or a path to an
        ``.ipynb`` file.
    parameters
        Values for the notebook's parameters; checked by :func:`validate_parameters`.
        A relative local ``source`` is made absolute (against the caller's working
        directory), because the kernel runs in ``out_dir``.
    out_dir
        Folder for ``<name>.ipynb``, ``<name>.html``, ``<name>.results.json`` and
        ``<name>.manifest.json``; it is also the kernel's working directory.
    sample
        Point ``source``, ``start``, ``end`` and ``case_id`` at the bundled sample
        (:func:`sample_parameters`); explicit ``parameters`` win.
    progress
        Show papermill's progress bar.

    Returns
    -------
    ReportResult

    Raises
    ------
    ParameterError
        If a parameter is unknown, badly named, secret-like or of the wrong type
        (nothing has run then).
    ReportError
        If the notebook does not exist or a cell failed; the message names the cell and
        the exception. The executed notebook, its HTML, the results glued before the
        failure (``"status": "failed"``) and the manifest (with the error) are still written.
    """
    path = resolve_notebook(notebook)
    name = path.stem
    declared = notebook_parameters(path)
    given = dict(parameters or {})
    if sample:
        given = {k: v for k, v in sample_parameters().items() if k in declared} | given
    checked = validate_parameters(given, declared, name)
    source = checked.get("source")
    if isinstance(source, str) and source != SAMPLE_SOURCE and "://" not in source:
        checked["source"] = os.path.abspath(source)  # the kernel runs in out_dir, not here

    out = Path(out_dir)
    executed, html, manifest = (out / f"{name}{suffix}" for suffix in (".ipynb", ".html", ".manifest.json"))
    results = results_path(out, name)
    if executed.resolve() == path.resolve():
        raise ReportError(
            f"the executed notebook would overwrite its source; choose an output folder other than {out}", name
        )
    out.mkdir(parents=True, exist_ok=True)
    for stale in (executed, html, results, manifest, *_exports(out, name)):
        stale.unlink(missing_ok=True)
    os.environ.setdefault("JUPYTER_PREFER_ENV_PATH", "1")
    started = _now()
    failure: ReportError | None = None
    try:
        papermill.execute_notebook(
            str(path),
            str(executed),
            parameters=checked,
            kernel_name="python3",
            cwd=str(out),
            progress_bar=progress,
            log_output=False,
        )
    except PapermillExecutionError as exc:
        failure = _cell_failure(path, exc, executed)
    except Exception as exc:  # kernel missing or dead: still write what we can
        failure = ReportError(f"could not run the notebook: {type(exc).__name__}: {exc}", notebook=name)
        failure.__cause__ = exc
    finished = _now()
    if executed.is_file():
        try:
            render_html(executed, html)
        except Exception as exc:  # nbconvert or template trouble: the manifest still records the run
            failure = failure or ReportError(f"could not render the HTML: {type(exc).__name__}: {exc}", name)
        failure = _write_results(results, executed, name, checked, failure)
    _write_manifest(manifest, path, checked, declared, executed, html, results, started, finished, failure)
    if failure is not None:
        raise failure
    glued = results if results.is_file() else None
    return ReportResult(name, executed, html, manifest, checked, started, finished, glued)


def _exports(out: Path, name: str) -> list[Path]:
    """The CSV/XLSX exports a notebook wrote beside its report (see :mod:`forensics.export`)."""
    stem = Path(name).name
    return sorted(out.glob(f"{glob.escape(stem)}.*.csv")) + [p for p in [out / f"{stem}.xlsx"] if p.is_file()]


def _write_results(
    target: Path, executed: Path, name: str, parameters: dict[str, object], failure: ReportError | None
) -> ReportError | None:
    """Write the results the notebook glued, if any; returns the run's failure (a new one if this fails)."""
    try:
        glued = collect(nbformat.read(executed, as_version=4))
        if glued is not None:
            status, error = ("failed", str(failure)) if failure else ("ok", None)
            write_results(target, results_document(name, glued, status=status, error=error, parameters=parameters))
    except (ReportError, ParameterError, ValueError) as exc:  # the report still gets its manifest
        return failure or ReportError(f"could not write the results: {exc}", name)
    return failure


def _cell_failure(path: Path, exc: PapermillExecutionError, executed: Path) -> ReportError:
    """A ReportError naming the failing cell by its index in the source notebook."""
    source = nbformat.read(path, as_version=4)
    index = next((i for i, cell in enumerate(source.cells) if cell.source == exc.source), exc.cell_index)
    first_line = next((line for line in exc.source.splitlines() if line.strip()), "")
    message = (
        f"{exc.ename}: {safe_text(exc.evalue, 300)} in `{safe_text(first_line.strip(), 80)}`; "
        f"the executed notebook is {executed}"
    )
    error = ReportError(message, notebook=path.stem, cell_index=index)
    error.__cause__ = exc
    return error


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --- manifest ----------------------------------------------------------------------------


def sha256_file(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes, as hex."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def hash_inputs(source: str) -> dict[str, object]:
    """Describe and hash the input files under ``source`` (a local file or folder).

    Folders are walked without following symbolic links; a link is listed with its target
    and not hashed. A remote or missing source is described, not hashed.
    """
    if "://" in source:
        return {"source": source, "kind": "remote", "files": []}
    root = Path(source)
    if root.is_file():
        return {"source": source, "kind": "file", "files": [_file_entry(root, root.name)]}
    if not root.is_dir():
        return {"source": source, "kind": "missing", "files": []}
    files: list[dict[str, object]] = []
    for folder, dirs, names in os.walk(root, followlinks=False):
        dirs.sort()
        for entry in sorted(names) + sorted(d for d in dirs if os.path.islink(os.path.join(folder, d))):
            path = Path(folder, entry)
            files.append(_file_entry(path, path.relative_to(root).as_posix()))
    return {"source": source, "kind": "folder", "files": files}


def _file_entry(path: Path, name: str) -> dict[str, object]:
    if path.is_symlink():
        return {"path": name, "symlink": os.readlink(path)}
    if not path.is_file():
        return {"path": name, "skipped": "not a regular file"}
    try:
        return {"path": name, "bytes": path.stat().st_size, "sha256": sha256_file(path)}
    except OSError as exc:
        return {"path": name, "error": f"{type(exc).__name__}: {exc.strerror or exc}"}


def effective_source(parameters: Mapping[str, object], declared: Mapping[str, Parameter]) -> str | None:
    """The ``source`` a run reads: the passed value, else the declared default.

    :data:`SAMPLE_SOURCE` (the empty string) stands for the bundled sample data.
    ``None`` when the notebook has no ``source`` parameter.
    """
    if "source" not in declared:
        return None
    value = parameters.get("source", declared["source"].default_value)
    if value == SAMPLE_SOURCE and "scenario_dir" in declared:  # an exercise: empty source = its own trail
        folder = parameters.get("scenario_dir", declared["scenario_dir"].default_value)
        return str(Path(str(folder), "AWSLogs")) if folder else None
    if value == SAMPLE_SOURCE:
        from forensics.sample import sample_cloudtrail_path

        return str(sample_cloudtrail_path())
    return None if value is None else str(value)


def package_versions() -> dict[str, str | None]:
    """Versions of Python and of the libraries a report depends on (``None``: not installed)."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for dist in VERSIONED:
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = None
    return versions


def _write_manifest(
    manifest: Path,
    notebook: Path,
    parameters: dict[str, object],
    declared: Mapping[str, Parameter],
    executed: Path,
    html: Path,
    results: Path,
    started: dt.datetime,
    finished: dt.datetime,
    failure: ReportError | None,
) -> None:
    source = effective_source(parameters, declared)
    outputs = {
        p.name: {"bytes": p.stat().st_size, "sha256": sha256_file(p)}
        for p in (executed, html, results, *_exports(html.parent, notebook.stem))
        if p.is_file()
    }
    kernel = None
    if executed.is_file():
        kernel = nbformat.read(executed, as_version=4).metadata.get("language_info", {}).get("version")
    document = {
        "manifest_version": MANIFEST_VERSION,
        "notebook": notebook.stem,
        "notebook_file": str(notebook.resolve()),
        "notebook_sha256": sha256_file(notebook),
        "status": "failed" if failure else "ok",
        "error": None if failure is None else {"message": str(failure), "cell_index": failure.cell_index},
        "parameters": parameters,
        "started": started.isoformat(),
        "finished": finished.isoformat(),
        "seconds": round((finished - started).total_seconds(), 3),
        "inputs": None if source is None else hash_inputs(source),
        "outputs": outputs,
        "results": results.name if results.is_file() else None,
        "versions": package_versions() | {"kernel_python": kernel},
        "platform": platform.platform(),
    }
    manifest.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
