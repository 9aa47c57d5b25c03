"""Load CloudTrail records from local files into the events frame, tolerant and never silent.

>>> from forensics import load_cloudtrail
>>> result = load_cloudtrail("evidence/", start="2024-03-14T02:00:00Z", end="2024-03-14T05:00:00Z")
>>> result.events.groupby("actor").size()          # doctest: +SKIP
>>> print(result.report)                           # doctest: +SKIP

``source`` is a file or a folder: the S3 delivery layout (``AWSLogs/...``) as ``aws s3
sync`` leaves it, plain ``{"Records": [...]}`` files, JSON Lines, or ``aws cloudtrail
lookup-events`` output. Files are pruned by the delivery time in their path before they
are opened, decoded by :mod:`forensics.records`, merged, de-duplicated on ``eventID`` and
sorted. Everything odd is counted in the :class:`~forensics.loadreport.LoadReport`.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from isal import isal_zlib
from tqdm.auto import tqdm

from forensics import layout, schema
from forensics.errors import SourceError
from forensics.loadreport import DUPLICATE_COLUMNS, FILE_COLUMNS, ISSUE_COLUMNS, LoadReport
from forensics.records import RECORD_COLUMNS, Columns, Decoded, Notes, decode
from forensics.window import TimeLike, parse_bounds

#: Default margin past the window end within which a file's delivery time may lie.
DELIVERY_MARGIN = pd.Timedelta(hours=1)
#: A file that inflates beyond this is refused (real log objects are at most 50 MB compressed).
MAX_INFLATED_BYTES = 1 << 30
#: Rows gathered in Python lists before they are converted to Arrow (bounds peak memory).
CHUNK_ROWS = 250_000
#: Events earlier than this are flagged as implausible (CloudTrail launched in November 2013).
EARLIEST_PLAUSIBLE = pd.Timestamp("2013-11-01", tz="UTC")
#: Show a progress bar (when ``progress=None``) for loads of at least this many files.
PROGRESS_MIN_FILES = 200


@dataclass(frozen=True)
class LoadResult:
    """The events frame and the report of how it was made.

    Unpacks as a pair: ``events, report = load_cloudtrail(...)``.
    """

    events: pd.DataFrame
    report: LoadReport

    def __iter__(self) -> Iterator[object]:
        return iter((self.events, self.report))


@dataclass(frozen=True)
class _FileOutcome:
    """One row of the report's file table."""

    path: str
    kind: str
    status: str
    reason: str
    records: int = 0
    rejected: int = 0
    size: int | None = None
    sha256: str | None = None

    def row(self) -> dict[str, object]:
        values = (self.path, self.kind, self.status, self.reason, self.records, self.rejected, self.size, self.sha256)
        return dict(zip(FILE_COLUMNS, values))


def load_cloudtrail(
    source: str | os.PathLike[str],
    *,
    start: TimeLike | None = None,
    end: TimeLike | None = None,
    delivery_margin: str | pd.Timedelta = DELIVERY_MARGIN,
    progress: bool | None = None,
) -> LoadResult:
    """Load CloudTrail records into the events frame.

    Parameters
    ----------
    source
        A file or a folder (searched recursively; symbolic links are not followed).
    start, end
        Keep only events in this window (inclusive; ISO 8601 strings with a zone or aware
        datetimes). Files whose delivery time cannot hold such events are not opened.
        Records without a usable ``eventTime`` are kept whatever the window, and flagged.
    delivery_margin
        How long after ``end`` a file may have been delivered and still hold events of
        the window. CloudTrail usually delivers within about 5 minutes but guarantees
        nothing; widen this if the report shows late events (``addendum``).
    progress
        Show a progress bar; ``None`` shows one for large loads.

    Returns
    -------
    LoadResult
        ``.events`` follows :mod:`forensics.schema`; ``.report`` says what was read,
        repaired, skipped and dropped.

    Raises
    ------
    SourceError
        If ``source`` does not exist or is an S3 URI (not supported by this loader).
    WindowError
        If ``start``/``end`` are naive, invalid or reversed.
    """
    lo, hi = parse_bounds(start, end)
    margin = pd.Timedelta(delivery_margin)
    text = os.fspath(source)
    if text.startswith("s3://"):
        raise SourceError("S3 URIs are not read by the local loader; copy the objects with `aws s3 sync` first", text)
    root = Path(text)
    if not root.exists():
        raise SourceError("no such file or folder", text)

    outcomes: list[_FileOutcome] = []
    to_read: list[tuple[str, str]] = []
    for path, rel in _walk(root):
        info = layout.describe(rel)
        if os.path.islink(path) and path != os.fspath(root):
            outcomes.append(_FileOutcome(path, info.kind, "ignored", "symbolic link not followed"))
        elif info.kind in ("digest", "insight"):
            what = "digest file (checked by forensics.validate_trail)" if info.kind == "digest" else "CloudTrail Insights file"
            outcomes.append(_FileOutcome(path, info.kind, "skipped", what, size=_size(path)))
        elif info.kind == "other":
            outcomes.append(_FileOutcome(path, "other", "ignored", "not a CloudTrail file name", size=_size(path)))
        elif not layout.may_hold(info, lo, hi, margin):
            outcomes.append(_FileOutcome(path, "log", "pruned", "delivered outside the window", size=_size(path)))
        else:
            to_read.append((path, rel))

    show = progress if progress is not None else len(to_read) >= PROGRESS_MIN_FILES
    table, read_outcomes, issue_rows = _read_files(to_read, show)
    outcomes.extend(read_outcomes)
    outcomes.sort(key=lambda o: o.path)
    paths = [path for path, _ in to_read]
    return _assemble(text, table, paths, outcomes, issue_rows, lo, hi, margin)


