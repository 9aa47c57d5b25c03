"""The suite's own triage report, run through papermill on every scenario, surfaces the scenario's key facts."""

from __future__ import annotations

import json
from typing import Any

import pytest

from forensics.report import run_report
from forensics.results import read_results
from forensics.scenarios import SCENARIOS, make_scenario


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[dict[str, Any], dict[str, Any], str]]:
    """Per scenario: (answer key, triage results, triage HTML), run once on a light background."""
    done = {}
    for name in sorted(SCENARIOS):
        root = tmp_path_factory.mktemp(name)
        folder = make_scenario(name, root / "data", seed=11, noise=0.2)
        key = json.loads((folder / "answer-key.json").read_text())
        window = key["incident_window"]
        parameters = {"source": str(folder / "AWSLogs"), "start": window["start"], "end": window["end"], "case_id": name}
        result = run_report("triage", parameters, root / "report")
        assert result.results is not None
        done[name] = (key, read_results(result.results), result.html.read_text(encoding="utf-8"))
    return done


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_triage_surfaces_who_from_where_and_what(
    name: str, reports: dict[str, tuple[dict[str, Any], dict[str, Any], str]]
) -> None:
    key, results, html = reports[name]
    assert results["status"] == "ok" and results["load"]["ok"]
    attacker = key["attacker"]
    assert set(attacker["principal_arns"]) <= set(results["actors"])
    assert [ip for ip in attacker["source_ips"] if ip not in html] == []
    events = {e["eventID"]: e for stage in key["stages"] for e in stage["events"]}
    assert {e["eventName"] for e in events.values()} <= set(results["event_names"])
    caught = [f["eventID"] for f in results["detections"]["findings"] if f["eventID"] in events]
    assert caught, "no detection fired on the attack"
    assert [event_id for event_id in caught if event_id in html]  # the findings table shows the first 100
