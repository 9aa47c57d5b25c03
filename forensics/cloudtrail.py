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

import contextlib
import multiprocessing
import os
import threading
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from tqdm import tqdm

from forensics import ctbuilder, layout, schema
from forensics.cache import EventCache, FileStamp
from forensics.errors import SourceError
from forensics.loadreport import DUPLICATE_COLUMNS, FILE_COLUMNS, GAP_COLUMNS, ISSUE_COLUMNS, LoadReport
from forensics.reader import TABLE_SCHEMA, UTC_US, Batch, FileOutcome, FileRef, file_size, read_batch
from forensics.window import TimeLike, parse_bounds

#: Default margin past the window end within which a file's delivery time may lie.
DELIVERY_MARGIN = pd.Timedelta(hours=1)
#: Below this many compressed bytes to decode, a load stays in one process (set by bench/bench_load.py).
PARALLEL_MIN_BYTES = 8 << 20
#: Chunks of files handed to each worker process (balances uneven files).
CHUNKS_PER_WORKER = 8
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


def load_cloudtrail(
    source: str | os.PathLike[str],
    *,
    start: TimeLike | None = None,
    end: TimeLike | None = None,
    delivery_margin: str | pd.Timedelta = DELIVERY_MARGIN,
    workers: int | None = None,
    cache: bool | str | os.PathLike[str] = False,
    progress: bool | None = None,
    s3_client: Any = None,
    session: Any = None,
) -> LoadResult:
    """Load CloudTrail records into the events frame.

    Parameters
    ----------
    source
        A file or a folder (searched recursively; symbolic links are not followed), or
        ``s3://bucket[/prefix]`` (the part before ``AWSLogs/``; see :mod:`forensics.s3trail`).
    start, end
        Keep only events in this window (inclusive; ISO 8601 strings with a zone or aware
        datetimes). Files whose delivery time cannot hold such events are not opened.
        Records without a usable ``eventTime`` are kept whatever the window, and flagged.
    delivery_margin
        How long after ``end`` a file may have been delivered and still hold events of
        the window. CloudTrail usually delivers within about 5 minutes but guarantees
        nothing; widen this if the report shows late events (``addendum``).
    workers
        Processes decoding files; ``None`` uses every core when the load is large enough
        to gain from it, ``1`` stays in this process.
    cache
        ``True`` keeps a Parquet copy of the decoded files in the default cache folder
        (see :mod:`forensics.cache`), a path puts it there; the next load of the same
        unchanged files reads it instead, and only changed or new files are decoded.
        Never inside the evidence folder.
    progress
        Show a progress bar; ``None`` shows one for large loads.
    s3_client, session
        For ``s3://`` sources: the boto3 S3 client, or the session to make one from
        (default: the default session, so ``AWS_PROFILE`` and ``AWS_ENDPOINT_URL`` apply).

    Returns
    -------
    LoadResult
        ``.events`` follows :mod:`forensics.schema`; ``.report`` says what was read,
        repaired, skipped and dropped.

    Raises
    ------
    SourceError
        If ``source`` does not exist, or the cache folder is inside it.
    WindowError
        If ``start``/``end`` are naive, invalid or reversed.
    """
    lo, hi = parse_bounds(start, end)
    margin = pd.Timedelta(delivery_margin)
    text = os.fspath(source)
    if text.startswith("s3://"):
        if cache is not False:
            raise SourceError("the cache is for local folders; copy the objects first with `forensics acquire`", text)
        from forensics.s3trail import load_s3  # here, not at the top: s3trail builds on this module

        return load_s3(text, start=start, end=end, delivery_margin=delivery_margin, s3_client=s3_client,
                       session=session, workers=workers, progress=progress)  # fmt: skip
    root = Path(text)
    if not root.exists():
        raise SourceError("no such file or folder", text)
    outcomes, to_read = _plan(root, lo, hi, margin)
    store = _cache_for(root, cache)
    show = progress if progress is not None else len(to_read) >= PROGRESS_MIN_FILES

    stamps = [FileStamp.of(path) for path, _ in to_read] if store else []
    cached = store.lookup(stamps) if store else None
    refs = [FileRef(n, *to_read[n]) for n in (cached.missing if cached else range(len(to_read)))]
    whole_hit = cached is not None and not refs
    decoded, notes = (Batch([]), ()) if whole_hit else _decode(refs, workers, show)
    batches = [decoded]
    if cached is not None and cached.table is not None:
        batches.insert(0, Batch([cached.table], cached.outcomes, cached.issues))
        cached.table = None
    read_outcomes = sorted((o for b in batches for o in b.outcomes), key=lambda o: o.path)
    issues = [row for b in batches for row in b.issues]
    tables = [table for b in batches for table in b.tables]
    del batches, decoded  # the tables are all that is left of the decoded chunks
    if whole_hit:  # the cache stores its table in canonical order
        table = tables.pop() if tables else TABLE_SCHEMA.empty_table()
    else:  # new rows: into canonical order, column by column
        threads = 1 if workers == 1 else os.cpu_count() or 1  # workers=1 keeps the whole load on one core
        table = canonical(tables, threads)
    distinct = cached.distinct if cached is not None and not refs else _all_distinct(table["eventID"])
    if store and refs:
        store.store(table, stamps, read_outcomes, issues, distinct)
    cache_note = _cache_note(store, cached, len(refs), len(to_read))
    outcomes = sorted(outcomes + read_outcomes, key=lambda o: o.path)
    paths = [path for path, _ in to_read]
    return assemble(text, table, paths, outcomes, issues, lo, hi, margin, cache=cache_note, notes=notes, distinct=distinct)


