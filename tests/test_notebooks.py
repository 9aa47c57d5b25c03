"""Hygiene of every notebook under notebooks/, and each one run on the bundled sample."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

from forensics.report import CSP, is_secret_name, notebook_parameters, run_report

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((REPO / "notebooks").rglob("*.ipynb"))
IDS = [p.relative_to(REPO / "notebooks").as_posix() for p in NOTEBOOKS]
#: Parameters every notebook takes (issue 10).
COMMON = ("source", "start", "end", "case_id")
ANNOTATIONS = {"str", "int", "float", "bool", "list", "dict"}
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def test_there_are_notebooks() -> None:
    assert "triage.ipynb" in IDS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_is_stripped_and_portable(path: Path) -> None:
    nb = read(path)
    nbformat.validate(nb)
    assert nb.metadata == {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
    }
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.id
        assert set(cell.metadata) <= {"tags"}, cell.id
        assert "injected-parameters" not in cell.metadata.get("tags", [])
    ids = [cell.id for cell in nb.cells]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_is_thin(path: Path) -> None:
    """No functions or classes: logic belongs in the package, where it is tested."""
    for cell in read(path).cells:
        if cell.cell_type == "code":
            tree = ast.parse(cell.source)
            kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
            defined = [type(n).__name__ for n in ast.walk(tree) if isinstance(n, kinds)]
            assert defined == [], cell.id


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_parameters_are_typed_commented_and_seen_by_papermill(path: Path) -> None:
    tagged = [cell for cell in read(path).cells if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1
    statements = ast.parse(tagged[0].source).body
    declared = []
    for statement in statements:
        assert isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name), ast.unparse(statement)
        assert ast.unparse(statement.annotation) in ANNOTATIONS, ast.unparse(statement)
        ast.literal_eval(statement.value)
        declared.append(statement.target.id)
    seen = notebook_parameters(path)
    assert list(seen) == declared  # papermill drops lines it cannot parse (e.g. a second "=")
    assert all(p.help for p in seen.values()), "every parameter has a comment"
    assert [name for name in declared if is_secret_name(name)] == []
    assert {name: seen[name].type for name in COMMON} == dict.fromkeys(COMMON, "str")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_papermill_help_notebook_shows_the_typed_parameters(path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "papermill", "--help-notebook", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    for p in notebook_parameters(path).values():
        assert f"  {p.name}: {p.type} (default {p.default})" in done.stdout
        assert p.help in done.stdout


def test_triage_defaults_run_on_the_bundled_sample() -> None:
    from forensics.sample import SAMPLE_END, SAMPLE_START

    defaults = {name: p.default_value for name, p in notebook_parameters(REPO / "notebooks" / "triage.ipynb").items()}
    assert defaults == {"source": "", "start": SAMPLE_START, "end": SAMPLE_END, "case_id": "SAMPLE", "context": "1h"}


class Page(HTMLParser):
    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.feed(markup)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))


@pytest.fixture(scope="module")
def sample_reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every notebook run once on the bundled sample (with the notebook's defaults)."""
    out = tmp_path_factory.mktemp("reports")
    return {path.stem: run_report(path, {}, out, sample=True).html for path in NOTEBOOKS}


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_runs_on_the_sample_into_a_safe_offline_report(path: Path, sample_reports: dict[str, Path]) -> None:
    html = sample_reports[path.stem]
    executed = read(html.with_suffix(".ipynb"))
    problems = [
        (cell.id, out.get("name") or out.get("ename"))
        for cell in executed.cells
        for out in cell.get("outputs", [])
        if out.output_type == "error" or out.get("name") == "stderr"
    ]
    assert problems == [], "errors or warnings in the report"
    page = Page(html.read_text(encoding="utf-8"))
    assert [a for tag, a in page.elements if tag == "script"] == []
    links = [v for _, a in page.elements for k, v in a.items() if k in ("src", "href")]
    assert [v for v in links if not v.startswith(("#", "data:image/png;base64,"))] == []
    assert any(tag == "img" and a["src"].startswith("data:image/png;base64,") for tag, a in page.elements)
    assert {"http-equiv": "Content-Security-Policy", "content": CSP} in [a for tag, a in page.elements if tag == "meta"]
    manifest = json.loads(html.with_suffix("").with_suffix(".manifest.json").read_text())
    assert manifest["status"] == "ok" and manifest["inputs"]["files"]


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian: apt-get install chromium)")
def test_triage_report_renders_in_headless_chromium(sample_reports: dict[str, Path], tmp_path: Path) -> None:
    from matplotlib import image

    shot = tmp_path / "triage.png"
    command = [
        str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1200,2000", f"--screenshot={shot}",
        sample_reports["triage"].as_uri(),
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _, stderr = process.communicate(timeout=90)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr[-2000:]
    pixels = image.imread(shot)
    assert pixels.shape[:2] == (2000, 1200)
    rgb = pixels[..., :3]
    assert rgb.std() > 0.05, "the page is blank"
    # The events-over-time plot has coloured bars; text and tables are grey-scale.
    saturation = rgb.max(axis=-1) - rgb.min(axis=-1)
    assert (saturation > 0.3).mean() > 0.002, "no coloured figure on the page"
