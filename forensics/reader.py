"""Read CloudTrail files into a prepared Arrow table: the unit of work of a load.

:func:`read_batch` takes a list of files and returns one Arrow table (plus what happened
to each file). It is self-contained so that it can run in a worker process: workers
return Arrow, which crosses process boundaries as buffers, not as Python objects. The
table is *prepared*: ``eventTime`` parsed, ``actor`` derived, low-cardinality columns
dictionary-encoded. That is also the form the Parquet cache stores. Clean files come
prepared from the C decoder's builder (:mod:`forensics.ctbuilder`); the rest are decoded
by :mod:`forensics.records` and prepared here by :func:`prepare`.

Column ``_file`` of the table indexes the global list of files of the load.
"""

from __future__ import annotations

import gc
import hashlib
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from isal import isal_zlib

from forensics import ctbuilder, schema
from forensics.loadreport import FILE_COLUMNS
from forensics.records import RECORD_COLUMNS, STRICT_SCHEMA, Columns, Decoded, Notes, decode, text_array

#: A file that inflates beyond this is refused (real log objects are at most 50 MB compressed).
MAX_INFLATED_BYTES = 1 << 30
#: Rows gathered in Python lists before they are converted to Arrow (bounds peak memory).
CHUNK_ROWS = 50_000
#: Events earlier than this are flagged as implausible (CloudTrail launched in November 2013).
EARLIEST_PLAUSIBLE = pd.Timestamp("2013-11-01", tz="UTC")

UTC_US = pa.timestamp("us", "UTC")
_ISO_WITH_ZONE = r"^\s*\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d([.,]\d+)?)?\s*(Z|[+-]\d\d:?\d\d)\s*$"
_ACTOR_SOURCES = ("userIdentity.arn", "userIdentity.invokedBy", "userIdentity.principalId", "userIdentity.accountId")
_CATEGORIES = frozenset(c.name for c in schema.EVENT_COLUMNS if c.dtype == schema.CATEGORY)


#: Arrow schema of a prepared table (what the cache stores): the record columns, then ``_file`` and ``actor``.
#: Prepared tables narrow the indices of their dictionaries (:func:`narrowed`); this says int32.
TABLE_SCHEMA = pa.schema(
    [(name, ctbuilder.arrow_type(schema.DTYPES[name])) for name in RECORD_COLUMNS]
    + [("_file", pa.int32()), ("actor", ctbuilder.arrow_type(schema.CATEGORY))]
)


@dataclass(frozen=True)
class FileRef:
    """A file to read: its number in the load, its path, and its name relative to the source."""

    number: int
    path: str
    rel: str


@dataclass(frozen=True)
class FileOutcome:
    """What happened to one file; one row of the load report's file table."""

    path: str
    kind: str
    status: str
    reason: str
    records: int = 0
    rejected: int = 0
    size: int | None = None
    sha256: str | None = None

    def row(self) -> dict[str, object]:
        """The outcome as a report row (``size`` is reported as ``bytes``)."""
        values = (self.path, self.kind, self.status, self.reason, self.records, self.rejected, self.size, self.sha256)
        return dict(zip(FILE_COLUMNS, values))

    def to_dict(self) -> dict[str, object]:
        """Plain form for the cache manifest."""
        return asdict(self)


@dataclass
class Batch:
    """Prepared tables and the outcomes and record issues of the files they came from.

    The tables have the columns of :data:`TABLE_SCHEMA`; the index types of their
    dictionaries may differ (:func:`narrowed`), so they are not concatenated but given to
    :func:`forensics.cloudtrail.canonical` as they are.
    """

    tables: list[pa.Table]
    outcomes: list[FileOutcome] = field(default_factory=list)
    issues: list[dict[str, object]] = field(default_factory=list)


def read_batch(files: list[FileRef]) -> Batch:
    """Read, decode and prepare local ``files``; never raises for a bad file (it is reported)."""
    return _batch((ref.number, ref.path, ref.rel, *read_file(ref.path)) for ref in files)


def decode_blobs(blobs: list[tuple[int, str, bytes]]) -> Batch:
    """Decode and prepare objects already in memory: (number, location, bytes) each.

    For sources that fetch bytes themselves (S3, acquisition). The location (an S3 URI)
    is what the report and the ``source_file`` column show; its name decides whether a
    ``.gz`` suffix was expected.
    """
    return _batch((number, location, location, data, "") for number, location, data in blobs)


def read_file(path: str) -> tuple[bytes | None, str]:
    """The bytes of the file at ``path``, or ``None`` and why it cannot be read."""
    try:
        with open(path, "rb") as handle:
            return handle.read(), ""
    except OSError as exc:
        return None, f"cannot read: {exc.strerror or exc}"


