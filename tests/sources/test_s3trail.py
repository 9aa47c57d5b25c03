"""The S3 source against a real moto server: the same objects give the same frame as a local folder,
only the window's date folders are listed, and whatever cannot be read is a gap or a failed object."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from botocore.awsrequest import AWSResponse
from moto_helpers import Calls, Moto, upload

from cloudtrail_builders import ACCOUNT, assumed_role, iam_user, log_path, record, write_log
from forensics import load_cloudtrail
from forensics.errors import ParameterError, SourceError
from forensics.s3trail import _periods, load_s3, split_uri

BUCKET = "acme-trail"
ORG = "o-abcdef1234"
OTHER = "111122223333"
START, END = "2024-03-14T02:00:00Z", "2024-03-14T03:00:00Z"


def write_trail(root: Path) -> None:
    """An organisation trail around the window 02:00-03:00 on 2024-03-14, with every kind of object.

    Account ACCOUNT, us-east-1: e1 (02:10) and e2 (01:55, outside) delivered 02:15; e3 (02:58)
    plus a second copy of e1 delivered 03:05; a truncated log delivered 02:30 (e4, e5); a log
    delivered 06:30 (pruned by its name) and one delivered the day before (never listed).
    eu-west-1: e6 (02:18) by a role session. Account OTHER, us-east-1: e7 (02:40).
    A digest and an Insights file sit in the same day folders.
    """
    org = {"org": ORG}
    write_log(root, "20240314T0215Z", [record("e1", "2024-03-14T02:10:00Z"), record("e2", "2024-03-14T01:55:00Z")], **org)
    write_log(root, "20240314T0305Z", [record("e3", "2024-03-14T02:58:00Z", name="PutObject", readOnly=False),
                                       record("e1", "2024-03-14T02:10:00Z")], unique="Second0000000000", **org)
    recs = [record(f"e{i}", f"2024-03-14T02:2{i}:00Z") for i in (4, 5)]
    whole = gzip.compress(json.dumps({"Records": recs}).encode(), mtime=0)
    log_path(root, "20240314T0230Z", unique="Truncated0000000", **org).write_bytes(whole[:-12])
    write_log(root, "20240314T0630Z", [record("late", "2024-03-14T06:25:00Z")], unique="Late000000000000", **org)
    write_log(root, "20240313T2300Z", [record("old", "2024-03-13T22:55:00Z")], **org)
    write_log(root, "20240314T0220Z", [record("e6", "2024-03-14T02:18:00Z", identity=assumed_role(), region="eu-west-1")],
              region="eu-west-1", **org)
    write_log(root, "20240314T0240Z", [record("e7", "2024-03-14T02:40:00Z", identity=iam_user("carol", account=OTHER))],
              account=OTHER, **org)
    for folder, name in (("CloudTrail-Digest", f"{ACCOUNT}_CloudTrail-Digest_us-east-1_org_us-east-1_20240314T030000Z.json.gz"),
                         ("CloudTrail-Insight", f"{ACCOUNT}_CloudTrail-Insight_us-east-1_20240314T0300Z_x.json.gz")):
        day = root / "AWSLogs" / ORG / ACCOUNT / folder / "us-east-1" / "2024" / "03" / "14"
        day.mkdir(parents=True)
        (day / name).write_bytes(gzip.compress(b'{"digestS3Object": "x", "logFiles": []}', mtime=0))


@pytest.fixture
def trail(moto: Moto, tmp_path: Path) -> tuple[Any, Path]:
    """The trail written to a folder and uploaded under the key prefix ``audit/``."""
    s3 = moto.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    root = tmp_path / "trail"
    write_trail(root)
    upload(s3, BUCKET, root, prefix="audit/")
    return s3, root


def statuses(report: Any) -> dict[str, str]:
    return dict(zip(report.files["path"], report.files["status"]))


def key_of(uri: str) -> str:
    return uri.split("/", 3)[3]


# ------------------------------------------------------------------------ same as local


def test_s3_objects_load_exactly_like_the_local_folder(trail: tuple[Any, Path]) -> None:
    s3, root = trail
    local = load_cloudtrail(root, start=START, end=END)
    remote = load_s3(f"s3://{BUCKET}/audit", start=START, end=END, s3_client=s3)

    pd.testing.assert_frame_equal(remote.events.drop(columns="source_file"), local.events.drop(columns="source_file"))
    assert remote.events["eventID"].tolist() == ["e1", "e6", "e4", "e7", "e3"]
    expected = [f"s3://{BUCKET}/audit/" + Path(p).relative_to(root).as_posix() for p in local.events["source_file"]]
    assert remote.events["source_file"].astype(str).tolist() == expected
    for measure in ("records_read", "records_rejected", "duplicates_dropped", "outside_window", "events"):
        assert getattr(remote.report, measure) == getattr(local.report, measure), measure
    assert remote.report.duplicates["eventID"].tolist() == ["e1"]
    assert remote.report.gaps.empty

    base = f"s3://{BUCKET}/audit/AWSLogs/{ORG}/"
    day = "2024/03/14/"
    assert statuses(remote.report) == {
        f"{base}{ACCOUNT}/CloudTrail/eu-west-1/{day}{ACCOUNT}_CloudTrail_eu-west-1_20240314T0220Z_AbCdEfGh12345678.json.gz": "loaded",
        f"{base}{ACCOUNT}/CloudTrail/us-east-1/{day}{ACCOUNT}_CloudTrail_us-east-1_20240314T0215Z_AbCdEfGh12345678.json.gz": "loaded",
        f"{base}{ACCOUNT}/CloudTrail/us-east-1/{day}{ACCOUNT}_CloudTrail_us-east-1_20240314T0230Z_Truncated0000000.json.gz": "partial",
        f"{base}{ACCOUNT}/CloudTrail/us-east-1/{day}{ACCOUNT}_CloudTrail_us-east-1_20240314T0305Z_Second0000000000.json.gz": "loaded",
        f"{base}{ACCOUNT}/CloudTrail/us-east-1/{day}{ACCOUNT}_CloudTrail_us-east-1_20240314T0630Z_Late000000000000.json.gz": "pruned",
        f"{base}{ACCOUNT}/CloudTrail-Digest/us-east-1/{day}{ACCOUNT}_CloudTrail-Digest_us-east-1_org_us-east-1_20240314T030000Z.json.gz": "skipped",
        f"{base}{ACCOUNT}/CloudTrail-Insight/us-east-1/{day}{ACCOUNT}_CloudTrail-Insight_us-east-1_20240314T0300Z_x.json.gz": "skipped",
        f"{base}{OTHER}/CloudTrail/us-east-1/{day}{OTHER}_CloudTrail_us-east-1_20240314T0240Z_AbCdEfGh12345678.json.gz": "loaded",
    }
    # every object read or passed over has the same row (size, hash, counts) as its local copy
    mapped = local.report.files.assign(path=[f"s3://{BUCKET}/audit/" + Path(p).relative_to(root).as_posix()
                                              for p in local.report.files["path"]])
    mapped = mapped[mapped["path"].isin(remote.report.files["path"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(remote.report.files, mapped)


def test_only_the_window_date_folders_are_listed_and_only_window_logs_downloaded(trail: tuple[Any, Path]) -> None:
    s3, _ = trail
    calls = Calls(s3)
    load_s3(f"s3://{BUCKET}/audit/", start=START, end=END, s3_client=s3, workers=3)
    listed = sorted(p["Prefix"] for p in calls.of("ListObjectsV2") if "Delimiter" not in p)
    base = f"audit/AWSLogs/{ORG}/"
    assert listed == sorted([
        f"{base}{ACCOUNT}/CloudTrail/eu-west-1/2024/03/14/",
        f"{base}{ACCOUNT}/CloudTrail/us-east-1/2024/03/14/",
        f"{base}{ACCOUNT}/CloudTrail-Digest/us-east-1/2024/03/14/",
        f"{base}{ACCOUNT}/CloudTrail-Insight/us-east-1/2024/03/14/",
        f"{base}{OTHER}/CloudTrail/us-east-1/2024/03/14/",
    ])
    fetched = sorted(p["Key"].rsplit("_", 2)[-2] for p in calls.of("GetObject"))
    assert fetched == ["20240314T0215Z", "20240314T0220Z", "20240314T0230Z", "20240314T0240Z", "20240314T0305Z"]


def test_accounts_and_regions_narrow_the_load(trail: tuple[Any, Path]) -> None:
    s3, _ = trail
    result = load_s3(f"s3://{BUCKET}/audit/AWSLogs/{ORG}", start=START, end=END, s3_client=s3,
                     accounts=[ACCOUNT], regions=["eu-west-1"])
    assert result.events["eventID"].tolist() == ["e6"]
    assert result.report.gaps.empty and result.report.ok
    deep = load_s3(f"s3://{BUCKET}/audit/AWSLogs/{ORG}/{OTHER}/CloudTrail/", start=START, end=END, s3_client=s3)
    assert deep.events["eventID"].tolist() == ["e7"] and deep.report.ok  # below an account: what is there


def test_periods_cover_the_delivery_days_and_switch_to_months_for_long_windows() -> None:
    t = pd.Timestamp
    assert _periods(t("2024-03-14T23:40Z"), t("2024-03-15T00:50Z")) == ["2024/03/14/", "2024/03/15/"]
    assert _periods(t("2024-02-28T12:00Z"), t("2024-03-01T00:00Z")) == ["2024/02/28/", "2024/02/29/", "2024/03/01/"]
    assert _periods(t("2024-01-01T00:00Z"), t("2024-04-02T00:00Z")) == ["2024/01/", "2024/02/", "2024/03/", "2024/04/"]
    assert _periods(None, t("2024-04-02T00:00Z")) == [""]


def test_late_delivery_across_midnight_is_found_in_the_next_day_folder(moto: Moto, tmp_path: Path) -> None:
    s3 = moto.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    write_log(tmp_path, "20240315T0004Z", [record("n1", "2024-03-14T23:58:00Z")])
    upload(s3, BUCKET, tmp_path)
    result = load_s3(f"s3://{BUCKET}", start="2024-03-14T23:30:00Z", end="2024-03-14T23:59:59Z", s3_client=s3)
    assert result.events["eventID"].tolist() == ["n1"]


def test_a_prefix_outside_the_delivery_layout_is_read_like_a_folder(moto: Moto, tmp_path: Path) -> None:
    s3 = moto.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    body = json.dumps({"Records": [record("x1", "2024-03-14T02:10:00Z"), record("x2", "2024-03-14T02:20:00Z")]}).encode()
    s3.put_object(Bucket=BUCKET, Key="exports/case-7/records.json", Body=body)
    s3.put_object(Bucket=BUCKET, Key="exports/case-7/notes.txt", Body=b"analyst notes")
    s3.put_object(Bucket=BUCKET, Key="exports/case-70/records.json", Body=body)  # a neighbour, not under the prefix
    folder = load_s3(f"s3://{BUCKET}/exports/case-7", s3_client=s3)
    assert folder.events["eventID"].tolist() == ["x1", "x2"]
    assert statuses(folder.report) == {
        f"s3://{BUCKET}/exports/case-7/notes.txt": "ignored",
        f"s3://{BUCKET}/exports/case-7/records.json": "loaded",
    }
    one = load_s3(f"s3://{BUCKET}/exports/case-70/records.json", start="2024-03-14T02:15:00Z", end=END, s3_client=s3)
    assert one.events["eventID"].tolist() == ["x2"] and one.report.outside_window == 1


def test_a_default_session_follows_aws_endpoint_url(trail: tuple[Any, Path]) -> None:
    """No client given: the default session is used, and the environment points it at moto."""
    _, root = trail
    remote = load_s3(f"s3://{BUCKET}/audit", start=START, end=END)
    local = load_cloudtrail(root, start=START, end=END)
    pd.testing.assert_frame_equal(remote.events.drop(columns="source_file"), local.events.drop(columns="source_file"))


def test_load_cloudtrail_reads_s3_uris_through_the_default_session(trail: tuple[Any, Path]) -> None:
    """Needs the dispatch in ``load_cloudtrail`` (s3:// -> ``load_s3``)."""
    s3, _ = trail
    through_loader = load_cloudtrail(f"s3://{BUCKET}/audit", start=START, end=END)
    direct = load_s3(f"s3://{BUCKET}/audit", start=START, end=END, s3_client=s3)
    pd.testing.assert_frame_equal(through_loader.events, direct.events)
    assert through_loader.report.source == f"s3://{BUCKET}/audit"


# ------------------------------------------------------------------------ never silent


def test_missing_bucket_is_a_gap_not_an_empty_result(moto: Moto) -> None:
    result = load_s3("s3://no-such-bucket/audit", start=START, end=END, s3_client=moto.client("s3"))
    assert result.events.empty
    assert result.report.gaps.to_dict("records") == [{
        "location": "s3://no-such-bucket/audit/AWSLogs/",
        "reason": "cannot list: NoSuchBucket: The specified bucket does not exist",
    }]  # fmt: skip
    assert not result.report.ok and "INCOMPLETE" in str(result.report)


def test_accounts_and_regions_asked_for_but_absent_are_gaps(trail: tuple[Any, Path]) -> None:
    s3, _ = trail
    result = load_s3(f"s3://{BUCKET}/audit", start=START, end=END, s3_client=s3,
                     accounts=[ACCOUNT, "999999999999"], regions=["us-east-1", "ap-south-1"])
    base = f"s3://{BUCKET}/audit/AWSLogs/{ORG}/"
    assert result.report.gaps.to_dict("records") == [
        {"location": f"{base}{ACCOUNT}/CloudTrail/ap-south-1/", "reason": "region asked for has no CloudTrail log folder"},
        {"location": f"{base}999999999999/", "reason": "account asked for is not in the bucket"},
    ]
    assert set(result.events["eventID"]) == {"e1", "e3", "e4"}


def test_objects_that_cannot_be_downloaded_are_failed_files(trail: tuple[Any, Path]) -> None:
    s3, _ = trail
    deny = {"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{BUCKET}/audit/AWSLogs/{ORG}/{OTHER}/*"}
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps({"Version": "2012-10-17", "Statement": [deny]}))
    result = load_s3(f"s3://{BUCKET}/audit", start=START, end=END, s3_client=s3)
    failed = result.report.files[result.report.files["status"] == "failed"]
    assert [key_of(p).split("/")[3] for p in failed["path"]] == [OTHER]
    assert failed["reason"].iloc[0] == "cannot download: 403: Forbidden"
    assert "e7" not in set(result.events["eventID"]) and "e6" in set(result.events["eventID"])
    assert not result.report.ok


