"""Decode CloudTrail JSON into schema columns, fast when the data is clean, tolerant when not.

The loader gives each clean file to the strict C decoder first (:mod:`forensics.ctbuilder`),
which builds the final Arrow columns directly; the files it declines come here, and this
module reports what is odd about them. ``tests/test_ctdecode.py`` holds both paths to the
same tables. Without a C compiler at install time, or with ``FORENSICS_DECODER=python`` in
the environment, this module decodes every file.

The msgspec fast path decodes a whole file into typed :mod:`msgspec` structs that declare only
the schema's fields; ``requestParameters`` and the other free-form fields are
``msgspec.Raw``, so their exact bytes are kept without being parsed. If a file does not
fit the types (an odd value anywhere, a non-object record), it is decoded again record
by record: each record is tried typed, then field by field, and a record that is not an
object is rejected. Files that msgspec cannot read at all (lone surrogate escapes, NaN
literals) go through the standard library's parser. Every repair is noted.

This module never touches the file system: it turns bytes into :class:`Columns`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import msgspec
import numpy as np
import pyarrow as pa

from forensics.schema import BOOLEAN_COLUMNS, JSON_COLUMNS

# --------------------------------------------------------------------------- typed model


class _SessionIssuer(msgspec.Struct, gc=False):
    arn: str | None = None


class _SessionAttributes(msgspec.Struct, gc=False):
    mfaAuthenticated: str | None = None


class _SessionContext(msgspec.Struct, gc=False):
    sessionIssuer: _SessionIssuer | None = None
    attributes: _SessionAttributes | None = None
    sourceIdentity: str | None = None


class _UserIdentity(msgspec.Struct, gc=False):
    type: str | None = None
    principalId: str | None = None
    arn: str | None = None
    accountId: str | None = None
    accessKeyId: str | None = None
    userName: str | None = None
    invokedBy: str | None = None
    sessionContext: _SessionContext | None = None


class _Record(msgspec.Struct, gc=False):
    eventTime: str | None = None
    eventVersion: str | None = None
    eventSource: str | None = None
    eventName: str | None = None
    eventType: str | None = None
    eventCategory: str | None = None
    awsRegion: str | None = None
    sourceIPAddress: str | None = None
    userAgent: str | None = None
    errorCode: str | None = None
    errorMessage: str | None = None
    readOnly: bool | None = None
    managementEvent: bool | None = None
    recipientAccountId: str | None = None
    eventID: str | None = None
    requestID: str | None = None
    sharedEventID: str | None = None
    vpcEndpointId: str | None = None
    userIdentity: _UserIdentity | None = None
    requestParameters: msgspec.Raw = msgspec.Raw()
    responseElements: msgspec.Raw = msgspec.Raw()
    resources: msgspec.Raw = msgspec.Raw()
    additionalEventData: msgspec.Raw = msgspec.Raw()
    serviceEventDetails: msgspec.Raw = msgspec.Raw()
    addendum: msgspec.Raw = msgspec.Raw()


class _TrailFile(msgspec.Struct, gc=False):
    Records: list[_Record]


class _RawTrailFile(msgspec.Struct, gc=False):
    Records: list[msgspec.Raw]


_FILE_DECODER = msgspec.json.Decoder(_TrailFile)
_RAW_FILE_DECODER = msgspec.json.Decoder(_RawTrailFile)
_RECORD_DECODER = msgspec.json.Decoder(_Record)
_FIELDS_DECODER = msgspec.json.Decoder(dict[str, msgspec.Raw])
_ANY_DECODER = msgspec.json.Decoder()

#: Top-level string fields of a record, as (column, key).
_TOP_STRINGS: tuple[str, ...] = (
    "eventTime", "eventVersion", "eventSource", "eventName", "eventType", "eventCategory",
    "awsRegion", "sourceIPAddress", "userAgent", "errorCode", "errorMessage",
    "recipientAccountId", "eventID", "requestID", "sharedEventID", "vpcEndpointId",
)  # fmt: skip
#: Nested string fields, as (column, path below userIdentity).
_IDENTITY_STRINGS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("userIdentity.type", ("type",)),
    ("userIdentity.arn", ("arn",)),
    ("userIdentity.principalId", ("principalId",)),
    ("userIdentity.accountId", ("accountId",)),
    ("userIdentity.accessKeyId", ("accessKeyId",)),
    ("userIdentity.userName", ("userName",)),
    ("userIdentity.invokedBy", ("invokedBy",)),
    ("userIdentity.sessionContext.sessionIssuer.arn", ("sessionContext", "sessionIssuer", "arn")),
    ("userIdentity.sessionContext.attributes.mfaAuthenticated", ("sessionContext", "attributes", "mfaAuthenticated")),
    ("userIdentity.sessionContext.sourceIdentity", ("sessionContext", "sourceIdentity")),
)
#: Every column this module fills, in order.
RECORD_COLUMNS: tuple[str, ...] = (
    *_TOP_STRINGS,
    *BOOLEAN_COLUMNS,
    *(name for name, _ in _IDENTITY_STRINGS),
    *JSON_COLUMNS,
    "record_index",
)

# ------------------------------------------------------------------------------ results


@dataclass
class Notes:
    """Oddities found while decoding one file, aggregated per kind of issue."""

    counts: dict[str, int] = field(default_factory=dict)
    first: dict[str, int | None] = field(default_factory=dict)
    example: dict[str, str] = field(default_factory=dict)

    def add(self, issue: str, record: int | None = None, example: str = "") -> None:
        """Count one occurrence of ``issue`` at ``record`` (its index in the file)."""
        if issue not in self.counts:
            self.counts[issue] = 0
            self.first[issue] = record
            self.example[issue] = example[:200]
        self.counts[issue] += 1

    def merge(self, other: Notes) -> None:
        """Add the counts of ``other`` to these."""
        for issue, count in other.counts.items():
            if issue not in self.counts:
                self.counts[issue] = 0
                self.first[issue] = other.first[issue]
                self.example[issue] = other.example[issue]
            self.counts[issue] += count

    def rows(self, path: str) -> list[dict[str, object]]:
        """The notes as load-report issue rows for ``path``."""
        return [
            {"path": path, "issue": k, "count": n, "first_record": self.first[k], "example": self.example[k]}
            for k, n in self.counts.items()
        ]


class Columns:
    """Column lists (one per :data:`RECORD_COLUMNS` entry) being filled with records."""

    def __init__(self) -> None:
        self.lists: dict[str, list[object]] = {name: [] for name in RECORD_COLUMNS}

    def __getitem__(self, name: str) -> list[object]:
        return self.lists[name]

    def __len__(self) -> int:
        """Number of rows."""
        return len(self.lists["record_index"])

    def extend(self, other: Columns) -> None:
        """Append the rows of ``other``."""
        for name, values in other.lists.items():
            self.lists[name].extend(values)

    def clear(self) -> None:
        """Drop every row."""
        for values in self.lists.values():
            values.clear()


@dataclass
class Decoded:
    """What decoding one file's bytes gave.

    ``status`` is ``loaded`` (fast path), ``recovered`` (tolerant path, complete),
    ``partial`` (damaged, records before the damage kept), ``failed``, or ``skipped``
    (not an events file, e.g. a digest).
    """

    columns: Columns
    status: str
    reason: str
    records_read: int
    rejected: int
    notes: Notes


# ------------------------------------------------------------------------------ decoding


def decode(data: bytes, *, damaged: str = "") -> Decoded:
    """Decode the (inflated) bytes of one CloudTrail file.

    Accepts ``{"Records": [...]}`` files as CloudTrail delivers them, a JSON array of
    records, JSON Lines of records, and ``aws cloudtrail lookup-events`` output (where
    each record is the JSON string ``CloudTrailEvent``).

    Parameters
    ----------
    data
        The file's content, already decompressed.
    damaged
        Non-empty when the bytes are known to be cut short (a truncated gzip): the text
        says why, and only the complete records before the damage are kept.
    """
    notes = Notes()
    cols = Columns()
    if data.startswith(b"\xef\xbb\xbf"):
        notes.add("UTF-8 byte order mark before the JSON (ignored)")
        data = data[3:]
    if not data.strip():
        return Decoded(cols, "failed", damaged or "empty file: no JSON at all", 0, 0, notes)
    if not damaged:
        try:
            if not data.isascii():  # msgspec does not check the UTF-8 of the raw JSON it keeps
                data.decode("utf-8")
            trail = _FILE_DECODER.decode(data)
        except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError, RecursionError):
            pass
        else:
            _append_structs(cols, trail.Records, 0)
            n = len(trail.Records)
            return Decoded(cols, "loaded", "", n, 0, notes)
    return _decode_tolerant(data, damaged, cols, notes)


def _record_type(name: str) -> pa.DataType:
    if name == "record_index":
        return pa.int32()
    if name in BOOLEAN_COLUMNS:
        return pa.bool_()
    return pa.large_string() if name in JSON_COLUMNS else pa.string()


#: Arrow types of the record columns before they are prepared (``reader._to_arrow`` makes the same).
STRICT_SCHEMA = pa.schema([(name, _record_type(name)) for name in RECORD_COLUMNS])


def _decode_tolerant(data: bytes, damaged: str, cols: Columns, notes: Notes) -> Decoded:
    if damaged:
        items, reason = _salvage(data, notes)
        read, rejected = _append_items(cols, items, notes)
        return Decoded(cols, "partial", f"{damaged}; {reason}", read, rejected, notes)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return Decoded(cols, "failed", _utf8_error(data), 0, 0, notes)
    try:  # a Records list: each record keeps its exact bytes (verbatim JSON columns)
        items: list[object] = list(_RAW_FILE_DECODER.decode(data).Records)
    except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        pass
    else:
        read, rejected = _append_items(cols, items, notes)
        return Decoded(cols, "recovered", "read by the tolerant decoder (Records)", read, rejected, notes)
    try:
        doc = _ANY_DECODER.decode(data)
    except UnicodeDecodeError:
        return Decoded(cols, "failed", _utf8_error(data), 0, 0, notes)
    except (msgspec.DecodeError, RecursionError) as exc:
        message = str(exc)
        if "trailing characters" in message:
            items = list(_json_lines(data, notes))
            kind = "JSON Lines"
        else:
            try:
                doc = _stdlib_loads(data, notes)
            except UnicodeDecodeError:
                return Decoded(cols, "failed", _utf8_error(data), 0, 0, notes)
            except (json.JSONDecodeError, RecursionError) as jexc:
                return _cut_off(data, cols, notes, f"broken JSON ({_short(jexc)})")
            items, kind = _items_of(doc, notes)
    else:
        items, kind = _items_of(doc, notes)
    if kind.startswith("skip:"):
        return Decoded(cols, "skipped", kind[5:], 0, 0, notes)
    if kind.startswith("fail:"):
        return Decoded(cols, "failed", kind[5:], 0, 0, notes)
    read, rejected = _append_items(cols, items, notes)
    return Decoded(cols, "recovered", f"read by the tolerant decoder ({kind})", read, rejected, notes)


def _utf8_error(data: bytes) -> str:
    """Where and why ``data`` is not UTF-8 (offsets from the start of the file)."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"not UTF-8 text ({exc.reason} at byte {exc.start})"
    return "not UTF-8 text"


