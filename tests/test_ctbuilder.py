"""The C builder across files: one table, one dictionary per column, nothing kept of a declined file.

``tests/test_ctdecode.py`` holds single files to the Python path; here several files go
through one builder, and the result must be what the Python path gives for all of them
prepared at once (dictionaries in order of first appearance over the whole batch). Also:
the state after a declined file, ``finish`` resetting, the ``Buffer`` type, ``actor``,
nulls, the size limits, concurrent use, and the arguments.
"""

from __future__ import annotations

import gc
import json
import os
import random
import struct
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from isal import isal_zlib

from forensics import cloudtrail, ctbuilder, reader, records

_ctdecode = pytest.importorskip("forensics._ctdecode", reason="the C decoder is not built (see test_packaging.py)")

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "forensics" / "sample_data"
TIME = "2024-01-02T03:04:05Z"


def trail_file(*recs: dict) -> bytes:
    """A CloudTrail file of these records, each given eventTime TIME unless it has one."""
    return json.dumps({"Records": [{"eventTime": TIME, **r} for r in recs]}, ensure_ascii=False).encode("utf-8")


def python_path(files: list[bytes]) -> pa.Table:
    """The files decoded by msgspec, concatenated and prepared at once, without _file and record_index."""
    parts = []
    for number, data in enumerate(files):
        decoded = records.decode(data)
        assert decoded.status == "loaded", decoded.reason
        parts.append(reader._to_arrow(decoded.columns, [number] * len(decoded.columns)))
    table, _ = reader.prepare(pa.concat_tables(parts).combine_chunks(), {n: f"f{n}" for n in range(len(files))})
    return table.drop_columns(["_file", "record_index"])


def built(files: list[bytes], **limits: int) -> tuple[list[int | None], pa.Table]:
    """What add() returned for each file, and the finished table."""
    builder = ctbuilder.TableBuilder()
    if limits:
        builder._builder = _ctdecode.Builder(ctbuilder.CATEGORIES, **limits)
    counts = [builder.add(data) for data in files]
    table = builder.finish()
    table.validate(full=True)
    return counts, table


def assert_same(table: pa.Table, expected: pa.Table) -> None:
    """Equal schemas and values, and for dictionary columns the very same dictionaries and codes."""
    assert table.schema.equals(expected.schema)
    for name in expected.column_names:
        assert table[name].num_chunks == 1, name
        ours, theirs = table[name].chunk(0), expected[name].combine_chunks()
        assert ours.equals(theirs), (name, ours.to_pylist()[:5], theirs.to_pylist()[:5])
        if pa.types.is_dictionary(ours.type):
            assert ours.dictionary.equals(theirs.dictionary), name
            assert ours.indices.equals(theirs.indices), name


def narrow_schema(table: pa.Table) -> pa.Schema:
    """ctbuilder.SCHEMA with the index type of each dictionary column for its size in ``table``."""
    def field(wanted: pa.Field) -> pa.Field:
        if not pa.types.is_dictionary(wanted.type):
            return wanted
        size = len(table[wanted.name].chunk(0).dictionary)
        return pa.field(wanted.name, pa.dictionary(ctbuilder.index_type(size), pa.string()))
    return pa.schema([field(wanted) for wanted in ctbuilder.SCHEMA])


def first_seen(values: list[object]) -> list[object]:
    """The distinct non-null values in order of first appearance (what the dictionaries must be)."""
    return list(dict.fromkeys(v for v in values if v is not None))


MIXED = [
    trail_file({"eventName": "GetObject", "userIdentity": {"arn": "arn:a"}, "requestParameters": {"k": 1}},
               {"eventName": "PutObject", "readOnly": False, "userIdentity": {"arn": "", "invokedBy": "svc"}}),
    trail_file(),  # {"Records": []} is clean: no rows
    trail_file({"eventName": "PutObject", "errorCode": "AccessDenied", "eventID": "e3"},
               {"eventName": None, "requestParameters": {"k": 1}, "userIdentity": {"principalId": "p"}},
               {"eventName": "ListBuckets", "readOnly": True, "eventTime": "2013-11-01T00:00:00Z"}),
    trail_file({"eventName": "GetObject", "userIdentity": {"accountId": "111122223333"}, "eventID": "e5"}),
]
#: Files the builder declines, each with values that are new to every dictionary.
DECLINED = {
    "type clash at the end": trail_file({"eventName": "New1", "userAgent": "ua1"}, {"eventName": "New2", "readOnly": "yes"}),
    "odd time at the end": trail_file({"eventName": "New1", "userAgent": "ua1"}, {"eventName": "New2", "eventTime": "2024-01-02T03:04:05.5Z"}),
    "broken JSON at the end": trail_file({"eventName": "New1", "userAgent": "ua1"})[:-2] + b",",
}


