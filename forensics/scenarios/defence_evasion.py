"""Scenario ``defence-evasion``: the trail is stopped, GuardDuty and Config switched off, a backdoor user made.

The story (times vary with the seed, the order does not):

1. *Initial access.* Someone signs in to the console as ``ops-breakglass``, an emergency
   administrator without MFA, from 203.0.113.118.
2. *Discovery.* The console pages of IAM, CloudTrail, GuardDuty and Config.
3. *Defence evasion.* GuardDuty's detectors are deleted in us-east-1 and eu-west-1, the
   Config recorders stopped, and finally the trail itself (``StopLogging``).
4. *The gap.* A stopped trail records nothing, in any region, until ``StartLogging``: every
   event between the two, the intruder's and the ordinary day's, is **absent from the data**.
   In the gap the intruder creates the user ``svc-backup``. The CIS alarm on trail changes
   pages the on-call SSO administrator, who restarts logging ten to eighteen minutes later.
5. *Persistence.* Unaware, the intruder carries on: a console password, an access key and
   ``AdministratorAccess`` for ``svc-backup``, whose new key is then tried from 198.51.100.77.
6. The responders contain: the backdoor's key, password and policy, the break-glass password,
   GuardDuty and Config back on.

How the gap is modelled, honestly: the data set is this trail's delivery, so nothing of the
interval is in it. The intruder's calls in the gap are stated in the answer key
(``logging_gap.unrecorded_attacker_actions``) from the story, without event IDs, because no
record of them exists; later records (``CreateLoginProfile`` for a user nobody created in the
logs) point at them. Other evidence (the user's creation date in IAM, Config history) would
be needed in reality.

CloudWatch covers us-east-1, where the trail's CloudWatch Logs group and the CIS
Benchmark metric filters live: sign-in without MFA, trail changes, Config changes and IAM
policy changes, each counted from the *recorded* events, with an alarm on each.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from forensics.scenarios.answerkey import Playbook, answer_key
from forensics.scenarios.api import Call, configservice, guardduty, iam, observability, s3, sts
from forensics.scenarios.background import Background, benign_lookalikes, make_people
from forensics.scenarios.cast import FLEET_REGION, HOME_REGION, make_cast
from forensics.scenarios.checkout import Cause, alarm_key
from forensics.scenarios.cloudwatch import Alarm, CloudWatchData, Metric, Series, Transition, add_alarm
from forensics.scenarios.identities import JSON, ConsoleUser, IAMUser
from forensics.scenarios.ids import Ids
from forensics.scenarios.model import Generated, ScenarioInfo
from forensics.scenarios.questions import Question
from forensics.scenarios.records import Actor, Trail
from forensics.scenarios.times import floor, later, utc

INFO = ScenarioInfo(
    name="defence-evasion",
    title="Defence evasion: CloudTrail stopped, GuardDuty and Config switched off, a backdoor user created",
    description=(
        "Security alarms report a console sign-in without MFA and a change to the trail. Find who signed in "
        "and from where, which defences were switched off and when, what is missing from the logs, and which "
        "backdoor was left behind."
    ),
    tactics=("Initial Access", "Discovery", "Defense Evasion", "Persistence"),
)

DATA_START = utc("2024-07-09T09:00:00Z")
DATA_END = utc("2024-07-09T17:00:00Z")
BREAKGLASS, BACKDOOR = "ops-breakglass", "svc-backup"
FIRST_IP, SECOND_IP = "203.0.113.118", "198.51.100.77"
INTRUDER_BROWSER = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 "
    "Safari/537.36 Edg/126.0.0.0"
)
BACKDOOR_AGENT = (
    "aws-cli/2.17.5 md/awscrt#0.20.11 ua/2.0 os/linux#6.8.0-36-generic md/arch#x86_64 lang/python#3.11.9 "
    "md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.24 md/prompt#off "
    "md/command#{command}"
)
ADMIN_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess"
DEFENDED_REGIONS = (FLEET_REGION, HOME_REGION)

#: CIS AWS Foundations metric filters (CloudWatch Logs group of the trail): metric, alarm, what matches.
CIS_FILTERS: dict[str, tuple[str, str]] = {
    "ConsoleSignInWithoutMfaCount": ("cis-console-signin-without-mfa", "console sign-in without MFA"),
    "CloudTrailChangeCount": ("cis-cloudtrail-changes", "CloudTrail configuration changes"),
    "ConfigChangeCount": ("cis-config-changes", "AWS Config configuration changes"),
    "IAMPolicyEventCount": ("cis-iam-policy-changes", "IAM policy changes"),
}
_TRAIL_CHANGES = {"CreateTrail", "UpdateTrail", "DeleteTrail", "StartLogging", "StopLogging"}
_CONFIG_CHANGES = {
    "StopConfigurationRecorder", "DeleteDeliveryChannel", "PutDeliveryChannel", "PutConfigurationRecorder"
}  # fmt: skip
_POLICY_CHANGES = {
    f"{verb}{kind}"
    for verb, kinds in (
        ("Put", ("GroupPolicy", "RolePolicy", "UserPolicy")),
        ("Delete", ("GroupPolicy", "RolePolicy", "UserPolicy", "Policy", "PolicyVersion")),
        ("Create", ("Policy", "PolicyVersion")),
        ("Attach", ("RolePolicy", "UserPolicy", "GroupPolicy")),
        ("Detach", ("RolePolicy", "UserPolicy", "GroupPolicy")),
    )
    for kind in kinds
}

QUESTIONS = (
    Question(
        "signed_in_as",
        "As which IAM user did the intruder sign in (name or ARN)?",
        "text",
        "exact",
        "attacker.principal_arns[0]",
        1,
        ("Start from the sign-in that the alarm complained about.",),
        "users",
    ),
    Question(
        "source_ips",
        "From which source IP addresses did the intruder act? (a list)",
        "list",
        "set",
        "attacker.source_ips",
        2,
        ("Follow the sign-in's session, then whatever it created.", "The backdoor was used from elsewhere."),
        "source IPs",
    ),
    Question(
        "defences",
        "Which security services did the intruder switch off? (eventSources, a list)",
        "list",
        "set",
        "defences_disabled",
        2,
        ("Look for write calls of the session to services that watch the account.", "There are three."),
        "services",
    ),
    Question(
        "guardduty_regions",
        "In which regions was a GuardDuty detector deleted? (a list)",
        "list",
        "set",
        "stages[*].events[eventName=DeleteDetector].awsRegion",
        1,
        ("GuardDuty is regional.",),
        "regions",
    ),
    Question(
        "stop_logging",
        "Which eventID stopped the trail?",
        "text",
        "exact",
        "logging_gap.stopped.eventID",
        2,
        ("The trail's own management events record it.",),
        "events",
    ),
    Question(
        "logging_resumed",
        "When did the trail record again (UTC)?",
        "time",
        "time",
        "logging_gap.restarted.eventTime",
        1,
        ("Look at the delivered files or the event counts per minute: where is the hole?",),
        tolerance=60,
    ),
    Question(
        "missing_call",
        "Which call of the intruder must have happened but is not in the logs? (eventName)",
        "text",
        "exact",
        "logging_gap.unrecorded_attacker_actions[eventName=Create*].eventName",
        2,
        ("A later call acts on something whose creation you cannot find.",),
        "event names",
    ),
    Question(
        "backdoor_user",
        "Which IAM user is the backdoor (name or ARN)?",
        "text",
        "exact",
        "backdoor_user",
        1,
        ("Who received a password, an access key and a policy?",),
        "users",
    ),
    Question(
        "backdoor_key",
        "Which access key ID did the intruder create?",
        "text",
        "exact",
        "attacker.access_key_ids.created[0]",
        1,
        ("responseElements of the call that created it.",),
        "access keys",
    ),
)


def generate(seed: int, noise: float) -> Generated:
    """Generate the scenario's records, CloudWatch data and answer key."""
    cast = make_cast(Ids(random.Random(f"{seed}:cast")), DATA_START, DATA_END)
    rng = random.Random(f"{seed}:attack")
    ids = Ids(random.Random(f"{seed}:{INFO.name}:attack-ids"))
    playbook = Playbook(Trail(cast.account, ids))
    act = playbook.act
    breakglass = IAMUser(cast.account, BREAKGLASS, ids.principal_id("AIDA"), "")
    detectors = {region: ids.hex(32) for region in DEFENDED_REGIONS}

    at = DATA_START + timedelta(hours=3, minutes=30 + rng.randrange(60))
    sign_in = Actor(breakglass, FIRST_IP, INTRUDER_BROWSER)
    login = act("initial-access", "T1078.004", at, sign_in, iam.console_login(None), region=FLEET_REGION)
    session = ConsoleUser(breakglass, ids.key_id("ASIA"), utc(login["eventTime"]), mfa=False)
    console = Actor(session, FIRST_IP, INTRUDER_BROWSER, console=True)
    look: list[tuple[str, Call, str]] = [
        ("T1087.004", iam.list_users(), FLEET_REGION),
        ("T1518.001", observability.describe_trails(), FLEET_REGION),
        ("T1518.001", observability.get_trail_status(cast.trail_arn), FLEET_REGION),
        ("T1518.001", observability.get_event_selectors(cast.trail_arn), FLEET_REGION),
        ("T1518.001", guardduty.list_detectors(), FLEET_REGION),
        ("T1518.001", configservice.describe_configuration_recorders(), FLEET_REGION),
    ]
    for technique, call, region in look:
        at = later(at, rng, 15, 70)
        act("discovery", technique, at, console, call, region=region)

    for region in DEFENDED_REGIONS:
        at = later(at, rng, 20, 60)
        if region != FLEET_REGION:
            act("discovery", "T1518.001", at, console, guardduty.list_detectors(), region=region)
            at = later(at, rng, 5, 20)
        act("discovery", "T1518.001", at, console, guardduty.get_detector(detectors[region]), region=region)
        at = later(at, rng, 10, 40)
        act("defense-evasion", "T1562.001", at, console, guardduty.delete_detector(detectors[region]), region=region)
    for region in DEFENDED_REGIONS:
        at = later(at, rng, 20, 60)
        act("defense-evasion", "T1562.001", at, console, configservice.stop_configuration_recorder(), region=region)
    at = later(at, rng, 30, 90)
    stop = act(
        "defense-evasion", "T1562.008", at, console, observability.stop_logging(cast.trail_arn), region=FLEET_REGION
    )
    stopped_at = at

    # In the gap: the intruder's calls happen, but the stopped trail records none of them.
    backdoor = IAMUser(cast.account, BACKDOOR, ids.principal_id("AIDA"), ids.key_id("AKIA"))
    unrecorded = Trail(cast.account, Ids(random.Random(f"{seed}:{INFO.name}:unrecorded-ids")))
    at = later(at, rng, 120, 300)
    unrecorded.record(at, console, iam.create_user(backdoor, at), region=FLEET_REGION)
    at = later(at, rng, 20, 60)
    unrecorded.record(at, console, iam.get_user(BACKDOOR), region=FLEET_REGION)

    people = make_people(cast, seed)
    response = Trail(cast.account, Ids(random.Random(f"{seed}:{INFO.name}:response-ids")))
    response_rng = random.Random(f"{seed}:response")
    restarted_at = later(stopped_at, response_rng, 600, 1080)
    restart = response.record(
        restarted_at, people.dave, observability.start_logging(cast.trail_arn), region=FLEET_REGION
    )
    at = later(restarted_at, response_rng, 10, 40)
    response.record(at, people.dave, observability.get_trail_status(cast.trail_arn), region=FLEET_REGION)

    at = later(max(at, restarted_at), rng, 60, 240)
    for technique, call in (
        ("T1098.001", iam.create_login_profile(BACKDOOR, at)),
        ("T1098.001", iam.create_access_key(backdoor, at)),
        ("T1098.003", iam.attach_user_policy(BACKDOOR, ADMIN_POLICY)),
    ):
        act("persistence", technique, at, console, call, region=FLEET_REGION)
        at = later(at, rng, 25, 90)
    cli = Actor(backdoor, SECOND_IP, BACKDOOR_AGENT)
    at = later(at, rng, 120, 420)
    for technique, call in (
        ("T1033", sts.get_caller_identity()),
        ("T1087.004", iam.list_users()),
        ("T1619", s3.list_buckets()),
    ):
        act("discovery", technique, at, cli, call, region=FLEET_REGION)
        at = later(at, rng, 2, 20)

    contain = [
        (iam.list_access_keys(BACKDOOR), FLEET_REGION),
        (iam.update_access_key(BACKDOOR, backdoor.access_key_id, "Inactive"), FLEET_REGION),
        (iam.delete_login_profile(BACKDOOR), FLEET_REGION),
        (iam.detach_user_policy(BACKDOOR, ADMIN_POLICY), FLEET_REGION),
        (iam.delete_login_profile(BREAKGLASS), FLEET_REGION),
        *((guardduty.create_detector(ids.hex(32)), region) for region in DEFENDED_REGIONS),
        *((configservice.start_configuration_recorder(), region) for region in DEFENDED_REGIONS),
    ]
    at = later(at, response_rng, 300, 600)
    for call, region in contain:
        response.record(at, people.dave, call, region=region)
        at = later(at, response_rng, 10, 60)

    background = Trail(cast.account, Ids(random.Random(f"{seed}:background-record-ids")))
    Background(background, cast, people, seed, noise).write()
    recorded = [r for r in background.records if not stopped_at < utc(r["eventTime"]) < restarted_at]
    records = [*recorded, *playbook.trail.records, *response.records]
    cloudwatch = _cloudwatch(cast.account, records, seed)
    key = answer_key(
        INFO,
        seed=seed,
        noise=noise,
        cast=cast,
        records=records,
        steps=playbook.steps,
        access_keys={"leaked": [], "created": [backdoor.access_key_id], "sessions": [session.access_key_id]},
        roles_assumed=[],
        resources={breakglass.arn, backdoor.arn, cast.trail_arn}
        | {f"arn:aws:guardduty:{r}:{cast.account}:detector/{detectors[r]}" for r in DEFENDED_REGIONS}
        | {f"arn:aws:config:{r}:{cast.account}:config-recorder/default" for r in DEFENDED_REGIONS},
        response=response.records,
        lookalikes=benign_lookalikes(recorded),
        alarms=alarm_key(cloudwatch, _causes(records)),
        cloudwatch=cloudwatch,
    )
    key["defences_disabled"] = sorted({"cloudtrail.amazonaws.com", "config.amazonaws.com", "guardduty.amazonaws.com"})
    key["backdoor_user"] = backdoor.arn
    key["logging_gap"] = _gap(stop, restart, unrecorded.records, len(background.records) - len(recorded))
    return Generated(cast.account, tuple(records), cloudwatch, key)


