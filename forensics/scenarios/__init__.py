"""Deterministic incident scenarios for training and testing, with answer keys.

``make_scenario("leaked-key", out, seed=7)`` writes a complete incident data set under ``out``:

* ``AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/*.json.gz``: CloudTrail in its native S3
  delivery layout (benign background, the attack, the response);
* ``cloudwatch/*.json``: metric data and alarms as the AWS CLI prints them;
* ``answer-key.json``: what an investigator should find.

The same name, seed and noise give byte-identical files. Command line::

    python -m forensics.scenarios list
    python -m forensics.scenarios make leaked-key OUT --seed 7 [--noise 1.0] [--overwrite]
    python -m forensics.scenarios serve crypto-mining --endpoint-url http://127.0.0.1:5000 [--shift-to-now] [--logs]

Each scenario also declares its exercise (``QUESTIONS``); :mod:`forensics.training` grades
answers to it, and :mod:`forensics.scenarios.serve` uploads a scenario to AWS APIs (moto).

Adding a scenario: write a module with ``INFO`` (a :class:`ScenarioInfo`),
``generate(seed, noise) -> Generated`` and ``QUESTIONS`` (the exercise, as
:class:`~forensics.scenarios.questions.Question` values; copy
:mod:`forensics.scenarios.crypto_mining`), and add one line to :data:`SCENARIOS`.
"""

from __future__ import annotations

import importlib
import json
import random
import shutil
from pathlib import Path
from typing import Any, Protocol

from forensics.errors import ParameterError, SourceError
from forensics.scenarios.cloudwatch import write_cloudwatch
from forensics.scenarios.model import Generated, ScenarioInfo
from forensics.scenarios.questions import Question
from forensics.scenarios.writer import write_trail

__all__ = [
    "SCENARIOS", "Question", "ScenarioInfo", "list_scenarios", "load_answer_key", "make_scenario", "scenario_questions"
]  # fmt: skip

#: Scenario name -> module that defines it (imported when asked for).
SCENARIOS: dict[str, str] = {
    "leaked-key": "forensics.scenarios.leaked_key",
    "rds-lambda-outage": "forensics.scenarios.rds_lambda_outage",
    "crypto-mining": "forensics.scenarios.crypto_mining",
    "defence-evasion": "forensics.scenarios.defence_evasion",
    "s3-ransomware": "forensics.scenarios.s3_ransomware",
}

ANSWER_KEY = "answer-key.json"
DEFAULT_SEED = 7


class _ScenarioModule(Protocol):
    INFO: ScenarioInfo
    QUESTIONS: tuple[Question, ...]

    def generate(self, seed: int, noise: float) -> Generated: ...


def _module(name: str) -> _ScenarioModule:
    if name not in SCENARIOS:
        raise ParameterError(f"unknown scenario {name!r}; choose one of {sorted(SCENARIOS)}")
    module: _ScenarioModule = importlib.import_module(SCENARIOS[name])
    return module


def list_scenarios() -> list[ScenarioInfo]:
    """Every scenario, by name."""
    return [_module(name).INFO for name in sorted(SCENARIOS)]


def scenario_questions(name: str) -> tuple[Question, ...]:
    """The exercise questions of scenario ``name`` (graded by :func:`forensics.training.check`)."""
    return _module(name).QUESTIONS


def make_scenario(
    name: str, out: str | Path, *, seed: int = DEFAULT_SEED, noise: float = 1.0, overwrite: bool = False
) -> Path:
    """Generate scenario ``name`` into the folder ``out``.

    Parameters
    ----------
    name
        A key of :data:`SCENARIOS`, e.g. ``"leaked-key"``.
    out
        Folder to write; created if missing.
    seed
        Seed of every random choice; the same seed gives byte-identical files.
    noise
        Scales the benign background (0: attack, response and AWS services only; 2: twice as busy).
    overwrite
        Allow ``out`` to be non-empty; its contents are replaced.

    Returns
    -------
    pathlib.Path
        ``out``.

    Raises
    ------
    ParameterError
        Unknown scenario, negative noise, or ``out`` is not empty and ``overwrite`` is false.
    """
    module = _module(name)
    if noise < 0:
        raise ParameterError(f"noise must be >= 0, got {noise}")
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise ParameterError(f"{folder} is not a folder")
    if folder.exists() and any(folder.iterdir()):
        if not overwrite:
            raise ParameterError(f"{folder} is not empty; pass overwrite=True (--overwrite) to replace its contents")
        for child in folder.iterdir():
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    folder.mkdir(parents=True, exist_ok=True)

    generated = module.generate(seed, noise)
    delivery = write_trail(list(generated.records), folder, generated.account, random.Random(f"{seed}:delivery"))
    cloudwatch = write_cloudwatch(generated.cloudwatch, folder / "cloudwatch")
    attacker_ids = {e["eventID"] for stage in generated.answer_key["stages"] for e in stage["events"]}
    key = {
        **generated.answer_key,
        "delivery": {
            "files": len(delivery.files),
            "events": len(generated.records),
            "records_written": sum(len(f.event_ids) for f in delivery.files),
            "attacker_events": len(attacker_ids),
            "cloudwatch_files": [p.relative_to(folder).as_posix() for p in cloudwatch],
        },
        "duplicates": [
            {"eventID": d.event_id, "files": list(d.files), "attacker_event": d.event_id in attacker_ids}
            for d in delivery.duplicates
        ],
    }
    (folder / ANSWER_KEY).write_text(json.dumps(key, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return folder


def load_answer_key(path: str | Path) -> dict[str, Any]:
    """Read an answer key: ``path`` is the key file or the scenario folder that holds it.

    Raises
    ------
    SourceError
        The file is missing, is not JSON, or is not an answer key.
    """
    path = Path(path)
    if path.is_dir():
        path = path / ANSWER_KEY
    try:
        key = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SourceError(
            "no answer key here; generate one with `python -m forensics.scenarios make`", str(path)
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SourceError(f"cannot read the answer key: {error}", str(path)) from error
    if not isinstance(key, dict) or not {"scenario", "seed", "stages", "attacker"} <= key.keys():
        raise SourceError("not an answer key (needs scenario, seed, stages, attacker)", str(path))
    return key
