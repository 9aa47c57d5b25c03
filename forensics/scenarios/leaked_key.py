"""Scenario ``leaked-key``: a CI user's access key leaks and is used against the account.

The story (times vary with the seed, the order does not):

1. *Initial access.* The long-term key of the dormant IAM user ``ci-deploy`` is tried from
   203.0.113.66 by a key checker (``GetCallerIdentity``).
2. *Discovery.* A script enumerates the account; many calls are denied (a burst of
   ``AccessDenied`` and ``Client.UnauthorizedOperation`` across five regions).
3. *Privilege escalation and persistence.* ``ci-deploy`` may attach policies to itself: it
   attaches ``AdministratorAccess``, creates an access key for ``jane.admin``, switches to
   198.51.100.23 with that key and assumes ``DataPipelineRole``.
4. *Collection and exfiltration.* The role session lists and downloads the customer exports
   (S3 data events, with the KMS decrypts S3 makes on its behalf), then makes the bucket
   public with a bucket policy (``Principal: "*"``) and an ACL.
5. *Impact.* The session stops the RDS instance ``orders-db`` and sets the reserved
   concurrency of Lambda ``checkout-handler`` to 0. Alarms fire; the team restarts the
   database, removes the concurrency limit and disables the keys.

Benign background runs all day, including look-alikes: the SSO administrator stops
``staging-db`` and caps ``report-generator``, the security account enumerates IAM every half
hour, ``DataPipelineRole`` is assumed by ECS every 15 minutes.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from forensics.errors import ParameterError
from forensics.scenarios.answerkey import Playbook, answer_key, role_assumed
from forensics.scenarios.api import (
    Call,
    Error,
    access_denied,
    awslambda,
    ec2,
    iam,
    rds,
    s3,
    sts,
)
from forensics.scenarios.background import Background, People, World, benign_lookalikes, make_people
from forensics.scenarios.cast import FLEET_REGION, HOME_REGION, Cast, make_cast
from forensics.scenarios.checkout import (
    CONNECTIONS_LOW,
    DOWNLOAD_SPIKE,
    THROTTLED,
    Cause,
    Outage,
    alarm_key,
    checkout_cloudwatch,
)
from forensics.scenarios.cloudwatch import Transition
from forensics.scenarios.identities import JSON, RoleSession
from forensics.scenarios.ids import Ids
from forensics.scenarios.model import Generated, ScenarioInfo
from forensics.scenarios.questions import Question
from forensics.scenarios.records import Actor, Trail, service_actor
from forensics.scenarios.times import floor, later, utc

INFO = ScenarioInfo(
    name="leaked-key",
    title="Leaked CI access key: discovery, privilege escalation, S3 exfiltration and sabotage",
    description=(
        "A dormant CI user's access key is used from outside. Find who did what, from where, with which "
        "credentials; which data left; and which API calls took the checkout service and its database down."
    ),
    tactics=(
        "Initial Access",
        "Discovery",
        "Privilege Escalation",
        "Persistence",
        "Collection",
        "Exfiltration",
        "Impact",
    ),
)

DATA_START = utc("2024-03-12T07:00:00Z")
DATA_END = utc("2024-03-12T15:00:00Z")
FIRST_IP, SECOND_IP = "203.0.113.66", "198.51.100.23"
PROBE_AGENT = "python-requests/2.31.0"
SCRIPT_AGENT = (
    "Boto3/1.34.51 md/Botocore#1.34.51 ua/2.0 os/linux#6.6.9-amd64 md/arch#x86_64 lang/python#3.11.8 "
    "md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.51"
)
KALI_CLI = "aws-cli/2.15.25 Python/3.11.8 Linux/6.6.9-amd64 exe/x86_64.kali.2024 prompt/off command/{command}"
ADMIN_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess"
SESSION_NAME = "export-backfill"
DISCOVERY_REGIONS = ("us-east-1", "eu-west-1", "us-west-2", "eu-central-1", "ap-southeast-1")


QUESTIONS = (
    Question(
        "leaked_key",
        "Which access key ID did the intruder use first?",
        "text",
        "exact",
        "attacker.access_key_ids.leaked[0]",
        2,
        ("Start from the burst of denied calls across regions: which key made them?",),
        "access keys",
    ),
    Question(
        "leaked_user",
        "Which IAM user does that key belong to (name or ARN)?",
        "text",
        "exact",
        "attacker.principal_arns[0]",
        1,
        ("The userIdentity of those calls names the user.",),
        "users",
    ),
    Question(
        "source_ips",
        "From which source IP addresses did the intruder act? (a list)",
        "list",
        "set",
        "attacker.source_ips",
        2,
        ("The intruder changed address when it changed credentials.", "Follow every key the intruder used."),
        "source IPs",
    ),
    Question(
        "created_key",
        "Which access key ID did the intruder create?",
        "text",
        "exact",
        "attacker.access_key_ids.created[0]",
        1,
        ("responseElements of the call that created it.",),
        "access keys",
    ),
    Question(
        "role",
        "Which IAM role did the intruder assume (name or ARN)?",
        "text",
        "exact",
        "attacker.roles_assumed[0].roleArn",
        1,
        ("The role is assumed all day by a service too; look for the session the new key created.",),
        "roles",
    ),
    Question(
        "first_action",
        "When did the intruder first use the leaked key (UTC)?",
        "time",
        "time",
        "stages[0].events[0].eventTime",
        1,
        ("The first call only checked that the key works.",),
        tolerance=60,
    ),
    Question(
        "public_bucket",
        "Which bucket did the intruder make public (name or ARN)?",
        "text",
        "exact",
        "resources_touched[arn:aws:s3:::*]",
        1,
        ("Look for bucket policy and ACL changes.",),
        "buckets",
    ),
    Question(
        "objects_downloaded",
        "How many objects did the intruder download?",
        "number",
        "exact",
        "len(objects_downloaded)",
        1,
        ("Count the intruder's GetObject data events (each object once).",),
    ),
    Question(
        "db_stop",
        "Which eventID stopped the orders database?",
        "text",
        "exact",
        "stages[*].events[eventName=StopDBInstance].eventID",
        2,
        ("More than one database was stopped that day; check which one and by whom.",),
        "events",
    ),
    Question(
        "throttle_alarm_cause",
        "Which eventID made the checkout-handler-throttles alarm go to ALARM?",
        "text",
        "any-of",
        "alarms[alarm=checkout-handler-throttles].transitions[to=ALARM].caused_by",
        2,
        ("What limits how many copies of a function may run?",),
        "events",
    ),
)


class _Story:
    """The attack and the response, as times and records."""

    def __init__(self, cast: Cast, seed: int) -> None:
        self.cast = cast
        self.seed = seed
        self.rng = random.Random(f"{seed}:attack")
        self.ids = Ids(random.Random(f"{seed}:attack-ids"))
        self.attack = Playbook(Trail(cast.account, self.ids))
        self.start = DATA_START + timedelta(hours=3, minutes=10 + self.rng.randrange(40))

    def play(self) -> None:
        c, rng, act = self.cast, self.rng, self.attack.act
        leaked = c.ci_deploy
        at = self.start
        act(
            "initial-access",
            "T1078.004",
            at,
            Actor(leaked, FIRST_IP, PROBE_AGENT),
            sts.get_caller_identity(),
            region=FLEET_REGION,
        )

        script = Actor(leaked, FIRST_IP, SCRIPT_AGENT)
        at = later(at, rng, 240, 540)
        probes: list[tuple[str, Call, str, Error | None]] = [
            ("T1033", sts.get_caller_identity(), FLEET_REGION, None),
            ("T1619", s3.list_buckets(), FLEET_REGION, s3.S3_ACCESS_DENIED),
            ("T1087.004", iam.list_users(), FLEET_REGION, None),
            ("T1087.004", iam.list_roles(), FLEET_REGION, None),
            (
                "T1087.004",
                iam.list_groups(),
                FLEET_REGION,
                access_denied(leaked.arn, "iam:ListGroups", f"arn:aws:iam::{c.account}:group/"),
            ),
            (
                "T1087.004",
                iam.get_account_authorization_details(),
                FLEET_REGION,
                access_denied(leaked.arn, "iam:GetAccountAuthorizationDetails"),
            ),
            ("T1069.003", iam.list_attached_user_policies(leaked.name), FLEET_REGION, None),
            *(
                ("T1580", ec2.describe_instances(), r, ec2.ec2_unauthorized(leaked.arn, "ec2:DescribeInstances"))
                for r in DISCOVERY_REGIONS
            ),
            ("T1526", awslambda.list_functions(), HOME_REGION, None),
            (
                "T1580",
                rds.describe_db_instances(),
                HOME_REGION,
                access_denied(leaked.arn, "rds:DescribeDBInstances", f"arn:aws:rds:{HOME_REGION}:{c.account}:db:*"),
            ),
        ]
        for technique, call, region, error in probes:
            act("discovery", technique, at, script, call, region=region, error=error)
            at = later(at, rng, 1, 4)

        at = later(at, rng, 180, 400)
        act(
            "privilege-escalation",
            "T1098.003",
            at,
            script,
            iam.attach_user_policy(leaked.name, ADMIN_POLICY),
            region=FLEET_REGION,
        )
        for technique, call in (
            ("T1069.003", iam.list_attached_user_policies(leaked.name)),
            ("T1619", s3.list_buckets()),
            ("T1087.004", iam.get_account_authorization_details()),
            ("T1087.004", iam.list_access_keys(c.jane.name)),
        ):
            at = later(at, rng, 2, 30)
            act("discovery", technique, at, script, call, region=FLEET_REGION)

        at = later(at, rng, 60, 150)
        self.created_key = self.ids.key_id("AKIA")
        jane_new = c.jane.with_key(self.created_key)
        self.create_key = act(
            "persistence", "T1098.001", at, script, iam.create_access_key(jane_new, at), region=FLEET_REGION
        )

        # Second address, second identity: jane.admin's new key, then the pipeline role.
        cli = Actor(jane_new, SECOND_IP, KALI_CLI)
        at = later(at, rng, 300, 560)
        act("persistence", "T1078.004", at, cli, sts.get_caller_identity(), region=FLEET_REGION)
        at = later(at, rng, 20, 80)
        act("discovery", "T1087.004", at, cli, iam.get_role(c.pipeline_role), region=FLEET_REGION)
        at = later(at, rng, 5, 20)
        act("discovery", "T1069.003", at, cli, iam.list_attached_role_policies(c.pipeline_role), region=FLEET_REGION)
        at = later(at, rng, 30, 90)
        self.session = RoleSession(c.pipeline_role, SESSION_NAME, self.ids.key_id("ASIA"), at)
        self.assume = act(
            "privilege-escalation",
            "T1548.005",
            at,
            cli,
            sts.assume_role(self.session, sts.session_token(self.ids), 3600),
            region=FLEET_REGION,
        )

        session = Actor(self.session, SECOND_IP, KALI_CLI)
        via_s3 = service_actor(self.session.invoked("s3.amazonaws.com"), "s3.amazonaws.com")
        at = later(at, rng, 40, 100)
        for prefix in ("", "exports/", f"exports/{c.start:%Y/%m}/"):
            act(
                "discovery",
                "T1619",
                at,
                session,
                s3.list_objects(c.account, c.exports_bucket, prefix, 4096 + len(c.exports) * 40),
                region=HOME_REGION,
            )
            at = later(at, rng, 3, 15)
        self.downloads: list[JSON] = []
        last_decrypt: datetime | None = None
        wanted = c.exports[-min(len(c.exports), 90 + rng.randrange(40)) :]
        for key, size in wanted:
            if last_decrypt is None or at - last_decrypt > timedelta(minutes=5):
                act(
                    "collection",
                    "T1530",
                    at,
                    via_s3,
                    s3.kms_decrypt(c.exports_key_arn, c.exports_bucket),
                    region=HOME_REGION,
                )
                last_decrypt = at
            self.downloads.append(
                act(
                    "collection",
                    "T1530",
                    at,
                    session,
                    s3.get_object(c.account, c.exports_bucket, key, size),
                    region=HOME_REGION,
                )
            )
            at = later(at, rng, 2, 16)

        at = later(at, rng, 90, 240)
        act(
            "discovery",
            "T1619",
            at,
            session,
            s3.get_bucket_policy(c.account, c.exports_bucket),
            region=HOME_REGION,
            error=s3.no_such_bucket_policy(),
        )
        at = later(at, rng, 10, 40)
        act(
            "exfiltration",
            "T1537",
            at,
            session,
            s3.delete_bucket_public_access_block(c.account, c.exports_bucket),
            region=HOME_REGION,
        )
        at = later(at, rng, 5, 20)
        self.policy_put = act(
            "exfiltration",
            "T1537",
            at,
            session,
            s3.put_bucket_policy(c.account, c.exports_bucket, s3.public_read_policy(c.exports_bucket)),
            region=HOME_REGION,
        )
        self.policy_time = at
        at = later(at, rng, 5, 30)
        act(
            "exfiltration",
            "T1537",
            at,
            session,
            s3.put_bucket_acl_public_read(c.account, c.exports_bucket, c.bucket_owner_id),
            region=HOME_REGION,
        )

        at = later(at, rng, 240, 480)
        act("discovery", "T1580", at, session, rds.describe_db_instances(c.orders_db.identifier), region=HOME_REGION)
        at = later(at, rng, 10, 40)
        self.stop_db = act("impact", "T1489", at, session, rds.stop_db_instance(c.orders_db), region=HOME_REGION)
        self.stop_time = at
        at = later(at, rng, 60, 150)
        act(
            "discovery",
            "T1526",
            at,
            session,
            awslambda.get_function_concurrency(c.checkout_function),
            region=HOME_REGION,
        )
        at = later(at, rng, 10, 40)
        self.throttle = act(
            "impact",
            "T1489",
            at,
            session,
            awslambda.put_function_concurrency(c.checkout_function, 0),
            region=HOME_REGION,
        )
        self.throttle_time = at
        if at >= self.session.created + timedelta(hours=1):
            raise ParameterError("the attacker's role session would have expired; shorten the story")

    def respond(self, people: People, trail: Trail) -> None:
        """The team's response: restore service, then contain."""
        c, rng = self.cast, random.Random(f"{self.seed}:response")
        dave, jane = people.dave, people.jane
        at = later(self.throttle_time, rng, 420, 660)
        trail.record(at, dave, awslambda.get_function_concurrency(c.checkout_function), region=HOME_REGION)
        at = later(at, rng, 20, 60)
        self.unthrottle = trail.record(
            at, dave, awslambda.delete_function_concurrency(c.checkout_function), region=HOME_REGION
        )
        self.unthrottle_time = at
        at = later(at, rng, 60, 180)
        trail.record(at, dave, rds.describe_db_instances(c.orders_db.identifier), region=HOME_REGION)
        at = later(at, rng, 15, 45)
        self.start_db = trail.record(at, dave, rds.start_db_instance(c.orders_db), region=HOME_REGION)
        self.start_time = at
        self.available_time = later(at, rng, 360, 480)

        at = later(at, rng, 300, 600)
        contain = [
            (iam.list_access_keys(c.ci_deploy.name), FLEET_REGION),
            (iam.update_access_key(c.ci_deploy.name, c.ci_deploy.access_key_id, "Inactive"), FLEET_REGION),
            (iam.detach_user_policy(c.ci_deploy.name, ADMIN_POLICY), FLEET_REGION),
            (iam.list_access_keys(c.jane.name), FLEET_REGION),
            (iam.update_access_key(c.jane.name, self.created_key, "Inactive"), FLEET_REGION),
            (iam.delete_access_key(c.jane.name, self.created_key), FLEET_REGION),
            (s3.delete_bucket_policy(c.account, c.exports_bucket), HOME_REGION),
            (s3.put_bucket_public_access_block(c.account, c.exports_bucket), HOME_REGION),
        ]
        for call, region in contain:
            trail.record(at, jane, call, region=region)
            if call.name == "DeleteBucketPolicy":
                self.policy_removed_time = at
            at = later(at, rng, 8, 50)

    def world(self) -> World:
        """What the background must know about the attack and the response."""
        return World(
            exports_policy=(self.policy_time, self.policy_removed_time),
            checkout_throttled=(self.throttle_time, self.unthrottle_time),
        )