def _cut_off(data: bytes, cols: Columns, notes: Notes, reason: str) -> Decoded:
    items, how = _salvage(data, notes)
    if not items:
        return Decoded(cols, "failed", f"{reason}; {how}", 0, 0, notes)
    read, rejected = _append_items(cols, items, notes)
    return Decoded(cols, "partial", f"{reason}; {how}", read, rejected, notes)


def _items_of(doc: object, notes: Notes) -> tuple[list[object], str]:
    """Find the records in a decoded document; the second value names the shape."""
    if isinstance(doc, list):
        if doc and not any(isinstance(item, dict) and _RECORD_KEYS & item.keys() for item in doc):
            return [], "fail:a JSON array, but none of its items is a CloudTrail record"
        return doc, "JSON array of records"
    if not isinstance(doc, dict):
        return [], f"fail:top level is a JSON {type(doc).__name__}, not an object with Records"
    if "Records" in doc:
        records = doc["Records"]
        if isinstance(records, list):
            return records, "Records"
        return [], f"fail:Records is a JSON {type(records).__name__}, not a list"
    if "digestS3Object" in doc or "logFiles" in doc:
        return [], "skip:CloudTrail digest file, not events (checked by forensics.validate_trail)"
    if "Events" in doc and isinstance(doc["Events"], list):
        return [_lookup_item(e, i, notes) for i, e in enumerate(doc["Events"])], "lookup-events output"
    if "eventVersion" in doc or "eventID" in doc:
        return [doc], "single record"
    return [], f"fail:no Records list (keys: {', '.join(sorted(map(str, doc))[:8])})"


