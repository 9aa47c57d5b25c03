"""Time formats that AWS writes, for the scenario generator.

All times are timezone-aware UTC :class:`datetime.datetime` values inside the generator and
are formatted only when a record or a CLI document is written.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta


def utc(text: str) -> datetime:
    """Parse ``YYYY-MM-DDTHH:MM[:SS]Z`` (or with ``+00:00``) into an aware UTC datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def iso(moment: datetime) -> str:
    """CloudTrail's ``eventTime`` format: ``2024-03-12T10:41:07Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_ms(moment: datetime) -> str:
    """ISO time with milliseconds and ``Z``: ``2024-03-12T10:41:07.312Z`` (alarm transitions)."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def cli(moment: datetime) -> str:
    """AWS CLI v2 output format for timestamps: ``2024-03-12T10:41:00+00:00``
    (with ``.ffffff`` when the time has microseconds)."""
    return moment.astimezone(UTC).isoformat()


def cloudwatch_reason(moment: datetime) -> str:
    """Format used inside CloudWatch ``stateReasonData``: ``2024-03-12T10:41:00.000+0000``."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def cloudwatch_short(moment: datetime) -> str:
    """Format used in CloudWatch state reasons: ``12/03/24 10:41:00`` (day/month/year)."""
    return moment.astimezone(UTC).strftime("%d/%m/%y %H:%M:%S")


def console_date(moment: datetime) -> str:
    """Format of dates inside STS and IAM ``responseElements``: ``Mar 12, 2024, 11:20:31 AM``."""
    moment = moment.astimezone(UTC)
    hour = moment.hour % 12 or 12
    return f"{moment:%b} {moment.day}, {moment.year}, {hour}:{moment:%M:%S} {moment:%p}"


def floor(moment: datetime, minutes: int) -> datetime:
    """Round ``moment`` down to a multiple of ``minutes`` past the hour."""
    moment = moment.replace(second=0, microsecond=0)
    return moment - timedelta(minutes=moment.minute % minutes)


def ceil(moment: datetime, minutes: int) -> datetime:
    """Round ``moment`` up to a multiple of ``minutes`` past the hour."""
    down = floor(moment, minutes)
    return down if down == moment else down + timedelta(minutes=minutes)


def later(moment: datetime, rng: random.Random, low: int, high: int) -> datetime:
    """``moment`` plus a whole number of seconds drawn from ``[low, high]``."""
    return moment + timedelta(seconds=rng.randint(low, high))
