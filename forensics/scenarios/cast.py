"""The company every scenario plays in: its accounts, people, roles and resources.

"Acme" runs a checkout service in ``eu-west-1`` (Lambda ``checkout-handler`` in front of the
RDS instance ``orders-db``), exports customer data nightly to ``acme-customer-exports``, runs
a small web fleet in ``us-east-1``, and lets a security account (``210987654321``) scan it.
The names are fixed so that exercises and reports can talk about them; every identifier (user
IDs, access keys, resource IDs) comes from the seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from forensics.scenarios.api.rds import DBInstance
from forensics.scenarios.identities import IAMUser, Role
from forensics.scenarios.ids import Ids

ACCOUNT = "012345678901"
SECURITY_ACCOUNT = "210987654321"
HOME_REGION = "eu-west-1"
FLEET_REGION = "us-east-1"

#: Office and VPN addresses (RFC 5737 TEST-NET-1) and CI runners (RFC 2544 benchmarking range).
OFFICE_IPS = ("192.0.2.14", "192.0.2.37", "192.0.2.52", "192.0.2.88")
CI_IPS = ("198.18.20.7", "198.18.20.41", "198.18.21.12")
SCANNER_IP = "198.18.90.5"

BROWSER = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/122.0.0.0 Safari/537.36"
)
BROWSER_WIN = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:123.0) Gecko/20100101 Firefox/123.0"
CONSOLE = "AWS Internal"
#: aws-cli v2 names the command in its user agent; ``{command}`` is filled per call.
OFFICE_CLI = "aws-cli/2.15.30 Python/3.11.8 Darwin/23.3.0 exe/x86_64 prompt/off command/{command}"
CI_CLI = "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0-1016-azure exe/x86_64.ubuntu.22 prompt/off command/{command}"
PIPELINE_SDK = (
    "Boto3/1.34.60 md/Botocore#1.34.60 ua/2.0 os/linux#5.10.209-198.858.amzn2.x86_64 md/arch#x86_64 "
    "lang/python#3.12.2 md/pyimpl#CPython exec-env#AWS_ECS_FARGATE cfg/retry-mode#standard Botocore/1.34.60"
)
SCANNER_SDK = (
    "Boto3/1.34.55 md/Botocore#1.34.55 ua/2.0 os/linux#5.10.210-220.855.amzn2.x86_64 md/arch#x86_64 "
    "lang/python#3.11.8 md/pyimpl#CPython exec-env#AWS_Lambda_python3.11 cfg/retry-mode#standard "
    "Botocore/1.34.55 prowler/3.15.0"
)
SSM_AGENT = "aws-sdk-go/1.50.20 (go1.21.6; linux; amd64) amazon-ssm-agent/3.3.131.0"
GITHUB_CREDENTIALS_ACTION = (
    "aws-sdk-js/3.535.0 ua/2.0 os/linux#6.5.0-1016-azure lang/js md/nodejs#20.11.1 api/sts#3.535.0 "
    "configure-aws-credentials-for-github-actions"
)
SSO_PORTAL = (
    "aws-internal/3 aws-sdk-java/1.12.669 Linux/5.10.210 OpenJDK_64-Bit_Server_VM/25.402-b08 java/1.8.0_402 "
    "vendor/Oracle_Corporation cfg/retry-mode/standard"
)


@dataclass(frozen=True)
class Instance:
    """An EC2 instance of the web fleet."""

    instance_id: str
    private_ip: str
    zone: str


@dataclass(frozen=True)
class Cast:
    """Everyone and everything in the account.

    Attributes are grouped by kind: IAM users (``jane``, ``bob``, ``ci_deploy``), roles, then
    resources. ``exports`` lists the objects already in the customer-exports bucket.
    """

    account: str
    security_account: str
    start: datetime
    end: datetime
    # IAM users
    jane: IAMUser
    bob: IAMUser
    ci_deploy: IAMUser
    # roles
    pipeline_role: Role
    audit_role: Role
    github_role: Role
    checkout_role: Role
    autoscaling_role: Role
    fleet_role: Role
    sso_admin_role: Role
    sso_readonly_role: Role
    saml_provider_arn: str
    oidc_provider_arn: str
    sso_issuer_hash: str
    # resources
    exports_bucket: str
    artifacts_bucket: str
    trail_bucket: str
    exports_key_arn: str
    bucket_owner_id: str
    trail_arn: str
    checkout_function_arn: str
    report_function_arn: str
    orders_db: DBInstance
    staging_db: DBInstance
    fleet: tuple[Instance, ...]
    exports: tuple[tuple[str, int], ...]
    alerts_topic_arn: str

    @property
    def checkout_function(self) -> str:
        return self.checkout_function_arn.rsplit(":", 1)[1]


def make_cast(ids: Ids, start: datetime, end: datetime) -> Cast:
    """Draw the company's identifiers from ``ids`` for a data window ``[start, end)``."""
    acct = ACCOUNT

    def user(name: str) -> IAMUser:
        return IAMUser(acct, name, ids.principal_id("AIDA"), ids.key_id("AKIA"))

    def role(name: str, path: str = "/") -> Role:
        return Role(acct, name, ids.principal_id("AROA"), path)

    def db_resource_id() -> str:
        return "db-" + (ids.key_id("") + ids.key_id(""))[:26]

    sso_path = f"/aws-reserved/sso.amazonaws.com/{HOME_REGION}/"
    rng = ids.rng
    day = start.date()
    exports = tuple(
        (f"exports/{day:%Y/%m}/{d:02d}/customers-{part:04d}.csv.gz", rng.randrange(8_000_000, 40_000_000))
        for d in range(max(1, day.day - 6), day.day)
        for part in range(rng.randrange(18, 30))
    )
    fleet = tuple(
        Instance(f"i-0{ids.hex(16)}", f"10.0.{rng.randrange(1, 60)}.{rng.randrange(4, 250)}", f"{FLEET_REGION}{zone}")
        for zone in "abc"
    )
    return Cast(
        account=acct,
        security_account=SECURITY_ACCOUNT,
        start=start,
        end=end,
        jane=user("jane.admin"),
        bob=user("bob.dev"),
        ci_deploy=user("ci-deploy"),
        pipeline_role=role("DataPipelineRole"),
        audit_role=role("SecurityAuditRole"),
        github_role=role("github-actions-deploy"),
        checkout_role=role("checkout-handler-role", "/service-role/"),
        autoscaling_role=role("AWSServiceRoleForAutoScaling", "/aws-service-role/autoscaling.amazonaws.com/"),
        fleet_role=role("web-fleet-role"),
        sso_admin_role=role(f"AWSReservedSSO_AdministratorAccess_{ids.hex(16)}", sso_path),
        sso_readonly_role=role(f"AWSReservedSSO_ReadOnlyAccess_{ids.hex(16)}", sso_path),
        saml_provider_arn=f"arn:aws:iam::{acct}:saml-provider/AWSSSO_{ids.hex(16)}_DO_NOT_DELETE",
        oidc_provider_arn=f"arn:aws:iam::{acct}:oidc-provider/token.actions.githubusercontent.com",
        sso_issuer_hash=ids.base64(27) + "=",
        exports_bucket="acme-customer-exports",
        artifacts_bucket="acme-build-artifacts",
        trail_bucket="acme-cloudtrail-logs",
        exports_key_arn=f"arn:aws:kms:{HOME_REGION}:{acct}:key/{ids.uuid()}",
        bucket_owner_id=ids.hex(64),
        trail_arn=f"arn:aws:cloudtrail:{FLEET_REGION}:{acct}:trail/acme-org-trail",
        checkout_function_arn=f"arn:aws:lambda:{HOME_REGION}:{acct}:function:checkout-handler",
        report_function_arn=f"arn:aws:lambda:{HOME_REGION}:{acct}:function:report-generator",
        orders_db=DBInstance(acct, HOME_REGION, "orders-db", db_resource_id()),
        staging_db=DBInstance(acct, HOME_REGION, "staging-db", db_resource_id(), instance_class="db.t4g.medium"),
        fleet=fleet,
        exports=exports,
        alerts_topic_arn=f"arn:aws:sns:{HOME_REGION}:{acct}:ops-alerts",
    )