_REJECT = object()
#: Keys that make a JSON object recognisable as a CloudTrail record.
_RECORD_KEYS = frozenset({"eventVersion", "eventID", "eventTime", "eventName", "eventSource"})


def _lookup_item(event: object, index: int, notes: Notes) -> object:
    """The CloudTrail record inside one LookupEvents entry (its JSON-string CloudTrailEvent)."""
    text = event.get("CloudTrailEvent") if isinstance(event, dict) else None
    if not isinstance(text, str):
        notes.add("LookupEvents entry without a CloudTrailEvent string (rejected)", index, _short(event))
        return _REJECT
    try:
        data = text.encode("utf-8")
        _ANY_DECODER.decode(data)  # valid JSON: keep its exact text
        return msgspec.Raw(data)
    except (msgspec.DecodeError, UnicodeEncodeError, RecursionError):
        try:
            return json.loads(text)
        except (json.JSONDecodeError, RecursionError) as exc:
            notes.add("LookupEvents CloudTrailEvent is not valid JSON (rejected)", index, _short(exc))
            return _REJECT


def _json_lines(data: bytes, notes: Notes) -> Iterator[object]:
    for number, line in enumerate(data.splitlines()):
        if not line.strip():
            continue
        try:
            obj = _ANY_DECODER.decode(line)
        except (msgspec.DecodeError, RecursionError):
            try:
                obj = _stdlib_loads(line, notes)
            except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
                notes.add("JSON Lines line is not valid JSON (rejected)", number, _short(exc))
                yield _REJECT
                continue
        if isinstance(obj, dict) and isinstance(obj.get("Records"), list):
            try:
                yield from _RAW_FILE_DECODER.decode(line).Records
            except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
                yield from obj["Records"]
        elif isinstance(obj, dict) and "CloudTrailEvent" in obj:
            yield _lookup_item(obj, number, notes)
        elif isinstance(obj, dict) and _is_json(line):
            yield msgspec.Raw(line)  # keeps its exact bytes
        else:
            yield obj


