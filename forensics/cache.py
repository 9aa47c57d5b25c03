"""A Parquet cache of prepared CloudTrail tables, so that a second load takes a fraction of a second.

The cache never lives in the evidence folder: it is under ``$FORENSICS_CACHE_DIR``, else
``$XDG_CACHE_HOME/forensics``, else ``~/.cache/forensics``, one folder per source (keyed by
the source's absolute path), holding ``events.parquet`` and ``manifest.json``. The
manifest lists every cached file with its size and modification time, what happened to it
and its record issues. A file whose size or mtime changed is decoded again, and only it.
Anything unexpected (unreadable manifest, a Parquet file that fails its page checksums or
does not belong to the manifest, another schema version) makes the cache start afresh,
and the load report says so: a cache is never trusted blindly.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from forensics.reader import FileOutcome, conformed
from forensics.schema import SCHEMA_VERSION

#: Bump when the reader's output changes in a way the schema version does not capture.
READER_VERSION = 1


def default_cache_dir() -> Path:
    """Where caches live unless told otherwise."""
    if os.environ.get("FORENSICS_CACHE_DIR"):
        return Path(os.environ["FORENSICS_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "forensics"


@dataclass(frozen=True)
class FileStamp:
    """A file as the cache knows it: path, size and modification time (ns)."""

    path: str
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: str) -> FileStamp:
        """Stamp ``path`` now (without following symbolic links)."""
        st = os.stat(path, follow_symlinks=False)
        return cls(path, st.st_size, st.st_mtime_ns)


@dataclass
class Lookup:
    """What the cache holds for a load.

    Attributes
    ----------
    table
        Cached rows of the unchanged files, ``_file`` renumbered to the load's numbering
        (``None`` when nothing was cached).
    outcomes, issues
        The cached files' outcomes and record issues.
    missing
        Numbers (in the load) of the files to decode.
    distinct
        Whether the cached rows are known to have no ``eventID`` twice (checked when
        stored; a subset of them has none either), so a hit needs no duplicate check.
    note
        Why the cache was not used, when it was not (for the load report).
    """

    table: pa.Table | None
    outcomes: list[FileOutcome] = field(default_factory=list)
    issues: list[dict[str, object]] = field(default_factory=list)
    missing: list[int] = field(default_factory=list)
    note: str = ""
    distinct: bool = False


class EventCache:
    """The cache of one source.

    Parameters
    ----------
    source
        The source folder or file (its absolute path is the key).
    directory
        Base folder of caches; :func:`default_cache_dir` when ``None``.
    """

    def __init__(self, source: str, directory: str | os.PathLike[str] | None = None) -> None:
        self.source = os.path.abspath(source)
        key = hashlib.sha256(f"{self.source}\0{SCHEMA_VERSION}\0{READER_VERSION}".encode()).hexdigest()[:24]
        self.folder = Path(directory or default_cache_dir()) / "cloudtrail" / key
        self.manifest_path = self.folder / "manifest.json"
        self.table_path = self.folder / "events.parquet"

    def lookup(self, stamps: list[FileStamp]) -> Lookup:
        """Find the cached rows of ``stamps`` (numbered by their position in the list)."""
        if not self.manifest_path.exists():
            return Lookup(None, missing=list(range(len(stamps))))
        try:
            manifest = self._read_manifest()
            cached = {entry["path"]: (number, entry) for number, entry in enumerate(manifest["files"])}
            renumber = np.full(len(manifest["files"]), -1, dtype=np.int32)
            hit = Lookup(None)
            for number, stamp in enumerate(stamps):
                found = cached.get(stamp.path)
                if found and (found[1]["size"], found[1]["mtime_ns"]) == (stamp.size, stamp.mtime_ns):
                    renumber[found[0]] = number
                    hit.outcomes.append(FileOutcome(**found[1]["outcome"]))
                    hit.issues.extend(found[1]["issues"])
                else:
                    hit.missing.append(number)
            if len(hit.missing) < len(stamps):
                hit.table = self._read_rows(manifest["token"], renumber)
                hit.distinct = manifest.get("distinct_ids") is True
            return hit
        except (OSError, ValueError, KeyError, TypeError, pa.ArrowException) as exc:
            note = f"cache unreadable ({type(exc).__name__}: {str(exc)[:120]}); rebuilt"
            return Lookup(None, missing=list(range(len(stamps))), note=note)

    def store(
        self,
        table: pa.Table,
        stamps: list[FileStamp],
        outcomes: list[FileOutcome],
        issues: list[dict[str, object]],
        distinct: bool = False,
    ) -> None:
        """Replace the cache with ``table`` (``_file`` numbers index ``stamps``) and its files' outcomes.

        ``distinct`` records that no ``eventID`` of ``table`` occurs twice (see :class:`Lookup`).

        Writes to temporary files first and renames them, so a crash leaves either the old
        cache or the new one, and a mismatch between the two files is detected by a token.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        token = secrets.token_hex(16)
        by_path: dict[str, list[dict[str, object]]] = {}
        for row in issues:
            by_path.setdefault(str(row["path"]), []).append(row)
        manifest = {
            "schema_version": SCHEMA_VERSION,
            "reader_version": READER_VERSION,
            "source": self.source,
            "token": token,
            "distinct_ids": distinct,
            "files": [
                {
                    "path": stamp.path,
                    "size": stamp.size,
                    "mtime_ns": stamp.mtime_ns,
                    "outcome": outcome.to_dict(),
                    "issues": by_path.get(stamp.path, []),
                }
                for stamp, outcome in zip(stamps, outcomes)
            ],
        }
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), b"forensics-token": token.encode()})
        tmp_table = self.table_path.with_suffix(".parquet.tmp")
        tmp_manifest = self.manifest_path.with_suffix(".json.tmp")
        pq.write_table(table, tmp_table, compression="lz4", write_page_checksum=True)
        tmp_manifest.write_text(json.dumps(manifest, default=_jsonable))
        os.replace(tmp_table, self.table_path)
        os.replace(tmp_manifest, self.manifest_path)

    def clear(self) -> None:
        """Delete this source's cache."""
        for path in (self.table_path, self.manifest_path):
            path.unlink(missing_ok=True)

    def _read_manifest(self) -> dict:
        manifest = json.loads(self.manifest_path.read_text())
        versions = (manifest.get("schema_version"), manifest.get("reader_version"))
        if versions != (SCHEMA_VERSION, READER_VERSION) or manifest.get("source") != self.source:
            raise ValueError(f"cache was written for another schema or source {versions}")
        return manifest

    def _read_rows(self, token: str, renumber: np.ndarray) -> pa.Table:
        table = pq.read_table(self.table_path, page_checksum_verification=True)
        if (table.schema.metadata or {}).get(b"forensics-token") != token.encode():
            raise ValueError("events.parquet does not belong to manifest.json")
        table = conformed(table.replace_schema_metadata(None))
        new = pa.array(renumber).take(table["_file"])
        table = table.set_column(table.schema.get_field_index("_file"), "_file", new)
        if pc.min(new).as_py() is not None and pc.min(new).as_py() < 0:
            table = table.filter(pc.greater_equal(new, 0))
        return table


def _jsonable(value: object) -> object:
    if isinstance(value, np.integer):
        return int(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
