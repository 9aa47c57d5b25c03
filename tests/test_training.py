"""Exercises: questions declared per scenario, grading with helpful feedback that never gives the answer away."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from forensics import sample, training
from forensics.errors import ParameterError, SourceError
from forensics.scenarios import SCENARIOS, make_scenario, scenario_questions
from forensics.scenarios.questions import Question, resolve

SEED = 11


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every scenario at seed 11 with a light background (grading reads the CloudTrail)."""
    return {
        name: make_scenario(name, tmp_path_factory.mktemp(name) / "data", seed=SEED, noise=0.5) for name in SCENARIOS
    }


@pytest.fixture(scope="module")
def sample_key() -> dict[str, Any]:
    return sample.sample_answer_key()


def _expected_texts(key: dict[str, Any]) -> set[str]:
    """Every expected value of every question of a scenario, and the short spellings accepted for it."""
    texts: set[str] = set()
    for q in scenario_questions(key["scenario"]):
        for value in training.expected(q, key):
            text = str(value).casefold()
            if q.kind == "number" and len(text) < 4:
                continue  # "3" also occurs in "2 of 3 found"
            texts.add(text)
            if text.startswith("arn:"):
                texts.add(text.rsplit("/", 1)[-1])
    return texts


# --- questions as data -----------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_question_has_an_answer_in_the_key(name: str, folders: dict[str, Path]) -> None:
    key = json.loads((folders[name] / "answer-key.json").read_text())
    asked = scenario_questions(name)
    assert len(asked) >= 8 and len({q.id for q in asked}) == len(asked)
    kinds = {q.compare for q in asked}
    assert "set" in kinds and "exact" in kinds and "time" in kinds
    for q in asked:
        values = training.expected(q, key)
        assert values, q.id
        assert q.hints and q.prompt.strip()
        if q.compare in ("exact", "time"):
            assert len(values) == 1, q.id


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_hints_and_prompts_give_no_answer_away(name: str, folders: dict[str, Path]) -> None:
    key = json.loads((folders[name] / "answer-key.json").read_text())
    secrets = _expected_texts(key)
    for q in scenario_questions(name):
        for text in q.hints:
            assert not [s for s in secrets if s in text.casefold()], (q.id, text)


def test_paths_into_the_answer_key(sample_key: dict[str, Any]) -> None:
    assert resolve(sample_key, "attacker.source_ips") == ["203.0.113.66", "198.51.100.23"]
    assert resolve(sample_key, "len(attacker.source_ips)") == [2]
    leaked = sample_key["attacker"]["access_key_ids"]["leaked"]
    assert resolve(sample_key, "attacker.access_key_ids.leaked[0]") == leaked
    assert resolve(sample_key, "attacker.access_key_ids.created[5]") == []
    assert resolve(sample_key, "resources_touched[arn:aws:s3:::*]") == ["arn:aws:s3:::acme-customer-exports"]
    stops = resolve(sample_key, "stages[*].events[eventName=StopDBInstance].eventName")
    assert stops == ["StopDBInstance"]
    with pytest.raises(ParameterError, match="no 'nope'"):
        resolve(sample_key, "attacker.nope")
    with pytest.raises(ParameterError, match="needs a list"):
        resolve(sample_key, "attacker[0]")
    with pytest.raises(ParameterError, match="bad answer-key path"):
        resolve(sample_key, "attacker..source_ips")


def test_questions_check_themselves() -> None:
    with pytest.raises(ParameterError, match="compare must be"):
        Question("a", "?", "text", "roughly", "x")
    with pytest.raises(ParameterError, match="'set' takes a list"):
        Question("a", "?", "text", "set", "x")
    with pytest.raises(ParameterError, match="not an identifier"):
        Question("a b", "?", "text", "exact", "x")
    with pytest.raises(ParameterError, match="bad answer-key path"):
        Question("a", "?", "text", "exact", "x[")


