"""The report runner: notebook lookup, parameter checks, safe HTML, manifest, failing cells."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

from cloudtrail_builders import iam_user, record, write_log
from forensics import ParameterError, ReportError
from forensics import report as rp
from forensics.cli import EXIT_ERROR, main
from forensics.report import (
    Parameter,
    available_notebooks,
    effective_source,
    hash_inputs,
    notebook_parameters,
    notebook_path,
    parse_assignments,
    parse_value,
    resolve_notebook,
    run_report,
    validate_parameters,
)
from forensics.reporthtml import CSP, render_html
from forensics.results import read_results

DATA = Path(__file__).parent / "data"
FAILING = DATA / "failing.ipynb"


class Page(HTMLParser):
    """What a browser would build from a report: elements, attributes, text."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self._in_style = False
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if not self._in_style:
            self.text.append(data)

    def tags(self, name: str) -> list[dict[str, str | None]]:
        return [attrs for tag, attrs in self.elements if tag == name]

    @property
    def all_text(self) -> str:
        return "".join(self.text)


def assert_safe_page(page: Page) -> None:
    """No scripts or active content, no event handlers, nothing remote, our CSP."""
    assert page.tags("script") == []
    for tag in ("iframe", "object", "embed", "svg", "form", "base", "link"):
        assert page.tags(tag) == [], tag
    for tag, attrs in page.elements:
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name, value)
            if name in ("src", "href", "action", "formaction", "xlink:href"):
                assert value is not None
                assert value.startswith(("#", "data:image/png;base64,")), (tag, name, value[:80])
    assert [m.get("content") for m in page.tags("meta") if m.get("http-equiv") == "Content-Security-Policy"] == [CSP]


# --- finding notebooks ---------------------------------------------------------------------


def test_triage_is_found_in_the_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rp, "NOTEBOOK_PACKAGE", "forensics_no_such_package")
    assert notebook_path("triage") == rp.REPO_NOTEBOOKS / "triage.ipynb"
    assert "triage" in available_notebooks()


@pytest.mark.parametrize("regular", [True, False], ids=["package", "namespace-package"])
def test_package_data_is_found_and_wins_over_the_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, regular: bool
) -> None:
    package = tmp_path / f"h2_notebooks_{'regular' if regular else 'namespace'}"
    package.mkdir()
    if regular:
        (package / "__init__.py").write_text("")
    (package / "triage.ipynb").write_text((rp.REPO_NOTEBOOKS / "triage.ipynb").read_text())
    (package / "extra_one.ipynb").write_text(FAILING.read_text())
    (package / "not a name.ipynb").write_text(FAILING.read_text())
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(rp, "NOTEBOOK_PACKAGE", package.name)
    assert notebook_path("extra_one") == package / "extra_one.ipynb"
    assert notebook_path("triage") == package / "triage.ipynb"
    assert {"extra_one", "triage"} <= set(available_notebooks())
    assert "not a name" not in available_notebooks()


@pytest.mark.parametrize("name", ["nope", "../notebooks/triage", "triage.ipynb/..", ""])
def test_unknown_notebook_names_list_the_known_ones(name: str) -> None:
    with pytest.raises(ReportError, match=r"available: .*triage"):
        notebook_path(name)


def test_notebook_files_are_accepted_by_path(tmp_path: Path) -> None:
    assert resolve_notebook(str(FAILING)) == FAILING
    with pytest.raises(ReportError, match="no such notebook file"):
        resolve_notebook(tmp_path / "missing.ipynb")
    odd = tmp_path / "two words.ipynb"
    odd.write_text(FAILING.read_text())
    with pytest.raises(ReportError, match="letters, digits"):
        resolve_notebook(odd)


def test_declared_parameters_come_from_the_parameters_cell() -> None:
    assert notebook_parameters(FAILING) == {
        "message": Parameter("message", "str", '"boom"', "text of the error the notebook raises")
    }


# --- parameters ----------------------------------------------------------------------------

