"""The local CloudTrail loader: input shapes, bad inputs and their report entries, windows."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pandas as pd
import pytest

from cloudtrail_builders import ACCOUNT, assumed_role, aws_service, iam_user, log_path, record, write_log
from forensics import SourceError, WindowError, load_cloudtrail
from forensics import reader
from forensics.schema import COLUMNS, DTYPES


def reconciles(report) -> bool:
    return report.records_read == (
        report.events + report.records_rejected + report.duplicates_dropped + report.outside_window
    )


def file_row(report, path: Path) -> dict:
    rows = report.files[report.files["path"] == str(path)]
    assert len(rows) == 1, report.files
    return rows.iloc[0].to_dict()


def issues_of(report, path: Path) -> dict[str, int]:
    rows = report.issues[report.issues["path"] == str(path)]
    return dict(zip(rows["issue"], rows["count"]))


# --------------------------------------------------------------------------- the schema


def test_schema_columns_and_dtypes_are_exact(tmp_path):
    write_log(tmp_path, "20240314T0215Z", [record("e1", "2024-03-14T02:10:00Z")])
    events = load_cloudtrail(tmp_path).events
    assert tuple(events.columns) == COLUMNS
    for name, dtype in DTYPES.items():
        actual = events[name].dtype
        if dtype == "category":
            assert isinstance(actual, pd.CategoricalDtype), name
        elif dtype == "str":
            assert isinstance(actual, pd.StringDtype) and actual.storage == "pyarrow", name
        else:
            assert str(actual) == dtype, name


def test_values_of_one_record_land_in_their_columns(tmp_path):
    rec = record(
        "e1", "2024-03-14T02:10:07Z", name="PutBucketPolicy", source="s3.amazonaws.com",
        identity=assumed_role(mfa="true"), readOnly=False, managementEvent=True, eventCategory="Management",
        requestParameters={"bucketName": "acme-data", "bucketPolicy": {"Statement": [{"Principal": "*"}]}},
        errorCode="AccessDenied", errorMessage="Access Denied", sharedEventID="shared-1", vpcEndpointId="vpce-1",
        resources=[{"ARN": "arn:aws:s3:::acme-data", "accountId": ACCOUNT, "type": "AWS::S3::Bucket"}],
    )
    path = write_log(tmp_path, "20240314T0215Z", [rec])
    row = load_cloudtrail(tmp_path).events.iloc[0]
    assert row["eventTime"] == pd.Timestamp("2024-03-14T02:10:07Z")
    assert row["eventName"] == "PutBucketPolicy"
    assert row["readOnly"] is False or row["readOnly"] == False  # noqa: E712 (nullable boolean scalar)
    assert row["managementEvent"] == True  # noqa: E712
    assert row["userIdentity.type"] == "AssumedRole"
    assert row["userIdentity.sessionContext.sessionIssuer.arn"] == f"arn:aws:iam::{ACCOUNT}:role/DataPipelineRole"
    assert row["userIdentity.sessionContext.attributes.mfaAuthenticated"] == "true"
    assert row["actor"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/DataPipelineRole/etl"
    assert row["errorCode"] == "AccessDenied" and row["sharedEventID"] == "shared-1" and row["vpcEndpointId"] == "vpce-1"
    # JSON text is verbatim: the exact bytes of the file, never re-serialised
    assert row["requestParameters"] == '{"bucketName":"acme-data","bucketPolicy":{"Statement":[{"Principal":"*"}]}}'
    assert json.loads(row["resources"])[0]["ARN"] == "arn:aws:s3:::acme-data"
    assert pd.isna(row["responseElements"])  # JSON null is missing, not the text "null"
    assert row["source_file"] == str(path) and row["record_index"] == 0 and row["copies"] == 1


def test_account_ids_with_a_leading_zero_stay_strings(tmp_path):
    write_log(tmp_path, "20240314T0215Z", [record("e1", "2024-03-14T02:10:00Z")])
    events = load_cloudtrail(tmp_path).events
    assert events.loc[0, "recipientAccountId"] == "012345678901"
    assert events.loc[0, "userIdentity.accountId"] == "012345678901"


@pytest.mark.parametrize(
    ("identity", "actor"),
    [
        (iam_user("bob"), f"arn:aws:iam::{ACCOUNT}:user/bob"),
        (aws_service("ec2.amazonaws.com"), "ec2.amazonaws.com"),
        ({"type": "AWSAccount", "principalId": "AIDAOTHER:x", "accountId": "210987654321"}, "AIDAOTHER:x"),
        ({"type": "AWSAccount", "accountId": "210987654321"}, "210987654321"),
        ({"type": "Unknown", "arn": "", "principalId": "", "accountId": ""}, "unknown"),
        ({}, "unknown"),
    ],
)
def test_actor_is_the_best_identity(tmp_path, identity, actor):
    write_log(tmp_path, "20240314T0215Z", [record("e1", "2024-03-14T02:10:00Z", identity=identity)])
    assert load_cloudtrail(tmp_path).events.loc[0, "actor"] == actor


def test_sorted_by_time_then_event_id(tmp_path):
    recs = [record("b", "2024-03-14T02:10:00Z"), record("c", "2024-03-14T02:09:00Z"), record("a", "2024-03-14T02:10:00Z")]
    write_log(tmp_path, "20240314T0215Z", recs)
    assert list(load_cloudtrail(tmp_path).events["eventID"]) == ["c", "a", "b"]


# ----------------------------------------------------------------------- input shapes


def test_plain_json_records_file(tmp_path):
    path = tmp_path / "trail.json"
    path.write_text(json.dumps({"Records": [record("e1", "2024-03-14T02:10:00Z"), record("e2", "2024-03-14T02:11:00Z")]}))
    result = load_cloudtrail(path)
    assert list(result.events["eventID"]) == ["e1", "e2"]
    assert file_row(result.report, path)["status"] == "loaded"


def test_json_lines_of_records(tmp_path):
    path = tmp_path / "events.jsonl"
    lines = [json.dumps(record(f"e{i}", f"2024-03-14T02:1{i}:00Z")) for i in range(3)]
    path.write_text("\n".join(lines) + "\n\n")
    result = load_cloudtrail(path)
    assert list(result.events["eventID"]) == ["e0", "e1", "e2"]
    assert list(result.events["record_index"]) == [0, 1, 2]
    assert file_row(result.report, path)["status"] == "recovered"
    assert "JSON Lines" in file_row(result.report, path)["reason"]


def test_json_lines_gzipped_with_one_bad_line(tmp_path):
    path = tmp_path / "events.jsonl.gz"
    lines = [json.dumps(record("e0", "2024-03-14T02:10:00Z")), "{not json", json.dumps(record("e2", "2024-03-14T02:12:00Z"))]
    path.write_bytes(gzip.compress("\n".join(lines).encode(), mtime=0))
    result = load_cloudtrail(path)
    assert list(result.events["eventID"]) == ["e0", "e2"]
    assert issues_of(result.report, path) == {"JSON Lines line is not valid JSON (rejected)": 1}
    assert result.report.records_rejected == 1 and reconciles(result.report)


def test_lookup_events_output(tmp_path):
    good = record("e1", "2024-03-14T02:10:00Z", name="StopDBInstance", source="rds.amazonaws.com")
    output = {"Events": [
        {"EventId": "e1", "EventName": "StopDBInstance", "EventTime": 1710382200.0, "CloudTrailEvent": json.dumps(good)},
        {"EventId": "e2", "EventName": "X", "CloudTrailEvent": "{broken"},
        {"EventId": "e3", "EventName": "Y"},
    ]}  # fmt: skip
    path = tmp_path / "lookup.json"
    path.write_text(json.dumps(output))
    result = load_cloudtrail(path)
    assert list(result.events["eventName"]) == ["StopDBInstance"]
    assert result.events.loc[0, "eventSource"] == "rds.amazonaws.com"
    assert issues_of(result.report, path) == {
        "LookupEvents CloudTrailEvent is not valid JSON (rejected)": 1,
        "LookupEvents entry without a CloudTrailEvent string (rejected)": 1,
    }
    assert result.report.records_rejected == 2 and reconciles(result.report)


def test_json_array_of_records(tmp_path):
    path = tmp_path / "records.json"
    path.write_text(json.dumps([record("e1", "2024-03-14T02:10:00Z")]))
    assert list(load_cloudtrail(path).events["eventID"]) == ["e1"]


def test_s3_layout_with_organization_and_regions(tmp_path):
    for region in ("us-east-1", "eu-west-1"):
        recs = [record(f"e-{region}", "2024-03-14T02:10:00Z", region=region)]
        write_log(tmp_path, "20240314T0215Z", recs, region=region, org="o-abc123def4")
    write_log(tmp_path, "20240314T0215Z", [record("other", "2024-03-14T02:10:00Z")], account="210987654321", org="o-abc123def4")
    result = load_cloudtrail(tmp_path)
    assert sorted(result.events["eventID"]) == ["e-eu-west-1", "e-us-east-1", "other"]
    assert sorted(result.events["awsRegion"].astype(str)) == ["eu-west-1", "us-east-1", "us-east-1"]
    assert result.report.status_counts()["loaded"] == 3


def test_digest_and_insight_trees_are_skipped_and_reported(tmp_path):
    write_log(tmp_path, "20240314T0215Z", [record("e1", "2024-03-14T02:10:00Z")])
    digest = tmp_path / "AWSLogs" / ACCOUNT / "CloudTrail-Digest" / "us-east-1" / "2024" / "03" / "14"
    digest.mkdir(parents=True)
    (digest / f"{ACCOUNT}_CloudTrail-Digest_us-east-1_trail_us-east-1_20240314T030000Z.json.gz").write_bytes(b"x")
    insight = tmp_path / "AWSLogs" / ACCOUNT / "CloudTrail-Insight" / "us-east-1" / "2024" / "03" / "14"
    insight.mkdir(parents=True)
    (insight / f"{ACCOUNT}_CloudTrail-Insight_us-east-1_20240314T0300Z_x.json.gz").write_bytes(b"x")
    result = load_cloudtrail(tmp_path)
    files = result.report.files.set_index("kind")
    assert files.loc["digest", "status"] == "skipped" and files.loc["insight", "status"] == "skipped"
    assert len(result.events) == 1


# ------------------------------------------------------------------------ bad inputs


def test_truncated_gzip_keeps_the_records_before_the_cut(tmp_path):
    recs = [record(f"e{i:03d}", f"2024-03-14T02:{i % 60:02d}:00Z") for i in range(200)]
    whole = gzip.compress(json.dumps({"Records": recs}).encode(), mtime=0)
    path = log_path(tmp_path, "20240314T0300Z")
    path.write_bytes(whole[: len(whole) // 2])
    result = load_cloudtrail(tmp_path)
    row = file_row(result.report, path)
    assert row["status"] == "partial"
    assert row["reason"].startswith("truncated gzip")
    assert 0 < row["records"] < 200
    kept = set(result.events["eventID"])
    assert kept == {f"e{i:03d}" for i in range(row["records"])}  # a prefix, complete records only
    assert not result.report.ok and reconciles(result.report)


def test_empty_file(tmp_path):
    path = log_path(tmp_path, "20240314T0300Z")
    path.write_bytes(b"")
    result = load_cloudtrail(tmp_path)
    row = file_row(result.report, path)
    assert (row["status"], row["reason"], row["bytes"]) == ("failed", "empty file (0 bytes)", 0)
    assert result.events.empty and not result.report.ok


def test_gzip_of_nothing(tmp_path):
    path = log_path(tmp_path, "20240314T0300Z")
    path.write_bytes(gzip.compress(b"", mtime=0))
    row = file_row(load_cloudtrail(tmp_path).report, path)
    assert (row["status"], row["reason"]) == ("failed", "empty file: no JSON at all")


def test_cut_off_json_inside_a_complete_gzip(tmp_path):
    recs = [record("e1", "2024-03-14T02:10:00Z"), record("e2", "2024-03-14T02:11:00Z")]
    text = json.dumps({"Records": recs})
    path = log_path(tmp_path, "20240314T0300Z")
    path.write_bytes(gzip.compress(text[: len(text) - 40].encode(), mtime=0))
    result = load_cloudtrail(tmp_path)
    row = file_row(result.report, path)
    assert row["status"] == "partial" and row["reason"].startswith("broken JSON")
    assert list(result.events["eventID"]) == ["e1"]


def test_file_without_records(tmp_path):
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"configurationItems": []}))
    result = load_cloudtrail(path)
    row = file_row(result.report, path)
    assert row["status"] == "failed" and row["reason"].startswith("no Records list (keys: configurationItems")


def test_records_that_is_not_a_list(tmp_path):
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"Records": {"eventID": "e1"}}))
    row = file_row(load_cloudtrail(path).report, path)
    assert (row["status"], row["reason"]) == ("failed", "Records is a JSON dict, not a list")


def test_digest_file_in_the_wrong_place_is_skipped_by_content(tmp_path):
    digest = {"awsAccountId": ACCOUNT, "digestStartTime": "2024-03-14T01:00:00Z", "digestS3Object": "x", "logFiles": []}
    path = log_path(tmp_path, "20240314T0300Z")
    path.write_bytes(gzip.compress(json.dumps(digest).encode(), mtime=0))
    result = load_cloudtrail(tmp_path)
    row = file_row(result.report, path)
    assert row["status"] == "skipped" and row["kind"] == "digest" and "digest file" in row["reason"]
    assert result.report.ok  # a misplaced digest loses no events


def test_non_object_records_are_rejected_and_good_ones_kept(tmp_path):
    recs = [record("e1", "2024-03-14T02:10:00Z"), "a string", None, 42, record("e2", "2024-03-14T02:11:00Z")]
    path = write_log(tmp_path, "20240314T0300Z", recs)
    result = load_cloudtrail(tmp_path)
    assert list(result.events["eventID"]) == ["e1", "e2"]
    assert list(result.events["record_index"]) == [0, 4]
    row = file_row(result.report, path)
    assert (row["status"], row["records"], row["rejected"]) == ("recovered", 2, 3)
    assert issues_of(result.report, path) == {"record is not a JSON object (rejected)": 3}
    assert result.report.records_rejected == 3 and result.report.records_read == 5 and reconciles(result.report)


def test_lone_surrogate_is_kept_visible(tmp_path):
    path = tmp_path / "s.json"
    body = '{"Records":[{"eventID":"e1","eventTime":"2024-03-14T02:10:00Z","userAgent":"evil\\ud800agent",' \
           '"requestParameters":{"k":"\\udfff"}}]}'  # fmt: skip
    path.write_text(body)
    result = load_cloudtrail(path)
    row = result.events.iloc[0]
    assert row["userAgent"] == "evil\\ud800agent"
    assert row["requestParameters"] == '{"k":"\\udfff"}'
    issues = issues_of(result.report, path)
    assert issues["lone surrogate escape kept as \\uXXXX text"] == 2
    assert file_row(result.report, path)["status"] == "recovered"


def test_odd_types_are_coerced_and_noted(tmp_path):
    rec = record(
        "e1", "2024-03-14T02:10:00Z", readOnly="true", managementEvent="maybe", awsRegion=7,
        userIdentity={"type": "IAMUser", "accountId": 12345678901, "sessionContext": "oops"},
        requestParameters="a string", userAgent="NaN",
    )
    path = write_log(tmp_path, "20240314T0300Z", [rec, record("e2", "2024-03-14T02:11:00Z", userIdentity="root?")])
    result = load_cloudtrail(tmp_path)
    first, second = result.events.iloc[0], result.events.iloc[1]
    assert first["readOnly"] == True and pd.isna(first["managementEvent"])  # noqa: E712
    assert first["awsRegion"] == "7" and first["userIdentity.accountId"] == "12345678901"
    assert first["requestParameters"] == '"a string"' and first["userAgent"] == "NaN"
    assert pd.isna(second["userIdentity.type"]) and second["actor"] == "unknown"
    assert issues_of(result.report, path) == {
        "boolean given as text (converted)": 1,
        "boolean field has an unexpected value (left empty)": 1,
        "field of unexpected type converted to text": 2,
        "nested field is not an object (left empty)": 3,
        "userIdentity is not an object (identity columns left empty)": 1,
    }


def test_plain_json_named_gz_and_gzip_named_json(tmp_path):
    plain = log_path(tmp_path, "20240314T0300Z")
    plain.write_text(json.dumps({"Records": [record("e1", "2024-03-14T02:10:00Z")]}))
    zipped = tmp_path / "zipped.json"
    zipped.write_bytes(gzip.compress(json.dumps({"Records": [record("e2", "2024-03-14T02:10:00Z")]}).encode()))
    result = load_cloudtrail(tmp_path)
    assert sorted(result.events["eventID"]) == ["e1", "e2"]
    assert issues_of(result.report, plain) == {"not gzip despite the .gz name (read as plain text)": 1}
    assert issues_of(result.report, zipped) == {"gzip content in a file not named .gz (inflated)": 1}
    assert file_row(result.report, plain)["status"] == "recovered"


def test_data_after_the_first_gzip_member_is_ignored_and_flagged(tmp_path):
    genuine = gzip.compress(json.dumps({"Records": [record("e1", "2024-03-14T02:10:00Z")]}).encode(), mtime=0)
    forged = gzip.compress(json.dumps({"Records": [record("forged", "2024-03-14T02:10:00Z")]}).encode(), mtime=0)
    path = log_path(tmp_path, "20240314T0300Z")
    path.write_bytes(genuine + forged)
    result = load_cloudtrail(tmp_path)
    assert list(result.events["eventID"]) == ["e1"]
    row = file_row(result.report, path)
    assert row["status"] == "recovered" and row["reason"].startswith("data after the first gzip member ignored")


def test_byte_order_mark_and_nan_literals(tmp_path):
    bom = tmp_path / "bom.json"
    bom.write_bytes(b"\xef\xbb\xbf" + json.dumps({"Records": [record("e1", "2024-03-14T02:10:00Z")]}).encode())
    nan = tmp_path / "nan.json"
    nan.write_text('{"Records":[{"eventID":"e2","eventTime":"2024-03-14T02:10:00Z","requestParameters":{"n":NaN}}]}')
    result = load_cloudtrail(tmp_path)
    assert sorted(result.events["eventID"]) == ["e1", "e2"]
    assert issues_of(result.report, bom) == {"UTF-8 byte order mark before the JSON (ignored)": 1}
    assert "non-standard JSON constant (NaN/Infinity) kept as text" in issues_of(result.report, nan)
    assert result.events.set_index("eventID").loc["e2", "requestParameters"] == '{"n":"NaN"}'


def test_invalid_utf8_fails_the_file_with_its_offset(tmp_path):
    path = tmp_path / "latin1.json"
    path.write_bytes('{"Records":[{"eventID":"e1","userAgent":"caf\xe9"}]}'.encode("latin-1"))
    row = file_row(load_cloudtrail(path).report, path)
    assert row["status"] == "failed" and row["reason"].startswith("not UTF-8 text (invalid continuation byte at byte")


def test_gzip_bomb_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(reader, "MAX_INFLATED_BYTES", 1 << 16)
    path = log_path(tmp_path, "20240314T0300Z")
    path.write_bytes(gzip.compress(b" " * (1 << 20), mtime=0))
    row = file_row(load_cloudtrail(tmp_path).report, path)
    assert row["status"] == "failed" and "gzip bomb" in row["reason"]


def test_corrupt_gzip(tmp_path):
    path = log_path(tmp_path, "20240314T0300Z")
    good = gzip.compress(json.dumps({"Records": [record("e1", "2024-03-14T02:10:00Z")]}).encode(), mtime=0)
    path.write_bytes(good[:12] + bytes(b ^ 0xFF for b in good[12:40]) + good[40:])
    row = file_row(load_cloudtrail(tmp_path).report, path)
    assert row["status"] in ("failed", "partial") and "gzip" in row["reason"]


def test_other_files_and_symlinks_are_listed_not_read(tmp_path):
    target = write_log(tmp_path, "20240314T0300Z", [record("e1", "2024-03-14T02:10:00Z")])
    (target.parent / ".DS_Store").write_bytes(b"\0\0")
    (target.parent / "notes.txt").write_text("hello")
    link = target.parent / "link.json.gz"
    os.symlink(target, link)
    result = load_cloudtrail(tmp_path)
    assert len(result.events) == 1
    files = result.report.files.set_index("path")
    assert files.loc[str(link), "status"] == "ignored" and files.loc[str(link), "reason"] == "symbolic link not followed"
    assert files.loc[str(target.parent / ".DS_Store"), "status"] == "ignored"
    assert files.loc[str(target.parent / "notes.txt"), "status"] == "ignored"


# ----------------------------------------------------------------------------- times


def test_event_time_variants(tmp_path):
    recs = [
        record("frac", "2024-03-14T02:10:00.250Z"),
        record("offset", "2024-03-14T03:10:00+01:00"),
        record("naive", "2024-03-14T02:10:00"),
        record("impossible", "2024-02-30T02:10:00Z"),
        record("missing", None),
        record("epoch", "1970-01-01T00:00:00Z"),
    ]
    path = write_log(tmp_path, "20240314T0300Z", recs)
    result = load_cloudtrail(tmp_path)
    times = result.events.set_index("eventID")["eventTime"]
    assert times["frac"] == pd.Timestamp("2024-03-14T02:10:00.250Z")
    assert times["offset"] == pd.Timestamp("2024-03-14T02:10:00Z")
    assert times[["naive", "impossible", "missing"]].isna().all()
    assert list(result.events["eventID"][-3:]) == ["impossible", "missing", "naive"]  # no time: last, by eventID
    assert issues_of(result.report, path) == {
        "eventTime has no time zone or is not ISO 8601 (left empty)": 1,
        "eventTime is not a valid time (left empty)": 1,
        "eventTime with a UTC offset (converted to UTC)": 1,
        "eventTime missing (kept with an empty time)": 1,
        "eventTime implausible: before CloudTrail existed or in the future (kept)": 1,
    }


# --------------------------------------------------------------------- windows, pruning


def test_window_filters_events_and_prunes_files(tmp_path):
    early = write_log(tmp_path, "20240314T0005Z", [record("early", "2024-03-14T00:01:00Z")])
    inside = write_log(tmp_path, "20240314T0215Z", [record("in1", "2024-03-14T02:10:00Z"), record("out", "2024-03-14T01:50:00Z")])
    late = write_log(tmp_path, "20240314T0340Z", [record("late-in", "2024-03-14T02:59:00Z")])
    far = write_log(tmp_path, "20240314T0600Z", [record("far", "2024-03-14T05:59:00Z")])
    undated = tmp_path / "loose.json"
    undated.write_text(json.dumps({"Records": [record("loose", "2024-03-14T02:30:00Z")]}))
    result = load_cloudtrail(tmp_path, start="2024-03-14T02:00:00Z", end="2024-03-14T03:00:00Z")
    assert list(result.events["eventID"]) == ["in1", "loose", "late-in"]
    status = result.report.files.set_index("path")["status"]
    assert status[str(early)] == "pruned" and status[str(far)] == "pruned"
    assert status[str(inside)] == "loaded" and status[str(late)] == "loaded" and status[str(undated)] == "loaded"
    assert result.report.outside_window == 1 and reconciles(result.report)
    assert result.report.start == pd.Timestamp("2024-03-14T02:00:00Z")


def test_delivery_margin_decides_which_late_files_open(tmp_path):
    late = write_log(tmp_path, "20240314T0340Z", [record("late-in", "2024-03-14T02:59:00Z")])
    result = load_cloudtrail(tmp_path, start="2024-03-14T02:00:00Z", end="2024-03-14T03:00:00Z", delivery_margin="30min")
    assert result.events.empty
    assert result.report.files.set_index("path").loc[str(late), "status"] == "pruned"


def test_window_errors(tmp_path):
    write_log(tmp_path, "20240314T0300Z", [record("e1", "2024-03-14T02:10:00Z")])
    with pytest.raises(WindowError, match="no time zone"):
        load_cloudtrail(tmp_path, start="2024-03-14T02:00:00")
    with pytest.raises(WindowError, match="after end"):
        load_cloudtrail(tmp_path, start="2024-03-14T04:00:00Z", end="2024-03-14T02:00:00Z")


def test_missing_source_and_s3_uri(tmp_path):
    with pytest.raises(SourceError, match="no such file or folder"):
        load_cloudtrail(tmp_path / "nope")
    with pytest.raises(SourceError, match="needs a bucket"):
        load_cloudtrail("s3:///AWSLogs/")
    with pytest.raises(SourceError, match="cache is for local folders"):
        load_cloudtrail("s3://bucket/AWSLogs/", cache=True)


# ------------------------------------------------------------------------ duplicates


def test_duplicates_are_merged_and_counted(tmp_path):
    a = write_log(tmp_path, "20240314T0215Z", [record("dup", "2024-03-14T02:10:00Z"), record("one", "2024-03-14T02:11:00Z")])
    b = write_log(tmp_path, "20240314T0220Z", [record("dup", "2024-03-14T02:10:00Z")], unique="ZZZZ")
    c = write_log(tmp_path, "20240314T0225Z", [record("dup", "2024-03-14T02:10:00Z"), record("dup", "2024-03-14T02:10:00Z")], unique="YYYY")
    result = load_cloudtrail(tmp_path)
    assert list(result.events["eventID"]) == ["dup", "one"]
    assert list(result.events["copies"]) == [4, 1]
    assert result.events.loc[0, "source_file"] == str(a)  # the first copy by file order is kept
    dup = result.report.duplicates.iloc[0]
    assert dup["eventID"] == "dup" and dup["copies"] == 4 and dup["files"] == sorted([str(a), str(b), str(c)])
    assert result.report.duplicates_dropped == 3 and reconciles(result.report)


def test_shared_event_id_is_not_a_duplicate(tmp_path):
    recs = [record("e1", "2024-03-14T02:10:00Z", sharedEventID="s"), record("e2", "2024-03-14T02:10:00Z", sharedEventID="s")]
    write_log(tmp_path, "20240314T0215Z", recs)
    result = load_cloudtrail(tmp_path)
    assert len(result.events) == 2 and result.report.duplicates_dropped == 0


def test_counts_reconcile_on_a_messy_folder(tmp_path):
    write_log(tmp_path, "20240314T0215Z", [record("a", "2024-03-14T02:10:00Z"), 5, record("a", "2024-03-14T02:10:00Z")])
    write_log(tmp_path, "20240314T0220Z", [record("b", "2024-03-14T05:10:00Z"), record("c", "2024-03-14T02:12:00Z")], unique="Q")
    log_path(tmp_path, "20240314T0230Z", unique="E").write_bytes(b"")
    result = load_cloudtrail(tmp_path, start="2024-03-14T02:00:00Z", end="2024-03-14T03:00:00Z")
    r = result.report
    assert (r.records_read, r.events, r.records_rejected, r.duplicates_dropped, r.outside_window) == (5, 2, 1, 1, 1)
    assert reconciles(r)
    summary = dict(r.summary().itertuples(index=False))
    assert summary["records read"] == "5" and summary["verdict"].startswith("INCOMPLETE")


def test_empty_folder_gives_an_empty_frame_with_the_schema(tmp_path):
    result = load_cloudtrail(tmp_path)
    assert result.events.empty and tuple(result.events.columns) == COLUMNS
    assert result.report.records_read == 0 and result.report.ok


def test_unpacks_as_events_and_report(tmp_path):
    write_log(tmp_path, "20240314T0215Z", [record("e1", "2024-03-14T02:10:00Z")])
    events, report = load_cloudtrail(tmp_path)
    assert len(events) == 1 and report.events == 1


def test_file_hashes_are_of_the_bytes_as_read(tmp_path):
    import hashlib

    path = write_log(tmp_path, "20240314T0215Z", [record("e1", "2024-03-14T02:10:00Z")])
    row = file_row(load_cloudtrail(tmp_path).report, path)
    assert row["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest() and row["bytes"] == path.stat().st_size


def test_json_array_that_holds_no_records_fails_the_file(tmp_path):
    path = tmp_path / "queries.json"
    path.write_text(json.dumps([{"Id": "conn", "MetricStat": {"Period": 60}}]))
    result = load_cloudtrail(path)
    row = file_row(result.report, path)
    assert (row["status"], row["reason"]) == ("failed", "a JSON array, but none of its items is a CloudTrail record")
    assert result.events.empty and result.report.records_read == 0


# ------------------------------------------------------------------ canonical order


def _trail_files(count: int = 6, per_file: int = 60) -> list[bytes]:
    """Files whose eventName takes 180 distinct values overall (30 per file, every other record none)."""
    files = []
    for f in range(count):
        recs = []
        for r in range(per_file):
            rec = record(f"id-{f}-{r}", f"2024-03-{1 + (r * 7 + f) % 28:02d}T00:00:00Z")
            if r % 2 == 0:
                rec["eventName"] = f"Name{(f * per_file + r) // 2:03d}"
            else:
                rec.pop("eventName", None)
            recs.append(rec)
        files.append(json.dumps({"Records": recs}).encode())
    return files


def _prepared(files: list[bytes], split: list[int]) -> list:
    """Prepared tables of ``files``, split into batches at ``split`` (file numbers kept)."""
    edges = [0, *split, len(files)]
    return [t for a, b in zip(edges, edges[1:]) for t in
            reader.decode_blobs([(n, f"f{n}.json", files[n]) for n in range(a, b)]).tables]  # fmt: skip


def test_canonical_is_the_same_however_the_rows_are_split_and_codes_are_pandas_ready():
    import numpy as np
    import pyarrow as pa

    from forensics import cloudtrail, ctbuilder

    files = _trail_files()
    whole = cloudtrail.canonical(_prepared(files, []))
    pieces = _prepared(files, [1, 2, 4])  # dictionaries of 30, 30, 60, 60 names: int8 indices
    assert {t["eventName"].type.index_type for t in pieces} == {pa.int8()}
    pieces.reverse()
    tables = list(pieces)
    split = cloudtrail.canonical(tables)
    assert tables == []  # emptied: canonical holds the only references
    whole.validate(full=True)
    assert split.equals(whole)
    names = whole["eventName"].chunk(0)
    assert len(names.dictionary) == 180 and names.type.index_type == ctbuilder.index_type(180) == pa.int16()
    assert names.dictionary.to_pylist() == sorted(names.dictionary.to_pylist())
    codes = np.frombuffer(names.indices.buffers()[1], dtype=np.int16)
    assert (codes[np.asarray(names.is_null())] == -1).all() and names.null_count == 180
    times = whole["eventTime"].to_pylist()
    assert times == sorted(times)
    frame = cloudtrail._to_frame(whole, [f"f{n}.json" for n in range(len(files))])
    assert np.shares_memory(frame["eventName"].array.codes, codes)  # pandas uses the codes as they are
    assert frame["eventName"].isna().sum() == 180


def test_canonical_takes_any_index_width_and_anything_under_a_null():
    import numpy as np
    import pyarrow as pa

    from forensics import cloudtrail

    files = _trail_files(count=2)
    expected = cloudtrail.canonical(_prepared(files, [1]))
    first, second = _prepared(files, [1])
    column = first["eventName"].chunk(0)  # as Parquet or Arrow may leave it: int32, 7 under each null
    indices = np.frombuffer(column.indices.buffers()[1], dtype=np.int8).astype(np.int32)
    indices[np.asarray(column.is_null())] = 7
    validity = column.buffers()[0]
    odd = pa.DictionaryArray.from_buffers(pa.dictionary(pa.int32(), pa.string()), len(column),
                                          [validity, pa.py_buffer(indices)], column.dictionary)  # fmt: skip
    first = first.set_column(first.column_names.index("eventName"), "eventName", odd)
    assert cloudtrail.canonical([second, first]).equals(expected)
    assert cloudtrail.canonical([]).num_rows == 0