# ------------------------------------------------------------------ across files


def test_columns_and_types_are_the_loaders() -> None:
    assert ctbuilder.COLUMNS == (*(n for n in records.RECORD_COLUMNS if n != "record_index"), "actor")
    assert list(_ctdecode.Builder(()).finish()) == list(ctbuilder.COLUMNS)  # the C column order
    for name in ctbuilder.COLUMNS:
        assert ctbuilder.SCHEMA.field(name).type == reader.TABLE_SCHEMA.field(name).type, name
    assert "requestParameters" in ctbuilder.CATEGORIES and "eventID" not in ctbuilder.CATEGORIES
    assert not {"eventTime", "readOnly", "managementEvent", "actor"} & set(ctbuilder.CATEGORIES)


def test_the_sample_trail_through_one_builder_is_the_python_path_prepared_at_once() -> None:
    files = [isal_zlib.decompress(path.read_bytes(), 31) for path in sorted(SAMPLE.rglob("*.json.gz"))] + MIXED
    counts, table = built(files)
    expected = python_path(files)
    assert counts == [len(records.decode(data).columns) for data in files]
    assert table.num_rows == expected.num_rows == sum(counts) > 1000
    assert_same(table, expected)
    for name in ("eventName", "userIdentity.arn", "requestParameters", "actor"):
        plain = table[name].cast(pa.string()).to_pylist()
        assert table[name].chunk(0).dictionary.to_pylist() == first_seen(plain), name


def test_values_of_a_small_batch() -> None:
    counts, table = built(MIXED)
    assert counts == [2, 0, 3, 1]
    assert table["eventName"].to_pylist() == ["GetObject", "PutObject", "PutObject", None, "ListBuckets", "GetObject"]
    names = table["eventName"].chunk(0)
    assert names.dictionary.to_pylist() == ["GetObject", "PutObject", "ListBuckets"]
    assert names.indices.to_pylist() == [0, 1, 1, None, 2, 0]
    assert table["actor"].to_pylist() == ["arn:a", "svc", "unknown", "p", "unknown", "111122223333"]
    assert table["actor"].chunk(0).dictionary.to_pylist() == ["arn:a", "svc", "unknown", "p", "111122223333"]
    assert table["requestParameters"].to_pylist() == ['{"k": 1}', None, None, '{"k": 1}', None, None]
    assert table["readOnly"].to_pylist() == [None, False, None, None, True, None]
    assert table["eventID"].type == pa.large_string()
    assert table["eventID"].to_pylist() == [None, None, "e3", None, None, "e5"]
    assert table["eventTime"].cast(pa.int64()).to_pylist() == [1704164645_000_000] * 4 + [1383264000_000_000, 1704164645_000_000]
    assert_same(table, python_path(MIXED))


@pytest.mark.parametrize("name", list(DECLINED))
def test_a_declined_file_in_the_middle_leaves_no_trace(name: str) -> None:
    files = MIXED[:1] + [DECLINED[name]] + MIXED[2:]
    counts, table = built(files)
    assert counts == [2, None, 3, 1]
    _, without = built(MIXED[:1] + MIXED[2:])
    assert_same(table, without)  # the same dictionaries: New1, New2, ua1 never entered them
    assert "New1" not in table["eventName"].chunk(0).dictionary.to_pylist()
    assert table["userAgent"].chunk(0).dictionary.to_pylist() == []


def test_finish_resets_everything() -> None:
    builder = ctbuilder.TableBuilder()
    assert builder.add(MIXED[0]) == 2 and builder.rows == 2
    first = builder.finish()
    assert builder.rows == 0
    empty = builder.finish()
    assert empty.num_rows == 0 and empty.schema.equals(narrow_schema(empty))
    assert empty["eventName"].type.index_type == pa.int8()
    assert empty["eventName"].chunk(0).dictionary.to_pylist() == []
    assert builder.add(MIXED[3]) == 1
    again = builder.finish()  # codes start at 0 again: the dictionaries were reset too
    assert again["eventName"].chunk(0).dictionary.to_pylist() == ["GetObject"]
    assert again["actor"].chunk(0).indices.to_pylist() == [0]
    assert_same(first, python_path(MIXED[:1]))
    assert_same(again, python_path(MIXED[3:]))


def test_strict_table_adds_record_index() -> None:
    table = ctbuilder.strict_table(MIXED[2])
    assert table.column_names == [*records.RECORD_COLUMNS, "actor"]
    assert table["record_index"].type == pa.int32() and table["record_index"].to_pylist() == [0, 1, 2]


