"""Complete CloudTrail records from calls: key order, data events, errors, console sign-in, CLI agents."""

from __future__ import annotations

import random

import pytest

from forensics.scenarios.api import Call, access_denied, awslambda, iam, observability, rds, s3, sts
from forensics.scenarios.identities import AWSService, IAMUser, Role, RoleSession
from forensics.scenarios.ids import Ids
from forensics.scenarios.records import Actor, Trail, cli_command, service_actor
from forensics.scenarios.times import console_date, utc

ACCT = "012345678901"
AT = utc("2024-03-12T11:20:31Z")
USER = IAMUser(ACCT, "bob.dev", "AIDAEXAMPLEBOBEXAMPLE", "AKIAEXAMPLEBOB000001")
ROLE = Role(ACCT, "DataPipelineRole", "AROAEXAMPLEROLEEXAMPL")

#: Key order of CloudTrail records (the keys a record has appear in this order).
ORDER = [
    "eventVersion", "userIdentity", "eventTime", "eventSource", "eventName", "awsRegion", "sourceIPAddress",
    "userAgent", "errorCode", "errorMessage", "requestParameters", "responseElements", "additionalEventData",
    "requestID", "eventID", "readOnly", "resources", "eventType", "managementEvent", "recipientAccountId",
    "sharedEventID", "vpcEndpointId", "eventCategory", "tlsDetails", "sessionCredentialFromConsole",
]  # fmt: skip


@pytest.fixture
def trail() -> Trail:
    return Trail(ACCT, Ids(random.Random(3)))


def test_s3_get_object_is_a_data_event(trail: Trail) -> None:
    actor = Actor(USER, "192.0.2.37", "aws-cli/2.15.30 command/{command}")
    record = trail.record(
        AT, actor, s3.get_object(ACCT, "acme-customer-exports", "exports/a.csv.gz", 1234), region="eu-west-1"
    )
    assert list(record) == [k for k in ORDER if k in record]
    assert record["eventTime"] == "2024-03-12T11:20:31Z"
    assert (record["eventCategory"], record["managementEvent"], record["readOnly"]) == ("Data", False, True)
    assert record["requestParameters"] == {
        "bucketName": "acme-customer-exports",
        "Host": "acme-customer-exports.s3.eu-west-1.amazonaws.com",
        "key": "exports/a.csv.gz",
    }
    assert record["responseElements"] is None
    assert record["resources"] == [
        {"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::acme-customer-exports/exports/a.csv.gz"},
        {"accountId": ACCT, "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::acme-customer-exports"},
    ]
    assert record["additionalEventData"]["bytesTransferredOut"] == 1234
    assert len(record["additionalEventData"]["x-amz-id-2"]) == 76
    assert record["tlsDetails"]["clientProvidedHostHeader"] == "acme-customer-exports.s3.eu-west-1.amazonaws.com"
    assert record["userAgent"] == "aws-cli/2.15.30 command/s3api.get-object"
    assert record["recipientAccountId"] == "012345678901"
    assert "sessionCredentialFromConsole" not in record
    assert trail.records == [record]


def test_failed_call_has_error_and_null_response(trail: Trail) -> None:
    denied = access_denied(USER.arn, "iam:GetAccountAuthorizationDetails")
    record = trail.record(
        AT, Actor(USER, "203.0.113.66", "x"), iam.get_account_authorization_details(), region="eu-west-1", error=denied
    )
    assert record["awsRegion"] == "us-east-1"  # IAM is global
    assert record["errorCode"] == "AccessDenied"
    assert record["errorMessage"] == (
        "User: arn:aws:iam::012345678901:user/bob.dev is not authorized to perform: iam:GetAccountAuthorizationDetails "
        "on resource: * because no identity-based policy allows the iam:GetAccountAuthorizationDetails action"
    )
    assert record["responseElements"] is None
    assert list(record) == [k for k in ORDER if k in record]


