"""The load report: what a load read, skipped, repaired and dropped, and why.

A failure must never look like "no activity". Every file a load saw has a row in
:attr:`LoadReport.files` with a status, every oddity inside a record is counted in
:attr:`LoadReport.issues`, every merged duplicate is in :attr:`LoadReport.duplicates`, and
every region or account that could not be read is a row of :attr:`LoadReport.gaps`.

The record counts reconcile::

    records_read == events + records_rejected + duplicates_dropped + outside_window
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

#: File statuses, from best to worst.
FILE_STATUSES: dict[str, str] = {
    "loaded": "read completely by the fast path",
    "recovered": "read completely by the tolerant path; see issues for what was odd",
    "partial": "damaged; the records before the damage were kept",
    "failed": "could not be read; no records kept",
    "skipped": "not an events file (digest, Insights); read by other tools",
    "ignored": "not a CloudTrail file",
    "pruned": "not opened: its delivery time cannot hold events of the window",
}

FILE_COLUMNS: tuple[str, ...] = ("path", "kind", "status", "reason", "records", "rejected", "bytes", "sha256")
ISSUE_COLUMNS: tuple[str, ...] = ("path", "issue", "count", "first_record", "example")
DUPLICATE_COLUMNS: tuple[str, ...] = ("eventID", "copies", "files")
GAP_COLUMNS: tuple[str, ...] = ("location", "reason")


def _frame(columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})


@dataclass(frozen=True)
class LoadReport:
    """What happened during one load.

    Attributes
    ----------
    source
        The source as given (a path or a URI).
    start, end
        The requested window (``None`` when unbounded).
    delivery_margin
        How far past ``end`` a file's delivery time may lie and still be opened.
    files
        One row per file seen: ``path``, ``kind`` (``log``, ``digest``, ``insight``,
        ``other``), ``status`` (see :data:`FILE_STATUSES`), ``reason``, ``records`` kept
        from the file, records ``rejected`` (not JSON objects), ``bytes`` on disk, and the
        ``sha256`` of the bytes as read (``None`` if not opened).
    issues
        Oddities inside files, aggregated per (file, issue): ``count``, the index of the
        ``first_record`` concerned and an ``example``.
    duplicates
        One row per duplicated ``eventID``: how many ``copies`` were read and from which
        ``files``.
    gaps
        Locations (regions, accounts, prefixes) that could not be read at all.
    records_read, records_rejected, duplicates_dropped, outside_window, events
        Record counts; they reconcile (see the module docstring).
    notes
        What the source cannot tell (for example that CloudWatch Logs never receives
        events over 256 KB): limits of the evidence a reader must keep in mind.
    cache
        How the Parquet cache served the load (``off``, ``hit``, ``miss``, ``partial
        hit``, or why it was rebuilt).
    """

    source: str
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    delivery_margin: pd.Timedelta
    files: pd.DataFrame = field(default_factory=lambda: _frame(FILE_COLUMNS))
    issues: pd.DataFrame = field(default_factory=lambda: _frame(ISSUE_COLUMNS))
    duplicates: pd.DataFrame = field(default_factory=lambda: _frame(DUPLICATE_COLUMNS))
    gaps: pd.DataFrame = field(default_factory=lambda: _frame(GAP_COLUMNS))
    records_read: int = 0
    records_rejected: int = 0
    duplicates_dropped: int = 0
    outside_window: int = 0
    events: int = 0
    cache: str = "off"
    notes: tuple[str, ...] = ()

    def status_counts(self) -> dict[str, int]:
        """Number of files per status, for every status (zeros included)."""
        counts = self.files["status"].value_counts() if len(self.files) else pd.Series(dtype=int)
        return {status: int(counts.get(status, 0)) for status in FILE_STATUSES}

    @property
    def ok(self) -> bool:
        """True when nothing was lost: no failed or partial file, no rejected record, no gap."""
        counts = self.status_counts()
        return not (counts["failed"] or counts["partial"] or self.records_rejected or len(self.gaps))

    def problems(self) -> pd.DataFrame:
        """Files that were not read cleanly, with their reason (failed, partial, recovered)."""
        bad = self.files["status"].isin(["failed", "partial", "recovered"])
        return self.files.loc[bad, ["path", "status", "reason", "records", "rejected"]].reset_index(drop=True)

    def summary(self) -> pd.DataFrame:
        """The report's headline numbers as a two-column frame (``measure``, ``value``)."""
        counts = self.status_counts()
        window = "unbounded"
        if self.start is not None or self.end is not None:
            window = f"{_fmt(self.start)} to {_fmt(self.end)} (delivery margin {self.delivery_margin})"
        rows: list[tuple[str, object]] = [
            ("source", self.source),
            ("window", window),
            ("cache", self.cache),
            *((f"files {status}", n) for status, n in counts.items()),
            ("records read", self.records_read),
            ("records rejected", self.records_rejected),
            ("duplicate records merged", self.duplicates_dropped),
            ("records outside the window", self.outside_window),
            ("events kept", self.events),
            ("record issues", int(self.issues["count"].sum()) if len(self.issues) else 0),
            ("unreadable locations (gaps)", len(self.gaps)),
            *(("note", note) for note in self.notes),
            ("verdict", "complete" if self.ok else "INCOMPLETE: see problems and gaps"),
        ]
        return pd.DataFrame(rows, columns=["measure", "value"]).astype({"value": str})

    def __str__(self) -> str:
        return "\n".join(f"{m}: {v}" for m, v in self.summary().itertuples(index=False))


def _fmt(ts: pd.Timestamp | None) -> str:
    return "-" if ts is None else ts.isoformat()
