"""The ``forensics`` command line: verbs, version, one-line errors, the report verb."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from forensics.cli import COMMANDS, EXIT_ERROR, main, version
from forensics.report import available_notebooks

FAILING = Path(__file__).parent / "data" / "failing.ipynb"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("verb", sorted(COMMANDS))
def test_every_verb_module_has_the_verb_interface(verb: str) -> None:
    module = importlib.import_module(COMMANDS[verb].module)
    assert callable(module.add_arguments) and callable(module.run)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "--version") == (0, f"forensics {version()}\n", "")


def test_help_lists_every_verb(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for verb, command in COMMANDS.items():
        assert verb in out and command.help in out


@pytest.mark.parametrize("argv", [(), ("frobnicate",), ("report", "--no-such-option")])
def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]) -> None:
    code, _, err = run(capsys, *argv)
    assert code == EXIT_ERROR
    assert err.startswith("usage: forensics")


def test_forensics_errors_are_one_line_without_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "report", "no-such-notebook\x1b[8m")
    assert code == EXIT_ERROR and out == ""
    known = ", ".join(available_notebooks())
    assert err == f"forensics report: error: no notebook named 'no-such-notebook\\x1b[8m'; available: {known}\n"
    assert "triage" in known


def test_report_list_shows_notebooks_and_typed_parameters(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "report", "all", "--list")
    assert code == 0
    lines = out.splitlines()
    assert "triage" in lines and not any(line.startswith("training/") for line in lines)
    assert any(line.startswith("  case_id: str = \"SAMPLE\"  # ") for line in lines)


@pytest.mark.parametrize(
    ("param", "message"),
    [
        ("password=hunter2", "'password' looks like a secret"),
        ("colour=red", "triage has no parameter 'colour'; its parameters are: source, start, end, case_id"),
        ("start", "--param 'start' is not of the form name=value"),
    ],
)
def test_bad_params_fail_before_anything_runs(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, param: str, message: str
) -> None:
    code, _, err = run(capsys, "report", "--param", param, "--out", str(tmp_path / "out"))
    assert code == EXIT_ERROR
    assert message in err and "Traceback" not in err
    assert len(err.splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_all_refuses_a_parameter_no_notebook_has(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "report", "all", "-p", "colour=red", "--out", str(tmp_path / "out"))
    assert code == EXIT_ERROR
    assert "no notebook has the parameters ['colour']" in err
    assert not (tmp_path / "out").exists()


def test_python_dash_m_runs_the_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "forensics", "--version"], capture_output=True, text=True, timeout=120, check=False
    )
    assert (done.returncode, done.stdout) == (0, f"forensics {version()}\n")


@pytest.mark.slow
def test_a_failing_notebook_exits_2_and_names_the_cell(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(capsys, "report", str(FAILING), "-p", "message=disk full", "--out", str(tmp_path), "-q")
    assert code == EXIT_ERROR and out == ""
    assert err.startswith(
        "forensics report: error: failing (cell 3): ValueError: disk full in `raise ValueError(message)`; "
        f"the executed notebook is {tmp_path / 'failing.ipynb'}"
    )
    assert json.loads((tmp_path / "failing.manifest.json").read_text())["status"] == "failed"


@pytest.mark.slow
def test_readme_report_command_writes_the_sample_report(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(capsys, "report", "--sample", "--out", str(tmp_path))
    assert code == 0, err
    assert out.startswith(f"triage: {tmp_path / 'triage.html'} (")
    manifest = json.loads((tmp_path / "triage.manifest.json").read_text())
    assert manifest["status"] == "ok"
    assert manifest["parameters"]["case_id"] == "SAMPLE"
    assert manifest["inputs"]["kind"] == "folder" and manifest["inputs"]["files"]
