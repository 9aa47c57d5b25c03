"""Fixtures for the detection tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from detect_records import Record, load_records


@pytest.fixture
def frame(tmp_path: Path) -> Callable[[list[Record]], pd.DataFrame]:
    """Build an events frame from CloudTrail records."""
    return lambda records: load_records(records, tmp_path)
