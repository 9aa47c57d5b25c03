"""The bundled sample incident: scenario ``leaked-key`` at seed 7, shipped as package data.

It lives in ``forensics/sample_data/`` (CloudTrail in the S3 layout, CloudWatch CLI output,
``answer-key.json``) and is regenerated, byte for byte, with::

    python -m forensics.scenarios make leaked-key forensics/sample_data --seed 7 --overwrite

A test checks that the committed files equal a fresh generation, so change the generator and
the data together.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from forensics.errors import SourceError
from forensics.scenarios import load_answer_key

#: Scenario the sample was generated from.
SAMPLE_SCENARIO = "leaked-key"
#: Seed and noise it was generated with.
SAMPLE_SEED = 7
SAMPLE_NOISE = 1.0
#: Default incident window of the sample (the answer key's ``incident_window``).
SAMPLE_START = "2024-03-12T10:30:00Z"
SAMPLE_END = "2024-03-12T12:15:00Z"
#: Account whose trail the sample holds (note the leading zero).
SAMPLE_ACCOUNT = "012345678901"


def sample_path() -> Path:
    """The folder of the bundled sample data, wherever the package is installed.

    Raises
    ------
    SourceError
        The package data is missing (an install without package data) or not on a file system.
    """
    folder = resources.files("forensics").joinpath("sample_data")
    if not isinstance(folder, Path):
        raise SourceError(
            "the sample data is not on a file system (zipped install?); reinstall the package unzipped", str(folder)
        )
    if not (folder / "answer-key.json").is_file():
        raise SourceError(
            "the bundled sample data is missing; regenerate it with "
            "`python -m forensics.scenarios make leaked-key forensics/sample_data --seed 7 --overwrite`",
            str(folder),
        )
    return folder


def sample_cloudtrail_path() -> Path:
    """The sample's CloudTrail logs (``AWSLogs/...``): give this, not the whole folder, to a loader."""
    return sample_path() / "AWSLogs"


def sample_cloudwatch_path() -> Path:
    """The sample's CloudWatch files (``get-metric-data.json``, ``metric-data-queries.json``,
    ``describe-alarms.json``, ``describe-alarm-history.json``)."""
    return sample_path() / "cloudwatch"


def sample_answer_key() -> dict[str, Any]:
    """The answer key of the bundled sample."""
    return load_answer_key(sample_path())
