"""Resource extraction: every rule of the tables, read back from realistic CloudTrail records.

Records are written as a ``{"Records": [...]}`` file and read with the real loader, so the
JSON text the extractor parses is exactly what the loader keeps.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from cloudtrail_builders import ACCOUNT, assumed_role, record
from forensics import SchemaError, load_cloudtrail
from forensics.resource_rules import SERVICES
from forensics.resources import RESOURCE_COLUMNS, SERVICE, base_action, extract_resources

T = "2024-03-14T02:10:00Z"
R = "us-east-1"
OTHER = "210987654321"


def load(tmp_path: Path, records: list[dict]) -> pd.DataFrame:
    """The events frame of ``records``, read by the real loader."""
    path = tmp_path / "trail.json"
    path.write_text(json.dumps({"Records": records}))
    return load_cloudtrail(path).events


def call(source: str, name: str, request: object = None, response: object = None, **fields: object) -> dict:
    """A management event of ``source`` with its request and response, by an IAM user."""
    return record("e1", T, name=name, source=source, requestParameters=request, responseElements=response,
                  readOnly=False, managementEvent=True, eventCategory="Management", **fields)  # fmt: skip


def found(tmp_path: Path, records: list[dict]) -> set[tuple[str, str, str]]:
    """(type, arn, name) of every resource the records name."""
    frame = extract_resources(load(tmp_path, records))
    return set(zip(frame["type"].astype(str), frame["arn"].astype(str), frame["name"].astype(str)))


def arn(service: str, rest: str, region: str = R, account: str = ACCOUNT) -> str:
    return f"arn:aws:{service}:{region}:{account}:{rest}"


PROFILE = f"arn:aws:iam::{ACCOUNT}:instance-profile/web"
EXEC_ROLE = f"arn:aws:iam::{ACCOUNT}:role/service-role/resize-role"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"

# (eventSource, eventName, requestParameters, responseElements, serviceEventDetails, expected (type, arn, name))
CASES: list[tuple[str, str, object, object, object, set[tuple[str, str, str]]]] = [
    ("s3.amazonaws.com", "CreateBucket", {"bucketName": "acme-logs", "Host": "acme-logs.s3.amazonaws.com"}, None, None,
     {("AWS::S3::Bucket", "arn:aws:s3:::acme-logs", "acme-logs")}),
    ("s3.amazonaws.com", "PutObject", {"bucketName": "acme-logs", "key": "2024/03/14/app.log"}, None, None,
     {("AWS::S3::Bucket", "arn:aws:s3:::acme-logs", "acme-logs"),
      ("AWS::S3::Object", "arn:aws:s3:::acme-logs/2024/03/14/app.log", "acme-logs/2024/03/14/app.log")}),
    ("ec2.amazonaws.com", "StopInstances",
     {"instancesSet": {"items": [{"instanceId": "i-0a1b2c3d4e5f60001"}, {"instanceId": "i-0a1b2c3d4e5f60002"}]},
      "force": False}, None, None,
     {("AWS::EC2::Instance", arn("ec2", "instance/i-0a1b2c3d4e5f60001"), "i-0a1b2c3d4e5f60001"),
      ("AWS::EC2::Instance", arn("ec2", "instance/i-0a1b2c3d4e5f60002"), "i-0a1b2c3d4e5f60002")}),
    ("ec2.amazonaws.com", "ModifyInstanceAttribute", {"instanceId": "i-0a1b2c3d4e5f60001", "userData": "<sensitiveDataRemoved>"},
     None, None, {("AWS::EC2::Instance", arn("ec2", "instance/i-0a1b2c3d4e5f60001"), "i-0a1b2c3d4e5f60001")}),
    ("ec2.amazonaws.com", "RunInstances",
     {"instancesSet": {"items": [{"imageId": "ami-0abcdef1234567890", "minCount": 1, "maxCount": 1}]},
      "instanceType": "t3.micro", "iamInstanceProfile": {"arn": PROFILE}},
     {"instancesSet": {"items": [{"instanceId": "i-0feedface0000001", "imageId": "ami-0abcdef1234567890"}]}}, None,
     {("AWS::EC2::Instance", arn("ec2", "instance/i-0feedface0000001"), "i-0feedface0000001"),
      ("AWS::EC2::Image", arn("ec2", "image/ami-0abcdef1234567890", account=""), "ami-0abcdef1234567890"),
      ("AWS::IAM::InstanceProfile", PROFILE, "web")}),
    ("ec2.amazonaws.com", "RunInstances", {"instancesSet": {"items": [{"imageId": "ami-0abcdef1234567890"}]},
                                           "iamInstanceProfile": {"name": "web"}}, None, None,
     {("AWS::EC2::Image", arn("ec2", "image/ami-0abcdef1234567890", account=""), "ami-0abcdef1234567890"),
      ("AWS::IAM::InstanceProfile", PROFILE, "web")}),
    ("ec2.amazonaws.com", "AssociateIamInstanceProfile",
     {"AssociateIamInstanceProfileRequest": {"InstanceId": "i-0a1b2c3d4e5f60001", "IamInstanceProfile": {"Name": "web"}}},
     None, None,
     {("AWS::EC2::Instance", arn("ec2", "instance/i-0a1b2c3d4e5f60001"), "i-0a1b2c3d4e5f60001"),
      ("AWS::IAM::InstanceProfile", PROFILE, "web")}),
    ("ec2.amazonaws.com", "AssociateIamInstanceProfile",
     {"AssociateIamInstanceProfileRequest": {"InstanceId": "i-0a1b2c3d4e5f60001", "IamInstanceProfile": {"Arn": PROFILE}}},
     None, None,
     {("AWS::EC2::Instance", arn("ec2", "instance/i-0a1b2c3d4e5f60001"), "i-0a1b2c3d4e5f60001"),
      ("AWS::IAM::InstanceProfile", PROFILE, "web")}),
    ("ec2.amazonaws.com", "ReplaceIamInstanceProfileAssociation",
     {"ReplaceIamInstanceProfileAssociationRequest": {"AssociationId": "iip-assoc-0123", "IamInstanceProfile": {"Arn": PROFILE}}},
     None, None, {("AWS::IAM::InstanceProfile", PROFILE, "web")}),
    ("ec2.amazonaws.com", "ReplaceIamInstanceProfileAssociation",
     {"ReplaceIamInstanceProfileAssociationRequest": {"AssociationId": "iip-assoc-0123", "IamInstanceProfile": {"Name": "web"}}},
     None, None, {("AWS::IAM::InstanceProfile", PROFILE, "web")}),
    ("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress",
     {"groupId": "sg-0123456789abcdef0", "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": 22, "toPort": 22}]}},
     None, None, {("AWS::EC2::SecurityGroup", arn("ec2", "security-group/sg-0123456789abcdef0"), "sg-0123456789abcdef0")}),
    ("ec2.amazonaws.com", "CreateSecurityGroup", {"groupName": "open", "groupDescription": "x", "vpcId": "vpc-0a1b2c3d"},
     {"_return": True, "groupId": "sg-0fedcba9876543210"}, None,
     {("AWS::EC2::SecurityGroup", arn("ec2", "security-group/sg-0fedcba9876543210"), "sg-0fedcba9876543210"),
      ("AWS::EC2::VPC", arn("ec2", "vpc/vpc-0a1b2c3d"), "vpc-0a1b2c3d")}),
    ("ec2.amazonaws.com", "CreateSnapshot", {"volumeId": "vol-0123456789abcdef0"},
     {"snapshotId": "snap-0123456789abcdef0", "volumeId": "vol-0123456789abcdef0", "status": "pending"}, None,
     {("AWS::EC2::Volume", arn("ec2", "volume/vol-0123456789abcdef0"), "vol-0123456789abcdef0"),
      ("AWS::EC2::Snapshot", arn("ec2", "snapshot/snap-0123456789abcdef0", account=""), "snap-0123456789abcdef0")}),
    ("ec2.amazonaws.com", "ModifySnapshotAttribute",
     {"snapshotId": "snap-0123456789abcdef0", "createVolumePermission": {"add": {"items": [{"userId": OTHER}]}}}, None, None,
     {("AWS::EC2::Snapshot", arn("ec2", "snapshot/snap-0123456789abcdef0", account=""), "snap-0123456789abcdef0")}),
    ("ec2.amazonaws.com", "ModifyImageAttribute",
     {"imageId": "ami-0abcdef1234567890", "launchPermission": {"add": {"items": [{"userId": OTHER}]}}}, None, None,
     {("AWS::EC2::Image", arn("ec2", "image/ami-0abcdef1234567890", account=""), "ami-0abcdef1234567890")}),
    ("iam.amazonaws.com", "CreateLoginProfile", {"userName": "bob", "passwordResetRequired": False}, None, None,
     {("AWS::IAM::User", f"arn:aws:iam::{ACCOUNT}:user/bob", "bob")}),
    ("iam.amazonaws.com", "CreateUser", {"userName": "svc-backup", "path": "/automation/"},
     {"user": {"path": "/automation/", "userName": "svc-backup", "userId": "AIDAEXAMPLESVCBACKUP",
               "arn": f"arn:aws:iam::{ACCOUNT}:user/automation/svc-backup", "createDate": "Mar 14, 2024 2:10:00 AM"}}, None,
     {("AWS::IAM::User", f"arn:aws:iam::{ACCOUNT}:user/automation/svc-backup", "svc-backup")}),
    ("iam.amazonaws.com", "CreateAccessKey", {"userName": "bob"},
     {"accessKey": {"userName": "bob", "accessKeyId": "AKIAEXAMPLEBOBNEW001", "status": "Active",
                    "createDate": "Mar 14, 2024 2:10:00 AM"}}, None,
     {("AWS::IAM::User", f"arn:aws:iam::{ACCOUNT}:user/bob", "bob"),
      ("AWS::IAM::AccessKey", "AKIAEXAMPLEBOBNEW001", "AKIAEXAMPLEBOBNEW001")}),
    ("iam.amazonaws.com", "UpdateAccessKey", {"userName": "bob", "accessKeyId": "AKIAEXAMPLEBOBNEW001", "status": "Inactive"},
     None, None,
     {("AWS::IAM::User", f"arn:aws:iam::{ACCOUNT}:user/bob", "bob"),
      ("AWS::IAM::AccessKey", "AKIAEXAMPLEBOBNEW001", "AKIAEXAMPLEBOBNEW001")}),
    ("iam.amazonaws.com", "AttachRolePolicy",
     {"roleName": "Reader", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}, None, None,
     {("AWS::IAM::Role", f"arn:aws:iam::{ACCOUNT}:role/Reader", "Reader"),
      ("AWS::IAM::ManagedPolicy", "arn:aws:iam::aws:policy/AdministratorAccess", "AdministratorAccess")}),
    ("iam.amazonaws.com", "CreateRole", {"roleName": "backdoor", "assumeRolePolicyDocument": "{}"},
     {"role": {"path": "/", "roleName": "backdoor", "roleId": "AROAEXAMPLEBACKDOOR1",
               "arn": f"arn:aws:iam::{ACCOUNT}:role/backdoor"}}, None,
     {("AWS::IAM::Role", f"arn:aws:iam::{ACCOUNT}:role/backdoor", "backdoor")}),
    ("iam.amazonaws.com", "AddUserToGroup", {"groupName": "Admins", "userName": "bob"}, None, None,
     {("AWS::IAM::Group", f"arn:aws:iam::{ACCOUNT}:group/Admins", "Admins"),
      ("AWS::IAM::User", f"arn:aws:iam::{ACCOUNT}:user/bob", "bob")}),
    ("iam.amazonaws.com", "AddRoleToInstanceProfile", {"instanceProfileName": "web", "roleName": "Reader"}, None, None,
     {("AWS::IAM::InstanceProfile", PROFILE, "web"), ("AWS::IAM::Role", f"arn:aws:iam::{ACCOUNT}:role/Reader", "Reader")}),
    ("sts.amazonaws.com", "AssumeRole",
     {"roleArn": f"arn:aws:iam::{OTHER}:role/OrganizationAccountAccessRole", "roleSessionName": "alice"},
     {"credentials": {"accessKeyId": "ASIAEXAMPLEXACCT0001", "sessionToken": "IQoJb3JpZ2luX2Vj",
                      "expiration": "Mar 14, 2024, 3:10:00 AM"},
      "assumedRoleUser": {"assumedRoleId": "AROAEXAMPLEORGROLE01:alice",
                          "arn": f"arn:aws:sts::{OTHER}:assumed-role/OrganizationAccountAccessRole/alice"}}, None,
     {("AWS::IAM::Role", f"arn:aws:iam::{OTHER}:role/OrganizationAccountAccessRole", "OrganizationAccountAccessRole"),
      ("AWS::STS::AssumedRole", f"arn:aws:sts::{OTHER}:assumed-role/OrganizationAccountAccessRole/alice",
       "OrganizationAccountAccessRole/alice"),
      ("AWS::IAM::AccessKey", "ASIAEXAMPLEXACCT0001", "ASIAEXAMPLEXACCT0001")}),
    ("sts.amazonaws.com", "GetFederationToken", {"name": "contractor", "durationSeconds": 3600},
     {"credentials": {"accessKeyId": "ASIAEXAMPLEFEDTOKEN1", "sessionToken": "IQoJ", "expiration": "Mar 14, 2024"},
      "federatedUser": {"federatedUserId": f"{ACCOUNT}:contractor",
                        "arn": f"arn:aws:sts::{ACCOUNT}:federated-user/contractor"}}, None,
     {("AWS::STS::FederatedUser", f"arn:aws:sts::{ACCOUNT}:federated-user/contractor", "contractor"),
      ("AWS::IAM::AccessKey", "ASIAEXAMPLEFEDTOKEN1", "ASIAEXAMPLEFEDTOKEN1")}),
    ("sts.amazonaws.com", "GetSessionToken", {"durationSeconds": 43200},
     {"credentials": {"accessKeyId": "ASIAEXAMPLESESSTOK1", "sessionToken": "IQoJ", "expiration": "Mar 14, 2024"}}, None,
     {("AWS::IAM::AccessKey", "ASIAEXAMPLESESSTOK1", "ASIAEXAMPLESESSTOK1")}),
    ("sso.amazonaws.com", "GetRoleCredentials", None, None, {"role_name": "AdministratorAccess", "account_id": OTHER},
     {("AWS::IAM::Role", f"arn:aws:iam::{OTHER}:role/AWSReservedSSO_AdministratorAccess", "AWSReservedSSO_AdministratorAccess")}),
    ("sso.amazonaws.com", "GetRoleCredentials", {"roleName": "ReadOnly", "accountId": OTHER}, None, None,
     {("AWS::IAM::Role", f"arn:aws:iam::{OTHER}:role/AWSReservedSSO_ReadOnly", "AWSReservedSSO_ReadOnly")}),
    ("lambda.amazonaws.com", "PutFunctionConcurrency20171031", {"functionName": "resize", "reservedConcurrentExecutions": 0},
     None, None, {("AWS::Lambda::Function", arn("lambda", "function:resize"), "resize")}),
    ("lambda.amazonaws.com", "UpdateFunctionConfiguration20150331v2",
     {"functionName": arn("lambda", "function:resize:prod"), "role": EXEC_ROLE}, None, None,
     {("AWS::Lambda::Function", arn("lambda", "function:resize"), "resize"),
      ("AWS::IAM::Role", EXEC_ROLE, "resize-role")}),
    ("lambda.amazonaws.com", "GetFunction20150331v2", {"functionName": f"{ACCOUNT}:function:resize"}, None, None,
     {("AWS::Lambda::Function", arn("lambda", "function:resize"), "resize")}),
    ("rds.amazonaws.com", "StopDBInstance", {"dBInstanceIdentifier": "Orders-DB"}, None, None,
     {("AWS::RDS::DBInstance", arn("rds", "db:orders-db"), "orders-db")}),
    ("rds.amazonaws.com", "DeleteDBCluster", {"dBClusterIdentifier": "orders-cluster", "skipFinalSnapshot": True}, None,
     None, {("AWS::RDS::DBCluster", arn("rds", "cluster:orders-cluster"), "orders-cluster")}),
    ("rds.amazonaws.com", "CreateDBSnapshot", {"dBSnapshotIdentifier": "exfil-1", "dBInstanceIdentifier": "orders-db"},
     None, None,
     {("AWS::RDS::DBSnapshot", arn("rds", "snapshot:exfil-1"), "exfil-1"),
      ("AWS::RDS::DBInstance", arn("rds", "db:orders-db"), "orders-db")}),
    ("kms.amazonaws.com", "ScheduleKeyDeletion", {"keyId": KEY_ID, "pendingWindowInDays": 7}, None, None,
     {("AWS::KMS::Key", arn("kms", f"key/{KEY_ID}"), KEY_ID)}),
    ("kms.amazonaws.com", "CreateAlias", {"aliasName": "alias/backup", "targetKeyId": KEY_ID}, None, None,
     {("AWS::KMS::Alias", arn("kms", "alias/backup"), "alias/backup"),
      ("AWS::KMS::Key", arn("kms", f"key/{KEY_ID}"), KEY_ID)}),
    ("kms.amazonaws.com", "Decrypt", {"keyId": arn("kms", "alias/backup"), "encryptionAlgorithm": "SYMMETRIC_DEFAULT"},
     None, None, {("AWS::KMS::Alias", arn("kms", "alias/backup"), "alias/backup")}),
    ("kms.amazonaws.com", "CreateKey", {"keySpec": "SYMMETRIC_DEFAULT", "keyUsage": "ENCRYPT_DECRYPT"},
     {"keyMetadata": {"keyId": KEY_ID, "arn": arn("kms", f"key/{KEY_ID}"), "keyState": "Enabled"}}, None,
     {("AWS::KMS::Key", arn("kms", f"key/{KEY_ID}"), KEY_ID)}),
    ("cloudtrail.amazonaws.com", "StopLogging", {"name": arn("cloudtrail", "trail/management-events")}, None, None,
     {("AWS::CloudTrail::Trail", arn("cloudtrail", "trail/management-events"), "management-events")}),
    ("cloudtrail.amazonaws.com", "DeleteTrail", {"name": "management-events"}, None, None,
     {("AWS::CloudTrail::Trail", arn("cloudtrail", "trail/management-events"), "management-events")}),
    ("cloudtrail.amazonaws.com", "PutEventSelectors", {"trailName": "management-events", "eventSelectors": []}, None, None,
     {("AWS::CloudTrail::Trail", arn("cloudtrail", "trail/management-events"), "management-events")}),
    ("guardduty.amazonaws.com", "DeleteDetector", {"detectorId": "12abc34d567e8fa901bc2d34e56789f0"}, None, None,
     {("AWS::GuardDuty::Detector", arn("guardduty", "detector/12abc34d567e8fa901bc2d34e56789f0"),
       "12abc34d567e8fa901bc2d34e56789f0")}),
    ("secretsmanager.amazonaws.com", "GetSecretValue", {"secretId": arn("secretsmanager", "secret:prod/db-AbCdEf")},
     None, None,
     {("AWS::SecretsManager::Secret", arn("secretsmanager", "secret:prod/db-AbCdEf"), "prod/db-AbCdEf")}),
    ("secretsmanager.amazonaws.com", "CreateSecret", {"name": "prod/api", "clientRequestToken": "x"},
     {"arn": arn("secretsmanager", "secret:prod/api-XyZ123"), "name": "prod/api"}, None,
     {("AWS::SecretsManager::Secret", arn("secretsmanager", "secret:prod/api-XyZ123"), "prod/api-XyZ123")}),
    ("ssm.amazonaws.com", "GetParameter", {"name": "/prod/db/password", "withDecryption": True}, None, None,
     {("AWS::SSM::Parameter", arn("ssm", "parameter/prod/db/password"), "prod/db/password")}),
    ("ssm.amazonaws.com", "GetParameters", {"names": ["/prod/a", "/prod/b"], "withDecryption": True}, None, None,
     {("AWS::SSM::Parameter", arn("ssm", "parameter/prod/a"), "prod/a"),
      ("AWS::SSM::Parameter", arn("ssm", "parameter/prod/b"), "prod/b")}),
    ("dynamodb.amazonaws.com", "DeleteTable", {"tableName": "orders"}, None, None,
     {("AWS::DynamoDB::Table", arn("dynamodb", "table/orders"), "orders")}),
    ("sns.amazonaws.com", "Publish", {"topicArn": arn("sns", "alerts"), "message": "HIDDEN_DUE_TO_SECURITY_REASONS"},
     None, None, {("AWS::SNS::Topic", arn("sns", "alerts"), "alerts")}),
    ("sns.amazonaws.com", "CreateTopic", {"name": "alerts"}, {"topicArn": arn("sns", "alerts")}, None,
     {("AWS::SNS::Topic", arn("sns", "alerts"), "alerts")}),
    ("sqs.amazonaws.com", "SendMessage", {"queueUrl": f"https://sqs.{R}.amazonaws.com/{ACCOUNT}/jobs", "messageBody": "x"},
     None, None, {("AWS::SQS::Queue", arn("sqs", "jobs"), "jobs")}),
    ("ecs.amazonaws.com", "DeleteCluster", {"cluster": "batch"}, None, None,
     {("AWS::ECS::Cluster", arn("ecs", "cluster/batch"), "batch")}),
    ("eks.amazonaws.com", "DeleteCluster", {"name": "prod"}, None, None,
     {("AWS::EKS::Cluster", arn("eks", "cluster/prod"), "prod")}),
    ("eks.amazonaws.com", "CreateNodegroup", {"clusterName": "prod", "nodegroupName": "gpu"}, None, None,
     {("AWS::EKS::Cluster", arn("eks", "cluster/prod"), "prod")}),
    ("logs.amazonaws.com", "DeleteLogGroup", {"logGroupName": "/aws/lambda/resize"}, None, None,
     {("AWS::Logs::LogGroup", arn("logs", "log-group:/aws/lambda/resize"), "/aws/lambda/resize")}),
    ("monitoring.amazonaws.com", "DeleteAlarms", {"alarmNames": ["db-cpu", "db-storage"]}, None, None,
     {("AWS::CloudWatch::Alarm", arn("cloudwatch", "alarm:db-cpu"), "db-cpu"),
      ("AWS::CloudWatch::Alarm", arn("cloudwatch", "alarm:db-storage"), "db-storage")}),
    ("monitoring.amazonaws.com", "PutMetricAlarm", {"alarmName": "db-cpu", "metricName": "CPUUtilization"}, None, None,
     {("AWS::CloudWatch::Alarm", arn("cloudwatch", "alarm:db-cpu"), "db-cpu")}),
    ("kinesis.amazonaws.com", "DeleteStream", {"streamName": "clicks"}, None, None,
     {("AWS::Kinesis::Stream", arn("kinesis", "stream/clicks"), "clicks")}),
    ("kinesis.amazonaws.com", "DeleteStream", {"streamARN": arn("kinesis", "stream/clicks")}, None, None,
     {("AWS::Kinesis::Stream", arn("kinesis", "stream/clicks"), "clicks")}),
    ("elasticache.amazonaws.com", "RebootCacheCluster", {"cacheClusterId": "sessions-001"}, None, None,
     {("AWS::ElastiCache::CacheCluster", arn("elasticache", "cluster:sessions-001"), "sessions-001")}),
    ("states.amazonaws.com", "StartExecution", {"stateMachineArn": arn("states", "stateMachine:etl"), "name": "run-1"},
     None, None, {("AWS::StepFunctions::StateMachine", arn("states", "stateMachine:etl"), "etl")}),
    ("autoscaling.amazonaws.com", "UpdateAutoScalingGroup", {"autoScalingGroupName": "web-asg", "desiredCapacity": 0},
     None, None, {("AWS::AutoScaling::AutoScalingGroup",
                   arn("autoscaling", "autoScalingGroup:*:autoScalingGroupName/web-asg"), "web-asg")}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("source", "name", "request_", "response", "details", "expected"),
    CASES,
    ids=[f"{c[0].split('.')[0]}-{c[1]}-{i}" for i, c in enumerate(CASES)],
)
def test_each_rule_finds_its_resources(tmp_path, source, name, request_, response, details, expected):
    rec = call(source, name, request_, response)
    if details is not None:
        rec.update(eventType="AwsServiceEvent", serviceEventDetails=details)
    assert found(tmp_path, [rec]) == expected


def test_every_rule_of_the_table_has_a_case():
    """Adding a rule to SERVICES without a case above fails here."""
    def present(doc: object, steps: list[str]) -> bool:
        for step in steps:
            key = step.removesuffix("[]")
            if not isinstance(doc, dict) or key not in doc:
                return False
            doc = doc[key][0] if step.endswith("[]") else doc[key]
        return True

    columns = {"requestParameters": 2, "responseElements": 3, "serviceEventDetails": 4}
    for source, picks in SERVICES.items():
        for pick in picks:
            covered = [
                case for case in CASES
                if case[0] == source and (not pick.events or base_action(case[1]) in pick.events)
                and all(present(case[columns[p.split(".", 1)[0]]], p.split(".")[1:]) for p in pick.paths)
                and any(t == pick.type for t, _, _ in case[5])
            ]  # fmt: skip
            assert covered, f"no test case for {source} {pick.type} at {pick.path}"


def test_qualified_arns_are_one_node_with_the_plain_one(tmp_path):
    records = [
        call("logs.amazonaws.com", "DeleteLogGroup", {"logGroupName": "/aws/lambda/resize"}),
        record("e2", T, name="Invoke", source="lambda.amazonaws.com", requestParameters={"functionName": "resize"},
               resources=[{"accountId": ACCOUNT, "type": "AWS::Logs::LogGroup", "ARN": arn("logs", "log-group:/aws/lambda/resize:*")},
                          {"accountId": ACCOUNT, "type": "AWS::Lambda::Function", "ARN": arn("lambda", "function:resize:$LATEST")}]),
    ]  # fmt: skip
    frame = extract_resources(load(tmp_path, records))
    assert set(frame["arn"].astype(str)) == {arn("logs", "log-group:/aws/lambda/resize"), arn("lambda", "function:resize")}


def test_resources_list_is_read_for_every_service(tmp_path):
    rec = record("e1", T, name="Decrypt", source="kms.amazonaws.com", requestParameters={"encryptionContext": {"a": "b"}},
                 resources=[{"accountId": ACCOUNT, "type": "AWS::KMS::Key", "ARN": arn("kms", f"key/{KEY_ID}")}])
    events = load(tmp_path, [rec])
    frame = extract_resources(events)
    assert frame.to_dict("records") == [{
        "eventID": "e1", "row": 0, "arn": arn("kms", f"key/{KEY_ID}"), "type": "AWS::KMS::Key", "name": KEY_ID,
        "account": ACCOUNT, "region": R,
    }]  # fmt: skip
    assert tuple(frame.columns) == RESOURCE_COLUMNS


def test_listed_access_keys_become_their_id_and_untyped_arns_get_a_type(tmp_path):
    rec = call("sts.amazonaws.com", "AssumeRole", {"roleArn": f"arn:aws:iam::{ACCOUNT}:role/Reader"}, None, resources=[
        {"accountId": ACCOUNT, "type": "AWS::IAM::AccessKey", "ARN": f"arn:aws:iam::{ACCOUNT}:accesskey/ASIAEXAMPLEKEY000001"},
        {"ARN": f"arn:aws:iam::{ACCOUNT}:role/Reader"},
    ])  # fmt: skip
    assert found(tmp_path, [rec]) == {
        ("AWS::IAM::AccessKey", "ASIAEXAMPLEKEY000001", "ASIAEXAMPLEKEY000001"),
        ("AWS::IAM::Role", f"arn:aws:iam::{ACCOUNT}:role/Reader", "Reader"),
    }


def test_s3_events_with_a_resources_list_are_not_parsed_twice(tmp_path):
    """The list names bucket and object; requestParameters would give the same, so one row each."""
    rec = record("e1", T, resources=[
        {"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::acme-data/reports/q1.csv"},
        {"accountId": ACCOUNT, "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::acme-data"},
    ])  # fmt: skip
    frame = extract_resources(load(tmp_path, [rec]))
    assert sorted(frame["arn"].astype(str)) == ["arn:aws:s3:::acme-data", "arn:aws:s3:::acme-data/reports/q1.csv"]
    assert dict(zip(frame["arn"].astype(str), frame["account"].astype(str)))["arn:aws:s3:::acme-data"] == ACCOUNT


def test_iam_names_take_the_path_of_the_arn_seen_elsewhere(tmp_path):
    """AttachRolePolicy names 'resize-role'; the role's ARN has a path; both must be one node."""
    records = [
        call("iam.amazonaws.com", "AttachRolePolicy",
             {"roleName": "resize-role", "policyArn": "arn:aws:iam::aws:policy/AmazonS3FullAccess"}),
        record("e2", "2024-03-14T02:11:00Z", identity=assumed_role("resize-role", "resize", key="ASIAEXAMPLERESIZE001")),
    ]  # fmt: skip
    records[1]["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"] = EXEC_ROLE
    frame = extract_resources(load(tmp_path, records))
    roles = frame[frame["type"] == "AWS::IAM::Role"]
    assert list(roles["arn"].astype(str)) == [EXEC_ROLE] and list(roles["name"].astype(str)) == ["resize-role"]


