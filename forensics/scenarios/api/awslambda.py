"""Lambda calls. Event names carry the API version: ``PutFunctionConcurrency20171031``."""

from __future__ import annotations

from datetime import datetime

from forensics.scenarios.api.call import Call
from forensics.scenarios.identities import JSON
from forensics.scenarios.ids import Ids


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
        {
            "functionName": name,
            "functionArn": f"{function_arn}:{version}",
            "version": str(version),
            "revisionId": ids.uuid(),
            "state": "Active",
        },
    )


def update_alias(function_arn: str, alias: str, version: int, ids: Ids) -> Call:
    name = function_arn.rsplit(":", 1)[1]
    return _lambda(
        "UpdateAlias20150331",
        False,
        {"functionName": name, "name": alias, "functionVersion": str(version)},
        {
            "aliasArn": f"{function_arn}:{alias}",
            "name": alias,
            "functionVersion": str(version),
            "description": "",
            "revisionId": ids.uuid(),
        },
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
