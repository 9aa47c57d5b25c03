"""Machine-readable results: verdicts, the JSON form of values, glue -> collect -> file."""

from __future__ import annotations

import datetime as dt
import enum
import gzip
import json
import math
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric import rsa
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from integrity.signed_trail import START, Signer, Trail

from cloudtrail_builders import iam_user, record, write_log
from forensics import ParameterError, ReportError, detect, load_cloudtrail, validate_trail
from forensics.detect import SUITE_RULES
from forensics.results import (
    MARK,
    MIME,
    RESULTS_VERSION,
    Verdict,
    collect,
    counts,
    glue,
    integrity_verdict,
    jsonable,
    load_verdict,
    read_results,
    results_document,
    results_path,
    write_results,
)
from forensics.window import Incident

UTC = dt.timezone.utc


# ------------------------------------------------------------------------------ JSON form


class Colour(enum.Enum):
    RED = "red"


def test_plain_values_and_missing_values_have_one_json_form(tmp_path: Path) -> None:
    value = {
        "none": None, "nan": float("nan"), "inf": -math.inf, "na": pd.NA, "nat": pd.NaT, "npnat": np.datetime64("NaT"),
        "int": np.int64(7), "float": np.float32(0.5), "bool": np.bool_(True), "text": "x\u202ey",
        "aware": pd.Timestamp("2024-03-12T10:44:00Z"), "pydt": dt.datetime(2024, 3, 12, 11, 0, tzinfo=UTC),
        "naive": np.datetime64("2024-03-12T10:44:00"), "date": dt.date(2024, 3, 12),
        "lag": pd.Timedelta("1min 5.5s"), "pytd": dt.timedelta(hours=1), "path": tmp_path / "a.json",
        "enum": Colour.RED, "tuple": (1, "a"), "set": {"b", "a"}, "array": np.array([1, 2]),
        "categorical": pd.Categorical(["x", None]), 3: "int key",
    }  # fmt: skip
    assert jsonable(value) == {
        "none": None, "nan": None, "inf": None, "na": None, "nat": None, "npnat": None,
        "int": 7, "float": 0.5, "bool": True, "text": "x\u202ey",
        "aware": "2024-03-12T10:44:00+00:00", "pydt": "2024-03-12T11:00:00+00:00",
        "naive": "2024-03-12T10:44:00", "date": "2024-03-12",
        "lag": 65.5, "pytd": 3600.0, "path": str(tmp_path / "a.json"),
        "enum": "red", "tuple": [1, "a"], "set": ["a", "b"], "array": [1, 2],
        "categorical": ["x", None], "3": "int key",
    }  # fmt: skip
    assert type(jsonable(np.int64(7))) is int and type(jsonable(True)) is bool


def test_frames_become_rows_and_series_objects() -> None:
    frame = pd.DataFrame(
        {
            "eventTime": pd.to_datetime(["2024-03-12T10:44:00Z", None]).astype("datetime64[us, UTC]"),
            "actor": pd.Categorical(["arn:aws:iam::012345678901:user/ci-deploy", None]),
            "count": [3, 4],
            "share": [0.5, float("nan")],
            "readOnly": pd.array([True, None], dtype="boolean"),
            "text": pd.array(["a", None], dtype="str"),
        }
    )
    assert jsonable(frame) == [
        {"eventTime": "2024-03-12T10:44:00+00:00", "actor": "arn:aws:iam::012345678901:user/ci-deploy", "count": 3,
         "share": 0.5, "readOnly": True, "text": "a"},
        {"eventTime": None, "actor": None, "count": 4, "share": None, "readOnly": None, "text": None},
    ]  # fmt: skip
    assert jsonable(frame.iloc[:0]) == []
    assert jsonable(pd.Series({"GetObject": 3, "ListBuckets": 1})) == {"GetObject": 3, "ListBuckets": 1}
    with pytest.raises(ParameterError, match="repeated column names"):
        jsonable(pd.DataFrame([[1, 2]], columns=["a", "a"]))


