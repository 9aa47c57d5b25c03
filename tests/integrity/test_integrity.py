"""Offline validation of signed digest chains: every case of reliability.md §5 G, with exact statuses."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import time
from pathlib import Path

import pandas as pd
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from signed_trail import START, Signer, Trail, column, event, gz, iso, statuses

from forensics.cloudtrail import load_cloudtrail
from forensics.errors import IntegrityError, SourceError, WindowError
from forensics.integrity import file_status, validate_trail

H = dt.timedelta(hours=1)
CHAIN = "012345678901/us-east-1/org_audit.trail"


def acquired(hours: int) -> str:
    """Ten minutes after a chain of ``hours`` digests from START ended."""
    return iso(START + hours * H + dt.timedelta(minutes=10))


def three_hours(trail: Trail) -> list[str]:
    """D0 (starting, its first log holds CreateTrail), D1, D2; two logs each."""
    return trail.chain("us-east-1", START, 3, records=lambda h, d: [event("CreateTrail", d)] if h == 0 else [])


def logs_of(trail: Trail, *digests: str) -> list[str]:
    return [log for d in digests for log in trail.logs[d]]


def all_logs(trail: Trail, status: str = "valid") -> dict[str, str]:
    return {log: status for logs in trail.logs.values() for log in logs}


# ------------------------------------------------------------------------------ G1 valid chains


@pytest.mark.parametrize("form", ["spki", "pkcs1"])
def test_valid_chain_with_each_public_key_form(rsa_key: rsa.RSAPrivateKey, validate, form: str) -> None:
    trail = Trail(Signer(rsa_key, form))
    d0, d1, d2 = three_hours(trail)

    result = validate(trail, acquired_at=acquired(3))

    assert statuses(result.digests) == {d0: "valid", d1: "valid", d2: "valid"}
    assert column(result.digests, "link") == {d0: "chain start", d1: "ok", d2: "ok"}
    assert set(column(result.digests, "signature_source").values()) == {"object metadata"}
    assert statuses(result.logs) == all_logs(trail)
    assert result.gaps.empty  # the chain begins with its starting digest; nothing is missing
    chain = result.chains.iloc[0]
    assert (chain["chain"], chain["digests"], chain["valid"], chain["chain_starts"], chain["tail"]) == (CHAIN, 3, 3, 1, "ok")
    assert chain["last_end"] == pd.Timestamp(START + 3 * H)
    assert result.ok and result.problems() == []


def test_window_opening_before_the_chain_start_is_a_gap_explained_by_create_trail(trail: Trail, validate) -> None:
    d0, d1, d2 = three_hours(trail)

    result = validate(trail, start=iso(START - H), acquired_at=acquired(3))

    assert result.gaps[["kind", "digest", "explained"]].to_dict("records") == [
        {"kind": "chain-start", "digest": d0, "explained": True}
    ]
    assert (result.gaps["gap_start"][0], result.gaps["gap_end"][0]) == (pd.Timestamp(START - H), pd.Timestamp(START))
    created = event("CreateTrail", START + dt.timedelta(minutes=5))
    assert result.gaps["events"].tolist() == [
        f"CreateTrail by arn:aws:iam::012345678901:user/mallory at 2024-03-14T00:05:31+00:00 ({created['eventID']})"
    ]
    assert result.ok

    bare = Trail(trail.signer, bucket="bare-bucket")
    bare.chain("us-east-1", START, 2)
    unexplained = validate(bare, start=iso(START - H), acquired_at=acquired(2))
    assert unexplained.gaps["explained"].tolist() == [False]
    assert unexplained.problems() == ["1 unexplained gap(s) of kind chain-start"]


def test_digest_keys_may_sit_under_an_organization_and_a_prefix_synced_away(rsa_key, tmp_path) -> None:
    trail = Trail(Signer(rsa_key), prefix="audit/logs/", organization="o-abcdef1234")
    keys = three_hours(trail)
    for key, body in trail.objects.items():  # as `aws s3 sync s3://bucket/audit/logs .` leaves it
        path = tmp_path / "copy" / key.removeprefix("audit/logs/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)

    result = validate_trail(
        tmp_path / "copy",
        public_keys=trail.public_keys_file(tmp_path / "k.json"),
        object_metadata=trail.metadata_file(tmp_path / "m.json"),
        acquired_at=acquired(3),
    )

    assert sorted(result.digests["status"]) == ["valid"] * 3
    assert sorted(result.digests["key"]) == sorted(k.removeprefix("audit/logs/") for k in keys)
    assert sorted(result.logs["status"]) == ["valid"] * 6
    assert result.ok


# ------------------------------------------------------------------------------ G2-G4 log files


def test_changed_log_is_a_hash_mismatch(trail: Trail, validate) -> None:
    d0, d1, d2 = three_hours(trail)
    edited, corrupted = trail.logs[d1][0], trail.logs[d2][1]
    text = gzip.decompress(trail.objects[edited]).replace(b"DescribeInstances", b"DescribeInstancez", 1)
    trail.objects[edited] = gz(text)
    body = bytearray(trail.objects[corrupted])
    body[len(body) // 2] ^= 0x01  # one bit of the compressed stream
    trail.objects[corrupted] = bytes(body)

    result = validate(trail, acquired_at=acquired(3))

    assert statuses(result.digests) == {d0: "valid", d1: "valid", d2: "valid"}
    assert statuses(result.logs) == all_logs(trail) | {edited: "hash-mismatch", corrupted: "hash-mismatch"}
    reasons = column(result.logs, "reason")
    assert reasons[edited] == f"SHA-256 {hashlib.sha256(text).hexdigest()} differs from {column(result.logs, 'expected_sha256')[edited]} in the digest"
    assert reasons[corrupted] == "not a valid gzip stream"
    assert not result.ok and result.problems() == ["2 log file(s) hash-mismatch"]


def test_missing_log_is_not_found(trail: Trail, validate) -> None:
    d0, d1, d2 = three_hours(trail)
    gone = trail.logs[d1][1]
    trail.delete([gone])

    result = validate(trail, acquired_at=acquired(3))

    assert statuses(result.logs) == all_logs(trail) | {gone: "not-found"}
    assert column(result.logs, "reason")[gone] == f"listed in {d1}, absent"
    assert result.problems() == ["1 log file(s) not-found"]


def test_planted_log_is_unreferenced(trail: Trail, validate) -> None:
    three_hours(trail)
    planted = trail.add_log("us-east-1", START + H + dt.timedelta(minutes=33), [event("StopLogging", START + H)], "planted")

    result = validate(trail, acquired_at=acquired(3))

    assert statuses(result.logs) == all_logs(trail) | {planted: "unreferenced"}
    row = result.logs.set_index("key").loc[planted]
    assert (row["reason"], row["pending"], pd.isna(row["digest"])) == ("referenced by no valid digest", False, True)
    assert row["sha256"] == hashlib.sha256(gzip.decompress(trail.objects[planted])).hexdigest()
    assert result.problems() == ["1 log file(s) unreferenced"]


def test_log_delivered_after_the_newest_digest_is_pending_not_planted(trail: Trail, validate) -> None:
    three_hours(trail)
    fresh = trail.add_log("us-east-1", START + 3 * H + dt.timedelta(minutes=4), [], "fresh")

    result = validate(trail, acquired_at=acquired(3))

    assert statuses(result.logs) == all_logs(trail) | {fresh: "unreferenced"}
    row = result.logs.set_index("key").loc[fresh]
    assert row["pending"]
    assert row["reason"] == "delivered after the newest digest of its region ends (2024-03-14T03:00:31+00:00): not digested yet"
    assert result.ok  # unverified but expected: the next digest is not due yet


def test_appended_gzip_member_is_trailing_data(trail: Trail, validate) -> None:
    d0, d1, d2 = three_hours(trail)
    log = trail.logs[d1][0]
    trail.objects[log] += gz(json.dumps({"Records": [event("DeleteTrail", START + H)]}).encode())

    result = validate(trail, acquired_at=acquired(3))

    assert statuses(result.logs) == all_logs(trail) | {log: "trailing-data"}
    assert column(result.logs, "reason")[log].endswith("bytes of data after the first gzip member (the digest covers the first only)")


# ------------------------------------------------------------------------------ G5, G6, G10 digests


def test_modified_digest_is_invalid_and_the_walk_continues(trail: Trail, validate) -> None:
    d0, d1, d2 = three_hours(trail)
    trail.rewrite(d1, lambda doc: doc["logFiles"].pop())

    result = validate(trail, acquired_at=acquired(3))

    assert statuses(result.digests) == {d0: "valid", d1: "invalid", d2: "valid"}
    assert column(result.digests, "reason")[d1] == "signature verification failed"
    assert column(result.digests, "link") == {d0: "chain start", d1: "not checked", d2: "predecessor invalid"}
    orphaned = logs_of(trail, d1)
    assert statuses(result.logs) == all_logs(trail) | dict.fromkeys(orphaned, "unreferenced")
    assert column(result.logs, "reason")[orphaned[0]] == f"referenced by no valid digest (listed by {d1}, which is not valid)"


def test_deleted_middle_digest_is_not_found_from_its_successors_pointer(trail: Trail, validate) -> None:
    d0, d1, d2 = three_hours(trail)
    trail.delete([d1])

    result = validate(trail, acquired_at=acquired(3))

    assert statuses(result.digests) == {d0: "valid", d1: "not-found", d2: "valid"}
    assert column(result.digests, "reason")[d1] == f"absent, but referenced as the previous digest of {d2}"
    assert column(result.digests, "link")[d2] == "predecessor not found"
    assert statuses(result.logs) == all_logs(trail) | dict.fromkeys(logs_of(trail, d1), "unreferenced")
    missing = result.gaps[result.gaps["kind"] == "missing-digest"].iloc[0]
    assert (missing["digest"], missing["explained"]) == (d1, False)
    assert (missing["gap_start"], missing["gap_end"]) == (pd.Timestamp(START + H), pd.Timestamp(START + 2 * H))
    assert result.problems() == ["1 digest(s) not-found", "2 log file(s) unreferenced", "1 unexplained gap(s) of kind missing-digest"]


def test_digest_copied_to_another_key_is_moved(trail: Trail, validate) -> None:
    d0, d1, d2 = three_hours(trail)
    copy = d1.replace("2024/03/14", "2024/03/15").replace("20240314T02", "20240315T02")
    trail.objects[copy] = trail.objects[d1]
    trail.metadata[copy] = trail.metadata[d1]

    result = validate(trail, acquired_at=acquired(3))

    assert statuses(result.digests) == {d0: "valid", d1: "valid", d2: "valid", copy: "invalid"}
    assert column(result.digests, "reason")[copy] == f"moved: the digest says it was written to s3://acme-cloudtrail/{d1}"


def test_digest_from_another_bucket_at_the_right_key_is_moved(rsa_key, trail: Trail, validate) -> None:
    d0, d1, d2 = three_hours(trail)
    other = Trail(Signer(rsa_key), bucket="other-bucket")
    three_hours(other)
    trail.objects[d1], trail.metadata[d1] = other.objects[d1], other.metadata[d1]

    result = validate(trail, acquired_at=acquired(3))

    assert statuses(result.digests) == {d0: "valid", d1: "invalid", d2: "valid"}
    assert column(result.digests, "reason")[d1] == (
        "moved: it says it was written to bucket other-bucket; the copy holds acme-cloudtrail's digests"
    )
    assert column(result.digests, "link") == {d0: "chain start", d1: "broken", d2: "predecessor invalid"}
    assert result.notes == ("the digests name several buckets ['acme-cloudtrail', 'other-bucket']; "
                            "the copy is taken to hold 'acme-cloudtrail' (named by 2 of 3)",)


# ------------------------------------------------------------------------------ G7 tail, G8 chain starts


def test_deleted_newest_digests_are_detected_at_the_tail(trail: Trail, validate) -> None:
    d = trail.chain("us-east-1", START, 5)
    trail.delete([d[3], d[4], *logs_of(trail, d[3], d[4])])

    result = validate(trail, acquired_at=acquired(5))

    assert statuses(result.digests) == dict.fromkeys(d[:3], "valid")
    tail = result.gaps[result.gaps["kind"] == "tail"].iloc[0]
    assert (tail["digest"], tail["explained"]) == (d[2], False)
    assert (tail["gap_start"], tail["gap_end"]) == (pd.Timestamp(START + 3 * H), pd.Timestamp(acquired(5)))
    assert result.chains["tail"].tolist() == ["missing"]
    assert "1 unexplained gap(s) of kind tail" in result.problems()

    unchecked = validate(trail)
    assert unchecked.chains["tail"].tolist() == ["unchecked"]
    assert unchecked.problems()[-1].startswith("1 chain tail(s) unchecked")


def test_logs_left_behind_by_a_deleted_tail_are_unreferenced_not_pending(trail: Trail, validate) -> None:
    d = trail.chain("us-east-1", START, 5)
    trail.delete([d[3], d[4]])

    result = validate(trail, acquired_at=acquired(5))

    assert statuses(result.logs) == all_logs(trail) | dict.fromkeys(logs_of(trail, d[3], d[4]), "unreferenced")
    assert not result.logs["pending"].any()


def test_stopped_trail_explains_the_tail(trail: Trail, validate) -> None:
    stop = lambda h, when: [event("StopLogging", when - dt.timedelta(minutes=1))] if h == 2 else []  # noqa: E731
    trail.chain("us-east-1", START, 3, records=stop)

    result = validate(trail, acquired_at=acquired(8))

    tail = result.gaps[result.gaps["kind"] == "tail"].iloc[0]
    assert tail["explained"] and tail["events"].startswith("StopLogging by arn:aws:iam::012345678901:user/mallory at 2024-03-14T02:04:31")
    assert result.chains["tail"].tolist() == ["explained"]
    assert result.ok


def _restarted(trail: Trail, first: list, second: list) -> tuple[list[str], list[str]]:
    """Chain A (two hours), nothing for three hours, chain B (two hours): ``first`` and
    ``second`` are extra records of A's last hour and B's first hour."""
    a = trail.chain("us-east-1", START, 2, records=lambda h, d: first if h == 1 else [])
    b = trail.chain("us-east-1", START + 5 * H, 2, records=lambda h, d: second if h == 0 else [])
    return a, b


def test_restarted_chain_is_a_gap_explained_by_the_trails_own_events(trail: Trail, validate) -> None:
    a, b = _restarted(trail, [event("StopLogging", START + H + dt.timedelta(minutes=2))],
                      [event("StartLogging", START + 5 * H + dt.timedelta(minutes=1))])

    result = validate(trail, acquired_at=acquired(7))

    assert statuses(result.digests) == dict.fromkeys(a + b, "valid")
    restart = result.gaps.set_index("digest").loc[b[0]]
    assert (restart["kind"], restart["explained"]) == ("chain-start", True)
    assert (restart["gap_start"], restart["gap_end"]) == (pd.Timestamp(START + 2 * H), pd.Timestamp(START + 5 * H))
    assert [e.split(" by ")[0] for e in restart["events"].split("; ")] == ["StopLogging", "StartLogging"]
    assert result.chains["chain_starts"].tolist() == [2]
    assert result.ok


def test_restart_without_trail_events_is_unexplained(trail: Trail, validate) -> None:
    failed = event("StopLogging", START + H + dt.timedelta(minutes=2), error="AccessDenied")
    other_trail = event("StopLogging", START + H + dt.timedelta(minutes=3), trail="some-other-trail")
    a, b = _restarted(trail, [failed, other_trail], [])
    trail.add_log("us-east-1", START + 3 * H, [event("StopLogging", START + 2 * H)], "planted")  # in no digest

    result = validate(trail, acquired_at=acquired(7))

    restart = result.gaps.set_index("digest").loc[b[0]]
    assert (restart["explained"], restart["events"]) == (False, "")
    assert result.problems() == ["1 log file(s) unreferenced", "1 unexplained gap(s) of kind chain-start"]


# ------------------------------------------------------------------------------ G9, G11-G14 format and signature


def test_starting_digest_signs_the_literal_null_and_partial_nulls_are_invalid(trail: Trail, validate) -> None:
    def partial(hour: int, doc: dict) -> None:
        if hour == 1:
            doc["previousDigestSignature"] = None

    d0, d1, d2 = trail.chain("us-east-1", START, 3, tweak=partial)

    result = validate(trail, acquired_at=acquired(3))

    assert statuses(result.digests) == {d0: "valid", d1: "invalid", d2: "valid"}
    assert column(result.digests, "reason")[d1] == (
        "invalid format: previous-digest fields partly null (previousDigestSignature); all or none must be"
    )


def _tweak_d1(change):
    def tweak(hour: int, doc: dict) -> None:
        if hour == 1:
            change(doc)

    return tweak


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda d: d.update(digestSignatureAlgorithm="MD5withRSA"), "digestSignatureAlgorithm is 'MD5withRSA', not SHA256withRSA"),
        (lambda d: d.update(previousDigestHashAlgorithm="MD5"), "previousDigestHashAlgorithm is 'MD5', not SHA-256"),
        (lambda d: d["logFiles"][0].update(hashAlgorithm="none"), "hashAlgorithm of log {log} is 'none', not SHA-256"),
        (lambda d: d.update(awsAccountId="999999999999"), "awsAccountId 999999999999 differs from the account 012345678901 in its key"),
    ],
    ids=["signature-algorithm", "previous-hash-algorithm", "log-hash-algorithm", "account"],
)
def test_declared_algorithms_and_account_are_checked(trail: Trail, validate, change, reason: str) -> None:
    d0, d1, d2 = trail.chain("us-east-1", START, 3, tweak=_tweak_d1(change))

    result = validate(trail, acquired_at=acquired(3))

    assert statuses(result.digests) == {d0: "valid", d1: "invalid", d2: "valid"}
    assert column(result.digests, "reason")[d1] == reason.format(log=trail.logs[d1][0])


@pytest.mark.parametrize(
    ("change", "status", "reason"),
    [
        (lambda m: m.update(signature=m["signature"].upper()), "valid", ""),
        (lambda m: m.update(signature=m["signature"][:-1]), "invalid", "the signature in the object metadata is not even-length hexadecimal"),
        (lambda m: m.update({"signature-algorithm": "SHA1withRSA"}), "invalid",
         "signature-algorithm in the object metadata is 'SHA1withRSA', not SHA256withRSA"),
        (lambda m: m.pop("signature"), "invalid", "object metadata lacks signature or signature-algorithm"),
        (lambda m: m.update(signature="00" * 256), "invalid", "signature verification failed"),
    ],
    ids=["uppercase-hex", "odd-length-hex", "weak-algorithm", "no-signature", "wrong-signature"],
)
def test_signature_metadata(trail: Trail, validate, change, status: str, reason: str) -> None:
    d0, d1, d2 = three_hours(trail)
    change(trail.metadata[d1])

    result = validate(trail, acquired_at=acquired(3))

    assert statuses(result.digests) == {d0: "valid", d1: status, d2: "valid"}
    assert column(result.digests, "reason")[d1] == reason


def _key_entry(der: bytes, fingerprint: str | None = None) -> dict:
    import base64

    return {"Value": base64.b64encode(der).decode(), "Fingerprint": fingerprint or hashlib.md5(der).hexdigest()}


def test_unknown_fingerprint_empty_key_list_and_unusable_keys(trail: Trail, validate, tmp_path) -> None:
    d0, d1, d2 = trail.chain("us-east-1", START, 3, tweak=_tweak_d1(lambda d: d.update(digestPublicKeyFingerprint="0" * 32)))

    result = validate(trail, acquired_at=acquired(3))
    assert statuses(result.digests) == {d0: "valid", d1: "invalid", d2: "valid"}
    assert column(result.digests, "reason")[d1] == f"public key not found for fingerprint {'0' * 32}"

    empty = validate(trail, signers=[], acquired_at=acquired(3))
    assert set(empty.digests["status"]) == {"invalid"}
    assert column(empty.digests, "reason")[d0] == f"public key not found for fingerprint {trail.signer.fingerprint} (the key list is empty)"

    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    ec_der = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(serialization.Encoding.DER, spki)
    short_der = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key().public_bytes(serialization.Encoding.DER, spki)
    cases = {
        "the key is not an RSA key": [_key_entry(ec_der)],
        "the RSA key has 1024 bits, fewer than 2048": [_key_entry(short_der)],
        "the key bytes are not a DER public key": [_key_entry(b"\x30\x03\x02\x01\x00")],
    }
    for problem, entries in cases.items():
        fingerprint = entries[0]["Fingerprint"]
        target = Trail(trail.signer, bucket=f"b-{fingerprint[:8]}")
        target.chain("us-east-1", START, 1, tweak=lambda h, d, fp=fingerprint: d.update(digestPublicKeyFingerprint=fp))
        keys = tmp_path / f"keys-{fingerprint}.json"
        keys.write_text(json.dumps({"PublicKeyList": entries}))
        root = target.write(tmp_path / fingerprint)
        outcome = validate_trail(root, public_keys=keys, object_metadata=target.metadata_file(tmp_path / f"m-{fingerprint}.json"))
        assert outcome.digests["reason"].tolist() == [f"public key {fingerprint} cannot be used: {problem}"]

    mislabelled = tmp_path / "mislabelled.json"
    mislabelled.write_text(json.dumps({"PublicKeyList": [_key_entry(trail.signer.der, "f" * 32)]}))
    relabelled = validate_trail(tmp_path / "evidence", public_keys=mislabelled)
    assert column(relabelled.digests, "reason")[d0] == (
        f"public key {trail.signer.fingerprint} cannot be used: listed with fingerprint {'f' * 32}, "
        f"but the MD5 of its bytes is {trail.signer.fingerprint}"
    )


@pytest.mark.parametrize(
    ("recorded", "problem"),
    [
        ("ab" * 32, "previousDigestHashValue {recorded} differs from the predecessor's SHA-256 {actual}"),
        ("a" * 63, "previousDigestHashValue '{recorded}' is not a 64-digit hex SHA-256"),
    ],
    ids=["other-hash", "63-hex-digits"],
)
def test_wrong_previous_hash_breaks_the_link(trail: Trail, validate, recorded: str, problem: str) -> None:
    d0, d1, d2 = trail.chain("us-east-1", START, 3, tweak=_tweak_d1(lambda d: d.update(previousDigestHashValue=recorded)))

    result = validate(trail, acquired_at=acquired(3))

    assert statuses(result.digests) == {d0: "valid", d1: "invalid", d2: "valid"}
    actual = hashlib.sha256(gzip.decompress(trail.objects[d0])).hexdigest()
    assert column(result.digests, "reason")[d1] == f"broken link to {d0}: " + problem.format(recorded=recorded, actual=actual)
    assert column(result.digests, "link") == {d0: "chain start", d1: "broken", d2: "ok"}


def test_previous_signature_is_cross_checked_with_the_predecessors_metadata(trail: Trail, validate) -> None:
    d0, d1, d2 = trail.chain("us-east-1", START, 3, tweak=_tweak_d1(lambda d: d.update(previousDigestSignature="ab" * 256)))

    result = validate(trail, acquired_at=acquired(3))

    assert statuses(result.digests) == {d0: "valid", d1: "invalid", d2: "valid"}
    assert column(result.digests, "reason")[d1] == (
        f"broken link to {d0}: previousDigestSignature differs from the signature in the predecessor's object metadata"
    )


def test_empty_and_late_digests_are_valid(trail: Trail, validate) -> None:
    def late(hour: int, doc: dict) -> None:
        doc["oldestEventTime"] = iso(START - 5 * H)

    d0 = trail.chain("us-east-1", START, 1)
    (empty,) = trail.chain("us-east-1", START + H, 1, logs_per_hour=0, starting=False)
    (delayed,) = trail.chain("us-east-1", START + 2 * H, 1, starting=False, tweak=late)

    result = validate(trail, acquired_at=acquired(3))

    assert statuses(result.digests) == {d0[0]: "valid", empty: "valid", delayed: "valid"}
    assert column(result.digests, "log_files") == {d0[0]: 2, empty: 0, delayed: 2}
    doc = json.loads(gzip.decompress(trail.objects[empty]))
    assert (doc["logFiles"], doc["newestEventTime"], doc["oldestEventTime"]) == ([], None, None)
    assert result.ok


def test_fractional_digest_end_time_is_signed_verbatim(trail: Trail, validate) -> None:
    d0, d1, d2 = trail.chain("us-east-1", START, 3, tweak=_tweak_d1(lambda d: d.update(digestEndTime=d["digestEndTime"][:-1] + ".000Z")))

    result = validate(trail, acquired_at=acquired(3))

    assert statuses(result.digests) == {d0: "valid", d1: "valid", d2: "valid"}
    assert json.loads(gzip.decompress(trail.objects[d1]))["digestEndTime"] == "2024-03-14T02:00:31.000Z"
    assert column(result.digests, "digestEndTime")[d1] == pd.Timestamp("2024-03-14T02:00:31Z")


# ------------------------------------------------------------------------------ G15 backfill, G16 regions


def test_backfill_digests_need_their_generation_timestamp(trail: Trail, validate) -> None:
    regular = three_hours(trail)
    (backfill,) = trail.chain("us-east-1", START + H, 1, backfill=True)

    result = validate(trail, acquired_at=acquired(3))
    assert statuses(result.digests) == dict.fromkeys(regular, "valid") | {backfill: "valid"}
    assert result.chains.set_index("chain")["tail"].to_dict() == {CHAIN: "ok", CHAIN + " (backfill)": "n/a"}
    assert statuses(result.logs) == all_logs(trail)

    del trail.metadata[backfill]["backfill-generation-timestamp"]
    stripped = validate(trail, acquired_at=acquired(3))
    assert column(stripped.digests, "reason")[backfill] == "backfill digest without backfill-generation-timestamp metadata"


def test_multi_region_trail_has_one_chain_per_region(trail: Trail, validate) -> None:
    east = three_hours(trail)
    west = trail.chain("eu-west-1", START + dt.timedelta(minutes=7), 3)
    bad = trail.logs[west[1]][0]
    trail.objects[bad] = gz(b'{"Records": []}')

    result = validate(trail, acquired_at=acquired(3))

    assert statuses(result.digests) == dict.fromkeys(east + west, "valid")
    assert result.chains[["chain", "valid", "tail"]].to_dict("records") == [
        {"chain": "012345678901/eu-west-1/org_audit.trail", "valid": 3, "tail": "ok"},
        {"chain": CHAIN, "valid": 3, "tail": "ok"},
    ]
    assert statuses(result.logs) == all_logs(trail) | {bad: "hash-mismatch"}
    assert column(result.logs, "region")[bad] == "eu-west-1"


def test_chain_followed_across_a_bucket_change(trail: Trail, validate) -> None:
    old = trail.chain("us-east-1", START, 2)
    trail.bucket = "new-cloudtrail-bucket"  # UpdateTrail S3BucketName: the chain continues
    new = trail.chain("us-east-1", START + 2 * H, 3, starting=False)

    result = validate(trail, acquired_at=acquired(5))

    assert statuses(result.digests) == dict.fromkeys(old + new, "valid")
    assert column(result.digests, "link")[new[0]] == "ok"
    assert result.notes == ("the digests name several buckets ['acme-cloudtrail', 'new-cloudtrail-bucket']; "
                            "the copy is taken to hold 'new-cloudtrail-bucket' (named by 3 of 5)",)
    assert result.ok


def test_object_in_the_digest_folder_that_is_no_digest_is_invalid(trail: Trail, validate) -> None:
    keys = three_hours(trail)
    junk = keys[0].rsplit("/", 1)[0] + "/notes.txt"
    trail.objects[junk] = b"hello"

    result = validate(trail, acquired_at=acquired(3))

    assert statuses(result.digests) == dict.fromkeys(keys, "valid") | {junk: "invalid"}
    assert column(result.digests, "reason")[junk] == "not a CloudTrail digest file name"
    assert result.problems() == ["1 digest(s) invalid"]


# ------------------------------------------------------------------------------ G18 offline without metadata


def test_offline_without_metadata_verifies_through_successors(trail: Trail, validate) -> None:
    d0, d1, d2 = three_hours(trail)

    result = validate(trail, metadata_keys=[], acquired_at=acquired(3))

    assert statuses(result.digests) == {d0: "valid", d1: "valid", d2: "unverifiable-offline"}
    assert column(result.digests, "signature_source") == {
        d0: f"previousDigestSignature of {d1}", d1: f"previousDigestSignature of {d2}", d2: ""
    }
    assert column(result.digests, "reason")[d2] == "no object metadata (signature) for this digest and no valid successor recording it"
    assert statuses(result.logs) == all_logs(trail) | dict.fromkeys(logs_of(trail, d2), "unreferenced")
    assert column(result.logs, "reason")[trail.logs[d2][0]] == f"listed only by {d2}, which is unverifiable offline (its hash matches)"

    partial = validate(trail, metadata_keys=[d0, d1], acquired_at=acquired(3))
    assert statuses(partial.digests) == {d0: "valid", d1: "valid", d2: "unverifiable-offline"}
    assert column(partial.digests, "signature_source")[d1] == "object metadata"


def test_offline_without_metadata_still_catches_a_modified_middle_digest(trail: Trail, validate) -> None:
    d = trail.chain("us-east-1", START, 4)
    trail.rewrite(d[1], lambda doc: doc["logFiles"].pop())

    result = validate(trail, metadata_keys=[d[3]], acquired_at=acquired(4))

    assert statuses(result.digests) == {d[0]: "valid", d[1]: "invalid", d[2]: "valid", d[3]: "valid"}
    assert column(result.digests, "reason")[d[1]] == f"the signature its valid successor {d[2]} recorded does not verify"


# ------------------------------------------------------------------------------ window, loader, errors, speed


def test_window_limits_the_digests_and_logs_checked(trail: Trail, validate) -> None:
    d = trail.chain("us-east-1", START, 8)

    result = validate(trail, start=iso(START + 2 * H), end=iso(START + 3 * H), acquired_at=acquired(8))

    assert statuses(result.digests) == dict.fromkeys(d[1:5], "valid")  # name times 02:00:31 .. 05:00:31
    assert column(result.digests, "link")[d[1]] == "predecessor before the window (not checked)"
    assert sorted(result.logs["key"]) == sorted(logs_of(trail, *d[1:5]))
    assert result.chains["tail"].tolist() == ["ok"]


def test_file_status_marks_the_loaders_events(trail: Trail, validate, tmp_path) -> None:
    d0, d1, d2 = three_hours(trail)
    changed = trail.logs[d1][0]
    trail.objects[changed] = gz(gzip.decompress(trail.objects[changed]).replace(b"198.51.100.7", b"203.0.113.9"))

    result = validate(trail, acquired_at=acquired(3))
    events = load_cloudtrail(tmp_path / "evidence").events
    marks = events["source_file"].astype(str).map(file_status(result))

    assert marks.notna().all()
    assert marks.value_counts().to_dict() == {"valid": 16, "hash-mismatch": 3}


def test_errors_say_what_is_missing(trail: Trail, tmp_path) -> None:
    three_hours(trail)
    root = trail.write(tmp_path / "evidence")
    with pytest.raises(IntegrityError, match="offline validation needs public_keys"):
        validate_trail(root)
    with pytest.raises(SourceError, match="no such folder"):
        validate_trail(tmp_path / "nowhere", public_keys=trail.public_keys_file(tmp_path / "k.json"))
    with pytest.raises(WindowError, match="no time zone"):
        validate_trail(root, public_keys=tmp_path / "k.json", acquired_at="2024-03-14T03:00:00")
    (tmp_path / "bad.json").write_text('{"PublicKeyList": [{"Value": "not base64!"}]}')
    with pytest.raises(IntegrityError, match=r"PublicKeyList\[0\].Value is not base64 text"):
        validate_trail(root, public_keys=tmp_path / "bad.json")


def test_a_week_of_hourly_digests_with_2000_logs_validates_in_seconds(trail: Trail, validate) -> None:
    week = 7 * 24
    trail.chain("us-east-1", START, week, logs_per_hour=12)  # 2,016 log files
    started = time.perf_counter()

    result = validate(trail, acquired_at=acquired(week))

    elapsed = time.perf_counter() - started
    assert (len(result.digests), len(result.logs), result.ok) == (week, 2016, True)
    assert elapsed < 10, f"{elapsed:.1f} s"


def test_a_root_inside_the_layout_reads_like_the_folder_above(trail: Trail, tmp_path: Path) -> None:
    """`validate_trail(".../AWSLogs")`, the folder the loader is usually given, finds the same chain."""
    d0, d1, d2 = three_hours(trail)
    root = trail.write(tmp_path / "evidence")
    keys = trail.public_keys_file(tmp_path / "public-keys.json")
    metadata = trail.metadata_file(tmp_path / "digest-metadata.json")
    above = validate_trail(root, public_keys=keys, object_metadata=metadata, acquired_at=acquired(3))
    inside = validate_trail(root / "AWSLogs", public_keys=keys, object_metadata=metadata, acquired_at=acquired(3))
    assert statuses(inside.digests) == statuses(above.digests) == {d0: "valid", d1: "valid", d2: "valid"}
    assert statuses(inside.logs) == all_logs(trail) and inside.ok
