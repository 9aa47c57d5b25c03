"""CloudWatch metric data: period choice and alignment, live loads (moto, Stubber), saved JSON."""

from __future__ import annotations

import datetime as dt
import json
import warnings
from collections.abc import Callable
from pathlib import Path

import boto3
import pandas as pd
import pytest
from botocore.client import BaseClient
from botocore.stub import Stubber

from forensics import metrics
from forensics.errors import MetricsError, ParameterError, SourceError
from forensics.metrics import (
    METRIC_COLUMNS,
    MetricsWarning,
    align_window,
    choose_period,
    load_metric_data,
    metric_report,
    query_window,
)
from forensics.window import Incident

NOW = "2026-03-20T12:00:00Z"
DB = [{"Name": "DBInstanceIdentifier", "Value": "orders-db"}]
FN = [{"Name": "FunctionName", "Value": "checkout-handler"}]


def query(qid: str, namespace: str, metric: str, dims: list[dict[str, str]], stat: str, period: int = 60) -> dict:
    return {"Id": qid, "MetricStat": {"Metric": {"Namespace": namespace, "MetricName": metric, "Dimensions": dims},
                                      "Period": period, "Stat": stat}}


def stub_client() -> BaseClient:
    return boto3.client("cloudwatch", region_name="us-east-1", aws_access_key_id="testing",
                        aws_secret_access_key="testing")


# --------------------------------------------------------------------------- periods and alignment


def test_window_one_day_old_uses_one_minute_periods_aligned_to_the_minute() -> None:
    inc = Incident("2026-03-19T10:07:30Z", "2026-03-19T11:02:10Z", pad="10min")
    win = query_window(inc, now=NOW)
    assert win.period == 60
    assert win.start == pd.Timestamp("2026-03-19T09:57:00Z")
    assert win.end == pd.Timestamp("2026-03-19T11:13:00Z")


def test_window_twenty_days_old_uses_five_minute_periods_aligned_to_five_minutes() -> None:
    inc = Incident("2026-02-28T10:07:30Z", "2026-02-28T11:02:10Z", pad="10min")
    win = query_window(inc, now=NOW)
    assert win.period == 300
    assert win.start == pd.Timestamp("2026-02-28T09:55:00Z")
    assert win.end == pd.Timestamp("2026-02-28T11:15:00Z")


def test_window_a_hundred_days_old_uses_hourly_periods_on_the_hour() -> None:
    inc = Incident("2025-12-10T10:07:30Z", "2025-12-10T11:02:10Z", pad="10min")
    win = query_window(inc, now=NOW)
    assert win.period == 3600
    assert win.start == pd.Timestamp("2025-12-10T09:00:00Z")
    assert win.end == pd.Timestamp("2025-12-10T12:00:00Z")


def test_window_older_than_455_days_is_gone() -> None:
    inc = Incident("2024-12-01T10:00:00Z", "2024-12-01T11:00:00Z")
    with pytest.raises(MetricsError, match="gone"):
        query_window(inc, now=NOW)


def test_period_boundaries_follow_the_retention_schedule() -> None:
    now = pd.Timestamp(NOW)
    assert choose_period(now - pd.Timedelta(days=15), now) == 60
    assert choose_period(now - pd.Timedelta(days=15, minutes=1), now) == 300
    assert choose_period(now - pd.Timedelta(days=63), now) == 300
    assert choose_period(now - pd.Timedelta(days=63, seconds=1), now) == 3600
    assert choose_period(now - pd.Timedelta(days=455), now) == 3600
    # the padded start decides: a window ending 14 days ago but padded past 15 days is 5-minute data
    inc = Incident(now - pd.Timedelta(days=14, hours=23), now - pd.Timedelta(days=14), pad="2h")
    assert query_window(inc, now=now).period == 300


def test_a_coarser_period_may_be_asked_but_not_a_finer_one() -> None:
    inc = Incident("2026-03-19T10:07:30Z", "2026-03-19T11:02:10Z", pad="0s")
    win = query_window(inc, now=NOW, period=900)
    assert (win.period, win.start, win.end) == (900, pd.Timestamp("2026-03-19T10:00:00Z"), pd.Timestamp("2026-03-19T11:15:00Z"))
    old = Incident("2026-02-28T10:00:00Z", "2026-02-28T11:00:00Z")
    with pytest.raises(MetricsError, match="not a multiple of 300"):
        query_window(old, now=NOW, period=60)