def test_identity_center_role_is_the_reserved_role_with_its_suffix(tmp_path):
    reserved = (f"arn:aws:iam::{OTHER}:role/aws-reserved/sso.amazonaws.com/us-east-1/"
                "AWSReservedSSO_AdministratorAccess_7243976e43c75fc5")  # fmt: skip
    saml = call("sts.amazonaws.com", "AssumeRoleWithSAML",
                {"roleArn": reserved, "roleSessionName": "alice@example.com",
                 "principalArn": f"arn:aws:iam::{OTHER}:saml-provider/AWSSSO_9882ccf00912484e_DO_NOT_DELETE"},
                {"credentials": {"accessKeyId": "ASIAEXAMPLESSO000001", "sessionToken": "x", "expiration": "x"},
                 "assumedRoleUser": {"assumedRoleId": "AROAEXAMPLE:alice@example.com",
                                     "arn": f"arn:aws:sts::{OTHER}:assumed-role/AWSReservedSSO_AdministratorAccess_7243976e43c75fc5/alice@example.com"}},
                identity={"type": "SAMLUser", "principalId": "IdPKey=:alice@example.com", "userName": "alice@example.com",
                          "identityProvider": "IdPKey="})  # fmt: skip
    credentials = call("sso.amazonaws.com", "GetRoleCredentials", None, None, eventType="AwsServiceEvent",
                       serviceEventDetails={"role_name": "AdministratorAccess", "account_id": OTHER},
                       identity={"type": "IdentityCenterUser", "accountId": ACCOUNT,
                                 "onBehalfOf": {"userId": "976710cc5d-9d976f61", "identityStoreArn": "arn:aws:identitystore::x"}})  # fmt: skip
    credentials["eventID"] = "e0"
    frame = extract_resources(load(tmp_path, [credentials, saml]))
    roles = frame[frame["type"] == "AWS::IAM::Role"]
    assert set(roles["arn"].astype(str)) == {reserved}
    assert set(roles["eventID"]) == {"e0", "e1"}


