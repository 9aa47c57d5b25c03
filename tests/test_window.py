"""Time bounds and the incident window."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from forensics import Incident, WindowError, parse_time
from forensics.window import parse_bounds


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-14T02:12:00Z", "2024-03-14T02:12:00Z"),
        ("2024-03-14T03:12:00+01:00", "2024-03-14T02:12:00Z"),
        ("2024-03-14T02:12:00.250Z", "2024-03-14T02:12:00.250Z"),
        (" 2024-03-14T02:12Z ", "2024-03-14T02:12:00Z"),
    ],
)
def test_parse_time_accepts_zoned_iso(text, expected):
    ts = parse_time(text)
    assert ts == pd.Timestamp(expected) and str(ts.tz) == "UTC" and ts.unit == "us"


def test_parse_time_accepts_aware_datetimes():
    aware = dt.datetime(2024, 3, 14, 3, 12, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert parse_time(aware) == pd.Timestamp("2024-03-14T02:12:00Z")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2024-03-14T02:12:00", "no time zone"),
        (dt.datetime(2024, 3, 14), "no time zone"),
        ("2024-02-30T00:00:00Z", "not a valid ISO 8601 time"),
        ("yesterday", "not a valid ISO 8601 time"),
        (1710382200, "must be an ISO 8601 string"),
        ("NaT", "not a time"),
    ],
)
def test_parse_time_rejects_with_a_clear_message(value, message):
    with pytest.raises(WindowError, match=message):
        parse_time(value, "start")


def test_bounds_must_be_ordered():
    assert parse_bounds(None, "2024-03-14T00:00:00Z") == (None, pd.Timestamp("2024-03-14T00:00:00Z"))
    with pytest.raises(WindowError, match="swap them"):
        parse_bounds("2024-03-15T00:00:00Z", "2024-03-14T00:00:00Z")


def test_incident_pads_and_contains():
    inc = Incident("2024-03-14T02:30:00Z", "2024-03-14T04:30:00Z", pad="30min")
    assert inc.padded_start == pd.Timestamp("2024-03-14T02:00:00Z")
    assert inc.padded_end == pd.Timestamp("2024-03-14T05:00:00Z")
    assert inc.duration == pd.Timedelta(hours=2)
    times = pd.Series(pd.to_datetime(["2024-03-14T02:10:00Z", "2024-03-14T03:00:00Z", "2024-03-14T06:00:00Z"], utc=True))
    assert list(inc.contains(times)) == [False, True, False]
    assert list(inc.contains(times, padded=True)) == [True, True, False]


def test_incident_rejects_bad_input():
    with pytest.raises(WindowError, match="no time zone"):
        Incident("2024-03-14T02:30:00", "2024-03-14T04:30:00Z")
    with pytest.raises(WindowError, match="negative"):
        Incident("2024-03-14T02:30:00Z", "2024-03-14T04:30:00Z", pad="-1h")
    with pytest.raises(WindowError, match="not a duration"):
        Incident("2024-03-14T02:30:00Z", "2024-03-14T04:30:00Z", pad="soon")


def test_incident_is_a_frozen_value():
    inc = Incident("2024-03-14T02:30:00Z", "2024-03-14T04:30:00Z")
    assert inc == Incident("2024-03-14T02:30:00Z", "2024-03-14T04:30:00Z", pad="1h")
    with pytest.raises(AttributeError):
        inc.start = pd.Timestamp("2024-01-01T00:00:00Z")  # type: ignore[misc]
