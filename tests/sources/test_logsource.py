"""The CloudWatch Logs source against a real moto server (which accepts only events of the last 14 days,
so every time here is relative to now)."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import pytest
from moto_helpers import Calls, Moto

from cloudtrail_builders import ACCOUNT, assumed_role, record
from forensics.errors import ParameterError, WindowError
from forensics.logsource import SIZE_CAVEAT, load_log_group, records_document

GROUP = "aws-cloudtrail-logs-acme"
EAST, WEST = f"{ACCOUNT}_CloudTrail_us-east-1", f"{ACCOUNT}_CloudTrail_eu-west-1"
NOW = pd.Timestamp.now(tz="UTC").floor("min")
START, END = NOW - pd.Timedelta(minutes=60), NOW - pd.Timedelta(minutes=20)


def ago(minutes: int) -> pd.Timestamp:
    return NOW - pd.Timedelta(minutes=minutes)


def iso(ts: pd.Timestamp) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def put(logs: Any, stream: str, events: list[tuple[pd.Timestamp, str]]) -> None:
    logs.create_log_stream(logGroupName=GROUP, logStreamName=stream)
    batch = [{"timestamp": int(ts.timestamp() * 1000), "message": message} for ts, message in events]
    logs.put_log_events(logGroupName=GROUP, logStreamName=stream, logEvents=batch)


@pytest.fixture
def logs(moto: Moto) -> Any:
    """Two CloudTrail streams around the window (now-60 min to now-20 min).

    us-east-1: ``early`` (eventTime 61 min ago, logged 59 min ago: inside the slack, outside the
    window), e1 (50), a message that is not JSON (45), e2 (40), ``old`` (3 h ago, never asked for).
    eu-west-1: e3 (30), by a role session.
    """
    client = moto.client("logs")
    client.create_log_group(logGroupName=GROUP)
    message = lambda event_id, ts, **fields: json.dumps(record(event_id, iso(ts), **fields))  # noqa: E731
    put(client, EAST, [
        (ago(180), message("old", ago(180))),
        (ago(59), message("early", ago(61))),
        (ago(50), message("e1", ago(50))),
        (ago(45), "this is not json: CloudWatch Logs agent restarted"),
        (ago(40), message("e2", ago(40), name="PutObject", readOnly=False)),
    ])  # fmt: skip
    put(client, WEST, [(ago(30), message("e3", ago(30), identity=assumed_role(), region="eu-west-1"))])
    return client


def test_events_of_the_window_with_broken_messages_counted(logs: Any) -> None:
    calls = Calls(logs)
    result = load_log_group(logs, GROUP, start=START, end=END, page_size=2)
    assert result.events["eventID"].tolist() == ["e1", "e2", "e3"]
    assert result.events["source_file"].astype(str).tolist() == [f"logs://{GROUP}/{EAST}"] * 2 + [f"logs://{GROUP}/{WEST}"]
    assert result.events["record_index"].tolist() == [1, 3, 0]
    assert result.events["readOnly"].tolist() == [True, False, True]
    assert result.events["eventTime"].tolist() == [ago(50), ago(40), ago(30)]
    # a clean stream keeps requestParameters byte for byte (json.dumps' default spacing)
    e3 = result.events.set_index("eventID").loc["e3"]
    assert e3["requestParameters"] == json.dumps(record("e3", "")["requestParameters"])
    assert e3["actor"] == "arn:aws:sts::012345678901:assumed-role/DataPipelineRole/etl"

    report = result.report
    files = report.files.set_index("path")
    assert files.loc[f"logs://{GROUP}/{EAST}", ["status", "records", "rejected"]].tolist() == ["recovered", 3, 1]
    assert files.loc[f"logs://{GROUP}/{WEST}", ["status", "records", "rejected"]].tolist() == ["loaded", 1, 0]
    assert report.issues[["path", "issue", "count"]].values.tolist() == [
        [f"logs://{GROUP}/{EAST}", "record is not a JSON object (rejected)", 1],
    ]
    assert report.issues["first_record"].tolist() == [2]
    assert report.notes == (SIZE_CAVEAT,)
    assert ("note", SIZE_CAVEAT) in list(report.summary().itertuples(index=False, name=None))
    assert report.issues["example"].iloc[0] == "this is not json: CloudWatch Logs agent restarted"
    assert (report.records_read, report.records_rejected, report.outside_window, report.events) == (5, 1, 1, 3)
    assert not report.ok and report.gaps.empty

    requests = calls.of("FilterLogEvents")
    assert len(requests) == 3  # 5 log events in the asked range, 2 per page
    first = requests[0]
    assert "filterPattern" not in first
    assert (first["startTime"], first["endTime"]) == (int(ago(75).timestamp() * 1000), int(ago(5).timestamp() * 1000))


def test_a_stream_prefix_reads_only_those_streams(logs: Any) -> None:
    result = load_log_group(logs, GROUP, start=START, end=END, log_stream_prefix=WEST)
    assert result.events["eventID"].tolist() == ["e3"]
    assert result.report.records_rejected == 0 and result.report.ok


def test_a_missing_log_group_is_a_gap(moto: Moto) -> None:
    result = load_log_group(moto.client("logs"), "no-such-group", start=START, end=END)
    assert result.events.empty
    assert result.report.gaps.to_dict("records") == [{
        "location": "logs://no-such-group",
        "reason": "cannot read: ResourceNotFoundException: The specified log group does not exist.",
    }]  # fmt: skip
    assert not result.report.ok


def test_records_document_keeps_json_messages_verbatim_and_quotes_the_rest() -> None:
    document = records_document(['{"eventID": "a"}', "plain text \"quoted\"", "[1, 2]", "lone \udc80 surrogate"])
    assert document == b'{"Records":[{"eventID": "a"},"plain text \\"quoted\\"",[1, 2],"lone \\\\udc80 surrogate"]}'
    assert json.loads(document)["Records"][0] == {"eventID": "a"}


def test_window_and_page_size_are_checked(logs: Any) -> None:
    with pytest.raises(WindowError, match="both start and end"):
        load_log_group(logs, GROUP, start=START, end=None)  # type: ignore[arg-type]
    with pytest.raises(WindowError, match="no time zone"):
        load_log_group(logs, GROUP, start="2024-03-14T02:00:00", end=END)
    with pytest.raises(ParameterError, match="page_size"):
        load_log_group(logs, GROUP, start=START, end=END, page_size=0)