def test_align_window_keeps_aligned_bounds() -> None:
    # EndTime is exclusive: an aligned end gets one more period so its datapoint is returned
    assert align_window("2026-03-19T10:00:00Z", "2026-03-19T11:00:00Z", 300) == (
        pd.Timestamp("2026-03-19T10:00:00Z"), pd.Timestamp("2026-03-19T11:05:00Z"))


# --------------------------------------------------------------------------- live, against moto


def test_moto_one_minute_data_round_trips(cloudwatch: BaseClient, put_series: Callable[..., None]) -> None:
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    t0 = now - dt.timedelta(minutes=30)
    put_series("AWS/RDS", "DatabaseConnections", DB, t0, [12, 11, 12, 13, 0, 0])
    put_series("AWS/Lambda", "Throttles", FN, t0, [0, 0, 7, 9, 9, 8])
    inc = Incident(t0, t0 + dt.timedelta(minutes=5), pad="0s")
    queries = [query("conn", "AWS/RDS", "DatabaseConnections", DB, "Average"),
               query("thr", "AWS/Lambda", "Throttles", FN, "Sum")]
    frame = load_metric_data(cloudwatch, queries, incident=inc)
    assert tuple(frame.columns) == METRIC_COLUMNS
    assert str(frame["timestamp"].dtype) == "datetime64[us, UTC]"
    conn = frame[frame["id"] == "conn"]
    assert conn["value"].tolist() == [12, 11, 12, 13, 0, 0]
    assert conn["timestamp"].tolist() == [pd.Timestamp(t0) + pd.Timedelta(minutes=i) for i in range(6)]
    assert set(conn["dimensions"]) == {"DBInstanceIdentifier=orders-db"}
    assert set(conn["namespace"]) == {"AWS/RDS"} and set(conn["stat"]) == {"Average"} and set(conn["period"]) == {60}
    assert frame[frame["id"] == "thr"]["value"].tolist() == [0, 0, 7, 9, 9, 8]
    report = metric_report(frame)
    assert report.ok and report.period == 60 and report.calls == 1
    assert [(q.id, q.status, q.points) for q in report.queries] == [("conn", "Complete", 6), ("thr", "Complete", 6)]


def test_moto_twenty_day_old_data_comes_in_five_minute_sums_on_the_clock(
    cloudwatch: BaseClient, put_series: Callable[..., None]
) -> None:
    now = dt.datetime.now(dt.UTC)
    day = (now - dt.timedelta(days=20)).replace(hour=3, minute=0, second=0, microsecond=0)
    # one point a minute from 03:02 to 03:13: values 1..12
    put_series("AWS/Lambda", "Throttles", FN, day + dt.timedelta(minutes=2), [float(v) for v in range(1, 13)])
    inc = Incident(day + dt.timedelta(minutes=2, seconds=30), day + dt.timedelta(minutes=13), pad="0s")
    frame = load_metric_data(cloudwatch, [query("thr", "AWS/Lambda", "Throttles", FN, "Sum")], incident=inc)
    # window widened to 03:00-03:15: buckets 03:00 (1+2+3), 03:05 (4..8), 03:10 (9..12)
    assert frame["timestamp"].tolist() == [pd.Timestamp(day) + pd.Timedelta(minutes=m) for m in (0, 5, 10)]
    assert frame["value"].tolist() == [6.0, 30.0, 42.0]
    assert set(frame["period"]) == {300}
    report = metric_report(frame)
    assert (report.start, report.end) == (pd.Timestamp(day), pd.Timestamp(day) + pd.Timedelta(minutes=15))


