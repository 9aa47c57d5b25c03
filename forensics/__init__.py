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
from forensics.loadreport import LoadReport
from forensics.schema import COLUMNS, EVENT_COLUMNS, SCHEMA_VERSION

__version__ = "0.1.0"

__all__ = [
    "COLUMNS",
    "EVENT_COLUMNS",
    "SCHEMA_VERSION",
    "ForensicsError",
    "IntegrityError",
    "LoadReport",
    "MetricsError",
    "ParameterError",
    "ReportError",
    "SchemaError",
    "SourceError",
    "WindowError",
]
