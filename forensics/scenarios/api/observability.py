"""Calls of the people who watch the account: CloudWatch, CloudWatch Logs, CloudTrail, Cost Explorer."""

from __future__ import annotations

from datetime import datetime

from forensics.scenarios.api.call import GLOBAL_REGION, Call
from forensics.scenarios.identities import JSON
from forensics.scenarios.times import console_date


def describe_alarms(state: str | None = None) -> Call:
    request = {"stateValue": state} if state else None
    return Call("monitoring.amazonaws.com", "DescribeAlarms", True, request, host="monitoring.{region}.amazonaws.com")


def disable_alarm_actions(alarm_names: list[str]) -> Call:
    """``DisableAlarmActions``: the alarms still change state but notify nobody."""
    return Call(
        "monitoring.amazonaws.com",
        "DisableAlarmActions",
        False,
        {"alarmNames": alarm_names},
        host="monitoring.{region}.amazonaws.com",
    )


def get_metric_data(queries: list[JSON], start: datetime, end: datetime) -> Call:
    return Call(
        "monitoring.amazonaws.com",
        "GetMetricData",
        True,
        {"metricDataQueries": queries, "startTime": console_date(start), "endTime": console_date(end)},
        host="monitoring.{region}.amazonaws.com",
    )


def filter_log_events(log_group: str, start: datetime, end: datetime) -> Call:
    return Call(
        "logs.amazonaws.com",
        "FilterLogEvents",
        True,
        {
            "logGroupName": log_group,
            "startTime": int(start.timestamp() * 1000),
            "endTime": int(end.timestamp() * 1000),
            "interleaved": True,
        },
        host="logs.{region}.amazonaws.com",
    )


def describe_trails() -> Call:
    return Call(
        "cloudtrail.amazonaws.com",
        "DescribeTrails",
        True,
        {"includeShadowTrails": True},
        host="cloudtrail.{region}.amazonaws.com",
    )


def get_trail_status(trail_arn: str) -> Call:
    return Call(
        "cloudtrail.amazonaws.com",
        "GetTrailStatus",
        True,
        {"name": trail_arn},
        host="cloudtrail.{region}.amazonaws.com",
    )


def metric_query(
    query_id: str, namespace: str, metric: str, dimensions: dict[str, str], stat: str, period: int = 60
) -> JSON:
    """One ``MetricDataQuery`` in the AWS CLI's JSON shape."""
    return {
        "Id": query_id,
        "MetricStat": {
            "Metric": {
                "Namespace": namespace,
                "MetricName": metric,
                "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
            },
            "Period": period,
            "Stat": stat,
        },
        "ReturnData": True,
    }


def get_cost_and_usage(start: str, end: str) -> Call:
    return Call(
        "ce.amazonaws.com",
        "GetCostAndUsage",
        True,
        request={"timePeriod": {"start": start, "end": end}, "granularity": "DAILY", "metrics": ["UnblendedCost"]},
        host="ce.us-east-1.amazonaws.com",
        region=GLOBAL_REGION,
    )


def get_event_selectors(trail_arn: str) -> Call:
    return Call(
        "cloudtrail.amazonaws.com",
        "GetEventSelectors",
        True,
        {"trailName": trail_arn},
        host="cloudtrail.{region}.amazonaws.com",
    )


def stop_logging(trail_arn: str) -> Call:
    """``StopLogging``: the trail records nothing more, in any region, until ``StartLogging``."""
    return Call(
        "cloudtrail.amazonaws.com", "StopLogging", False, {"name": trail_arn}, host="cloudtrail.{region}.amazonaws.com"
    )


def start_logging(trail_arn: str) -> Call:
    return Call(
        "cloudtrail.amazonaws.com", "StartLogging", False, {"name": trail_arn}, host="cloudtrail.{region}.amazonaws.com"
    )
