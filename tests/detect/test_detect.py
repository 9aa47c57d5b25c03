"""The public API of forensics.detect: rule sources, findings, correlations, baselines,
summaries and the display table."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from detect_records import ct, identity

import forensics.detect
from forensics import schema
from forensics.detect import FINDING_COLUMNS, SUITE_RULES, detect
from forensics.errors import SchemaError, SourceError

Frame = Callable[[list[dict[str, Any]]], pd.DataFrame]
IAM = "iam.amazonaws.com"
MALLORY = identity("IAMUser", "mallory")
BOB = identity("IAMUser", "bob")


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _rule(rule_id: str, title: str, detection: str, *, name: str = "", level: str = "low", tags: tuple[str, ...] = ()) -> str:
    rule: dict[str, Any] = {"title": title, "id": rule_id, **({"name": name} if name else {}), "status": "test",
                            "logsource": {"product": "aws", "service": "cloudtrail"}, "detection": yaml.safe_load(detection),
                            "level": level, "tags": list(tags)}  # fmt: skip
    return yaml.safe_dump(rule, sort_keys=False)


def _denied(seconds: list[int], who: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    return [
        ct("ListRoles", IAM, who=who, time=f"2024-05-01T10:{s // 60:02d}:{s % 60:02d}Z", eventID=f"{prefix}{s:03d}",
           readOnly=True, errorCode="AccessDenied")
        for s in seconds
    ]  # fmt: skip


DENIED = "sel: {errorCode: AccessDenied}\ncondition: sel"


def _correlation(rule_id: str, title: str, body: str) -> str:
    rule = {"title": title, "id": rule_id, "status": "test", "correlation": yaml.safe_load(body), "level": "high",
            "tags": ["attack.discovery", "attack.t1580"]}  # fmt: skip
    return yaml.safe_dump(rule, sort_keys=False)


# --------------------------------------------------------------------------- rule sources


def test_default_rules_are_the_suite_pack(frame: Frame) -> None:
    result = detect(frame([ct("StopLogging", "cloudtrail.amazonaws.com", eventID="stop")]))
    # every document of the pack except the correlation's building block (it has a name)
    titles = {doc["title"] for p in SUITE_RULES.glob("*.yml") for doc in yaml.safe_load_all(p.read_text()) if doc.get("name") is None}
    assert set(result.rules["title"]) == titles
    assert result.findings[["title", "eventID"]].values.tolist() == [["AWS CloudTrail Logging Stopped or Trail Deleted", "stop"]]


def test_rules_as_file_folder_and_list(frame: Frame, tmp_path: Path) -> None:
    events = frame([ct("CreateUser", IAM, eventID="create"), ct("DeleteUser", IAM, eventID="delete")])
    a = _write(tmp_path / "pack", "a.yml", _rule("11111111-1111-4111-8111-111111111111", "A", "sel: {eventName: CreateUser}\ncondition: sel"))
    b = _write(tmp_path / "pack" / "sub", "b.yaml", _rule("22222222-2222-4222-8222-222222222222", "B", "sel: {eventName: DeleteUser}\ncondition: sel"))
    _write(tmp_path / "pack", "notes.txt", "not a rule")
    assert detect(events, str(a)).findings["eventID"].tolist() == ["create"]
    assert detect(events, b).findings["eventID"].tolist() == ["delete"]
    assert sorted(detect(events, tmp_path / "pack").findings["title"]) == ["A", "B"]
    assert sorted(detect(events, [a, b]).findings["title"]) == ["A", "B"]


def test_missing_rule_path_raises_with_the_location(frame: Frame, tmp_path: Path) -> None:
    with pytest.raises(SourceError) as info:
        detect(frame([ct("CreateUser", IAM)]), tmp_path / "nope")
    assert info.value.location == str(tmp_path / "nope")


def test_a_frame_outside_the_schema_is_refused() -> None:
    with pytest.raises(SchemaError):
        detect(pd.DataFrame({"eventName": ["CreateUser"]}))


def test_sigma_filters_are_reported_as_not_applied(frame: Frame, tmp_path: Path) -> None:
    path = _write(tmp_path, "filter.yml", """\
        title: Ignore the deployer
        id: 33333333-3333-4333-8333-333333333333
        logsource: {product: aws, service: cloudtrail}
        filter:
          rules: [44444444-4444-4444-8444-444444444444]
          selection: {userIdentity.userName: deployer}
          condition: not selection
        """)  # fmt: skip
    result = detect(frame([ct("CreateUser", IAM)]), path)
    assert result.skipped[["title", "reason"]].values.tolist() == [["Ignore the deployer", "Sigma filters are not applied"]]


# --------------------------------------------------------------------------- findings


def test_findings_columns_dtypes_and_join_back(frame: Frame, tmp_path: Path) -> None:
    events = frame([
        ct("CreateUser", IAM, who=MALLORY, eventID="late", time="2024-05-01T11:00:00Z"),
        ct("CreateUser", IAM, who=BOB, eventID="early", time="2024-05-01T09:00:00Z"),
        ct("ListUsers", IAM, eventID="other", time="2024-05-01T10:00:00Z", readOnly=True),
    ])  # fmt: skip
    path = _write(tmp_path, "r.yml", _rule("55555555-5555-4555-8555-555555555555", "Users created", "sel: {eventName: CreateUser}\ncondition: sel",
                                           level="high", tags=("attack.persistence", "attack.t1136.003")))  # fmt: skip
    findings = detect(events, path).findings
    assert tuple(findings.columns) == FINDING_COLUMNS
    assert findings["eventID"].tolist() == ["early", "late"]  # sorted by time
    assert findings["tags"].tolist() == ["attack.persistence, attack.t1136.003"] * 2
    assert findings["level"].dtype == pd.CategoricalDtype(forensics.detect.LEVELS, ordered=True)
    assert str(findings["eventTime"].dtype) == schema.TIME
    assert findings["actor"].dtype == events["actor"].dtype
    assert findings["rule_path"].tolist() == [str(path)] * 2
    joined = events.iloc[findings["row"].to_numpy()]
    assert joined["eventID"].tolist() == findings["eventID"].tolist()
    assert joined["actor"].astype(str).tolist() == ["arn:aws:iam::111122223333:user/bob", "arn:aws:iam::111122223333:user/mallory"]


def test_no_events_gives_empty_frames_that_still_summarise() -> None:
    result = detect(schema.empty_events())
    assert result.findings.empty and tuple(result.findings.columns) == FINDING_COLUMNS
    assert result.attack_summary().empty
    assert (result.rule_summary()["matches"] == 0).all()
    assert result.table().empty


# --------------------------------------------------------------------------- correlations


def _correlated(tmp_path: Path, body: str, base_detection: str = DENIED, generate: bool = False) -> Path:
    base = _rule("66666666-6666-4666-8666-666666666666", "Denied", base_detection, name="denied")
    corr = _correlation("77777777-7777-4777-8777-777777777777", "Burst of denied calls", body + ("\ngenerate: true" if generate else ""))
    return _write(tmp_path, "corr.yml", base + "---\n" + corr)


def test_event_count_flags_every_event_in_a_dense_window_per_group(frame: Frame, tmp_path: Path) -> None:
    # mallory: windows of 60 s starting at each event; [0, 60) holds 0, 20, 50 and [20, 80) holds
    # 20, 50, 70, so those four are flagged; 200 is alone. bob's three calls are spread out.
    events = frame(_denied([0, 20, 50, 70, 200], MALLORY, "m") + _denied([0, 60, 120], BOB, "b"))
    path = _correlated(tmp_path, "type: event_count\nrules: [denied]\ngroup-by: [actor]\ntimespan: 1m\ncondition: {gte: 3}")
    result = detect(events, path)
    assert result.findings["eventID"].tolist() == ["m000", "m020", "m050", "m070"]
    assert set(result.findings["title"]) == {"Burst of denied calls"}
    assert result.rules[["title", "kind"]].values.tolist() == [["Burst of denied calls", "event_count"]]


def test_event_count_with_gt_and_without_group_by(frame: Frame, tmp_path: Path) -> None:
    events = frame(_denied([0, 20], MALLORY, "m") + _denied([30, 300], BOB, "b"))
    path = _correlated(tmp_path, "type: event_count\nrules: [denied]\ntimespan: 1m\ncondition: {gt: 2}")
    assert detect(events, path).findings["eventID"].tolist() == ["m000", "m020", "b030"]


def test_generate_true_keeps_the_base_rule_findings(frame: Frame, tmp_path: Path) -> None:
    events = frame(_denied([0, 300], MALLORY, "m"))
    path = _correlated(tmp_path, "type: event_count\nrules: [denied]\ntimespan: 1m\ncondition: {gte: 2}", generate=True)
    findings = detect(events, path).findings
    assert findings[["title", "eventID"]].values.tolist() == [["Denied", "m000"], ["Denied", "m300"]]


def test_correlation_over_a_skipped_rule_is_skipped(frame: Frame, tmp_path: Path) -> None:
    path = _correlated(tmp_path, "type: event_count\nrules: [denied]\ntimespan: 1m\ncondition: {gte: 2}",
                       base_detection="keywords: [AccessDenied]\ncondition: keywords")  # fmt: skip
    result = detect(frame(_denied([0, 1], MALLORY, "m")), path)
    assert result.skipped[["title", "reason"]].values.tolist() == [
        ["Denied", "keyword detection (a value without a field) is not supported"],
        ["Burst of denied calls", "referenced rule 'denied' did not run (see its own entry)"],
    ]


def test_correlation_over_an_unknown_rule_is_skipped(frame: Frame, tmp_path: Path) -> None:
    path = _write(tmp_path, "c.yml", _correlation("88888888-8888-4888-8888-888888888888", "Orphan",
                                                  "type: event_count\nrules: [nowhere]\ntimespan: 1m\ncondition: {gte: 2}"))  # fmt: skip
    result = detect(frame(_denied([0], MALLORY, "m")), path)
    assert result.skipped["title"].tolist() == ["Orphan"]
    assert "nowhere" in result.skipped["reason"].iloc[0]


def test_event_count_with_lte_is_skipped(frame: Frame, tmp_path: Path) -> None:
    path = _correlated(tmp_path, "type: event_count\nrules: [denied]\ntimespan: 1m\ncondition: {lte: 2}")
    result = detect(frame(_denied([0], MALLORY, "m")), path)
    assert result.skipped[["title", "reason"]].values.tolist() == [["Burst of denied calls", "event_count is supported with gte/gt conditions only"]]


# --------------------------------------------------------------------------- baseline checks


def test_baseline_checks_flag_new_regions_and_user_agents_per_principal(frame: Frame, tmp_path: Path) -> None:
    cli = "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0 exe/x86_64.ubuntu.22"
    baseline = frame([
        ct("ListUsers", IAM, who=MALLORY, awsRegion="us-east-1", userAgent=cli, time="2024-04-01T10:00:00Z"),
        ct("ListUsers", IAM, who=BOB, awsRegion="eu-west-1", userAgent=cli, time="2024-04-01T10:00:00Z"),
    ])  # fmt: skip
    events = frame([
        ct("ListUsers", IAM, who=MALLORY, awsRegion="us-east-1", userAgent=cli, eventID="usual"),
        ct("ListUsers", IAM, who=MALLORY, awsRegion="ap-southeast-2", userAgent=cli, eventID="new-region"),
        ct("ListUsers", IAM, who=MALLORY, awsRegion="us-east-1", userAgent="python-requests/2.31", eventID="new-agent"),
        ct("ListUsers", IAM, who=BOB, awsRegion="us-east-1", userAgent=cli, eventID="bob-region"),
        ct("ListUsers", IAM, who=identity("IAMUser", "carol"), awsRegion="sa-east-1", eventID="unknown-principal"),
    ])  # fmt: skip
    result = detect(events, _write(tmp_path, "none.yml", _rule("99999999-9999-4999-8999-999999999999", "x", "s: {eventName: Nothing}\ncondition: s")),
                    baseline=baseline)  # fmt: skip
    got = sorted(zip(result.findings["title"].str.split().str[4], result.findings["eventID"], strict=True))
    assert got == [("region", "bob-region"), ("region", "new-region"), ("user", "new-agent")]
    assert result.skipped.empty


def test_without_a_baseline_the_suite_lists_the_baseline_checks_as_skipped(frame: Frame) -> None:
    result = detect(frame([ct("ListUsers", IAM)]))
    assert result.skipped["rule_id"].tolist() == [c.id for c in forensics.detect.BASELINE_CHECKS]


# --------------------------------------------------------------------------- summaries


@pytest.fixture
def incident(frame: Frame) -> forensics.detect.Detections:
    records = [
        ct("StopLogging", "cloudtrail.amazonaws.com", who=MALLORY, eventID="stop", time="2024-05-01T10:05:00Z"),
        ct("DeleteTrail", "cloudtrail.amazonaws.com", who=MALLORY, eventID="delete", time="2024-05-01T10:06:00Z"),
        ct("CreateUser", IAM, who=identity("Root"), eventID="root", time="2024-05-01T10:01:00Z"),
        ct("ScheduleKeyDeletion", "kms.amazonaws.com", who=BOB, eventID="kms", time="2024-05-01T10:03:00Z",
           requestParameters={"keyId": "k-1", "pendingWindowInDays": 7}),
    ]  # fmt: skip
    return detect(frame(records))


def test_rule_summary(incident: forensics.detect.Detections) -> None:
    summary = incident.rule_summary()
    fired = summary[summary["matches"] > 0]
    assert fired[["title", "level", "matches", "actors"]].values.tolist() == [
        ["AWS CloudTrail Logging Stopped or Trail Deleted", "high", 2, 1],
        ["AWS KMS Key Scheduled for Deletion", "high", 1, 1],
        ["AWS Root Account Used", "medium", 1, 1],
    ]
    first = fired.iloc[0]
    assert (str(first["first"]), str(first["last"])) == ("2024-05-01 10:05:00+00:00", "2024-05-01 10:06:00+00:00")
    assert first["top_actors"] == "arn:aws:iam::111122223333:user/mallory (2)"
    assert len(summary) == len(incident.rules)


def test_attack_summary(incident: forensics.detect.Detections) -> None:
    assert incident.attack_summary().values.tolist() == [
        ["privilege-escalation", "T1078.004", "Valid Accounts: Cloud Accounts", 1, 1],
        ["defense-evasion", "T1562.008", "Impair Defenses: Disable or Modify Cloud Logs", 1, 2],
        ["impact", "T1485", "Data Destruction", 1, 1],
    ]
    assert list(incident.attack_summary().columns) == ["tactic", "technique", "technique_name", "rules", "events"]


def test_attack_summary_pairs_techniques_with_their_own_tactics(frame: Frame, tmp_path: Path) -> None:
    events = frame([ct("PutBucketAcl", "s3.amazonaws.com", eventID="acl"), ct("DeleteBucket", "s3.amazonaws.com", eventID="del")])
    rules = [
        _rule("aaaaaaaa-0000-4000-8000-000000000001", "Mixed", "s: {eventName: PutBucketAcl}\ncondition: s",
              tags=("attack.collection", "attack.defense-evasion", "attack.t1530", "attack.t1562.007")),
        _rule("aaaaaaaa-0000-4000-8000-000000000002", "Unknown technique", "s: {eventName: DeleteBucket}\ncondition: s",
              tags=("attack.impact", "attack.t9999")),
        _rule("aaaaaaaa-0000-4000-8000-000000000003", "A tactic without technique", "s: {eventName: DeleteBucket}\ncondition: s",
              tags=("attack.impact", "attack.persistence", "attack.t1485", "car.2016-04-005")),
    ]  # fmt: skip
    paths = [_write(tmp_path, f"r{i}.yml", text) for i, text in enumerate(rules)]
    assert detect(events, paths).attack_summary().values.tolist() == [
        ["persistence", "", "", 1, 1],
        ["defense-evasion", "T1562.007", "Impair Defenses: Disable or Modify Cloud Firewall", 1, 1],
        ["collection", "T1530", "Data from Cloud Storage", 1, 1],
        ["impact", "T1485", "Data Destruction", 1, 1],
        ["impact", "T9999", "", 1, 1],
    ]


def test_table_is_most_severe_first_with_event_context(incident: forensics.detect.Detections) -> None:
    table = incident.table()
    assert list(table.columns) == ["level", "title", "eventTime", "actor", "eventName", "eventSource", "awsRegion",
                                   "sourceIPAddress", "errorCode", "attack", "eventID"]  # fmt: skip
    assert table[["level", "eventID", "eventName", "attack"]].values.tolist() == [
        ["high", "kms", "ScheduleKeyDeletion", "T1485"],
        ["high", "stop", "StopLogging", "T1562.008"],
        ["high", "delete", "DeleteTrail", "T1562.008"],
        ["medium", "root", "CreateUser", "T1078.004"],
    ]
    assert len(incident.table(limit=2)) == 2


def test_the_module_itself_is_callable(frame: Frame) -> None:
    events = frame([ct("StopLogging", "cloudtrail.amazonaws.com", eventID="stop")])
    assert forensics.detect(events).findings["eventID"].tolist() == ["stop"]
