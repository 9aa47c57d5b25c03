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
from forensics import detect
from forensics.acquire import AcquisitionResult, acquire
from forensics.alarms import load_alarm_history, load_alarms
from forensics.athena import build_query, create_table_sql, load_athena
from forensics.cloudtrail import LoadResult, load_cloudtrail
from forensics.detect import Detections
from forensics.graph import activity_graph, events_for_edge, reach, touched_by, who_did
from forensics.graphplot import draw_graph, export_graph
from forensics.integrity import TrailValidation, file_status, validate_trail
from forensics.loadreport import LoadReport
from forensics.logsource import load_log_group
from forensics.lookup import load_lookup_events
from forensics.metrics import MetricsWarning, discover_metrics, load_metric_data
from forensics.resources import extract_resources
from forensics.s3trail import load_s3
from forensics.sample import SAMPLE_END, SAMPLE_START, sample_answer_key, sample_cloudtrail_path, sample_path
from forensics.scenarios import ScenarioInfo, list_scenarios, load_answer_key, make_scenario
from forensics.schema import COLUMNS, EVENT_COLUMNS, SCHEMA_VERSION
from forensics.timeline import change_points, probable_causes
from forensics.timelineplot import alarm_panels
from forensics.window import Incident, parse_time

__version__ = "0.1.0"

def __getattr__(name: str) -> object:
    """Import the report runner lazily: papermill and nbconvert take seconds to import."""
    if name in ("run_report", "ReportResult"):
        from forensics import report

        return getattr(report, name)
    raise AttributeError(f"module 'forensics' has no attribute {name!r}")


__all__ = [
    "AcquisitionResult",
    "COLUMNS",
    "Detections",
    "EVENT_COLUMNS",
    "SCHEMA_VERSION",
    "ForensicsError",
    "Incident",
    "IntegrityError",
    "LoadReport",
    "LoadResult",
    "MetricsWarning",
    "MetricsError",
    "ParameterError",
    "ReportError",
    "ReportResult",
    "SAMPLE_END",
    "SAMPLE_START",
    "ScenarioInfo",
    "SchemaError",
    "SourceError",
    "TrailValidation",
    "WindowError",
    "acquire",
    "activity_graph",
    "alarm_panels",
    "build_query",
    "change_points",
    "create_table_sql",
    "detect",
    "discover_metrics",
    "draw_graph",
    "events_for_edge",
    "export_graph",
    "extract_resources",
    "file_status",
    "load_alarm_history",
    "load_alarms",
    "load_athena",
    "list_scenarios",
    "load_answer_key",
    "load_cloudtrail",
    "load_log_group",
    "load_lookup_events",
    "load_metric_data",
    "load_s3",
    "make_scenario",
    "parse_time",
    "probable_causes",
    "reach",
    "run_report",
    "sample_answer_key",
    "sample_cloudtrail_path",
    "sample_path",
    "touched_by",
    "validate_trail",
    "who_did",
]
