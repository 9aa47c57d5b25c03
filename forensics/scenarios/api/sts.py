"""STS calls: ``GetCallerIdentity`` and the ``AssumeRole`` family.

``responseElements.credentials.accessKeyId`` is the session's key, so later calls of the
session can be tied back to the call that created it.
"""

from __future__ import annotations

from datetime import timedelta

from forensics.scenarios.api.call import Call
from forensics.scenarios.identities import JSON, Role, RoleSession
from forensics.scenarios.ids import Ids
from forensics.scenarios.times import console_date


def _role_resource(role: Role) -> tuple[JSON, ...]:
    return ({"accountId": role.account, "type": "AWS::IAM::Role", "ARN": role.arn},)


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


def assume_role(session: RoleSession, token: str, duration: int | None = 3600) -> Call:
    """``AssumeRole`` that created ``session`` (its name, key and creation time).

    ``duration=None``: the caller did not ask for a duration (AWS services); one hour applies.
    """
    request: JSON = {"roleArn": session.role.arn, "roleSessionName": session.name}
    if duration is not None:
        request["durationSeconds"] = duration
    return Call(
        "sts.amazonaws.com",
        "AssumeRole",
        True,
        request=request,
        response={
            "credentials": _credentials(session, token, duration or 3600),
            "assumedRoleUser": _assumed_role_user(session),
        },
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
        resources=(
            *_role_resource(session.role),
            {"accountId": session.role.account, "type": "AWS::IAM::SAMLProvider", "ARN": provider_arn},
        ),
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
