"""Scenario ``rds-lambda-outage``: an insider takes the checkout service down after hours.

The seeds' operational questions — *who stopped the RDS instance, who set the Lambda's
concurrency to 0?* — with an insider as the answer (times vary with the seed, the order does not):

1. *Initial access.* Long after office hours, ``sam@acme.example`` opens the account through
   IAM Identity Center (``AssumeRoleWithSAML`` into the administrator permission set) from a
   home address, 198.51.100.140. The role is the one the daytime SSO administrator uses too.
2. *Discovery.* In the console: the database, the functions, the alarms.
3. *Defence evasion.* ``DisableAlarmActions`` on the service's alarms: they will change state
   but page nobody (the alarm history has state changes and no notifications).
4. *Impact.* ``StopDBInstance`` on ``orders-db``, then ``PutFunctionConcurrency`` 0 on
   ``checkout-handler``. Nobody responds before the data ends.

The benign day is the same as in ``leaked-key`` (including the look-alikes: the daytime SSO
administrator stops ``staging-db`` and caps ``report-generator``).
"""

from __future__ import annotations

import random
from datetime import timedelta

from forensics.scenarios.answerkey import Playbook, answer_key, role_assumed
from forensics.scenarios.api import awslambda, observability, rds, sts
from forensics.scenarios.background import Background, World, benign_lookalikes, make_people
from forensics.scenarios.cast import FLEET_REGION, HOME_REGION, make_cast
from forensics.scenarios.checkout import (
    CONNECTIONS_LOW,
    CPU_HIGH,
    DOWNLOAD_SPIKE,
    THROTTLED,
    Cause,
    Outage,
    alarm_key,
    checkout_cloudwatch,
)
from forensics.scenarios.cloudwatch import Transition
from forensics.scenarios.identities import JSON, RoleSession, SAMLUser
from forensics.scenarios.ids import Ids
from forensics.scenarios.model import Generated, ScenarioInfo
from forensics.scenarios.questions import Question
from forensics.scenarios.records import Actor, Trail
from forensics.scenarios.times import later, utc

INFO = ScenarioInfo(
    name="rds-lambda-outage",
    title="After hours: who stopped the orders database and throttled checkout, and why was nobody paged?",
    description=(
        "In the evening the checkout service goes down: orders-db is stopped and checkout-handler throttles "
        "every request. The alarms changed state, yet no notification went out. Find who did it, how they "
        "got in, from where, and what they did before."
    ),
    tactics=("Initial Access", "Discovery", "Defense Evasion", "Impact"),
)

DATA_START = utc("2024-04-18T12:00:00Z")
DATA_END = utc("2024-04-18T20:00:00Z")
INSIDER = "sam@acme.example"
HOME_IP = "198.51.100.140"
HOME_BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:124.0) Gecko/20100101 Firefox/124.0"


QUESTIONS = (
    Question(
        "who",
        "Who stopped orders-db? (the principal's ARN, or the session name)",
        "text",
        "exact",
        "stages[*].events[eventName=StopDBInstance].actor",
        2,
        ("Two databases were stopped that day, by the same role; the session tells people apart.",),
        "principals",
    ),
    Question(
        "source_ips",
        "From which source IP addresses did that person act? (a list)",
        "list",
        "set",
        "attacker.source_ips",
        1,
        ("Follow the session from its sign-in.",),
        "source IPs",
    ),
    Question(
        "sign_in",
        "Which eventID opened that person's session?",
        "text",
        "exact",
        "attacker.roles_assumed[0].eventID",
        2,
        ("IAM Identity Center sessions start with a federation call.",),
        "events",
    ),
    Question(
        "session_key",
        "Which access key ID did the session use?",
        "text",
        "exact",
        "attacker.access_key_ids.sessions[0]",
        1,
        ("The credentials in the response of the call that opened the session.",),
        "access keys",
    ),
    Question(
        "silenced",
        "Which call stopped the alarms from notifying anyone? (eventName)",
        "text",
        "exact",
        "stages[*].events[technique=T1562.001].eventName",
        2,
        ("The alarms changed state, but the alarm history has no actions after a certain time.",),
        "event names",
    ),
    Question(
        "stop_event",
        "Which eventID stopped orders-db?",
        "text",
        "exact",
        "stages[*].events[eventName=StopDBInstance].eventID",
        1,
        ("Check the database identifier in requestParameters.",),
        "events",
    ),
    Question(
        "throttle_event",
        "Which eventID throttled checkout-handler?",
        "text",
        "exact",
        "stages[*].events[eventName=PutFunctionConcurrency*].eventID",
        1,
        ("Lambda's event names carry an API version.",),
        "events",
    ),
    Question(
        "first_action",
        "When did the session start (UTC)?",
        "time",
        "time",
        "stages[0].events[0].eventTime",
        1,
        ("Office hours end at 17:30.",),
        tolerance=60,
    ),
)