def test_without_the_c_decoder_there_is_no_builder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ctbuilder, "_ctdecode", None)
    assert ctbuilder.builder() is None and ctbuilder.strict_table(MIXED[0]) is None
    with pytest.raises(RuntimeError, match="not available"):
        ctbuilder.TableBuilder()


def test_forensics_decoder_python_turns_the_builder_off() -> None:
    code = "from forensics import ctbuilder; print(ctbuilder.builder() is None, ctbuilder._ctdecode is None)"
    env = {**os.environ, "FORENSICS_DECODER": "python"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=ROOT)
    assert done.stdout.split() == ["True", "True"], done.stderr


# ------------------------------------------------------------------ actor, nulls


def test_actor_is_the_first_non_empty_identity_field() -> None:
    cases = [
        ({"arn": "A", "invokedBy": "I", "principalId": "P", "accountId": "C"}, "A"),
        ({"arn": "", "invokedBy": "I", "principalId": "P", "accountId": "C"}, "I"),
        ({"arn": None, "invokedBy": "", "principalId": "P", "accountId": "C"}, "P"),
        ({"principalId": "", "accountId": "C"}, "C"),
        ({"arn": "", "invokedBy": "", "principalId": "", "accountId": ""}, "unknown"),
        ({"type": "Root"}, "unknown"),
        (None, "unknown"),
        ({"arn": "unknown"}, "unknown"),  # the same dictionary entry as the fallback
        ({"arn": " "}, " "),  # only the empty string is skipped
    ]
    data = trail_file(*({"userIdentity": identity} for identity, _ in cases), {})
    table = ctbuilder.strict_table(data)
    expected = [actor for _, actor in cases] + ["unknown"]
    assert table["actor"].to_pylist() == expected
    assert table["actor"].chunk(0).dictionary.to_pylist() == ["A", "I", "P", "C", "unknown", " "]
    assert table["actor"].null_count == 0
    assert_same(table.drop_columns(["record_index"]), python_path([data]))


def test_validity_is_none_without_nulls_and_a_bitmap_with() -> None:
    builder = _ctdecode.Builder(("eventName", "userAgent"))
    recs = [{"eventName": "a", "userAgent": "u"}, {"eventName": "b"}, {"eventName": "a", "userAgent": None}]
    assert builder.add(trail_file(*recs[:2])) == 2
    assert builder.add(trail_file(*recs[2:] * 7)) == 7  # 9 rows: the bitmap spans two bytes across the files
    parts = builder.finish()
    assert parts["eventName"][0] is None  # no null
    assert bytes(memoryview(parts["userAgent"][0])) == bytes([0b00000001, 0b0])  # valid only in row 0
    assert bytes(memoryview(parts["eventName"][2])) == b"".join(n.to_bytes(4, "little") for n in (0, 1, 2))  # "a", "b"
    assert bytes(memoryview(parts["eventName"][3])) == b"ab"
    assert bytes(memoryview(parts["userAgent"][3])) == b"u"
    assert parts["eventTime"][0] is None and parts["actor"][0] is None  # never null
    assert parts["readOnly"][0] is not None  # readOnly is missing everywhere: all null
    assert bytes(memoryview(parts["readOnly"][0])) == b"\x00\x00"


def test_a_column_null_everywhere_has_an_empty_dictionary() -> None:
    counts, table = built([trail_file({"eventName": "x"}), trail_file({"eventName": "y", "errorCode": None})])
    codes = table["errorCode"].chunk(0)
    assert codes.null_count == 2 and codes.dictionary.to_pylist() == []
    assert counts == [1, 1]


# ------------------------------------------------------------------ Buffer


def test_buffers_are_read_only_bytes_that_outlive_the_builder() -> None:
    builder = ctbuilder.TableBuilder()
    builder.add(MIXED[0])
    parts = builder._builder.finish()
    view = memoryview(parts["eventID"][1])  # int64 offsets, 2 rows
    assert (view.readonly, view.format, view.ndim, view.nbytes, view.itemsize) == (True, "B", 1, 24, 1)
    with pytest.raises(TypeError):
        view[0] = 1
    view.release()
    arrays = {name: ctbuilder._array(ctbuilder.SCHEMA.field(name).type, 2, parts[name]) for name in ctbuilder.COLUMNS}
    del builder, parts
    gc.collect()
    table = pa.table(arrays)
    table.validate(full=True)
    assert table["eventName"].to_pylist() == ["GetObject", "PutObject"]
    assert table["actor"].to_pylist() == ["arn:a", "svc"]