DECLARED = {
    "account_id": Parameter("account_id", "str", '"012345678901"', "account"),
    "source": Parameter("source", "str", '""', ""),
    "top": Parameter("top", "int", "10", ""),
    "ratio": Parameter("ratio", "float", "0.5", ""),
    "strict": Parameter("strict", "bool", "False", ""),
    "regions": Parameter("regions", "list[str]", "[]", ""),
    "tags": Parameter("tags", "dict", "{}", ""),
    "role": Parameter("role", "Optional[str]", "None", ""),
    "limit": Parameter("limit", "int", "None", ""),
    "free": Parameter("free", None, "1", ""),
}


def test_parameter_types_are_read_from_annotations() -> None:
    assert {n: p.python_type for n, p in DECLARED.items()} == {
        "account_id": str, "source": str, "top": int, "ratio": float, "strict": bool,
        "regions": list, "tags": dict, "role": str, "limit": int, "free": None,
    }  # fmt: skip
    assert [n for n, p in DECLARED.items() if p.optional] == ["role", "limit"]
    assert DECLARED["account_id"].default_value == "012345678901"


def test_valid_parameters_pass_and_are_normalised(tmp_path: Path) -> None:
    given = {
        "account_id": "012345678901", "source": tmp_path, "top": 3, "ratio": 1, "strict": True,
        "regions": ["us-east-1"], "tags": {"k": [1, None]}, "role": None, "limit": None, "free": {"any": 1.5},
    }  # fmt: skip
    checked = validate_parameters(given, DECLARED)
    assert checked == given | {"source": str(tmp_path), "ratio": 1.0}
    assert isinstance(checked["ratio"], float) and isinstance(checked["source"], str)


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"colour": "red"}, r"has no parameter 'colour'; its parameters are: account_id, source, top"),
        ({"a = 1\nimport os\nb": 1}, r"is not a Python identifier"),
        ({"1st": 1}, r"is not a Python identifier"),
        ({"class": 1}, r"is not a Python identifier"),
        ({"aws_secret_access_key": "x"}, r"looks like a secret"),
        ({"Password": "x"}, r"looks like a secret"),
        ({"session_token": "x"}, r"looks like a secret"),
        ({"api_key": "x"}, r"looks like a secret"),
        ({"account_id": 12345678901}, r"declared str, got int 12345678901 \(pass IDs as strings"),
        ({"top": "3"}, r"'top' is declared int, got str"),
        ({"top": True}, r"'top' is declared int, got bool"),
        ({"strict": 1}, r"'strict' is declared bool, got int"),
        ({"regions": "us-east-1"}, r"'regions' is declared list\[str\], got str"),
        ({"top": None}, r"'top' \(int\) cannot be None"),
        ({"source": dt.datetime(2024, 1, 1)}, r"a datetime cannot be passed"),
        ({"free": [object()]}, r"a list cannot be passed"),
        ({"tags": {1: "x"}}, r"a dict cannot be passed"),
    ],
)
def test_bad_parameters_are_refused_before_anything_runs(given: dict, message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        validate_parameters(given, DECLARED, "demo")


@pytest.mark.parametrize(
    ("name", "text", "value"),
    [
        ("account_id", "012345678901", "012345678901"),
        ("source", "", ""),
        ("top", "42", 42),
        ("ratio", "1e-3", 0.001),
        ("strict", "Yes", True),
        ("strict", "0", False),
        ("regions", '["us-east-1", "eu-west-1"]', ["us-east-1", "eu-west-1"]),
        ("tags", '{"team": "a=b"}', {"team": "a=b"}),
        ("role", "None", None),
        ("role", "admin", "admin"),
        ("limit", "null", None),
        ("free", "007", "007"),
    ],
)
def test_param_text_is_read_by_the_declared_type(name: str, text: str, value: object) -> None:
    parsed = parse_value(DECLARED[name], text)
    assert parsed == value and type(parsed) is type(value)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("top", "4x", r"'top' \(int\): cannot read '4x'"),
        ("strict", "maybe", "expected true or false"),
        ("regions", '{"a": 1}', "expected a JSON list"),
        ("tags", "[1", "cannot read"),
    ],
)
def test_unreadable_param_text_is_an_error(name: str, text: str, message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        parse_value(DECLARED[name], text)


def test_assignments_split_at_the_first_equals_sign() -> None:
    parsed = parse_assignments(["account_id=012345678901", " top =7", "free=a=b", "unknown=1"], DECLARED)
    assert parsed == {"account_id": "012345678901", "top": 7, "free": "a=b", "unknown": "1"}
    with pytest.raises(ParameterError, match="name=value"):
        parse_assignments(["top"], DECLARED)


def test_unknown_parameter_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="failing has no parameter 'colour'; its parameters are: message"):
        run_report(FAILING, {"colour": "red"}, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_run_never_overwrites_its_source_notebook(tmp_path: Path) -> None:
    source = tmp_path / "failing.ipynb"
    source.write_bytes(FAILING.read_bytes())
    with pytest.raises(ReportError, match="would overwrite its source"):
        run_report(source, {}, tmp_path)
    assert source.read_bytes() == FAILING.read_bytes()


# --- HTML ----------------------------------------------------------------------------------


def hostile_notebook() -> nbformat.NotebookNode:
    """An executed notebook whose outputs hold one payload per sink (nbconvert's own list)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}

    def out(mime: str, value: object) -> nbformat.NotebookNode:
        return nbformat.v4.new_output("display_data", data={mime: value, "text/plain": "fallback"})

    cell = nbformat.v4.new_code_cell("print('code is hidden')", execution_count=1)
    cell.outputs = [
        out("text/html", '<script>alert("H1")</script><table><thead><tr><th>h</th></tr></thead>'
            '<tbody><tr><td>cell</td></tr></tbody></table><style>body{display:none}</style>'),
        out("text/html", '<img src=x onerror=alert("H2")><a href="javascript:alert(3)">J3</a>'
            '<a href="https://evil.example/x">R4</a><iframe src="https://evil.example/f"></iframe>'),
        out("application/javascript", 'alert("JS5")'),
        out("image/svg+xml", '<svg onload="alert(6)"><script>alert("S6")</script></svg>'),
        out("text/markdown", '<script>alert("M7")</script> **md** $x^2$'),
        out("text/vnd.mermaid", "graph TD; A-->B['<img src=x onerror=alert(8)>']"),
        out("application/vnd.jupyter.widget-view+json", {"model_id": "x", "version_major": 2}),
        nbformat.v4.new_output(
            "display_data",
            data={"image/png": "iVBORw0KGgo="},
            metadata={"image/png": {"alt": '"><script>alert("ALT")</script>'}, "filenames": {"image/png": "x.png"}},
        ),
        nbformat.v4.new_output("stream", name="stdout", text="\x1b[30;40mansi P9\x1b[0m <b>T10</b>"),
        nbformat.v4.new_output("error", ename="ValueError", evalue="<script>E11</script>", traceback=["<i>tb</i>"]),
    ]  # fmt: skip
    nb.cells = [
        nbformat.v4.new_markdown_cell('# Title\n\n<script>alert("MD12")</script> ${aws:username}'),
        cell,
        nbformat.v4.new_raw_cell('<script>alert("RAW13")</script>', metadata={"format": "text/html"}),
    ]
    return nb


def test_rendered_html_is_inert_offline_and_keeps_tables(tmp_path: Path) -> None:
    executed = tmp_path / "hostile.ipynb"
    nbformat.write(hostile_notebook(), executed)
    page = Page(render_html(executed, tmp_path / "hostile.html").read_text(encoding="utf-8"))
    assert_safe_page(page)
    assert {"table", "thead", "tbody", "tr", "th", "td"} <= {tag for tag, _ in page.elements}
    assert [(img["src"], img["alt"]) for img in page.tags("img")] == [
        ("data:image/png;base64,iVBORw0KGgo=", '"><script>alert("ALT")</script>')
    ]
    text = page.all_text
    assert "print('code is hidden')" not in text
    assert "body{display:none}" not in "".join(a.get("style") or "" for _, a in page.elements)
    assert "JS5" not in text and "alert(6)" not in text
    assert "\\x1b[30;40mansi P9\\x1b[0m <b>T10</b>" in text  # controls in printed text made visible
    assert "<i>tb</i>" in text  # tracebacks are escaped text
    assert "${aws:username}" in text


# --- manifest helpers ----------------------------------------------------------------------


def test_inputs_are_hashed_without_following_links(tmp_path: Path) -> None:
    root = tmp_path / "evidence"
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "b" / "log.json").write_bytes(b'{"Records": []}')
    (root / "top.json").write_bytes(b"x")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.json").write_bytes(b"s")
    os.symlink(outside, root / "linked-dir")
    os.symlink(outside / "secret.json", root / "linked.json")
    sha = lambda b: hashlib.sha256(b).hexdigest()  # noqa: E731
    assert hash_inputs(str(root)) == {
        "source": str(root),
        "kind": "folder",
        "files": [
            {"path": "linked.json", "symlink": str(outside / "secret.json")},
            {"path": "top.json", "bytes": 1, "sha256": sha(b"x")},
            {"path": "linked-dir", "symlink": str(outside)},
            {"path": "a/b/log.json", "bytes": 15, "sha256": sha(b'{"Records": []}')},
        ],
    }
    assert hash_inputs(str(root / "top.json"))["files"] == [{"path": "top.json", "bytes": 1, "sha256": sha(b"x")}]
    assert hash_inputs("s3://bucket/AWSLogs/") == {"source": "s3://bucket/AWSLogs/", "kind": "remote", "files": []}
    assert hash_inputs(str(tmp_path / "gone"))["kind"] == "missing"


def test_empty_source_means_the_bundled_sample() -> None:
    from forensics.sample import sample_cloudtrail_path

    declared = {"source": Parameter("source", "str", '""', "")}
    assert effective_source({}, declared) == str(sample_cloudtrail_path())
    assert effective_source({"source": ""}, declared) == str(sample_cloudtrail_path())
    assert effective_source({"source": "/evidence"}, declared) == "/evidence"
    assert effective_source({}, {}) is None


# --- running (kernels) ---------------------------------------------------------------------


@pytest.mark.slow
def test_a_failing_cell_names_the_cell_and_still_writes_everything(tmp_path: Path) -> None:
    with pytest.raises(ReportError) as caught:
        run_report(FAILING, {"message": "disk <full>"}, tmp_path)
    error = caught.value
    assert (error.notebook, error.cell_index) == ("failing", 3)
    assert str(error).startswith("failing (cell 3): ValueError: disk <full> in `raise ValueError(message)`")
    executed = nbformat.read(tmp_path / "failing.ipynb", as_version=4)
    assert executed.metadata.papermill.exception is True
    page = Page((tmp_path / "failing.html").read_text(encoding="utf-8"))
    assert_safe_page(page)
    assert "before the failure" in page.all_text and "never reached" not in page.all_text
    manifest = json.loads((tmp_path / "failing.manifest.json").read_text())
    assert manifest["status"] == "failed"
    assert manifest["error"] == {"message": str(error), "cell_index": 3}
    assert manifest["parameters"] == {"message": "disk <full>"}
    assert manifest["inputs"] is None  # the notebook has no source parameter
    assert manifest["results"] is None and not (tmp_path / "failing.results.json").exists()  # it glued nothing


def glueing_notebook(path: Path, fail: bool) -> Path:
    """A small report notebook that glues results, then fails if asked to."""
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    parameters = nbformat.v4.new_code_cell('case_id: str = "IR-1"  # case identifier')
    parameters.metadata["tags"] = ["parameters"]
    nb.cells = [
        parameters,
        nbformat.v4.new_code_cell(
            "import pandas as pd\nfrom forensics.results import glue\n"
            f'glue("{path.stem}", {{"case_id": case_id, "events": 3, "first": pd.Timestamp("2024-03-14T02:00Z")}})'
        ),
        nbformat.v4.new_code_cell('raise RuntimeError("after the results")' if fail else 'print("done")'),
    ]
    nbformat.write(nb, path)
    return path


@pytest.mark.slow
def test_results_glued_before_a_failure_are_written_with_the_failure(tmp_path: Path) -> None:
    notebook = glueing_notebook(tmp_path / "partial.ipynb", fail=True)
    with pytest.raises(ReportError) as caught:
        run_report(notebook, {"case_id": "0123"}, tmp_path / "out")
    results = tmp_path / "out" / "partial.results.json"
    assert read_results(results) == {
        "results_version": 1, "notebook": "partial", "status": "failed", "error": str(caught.value),
        "parameters": {"case_id": "0123"}, "case_id": "0123", "events": 3, "first": "2024-03-14T02:00:00+00:00",
    }  # fmt: skip
    manifest = json.loads((tmp_path / "out" / "partial.manifest.json").read_text())
    assert manifest["results"] == "partial.results.json"
    assert manifest["outputs"]["partial.results.json"] == {
        "bytes": results.stat().st_size, "sha256": hashlib.sha256(results.read_bytes()).hexdigest()
    }
    page = Page((tmp_path / "out" / "partial.html").read_text(encoding="utf-8"))
    assert_safe_page(page)
    assert "Machine-readable results (case_id, events, first): partial.results.json beside this report" in page.all_text
    assert '"events"' not in page.all_text  # the JSON itself stays out of the HTML


@pytest.mark.slow
def test_report_all_runs_every_notebook_and_names_the_one_that_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "notebooks"
    folder.mkdir()
    glueing_notebook(folder / "good.ipynb", fail=False)
    (folder / "failing.ipynb").write_bytes(FAILING.read_bytes())
    monkeypatch.setattr(rp, "NOTEBOOK_PACKAGE", "forensics_no_such_package")
    monkeypatch.setattr(rp, "REPO_NOTEBOOKS", folder)
    code = main(["report", "all", "--sample", "--out", str(tmp_path / "out"), "-q"])
    _, err = capsys.readouterr()
    assert code == EXIT_ERROR
    assert "forensics report: error: failing (cell 3): ValueError: boom" in err
    assert err.rstrip().endswith("1 of 2 notebooks failed (see above): failing")
    good = read_results(tmp_path / "out" / "good.results.json")  # the others still ran
    assert (good["status"], good["case_id"]) == ("ok", "SAMPLE")


PAYLOADS = {
    "eventName": '<script>alert("N1")</script>',
    "eventSource": '<img src=x onerror=alert("S2")>',
    "awsRegion": '"><svg onload=alert("R3")>',
    "sourceIPAddress": '<a href="javascript:alert(4)">I4</a>',
    "userAgent": "\x1b[30;40mU5 hidden\x1b[0m $U5^2$ {{7*7}}",
    "errorCode": "</td></tr></table><iframe src=//evil.example/E6>",
}


@pytest.mark.slow
def test_triage_report_of_hostile_evidence_is_inert_and_shows_every_payload(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = iam_user('x<b onmouseover="alert(7)">A7</b>')
    evidence = tmp_path / "evidence"
    log = write_log(evidence, "20240314T0300Z", [record("x1", "2024-03-14T02:30:00Z", identity=user, **PAYLOADS)])
    monkeypatch.chdir(tmp_path)  # a relative source is read from here, not from the kernel's folder
    parameters = {
        "source": "evidence",
        "start": "2024-03-14T02:00:00Z",
        "end": "2024-03-14T03:00:00Z",
        "case_id": "IR-7 <script>alert('C8')</script>\u202e",
    }
    result = run_report("triage", parameters, tmp_path / "out")
    assert (result.executed, result.html, result.manifest) == tuple(
        tmp_path / "out" / f"triage{s}" for s in (".ipynb", ".html", ".manifest.json")
    )
    page = Page(result.html.read_text(encoding="utf-8"))
    assert_safe_page(page)
    assert page.tags("img")[0]["src"].startswith("data:image/png;base64,")
    shown = page.all_text
    for field, payload in PAYLOADS.items():
        assert payload.replace("\x1b", "\\x1b") in shown, field
    assert user["arn"] in shown
    assert "IR-7 <script>alert('C8')</script><U+202E>" in shown

    manifest = json.loads(result.manifest.read_text())
    assert manifest["status"] == "ok" and manifest["error"] is None
    assert manifest["parameters"] == parameters | {"source": str(evidence)}
    assert manifest["inputs"]["files"] == [
        {"path": log.relative_to(evidence).as_posix(), "bytes": log.stat().st_size,
         "sha256": hashlib.sha256(log.read_bytes()).hexdigest()}
    ]  # fmt: skip
    for path in (result.executed, result.html):
        assert manifest["outputs"][path.name]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert manifest["versions"]["papermill"] and manifest["versions"]["kernel_python"]
    assert dt.datetime.fromisoformat(manifest["started"]) <= dt.datetime.fromisoformat(manifest["finished"])
