"""Exercises on the scenarios: prepare one, grade a trainee's answers, show the solution.

>>> from forensics import training
>>> exercise = training.prepare("leaked-key")               # the bundled sample
>>> grade = training.check({"source_ips": ["203.0.113.66"]}, exercise.folder)
>>> grade.points, grade.max_points                          # doctest: +SKIP
(1.0, 14)

Each scenario declares its questions as data (:class:`~forensics.scenarios.questions.Question`,
``QUESTIONS`` in the scenario's module); the expected values come from the scenario's answer
key, so they follow the seed. :func:`check` gives every question a status (``correct``,
``partial``, ``wrong``, ``missing``), points, and feedback that helps without revealing the
key: how many of a list were found, whether a wrong value is a benign look-alike, belongs to
the responders or to nobody in the data, whether a time is close. Feedback never contains an
expected value; a test checks that for every question of every scenario.

Grading against a scenario *folder* also reads its CloudTrail, so feedback can tell a value
used only by benign activity from one that appears nowhere; grading against an answer key
(a dict or ``answer-key.json``) works from the key alone.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from forensics.display import Table, show_table
from forensics.errors import ParameterError
from forensics.scenarios import DEFAULT_SEED, SCENARIOS, load_answer_key, make_scenario, scenario_questions
from forensics.scenarios.questions import Question, resolve

STATUSES = ("correct", "partial", "wrong", "missing")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_ACCESS_KEY = re.compile(r"(AKIA|ASIA)[A-Z0-9]{16}")
_ADDRESS = re.compile(r"\d{1,3}(\.\d{1,3}){3}|[0-9a-f:]*:[0-9a-f:]+")
_KINDS = {
    "text": "one value as text",
    "number": "a whole number",
    "list": "a list of values, e.g. ['a', 'b']",
    "time": "a time such as '2024-03-12T10:41:07Z'",
}

_BENIGN = {
    "access key": "that access key belongs to a benign user",
    "address": "that address is used only by benign activity",
    "event": "that event is benign activity",
    "value": "that value appears only in benign activity",
}

#: A scenario to grade against: its folder, its ``answer-key.json``, or the key itself.
Scenario = str | os.PathLike[str] | Mapping[str, Any]


# --- exercises -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Exercise:
    """A scenario ready to investigate.

    Attributes
    ----------
    scenario
        The scenario's name.
    folder
        The scenario folder (CloudTrail under ``AWSLogs/``, ``cloudwatch/``, ``answer-key.json``).
    source
        What to load the CloudTrail from: ``folder/AWSLogs`` unless another source was given
        (for example the same data served from S3).
    key
        The answer key.
    """

    scenario: str
    folder: Path
    source: str
    key: dict[str, Any] = field(repr=False)

    @cached_property
    def evidence(self) -> _Evidence:
        """What grading knows about values that are not answers (read once from the CloudTrail)."""
        return _evidence(self.key, self.folder)

    @property
    def cloudwatch(self) -> Path:
        """The scenario's CloudWatch files."""
        return self.folder / "cloudwatch"

    def fields(self) -> dict[str, str]:
        """What a notebook's title block shows (nothing that answers a question)."""
        window = self.key["data_window"]
        return {
            "exercise": f"{self.scenario}: {self.key['title']}",
            "seed": str(self.key["seed"]),
            "data (UTC)": f"{window['start']} to {window['end']}",
            "CloudTrail": self.source,
            "CloudWatch": str(self.cloudwatch),
        }


def prepare(
    name: str, scenario_dir: str | os.PathLike[str] = "", source: str = "", *, seed: int = DEFAULT_SEED
) -> Exercise:
    """The exercise on scenario ``name``.

    Parameters
    ----------
    name
        A scenario name (see :func:`forensics.list_scenarios`).
    scenario_dir
        A folder made by ``forensics scenario make NAME DIR``. Empty: the bundled sample when
        it is this scenario, else a fresh generation (``seed``, noise 1) in a new temporary folder.
    source
        CloudTrail to investigate instead of the folder's ``AWSLogs`` (e.g. ``s3://...`` after
        ``forensics scenario serve``).
    seed
        Seed of a fresh generation.

    Raises
    ------
    ParameterError
        Unknown scenario, or a folder that holds another scenario.
    SourceError
        The folder holds no answer key.
    """
    if name not in SCENARIOS:
        raise ParameterError(f"unknown scenario {name!r}; choose one of {sorted(SCENARIOS)}")
    if scenario_dir:
        folder = Path(scenario_dir).expanduser().resolve()
    else:
        from forensics import sample

        if name == sample.SAMPLE_SCENARIO and seed == sample.SAMPLE_SEED:
            folder = sample.sample_path()
        else:
            folder = make_scenario(name, tempfile.mkdtemp(prefix=f"forensics-{name}-"), seed=seed)
    key = load_answer_key(folder)
    if key["scenario"] != name:
        raise ParameterError(f"{folder} holds scenario {key['scenario']!r}, not {name!r}")
    return Exercise(name, folder, source or str(folder / "AWSLogs"), key)


