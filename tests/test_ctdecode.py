"""The strict C decoder (``forensics/_ctdecode.c``) against the msgspec path, byte for byte.

Whenever the C builder takes a file (:func:`forensics.ctbuilder.strict_table`), its
prepared table must equal what the msgspec path gives for the same bytes once prepared
the Python way (``reader.prepare``), and that path must agree the file is clean
("loaded"); for anything odd it must decline (``None``), leaving the file to the msgspec
path that reports it. Cases: whole trails, hand-written clean inputs, inputs it declines
on purpose (odd eventTime forms among them), type clashes and malformed JSON, seeded
random mutations, and every truncation of a few files (a memory error there would show;
``bench/ctdecode_asan.sh`` runs this file under AddressSanitizer). Several files through
one builder: ``tests/test_ctbuilder.py``.
"""

from __future__ import annotations

import datetime as dt
import gzip
import importlib.util
import json
import os
import random
import shutil
import sys
from pathlib import Path

import msgspec
import pyarrow as pa
import pytest
from isal import isal_zlib

import pandas as pd
from sanitized import run_sanitized

from forensics import ctbuilder, load_cloudtrail, reader, records

_ctdecode = pytest.importorskip("forensics._ctdecode", reason="the C decoder is not built (see test_built_where_a_compiler_is)")

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "forensics" / "sample_data"