def test_names_keep_what_cloudwatch_dimensions_use(tmp_path):
    records = [
        call("rds.amazonaws.com", "StopDBInstance", {"dBInstanceIdentifier": "Orders-DB"}),
        call("lambda.amazonaws.com", "PutFunctionConcurrency20171031", {"functionName": arn("lambda", "function:resize:live")}),
        call("ec2.amazonaws.com", "StopInstances", {"instancesSet": {"items": [{"instanceId": "i-0a1b2c3d4e5f60001"}]}}),
        call("s3.amazonaws.com", "DeleteBucket", {"bucketName": "acme-data"}),
    ]  # fmt: skip
    for i, rec in enumerate(records):
        rec["eventID"] = f"e{i}"
    frame = extract_resources(load(tmp_path, records))
    assert dict(zip(frame["type"].astype(str), frame["name"].astype(str))) == {
        "AWS::RDS::DBInstance": "orders-db", "AWS::Lambda::Function": "resize",
        "AWS::EC2::Instance": "i-0a1b2c3d4e5f60001", "AWS::S3::Bucket": "acme-data",
    }  # fmt: skip


def test_account_and_region_come_from_the_arn_else_the_event(tmp_path):
    records = [
        call("lambda.amazonaws.com", "GetFunction20150331v2", {"functionName": arn("lambda", "function:far", "eu-west-1", OTHER)}),
        call("lambda.amazonaws.com", "GetFunction20150331v2", {"functionName": "near"}, awsRegion="cn-north-1"),
        call("iam.amazonaws.com", "GetUser", {"userName": "bob"}),
    ]  # fmt: skip
    for i, rec in enumerate(records):
        rec["eventID"] = f"e{i}"
    frame = extract_resources(load(tmp_path, records))
    rows = {r["name"]: (r["arn"], r["account"], r["region"]) for r in frame.to_dict("records")}
    assert rows["far"] == (arn("lambda", "function:far", "eu-west-1", OTHER), OTHER, "eu-west-1")
    assert rows["near"] == (f"arn:aws-cn:lambda:cn-north-1:{ACCOUNT}:function:near", ACCOUNT, "cn-north-1")
    assert rows["bob"][:2] == (f"arn:aws:iam::{ACCOUNT}:user/bob", ACCOUNT) and pd.isna(rows["bob"][2])


