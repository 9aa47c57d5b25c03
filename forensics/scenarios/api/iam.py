"""IAM and console sign-in calls (both recorded in us-east-1).

IAM dates in ``responseElements`` read ``Mar 12, 2024, 11:20:31 AM``; the secret of a new
access key is never logged.
"""

from __future__ import annotations

import json
from datetime import datetime

from forensics.scenarios.api.call import GLOBAL_REGION, Call
from forensics.scenarios.identities import JSON, IAMUser, Role
from forensics.scenarios.times import console_date


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
        {
            "accessKey": {
                "userName": user.name,
                "accessKeyId": user.access_key_id,
                "status": "Active",
                "createDate": console_date(created),
            }
        },
    )


def update_access_key(user_name: str, access_key_id: str, status: str) -> Call:
    return _iam("UpdateAccessKey", False, {"userName": user_name, "accessKeyId": access_key_id, "status": status})


def delete_access_key(user_name: str, access_key_id: str) -> Call:
    return _iam("DeleteAccessKey", False, {"userName": user_name, "accessKeyId": access_key_id})


def create_user(user: IAMUser, created: datetime) -> Call:
    return _iam(
        "CreateUser",
        False,
        {"userName": user.name},
        {
            "user": {
                "path": "/",
                "userName": user.name,
                "userId": user.user_id,
                "arn": user.arn,
                "createDate": console_date(created),
            }
        },
    )


def create_login_profile(user_name: str, created: datetime) -> Call:
    """``CreateLoginProfile``: console access with a password (which is never logged)."""
    return _iam(
        "CreateLoginProfile",
        False,
        {"userName": user_name, "passwordResetRequired": False},
        {
            "loginProfile": {
                "userName": user_name,
                "createDate": console_date(created),
                "passwordResetRequired": False,
            }
        },
    )


def delete_login_profile(user_name: str) -> Call:
    return _iam("DeleteLoginProfile", False, {"userName": user_name})


def update_assume_role_policy(role: Role, policy: JSON) -> Call:
    """``UpdateAssumeRolePolicy``: CloudTrail records the new trust policy as a JSON string."""
    return _iam(
        "UpdateAssumeRolePolicy",
        False,
        {"roleName": role.name, "policyDocument": json.dumps(policy, separators=(",", ":"))},
    )