def _is_json(data: bytes) -> bool:
    """Whether msgspec reads ``data`` (it rejects lone surrogates and NaN, which stdlib accepts)."""
    try:
        _ANY_DECODER.decode(data)
    except (msgspec.DecodeError, RecursionError):
        return False
    return True


def _stdlib_loads(data: bytes, notes: Notes) -> object:
    """Parse with the standard library, which accepts lone surrogates and NaN literals."""

    def constant(name: str) -> str:
        notes.add("non-standard JSON constant (NaN/Infinity) kept as text", None, name)
        return name

    doc = json.loads(data.decode("utf-8"), parse_constant=constant)
    notes.add("file needed the standard-library JSON parser (lone surrogates or NaN)")
    return doc


_RECORDS_START = re.compile(rb'"Records"\s*:\s*\[')


def _salvage(data: bytes, notes: Notes) -> tuple[list[object], str]:
    """Keep the complete records that precede damage in a cut-off ``Records`` file."""
    match = _RECORDS_START.search(data)
    if match is None:
        return [], "no Records list before the damage"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(data) - 4:
            return [], f"not UTF-8 text ({exc.reason} at byte {exc.start})"
        text = data[: exc.start].decode("utf-8")
    decoder = json.JSONDecoder()
    pos = len(data[: match.end()].decode("utf-8"))
    items: list[object] = []
    while True:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(text) or text[pos] == "]":
            break
        try:
            obj, pos = decoder.raw_decode(text, pos)
        except (json.JSONDecodeError, RecursionError):
            break
        items.append(obj)
    return items, f"kept the {len(items)} complete records before the damage"


