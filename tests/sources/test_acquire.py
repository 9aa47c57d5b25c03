"""Acquisition from a real moto server: the window's objects, read-only, a manifest, resuming, conflicts,
keys that would escape the folder, and the command line."""

from __future__ import annotations

import argparse
import gzip
import hashlib
import importlib.util
import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

import boto3
import pandas as pd
import pytest
from botocore.stub import Stubber
from moto_helpers import Calls, Moto

from cloudtrail_builders import ACCOUNT, record, write_log
from forensics import load_cloudtrail
from forensics.acquire import MANIFEST_FORMAT, READ_ONLY, acquire, local_path, read_manifest, write_evidence
from forensics.acquire_cli import add_arguments, run
from forensics.errors import SourceError, WindowError
from forensics.s3trail import load_s3
from forensics.trailstore import read_object_metadata

BUCKET = "acme-trail"
START, END = "2024-03-14T02:00:00Z", "2024-03-14T03:00:00Z"
BASE = f"audit/AWSLogs/{ACCOUNT}"
SIGNATURE = {"signature": "a1b2c3", "signature-algorithm": "SHA256withRSA"}
MOTO_PRINCIPAL = {"Account": "123456789012", "Arn": "arn:aws:sts::123456789012:user/moto", "UserId": "AKIAIOSFODNN7EXAMPLE"}


def digest_key(end: str) -> str:
    return f"{BASE}/CloudTrail-Digest/us-east-1/2024/03/14/{ACCOUNT}_CloudTrail-Digest_us-east-1_audit_us-east-1_{end}.json.gz"


IN_WINDOW = [
    f"{BASE}/CloudTrail/us-east-1/2024/03/14/{ACCOUNT}_CloudTrail_us-east-1_20240314T0215Z_AbCdEfGh12345678.json.gz",
    f"{BASE}/CloudTrail/us-east-1/2024/03/14/{ACCOUNT}_CloudTrail_us-east-1_20240314T0305Z_Second0000000000.json.gz",
    digest_key("20240314T030031Z"),
    digest_key("20240314T050031Z"),
]


@pytest.fixture
def bucket(moto: Moto, tmp_path: Path) -> Any:
    """A trail under ``audit/``: two logs and two digests for the window 02:00-03:00 on 2024-03-14,
    and a late log, a late digest and a log of the day before that the window does not need."""
    s3 = moto.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    src = tmp_path / "src"
    write_log(src, "20240314T0215Z", [record("e1", "2024-03-14T02:10:00Z"), record("e2", "2024-03-14T02:12:00Z")])
    write_log(src, "20240314T0305Z", [record("e3", "2024-03-14T02:58:00Z")], unique="Second0000000000")
    write_log(src, "20240314T0630Z", [record("late", "2024-03-14T06:25:00Z")], unique="Late000000000000")
    write_log(src, "20240313T2300Z", [record("old", "2024-03-13T22:55:00Z")])
    for path in sorted(src.rglob("*.json.gz")):
        s3.put_object(Bucket=BUCKET, Key="audit/" + path.relative_to(src).as_posix(), Body=path.read_bytes())
    for end in ("20240314T030031Z", "20240314T050031Z", "20240314T070031Z"):
        body = gzip.compress(json.dumps({"digestEndTime": end, "logFiles": []}).encode(), mtime=0)
        s3.put_object(Bucket=BUCKET, Key=digest_key(end), Body=body, Metadata=SIGNATURE)
    return s3


def body(s3: Any, key: str) -> bytes:
    return s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()