# ------------------------------------------------------------------------------ planning


def _plan(
    root: Path, lo: pd.Timestamp | None, hi: pd.Timestamp | None, margin: pd.Timedelta
) -> tuple[list[FileOutcome], list[tuple[str, str]]]:
    """Sort every file under ``root`` into outcomes (not read) and files to read."""
    outcomes: list[FileOutcome] = []
    to_read: list[tuple[str, str]] = []
    for path, rel in _walk(root):
        info = layout.describe(rel)
        if os.path.islink(path) and path != os.fspath(root):
            outcomes.append(FileOutcome(path, info.kind, "ignored", "symbolic link not followed"))
        elif info.kind in ("digest", "insight"):
            what = "digest file (checked by forensics.validate_trail)" if info.kind == "digest" else "CloudTrail Insights file"
            outcomes.append(FileOutcome(path, info.kind, "skipped", what, size=file_size(path)))
        elif info.kind == "other":
            outcomes.append(FileOutcome(path, "other", "ignored", "not a CloudTrail file name", size=file_size(path)))
        elif not layout.may_hold(info, lo, hi, margin):
            outcomes.append(FileOutcome(path, "log", "pruned", "delivered outside the window", size=file_size(path)))
        else:
            to_read.append((path, rel))
    return outcomes, to_read


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


def _cache_for(root: Path, cache: bool | str | os.PathLike[str]) -> EventCache | None:
    if cache is False:
        return None
    store = EventCache(os.fspath(root), None if cache is True else cache)
    evidence = root.resolve() if root.is_dir() else root.resolve().parent
    if store.folder.resolve().is_relative_to(evidence):
        raise SourceError(f"the cache folder {store.folder} is inside the evidence; choose another with cache=PATH", os.fspath(root))
    return store


def _cache_note(store: EventCache | None, cached: object, decoded: int, total: int) -> str:
    if store is None:
        return "off"
    note = getattr(cached, "note", "")
    if note:
        return note
    if decoded == 0:
        return f"hit ({total} files from {store.folder})"
    if decoded == total:
        return f"miss ({total} files decoded, stored in {store.folder})"
    return f"partial hit ({decoded} of {total} files decoded, stored in {store.folder})"


# ------------------------------------------------------------------------------ decoding


def _decode(refs: list[FileRef], workers: int | None, show_progress: bool) -> tuple[Batch, tuple[str, ...]]:
    """Decode files in this process or, for large loads, in worker processes.

    Returns the batch and notes for the report (a fallback from broken workers).
    """
    sizes = [file_size(ref.path) or 0 for ref in refs]
    count = workers if workers is not None else (os.cpu_count() or 1) if sum(sizes) >= PARALLEL_MIN_BYTES else 1
    count = max(1, min(count, len(refs)))
    # No bar object at all when quiet: tqdm starts a monitor thread, and threads decide how workers start.
    with tqdm(total=len(refs), desc="CloudTrail files", unit="file") if show_progress else _NoBar() as bar:
        if count > 1:
            try:
                return _decode_in_workers(refs, sizes, count, bar), ()
            except BrokenProcessPool as exc:
                bar.reset()
                note = (
                    f"worker processes failed ({exc}); the files were decoded in this process instead "
                    "(in a script, call load_cloudtrail under `if __name__ == \"__main__\":` to use several cores)"
                )
                notes: tuple[str, ...] = (note,)
        else:
            notes = ()
        batch = read_batch(refs)
        bar.update(len(refs))
    return batch, notes


