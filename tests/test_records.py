"""Decoding bytes into columns: the msgspec fast path, the per-record fallback, and salvage.

The C decoder that takes clean files before this module is held to the same results in
``tests/test_ctdecode.py``.
"""

from __future__ import annotations

import json


from cloudtrail_builders import record
from forensics.records import RECORD_COLUMNS, decode, text_array
from forensics.schema import JSON_COLUMNS


def as_rows(decoded) -> list[dict]:
    """Rows as the loader will see them: JSON columns through text_array."""
    columns = {c: decoded.columns[c] for c in RECORD_COLUMNS}
    for name in JSON_COLUMNS:
        columns[name] = text_array(columns[name]).to_pylist()
    return [dict(zip(columns, values)) for values in zip(*columns.values())]


def test_clean_file_takes_the_fast_path_and_keeps_raw_bytes():
    body = b'{"Records":[{"eventID":"e1","eventTime":"2024-03-14T02:10:00Z","requestParameters":{ "a" : [1, 2.50] }}]}'
    decoded = decode(body)
    assert (decoded.status, decoded.records_read, decoded.rejected) == ("loaded", 1, 0)
    assert as_rows(decoded)[0]["requestParameters"] == '{ "a" : [1, 2.50] }'  # byte for byte


def test_one_odd_record_does_not_spoil_its_neighbours():
    recs = [record("e1", "2024-03-14T02:10:00Z"), record("e2", "2024-03-14T02:10:00Z", readOnly="false")]
    decoded = decode(json.dumps({"Records": recs}, separators=(",", ":")).encode())
    rows = as_rows(decoded)
    assert decoded.status == "recovered"
    assert [r["eventID"] for r in rows] == ["e1", "e2"]
    assert rows[1]["readOnly"] is False
    # the odd record's JSON fields are still the original bytes (decoded field by field)
    assert rows[1]["requestParameters"] == json.dumps(recs[1]["requestParameters"], separators=(",", ":"))
    assert decoded.notes.counts == {"boolean given as text (converted)": 1}
    assert decoded.notes.first == {"boolean given as text (converted)": 1}


def test_unknown_fields_and_newer_event_versions_are_accepted():
    rec = record("e1", "2024-03-14T02:10:00Z", eventVersion="1.11", eventContext={"x": 1}, brandNewField=[1])
    decoded = decode(json.dumps({"Records": [rec]}).encode())
    assert decoded.status == "loaded" and as_rows(decoded)[0]["eventVersion"] == "1.11"


def test_damaged_bytes_are_salvaged_record_by_record():
    recs = [record(f"e{i}", "2024-03-14T02:10:00Z") for i in range(3)]
    text = json.dumps({"Records": recs})
    cut = text[: text.index('"e2"') + 2]
    decoded = decode(cut.encode(), damaged="truncated gzip")
    assert decoded.status == "partial" and decoded.reason.startswith("truncated gzip; kept the 2 complete records")
    assert [r["eventID"] for r in as_rows(decoded)] == ["e0", "e1"]


def test_notes_rows_for_the_report():
    decoded = decode(b'{"Records":[1,{"eventID":"x"},"y"]}')
    assert decoded.notes.rows("f.json") == [
        {"path": "f.json", "issue": "record is not a JSON object (rejected)", "count": 2, "first_record": 0, "example": "1"}
    ]


def test_text_array_handles_raw_text_and_missing_values():
    import msgspec

    values = [msgspec.Raw(b'{"a":1}'), msgspec.Raw(b"null"), msgspec.Raw(), None, '{"b":"\u00e9"}', "null"]
    assert text_array(values).to_pylist() == ['{"a":1}', None, None, None, '{"b":"\u00e9"}', "null"]
    assert text_array([msgspec.Raw(b"[]"), msgspec.Raw(b"null")]).to_pylist() == ["[]", None]


def test_fast_path_fills_every_record_column():
    """The spelled-out fast path must cover exactly the columns the tolerant path fills."""
    rec = record("e1", "2024-03-14T02:10:00Z", sharedEventID="s", vpcEndpointId="v", errorCode="E", errorMessage="M",
                 additionalEventData={"a": 1}, serviceEventDetails={"b": 2}, addendum={"reason": "DELIVERY_DELAY"},
                 resources=[{"ARN": "x"}], responseElements={"r": 1})  # fmt: skip
    rec["userIdentity"]["invokedBy"] = "svc"
    rec["userIdentity"]["sessionContext"] = {"sessionIssuer": {"arn": "i"}, "attributes": {"mfaAuthenticated": "true"},
                                             "sourceIdentity": "si"}  # fmt: skip
    fast = decode(json.dumps({"Records": [rec]}).encode())
    slow = decode(json.dumps({"Records": [rec, 1]}).encode())
    assert (fast.status, slow.status) == ("loaded", "recovered")
    assert as_rows(fast)[0] == as_rows(slow)[0]
    assert all(value is not None for value in as_rows(fast)[0].values())


