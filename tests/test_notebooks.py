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

from forensics.reporthtml import CSP
from forensics.report import available_notebooks, is_secret_name, notebook_parameters, run_report, sha256_file
from forensics.results import read_results
from forensics.sample import SAMPLE_END, SAMPLE_START, sample_answer_key

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((REPO / "notebooks").rglob("*.ipynb"))
IDS = [p.relative_to(REPO / "notebooks").as_posix() for p in NOTEBOOKS]
#: Parameters every notebook takes (issue 10).
COMMON = ("source", "start", "end", "case_id")
#: The report notebooks (``forensics report all`` runs them); each writes ``<name>.results.json``.
REPORTS = ("triage", "actor", "resource", "alarm", "integrity")
#: Reports made of tables only (every other notebook shows at least one figure).
TABLES_ONLY = ("integrity",)
ANNOTATIONS = {"str", "int", "float", "bool", "list", "dict"}
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def test_there_are_notebooks() -> None:
    assert {f"{name}.ipynb" for name in REPORTS} <= set(IDS)
    assert set(REPORTS) <= set(available_notebooks())


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


def defaults(name: str) -> dict[str, object]:
    return {n: p.default_value for n, p in notebook_parameters(REPO / "notebooks" / f"{name}.ipynb").items()}


def test_report_notebooks_default_to_the_bundled_sample_incident() -> None:
    sample = {"source": "", "start": SAMPLE_START, "end": SAMPLE_END, "case_id": "SAMPLE", "context": "1h"}
    key = sample_answer_key()
    assert defaults("triage") == sample | {"public_keys": "", "object_metadata": ""}
    assert defaults("actor") == sample | {"actor": key["attacker"]["access_key_ids"]["leaked"][0]}
    assert defaults("resource") == sample | {"resource": "arn:aws:s3:::acme-customer-exports"}
    assert defaults("resource")["resource"] in key["resources_touched"]
    assert defaults("alarm") == sample | dict.fromkeys(("metrics", "queries", "alarms", "alarm_history", "alarm_name"), "")
    assert defaults("integrity") == sample | {"public_keys": "", "object_metadata": "", "acquired_at": ""}


@pytest.mark.parametrize("name", REPORTS)
def test_report_notebook_glues_its_results_under_its_own_name_once(name: str) -> None:
    calls = [
        node
        for cell in read(REPO / "notebooks" / f"{name}.ipynb").cells
        if cell.cell_type == "code"
        for node in ast.walk(ast.parse(cell.source))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "glue"
    ]
    assert [ast.literal_eval(call.args[0]) for call in calls] == [name]


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
    figures = [a for tag, a in page.elements if tag == "img" and a["src"].startswith("data:image/png;base64,")]
    assert figures or path.stem in TABLES_ONLY
    assert {"http-equiv": "Content-Security-Policy", "content": CSP} in [a for tag, a in page.elements if tag == "meta"]
    manifest = json.loads(html.with_suffix("").with_suffix(".manifest.json").read_text())
    assert manifest["status"] == "ok" and manifest["inputs"]["files"]
    if path.stem in REPORTS:
        results = html.with_name(f"{path.stem}.results.json")
        assert manifest["results"] == results.name
        assert manifest["outputs"][results.name]["sha256"] == sha256_file(results)
        document = read_results(results)
        assert (document["notebook"], document["status"], document["error"]) == (path.stem, "ok", None)
        assert document["case_id"] == "SAMPLE" and document["window"]["start"] == "2024-03-12T10:30:00+00:00"


# --- what each report concludes on the sample, against the sample's answer key ---------------


def sample_results(reports: dict[str, Path], name: str) -> dict:
    return read_results(reports[name].with_name(f"{name}.results.json"))


def attacker_events() -> list[dict]:
    return [event for stage in sample_answer_key()["stages"] for event in stage["events"]]


@pytest.mark.slow
def test_triage_finds_the_attack_and_says_the_sample_is_unverified(sample_reports: dict[str, Path]) -> None:
    results = sample_results(sample_reports, "triage")
    assert results["load"]["ok"] is True and results["validation"] is None
    assert results["integrity"] == {
        "status": "no-digests", "ok": False,
        "text": "UNVERIFIED: no CloudTrail digest files found, so nothing could be verified",
    }  # fmt: skip
    caught = ("AttachUserPolicy", "CreateAccessKey", "DeleteBucketPublicAccessBlock", "PutBucketPolicy", "PutBucketAcl",
              "StopDBInstance", "PutFunctionConcurrency20171031")  # fmt: skip
    expected = {e["eventID"] for e in attacker_events() if e["eventName"] in caught}
    assert len(expected) == len(caught)
    findings = results["detections"]["findings"]
    assert expected <= {f["eventID"] for f in findings}
    # the exports land beside the report and the manifest hashes them
    html = sample_reports["triage"]
    assert results["exports"] == ["triage.events.csv", "triage.findings.csv", "triage.xlsx"]
    manifest = json.loads(html.with_suffix("").with_suffix(".manifest.json").read_text())
    for name in results["exports"]:
        assert manifest["outputs"][name]["sha256"] == sha256_file(html.parent / name)
    attack = {(a["tactic"], a["technique"]) for a in results["detections"]["attack"]}
    assert {("impact", "T1489"), ("persistence", "T1098.001"), ("collection", "T1530")} <= attack