def _batch(items: Iterable[tuple[int, str, str, bytes | None, str]]) -> Batch:
    # Decoding allocates millions of small objects and no reference cycles: the cyclic
    # garbage collector would only rescan them over and over.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _batch_without_gc(items)
    finally:
        if enabled:
            gc.enable()


def _batch_without_gc(items: Iterable[tuple[int, str, str, bytes | None, str]]) -> Batch:
    """Decode (number, location, name, bytes or None, why not) items into one prepared table.

    Clean files go to the C decoder's builder, which makes the prepared columns directly,
    one dictionary per column for the whole batch; the others are decoded by
    :func:`forensics.records.decode` and prepared here, :data:`CHUNK_ROWS` rows at a time
    so that their Python values can go.
    """
    builder = ctbuilder.builder()
    built: list[tuple[int, int]] = []  # (file number, rows) of the files in the builder, in order
    chunks: list[pa.Table] = []
    pending = Columns()  # rows of the msgspec path, as Python values
    pending_files: list[int] = []
    outcomes: list[FileOutcome] = []
    issues: list[dict[str, object]] = []
    paths: dict[int, str] = {}

    def flush() -> None:  # prepare the pending rows at once, so that their Python values can go
        table, time_issues = prepare(_to_arrow(pending, pending_files), paths)
        chunks.append(table)
        issues.extend(time_issues)
        pending.clear()
        pending_files.clear()

    for number, location, name, data, unreadable in items:
        paths[number] = location
        if data is None:
            outcomes.append(FileOutcome(location, "log", "failed", unreadable))
            continue
        before = builder.rows if builder is not None else 0
        decoded, size, digest = decode_blob(data, name, builder)
        del data
        outcomes.append(_outcome(location, decoded, size, digest))
        issues.extend(decoded.notes.rows(location))
        if builder is not None and builder.rows > before:
            built.append((number, builder.rows - before))
        pending.extend(decoded.columns)
        pending_files.extend([number] * len(decoded.columns))
        if len(pending) >= CHUNK_ROWS:
            flush()
    if builder is not None and built:
        table, time_issues = _built_table(builder, built, paths)
        chunks.append(table)
        issues.extend(time_issues)
    if len(pending) or not chunks:
        flush()
    return Batch(chunks, outcomes, issues)


def _built_table(
    builder: ctbuilder.TableBuilder, built: list[tuple[int, int]], paths: dict[int, str]
) -> tuple[pa.Table, list[dict[str, object]]]:
    """The builder's columns as a prepared table (``record_index`` and ``_file`` added), and its time issues."""
    columns = builder.finish()
    numbers, counts = (np.asarray(values, dtype=np.int64) for values in zip(*built))
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    arrays = {
        "record_index": pa.array((np.arange(len(starts)) - starts).astype(np.int32)),
        "_file": pa.array(np.repeat(numbers.astype(np.int32), counts)),
    }
    table = pa.table({name: columns[name] if name in columns.column_names else arrays[name] for name in TABLE_SCHEMA.names})
    issues: list[dict[str, object]] = []
    times = table["eventTime"]
    for issue, positions in _implausible(times.to_numpy().astype("datetime64[us]")).items():
        texts = pc.strftime(times.take(positions), format="%Y-%m-%dT%H:%M:%SZ")  # what the file said (canonical form)
        issues.extend(_issue_rows(table, positions, texts, issue, paths))
    return table, issues


def decode_blob(data: bytes, name: str, builder: ctbuilder.TableBuilder | None = None) -> tuple[Decoded, int, str]:
    """Decode the bytes of one file or object. Returns the decoded content, its size and its SHA-256.

    With a ``builder``, a clean file's rows go into it (the decoded columns are then empty).
    """
    digest = hashlib.sha256(data).hexdigest()
    if not data:
        return Decoded(Columns(), "failed", "empty file (0 bytes)", 0, 0, Notes()), 0, digest
    notes = Notes()
    inflated, damaged = inflate(data, name, notes)
    if inflated is None:
        return Decoded(Columns(), "failed", damaged, 0, 0, notes), len(data), digest
    rows = builder.add(inflated) if builder is not None and not damaged else None
    if rows is not None:
        return Decoded(Columns(), "loaded", "", rows, 0, notes), len(data), digest
    decoded = decode(inflated, damaged=damaged)
    notes.merge(decoded.notes)
    decoded.notes = notes
    return decoded, len(data), digest