def names(first: int, count: int, prefix: str = "n") -> bytes:
    """A file of ``count`` records named {prefix}{first}... (all distinct), every other one without a name."""
    return trail_file(*({"eventName": f"{prefix}{n}"} if n % 2 == 0 else {} for n in range(first, first + 2 * count)))


@pytest.mark.parametrize(
    ("counts", "width"),
    [((126,), pa.int8()), ((127,), pa.int16()), ((100, 26), pa.int8()), ((100, 27), pa.int16()),
     ((20_000, 12_766), pa.int16()), ((20_000, 12_767), pa.int32()), ((126, 1, 40_000), pa.int32()),
     ((40_000,), pa.int32())],
)  # fmt: skip
def test_codes_have_the_width_pandas_chooses_for_the_dictionary_widened_across_files(counts, width) -> None:
    files, first = [], 0
    for count in counts:
        files.append(names(first, count))
        first += 2 * count
    added, table = built(files)
    assert added == [2 * count for count in counts]
    column = table["eventName"].chunk(0)
    assert len(column.dictionary) == sum(counts) and column.type.index_type == width
    assert pa.types.is_int32(table["requestParameters"].type.index_type) is False  # all null: int8
    assert_same(table, python_path(files))  # the values, and prepare narrows alike
    codes = np.frombuffer(column.indices.buffers()[1], dtype=width.to_pandas_dtype())  # under nulls too
    assert len(codes) == len(column) and (codes[1::2] == -1).all()  # -1 under a null, the codes of the names in order
    assert (codes[0::2] == range(sum(counts))).all()


def test_codes_widened_for_a_declined_file_are_narrowed_again() -> None:
    """A file widens eventName's codes, then its userAgent outgrows the dictionary limit."""
    kept = names(0, 100)
    declined = trail_file(*({"eventName": f"m{n}"} for n in range(60)), {"userAgent": "u" * 3000})
    added, table = built([kept, declined, names(1000, 20, "k")], _max_bytes=2000)
    assert added == [200, None, 40]
    column = table["eventName"].chunk(0)
    assert len(column.dictionary) == 120 and column.type.index_type == pa.int8()
    assert column.to_pylist() == [f"n{n}" if n % 2 == 0 else None for n in range(200)] + [
        f"k{n}" if n % 2 == 0 else None for n in range(1000, 1040)]


def test_zero_length_buffers() -> None:
    parts = _ctdecode.Builder(("eventName",)).finish()
    times = parts["eventTime"][1]
    assert bytes(memoryview(times)) == b"" and pa.py_buffer(times).size == 0
    assert bytes(memoryview(parts["eventID"][1])) == bytes(8)  # large_string offsets: [0]
    assert bytes(memoryview(parts["eventName"][2])) == bytes(4)  # dictionary offsets: [0]
    assert [bytes(memoryview(b)) for b in parts["eventName"][1:]] == [b"", bytes(4), b""]
    table = ctbuilder.TableBuilder().finish()
    table.validate(full=True)
    assert table.num_rows == 0 and table.schema.equals(narrow_schema(table))


def test_buffers_are_made_only_by_the_builder() -> None:
    with pytest.raises(TypeError):
        _ctdecode.Buffer()


# ------------------------------------------------------------------ limits


def test_rows_limit_declines_the_file_that_would_pass_it() -> None:
    three, two, one = trail_file({"eventName": "a"}, {}, {}), trail_file({"eventName": "b"}, {}), trail_file({"eventName": "c"})
    counts, table = built([three, three, two, trail_file(), one], _max_rows=5)
    assert counts == [3, None, 2, 0, None]
    assert table["eventName"].chunk(0).dictionary.to_pylist() == ["a", "b"]
    assert_same(table, python_path([three, two]))


def test_dictionary_limit_rolls_back_the_values_added_before_it() -> None:
    old = [f"v{i:03d}" for i in range(10)]  # 40 bytes
    new = [f"n{i:03d}" for i in range(300)]  # 1200 bytes: the hash table grows twice on the way
    first = trail_file(*({"eventName": v} for v in old))
    too_big = trail_file(*({"eventName": v} for v in new), {"eventName": "x" * 2000})
    fits = trail_file(*({"eventName": v} for v in ["v005", *new, "v000"]))  # 40 + 1200 bytes
    counts, table = built([first, too_big, fits], _max_bytes=1240)
    assert counts == [10, None, 302]
    names = table["eventName"].chunk(0)
    assert names.dictionary.to_pylist() == old + new
    assert names.indices.to_pylist()[10:12] == [5, 10] and names.indices.to_pylist()[-1] == 0
    assert_same(table, python_path([first, fits]))
    counts, _ = built([first, trail_file({"eventName": "y" * 1201})], _max_bytes=1240)
    assert counts == [10, None]  # 40 + 1201 > 1240