def test_events_naming_nothing_known_fall_back_to_their_service(tmp_path):
    records = [
        call("ec2.amazonaws.com", "DescribeRegions", {"regionSet": {}}),
        call("config.amazonaws.com", "StopConfigurationRecorder", {"configurationRecorderName": "default"}),
        record("e9", T, name="GetCallerIdentity", source="sts.amazonaws.com", requestParameters=None),
    ]
    for i, rec in enumerate(records[:2]):
        rec["eventID"] = f"e{i}"
    assert found(tmp_path, records) == {
        (SERVICE, "ec2.amazonaws.com", "ec2.amazonaws.com"),
        (SERVICE, "config.amazonaws.com", "config.amazonaws.com"),
        (SERVICE, "sts.amazonaws.com", "sts.amazonaws.com"),
    }


def test_every_event_with_a_source_has_a_row(tmp_path):
    records = [call(src, name, req, resp) for src, name, req, resp, _, _ in CASES if resp is None or isinstance(resp, dict)]
    for i, rec in enumerate(records):
        rec["eventID"] = f"e{i:03d}"
    events = load(tmp_path, records)
    frame = extract_resources(events)
    assert set(frame["row"]) == set(range(len(events)))
    assert (events["eventID"].iloc[frame["row"]].to_numpy() == frame["eventID"].to_numpy()).all()
    assert frame["row"].is_monotonic_increasing
    assert not frame.duplicated(["row", "arn"]).any()


