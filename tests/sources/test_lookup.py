"""LookupEvents (Event history): paging, pacing, throttling, token loops, broken CloudTrailEvent JSON.

moto does not implement LookupEvents, so real boto3 clients answer through botocore's Stubber.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pandas as pd
import pytest
from botocore.stub import ANY, Stubber
from moto_helpers import Calls

from cloudtrail_builders import assumed_role, record
from forensics.errors import ParameterError, WindowError
from forensics.lookup import EVENT_HISTORY_CAVEAT, _clients, load_lookup_events

FAKE = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
NOW = pd.Timestamp.now(tz="UTC").floor("h")
START, END = NOW - pd.Timedelta(hours=3), NOW - pd.Timedelta(hours=1)


def at(minutes: int) -> str:
    return (START + pd.Timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def entry(rec: dict[str, Any]) -> dict[str, Any]:
    """One LookupEvents entry as the API returns it: the record is a JSON string."""
    return {"EventId": rec["eventID"], "EventName": rec["eventName"], "CloudTrailEvent": json.dumps(rec)}


def client(region: str = "us-east-1") -> tuple[Any, Stubber]:
    cloudtrail = boto3.client("cloudtrail", region_name=region, **FAKE)
    return cloudtrail, Stubber(cloudtrail)


def expected(token: str | None = None, start: Any = None) -> dict[str, Any]:
    params = {"StartTime": start or START.to_pydatetime(), "EndTime": END.to_pydatetime(), "MaxResults": 50}
    return params | ({"NextToken": token} if token else {})


def throttled(stub: Stubber, token: str | None = None) -> None:
    stub.add_client_error("lookup_events", "ThrottlingException", "Rate exceeded", 400, expected_params=expected(token))


class Sleeps(list):
    """Records the waits instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def test_throttled_requests_back_off_then_succeed_and_requests_are_spaced() -> None:
    cloudtrail, stub = client()
    throttled(stub)
    stub.add_response("lookup_events", {"Events": [entry(record("e1", at(10))), entry(record("e2", at(20)))], "NextToken": "t1"}, expected())
    throttled(stub, "t1")
    stub.add_response("lookup_events", {"Events": [entry(record("e3", at(30)))]}, expected("t1"))
    sleeps = Sleeps()
    with stub:
        result = load_lookup_events(cloudtrail, start=START, end=END, sleep=sleeps)
        stub.assert_no_pending_responses()
    assert result.events["eventID"].tolist() == ["e1", "e2", "e3"]
    assert result.events["source_file"].astype(str).unique().tolist() == ["lookup-events://us-east-1"]
    assert result.events["record_index"].tolist() == [0, 1, 2]
    # backoff 1 s (longer than the spacing, so the retry goes at once), 0.5 s spacing before page 2, backoff
    assert sleeps == pytest.approx([1.0, 0.5, 1.0], abs=0.05)
    assert result.report.gaps.empty and result.report.records_rejected == 0
    assert result.report.issues.empty and result.report.notes == (EVENT_HISTORY_CAVEAT,)


def test_a_region_that_stays_throttled_becomes_a_gap_and_keeps_what_was_read() -> None:
    cloudtrail, stub = client()
    stub.add_response("lookup_events", {"Events": [entry(record("e1", at(10)))], "NextToken": "t1"}, expected())
    for _ in range(3):
        throttled(stub, "t1")
    sleeps = Sleeps()
    with stub:
        result = load_lookup_events(cloudtrail, start=START, end=END, sleep=sleeps, max_retries=2)
        stub.assert_no_pending_responses()
    assert result.events["eventID"].tolist() == ["e1"]
    assert result.report.gaps.to_dict("records") == [{
        "location": "lookup-events://us-east-1",
        "reason": "page 2: ThrottlingException after 2 retries; the rest of the region was not read",
    }]  # fmt: skip
    assert sleeps == pytest.approx([0.5, 1.0, 2.0], abs=0.05)
    assert not result.report.ok


def test_a_repeated_next_token_stops_the_region_as_a_gap() -> None:
    cloudtrail, stub = client()
    stub.add_response("lookup_events", {"Events": [entry(record("e1", at(10)))], "NextToken": "same"}, expected())
    stub.add_response("lookup_events", {"Events": [entry(record("e2", at(20)))], "NextToken": "same"}, expected("same"))
    with stub:
        result = load_lookup_events(cloudtrail, start=START, end=END, sleep=Sleeps())
        stub.assert_no_pending_responses()
    assert result.events["eventID"].tolist() == ["e1", "e2"]
    assert result.report.gaps["reason"].tolist() == [
        "NextToken repeated after page 2: stopped to avoid a loop; later events may be lost"
    ]


def test_broken_cloudtrail_event_json_is_rejected_and_reported() -> None:
    cloudtrail, stub = client()
    events = [
        entry(record("e1", at(10))),
        {"EventId": "bad-json", "EventName": "GetObject", "CloudTrailEvent": '{"eventID": "bad-json", "eventTime": '},
        {"EventId": "no-json", "EventName": "GetObject"},
        entry(record("e2", at(20))),
    ]
    stub.add_response("lookup_events", {"Events": events}, expected())
    with stub:
        result = load_lookup_events(cloudtrail, start=START, end=END, sleep=Sleeps())
    assert result.events["eventID"].tolist() == ["e1", "e2"]
    assert result.events["record_index"].tolist() == [0, 3]
    issues = result.report.issues.set_index("issue")
    assert issues.loc["LookupEvents CloudTrailEvent is not valid JSON (rejected)", ["count", "first_record"]].tolist() == [1, 1]
    assert issues.loc["LookupEvents entry without a CloudTrailEvent string (rejected)", ["count", "first_record"]].tolist() == [1, 2]
    assert result.report.records_rejected == 2 and result.report.records_read == 4
    assert not result.report.ok


