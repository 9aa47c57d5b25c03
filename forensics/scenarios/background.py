"""Benign background activity: the account's ordinary working day.

People work office hours (``jane.admin`` in the console, ``bob.dev`` with the CLI, an SSO
administrator and an SSO read-only analyst, the root user checking the bill once), a GitHub
Actions role deploys ``checkout-handler``, an ECS pipeline writes customer exports, a security
account scans every half hour, the web fleet's SSM agents check in, Auto Scaling adds and
removes instances, Lambda and EC2 assume their roles, CloudTrail checks its bucket. Some calls
fail with ``AccessDenied`` for ordinary reasons, and a few actions look like the attacks of the
scenarios without being them (an SSO admin stops ``staging-db`` and caps ``report-generator``).

Every activity draws from its own RNG stream, so changing one does not reshuffle the others.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from forensics.scenarios.answerkey import event_entry
from forensics.scenarios.api import (
    Call,
    Error,
    access_denied,
    awslambda,
    ec2,
    iam,
    observability,
    rds,
    s3,
    sts,
)
from forensics.scenarios.cast import (
    BROWSER,
    BROWSER_WIN,
    CI_CLI,
    CI_IPS,
    CONSOLE,
    FLEET_REGION,
    GITHUB_CREDENTIALS_ACTION,
    HOME_REGION,
    OFFICE_CLI,
    OFFICE_IPS,
    PIPELINE_SDK,
    SCANNER_IP,
    SCANNER_SDK,
    SSM_AGENT,
    SSO_PORTAL,
    Cast,
)
from forensics.scenarios.identities import (
    JSON,
    AWSAccount,
    AWSService,
    ConsoleUser,
    Role,
    RoleSession,
    Root,
    SAMLUser,
    WebIdentityUser,
)
from forensics.scenarios.ids import Ids
from forensics.scenarios.records import Actor, Trail, service_actor


@dataclass(frozen=True)
class World:
    """Changes a scenario makes that the ordinary day must respect.

    Attributes
    ----------
    exports_policy
        When the customer-exports bucket has a bucket policy (scanners then find one).
    checkout_throttled
        When ``checkout-handler`` has no concurrency (Lambda starts no new environments).
    """

    exports_policy: tuple[datetime, datetime] | None = None
    checkout_throttled: tuple[datetime, datetime] | None = None

    def exports_policy_at(self, moment: datetime) -> bool:
        return self.exports_policy is not None and self.exports_policy[0] <= moment < self.exports_policy[1]


@dataclass(frozen=True)
class People:
    """The people who work in the console, so that scenarios can make them respond too.

    Attributes
    ----------
    jane_login
        When ``jane.admin`` signs in.
    jane
        ``jane.admin`` in the console (MFA, office address).
    dave
        The SSO administrator (``dave@acme.example``) in the console.
    erin
        The SSO read-only analyst (``erin@acme.example``) in the console.
    dave_session, erin_session
        Their role sessions (created by ``AssumeRoleWithSAML`` at sign-in).
    """

    jane_login: datetime
    jane: Actor
    dave: Actor
    erin: Actor
    dave_session: RoleSession
    erin_session: RoleSession


def _hour_or_start(cast: Cast, day: datetime, hour: int) -> datetime:
    """``hour`` o'clock on ``day``, or the start of the data window if that is later."""
    return max(day + timedelta(hours=hour), cast.start)


def make_people(cast: Cast, seed: int) -> People:
    """Sign-in times and sessions of the people, from their own seeded stream."""
    rng = random.Random(f"{seed}:people")
    ids = Ids(rng)
    day = cast.start.replace(hour=0, minute=0, second=0)
    login = _hour_or_start(cast, day, 8) + timedelta(seconds=rng.randrange(0, 2400))
    dave = RoleSession(
        cast.sso_admin_role,
        "dave@acme.example",
        ids.key_id("ASIA"),
        _hour_or_start(cast, day, 8) + timedelta(seconds=rng.randrange(0, 3000)),
    )
    erin = RoleSession(
        cast.sso_readonly_role,
        "erin@acme.example",
        ids.key_id("ASIA"),
        _hour_or_start(cast, day, 9) + timedelta(seconds=rng.randrange(0, 3000)),
    )
    return People(
        jane_login=login,
        jane=Actor(ConsoleUser(cast.jane, ids.key_id("ASIA"), login, True), OFFICE_IPS[0], CONSOLE, console=True),
        dave=Actor(dave, OFFICE_IPS[2], BROWSER_WIN, console=True),
        erin=Actor(erin, OFFICE_IPS[3], BROWSER, console=True),
        dave_session=dave,
        erin_session=erin,
    )