def test_text_that_cannot_be_read_is_counted_not_taken_for_nothing(tmp_path):
    """requestParameters given as a string and a resources 'list' that is an object (seen in odd records)."""
    records = [
        call("iam.amazonaws.com", "DeleteUser", "userName=bob"),
        record("e2", T, resources={"ARN": "arn:aws:s3:::acme-data"}, requestParameters=None),
        call("iam.amazonaws.com", "DeleteUser", {"userName": "carol"}),
    ]
    records[2]["eventID"] = "e3"
    frame = extract_resources(load(tmp_path, records))
    assert frame.attrs["unparsed_rows"] == [0, 1]
    assert set(zip(frame["eventID"], frame["arn"].astype(str))) == {
        ("e1", "iam.amazonaws.com"), ("e2", "s3.amazonaws.com"), ("e3", f"arn:aws:iam::{ACCOUNT}:user/carol"),
    }  # fmt: skip


def test_odd_but_readable_values(tmp_path):
    """An accountId written as a number in the list, a bucket name that is a number, empty values skipped."""
    rec = call("s3.amazonaws.com", "CreateBucket", {"bucketName": 2024, "key": ""}, None,
               resources=[{"accountId": 12345678901, "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::2024"}])  # fmt: skip
    frame = extract_resources(load(tmp_path, [rec]))
    assert frame[["arn", "name", "account"]].astype(str).values.tolist() == [["arn:aws:s3:::2024", "2024", "12345678901"]]


