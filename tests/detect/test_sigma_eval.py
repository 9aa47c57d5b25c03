"""Every Sigma modifier and condition form, on real-shaped CloudTrail records.

Each case is a detection block; the rule around it is the same. The expected value is
the exact set of matching eventIDs, or the exact reason the rule is skipped.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from detect_records import ct, identity, load_records
from sigma.collection import SigmaCollection

from forensics.detect import detect
from forensics.sigma_compile import compile_rule
from forensics.sigma_eval import Evaluator

RULE = """\
title: case
id: 00000000-0000-4000-8000-000000000001
status: test
logsource:
  product: aws
  service: cloudtrail
detection:
{detection}
level: low
"""

RECORDS = [
    ct("CreateUser", "iam.amazonaws.com", eventID="create-user", sourceIPAddress="203.0.113.9",
       userAgent="aws-cli/2.15.30 Python/3.11.8 Linux/6.6.9-amd64 exe/x86_64.kali.2024",
       requestParameters={"userName": "Mallory-Admin", "tags": [{"key": "team", "value": "red"}]}),
    ct("AttachUserPolicy", "iam.amazonaws.com", eventID="attach-admin", sourceIPAddress="10.1.2.3",
       who=identity("AssumedRole", "deployer"),
       requestParameters={"userName": "mallory-admin", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
    ct("AuthorizeSecurityGroupIngress", "ec2.amazonaws.com", eventID="sg-open", sourceIPAddress="2001:db8::17",
       requestParameters={"groupId": "sg-0a1b2c", "ipPermissions": {"items": [
           {"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}},
           {"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "ipRanges": {"items": [{"cidrIp": "10.0.0.0/8"}]}},
       ]}}),
    ct("GetObject", "s3.amazonaws.com", eventID="get-object-denied", sourceIPAddress="s3.amazonaws.com",
       errorCode="AccessDenied", errorMessage="Access Denied", readOnly=True, eventCategory="Data",
       requestParameters={"bucketName": "evidence", "key": "a/b.txt"}),
    ct("PutFunctionConcurrency20171031", "lambda.amazonaws.com", eventID="lambda-zero", sourceIPAddress="198.51.100.7",
       requestParameters={"functionName": "guard", "reservedConcurrentExecutions": 0}),
    ct("UpdateDetector", "guardduty.amazonaws.com", eventID="detector-off", sourceIPAddress="198.51.100.7",
       requestParameters={"detectorId": "12abc34d", "enable": False, "findingPublishingFrequency": None}),
    ct("Decrypt", "kms.amazonaws.com", eventID="service-call", sourceIPAddress="cloudtrail.amazonaws.com",
       who=identity("AWSService", "cloudtrail.amazonaws.com"), readOnly=True,
       requestParameters={"encryptionContext": {"aws:cloudtrail:arn": "arn:aws:cloudtrail:us-east-1:111122223333:trail/main"}}),
    ct("ConsoleLogin", "signin.amazonaws.com", eventID="console-login", sourceIPAddress="203.0.113.200",
       who=identity("Root"), eventType="AwsConsoleSignIn",
       responseElements={"ConsoleLogin": "Success"}, additionalEventData={"MFAUsed": "No", "LoginTo": "https://console.aws.amazon.com/"}),
    ct("CreateAccessKey", "iam.amazonaws.com", eventID="self-key", sourceIPAddress="198.51.100.7",
       requestParameters={"userName": "Alice"}),
    ct("CreateAccessKey", "iam.amazonaws.com", eventID="other-key", sourceIPAddress="198.51.100.7",
       requestParameters={"userName": "bob"}),
]  # fmt: skip
ALL = {r["eventID"] for r in RECORDS}


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    return load_records(RECORDS, tmp_path_factory.mktemp("events"))


@pytest.fixture
def run(events: pd.DataFrame, tmp_path: Path) -> Callable[[str], set[str] | str]:
    """Run one detection block; return the matched eventIDs, or the skip reason."""

    def _run(detection: str) -> set[str] | str:
        path = tmp_path / "rule.yml"
        path.write_text(RULE.format(detection=textwrap.indent(textwrap.dedent(detection).strip(), "  ")), encoding="utf-8")
        result = detect(events, path)
        if len(result.skipped):
            assert len(result.skipped) == 1 and result.findings.empty
            return str(result.skipped["reason"].iloc[0])
        return set(result.findings["eventID"])

    return _run


MODIFIERS = {
    "plain value is case-insensitive": ("sel: {eventName: createuser}\ncondition: sel", {"create-user"}),
    "value list is OR": ("sel: {eventName: [CreateUser, UpdateDetector]}\ncondition: sel", {"create-user", "detector-off"}),
    "cased, wrong case": ("sel: {eventName|cased: createuser}\ncondition: sel", set()),
    "cased, right case": ("sel: {eventName|cased: CreateUser}\ncondition: sel", {"create-user"}),
    "contains": ("sel: {userAgent|contains: KALI}\ncondition: sel", {"create-user"}),
    "startswith": ("sel: {eventName|startswith: put}\ncondition: sel", {"lambda-zero"}),
    "endswith on a JSON path": ("sel: {requestParameters.policyArn|endswith: /administratoraccess}\ncondition: sel", {"attach-admin"}),
    "wildcard *": ("sel: {eventName: 'Authorize*Ingress'}\ncondition: sel", {"sg-open"}),
    "wildcard ?": ("sel: {eventName: 'get?bject'}\ncondition: sel", {"get-object-denied"}),
    "wildcard in a JSON value": ("sel: {requestParameters.key: 'a/*'}\ncondition: sel", {"get-object-denied"}),
    "escaped wildcard is literal": ("sel: {requestParameters.key: 'a/\\*'}\ncondition: sel", set()),
    "all: every value must match": ("sel: {requestParameters.userName|contains|all: [mallory, admin]}\ncondition: sel", {"create-user", "attach-admin"}),
    "all: one value missing": ("sel: {requestParameters.userName|contains|all: [mallory, root]}\ncondition: sel", set()),
    "re is case-sensitive": ("sel: {requestParameters.userName|re: '^Mallory-'}\ncondition: sel", {"create-user"}),
    "re with i flag": ("sel: {requestParameters.userName|re|i: '^Mallory-'}\ncondition: sel", {"create-user", "attach-admin"}),
    "re is unanchored": ("sel: {eventName|re: 'Concurrency'}\ncondition: sel", {"lambda-zero"}),
    "re with flags m and s": ("sel: {requestParameters|re|m|s: '^\\{.*\"enable\": false'}\ncondition: sel", {"detector-off"}),
    "cidr IPv4": ("sel: {sourceIPAddress|cidr: 203.0.113.0/24}\ncondition: sel", {"create-user", "console-login"}),
    "cidr IPv6": ("sel: {sourceIPAddress|cidr: '2001:db8::/32'}\ncondition: sel", {"sg-open"}),
    "cidr skips service names": ("sel: {sourceIPAddress|cidr: 0.0.0.0/0}\ncondition: sel",
                                 ALL - {"sg-open", "get-object-denied", "service-call"}),
    "exists on a JSON key": ("sel: {requestParameters.enable|exists: true}\ncondition: sel", {"detector-off"}),
    "exists on a JSON key holding null": ("sel: {requestParameters.findingPublishingFrequency|exists: true}\ncondition: sel", {"detector-off"}),
    "exists false on a column": ("sel: {userIdentity.invokedBy|exists: false}\ncondition: sel", ALL - {"service-call"}),
    "exists true on a column": ("sel: {errorCode|exists: true}\ncondition: sel", {"get-object-denied"}),
    "null on a column": ("sel: {errorCode: null}\ncondition: sel", ALL - {"get-object-denied"}),
    "null on a JSON column": ("sel: {requestParameters: null}\ncondition: sel", {"console-login"}),
    "null on a JSON path (missing or null)": ("sel: {requestParameters.findingPublishingFrequency: null}\ncondition: sel", ALL),
    "JSON path through lists": ("sel: {requestParameters.ipPermissions.items.ipRanges.items.cidrIp: 0.0.0.0/0}\ncondition: sel", {"sg-open"}),
    "JSON path through a list of objects": ("sel: {requestParameters.tags.value: RED}\ncondition: sel", {"create-user"}),
    "JSON key with colons": ("sel: {'requestParameters.encryptionContext.aws:cloudtrail:arn|endswith': ':trail/main'}\ncondition: sel", {"service-call"}),
    "JSON number": ("sel: {requestParameters.reservedConcurrentExecutions: 0}\ncondition: sel", {"lambda-zero"}),
    "JSON boolean": ("sel: {requestParameters.enable: false}\ncondition: sel", {"detector-off"}),
    "JSON object matched as compact text": ("sel: {requestParameters.tags|contains: '\"key\":\"team\"'}\ncondition: sel", {"create-user"}),
    "gte over list elements": ("sel: {requestParameters.ipPermissions.items.fromPort|gte: 443}\ncondition: sel", {"sg-open"}),
    "lt": ("sel: {requestParameters.ipPermissions.items.toPort|lt: 22}\ncondition: sel", set()),
    "boolean column": ("sel: {readOnly: true}\ncondition: sel", {"get-object-denied", "service-call"}),
    "neq": ("sel: {eventSource|neq: iam.amazonaws.com}\ncondition: sel", ALL - {"create-user", "attach-admin", "self-key", "other-key"}),
    "fieldref": ("sel: {requestParameters.userName|fieldref: userIdentity.userName}\ncondition: sel", {"self-key"}),
    "text column (eventID)": ("sel: {eventID|endswith: -KEY}\ncondition: sel", {"self-key", "other-key"}),
    "text column on few candidate rows": ("sel: {eventName: CreateAccessKey, eventID|startswith: self}\ncondition: sel", {"self-key"}),
    "time column as ISO text": ("sel: {eventTime|startswith: '2024-05-01T10:00'}\ncondition: sel", ALL),
    "whole JSON text column": ("sel: {requestParameters|contains: AdministratorAccess}\ncondition: sel", {"attach-admin"}),
}  # fmt: skip


@pytest.mark.parametrize("detection, expected", MODIFIERS.values(), ids=MODIFIERS.keys())
def test_modifiers(run: Callable[[str], set[str] | str], detection: str, expected: set[str]) -> None:
    assert run(detection) == expected


CONDITIONS = {
    "and not": ("""
        sel: {eventSource: iam.amazonaws.com}
        filter: {userIdentity.type: AssumedRole}
        condition: sel and not filter
        """, {"create-user", "self-key", "other-key"}),
    "or": ("""
        sel_a: {eventName: CreateUser}
        sel_b: {eventName: ConsoleLogin}
        condition: sel_a or sel_b
        """, {"create-user", "console-login"}),
    "not alone": ("""
        sel: {readOnly: false}
        condition: not sel
        """, {"get-object-denied", "service-call"}),
    "parentheses": ("""
        iam: {eventSource: iam.amazonaws.com}
        ec2: {eventSource: ec2.amazonaws.com}
        role: {userIdentity.type: AssumedRole}
        condition: (iam or ec2) and not role
        """, {"create-user", "sg-open", "self-key", "other-key"}),
    "keys of one selection are AND": ("""
        sel:
          eventSource: iam.amazonaws.com
          eventName: CreateAccessKey
        condition: sel
        """, {"self-key", "other-key"}),
    "list of maps is OR": ("""
        sel:
          - eventName: CreateUser
          - requestParameters.enable: false
        condition: sel
        """, {"create-user", "detector-off"}),
    "1 of x*": ("""
        selection_user: {eventName: CreateUser}
        selection_kms: {eventSource: kms.amazonaws.com}
        other: {eventName: GetObject}
        condition: 1 of selection_*
        """, {"create-user", "service-call"}),
    "all of x*": ("""
        selection_iam: {eventSource: iam.amazonaws.com}
        selection_key: {eventName: CreateAccessKey}
        condition: all of selection_*
        """, {"self-key", "other-key"}),
    "1 of them": ("""
        a: {eventName: CreateUser}
        b: {eventName: GetObject}
        condition: 1 of them
        """, {"create-user", "get-object-denied"}),
    "all of them": ("""
        a: {eventSource: iam.amazonaws.com}
        b: {requestParameters.userName|contains: mallory}
        condition: all of them
        """, {"create-user", "attach-admin"}),
    "not 1 of x*": ("""
        sel: {eventSource: iam.amazonaws.com}
        filter_role: {userIdentity.type: AssumedRole}
        filter_key: {eventName: CreateAccessKey}
        condition: sel and not 1 of filter_*
        """, {"create-user"}),
    "several conditions are OR": ("""
        a: {eventName: CreateUser}
        b: {eventName: Decrypt}
        condition:
          - a
          - b
        """, {"create-user", "service-call"}),
}  # fmt: skip


@pytest.mark.parametrize("detection, expected", CONDITIONS.values(), ids=CONDITIONS.keys())
def test_conditions(run: Callable[[str], set[str] | str], detection: str, expected: set[str]) -> None:
    assert run(detection) == expected


UNSUPPORTED = {
    "keywords": ("keywords: [AdministratorAccess]\ncondition: keywords", "keyword detection (a value without a field) is not supported"),
    "windash": ("sel: {userAgent|windash|contains: ' -x'}\ncondition: sel", "modifier 'windash' is not supported"),
    "base64offset": ("sel: {requestParameters|base64offset|contains: secret}\ncondition: sel", "modifier 'base64offset' is not supported"),
    "expand": ("sel: {sourceIPAddress|expand: '%office_ips%'}\ncondition: sel", "modifier 'expand' is not supported"),
    "time modifier": ("sel: {eventTime|hour: 3}\ncondition: sel", "modifier 'hour' is not supported"),
    "unknown field": ("sel: {tlsDetails.tlsVersion: TLSv1}\ncondition: sel",
                      "field 'tlsDetails.tlsVersion' is not a column of the events frame nor a path inside its JSON columns"),
    "fieldref to a JSON path": ("sel: {requestParameters.userName|fieldref: responseElements.userName}\ncondition: sel",
                                "fieldref to the nested path 'responseElements.userName' is not supported"),
    "undefined identifier": ("sel: {eventName: CreateUser}\ncondition: sel and missing",
                             "condition 'sel and missing' cannot be resolved: Detection 'missing' not defined in detections"),
}  # fmt: skip


@pytest.mark.parametrize("detection, reason", UNSUPPORTED.values(), ids=UNSUPPORTED.keys())
def test_unsupported_rules_are_skipped_with_the_reason(run: Callable[[str], set[str] | str], detection: str, reason: str) -> None:
    assert run(detection) == reason


def test_regex_outside_re2_is_skipped_with_pysigmas_reason(run: Callable[[str], set[str] | str]) -> None:
    reason = run("sel: {sourceIPAddress|re: '(?<=^203\\.)0\\.113'}\ncondition: sel")
    assert isinstance(reason, str) and reason.startswith("Regular expression '(?<=^203\\.)0\\.113' is invalid")


def _compiled(detection: str, events: pd.DataFrame):  # type: ignore[no-untyped-def]
    rule = SigmaCollection.from_yaml(RULE.format(detection=textwrap.indent(textwrap.dedent(detection).strip(), "  "))).rules[0]
    return compile_rule(rule, events.columns)


def test_json_is_parsed_only_for_rows_that_pass_cheaper_conditions(events: pd.DataFrame) -> None:
    evaluator = Evaluator(events)
    node = _compiled(
        """
        sel:
          requestParameters.userName|contains: mallory
          eventName: CreateUser
        condition: sel
        """,
        events,
    )
    assert list(events["eventID"].iloc[np.flatnonzero(evaluator.mask(node))]) == ["create-user"]
    assert evaluator.decoded == 1
    again = _compiled("sel: {requestParameters.userName: bob}\ncondition: sel", events)
    assert list(events["eventID"].iloc[np.flatnonzero(evaluator.mask(again))]) == ["other-key"]
    # every document parsed once: the create-user one is not parsed again (one row has none)
    assert evaluator.decoded == events["requestParameters"].notna().sum() == len(events) - 1


def test_a_cheap_and_is_tested_before_a_costly_not(events: pd.DataFrame) -> None:
    # the NOT holds a JSON path and a fieldref, the AND beside it a category column: the
    # AND must narrow the rows first, so only the two CreateAccessKey documents are parsed
    evaluator = Evaluator(events)
    node = _compiled(
        """
        selection:
          eventName: CreateAccessKey
          requestParameters.userName|exists: true
        filter_same_user:
          requestParameters.userName|fieldref: userIdentity.userName
        condition: not filter_same_user and selection
        """,
        events,
    )
    assert list(events["eventID"].iloc[np.flatnonzero(evaluator.mask(node))]) == ["other-key"]
    assert evaluator.decoded == 2


def test_unparsable_json_is_reported_not_silently_unmatched(events: pd.DataFrame, tmp_path: Path) -> None:
    damaged = events.copy()
    row = int(np.flatnonzero(damaged["eventID"] == "other-key")[0])
    truncated = '{"userName": "bob"'  # truncated JSON text
    damaged["requestParameters"] = damaged["requestParameters"].cat.add_categories([truncated])
    damaged.loc[row, "requestParameters"] = truncated
    path = tmp_path / "rule.yml"
    path.write_text(RULE.format(detection="  sel: {requestParameters.userName: bob}\n  condition: sel"), encoding="utf-8")
    result = detect(damaged, path)
    assert result.findings.empty
    assert result.unreadable[["column", "row", "eventID"]].to_dict("records") == [
        {"column": "requestParameters", "row": row, "eventID": "other-key"}
    ]
    assert result.unreadable["error"].iloc[0] != ""