#: A console page or a script step: calls made within a few seconds, each with its region and error.
Step = list[tuple[Call, str, Error | None]]


def office_hours(moment: datetime) -> float:
    """Relative activity of people: full from 08:30 to 17:30 UTC, a lunch dip, little at night."""
    hour = moment.hour + moment.minute / 60
    if 8.5 <= hour < 17.5:
        return 0.55 if 12.0 <= hour < 13.0 else 1.0
    return 0.08


def arrivals(
    rng: random.Random,
    start: datetime,
    end: datetime,
    per_hour: float,
    profile: Callable[[datetime], float] | None = None,
) -> list[datetime]:
    """Times of a Poisson process of peak rate ``per_hour``, thinned by ``profile`` (whole seconds)."""
    times: list[datetime] = []
    if per_hour <= 0:
        return times
    moment = start
    while True:
        moment += timedelta(seconds=rng.expovariate(per_hour / 3600))
        if moment >= end:
            return times
        if profile is None or rng.random() < profile(moment):
            times.append(moment.replace(microsecond=0))


class Background:
    """Writes a day of benign activity of ``cast`` into ``trail``.

    Parameters
    ----------
    trail
        Receives the records (its own ID stream).
    cast
        The company.
    seed
        Scenario seed; each activity derives its RNG from it.
    noise
        Multiplies every rate; 0 writes nothing.
    """

    def __init__(
        self, trail: Trail, cast: Cast, people: People, seed: int, noise: float, world: World | None = None
    ) -> None:
        self.trail = trail
        self.cast = cast
        self.people = people
        self.seed = seed
        self.noise = noise
        self.world = world or World()
        self.ids = Ids(random.Random(f"{seed}:background-ids"))

    def rng(self, activity: str) -> random.Random:
        return random.Random(f"{self.seed}:background:{activity}")

    def write(self) -> None:
        """Write every activity."""
        if self.noise <= 0:
            return
        self.cloudtrail_checks()
        self.fleet()
        self.lambda_sandboxes()
        self.pipeline()
        self.security_scans()
        self.ci_deploys()
        self.jane()
        self.bob()
        self.sso_admin()
        self.sso_analyst()
        self.root_billing_check()

    # --- helpers ------------------------------------------------------------------------

    def _session(
        self, role: Role, name: str, at: datetime, *, mfa: bool = False, delivery: str | None = None
    ) -> RoleSession:
        return RoleSession(role, name, self.ids.key_id("ASIA"), at, mfa, ec2_role_delivery=delivery)

    def _steps(self, rng: random.Random, actor: Actor, times: list[datetime], menu: list[Callable[[], Step]]) -> None:
        for at in times:
            moment = at
            for call, region, error in rng.choice(menu)():
                self.trail.record(moment, actor, call, region=region, error=error)
                moment += timedelta(seconds=rng.choice((0, 0, 1, 1, 2, 3)))

    def _rate(self, per_hour: float) -> float:
        return per_hour * self.noise

    # --- AWS services -------------------------------------------------------------------

    def cloudtrail_checks(self) -> None:
        """CloudTrail checks its bucket's ACL before deliveries."""
        c, rng = self.cast, self.rng("cloudtrail")
        actor = service_actor(AWSService("cloudtrail.amazonaws.com"), "cloudtrail.amazonaws.com")
        for at in arrivals(rng, c.start, c.end, self._rate(3)):
            self.trail.record(at, actor, s3.get_bucket_acl(c.account, c.trail_bucket), region=FLEET_REGION)

    def fleet(self) -> None:
        """SSM agents check in every five minutes; Auto Scaling adds two instances and removes one."""
        c, rng = self.cast, self.rng("fleet")
        ec2_service = service_actor(AWSService("ec2.amazonaws.com"), "ec2.amazonaws.com")
        step = timedelta(minutes=5) / max(self.noise, 0.2)
        scaled = [rng.choice(c.fleet[:2]) for _ in range(2)]
        launches: list[tuple[datetime, str, str]] = []
        for i in range(len(scaled)):
            at = c.start + timedelta(hours=2 + 3 * i, seconds=rng.randrange(3600))
            launches.append((at, f"i-0{self.ids.hex(16)}", f"10.0.{rng.randrange(60, 90)}.{rng.randrange(4, 250)}"))
        asg = self._session(c.autoscaling_role, "AutoScaling", c.start - timedelta(minutes=rng.randrange(5, 50)))
        asg_actor = service_actor(asg.invoked("autoscaling.amazonaws.com"), "autoscaling.amazonaws.com")
        instances = [(inst.instance_id, inst.private_ip, inst.zone, c.start - timedelta(hours=20)) for inst in c.fleet]
        for (at, instance_id, ip), base in zip(launches, scaled, strict=True):
            self.trail.record(
                at,
                asg_actor,
                ec2.run_instances(
                    c.account,
                    instance_id,
                    "ami-0" + self.ids.hex(16),
                    "m7g.large",
                    "lt-0" + self.ids.hex(16),
                    base.zone,
                    ip,
                ),
                region=FLEET_REGION,
            )
            instances.append((instance_id, ip, base.zone, at + timedelta(seconds=rng.randrange(40, 90))))
        for instance_id, ip, zone, boot in instances:
            session = self._session(c.fleet_role, instance_id, max(boot, c.start - timedelta(hours=1)), delivery="2.0")
            if boot >= c.start:
                self.trail.record(
                    boot, ec2_service, sts.assume_role(session, sts.session_token(self.ids), None), region=FLEET_REGION
                )
            agent = Actor(session, ip, SSM_AGENT, vpc_endpoint="vpce-0" + self.ids.hex(16))
            moment = max(boot, c.start) + timedelta(seconds=rng.randrange(300))
            while moment < c.end:
                self.trail.record(
                    moment, agent, ec2.update_instance_information(instance_id, ip, zone), region=FLEET_REGION
                )
                moment += step + timedelta(seconds=rng.randrange(-3, 4))
        retired = launches[0][1]
        at = c.end - timedelta(hours=1, seconds=rng.randrange(1800))
        self.trail.record(at, asg_actor, ec2.terminate_instances(retired), region=FLEET_REGION)

    def lambda_sandboxes(self) -> None:
        """Lambda assumes ``checkout-handler-role`` for new execution environments (busier by day)."""
        c, rng = self.cast, self.rng("lambda")
        actor = service_actor(AWSService("lambda.amazonaws.com"), "lambda.amazonaws.com")
        for at in arrivals(rng, c.start, c.end, self._rate(10), lambda m: 0.4 + 0.6 * office_hours(m)):
            if (
                self.world.checkout_throttled
                and self.world.checkout_throttled[0] <= at < self.world.checkout_throttled[1]
            ):
                continue  # no concurrency, no new execution environments
            session = self._session(c.checkout_role, c.checkout_function, at)
            self.trail.record(
                at, actor, sts.assume_role(session, sts.session_token(self.ids), None), region=HOME_REGION
            )

    def pipeline(self) -> None:
        """Every 15 minutes an ECS task assumes ``DataPipelineRole`` and writes exports through a VPC endpoint."""
        c, rng = self.cast, self.rng("pipeline")
        ecs = service_actor(AWSService("ecs-tasks.amazonaws.com"), "ecs-tasks.amazonaws.com")
        vpce = "vpce-0" + self.ids.hex(16)
        day = c.start.strftime("%Y/%m/%d")
        part = 0
        moment = c.start + timedelta(minutes=rng.randrange(2, 6))
        while moment < c.end:
            session = self._session(c.pipeline_role, self.ids.hex(32), moment)
            self.trail.record(
                moment, ecs, sts.assume_role(session, sts.session_token(self.ids), None), region=HOME_REGION
            )
            task = Actor(
                session, f"10.20.{rng.randrange(0, 4)}.{rng.randrange(10, 250)}", PIPELINE_SDK, vpc_endpoint=vpce
            )
            at = moment + timedelta(seconds=rng.randrange(20, 60))
            self.trail.record(
                at, task, s3.list_objects(c.account, c.exports_bucket, f"exports/{day}/", 2048), region=HOME_REGION
            )
            for i in range(max(1, round(rng.randrange(3, 7) * min(self.noise, 2)))):
                at += timedelta(seconds=rng.randrange(5, 40))
                key = f"exports/{day}/orders-{part:04d}.csv.gz"
                part += 1
                if i == 0:
                    self.trail.record(
                        at,
                        service_actor(session.invoked("s3.amazonaws.com"), "s3.amazonaws.com"),
                        s3.kms_generate_data_key(c.exports_key_arn, c.exports_bucket),
                        region=HOME_REGION,
                    )
                self.trail.record(
                    at,
                    task,
                    s3.put_object(
                        c.account, c.exports_bucket, key, rng.randrange(2_000_000, 9_000_000), c.exports_key_arn
                    ),
                    region=HOME_REGION,
                )
            moment += timedelta(minutes=15) / max(self.noise, 0.2) + timedelta(seconds=rng.randrange(-20, 20))

    def security_scans(self) -> None:
        """Every 30 minutes the security account assumes ``SecurityAuditRole`` and reads configuration."""
        c, rng = self.cast, self.rng("scanner")
        caller = AWSAccount(c.security_account, self.ids.principal_id("AROA") + ":prowler")
        moment = c.start + timedelta(minutes=rng.randrange(0, 30))
        while moment < c.end:
            session = self._session(c.audit_role, f"prowler-{int(moment.timestamp())}", moment)
            self.trail.record(
                moment,
                Actor(caller, SCANNER_IP, SCANNER_SDK),
                sts.assume_role(session, sts.session_token(self.ids), 3600),
                region=FLEET_REGION,
                shared_event_id=self.ids.uuid(),
            )
            scanner = Actor(session, SCANNER_IP, SCANNER_SDK)
            steps: Step = [
                (iam.get_account_summary(), FLEET_REGION, None),
                (iam.list_users(), FLEET_REGION, None),
                (iam.list_roles(), FLEET_REGION, None),
                (iam.get_account_authorization_details(), FLEET_REGION, None),
                (observability.describe_trails(), FLEET_REGION, None),
                (observability.get_trail_status(c.trail_arn), FLEET_REGION, None),
                (s3.list_buckets(), FLEET_REGION, None),
            ]
            for bucket in (c.exports_bucket, c.artifacts_bucket, c.trail_bucket):
                has_policy = bucket == c.trail_bucket or (
                    bucket == c.exports_bucket and self.world.exports_policy_at(moment)
                )
                policy_error = None if has_policy else s3.no_such_bucket_policy()
                steps.append((s3.get_bucket_policy(c.account, bucket), HOME_REGION, policy_error))
                steps.append((s3.get_bucket_public_access_block(c.account, bucket), HOME_REGION, None))
            for region in (FLEET_REGION, HOME_REGION):
                steps.append((ec2.describe_security_groups(), region, None))
                steps.append((ec2.describe_instances(), region, None))
            at = moment + timedelta(seconds=2)
            for call, region, error in steps:
                self.trail.record(at, scanner, call, region=region, error=error)
                at += timedelta(seconds=rng.randrange(0, 3))
            moment += timedelta(minutes=30) / max(self.noise, 0.2) + timedelta(seconds=rng.randrange(-30, 30))

    # --- CI -------------------------------------------------------------------------------

    def ci_deploys(self) -> None:
        """GitHub Actions deploys ``checkout-handler`` a few times in office hours."""
        c, rng = self.cast, self.rng("ci")
        subject = "repo:acme/checkout:ref:refs/heads/main"
        oidc = WebIdentityUser("token.actions.githubusercontent.com", "sts.amazonaws.com", subject)
        version = 40 + rng.randrange(20)
        for at in arrivals(rng, c.start, c.end, self._rate(0.6), office_hours):
            ip = rng.choice(CI_IPS)
            session = self._session(c.github_role, "GitHubActions", at)
            self.trail.record(
                at,
                Actor(oidc, ip, GITHUB_CREDENTIALS_ACTION),
                sts.assume_role_with_web_identity(session, sts.session_token(self.ids), c.oidc_provider_arn, subject),
                region=FLEET_REGION,
            )
            runner = Actor(session, ip, CI_CLI)
            key = f"checkout-handler/{self.ids.hex(40)}.zip"
            version += 1
            steps: Step = [
                (
                    s3.put_object(c.account, c.artifacts_bucket, key, rng.randrange(900_000, 1_300_000)),
                    HOME_REGION,
                    None,
                ),
                (awslambda.get_function(c.checkout_function), HOME_REGION, None),
                (
                    awslambda.update_function_code(
                        c.checkout_function_arn, c.checkout_role.arn, c.artifacts_bucket, key, self.ids, at
                    ),
                    HOME_REGION,
                    None,
                ),
                (awslambda.get_function(c.checkout_function), HOME_REGION, None),
                (awslambda.publish_version(c.checkout_function_arn, version, self.ids), HOME_REGION, None),
                (awslambda.update_alias(c.checkout_function_arn, "live", version, self.ids), HOME_REGION, None),
            ]
            moment = at + timedelta(seconds=rng.randrange(3, 10))
            for call, region, error in steps:
                self.trail.record(moment, runner, call, region=region, error=error)
                moment += timedelta(seconds=rng.randrange(2, 25))

    # --- people ---------------------------------------------------------------------------

    def jane(self) -> None:
        """``jane.admin`` signs in with MFA and browses the console all day."""
        c, rng = self.cast, self.rng("jane")
        login, actor = self.people.jane_login, self.people.jane
        self.trail.record(
            login,
            Actor(c.jane.with_key(""), actor.ip, BROWSER),
            iam.console_login(f"arn:aws:iam::{c.account}:mfa/jane.admin"),
            region=FLEET_REGION,
        )
        menu: list[Callable[[], Step]] = [
            lambda: [(iam.list_users(), FLEET_REGION, None), (iam.get_account_summary(), FLEET_REGION, None)],
            lambda: [
                (iam.get_user(rng.choice(("bob.dev", "ci-deploy", "jane.admin"))), FLEET_REGION, None),
                (iam.list_access_keys("bob.dev"), FLEET_REGION, None),
            ],
            lambda: [
                (ec2.describe_instances(), FLEET_REGION, None),
                (ec2.describe_security_groups(), FLEET_REGION, None),
                (ec2.describe_vpcs(), FLEET_REGION, None),
            ],
            lambda: [(observability.describe_alarms(), HOME_REGION, None)],
            lambda: [(rds.describe_db_instances(), HOME_REGION, None)],
            lambda: [
                (s3.list_buckets(), FLEET_REGION, None),
                (s3.get_bucket_policy(c.account, c.trail_bucket), FLEET_REGION, None),
            ],
            lambda: [
                (awslambda.list_functions(), HOME_REGION, None),
                (awslambda.get_function(c.checkout_function), HOME_REGION, None),
            ],
        ]
        self._steps(rng, actor, arrivals(rng, login, c.end, self._rate(14), office_hours), menu)

    def bob(self) -> None:
        """``bob.dev`` works with the CLI and long-term keys; some of his calls are denied."""
        c, rng = self.cast, self.rng("bob")
        actor = Actor(c.bob, OFFICE_IPS[1], OFFICE_CLI)
        window = (c.start, c.end)

        def metrics() -> Step:
            query = observability.metric_query(
                "inv", "AWS/Lambda", "Invocations", {"FunctionName": c.checkout_function}, "Sum"
            )
            return [(observability.get_metric_data([query], window[0], window[1]), HOME_REGION, None)]

        menu: list[Callable[[], Step]] = [
            lambda: [
                (awslambda.list_functions(), HOME_REGION, None),
                (awslambda.get_function(c.checkout_function), HOME_REGION, None),
            ],
            lambda: [
                (observability.filter_log_events("/aws/lambda/checkout-handler", c.start, c.end), HOME_REGION, None)
            ],
            metrics,
            lambda: [(ec2.describe_instances(), FLEET_REGION, None)],
            lambda: [(sts.get_caller_identity(), FLEET_REGION, None)],
            lambda: [
                (
                    iam.list_roles(),
                    FLEET_REGION,
                    access_denied(c.bob.arn, "iam:ListRoles", f"arn:aws:iam::{c.account}:role/"),
                )
            ],
            lambda: [
                (
                    rds.describe_db_instances("orders-db"),
                    HOME_REGION,
                    access_denied(c.bob.arn, "rds:DescribeDBInstances", c.orders_db.arn),
                )
            ],
        ]
        self._steps(rng, actor, arrivals(rng, c.start, c.end, self._rate(12), office_hours), menu)

    def _sso_sign_in(self, actor: Actor, session: RoleSession) -> None:
        c = self.cast
        self.trail.record(
            session.created,
            Actor(SAMLUser(session.name, c.sso_issuer_hash), actor.ip, SSO_PORTAL),
            sts.assume_role_with_saml(
                session,
                sts.session_token(self.ids),
                c.saml_provider_arn,
                f"https://portal.sso.{HOME_REGION}.amazonaws.com/saml/assertion/{self.ids.base64(24)}",
                self.ids,
            ),
            region=FLEET_REGION,
        )

    def sso_admin(self) -> None:
        """An SSO administrator: routine checks, stops ``staging-db`` and caps ``report-generator``."""
        c, rng = self.cast, self.rng("sso-admin")
        actor, session = self.people.dave, self.people.dave_session
        self._sso_sign_in(actor, session)
        menu: list[Callable[[], Step]] = [
            lambda: [(rds.describe_db_instances(), HOME_REGION, None)],
            lambda: [
                (observability.describe_alarms(), HOME_REGION, None),
                (observability.describe_alarms("ALARM"), HOME_REGION, None),
            ],
            lambda: [
                (awslambda.list_functions(), HOME_REGION, None),
                (awslambda.get_function_concurrency("report-generator"), HOME_REGION, None),
            ],
            lambda: [(ec2.describe_instances(), FLEET_REGION, None)],
        ]
        self._steps(rng, actor, arrivals(rng, session.created, c.end, self._rate(10), office_hours), menu)
        stop = session.created + timedelta(minutes=rng.randrange(20, 50))
        self.trail.record(stop, actor, rds.describe_db_instances("staging-db"), region=HOME_REGION)
        self.trail.record(stop + timedelta(seconds=9), actor, rds.stop_db_instance(c.staging_db), region=HOME_REGION)
        cap = stop + timedelta(minutes=rng.randrange(30, 60))
        self.trail.record(cap, actor, awslambda.put_function_concurrency("report-generator", 5), region=HOME_REGION)

    def sso_analyst(self) -> None:
        """An SSO read-only analyst reads dashboards and downloads a few exports (her KMS use is logged too)."""
        c, rng = self.cast, self.rng("sso-analyst")
        actor, session = self.people.erin, self.people.erin_session
        self._sso_sign_in(actor, session)
        s3_actor = service_actor(session.invoked("s3.amazonaws.com"), "s3.amazonaws.com")

        def download() -> Step:
            key, size = rng.choice(c.exports)
            return [(s3.get_object(c.account, c.exports_bucket, key, size), HOME_REGION, None)]

        menu: list[Callable[[], Step]] = [
            lambda: [(observability.describe_alarms(), HOME_REGION, None)],
            lambda: [
                (s3.list_buckets(), FLEET_REGION, None),
                (s3.list_objects(c.account, c.exports_bucket, "exports/", 4096), HOME_REGION, None),
            ],
            download,
            lambda: [
                (
                    observability.get_cost_and_usage(f"{c.start:%Y-%m}-01", f"{c.start:%Y-%m-%d}"),
                    FLEET_REGION,
                    access_denied(session.arn, "ce:GetCostAndUsage"),
                )
            ],
        ]
        times = arrivals(rng, session.created, c.end, self._rate(8), office_hours)
        self._steps(rng, actor, times, menu)
        if times:
            self.trail.record(
                times[0], s3_actor, s3.kms_decrypt(c.exports_key_arn, c.exports_bucket), region=HOME_REGION
            )

    def root_billing_check(self) -> None:
        """The root user signs in once (with MFA, from the office) to look at the bill."""
        c, rng = self.cast, self.rng("root")
        at = _hour_or_start(c, c.start.replace(hour=0, minute=0, second=0), 9) + timedelta(
            seconds=rng.randrange(0, 5400)
        )
        ip = OFFICE_IPS[3]
        self.trail.record(
            at,
            Actor(Root(c.account), ip, BROWSER),
            iam.console_login(f"arn:aws:iam::{c.account}:mfa/root-account-mfa-device"),
            region=FLEET_REGION,
        )
        root = Actor(Root(c.account, self.ids.key_id("ASIA"), at, True), ip, CONSOLE, console=True)
        start = f"{c.start:%Y-%m}-01"
        for i, call in enumerate(
            (observability.get_cost_and_usage(start, f"{c.start:%Y-%m-%d}"), iam.get_account_summary())
        ):
            self.trail.record(at + timedelta(seconds=40 + 7 * i), root, call, region=FLEET_REGION)


#: Background event names that look like attacks of the scenarios, and why they are benign.
LOOKALIKES: dict[str, str] = {
    "StopDBInstance": "the SSO administrator stops staging-db (not orders-db) during office hours",
    "PutFunctionConcurrency20171031": "the SSO administrator caps report-generator at 5 (not checkout-handler at 0)",
}


def benign_lookalikes(records: list[JSON]) -> list[JSON]:
    """Answer-key entries for the background records that look like the attack but are not."""
    return [
        {**event_entry(r), "why_benign": LOOKALIKES[r["eventName"]]} for r in records if r["eventName"] in LOOKALIKES
    ]