def test_identical_texts_give_identical_rows(tmp_path):
    """Texts are parsed once per (action, text); every event still gets its own rows."""
    records = [call("dynamodb.amazonaws.com", "DescribeTable", {"tableName": "orders"}) for _ in range(3)]
    for i, rec in enumerate(records):
        rec["eventID"] = f"e{i}"
    frame = extract_resources(load(tmp_path, records))
    assert list(frame["eventID"]) == ["e0", "e1", "e2"] and set(frame["name"].astype(str)) == {"orders"}


def test_one_text_names_a_resource_in_each_events_own_account_and_region(tmp_path):
    """A text is read once, but a bare name resolves where each event happened; a listed owner wins."""
    places = [("us-east-1", ACCOUNT), ("eu-west-1", ACCOUNT), ("us-east-1", OTHER), ("us-east-1", ACCOUNT)]
    records = [call("dynamodb.amazonaws.com", "DescribeTable", {"tableName": "orders"}, awsRegion=region,
                    recipientAccountId=account) for region, account in places]  # fmt: skip
    listed = [{"accountId": OTHER, "type": "AWS::KMS::Key", "ARN": "arn:aws:kms:us-east-1:210987654321:key/k1"}]
    records += [call("kms.amazonaws.com", "Decrypt", None, resources=listed, recipientAccountId=a) for a in (ACCOUNT, OTHER)]
    for i, rec in enumerate(records):
        rec["eventID"] = f"e{i}"
    frame = extract_resources(load(tmp_path, records))
    table = "arn:aws:dynamodb:{}:{}:table/orders"
    assert list(zip(frame["eventID"], frame["arn"].astype(str), frame["account"].astype(str))) == [
        ("e0", table.format("us-east-1", ACCOUNT), ACCOUNT), ("e1", table.format("eu-west-1", ACCOUNT), ACCOUNT),
        ("e2", table.format("us-east-1", OTHER), OTHER), ("e3", table.format("us-east-1", ACCOUNT), ACCOUNT),
        ("e4", listed[0]["ARN"], OTHER), ("e5", listed[0]["ARN"], OTHER),
    ]  # fmt: skip