@pytest.mark.parametrize("value", [object(), {"key": [1, object()]}, b"bytes", 1j])
def test_values_without_a_json_form_are_refused_not_stringified(value: object) -> None:
    with pytest.raises(ParameterError, match="has no JSON form"):
        jsonable(value)


def test_counts_leave_out_missing_values_and_unused_categories() -> None:
    values = pd.Series(pd.Categorical(["b", "a", "b", None, "c"], categories=["a", "b", "c", "unused"]))
    assert list(counts(values).items()) == [("b", 2), ("a", 1), ("c", 1)]
    assert counts(values, top=1) == {"b": 2}
    assert counts(pd.Series([], dtype="str")) == {}


def test_an_incident_is_its_window_and_padding() -> None:
    incident = Incident("2024-03-12T10:30:00Z", "2024-03-12T12:15:00+01:00", pad="30min")
    assert jsonable(incident) == {"start": "2024-03-12T10:30:00+00:00", "end": "2024-03-12T11:15:00+00:00", "pad": 1800.0}


# ------------------------------------------------------------------------------ load verdict


def test_a_complete_load_is_summarised_with_its_counts(small_trail) -> None:
    report = load_cloudtrail(small_trail.path, start=small_trail.start, end=small_trail.end, progress=False).report
    assert load_verdict(report) == Verdict("complete", True, "complete: 6 events kept from 1 files read")
    summary = jsonable(report)
    assert {k: summary[k] for k in ("ok", "verdict", "events", "records_read", "outside_window", "problems", "gaps")} == {
        "ok": True, "verdict": "complete: 6 events kept from 1 files read", "events": 6, "records_read": 8,
        "outside_window": 2, "problems": [], "gaps": [],
    }  # fmt: skip
    assert summary["files"] == {"loaded": 1} | dict.fromkeys(("recovered", "partial", "failed", "skipped", "ignored", "pruned"), 0)
    assert (summary["start"], summary["end"]) == ("2024-03-14T02:00:00+00:00", "2024-03-14T03:00:00+00:00")


def test_an_incomplete_load_says_what_was_lost(tmp_path: Path) -> None:
    root = tmp_path / "trail"
    write_log(root, "20240314T0235Z", [record("e1", "2024-03-14T02:30:00Z")])
    broken = write_log(root, "20240314T0240Z", [record("e2", "2024-03-14T02:31:00Z")], unique="Broken0000000000")
    broken.write_bytes(gzip.compress(b'{"Records": [{"eventID": "e2"'))  # cut off inside the first record
    report = load_cloudtrail(root, start="2024-03-14T02:00:00Z", end="2024-03-14T03:00:00Z", progress=False).report
    verdict = load_verdict(report)
    assert (verdict.status, verdict.ok) == ("incomplete", False)
    assert verdict.text.startswith("INCOMPLETE: ") and verdict.text.endswith("; see the load report")
    lost = report.status_counts()
    assert lost["failed"] + lost["partial"] == 1
    assert ("1 files failed" if lost["failed"] else "1 files partly read") in verdict.text
    problems = jsonable(report)["problems"]
    assert [(p["path"], p["status"]) for p in problems] == [(str(broken), "failed" if lost["failed"] else "partial")]


# ------------------------------------------------------------------------------ integrity verdict


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Trail, Path, Path, Path]:
    """A three-hour signed chain in us-east-1 written as `aws s3 sync` leaves it, with keys and metadata."""
    trail = Trail(Signer(rsa.generate_private_key(public_exponent=65537, key_size=2048)))
    trail.chain("us-east-1", START, 3)
    folder = tmp_path_factory.mktemp("signed")
    root = trail.write(folder / "evidence")
    return trail, root, trail.public_keys_file(folder / "keys.json"), trail.metadata_file(folder / "metadata.json")


def _validate(root: Path, keys: Path, metadata: Path):  # noqa: ANN202 - the TrailValidation of the inner window
    inside = {"start": "2024-03-14T00:30:00Z", "end": "2024-03-14T02:30:00Z"}
    return validate_trail(root, public_keys=keys, object_metadata=metadata, acquired_at="2024-03-14T03:10:00Z", **inside)