def varied_values(rng: random.Random, count: int, prefix: str) -> list[str]:
    """Distinct strings of all the lengths that hashing and comparing treat apart (0 to 300
    bytes), many of them differing from another in one byte only: the first, a middle or the last."""
    lengths = [0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 129, 300]
    values: dict[str, None] = {}
    while len(values) < count:
        n = rng.choice(lengths)
        text = (prefix + "".join(rng.choice("abcé0123456789") for _ in range(n)))[:n] if n else ""
        values[text] = None
        if n and len(values) < count:
            at = rng.choice([0, n // 2, n - 1])
            values[text[:at] + ("Z" if text[at] != "Z" else "Y") + text[at + 1:]] = None
    return list(values)


def test_big_dictionaries_across_files_are_the_python_path() -> None:
    """Thousands of distinct values per column (the hash tables outgrow the small ones and the
    rows go through the pipeline), with runs, nulls, near-duplicates and empty strings."""
    rng = random.Random(20240102)
    names, agents, messages = varied_values(rng, 3000, "n"), varied_values(rng, 600, "a"), varied_values(rng, 5000, "m")
    arns = ["", *varied_values(rng, 1500, "arn:")]
    files = []
    for _ in range(6):
        recs: list[dict] = []
        for _ in range(1200):
            if recs and rng.random() < 0.3:
                recs.append(dict(recs[-1]))  # a run: the row before again
                continue
            rec: dict = {"eventName": rng.choice(names[: rng.choice([40, len(names)])])}
            if rng.random() < 0.8:
                rec["userAgent"] = rng.choice(agents)
            if rng.random() < 0.5:
                rec["errorMessage"] = rng.choice(messages) if rng.random() < 0.9 else None
            if rng.random() < 0.9:
                rec["userIdentity"] = {"arn": rng.choice(arns), "principalId": rng.choice(agents)}
            recs.append(rec)
        files.append(trail_file(*recs))
    counts, table = built(files)
    assert counts == [1200] * 6
    assert_same(table, python_path(files))
    for name in ("eventName", "userAgent", "errorMessage", "actor"):
        plain = table[name].cast(pa.string()).to_pylist()
        assert table[name].chunk(0).dictionary.to_pylist() == first_seen(plain), name
    assert min(len(table[name].chunk(0).dictionary) for name in ("eventName", "errorMessage", "actor")) > 1000


def test_dictionary_limit_in_a_big_table_rolls_back() -> None:
    """The limit reached in a file whose rows go through the pipeline, after the table grew;
    then the table grows again from what the rollback left."""
    old = [f"v{i:04d}" for i in range(2000)]  # 10,000 bytes: a table of 4096 slots
    new = [f"n{i:04d}" for i in range(1500)]  # 7,500 bytes: it grows to 8192 on the way
    more = [f"m{i:04d}" for i in range(1000)]  # 5,000 bytes: and to 16384
    first = trail_file(*({"eventName": v} for v in old))
    too_big = trail_file(*({"eventName": v} for pair in zip(new, old) for v in pair), {"eventName": "x" * 8000})
    fits = trail_file(*({"eventName": v} for v in ["v0005", *new, "v0005", "v1999", *new[::-1]]))
    last = trail_file(*({"eventName": v} for v in [*more, *old[::7], *new[::5], *more[::3]]))
    counts, table = built([first, too_big, fits, too_big, last], _max_bytes=22_500)
    assert counts == [2000, None, 3003, None, 1000 + 286 + 300 + 334]
    names = table["eventName"].chunk(0)
    assert names.dictionary.to_pylist() == old + new + more
    assert names.indices.to_pylist()[2000:2002] == [5, 2000] and names.indices.to_pylist()[5002] == 2000
    assert_same(table, python_path([first, fits, last]))


def test_string_limit_for_large_string_columns() -> None:
    counts, table = built([trail_file({"eventID": "abcdef"}), trail_file({"eventID": "ghijk"}), trail_file({"eventID": "ghij"})],
                          _max_bytes=10)
    assert counts == [1, None, 1]
    assert table["eventID"].to_pylist() == ["abcdef", "ghij"]


# ------------------------------------------------------------------ use and arguments


def test_concurrent_use_of_one_builder_is_refused() -> None:
    """While one thread's add() works without the GIL, another's add() raises at once and changes nothing."""
    record = {"eventName": "x" * 100, "requestParameters": {"k": ["v" * 200] * 4}, "userAgent": "ua"}
    big = trail_file(*[record] * 20_000)  # some 25 MB: tens of milliseconds to parse
    builder = _ctdecode.Builder(ctbuilder.CATEGORIES)
    outcome: list[object] = []
    worker = threading.Thread(target=lambda: outcome.append(builder.add(big)))
    refused = declined = 0
    worker.start()
    while worker.is_alive():
        try:
            result = builder.add(b"not json")
        except RuntimeError as exc:
            assert "in use by another thread" in str(exc)
            assert builder.rows in (0, 20_000)  # readable meanwhile: before the add, or after (never a part)
            refused += 1
        else:
            assert result is None
            declined += 1
    worker.join()
    assert outcome == [20_000] and builder.rows == 20_000
    assert refused > 0
    assert builder.add(b"not json") is None  # free again


@pytest.mark.parametrize("name", ["nope", "actor", "record_index", "eventname", "eventTime", "readOnly", "managementEvent"])
def test_columns_that_cannot_be_categories(name: str) -> None:
    with pytest.raises(ValueError, match=repr(name)):
        _ctdecode.Builder((name,))


@pytest.mark.parametrize("categories", ["eventName", b"eventName", ("eventName", 1), 5])
def test_categories_must_be_names(categories: object) -> None:
    with pytest.raises(TypeError):
        _ctdecode.Builder(categories)  # type: ignore[arg-type]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS as Linux has it")
@pytest.mark.skipif(bool(os.environ.get("FORENSICS_CTDECODE_BUILD")), reason="AddressSanitizer maps terabytes of shadow memory")
def test_out_of_memory_raises_and_keeps_the_builder_usable() -> None:
    """Under an address-space limit, a file too big to parse gives MemoryError; the rows before stay."""
    code = """if True:
        import resource
        from forensics import ctbuilder
        small = b'{"Records":[{"eventTime":"2024-01-02T03:04:05Z","eventName":"a"}]}'
        huge = b'{"Records":[{"eventTime":"2024-01-02T03:04:05Z","errorMessage":"' + b"x" * (200 << 20) + b'"}]}'
        builder = ctbuilder.TableBuilder()
        assert builder.add(small) == 1
        with open("/proc/self/statm") as f:
            used = int(f.read().split()[0]) * resource.getpagesize()
        resource.setrlimit(resource.RLIMIT_AS, (used + (100 << 20), resource.RLIM_INFINITY))
        try:
            builder.add(huge)
        except MemoryError:
            print("MemoryError")
        print(builder.add(small), builder.finish()["eventName"].to_pylist())
    """
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.stdout.split("\n")[:2] == ["MemoryError", "1 ['a', 'a']"], done.stdout + done.stderr


# ------------------------------------------------------------------ all_distinct


def unique_says(array: pa.Array | pa.ChunkedArray) -> bool:
    """The pc.unique answer (cloudtrail._all_distinct without the C extension)."""
    missing = array.null_count
    return len(pc.unique(array)) - (1 if missing else 0) == len(array) - missing


def offsets(*values: int) -> bytes:
    return struct.pack(f"<{len(values)}q", *values)


FAR = [f"id-{n:05d}" for n in range(5000)]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([], True),
        ([None], True),
        ([None] * 50, True),  # nulls are never duplicates
        (["a"], True),
        ([""], True),
        (["a", "b", "c"], True),
        (["a", "a", "b", "c"], False),  # at the start
        (["a", "b", "c", "c"], False),  # at the end
        (["a", "b", "b", "c"], False),  # adjacent
        (["x", *FAR, "x"], False),  # far apart
        (FAR, True),
        ([*FAR, FAR[2500]], False),
        (["abcdefgh12345678x", "abcdefgh12345678y"], True),  # only the last byte differs (a partial word)
        (["abcdefgh", "abcdefgi"], True),  # ... a whole word
        (["ab", "abc", "abcd", "a"], True),  # prefixes of each other
        (["ab\x00", "ab"], True),  # a zero byte is a byte
        (["", ""], False),  # empty strings twice are a duplicate
        ([None, ""], True),  # null is not the empty string
        ([None, "", None], True),
        ([None, "a", None, "a"], False),
        (["é", "e\u0301"], True),  # bytes, not Unicode equivalence
        (["é", None, "é"], False),
    ],
)
def test_all_distinct_exact(values: list[str | None], expected: bool) -> None:
    for kind in (pa.large_string(), pa.string()):
        array = pa.array(values, kind)
        assert ctbuilder.all_distinct(array) is expected
        assert unique_says(array) is expected


