"""The rules of resource extraction, as data: which resources each CloudTrail event names.

Two tables say what to take from where, so adding a service is adding lines, not code
(:func:`forensics.resources.extract_resources` is the engine that applies them):

* :data:`RESOURCE_TYPES`: for each CloudFormation type, how its ARN is built from a name
  and how the name is read back from an ARN (:func:`name_from_arn`, :func:`type_of_arn`);
* :data:`SERVICES`: for each ``eventSource``, the :class:`Pick` rules naming its resources
  in ``requestParameters``, ``responseElements`` or ``serviceEventDetails``.

Names are kept exactly as AWS writes them in CloudWatch dimensions (``BucketName``,
``DBInstanceIdentifier``, ``FunctionName``, ``InstanceId``): RDS identifiers are lower
case, Lambda names lose their version or alias qualifier.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

# --------------------------------------------------------------------------- the tables


@dataclass(frozen=True)
class ResourceType:
    """How one resource type's ARN is built from its name, and its name read from an ARN.

    Parameters
    ----------
    arn
        ARN template with ``{partition}``, ``{region}``, ``{account}`` and ``{name}``;
        ``"{name}"`` alone means the id itself is the node id (access keys).
    name
        Regular expression of the name inside the ARN, in place of ``{name}`` (default:
        everything).
    regional
        Whether the resource lives in one region even when its ARN has none (S3
        buckets); the event's ``awsRegion`` is then its region.
    suffix
        Regular expression of what an ARN may carry after the name (a Lambda qualifier).
    path
        Whether the ARN may carry a path before the name (IAM: ``role/service-role/etl``
        is named ``etl``).
    """

    arn: str
    name: str = ".+"
    regional: bool = True
    suffix: str = ""
    path: bool = False

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        """Compiled pattern matching an ARN of this type, with a ``name`` group."""
        text = re.escape(self.arn)
        for field_name in ("partition", "region", "account"):
            text = text.replace(re.escape("{" + field_name + "}"), "[^:]*")
        prefix = "(?:.*/)?" if self.path else ""
        suffix = f"(?:{self.suffix})?" if self.suffix else ""
        return re.compile(text.replace(re.escape("{name}"), f"{prefix}(?P<name>{self.name})") + suffix + "$")


def _iam(kind: str) -> ResourceType:
    """IAM resources: global, named by the last component of a path (``role/service-role/etl``)."""
    return ResourceType(f"arn:{{partition}}:iam::{{account}}:{kind}/{{name}}", name="[^/]+", regional=False, path=True)


#: CloudFormation type -> how its ARN and name relate. Types missing here still come
#: from ``resources`` lists; their name is the last component of the ARN.
RESOURCE_TYPES: dict[str, ResourceType] = {
    "AWS::S3::Bucket": ResourceType("arn:{partition}:s3:::{name}", name="[^/]+"),
    "AWS::S3::Object": ResourceType("arn:{partition}:s3:::{name}", name="[^/]+/.+"),
    "AWS::EC2::Instance": ResourceType("arn:{partition}:ec2:{region}:{account}:instance/{name}"),
    "AWS::EC2::SecurityGroup": ResourceType("arn:{partition}:ec2:{region}:{account}:security-group/{name}"),
    "AWS::EC2::Volume": ResourceType("arn:{partition}:ec2:{region}:{account}:volume/{name}"),
    "AWS::EC2::Snapshot": ResourceType("arn:{partition}:ec2:{region}::snapshot/{name}"),
    "AWS::EC2::Image": ResourceType("arn:{partition}:ec2:{region}::image/{name}"),
    "AWS::EC2::VPC": ResourceType("arn:{partition}:ec2:{region}:{account}:vpc/{name}"),
    "AWS::IAM::User": _iam("user"),
    "AWS::IAM::Role": _iam("role"),
    "AWS::IAM::Group": _iam("group"),
    "AWS::IAM::InstanceProfile": _iam("instance-profile"),
    "AWS::IAM::ManagedPolicy": _iam("policy"),
    "AWS::IAM::AccessKey": ResourceType("{name}", name="[A-Z0-9]+", regional=False),
    "AWS::STS::AssumedRole": ResourceType("arn:{partition}:sts::{account}:assumed-role/{name}", regional=False),
    "AWS::STS::FederatedUser": ResourceType("arn:{partition}:sts::{account}:federated-user/{name}", regional=False),
    "AWS::Lambda::Function": ResourceType(
        "arn:{partition}:lambda:{region}:{account}:function:{name}", name="[^:]+", suffix=":[^:]*"
    ),
    "AWS::RDS::DBInstance": ResourceType("arn:{partition}:rds:{region}:{account}:db:{name}"),
    "AWS::RDS::DBCluster": ResourceType("arn:{partition}:rds:{region}:{account}:cluster:{name}"),
    "AWS::RDS::DBSnapshot": ResourceType("arn:{partition}:rds:{region}:{account}:snapshot:{name}"),
    "AWS::KMS::Key": ResourceType("arn:{partition}:kms:{region}:{account}:key/{name}"),
    "AWS::KMS::Alias": ResourceType("arn:{partition}:kms:{region}:{account}:{name}", name="alias/.+"),
    "AWS::CloudTrail::Trail": ResourceType("arn:{partition}:cloudtrail:{region}:{account}:trail/{name}"),
    "AWS::GuardDuty::Detector": ResourceType("arn:{partition}:guardduty:{region}:{account}:detector/{name}"),
    "AWS::SecretsManager::Secret": ResourceType("arn:{partition}:secretsmanager:{region}:{account}:secret:{name}"),
    "AWS::SSM::Parameter": ResourceType("arn:{partition}:ssm:{region}:{account}:parameter/{name}"),
    "AWS::DynamoDB::Table": ResourceType("arn:{partition}:dynamodb:{region}:{account}:table/{name}", name="[^/]+"),
    "AWS::SNS::Topic": ResourceType("arn:{partition}:sns:{region}:{account}:{name}"),
    "AWS::SQS::Queue": ResourceType("arn:{partition}:sqs:{region}:{account}:{name}"),
    "AWS::ECS::Cluster": ResourceType("arn:{partition}:ecs:{region}:{account}:cluster/{name}"),
    "AWS::EKS::Cluster": ResourceType("arn:{partition}:eks:{region}:{account}:cluster/{name}"),
    "AWS::Logs::LogGroup": ResourceType("arn:{partition}:logs:{region}:{account}:log-group:{name}", name="[^:]+",
                                        suffix=r":\*"),
    "AWS::CloudWatch::Alarm": ResourceType("arn:{partition}:cloudwatch:{region}:{account}:alarm:{name}"),
    "AWS::Kinesis::Stream": ResourceType("arn:{partition}:kinesis:{region}:{account}:stream/{name}"),
    "AWS::ElastiCache::CacheCluster": ResourceType("arn:{partition}:elasticache:{region}:{account}:cluster:{name}"),
    "AWS::StepFunctions::StateMachine": ResourceType("arn:{partition}:states:{region}:{account}:stateMachine:{name}"),
    # The real ARN carries a UUID CloudTrail requests do not: built ones use "*" in its place.
    "AWS::AutoScaling::AutoScalingGroup": ResourceType(
        "arn:{partition}:autoscaling:{region}:{account}:autoScalingGroup:*:autoScalingGroupName/{name}"
    ),
}


def _lambda_name(value: str) -> str:
    """``my-fn``, ``my-fn:prod``, ``123456789012:function:my-fn`` -> ``my-fn``; full ARNs are kept."""
    if value.startswith("arn:"):
        return value
    if ":function:" in value:
        value = value.split(":function:", 1)[1]
    return value.split(":", 1)[0]


def _sqs_arn(url: str) -> str:
    """``https://sqs.us-east-1.amazonaws.com/123456789012/jobs`` -> the queue's ARN."""
    match = re.match(r"https?://(?:sqs\.)?([a-z0-9-]+)\.(?:queue\.)?amazonaws\.com[.a-z]*/(\d{12})/([^/?]+)", url)
    if match is None:
        return url
    region, account, name = match.groups()
    return f"arn:{partition_of(region)}:sqs:{region}:{account}:{name}"