def test_moto_hundred_day_old_data_comes_in_hourly_sums(
    cloudwatch: BaseClient, put_series: Callable[..., None]
) -> None:
    now = dt.datetime.now(dt.UTC)
    day = (now - dt.timedelta(days=100)).replace(hour=5, minute=0, second=0, microsecond=0)
    put_series("AWS/RDS", "DatabaseConnections", DB, day + dt.timedelta(minutes=50), [1.0] * 20)
    inc = Incident(day + dt.timedelta(minutes=55), day + dt.timedelta(minutes=65), pad="0s")
    frame = load_metric_data(cloudwatch, [query("c", "AWS/RDS", "DatabaseConnections", DB, "SampleCount")], incident=inc)
    assert frame["timestamp"].tolist() == [pd.Timestamp(day), pd.Timestamp(day) + pd.Timedelta(hours=1)]
    assert frame["value"].tolist() == [10.0, 10.0]
    assert set(frame["period"]) == {3600}


def test_moto_query_for_a_metric_without_data_is_listed_with_zero_points(cloudwatch: BaseClient) -> None:
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    inc = Incident(now - dt.timedelta(minutes=10), now, pad="0s")
    frame = load_metric_data(cloudwatch, [query("none", "AWS/RDS", "DatabaseConnections", DB, "Average")], incident=inc)
    assert len(frame) == 0
    assert [(q.id, q.points) for q in metric_report(frame).queries] == [("none", 0)]


# --------------------------------------------------------------------------- live, paging and status (Stubber)


def _request(queries: list[dict], start: str, end: str, token: str | None = None) -> dict:
    request = {"MetricDataQueries": queries, "StartTime": pd.Timestamp(start).to_pydatetime(),
               "EndTime": pd.Timestamp(end).to_pydatetime(), "ScanBy": "TimestampAscending"}
    if token:
        request["NextToken"] = token
    return request


def test_pages_are_followed_and_incomplete_queries_are_reported() -> None:
    client = stub_client()
    inc = Incident("2026-03-20T10:00:00Z", "2026-03-20T10:03:00Z", pad="0s")
    queries = [query("a", "AWS/RDS", "DatabaseConnections", DB, "Average"),
               query("b", "AWS/Lambda", "Throttles", FN, "Sum")]
    t = [dt.datetime(2026, 3, 20, 10, m, tzinfo=dt.UTC) for m in range(4)]
    with Stubber(client) as stub:
        stub.add_response("get_metric_data", {
            "MetricDataResults": [
                {"Id": "a", "Label": "conn", "Timestamps": t[:2], "Values": [5.0, 4.0], "StatusCode": "PartialData"},
                {"Id": "b", "Label": "thr", "Timestamps": [], "Values": [], "StatusCode": "PartialData"},
            ],
            "NextToken": "page-2",
        }, _request(queries, "2026-03-20T10:00:00Z", "2026-03-20T10:04:00Z"))
        stub.add_response("get_metric_data", {
            "MetricDataResults": [
                {"Id": "a", "Label": "conn", "Timestamps": t[2:], "Values": [0.0, 0.0], "StatusCode": "Complete"},
                {"Id": "b", "Label": "thr", "Timestamps": [], "Values": [], "StatusCode": "InternalError",
                 "Messages": [{"Code": "InternalError", "Value": "try again"}]},
            ],
        }, _request(queries, "2026-03-20T10:00:00Z", "2026-03-20T10:04:00Z", "page-2"))
        with pytest.warns(MetricsWarning, match="b: InternalError"):
            frame = load_metric_data(source=None, queries=queries, incident=inc, client=client, now="2026-03-20T12:00:00Z")
        stub.assert_no_pending_responses()
    assert frame["value"].tolist() == [5.0, 4.0, 0.0, 0.0]
    assert set(frame["status"]) == {"Complete"}
    report = metric_report(frame)
    assert not report.ok and report.calls == 2
    problems = report.problems()
    assert problems.to_dict("records") == [
        {"id": "b", "label": "thr", "status": "InternalError", "points": 0, "messages": "InternalError: try again"}]