def test_the_window_is_copied_read_only_with_its_manifest(bucket: Any, tmp_path: Path) -> None:
    out = tmp_path / "case-42"
    result = acquire(f"s3://{BUCKET}/audit", out, start=START, end=END, s3_client=bucket)

    assert result.objects[["key", "kind", "status"]].values.tolist() == sorted([
        [IN_WINDOW[0], "log", "downloaded"], [IN_WINDOW[1], "log", "downloaded"],
        [IN_WINDOW[2], "digest", "downloaded"], [IN_WINDOW[3], "digest", "downloaded"],
    ])  # fmt: skip
    assert result.ok and result.principal == MOTO_PRINCIPAL
    for key in IN_WINDOW:
        path = out / key
        assert path.read_bytes() == body(bucket, key)
        assert stat.S_IMODE(path.stat().st_mode) == READ_ONLY
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == sorted(
        [*IN_WINDOW, "manifest.json", "object-metadata.json"]
    )

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["format"] == MANIFEST_FORMAT
    entry = next(e for e in manifest["objects"] if e["key"] == IN_WINDOW[2])
    data = body(bucket, IN_WINDOW[2])
    assert {k: entry[k] for k in ("bucket", "key", "kind", "version_id", "etag", "size", "metadata", "sha256", "path", "acquired_by")} == {
        "bucket": BUCKET, "key": IN_WINDOW[2], "kind": "digest", "version_id": None,
        "etag": '"' + hashlib.md5(data).hexdigest() + '"', "size": len(data), "metadata": SIGNATURE,
        "sha256": hashlib.sha256(data).hexdigest(), "path": IN_WINDOW[2], "acquired_by": MOTO_PRINCIPAL["Arn"],
    }  # fmt: skip
    assert pd.Timestamp(entry["last_modified"]).tzinfo is not None
    assert entry["response"]["Metadata"] == SIGNATURE and entry["response"]["ContentLength"] == len(data)
    [run_record] = manifest["runs"]
    assert run_record["principal"] == MOTO_PRINCIPAL
    assert run_record["window"] == {"start": "2024-03-14T02:00:00+00:00", "end": "2024-03-14T03:00:00+00:00",
                                    "delivery_margin": "0 days 01:00:00", "digest_margin": "0 days 02:00:00"}
    assert set(run_record["tool"]) == {"forensics", "python", "boto3", "botocore", "pandas", "platform"}
    assert run_record["counts"]["downloaded"] == 4 and run_record["problems"] == [] and run_record["gaps"] == []
    assert pd.Timestamp(run_record["started"]) <= pd.Timestamp(run_record["finished"])
    assert stat.S_IMODE((out / "manifest.json").stat().st_mode) == READ_ONLY

    # the offline digest validator's reader finds every acquired digest's signature
    assert read_object_metadata(out / "object-metadata.json") == {IN_WINDOW[2]: SIGNATURE, IN_WINDOW[3]: SIGNATURE}
    # and the folder loads to the same events as the bucket
    local = load_cloudtrail(out / "audit", start=START, end=END)
    remote = load_s3(f"s3://{BUCKET}/audit", start=START, end=END, s3_client=bucket)
    pd.testing.assert_frame_equal(local.events.drop(columns="source_file"), remote.events.drop(columns="source_file"))
    assert local.events["eventID"].tolist() == ["e1", "e2", "e3"]


def test_running_again_resumes_without_downloading(bucket: Any, tmp_path: Path) -> None:
    out = tmp_path / "case"
    acquire(f"s3://{BUCKET}/audit", out, start=START, end=END, s3_client=bucket)
    first = read_manifest(out)
    calls = Calls(bucket)
    again = acquire(f"s3://{BUCKET}/audit", out, start=START, end=END, s3_client=bucket)
    assert calls.of("GetObject") == []
    assert again.objects["status"].tolist() == ["present"] * 4 and again.ok
    second = read_manifest(out)
    assert second["objects"] == first["objects"]  # acquisition times of the first run are kept
    assert [r["counts"]["present"] for r in second["runs"]] == [0, 4]


def test_a_wider_window_adds_objects_and_keeps_the_earlier_ones(bucket: Any, tmp_path: Path) -> None:
    out = tmp_path / "case"
    acquire(f"s3://{BUCKET}/audit", out, start=START, end=END, s3_client=bucket, include_digests=False)
    wider = acquire(f"s3://{BUCKET}/audit", out, start=START, end="2024-03-14T06:00:00Z", s3_client=bucket, include_digests=False)
    assert dict(zip(wider.objects["key"].str.rsplit("_", n=2).str[-2], wider.objects["status"])) == {
        "20240314T0215Z": "present", "20240314T0305Z": "present", "20240314T0630Z": "downloaded",
    }
    assert len(read_manifest(out)["objects"]) == 3 and json.loads((out / "object-metadata.json").read_text()) == {}


