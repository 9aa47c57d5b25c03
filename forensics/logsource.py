"""Load CloudTrail from the CloudWatch Logs log group a trail delivers to.

>>> import boto3
>>> from forensics.logsource import load_log_group
>>> events, report = load_log_group(boto3.client("logs"), "aws-cloudtrail-logs-acme",
...                                 start="2024-03-14T02:00:00Z", end="2024-03-14T05:00:00Z")  # doctest: +SKIP

A trail sends each event as one log event whose message is the record's JSON, to streams
named ``<account>_CloudTrail_<region>[_<n>]``. ``FilterLogEvents`` is paged over the
window, without a filter pattern: CloudTrail JSON is filtered in pandas, after loading
(server-side JSON patterns cannot be tested offline and a mistake in one silently
drops events). The log event timestamps are CloudWatch's, not ``eventTime``; the window
asked for is widened by :data:`WINDOW_SLACK` on each side and the loader keeps exactly
the events whose ``eventTime`` is in the window.

Each log stream is one "file" of the report (location ``logs://<group>/<stream>``); its
messages are decoded as one ``{"Records": [...]}`` document, so clean streams take the
loader's fast path and keep ``requestParameters`` verbatim. A message that is not JSON is
rejected and counted (issue ``record is not a JSON object (rejected)``, with its position
in the stream and its first characters). What CloudWatch Logs never received cannot be
detected: CloudTrail does not send events larger than :data:`MAX_EVENT_BYTES`, so every
load's issues include :data:`SIZE_CAVEAT`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec
import pandas as pd
from botocore.exceptions import BotoCoreError, ClientError

from forensics import layout
from forensics.cloudtrail import LoadResult, assemble, canonical
from forensics.errors import ParameterError, WindowError
from forensics.reader import decode_blobs
from forensics.s3trail import describe_error
from forensics.window import TimeLike, parse_bounds

#: CloudTrail does not deliver events larger than this to CloudWatch Logs.
MAX_EVENT_BYTES = 256 * 1024
#: Widening of the requested log-event time range on each side (delivery and clock skew).
WINDOW_SLACK = layout.DELIVERY_SKEW
#: A note of every load's report: what this source cannot contain.
SIZE_CAVEAT = (
    "caveat: CloudTrail does not send events over 256 KB to CloudWatch Logs, so their absence cannot be "
    "detected here; CloudWatch Logs copies are not covered by log file integrity validation"
)


def load_log_group(
    logs_client: Any,
    log_group: str,
    *,
    start: TimeLike,
    end: TimeLike,
    log_stream_prefix: str | None = None,
    page_size: int | None = None,
) -> LoadResult:
    """Load the CloudTrail events a log group holds for a window.

    Parameters
    ----------
    logs_client
        A boto3 CloudWatch Logs client (in the log group's region).
    log_group
        The log group's name.
    start, end
        The window (ISO 8601 with a zone, or aware datetimes).
    log_stream_prefix
        Read only streams whose name starts with this, e.g. ``"012345678901_CloudTrail_eu-west-1"``.
    page_size
        Log events per request (``None``: the service's maximum).

    Returns
    -------
    LoadResult
        ``source_file`` is ``logs://<group>/<stream>`` and ``record_index`` the position
        of the message in that stream within the window. A log group or page that cannot
        be read is a gap; what was read before it is kept.

    Raises
    ------
    WindowError
        If a time is naive, invalid, reversed, or missing.
    ParameterError
        If ``page_size`` is not a positive integer.
    """
    lo, hi = parse_bounds(start, end)
    if lo is None or hi is None:
        raise WindowError("a CloudWatch Logs load needs both start and end")
    if page_size is not None and (isinstance(page_size, bool) or not isinstance(page_size, int) or page_size < 1):
        raise ParameterError(f"page_size must be a positive integer, not {page_size!r}")
    source = f"logs://{log_group}"
    params: dict[str, Any] = {
        "logGroupName": log_group,
        "startTime": _millis(lo - WINDOW_SLACK),
        "endTime": _millis(hi + WINDOW_SLACK),
    }
    if log_stream_prefix:
        params["logStreamNamePrefix"] = log_stream_prefix
    if page_size is not None:
        params["limit"] = page_size
    streams: dict[str, list[str]] = {}
    gaps: list[dict[str, str]] = []
    try:
        for page in logs_client.get_paginator("filter_log_events").paginate(**params):
            for event in page.get("events", []):
                stream = str(event.get("logStreamName", ""))
                if stream.startswith(log_stream_prefix or ""):  # also when an endpoint ignores the prefix (moto)
                    streams.setdefault(stream, []).append(str(event.get("message", "")))
    except (ClientError, BotoCoreError) as exc:
        gaps.append({"location": source, "reason": f"cannot read: {describe_error(exc)}"})
    names = sorted(streams)
    blobs = [(number, f"{source}/{name}", records_document(streams[name])) for number, name in enumerate(names)]
    batch = decode_blobs(blobs)
    paths = [loc for _, loc, _ in blobs]
    table = canonical(batch.tables)
    return assemble(source, table, paths, batch.outcomes, batch.issues, lo, hi, pd.Timedelta(0), gaps=gaps, notes=(SIZE_CAVEAT,))


def records_document(messages: Iterable[str]) -> bytes:
    """``{"Records": [...]}`` with each JSON message as it is, and any other message as a JSON string.

    A message that is not JSON thus stays in its place, where the decoder rejects it as
    "not a JSON object" and counts it, while the other messages are read normally.
    """
    parts: list[bytes] = []
    for message in messages:
        try:
            data = message.encode("utf-8")
            msgspec.json.decode(data)
        except (UnicodeEncodeError, msgspec.DecodeError, RecursionError):
            data = msgspec.json.encode(message.encode("utf-8", "backslashreplace").decode("utf-8"))
        parts.append(data)
    return b'{"Records":[' + b",".join(parts) + b"]}"


def _millis(ts: pd.Timestamp) -> int:
    return int(ts.timestamp() * 1000)