class _NoBar(contextlib.nullcontext):  # type: ignore[type-arg]
    """Stands in for a progress bar when none is shown."""

    def __enter__(self) -> _NoBar:
        return self

    def update(self, n: int = 1) -> None:
        """Nothing to show."""

    def reset(self) -> None:
        """Nothing to show."""


def _decode_in_workers(refs: list[FileRef], sizes: list[int], count: int, bar: tqdm | _NoBar) -> Batch:
    chunks = _chunks(refs, sizes, count * CHUNKS_PER_WORKER)
    results: dict[int, Batch] = {}
    with ProcessPoolExecutor(max_workers=count, mp_context=_worker_context()) as pool:
        futures = {pool.submit(read_batch, chunk): number for number, chunk in enumerate(chunks)}
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            bar.update(len(chunks[futures[future]]))
    ordered = [results[number] for number in sorted(results)]
    return Batch(
        [table for b in ordered for table in b.tables],
        [o for b in ordered for o in b.outcomes],
        [row for b in ordered for row in b.issues],
    )


def _worker_context() -> multiprocessing.context.BaseContext:
    """How worker processes start.

    A single-threaded parent (a script) forks: fastest, nothing re-imported. A parent with
    threads (a notebook kernel) must not fork, so workers come from a fork server that has
    imported the reader once; spawning, the last resort, re-imports it in every worker.
    """
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    if "forkserver" not in methods:
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["forensics.reader"])
    return context


def _chunks(refs: list[FileRef], sizes: list[int], count: int) -> list[list[FileRef]]:
    """Split ``refs`` (of ``sizes`` bytes) into about ``count`` runs of consecutive files of similar total size."""
    total = np.cumsum(np.asarray(sizes, dtype=np.int64))
    bounds = np.searchsorted(total, np.linspace(0, total[-1] if len(total) else 0, count + 1)[1:-1], side="right")
    edges = [0, *sorted(set(int(b) for b in bounds)), len(refs)]
    return [refs[a:b] for a, b in zip(edges, edges[1:]) if b > a]


# ------------------------------------------------------------------------------ assembly


def assemble(
    source: str,
    table: pa.Table,
    paths: list[str],
    outcomes: list[FileOutcome],
    issue_rows: list[dict[str, object]],
    lo: pd.Timestamp | None,
    hi: pd.Timestamp | None,
    margin: pd.Timedelta,
    *,
    cache: str = "off",
    gaps: list[dict[str, str]] | None = None,
    notes: tuple[str, ...] = (),
    distinct: bool | None = None,
) -> LoadResult:
    """Turn a canonical table (see :func:`canonical`) into the events frame and its report.

    Every source ends here, so every source gives the same schema and the same report.

    Parameters
    ----------
    source
        The source as the user gave it.
    table
        Prepared rows (:mod:`forensics.reader`) in canonical order; ``_file`` indexes ``paths``.
    paths
        Locations of the files or objects that were read.
    outcomes
        One per file or object seen (read, pruned, skipped, ignored).
    issue_rows
        Record issues (load report ``issues`` rows).
    lo, hi, margin
        The window and the delivery margin used to prune.
    cache
        How a cache served the load.
    gaps
        Locations that could not be read at all (``location``, ``reason``), e.g. an
        AccessDenied region.
    notes
        Limits of the source a reader must know (shown in the report's summary).
    distinct
        Whether ``table`` is known to hold no ``eventID`` twice; ``None`` checks.
    """
    rejected = sum(o.rejected for o in outcomes)
    records_read = sum(o.records for o in outcomes) + rejected
    if lo is not None or hi is not None:
        table = table.filter(_in_window(table["eventTime"], lo, hi))
    outside = records_read - rejected - table.num_rows
    if distinct is None:
        distinct = _all_distinct(table["eventID"])
    events, duplicates = _deduplicate(_to_frame(table, paths), distinct)
    issues = pd.DataFrame(issue_rows, columns=list(ISSUE_COLUMNS)).astype({"count": "int64", "first_record": "Int64"})
    report = LoadReport(
        source=source,
        start=lo,
        end=hi,
        delivery_margin=margin,
        files=pd.DataFrame([o.row() for o in outcomes], columns=list(FILE_COLUMNS)),
        issues=issues.sort_values(["path", "issue"], kind="stable").reset_index(drop=True),
        duplicates=duplicates,
        records_read=records_read,
        records_rejected=rejected,
        duplicates_dropped=int(duplicates["copies"].sum()) - len(duplicates),
        outside_window=outside,
        events=len(events),
        cache=cache,
        gaps=pd.DataFrame(gaps or [], columns=list(GAP_COLUMNS)),
        notes=notes,
    )
    return LoadResult(schema.validate(events), report)