# ----------------------------------------------------------------------------- discovery


def _walk(root: Path) -> Iterator[tuple[str, str]]:
    """Yield (path, path relative to root with '/' separators) for every file, sorted."""
    if root.is_file():
        yield os.fspath(root), root.name
        return
    found: list[tuple[str, str]] = []
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs.sort()
        for name in files:
            path = os.path.join(folder, name)
            found.append((path, os.path.relpath(path, root).replace(os.sep, "/")))
    yield from sorted(found)


def _size(path: str) -> int | None:
    try:
        return os.stat(path, follow_symlinks=False).st_size
    except OSError:
        return None


# ------------------------------------------------------------------------------ reading


def _read_files(
    files: list[tuple[str, str]], show_progress: bool
) -> tuple[pa.Table, list[_FileOutcome], list[dict[str, object]]]:
    """Read and decode files into one Arrow table; column ``_file`` indexes ``files``."""
    chunks: list[pa.Table] = []
    pending = Columns()
    pending_files: list[int] = []
    outcomes: list[_FileOutcome] = []
    issues: list[dict[str, object]] = []
    for number, (path, rel) in enumerate(tqdm(files, desc="CloudTrail files", unit="file", disable=not show_progress)):
        decoded, size, digest = _read_one(path, rel)
        outcomes.append(_outcome(path, decoded, size, digest))
        issues.extend(decoded.notes.rows(path))
        pending.extend(decoded.columns)
        pending_files.extend([number] * len(decoded.columns))
        if len(pending) >= CHUNK_ROWS:
            chunks.append(_to_arrow(pending, pending_files))
            pending, pending_files = Columns(), []
    chunks.append(_to_arrow(pending, pending_files))
    return pa.concat_tables(chunks), outcomes, issues


def _read_one(path: str, rel: str) -> tuple[Decoded, int | None, str | None]:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        return Decoded(Columns(), "failed", f"cannot read: {exc.strerror or exc}", 0, 0, Notes()), _size(path), None
    digest = hashlib.sha256(data).hexdigest()
    if not data:
        return Decoded(Columns(), "failed", "empty file (0 bytes)", 0, 0, Notes()), 0, digest
    notes = Notes()
    inflated, damaged = _inflate(data, rel, notes)
    if inflated is None:
        return Decoded(Columns(), "failed", damaged, 0, 0, notes), len(data), digest
    decoded = decode(inflated, damaged=damaged)
    for issue, count in decoded.notes.counts.items():
        for _ in range(count):
            notes.add(issue, decoded.notes.first[issue], decoded.notes.example[issue])
    decoded.notes = notes
    return decoded, len(data), digest