def _sso_role(permission_set: str) -> str:
    """IAM Identity Center names the role of a permission set ``AWSReservedSSO_<set>_<hash>``."""
    return f"AWSReservedSSO_{permission_set}"


@dataclass(frozen=True)
class Pick:
    """One place in a record where a resource is named.

    Parameters
    ----------
    type
        CloudFormation type of the resource (a key of :data:`RESOURCE_TYPES`).
    path
        Where the value is: the column, then keys, dot-separated; ``[]`` after a key
        walks every element of a list (``responseElements.instancesSet.items[].instanceId``).
        A tuple of paths joins their values with ``/`` (an S3 object's bucket and key).
    events
        Only for these ``eventName``\\s (version suffixes ignored); empty means all.
    pattern
        Only values matching this regular expression (from the start).
    clean
        Applied to each value; may return a full ARN.
    account
        Path of the account that owns the resource, when the record says so separately.
    """

    type: str
    path: str | tuple[str, ...]
    events: tuple[str, ...] = ()
    pattern: str | None = None
    clean: Callable[[str], str] | None = None
    account: str | None = None

    @property
    def paths(self) -> tuple[str, ...]:
        """The path or paths, as a tuple."""
        return (self.path,) if isinstance(self.path, str) else self.path

    @property
    def column(self) -> str:
        """The events column the value is read from."""
        return self.paths[0].split(".", 1)[0]

    @cached_property
    def steps(self) -> tuple[tuple[tuple[str, bool], ...], ...]:
        """Each path as (key, is-a-list) steps below the column."""
        return tuple(tuple((s.removesuffix("[]"), s.endswith("[]")) for s in p.split(".")[1:]) for p in self.paths)

    @cached_property
    def key(self) -> str | None:
        """The key, when the value sits right below the column (``requestParameters.bucketName``)."""
        only = self.steps[0] if len(self.steps) == 1 else ()
        return only[0][0] if len(only) == 1 and not only[0][1] else None

    @cached_property
    def account_steps(self) -> tuple[tuple[str, bool], ...]:
        """Steps of :attr:`account` below the column."""
        return tuple((s, False) for s in self.account.split(".")[1:]) if self.account else ()

    @cached_property
    def matcher(self) -> re.Pattern[str] | None:
        """Compiled :attr:`pattern`."""
        return re.compile(self.pattern) if self.pattern else None