def _gap(stop: JSON, restart: JSON, unrecorded: list[JSON], lost_background: int) -> JSON:
    """The answer key's account of the logging gap."""
    return {
        "trail": stop["requestParameters"]["name"],
        "stopped": {"eventID": stop["eventID"], "eventTime": stop["eventTime"]},
        "restarted": {"eventID": restart["eventID"], "eventTime": restart["eventTime"]},
        "unrecorded_attacker_actions": [
            {k: r[k] for k in ("eventTime", "eventSource", "eventName", "awsRegion", "requestParameters")}
            for r in unrecorded
        ],
        "unrecorded_background_events": lost_background,
        "modelled": (
            "A stopped trail records nothing in any region until StartLogging, so no event between StopLogging and "
            "StartLogging is in the data, neither the intruder's nor the ordinary day's. The intruder's calls in the "
            "gap are stated here from the story (they have no record, hence no eventID); later records act on what "
            "they created."
        ),
    }


def cis_metric(record: JSON) -> str | None:
    """The CIS metric filter that counts ``record``, if any."""
    name = record["eventName"]
    if (
        name == "ConsoleLogin"
        and record["userIdentity"]["type"] == "IAMUser"
        and (record.get("additionalEventData") or {}).get("MFAUsed") != "Yes"
        and (record.get("responseElements") or {}).get("ConsoleLogin") == "Success"
    ):
        return "ConsoleSignInWithoutMfaCount"
    if record["eventSource"] == "cloudtrail.amazonaws.com" and name in _TRAIL_CHANGES:
        return "CloudTrailChangeCount"
    if record["eventSource"] == "config.amazonaws.com" and name in _CONFIG_CHANGES:
        return "ConfigChangeCount"
    if record["eventSource"] == "iam.amazonaws.com" and name in _POLICY_CHANGES:
        return "IAMPolicyEventCount"
    return None