def test_an_empty_frame_gives_an_empty_table():
    from forensics.schema import empty_events

    frame = extract_resources(empty_events())
    assert tuple(frame.columns) == RESOURCE_COLUMNS and len(frame) == 0


def test_a_frame_outside_the_schema_is_refused():
    with pytest.raises(SchemaError):
        extract_resources(pd.DataFrame({"eventSource": ["s3.amazonaws.com"]}))


@pytest.mark.parametrize(
    ("name", "base"),
    [("PutFunctionConcurrency20171031", "PutFunctionConcurrency"), ("GetFunction20150331v2", "GetFunction"),
     ("StopDBInstance", "StopDBInstance"), ("CreateBucket", "CreateBucket")],
)  # fmt: skip
def test_base_action_drops_lambda_version_suffixes(name, base):
    assert base_action(name) == base


def test_text_nested_too_deeply_to_follow_is_counted_not_raised(tmp_path):
    """A frame from elsewhere (Athena, a hand-made one) may hold JSON deeper than the decoder follows."""
    events = load(tmp_path, [call("iam.amazonaws.com", "DeleteUser", {"userName": "bob"})])
    deep = '{"userName":' + "[" * 5000 + "]" * 5000 + "}"
    events["requestParameters"] = events["requestParameters"].cat.add_categories([deep])
    events.loc[0, "requestParameters"] = deep
    frame = extract_resources(events)
    assert frame.attrs["unparsed_rows"] == [0]
    assert frame["arn"].astype(str).tolist() == ["iam.amazonaws.com"]
