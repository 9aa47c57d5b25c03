"""Principals and the ``userIdentity`` element CloudTrail writes for each of them.

One frozen dataclass per identity type (see the CloudTrail userIdentity reference). Each has
``user_identity()`` returning the element with CloudTrail's key order and quirks: ``mfaAuthenticated``
is the *string* ``"true"``/``"false"``, an IAM user's console session carries an empty
``sessionIssuer``, a role session's ``principalId`` is ``<role id>:<session name>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from forensics.scenarios.times import iso

JSON = dict[str, Any]


class Principal(Protocol):
    """Anything that can appear as a record's ``userIdentity``."""

    def user_identity(self) -> JSON:
        """The ``userIdentity`` element of a record made by this principal."""
        ...


def _attributes(created: datetime, mfa: bool) -> JSON:
    return {"creationDate": iso(created), "mfaAuthenticated": "true" if mfa else "false"}


@dataclass(frozen=True)
class IAMUser:
    """An IAM user signing requests with one of its long-term access keys (``AKIA...``)."""

    account: str
    name: str
    user_id: str
    access_key_id: str

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::{self.account}:user/{self.name}"

    def with_key(self, access_key_id: str) -> IAMUser:
        """The same user signing with another access key."""
        return IAMUser(self.account, self.name, self.user_id, access_key_id)

    def user_identity(self) -> JSON:
        element: JSON = {"type": "IAMUser", "principalId": self.user_id, "arn": self.arn, "accountId": self.account}
        if self.access_key_id:  # ConsoleLogin records carry no access key
            element["accessKeyId"] = self.access_key_id
        element["userName"] = self.name
        return element


@dataclass(frozen=True)
class ConsoleUser:
    """An IAM user signed in to the console: temporary ``ASIA...`` credentials and a session context."""

    user: IAMUser
    access_key_id: str
    created: datetime
    mfa: bool

    @property
    def arn(self) -> str:
        return self.user.arn

    def user_identity(self) -> JSON:
        return {
            "type": "IAMUser",
            "principalId": self.user.user_id,
            "arn": self.user.arn,
            "accountId": self.user.account,
            "accessKeyId": self.access_key_id,
            "userName": self.user.name,
            "sessionContext": {
                "sessionIssuer": {},
                "webIdFederationData": {},
                "attributes": _attributes(self.created, self.mfa),
            },
        }


@dataclass(frozen=True)
class Role:
    """An IAM role (not a principal by itself: sessions of it are)."""

    account: str
    name: str
    role_id: str
    path: str = "/"

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::{self.account}:role{self.path}{self.name}"

    def session_arn(self, session_name: str) -> str:
        """ARN of a session of this role (the path is not part of it)."""
        return f"arn:aws:sts::{self.account}:assumed-role/{self.name}/{session_name}"


@dataclass(frozen=True)
class RoleSession:
    """A session of an assumed role (``AssumedRole``), with its own ``ASIA...`` access key.

    ``invoked_by`` is set when an AWS service calls on the session's behalf (for example
    ``autoscaling.amazonaws.com`` using its service-linked role, or S3 calling KMS).
    ``ec2_role_delivery`` (``"2.0"`` for IMDSv2) marks credentials of an EC2 instance profile.
    """

    role: Role
    name: str
    access_key_id: str
    created: datetime
    mfa: bool = False
    invoked_by: str | None = None
    ec2_role_delivery: str | None = None

    @property
    def arn(self) -> str:
        return self.role.session_arn(self.name)

    @property
    def principal_id(self) -> str:
        return f"{self.role.role_id}:{self.name}"

    def invoked(self, service: str) -> RoleSession:
        """The same session as seen when ``service`` calls on its behalf."""
        return RoleSession(
            self.role, self.name, self.access_key_id, self.created, self.mfa, service, self.ec2_role_delivery
        )

    def user_identity(self) -> JSON:
        element: JSON = {
            "type": "AssumedRole",
            "principalId": self.principal_id,
            "arn": self.arn,
            "accountId": self.role.account,
            "accessKeyId": self.access_key_id,
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": self.role.role_id,
                    "arn": self.role.arn,
                    "accountId": self.role.account,
                    "userName": self.role.name,
                },
                "webIdFederationData": {},
                "attributes": _attributes(self.created, self.mfa),
            },
        }
        if self.ec2_role_delivery:
            element["sessionContext"]["ec2RoleDelivery"] = self.ec2_role_delivery
        if self.invoked_by:
            element["invokedBy"] = self.invoked_by
        return element


@dataclass(frozen=True)
class Root:
    """The account's root user, here signed in to the console (``created`` is the sign-in)."""

    account: str
    access_key_id: str = ""
    created: datetime | None = None
    mfa: bool = False

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::{self.account}:root"

    def user_identity(self) -> JSON:
        element: JSON = {
            "type": "Root",
            "principalId": self.account,
            "arn": self.arn,
            "accountId": self.account,
            "accessKeyId": self.access_key_id,
        }
        if self.created is not None:
            element["sessionContext"] = {
                "sessionIssuer": {},
                "webIdFederationData": {},
                "attributes": _attributes(self.created, self.mfa),
            }
        return element


@dataclass(frozen=True)
class AWSService:
    """An AWS service acting by itself (for example Lambda assuming a function's role)."""

    service: str

    def user_identity(self) -> JSON:
        return {"type": "AWSService", "invokedBy": self.service}


@dataclass(frozen=True)
class AWSAccount:
    """A principal of another account, as the receiving account sees it (cross-account calls)."""

    account: str
    principal_id: str

    def user_identity(self) -> JSON:
        return {"type": "AWSAccount", "principalId": self.principal_id, "accountId": self.account}


@dataclass(frozen=True)
class SAMLUser:
    """A federated user calling ``AssumeRoleWithSAML`` (IAM Identity Center sign-in)."""

    name: str
    issuer_hash: str

    def user_identity(self) -> JSON:
        return {
            "type": "SAMLUser",
            "principalId": f"{self.issuer_hash}:{self.name}",
            "userName": self.name,
            "identityProvider": self.issuer_hash,
        }


@dataclass(frozen=True)
class WebIdentityUser:
    """An OIDC identity calling ``AssumeRoleWithWebIdentity`` (for example a CI job)."""

    provider: str
    audience: str
    subject: str

    def user_identity(self) -> JSON:
        return {
            "type": "WebIdentityUser",
            "principalId": f"{self.provider}:{self.audience}:{self.subject}",
            "userName": self.subject,
            "identityProvider": self.provider,
        }