@pytest.mark.slow
def test_actor_report_of_the_leaked_key_matches_the_answer_key(sample_reports: dict[str, Path]) -> None:
    from collections import Counter

    key = sample_answer_key()
    leaked = key["attacker"]["access_key_ids"]["leaked"][0]
    used = [e for e in attacker_events() if e["accessKeyId"] == leaked]
    results = sample_results(sample_reports, "actor")
    assert (results["actor"], results["calls"]) == (leaked, len(used))
    assert results["event_names"] == dict(Counter(e["eventName"] for e in used))
    assert results["error_codes"] == dict(Counter(e["errorCode"] for e in used if e["errorCode"]))
    assert results["identities"] == dict(Counter(e["actor"] for e in used))
    assert set(results["source_ips"]) <= set(key["attacker"]["source_ips"])
    assert (results["first_call"], results["last_call"]) == (
        min(e["eventTime"] for e in used).replace("Z", "+00:00"), max(e["eventTime"] for e in used).replace("Z", "+00:00")
    )
    reached = {row["node"]: row for row in results["led_to"]}
    assert set(key["resources_touched"]) <= set(reached)
    assert reached[leaked]["reached"] is None  # the origin
    role = key["attacker"]["roles_assumed"][0]
    assert reached[role["sessionArn"]]["reached"] == role["eventTime"].replace("Z", "+00:00")


@pytest.mark.slow
def test_resource_report_of_the_bucket_traces_the_chain_back_to_the_leaked_key(sample_reports: dict[str, Path]) -> None:
    key = sample_answer_key()
    results = sample_results(sample_reports, "resource")
    bucket = "arn:aws:s3:::acme-customer-exports"
    assert (results["resource"], results["arns"]) == (bucket, [bucket])
    exfiltration = next(s for s in key["stages"] if s["stage"] == "exfiltration")["events"]
    changes = {c["eventID"]: c for c in results["changes"]}
    for event in exfiltration:
        assert changes[event["eventID"]]["actor"] == event["actor"]
    assert {e["eventID"] for e in exfiltration if e["eventName"].startswith("Delete")} <= {
        c["eventID"] for c in results["lifecycle"]
    }
    role = key["attacker"]["roles_assumed"][0]
    chain = {*key["attacker"]["access_key_ids"]["leaked"], *key["attacker"]["access_key_ids"]["created"],
             "arn:aws:iam::012345678901:user/ci-deploy", "arn:aws:iam::012345678901:user/jane.admin",
             role["roleArn"], role["sessionArn"], role["accessKeyId"]}  # fmt: skip
    assert chain <= {row["node"] for row in results["led_here"]}


@pytest.mark.slow
def test_alarm_report_names_the_calls_that_caused_each_alarm(sample_reports: dict[str, Path]) -> None:
    key = sample_answer_key()
    results = sample_results(sample_reports, "alarm")
    fired = {
        alarm["alarm"]: transition["caused_by"]
        for alarm in key["alarms"]
        for transition in alarm["transitions"]
        if transition["to"] == "ALARM" and SAMPLE_START <= transition["timestamp"] <= SAMPLE_END
    }
    assert results["alarms"] == sorted(fired)
    best = {cause["alarm_name"]: cause for cause in results["causes"]}
    assert set(best) == set(fired)
    for alarm, caused_by in fired.items():
        assert best[alarm]["eventID"] in caused_by, alarm
        assert best[alarm]["confidence"] == "high"
    assert results["metric_data"]["queries"] and results["alarm_history"]["issues"] == []


@pytest.mark.slow
def test_integrity_report_of_the_sample_says_unverified(sample_reports: dict[str, Path]) -> None:
    results = sample_results(sample_reports, "integrity")
    assert {k: results[k] for k in ("integrity", "digest_files", "validation", "acquisition_manifest")} == {
        "integrity": {"status": "no-digests", "ok": False,
                      "text": "UNVERIFIED: no CloudTrail digest files found, so nothing could be verified"},
        "digest_files": 0, "validation": None, "acquisition_manifest": None,
    }  # fmt: skip
    # the verdict is on the page, not only in the JSON
    assert "UNVERIFIED: no CloudTrail digest files found" in sample_reports["integrity"].read_text(encoding="utf-8")


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