def test_changed_files_are_conflicts_and_never_overwritten(bucket: Any, tmp_path: Path) -> None:
    out = tmp_path / "case"
    acquire(f"s3://{BUCKET}/audit", out, start=START, end=END, s3_client=bucket)
    recorded = {e["key"]: e["sha256"] for e in read_manifest(out)["objects"]}
    tampered = out / IN_WINDOW[0]
    tampered.chmod(0o644)
    tampered.write_bytes(b"edited by someone")
    bucket.put_object(Bucket=BUCKET, Key=IN_WINDOW[1], Body=gzip.compress(b'{"Records": []}'))  # changed in S3

    result = acquire(f"s3://{BUCKET}/audit", out, start=START, end=END, s3_client=bucket)
    rows = result.objects.set_index("key")
    assert rows["status"].to_dict() == {IN_WINDOW[0]: "conflict", IN_WINDOW[1]: "conflict", IN_WINDOW[2]: "present", IN_WINDOW[3]: "present"}
    assert rows.loc[IN_WINDOW[0], "reason"] == (
        f"the local file (SHA-256 {hashlib.sha256(b'edited by someone').hexdigest()}) differs from the object in S3 "
        f"(SHA-256 {recorded[IN_WINDOW[0]]}, ETag {bucket.head_object(Bucket=BUCKET, Key=IN_WINDOW[0])['ETag']}); not overwritten"
    )
    assert tampered.read_bytes() == b"edited by someone"
    assert hashlib.sha256((out / IN_WINDOW[1]).read_bytes()).hexdigest() == recorded[IN_WINDOW[1]]
    assert {e["key"]: e["sha256"] for e in read_manifest(out)["objects"]} == recorded
    assert [p["status"] for p in read_manifest(out)["runs"][-1]["problems"]] == ["conflict", "conflict"]
    assert not result.ok


def test_files_without_a_manifest_record_are_checked_against_s3(bucket: Any, tmp_path: Path) -> None:
    out = tmp_path / "case"
    acquire(f"s3://{BUCKET}/audit", out, start=START, end=END, s3_client=bucket)
    (out / "manifest.json").unlink()
    (out / IN_WINDOW[3]).unlink()
    calls = Calls(bucket)
    result = acquire(f"s3://{BUCKET}/audit", out, start=START, end=END, s3_client=bucket)
    assert result.objects.set_index("key")[["status", "reason"]].loc[IN_WINDOW].values.tolist() == [
        ["present", "identical to a fresh download (not rewritten)"]] * 3 + [["downloaded", ""]]
    assert len(calls.of("GetObject")) == 4 and result.ok


def test_keys_that_would_leave_the_folder_are_rejected(bucket: Any, tmp_path: Path) -> None:
    day = f"{BASE}/CloudTrail/us-east-1/2024/03/14/"
    escape = day + "../../../../../../../../escape_CloudTrail_us-east-1_20240314T0220Z_x.json.gz"
    bucket.put_object(Bucket=BUCKET, Key=escape, Body=b"{}")
    out = tmp_path / "deep" / "case"
    result = acquire(f"s3://{BUCKET}/audit", out, start=START, end=END, s3_client=bucket)
    row = result.objects.set_index("key").loc[escape]
    assert (row["status"], row["reason"]) == ("rejected", "the key would leave the evidence folder")
    assert not list(tmp_path.rglob("escape_*")) and not result.ok


def test_local_path_refuses_every_way_out(tmp_path: Path) -> None:
    root = (tmp_path / "evidence").resolve()
    (root / "AWSLogs").mkdir(parents=True)
    (root / "AWSLogs" / "link").symlink_to(tmp_path)
    assert local_path(root, "AWSLogs/a/b.json.gz") == root / "AWSLogs" / "a" / "b.json.gz"
    for key in ("../x", "AWSLogs/../../x", "/etc/passwd", "AWSLogs//x", "AWSLogs/./x", "AWSLogs\\..\\x", "a\x00b", "",
                "AWSLogs/link/outside.json.gz"):
        assert local_path(root, key) is None, key


def test_evidence_is_written_once_read_only_and_never_replaced(tmp_path: Path) -> None:
    path = tmp_path / "AWSLogs" / "x.json.gz"
    write_evidence(path, b"first")
    with pytest.raises(FileExistsError):
        write_evidence(path, b"second")
    assert path.read_bytes() == b"first" and stat.S_IMODE(path.stat().st_mode) == READ_ONLY
    assert [p.name for p in path.parent.iterdir()] == ["x.json.gz"]  # no temporary file left behind