def test_assume_role_returns_the_session_key(trail: Trail) -> None:
    session = RoleSession(ROLE, "export-backfill", "ASIAEXAMPLESESSION01", AT)
    record = trail.record(
        AT, Actor(USER, "198.51.100.23", "x"), sts.assume_role(session, "TOKEN", 3600), region="us-east-1"
    )
    assert record["requestParameters"] == {
        "roleArn": ROLE.arn,
        "roleSessionName": "export-backfill",
        "durationSeconds": 3600,
    }
    assert record["responseElements"] == {
        "credentials": {
            "accessKeyId": "ASIAEXAMPLESESSION01",
            "sessionToken": "TOKEN",
            "expiration": "Mar 12, 2024, 12:20:31 PM",
        },
        "assumedRoleUser": {"assumedRoleId": "AROAEXAMPLEROLEEXAMPL:export-backfill", "arn": session.arn},
    }
    assert record["resources"] == [{"accountId": ACCT, "type": "AWS::IAM::Role", "ARN": ROLE.arn}]


def test_service_assume_role_has_no_duration_and_no_tls(trail: Trail) -> None:
    session = RoleSession(ROLE, "f3a1", "ASIAEXAMPLESESSION02", AT)
    actor = service_actor(AWSService("ecs-tasks.amazonaws.com"), "ecs-tasks.amazonaws.com")
    record = trail.record(AT, actor, sts.assume_role(session, "TOKEN", None), region="eu-west-1")
    assert "durationSeconds" not in record["requestParameters"]
    assert record["sourceIPAddress"] == record["userAgent"] == "ecs-tasks.amazonaws.com"
    assert "tlsDetails" not in record


def test_console_sign_in(trail: Trail) -> None:
    record = trail.record(
        AT,
        Actor(USER.with_key(""), "192.0.2.14", "Mozilla/5.0"),
        iam.console_login("arn:aws:iam::012345678901:mfa/bob"),
        region="eu-west-1",
    )
    assert record["eventType"] == "AwsConsoleSignIn"
    assert record["awsRegion"] == "us-east-1"
    assert "requestID" not in record
    assert record["responseElements"] == {"ConsoleLogin": "Success"}
    assert record["additionalEventData"]["MFAUsed"] == "Yes"


def test_console_credentials_and_vpc_endpoint_and_shared_id(trail: Trail) -> None:
    actor = Actor(USER, "10.20.1.5", "Boto3", console=True, vpc_endpoint="vpce-0abc")
    record = trail.record(AT, actor, s3.list_buckets(), region="us-east-1", shared_event_id="shared-1")
    assert record["sessionCredentialFromConsole"] == "true"
    assert record["vpcEndpointId"] == "vpce-0abc"
    assert record["sharedEventID"] == "shared-1"
    assert list(record) == [k for k in ORDER if k in record]


@pytest.mark.parametrize(
    ("call", "command"),
    [
        (s3.list_objects(ACCT, "b", "", 1), "s3api.list-objects-v2"),
        (rds.describe_db_instances(), "rds.describe-db-instances"),
        (awslambda.put_function_concurrency("f", 0), "lambda.put-function-concurrency"),
        (awslambda.get_function("f"), "lambda.get-function"),
        (iam.get_account_authorization_details(), "iam.get-account-authorization-details"),
        (observability.describe_alarms(), "cloudwatch.describe-alarms"),
    ],
)
def test_cli_command_in_user_agent(call: Call, command: str) -> None:
    assert cli_command(call) == command


def test_lambda_event_names_carry_api_versions() -> None:
    call = awslambda.put_function_concurrency("checkout-handler", 0)
    assert call.name == "PutFunctionConcurrency20171031"
    assert call.action == "lambda:PutFunctionConcurrency"
    assert call.request == {"functionName": "checkout-handler", "reservedConcurrentExecutions": 0}


def test_public_bucket_policy_has_star_principal() -> None:
    call = s3.put_bucket_policy(ACCT, "b", s3.public_read_policy("b"))
    assert call.request is not None
    assert call.request["bucketPolicy"]["Statement"][0]["Principal"] == "*"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-12T00:05:09Z", "Mar 12, 2024, 12:05:09 AM"),
        ("2024-03-12T12:00:00Z", "Mar 12, 2024, 12:00:00 PM"),
        ("2024-03-02T23:59:59Z", "Mar 2, 2024, 11:59:59 PM"),
    ],
)
def test_console_dates(text: str, expected: str) -> None:
    assert console_date(utc(text)) == expected
