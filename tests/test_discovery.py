"""Metric discovery: CloudWatch dimensions, the metrics of the resources in some events (moto), namespaces' services."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from botocore.client import BaseClient
from cloudtrail_builders import iam_user, record

from forensics import discovery, metrics, timeline
from forensics.cloudtrail import load_cloudtrail
from forensics.discovery import dimensions_text, discover_metrics, parse_dimensions, service_of
from forensics.errors import ParameterError
from forensics.metrics import load_metric_data
from forensics.window import Incident

DB = [{"Name": "DBInstanceIdentifier", "Value": "orders-db"}]
FN = [{"Name": "FunctionName", "Value": "checkout-handler"}]


# --------------------------------------------------------------------------- dimensions and services


def test_dimensions_text_is_sorted_and_round_trips() -> None:
    dims = [{"Name": "Resource", "Value": "checkout-handler:live"}, {"Name": "FunctionName", "Value": "checkout-handler"}]
    text = dimensions_text(dims)
    assert text == "FunctionName=checkout-handler,Resource=checkout-handler:live"
    assert parse_dimensions(text) == {"FunctionName": "checkout-handler", "Resource": "checkout-handler:live"}
    assert dimensions_text([]) == "" and parse_dimensions("") == {}


def test_discovered_queries_ask_the_finest_period_cloudwatch_keeps() -> None:
    """The loader coarsens finer periods for older data; a coarser one here would lose recent detail."""
    assert discovery.PERIOD == metrics.RETENTION[0].period


def test_service_of_namespaces() -> None:
    assert [service_of(n) for n in ("AWS/RDS", "AWS/Lambda", "AWS/EBS", "AWS/ApplicationELB")] == [
        "rds", "lambda", "ec2", "elasticloadbalancing"]


# --------------------------------------------------------------------------- discovery, against moto


def events_frame(tmp_path: Path, records: list[dict]) -> pd.DataFrame:
    path = tmp_path / "trail.json"
    path.write_text(json.dumps({"Records": records}))
    return load_cloudtrail(path).events


def write_call(event_id: str, time: str, name: str, source: str, params: dict, region: str = "us-east-1") -> dict:
    return record(event_id, time, name=name, source=source, region=region, requestParameters=params,
                  readOnly=False, managementEvent=True, eventCategory="Management", identity=iam_user("ops"))


def test_discover_lists_the_metrics_of_the_resources_in_the_events(
    cloudwatch: BaseClient, put_series: Callable[..., None], tmp_path: Path
) -> None:
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    t0 = now - dt.timedelta(minutes=20)
    put_series("AWS/RDS", "DatabaseConnections", DB, t0, [3, 3, 0])
    put_series("AWS/RDS", "CPUUtilization", DB, t0, [20, 21, 2])
    put_series("AWS/Lambda", "Throttles", FN, t0, [0, 5, 9])
    put_series("AWS/Lambda", "Errors", [*FN, {"Name": "Resource", "Value": "checkout-handler"}], t0, [0, 0, 1])
    put_series("AWS/RDS", "DatabaseConnections", [{"Name": "DBInstanceIdentifier", "Value": "other-db"}], t0, [1, 1, 1])
    events = events_frame(tmp_path, [
        write_call("e1", "2024-03-14T02:10:00Z", "StopDBInstance", "rds.amazonaws.com", {"dBInstanceIdentifier": "orders-db"}),
        write_call("e2", "2024-03-14T02:11:00Z", "PutFunctionConcurrency20171031", "lambda.amazonaws.com",
                   {"functionName": "checkout-handler", "reservedConcurrentExecutions": 0}),
        write_call("e3", "2024-03-14T02:12:00Z", "CreateRole", "iam.amazonaws.com", {"roleName": "deployer"}),
        write_call("e4", "2024-03-14T02:13:00Z", "StopDBInstance", "rds.amazonaws.com", {"dBInstanceIdentifier": "eu-db"},
                   region="eu-west-1"),
    ])
    found = discover_metrics(events, cloudwatch)
    got = set(found.metrics[["namespace", "metric", "dimensions", "stat", "resource_name"]].itertuples(index=False, name=None))
    assert got == {
        ("AWS/Lambda", "Errors", "FunctionName=checkout-handler,Resource=checkout-handler", "Sum", "checkout-handler"),
        ("AWS/Lambda", "Throttles", "FunctionName=checkout-handler", "Sum", "checkout-handler"),
        ("AWS/RDS", "CPUUtilization", "DBInstanceIdentifier=orders-db", "Average", "orders-db"),
        ("AWS/RDS", "DatabaseConnections", "DBInstanceIdentifier=orders-db", "Average", "orders-db"),
    }
    skipped = found.skipped.set_index("resource_name")["reason"].to_dict()
    assert skipped == {"deployer": "no CloudWatch dimension known for this type",
                       "eu-db": "in eu-west-1; the client reads us-east-1"}
    # the queries are ready to use
    inc = Incident(t0, t0 + dt.timedelta(minutes=2), pad="0s")
    frame = load_metric_data(cloudwatch, list(found.queries), incident=inc)
    by_metric = frame.groupby("metric")["value"].apply(list).to_dict()
    assert by_metric == {"CPUUtilization": [20, 21, 2], "DatabaseConnections": [3, 3, 0],
                         "Errors": [0, 0, 1], "Throttles": [0, 5, 9]}


def test_discover_accepts_a_resources_frame_and_needs_one(
    cloudwatch: BaseClient, put_series: Callable[..., None]
) -> None:
    put_series("AWS/EC2", "CPUUtilization", [{"Name": "InstanceId", "Value": "i-0abc"}],
               dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5), [50.0])
    resources = pd.DataFrame({"arn": ["arn:aws:ec2:us-east-1:012345678901:instance/i-0abc"],
                              "type": ["AWS::EC2::Instance"], "name": ["i-0abc"], "region": ["us-east-1"]})
    found = discover_metrics(resources, cloudwatch)
    assert found.metrics[["metric", "dimensions"]].values.tolist() == [["CPUUtilization", "InstanceId=i-0abc"]]
    assert found.queries[0]["MetricStat"]["Metric"]["Dimensions"] == [{"Name": "InstanceId", "Value": "i-0abc"}]
    with pytest.raises(ParameterError, match="events frame or a resources frame"):
        discover_metrics(pd.DataFrame({"x": [1]}), cloudwatch)


# --------------------------------------------------------------------------- where they used to live


def test_the_names_stay_importable_from_their_old_modules() -> None:
    """Notebooks and scripts import them from forensics.metrics and forensics.timeline, where they were defined."""
    moved = ("DEFAULT_STAT", "DISCOVERY_COLUMNS", "METRIC_STATS", "RESOURCE_DIMENSIONS", "SKIPPED_COLUMNS", "Discovery",
             "ResourceDimension", "discover_metrics", "dimensions_text", "parse_dimensions")
    assert [name for name in moved if getattr(metrics, name) is not getattr(discovery, name)] == []
    assert timeline.service_of is discovery.service_of and timeline.NAMESPACE_SERVICES is discovery.NAMESPACE_SERVICES