def _in_window(times: pa.ChunkedArray, lo: pd.Timestamp | None, hi: pd.Timestamp | None) -> pa.ChunkedArray:
    """Rows inside [lo, hi]; rows without a time are kept (and flagged elsewhere)."""
    inside = pc.is_valid(times)
    if lo is not None:
        inside = pc.and_(inside, pc.greater_equal(times, pa.scalar(lo, UTC_US)))
    if hi is not None:
        inside = pc.and_(inside, pc.less_equal(times, pa.scalar(hi, UTC_US)))
    return pc.or_(pc.fill_null(inside, False), pc.is_null(times))


#: Where :func:`canonical` allocates: the C library's allocator, whose big blocks go back to
#: the system as soon as they are freed (Arrow's default pool keeps them a while, which
#: would add the largest column once more to the peak of a load).
_POOL = pa.system_memory_pool()
#: The order of the events frame: by time, then eventID, file and position in the file.
SORT_KEYS = ("eventTime", "eventID", "_file", "record_index")


def canonical(tables: list[pa.Table], threads: int = 1) -> pa.Table:
    """The rows of prepared ``tables`` as one table in canonical order, emptying ``tables``.

    Rows are sorted by :data:`SORT_KEYS`; each dictionary column gets one sorted dictionary
    and the index type pandas chooses for its size (:func:`ctbuilder.index_type`), with -1
    under a null, so that :func:`_to_frame` hands the codes to pandas as they are. Whatever
    order the files were read in, and however the rows were split into tables, the result
    is the same table, one chunk per column.

    Columns are reordered one at a time, by ``threads`` threads (Arrow and numpy release
    the GIL), and each input column is let go once done: ``tables`` is emptied so that
    this holds the only references, and memory stays near one table, not two.
    """
    names = tables[0].column_names if tables else TABLE_SCHEMA.names
    pending: dict[str, list[pa.Array] | None] = {
        name: [chunk for table in tables for chunk in table.column(name).chunks] for name in names
    }
    tables.clear()
    if not any(len(chunk) for chunk in pending[names[0]] or ()):
        return TABLE_SCHEMA.empty_table()
    keys = pa.table({name: pa.chunked_array(pending[name]) for name in SORT_KEYS})
    sort_keys = [(name, "ascending", "at_end") for name in SORT_KEYS]
    rows = pc.sort_indices(keys, sort_keys=sort_keys, memory_pool=_POOL).to_numpy()
    rows = rows.astype(np.intp)  # numpy's own index type: not converted for every column
    order = pa.array(rows)  # the same memory, for Arrow
    del keys

    def reorder(name: str) -> pa.Array:
        chunks, pending[name] = pending[name], None
        if pa.types.is_dictionary(chunks[0].type):
            return _sorted_dictionary(chunks, rows)
        return _one_array(pc.take(pa.chunked_array(chunks), order, memory_pool=_POOL))

    if threads > 1:
        with ThreadPoolExecutor(threads) as pool:
            columns = list(pool.map(reorder, names))
    else:
        columns = [reorder(name) for name in names]
    return pa.table(dict(zip(names, columns)))