def test_queries_are_sent_in_batches_of_at_most_500(monkeypatch: pytest.MonkeyPatch) -> None:
    assert metrics.MAX_QUERIES_PER_CALL == 500  # GetMetricData's limit
    monkeypatch.setattr(metrics, "MAX_QUERIES_PER_CALL", 3)  # the same code path, with fewer queries to stub
    client = stub_client()
    inc = Incident("2026-03-20T10:00:00Z", "2026-03-20T10:01:00Z", pad="0s")
    queries = [query(f"q{i}", "AWS/Lambda", "Throttles", [{"Name": "FunctionName", "Value": f"f{i}"}], "Sum")
               for i in range(7)]
    stamp = [dt.datetime(2026, 3, 20, 10, 0, tzinfo=dt.UTC)]
    with Stubber(client) as stub:
        for batch in (queries[:3], queries[3:6], queries[6:]):
            stub.add_response("get_metric_data", {"MetricDataResults": [
                {"Id": q["Id"], "Timestamps": stamp, "Values": [1.0], "StatusCode": "Complete"} for q in batch]},
                _request(batch, "2026-03-20T10:00:00Z", "2026-03-20T10:02:00Z"))
        frame = load_metric_data(client, queries, incident=inc, now=NOW)
        stub.assert_no_pending_responses()
    assert frame["id"].tolist() == [f"q{i}" for i in range(7)]
    assert metric_report(frame).calls == 3


def test_query_periods_finer_than_kept_are_raised_and_coarser_multiples_kept() -> None:
    client = stub_client()
    inc = Incident("2026-02-28T10:02:00Z", "2026-02-28T10:20:00Z", pad="0s")  # 5-minute data
    queries = [query("fine", "AWS/RDS", "DatabaseConnections", DB, "Average", period=60),
               query("coarse", "AWS/RDS", "CPUUtilization", DB, "Average", period=600)]
    sent = [query("fine", "AWS/RDS", "DatabaseConnections", DB, "Average", period=300),
            query("coarse", "AWS/RDS", "CPUUtilization", DB, "Average", period=600)]
    with Stubber(client) as stub:
        # aligned to lcm(300, 600) = 600 s so both periods start on the clock
        stub.add_response("get_metric_data", {"MetricDataResults": []},
                          _request(sent, "2026-02-28T10:00:00Z", "2026-02-28T10:30:00Z"))
        frame = load_metric_data(client, queries, incident=inc, now=NOW)
    assert queries[0]["MetricStat"]["Period"] == 60  # the caller's queries are not modified
    assert [(q.id, q.points) for q in metric_report(frame).queries] == [("fine", 0), ("coarse", 0)]
    bad = [query("odd", "AWS/RDS", "CPUUtilization", DB, "Average", period=420)]
    with pytest.raises(MetricsError, match="not a multiple of 300"):
        load_metric_data(client, bad, incident=inc, now=NOW)


def test_bad_calls_say_what_is_missing() -> None:
    client = stub_client()
    inc = Incident("2026-03-20T10:00:00Z", "2026-03-20T10:01:00Z")
    with pytest.raises(ParameterError, match="incident"):
        load_metric_data(client, [query("a", "AWS/RDS", "X", DB, "Average")])
    with pytest.raises(ParameterError, match="queries"):
        load_metric_data(client, incident=inc)
    with pytest.raises(ParameterError, match="not both"):
        load_metric_data(client, [], incident=inc, client=client)
    with pytest.raises(MetricsError, match="more than once"):
        load_metric_data(client, [query("a", "AWS/RDS", "X", DB, "Average")] * 2, incident=inc, now=NOW)
    with pytest.raises(MetricsError, match="neither MetricStat nor Expression"):
        load_metric_data(client, [{"Id": "a"}], incident=inc, now=NOW)
    with pytest.raises(ParameterError, match="not int"):
        load_metric_data(42, [])  # type: ignore[arg-type]


# --------------------------------------------------------------------------- offline JSON


def write_json(path: Path, document: object) -> Path:
    path.write_text(json.dumps(document, indent=2))
    return path