def test_all_distinct_many_values() -> None:
    """Enough rows for every slot's hash bits and probe runs to matter."""
    ids = [str(uuid.UUID(int=random.Random(7).getrandbits(128) ^ n)) for n in range(200_000)]
    assert ctbuilder.all_distinct(pa.array(ids, pa.large_string())) is True
    for at in (0, 1, 100_000, 199_999):
        assert ctbuilder.all_distinct(pa.array([*ids, ids[at]], pa.large_string())) is False
        assert ctbuilder.all_distinct(pa.array([ids[at], *ids], pa.large_string())) is False


def test_all_distinct_counts_only_the_slice() -> None:
    array = pa.array(["x", "a", "b", "x"], pa.large_string())
    assert ctbuilder.all_distinct(array) is False
    assert ctbuilder.all_distinct(array.slice(1)) is True  # the first x is outside
    assert ctbuilder.all_distinct(array.slice(0, 3)) is True  # the second x is outside
    assert ctbuilder.all_distinct(array.slice(1, 2)) is True
    assert ctbuilder.all_distinct(array.slice(2, 0)) is True
    # validity bits of a slice that does not start on a byte boundary
    values = ["d", None, "d", None, None, "x", None, "y", None, "x", "z", None, "d"]
    array = pa.array(values, pa.large_string())
    for start in range(len(values)):
        for stop in range(start, len(values) + 1):
            part = array.slice(start, stop - start)
            expected = len({v for v in values[start:stop] if v is not None}) == sum(v is not None for v in values[start:stop])
            assert ctbuilder.all_distinct(part) is expected, (start, stop)
            assert ctbuilder.all_distinct(part.cast(pa.string())) is expected