def _inflate(data: bytes, name: str, notes: Notes) -> tuple[bytes | None, str]:
    """Gunzip if the bytes are gzip (by magic number, not by name).

    Returns the inflated bytes and a non-empty reason when they are cut short; ``None``
    instead of bytes when nothing can be read.
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


def _outcome(path: str, decoded: Decoded, size: int | None, digest: str | None) -> _FileOutcome:
    status, reason = decoded.status, decoded.reason
    if status == "loaded" and decoded.notes.counts:
        status, reason = "recovered", next(iter(decoded.notes.counts))
    kind = "digest" if status == "skipped" else "log"
    kept = decoded.records_read - decoded.rejected
    return _FileOutcome(path, kind, status, reason, kept, decoded.rejected, size, digest)


def _to_arrow(cols: Columns, files: list[int]) -> pa.Table:
    arrays: dict[str, pa.Array] = {}
    for name in RECORD_COLUMNS:
        if name in schema.BOOLEAN_COLUMNS:
            arrays[name] = pa.array(cols[name], pa.bool_())
        elif name == "record_index":
            arrays[name] = pa.array(cols[name], pa.int32())
        else:
            arrays[name] = pa.array(cols[name], pa.string())
    arrays["_file"] = pa.array(np.asarray(files, dtype=np.int32), pa.int32())
    return pa.table(arrays)


# ------------------------------------------------------------------------------ assembly


def _assemble(
    source: str,
    table: pa.Table,
    paths: list[str],
    outcomes: list[_FileOutcome],
    issue_rows: list[dict[str, object]],
    lo: pd.Timestamp | None,
    hi: pd.Timestamp | None,
    margin: pd.Timedelta,
) -> LoadResult:
    rejected = sum(o.rejected for o in outcomes)
    records_read = sum(o.records for o in outcomes) + rejected
    times, flagged = _parse_times(table["eventTime"])
    for issue, positions in flagged.items():
        issue_rows.extend(_issue_rows(table, positions, issue, paths))
    table = table.set_column(table.schema.get_field_index("eventTime"), "eventTime", times)
    if lo is not None or hi is not None:
        table = table.filter(_in_window(times, lo, hi))
    outside = records_read - rejected - table.num_rows

    keys = [(name, "ascending", "at_end") for name in ("eventTime", "eventID", "_file", "record_index")]
    table = table.take(pc.sort_indices(table, sort_keys=keys))
    events, duplicates = _deduplicate(_to_frame(table, paths))
    report = LoadReport(
        source=source,
        start=lo,
        end=hi,
        delivery_margin=margin,
        files=pd.DataFrame([o.row() for o in outcomes], columns=list(FILE_COLUMNS)),
        issues=pd.DataFrame(issue_rows, columns=list(ISSUE_COLUMNS)).astype({"count": "int64", "first_record": "Int64"}),
        duplicates=duplicates,
        records_read=records_read,
        records_rejected=rejected,
        duplicates_dropped=int(duplicates["copies"].sum()) - len(duplicates),
        outside_window=outside,
        events=len(events),
    )
    return LoadResult(schema.validate(events), report)


_UTC_US = pa.timestamp("us", "UTC")
_ISO_WITH_ZONE = r"^\s*\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d([.,]\d+)?)?\s*(Z|[+-]\d\d:?\d\d)\s*$"


def _parse_times(raw: pa.ChunkedArray) -> tuple[pa.Array, dict[str, np.ndarray]]:
    """Parse ``eventTime``: CloudTrail's own form fast, any other ISO 8601 with a zone via pandas.

    Returns the UTC timestamps and, for each kind of oddity, the positions concerned.
    """
    fast = pc.strptime(raw, format="%Y-%m-%dT%H:%M:%SZ", unit="s", error_is_null=True)
    # Arrow's strptime rolls impossible dates over (Feb 30 -> Mar 1, :60 -> next minute):
    # send those to the strict path by checking that day and second read back unchanged.
    day = pc.cast(pc.utf8_slice_codeunits(raw, 8, 10), pa.int64(), safe=False)
    second = pc.cast(pc.utf8_slice_codeunits(raw, 17, 19), pa.int64(), safe=False)
    exact = pc.and_(pc.equal(pc.day(fast), day), pc.equal(pc.second(fast), second))
    fast = pc.cast(pc.if_else(pc.fill_null(exact, False), fast, pa.scalar(None, fast.type)), _UTC_US)
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
    known = ~np.isnat(values)
    latest = (pd.Timestamp.now(tz="UTC") + pd.Timedelta(days=1)).tz_localize(None).to_datetime64()
    earliest = EARLIEST_PLAUSIBLE.tz_localize(None).to_datetime64()
    odd = known & ((values < earliest) | (values > latest))
    flagged["eventTime implausible: before CloudTrail existed or in the future (kept)"] = np.flatnonzero(odd)
    times = pa.array(values, type=pa.timestamp("us"), from_pandas=True).cast(_UTC_US)
    return times, {issue: pos for issue, pos in flagged.items() if len(pos)}


def _in_window(times: pa.Array, lo: pd.Timestamp | None, hi: pd.Timestamp | None) -> pa.Array:
    """Rows inside [lo, hi]; rows without a time are kept (and flagged elsewhere)."""
    inside = pa.array(np.ones(len(times), dtype=bool))
    if lo is not None:
        inside = pc.and_(inside, pc.greater_equal(times, pa.scalar(lo, _UTC_US)))
    if hi is not None:
        inside = pc.and_(inside, pc.less_equal(times, pa.scalar(hi, _UTC_US)))
    return pc.or_(pc.fill_null(inside, False), pc.is_null(times))


def _issue_rows(table: pa.Table, positions: np.ndarray, issue: str, paths: list[str]) -> list[dict[str, object]]:
    """Report rows for one kind of record issue, one row per file concerned."""
    frame = pd.DataFrame({
        "file": table["_file"].take(positions).to_numpy(),
        "record": table["record_index"].take(positions).to_numpy(),
        "text": table["eventTime"].take(positions).to_pylist(),
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


def _to_frame(table: pa.Table, paths: list[str]) -> pd.DataFrame:
    """Convert the sorted Arrow table to the events frame with the schema's dtypes."""
    actor = pc.coalesce(*(
        _blank_to_null(table[name])
        for name in ("userIdentity.arn", "userIdentity.invokedBy", "userIdentity.principalId", "userIdentity.accountId")
    ), pa.scalar("unknown"))  # fmt: skip
    columns: dict[str, object] = {}
    for col in schema.EVENT_COLUMNS:
        if col.name == "actor":
            columns["actor"] = actor.dictionary_encode().to_pandas()
        elif col.name == "source_file":
            codes = table["_file"].to_numpy()
            columns["source_file"] = pd.Categorical.from_codes(codes, categories=pd.Index(paths, dtype="str"))
        elif col.name == "copies":
            columns["copies"] = np.ones(table.num_rows, dtype=np.int32)
        elif col.dtype == schema.CATEGORY:
            columns[col.name] = table[col.name].dictionary_encode().to_pandas()
        elif col.dtype == schema.TEXT:
            columns[col.name] = table[col.name].to_pandas(types_mapper=_str_mapper)
        elif col.dtype == schema.BOOLEAN:
            columns[col.name] = table[col.name].to_pandas(types_mapper=_bool_mapper)
        else:
            columns[col.name] = table[col.name].to_pandas()
    frame = pd.DataFrame(columns)
    return frame.astype({name: dtype for name, dtype in schema.DTYPES.items() if dtype != schema.CATEGORY})