def inflate(data: bytes, name: str, notes: Notes) -> tuple[bytes | None, str]:
    """Gunzip if the bytes are gzip (by magic number, not by name).

    Returns the inflated bytes and a non-empty reason when they are cut short; ``None``
    instead of bytes when nothing can be read. Only the first gzip member is read:
    CloudTrail hashes and signs that one, so anything after it is noted as suspect.
    """
    gz_name = name.lower().endswith(".gz")
    if data[:2] != b"\x1f\x8b":
        if gz_name:
            notes.add("not gzip despite the .gz name (read as plain text)")
        return data, ""
    if not gz_name:
        notes.add("gzip content in a file not named .gz (inflated)")
    inflater = isal_zlib.decompressobj(31)
    try:
        out = inflater.decompress(data, MAX_INFLATED_BYTES)
    except isal_zlib.error as exc:
        return None, f"corrupt gzip ({exc})"
    if inflater.unconsumed_tail:
        return None, f"inflates to more than {MAX_INFLATED_BYTES >> 20} MiB (refused as a possible gzip bomb)"
    if not inflater.eof:
        return out, "truncated gzip (the stream ends before its end marker)"
    if inflater.unused_data:
        notes.add(
            "data after the first gzip member ignored (CloudTrail signs only the first; possible tampering)",
            None,
            f"{len(inflater.unused_data)} bytes",
        )
    return out, ""


def _outcome(path: str, decoded: Decoded, size: int | None, digest: str | None) -> FileOutcome:
    status, reason = decoded.status, decoded.reason
    if status == "loaded" and decoded.notes.counts:
        status, reason = "recovered", next(iter(decoded.notes.counts))
    kind = "digest" if status == "skipped" else "log"
    kept = decoded.records_read - decoded.rejected
    return FileOutcome(path, kind, status, reason, kept, decoded.rejected, size, digest)


def _to_arrow(cols: Columns, files: list[int]) -> pa.Table:
    """The Arrow table of rows decoded by the msgspec path (``records.STRICT_SCHEMA`` types), plus ``_file``."""
    arrays: dict[str, pa.Array] = {}
    for name in RECORD_COLUMNS:
        if name in schema.JSON_COLUMNS:
            arrays[name] = text_array(cols[name])
        else:
            arrays[name] = pa.array(cols[name], STRICT_SCHEMA.field(name).type)
    arrays["_file"] = pa.array(np.asarray(files, dtype=np.int32), pa.int32())
    return pa.table(arrays)


# ------------------------------------------------------------------------------ prepare


def prepare(table: pa.Table, paths: dict[int, str]) -> tuple[pa.Table, list[dict[str, object]]]:
    """Parse times, derive ``actor`` and dictionary-encode; returns the table and time issues."""
    raw = table["eventTime"]
    times, flagged = parse_times(raw)
    issues: list[dict[str, object]] = []
    for issue, positions in flagged.items():
        issues.extend(_issue_rows(table, positions, raw.take(positions), issue, paths))
    actor = pc.coalesce(*(_blank_to_null(table[name]) for name in _ACTOR_SOURCES), pa.scalar("unknown"))
    columns: dict[str, pa.ChunkedArray] = {}
    for name in table.column_names:
        column = times if name == "eventTime" else table[name]
        columns[name] = column.cast(pa.string()).dictionary_encode() if name in _CATEGORIES else column
    columns["actor"] = actor.dictionary_encode()
    return narrowed(pa.table(columns).cast(TABLE_SCHEMA)), issues


def conformed(table: pa.Table) -> pa.Table:
    """``table`` cast to :data:`TABLE_SCHEMA`, but for the index types of its dictionaries, which stay.

    Raises the errors of :meth:`pyarrow.Table.cast` when a column is missing or cannot be cast.
    """
    names = set(table.column_names)

    def kept(wanted: pa.Field) -> pa.Field:
        kind = table.schema.field(wanted.name).type if wanted.name in names else None
        same = kind is not None and pa.types.is_dictionary(wanted.type) and pa.types.is_dictionary(kind)
        return pa.field(wanted.name, kind) if same and kind.value_type == wanted.type.value_type else wanted

    target = [kept(wanted) for wanted in TABLE_SCHEMA]
    return table.cast(pa.schema(target))


def narrowed(table: pa.Table) -> pa.Table:
    """``table`` with the indices of each dictionary column narrowed to :func:`ctbuilder.index_type` of its size."""
    for number, kind in enumerate(table.schema.types):
        if pa.types.is_dictionary(kind):
            column = table.column(number)
            size = max((len(chunk.dictionary) for chunk in column.chunks), default=0)
            narrow = pa.dictionary(ctbuilder.index_type(size), kind.value_type)
            if narrow != kind:
                table = table.set_column(number, table.field(number).name, column.cast(narrow))
    return table


