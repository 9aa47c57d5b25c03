"""The digest format: names, content, string-to-sign, signatures and public keys."""

from __future__ import annotations

import base64
import hashlib
import json

import pandas as pd
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from signed_trail import Signer, gz

from forensics.digests import (
    DigestFormatError,
    decode_signature,
    inflate,
    parse_digest,
    parse_digest_name,
    parse_log_name,
    public_key,
    public_keys_from_api,
    read_public_keys,
)
from forensics.errors import IntegrityError

DIGEST = (
    "audit/AWSLogs/o-abcdef1234/012345678901/CloudTrail-Digest/eu-west-1/2024/03/14/"
    "012345678901_CloudTrail-Digest_eu-west-1_my_trail.v2_us-east-1_20240314T020031Z.json.gz"
)


def _doc(**changes: object) -> dict:
    doc = {
        "awsAccountId": "012345678901",
        "digestStartTime": "2024-03-14T01:00:31Z",
        "digestEndTime": "2024-03-14T02:00:31Z",
        "digestS3Bucket": "bucket",
        "digestS3Object": "key.json.gz",
        "digestPublicKeyFingerprint": "ab" * 16,
        "digestSignatureAlgorithm": "SHA256withRSA",
        "newestEventTime": None,
        "oldestEventTime": None,
        "previousDigestS3Bucket": None,
        "previousDigestS3Object": None,
        "previousDigestHashValue": None,
        "previousDigestHashAlgorithm": None,
        "previousDigestSignature": None,
        "logFiles": [],
    }
    doc.update(changes)
    return doc


def test_digest_names_anchor_on_account_regions_and_time() -> None:
    name = parse_digest_name(DIGEST)
    assert name is not None
    assert (name.prefix, name.organization, name.account, name.region) == (
        "audit/", "o-abcdef1234", "012345678901", "eu-west-1"
    )
    assert (name.trail, name.home_region, name.end, name.backfill) == (
        "my_trail.v2", "us-east-1", pd.Timestamp("2024-03-14T02:00:31Z"), False
    )
    assert name.chain == "012345678901/eu-west-1/my_trail.v2"
    backfill = parse_digest_name(DIGEST.replace(".json.gz", "_backfill.json.gz"))
    assert backfill is not None and backfill.backfill and backfill.trail == "my_trail.v2"
    assert backfill.chain == "012345678901/eu-west-1/my_trail.v2 (backfill)"


@pytest.mark.parametrize(
    "key",
    [
        DIGEST.replace("012345678901_CloudTrail-Digest", "999999999999_CloudTrail-Digest"),  # account differs
        DIGEST.replace("_eu-west-1_my", "_us-west-2_my"),  # region differs from its folder
        DIGEST.replace("20240314T020031Z", "20240314T0200Z"),  # a log-style time
        DIGEST.replace("20240314T020031Z", "20241399T020031Z"),  # impossible date
        DIGEST.replace(".json.gz", ".json"),
    ],
)
def test_keys_off_the_digest_layout_do_not_parse(key: str) -> None:
    assert parse_digest_name(key) is None


def test_log_names_give_account_region_and_delivery_minute() -> None:
    key = "AWSLogs/012345678901/CloudTrail/us-east-1/2024/03/14/012345678901_CloudTrail_us-east-1_20240314T0105Z_a1B2.json.gz"
    name = parse_log_name(key)
    assert name is not None
    assert (name.account, name.region, name.delivered) == ("012345678901", "us-east-1", pd.Timestamp("2024-03-14T01:05Z"))
    assert parse_log_name(key.replace("/CloudTrail/", "/CloudTrail-Insight/")) is None


def test_string_to_sign_of_a_starting_digest_ends_in_the_literal_null() -> None:
    raw = json.dumps(_doc()).encode()
    digest = parse_digest(raw)
    assert digest.starting
    expected = f"2024-03-14T02:00:31Z\nbucket/key.json.gz\n{hashlib.sha256(raw).hexdigest()}\nnull".encode()
    assert digest.string_to_sign() == expected