_REQ = "requestParameters"
_RESP = "responseElements"
_ROLE_EVENTS = ("AssumeRole", "AssumeRoleWithSAML", "AssumeRoleWithWebIdentity")
_KMS_KEY = r"arn:(?!.*:alias/)|[0-9a-f]{8}-|mrk-"
_KMS_ALIAS = r"alias/|arn:.*:alias/"

#: eventSource -> the rules naming its resources. Services missing here (and events whose
#: rules find nothing) fall back to a node for the service itself.
SERVICES: dict[str, tuple[Pick, ...]] = {
    "s3.amazonaws.com": (
        Pick("AWS::S3::Bucket", f"{_REQ}.bucketName"),
        Pick("AWS::S3::Object", (f"{_REQ}.bucketName", f"{_REQ}.key")),
    ),
    "ec2.amazonaws.com": (
        Pick("AWS::EC2::Instance", f"{_REQ}.instancesSet.items[].instanceId"),
        Pick("AWS::EC2::Instance", f"{_REQ}.instanceId"),
        Pick("AWS::EC2::Instance", f"{_RESP}.instancesSet.items[].instanceId", events=("RunInstances",)),
        Pick("AWS::EC2::SecurityGroup", f"{_REQ}.groupId"),
        Pick("AWS::EC2::SecurityGroup", f"{_RESP}.groupId", events=("CreateSecurityGroup",)),
        Pick("AWS::EC2::Volume", f"{_REQ}.volumeId"),
        Pick("AWS::EC2::Snapshot", f"{_REQ}.snapshotId"),
        Pick("AWS::EC2::Snapshot", f"{_RESP}.snapshotId", events=("CreateSnapshot",)),
        Pick("AWS::EC2::Image", f"{_REQ}.imageId", pattern="ami-"),
        Pick("AWS::EC2::Image", f"{_REQ}.instancesSet.items[].imageId", pattern="ami-", events=("RunInstances",)),
        Pick("AWS::EC2::VPC", f"{_REQ}.vpcId"),
        Pick("AWS::IAM::InstanceProfile", f"{_REQ}.iamInstanceProfile.arn"),
        Pick("AWS::IAM::InstanceProfile", f"{_REQ}.iamInstanceProfile.name"),
        Pick("AWS::EC2::Instance", f"{_REQ}.AssociateIamInstanceProfileRequest.InstanceId"),
        *(Pick("AWS::IAM::InstanceProfile", f"{_REQ}.{request}.IamInstanceProfile.{field_}")
          for request in ("AssociateIamInstanceProfileRequest", "ReplaceIamInstanceProfileAssociationRequest")
          for field_ in ("Arn", "Name")),
    ),
    "iam.amazonaws.com": (
        Pick("AWS::IAM::User", f"{_REQ}.userName"),
        Pick("AWS::IAM::User", f"{_RESP}.user.arn", events=("CreateUser",)),
        Pick("AWS::IAM::User", f"{_RESP}.accessKey.userName", events=("CreateAccessKey",)),
        Pick("AWS::IAM::Role", f"{_REQ}.roleName"),
        Pick("AWS::IAM::Role", f"{_RESP}.role.arn", events=("CreateRole",)),
        Pick("AWS::IAM::Group", f"{_REQ}.groupName"),
        Pick("AWS::IAM::InstanceProfile", f"{_REQ}.instanceProfileName"),
        Pick("AWS::IAM::ManagedPolicy", f"{_REQ}.policyArn"),
        Pick("AWS::IAM::AccessKey", f"{_REQ}.accessKeyId"),
        Pick("AWS::IAM::AccessKey", f"{_RESP}.accessKey.accessKeyId", events=("CreateAccessKey",)),
    ),
    "sts.amazonaws.com": (
        Pick("AWS::IAM::Role", f"{_REQ}.roleArn", events=_ROLE_EVENTS),
        Pick("AWS::STS::AssumedRole", f"{_RESP}.assumedRoleUser.arn", events=_ROLE_EVENTS),
        Pick("AWS::STS::FederatedUser", f"{_RESP}.federatedUser.arn", events=("GetFederationToken",)),
        Pick(
            "AWS::IAM::AccessKey",
            f"{_RESP}.credentials.accessKeyId",
            events=(*_ROLE_EVENTS, "GetFederationToken", "GetSessionToken", "AssumeRoot"),
        ),
    ),
    "sso.amazonaws.com": (
        Pick(
            "AWS::IAM::Role",
            "serviceEventDetails.role_name",
            events=("GetRoleCredentials",),
            clean=_sso_role,
            account="serviceEventDetails.account_id",
        ),
        Pick(
            "AWS::IAM::Role",
            f"{_REQ}.roleName",
            events=("GetRoleCredentials",),
            clean=_sso_role,
            account=f"{_REQ}.accountId",
        ),
    ),
    "lambda.amazonaws.com": (
        Pick("AWS::Lambda::Function", f"{_REQ}.functionName", clean=_lambda_name),
        Pick("AWS::IAM::Role", f"{_REQ}.role", events=("CreateFunction", "UpdateFunctionConfiguration")),
    ),
    "rds.amazonaws.com": (
        Pick("AWS::RDS::DBInstance", f"{_REQ}.dBInstanceIdentifier", clean=str.lower),
        Pick("AWS::RDS::DBCluster", f"{_REQ}.dBClusterIdentifier", clean=str.lower),
        Pick("AWS::RDS::DBSnapshot", f"{_REQ}.dBSnapshotIdentifier", clean=str.lower),
    ),
    "kms.amazonaws.com": (
        Pick("AWS::KMS::Key", f"{_REQ}.keyId", pattern=_KMS_KEY),
        Pick("AWS::KMS::Key", f"{_REQ}.targetKeyId", pattern=_KMS_KEY),
        Pick("AWS::KMS::Alias", f"{_REQ}.keyId", pattern=_KMS_ALIAS),
        Pick("AWS::KMS::Alias", f"{_REQ}.aliasName", pattern=_KMS_ALIAS),
        Pick("AWS::KMS::Key", f"{_RESP}.keyMetadata.arn", events=("CreateKey",)),
    ),
    "cloudtrail.amazonaws.com": (
        Pick("AWS::CloudTrail::Trail", f"{_REQ}.name"),
        Pick("AWS::CloudTrail::Trail", f"{_REQ}.trailName"),
    ),
    "guardduty.amazonaws.com": (Pick("AWS::GuardDuty::Detector", f"{_REQ}.detectorId"),),
    "secretsmanager.amazonaws.com": (
        Pick("AWS::SecretsManager::Secret", f"{_REQ}.secretId"),
        Pick("AWS::SecretsManager::Secret", f"{_RESP}.arn", events=("CreateSecret",)),
    ),
    "ssm.amazonaws.com": (
        Pick("AWS::SSM::Parameter", f"{_REQ}.name", clean=lambda v: v.lstrip("/"), events=(
            "GetParameter", "PutParameter", "DeleteParameter", "GetParameterHistory", "LabelParameterVersion")),
        Pick("AWS::SSM::Parameter", f"{_REQ}.names[]", clean=lambda v: v.lstrip("/"),
             events=("GetParameters", "DeleteParameters")),
    ),  # fmt: skip
    "dynamodb.amazonaws.com": (Pick("AWS::DynamoDB::Table", f"{_REQ}.tableName"),),
    "sns.amazonaws.com": (
        Pick("AWS::SNS::Topic", f"{_REQ}.topicArn"),
        Pick("AWS::SNS::Topic", f"{_RESP}.topicArn", events=("CreateTopic",)),
    ),
    "sqs.amazonaws.com": (Pick("AWS::SQS::Queue", f"{_REQ}.queueUrl", clean=_sqs_arn),),
    "ecs.amazonaws.com": (Pick("AWS::ECS::Cluster", f"{_REQ}.cluster"),),
    "eks.amazonaws.com": (
        Pick("AWS::EKS::Cluster", f"{_REQ}.name", events=("CreateCluster", "DeleteCluster", "DescribeCluster",
                                                         "UpdateClusterConfig", "UpdateClusterVersion")),
        Pick("AWS::EKS::Cluster", f"{_REQ}.clusterName"),
    ),  # fmt: skip
    "logs.amazonaws.com": (Pick("AWS::Logs::LogGroup", f"{_REQ}.logGroupName"),),
    "monitoring.amazonaws.com": (
        Pick("AWS::CloudWatch::Alarm", f"{_REQ}.alarmName"),
        Pick("AWS::CloudWatch::Alarm", f"{_REQ}.alarmNames[]"),
    ),
    "kinesis.amazonaws.com": (Pick("AWS::Kinesis::Stream", f"{_REQ}.streamName"),
                              Pick("AWS::Kinesis::Stream", f"{_REQ}.streamARN")),
    "elasticache.amazonaws.com": (Pick("AWS::ElastiCache::CacheCluster", f"{_REQ}.cacheClusterId"),),
    "states.amazonaws.com": (Pick("AWS::StepFunctions::StateMachine", f"{_REQ}.stateMachineArn"),),
    "autoscaling.amazonaws.com": (Pick("AWS::AutoScaling::AutoScalingGroup", f"{_REQ}.autoScalingGroupName"),),
}  # fmt: skip