def _cloudwatch(account: str, records: list[JSON], seed: int) -> CloudWatchData:
    """The CIS metric-filter series (per minute, from the recorded events) and their alarms, in us-east-1."""
    data = CloudWatchData(
        FLEET_REGION, account, DATA_START, DATA_END, alarm_actions=(f"arn:aws:sns:{FLEET_REGION}:{account}:security",)
    )
    counts: dict[str, dict[datetime, float]] = {name: {} for name in CIS_FILTERS}
    for record in records:
        metric = cis_metric(record)
        if metric:
            minute = floor(utc(record["eventTime"]), 1)
            counts[metric][minute] = counts[metric].get(minute, 0.0) + 1.0
    rng = random.Random(f"{seed}:alarms")
    for n, (name, (alarm_name, what)) in enumerate(CIS_FILTERS.items()):
        metric = Metric(f"cis{n + 1}", "CloudTrailMetrics", name, (), "Sum")
        data.series.append(Series(metric, counts[name]))
        alarm = Alarm(alarm_name, f"CIS: {what}", metric, "GreaterThanOrEqualToThreshold", 1.0, 1, 1, "notBreaching")
        add_alarm(data, alarm, rng)
    return data


def _causes(records: list[JSON]) -> Cause:
    """The records each metric filter counted in the minute that raised its alarm."""
    by_minute: dict[tuple[str, datetime], list[JSON]] = {}
    for record in records:
        metric = cis_metric(record)
        if metric:
            by_minute.setdefault((CIS_FILTERS[metric][0], floor(utc(record["eventTime"]), 1)), []).append(record)

    def cause(alarm: str, t: Transition) -> tuple[list[JSON], str]:
        if t.new != "ALARM":
            return [], "no matching event in the last minute"
        found = sorted(by_minute.get((alarm, t.period_start), []), key=lambda r: (r["eventTime"], r["eventID"]))
        return found, f"the metric filter counted {', '.join(r['eventName'] for r in found)} in that minute"

    return cause

