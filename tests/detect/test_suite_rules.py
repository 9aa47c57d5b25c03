"""The suite rule pack: every rule file has a positive and a negative case, and metadata.

``CASES`` maps each file in ``forensics/rules`` to CloudTrail records that must match
(eventIDs starting with ``pos``) and records that must not (``neg``). A rule file without
an entry fails :func:`test_every_rule_file_has_cases`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
import pytest
import yaml
from detect_records import ACCOUNT, ct, identity

from forensics.detect import LEVELS, SUITE_RULES, TACTICS, TECHNIQUES, detect

Record = dict[str, Any]
IAM, S3, EC2 = "iam.amazonaws.com", "s3.amazonaws.com", "ec2.amazonaws.com"
KMS, CLOUDWATCH, QUOTAS = "kms.amazonaws.com", "monitoring.amazonaws.com", "servicequotas.amazonaws.com"


def _denied(n: int, *, who: dict[str, Any], start_minute: int, every_seconds: int, prefix: str) -> list[Record]:
    records = []
    for i in range(n):
        seconds = start_minute * 60 + i * every_seconds
        time = f"2024-05-01T10:{seconds // 60:02d}:{seconds % 60:02d}Z"
        records.append(
            ct("ListUsers", IAM, who=who, time=time, eventID=f"{prefix}-{i:02d}", readOnly=True, errorCode="AccessDenied",
               errorMessage="User is not authorized to perform: iam:ListUsers")
        )  # fmt: skip
    return records


def _sg(cidrs: dict[str, str]) -> dict[str, Any]:
    ranges = {"ipRanges": {"items": [{"cidrIp": cidrs["v4"]}]}} if "v4" in cidrs else {}
    if "v6" in cidrs:
        ranges["ipv6Ranges"] = {"items": [{"cidrIpv6": cidrs["v6"]}]}
    return {"groupId": "sg-0123456789abcdef0", "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, **ranges}]}}


def _pab(**flags: bool) -> dict[str, Any]:
    config = {"xmlns": "http://s3.amazonaws.com/doc/2006-03-01/", "BlockPublicAcls": True, "IgnorePublicAcls": True,
              "BlockPublicPolicy": True, "RestrictPublicBuckets": True, **flags}  # fmt: skip
    return {"publicAccessBlock": "", "bucketName": "invoices", "PublicAccessBlockConfiguration": config, "Host": "invoices.s3.amazonaws.com"}


def _policy(statement: dict[str, Any]) -> dict[str, Any]:
    return {"bucketPolicy": {"Version": "2012-10-17", "Statement": [statement]}, "bucketName": "invoices", "Host": "invoices.s3.amazonaws.com", "policy": [""]}


def _inline(document: str) -> dict[str, Any]:
    return {"userName": "mallory", "policyName": "ops", "policyDocument": document}


def _bucket(**extra: Any) -> dict[str, Any]:
    """``requestParameters`` of a bucket-level S3 call on ``invoices``."""
    return {"bucketName": "invoices", "Host": "invoices.s3.us-east-1.amazonaws.com", **extra}


def _versioning(status: str) -> dict[str, Any]:
    return _bucket(versioning="", VersioningConfiguration={"Status": status, "xmlns": "http://s3.amazonaws.com/doc/2006-03-01/"})


def _lifecycle(*rules: dict[str, Any]) -> dict[str, Any]:
    """A lifecycle configuration as CloudTrail logs it: one rule is an object, several a list."""
    rule: dict[str, Any] | list[dict[str, Any]] = rules[0] if len(rules) == 1 else list(rules)
    return _bucket(lifecycle="", LifecycleConfiguration={"xmlns": "http://s3.amazonaws.com/doc/2006-03-01/", "Rule": rule})


def _object_event(name: str, n: int, *, who: dict[str, Any], time: str, eventID: str) -> Record:
    """An S3 data event on object ``n`` of ``invoices`` (``DeleteObjects`` names no key)."""
    batch = name == "DeleteObjects"
    target = {"ARNPrefix": "arn:aws:s3:::invoices/"} if batch else {"ARN": f"arn:aws:s3:::invoices/2024/{n:04d}.pdf"}
    return ct(name, S3, who=who, time=time, eventID=eventID, readOnly=False, eventCategory="Data", managementEvent=False,
              requestParameters=_bucket(delete="") if batch else _bucket(key=f"2024/{n:04d}.pdf"),
              resources=[{"type": "AWS::S3::Object", **target}, {"accountId": ACCOUNT, "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::invoices"}],
              additionalEventData={"SignatureVersion": "SigV4", "bytesTransferredIn": 0, "bytesTransferredOut": 0})  # fmt: skip


def _objects(names: list[str], *, who: dict[str, Any], every_seconds: int, prefix: str) -> list[Record]:
    """One S3 object call per name, ``every_seconds`` apart from 10:00:00."""
    start = datetime(2024, 5, 1, 10)
    return [
        _object_event(name, i, who=who, time=f"{start + timedelta(seconds=i * every_seconds):%Y-%m-%dT%H:%M:%SZ}", eventID=f"{prefix}-{i:02d}")
        for i, name in enumerate(names)
    ]


KEY_ARN = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
KEY = [{"accountId": ACCOUNT, "type": "AWS::KMS::Key", "ARN": KEY_ARN}]
ALARMS = {"alarmNames": ["orders-db-connections-low", "checkout-handler-throttles"]}


def _metric_alarm(**actions: Any) -> dict[str, Any]:
    return {"alarmName": "orders-db-cpu-high", "metricName": "CPUUtilization", "namespace": "AWS/RDS", "statistic": "Average",
            "dimensions": [{"name": "DBInstanceIdentifier", "value": "orders-db"}], "period": 300, "evaluationPeriods": 3,
            "threshold": 80.0, "comparisonOperator": "GreaterThanThreshold", "alarmActions": [f"arn:aws:sns:us-east-1:{ACCOUNT}:on-call"], **actions}  # fmt: skip


def _launch(instance_type: str, *, started: bool = True, **fields: Any) -> Record:
    """``RunInstances`` of two instances of ``instance_type`` with user data (failed unless ``started``)."""
    request = {"instancesSet": {"items": [{"imageId": "ami-0abcdef1234567890", "minCount": 2, "maxCount": 2}]}, "userData": "<sensitiveDataRemoved>",
               "instanceType": instance_type, "keyName": "deploy-key", "blockDeviceMapping": {}, "monitoring": {"enabled": False},
               "disableApiTermination": False, "clientToken": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "groupSet": {"items": [{"groupId": "sg-0123456789abcdef0"}]}}  # fmt: skip
    response = _started(instance_type, "i-0a1b2c3d4e5f60718", "i-0a1b2c3d4e5f60719") if started else None
    return ct("RunInstances", EC2, requestParameters=request, responseElements=response, **fields)


def _launch_from_template(instance_type: str, **fields: Any) -> Record:
    """``RunInstances`` from a launch template, as Auto Scaling makes it: the type is only in the response."""
    request = {"instancesSet": {"items": [{"minCount": 1, "maxCount": 1}]}, "availabilityZone": "us-east-1a", "monitoring": {"enabled": False},
               "clientToken": "fleet-0a1b2c3d", "launchTemplate": {"launchTemplateId": "lt-0123456789abcdef0", "version": "7"}}  # fmt: skip
    return ct("RunInstances", EC2, requestParameters=request, responseElements=_started(instance_type, "i-0fedcba9876543210"), **fields)


def _started(instance_type: str, *instance_ids: str) -> dict[str, Any]:
    items = [{"instanceId": i, "imageId": "ami-0abcdef1234567890", "instanceState": {"code": 0, "name": "pending"}, "instanceType": instance_type,
              "placement": {"availabilityZone": "us-east-1a", "tenancy": "default"}} for i in instance_ids]  # fmt: skip
    return {"ownerId": ACCOUNT, "groupSet": {}, "instancesSet": {"items": items}}


def _quota_increase(service: str, quota: str, desired: float, **fields: Any) -> Record:
    requested = {"id": "c5a9f0e2b1d34e7f8a6b9c0d1e2f3a4b", "serviceCode": service, "quotaCode": quota, "desiredValue": desired, "status": "PENDING"}
    return ct("RequestServiceQuotaIncrease", QUOTAS, requestParameters={"serviceCode": service, "quotaCode": quota, "desiredValue": desired},
              responseElements={"requestedQuota": requested}, **fields)  # fmt: skip


ADMIN_DOC = '{\n  "Version": "2012-10-17",\n  "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]\n}'
READ_DOC = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"}]}'
ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
LOGIN = {"eventType": "AwsConsoleSignIn", "readOnly": False}
MALLORY = identity("IAMUser", "mallory")
AUTOMATION = identity("AssumedRole", "automation")

CASES: dict[str, tuple[list[Record], list[Record]]] = {
    "aws_root_account_usage.yml": (
        [ct("CreateUser", IAM, who=identity("Root"), eventID="pos-root-call", requestParameters={"userName": "backdoor"})],
        [ct("CreateUser", IAM, eventID="neg-iam-user", requestParameters={"userName": "backdoor"}),
         ct("Decrypt", "kms.amazonaws.com", who=identity("Root", invokedBy="cloudtrail.amazonaws.com"), eventID="neg-invoked-by", readOnly=True),
         ct("ConsoleLogin", "signin.amazonaws.com", who=identity("Root"), eventID="neg-service-event", eventType="AwsServiceEvent")],
    ),
    "aws_console_login_without_mfa.yml": (
        [ct("ConsoleLogin", "signin.amazonaws.com", who=MALLORY, eventID="pos-no-mfa", responseElements={"ConsoleLogin": "Success"},
            additionalEventData={"LoginTo": "https://console.aws.amazon.com/", "MobileVersion": "No", "MFAUsed": "No"}, **LOGIN)],
        [ct("ConsoleLogin", "signin.amazonaws.com", who=MALLORY, eventID="neg-mfa", responseElements={"ConsoleLogin": "Success"},
            additionalEventData={"MFAUsed": "Yes"}, **LOGIN),
         ct("ConsoleLogin", "signin.amazonaws.com", who=MALLORY, eventID="neg-failed", responseElements={"ConsoleLogin": "Failure"},
            additionalEventData={"MFAUsed": "No"}, errorMessage="Failed authentication", **LOGIN),
         ct("ConsoleLogin", "signin.amazonaws.com", who=AUTOMATION, eventID="neg-federated", responseElements={"ConsoleLogin": "Success"},
            additionalEventData={"MFAUsed": "No"}, **LOGIN)],
    ),
    "aws_cloudtrail_stopped_or_deleted.yml": (
        [ct("StopLogging", "cloudtrail.amazonaws.com", eventID="pos-stop", requestParameters={"name": "main"}),
         ct("DeleteTrail", "cloudtrail.amazonaws.com", eventID="pos-delete", requestParameters={"name": "main"}, errorCode="AccessDenied")],
        [ct("StartLogging", "cloudtrail.amazonaws.com", eventID="neg-start", requestParameters={"name": "main"}),
         ct("StopLogging", "logs.amazonaws.com", eventID="neg-other-service")],
    ),
    "aws_cloudtrail_modified.yml": (
        [ct("PutEventSelectors", "cloudtrail.amazonaws.com", eventID="pos-selectors",
            requestParameters={"trailName": "main", "eventSelectors": [{"readWriteType": "ReadOnly", "includeManagementEvents": True}]})],
        [ct("GetEventSelectors", "cloudtrail.amazonaws.com", eventID="neg-read", readOnly=True, requestParameters={"trailName": "main"})],
    ),
    "aws_guardduty_disabled.yml": (
        [ct("DeleteDetector", "guardduty.amazonaws.com", eventID="pos-delete", requestParameters={"detectorId": "12abc34d567e8fa901bc2d34e56789f0"}),
         ct("UpdateDetector", "guardduty.amazonaws.com", eventID="pos-suspend", requestParameters={"detectorId": "12abc34d", "enable": False})],
        [ct("UpdateDetector", "guardduty.amazonaws.com", eventID="neg-enable", requestParameters={"detectorId": "12abc34d", "enable": True}),
         ct("UpdateDetector", "guardduty.amazonaws.com", eventID="neg-frequency", requestParameters={"detectorId": "12abc34d", "findingPublishingFrequency": "SIX_HOURS"})],
    ),
    "aws_config_disabled.yml": (
        [ct("StopConfigurationRecorder", "config.amazonaws.com", eventID="pos-stop", requestParameters={"configurationRecorderName": "default"})],
        [ct("StartConfigurationRecorder", "config.amazonaws.com", eventID="neg-start", requestParameters={"configurationRecorderName": "default"})],
    ),
    "aws_securityhub_disabled.yml": (
        [ct("DisableSecurityHub", "securityhub.amazonaws.com", eventID="pos-disable")],
        [ct("EnableSecurityHub", "securityhub.amazonaws.com", eventID="neg-enable")],
    ),
    "aws_iam_access_key_for_other_user.yml": (
        [ct("CreateAccessKey", IAM, who=MALLORY, eventID="pos-other-user", requestParameters={"userName": "ci-deployer"}),
         ct("CreateAccessKey", IAM, who=AUTOMATION, eventID="pos-from-role", requestParameters={"userName": "mallory"})],
        [ct("CreateAccessKey", IAM, who=MALLORY, eventID="neg-self-named", requestParameters={"userName": "Mallory"}),
         ct("CreateAccessKey", IAM, who=MALLORY, eventID="neg-self-implicit")],
    ),
    "aws_iam_admin_policy_attached.yml": (
        [ct("AttachRolePolicy", IAM, eventID="pos-managed", requestParameters={"roleName": "ops", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
         ct("PutUserPolicy", IAM, eventID="pos-inline", requestParameters=_inline(ADMIN_DOC))],
        [ct("AttachRolePolicy", IAM, eventID="neg-readonly", requestParameters={"roleName": "ops", "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}),
         ct("PutUserPolicy", IAM, eventID="neg-inline-narrow", requestParameters=_inline(READ_DOC))],
    ),
    "aws_iam_login_profile_created.yml": (
        [ct("CreateLoginProfile", IAM, eventID="pos-create", requestParameters={"userName": "ci-deployer", "passwordResetRequired": False},
            responseElements={"loginProfile": {"userName": "ci-deployer", "createDate": "May 1, 2024 10:00:00 AM", "passwordResetRequired": False}})],
        [ct("GetLoginProfile", IAM, eventID="neg-read", readOnly=True, requestParameters={"userName": "ci-deployer"})],
    ),
    "aws_s3_bucket_policy_public.yml": (
        [ct("PutBucketPolicy", S3, eventID="pos-star", requestParameters=_policy(
            {"Sid": "Public", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::invoices/*"})),
         ct("PutBucketPolicy", S3, eventID="pos-aws-list", requestParameters=_policy(
            {"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::444455556666:root", "*"]}, "Action": "s3:*", "Resource": "arn:aws:s3:::invoices"}))],
        [ct("PutBucketPolicy", S3, eventID="neg-deny-star", requestParameters=_policy(
            {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::invoices/*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})),
         ct("PutBucketPolicy", S3, eventID="neg-account", requestParameters=_policy(
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444455556666:root"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::invoices/*"}))],
    ),
    "aws_s3_bucket_acl_public.yml": (
        [ct("PutBucketAcl", S3, eventID="pos-grant", requestParameters={"bucketName": "invoices", "acl": [""], "AccessControlPolicy": {
            "AccessControlList": {"Grant": [
                {"Grantee": {"xsi:type": "CanonicalUser", "ID": "abc123"}, "Permission": "FULL_CONTROL"},
                {"Grantee": {"xsi:type": "Group", "URI": ALL_USERS}, "Permission": "READ"}]},
            "Owner": {"ID": "abc123"}}}),
         ct("CreateBucket", S3, eventID="pos-canned", requestParameters={"bucketName": "drop", "x-amz-acl": ["public-read"], "Host": "drop.s3.amazonaws.com"})],
        [ct("PutBucketAcl", S3, eventID="neg-private", requestParameters={"bucketName": "invoices", "x-amz-acl": ["private"]}),
         ct("PutBucketAcl", S3, eventID="neg-owner-only", requestParameters={"bucketName": "invoices", "AccessControlPolicy": {
             "AccessControlList": {"Grant": {"Grantee": {"xsi:type": "CanonicalUser", "ID": "abc123"}, "Permission": "FULL_CONTROL"}}}})],
    ),
    "aws_s3_public_access_block_removed.yml": (
        [ct("DeleteBucketPublicAccessBlock", S3, eventID="pos-delete", requestParameters={"publicAccessBlock": "", "bucketName": "invoices"}),
         ct("PutBucketPublicAccessBlock", S3, eventID="pos-weakened", requestParameters=_pab(RestrictPublicBuckets=False))],
        [ct("PutBucketPublicAccessBlock", S3, eventID="neg-all-on", requestParameters=_pab()),
         ct("GetBucketPublicAccessBlock", S3, eventID="neg-read", readOnly=True, requestParameters={"publicAccessBlock": "", "bucketName": "invoices"})],
    ),
    "aws_ec2_security_group_open_to_world.yml": (
        [ct("AuthorizeSecurityGroupIngress", EC2, eventID="pos-v4", requestParameters=_sg({"v4": "0.0.0.0/0"})),
         ct("AuthorizeSecurityGroupIngress", EC2, eventID="pos-v6", requestParameters=_sg({"v6": "::/0"}))],
        [ct("AuthorizeSecurityGroupIngress", EC2, eventID="neg-office", requestParameters=_sg({"v4": "198.51.100.0/24"})),
         ct("AuthorizeSecurityGroupEgress", EC2, eventID="neg-egress", requestParameters=_sg({"v4": "0.0.0.0/0"}))],
    ),
    "aws_kms_key_scheduled_deletion.yml": (
        [ct("ScheduleKeyDeletion", "kms.amazonaws.com", eventID="pos-schedule", requestParameters={"keyId": "1234abcd-12ab-34cd-56ef-1234567890ab", "pendingWindowInDays": 7})],
        [ct("CancelKeyDeletion", "kms.amazonaws.com", eventID="neg-cancel", requestParameters={"keyId": "1234abcd-12ab-34cd-56ef-1234567890ab"})],
    ),
    "aws_mass_access_denied.yml": (
        _denied(20, who=MALLORY, start_minute=0, every_seconds=25, prefix="pos-burst"),
        _denied(19, who=AUTOMATION, start_minute=0, every_seconds=25, prefix="neg-too-few")
        + _denied(20, who=identity("IAMUser", "slow"), start_minute=0, every_seconds=150, prefix="neg-spread"),
    ),
    "aws_offensive_distribution_user_agent.yml": (
        [ct("GetCallerIdentity", "sts.amazonaws.com", eventID="pos-kali", readOnly=True,
            userAgent="aws-cli/2.13.5 Python/3.11.4 Linux/6.3.0-kali1-amd64 exe/x86_64.kali.2023 prompt/off command/sts.get-caller-identity")],
        [ct("GetCallerIdentity", "sts.amazonaws.com", eventID="neg-ubuntu", readOnly=True)],
    ),
    "aws_lambda_concurrency_zero.yml": (
        [ct("PutFunctionConcurrency20171031", "lambda.amazonaws.com", eventID="pos-zero",
            requestParameters={"functionName": "guardrail-remediator", "reservedConcurrentExecutions": 0})],
        [ct("PutFunctionConcurrency20171031", "lambda.amazonaws.com", eventID="neg-fifty",
            requestParameters={"functionName": "guardrail-remediator", "reservedConcurrentExecutions": 50})],
    ),
    "aws_rds_stopped_or_deleted.yml": (
        [ct("DeleteDBInstance", "rds.amazonaws.com", eventID="pos-delete", requestParameters={"dBInstanceIdentifier": "billing", "skipFinalSnapshot": True})],
        [ct("CreateDBSnapshot", "rds.amazonaws.com", eventID="neg-snapshot", requestParameters={"dBInstanceIdentifier": "billing"})],
    ),
    "aws_s3_bucket_versioning_suspended.yml": (
        [ct("PutBucketVersioning", S3, eventID="pos-suspend", requestParameters=_versioning("Suspended"))],
        [ct("PutBucketVersioning", S3, eventID="neg-enable", requestParameters=_versioning("Enabled")),
         ct("GetBucketVersioning", S3, eventID="neg-read", readOnly=True, requestParameters=_bucket(versioning=""))],
    ),
    "aws_s3_lifecycle_expires_objects.yml": (
        [ct("PutBucketLifecycle", S3, eventID="pos-expire-all", requestParameters=_lifecycle(
            {"ID": "cleanup", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 1}, "NoncurrentVersionExpiration": {"NoncurrentDays": 1}})),
         ct("PutBucketLifecycle", S3, eventID="pos-old-versions", requestParameters=_lifecycle(
            {"ID": "archive", "Status": "Enabled", "Filter": {"Prefix": "reports/"}, "Transition": {"Days": 30, "StorageClass": "GLACIER"}},
            {"ID": "purge", "Status": "Enabled", "Filter": {"Prefix": ""}, "NoncurrentVersionExpiration": {"NoncurrentDays": 1}})),
         ct("PutBucketLifecycle", S3, eventID="pos-on-date", requestParameters=_lifecycle(
            {"ID": "wipe", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Date": "2024-05-02T00:00:00Z"}}))],
        [ct("PutBucketLifecycle", S3, eventID="neg-transition", requestParameters=_lifecycle(
            {"ID": "archive", "Status": "Enabled", "Filter": {"Prefix": ""}, "Transition": {"Days": 30, "StorageClass": "GLACIER"}})),
         ct("PutBucketLifecycle", S3, eventID="neg-housekeeping", requestParameters=_lifecycle(
            {"ID": "tidy", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"ExpiredObjectDeleteMarker": True},
             "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}})),
         ct("DeleteBucketLifecycle", S3, eventID="neg-removed", requestParameters=_bucket(lifecycle=""))],
    ),
    "aws_s3_mass_object_deletion.yml": (
        _objects(["DeleteObject"] * 48 + ["DeleteObjects"] * 2, who=MALLORY, every_seconds=6, prefix="pos-wipe"),
        _objects(["DeleteObject"] * 49, who=AUTOMATION, every_seconds=6, prefix="neg-too-few")
        + _objects(["DeleteObject"] * 50, who=identity("IAMUser", "slow"), every_seconds=13, prefix="neg-spread")
        + _objects(["PutObject"] * 50, who=identity("IAMUser", "uploader"), every_seconds=6, prefix="neg-writes"),
    ),
    "aws_kms_key_disabled.yml": (
        [ct("DisableKey", KMS, eventID="pos-disable", requestParameters={"keyId": KEY_ARN}, resources=KEY)],
        [ct("EnableKey", KMS, eventID="neg-enable", requestParameters={"keyId": KEY_ARN}, resources=KEY),
         ct("DisableKeyRotation", KMS, eventID="neg-rotation", requestParameters={"keyId": KEY_ARN}, resources=KEY)],
    ),
    "aws_cloudwatch_alarm_actions_disabled.yml": (
        [ct("DisableAlarmActions", CLOUDWATCH, eventID="pos-disable", requestParameters=ALARMS),
         ct("DeleteAlarms", CLOUDWATCH, eventID="pos-delete", requestParameters=ALARMS),
         ct("PutMetricAlarm", CLOUDWATCH, eventID="pos-put-silent", requestParameters=_metric_alarm(actionsEnabled=False))],
        [ct("EnableAlarmActions", CLOUDWATCH, eventID="neg-enable", requestParameters=ALARMS),
         ct("PutMetricAlarm", CLOUDWATCH, eventID="neg-put-enabled", requestParameters=_metric_alarm(actionsEnabled=True)),
         ct("PutMetricAlarm", CLOUDWATCH, eventID="neg-put-default", requestParameters=_metric_alarm()),
         ct("DescribeAlarms", CLOUDWATCH, eventID="neg-read", readOnly=True, requestParameters={"stateValue": "ALARM"})],
    ),
    "aws_ec2_gpu_or_large_instances.yml": (
        [_launch("p3.16xlarge", started=False, eventID="pos-gpu-refused", errorCode="Client.VcpuLimitExceeded",
                 errorMessage="You have requested more vCPU capacity than your current vCPU limit of 0 allows for the instance bucket that the specified instance type belongs to."),
         _launch("c5.24xlarge", eventID="pos-large"),
         _launch("m7i.metal-24xl", eventID="pos-metal"),
         _launch_from_template("g5.xlarge", eventID="pos-gpu-template"),
         _quota_increase("ec2", "L-417A185B", 256.0, eventID="pos-quota")],
        [_launch("t3.micro", eventID="neg-small"),
         _launch("c5.18xlarge", eventID="neg-below-24xlarge"),
         _launch_from_template("m7g.large", eventID="neg-fleet-template"),
         _quota_increase("lambda", "L-B99A9384", 3000.0, eventID="neg-quota-lambda"),
         ct("GetServiceQuota", QUOTAS, eventID="neg-quota-read", readOnly=True, requestParameters={"serviceCode": "ec2", "quotaCode": "L-417A185B"})],
    ),
}  # fmt: skip

RULE_FILES = sorted(p.name for p in SUITE_RULES.glob("*.yml"))


def test_every_rule_file_has_cases() -> None:
    assert sorted(CASES) == RULE_FILES
    for name, (positives, negatives) in CASES.items():
        assert positives and negatives, name
        assert all(r["eventID"].startswith("pos") for r in positives), name
        assert all(r["eventID"].startswith("neg") for r in negatives), name


@pytest.mark.parametrize("name", RULE_FILES)
def test_rule_matches_its_positive_and_not_its_negative_case(name: str, frame: Callable[[list[Record]], pd.DataFrame]) -> None:
    positives, negatives = CASES[name]
    result = detect(frame(positives + negatives), SUITE_RULES / name)
    assert result.skipped.empty, result.skipped.to_dict("records")
    assert sorted(result.findings["eventID"]) == sorted(r["eventID"] for r in positives)


@pytest.mark.parametrize("name", RULE_FILES)
def test_rule_metadata(name: str) -> None:
    documents = list(yaml.safe_load_all((SUITE_RULES / name).read_text(encoding="utf-8")))
    for doc in documents:
        assert uuid.UUID(doc["id"]).version == 4
        assert doc["author"] == "forensics project"
        assert isinstance(doc["date"], date)
        assert doc["status"] in {"experimental", "test", "stable"}
        assert doc["level"] in LEVELS
        assert doc["title"] and doc["description"] and doc["references"] and doc["falsepositives"]
        tags = doc["tags"]
        assert tags and all(t.startswith("attack.") for t in tags)
        tactics = {t.removeprefix("attack.") for t in tags} & set(TACTICS)
        techniques = [t.removeprefix("attack.").upper() for t in tags if t[7:8] == "t" and t[8:9].isdigit()]
        assert tactics and techniques
        for technique in techniques:  # named, and tagged with (one of) its own tactics
            assert technique in TECHNIQUES, f"{technique} is not in forensics.detect.TECHNIQUES"
            assert tactics & set(TECHNIQUES[technique][1]), technique
        if "correlation" not in doc:
            assert doc["logsource"] == {"product": "aws", "service": "cloudtrail"}


def test_rule_ids_are_unique_and_the_whole_pack_runs_without_skips(frame: Callable[[list[Record]], pd.DataFrame]) -> None:
    docs = [doc for name in RULE_FILES for doc in yaml.safe_load_all((SUITE_RULES / name).read_text(encoding="utf-8"))]
    ids = [doc["id"] for doc in docs]
    assert len(ids) == len(set(ids))
    # the correlations' building blocks report nothing themselves
    blocks = {ref for doc in docs if "correlation" in doc and not doc["correlation"].get("generate") for ref in doc["correlation"]["rules"]}
    assert blocks == {"forensics_aws_api_call_denied", "forensics_aws_s3_object_deleted"}
    result = detect(frame(CASES["aws_kms_key_scheduled_deletion.yml"][0]))
    assert list(result.skipped["reason"].str.startswith("needs a baseline")) == [True, True]
    assert len(result.rules) == len(ids) - len(blocks)
