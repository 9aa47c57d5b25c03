"""Stacked alarm panels: thresholds, ALARM periods, the incident window, calls, causes, UTC axis."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import pandas as pd
import pytest
from cloudtrail_builders import assumed_role, iam_user, record
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure

from forensics.alarms import load_alarm_history, load_alarms
from forensics.cloudtrail import load_cloudtrail
from forensics.errors import ParameterError
from forensics.metrics import load_metric_data
from forensics.timeline import probable_causes
from forensics.timelineplot import alarm_panels, alarm_periods
from forensics.window import Incident

DB = [{"Name": "DBInstanceIdentifier", "Value": "orders-db"}]
FN = [{"Name": "FunctionName", "Value": "checkout-handler"}]
INCIDENT = Incident("2024-03-14T02:15:00Z", "2024-03-14T02:50:00Z", pad="10min")


def write_json(path: Path, document: object) -> Path:
    path.write_text(json.dumps(document))
    return path


def call(event_id: str, minute: str, name: str, source: str, params: dict, who: dict, **fields: object) -> dict:
    return record(event_id, f"2024-03-14T{minute}:00Z", name=name, source=f"{source}.amazonaws.com", identity=who,
                  requestParameters=params, readOnly=False, managementEvent=True, eventCategory="Management", **fields)


@pytest.fixture
def scene(tmp_path: Path) -> dict[str, pd.DataFrame]:
    alice, mallory = iam_user("alice"), assumed_role("OpsAdmin", "$mallory")  # a '$' must not turn into math
    events = load_cloudtrail(write_json(tmp_path / "trail.json", {"Records": [
        call("db-stop", "02:20", "StopDBInstance", "rds", {"dBInstanceIdentifier": "orders-db"}, alice),
        call("denied", "02:26", "RebootDBInstance", "rds", {"dBInstanceIdentifier": "orders-db"}, mallory,
             errorCode="AccessDenied"),
        call("fn-zero", "02:35", "PutFunctionConcurrency20171031", "lambda",
             {"functionName": "checkout-handler", "reservedConcurrentExecutions": 0}, mallory),
        call("early", "01:00", "StopDBInstance", "rds", {"dBInstanceIdentifier": "other-db"}, alice),
    ]})).events
    minutes = pd.date_range("2024-03-14T02:05Z", "2024-03-14T02:59Z", freq="1min")
    stamps = [t.isoformat() for t in minutes]
    metrics = load_metric_data(write_json(tmp_path / "data.json", {"MetricDataResults": [
        {"Id": "conn", "Timestamps": stamps, "Values": [14.0 if t.minute < 21 else 0.0 for t in minutes]},
        {"Id": "thr", "Timestamps": stamps, "Values": [0.0 if t.minute < 35 else 40.0 for t in minutes]},
        {"Id": "cpu", "Timestamps": stamps, "Values": [30.0] * len(minutes)},
    ]}), [
        {"Id": "conn", "MetricStat": {"Metric": {"Namespace": "AWS/RDS", "MetricName": "DatabaseConnections",
                                                 "Dimensions": DB}, "Period": 60, "Stat": "Average"}},
        {"Id": "thr", "MetricStat": {"Metric": {"Namespace": "AWS/Lambda", "MetricName": "Throttles",
                                                "Dimensions": FN}, "Period": 60, "Stat": "Sum"}},
        {"Id": "cpu", "MetricStat": {"Metric": {"Namespace": "AWS/RDS", "MetricName": "CPUUtilization",
                                                "Dimensions": DB}, "Period": 60, "Stat": "Average"}},
    ])

    def alarm(name: str, namespace: str, metric: str, dims: list, threshold: float, op: str) -> dict:
        return {"AlarmName": name, "Namespace": namespace, "MetricName": metric, "Dimensions": dims, "Statistic": "Sum",
                "Period": 60, "EvaluationPeriods": 1, "Threshold": threshold, "ComparisonOperator": op, "StateValue": "OK"}

    alarms = load_alarms(write_json(tmp_path / "alarms.json", {"MetricAlarms": [
        alarm("orders-db-connections", "AWS/RDS", "DatabaseConnections", DB, 1.0, "LessThanThreshold"),
        alarm("checkout-throttles", "AWS/Lambda", "Throttles", FN, 0.0, "GreaterThanThreshold"),
    ]}))

    def change(name: str, time: str, old: str, new: str) -> dict:
        data = {"oldState": {"stateValue": old}, "newState": {"stateValue": new, "stateReason": "r"}}
        return {"AlarmName": name, "Timestamp": time, "HistoryItemType": "StateUpdate",
                "HistorySummary": f"Alarm updated from {old} to {new}", "HistoryData": json.dumps(data)}

    history = load_alarm_history(write_json(tmp_path / "history.json", {"AlarmHistoryItems": [
        change("orders-db-connections", "2024-03-14T02:31:00Z", "OK", "ALARM"),
        change("orders-db-connections", "2024-03-14T02:48:00Z", "ALARM", "OK"),
        change("checkout-throttles", "2024-03-14T02:40:00Z", "OK", "ALARM"),
    ]}))
    causes = probable_causes(events, history, alarms)
    return {"events": events, "metrics": metrics, "alarms": alarms, "history": history, "causes": causes}


def gids(ax: object) -> list[str]:
    artists = [*ax.lines, *ax.patches, *ax.collections, *ax.texts]  # type: ignore[attr-defined]
    return sorted(a.get_gid() for a in artists if a.get_gid())


def draw(scene: dict[str, pd.DataFrame], **options: object) -> Figure:
    return alarm_panels(scene["metrics"], events=scene["events"], alarms=scene["alarms"],
                        alarm_history=scene["history"], causes=scene["causes"], incident=INCIDENT, **options)


def test_panels_show_thresholds_alarm_periods_window_and_causes(scene: dict[str, pd.DataFrame]) -> None:
    figure = draw(scene)
    conn, thr, cpu, _ = figure.axes
    # series with an alarm come first; the alarm-less CPU series after them
    assert [ax.get_title(loc="left") for ax in (conn, thr, cpu)] == [
        "AWS/RDS DatabaseConnections DBInstanceIdentifier=orders-db (Average)",
        "AWS/Lambda Throttles FunctionName=checkout-handler (Sum)",
        "AWS/RDS CPUUtilization DBInstanceIdentifier=orders-db (Average)",
    ]
    assert gids(conn) == ["alarm:orders-db-connections", "cause:db-stop", "cause:db-stop",
                          "threshold:orders-db-connections", "window"]
    assert gids(thr) == ["alarm:checkout-throttles", "cause:fn-zero", "cause:fn-zero", "threshold:checkout-throttles", "window"]
    assert gids(cpu) == ["window"]
    threshold = next(line for line in conn.lines if line.get_gid() == "threshold:orders-db-connections")
    assert list(threshold.get_ydata()) == [1.0, 1.0]
    annotation = next(t for t in conn.texts if t.get_gid() == "cause:db-stop")
    assert annotation.get_text() == "StopDBInstance by alice\n11 min before alarm"
    legend = [t.get_text() for t in conn.get_legend().get_texts()]
    assert legend == ["incident window", "orders-db-connections < 1"]
    # the ALARM period of the connections alarm is 02:31-02:48; the throttles one is still open at the axis end
    span = next(p for p in conn.patches if p.get_gid() == "alarm:orders-db-connections")
    x0, x1 = span.get_x(), span.get_x() + span.get_width()
    assert matplotlib.dates.num2date(x0) == pd.Timestamp("2024-03-14T02:31Z")
    assert matplotlib.dates.num2date(x1) == pd.Timestamp("2024-03-14T02:48Z")
    assert matplotlib.dates.num2date(conn.get_xlim()[0]) == INCIDENT.padded_start
    assert matplotlib.dates.num2date(conn.get_xlim()[1]) == INCIDENT.padded_end


def test_events_panel_has_one_marker_per_call_in_the_window_and_marks_failures(scene: dict[str, pd.DataFrame]) -> None:
    calls = draw(scene).axes[-1]
    markers = {c.get_gid(): c for c in calls.collections if isinstance(c, PathCollection)}
    assert len(markers["events"].get_offsets()) == 3  # the 01:00 call lies outside the padded window
    assert len(markers["failed"].get_offsets()) == 1
    labels = [t.get_text() for t in calls.get_yticklabels()]
    assert labels == [r"OpsAdmin/\$mallory", "user/alice"]
    assert calls.get_title(loc="left") == "CloudTrail calls (3)"
    assert sorted(gids(calls)) == ["cause:db-stop", "cause:fn-zero", "events", "failed", "window"]


def test_axis_is_labelled_in_utc_whatever_the_local_timezone(scene: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    with matplotlib.rc_context({"timezone": "Asia/Tokyo"}):
        figure = draw(scene)
        figure.savefig(tmp_path / "panels.png")  # renders (mathtext included) without error
        calls = figure.axes[-1]
        ticks = [t.get_text() for t in calls.get_xticklabels()]
    assert calls.get_xlabel() == "time (UTC)"
    assert "02:30" in ticks and "11:30" not in ticks
    assert (tmp_path / "panels.png").stat().st_size > 10_000


def test_a_low_confidence_cause_says_so_and_causes_off_the_axis_are_not_drawn(scene: dict[str, pd.DataFrame]) -> None:
    causes = scene["causes"].copy()
    causes.loc[causes["eventID"] == "db-stop", "confidence"] = "low"
    figure = alarm_panels(scene["metrics"], alarms=scene["alarms"], causes=causes, incident=INCIDENT)
    annotation = next(t for t in figure.axes[0].texts if t.get_gid() == "cause:db-stop")
    assert annotation.get_text().endswith("11 min before alarm, low confidence")
    narrow = Incident("2024-03-14T02:30:00Z", "2024-03-14T02:50:00Z", pad="0s")  # db-stop (02:20) is off the axis
    figure = alarm_panels(scene["metrics"], alarms=scene["alarms"], causes=causes, incident=narrow)
    assert "cause:db-stop" not in gids(figure.axes[0])


def test_series_can_be_chosen_and_unknown_ones_are_refused(scene: dict[str, pd.DataFrame]) -> None:
    figure = alarm_panels(scene["metrics"], series=["cpu"])
    assert len(figure.axes) == 1 and gids(figure.axes[0]) == []
    assert "showing 1 of 3 series" in figure.get_suptitle()
    with pytest.raises(ParameterError, match=r"\['nope'\] are not in the metrics frame"):
        alarm_panels(scene["metrics"], series=["nope"])


def test_alarm_periods_open_before_or_after_the_history() -> None:
    t = pd.Timestamp
    history = pd.DataFrame({"alarm_name": ["a", "a", "a"], "old_state": ["ALARM", "OK", "INSUFFICIENT_DATA"],
                            "new_state": ["OK", "INSUFFICIENT_DATA", "ALARM"],
                            "time": [t("2024-03-14T02:10Z"), t("2024-03-14T02:20Z"), t("2024-03-14T02:30Z")]})
    assert alarm_periods(history, "a", t("2024-03-14T02:00Z"), t("2024-03-14T03:00Z")) == [
        (t("2024-03-14T02:00Z"), t("2024-03-14T02:10Z")), (t("2024-03-14T02:30Z"), t("2024-03-14T03:00Z"))]
    assert alarm_periods(history, "b", t("2024-03-14T02:00Z"), t("2024-03-14T03:00Z")) == []
