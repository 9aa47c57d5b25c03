"""A folder laid out like a clone of SigmaHQ's rules, with supported and unsupported rules.

The folder ``sigmahq_like`` (written for this test) mixes CloudTrail rules the evaluator
runs (nested JSON paths, ``exists``, ``cidr``, ``re|i``, ``1 of``, a ``.yaml`` file, a
sub-folder, a rule without ``id``) with rules it must refuse with a reason (keywords,
``windash``, a field the frame lacks, the old pipe aggregation, a ``value_count``
correlation, a misspelt modifier, broken YAML, a Windows rule).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
from detect_records import ct, identity

from forensics.detect import detect

FOLDER = Path(__file__).with_name("sigmahq_like")
BOTO3 = "Boto3/1.34.70 md/Botocore#1.34.70 ua/2.0 os/linux#6.5.0 md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.70"
SNAPSHOT = {"snapshotId": "snap-0b5e1a2c3d4e5f6a7", "attributeType": "CREATE_VOLUME_PERMISSION"}

RECORDS = [
    ct("CreateUser", "iam.amazonaws.com", who=identity("Root"), eventID="root-creates-user", requestParameters={"userName": "svc"}),
    ct("CreateUser", "iam.amazonaws.com", eventID="user-creates-user", requestParameters={"userName": "svc2"}),
    ct("ModifySnapshotAttribute", "ec2.amazonaws.com", eventID="snapshot-shared",
       requestParameters={**SNAPSHOT, "createVolumePermission": {"add": {"items": [{"userId": "444455556666"}]}}}),
    ct("ModifySnapshotAttribute", "ec2.amazonaws.com", eventID="snapshot-unshared",
       requestParameters={**SNAPSHOT, "createVolumePermission": {"remove": {"items": [{"userId": "444455556666"}]}}}),
    ct("AssumeRole", "sts.amazonaws.com", eventID="assume-outside", sourceIPAddress="203.0.113.5",
       requestParameters={"roleArn": "arn:aws:iam::111122223333:role/admin", "roleSessionName": "x"}),
    ct("AssumeRole", "sts.amazonaws.com", eventID="assume-inside", sourceIPAddress="10.20.30.40",
       requestParameters={"roleArn": "arn:aws:iam::111122223333:role/admin", "roleSessionName": "y"}),
    ct("AssumeRole", "sts.amazonaws.com", eventID="assume-by-service", sourceIPAddress="ec2.amazonaws.com",
       who=identity("AWSService", "ec2.amazonaws.com")),
    ct("ListSecrets", "secretsmanager.amazonaws.com", eventID="list-secrets-boto", readOnly=True, userAgent=BOTO3),
    ct("ListBuckets", "s3.amazonaws.com", eventID="list-buckets-console", readOnly=True, userAgent="AWS Internal"),
    ct("DeleteBucket", "s3.amazonaws.com", eventID="delete-bucket", requestParameters={"bucketName": "old-logs"}),
]  # fmt: skip

FINDINGS = {
    ("IAM User Created By The Root Account", "root-creates-user"),
    ("EBS Snapshot Shared With Another Account", "snapshot-shared"),
    ("Role Assumed From Outside The Corporate Network", "assume-outside"),
    ("Secrets Or Buckets Enumerated With A Scripted Client", "list-secrets-boto"),
    ("Bucket Deleted", "delete-bucket"),
}

SKIPPED = {
    ("Typo In Modifier", "cloudtrail/aws_bad_modifier.yml", "Unknown modifier 'contians'"),
    ("Keyword Search For Stratus", "cloudtrail/aws_keywords_only.yml", "keyword detection (a value without a field) is not supported"),
    ("Many Console Logins (old aggregation syntax)", "cloudtrail/aws_old_aggregation.yml",
     "condition 'selection | count() by sourceIPAddress > 5' cannot be resolved: The pipe syntax in Sigma conditions has been "
     "deprecated and replaced by Sigma correlations. pySigma doesn't supports this syntax."),
    ("Session Issued By The Admin Role", "cloudtrail/aws_session_issuer_name.yml",
     "field 'userIdentity.sessionContext.sessionIssuer.userName' is not a column of the events frame nor a path inside its JSON columns"),
    ("CLI Flag In User Agent", "cloudtrail/aws_windash_user_agent.yml", "modifier 'windash' is not supported"),
    ("Whoami Executed", "windows/proc_creation_win_whoami.yml",
     "logsource is {product: windows, category: process_creation}; only product: aws, service: cloudtrail applies"),
    ("Logins From Many Addresses", "cloudtrail/aws_value_count_correlation.yml", "correlation type 'value_count' is not supported (only event_count)"),
}  # fmt: skip


def test_sigmahq_like_folder_gives_exact_matches_and_exact_skips(frame: Callable[[list[dict]], pd.DataFrame]) -> None:
    result = detect(frame(RECORDS), FOLDER)

    assert set(zip(result.findings["title"], result.findings["eventID"], strict=True)) == FINDINGS
    assert len(result.findings) == len(FINDINGS)

    skipped = result.skipped.assign(path=result.skipped["path"].map(lambda p: Path(p).relative_to(FOLDER).as_posix()))
    broken = skipped[skipped["path"] == "cloudtrail/aws_broken_yaml.yml"]
    assert len(broken) == 1 and broken["title"].isna().all()
    assert broken["reason"].iloc[0].startswith("cannot read rule file: ParserError: while parsing a flow sequence")
    rest = skipped.drop(broken.index)
    assert set(zip(rest["title"], rest["path"], rest["reason"], strict=True)) == SKIPPED
    assert len(rest) == len(SKIPPED)

    # every file is accounted for: it ran, or it is in the skip list
    ran = {Path(p).relative_to(FOLDER).as_posix() for p in result.rules["path"]}
    assert ran | set(skipped["path"]) == {p.relative_to(FOLDER).as_posix() for p in FOLDER.rglob("*.y*ml")}


def test_rule_without_id_gets_a_stable_derived_id(frame: Callable[[list[dict]], pd.DataFrame]) -> None:
    events = frame(RECORDS)
    first = detect(events, FOLDER / "cloudtrail" / "aws_no_id_rule.yml")
    again = detect(events, [FOLDER / "cloudtrail" / "aws_no_id_rule.yml"])
    assert first.rules["rule_id"].tolist() == again.rules["rule_id"].tolist()
    assert first.findings["rule_id"].tolist() == first.rules["rule_id"].tolist()


def test_a_skipped_correlation_does_not_silence_the_rule_it_reads(frame: Callable[[list[dict]], pd.DataFrame]) -> None:
    # aws_value_count_correlation.yml reads the root-created-user rule without generate: true;
    # it cannot run, so the root rule must still report its match.
    paths = [FOLDER / "cloudtrail" / "iam", FOLDER / "cloudtrail" / "aws_value_count_correlation.yml"]
    result = detect(frame(RECORDS), paths)
    assert result.findings["eventID"].tolist() == ["root-creates-user"]
    assert result.skipped["title"].tolist() == ["Logins From Many Addresses"]
