"""Scenario ``s3-ransomware``: a foreign GitHub workflow wipes the customer exports and holds the key to ransom.

The story (times vary with the seed, the order does not):

1. *Initial access.* The trust policy of ``github-actions-deploy`` checks the token's audience
   but not its subject, so a workflow of *any* GitHub repository can assume it. One in
   ``cloud-sync-tools/s3-backup`` does (``AssumeRoleWithWebIdentity``), from a runner address
   Acme's own CI never had. Its session is named ``GitHubActions`` like the real deploys'.
2. *Discovery and collection.* Buckets, versioning, the exports' KMS key, a listing, and a
   handful of downloads (proof for the extortion).
3. *Impact.* Versioning suspended and a lifecycle rule that expires every object and every old
   version after a day (inhibit recovery); every object of ``acme-customer-exports`` deleted
   one by one (``DeleteObject``), the build artefacts wiped with ``DeleteObjects`` (whose keys
   CloudTrail does not record); a ransom note in both buckets; the exports' KMS key disabled
   and scheduled for deletion; a few reads of old versions to check they now fail.
4. The delete-spike alarm pages the on-call SSO administrator, who enables the key and cancels
   its deletion, turns versioning back on, removes the lifecycle rule and fixes the trust policy.

Consequences in the ordinary day, modelled from the attack: while the key is disabled the
export pipeline's writes fail (``KMS.DisabledException``, and ``DisabledException`` for the
data key S3 asks KMS for), and reads of deleted objects fail with ``NoSuchKey``.

CloudWatch covers eu-west-1: the bucket's request metrics (``DeleteRequests``,
``PutRequests``, ``GetRequests``, ``4xxErrors``), each counted from the records, with alarms on
delete spikes and on bursts of client errors.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from forensics.scenarios.answerkey import Playbook, answer_key, role_assumed
from forensics.scenarios.api import Error, iam, kms, s3, sts
from forensics.scenarios.background import Background, benign_lookalikes, make_people
from forensics.scenarios.cast import FLEET_REGION, HOME_REGION, Cast, make_cast
from forensics.scenarios.checkout import Cause, alarm_key
from forensics.scenarios.cloudwatch import Alarm, CloudWatchData, Metric, Series, Transition, add_alarm
from forensics.scenarios.identities import JSON, RoleSession, WebIdentityUser
from forensics.scenarios.ids import Ids
from forensics.scenarios.model import Generated, ScenarioInfo
from forensics.scenarios.questions import Question
from forensics.scenarios.records import Actor, Trail, service_actor
from forensics.scenarios.times import console_date, floor, later, utc

INFO = ScenarioInfo(
    name="s3-ransomware",
    title="S3 ransomware: objects deleted, recovery sabotaged, the KMS key scheduled for deletion",
    description=(
        "The customer-exports bucket is empty but for a ransom note and the export pipeline fails. Find how "
        "the intruder got in and as whom, what was deleted, what must be undone to recover, and which alarm "
        "fired on which calls."
    ),
    tactics=("Initial Access", "Discovery", "Collection", "Impact"),
)

DATA_START = utc("2024-05-21T10:00:00Z")
DATA_END = utc("2024-05-21T18:00:00Z")
SUBJECT = "repo:cloud-sync-tools/s3-backup:ref:refs/heads/main"
RUNNER_IP = "198.18.22.93"
TOKEN_AGENT = (
    "aws-sdk-js/3.592.0 ua/2.0 os/linux#6.5.0-1021-azure lang/js md/nodejs#20.13.1 api/sts#3.592.0 "
    "configure-aws-credentials-for-github-actions"
)
SCRIPT_AGENT = (
    "aws-cli/2.16.4 md/awscrt#0.19.19 ua/2.0 os/linux#6.5.0-1021-azure md/arch#x86_64 lang/python#3.11.8 "
    "md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.22 md/prompt#off "
    "md/command#{command}"
)
NOTE = "README-RECOVER-YOUR-DATA.txt"
#: The intruder's calls that must be undone before the data can come back.
RECOVERY = ("DisableKey", "PutBucketLifecycle", "PutBucketVersioning", "ScheduleKeyDeletion")
DELETE_SPIKE = "customer-exports-delete-spike"
ERROR_BURST = "customer-exports-4xx-errors"

QUESTIONS = (
    Question(
        "role",
        "Which IAM role did the intruder use (name or ARN)?",
        "text",
        "exact",
        "attacker.roles_assumed[0].roleArn",
        1,
        ("Who deleted the objects? Look at the session's issuer.",),
        "roles",
    ),
    Question(
        "token_subject",
        "Whose token was exchanged for the role's credentials? (the web identity's subject)",
        "text",
        "exact",
        "oidc_subject",
        2,
        ("Find the call that created the session, and compare it with the real deploys'.",),
        "subjects",
    ),
    Question(
        "session_key",
        "Which access key ID did the intruder's session use?",
        "text",
        "exact",
        "attacker.access_key_ids.sessions[0]",
        1,
        ("The role and even the session name are shared with the real CI; the key is not.",),
        "access keys",
    ),
    Question(
        "source_ips",
        "From which source IP addresses did the intruder act? (a list)",
        "list",
        "set",
        "attacker.source_ips",
        1,
        ("Calls that AWS services made on the session's behalf come from a service name, not an address.",),
        "source IPs",
    ),
    Question(
        "objects_deleted",
        "How many objects did the intruder delete one by one (DeleteObject)?",
        "number",
        "exact",
        "len(objects_deleted)",
        1,
        ("Count the intruder's DeleteObject events, not the DeleteObjects ones.",),
    ),
    Question(
        "first_delete",
        "When did the intruder start deleting objects (UTC)?",
        "time",
        "time",
        "stages[*].events[eventName=DeleteObject][0].eventTime",
        1,
        ("The bucket's DeleteRequests metric, or the data events themselves.",),
        tolerance=60,
    ),
    Question(
        "kms_key",
        "Which KMS key did the intruder disable (key ID or ARN)?",
        "text",
        "exact",
        "kms_key",
        1,
        ("KMS calls name the key in requestParameters and resources.",),
        "keys",
    ),
    Question(
        "undo",
        "Which of the intruder's calls must be undone to get the data back? (eventNames, a list)",
        "list",
        "set",
        "recovery",
        3,
        (
            "Deleted objects may still have old versions; what threatens them, and what makes them unreadable?",
            "Four calls.",
        ),
        "event names",
    ),
    Question(
        "ransom_note",
        "Under which object key did the intruder leave the ransom note?",
        "text",
        "exact",
        "ransom_note",
        1,
        ("The intruder wrote objects too.",),
        "object keys",
    ),
    Question(
        "delete_alarm_cause",
        "Name one eventID counted in the minute that raised the delete-spike alarm.",
        "text",
        "any-of",
        f"alarms[alarm={DELETE_SPIKE}].transitions[to=ALARM].caused_by",
        1,
        ("The alarm's state reason names the minute; which calls fall in it?",),
        "events",
    ),
)


def generate(seed: int, noise: float) -> Generated:
    """Generate the scenario's records, CloudWatch data and answer key."""
    cast = make_cast(Ids(random.Random(f"{seed}:cast")), DATA_START, DATA_END)
    people = make_people(cast, seed)
    background = Trail(cast.account, Ids(random.Random(f"{seed}:background-record-ids")))
    Background(background, cast, people, seed, noise).write()
    story = _Story(cast, seed)
    story.play(background.records)

    # The delete spike pages the on-call administrator. Only the intruder deletes, so the alarm can be
    # evaluated on the intruder's requests alone; the same seed gives the same evaluation below.
    probe = _cloudwatch(cast, [r for r in story.playbook.trail.records if _on_exports(r, cast)], seed)
    spike = next(t for t in probe.transitions if t.alarm == DELETE_SPIKE and t.new == "ALARM")
    response = Trail(cast.account, Ids(random.Random(f"{seed}:{INFO.name}:response-ids")))
    enabled = story.respond(response, people.dave, later(spike.at, random.Random(f"{seed}:page"), 480, 900))
    ordinary = _consequences(background.records, story, cast, enabled)
    records = [*ordinary, *story.playbook.trail.records, *response.records]
    cloudwatch = _cloudwatch(cast, [r for r in records if _on_exports(r, cast)], seed)
    key = answer_key(
        INFO,
        seed=seed,
        noise=noise,
        cast=cast,
        records=records,
        steps=story.playbook.steps,
        access_keys={"leaked": [], "created": [], "sessions": [story.session.access_key_id]},
        roles_assumed=[role_assumed(story.session, story.assume)],
        resources={
            cast.github_role.arn,
            f"arn:aws:s3:::{cast.exports_bucket}",
            f"arn:aws:s3:::{cast.artifacts_bucket}",
            cast.exports_key_arn,
        },
        response=response.records,
        lookalikes=benign_lookalikes(ordinary),
        alarms=alarm_key(cloudwatch, _causes(records, cast)),
        cloudwatch=cloudwatch,
    )
    key["oidc_subject"] = SUBJECT
    key["kms_key"] = cast.exports_key_arn
    key["objects_deleted"] = sorted(story.deleted)
    key["ransom_note"] = NOTE
    key["recovery"] = sorted(RECOVERY)
    return Generated(cast.account, tuple(records), cloudwatch, key)


