"""The answer key: what an investigator should find, with every attacker action by ATT&CK tactic.

A :class:`Playbook` records the attacker's calls and tags each with a technique; the tactic of
the technique (as the scenario states it) is the event's *stage*. Everything in the key that can
be read from the records (principals, keys, addresses, user agents) is read from them, so the
key and the data cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from forensics.errors import ParameterError
from forensics.scenarios.api import Call, Error
from forensics.scenarios.cast import Cast
from forensics.scenarios.cloudwatch import CloudWatchData
from forensics.scenarios.identities import JSON, RoleSession
from forensics.scenarios.model import GENERATOR_VERSION, ScenarioInfo
from forensics.scenarios.records import Actor, Trail
from forensics.scenarios.times import ceil, floor, iso, utc

#: Stage name -> (ATT&CK tactic id, tactic name).
TACTICS: dict[str, tuple[str, str]] = {
    "initial-access": ("TA0001", "Initial Access"),
    "persistence": ("TA0003", "Persistence"),
    "privilege-escalation": ("TA0004", "Privilege Escalation"),
    "defense-evasion": ("TA0005", "Defense Evasion"),
    "discovery": ("TA0007", "Discovery"),
    "collection": ("TA0009", "Collection"),
    "exfiltration": ("TA0010", "Exfiltration"),
    "impact": ("TA0040", "Impact"),
}

#: ATT&CK technique id -> name, for the techniques scenarios use.
TECHNIQUES: dict[str, str] = {
    "T1033": "System Owner/User Discovery",
    "T1069.003": "Permission Groups Discovery: Cloud Groups",
    "T1078.004": "Valid Accounts: Cloud Accounts",
    "T1087.004": "Account Discovery: Cloud Account",
    "T1098.001": "Account Manipulation: Additional Cloud Credentials",
    "T1098.003": "Account Manipulation: Additional Cloud Roles",
    "T1098.004": "Account Manipulation: SSH Authorized Keys",
    "T1136.003": "Create Account: Cloud Account",
    "T1485": "Data Destruction",
    "T1486": "Data Encrypted for Impact",
    "T1489": "Service Stop",
    "T1490": "Inhibit System Recovery",
    "T1496.001": "Resource Hijacking: Compute Hijacking",
    "T1518.001": "Software Discovery: Security Software Discovery",
    "T1526": "Cloud Service Discovery",
    "T1530": "Data from Cloud Storage",
    "T1537": "Transfer Data to Cloud Account",
    "T1548.005": "Abuse Elevation Control Mechanism: Temporary Elevated Cloud Access",
    "T1562.001": "Impair Defenses: Disable or Modify Tools",
    "T1562.007": "Impair Defenses: Disable or Modify Cloud Firewall",
    "T1562.008": "Impair Defenses: Disable or Modify Cloud Logs",
    "T1580": "Cloud Infrastructure Discovery",
    "T1619": "Cloud Storage Object Discovery",
}


@dataclass(frozen=True)
class Step:
    """One attacker action: its record, stage and technique."""

    record: JSON
    stage: str
    technique: str


class Playbook:
    """The attacker's side of a scenario: records calls into ``trail`` and remembers why.

    Parameters
    ----------
    trail
        The attacker's own trail (its own ID stream); every record in it is an attacker action.
    """

    def __init__(self, trail: Trail) -> None:
        self.trail = trail
        self.steps: list[Step] = []

    def act(
        self,
        stage: str,
        technique: str,
        at: datetime,
        actor: Actor,
        call: Call,
        *,
        region: str,
        error: Error | None = None,
    ) -> JSON:
        """Record ``call`` as an attacker action of ``stage`` using ``technique``."""
        if stage not in TACTICS or technique not in TECHNIQUES:
            raise ParameterError(f"unknown stage {stage!r} or technique {technique!r}; add it to TACTICS/TECHNIQUES")
        record = self.trail.record(at, actor, call, region=region, error=error)
        self.steps.append(Step(record, stage, technique))
        return record


def event_entry(record: JSON) -> JSON:
    """The facts of a record an answer key states (and tests check against the data)."""
    identity = record["userIdentity"]
    return {
        "eventID": record["eventID"],
        "eventTime": record["eventTime"],
        "eventSource": record["eventSource"],
        "eventName": record["eventName"],
        "awsRegion": record["awsRegion"],
        "actor": identity.get("arn")
        or identity.get("invokedBy")
        or identity.get("principalId")
        or identity.get("accountId"),
        "accessKeyId": identity.get("accessKeyId"),
        "sourceIPAddress": record["sourceIPAddress"],
        "errorCode": record.get("errorCode"),
    }


def stages(steps: list[Step]) -> list[JSON]:
    """Attacker actions grouped by stage, stages in order of their first action."""
    order: list[str] = []
    for step in sorted(steps, key=lambda s: s.record["eventTime"]):
        if step.stage not in order:
            order.append(step.stage)
    result = []
    for stage in order:
        mine = sorted(
            (s for s in steps if s.stage == stage), key=lambda s: (s.record["eventTime"], s.record["eventID"])
        )
        techniques = sorted({s.technique for s in mine})
        tactic_id, tactic = TACTICS[stage]
        result.append(
            {
                "stage": stage,
                "tactic_id": tactic_id,
                "tactic": tactic,
                "techniques": [{"id": t, "name": TECHNIQUES[t]} for t in techniques],
                "events": [{**event_entry(s.record), "technique": s.technique} for s in mine],
            }
        )
    return result


def _is_address(text: str) -> bool:
    return not text.endswith(".amazonaws.com")


def attacker_facts(steps: list[Step]) -> JSON:
    """Principals, access keys, source addresses and user agents the attacker used, in order of first use."""
    principals: list[str] = []
    keys: list[str] = []
    addresses: list[str] = []
    agents: list[str] = []
    for step in sorted(steps, key=lambda s: (s.record["eventTime"], s.record["eventID"])):
        record = step.record
        identity = record["userIdentity"]
        for found, value in ((principals, identity.get("arn")), (keys, identity.get("accessKeyId"))):
            if value and value not in found:
                found.append(value)
        if _is_address(record["sourceIPAddress"]):
            if record["sourceIPAddress"] not in addresses:
                addresses.append(record["sourceIPAddress"])
            if record["userAgent"] not in agents:
                agents.append(record["userAgent"])
    return {"principal_arns": principals, "access_key_ids_used": keys, "source_ips": addresses, "user_agents": agents}


def role_assumed(session: RoleSession, record: JSON) -> JSON:
    """An entry of ``attacker.roles_assumed``: the session and the record that created it."""
    return {
        "roleArn": session.role.arn,
        "sessionName": session.name,
        "sessionArn": session.arn,
        "accessKeyId": session.access_key_id,
        "eventID": record["eventID"],
        "eventTime": record["eventTime"],
    }


def answer_key(
    info: ScenarioInfo,
    *,
    seed: int,
    noise: float,
    cast: Cast,
    records: list[JSON],
    steps: list[Step],
    access_keys: dict[str, list[str]],
    roles_assumed: list[JSON],
    resources: set[str],
    response: list[JSON],
    lookalikes: list[JSON],
    alarms: list[JSON],
    cloudwatch: CloudWatchData,
) -> JSON:
    """The parts of an answer key every scenario has, in a fixed order.

    The incident window runs from ten minutes before the first attacker action (rounded down to
    five minutes) to ten minutes after the last attacker action, response action or alarm
    change that followed the attack (rounded up).
    """
    attack_times = [utc(s.record["eventTime"]) for s in steps]
    ends = [
        *attack_times,
        *(utc(r["eventTime"]) for r in response),
        *(t.at for t in cloudwatch.transitions if t.at > min(attack_times)),
    ]
    margin = timedelta(minutes=10)
    return {
        "scenario": info.name,
        "title": info.title,
        "seed": seed,
        "noise": noise,
        "generator_version": GENERATOR_VERSION,
        "accounts": {"victim": cast.account, "security": cast.security_account},
        "regions": sorted({r["awsRegion"] for r in records}),
        "data_window": {"start": iso(cast.start), "end": iso(cast.end)},
        "incident_window": {
            "start": iso(floor(min(attack_times), 5) - margin),
            "end": iso(ceil(max(ends), 5) + margin),
        },
        "attacker": {**attacker_facts(steps), "access_key_ids": access_keys, "roles_assumed": roles_assumed},
        "resources_touched": sorted(resources),
        "stages": stages(steps),
        "response": [event_entry(r) for r in response],
        "benign_lookalikes": lookalikes,
        "alarms": alarms,
        "cloudwatch": {
            "region": cloudwatch.region,
            "start_time": iso(cloudwatch.start),
            "end_time": iso(cloudwatch.end),
            "period": 60,
        },
    }