def test_access_denied_on_listing_is_a_gap(trail: tuple[Any, Path], moto: Moto) -> None:
    """moto checks IAM permissions once authentication is on: this principal may read objects, not list them."""
    iam = moto.client("iam")
    iam.create_user(UserName="reader")
    key = iam.create_access_key(UserName="reader")["AccessKey"]
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
    iam.put_user_policy(UserName="reader", PolicyName="read-only-objects", PolicyDocument=json.dumps(policy))
    moto.authenticate(True)
    try:
        s3 = moto.client("s3", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
        result = load_s3(f"s3://{BUCKET}/audit", start=START, end=END, s3_client=s3)
    finally:
        moto.authenticate(False)
    assert result.report.gaps.to_dict("records") == [
        {"location": f"s3://{BUCKET}/audit/AWSLogs/", "reason": "cannot list: AccessDenied: Access Denied"}
    ]
    assert result.events.empty and not result.report.ok


def test_one_region_that_cannot_be_listed_is_a_gap_and_the_rest_loads(trail: tuple[Any, Path]) -> None:
    """moto ignores the ``s3:prefix`` condition that denies part of a bucket, so the denial is injected
    into the real client's request path for exactly one prefix."""
    s3, _ = trail
    denied = f"audit/AWSLogs/{ORG}/{ACCOUNT}/CloudTrail/eu-west-1/2024/03/14/"

    def deny(params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        if params.get("query_string", {}).get("prefix") != denied:
            return None
        error = {"Error": {"Code": "AccessDenied", "Message": "Access Denied"}, "ResponseMetadata": {"HTTPStatusCode": 403}}
        return AWSResponse("", 403, {}, None), error

    s3.meta.events.register("before-call.s3.ListObjectsV2", deny)
    result = load_s3(f"s3://{BUCKET}/audit", start=START, end=END, s3_client=s3)
    assert result.report.gaps.to_dict("records") == [
        {"location": f"s3://{BUCKET}/{denied}", "reason": "cannot list: AccessDenied: Access Denied"}
    ]
    assert set(result.events["eventID"]) == {"e1", "e3", "e4", "e7"}


def test_bad_uris_and_parameters_raise() -> None:
    assert split_uri("s3://bucket") == ("bucket", "")
    assert split_uri("s3://bucket//a/b/") == ("bucket", "a/b/")
    with pytest.raises(SourceError, match="needs a bucket"):
        load_s3("s3:///prefix")
    with pytest.raises(SourceError, match="not an S3 URI"):
        load_s3("/tmp/folder")
    with pytest.raises(ParameterError, match="workers"):
        load_s3("s3://bucket", workers=0)
    with pytest.raises(ParameterError, match="leading zeros"):
        load_s3("s3://bucket", s3_client=object(), accounts=[12345678901])  # type: ignore[list-item]


# ------------------------------------------------------------------------ the notebook


@pytest.mark.slow
def test_the_triage_notebook_reads_the_bucket_when_only_its_source_changes(moto: Moto, tmp_path: Path) -> None:
    """papermill's kernel inherits ``AWS_ENDPOINT_URL``: the notebook's default session talks to moto."""
    import nbformat

    from forensics.report import run_report
    from forensics.sample import sample_cloudtrail_path

    s3 = moto.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    folder = sample_cloudtrail_path()
    upload(s3, BUCKET, folder, prefix="sample/AWSLogs/")
    runs = {
        "folder": run_report("triage", {"source": str(folder)}, tmp_path / "folder", sample=True),
        "bucket": run_report("triage", {"source": f"s3://{BUCKET}/sample"}, tmp_path / "bucket", sample=True),
    }
    shown: dict[str, dict[str, list[str]]] = {}
    for name, result in runs.items():
        cells = nbformat.read(result.executed, as_version=4).cells
        outputs = {
            cell.source: [str(o.get("data", {}).get("text/html", o.get("text", ""))) for o in cell.get("outputs", [])]
            for cell in cells
            if cell.cell_type == "code"
        }
        errors = [o for c in cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
        assert errors == [], name
        shown[name] = {source: out for source, out in outputs.items() if source.startswith(("show_counts", "columns ="))}
    assert shown["folder"] == shown["bucket"] and len(shown["folder"]) == 8
    fields = nbformat.read(runs["bucket"].executed, as_version=4).cells
    text = "".join(str(o.get("data", {}).get("text/html", "")) for c in fields for o in c.get("outputs", []))
    assert f"s3://{BUCKET}/sample" in text