class _Story:
    """The intruder's calls, and what they change for everyone else."""

    def __init__(self, cast: Cast, seed: int) -> None:
        self.cast = cast
        self.seed = seed
        self.rng = random.Random(f"{seed}:attack")
        self.ids = Ids(random.Random(f"{seed}:{INFO.name}:attack-ids"))
        self.playbook = Playbook(Trail(cast.account, self.ids))
        self.deleted: dict[str, datetime] = {}

    def play(self, ordinary: list[JSON]) -> None:
        """The attack; ``ordinary`` tells which export objects exist when the intruder lists them."""
        c, rng, act = self.cast, self.rng, self.playbook.act
        at = DATA_START + timedelta(hours=5, minutes=40 + rng.randrange(20))
        self.session = RoleSession(c.github_role, "GitHubActions", self.ids.key_id("ASIA"), at)
        workflow = WebIdentityUser("token.actions.githubusercontent.com", "sts.amazonaws.com", SUBJECT)
        token = Actor(workflow, RUNNER_IP, TOKEN_AGENT)
        credentials = sts.session_token(self.ids)
        exchange = sts.assume_role_with_web_identity(self.session, credentials, c.oidc_provider_arn, SUBJECT)
        self.assume = act("initial-access", "T1078.004", at, token, exchange, region=FLEET_REGION)

        script = Actor(self.session, RUNNER_IP, SCRIPT_AGENT)
        for technique, call, region in (
            ("T1033", sts.get_caller_identity(), FLEET_REGION),
            ("T1619", s3.list_buckets(), FLEET_REGION),
            ("T1619", s3.get_bucket_versioning(c.account, c.exports_bucket), HOME_REGION),
            ("T1526", kms.describe_key(c.exports_key_arn), HOME_REGION),
            ("T1619", s3.list_objects(c.account, c.exports_bucket, "exports/", 16384), HOME_REGION),
        ):
            at = later(at, rng, 8, 40)
            act("discovery", technique, at, script, call, region=region)
        listed = at
        via_s3 = service_actor(self.session.invoked("s3.amazonaws.com"), "s3.amazonaws.com")
        at = later(at, rng, 20, 60)
        act("collection", "T1530", at, via_s3, s3.kms_decrypt(c.exports_key_arn, c.exports_bucket), region=HOME_REGION)
        for key, size in rng.sample(c.exports, 6):
            download = s3.get_object(c.account, c.exports_bucket, key, size)
            act("collection", "T1530", at, script, download, region=HOME_REGION)
            at = later(at, rng, 1, 5)

        at = later(at, rng, 30, 90)
        suspend = s3.put_bucket_versioning(c.account, c.exports_bucket, "Suspended")
        act("impact", "T1490", at, script, suspend, region=HOME_REGION)
        at = later(at, rng, 5, 20)
        lifecycle = s3.put_bucket_lifecycle_expire_all(c.account, c.exports_bucket, "cleanup", 1)
        act("impact", "T1490", at, script, lifecycle, region=HOME_REGION)

        written = [
            r["requestParameters"]["key"]
            for r in ordinary
            if r["eventName"] == "PutObject"
            and r["requestParameters"]["bucketName"] == c.exports_bucket
            and utc(r["eventTime"]) < listed
        ]
        at = later(at, rng, 20, 60)
        for key in sorted({k for k, _ in c.exports} | set(written)):
            act("impact", "T1485", at, script, s3.delete_object(c.account, c.exports_bucket, key), region=HOME_REGION)
            self.deleted[key] = at
            at += timedelta(seconds=rng.choice((0, 0, 0, 1)))
        for _ in range(2):
            at = later(at, rng, 3, 15)
            act("impact", "T1485", at, script, s3.delete_objects(c.account, c.artifacts_bucket), region=HOME_REGION)

        for bucket in (c.exports_bucket, c.artifacts_bucket):
            at = later(at, rng, 10, 40)
            act("impact", "T1486", at, script, s3.put_object(c.account, bucket, NOTE, 1893), region=HOME_REGION)
        at = later(at, rng, 20, 60)
        act("impact", "T1486", at, script, kms.disable_key(c.exports_key_arn), region=HOME_REGION)
        self.disabled_at = at
        at = later(at, rng, 5, 20)
        deletion = console_date((at + timedelta(days=8)).replace(hour=0, minute=0, second=0))
        schedule = kms.schedule_key_deletion(c.exports_key_arn, 7, deletion)
        act("impact", "T1485", at, script, schedule, region=HOME_REGION)
        at = later(at, rng, 30, 90)
        for key in rng.sample(sorted(k for k, _ in c.exports), 4):  # the old versions are now unreadable
            check = s3.get_object_version(c.account, c.exports_bucket, key, self.ids.alnum(32), 0)
            act("impact", "T1486", at, script, check, region=HOME_REGION, error=s3.kms_disabled(c.exports_key_arn))
            at = later(at, rng, 1, 6)
        self.last = at

    def respond(self, trail: Trail, dave: Actor, paged: datetime) -> datetime:
        """The on-call administrator's recovery; returns when the key works again."""
        c, rng = self.cast, random.Random(f"{self.seed}:response")
        at = max(paged, later(self.last, rng, 60, 180))
        enabled = at
        trusted = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": c.oidc_provider_arn},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {
                            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                            "token.actions.githubusercontent.com:sub": "repo:acme/checkout:ref:refs/heads/main",
                        }
                    },
                }
            ],
        }
        for call, region in (
            (kms.describe_key(c.exports_key_arn), HOME_REGION),
            (kms.cancel_key_deletion(c.exports_key_arn), HOME_REGION),
            (kms.enable_key(c.exports_key_arn), HOME_REGION),
            (s3.get_bucket_versioning(c.account, c.exports_bucket), HOME_REGION),
            (s3.put_bucket_versioning(c.account, c.exports_bucket, "Enabled"), HOME_REGION),
            (s3.delete_bucket_lifecycle(c.account, c.exports_bucket), HOME_REGION),
            (iam.update_assume_role_policy(c.github_role, trusted), FLEET_REGION),
        ):
            trail.record(at, dave, call, region=region)
            if call.name == "EnableKey":
                enabled = at
            at = later(at, rng, 15, 70)
        return enabled


