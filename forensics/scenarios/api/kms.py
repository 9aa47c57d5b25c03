"""KMS calls made directly on a key (the calls S3 makes on a caller's behalf are in :mod:`.s3`)."""

from __future__ import annotations

from forensics.scenarios.api.call import Call
from forensics.scenarios.identities import JSON


def _key_resource(key_arn: str) -> tuple[JSON, ...]:
    return ({"accountId": key_arn.split(":")[4], "type": "AWS::KMS::Key", "ARN": key_arn},)


def _kms(name: str, read_only: bool, key_arn: str, request: JSON, response: JSON | None = None) -> Call:
    return Call(
        "kms.amazonaws.com",
        name,
        read_only,
        request,
        response,
        resources=_key_resource(key_arn),
        host="kms.{region}.amazonaws.com",
    )


def describe_key(key_arn: str) -> Call:
    return _kms("DescribeKey", True, key_arn, {"keyId": key_arn})


def disable_key(key_arn: str) -> Call:
    """``DisableKey``: nothing can decrypt with the key until it is enabled again."""
    return _kms("DisableKey", False, key_arn, {"keyId": key_arn})


def enable_key(key_arn: str) -> Call:
    return _kms("EnableKey", False, key_arn, {"keyId": key_arn})


def schedule_key_deletion(key_arn: str, days: int, deletion_date: str) -> Call:
    """``ScheduleKeyDeletion``: after ``days`` the key, and every object encrypted with it, is lost."""
    return _kms(
        "ScheduleKeyDeletion",
        False,
        key_arn,
        {"keyId": key_arn, "pendingWindowInDays": days},
        {"keyId": key_arn, "deletionDate": deletion_date, "keyState": "PendingDeletion", "pendingWindowInDays": days},
    )


def cancel_key_deletion(key_arn: str) -> Call:
    """``CancelKeyDeletion``: the key is kept, in the ``Disabled`` state."""
    return _kms("CancelKeyDeletion", False, key_arn, {"keyId": key_arn}, {"keyId": key_arn})
