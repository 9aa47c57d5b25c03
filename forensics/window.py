"""Time bounds and the incident window.

:class:`Incident` is the one object that scopes loads, queries and plots: the window the
analyst cares about (``start`` to ``end``) plus a ``pad`` on each side for context.
Times are always timezone-aware UTC. A naive time ("2024-03-14T02:00:00") is ambiguous
evidence and is rejected with an error that says how to fix it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from forensics.errors import WindowError

TimeLike = str | dt.datetime | pd.Timestamp


def parse_time(value: TimeLike, name: str = "time") -> pd.Timestamp:
    """Parse a time bound into a UTC :class:`pandas.Timestamp`.

    Parameters
    ----------
    value
        An ISO 8601 string with a zone (``2024-03-14T02:00:00Z``, ``...+01:00``), or a
        timezone-aware ``datetime``/``Timestamp``.
    name
        Name of the argument, used in error messages.

    Returns
    -------
    pandas.Timestamp
        The time converted to UTC, microsecond resolution.

    Raises
    ------
    WindowError
        If the value is naive (no zone), not a time, or an impossible date.

    Examples
    --------
    >>> parse_time("2024-03-14T03:12:00+01:00")
    Timestamp('2024-03-14 02:12:00+0000', tz='UTC')
    """
    if isinstance(value, str):
        text = value.strip()
        try:
            ts = pd.Timestamp(text)
        except (ValueError, OverflowError) as exc:
            raise WindowError(
                f"{name}={value!r} is not a valid ISO 8601 time ({exc}); "
                "write it like 2024-03-14T02:00:00Z"
            ) from None
    elif isinstance(value, (dt.datetime, pd.Timestamp)):
        ts = pd.Timestamp(value)
    else:
        raise WindowError(f"{name} must be an ISO 8601 string or a datetime, not {type(value).__name__}")
    if pd.isna(ts):
        raise WindowError(f"{name}={value!r} is not a time")
    if ts.tzinfo is None:
        raise WindowError(
            f"{name}={value!r} has no time zone; CloudTrail times are UTC, so add 'Z' "
            f"(e.g. {ts.isoformat()}Z) or an explicit offset"
        )
    return ts.tz_convert("UTC").as_unit("us")


def parse_bounds(
    start: TimeLike | None, end: TimeLike | None
) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """Parse optional ``start``/``end`` bounds and check that ``start <= end``."""
    lo = None if start is None else parse_time(start, "start")
    hi = None if end is None else parse_time(end, "end")
    if lo is not None and hi is not None and lo > hi:
        raise WindowError(f"start {lo.isoformat()} is after end {hi.isoformat()}; swap them")
    return lo, hi


@dataclass(frozen=True)
class Incident:
    """An incident window: the period under investigation plus padding for context.

    Parameters
    ----------
    start, end
        The window, as ISO 8601 strings with a zone or aware datetimes.
    pad
        Context kept on each side (default one hour); loads and plots use the padded window.

    Examples
    --------
    >>> inc = Incident("2024-03-14T02:30:00Z", "2024-03-14T04:30:00Z", pad="30min")
    >>> inc.padded_start
    Timestamp('2024-03-14 02:00:00+0000', tz='UTC')
    """

    start: pd.Timestamp
    end: pd.Timestamp
    pad: pd.Timedelta = pd.Timedelta(hours=1)

    def __init__(self, start: TimeLike, end: TimeLike, pad: str | pd.Timedelta | dt.timedelta = "1h") -> None:
        lo, hi = parse_bounds(start, end)
        assert lo is not None and hi is not None
        try:
            padding = pd.Timedelta(pad)
        except ValueError as exc:
            raise WindowError(f"pad={pad!r} is not a duration ({exc}); write it like '30min' or '2h'") from None
        if padding < pd.Timedelta(0):
            raise WindowError(f"pad={pad!r} is negative")
        object.__setattr__(self, "start", lo)
        object.__setattr__(self, "end", hi)
        object.__setattr__(self, "pad", padding)

    @property
    def padded_start(self) -> pd.Timestamp:
        """Start of the window minus the padding."""
        return self.start - self.pad

    @property
    def padded_end(self) -> pd.Timestamp:
        """End of the window plus the padding."""
        return self.end + self.pad

    @property
    def duration(self) -> pd.Timedelta:
        """Length of the (unpadded) window."""
        return self.end - self.start

    def contains(self, times: pd.Series, padded: bool = False) -> pd.Series:
        """Boolean mask of ``times`` inside the window (inclusive), optionally the padded one."""
        lo, hi = (self.padded_start, self.padded_end) if padded else (self.start, self.end)
        return (times >= lo) & (times <= hi)

    def __str__(self) -> str:
        return f"{self.start.isoformat()} to {self.end.isoformat()} (pad {self.pad})"