def _failed(record: JSON, error: Error) -> JSON:
    """``record`` as it reads when the call fails with ``error``."""
    failed: JSON = {}
    for name, value in record.items():
        if name == "requestParameters":
            failed["errorCode"] = error.code
            failed["errorMessage"] = error.message
        failed[name] = value
    failed["responseElements"] = None
    if record["eventSource"] == "s3.amazonaws.com" and record.get("additionalEventData"):
        failed["additionalEventData"] = {**record["additionalEventData"], "bytesTransferredOut": 0}
    return failed


def _consequences(ordinary: list[JSON], story: _Story, cast: Cast, enabled: datetime | None) -> list[JSON]:
    """The ordinary day's records, failing where the attack made them fail."""
    key_arn, bucket = cast.exports_key_arn, cast.exports_bucket
    result = []
    for record in ordinary:
        at = utc(record["eventTime"])
        disabled = story.disabled_at <= at and (enabled is None or at < enabled)
        params = record.get("requestParameters") or {}
        resources = record.get("resources") or [{}]
        on_key = record["eventSource"] == "kms.amazonaws.com" and resources[0].get("ARN") == key_arn
        on_bucket = record["eventSource"] == "s3.amazonaws.com" and params.get("bucketName") == bucket
        if on_bucket and record["eventName"] == "GetObject" and story.deleted.get(params["key"], at) < at:
            record = _failed(record, s3.no_such_key())
        elif disabled and on_bucket and record["eventName"] in ("GetObject", "PutObject"):
            record = _failed(record, s3.kms_disabled(key_arn))
        elif disabled and on_key:
            record = _failed(record, Error("DisabledException", f"{key_arn} is disabled."))
        result.append(record)
    return result


