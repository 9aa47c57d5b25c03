"""forensics: investigate incidents in AWS accounts with pandas, networkx and Jupyter.

The public API is re-exported here; see README.md for a tour. Names are imported when
first used (PEP 562), so ``import forensics`` stays cheap: worker processes that only
decode CloudTrail files, and notebooks that never draw a graph, do not pay for pySigma,
boto3, networkx or papermill.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from forensics.errors import (  # noqa: F401 (re-exported through __all__)
    ForensicsError,
    IntegrityError,
    MetricsError,
    ParameterError,
    ReportError,
    SchemaError,
    SourceError,
    WindowError,
)

__version__ = "0.1.0"

#: Public name -> the module that defines it (a module name maps to the module itself).
_EXPORTS: dict[str, str] = {
    # CloudTrail and its sources
    "load_cloudtrail": "forensics.cloudtrail",
    "LoadResult": "forensics.cloudtrail",
    "LoadReport": "forensics.loadreport",
    "load_s3": "forensics.s3trail",
    "load_lookup_events": "forensics.lookup",
    "load_log_group": "forensics.logsource",
    "load_athena": "forensics.athena",
    "build_query": "forensics.athena",
    "create_table_sql": "forensics.athena",
    "acquire": "forensics.acquire",
    "AcquisitionResult": "forensics.acquire",
    # the schema and the incident window
    "COLUMNS": "forensics.schema",
    "EVENT_COLUMNS": "forensics.schema",
    "SCHEMA_VERSION": "forensics.schema",
    "Incident": "forensics.window",
    "parse_time": "forensics.window",
    # analysis
    "detect": "forensics.detect",
    "Detections": "forensics.detect",
    "extract_resources": "forensics.resources",
    "activity_graph": "forensics.graph",
    "events_for_edge": "forensics.graphwalk",
    "reach": "forensics.graphwalk",
    "touched_by": "forensics.graphwalk",
    "who_did": "forensics.graphwalk",
    "draw_graph": "forensics.graphplot",
    "export_graph": "forensics.graphplot",
    "load_metric_data": "forensics.metrics",
    "discover_metrics": "forensics.discovery",
    "MetricsWarning": "forensics.metrics",
    "load_alarms": "forensics.alarms",
    "load_alarm_history": "forensics.alarms",
    "probable_causes": "forensics.timeline",
    "change_points": "forensics.changepoints",
    "alarm_panels": "forensics.timelineplot",
    # evidence integrity
    "validate_trail": "forensics.integrity",
    "file_status": "forensics.integrity",
    "TrailValidation": "forensics.integrity",
    # reports, scenarios and the bundled sample
    "run_report": "forensics.report",
    "read_results": "forensics.results",
    "Verdict": "forensics.results",
    "ReportResult": "forensics.report",
    "training": "forensics.training",
    "scenario_questions": "forensics.scenarios",
    "list_scenarios": "forensics.scenarios",
    "make_scenario": "forensics.scenarios",
    "load_answer_key": "forensics.scenarios",
    "ScenarioInfo": "forensics.scenarios",
    "sample_path": "forensics.sample",
    "sample_cloudtrail_path": "forensics.sample",
    "sample_answer_key": "forensics.sample",
    "SAMPLE_START": "forensics.sample",
    "SAMPLE_END": "forensics.sample",
}

_ERRORS = [
    "ForensicsError",
    "IntegrityError",
    "MetricsError",
    "ParameterError",
    "ReportError",
    "SchemaError",
    "SourceError",
    "WindowError",
]
__all__ = sorted([*_EXPORTS, *_ERRORS])


def __getattr__(name: str) -> object:
    """Import a public name from its module the first time it is used."""
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'forensics' has no attribute {name!r}")
    module = importlib.import_module(module_name)
    value = module if module_name == f"forensics.{name}" else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if TYPE_CHECKING:  # for type checkers and IDEs: the same names, imported eagerly
    from forensics import detect, training  # noqa: F401
    from forensics.acquire import AcquisitionResult, acquire  # noqa: F401
    from forensics.alarms import load_alarm_history, load_alarms  # noqa: F401
    from forensics.athena import build_query, create_table_sql, load_athena  # noqa: F401
    from forensics.cloudtrail import LoadResult, load_cloudtrail  # noqa: F401
    from forensics.detect import Detections  # noqa: F401
    from forensics.graph import activity_graph  # noqa: F401
    from forensics.graphwalk import events_for_edge, reach, touched_by, who_did  # noqa: F401
    from forensics.graphplot import draw_graph, export_graph  # noqa: F401
    from forensics.integrity import TrailValidation, file_status, validate_trail  # noqa: F401
    from forensics.loadreport import LoadReport  # noqa: F401
    from forensics.logsource import load_log_group  # noqa: F401
    from forensics.lookup import load_lookup_events  # noqa: F401
    from forensics.discovery import discover_metrics  # noqa: F401
    from forensics.metrics import MetricsWarning, load_metric_data  # noqa: F401
    from forensics.report import ReportResult, run_report  # noqa: F401
    from forensics.resources import extract_resources  # noqa: F401
    from forensics.results import Verdict, read_results  # noqa: F401
    from forensics.s3trail import load_s3  # noqa: F401
    from forensics.sample import SAMPLE_END, SAMPLE_START, sample_answer_key, sample_cloudtrail_path, sample_path  # noqa: F401
    from forensics.scenarios import ScenarioInfo, list_scenarios, load_answer_key, make_scenario, scenario_questions  # noqa: F401
    from forensics.schema import COLUMNS, EVENT_COLUMNS, SCHEMA_VERSION  # noqa: F401
    from forensics.changepoints import change_points  # noqa: F401
    from forensics.timeline import probable_causes  # noqa: F401
    from forensics.timelineplot import alarm_panels  # noqa: F401
    from forensics.window import Incident, parse_time  # noqa: F401