def _key_and_folder(scenario: Scenario | Exercise) -> tuple[dict[str, Any], Path | None]:
    if isinstance(scenario, Exercise):
        return scenario.key, scenario.folder
    if isinstance(scenario, Mapping):
        return dict(scenario), None
    path = Path(scenario)
    return load_answer_key(path), path if path.is_dir() else None


def questions(scenario: Scenario | Exercise) -> tuple[Question, ...]:
    """The questions of a scenario (given as a name, a folder, an answer key or an exercise)."""
    if isinstance(scenario, str) and scenario in SCENARIOS:
        return scenario_questions(scenario)
    key, _ = _key_and_folder(scenario)
    return scenario_questions(key["scenario"])


def expected(question: Question, key: Mapping[str, Any]) -> list[Any]:
    """The distinct expected values of ``question`` in the answer key ``key``.

    Raises
    ------
    ParameterError
        If the key holds no answer for the question, or several for an ``exact`` one.
    """
    values = list(dict.fromkeys(resolve(dict(key), question.expected)))
    if not values or (question.compare in ("exact", "time") and len(values) != 1):
        raise ParameterError(
            f"question {question.id}: the answer key of {key.get('scenario')} (seed {key.get('seed')}) holds "
            f"{len(values)} answers at {question.expected!r}"
        )
    return values


def solution(scenario: Scenario | Exercise) -> dict[str, Any]:
    """Answers that earn full marks, from the answer key (for instructors and tests)."""
    key, _ = _key_and_folder(scenario)
    answers: dict[str, Any] = {}
    for q in questions(key):
        values = expected(q, key)
        answers[q.id] = sorted(values) if q.kind == "list" else values[0]
    return answers


