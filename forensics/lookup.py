"""Load CloudTrail Event history through the LookupEvents API, politely and never silently.

>>> import boto3
>>> from forensics.lookup import load_lookup_events
>>> events, report = load_lookup_events(boto3.Session(), start="2024-03-14T02:00:00Z",
...                                     end="2024-03-14T05:00:00Z",
...                                     regions=["us-east-1", "eu-west-1"])  # doctest: +SKIP

Event history is what an account has without any trail: management events of the last
:data:`EVENT_HISTORY_DAYS` days, per region (global services such as IAM and STS are
recorded in ``us-east-1``), no data events, no integrity validation. The API allows
:data:`MAX_REQUESTS_PER_SECOND` requests per second per account and region, 50 events per
page and a single lookup attribute.

Each region is read page by page: requests are spaced to respect the rate limit,
``ThrottlingException`` is retried with exponential backoff (a region that keeps failing
becomes a gap), and a ``NextToken`` seen twice stops the region (a gap: the API was
looping). The pages of a region are decoded as one ``aws cloudtrail lookup-events``
document (``{"Events": [...]}``), location ``lookup-events://<region>``, so the
``CloudTrailEvent`` JSON strings go through :mod:`forensics.records` like a saved
lookup-events file, and broken ones are rejected and counted in the report.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from botocore.exceptions import BotoCoreError, ClientError

from forensics.cloudtrail import LoadResult, assemble, canonical
from forensics.errors import ParameterError, WindowError
from forensics.reader import decode_blobs
from forensics.s3trail import describe_error
from forensics.window import TimeLike, parse_bounds

#: How far back Event history goes.
EVENT_HISTORY_DAYS = 90
#: The service's documented limit, per account and region (it cannot be raised).
MAX_REQUESTS_PER_SECOND = 2.0
#: Events per page (the API's maximum).
PAGE_SIZE = 50
#: Retries of one throttled request before the region is given up (a gap).
MAX_RETRIES = 5
#: First backoff after a throttled request, doubled on every retry up to :data:`BACKOFF_CAP` seconds.
BACKOFF_BASE = 1.0
BACKOFF_CAP = 20.0
#: Error codes that mean "slow down".
THROTTLING_CODES = frozenset({"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"})
#: A note of every load's report: what Event history cannot contain.
EVENT_HISTORY_CAVEAT = (
    "caveat: Event history holds management events only (no data events) and is not covered by "
    "log file integrity validation"
)


def load_lookup_events(
    client_or_session: Any,
    *,
    start: TimeLike,
    end: TimeLike,
    regions: Sequence[str] | None = None,
    lookup_attributes: Sequence[Mapping[str, str]] | None = None,
    max_requests_per_second: float = MAX_REQUESTS_PER_SECOND,
    sleep: Callable[[float], object] = time.sleep,
    max_retries: int = MAX_RETRIES,
) -> LoadResult:
    """Load the Event history of one or more regions into the events frame.

    Parameters
    ----------
    client_or_session
        A boto3 CloudTrail client (its region only), a boto3 session (a client is made
        per region), or a mapping of region name to client (e.g. clients of assumed
        roles).
    start, end
        The window (ISO 8601 with a zone, or aware datetimes). A window reaching further
        back than :data:`EVENT_HISTORY_DAYS` days is cut there, and the cut is a gap.
    regions
        Regions to read. Default: the client's or session's region, or every region of
        the mapping.
    lookup_attributes
        At most one ``{"AttributeKey": ..., "AttributeValue": ...}`` filter (the API
        takes one), e.g. ``[{"AttributeKey": "Username", "AttributeValue": "alice"}]``.
    max_requests_per_second
        Requests per second per region.
    sleep
        Called with the seconds to wait (spacing and backoff); tests pass a recorder.
    max_retries
        Retries of a throttled request before the rest of the region is a gap.

    Returns
    -------
    LoadResult
        ``source_file`` is ``lookup-events://<region>`` and ``record_index`` the
        position of the event in that region's Event history answer. The report's
        issues start with :data:`EVENT_HISTORY_CAVEAT` for every region.

    Raises
    ------
    ParameterError
        If the clients, regions, attributes or rate are not usable.
    WindowError
        If a time is naive, invalid, or ``start`` is after ``end``.
    """
    lo, hi = parse_bounds(start, end)
    if lo is None or hi is None:
        raise WindowError("LookupEvents needs both start and end")
    if not max_requests_per_second > 0:
        raise ParameterError(f"max_requests_per_second must be positive, not {max_requests_per_second!r}")
    clients = _clients(client_or_session, regions)
    params: dict[str, Any] = {"MaxResults": PAGE_SIZE}
    if lookup_attributes:
        if len(lookup_attributes) > 1:
            raise ParameterError("LookupEvents takes a single lookup attribute; run one load per attribute")
        params["LookupAttributes"] = [dict(lookup_attributes[0])]
    horizon = (pd.Timestamp.now(tz="UTC") - pd.Timedelta(days=EVENT_HISTORY_DAYS)).ceil("s")
    clock = _Clock(sleep)
    gaps: list[dict[str, str]] = []
    blobs: list[tuple[int, str, bytes]] = []
    for number, (region, client) in enumerate(sorted(clients.items())):
        location = f"lookup-events://{region}"
        if lo < horizon:
            reason = f"Event history keeps {EVENT_HISTORY_DAYS} days: events before {horizon.isoformat()} are gone"
            gaps.append({"location": location, "reason": reason})
        events: list[dict[str, Any]] = []
        if hi >= horizon:
            window = {"StartTime": max(lo, horizon).to_pydatetime(), "EndTime": hi.to_pydatetime()}
            pacer = _Pacer(1.0 / max_requests_per_second, clock)
            events, problem = _Pages(client, params | window, pacer, max_retries).read()
            if problem:
                gaps.append({"location": location, "reason": problem})
        blobs.append((number, location, _document(events)))
    batch = decode_blobs(blobs)
    paths = [location for _, location, _ in blobs]
    source = "lookup-events://" + ",".join(sorted(clients))
    table = canonical(batch.tables)
    notes = (EVENT_HISTORY_CAVEAT,)
    return assemble(source, table, paths, batch.outcomes, batch.issues, lo, hi, pd.Timedelta(0), gaps=gaps, notes=notes)


def _clients(client_or_session: Any, regions: Sequence[str] | None) -> dict[str, Any]:
    """Region -> CloudTrail client, from a client, a session or a mapping."""
    wanted = None if regions is None else ([regions] if isinstance(regions, str) else list(regions))
    if wanted is not None and not wanted:
        raise ParameterError("regions is empty; give at least one region or None")
    if isinstance(client_or_session, Mapping):
        missing = sorted(set(wanted or ()) - set(client_or_session))
        if missing:
            raise ParameterError(f"no client given for regions {missing}")
        return {r: client_or_session[r] for r in (wanted or client_or_session)}
    if hasattr(client_or_session, "lookup_events"):
        own = client_or_session.meta.region_name
        if wanted is not None and wanted != [own]:
            raise ParameterError(
                f"a client serves its own region ({own}); for {wanted} pass a boto3 session "
                "or a mapping of region to client"
            )
        return {own: client_or_session}
    if hasattr(client_or_session, "client"):
        chosen = wanted or ([client_or_session.region_name] if client_or_session.region_name else None)
        if not chosen:
            raise ParameterError("the session has no region; pass regions=[...]")
        return {r: client_or_session.client("cloudtrail", region_name=r) for r in chosen}
    kind = type(client_or_session).__name__
    raise ParameterError(f"expected a boto3 CloudTrail client, a session or a mapping of region to client, not {kind}")


class _Clock:
    """Monotonic time in which every wait lasts exactly what was asked.

    Waits go through the injected ``sleep``; time spent inside it is replaced by the
    seconds asked for, so with :func:`time.sleep` this is real time, and with a
    recording ``sleep`` (tests) time still moves on by every wait.
    """

    def __init__(self, sleep: Callable[[float], object]) -> None:
        self._sleep = sleep
        self._base = 0.0
        self._mark = time.monotonic()

    def now(self) -> float:
        return self._base + time.monotonic() - self._mark

    def sleep(self, seconds: float) -> None:
        self._base = self.now() + seconds
        self._sleep(seconds)
        self._mark = time.monotonic()


@dataclass
class _Pacer:
    """Spaces the requests to one region at least ``interval`` seconds apart."""

    interval: float
    clock: _Clock
    next_at: float = float("-inf")

    def wait(self) -> None:
        now = self.clock.now()
        if self.next_at > now:
            self.clock.sleep(self.next_at - now)
        self.next_at = max(now, self.next_at) + self.interval


@dataclass
class _Pages:
    """The pages of one region's answer."""

    client: Any
    params: dict[str, Any]
    pacer: _Pacer
    max_retries: int

    def read(self) -> tuple[list[dict[str, Any]], str]:
        """All events, and why reading stopped early ("" when it did not)."""
        events: list[dict[str, Any]] = []
        seen: set[str] = set()
        token: str | None = None
        page = 0
        while True:
            page += 1
            response, problem = self._request(token)
            if response is None:
                return events, f"page {page}: {problem}; the rest of the region was not read"
            events += response.get("Events", [])
            token = response.get("NextToken")
            if not token:
                return events, ""
            if token in seen:
                return events, f"NextToken repeated after page {page}: stopped to avoid a loop; later events may be lost"
            seen.add(token)

    def _request(self, token: str | None) -> tuple[dict[str, Any] | None, str]:
        params = self.params | ({"NextToken": token} if token else {})
        attempt = 0
        while True:
            self.pacer.wait()
            try:
                return self.client.lookup_events(**params), ""
            except ClientError as exc:
                code = str(exc.response.get("Error", {}).get("Code", ""))
                if code not in THROTTLING_CODES:
                    return None, describe_error(exc)
                if attempt == self.max_retries:
                    return None, f"{code} after {attempt} retries"
            except BotoCoreError as exc:
                return None, describe_error(exc)
            self.pacer.clock.sleep(min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt))
            attempt += 1

def _document(events: list[dict[str, Any]]) -> bytes:
    """The events as ``aws cloudtrail lookup-events`` output, keeping what the decoder reads."""
    kept = [{"EventId": e.get("EventId"), "CloudTrailEvent": e.get("CloudTrailEvent")} for e in events]
    return json.dumps({"Events": kept}, ensure_ascii=True).encode("ascii")
