"""environment.yml mirrors pyproject.toml: same packages (conda-forge names), same lower bounds."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
#: PyPI name -> conda-forge name, where they differ.
CONDA_NAMES = {"matplotlib": "matplotlib-base", "isal": "python-isal"}
#: A conda MatchSpec as we write them: name, then an optional version constraint.
MATCHSPEC = re.compile(r"^[a-z0-9][a-z0-9._-]*(=[0-9][^\s]*|\s*(>=|<=|==|<|>)[0-9][0-9a-z.*]*(,\s*(<|<=)[0-9][0-9a-z.*]*)?)?$")


def load() -> tuple[dict, dict]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return env, project


def conda_and_pip(env: dict) -> tuple[dict[str, str], dict[str, str]]:
    conda: dict[str, str] = {}
    pip: dict[str, str] = {}
    for entry in env["dependencies"]:
        if isinstance(entry, dict):
            for line in entry["pip"]:
                if line != "-e .":
                    req = Requirement(line)
                    pip[req.name.lower()] = str(req.specifier)
        else:
            name, _, spec = entry.partition(" ")
            conda[name.split("=")[0]] = spec.strip()
    return conda, pip


def test_structure():
    env, _ = load()
    assert env["name"] == "aws-forensics"
    assert env["channels"] == ["conda-forge", "nodefaults"]
    assert "python=3.11" in env["dependencies"]
    pip_sections = [e for e in env["dependencies"] if isinstance(e, dict)]
    assert len(pip_sections) == 1 and "-e ." in pip_sections[0]["pip"]


def test_conda_entries_are_matchspecs():
    env, _ = load()
    for entry in env["dependencies"]:
        if isinstance(entry, str):
            assert MATCHSPEC.match(entry), f"not a conda MatchSpec: {entry!r}"
            assert "[" not in entry, f"conda has no extras syntax: {entry!r}"


def test_no_brackets_in_comments():
    # conda-lock reads "[...]" in a trailing comment as a platform selector and drops the line
    for line in (ROOT / "environment.yml").read_text().splitlines():
        if "#" in line:
            assert "[" not in line.split("#", 1)[1], line


def test_every_pyproject_dependency_is_mirrored_with_its_bound():
    env, project = load()
    conda, pip = conda_and_pip(env)
    requirements = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    for text in requirements:
        req = Requirement(text)
        name = req.name.lower()
        conda_name = CONDA_NAMES.get(name, name)
        if conda_name in conda:
            assert conda[conda_name].replace(" ", "") == str(req.specifier), f"{name}: {conda[conda_name]} vs {req.specifier}"
        else:
            assert name in pip, f"{name} from pyproject.toml is missing in environment.yml"
            assert pip[name] == str(req.specifier)


def test_nothing_extra_in_environment():
    env, project = load()
    conda, pip = conda_and_pip(env)
    names = {Requirement(t).name.lower() for t in [*project["dependencies"], *project["optional-dependencies"]["test"]]}
    # flask(-cors): moto's server; c-compiler: builds forensics._ctdecode at the pip install
    known = {CONDA_NAMES.get(n, n) for n in names} | names | {"python", "pip", "flask", "flask-cors", "c-compiler"}
    assert set(conda) - known == set()
    assert set(pip) - names == set()
