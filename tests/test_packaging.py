"""What gets installed: every subpackage, the bundled data, the notebooks; a quiet import."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_every_python_package_folder_is_listed():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {
        ".".join(path.parent.relative_to(ROOT).parts)
        for path in (ROOT / "forensics").rglob("*.py")
        if "__pycache__" not in path.parts
    }
    assert found | {"forensics.notebooks"} == listed


def test_import_is_quiet():
    """A notebook kernel imports forensics: nothing may land on stderr (it shows in reports)."""
    done = subprocess.run([sys.executable, "-c", "import forensics"], capture_output=True, text=True, cwd="/")
    assert done.returncode == 0 and done.stderr == ""


@pytest.mark.slow
def test_wheel_ships_data_rules_and_notebooks(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True, capture_output=True,
    )  # fmt: skip
    wheel = next(tmp_path.glob("*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "forensics/sample_data/answer-key.json" in names
    assert any(n.startswith("forensics/sample_data/AWSLogs/") and n.endswith(".json.gz") for n in names)
    assert any(n.startswith("forensics/rules/") and n.endswith(".yml") for n in names)
    assert "forensics/notebooks/triage.ipynb" in names
    assert "forensics/py.typed" in names


def test_no_undefined_or_unused_names():
    """pyflakes-level checks catch a NameError on a path the tests do not run (ruff's F rules)."""
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--select", "F", "--output-format", "concise", "forensics", "tests", "bench"],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_c_extensions_are_built_where_a_compiler_is():
    """The extension is optional; with a C compiler and Python's headers, the install must have built it."""
    compiler = (sysconfig.get_config_var("CC") or "").split()
    if not compiler or not shutil.which(compiler[0]) or not Path(sysconfig.get_paths()["include"], "Python.h").exists():
        pytest.skip("no C compiler or no Python headers here: msgspec decodes every file")
    from forensics import _ctdecode, _edges

    assert _ctdecode.MAX_DEPTH == 200
    assert callable(_edges.aggregate)  # the graph's C steps (forensics/graphbuild.py)