#: Services whose records' ``resources`` list names everything their picks would (S3
#: buckets and objects, KMS keys): their JSON text is parsed only for rows without a list.
LISTED_SERVICES: frozenset[str] = frozenset({"s3.amazonaws.com", "kms.amazonaws.com"})


# --------------------------------------------------------------------------- ARN forms


def partition_of(region: str | None) -> str:
    """The ARN partition of a region (``aws``, ``aws-cn``, ``aws-us-gov``)."""
    if region and region.startswith("cn-"):
        return "aws-cn"
    if region and region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def type_of_arn(arn: str) -> str | None:
    """The type of :data:`RESOURCE_TYPES` whose ARN form ``arn`` has, if any (the first, in table order)."""
    parts = arn.split(":", 3)
    for rtype, spec in _TYPES_OF_SERVICE.get(parts[2] if len(parts) > 3 else "", ()):
        if spec.pattern.match(arn):
            return rtype
    return None


def _by_service() -> dict[str, list[tuple[str, ResourceType]]]:
    """The ARN-formed types of :data:`RESOURCE_TYPES` by the service their ARNs name (``s3``, ``iam`` ...), in table order.

    A pattern only matches ARNs of its own service, so :func:`type_of_arn` tries those alone.
    """
    by_service: dict[str, list[tuple[str, ResourceType]]] = {}
    for rtype, spec in RESOURCE_TYPES.items():
        if spec.arn != "{name}":
            by_service.setdefault(spec.arn.split(":", 3)[2], []).append((rtype, spec))
    return by_service


_TYPES_OF_SERVICE = _by_service()


def name_from_arn(arn: str, resource_type: str | None = None) -> str:
    """The short name of a resource from its ARN (what CloudWatch dimensions use).

    Examples
    --------
    >>> name_from_arn("arn:aws:rds:eu-west-1:012345678901:db:orders-db", "AWS::RDS::DBInstance")
    'orders-db'
    >>> name_from_arn("arn:aws:lambda:eu-west-1:012345678901:function:resize:prod")
    'resize'
    >>> name_from_arn("arn:aws:iam::012345678901:role/service-role/etl-role")
    'etl-role'
    """
    spec = RESOURCE_TYPES.get(resource_type or type_of_arn(arn) or "")
    match = spec.pattern.match(arn) if spec is not None else None
    if match is not None:
        return match["name"]
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return arn
    rest = parts[5]  # an unknown form: the last component of the resource part
    return rest.rsplit("/", 1)[-1] if "/" in rest else rest.rsplit(":", 1)[-1]


def arn_fields(arn: str) -> tuple[str | None, str | None]:
    """(region, account) written in an ARN, ``None`` where empty (or not an ARN)."""
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return None, None
    return parts[3] or None, parts[4] or None