def test_all_distinct_agrees_with_pc_unique_on_random_arrays() -> None:
    seen = set()
    for seed in range(200):
        rng = random.Random(seed)
        alphabet = "ab" if seed % 2 else "abcé"
        size = rng.randrange(0, 80)
        nulls = rng.random() * 0.5
        values = [
            None if rng.random() < nulls else "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 5)))
            for _ in range(size)
        ]
        array = pa.array(values, pa.large_string())
        start = rng.randrange(0, size + 1)
        part = array.slice(start, rng.randrange(0, size - start + 1))
        for candidate in (array, part, part.cast(pa.string())):
            expected = unique_says(candidate)
            assert ctbuilder.all_distinct(candidate) is expected, (seed, candidate)
            seen.add(expected)
    assert seen == {True, False}


def test_all_distinct_takes_any_buffer() -> None:
    """bytes, bytearray and pa.Buffer; validity may be None; the data may be empty."""
    data = b"abcab"
    offs = offsets(0, 2, 3, 5)
    assert _ctdecode.all_distinct(None, offs, data, 0, 3) is False
    assert _ctdecode.all_distinct(None, bytearray(offs), memoryview(data), 0, 3) is False
    assert _ctdecode.all_distinct(pa.py_buffer(b"\x06"), pa.py_buffer(offs), pa.py_buffer(data), 0, 3) is True  # row 0 null
    assert _ctdecode.all_distinct(None, offs, data, 1, 2) is True
    assert _ctdecode.all_distinct(None, offsets(0, 0, 0), b"", 0, 2) is False
    assert _ctdecode.all_distinct(None, offsets(0), b"", 0, 0) is True
    assert _ctdecode.all_distinct(b"", offsets(0), b"", 0, 0) is True
    assert _ctdecode.all_distinct(None, offsets(0, 0, 0), pa.allocate_buffer(0), 0, 2) is False


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((None, offsets(0, 1), b"ab", 0, 2), "3 int64 offsets needed"),  # offsets too short
        ((None, offsets(0, 1, 2), b"ab", 1, 2), "4 int64 offsets needed"),  # ... for the slice
        ((None, offsets(0, 1, 2)[:-1], b"ab", 0, 2), "3 int64 offsets needed"),  # a partial entry
        ((None, offsets(0, 2, 1), b"ab", 0, 2), "entry 2 is below"),  # decreasing
        ((None, offsets(0, 2, 1, 2), b"ab", 1, 2), "entry 2 is below"),
        ((None, offsets(-1, 1, 2), b"ab", 0, 2), "negative"),
        ((None, offsets(0, 1, 3), b"ab", 0, 2), "past the data"),  # beyond the data
        ((None, offsets(0, 1, 2), b"", 0, 2), "past the data"),
        ((None, offsets(5), b"ab", 0, 0), "past the data"),
        ((b"\xff", offsets(*range(10)), b"x" * 9, 0, 9), "validity bitmap has 1 bytes, 2 needed"),  # validity too short
        ((b"\xff", offsets(*range(10)), b"x" * 9, 1, 8), "validity bitmap has 1 bytes, 2 needed"),
        ((b"", offsets(0, 1), b"a", 0, 1), "validity bitmap has 0 bytes, 1 needed"),
        ((None, offsets(0, 1), b"a", -1, 1), ">= 0"),
        ((None, offsets(0, 1), b"a", 0, -1), ">= 0"),
        ((None, offsets(0, 1), b"a", sys.maxsize, 1), "too large"),
        ((None, offsets(0, 1), b"a", 1, sys.maxsize - 1), "too large"),
    ],
)
def test_all_distinct_malformed_buffers(args: tuple[object, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _ctdecode.all_distinct(*args)


def test_all_distinct_checks_offsets_of_null_rows_but_none_outside_the_slice() -> None:
    with pytest.raises(ValueError, match="below"):
        _ctdecode.all_distinct(b"\x01", offsets(0, 2, 1), b"ab", 0, 2)  # row 1 is null, its offsets still count
    assert _ctdecode.all_distinct(None, offsets(9, 0, 1, 2, -4), b"ab", 1, 2) is True  # only entries 1..3 are read


@pytest.mark.parametrize("bad", [5, "text", [0, 1]])
def test_all_distinct_argument_types(bad: object) -> None:
    with pytest.raises(TypeError):
        _ctdecode.all_distinct(None, bad, b"a", 0, 1)
    with pytest.raises(TypeError):
        _ctdecode.all_distinct(bad, offsets(0, 1), b"a", 0, 1)
    with pytest.raises(TypeError):
        ctbuilder.all_distinct(pa.array([1, 2]))
    with pytest.raises(TypeError):
        _ctdecode.all_distinct(None, offsets(0, 1), b"a", 0)  # type: ignore[call-arg]


def test_all_distinct_without_the_c_decoder(monkeypatch: pytest.MonkeyPatch) -> None:
    """None from ctbuilder; cloudtrail._all_distinct then takes pc.unique, with the same answers."""
    chunks = [["a", None, "b"], [], ["c", None], ["b"]]  # the duplicate is across chunks
    column = pa.chunked_array([pa.array(c, pa.large_string()) for c in chunks])
    single = pa.chunked_array([pa.array(["a", None, "b", "c"], pa.large_string())])
    answers = [cloudtrail._all_distinct(c) for c in (column, column.slice(0, 5), single, pa.chunked_array([], pa.large_string()))]
    assert answers == [False, True, True, True]
    monkeypatch.setattr(ctbuilder, "_ctdecode", None)
    assert ctbuilder.all_distinct(pa.array(["a", "a"], pa.large_string())) is None
    assert [cloudtrail._all_distinct(c) for c in (column, column.slice(0, 5), single, pa.chunked_array([], pa.large_string()))] == answers


def test_all_distinct_from_many_threads() -> None:
    """The GIL is released during the scan: threads at once, each with the right answer."""
    ids = [f"{n:036d}" for n in range(100_000)]
    arrays = [pa.array(ids, pa.large_string()), pa.array([*ids, ids[0]], pa.large_string())]
    results: list[tuple[int, bool | None]] = []
    threads = [threading.Thread(target=lambda n=n: results.append((n % 2, ctbuilder.all_distinct(arrays[n % 2])))) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [(0, True)] * 4 + [(1, False)] * 4


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS as Linux has it")
@pytest.mark.skipif(bool(os.environ.get("FORENSICS_CTDECODE_BUILD")), reason="AddressSanitizer maps terabytes of shadow memory")
def test_all_distinct_out_of_memory_raises_memory_error() -> None:
    """The hash set (8 bytes per row: 32 MiB here) cannot be had under an address-space limit."""
    code = """if True:
        import resource
        import pyarrow as pa
        from forensics import ctbuilder
        rows = 4 << 20
        many = pa.Array.from_buffers(pa.large_string(), rows, [None, pa.py_buffer(bytes(8 * (rows + 1))), pa.py_buffer(b"")])
        with open("/proc/self/statm") as f:
            used = int(f.read().split()[0]) * resource.getpagesize()
        resource.setrlimit(resource.RLIMIT_AS, (used + (16 << 20), resource.RLIM_INFINITY))
        try:
            ctbuilder.all_distinct(many)
        except MemoryError:
            print("MemoryError")
        print(ctbuilder.all_distinct(many.slice(0, 1000)))
    """
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.stdout.split("\n")[:2] == ["MemoryError", "False"], done.stdout + done.stderr