def test_two_regions_are_read_separately_and_merged_in_time_order() -> None:
    east, east_stub = client("us-east-1")
    west, west_stub = client("eu-west-1")
    east_stub.add_response("lookup_events", {"Events": [entry(record("iam", at(30), name="CreateUser", source="iam.amazonaws.com"))]}, expected())
    west_stub.add_response("lookup_events", {"Events": [entry(record("ec2", at(10), name="RunInstances", identity=assumed_role(),
                                                                    region="eu-west-1"))]}, expected())
    with east_stub, west_stub:
        result = load_lookup_events({"us-east-1": east, "eu-west-1": west}, start=START, end=END, sleep=Sleeps())
    assert result.events[["eventID", "awsRegion"]].astype(str).values.tolist() == [["ec2", "eu-west-1"], ["iam", "us-east-1"]]
    assert result.events["source_file"].astype(str).tolist() == ["lookup-events://eu-west-1", "lookup-events://us-east-1"]
    assert result.report.files[["path", "records"]].values.tolist() == [
        ["lookup-events://eu-west-1", 1], ["lookup-events://us-east-1", 1]
    ]
    assert result.report.source == "lookup-events://eu-west-1,us-east-1"
    assert result.events["actor"].astype(str).tolist()[0] == "arn:aws:sts::012345678901:assumed-role/DataPipelineRole/etl"


def test_the_90_day_limit_cuts_the_window_and_is_a_gap() -> None:
    cloudtrail, stub = client()
    calls = Calls(cloudtrail)
    start = NOW - pd.Timedelta(days=100)
    stub.add_response("lookup_events", {"Events": [entry(record("e1", at(10)))]},
                      {"StartTime": ANY, "EndTime": END.to_pydatetime(), "MaxResults": 50})
    with stub:
        result = load_lookup_events(cloudtrail, start=start, end=END, sleep=Sleeps())
    asked = pd.Timestamp(calls.of("LookupEvents")[0]["StartTime"])
    assert abs(asked - (pd.Timestamp.now(tz="UTC") - pd.Timedelta(days=90))) < pd.Timedelta(minutes=1)
    [gap] = result.report.gaps.to_dict("records")
    assert gap["location"] == "lookup-events://us-east-1"
    assert gap["reason"].startswith("Event history keeps 90 days: events before ") and gap["reason"].endswith(" are gone")
    assert result.events["eventID"].tolist() == ["e1"] and not result.report.ok


def test_a_window_entirely_older_than_90_days_sends_no_request() -> None:
    cloudtrail, stub = client()
    with stub:
        result = load_lookup_events(cloudtrail, start=NOW - pd.Timedelta(days=200), end=NOW - pd.Timedelta(days=100), sleep=Sleeps())
    assert result.events.empty and len(result.report.gaps) == 1


def test_access_denied_is_a_gap() -> None:
    cloudtrail, stub = client()
    stub.add_client_error("lookup_events", "AccessDeniedException", "not authorized", 400, expected_params=expected())
    with stub:
        result = load_lookup_events(cloudtrail, start=START, end=END, sleep=Sleeps())
    assert result.report.gaps["reason"].tolist() == [
        "page 1: AccessDeniedException: not authorized; the rest of the region was not read"
    ]
    assert result.events.empty


def test_one_lookup_attribute_is_passed_on() -> None:
    cloudtrail, stub = client()
    attribute = {"AttributeKey": "Username", "AttributeValue": "alice"}
    stub.add_response("lookup_events", {"Events": []}, expected() | {"LookupAttributes": [attribute]})
    with stub:
        result = load_lookup_events(cloudtrail, start=START, end=END, lookup_attributes=[attribute], sleep=Sleeps())
        stub.assert_no_pending_responses()
    assert result.events.empty and result.report.ok


def test_a_session_gives_one_client_per_region() -> None:
    session = boto3.Session(region_name="eu-west-1", **FAKE)
    assert {r: c.meta.region_name for r, c in _clients(session, None).items()} == {"eu-west-1": "eu-west-1"}
    made = _clients(session, ["us-east-1", "ap-south-1"])
    assert {r: c.meta.region_name for r, c in made.items()} == {"us-east-1": "us-east-1", "ap-south-1": "ap-south-1"}


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"lookup_attributes": [{"AttributeKey": "Username", "AttributeValue": "a"}] * 2}, ParameterError, "single lookup attribute"),
        ({"regions": ["eu-west-1"]}, ParameterError, "serves its own region"),
        ({"regions": []}, ParameterError, "regions is empty"),
        ({"max_requests_per_second": 0}, ParameterError, "positive"),
        ({"start": "2024-03-14T02:00:00"}, WindowError, "no time zone"),
        ({"start": END, "end": START}, WindowError, "after end"),
    ],
)
def test_unusable_arguments_raise_before_any_request(arguments: dict[str, Any], error: type, message: str) -> None:
    cloudtrail, stub = client()
    with stub, pytest.raises(error, match=message):
        load_lookup_events(cloudtrail, **({"start": START, "end": END, "sleep": Sleeps()} | arguments))


def test_something_else_than_a_client_is_refused() -> None:
    with pytest.raises(ParameterError, match="not str"):
        load_lookup_events("us-east-1", start=START, end=END)
