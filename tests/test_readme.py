"""The README's two commands are the ones CI and users run."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def bash_blocks() -> list[str]:
    return re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.DOTALL)


def test_ci_runs_exactly_the_readme_test_command():
    test_command = bash_blocks()[1].strip()
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert test_command in ci
    assert ci[-1] == test_command  # last, so its exit status is CI's


def test_first_command_installs_and_runs_the_sample_report():
    first = bash_blocks()[0]
    assert "pip install -e" in first and "report --sample --out reports/" in first