def test_an_unanswered_caller_identity_is_recorded(bucket: Any, tmp_path: Path) -> None:
    sts = boto3.client("sts", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
    stub = Stubber(sts)  # moto always answers GetCallerIdentity
    stub.add_client_error("get_caller_identity", "AccessDenied", "not allowed", 403)
    with stub:
        result = acquire(f"s3://{BUCKET}/audit", tmp_path / "case", start=START, end=END, s3_client=bucket, sts_client=sts)
    assert result.principal == {"error": "AccessDenied: not allowed"}
    assert read_manifest(tmp_path / "case")["runs"][0]["principal"] == {"error": "AccessDenied: not allowed"}
    assert "acquired by: unknown (AccessDenied: not allowed)" in str(result)


def test_unlistable_sources_are_gaps(moto: Moto, tmp_path: Path) -> None:
    result = acquire("s3://no-such-bucket", tmp_path / "case", start=START, end=END, s3_client=moto.client("s3"))
    assert result.gaps["reason"].tolist() == ["cannot list: NoSuchBucket: The specified bucket does not exist"]
    assert result.objects.empty and not result.ok


def test_bad_arguments_raise(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(SourceError, match="not a folder|cannot create"):
        acquire("s3://b", tmp_path / "file", start=START, end=END, s3_client=object(), sts_client=object())
    with pytest.raises(WindowError, match="both start and end"):
        acquire("s3://b", tmp_path / "out", start=START, end=None)  # type: ignore[arg-type]
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "manifest.json").write_text('{"something": "else"}')
    with pytest.raises(SourceError, match="not a forensics-acquisition/1 manifest"):
        read_manifest(tmp_path / "other")


# ------------------------------------------------------------------------ command line


def cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="forensics acquire")
    add_arguments(parser)
    return run(parser.parse_args(list(argv)))


def test_command_line_uses_the_standard_aws_settings_and_exits_1_on_conflicts(
    bucket: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "case"
    assert cli(f"s3://{BUCKET}/audit", str(out), "--start", START, "--end", END) == 0  # AWS_ENDPOINT_URL -> moto
    printed = capsys.readouterr().out
    assert "objects downloaded: 4" in printed and "acquired by: arn:aws:sts::123456789012:user/moto" in printed
    (out / IN_WINDOW[0]).chmod(0o644)
    (out / IN_WINDOW[0]).write_bytes(b"\x1b[2Jchanged")
    assert cli(f"s3://{BUCKET}/audit", str(out), "--start", START, "--end", END, "--no-digests") == 1
    printed = capsys.readouterr().out
    assert "objects conflict: 1" in printed and f"  conflict  {IN_WINDOW[0]}  the local file (SHA-256 " in printed
    assert "verdict: INCOMPLETE" in printed


# ------------------------------------------------------------------------ with the digest validator


def _signed_trail() -> Any:
    """The integrity tests' signed-trail builder (a sibling test folder, not an installed module)."""
    path = Path(__file__).resolve().parent.parent / "integrity" / "signed_trail.py"
    spec = importlib.util.spec_from_file_location("signed_trail_for_acquire", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_an_acquired_signed_trail_validates_offline(moto: Moto, tmp_path: Path) -> None:
    import datetime as dt

    from cryptography.hazmat.primitives.asymmetric import rsa

    from forensics.integrity import validate_trail

    signed = _signed_trail()
    trail = signed.Trail(signed.Signer(rsa.generate_private_key(public_exponent=65537, key_size=2048)))
    trail.prefix, trail.organization = "audit/", "o-abcdef1234"
    hour = dt.timedelta(hours=1)
    digests = trail.chain("us-east-1", signed.START, 4)
    s3 = moto.client("s3")
    s3.create_bucket(Bucket=trail.bucket)
    trail.upload(s3)
    start, end = signed.START + hour, signed.START + 2 * hour
    out = tmp_path / "case"
    result = acquire(f"s3://{trail.bucket}/audit", out, start=signed.iso(start), end=signed.iso(end), s3_client=s3)
    assert result.ok
    acquired = set(result.objects["key"])
    assert set(digests[1:]) <= acquired  # the window's digests and the ones after it
    check = validate_trail(out, public_keys=trail.public_keys_file(tmp_path / "keys.json"),
                           object_metadata=out / "object-metadata.json")
    digest_status = dict(zip(check.digests["key"], check.digests["status"]))
    assert {key: digest_status.get(key) for key in acquired if "CloudTrail-Digest" in key} == dict.fromkeys(
        (k for k in acquired if "CloudTrail-Digest" in k), "valid"
    )
    log_status = dict(zip(check.logs["key"], check.logs["status"]))
    window_logs = [k for d in digests[1:3] for k in trail.logs[d]]
    assert {k: log_status.get(k) for k in window_logs} == dict.fromkeys(window_logs, "valid")
    assert os.path.exists(out / "object-metadata.json")
