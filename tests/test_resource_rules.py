"""The rule tables' ARN forms: every type builds ARNs it reads back, and real ARN forms give their names.

Each pick of :data:`~forensics.resource_rules.SERVICES` is run on a realistic record, through
the extraction engine, in ``test_resources.py`` (``CASES``, with a test that every pick has one).
"""

from __future__ import annotations

import pytest
from cloudtrail_builders import ACCOUNT

from forensics import resource_rules, resources
from forensics.resource_rules import RESOURCE_TYPES, name_from_arn

R = "us-east-1"


def test_every_type_builds_arns_it_can_read_back():
    for rtype, spec in RESOURCE_TYPES.items():
        built = spec.arn.format(partition="aws", region=R, account=ACCOUNT, name="sample-name")
        assert name_from_arn(built, rtype) == "sample-name", rtype


@pytest.mark.parametrize(
    ("arn_", "rtype", "name"),
    [
        (f"arn:aws:autoscaling:{R}:{ACCOUNT}:autoScalingGroup:6d5af669-eb3b-4530-894b-e314a667f2e7:autoScalingGroupName/web-asg",
         "AWS::AutoScaling::AutoScalingGroup", "web-asg"),
        (f"arn:aws:logs:{R}:{ACCOUNT}:log-group:/aws/lambda/resize:*", "AWS::Logs::LogGroup", "/aws/lambda/resize"),
        (f"arn:aws:lambda:{R}:{ACCOUNT}:function:resize:$LATEST", "AWS::Lambda::Function", "resize"),
        (f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123456789abcdef", "AWS::IAM::Role",
         "AWSReservedSSO_Admin_0123456789abcdef"),
        ("arn:aws:s3:::acme-data/a/b.csv", "AWS::S3::Object", "acme-data/a/b.csv"),
        (f"arn:aws:iam::{ACCOUNT}:accesskey/AKIAEXAMPLE000000001", "AWS::IAM::AccessKey", "AKIAEXAMPLE000000001"),
    ],
)  # fmt: skip
def test_names_read_from_real_arn_forms(arn_, rtype, name):
    assert name_from_arn(arn_, rtype) == name
    assert name_from_arn(arn_) == name


def test_the_rules_stay_importable_from_forensics_resources() -> None:
    """Code and notebooks import them from forensics.resources, where they were defined."""
    moved = ("LISTED_SERVICES", "RESOURCE_TYPES", "SERVICES", "Pick", "ResourceType", "arn_fields", "name_from_arn",
             "partition_of", "type_of_arn")
    assert [name for name in moved if getattr(resources, name) is not getattr(resource_rules, name)] == []
