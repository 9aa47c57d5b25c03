"""userIdentity elements per identity type, and deterministic identifiers."""

from __future__ import annotations

import random
import re

from forensics.scenarios.identities import (
    AWSAccount,
    AWSService,
    ConsoleUser,
    IAMUser,
    Role,
    RoleSession,
    Root,
    SAMLUser,
    WebIdentityUser,
)
from forensics.scenarios.ids import Ids
from forensics.scenarios.times import utc

ACCT = "012345678901"
CREATED = utc("2024-03-12T09:15:00Z")
USER = IAMUser(ACCT, "bob.dev", "AIDAEXAMPLEBOBEXAMPLE", "AKIAEXAMPLEBOB000001")
ROLE = Role(ACCT, "DataPipelineRole", "AROAEXAMPLEROLEEXAMPL")


def test_iam_user_with_long_term_key() -> None:
    assert USER.user_identity() == {
        "type": "IAMUser",
        "principalId": "AIDAEXAMPLEBOBEXAMPLE",
        "arn": "arn:aws:iam::012345678901:user/bob.dev",
        "accountId": "012345678901",
        "accessKeyId": "AKIAEXAMPLEBOB000001",
        "userName": "bob.dev",
    }


def test_iam_user_signing_in_has_no_access_key() -> None:
    assert "accessKeyId" not in USER.with_key("").user_identity()


def test_console_user_has_empty_issuer_and_string_mfa_flag() -> None:
    identity = ConsoleUser(USER, "ASIAEXAMPLEBOB000001", CREATED, True).user_identity()
    assert identity["accessKeyId"] == "ASIAEXAMPLEBOB000001"
    assert identity["sessionContext"] == {
        "sessionIssuer": {},
        "webIdFederationData": {},
        "attributes": {"creationDate": "2024-03-12T09:15:00Z", "mfaAuthenticated": "true"},
    }


def test_role_session_names_its_issuer() -> None:
    session = RoleSession(ROLE, "export-backfill", "ASIAEXAMPLESESSION01", CREATED)
    assert session.user_identity() == {
        "type": "AssumedRole",
        "principalId": "AROAEXAMPLEROLEEXAMPL:export-backfill",
        "arn": "arn:aws:sts::012345678901:assumed-role/DataPipelineRole/export-backfill",
        "accountId": "012345678901",
        "accessKeyId": "ASIAEXAMPLESESSION01",
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": "AROAEXAMPLEROLEEXAMPL",
                "arn": "arn:aws:iam::012345678901:role/DataPipelineRole",
                "accountId": "012345678901",
                "userName": "DataPipelineRole",
            },
            "webIdFederationData": {},
            "attributes": {"creationDate": "2024-03-12T09:15:00Z", "mfaAuthenticated": "false"},
        },
    }


def test_role_path_is_in_the_role_arn_but_not_the_session_arn() -> None:
    role = Role(
        ACCT, "AWSServiceRoleForAutoScaling", "AROAEXAMPLEAUTOSCALE", "/aws-service-role/autoscaling.amazonaws.com/"
    )
    session = RoleSession(role, "AutoScaling", "ASIAEXAMPLEASG000001", CREATED).invoked("autoscaling.amazonaws.com")
    identity = session.user_identity()
    assert identity["arn"] == "arn:aws:sts::012345678901:assumed-role/AWSServiceRoleForAutoScaling/AutoScaling"
    assert identity["sessionContext"]["sessionIssuer"]["arn"] == (
        "arn:aws:iam::012345678901:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
    )
    assert identity["invokedBy"] == "autoscaling.amazonaws.com"


def test_instance_profile_session_carries_ec2_role_delivery() -> None:
    session = RoleSession(ROLE, "i-0abc", "ASIAEXAMPLEEC2000001", CREATED, ec2_role_delivery="2.0")
    assert session.user_identity()["sessionContext"]["ec2RoleDelivery"] == "2.0"


def test_other_identity_types() -> None:
    assert Root(ACCT).user_identity() == {
        "type": "Root",
        "principalId": ACCT,
        "arn": "arn:aws:iam::012345678901:root",
        "accountId": ACCT,
        "accessKeyId": "",
    }
    assert (
        Root(ACCT, "ASIAROOT", CREATED, True).user_identity()["sessionContext"]["attributes"]["mfaAuthenticated"]
        == "true"
    )
    assert AWSService("lambda.amazonaws.com").user_identity() == {
        "type": "AWSService",
        "invokedBy": "lambda.amazonaws.com",
    }
    assert AWSAccount("210987654321", "AROAX:prowler").user_identity() == {
        "type": "AWSAccount",
        "principalId": "AROAX:prowler",
        "accountId": "210987654321",
    }
    assert SAMLUser("dave@acme.example", "abc=").user_identity() == {
        "type": "SAMLUser",
        "principalId": "abc=:dave@acme.example",
        "userName": "dave@acme.example",
        "identityProvider": "abc=",
    }
    oidc = WebIdentityUser(
        "token.actions.githubusercontent.com", "sts.amazonaws.com", "repo:acme/checkout:ref:refs/heads/main"
    )
    assert (
        oidc.user_identity()["principalId"]
        == "token.actions.githubusercontent.com:sts.amazonaws.com:repo:acme/checkout:ref:refs/heads/main"
    )


def test_ids_are_deterministic_and_well_formed() -> None:
    a, b, c = (Ids(random.Random(seed)) for seed in (1, 1, 2))
    first = [a.uuid(), a.key_id("AKIA"), a.principal_id("AROA"), a.request_id("s3.amazonaws.com"), a.alnum(16)]
    assert first == [b.uuid(), b.key_id("AKIA"), b.principal_id("AROA"), b.request_id("s3.amazonaws.com"), b.alnum(16)]
    assert first[0] != c.uuid()
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", first[0])
    assert re.fullmatch(r"AKIA[A-Z2-7]{16}", first[1])
    assert re.fullmatch(r"AROA[A-Z2-7]{17}", first[2])
    assert re.fullmatch(r"[0-9A-F]{16}", first[3])
    assert re.fullmatch(r"[A-Za-z0-9]{16}", first[4])