def parse_times(raw: pa.ChunkedArray) -> tuple[pa.ChunkedArray, dict[str, np.ndarray]]:
    """Parse ``eventTime``: CloudTrail's own form fast, any other ISO 8601 with a zone via pandas.

    Returns the UTC timestamps and, for each kind of oddity, the positions concerned.
    """
    fast = pc.strptime(raw, format="%Y-%m-%dT%H:%M:%SZ", unit="s", error_is_null=True)
    # Arrow's strptime rolls impossible dates over (Feb 30 -> Mar 1, :60 -> next minute):
    # send those to the strict path by checking that day and second read back unchanged.
    day = pc.cast(pc.utf8_slice_codeunits(raw, 8, 10), pa.int64(), safe=False)
    second = pc.cast(pc.utf8_slice_codeunits(raw, 17, 19), pa.int64(), safe=False)
    exact = pc.and_(pc.equal(pc.day(fast), day), pc.equal(pc.second(fast), second))
    fast = pc.cast(pc.if_else(pc.fill_null(exact, False), fast, pa.scalar(None, fast.type)), UTC_US)
    values = fast.to_numpy(zero_copy_only=False).astype("datetime64[us]")
    flagged: dict[str, np.ndarray] = {}
    slow = np.flatnonzero(pc.and_(pc.is_null(fast), pc.is_valid(raw)).to_numpy(zero_copy_only=False))
    if len(slow):
        texts = pd.Series(raw.take(slow).to_pylist(), dtype=object)
        zoned = texts.str.match(_ISO_WITH_ZONE, na=False).to_numpy()
        cleaned = texts.where(zoned).str.replace(",", ".", regex=False)
        parsed = pd.to_datetime(cleaned, format="ISO8601", utc=True, errors="coerce")
        values[slow] = parsed.dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
        good = parsed.notna().to_numpy()
        utc = texts.str.contains(r"Z\s*$", na=False).to_numpy()
        flagged["eventTime has no time zone or is not ISO 8601 (left empty)"] = slow[~zoned]
        flagged["eventTime is not a valid time (left empty)"] = slow[zoned & ~good]
        flagged["eventTime with a UTC offset (converted to UTC)"] = slow[good & ~utc]
    flagged["eventTime missing (kept with an empty time)"] = np.flatnonzero(raw.is_null().to_numpy(zero_copy_only=False))
    flagged.update(_implausible(values))
    times = pa.chunked_array([pa.array(values, type=pa.timestamp("us"), from_pandas=True).cast(UTC_US)])
    return times, {issue: pos for issue, pos in flagged.items() if len(pos)}


def _implausible(values: np.ndarray) -> dict[str, np.ndarray]:
    """Positions of the times (``datetime64[us]``, UTC) before CloudTrail existed or over a day ahead."""
    latest = (pd.Timestamp.now(tz="UTC") + pd.Timedelta(days=1)).tz_localize(None).to_datetime64()
    earliest = EARLIEST_PLAUSIBLE.tz_localize(None).to_datetime64()
    odd = np.flatnonzero(~np.isnat(values) & ((values < earliest) | (values > latest)))
    return {"eventTime implausible: before CloudTrail existed or in the future (kept)": odd} if len(odd) else {}


def _issue_rows(
    table: pa.Table, positions: np.ndarray, texts: pa.Array | pa.ChunkedArray, issue: str, paths: dict[int, str]
) -> list[dict[str, object]]:
    """Report rows for one kind of record issue (rows at ``positions``, saying ``texts``), one row per file concerned."""
    frame = pd.DataFrame({
        "file": table["_file"].take(positions).to_numpy(),
        "record": table["record_index"].take(positions).to_numpy(),
        "text": texts.to_pylist(),
    })  # fmt: skip
    return [
        {
            "path": paths[int(file)],
            "issue": issue,
            "count": len(group),
            "first_record": int(group["record"].min()),
            "example": "" if group["text"].iloc[0] is None else str(group["text"].iloc[0])[:200],
        }
        for file, group in frame.groupby("file", sort=True)
    ]


def _blank_to_null(column: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.if_else(pc.equal(column, ""), pa.scalar(None, pa.string()), column)


def file_size(path: str) -> int | None:
    """Size of ``path`` without following a symbolic link; ``None`` if it cannot be read."""
    try:
        return os.stat(path, follow_symlinks=False).st_size
    except OSError:
        return None
