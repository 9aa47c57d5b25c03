"""The API calls scenarios make, with the ``requestParameters``/``responseElements``/``resources``
shapes CloudTrail records for each.

Each function returns a :class:`Call`: what was asked and answered, independent of who asked,
when and from where (that is :meth:`forensics.scenarios.records.Trail.record`'s job). Shapes follow
the CloudTrail records AWS documents for these APIs, including their quirks: Lambda event names
carry an API version (``PutFunctionConcurrency20171031``), ``ListObjectsV2`` is recorded as
``ListObjects`` with ``list-type: "2"``, STS and IAM dates read ``Mar 12, 2024, 11:20:31 AM``,
read-only calls have ``responseElements: null``, S3 data events are ``eventCategory: Data``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from forensics.scenarios.identities import JSON, IAMUser, Role, RoleSession
from forensics.scenarios.ids import Ids
from forensics.scenarios.times import console_date

GLOBAL_REGION = "us-east-1"


@dataclass(frozen=True)
class Call:
    """One API request and CloudTrail's view of it.

    Attributes
    ----------
    source, name
        ``eventSource`` and ``eventName``.
    read_only
        ``readOnly``.
    request, response
        ``requestParameters`` and ``responseElements`` (``None`` is written as ``null``).
    resources
        ``resources``, when CloudTrail writes them for this API.
    additional
        ``additionalEventData``.
    host
        The TLS host header; ``{region}`` is filled in by the trail.
    category
        ``eventCategory``: ``Management`` or ``Data``.
    event_type
        ``eventType``: ``AwsApiCall``, ``AwsConsoleSignIn``, ...
    region
        A fixed region for global services (IAM, the global STS endpoint, sign-in), else ``None``.
    """

    source: str
    name: str
    read_only: bool
    request: JSON | None = None
    response: JSON | None = None
    resources: tuple[JSON, ...] = ()
    additional: JSON | None = None
    host: str | None = None
    category: str = "Management"
    event_type: str = "AwsApiCall"
    region: str | None = None

    @property
    def action(self) -> str:
        """The IAM action, e.g. ``s3:GetObject`` (Lambda's version suffix removed)."""
        service = self.source.split(".")[0]
        service = {"monitoring": "cloudwatch", "signin": "signin"}.get(service, service)
        name = self.name.rstrip("0123456789v") if service == "lambda" else self.name
        return f"{service}:{name}"


@dataclass(frozen=True)
class Error:
    """``errorCode`` and ``errorMessage`` of a failed call."""

    code: str
    message: str


def access_denied(caller_arn: str, action: str, resource: str = "*") -> Error:
    """The IAM-style ``AccessDenied`` of most services."""
    return Error(
        "AccessDenied",
        f"User: {caller_arn} is not authorized to perform: {action} on resource: {resource} "
        f"because no identity-based policy allows the {action} action",
    )


def ec2_unauthorized(caller_arn: str, action: str) -> Error:
    """EC2's spelling of access denied."""
    return Error(
        "Client.UnauthorizedOperation",
        f"You are not authorized to perform this operation. User: {caller_arn} is not authorized to "
        f"perform: {action} because no identity-based policy allows the {action} action",
    )


S3_ACCESS_DENIED = Error("AccessDenied", "Access Denied")


def no_such_bucket_policy() -> Error:
    return Error("NoSuchBucketPolicy", "The bucket policy does not exist")


def _role_resource(role: Role) -> tuple[JSON, ...]:
    return ({"accountId": role.account, "type": "AWS::IAM::Role", "ARN": role.arn},)


def _bucket_resource(account: str, bucket: str) -> JSON:
    return {"accountId": account, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"}


def _s3_host(bucket: str | None) -> str:
    return f"{bucket}.s3.{{region}}.amazonaws.com" if bucket else "s3.{region}.amazonaws.com"


def _s3_additional(bytes_out: int, bytes_in: int = 0) -> JSON:
    return {
        "SignatureVersion": "SigV4",
        "CipherSuite": "TLS_AES_128_GCM_SHA256",
        "bytesTransferredIn": bytes_in,
        "AuthenticationMethod": "AuthHeader",
        "bytesTransferredOut": bytes_out,
    }


# --- STS ------------------------------------------------------------------------------------


def session_token(ids: Ids) -> str:
    """An opaque STS session token (CloudTrail shows it in AssumeRole responses)."""
    return "IQoJb3JpZ2luX2VjE" + ids.base64(96)


def _credentials(session: RoleSession, token: str, duration: int) -> JSON:
    return {
        "accessKeyId": session.access_key_id,
        "sessionToken": token,
        "expiration": console_date(session.created + timedelta(seconds=duration)),
    }


def _assumed_role_user(session: RoleSession) -> JSON:
    return {"assumedRoleId": session.principal_id, "arn": session.arn}


def get_caller_identity() -> Call:
    return Call("sts.amazonaws.com", "GetCallerIdentity", True, host="sts.amazonaws.com")


def assume_role(session: RoleSession, token: str, duration: int = 3600) -> Call:
    """``AssumeRole`` that created ``session`` (its name, key and creation time)."""
    return Call(
        "sts.amazonaws.com",
        "AssumeRole",
        True,
        request={"roleArn": session.role.arn, "roleSessionName": session.name, "durationSeconds": duration},
        response={"credentials": _credentials(session, token, duration), "assumedRoleUser": _assumed_role_user(session)},
        resources=_role_resource(session.role),
        host="sts.amazonaws.com",
    )


def assume_role_with_saml(session: RoleSession, token: str, provider_arn: str, issuer: str, ids: Ids) -> Call:
    """``AssumeRoleWithSAML`` as IAM Identity Center makes it when a user opens an account."""
    duration = 43200
    return Call(
        "sts.amazonaws.com",
        "AssumeRoleWithSAML",
        True,
        request={
            "sAMLAssertionID": "_" + ids.uuid(),
            "roleSessionName": session.name,
            "principalArn": provider_arn,
            "roleArn": session.role.arn,
            "durationSeconds": duration,
        },
        response={
            "credentials": _credentials(session, token, duration),
            "assumedRoleUser": _assumed_role_user(session),
            "subject": session.name,
            "subjectType": "persistent",
            "issuer": issuer,
            "audience": "https://signin.aws.amazon.com/saml",
        },
        resources=(*_role_resource(session.role), {"accountId": session.role.account, "type": "AWS::IAM::SAMLProvider", "ARN": provider_arn}),
        host="sts.amazonaws.com",
    )


def assume_role_with_web_identity(session: RoleSession, token: str, provider_arn: str, subject: str) -> Call:
    """``AssumeRoleWithWebIdentity`` as a CI job's OIDC token makes it."""
    duration = 3600
    return Call(
        "sts.amazonaws.com",
        "AssumeRoleWithWebIdentity",
        True,
        request={"roleArn": session.role.arn, "roleSessionName": session.name, "durationSeconds": duration},
        response={
            "credentials": _credentials(session, token, duration),
            "subjectFromWebIdentityToken": subject,
            "assumedRoleUser": _assumed_role_user(session),
            "provider": provider_arn,
            "audience": "sts.amazonaws.com",
        },
        resources=_role_resource(session.role),
        additional={"identityProviderConnectionVerificationMethod": "IAMTrustStore"},
        host="sts.amazonaws.com",
    )


# --- sign-in and billing --------------------------------------------------------------------


def console_login(mfa_arn: str | None) -> Call:
    """A successful ``ConsoleLogin`` (``AwsConsoleSignIn``)."""
    additional: JSON = {
        "LoginTo": "https://console.aws.amazon.com/console/home?hashArgs=%23&isauthcode=true&state=hashArgsFromTB",
        "MobileVersion": "No",
    }
    if mfa_arn:
        additional["MFAIdentifier"] = mfa_arn
    additional["MFAUsed"] = "Yes" if mfa_arn else "No"
    return Call(
        "signin.amazonaws.com",
        "ConsoleLogin",
        False,
        response={"ConsoleLogin": "Success"},
        additional=additional,
        host="signin.aws.amazon.com",
        event_type="AwsConsoleSignIn",
        region=GLOBAL_REGION,
    )


def get_cost_and_usage(start: str, end: str) -> Call:
    return Call(
        "ce.amazonaws.com",
        "GetCostAndUsage",
        True,
        request={"timePeriod": {"start": start, "end": end}, "granularity": "DAILY", "metrics": ["UnblendedCost"]},
        host="ce.us-east-1.amazonaws.com",
        region=GLOBAL_REGION,
    )


# --- IAM ------------------------------------------------------------------------------------


def _iam(name: str, read_only: bool, request: JSON | None = None, response: JSON | None = None) -> Call:
    return Call("iam.amazonaws.com", name, read_only, request, response, host="iam.amazonaws.com", region=GLOBAL_REGION)


def list_users() -> Call:
    return _iam("ListUsers", True)


def list_roles() -> Call:
    return _iam("ListRoles", True)


def list_groups() -> Call:
    return _iam("ListGroups", True)


def get_account_authorization_details() -> Call:
    return _iam("GetAccountAuthorizationDetails", True)


def get_account_summary() -> Call:
    return _iam("GetAccountSummary", True)


def get_user(user_name: str) -> Call:
    return _iam("GetUser", True, {"userName": user_name})


def get_role(role: Role) -> Call:
    return _iam("GetRole", True, {"roleName": role.name})


def list_access_keys(user_name: str) -> Call:
    return _iam("ListAccessKeys", True, {"userName": user_name})


def list_attached_user_policies(user_name: str) -> Call:
    return _iam("ListAttachedUserPolicies", True, {"userName": user_name})


def list_attached_role_policies(role: Role) -> Call:
    return _iam("ListAttachedRolePolicies", True, {"roleName": role.name})


def attach_user_policy(user_name: str, policy_arn: str) -> Call:
    return _iam("AttachUserPolicy", False, {"userName": user_name, "policyArn": policy_arn})


def detach_user_policy(user_name: str, policy_arn: str) -> Call:
    return _iam("DetachUserPolicy", False, {"userName": user_name, "policyArn": policy_arn})


def create_access_key(user: IAMUser, created: datetime) -> Call:
    """``CreateAccessKey`` that created ``user.access_key_id`` (the secret is never logged)."""
    return _iam(
        "CreateAccessKey",
        False,
        {"userName": user.name},
        {"accessKey": {"userName": user.name, "accessKeyId": user.access_key_id, "status": "Active", "createDate": console_date(created)}},
    )


def update_access_key(user_name: str, access_key_id: str, status: str) -> Call:
    return _iam("UpdateAccessKey", False, {"userName": user_name, "accessKeyId": access_key_id, "status": status})


def delete_access_key(user_name: str, access_key_id: str) -> Call:
    return _iam("DeleteAccessKey", False, {"userName": user_name, "accessKeyId": access_key_id})


# --- EC2 ------------------------------------------------------------------------------------


def _ec2(name: str, read_only: bool, request: JSON | None, response: JSON | None = None) -> Call:
    return Call("ec2.amazonaws.com", name, read_only, request, response, host="ec2.{region}.amazonaws.com")


def describe_instances() -> Call:
    return _ec2("DescribeInstances", True, {"instancesSet": {}, "filterSet": {}})


def describe_security_groups() -> Call:
    return _ec2("DescribeSecurityGroups", True, {"securityGroupSet": {}, "securityGroupIdSet": {}, "filterSet": {}})


def describe_vpcs() -> Call:
    return _ec2("DescribeVpcs", True, {"vpcSet": {}, "filterSet": {}})


def run_instances(account: str, instance_id: str, image_id: str, instance_type: str, launch_template: str, zone: str, private_ip: str) -> Call:
    """``RunInstances`` as an Auto Scaling group makes it from a launch template."""
    return _ec2(
        "RunInstances",
        False,
        {
            "instancesSet": {"items": [{"minCount": 1, "maxCount": 1}]},
            "availabilityZone": zone,
            "monitoring": {"enabled": False},
            "disableApiTermination": False,
            "disableApiStop": False,
            "clientToken": f"fleet-{instance_id[2:10]}",
            "launchTemplate": {"launchTemplateId": launch_template, "version": "7"},
        },
        {
            "ownerId": account,
            "groupSet": {},
            "instancesSet": {
                "items": [
                    {
                        "instanceId": instance_id,
                        "imageId": image_id,
                        "instanceState": {"code": 0, "name": "pending"},
                        "privateIpAddress": private_ip,
                        "instanceType": instance_type,
                        "placement": {"availabilityZone": zone, "tenancy": "default"},
                    }
                ]
            },
        },
    )


def terminate_instances(instance_id: str) -> Call:
    return _ec2(
        "TerminateInstances",
        False,
        {"instancesSet": {"items": [{"instanceId": instance_id}]}},
        {
            "instancesSet": {
                "items": [
                    {
                        "instanceId": instance_id,
                        "currentState": {"code": 32, "name": "shutting-down"},
                        "previousState": {"code": 16, "name": "running"},
                    }
                ]
            }
        },
    )


# --- S3 -------------------------------------------------------------------------------------


def list_buckets(bytes_out: int = 1024) -> Call:
    return Call(
        "s3.amazonaws.com",
        "ListBuckets",
        True,
        request={"Host": "s3.{region}.amazonaws.com"},
        additional=_s3_additional(bytes_out),
        host=_s3_host(None),
    )


def _bucket_call(account: str, bucket: str, name: str, read_only: bool, marker: str, extra: JSON | None = None) -> Call:
    request: JSON = {**(extra or {}), "bucketName": bucket, "Host": _s3_host(bucket), marker: ""}
    return Call(
        "s3.amazonaws.com",
        name,
        read_only,
        request=request,
        resources=(_bucket_resource(account, bucket),),
        additional=_s3_additional(0 if not read_only else 512),
        host=_s3_host(bucket),
    )


def get_bucket_acl(account: str, bucket: str) -> Call:
    return _bucket_call(account, bucket, "GetBucketAcl", True, "acl")


def get_bucket_policy(account: str, bucket: str) -> Call:
    return _bucket_call(account, bucket, "GetBucketPolicy", True, "policy")


def get_bucket_public_access_block(account: str, bucket: str) -> Call:
    return _bucket_call(account, bucket, "GetBucketPublicAccessBlock", True, "publicAccessBlock")


def delete_bucket_public_access_block(account: str, bucket: str) -> Call:
    return _bucket_call(account, bucket, "DeleteBucketPublicAccessBlock", False, "publicAccessBlock")


def public_read_policy(bucket: str) -> JSON:
    """A bucket policy that lets anyone (``Principal: "*"``) read every object."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PublicRead",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
            }
        ],
    }


def put_bucket_policy(account: str, bucket: str, policy: JSON) -> Call:
    return _bucket_call(account, bucket, "PutBucketPolicy", False, "policy", {"bucketPolicy": policy})


def put_bucket_acl_public_read(account: str, bucket: str, owner_id: str) -> Call:
    """``PutBucketAcl`` granting ``READ`` to the ``AllUsers`` group."""
    acl = {
        "AccessControlList": {
            "Grant": [
                {"Grantee": {"xsi:type": "CanonicalUser", "ID": owner_id}, "Permission": "FULL_CONTROL"},
                {"Grantee": {"xsi:type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"}, "Permission": "READ"},
            ]
        },
        "xmlns": "http://s3.amazonaws.com/doc/2006-03-01/",
        "Owner": {"ID": owner_id},
    }
    return _bucket_call(account, bucket, "PutBucketAcl", False, "acl", {"AccessControlPolicy": acl})


def _object_call(account: str, bucket: str, key: str, name: str, read_only: bool, size: int, response: JSON | None) -> Call:
    return Call(
        "s3.amazonaws.com",
        name,
        read_only,
        request={"bucketName": bucket, "Host": _s3_host(bucket), "key": key},
        response=response,
        resources=(
            {"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{bucket}/{key}"},
            _bucket_resource(account, bucket),
        ),
        additional=_s3_additional(size if read_only else 0, 0 if read_only else size),
        host=_s3_host(bucket),
        category="Data",
    )


def get_object(account: str, bucket: str, key: str, size: int) -> Call:
    """An S3 ``GetObject`` data event."""
    return _object_call(account, bucket, key, "GetObject", True, size, None)


def put_object(account: str, bucket: str, key: str, size: int, kms_key_arn: str | None = None) -> Call:
    """An S3 ``PutObject`` data event (SSE-KMS with a bucket key when ``kms_key_arn`` is given)."""
    response = (
        {
            "x-amz-server-side-encryption-aws-kms-key-id": kms_key_arn,
            "x-amz-server-side-encryption": "aws:kms",
            "x-amz-server-side-encryption-bucket-key-enabled": "true",
        }
        if kms_key_arn
        else {"x-amz-server-side-encryption": "AES256"}
    )
    return _object_call(account, bucket, key, "PutObject", False, size, response)


def list_objects(account: str, bucket: str, prefix: str, bytes_out: int) -> Call:
    """``ListObjectsV2``, which CloudTrail records as ``ListObjects`` with ``list-type: "2"``."""
    return Call(
        "s3.amazonaws.com",
        "ListObjects",
        True,
        request={"list-type": "2", "bucketName": bucket, "encoding-type": "url", "prefix": prefix, "Host": _s3_host(bucket)},
        resources=(_bucket_resource(account, bucket),),
        additional=_s3_additional(bytes_out),
        host=_s3_host(bucket),
        category="Data",
    )


# --- KMS (as called by S3 on a caller's behalf) ---------------------------------------------


def _kms_key_resource(key_arn: str) -> tuple[JSON, ...]:
    return ({"accountId": key_arn.split(":")[4], "type": "AWS::KMS::Key", "ARN": key_arn},)


def kms_decrypt(key_arn: str, bucket: str) -> Call:
    """``Decrypt`` of an S3 bucket key (``encryptionContext`` names the bucket)."""
    return Call(
        "kms.amazonaws.com",
        "Decrypt",
        True,
        request={"encryptionContext": {"aws:s3:arn": f"arn:aws:s3:::{bucket}"}, "encryptionAlgorithm": "SYMMETRIC_DEFAULT"},
        resources=_kms_key_resource(key_arn),
    )


def kms_generate_data_key(key_arn: str, bucket: str) -> Call:
    return Call(
        "kms.amazonaws.com",
        "GenerateDataKey",
        True,
        request={"keyId": key_arn, "encryptionContext": {"aws:s3:arn": f"arn:aws:s3:::{bucket}"}, "keySpec": "AES_256"},
        resources=_kms_key_resource(key_arn),
    )


# --- Lambda ---------------------------------------------------------------------------------


def _lambda(name: str, read_only: bool, request: JSON | None, response: JSON | None = None) -> Call:
    return Call("lambda.amazonaws.com", name, read_only, request, response, host="lambda.{region}.amazonaws.com")


def list_functions() -> Call:
    return _lambda("ListFunctions20150331", True, None)


def get_function(function: str) -> Call:
    return _lambda("GetFunction20150331v2", True, {"functionName": function})


def get_function_concurrency(function: str) -> Call:
    return _lambda("GetFunctionConcurrency20190930", True, {"functionName": function})


def update_function_code(function_arn: str, role_arn: str, bucket: str, key: str, ids: Ids, at: datetime) -> Call:
    """``UpdateFunctionCode`` from an artefact in S3, answered with the function configuration."""
    name = function_arn.rsplit(":", 1)[1]
    return _lambda(
        "UpdateFunctionCode20150331v2",
        False,
        {"functionName": name, "s3Bucket": bucket, "s3Key": key, "publish": False, "dryRun": False},
        {
            "functionName": name,
            "functionArn": function_arn,
            "runtime": "python3.12",
            "role": role_arn,
            "handler": "app.handler",
            "codeSize": 1_048_576 + ids.rng.randrange(200_000),
            "description": "",
            "timeout": 15,
            "memorySize": 512,
            "lastModified": at.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
            "codeSha256": ids.base64(43) + "=",
            "version": "$LATEST",
            "tracingConfig": {"mode": "PassThrough"},
            "revisionId": ids.uuid(),
            "state": "Active",
            "lastUpdateStatus": "InProgress",
            "lastUpdateStatusReason": "The function is being created.",
            "lastUpdateStatusReasonCode": "Creating",
            "packageType": "Zip",
            "architectures": ["arm64"],
        },
    )


def publish_version(function_arn: str, version: int, ids: Ids) -> Call:
    name = function_arn.rsplit(":", 1)[1]
    return _lambda(
        "PublishVersion20150331",
        False,
        {"functionName": name},
        {"functionName": name, "functionArn": f"{function_arn}:{version}", "version": str(version), "revisionId": ids.uuid(), "state": "Active"},
    )


def update_alias(function_arn: str, alias: str, version: int, ids: Ids) -> Call:
    name = function_arn.rsplit(":", 1)[1]
    return _lambda(
        "UpdateAlias20150331",
        False,
        {"functionName": name, "name": alias, "functionVersion": str(version)},
        {"aliasArn": f"{function_arn}:{alias}", "name": alias, "functionVersion": str(version), "description": "", "revisionId": ids.uuid()},
    )


def put_function_concurrency(function: str, reserved: int) -> Call:
    """``PutFunctionConcurrency``; ``reserved=0`` throttles every invocation."""
    return _lambda(
        "PutFunctionConcurrency20171031",
        False,
        {"functionName": function, "reservedConcurrentExecutions": reserved},
        {"reservedConcurrentExecutions": reserved},
    )


def delete_function_concurrency(function: str) -> Call:
    return _lambda("DeleteFunctionConcurrency20171031", False, {"functionName": function})


# --- RDS ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DBInstance:
    """The parts of an RDS instance that appear in ``responseElements``."""

    account: str
    region: str
    identifier: str
    resource_id: str
    engine: str = "postgres"
    engine_version: str = "15.5"
    instance_class: str = "db.r6g.large"

    @property
    def arn(self) -> str:
        return f"arn:aws:rds:{self.region}:{self.account}:db:{self.identifier}"

    def describe(self, status: str) -> JSON:
        return {
            "dBInstanceIdentifier": self.identifier,
            "dBInstanceClass": self.instance_class,
            "engine": self.engine,
            "dBInstanceStatus": status,
            "endpoint": {"address": f"{self.identifier}.c9akciq32.{self.region}.rds.amazonaws.com", "port": 5432},
            "allocatedStorage": 200,
            "availabilityZone": f"{self.region}b",
            "multiAZ": False,
            "engineVersion": self.engine_version,
            "storageType": "gp3",
            "storageEncrypted": True,
            "dbiResourceId": self.resource_id,
            "dBInstanceArn": self.arn,
            "deletionProtection": True,
        }


def describe_db_instances(identifier: str | None = None) -> Call:
    request = {"dBInstanceIdentifier": identifier} if identifier else None
    return Call("rds.amazonaws.com", "DescribeDBInstances", True, request, host="rds.{region}.amazonaws.com")


def stop_db_instance(db: DBInstance) -> Call:
    return Call(
        "rds.amazonaws.com",
        "StopDBInstance",
        False,
        {"dBInstanceIdentifier": db.identifier},
        db.describe("stopping"),
        host="rds.{region}.amazonaws.com",
    )


def start_db_instance(db: DBInstance) -> Call:
    return Call(
        "rds.amazonaws.com",
        "StartDBInstance",
        False,
        {"dBInstanceIdentifier": db.identifier},
        db.describe("starting"),
        host="rds.{region}.amazonaws.com",
    )


# --- CloudWatch, CloudWatch Logs, CloudTrail ------------------------------------------------


def describe_alarms(state: str | None = None) -> Call:
    request = {"stateValue": state} if state else None
    return Call("monitoring.amazonaws.com", "DescribeAlarms", True, request, host="monitoring.{region}.amazonaws.com")


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
    return Call("cloudtrail.amazonaws.com", "DescribeTrails", True, {"includeShadowTrails": True}, host="cloudtrail.{region}.amazonaws.com")


def get_trail_status(trail_arn: str) -> Call:
    return Call("cloudtrail.amazonaws.com", "GetTrailStatus", True, {"name": trail_arn}, host="cloudtrail.{region}.amazonaws.com")


def stop_logging(trail_arn: str) -> Call:
    return Call("cloudtrail.amazonaws.com", "StopLogging", False, {"name": trail_arn}, host="cloudtrail.{region}.amazonaws.com")


def metric_query(query_id: str, namespace: str, metric: str, dimensions: dict[str, str], stat: str, period: int = 60) -> JSON:
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