# --- grading -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    """How one answer was graded.

    Attributes
    ----------
    question
        The question's id.
    status
        ``correct``, ``partial``, ``wrong`` or ``missing``.
    points, max_points
        Points earned (partial credit for lists and near times) and possible.
    feedback
        What helps next, never an expected value.
    answer
        The answer as given.
    """

    question: str
    status: str
    points: float
    max_points: int
    feedback: str
    answer: Any = None


@dataclass(frozen=True, repr=False)
class Grade:
    """The graded answers of one exercise; renders as a safe table in notebooks and terminals.

    Attributes
    ----------
    scenario, seed
        The exercise graded against.
    results
        One :class:`Result` per question, in the scenario's order.
    """

    scenario: str
    seed: int
    results: tuple[Result, ...]

    @property
    def points(self) -> float:
        return round(sum(r.points for r in self.results), 2)

    @property
    def max_points(self) -> int:
        return sum(r.max_points for r in self.results)

    @property
    def summary(self) -> str:
        counts = {s: sum(r.status == s for r in self.results) for s in STATUSES}
        parts = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
        return f"{self.points:g} of {self.max_points} points ({parts})"

    def frame(self) -> pd.DataFrame:
        """One row per question: question, status, points, feedback, your answer."""
        return pd.DataFrame(
            {
                "question": [r.question for r in self.results],
                "status": [r.status for r in self.results],
                "points": [f"{r.points:g} / {r.max_points}" for r in self.results],
                "feedback": [r.feedback for r in self.results],
                "your answer": ["" if r.answer is None else str(r.answer) for r in self.results],
            }
        )

    def table(self) -> Table:
        """The grade as a safe table (see :mod:`forensics.display`)."""
        return show_table(self.frame(), max_rows=len(self.results), max_colwidth=200, caption=self.summary, index=False)

    def _repr_html_(self) -> str:
        return self.table()._repr_html_()

    def __repr__(self) -> str:
        return repr(self.table())


@dataclass(frozen=True)
class _Evidence:
    """What is known about values that are not answers: look-alikes, responders, benign activity."""

    lookalikes: frozenset[str]
    responders: frozenset[str]
    attacker: frozenset[str]
    benign: frozenset[str]
    everything: frozenset[str] | None  # None: the data was not read


def _fold(value: object) -> str:
    return str(value).strip().casefold()


def _entry_values(entries: list[Mapping[str, Any]]) -> set[str]:
    fields = ("eventID", "actor", "accessKeyId", "sourceIPAddress")
    return {_fold(e[f]) for e in entries for f in fields if e.get(f)}


def _evidence(key: Mapping[str, Any], folder: Path | None) -> _Evidence:
    attacker_events = [e for stage in key["stages"] for e in stage["events"]]
    attacker = _entry_values(attacker_events)
    attacker |= {_fold(v) for v in (*key["attacker"]["principal_arns"], *key["attacker"]["source_ips"])}
    benign: set[str] = set()
    everything: set[str] | None = None
    if folder is not None and (folder / "AWSLogs").is_dir():
        from forensics.cloudtrail import load_cloudtrail

        events = load_cloudtrail(folder / "AWSLogs", workers=1, progress=False).events
        columns = ["eventID", "actor", "userIdentity.accessKeyId", "userIdentity.userName", "sourceIPAddress"]
        ids = {e["eventID"] for e in attacker_events}
        others = events[~events["eventID"].isin(ids)]
        benign = {_fold(v) for c in columns for v in others[c].dropna().unique()}
        everything = benign | {_fold(v) for c in columns for v in events[c].dropna().unique()}
    return _Evidence(
        lookalikes=frozenset(_fold(e["eventID"]) for e in key["benign_lookalikes"]),
        responders=frozenset(_entry_values(key["response"]) - attacker),
        attacker=frozenset(attacker),
        benign=frozenset(benign - attacker),
        everything=None if everything is None else frozenset(everything),
    )


def _aliases(value: object) -> set[str]:
    """Spellings accepted for an expected value: an ARN's resource name, a service's short name."""
    text = _fold(value)
    names = {text}
    if text.startswith("arn:"):
        resource = text.split(":", 5)[-1]
        names.add(resource.rsplit("/", 1)[-1])
        names.add(resource.rsplit(":", 1)[-1])
    if text.endswith(".amazonaws.com"):
        names.add(text.removesuffix(".amazonaws.com"))
    return names


def _kind_of(value: str) -> str:
    if _UUID.fullmatch(value):
        return "event"
    if _ACCESS_KEY.fullmatch(value.upper()):
        return "access key"
    if _ADDRESS.fullmatch(value):
        return "address"
    return "value"


def _why_not(value: str, evidence: _Evidence) -> str:
    """Why a value that is not the answer is not it, when that is known."""
    folded = _fold(value)
    kind = _kind_of(folded)
    if folded in evidence.lookalikes:
        return "that event is a benign look-alike"
    if folded in evidence.responders:
        return f"that {kind} belongs to the responders"
    if folded in evidence.attacker:
        return f"that {kind} is the intruder's, but not what this question asks for"
    if folded in evidence.benign:
        return _BENIGN[kind]
    if evidence.everything is not None and kind != "value" and folded not in evidence.everything:
        return f"that {kind} does not appear in the data (a typo?)"
    return ""


def _hint(question: Question, last: bool = False) -> str:
    if not question.hints:
        return ""
    return f" Hint: {question.hints[-1] if last else question.hints[0]}"


def _sentence(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


def _as_time(value: object) -> pd.Timestamp | None:
    if isinstance(value, bool) or not isinstance(value, (str, dt.datetime, pd.Timestamp)):
        return None
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError):
        return None
    if stamp is pd.NaT:
        return None
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _as_number(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _is_missing(answer: object) -> bool:
    if isinstance(answer, str):
        return not answer.strip()
    return answer is None or (isinstance(answer, (list, tuple, set)) and not answer)


def _grade(question: Question, answer: object, values: list[Any], evidence: _Evidence) -> Result:
    q, full = question, question.points

    def result(status: str, points: float, feedback: str) -> Result:
        return Result(q.id, status, round(points, 2), full, feedback, answer)

    if _is_missing(answer):
        return result("missing", 0, "no answer yet." + _hint(q))
    wrong_type = result("wrong", 0, f"expected {_KINDS[q.kind]}, got {type(answer).__name__}")

    if q.kind == "time":
        given, wanted = _as_time(answer), _as_time(values[0])
        if given is None or wanted is None:
            return wrong_type
        off = (given - wanted).total_seconds()
        if abs(off) <= q.tolerance:
            return result("correct", full, "correct")
        if abs(off) <= q.close:
            return result("partial", full / 2, f"close: within {q.close // 60} minutes, but not the exact call")
        side = "earlier" if off < 0 else "later"
        return result("wrong", 0, f"more than {q.close // 60} minutes {side} than the right time." + _hint(q))

    if q.kind == "number":
        number, wanted_number = _as_number(answer), _as_number(values[0])
        if number is None:
            return wrong_type
        if number == wanted_number:
            return result("correct", full, "correct")
        return result("wrong", 0, f"{'too high' if number > (wanted_number or 0) else 'too low'}." + _hint(q))

    accepted = [_aliases(v) for v in values]
    if q.kind == "list":
        if not isinstance(answer, (list, tuple, set)) or not all(isinstance(a, str) for a in answer):
            return wrong_type
        given_values = list(dict.fromkeys(a.strip() for a in answer if a.strip()))
        found = [any(_fold(a) in names for a in given_values) for names in accepted]
        extras = [a for a in given_values if not any(_fold(a) in names for names in accepted)]
        hits = sum(found)
        if hits == len(values) and not extras:
            return result("correct", full, "correct")
        reasons = sorted({why for a in extras if (why := _why_not(a, evidence))})  # never echo values
        extra_note = ""
        if extras:
            extra_note = f"{len(extras)} of your answers {'is' if len(extras) == 1 else 'are'} not among them"
            extra_note += f" ({'; '.join(reasons)})" if reasons else ""
        counted = f"{hits} of {len(values)} {q.noun} found"
        if hits == 0:
            return result("wrong", 0, _sentence(counted, extra_note) + "." + _hint(q))
        points = full * max(0, hits - len(extras)) / len(values)
        return result("partial", points, _sentence(counted, extra_note) + "." + _hint(q, last=True))

    if not isinstance(answer, str):
        return wrong_type
    if any(_fold(answer) in names for names in accepted):
        return result("correct", full, "correct")
    why = _why_not(answer, evidence)
    return result("wrong", 0, (f"not this one: {why}." if why else "not this one.") + _hint(q))


def check(answers: Mapping[str, Any], scenario: Scenario | Exercise) -> Grade:
    """Grade ``answers`` (question id -> answer) against a scenario.

    Parameters
    ----------
    answers
        The trainee's answers; questions without one are ``missing``.
    scenario
        A scenario folder, an ``answer-key.json`` path, an answer key (dict), or an
        :class:`Exercise`. With a folder the CloudTrail is read for better feedback (an
        exercise reads it once, however often it grades).

    Returns
    -------
    Grade

    Raises
    ------
    ParameterError
        If ``answers`` names a question the scenario does not have (a typo would otherwise
        look like a missing answer).
    """
    key, folder = _key_and_folder(scenario)
    asked = questions(key)
    unknown = sorted(set(answers) - {q.id for q in asked})
    if unknown:
        raise ParameterError(f"no question {unknown} in {key['scenario']}; the questions are {[q.id for q in asked]}")
    evidence = scenario.evidence if isinstance(scenario, Exercise) else _evidence(key, folder)
    results = tuple(_grade(q, answers.get(q.id), expected(q, key), evidence) for q in asked)
    return Grade(key["scenario"], key["seed"], results)


# --- the solution, for instructors ---------------------------------------------------------


def attacker_timeline(scenario: Scenario | Exercise) -> pd.DataFrame:
    """Every attacker action of the answer key, in time order, with its stage and technique."""
    key, _ = _key_and_folder(scenario)
    rows = [
        {"stage": stage["stage"], "tactic": stage["tactic"], **event}
        for stage in key["stages"]
        for event in stage["events"]
    ]
    columns = ["eventTime", "stage", "technique", "eventName", "awsRegion", "actor", "accessKeyId",
               "sourceIPAddress", "errorCode", "eventID"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns).sort_values(["eventTime", "eventID"], ignore_index=True)


def alarm_causes(scenario: Scenario | Exercise) -> pd.DataFrame:
    """Every alarm transition of the answer key with the events that caused it."""
    key, _ = _key_and_folder(scenario)
    rows = [
        {
            "timestamp": t["timestamp"],
            "alarm": alarm["alarm"],
            "change": f"{t['from']} -> {t['to']}",
            "caused by": len(t["caused_by"]),
            "first cause": t["caused_by"][0] if t["caused_by"] else "",
            "explanation": t["explanation"],
            "notified": t["notified"],
        }
        for alarm in key["alarms"]
        for t in alarm["transitions"]
    ]
    columns = ["timestamp", "alarm", "change", "caused by", "first cause", "explanation", "notified"]
    return pd.DataFrame(rows, columns=columns).sort_values("timestamp", ignore_index=True)
