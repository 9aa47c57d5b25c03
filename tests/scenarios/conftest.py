"""Fixtures for the scenario tests: each scenario generated once per session (seed 11, not the sample's)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from forensics.scenarios import SCENARIOS, make_scenario

from .reading import Scenario, read_scenario

SEED = 11


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Scenario]:
    """``generated(name)``: the scenario ``name`` at seed 11, generated on first use."""
    cache: dict[str, Scenario] = {}

    def get(name: str) -> Scenario:
        if name not in cache:
            out: Path = tmp_path_factory.mktemp(name) / "data"
            cache[name] = read_scenario(make_scenario(name, out, seed=SEED))
        return cache[name]

    return get


@pytest.fixture(scope="session", params=sorted(SCENARIOS))
def scenario(request: pytest.FixtureRequest, generated: Callable[[str], Scenario]) -> Scenario:
    """Every scenario in turn."""
    return generated(request.param)


@pytest.fixture(scope="session")
def leaked_key(generated: Callable[[str], Scenario]) -> Scenario:
    return generated("leaked-key")


@pytest.fixture(scope="session")
def outage(generated: Callable[[str], Scenario]) -> Scenario:
    return generated("rds-lambda-outage")


@pytest.fixture(scope="session")
def mining(generated: Callable[[str], Scenario]) -> Scenario:
    return generated("crypto-mining")


@pytest.fixture(scope="session")
def evasion(generated: Callable[[str], Scenario]) -> Scenario:
    return generated("defence-evasion")


@pytest.fixture(scope="session")
def ransomware(generated: Callable[[str], Scenario]) -> Scenario:
    return generated("s3-ransomware")