def test_fast_path_with_nested_objects_missing_at_every_level():
    """Columns are transposed per level; a record lacking a level must not shift its neighbours."""
    full = record("e1", "2024-03-14T02:10:00Z")
    full["userIdentity"]["sessionContext"] = {"sessionIssuer": {"arn": "issuer"}, "attributes": {"mfaAuthenticated": "false"}}
    no_identity = {k: v for k, v in record("e2", "2024-03-14T02:11:00Z").items() if k != "userIdentity"}
    no_context = record("e3", "2024-03-14T02:12:00Z", userIdentity={"type": "IAMUser", "arn": "arn:aws:iam::1:user/u"})
    no_issuer = record("e4", "2024-03-14T02:13:00Z")
    no_issuer["userIdentity"]["sessionContext"] = {"attributes": {"mfaAuthenticated": "true"}}
    null_identity = record("e5", "2024-03-14T02:14:00Z", userIdentity=None)
    recs = [full, no_identity, no_context, no_issuer, null_identity]
    fast = decode(json.dumps({"Records": recs}).encode())
    slow = decode(json.dumps({"Records": [*recs, 1]}).encode())
    assert (fast.status, slow.status) == ("loaded", "recovered")
    assert as_rows(fast) == as_rows(slow)[:5]
    rows = as_rows(fast)
    issuer = "userIdentity.sessionContext.sessionIssuer.arn"
    mfa = "userIdentity.sessionContext.attributes.mfaAuthenticated"
    assert [r[issuer] for r in rows] == ["issuer", None, None, None, None]
    assert [r[mfa] for r in rows] == ["false", None, None, "true", None]
    assert [r["userIdentity.arn"] for r in rows][1:3] == [None, "arn:aws:iam::1:user/u"]
    assert [r["record_index"] for r in rows] == [0, 1, 2, 3, 4]


def test_invalid_utf8_inside_raw_json_is_not_passed_off_as_clean():
    # msgspec keeps raw JSON bytes without checking their UTF-8: the loader must, or the
    # Arrow column it builds is invalid. The file fails as the tolerant path says why.
    decoded = decode(b'{"Records":[{"eventID":"e1","requestParameters":{"a":"x\xffy"}}]}')
    assert decoded.status == "failed"
    assert decoded.reason == "not UTF-8 text (invalid start byte at byte 55)"
    assert len(decoded.columns) == 0


def test_valid_non_ascii_utf8_stays_on_the_fast_path():
    body = '{"Records":[{"eventID":"e1","userAgent":"Größe ☃ 𝄞","requestParameters":{"k":"é"}}]}'.encode()
    decoded = decode(body)
    assert decoded.status == "loaded"
    row = as_rows(decoded)[0]
    assert (row["userAgent"], row["requestParameters"]) == ("Größe ☃ 𝄞", '{"k":"é"}')


def test_nesting_too_deep_for_the_decoders_is_reported_not_raised():
    deep = b"[" * 5000 + b"]" * 5000
    records = b'{"Records":[{"eventID":"e1"},{"eventID":"e2","requestParameters":' + deep + b"}]}"
    decoded = decode(records)
    assert (decoded.status, decoded.records_read) == ("partial", 1)
    assert decoded.reason.startswith("broken JSON (RecursionError(")
    assert decoded.reason.endswith("kept the 1 complete records before the damage")
    assert [r["eventID"] for r in as_rows(decoded)] == ["e1"]

    assert decode(deep).status == "failed"

    lines = decode(b'{"eventID":"e1"}\n{"eventID":"e2","requestParameters":' + deep + b"}\n")
    assert (lines.status, lines.records_read, lines.rejected) == ("recovered", 2, 1)
    assert lines.notes.counts == {"JSON Lines line is not valid JSON (rejected)": 1}
    assert [r["eventID"] for r in as_rows(lines)] == ["e1"]