# --- grading ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_the_solution_gets_full_marks_from_a_folder_a_key_file_and_a_dict(name: str, folders: dict[str, Path]) -> None:
    folder = folders[name]
    key = json.loads((folder / "answer-key.json").read_text())
    answers = training.solution(folder)
    for scenario in (folder, folder / "answer-key.json", key):
        grade = training.check(answers, scenario)
        assert {r.status for r in grade.results} == {"correct"}
        assert grade.points == grade.max_points == sum(q.points for q in scenario_questions(name))
    assert {r.status for r in training.check({}, key).results} == {"missing"}


def test_grades_and_feedback_of_a_mixed_answer_sheet(sample_key: dict[str, Any]) -> None:
    lookalike = next(e for e in sample_key["benign_lookalikes"] if e["eventName"] == "StopDBInstance")
    jane_new_key = sample_key["attacker"]["access_key_ids"]["created"][0]
    answers = {
        "leaked_key": jane_new_key,  # the intruder's, but the second key
        "leaked_user": "CI-DEPLOY ",  # the name instead of the ARN, any case
        "source_ips": ["203.0.113.66", "192.0.2.88", "203.0.113.66"],
        "created_key": 42,
        "role": "DataPipelineRole",
        "first_action": "2024-03-12 10:48:00",  # naive: read as UTC, 4 minutes late
        "public_bucket": "",
        "objects_downloaded": 120,
        "db_stop": lookalike["eventID"],
        "throttle_alarm_cause": "00000000-0000-4000-8000-000000000000",
    }
    grade = training.check(answers, sample.sample_path())
    got = {r.question: (r.status, r.points, r.feedback) for r in grade.results}
    assert got == {
        "leaked_key": (
            "wrong",
            0,
            "not this one: that access key is the intruder's, but not what this question asks for. "
            "Hint: Start from the burst of denied calls across regions: which key made them?",
        ),
        "leaked_user": ("correct", 1, "correct"),
        "source_ips": (
            "partial",
            0,
            "1 of 2 source IPs found; 1 of your answers is not among them (that address is used only by benign "
            "activity). Hint: Follow every key the intruder used.",
        ),
        "created_key": ("wrong", 0, "expected one value as text, got int"),
        "role": ("correct", 1, "correct"),
        "first_action": ("partial", 0.5, "close: within 10 minutes, but not the exact call"),
        "public_bucket": ("missing", 0, "no answer yet. Hint: Look for bucket policy and ACL changes."),
        "objects_downloaded": (
            "wrong",
            0,
            "too high. Hint: Count the intruder's GetObject data events (each object once).",
        ),
        "db_stop": (
            "wrong",
            0,
            "not this one: that event is a benign look-alike. "
            "Hint: More than one database was stopped that day; check which one and by whom.",
        ),
        "throttle_alarm_cause": (
            "wrong",
            0,
            "not this one: that event does not appear in the data (a typo?). "
            "Hint: What limits how many copies of a function may run?",
        ),
    }
    assert (grade.points, grade.max_points) == (2.5, 14)
    assert grade.summary == "2.5 of 14 points (2 correct, 2 partial, 5 wrong, 1 missing)"
    # from the key alone, values cannot be looked up in the data
    by_key = {r.question: r.feedback for r in training.check(answers, sample_key).results}
    assert by_key["throttle_alarm_cause"] == "not this one. Hint: What limits how many copies of a function may run?"
    assert by_key["db_stop"] == got["db_stop"][2]  # look-alikes are in the key


def test_partial_credit_times_and_numbers(sample_key: dict[str, Any]) -> None:
    first = pd.Timestamp(sample_key["stages"][0]["events"][0]["eventTime"])
    downloads = len(sample_key["objects_downloaded"])

    def graded(question: str, answer: object) -> tuple[str, float, str]:
        (result,) = [r for r in training.check({question: answer}, sample_key).results if r.question == question]
        return result.status, result.points, result.feedback

    assert graded("first_action", (first + pd.Timedelta(seconds=45)).isoformat())[:2] == ("correct", 1)
    assert graded("first_action", first.to_pydatetime())[:2] == ("correct", 1)
    assert graded("first_action", (first - pd.Timedelta(hours=2)).isoformat()) == (
        "wrong",
        0,
        "more than 10 minutes earlier than the right time. Hint: The first call only checked that the key works.",
    )
    assert graded("first_action", "yesterday")[0:2] == ("wrong", 0)
    assert graded("objects_downloaded", str(downloads))[:2] == ("correct", 1)
    assert graded("objects_downloaded", float(downloads))[:2] == ("correct", 1)
    assert graded("objects_downloaded", downloads - 1)[2].startswith("too low.")
    assert graded("objects_downloaded", True)[2] == "expected a whole number, got bool"
    assert graded("source_ips", "203.0.113.66")[2] == "expected a list of values, e.g. ['a', 'b'], got str"
    assert graded("source_ips", ["198.51.100.23"])[:2] == ("partial", 1)
    assert graded("source_ips", ["192.0.2.88"])[:2] == ("wrong", 0)
    assert graded("source_ips", ["198.51.100.23 ", "203.0.113.66"])[:2] == ("correct", 2)
    assert graded("public_bucket", "arn:aws:s3:::ACME-customer-exports")[:2] == ("correct", 1)


