"""Scenario ``crypto-mining``: a leaked key launches miners in regions Acme never uses.

The story (times vary with the seed, the order does not):

1. *Initial access.* The long-term key of ``ml-sandbox``, an IAM user left over from a
   machine-learning trial (its key sits in a notebook pushed to a public repository), is
   checked from 203.0.113.45 with ``GetCallerIdentity``.
2. *Discovery.* Twenty to forty minutes later an automation on 198.51.100.211 lists the
   regions and reads the EC2 vCPU quotas of three regions Acme never uses.
3. In each of those regions it creates a key pair (*persistence*: its SSH key on every
   instance), a security group open to the world on SSH (*defence evasion*), tries GPU
   instances (``p3.16xlarge``, ``g4dn.12xlarge``) that fail on the vCPU quota
   (``Client.VcpuLimitExceeded``), asks for a quota increase, and launches ``c5.24xlarge``
   miners with user data (*impact*: compute hijacking).
4. Acme's guardrail alarm (deployed by StackSets in every region: more than 32 On-Demand
   Standard vCPUs running) fires in ap-northeast-1. The SSO administrator terminates the
   miners in all three regions, deletes the key pairs and deactivates the key.

CloudWatch covers ap-northeast-1, where the guardrail paged: the vCPU usage metric
(``AWS/Usage`` ``ResourceCount``), the miners' ``CPUUtilization`` (basic monitoring, so one
datapoint every five minutes) and the alarm. Billing metrics are left out on purpose:
``AWS/Billing`` ``EstimatedCharges`` is updated a few times a day, far too coarse to tie to
an API call. The benign day is the usual one; Auto Scaling's ``RunInstances`` of the web
fleet in us-east-1 is the look-alike.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from forensics.scenarios.answerkey import Playbook, answer_key, event_entry
from forensics.scenarios.api import Call, ec2, iam, servicequotas, sts
from forensics.scenarios.background import Background, benign_lookalikes, make_people
from forensics.scenarios.cast import FLEET_REGION, make_cast
from forensics.scenarios.checkout import Cause, alarm_key
from forensics.scenarios.cloudwatch import MINUTE, Alarm, CloudWatchData, Metric, Series, Transition, add_alarm, minutes
from forensics.scenarios.identities import JSON, IAMUser
from forensics.scenarios.ids import Ids
from forensics.scenarios.model import Generated, ScenarioInfo
from forensics.scenarios.questions import Question
from forensics.scenarios.records import Actor, Trail
from forensics.scenarios.times import console_date, floor, later, utc

INFO = ScenarioInfo(
    name="crypto-mining",
    title="Cryptojacking: a leaked key launches large instances in regions the company never uses",
    description=(
        "A guardrail alarm reports dozens of vCPUs running in a region Acme has never used. Find whose "
        "credentials were used, from where, in which regions, what was launched and what failed, and what the "
        "intruder left behind that outlives the instances."
    ),
    tactics=("Initial Access", "Discovery", "Persistence", "Defense Evasion", "Impact"),
)

DATA_START = utc("2024-06-04T08:00:00Z")
DATA_END = utc("2024-06-04T16:00:00Z")
USER = "ml-sandbox"
CHECK_IP, MINER_IP = "203.0.113.45", "198.51.100.211"
CHECK_AGENT = "aws-sdk-go-v2/1.24.1 os/linux lang/go#1.21.6 md/GOOS#linux md/GOARCH#amd64 api/sts#1.26.7"
MINER_AGENT = (
    "Boto3/1.28.85 md/Botocore#1.31.85 ua/2.0 os/linux#5.15.0-91-generic md/arch#x86_64 lang/python#3.10.12 "
    "md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.31.85"
)
#: Regions Acme never uses, in the order the automation works through them.
REGIONS = ("ap-northeast-1", "sa-east-1", "eu-north-1")
ALARM_REGION = REGIONS[0]
GUARDRAIL = "ec2-vcpu-guardrail"
KEY_PAIR, GROUP = "deploy-key", "default-ssh"
#: (instance type, vCPUs, quota code, quota in the region): GPUs have none in unused regions.
GPU_TYPES = (("p3.16xlarge", 64, servicequotas.P_VCPU), ("g4dn.12xlarge", 48, servicequotas.G_VCPU))
MINER_TYPE, MINER_VCPUS, MINERS_PER_REGION = "c5.24xlarge", 96, 2
#: What the intruder created or requested that the response does not remove.
LEFTOVERS = ("CreateSecurityGroup", "AuthorizeSecurityGroupIngress", "RequestServiceQuotaIncrease")

QUESTIONS = (
    Question(
        "access_key",
        "Which access key ID launched the instances?",
        "text",
        "exact",
        "attacker.access_key_ids.leaked[0]",
        2,
        ("Look at who called RunInstances in the region of the alarm.",),
        "access keys",
    ),
    Question(
        "user",
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
        "From which source IP addresses did the intruder call AWS? (a list)",
        "list",
        "set",
        "attacker.source_ips",
        2,
        ("Follow the access key over the whole day, not only the launches.", "One address was used only once."),
        "source IPs",
    ),
    Question(
        "regions",
        "In which regions did the intruder launch or try to launch instances? (a list)",
        "list",
        "set",
        "regions_abused",
        2,
        ("Group the RunInstances calls of that key by awsRegion, failed ones included.",),
        "regions",
    ),
    Question(
        "instances",
        "Which instance IDs were started? (a list)",
        "list",
        "set",
        "instances_launched[*].instanceId",
        2,
        ("responseElements of the successful RunInstances calls list the instances.",),
        "instances",
    ),
    Question(
        "failed_launch_error",
        "With which error code did the GPU launches fail?",
        "text",
        "exact",
        "stages[*].events[errorCode=Client.*].errorCode",
        1,
        ("Look at the failed calls of the intruder.",),
        "error codes",
    ),
    Question(
        "first_action",
        "When did the intruder first use the key (UTC)?",
        "time",
        "time",
        "stages[0].events[0].eventTime",
        1,
        ("The first call is not in a region of the alarm.",),
        tolerance=60,
    ),
    Question(
        "alarm_cause",
        "Which eventID made the guardrail alarm go to ALARM?",
        "text",
        "any-of",
        "alarms[alarm=ec2-vcpu-guardrail].transitions[to=ALARM].caused_by",
        2,
        ("The alarm counts running vCPUs in its region; what started them?",),
        "events",
    ),
    Question(
        "left_behind",
        "Besides the instances, what did the intruder create or request that the response left in place? "
        "(eventNames, a list)",
        "list",
        "set",
        "leftovers",
        2,
        ("Compare the intruder's write calls with what the responders undid.", "Some requests wait on AWS."),
        "event names",
    ),
)


@dataclass(frozen=True)
class Miner:
    """An instance the intruder started: where, which, the call that started it, when it ran."""

    region: str
    instance_id: str
    run: JSON
    running: datetime


def _world(rng: random.Random, ids: Ids) -> dict[str, dict[str, str]]:
    """Per region: the default VPC, an AMI, a zone and the identifiers the attacker's calls create."""
    return {
        region: {
            "vpc": "vpc-0" + ids.hex(16),
            "ami": "ami-0" + ids.hex(16),
            "zone": f"{region}{rng.choice('ac')}",
            "key_pair": "key-0" + ids.hex(16),
            "fingerprint": ":".join(ids.hex(2) for _ in range(20)),
            "group": "sg-0" + ids.hex(16),
            "rule": "sgr-0" + ids.hex(16),
            "quota_request": ids.hex(32),
        }
        for region in REGIONS
    }