def test_nothing_to_check_is_unverified_never_ok() -> None:
    assert integrity_verdict(None) == Verdict(
        "no-digests", False, "UNVERIFIED: no CloudTrail digest files found, so nothing could be verified"
    )
    assert integrity_verdict(None, digests=3) == Verdict(
        "not-checked",
        False,
        "UNVERIFIED: 3 digest files found but not validated; give public_keys (the output of "
        "`aws cloudtrail list-public-keys`) or run the integrity report",
    )


def test_a_valid_chain_is_verified_and_summarised(signed) -> None:
    trail, root, keys, metadata = signed
    check = _validate(root, keys, metadata)
    assert integrity_verdict(check, digests=3) == Verdict(
        "verified", True,
        "VERIFIED: 1 digest chains, 3 digests and 6 log files valid; gaps explained; chain tails checked",
    )  # fmt: skip
    summary = jsonable(check)
    assert {k: summary[k] for k in ("ok", "problems", "digests", "logs", "gaps", "notes", "acquired_at")} == {
        "ok": True, "problems": [], "digests": {"valid": 3}, "logs": {"valid": 6}, "gaps": [], "notes": [],
        "acquired_at": "2024-03-14T03:10:00+00:00",
    }  # fmt: skip
    (chain,) = summary["chains"]
    assert (chain["chain"], chain["digests"], chain["valid"], chain["tail"]) == (
        "012345678901/us-east-1/org_audit.trail", 3, 3, "ok"
    )
    json.dumps(summary, allow_nan=False)  # strict JSON


def test_a_changed_log_is_not_verified_and_says_why(signed, tmp_path: Path) -> None:
    trail, root, keys, metadata = signed
    copy = tmp_path / "evidence"
    trail.write(copy)
    changed = copy / trail.logs[trail.digests["us-east-1"][1]][0]
    changed.write_bytes(gzip.compress(b'{"Records": []}'))
    verdict = integrity_verdict(_validate(copy, keys, metadata), digests=3)
    assert verdict == Verdict("not-verified", False, "NOT VERIFIED: 1 log file(s) hash-mismatch")


def test_digests_the_validator_cannot_see_are_not_checked(signed) -> None:
    _, root, keys, metadata = signed
    inside = _validate(root / "AWSLogs", keys, metadata)  # the loader's usual root: the same chain
    assert not inside.chains.empty and integrity_verdict(inside, digests=3).status == "verified"
    logs_only = next((root / "AWSLogs").glob("*/CloudTrail"))  # below the digests: none visible
    blind = _validate(logs_only, keys, metadata)
    assert blind.chains.empty
    assert integrity_verdict(blind, digests=3) == Verdict(
        "not-checked",
        False,
        f"UNVERIFIED: 3 digest files are present but the validator found no digest chain in {logs_only}; "
        "validate the folder that holds AWSLogs/",
    )
    assert integrity_verdict(blind, digests=0).status == "no-digests"


# ------------------------------------------------------------------------------ detections


def test_detections_become_findings_attack_pairs_and_skipped_rules(tmp_path: Path) -> None:
    stop = record("s1", "2024-03-14T02:30:00Z", name="StopLogging", source="cloudtrail.amazonaws.com",
                  identity=iam_user("mallory"), readOnly=False, requestParameters={"name": "org-trail"})  # fmt: skip
    write_log(tmp_path, "20240314T0235Z", [stop, record("e1", "2024-03-14T02:31:00Z")])
    events = load_cloudtrail(tmp_path, progress=False).events
    rule = yaml.safe_load((SUITE_RULES / "aws_cloudtrail_stopped_or_deleted.yml").read_text())
    summary = jsonable(detect(events))
    assert summary["findings"] == [
        {"rule_id": rule["id"], "title": rule["title"], "level": rule["level"], "tags": ", ".join(rule["tags"]),
         "eventID": "s1", "eventTime": "2024-03-14T02:30:00+00:00", "actor": "arn:aws:iam::012345678901:user/mallory"}
    ]  # fmt: skip
    assert summary["attack"] == [
        {"tactic": "defense-evasion", "technique": "T1562.008",
         "technique_name": "Impair Defenses: Disable or Modify Cloud Logs", "rules": 1, "events": 1}
    ]  # fmt: skip
    assert summary["skipped"] and all(s["reason"].startswith("needs a baseline") for s in summary["skipped"])