def test_unknown_questions_are_refused(sample_key: dict[str, Any]) -> None:
    with pytest.raises(ParameterError, match=r"no question \['sorce_ips'\] in leaked-key"):
        training.check({"sorce_ips": []}, sample_key)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_feedback_never_contains_an_expected_value(name: str, folders: dict[str, Path]) -> None:
    folder = folders[name]
    key = json.loads((folder / "answer-key.json").read_text())
    secrets = _expected_texts(key)
    decoys = [
        "nonsense",
        "00000000-0000-4000-8000-000000000000",
        "AKIAAAAAAAAAAAAAAAAA",
        "192.0.2.14",
        *(e["eventID"] for e in key["benign_lookalikes"][:3]),
        *(v for e in key["response"][:3] for v in (e["eventID"], e["accessKeyId"], e["sourceIPAddress"]) if v),
        *key["attacker"]["source_ips"],
        *key["attacker"]["access_key_ids_used"],
    ]
    sheets: list[dict[str, Any]] = [{}]
    for q in scenario_questions(name):
        values = training.expected(q, key)
        if q.kind == "list":
            sheets += [{q.id: values[:1] + [d]} for d in decoys] + [{q.id: [d]} for d in decoys] + [{q.id: "x"}]
        elif q.kind == "time":
            wanted = pd.Timestamp(values[0])
            sheets += [{q.id: (wanted + pd.Timedelta(minutes=m)).isoformat()} for m in (-90, -5, 3, 45)]
        elif q.kind == "number":
            sheets += [{q.id: values[0] + 1}, {q.id: values[0] - 1}, {q.id: "many"}]
        else:
            sheets += [{q.id: d} for d in decoys if d not in values] + [{q.id: 7}]
    exercise = training.prepare(name, folder)  # reads the CloudTrail once for all the sheets
    for sheet in sheets:
        for result in training.check(sheet, exercise).results:
            if result.status != "correct":
                leaked = [s for s in secrets if s in result.feedback.casefold()]
                assert leaked == [], (result.question, sheet, result.feedback)


def test_a_grade_renders_as_a_safe_table(sample_key: dict[str, Any]) -> None:
    grade = training.check({"leaked_user": "<script>alert(1)</script>\u202e"}, sample_key)
    markup = grade._repr_html_()
    assert "<script>" not in markup and "&lt;script&gt;alert(1)&lt;/script&gt;&lt;U+202E&gt;" in markup
    assert grade.summary in markup and "leaked_user" in markup
    assert list(grade.frame().columns) == ["question", "status", "points", "feedback", "your answer"]
    assert "0 of 14 points" in str(grade)


# --- exercises and the instructor's views ---------------------------------------------------