def generate(seed: int, noise: float) -> Generated:
    """Generate the scenario's records, CloudWatch data and answer key."""
    cast = make_cast(Ids(random.Random(f"{seed}:cast")), DATA_START, DATA_END)
    rng = random.Random(f"{seed}:attack")
    ids = Ids(random.Random(f"{seed}:{INFO.name}:attack-ids"))
    playbook = Playbook(Trail(cast.account, ids))
    act = playbook.act
    user = IAMUser(cast.account, USER, ids.principal_id("AIDA"), ids.key_id("AKIA"))
    world = _world(rng, ids)

    at = DATA_START + timedelta(hours=2, minutes=20 + rng.randrange(40))
    checker = Actor(user, CHECK_IP, CHECK_AGENT)
    act("initial-access", "T1078.004", at, checker, sts.get_caller_identity(), region=FLEET_REGION)

    bot = Actor(user, MINER_IP, MINER_AGENT)
    at = later(at, rng, 1200, 2400)
    act("discovery", "T1033", at, bot, sts.get_caller_identity(), region=FLEET_REGION)
    at = later(at, rng, 1, 3)
    act("discovery", "T1069.003", at, bot, iam.list_attached_user_policies(USER), region=FLEET_REGION)
    at = later(at, rng, 1, 3)
    act("discovery", "T1580", at, bot, ec2.describe_regions(), region=FLEET_REGION)
    for region in REGIONS:
        for code in (servicequotas.STANDARD_VCPU, servicequotas.G_VCPU, servicequotas.P_VCPU):
            at = later(at, rng, 0, 2)
            act("discovery", "T1580", at, bot, servicequotas.get_service_quota(code), region=region)

    launched: list[Miner] = []
    for region in REGIONS:
        w = world[region]
        opened = ec2.authorize_ingress_from_anywhere(cast.account, w["group"], 22, w["rule"])
        opening: list[tuple[str, str, Call]] = [
            ("persistence", "T1098.004", ec2.create_key_pair(KEY_PAIR, w["key_pair"], w["fingerprint"])),
            ("defense-evasion", "T1562.007", ec2.create_security_group(GROUP, "ssh", w["vpc"], w["group"])),
            ("defense-evasion", "T1562.007", opened),
        ]
        at = later(at, rng, 20, 90)
        for stage, technique, call in opening:
            act(stage, technique, at, bot, call, region=region)
            at = later(at, rng, 1, 6)
        for instance_type, vcpus, quota in GPU_TYPES:  # refused: no GPU quota in a region never used
            gpus = ec2.Launch(w["ami"], instance_type, 4, KEY_PAIR, w["group"], w["zone"], ids.uuid())
            refused = ec2.run_instances_with_user_data(cast.account, gpus, [])
            act("impact", "T1496.001", at, bot, refused, region=region, error=ec2.vcpu_limit_exceeded(0))
            at = later(at, rng, 1, 6)
            request_id = w["quota_request"] + quota[-4:].lower()
            increase = servicequotas.request_service_quota_increase(
                user.arn, region, quota, float(4 * vcpus), request_id, console_date(at)
            )
            act("impact", "T1496.001", at, bot, increase, region=region)
            at = later(at, rng, 1, 6)
        instances = [
            (f"i-0{ids.hex(16)}", f"172.31.{rng.randrange(0, 48)}.{rng.randrange(4, 250)}")
            for _ in range(MINERS_PER_REGION)
        ]
        miners = ec2.Launch(w["ami"], MINER_TYPE, MINERS_PER_REGION, KEY_PAIR, w["group"], w["zone"], ids.uuid())
        at = later(at, rng, 3, 10)
        call = ec2.run_instances_with_user_data(cast.account, miners, instances)
        run = act("impact", "T1496.001", at, bot, call, region=region)
        running = at + timedelta(seconds=rng.randrange(40, 80))
        launched += [Miner(region, instance_id, run, running) for instance_id, _ in instances]
        at = later(at, rng, 10, 40)
        act("discovery", "T1580", at, bot, ec2.describe_instances(), region=region)

    people = make_people(cast, seed)
    response = Trail(cast.account, Ids(random.Random(f"{seed}:{INFO.name}:response-ids")))
    cloudwatch, stopped = _cloudwatch(cast.account, launched, response, people.dave, user, seed, noise)
    background = Trail(cast.account, Ids(random.Random(f"{seed}:background-record-ids")))
    Background(background, cast, people, seed, noise).write()
    records = [*background.records, *playbook.trail.records, *response.records]
    instances_launched = [
        {"region": m.region, "instanceId": m.instance_id, "instanceType": MINER_TYPE, "eventID": m.run["eventID"]}
        for m in launched
    ]
    key = answer_key(
        INFO,
        seed=seed,
        noise=noise,
        cast=cast,
        records=records,
        steps=playbook.steps,
        access_keys={"leaked": [user.access_key_id], "created": [], "sessions": []},
        roles_assumed=[],
        resources={user.arn}
        | {f"arn:aws:ec2:{m.region}:{cast.account}:instance/{m.instance_id}" for m in launched}
        | {f"arn:aws:ec2:{r}:{cast.account}:key-pair/{world[r]['key_pair']}" for r in REGIONS}
        | {f"arn:aws:ec2:{r}:{cast.account}:security-group/{world[r]['group']}" for r in REGIONS},
        response=response.records,
        lookalikes=benign_lookalikes(background.records) + _fleet_launches(background.records),
        alarms=alarm_key(cloudwatch, _causes(launched, stopped)),
        cloudwatch=cloudwatch,
    )
    key["regions_abused"] = list(REGIONS)
    key["instances_launched"] = instances_launched
    key["leftovers"] = sorted(LEFTOVERS)
    return Generated(cast.account, tuple(records), cloudwatch, key)


