"""``forensics validate`` through the real command-line entry point."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

import pytest
from signed_trail import START, Trail, gz, iso

from forensics.cli import COMMANDS, EXIT_ERROR, Command, main

H = dt.timedelta(hours=1)


@pytest.fixture(autouse=True)
def validate_verb(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register the verb as the lead wires it (harmless if it is already there)."""
    monkeypatch.setitem(COMMANDS, "validate", Command("forensics.integrity_cli", "validate CloudTrail digest chains"))


def _evidence(trail: Trail, tmp_path: Path) -> list[str]:
    root = trail.write(tmp_path / "evidence")
    return [
        str(root),
        "--public-keys", str(trail.public_keys_file(tmp_path / "public-keys.json")),
        "--object-metadata", str(trail.metadata_file(tmp_path / "digest-metadata.json")),
        "--acquired-at", iso(START + 3 * H),
    ]  # fmt: skip


def test_verified_evidence_exits_0_and_says_so(trail: Trail, tmp_path: Path, capsys) -> None:
    trail.chain("us-east-1", START, 3)

    code = main(["validate", *_evidence(trail, tmp_path), "--json", str(tmp_path / "out.json")])

    out = capsys.readouterr().out
    assert code == 0
    assert "verdict: VERIFIED" in out.splitlines()
    assert "chain 012345678901/us-east-1/org_audit.trail: 3/3 digests valid, 2024-03-14T00:00:31+00:00 to 2024-03-14T03:00:31+00:00, tail ok" in out
    written = json.loads((tmp_path / "out.json").read_text())
    assert (written["ok"], len(written["digests"]), len(written["logs"]), written["problems"]) == (True, 3, 6, [])
    assert written["digests"][0]["digestEndTime"] == "2024-03-14T01:00:31.000Z"


def test_problems_exit_1_and_are_listed_with_hostile_names_made_visible(trail: Trail, tmp_path: Path, capsys) -> None:
    d0, d1, d2 = trail.chain("us-east-1", START, 3)
    changed = trail.logs[d1][0]
    trail.objects[changed] = gz(gzip.decompress(trail.objects[changed]) + b" ")
    trail.add_log("us-east-1", START + H, [], "planted\x1b[8m")

    code = main(["validate", *_evidence(trail, tmp_path)])

    out = capsys.readouterr().out
    assert code == 1
    assert "verdict: NOT VERIFIED: 1 log file(s) hash-mismatch; 1 log file(s) unreferenced" in out
    assert f"  hash-mismatch  {changed}  SHA-256 " in out
    assert "planted\\x1b[8m.json.gz  referenced by no valid digest" in out
    assert "\x1b" not in out


def test_validation_that_cannot_run_exits_2_with_one_line(trail: Trail, tmp_path: Path, capsys) -> None:
    trail.chain("us-east-1", START, 1)
    root = trail.write(tmp_path / "evidence")

    code = main(["validate", str(root)])

    out, err = capsys.readouterr()
    assert (code, out) == (EXIT_ERROR, "")
    assert err == (
        "forensics validate: error: offline validation needs public_keys: "
        "save `aws cloudtrail list-public-keys` output with the evidence\n"
    )
