"""Which CloudWatch metrics belong to the resources CloudTrail events name, and back.

CloudWatch names a resource in a metric's dimensions (``DBInstanceIdentifier=orders-db``);
:data:`RESOURCE_DIMENSIONS` says which dimension names each resource type. Both directions
use it:

* :func:`discover_metrics` answers "which metrics exist for the resources in these
  events?" with ``ListMetrics`` by dimension, and writes ready-to-use ``MetricDataQueries``
  for :func:`forensics.metrics.load_metric_data`;
* :class:`Touched` answers "which calls touched the resource of this metric?" (on the
  resource itself, on a related resource, or in the same service), for
  :func:`forensics.timeline.probable_causes` and :func:`forensics.changepoints.change_points`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd
from botocore.client import BaseClient

from forensics.errors import ParameterError
from forensics.resources import SERVICE, extract_resources

if TYPE_CHECKING:
    from forensics.metrics import Query

#: Period of the queries :func:`discover_metrics` writes: one minute, CloudWatch's standard
#: resolution. :func:`~forensics.metrics.load_metric_data` raises it to the finest period
#: CloudWatch still keeps for the incident's age.
PERIOD = 60


# --------------------------------------------------------------------------- dimensions


def dimensions_text(dimensions: Iterable[Mapping[str, str]] | None) -> str:
    """Stable text form of CloudWatch dimensions: ``Name=Value`` pairs sorted by name, comma-joined.

    Examples
    --------
    >>> dimensions_text([{"Name": "Resource", "Value": "f"}, {"Name": "FunctionName", "Value": "f"}])
    'FunctionName=f,Resource=f'
    """
    pairs = sorted((str(d["Name"]), str(d["Value"])) for d in dimensions or ())
    return ",".join(f"{name}={value}" for name, value in pairs)


def parse_dimensions(text: str | None) -> dict[str, str]:
    """Inverse of :func:`dimensions_text` (values containing a comma do not round-trip)."""
    if not isinstance(text, str) or not text:
        return {}
    pairs = (item.partition("=") for item in text.split(","))
    return {name: value for name, _, value in pairs}


# --------------------------------------------------------------------------- resources and their dimensions


@dataclass(frozen=True)
class ResourceDimension:
    """How CloudWatch names one resource type in its metrics.

    Attributes
    ----------
    resource_type
        CloudFormation-style type, as :func:`forensics.resources.extract_resources` gives it.
    namespace
        The AWS namespace of the service's metrics.
    dimension
        The dimension carrying the resource's identifier.
    value
        Which resource field fills it: ``"name"`` or ``"arn"``.
    """

    resource_type: str
    namespace: str
    dimension: str
    value: str = "name"


#: Resource types with CloudWatch metrics, and the dimension that names them.
RESOURCE_DIMENSIONS: tuple[ResourceDimension, ...] = (
    ResourceDimension("AWS::Lambda::Function", "AWS/Lambda", "FunctionName"),
    ResourceDimension("AWS::RDS::DBInstance", "AWS/RDS", "DBInstanceIdentifier"),
    ResourceDimension("AWS::RDS::DBCluster", "AWS/RDS", "DBClusterIdentifier"),
    ResourceDimension("AWS::S3::Bucket", "AWS/S3", "BucketName"),
    ResourceDimension("AWS::EC2::Instance", "AWS/EC2", "InstanceId"),
    ResourceDimension("AWS::EC2::Volume", "AWS/EBS", "VolumeId"),
    ResourceDimension("AWS::AutoScaling::AutoScalingGroup", "AWS/AutoScaling", "AutoScalingGroupName"),
    ResourceDimension("AWS::DynamoDB::Table", "AWS/DynamoDB", "TableName"),
    ResourceDimension("AWS::SQS::Queue", "AWS/SQS", "QueueName"),
    ResourceDimension("AWS::SNS::Topic", "AWS/SNS", "TopicName"),
    ResourceDimension("AWS::Kinesis::Stream", "AWS/Kinesis", "StreamName"),
    ResourceDimension("AWS::ElastiCache::CacheCluster", "AWS/ElastiCache", "CacheClusterId"),
    ResourceDimension("AWS::ECS::Cluster", "AWS/ECS", "ClusterName"),
    ResourceDimension("AWS::StepFunctions::StateMachine", "AWS/States", "StateMachineArn", "arn"),
)


# --------------------------------------------------------------------------- discovery


#: Statistic that makes sense per metric name (counts are summed, levels maximised); others
#: use :data:`DEFAULT_STAT`.
METRIC_STATS: Mapping[str, str] = {
    **dict.fromkeys(
        ("Throttles", "Errors", "Invocations", "4xxErrors", "5xxErrors", "AllRequests", "GetRequests", "PutRequests",
         "BytesDownloaded", "BytesUploaded", "ThrottledRequests", "ReadThrottleEvents", "WriteThrottleEvents",
         "UserErrors", "SystemErrors", "NumberOfMessagesSent", "NumberOfMessagesReceived", "NumberOfMessagesDeleted",
         "NumberOfMessagesPublished", "NumberOfNotificationsFailed", "ExecutionsFailed", "ExecutionsStarted"),
        "Sum",
    ),
    **dict.fromkeys(
        ("ConcurrentExecutions", "StatusCheckFailed", "StatusCheckFailed_Instance", "StatusCheckFailed_System",
         "ApproximateAgeOfOldestMessage"),
        "Maximum",
    ),
}
DEFAULT_STAT = "Average"

DISCOVERY_COLUMNS: tuple[str, ...] = (
    "id", "namespace", "metric", "dimensions", "stat", "resource_type", "resource_name", "arn",
)
SKIPPED_COLUMNS: tuple[str, ...] = ("resource_type", "resource_name", "arn", "reason")


@dataclass(frozen=True)
class Discovery:
    """Metrics that exist for the resources of an incident.

    Attributes
    ----------
    metrics
        One row per metric (columns :data:`DISCOVERY_COLUMNS`); ``id`` is its query's Id.
    queries
        Ready-to-use ``MetricDataQueries`` for :func:`~forensics.metrics.load_metric_data`
        (Period :data:`PERIOD`; the loader raises it to what the window's age allows).
    skipped
        Resources not searched and why (no known dimension, another region).
    """

    metrics: pd.DataFrame
    queries: tuple[Query, ...]
    skipped: pd.DataFrame


def discover_metrics(events_or_resources: pd.DataFrame, client: BaseClient) -> Discovery:
    """List the CloudWatch metrics of the resources touched by some events.

    Parameters
    ----------
    events_or_resources
        An events frame (its resources are extracted with
        :func:`forensics.resources.extract_resources`) or such a resources frame
        (``arn``, ``type``, ``name``, ``region``).
    client
        A boto3 CloudWatch client; ``ListMetrics`` is called once per resource, filtered by
        the resource's dimension (:data:`RESOURCE_DIMENSIONS`), in the client's region.

    Returns
    -------
    Discovery
        The metrics, their queries, and the resources that were not searched.
    """
    resources = _resources_of(events_or_resources)
    by_type = {d.resource_type: d for d in RESOURCE_DIMENSIONS}
    client_region = getattr(getattr(client, "meta", None), "region_name", None)
    found: dict[tuple[str, str, str], tuple[str, str, str]] = {}
    skipped: list[tuple[str, str, str, str]] = []
    paginator = client.get_paginator("list_metrics")
    unique = resources.drop_duplicates(["type", "name", "arn"])
    for rtype, name, arn, region in unique[["type", "name", "arn", "region"]].itertuples(index=False):
        rule = by_type.get(str(rtype))
        if rule is None:
            skipped.append((str(rtype), str(name), str(arn), "no CloudWatch dimension known for this type"))
            continue
        if isinstance(region, str) and region and client_region and region != client_region:
            skipped.append((str(rtype), str(name), str(arn), f"in {region}; the client reads {client_region}"))
            continue
        value = arn if rule.value == "arn" else name
        if not isinstance(value, str) or not value:
            skipped.append((str(rtype), str(name), str(arn), f"no {rule.value} to fill {rule.dimension}"))
            continue
        for page in paginator.paginate(Dimensions=[{"Name": rule.dimension, "Value": value}]):
            for metric in page.get("Metrics", []):
                key = (metric["Namespace"], metric["MetricName"], dimensions_text(metric.get("Dimensions")))
                found.setdefault(key, (str(rtype), str(name), str(arn)))
    rows = []
    queries: list[Query] = []
    for number, ((namespace, metric, dims), (rtype, name, arn)) in enumerate(sorted(found.items()), start=1):
        stat = METRIC_STATS.get(metric, DEFAULT_STAT)
        qid = f"m{number}"
        rows.append((qid, namespace, metric, dims, stat, rtype, name, arn))
        dimensions = [{"Name": k, "Value": v} for k, v in parse_dimensions(dims).items()]
        queries.append(
            {
                "Id": qid,
                "MetricStat": {
                    "Metric": {"Namespace": namespace, "MetricName": metric, "Dimensions": dimensions},
                    "Period": PERIOD,
                    "Stat": stat,
                },
                "Label": f"{metric} {dims} {stat}",
                "ReturnData": True,
            }
        )
    metrics = pd.DataFrame(rows, columns=list(DISCOVERY_COLUMNS)).astype("str")
    return Discovery(metrics, tuple(queries), pd.DataFrame(skipped, columns=list(SKIPPED_COLUMNS)).astype("str"))


def _resources_of(frame: pd.DataFrame) -> pd.DataFrame:
    if {"arn", "type", "name"} <= set(frame.columns):
        resources = frame
    elif "eventID" in frame.columns:
        resources = extract_resources(frame)
    else:
        raise ParameterError("discover_metrics needs an events frame or a resources frame (arn, type, name)")
    if "region" not in resources.columns:
        resources = resources.assign(region=None)
    return resources[resources["type"].ne(SERVICE).fillna(True).astype(bool)]


# --------------------------------------------------------------------------- back from a metric to the calls


#: Service (first label of ``eventSource``) behind a metric namespace, where it is not the
#: namespace's own name in lower case.
NAMESPACE_SERVICES: Mapping[str, str] = {
    "AWS/EBS": "ec2",
    "AWS/ApplicationELB": "elasticloadbalancing",
    "AWS/NetworkELB": "elasticloadbalancing",
    "AWS/ELB": "elasticloadbalancing",
    "AWS/ApiGateway": "apigateway",
}


def service_of(namespace: str) -> str:
    """The ``eventSource`` service label of a CloudWatch namespace (``AWS/RDS`` → ``rds``)."""
    return NAMESPACE_SERVICES.get(namespace, namespace.rpartition("/")[2].lower())


@dataclass(frozen=True)
class Touched:
    """What each call of an events frame touched: its resources and its service, to match metrics against.

    Build it once with :meth:`of`, then ask :meth:`matches` for each metric.

    Attributes
    ----------
    resources
        The :func:`~forensics.resources.extract_resources` frame of the events.
    keys
        ``type|name`` of each row of ``resources``.
    real
        Whether each row of ``resources`` is a resource (not the fallback to a service).
    services
        The service of each event: the first label of its ``eventSource``.
    ids
        The ``eventID`` of each event.
    """

    resources: pd.DataFrame
    keys: pd.Series
    real: pd.Series
    services: pd.Series
    ids: pd.Series

    @classmethod
    def of(cls, events: pd.DataFrame) -> Touched:
        """The resources (:func:`~forensics.resources.extract_resources`) and services of ``events``."""
        resources = extract_resources(events)
        keys = resources["type"].astype(str) + "|" + resources["name"].astype(str)
        real = resources["type"].ne(SERVICE).fillna(False).astype(bool)
        services = events["eventSource"].astype("category").map(lambda source: str(source).split(".", 1)[0])
        return cls(resources, keys, real, services.astype(str), events["eventID"])

    def matches(self, namespace: str, dimensions: str) -> dict[str, tuple[str, str]]:
        """eventID → (match level, resource name) for a metric's namespace and dimensions.

        ``resource``: the call names the resource of a dimension (by its type's dimension in
        :data:`RESOURCE_DIMENSIONS`, or by name for other dimensions);
        ``related``: the call names a resource that some call names together with it;
        ``service``: the call went to the metric's service. The best level wins.
        """
        resources = self.resources
        direct = pd.Series(False, index=resources.index)
        for dimension, value in parse_dimensions(dimensions).items():
            rules = [r for r in RESOURCE_DIMENSIONS if r.dimension == dimension]
            if not rules:
                direct |= resources["name"].eq(value).fillna(False).astype(bool)
            for rule in rules:
                field = resources["arn"] if rule.value == "arn" else resources["name"]
                direct |= (field.eq(value) & resources["type"].eq(rule.resource_type)).fillna(False).astype(bool)
        direct_events = set(resources.loc[direct, "eventID"])
        related_keys = set(self.keys[resources["eventID"].isin(direct_events) & ~direct & self.real])
        related = self.keys.isin(related_keys)
        named = resources.loc[direct | related].drop_duplicates("eventID").set_index("eventID")["name"]
        levels: dict[str, tuple[str, str]] = {}
        for event_id in self.ids[self.services.eq(service_of(namespace)).to_numpy()]:
            levels[str(event_id)] = ("service", "")
        for event_id in set(resources.loc[related, "eventID"]) - direct_events:
            levels[str(event_id)] = ("related", str(named.get(event_id, "")))
        for event_id in direct_events:
            levels[str(event_id)] = ("resource", str(named.get(event_id, "")))
        return levels