def _blank_to_null(column: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.if_else(pc.equal(column, ""), pa.scalar(None, pa.string()), column)


def _str_mapper(dtype: pa.DataType) -> pd.api.extensions.ExtensionDtype | None:
    return pd.StringDtype("pyarrow", na_value=np.nan) if dtype == pa.string() else None


def _bool_mapper(dtype: pa.DataType) -> pd.api.extensions.ExtensionDtype | None:
    return pd.BooleanDtype() if dtype == pa.bool_() else None


def _deduplicate(events: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Keep the first record of each ``eventID``; count the copies and where they came from."""
    ids = events["eventID"]
    repeated = ids.duplicated(keep=False) & ids.notna()
    if not repeated.any():
        empty = pd.DataFrame({c: pd.Series([], dtype=object) for c in DUPLICATE_COLUMNS})
        return events, empty.astype({"copies": "int64"})
    groups = events.loc[repeated, ["eventID", "source_file"]].astype({"source_file": "str"}).groupby("eventID", sort=True)
    duplicates = pd.DataFrame({
        "eventID": list(groups.groups),
        "copies": groups.size().to_numpy(),
        "files": groups["source_file"].agg(lambda s: sorted(set(s))).to_numpy(),
    })  # fmt: skip
    counts = ids.map(ids[repeated].value_counts()).fillna(1).astype("int32")
    events = events.assign(copies=counts)
    keep = ~(ids.duplicated(keep="first") & ids.notna())
    return events.loc[keep].reset_index(drop=True), duplicates
