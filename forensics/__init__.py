"""forensics: investigate incidents in AWS accounts with pandas, networkx and Jupyter.

The public API is re-exported here; see README.md for a tour.
"""

from __future__ import annotations

from forensics.errors import (
    ForensicsError,
    IntegrityError,
    MetricsError,
    ParameterError,
    ReportError,
    SchemaError,
    SourceError,
    WindowError,
)
from forensics.cloudtrail import LoadResult, load_cloudtrail
from forensics.loadreport import LoadReport
from forensics.schema import COLUMNS, EVENT_COLUMNS, SCHEMA_VERSION
from forensics.window import Incident, parse_time

__version__ = "0.1.0"

__all__ = [
    "COLUMNS",
    "EVENT_COLUMNS",
    "SCHEMA_VERSION",
    "ForensicsError",
    "Incident",
    "IntegrityError",
    "LoadReport",
    "LoadResult",
    "MetricsError",
    "ParameterError",
    "ReportError",
    "SchemaError",
    "SourceError",
    "WindowError",
    "load_cloudtrail",
    "parse_time",
]