@pytest.fixture(scope="module")
def trail(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """A small trail from the benchmark generator (type clashes included), seed 7."""
    spec = importlib.util.spec_from_file_location("gen_trail", ROOT / "bench" / "gen_trail.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_trail"] = module
    spec.loader.exec_module(module)
    out = tmp_path_factory.mktemp("trail")
    module.generate(out, 6000, seed=7, per_file=(50, 400))
    return sorted(out.rglob("*.json.gz"))


def reference(data: bytes):
    """(status, prepared table without _file) of the msgspec path."""
    decoded = records.decode(data)
    rows = len(decoded.columns)
    table, _ = reader.prepare(reader._to_arrow(decoded.columns, [0] * rows), {0: "f"})
    return decoded.status, table.drop_columns(["_file"])


def check(data: bytes):
    """The C result; if it is a table, it must equal the msgspec path's and the file be 'loaded'."""
    table = ctbuilder.strict_table(data)
    if table is None:
        return None
    table.validate(full=True)  # offsets and codes in range, valid UTF-8
    status, ref = reference(data)
    assert status == "loaded", (status, data[:200])
    assert table.schema.equals(ref.schema), (table.schema, ref.schema)
    if not table.equals(ref):
        for name in ref.column_names:
            if not table[name].equals(ref[name]):
                raise AssertionError(f"column {name}: C {table[name].to_pylist()[:5]} != ref {ref[name].to_pylist()[:5]}")
    return table


def clean(data: bytes):
    table = check(data)
    assert table is not None, data[:300]
    return table


def refused(data: bytes) -> None:
    assert ctbuilder.strict_table(data) is None, data[:300]


#: The canonical eventTime that :func:`wrap` gives each record, so that a case tests what it says.
TIME = b'"eventTime":"2024-01-02T03:04:05Z"'


def timed(rec: bytes) -> bytes:
    """``rec`` with TIME as its first field if it is an object without an eventTime key."""
    if not rec.startswith(b"{") or b'"eventTime"' in rec:
        return rec
    rest = rec[1:]
    return b"{" + TIME + (b"" if rest.lstrip().startswith(b"}") else b",") + rest


def wrap(*recs: str | bytes, extra: str = "") -> bytes:
    """A ``{"Records":[...]}`` file of these record texts, each given an eventTime (see :func:`timed`)."""
    texts = [timed(r.encode("utf-8") if isinstance(r, str) else r) for r in recs]
    return b'{"Records":[' + b",".join(texts) + b"]" + extra.encode("utf-8") + b"}"


# ------------------------------------------------------------------ (a) whole trails


def test_bundled_sample_trail_is_read_by_the_c_decoder_alike() -> None:
    files = sorted(SAMPLE.rglob("*.json.gz"))
    assert len(files) > 100
    assert sum(clean(isal_zlib.decompress(path.read_bytes(), 31)).num_rows for path in files) > 1000


def test_benchmark_trail_with_type_clashes(trail: list[Path]) -> None:
    """The benchmark generator's files: clean ones equal, files with type clashes declined."""
    outcomes = {"table": 0, "declined": 0}
    for path in trail:
        data = isal_zlib.decompress(path.read_bytes(), 31)
        outcomes["table" if check(data) is not None else "declined"] += 1
    assert outcomes["table"] > 10


# ------------------------------------------------------------------ (b) hand-written clean cases

FULL = (
    '{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROA:me","arn":"arn:aws:sts::1:assumed-role/r/me",'
    '"accountId":"111122223333","accessKeyId":"ASIA1","userName":"bob","invokedBy":"svc","sessionContext":{"sessionIssuer":'
    '{"type":"Role","arn":"arn:aws:iam::1:role/r"},"webIdFederationData":{},"attributes":{"creationDate":"x","mfaAuthenticated":"false"},'
    '"sourceIdentity":"alice"}},"eventTime":"2024-01-02T03:04:05Z","eventSource":"s3.amazonaws.com","eventName":"GetObject",'
    '"awsRegion":"us-east-1","sourceIPAddress":"1.2.3.4","userAgent":"aws-cli","errorCode":"AccessDenied","errorMessage":"no",'
    '"requestParameters":{"bucketName":"b","key":[1,2.5,-0,1e400,{"a":null}]},"responseElements":null,"additionalEventData":"x",'
    '"requestID":"R1","eventID":"E1","readOnly":true,"resources":[{"ARN":"a","type":"t"}],"eventType":"AwsApiCall",'
    '"managementEvent":false,"recipientAccountId":"111122223333","sharedEventID":"S","vpcEndpointId":"vpce-1",'
    '"eventCategory":"Data","serviceEventDetails":123456789012345678901234567890,"addendum":{"reason":"late"},"tlsDetails":{"tlsVersion":"TLSv1.2"}}'
)

CLEAN_CASES = {
    "full": wrap(FULL),
    "full twice": wrap(FULL, FULL),
    "empty records": b'{"Records":[]}',
    "empty records ws": b' \n{ "Records" : [ ] } \r\n\t',
    "record with only eventTime": wrap("{}"),
    "records with only eventTime": wrap("{}", "{}", "{ }"),
    "escapes": wrap(r'{"eventName":"a\"b\\c\/d\be\ff\ng\rh\ti\u0000j\u00e9\u20ac\uD83D\uDE00k"}'),
    "escapes in raw": wrap(r'{"requestParameters":{"k\"ey":"v\\al\u00e9\ud83d\ude00\n"}}'),
    "unicode raw utf8": wrap('{"eventName":"héllo € 😀 日本","userAgent":"\x7f"}'),
    "unicode keys": wrap('{"ünknown😀":{"ключ":"значение"},"eventName":"x"}'),
    "astral key escaped": wrap(r'{"\ud83d\ude00":1,"eventName":"x"}'),
    "empty strings": wrap('{"eventName":"","userIdentity":{"arn":"","sessionContext":{"sessionIssuer":{"arn":""}}},"requestParameters":""}'),
    "nulls top": wrap('{"eventName":null,"readOnly":null,"userIdentity":null,"requestParameters":null,"resources":null}'),
    "null identity children": wrap('{"userIdentity":{"type":null,"sessionContext":null}}'),
    "null context children": wrap('{"userIdentity":{"sessionContext":{"sessionIssuer":null,"attributes":null,"sourceIdentity":null}}}'),
    "null leaves": wrap('{"userIdentity":{"sessionContext":{"sessionIssuer":{"arn":null},"attributes":{"mfaAuthenticated":null}}}}'),
    "empty nested": wrap('{"userIdentity":{"sessionContext":{"sessionIssuer":{},"attributes":{}}}}'),
    "absent vs present mix": wrap('{"eventName":"a"}', '{"errorCode":"b"}', "{}", '{"readOnly":false}', '{"readOnly":true}'),
    "raw shapes": wrap(
        '{"requestParameters":[],"responseElements":{},"resources":[[[[]]]],"additionalEventData":true,'
        '"serviceEventDetails":-0.5e-3,"addendum":"null"}'
    ),
    "raw false and zero": wrap('{"requestParameters":false,"responseElements":0,"resources":-0}'),
    "raw numbers": wrap('{"requestParameters":1E+5}', '{"requestParameters":0.0e-0}', '{"requestParameters":-12.75E-10}'),
    "big numbers": wrap('{"requestParameters":' + "9" * 400 + ',"zz":-' + "1" * 400 + "}"),
    "huge exponent": wrap('{"requestParameters":1e99999999999999999999,"zz":1e-400}'),
    "pretty printed": json.dumps({"Records": [json.loads(FULL.replace(",1e400", ""))] * 2}, indent=2).encode(),
    "pretty printed non-ascii": json.dumps({"Records": [{"eventName": "é😀", "requestParameters": {"ü": [1, None]},
                                                         "eventTime": "2024-01-02T03:04:05Z"}]},
                                           indent=4, ensure_ascii=False).encode(),
    "whitespace in raw kept": wrap('{"requestParameters" :  { "a" : [ 1 , 2 ] }  ,"eventName" : "x" }'),
    "unknown keys all types": wrap(
        '{"u1":null,"u2":true,"u3":false,"u4":1.5,"u5":"s","u6":[1,[2,[3,{"x":[]}]]],"u7":{"a":{"b":{"c":null}}},"eventName":"x"}'
    ),
    "unknown keys in identity": wrap('{"userIdentity":{"zz":[1,{"arn":"no"}],"arn":"yes","sessionContext":{"zz":{},"sessionIssuer":{"x":1,"arn":"i"}}}}'),
    "other top-level keys": wrap(FULL, extra=',"Other":{"Records":1},"x":[null]'),
    "top-level key first": b'{"digest":[1,2],"Records":[' + timed(b'{"eventName":"x"}') + b"]}",
    "deep raw": wrap('{"requestParameters":' + "[" * 150 + "]" * 150 + "}"),
    "deep unknown": wrap('{"zz":' + '{"a":' * 150 + "1" + "}" * 150 + "}"),
    "escaped schema key": wrap(r'{"event\u004eame":"x","\u0072eadOnly":true,"userIdentity":{"\u0061rn":"a"}}'),
    "escaped Records key": b'{"Rec\\u006frds":[' + timed(b'{"eventName":"x"}') + b"]}",
    "long escaped key": wrap(r'{"\u0065\u0076\u0065\u006e\u0074\u004e\u0061\u006d\u0065":"x"}'),
    "long unknown key": wrap('{"' + "k" * 5000 + '":1,"eventName":"x"}'),
    "duplicate unknown keys": wrap('{"zz":1,"zz":2,"eventName":"x"}'),
    "duplicate top-level other key": b'{"x":1,"x":2,"Records":[]}',
    "slash and del": wrap('{"eventName":"a/b\x7f"}'),
    "long string": wrap('{"errorMessage":"' + "x" * 100000 + '","requestParameters":"' + "y" * 100000 + '"}'),
    "many records": wrap(*['{"eventName":"e%d","readOnly":%s}' % (i, "true" if i % 3 else "null") for i in range(3000)]),
    "escaped eventTime": wrap(r'{"eventTime":"\u0032024-01-02T03:04:05\u005a"}'),
}

#: eventTime values in the canonical form, real dates: the C builder takes them.
GOOD_TIMES = {
    "leap day 2024": "2024-02-29T12:00:00Z",
    "leap day 2000 (divisible by 400)": "2000-02-29T00:00:00Z",
    "epoch": "1970-01-01T00:00:00Z",
    "before the epoch": "1969-12-31T23:59:59Z",
    "first year": "1900-01-01T00:00:00Z",
    "last second": "9999-12-31T23:59:59Z",
    "last second of 2023": "2023-12-31T23:59:59Z",
    "first second of 2024": "2024-01-01T00:00:00Z",
    "end of February 2023": "2023-02-28T23:59:59Z",
    "end of April": "2024-04-30T00:00:00Z",
    "end of January": "2024-01-31T23:00:00Z",
}
CLEAN_CASES.update({f"time {name}": wrap('{"eventTime":"%s"}' % text) for name, text in GOOD_TIMES.items()})


@pytest.mark.parametrize("name", list(CLEAN_CASES))
def test_clean(name: str) -> None:
    clean(CLEAN_CASES[name])


def test_values_spot_check() -> None:
    t = clean(CLEAN_CASES["full"]).to_pylist()[0]
    assert t["userIdentity.sessionContext.sessionIssuer.arn"] == "arn:aws:iam::1:role/r"
    assert t["userIdentity.sessionContext.attributes.mfaAuthenticated"] == "false"
    assert t["requestParameters"] == '{"bucketName":"b","key":[1,2.5,-0,1e400,{"a":null}]}'
    assert t["responseElements"] is None and t["readOnly"] is True and t["managementEvent"] is False
    t = clean(CLEAN_CASES["escapes"]).to_pylist()[0]
    assert t["eventName"] == 'a"b\\c/d\be\ff\ng\rh\ti\x00jé€😀k'
    t = clean(CLEAN_CASES["escaped schema key"]).to_pylist()[0]
    assert t["eventName"] == "x" and t["readOnly"] is True and t["userIdentity.arn"] == "a"
    t = clean(CLEAN_CASES["raw false and zero"]).to_pylist()[0]
    assert (t["requestParameters"], t["responseElements"], t["resources"]) == ("false", "0", "-0")


# -------------------------------------------------------- decided refusals (msgspec accepts)

DECLINED = {
    # msgspec keeps the last value; we leave repeated schema keys to it.
    "duplicate schema key": wrap('{"eventName":"a","eventName":"b"}'),
    "duplicate escaped schema key": wrap(r'{"eventName":"a","event\u004eame":"b"}'),
    "duplicate nested key": wrap('{"userIdentity":{"arn":"a","arn":"b"}}'),
    "duplicate Records": b'{"Records":[' + timed(b'{"eventName":"a"}') + b'],"Records":[]}',
    # msgspec does not check UTF-8 inside skipped or Raw values; we do (Arrow needs it).
    "bad utf8 in raw": wrap(b'{"requestParameters":"a\xffb"}'),
    "bad utf8 in skipped": wrap(b'{"zz":["\xed\xa0\x80"]}'),
    # msgspec: RecursionError near depth 1000; we stop at MAX_DEPTH.
    "deeper than MAX_DEPTH": wrap('{"requestParameters":' + "[" * 300 + "]" * 300 + "}"),
    "byte order mark": b"\xef\xbb\xbf" + wrap(FULL),
    "invalid utf8 skipped": wrap(b'{"zz":"a\xc0\xafb"}'),
    "utf8 in key": wrap(b'{"\xff":1}'),
    "too deep identity": wrap('{"userIdentity":' + '{"zz":' * 300 + "1" + "}" * 300 + "}"),
}

#: eventTime values the C builder declines, whole file: the Python path parses (or not) and flags them.
ODD_TIMES = {
    "Feb 29 of a common year": '"2023-02-29T00:00:00Z"',
    "Feb 29 of 1900 (divisible by 100)": '"1900-02-29T00:00:00Z"',
    "Feb 29 of 2100": '"2100-02-29T00:00:00Z"',
    "April 31": '"2024-04-31T00:00:00Z"',
    "month 13": '"2024-13-01T00:00:00Z"',
    "month 00": '"2024-00-10T00:00:00Z"',
    "day 00": '"2024-01-00T00:00:00Z"',
    "day 32": '"2024-01-32T00:00:00Z"',
    "hour 24": '"2024-01-02T24:00:00Z"',
    "minute 60": '"2024-01-02T03:60:00Z"',
    "second 60 (leap second)": '"2016-12-31T23:59:60Z"',
    "fractional seconds": '"2024-01-02T03:04:05.123Z"',
    "offset +01:00": '"2024-01-02T03:04:05+01:00"',
    "offset +00:00": '"2024-01-02T03:04:05+00:00"',
    "lowercase z": '"2024-01-02T03:04:05z"',
    "lowercase t": '"2024-01-02t03:04:05Z"',
    "space for T": '"2024-01-02 03:04:05Z"',
    "no zone": '"2024-01-02T03:04:05"',
    "no seconds": '"2024-01-02T03:04Z"',
    "leading space": '" 2024-01-02T03:04:05Z"',
    "trailing space": '"2024-01-02T03:04:05Z "',
    "year 1899": '"1899-12-31T23:59:59Z"',
    "year 0000": '"0000-01-01T00:00:00Z"',
    "five-digit year": '"12024-01-02T03:04:05Z"',
    "one-digit month": '"2024-1-02T03:04:05Z"',
    "letter for a digit": '"2O24-01-02T03:04:05Z"',
    "fullwidth digits": '"２０２４-01-02T03:04:05Z"',
    "date only": '"2024-01-02"',
    "empty string": '""',
    "null": "null",
    "number": "1704164645",
    "true": "true",
    "object": '{"t":"2024-01-02T03:04:05Z"}',
}
DECLINED.update({f"eventTime {name}": wrap('{"eventTime":%s,"eventName":"x"}' % value) for name, value in ODD_TIMES.items()})
DECLINED["eventTime missing"] = b'{"Records":[{"eventName":"x"}]}'
DECLINED["eventTime missing in one record of three"] = wrap(FULL, '{"eventName":"x","eventTime":null}', FULL)
DECLINED["eventTime odd in the last record only"] = wrap(FULL, FULL, '{"eventTime":"2024-01-02T03:04:05.5Z"}')


@pytest.mark.parametrize("name", list(DECLINED))
def test_declined(name: str) -> None:
    refused(DECLINED[name])


@pytest.mark.parametrize("name", list(GOOD_TIMES))
def test_canonical_times_are_microseconds_since_the_epoch(name: str) -> None:
    text = GOOD_TIMES[name]
    table = clean(wrap('{"eventTime":"%s"}' % text, "{}"))
    expected = int(dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()) * 1_000_000
    assert table["eventTime"].cast(pa.int64()).to_pylist() == [expected, 1704164645_000_000]


def test_random_canonical_times_equal_parse_times() -> None:
    """3000 seeded random instants over 1900-9999 (every day and second equally likely)."""
    rng = random.Random(20261122)
    first, last = dt.date(1900, 1, 1).toordinal(), dt.date(9999, 12, 31).toordinal()
    texts = [
        f"{dt.date.fromordinal(rng.randint(first, last)).isoformat()}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}Z"
        for _ in range(3000)
    ]
    table = clean(wrap(*('{"eventTime":"%s"}' % text for text in texts)))
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    expected = [(dt.datetime.fromisoformat(t.replace("Z", "+00:00")) - epoch) // dt.timedelta(microseconds=1) for t in texts]
    assert table["eventTime"].cast(pa.int64()).to_pylist() == expected


def test_odd_times_are_loaded_by_the_python_path() -> None:
    """Declining them is a choice: msgspec reads every such file, and the loader flags the times."""
    for name, value in ODD_TIMES.items():
        if name not in ("number", "true", "object"):  # type clashes: the tolerant path converts them
            assert records.decode(wrap('{"eventTime":%s}' % value)).status == "loaded", name


# ---------------------------------------------------------------- (c) type clashes, malformed

REFUSED = {
    "eventName number": wrap('{"eventName":1}'),
    "eventName bool": wrap('{"eventName":true}'),
    "eventName object": wrap('{"eventName":{}}'),
    "eventName array": wrap('{"eventName":[]}'),
    "readOnly string": wrap('{"readOnly":"true"}'),
    "readOnly number": wrap('{"readOnly":1}'),
    "userIdentity string": wrap('{"userIdentity":"x"}'),
    "userIdentity array": wrap('{"userIdentity":[]}'),
    "userIdentity number": wrap('{"userIdentity":0}'),
    "sessionContext string": wrap('{"userIdentity":{"sessionContext":"x"}}'),
    "sessionIssuer list": wrap('{"userIdentity":{"sessionContext":{"sessionIssuer":[]}}}'),
    "attributes true": wrap('{"userIdentity":{"sessionContext":{"attributes":true}}}'),
    "mfa bool": wrap('{"userIdentity":{"sessionContext":{"attributes":{"mfaAuthenticated":false}}}}'),
    "accountId int": wrap('{"userIdentity":{"accountId":123}}'),
    "record null": wrap("null"),
    "record string": wrap('"x"'),
    "record array": wrap("[]"),
    "record number": wrap('{"eventName":"a"},5'),
    "Records null": b'{"Records":null}',
    "Records object": b'{"Records":{}}',
    "Records string": b'{"Records":"x"}',
    "no Records": b'{"x":[]}',
    "empty object": b"{}",
    "top array": b'[{"eventName":"x"}]',
    "top string": b'"Records"',
    "empty": b"",
    "whitespace only": b" \n ",
    "truncated": wrap(FULL)[:-1],
    "truncated mid string": wrap(FULL)[:60],
    "trailing data": wrap(FULL) + b"x",
    "two documents": wrap(FULL) + wrap(FULL),
    "trailing comma records": b'{"Records":[{},]}',
    "trailing comma record": wrap('{"eventName":"x",}'),
    "trailing comma raw": wrap('{"requestParameters":[1,]}'),
    "trailing comma skipped": wrap('{"zz":{"a":1,}}'),
    "missing colon": wrap('{"eventName" "x"}'),
    "missing comma": wrap('{"eventName":"x" "eventType":"y"}'),
    "single quotes": wrap("{'eventName':'x'}"),
    "unquoted key": wrap("{eventName:1}"),
    "lone high surrogate": wrap(r'{"eventName":"\ud800"}'),
    "lone low surrogate": wrap(r'{"eventName":"\udc00"}'),
    "high + non-low": wrap(r'{"eventName":"\ud800\u0041"}'),
    "high + high": wrap(r'{"eventName":"\ud800\ud800"}'),
    "high at end": wrap(r'{"eventName":"x\ud83d"}'),
    "lone surrogate in raw": wrap(r'{"requestParameters":"\ud800"}'),
    "lone surrogate in skipped": wrap(r'{"zz":"\udfff"}'),
    "lone surrogate in key": wrap(r'{"\ud800":1}'),
    "bad escape": wrap(r'{"eventName":"\q"}'),
    "bad escape raw": wrap(r'{"requestParameters":"\x41"}'),
    "short unicode escape": wrap(r'{"eventName":"\u12"}'),
    "bad hex": wrap(r'{"eventName":"\u12G4"}'),
    "raw tab in string": wrap('{"eventName":"a\tb"}'),
    "raw newline in skipped": wrap('{"zz":"a\nb"}'),
    "raw NUL in raw": wrap('{"requestParameters":"a\x00b"}'),
    "invalid utf8 str": wrap(b'{"eventName":"a\xffb"}'),
    "utf8 surrogate": wrap(b'{"eventName":"\xed\xa0\x80"}'),
    "utf8 above max": wrap(b'{"eventName":"\xf4\x90\x80\x80"}'),
    "utf8 truncated": wrap(b'{"eventName":"\xe2\x82"}'),
    "utf8 outside string": wrap(b'{"a":1}') + b"\xc3\xa9",
    "number 01": wrap('{"requestParameters":01}'),
    "number -": wrap('{"requestParameters":-}'),
    "number 1.": wrap('{"requestParameters":1.}'),
    "number .5": wrap('{"requestParameters":.5}'),
    "number 1e": wrap('{"requestParameters":1e}'),
    "number +1": wrap('{"zz":+1}'),
    "number 0x10": wrap('{"zz":0x10}'),
    "NaN": wrap('{"requestParameters":NaN}'),
    "Infinity": wrap('{"zz":Infinity}'),
    "True": wrap('{"readOnly":True}'),
    "nul literal": wrap('{"eventName":nul}'),
    "tru literal": wrap('{"zz":tru}'),
    "vertical tab ws": b'\x0b{"Records":[]}',
    "form feed ws": b'{"Records":[]\x0c}',
    "nbsp ws": b'{"Records":\xc2\xa0[]}',
    "comment": b'{"Records":[] /* x */}',
    "unclosed array raw": wrap('{"requestParameters":[1,2}'),
    "mismatched": wrap('{"requestParameters":{"a":1]}'),
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_refused(name: str) -> None:
    data = REFUSED[name]
    refused(data)


def test_refused_are_not_loaded_by_msgspec_or_are_declined() -> None:
    """Sanity: every REFUSED input is also one the typed msgspec decode rejects."""
    for name, data in REFUSED.items():
        try:
            records._FILE_DECODER.decode(data)
        except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError, RecursionError):
            continue
        raise AssertionError(f"msgspec accepts {name!r}")


@pytest.mark.parametrize("data", [bytearray(b'{"Records":[]}'), memoryview(b'{"Records":[]}'), '{"Records":[]}', None])
def test_not_bytes(data: object) -> None:
    builder = _ctdecode.Builder(())
    with pytest.raises(TypeError, match="add\\(\\) takes a bytes object"):
        builder.add(data)  # type: ignore[arg-type]
    assert builder.rows == 0


# ------------------------------------------------------------------- (d) random mutations

INTERESTING = b'{}[]",:\\/\x00\x01\t\n \x7f\x80\xbf\xc0\xc3\xe2\xed\xf0\xf4\xff0123456789-+.eEntfualsrxu'


def _seeds(trail: list[Path]) -> list[bytes]:
    """Small real files: a few records of trail files, with their exact bytes."""
    seeds = []
    for path in trail[:6]:
        data = isal_zlib.decompress(path.read_bytes(), 31)
        raws = records._RAW_FILE_DECODER.decode(data).Records
        for start, count in ((0, 1), (5, 2), (17, 3)):
            body = b",".join(bytes(r) for r in raws[start : start + count])
            seeds.append(b'{"Records":[' + body + b"]}")
    seeds.append(json.dumps(json.loads(seeds[0]), indent=1, ensure_ascii=False).encode())
    seeds.append(CLEAN_CASES["full"])
    seeds.append(CLEAN_CASES["escapes"])
    return seeds


def _mutate(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        op = rng.randrange(6)
        pos = rng.randrange(len(buf) + 1) if buf else 0
        if op == 0 and buf:  # flip a bit
            pos = min(pos, len(buf) - 1)
            buf[pos] ^= 1 << rng.randrange(8)
        elif op == 1 and buf:  # replace with an interesting byte
            pos = min(pos, len(buf) - 1)
            buf[pos] = INTERESTING[rng.randrange(len(INTERESTING))]
        elif op == 2:  # insert
            buf[pos:pos] = bytes([INTERESTING[rng.randrange(len(INTERESTING))]])
        elif op == 3 and buf:  # delete a few bytes
            del buf[pos : pos + rng.randrange(1, 4)]
        elif op == 4:  # insert a snippet
            snippet = rng.choice((b"null", b'"x"', b"1", b"[]", b"{}", b'\\u00e9', b'\\ud800', b",", b'"eventName":"y",',
                                  b'"readOnly":true,', b'"userIdentity":null,', b" ", b"\n"))
            buf[pos:pos] = snippet
        else:  # duplicate a chunk
            if buf:
                a = rng.randrange(len(buf))
                b = min(len(buf), a + rng.randrange(1, 40))
                buf[pos:pos] = buf[a:b]
    return bytes(buf)


MUTATIONS = int(os.environ.get("FORENSICS_MUTATIONS", "4000"))


def test_mutations(trail: list[Path]) -> None:
    """Seeded random damage: whatever the C decoder returns is None or exactly the msgspec path's table."""
    rng = random.Random(20261121)
    seeds = _seeds(trail)
    tables = nones = 0
    for i in range(MUTATIONS):
        data = _mutate(rng, seeds[i % len(seeds)])
        if check(data) is None:
            nones += 1
        else:
            tables += 1
    assert tables > MUTATIONS // 20  # the mutations are not all destructive
    assert nones > MUTATIONS // 4


def test_every_prefix() -> None:
    """Truncation at every byte (under the sanitizer build, reads past the end would show)."""
    seeds = [CLEAN_CASES["full"], CLEAN_CASES["escapes"], CLEAN_CASES["pretty printed non-ascii"],
             wrap(r'{"eventName":"\ud83d\ude00","requestParameters":[1e5,-0.5,"\u00e9"]}')]
    for data in seeds:
        for cut in range(len(data)):
            assert ctbuilder.strict_table(data[:cut]) is None
        clean(data)


def test_a_load_is_the_same_with_and_without_the_c_decoder(
    trail: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "trail"
    shutil.copytree(trail[0].parents[7], root)  # the folder holding AWSLogs/
    first = sorted(root.rglob("*.json.gz"))[0]
    odd = first.with_name(first.name.replace(".json.gz", "X.json.gz"))  # a file with a type clash
    odd.write_bytes(gzip.compress(b'{"Records":[{"eventID":"odd","eventTime":"2024-03-01T00:00:00Z","readOnly":"true"}]}'))
    fast = load_cloudtrail(root, workers=1, progress=False)
    monkeypatch.setattr(ctbuilder, "_ctdecode", None)  # as FORENSICS_DECODER=python does
    slow = load_cloudtrail(root, workers=1, progress=False)
    pd.testing.assert_frame_equal(fast.events, slow.events)
    pd.testing.assert_frame_equal(fast.report.files, slow.report.files)
    pd.testing.assert_frame_equal(fast.report.issues, slow.report.issues)
    assert set(fast.report.files["status"]) == {"loaded", "recovered"}  # the trail has files of both kinds


@pytest.mark.slow
@pytest.mark.skipif(bool(os.environ.get("FORENSICS_CTDECODE_BUILD")), reason="already running under the sanitizer build")
def test_under_address_sanitizer() -> None:
    """This file and test_ctbuilder.py again, against an ASan + UBSan build (bench/ctdecode_asan.sh)."""
    run_sanitized("ctdecode_asan.sh", {"FORENSICS_MUTATIONS": "20000"})