def _respond(
    launched: list[Miner], trail: Trail, dave: Actor, user: IAMUser, start: datetime, seed: int
) -> dict[str, tuple[JSON, datetime]]:
    """The on-call administrator terminates the miners region by region, then disables the key.

    Returns, per region, the ``TerminateInstances`` record and when the instances stopped counting.
    """
    rng = random.Random(f"{seed}:response")
    stopped: dict[str, tuple[JSON, datetime]] = {}
    at = start
    for region in REGIONS:
        mine = [m.instance_id for m in launched if m.region == region]
        trail.record(at, dave, ec2.describe_instances(), region=region)
        at = later(at, rng, 20, 90)
        record = trail.record(at, dave, ec2.terminate_instance_set(mine), region=region)
        stopped[region] = (record, at + timedelta(seconds=rng.randrange(20, 50)))
        at = later(at, rng, 10, 40)
        trail.record(at, dave, ec2.delete_key_pair(KEY_PAIR), region=region)
        at = later(at, rng, 60, 180)
    trail.record(at, dave, iam.list_access_keys(USER), region=FLEET_REGION)
    at = later(at, rng, 10, 30)
    trail.record(at, dave, iam.update_access_key(USER, user.access_key_id, "Inactive"), region=FLEET_REGION)
    return stopped


