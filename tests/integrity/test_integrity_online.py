"""Online validation: the same signed chains uploaded to a real moto S3 server, read back live.

moto has no ``ListPublicKeys`` (and no ``LatestDigestDeliveryTime``), so the keys are
given as a file to the moto runs, and a botocore ``Stubber`` on a CloudTrail client
stands in for those two calls in the last tests.
"""

from __future__ import annotations

import datetime as dt
import logging
import urllib.request
from collections.abc import Iterator

import boto3
import pytest
from botocore.stub import Stubber
from moto.server import ThreadedMotoServer
from signed_trail import BUCKET, START, Trail, column, event, gz, iso, statuses

from forensics.errors import SourceError
from forensics.integrity import validate_trail

H = dt.timedelta(hours=1)
ARN = "arn:aws:cloudtrail:us-east-1:012345678901:trail/org_audit.trail"
FAKE = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def clients(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> tuple[object, object]:
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    urllib.request.urlopen(urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST")).close()
    s3 = boto3.client("s3", endpoint_url=moto_url, **FAKE)
    cloudtrail = boto3.client("cloudtrail", endpoint_url=moto_url, **FAKE)
    s3.create_bucket(Bucket=BUCKET)
    return s3, cloudtrail


def _uploaded(trail: Trail, s3: object, hours: int = 3) -> list[str]:
    keys = trail.chain("us-east-1", START, hours)
    trail.chain("eu-west-1", START + dt.timedelta(minutes=7), hours)
    trail.upload(s3)
    return keys


def test_online_chain_through_moto_matches_the_offline_result(trail: Trail, clients, validate, tmp_path) -> None:
    s3, cloudtrail = clients
    trail.prefix, trail.organization = "audit/", "o-abcdef1234"
    _uploaded(trail, s3)
    keys = trail.public_keys_file(tmp_path / "public-keys.json")

    online = validate_trail(f"s3://{BUCKET}/audit", public_keys=keys, acquired_at=iso(START + 3 * H),
                            s3_client=s3, cloudtrail_client=cloudtrail)
    offline = validate(trail, acquired_at=iso(START + 3 * H))

    assert statuses(online.digests) == statuses(offline.digests) == dict.fromkeys(trail.metadata, "valid")
    assert statuses(online.logs) == statuses(offline.logs) == {log: "valid" for logs in trail.logs.values() for log in logs}
    assert online.logs["path"].str.startswith(f"s3://{BUCKET}/audit/AWSLogs/o-abcdef1234/").all()
    assert online.chains["tail_reference_source"].tolist() == ["acquired_at", "acquired_at"]
    assert online.notes[0] == f"GetTrailStatus failed for {ARN} (TrailNotFoundException)"
    assert online.ok


def test_online_tampering_is_found_in_the_bucket(trail: Trail, clients, tmp_path) -> None:
    s3, cloudtrail = clients
    d = _uploaded(trail, s3, hours=4)
    s3.delete_object(Bucket=BUCKET, Key=d[1])
    s3.put_object(Bucket=BUCKET, Key=d[2], Body=trail.objects[d[2]])  # metadata stripped
    changed = trail.logs[d[3]][0]
    s3.put_object(Bucket=BUCKET, Key=changed, Body=gz(b'{"Records": []}'))
    planted = trail.add_log("us-east-1", START + dt.timedelta(minutes=40), [event("StopLogging", START)], "planted")
    s3.put_object(Bucket=BUCKET, Key=planted, Body=trail.objects[planted])

    result = validate_trail(f"s3://{BUCKET}", public_keys=trail.public_keys_file(tmp_path / "k.json"),
                            acquired_at=iso(START + 4 * H), s3_client=s3, cloudtrail_client=cloudtrail)

    east = {k: v for k, v in statuses(result.digests).items() if "/us-east-1/" in k}
    assert east == {d[0]: "valid", d[1]: "not-found", d[2]: "invalid", d[3]: "valid"}
    assert column(result.digests, "reason")[d[2]] == "object metadata lacks signature or signature-algorithm"
    expected = {log: "valid" for logs in trail.logs.values() for log in logs}
    expected |= dict.fromkeys(trail.logs[d[1]] + trail.logs[d[2]] + [planted], "unreferenced") | {changed: "hash-mismatch"}
    assert statuses(result.logs) == expected
    assert result.gaps["kind"].tolist() == ["missing-digest"]
    assert not result.ok


def test_online_keys_and_tail_come_from_cloudtrail(trail: Trail, clients) -> None:
    s3, _ = clients
    keys = trail.chain("us-east-1", START, 3)
    trail.upload(s3)
    cloudtrail = boto3.client("cloudtrail", **FAKE)
    key = {"Value": trail.signer.der, "Fingerprint": trail.signer.fingerprint,
           "ValidityStartTime": START - 30 * 24 * H, "ValidityEndTime": START + 30 * 24 * H}
    with Stubber(cloudtrail) as stub:
        window = {"StartTime": (START + H - 2 * H), "EndTime": (START + 3 * H + 2 * H)}
        stub.add_response("list_public_keys", {"PublicKeyList": [key]}, window)
        stub.add_response("get_trail_status", {"IsLogging": True, "LatestDigestDeliveryTime": START + 6 * H}, {"Name": ARN})

        result = validate_trail(f"s3://{BUCKET}", s3_client=s3, cloudtrail_client=cloudtrail)

        stub.assert_no_pending_responses()
    assert statuses(result.digests) == dict.fromkeys(keys, "valid")
    tail = result.chains.iloc[0]
    assert (tail["tail"], tail["tail_reference"], tail["tail_reference_source"]) == (
        "missing", START + 6 * H, "GetTrailStatus LatestDigestDeliveryTime"
    )
    assert result.gaps["kind"].tolist() == ["tail"]


def test_online_key_listing_failure_is_reported_per_digest(trail: Trail, clients) -> None:
    s3, _ = clients
    keys = trail.chain("us-east-1", START, 2)
    trail.upload(s3)
    cloudtrail = boto3.client("cloudtrail", **FAKE)
    with Stubber(cloudtrail) as stub:
        stub.add_client_error("list_public_keys", "AccessDeniedException", http_status_code=403)
        stub.add_client_error("get_trail_status", "AccessDeniedException", http_status_code=403)

        result = validate_trail(f"s3://{BUCKET}", acquired_at=iso(START + 2 * H), s3_client=s3, cloudtrail_client=cloudtrail)

    reason = "public keys could not be listed in us-east-1 (AccessDeniedException)"
    assert column(result.digests, "reason") == dict.fromkeys(keys, reason)
    assert set(result.digests["status"]) == {"invalid"}
    assert result.notes[0] == reason


def test_a_bucket_that_cannot_be_listed_is_a_source_error(clients) -> None:
    s3, cloudtrail = clients
    with pytest.raises(SourceError, match=r"s3://no-such-bucket/AWSLogs/: cannot list objects \(NoSuchBucket\)"):
        validate_trail("s3://no-such-bucket", public_keys=[], s3_client=s3, cloudtrail_client=cloudtrail)