# ------------------------------------------------------------------ records into columns


def _append_structs(cols: Columns, records: list[_Record], first_index: int) -> None:
    """Append typed records (the fast path): transposed to columns in C, not per field in Python.

    :func:`msgspec.structs.astuple` gives each record's fields in declaration order and
    ``zip(*rows)`` turns the rows into columns, about three times faster than one list
    comprehension per field. A missing nested object counts as one with every field
    missing. JSON fields are appended as ``msgspec.Raw`` (their exact bytes);
    :func:`text_array` turns a list of them into an Arrow column without Python strings.
    """
    if not records:
        return
    top = dict(zip(_Record.__struct_fields__, _columns(records, _NO_RECORD)))
    identity = dict(zip(_UserIdentity.__struct_fields__, _columns(top.pop("userIdentity"), _NO_IDENTITY)))
    context = dict(zip(_SessionContext.__struct_fields__, _columns(identity.pop("sessionContext"), _NO_CONTEXT)))
    (issuer_arn,) = _columns(context.pop("sessionIssuer"), _NO_ISSUER)
    (mfa,) = _columns(context.pop("attributes"), _NO_ATTRIBUTES)
    nested = {"sessionContext.sessionIssuer.arn": issuer_arn, "sessionContext.attributes.mfaAuthenticated": mfa}
    nested.update((f"sessionContext.{name}", values) for name, values in context.items())
    nested.update(identity)
    for name, values in top.items():
        cols[name].extend(values)
    for name, values in nested.items():
        cols[f"userIdentity.{name}"].extend(values)
    cols["record_index"].extend(range(first_index, first_index + len(records)))


_astuple = msgspec.structs.astuple
_NO_RECORD, _NO_IDENTITY, _NO_CONTEXT = _Record(), _UserIdentity(), _SessionContext()
_NO_ISSUER, _NO_ATTRIBUTES = _SessionIssuer(), _SessionAttributes()


def _columns(structs: Sequence[msgspec.Struct | None], empty: msgspec.Struct) -> list[tuple[object, ...]]:
    """The fields of same-typed ``structs`` as columns; ``None`` stands for ``empty``."""
    try:
        return list(zip(*map(_astuple, structs)))
    except TypeError:  # a None among them (rarer than not: cheaper to retry than to look first)
        return list(zip(*map(_astuple, [empty if s is None else s for s in structs])))