def generate(seed: int, noise: float) -> Generated:
    """Generate the scenario's records, CloudWatch data and answer key."""
    cast = make_cast(Ids(random.Random(f"{seed}:cast")), DATA_START, DATA_END)
    rng = random.Random(f"{seed}:attack")
    ids = Ids(random.Random(f"{seed}:attack-ids"))
    playbook = Playbook(Trail(cast.account, ids))
    act = playbook.act

    at = DATA_START + timedelta(hours=6, minutes=15 + rng.randrange(45))
    session = RoleSession(cast.sso_admin_role, INSIDER, ids.key_id("ASIA"), at)
    sign_in = act(
        "initial-access",
        "T1078.004",
        at,
        Actor(SAMLUser(INSIDER, cast.sso_issuer_hash), HOME_IP, HOME_BROWSER),
        sts.assume_role_with_saml(
            session,
            sts.session_token(ids),
            cast.saml_provider_arn,
            f"https://portal.sso.{HOME_REGION}.amazonaws.com/saml/assertion/{ids.base64(24)}",
            ids,
        ),
        region=FLEET_REGION,
    )
    console = Actor(session, HOME_IP, HOME_BROWSER, console=True)
    alarm_names = [CONNECTIONS_LOW, CPU_HIGH, THROTTLED, DOWNLOAD_SPIKE]
    for technique, call in (
        ("T1580", rds.describe_db_instances()),
        ("T1526", awslambda.list_functions()),
        ("T1526", awslambda.get_function(cast.checkout_function)),
        ("T1526", observability.describe_alarms()),
    ):
        at = later(at, rng, 20, 90)
        act("discovery", technique, at, console, call, region=HOME_REGION)
    at = later(at, rng, 30, 120)
    disabled = act(
        "defense-evasion",
        "T1562.001",
        at,
        console,
        observability.disable_alarm_actions(alarm_names),
        region=HOME_REGION,
    )
    disabled_at = at
    at = later(at, rng, 60, 240)
    act("discovery", "T1580", at, console, rds.describe_db_instances(cast.orders_db.identifier), region=HOME_REGION)
    at = later(at, rng, 10, 40)
    stop = act("impact", "T1489", at, console, rds.stop_db_instance(cast.orders_db), region=HOME_REGION)
    stop_at = at
    at = later(at, rng, 90, 300)
    act(
        "discovery",
        "T1526",
        at,
        console,
        awslambda.get_function_concurrency(cast.checkout_function),
        region=HOME_REGION,
    )
    at = later(at, rng, 10, 40)
    throttle = act(
        "impact",
        "T1489",
        at,
        console,
        awslambda.put_function_concurrency(cast.checkout_function, 0),
        region=HOME_REGION,
    )
    throttle_at = at

    people = make_people(cast, seed)
    background = Trail(cast.account, Ids(random.Random(f"{seed}:background-record-ids")))
    Background(background, cast, people, seed, noise, World(checkout_throttled=(throttle_at, DATA_END))).write()
    records = [*background.records, *playbook.trail.records]
    outage = Outage(db_stopped=stop_at, throttled=throttle_at, actions_disabled=disabled_at)
    cloudwatch = checkout_cloudwatch(cast, records, outage, seed, noise)
    return Generated(
        cast.account,
        tuple(records),
        cloudwatch,
        answer_key(
            INFO,
            seed=seed,
            noise=noise,
            cast=cast,
            records=records,
            steps=playbook.steps,
            access_keys={"leaked": [], "created": [], "sessions": [session.access_key_id]},
            roles_assumed=[role_assumed(session, sign_in)],
            resources={cast.sso_admin_role.arn, cast.orders_db.arn, cast.checkout_function_arn}
            | {f"arn:aws:cloudwatch:{HOME_REGION}:{cast.account}:alarm:{name}" for name in alarm_names},
            response=[],
            lookalikes=benign_lookalikes(background.records),
            alarms=alarm_key(cloudwatch, _causes(stop, throttle), actions_disabled_by=disabled),
            cloudwatch=cloudwatch,
        ),
    )


def _causes(stop: JSON, throttle: JSON) -> Cause:
    """Which API calls changed which alarm's state."""
    silenced = "; DisableAlarmActions had switched its notifications off"

    def cause(alarm: str, t: Transition) -> tuple[list[JSON], str]:
        if alarm == CONNECTIONS_LOW and t.new == "ALARM":
            return [stop], "StopDBInstance stopped orders-db: no connections, then no data" + silenced
        if alarm == THROTTLED and t.new == "ALARM":
            return [throttle], "PutFunctionConcurrency set reserved concurrency to 0" + silenced
        if alarm == CPU_HIGH and t.new == "INSUFFICIENT_DATA":
            return [stop], "StopDBInstance: a stopped instance publishes no CPU data"
        if alarm == CPU_HIGH:
            return [], "benign: a reporting query (no API call caused it)"
        return [], "no API call caused it"

    return cause