def _alarm_causes(story: _Story) -> Cause:
    """Which API calls changed which alarm's state, and why."""
    downloads_by_minute: dict[datetime, list[JSON]] = {}
    for record in story.downloads:
        downloads_by_minute.setdefault(floor(utc(record["eventTime"]), 1), []).append(record)

    def cause(alarm: str, t: Transition) -> tuple[list[JSON], str]:
        if alarm == CONNECTIONS_LOW:
            if t.new == "ALARM":
                return [
                    story.stop_db
                ], "StopDBInstance stopped orders-db: connections dropped, then no data (breaching)"
            return [story.start_db], "StartDBInstance: connections returned once the instance was available"
        if alarm == THROTTLED:
            if t.new == "ALARM":
                return [story.throttle], "PutFunctionConcurrency set reserved concurrency to 0: every call is throttled"
            return [story.unthrottle], "DeleteFunctionConcurrency removed the limit"
        if alarm == DOWNLOAD_SPIKE:
            if t.new == "ALARM":
                return downloads_by_minute.get(t.period_start, []), "the attacker's GetObject calls in that minute"
            return [], "downloads fell below the threshold"
        if t.new == "INSUFFICIENT_DATA":
            return [story.stop_db], "StopDBInstance: a stopped instance publishes no CPU data"
        if t.old == "INSUFFICIENT_DATA":
            return [story.start_db], "StartDBInstance: CPU data returned"
        return [], "benign: a reporting query (no API call caused it)"

    return cause