def text_array(values: list[object]) -> pa.Array:
    """An Arrow ``large_string`` column from JSON values (``msgspec.Raw``, ``str`` or ``None``).

    Raw values are joined into one buffer, so clean data never becomes Python strings.
    An empty Raw (field absent) and the JSON ``null`` are missing values.
    """
    try:
        data = b"".join(values)  # type: ignore[arg-type]
    except TypeError:  # some values are str (the tolerant path) or None
        blobs = [v.encode("utf-8") if isinstance(v, str) else b"" if v is None else bytes(v) for v in values]  # type: ignore[arg-type]
        data = b"".join(blobs)
        lengths = np.fromiter(map(len, blobs), dtype=np.int64, count=len(blobs))
        valid = np.fromiter((v is not None for v in values), dtype=bool, count=len(values)) & (lengths > 0)
        raw = np.fromiter((not isinstance(v, str) for v in values), dtype=bool, count=len(values))
    else:  # all Raw: no Python loop at all
        lengths = np.fromiter(map(len, values), dtype=np.int64, count=len(values))  # type: ignore[arg-type]
        valid = lengths > 0
        raw = None
    offsets = np.zeros(len(values) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    four = np.flatnonzero(valid & (lengths == 4))
    if len(four):  # the JSON null is missing; the text "null" given as a str is not
        text = np.frombuffer(data, dtype=np.uint8)
        at = offsets[four]
        null = (text[at] == 110) & (text[at + 1] == 117) & (text[at + 2] == 108) & (text[at + 3] == 108)
        valid[four[null if raw is None else null & raw[four]]] = False
    bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.LargeStringArray.from_buffers(len(values), pa.py_buffer(offsets), pa.py_buffer(data), bitmap)


def _append_items(cols: Columns, items: Iterable[object], notes: Notes) -> tuple[int, int]:
    """Append records one by one (the tolerant path). Returns (records read, rejected)."""
    read = rejected = 0
    for index, item in enumerate(items):
        read += 1
        try:
            row = _row(item, index, notes)
        except RecursionError:
            notes.add("record nested too deeply to read (rejected)", index)
            row = None
        if row is None:
            rejected += 1
            continue
        for name, value in row.items():
            cols[name].append(value)
    return read, rejected


def _row(item: object, index: int, notes: Notes) -> dict[str, object] | None:
    if item is _REJECT:
        return None
    if isinstance(item, msgspec.Raw):
        return _row_from_raw(item, index, notes)
    if not isinstance(item, dict):
        notes.add("record is not a JSON object (rejected)", index, _short(item))
        return None
    texts = {name: _json_text(item.get(name), index, notes) for name in JSON_COLUMNS}
    return _lenient_row(item, texts, index, notes)


def _row_from_raw(raw: msgspec.Raw, index: int, notes: Notes) -> dict[str, object] | None:
    try:
        record = _RECORD_DECODER.decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError):
        pass
    else:
        single = Columns()
        _append_structs(single, [record], index)
        return {name: values[0] for name, values in single.lists.items()}
    try:
        fields = _FIELDS_DECODER.decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError):
        try:
            example = _short(_ANY_DECODER.decode(raw))
        except msgspec.DecodeError:
            example = bytes(raw)[:80].decode("utf-8", "replace")
        notes.add("record is not a JSON object (rejected)", index, example)
        return None
    texts = {name: fields.get(name) for name in JSON_COLUMNS}
    plain = {k: _ANY_DECODER.decode(v) for k, v in fields.items() if k not in JSON_COLUMNS}
    return _lenient_row(plain, texts, index, notes)


def _lenient_row(record: dict[str, object], texts: dict[str, str | None], index: int, notes: Notes) -> dict[str, object]:
    row: dict[str, object] = {name: _as_text(record.get(name), name, index, notes) for name in _TOP_STRINGS}
    for name in BOOLEAN_COLUMNS:
        row[name] = _as_bool(record.get(name), name, index, notes)
    identity = record.get("userIdentity")
    if identity is not None and not isinstance(identity, dict):
        notes.add("userIdentity is not an object (identity columns left empty)", index, _short(identity))
        identity = None
    for name, path in _IDENTITY_STRINGS:
        row[name] = _as_text(_walk_dict(identity, path, name, index, notes), name, index, notes)
    row.update(texts)
    row["record_index"] = index
    return row


def _walk_dict(obj: object, path: tuple[str, ...], name: str, index: int, notes: Notes) -> object:
    for key in path:
        if obj is None:
            return None
        if not isinstance(obj, dict):
            notes.add("nested field is not an object (left empty)", index, name)
            return None
        obj = obj.get(key)
    return obj


def _as_text(value: object, name: str, index: int, notes: Notes) -> str | None:
    if value is None or isinstance(value, str):
        return None if value is None else _clean(value, index, notes)
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (int, float)):
        text = repr(value)
    else:
        text = _clean(json.dumps(value, ensure_ascii=False, separators=(",", ":")), index, notes)
    notes.add("field of unexpected type converted to text", index, f"{name}={text[:80]}")
    return text


def _as_bool(value: object, name: str, index: int, notes: Notes) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        notes.add("boolean given as text (converted)", index, f"{name}={value!r}")
        return value.strip().lower() == "true"
    notes.add("boolean field has an unexpected value (left empty)", index, f"{name}={_short(value)}")
    return None


def _json_text(value: object, index: int, notes: Notes) -> str | None:
    if value is None:
        return None
    return _clean(json.dumps(value, ensure_ascii=False, separators=(",", ":")), index, notes)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _clean(text: str, index: int, notes: Notes) -> str:
    """Make a string valid UTF-8: lone surrogates become visible ``\\udXXX`` text."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        notes.add("lone surrogate escape kept as \\uXXXX text", index, text[:80].encode("unicode_escape").decode())
        return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return text


def _short(value: object) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text[:120]
