"""The scenarios API and command line: listing, determinism, refusing to clobber, answer keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from forensics.errors import ForensicsError, ParameterError, SourceError
from forensics.scenarios import SCENARIOS, list_scenarios, load_answer_key, make_scenario
from forensics.scenarios.answerkey import TACTICS
from forensics.scenarios.cli import main

from .reading import read_scenario, tree


def test_list_scenarios() -> None:
    infos = {s.name: s for s in list_scenarios()}
    assert sorted(infos) == sorted(SCENARIOS)
    assert len(infos) >= 5
    for info in infos.values():
        assert info.title and info.description
        assert info.tactics[0] == "Initial Access"
        assert set(info.tactics) <= {tactic for _, tactic in TACTICS.values()}
    assert "Impact" in infos["leaked-key"].tactics


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_same_seed_same_bytes_other_seed_other_data(tmp_path: Path, name: str) -> None:
    for folder, seed in (("a", 3), ("b", 3), ("c", 4)):
        make_scenario(name, tmp_path / folder, seed=seed, noise=0.3)
    a, b, c = tree(tmp_path / "a"), tree(tmp_path / "b"), tree(tmp_path / "c")
    assert a == b
    assert set(a) != set(c)  # other file names (times and random suffixes)
    key_a, key_c = (json.loads(t["answer-key.json"]) for t in (a, c))
    assert key_a["attacker"]["access_key_ids"] != key_c["attacker"]["access_key_ids"]
    assert key_a["attacker"]["source_ips"] == key_c["attacker"]["source_ips"]  # the story's addresses are fixed
    assert [s["stage"] for s in key_a["stages"]] == [s["stage"] for s in key_c["stages"]]


def test_refuses_a_non_empty_folder_unless_told(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ParameterError, match="not empty"):
        make_scenario("leaked-key", tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
    make_scenario("leaked-key", tmp_path, overwrite=True)
    assert not (tmp_path / "notes.txt").exists()
    assert (tmp_path / "answer-key.json").is_file()


def test_bad_parameters(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="unknown scenario"):
        make_scenario("no-such-thing", tmp_path / "x")
    with pytest.raises(ParameterError, match="noise"):
        make_scenario("leaked-key", tmp_path / "x", noise=-1)
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_noise_zero_leaves_only_the_attack_and_the_response(tmp_path: Path, name: str) -> None:
    scenario = read_scenario(make_scenario(name, tmp_path, seed=5, noise=0))
    response = {e["eventID"] for e in scenario.key["response"]}
    assert {r["eventID"] for r in scenario.records} == scenario.attacker_ids | response
    assert scenario.key["benign_lookalikes"] == []


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_noise_scales_the_background(tmp_path: Path, name: str) -> None:
    quiet = read_scenario(make_scenario(name, tmp_path / "quiet", seed=5, noise=0.5))
    busy = read_scenario(make_scenario(name, tmp_path / "busy", seed=5, noise=2))
    stages = [[(s["stage"], s["techniques"]) for s in x.key["stages"]] for x in (quiet, busy)]
    assert stages[0] == stages[1]  # the same story (s3-ransomware deletes whatever the pipeline wrote, so counts vary)
    background = [len(x.records) - len(x.attacker_ids) for x in (quiet, busy)]
    assert 1.5 * background[0] < background[1]


def test_load_answer_key(tmp_path: Path) -> None:
    make_scenario("leaked-key", tmp_path / "s", seed=2)
    assert load_answer_key(tmp_path / "s")["scenario"] == "leaked-key"
    assert load_answer_key(tmp_path / "s" / "answer-key.json")["seed"] == 2
    with pytest.raises(SourceError, match="no answer key") as missing:
        load_answer_key(tmp_path)
    assert missing.value.location == str(tmp_path / "answer-key.json")
    (tmp_path / "other.json").write_text('{"Records": []}')
    with pytest.raises(SourceError, match="not an answer key"):
        load_answer_key(tmp_path / "other.json")
    (tmp_path / "broken.json").write_text('{"scenario": ')
    with pytest.raises(ForensicsError, match="cannot read"):
        load_answer_key(tmp_path / "broken.json")


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list"]) == 0
    assert "leaked-key:" in capsys.readouterr().out
    assert main(["make", "leaked-key", str(tmp_path), "--seed", "9", "--noise", "0.5"]) == 0
    assert load_answer_key(tmp_path)["seed"] == 9
    assert main(["make", "leaked-key", str(tmp_path)]) == 2
    assert "not empty" in capsys.readouterr().err