def test_prepare(tmp_path: Path, folders: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "temp"))
    (tmp_path / "temp").mkdir()
    bundled = training.prepare("leaked-key")
    assert bundled.folder == sample.sample_path() and bundled.source == str(sample.sample_cloudtrail_path())
    assert set(bundled.fields()) == {"exercise", "seed", "data (UTC)", "CloudTrail", "CloudWatch"}
    given = training.prepare("crypto-mining", folders["crypto-mining"], source="s3://acme-cloudtrail-logs")
    assert (given.folder, given.source) == (folders["crypto-mining"].resolve(), "s3://acme-cloudtrail-logs")
    fresh = training.prepare("rds-lambda-outage", seed=3)
    assert fresh.folder.parent == tmp_path / "temp" and fresh.key["seed"] == 3
    assert (fresh.folder / "AWSLogs").is_dir()
    with pytest.raises(ParameterError, match="holds scenario 'crypto-mining', not 'leaked-key'"):
        training.prepare("leaked-key", folders["crypto-mining"])
    with pytest.raises(ParameterError, match="unknown scenario"):
        training.prepare("phishing")
    with pytest.raises(SourceError, match="no answer key"):
        training.prepare("leaked-key", tmp_path / "temp")


def test_instructor_views(sample_key: dict[str, Any]) -> None:
    timeline = training.attacker_timeline(sample_key)
    ids = [e["eventID"] for s in sample_key["stages"] for e in s["events"]]
    assert sorted(timeline["eventID"]) == sorted(ids)
    assert timeline["eventTime"].is_monotonic_increasing
    assert timeline.iloc[0][["stage", "eventName"]].tolist() == ["initial-access", "GetCallerIdentity"]
    causes = training.alarm_causes(sample_key)
    assert len(causes) == sum(len(a["transitions"]) for a in sample_key["alarms"])
    throttled = causes[(causes["alarm"] == "checkout-handler-throttles") & (causes["change"] == "OK -> ALARM")]
    assert throttled["first cause"].tolist() == resolve(
        sample_key, "alarms[alarm=checkout-handler-throttles].transitions[to=ALARM].caused_by"
    )


# --- the exercise notebooks -------------------------------------------------------------------

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks" / "training"


def _cells(path: Path) -> list[Any]:
    import nbformat

    return nbformat.read(path, as_version=4).cells


def test_exercise_notebooks_ask_exactly_their_scenarios_questions() -> None:
    import ast

    names = sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb"))
    assert "leaked-key" in names and len(names) >= 2 and set(names) <= set(SCENARIOS)
    for name in names:
        cells = _cells(NOTEBOOKS / f"{name}.ipynb")
        markdown = "\n".join(c.source for c in cells if c.cell_type == "markdown")
        code = [c.source for c in cells if c.cell_type == "code"]
        (skeleton,) = [s for s in code if s.startswith("answers = {")]
        answers = ast.literal_eval(skeleton.split("=", 1)[1])
        asked = scenario_questions(name)
        assert list(answers) == [q.id for q in asked]
        assert all(value in ("", [], None) for value in answers.values())
        assert all(q.prompt in markdown for q in asked)
        assert any(f'training.prepare("{name}"' in s for s in code)
        assert any("training.check(answers, exercise)" in s for s in code)


@pytest.mark.slow
def test_the_leaked_key_exercise_for_trainees_and_instructors(tmp_path: Path) -> None:
    from forensics.cli import main
    from forensics.report import run_report

    assert main(["report", "training/leaked-key", "--param", "instructor=true", "--out", str(tmp_path / "i"), "-q"]) == 0
    solved = (tmp_path / "i" / "leaked-key.html").read_text(encoding="utf-8")
    assert "14 of 14 points (10 correct)" in solved
    timeline = training.attacker_timeline(sample.sample_answer_key())
    assert all(event_id in solved for event_id in timeline["eventID"])

    trainee = run_report("training/leaked-key", {}, tmp_path / "t").html.read_text(encoding="utf-8")
    assert "0 of 14 points (10 missing)" in trainee and "hidden; run with instructor=True" in trainee
    assert not [event_id for event_id in timeline["eventID"] if event_id in trainee]


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb") if p.stem != "leaked-key"))
def test_instructor_mode_solves_the_exercise(name: str, tmp_path: Path, folders: dict[str, Path]) -> None:
    from forensics.report import run_report

    parameters = {"scenario_dir": str(folders[name]), "instructor": True}
    html = run_report(f"training/{name}", parameters, tmp_path).html.read_text(encoding="utf-8")
    total = sum(q.points for q in scenario_questions(name))
    assert f"{total} of {total} points ({len(scenario_questions(name))} correct)" in html
    assert str(folders[name]) in html