def test_string_to_sign_keeps_the_end_time_and_signature_verbatim() -> None:
    doc = _doc(
        digestEndTime="2024-03-14T02:00:31.000Z",
        previousDigestS3Bucket="bucket",
        previousDigestS3Object="previous.json.gz",
        previousDigestHashValue="CD" * 32,
        previousDigestHashAlgorithm="SHA-256",
        previousDigestSignature="ABCDEF01",
    )
    raw = json.dumps(doc, indent=2).encode()  # any layout: the bytes as received are hashed
    digest = parse_digest(raw)
    assert digest.string_to_sign() == (
        f"2024-03-14T02:00:31.000Z\nbucket/key.json.gz\n{hashlib.sha256(raw).hexdigest()}\nABCDEF01".encode()
    )
    assert digest.end == pd.Timestamp("2024-03-14T02:00:31Z")
    assert digest.previous_hash_problem("cd" * 32) is None


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"\xff\xfe", "not JSON"),
        (b"[]", "not a JSON object"),
        (json.dumps({k: v for k, v in _doc().items() if k != "digestS3Object"}).encode(), "missing field(s) digestS3Object"),
        (json.dumps(_doc(digestEndTime=1710381631)).encode(), "digestEndTime is not a string"),
        (json.dumps(_doc(previousDigestS3Object="x")).encode(), "previous-digest fields partly null"),
        (json.dumps(_doc(logFiles=[{"s3Bucket": "b"}])).encode(), "logFiles[0] lacks s3Bucket, s3Object, hashValue or hashAlgorithm"),
    ],
)
def test_malformed_digests_say_what_is_wrong(raw: bytes, message: str) -> None:
    with pytest.raises(DigestFormatError) as caught:
        parse_digest(raw)
    assert str(caught.value).startswith(message)


def test_inflate_reports_trailing_data_truncation_and_non_gzip() -> None:
    body = b'{"Records": []}'
    assert (inflate(gz(body)).data, inflate(gz(body)).problem) == (body, None)
    appended = inflate(gz(body) + gz(b"forged"))
    assert (appended.data, appended.trailing) == (body, len(gz(b"forged")))
    assert appended.problem == f"{len(gz(b'forged'))} bytes of data after the first gzip member"
    assert inflate(gz(body)[:-6]).problem == "truncated gzip (the stream ends before its end marker)"
    assert inflate(body).problem == "not a valid gzip stream"
    assert inflate(gz(body)).sha256 == hashlib.sha256(body).hexdigest()


def test_inflate_streams_the_hash_and_refuses_gzip_bombs() -> None:
    big = b'{"Records": [' + b" " * 10_000_000 + b"]}"
    hashed = inflate(gz(big), keep=False)
    assert (hashed.sha256, hashed.size, hashed.data, hashed.problem) == (hashlib.sha256(big).hexdigest(), len(big), b"", None)
    bomb = inflate(gz(big), limit=1 << 20)
    assert bomb.problem == "inflates to more than 1 MiB (refused)"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0aff", b"\x0a\xff"), ("0AFF", b"\x0a\xff"), ("0af", None), ("0a ff", None), ("", None), (None, None), ("zz", None)],
)
def test_signatures_are_even_length_hex_of_either_case(text: object, expected: bytes | None) -> None:
    assert decode_signature(text) == expected


def test_both_public_key_forms_verify_and_are_fingerprinted_as_given(rsa_key: rsa.RSAPrivateKey) -> None:
    message = b"2024-03-14T02:00:31Z\nbucket/key\nabc\nnull"
    signature = bytes.fromhex(Signer(rsa_key).sign(message))
    for form in ("pkcs1", "spki"):
        der = Signer(rsa_key, form).der
        key = public_key(der)
        assert (key.fingerprint, key.problem) == (hashlib.md5(der).hexdigest(), None)
        assert key.verify(message, signature)
        assert not key.verify(message + b" ", signature)
    assert public_key(Signer(rsa_key, "pkcs1").der).fingerprint != public_key(Signer(rsa_key, "spki").der).fingerprint


def test_public_keys_from_the_cli_file_and_from_boto3(rsa_key: rsa.RSAPrivateKey, tmp_path) -> None:
    der = Signer(rsa_key, "pkcs1").der
    path = tmp_path / "keys.json"
    path.write_text(json.dumps({"PublicKeyList": [{"Value": base64.b64encode(der).decode(),
                                                   "ValidityStartTime": "2024-01-01T00:00:00Z",
                                                   "Fingerprint": hashlib.md5(der).hexdigest()}]}))
    from_file = read_public_keys(path)
    from_api = public_keys_from_api([{"Value": der, "Fingerprint": hashlib.md5(der).hexdigest()}])
    assert list(from_file) == list(from_api) == [hashlib.md5(der).hexdigest()]
    assert from_file[hashlib.md5(der).hexdigest()].valid_from == pd.Timestamp("2024-01-01T00:00:00Z")
    path.write_text('{"Keys": []}')
    with pytest.raises(IntegrityError, match="expected the JSON output of `aws cloudtrail list-public-keys`"):
        read_public_keys(path)