@pytest.fixture
def saved(tmp_path: Path) -> tuple[Path, Path]:
    """get-metric-data output as the AWS CLI writes it (newest first) and the queries sent."""
    results = write_json(tmp_path / "get-metric-data.json", {
        "MetricDataResults": [
            {"Id": "conn", "Label": "DatabaseConnections", "StatusCode": "Complete",
             "Timestamps": ["2024-03-14T02:33:00+00:00", "2024-03-14T02:32:00+00:00", "2024-03-14T02:31:00+00:00"],
             "Values": [0.0, 0.0, 14.0]},
            {"Id": "thr", "Label": "Throttles", "StatusCode": "PartialData",
             "Timestamps": ["2024-03-14T02:33:00+00:00"], "Values": [9.0]},
        ],
        "Messages": [],
    })
    queries = write_json(tmp_path / "metric-data-queries.json", [
        query("conn", "AWS/RDS", "DatabaseConnections", DB, "Average"),
        query("thr", "AWS/Lambda", "Throttles", FN, "Sum"),
    ])
    return results, queries


def test_saved_json_gives_the_same_frame_shape(saved: tuple[Path, Path]) -> None:
    results, queries = saved
    with pytest.warns(MetricsWarning, match="thr: PartialData"):
        frame = load_metric_data(results, queries)
    assert tuple(frame.columns) == METRIC_COLUMNS
    rows = frame[["timestamp", "metric", "dimensions", "stat", "value", "period", "id", "status"]].to_dict("records")
    t = pd.Timestamp
    assert rows == [
        {"timestamp": t("2024-03-14T02:31Z"), "metric": "DatabaseConnections", "dimensions": "DBInstanceIdentifier=orders-db",
         "stat": "Average", "value": 14.0, "period": 60, "id": "conn", "status": "Complete"},
        {"timestamp": t("2024-03-14T02:32Z"), "metric": "DatabaseConnections", "dimensions": "DBInstanceIdentifier=orders-db",
         "stat": "Average", "value": 0.0, "period": 60, "id": "conn", "status": "Complete"},
        {"timestamp": t("2024-03-14T02:33Z"), "metric": "DatabaseConnections", "dimensions": "DBInstanceIdentifier=orders-db",
         "stat": "Average", "value": 0.0, "period": 60, "id": "conn", "status": "Complete"},
        {"timestamp": t("2024-03-14T02:33Z"), "metric": "Throttles", "dimensions": "FunctionName=checkout-handler",
         "stat": "Sum", "value": 9.0, "period": 60, "id": "thr", "status": "PartialData"},
    ]
    assert metric_report(frame).source == str(results)


def test_saved_json_is_trimmed_to_the_padded_window_and_the_trim_counted(saved: tuple[Path, Path]) -> None:
    results, queries = saved
    inc = Incident("2024-03-14T02:32:00Z", "2024-03-14T02:40:00Z", pad="0s")
    with pytest.warns(MetricsWarning):
        frame = load_metric_data(results, json.loads(queries.read_text()), incident=inc)
    assert frame["timestamp"].min() == pd.Timestamp("2024-03-14T02:32Z")
    assert metric_report(frame).outside_window == 1


def test_saved_json_needs_queries_naming_every_id(saved: tuple[Path, Path], tmp_path: Path) -> None:
    results, _ = saved
    with pytest.raises(ParameterError, match="MetricDataQueries"):
        load_metric_data(results)
    with pytest.raises(MetricsError, match=r"\['thr'\] have no query"):
        load_metric_data(results, [query("conn", "AWS/RDS", "DatabaseConnections", DB, "Average")])
    broken = tmp_path / "broken.json"
    broken.write_text('{"MetricDataResults": [')
    with pytest.raises(SourceError, match=r"broken\.json"):
        load_metric_data(broken, [])
    with pytest.raises(SourceError, match="no MetricDataResults"):
        load_metric_data(write_json(tmp_path / "other.json", {"Records": []}), [])
    with pytest.raises(SourceError, match="file not found"):
        load_metric_data(tmp_path / "missing.json", [])


def test_warnings_module_is_quiet_for_complete_loads(saved: tuple[Path, Path], tmp_path: Path) -> None:
    results = write_json(tmp_path / "ok.json", {"MetricDataResults": [
        {"Id": "conn", "Timestamps": ["2024-03-14T02:31:00Z"], "Values": [1.0], "StatusCode": "Complete"}]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        frame = load_metric_data(results, [query("conn", "AWS/RDS", "DatabaseConnections", DB, "Average")])
    assert frame["label"].tolist() == ["conn"]