def _sorted_dictionary(chunks: list[pa.DictionaryArray], rows: np.ndarray) -> pa.DictionaryArray:
    """The dictionary ``chunks`` as one array taken at ``rows``, with one sorted dictionary.

    The chunks' dictionaries are merged once (a hash pass over their values, not over the
    rows), and each chunk's codes are mapped to the sorted dictionary in numpy, at the index
    width of :func:`ctbuilder.index_type`, -1 under a null (see :func:`canonical`).
    """
    if len(chunks) == 1:
        values, merged = chunks[0].dictionary, None  # a chunk's dictionary has distinct values
    else:  # the code in ``values`` of each chunk's dictionary values, one after the other
        encoded = pc.dictionary_encode(pa.concat_arrays([chunk.dictionary.cast(pa.large_string()) for chunk in chunks]),
                                       memory_pool=_POOL)  # fmt: skip
        values, merged = encoded.dictionary.cast(chunks[0].type.value_type), encoded.indices.to_numpy()
    ranks = pc.array_sort_indices(values, memory_pool=_POOL).to_numpy()
    width = ctbuilder.index_type(len(ranks)).to_pandas_dtype()
    if merged is None and np.array_equal(ranks, np.arange(len(ranks))):  # sorted already: only the rows move
        return _dictionary_array(_null_coded(chunks[0])[rows].astype(width, copy=False), values)
    sorted_code = np.empty(len(ranks), dtype=width)
    sorted_code[ranks] = np.arange(len(ranks), dtype=width)
    if merged is not None:
        sorted_code = sorted_code[merged]
    parts, start = [], 0
    for chunk in chunks:
        size = len(chunk.dictionary)
        position = np.empty(size + 1, dtype=width)  # the sorted code of each of the chunk's codes; -1 stays -1
        position[:size] = sorted_code[start : start + size]
        position[size] = -1
        parts.append(position[_null_coded(chunk)])
        start += size
    codes = parts[0] if len(parts) == 1 else np.concatenate(parts)
    return _dictionary_array(codes[rows], pc.take(values, ranks, memory_pool=_POOL))


def _dictionary_array(codes: np.ndarray, dictionary: pa.Array) -> pa.DictionaryArray:
    """A dictionary array over ``codes`` (numpy, -1 for a null) without copying them."""
    missing = codes < 0
    return pa.DictionaryArray.from_arrays(pa.array(codes, mask=missing if missing.any() else None, memory_pool=_POOL),
                                          dictionary)  # fmt: skip


def _null_coded(array: pa.DictionaryArray) -> np.ndarray:
    """The indices of ``array`` as numpy, -1 under every null (pandas' code for a missing value).

    The indices themselves when they are so already (as the C builder and :func:`canonical`
    make them: a valid index is never negative, so as many -1 as nulls means -1 under every
    null); else a copy (Arrow leaves what is under a null undefined).
    """
    codes = _values(array.indices, array.type.index_type.to_pandas_dtype())
    if array.null_count and np.count_nonzero(codes == -1) != array.null_count:
        codes = codes.copy()
        codes[_missing(array)] = -1
    return codes


def _to_frame(table: pa.Table, paths: list[str]) -> pd.DataFrame:
    """Convert the sorted, prepared Arrow table to the events frame with the schema's dtypes.

    Column by column, sharing Arrow's memory where pandas can (text, category values):
    :meth:`pyarrow.Table.to_pandas` would turn every category value into a Python string
    first.
    """
    made = {
        "source_file": pd.Categorical.from_codes(table["_file"].to_numpy(), categories=pd.Index(paths, dtype="str")),
        "copies": np.ones(table.num_rows, dtype=np.int32),
    }
    data = {name: made[name] if name in made else _to_pandas(table[name]) for name in schema.COLUMNS}
    return pd.DataFrame(data, copy=False)


_TEXT = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas' default "str" dtype, Arrow-backed


def _to_pandas(column: pa.ChunkedArray) -> object:
    """One prepared column as the pandas array of its schema dtype."""
    array = _one_array(column)
    kind = array.type
    if pa.types.is_dictionary(kind):
        categories = _categories(pd.Index(pd.array(array.dictionary, dtype=_TEXT)))
        return pd.Categorical.from_codes(_codes(array), dtype=categories, validate=False)
    if pa.types.is_timestamp(kind):
        micros = _values(array, np.int64)
        if array.null_count or not micros.flags.writeable:  # pandas may write into its values
            micros = micros.copy()
            micros[_missing(array)] = np.iinfo(np.int64).min  # NaT
        return _utc_times(micros.view("datetime64[us]"))
    if pa.types.is_boolean(kind):
        return pd.arrays.BooleanArray(np.asarray(array.fill_null(False)), _missing(array))
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return pd.array(array, dtype=_TEXT)
    return array.to_numpy()


