"""The bundled sample: found from any working directory, equal to a fresh generation, small."""

from __future__ import annotations

from pathlib import Path

import pytest

from forensics import sample
from forensics.scenarios import make_scenario

from .reading import read_scenario, tree


def test_sample_is_found_from_any_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = sample.sample_path()
    assert path.is_absolute() and (path / "answer-key.json").is_file()
    assert sample.sample_cloudtrail_path() == path / "AWSLogs"
    assert (sample.sample_cloudtrail_path() / sample.SAMPLE_ACCOUNT / "CloudTrail").is_dir()
    assert (sample.sample_cloudwatch_path() / "get-metric-data.json").is_file()


def test_committed_sample_equals_a_fresh_generation(tmp_path: Path) -> None:
    fresh = make_scenario(sample.SAMPLE_SCENARIO, tmp_path, seed=sample.SAMPLE_SEED, noise=sample.SAMPLE_NOISE)
    committed = tree(sample.sample_path())
    assert sorted(committed) == sorted(tree(fresh)), (
        "regenerate: python -m forensics.scenarios make leaked-key forensics/sample_data --seed 7 --overwrite"
    )
    assert committed == tree(fresh)


def test_constants_match_the_answer_key() -> None:
    key = sample.sample_answer_key()
    assert (key["scenario"], key["seed"], key["noise"]) == (
        sample.SAMPLE_SCENARIO,
        sample.SAMPLE_SEED,
        sample.SAMPLE_NOISE,
    )
    assert key["incident_window"] == {"start": sample.SAMPLE_START, "end": sample.SAMPLE_END}
    assert key["accounts"]["victim"] == sample.SAMPLE_ACCOUNT == "012345678901"


def test_sample_is_small_and_holds_a_whole_incident() -> None:
    size = sum(len(content) for content in tree(sample.sample_path()).values())
    assert size < 1_000_000
    scenario = read_scenario(sample.sample_path())
    assert 1500 <= len(scenario.records) <= 3000
    assert scenario.key["stages"][0]["stage"] == "initial-access"
    assert scenario.key["duplicates"]