def _on_exports(record: JSON, cast: Cast) -> bool:
    return (
        record["eventSource"] == "s3.amazonaws.com"
        and (record.get("requestParameters") or {}).get("bucketName") == cast.exports_bucket
    )


#: Request metric -> which of the bucket's records it counts.
_REQUESTS = {
    "DeleteRequests": lambda r: r["eventName"] in ("DeleteObject", "DeleteObjects"),
    "PutRequests": lambda r: r["eventName"] == "PutObject",
    "GetRequests": lambda r: r["eventName"] == "GetObject",
    "4xxErrors": lambda r: bool(r.get("errorCode")),
}


def _cloudwatch(cast: Cast, bucket_records: list[JSON], seed: int) -> CloudWatchData:
    """The exports bucket's request metrics (per minute, from its records) and two alarms, in eu-west-1."""
    data = CloudWatchData(HOME_REGION, cast.account, DATA_START, DATA_END, alarm_actions=(cast.alerts_topic_arn,))
    dimensions = (("BucketName", cast.exports_bucket), ("FilterId", "EntireBucket"))
    metrics = {}
    for n, (name, counts) in enumerate(_REQUESTS.items()):
        values: dict[datetime, float] = {}
        for record in bucket_records:
            if counts(record):
                minute = floor(utc(record["eventTime"]), 1)
                values[minute] = values.get(minute, 0.0) + 1.0
        metrics[name] = Metric(f"s3Requests{n + 1}", "AWS/S3", name, dimensions, "Sum")
        data.series.append(Series(metrics[name], values))
    alarms = (
        Alarm(DELETE_SPIKE, "More than 20 deletes a minute in acme-customer-exports", metrics["DeleteRequests"],
              "GreaterThanThreshold", 20.0, 1, 1, "notBreaching"),
        Alarm(ERROR_BURST, "At least 3 client errors a minute in acme-customer-exports", metrics["4xxErrors"],
              "GreaterThanOrEqualToThreshold", 3.0, 1, 1, "notBreaching"),
    )  # fmt: skip
    rng = random.Random(f"{seed}:alarms")
    for alarm in alarms:
        add_alarm(data, alarm, rng)
    return data


def _causes(records: list[JSON], cast: Cast) -> Cause:
    """The bucket's requests each alarm counted in the minute that raised it."""
    by_minute: dict[tuple[str, datetime], list[JSON]] = {}
    for record in records:
        if _on_exports(record, cast):
            minute = floor(utc(record["eventTime"]), 1)
            if _REQUESTS["DeleteRequests"](record):
                by_minute.setdefault((DELETE_SPIKE, minute), []).append(record)
            if _REQUESTS["4xxErrors"](record):
                by_minute.setdefault((ERROR_BURST, minute), []).append(record)

    def cause(alarm: str, t: Transition) -> tuple[list[JSON], str]:
        if t.new != "ALARM":
            return [], "the count fell below the threshold"
        found = sorted(by_minute.get((alarm, t.period_start), []), key=lambda r: (r["eventTime"], r["eventID"]))
        if alarm == DELETE_SPIKE:
            return found, f"{len(found)} delete requests in that minute"
        codes = sorted({r["errorCode"] for r in found})
        return found, f"{len(found)} failed requests in that minute ({', '.join(codes)})"

    return cause