def _codes(array: pa.DictionaryArray) -> np.ndarray:
    """The codes of ``array`` as pandas wants them: its width for the size, -1 for a null.

    The indices themselves, without a copy, when they are so already (as :func:`canonical`
    makes them); else a copy made so.
    """
    codes = _null_coded(array)
    width = ctbuilder.index_type(len(array.dictionary)).to_pandas_dtype()
    if codes.dtype == width and codes.flags.writeable:  # pandas may write into its codes
        return codes
    return codes.astype(width)


def _utc_times(values: np.ndarray) -> pd.arrays.DatetimeArray:
    """UTC times of ``values`` (``datetime64[us]`` holding UTC), sharing their memory.

    pandas' private ``DatetimeArray._simple_new`` takes the values as they are;
    ``tz_localize``, where it is missing, copies them.
    """
    fast = getattr(pd.arrays.DatetimeArray, "_simple_new", None)
    if fast is not None:
        return fast(values, dtype=pd.DatetimeTZDtype("us", "UTC"))
    return pd.DatetimeIndex(values).tz_localize("UTC").array


def _categories(values: pd.Index) -> pd.CategoricalDtype:
    """The categorical dtype of an Arrow dictionary's ``values``, which are unique.

    pandas' private fast path skips the uniqueness check, whose hash table would stay with
    the frame (25 MB for 300k source IPs); the public constructor where it is missing.
    """
    fast = getattr(pd.CategoricalDtype, "_from_fastpath", None)
    return fast(values, False) if fast is not None else pd.CategoricalDtype(values)


def _one_array(column: pa.ChunkedArray) -> pa.Array:
    """``column`` as one array: its only chunk as it is (``combine_chunks`` would copy even that)."""
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()


def _values(array: pa.Array, dtype: type) -> np.ndarray:
    """The value buffer of a fixed-width ``array`` as numpy, without a copy (any value under a null)."""
    return np.frombuffer(array.buffers()[1], dtype=dtype, count=array.offset + len(array))[array.offset :]


def _missing(array: pa.Array) -> np.ndarray:
    """Where ``array`` is null, as a numpy mask."""
    return np.asarray(array.is_null())


def _all_distinct(ids: pa.ChunkedArray) -> bool:
    """Whether no non-null ``eventID`` occurs twice.

    The C extension's :func:`ctbuilder.all_distinct` checks the column as one array (its
    only chunk, as :func:`canonical` leaves it, else a combined copy: distinct means
    across chunks), stopping at the first duplicate, with about 8 bytes per row of its
    own memory, freed at once. Without the extension, one ``pc.unique`` pass in Arrow
    (about twice as fast as pandas', but 100-150 MiB per 1M IDs that Arrow's memory pool
    keeps afterwards).
    """
    distinct = ctbuilder.all_distinct(_one_array(ids))
    if distinct is not None:
        return distinct
    missing = ids.null_count
    return len(pc.unique(ids)) - (1 if missing else 0) == len(ids) - missing


def _deduplicate(events: pd.DataFrame, distinct: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Keep the first record of each ``eventID``; count the copies and where they came from.

    ``distinct`` says that the IDs are known to be distinct (see :func:`_all_distinct`).
    """
    ids = events["eventID"]
    later = None if distinct else ids.duplicated(keep="first") & ids.notna()
    if later is None or not later.any():
        empty = pd.DataFrame({c: pd.Series([], dtype=object) for c in DUPLICATE_COLUMNS})
        return events, empty.astype({"copies": "int64"})
    repeated = ids.isin(ids[later].unique())
    groups = events.loc[repeated, ["eventID", "source_file"]].astype({"source_file": "str"}).groupby("eventID", sort=True)
    duplicates = pd.DataFrame({
        "eventID": list(groups.groups),
        "copies": groups.size().to_numpy(),
        "files": groups["source_file"].agg(lambda s: sorted(set(s))).to_numpy(),
    })  # fmt: skip
    counts = ids.map(ids[repeated].value_counts()).fillna(1).astype("int32")
    events = events.assign(copies=counts)
    return events.loc[~later].reset_index(drop=True), duplicates