def _cloudwatch(
    account: str,
    launched: list[Miner],
    response: Trail,
    dave: Actor,
    user: IAMUser,
    seed: int,
    noise: float,
) -> tuple[CloudWatchData, dict[str, tuple[JSON, datetime]]]:
    """Usage and CPU series of the alarm's region, the guardrail alarm, and the response it triggers."""
    rng = random.Random(f"{seed}:metrics")
    data = CloudWatchData(
        ALARM_REGION, account, DATA_START, DATA_END, alarm_actions=(f"arn:aws:sns:{ALARM_REGION}:{account}:guardrail",)
    )
    usage_dimensions = (("Class", "Standard/OnDemand"), ("Resource", "vCPU"), ("Service", "EC2"), ("Type", "Resource"))
    vcpus = Metric("vcpuStandard", "AWS/Usage", "ResourceCount", usage_dimensions, "Maximum")
    description = "Guardrail (StackSets, every region): more than 32 On-Demand Standard vCPUs running"
    guardrail = Alarm(GUARDRAIL, description, vcpus, "GreaterThanThreshold", 32.0, 1, 1, "notBreaching")
    here = [(m.instance_id, m.running) for m in launched if m.region == ALARM_REGION]

    def series(until: datetime) -> dict[datetime, float]:
        counts = {
            m: float(MINER_VCPUS * sum(1 for _, running in here if running < m + MINUTE and m < until))
            for m in minutes(DATA_START, DATA_END)
        }
        return {m: v for m, v in counts.items() if v > 0}

    # The alarm fires on the launch; the page starts the response, whose terminations end the series.
    probe = CloudWatchData(ALARM_REGION, account, DATA_START, DATA_END)
    probe.series.append(Series(vcpus, series(DATA_END + MINUTE)))
    (fired, *_) = add_alarm(probe, guardrail, random.Random(f"{seed}:alarms"))
    stopped = _respond(launched, response, dave, user, later(fired.at, rng, 480, 1200), seed)
    data.series.append(Series(vcpus, series(stopped[ALARM_REGION][1])))
    for n, (instance_id, running) in enumerate(here, start=1):
        cpu = Metric(f"cpuMiner{n}", "AWS/EC2", "CPUUtilization", (("InstanceId", instance_id),), "Average")
        values = {}
        for m in minutes(DATA_START, DATA_END):
            if m.minute % 5 == 0 and running < m + 5 * MINUTE and m < stopped[ALARM_REGION][1]:
                warming = running > m
                values[m] = round(rng.uniform(30, 60) if warming else rng.uniform(98.6, 99.9), 3)
        data.series.append(Series(cpu, values))
    add_alarm(data, guardrail, random.Random(f"{seed}:alarms"))
    return data, stopped


def _causes(launched: list[Miner], stopped: dict[str, tuple[JSON, datetime]]) -> Cause:
    """Which API calls changed the guardrail's state."""
    runs = {m.run["eventID"]: m.run for m in launched if m.region == ALARM_REGION}

    def cause(alarm: str, t: Transition) -> tuple[list[JSON], str]:
        if t.new == "ALARM":
            started = [run for run in runs.values() if floor(utc(run["eventTime"]), 1) <= t.period_start]
            return started, f"RunInstances started {MINERS_PER_REGION} x {MINER_TYPE} ({MINER_VCPUS} vCPUs each)"
        return [stopped[ALARM_REGION][0]], "TerminateInstances stopped the miners"

    return cause


def _fleet_launches(records: list[JSON]) -> list[JSON]:
    """Auto Scaling's launches of web-fleet instances: benign ``RunInstances`` calls."""
    return [
        {**event_entry(r), "why_benign": "Auto Scaling launches web-fleet instances in us-east-1 from its template"}
        for r in records
        if r["eventName"] == "RunInstances"
    ]