# ------------------------------------------------------------------------------ glue -> collect -> file


def glued(name: str, results: dict) -> nbformat.NotebookNode:
    """The display output a real IPython shell publishes for ``glue``, as a notebook output."""
    InteractiveShell.instance()
    with capture_output() as captured:
        glue(name, results)
    (output,) = captured.outputs
    return nbformat.v4.new_output("display_data", data=output.data, metadata=output.metadata)


def code_cell(*outputs: nbformat.NotebookNode) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell("")
    cell.outputs = list(outputs)
    return cell


def test_glue_publishes_json_with_a_mark_and_a_plain_note() -> None:
    output = glued("triage", {"case_id": "IR-1", "window": Incident("2024-03-12T10:30:00Z", "2024-03-12T12:15:00Z")})
    assert output.metadata == {MARK: {"results": "triage"}}
    assert output.data[MIME] == {
        "case_id": "IR-1",
        "window": {"start": "2024-03-12T10:30:00+00:00", "end": "2024-03-12T12:15:00+00:00", "pad": 3600.0},
    }
    assert output.data["text/plain"] == "Machine-readable results (case_id, window): triage.results.json beside this report"


@pytest.mark.parametrize(("results", "message"), [({"status": "ok"}, "reserved"), ({1: "x"}, "reserved or not strings"),
                                                  ({"when": object()}, "has no JSON form")])  # fmt: skip
def test_glue_refuses_reserved_keys_and_values_without_json(results: dict, message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        glue("triage", results)


def test_collect_merges_marked_outputs_in_cell_order_and_ignores_the_rest() -> None:
    other = nbformat.v4.new_output("display_data", data={MIME: {"events": 999}, "text/plain": "someone else's JSON"})
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("text"),
        code_cell(glued("triage", {"events": 1, "load": {"ok": True}}), other),
        code_cell(nbformat.v4.new_output("stream", name="stdout", text="x")),
        code_cell(glued("triage", {"events": 2})),
    ]
    assert collect(nb) == {"events": 2, "load": {"ok": True}}
    nb.cells = nb.cells[:1]
    assert collect(nb) is None
    broken = nbformat.v4.new_output("display_data", data={"text/plain": "x"}, metadata={MARK: {"results": "triage"}})
    with pytest.raises(ReportError, match="glued results of 'triage' are not a JSON object"):
        collect({"cells": [code_cell(broken)]})


def test_results_file_puts_the_run_first_and_round_trips(tmp_path: Path) -> None:
    path = results_path(tmp_path, "actor")
    assert path == tmp_path / "actor.results.json"
    document = results_document(
        "actor", {"calls": 21, "actor": "AKIA\u202e"}, status="failed", error="actor (cell 5): boom",
        parameters={"source": tmp_path, "case_id": "0123"},
    )  # fmt: skip
    assert list(document) == ["results_version", "notebook", "status", "error", "parameters", "calls", "actor"]
    write_results(path, document)
    assert read_results(path) == {
        "results_version": RESULTS_VERSION, "notebook": "actor", "status": "failed", "error": "actor (cell 5): boom",
        "parameters": {"source": str(tmp_path), "case_id": "0123"}, "calls": 21, "actor": "AKIA\u202e",
    }  # fmt: skip
    assert "\u202e" in path.read_text(encoding="utf-8")  # UTF-8, not \u escapes: what a reader sees
    with pytest.raises(ReportError, match="reserved keys"):
        results_document("actor", {"notebook": "other"}, status="ok")
    with pytest.raises(ValueError):
        write_results(path, {"x": float("nan")})  # never the non-standard NaN token


@pytest.mark.parametrize("content", ["{", "[]", '{"results_version": 99}'])
def test_unreadable_or_foreign_results_files_are_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "x.results.json"
    path.write_text(content)
    with pytest.raises(ReportError):
        read_results(path)