def generate(seed: int, noise: float) -> Generated:
    """Generate the scenario's records, CloudWatch data and answer key."""
    cast = make_cast(Ids(random.Random(f"{seed}:cast")), DATA_START, DATA_END)
    story = _Story(cast, seed)
    story.play()
    people = make_people(cast, seed)
    response = Trail(cast.account, Ids(random.Random(f"{seed}:response-ids")))
    story.respond(people, response)
    background = Trail(cast.account, Ids(random.Random(f"{seed}:background-record-ids")))
    Background(background, cast, people, seed, noise, story.world()).write()
    records = [*background.records, *story.attack.trail.records, *response.records]
    outage = Outage(story.stop_time, story.available_time, story.throttle_time, story.unthrottle_time)
    cloudwatch = checkout_cloudwatch(cast, records, outage, seed, noise)
    key = answer_key(
        INFO,
        seed=seed,
        noise=noise,
        cast=cast,
        records=records,
        steps=story.attack.steps,
        access_keys={
            "leaked": [cast.ci_deploy.access_key_id],
            "created": [story.created_key],
            "sessions": [story.session.access_key_id],
        },
        roles_assumed=[role_assumed(story.session, story.assume)],
        resources={
            cast.ci_deploy.arn,
            cast.jane.arn,
            cast.pipeline_role.arn,
            f"arn:aws:s3:::{cast.exports_bucket}",
            cast.exports_key_arn,
            cast.orders_db.arn,
            cast.checkout_function_arn,
        },
        response=response.records,
        lookalikes=benign_lookalikes(background.records),
        alarms=alarm_key(cloudwatch, _alarm_causes(story)),
        cloudwatch=cloudwatch,
    )
    key["objects_downloaded"] = sorted(r["requestParameters"]["key"] for r in story.downloads)
    return Generated(cast.account, tuple(records), cloudwatch, key)
