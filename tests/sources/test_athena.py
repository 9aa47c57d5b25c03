"""Athena: the SQL text (moto does not execute SQL), then running and paging with botocore's Stubber."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pandas as pd
import pytest
from botocore.stub import Stubber

from forensics.athena import (
    AWS_DOCS_PARTITIONS,
    NO_PARTITIONS,
    SELECT_COLUMNS,
    build_query,
    create_table_sql,
    load_athena,
    quote_literal,
)
from forensics.errors import ParameterError, SourceError, WindowError
from forensics.schema import COLUMNS

START, END = "2024-03-14T02:00:00Z", "2024-03-14T03:00:00Z"
ACTOR = "coalesce(nullif(useridentity.arn, ''), nullif(useridentity.invokedby, ''), nullif(useridentity.principalid, ''), nullif(useridentity.accountid, ''))"  # noqa: E501


def where_of(sql: str) -> str:
    return sql[sql.index("\nFROM ") + 1 :]


# ------------------------------------------------------------------------ SQL text


def test_query_pushes_every_filter_down_to_partitions_and_columns() -> None:
    sql = build_query(
        "forensics.cloudtrail", start="2024-03-14T23:30:00.750Z", end="2024-03-15T00:10:00Z",
        accounts=["012345678901"], regions=["us-east-1", "eu-west-1"], actors=["arn:aws:iam::012345678901:user/mallory"],
        event_names=["PutBucketPolicy", "DeleteTrail"], limit=500,
    )  # fmt: skip
    assert where_of(sql) == (
        'FROM "forensics"."cloudtrail"\n'
        "WHERE \"day\" BETWEEN '2024/03/14' AND '2024/03/15'\n"
        "  AND eventtime BETWEEN '2024-03-14T23:30:00Z' AND '2024-03-15T00:10:00Z'\n"
        "  AND \"account\" IN ('012345678901')\n"
        "  AND \"region\" IN ('us-east-1', 'eu-west-1')\n"
        f"  AND {ACTOR} IN ('arn:aws:iam::012345678901:user/mallory')\n"
        "  AND eventname IN ('PutBucketPolicy', 'DeleteTrail')\n"
        "ORDER BY eventtime, eventid\n"
        "LIMIT 500"
    )


def test_select_list_names_schema_columns_and_flattens_structs() -> None:
    sql = build_query("cloudtrail", start=START, end=END)
    select = sql[: sql.index("\nFROM ")].splitlines()
    assert select[0] == "SELECT"
    assert select[1:] == [f'  {expression} AS "{name}",' for name, expression in SELECT_COLUMNS[:-1]] + [
        f'  {SELECT_COLUMNS[-1][1]} AS "{SELECT_COLUMNS[-1][0]}"'
    ]
    assert '  useridentity.sessioncontext.sessionissuer.arn AS "userIdentity.sessionContext.sessionIssuer.arn",' in select
    assert '  json_format(CAST(resources AS JSON)) AS "resources",' in select
    assert {name for name, _ in SELECT_COLUMNS} <= set(COLUMNS)
    assert set(COLUMNS) - {name for name, _ in SELECT_COLUMNS} == {
        "managementEvent", "userIdentity.sessionContext.sourceIdentity", "addendum", "actor", "source_file", "record_index", "copies"
    }


def test_the_delivery_days_include_the_margin_and_the_skew() -> None:
    early = build_query("t", start="2024-03-14T00:05:00Z", end="2024-03-14T23:30:00Z")
    assert "\"day\" BETWEEN '2024/03/13' AND '2024/03/15'" in early  # 00:05 - 15 min; 23:30 + 1 h
    narrow = build_query("t", start="2024-03-14T00:05:00Z", end="2024-03-14T22:00:00Z", delivery_margin="30min")
    assert "\"day\" BETWEEN '2024/03/13' AND '2024/03/14'" in narrow


def test_tables_without_account_and_region_partitions_filter_on_the_record() -> None:
    docs = build_query("t", start=START, end=END, accounts=["012345678901"], regions=["us-east-1"], partitions=AWS_DOCS_PARTITIONS)
    assert "WHERE \"timestamp\" BETWEEN '2024/03/14' AND '2024/03/14'" in docs
    assert "  AND recipientaccountid IN ('012345678901')\n  AND awsregion IN ('us-east-1')" in docs
    bare = build_query("t", start=START, end=END, partitions=NO_PARTITIONS)
    assert "WHERE eventtime BETWEEN '2024-03-14T02:00:00Z' AND '2024-03-14T03:00:00Z'\nORDER BY" in bare


@pytest.mark.parametrize(
    "hostile",
    [
        "x' OR '1'='1",
        "x'); DROP TABLE cloudtrail; --",
        "a\\' OR 1=1 --",
        "line\nbreak' UNION SELECT * FROM secrets --",
        "'",
    ],
)
def test_values_cannot_escape_their_literal(hostile: str) -> None:
    literal = quote_literal(hostile)
    assert literal == "'" + hostile.replace("'", "''") + "'"
    inner = literal[1:-1]
    assert inner.replace("''", "") .count("'") == 0  # every quote inside is doubled
    sql = build_query("t", start=START, end=END, actors=[hostile], event_names=[hostile], accounts=[hostile])
    assert sql.count(literal) == 3
    assert sql.endswith("ORDER BY eventtime, eventid")


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"table": 'ct"; DROP TABLE x; --'}, ParameterError, "letters, digits and _"),
        ({"table": "a.b.c"}, ParameterError, "'table' or 'database.table'"),
        ({"actors": []}, ParameterError, "actors is empty"),
        ({"event_names": [1]}, ParameterError, "must be strings"),
        ({"accounts": ["a\x00b"]}, ParameterError, "NUL"),
        ({"limit": 0}, ParameterError, "positive integer"),
        ({"limit": True}, ParameterError, "positive integer"),
        ({"limit": "10; DROP"}, ParameterError, "positive integer"),
        ({"partitions": NO_PARTITIONS.__class__(day='day" OR 1=1 --')}, ParameterError, "partition column"),
        ({"start": "2024-03-14T02:00:00"}, WindowError, "no time zone"),
        ({"start": END, "end": START}, WindowError, "after end"),
        ({"end": None}, WindowError, "both start and end"),
    ],
)
def test_unsafe_or_unusable_arguments_are_refused(arguments: dict[str, Any], error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        build_query(**({"table": "t", "start": START, "end": END} | arguments))


def test_create_table_projects_accounts_regions_and_days() -> None:
    ddl = create_table_sql("forensics.cloudtrail", "s3://acme-trail/audit/", organization="o-abcdef1234",
                           accounts=["012345678901", "111122223333"], regions=["us-east-1", "eu-west-1"], first_day="2024/01/01")
    lines = ddl.splitlines()
    assert lines[0] == "CREATE EXTERNAL TABLE `forensics`.`cloudtrail` ("
    assert "PARTITIONED BY (account STRING, region STRING, day STRING)" in lines
    assert "LOCATION 's3://acme-trail/audit/AWSLogs/o-abcdef1234/'" in lines
    assert lines[lines.index("TBLPROPERTIES (") + 1 :] == [
        "  'projection.enabled'='true',",
        "  'projection.account.type'='enum',",
        "  'projection.account.values'='012345678901,111122223333',",
        "  'projection.region.type'='enum',",
        "  'projection.region.values'='us-east-1,eu-west-1',",
        "  'projection.day.type'='date',",
        "  'projection.day.format'='yyyy/MM/dd',",
        "  'projection.day.range'='2024/01/01,NOW',",
        "  'projection.day.interval'='1',",
        "  'projection.day.interval.unit'='DAYS',",
        "  'storage.location.template'='s3://acme-trail/audit/AWSLogs/o-abcdef1234/${account}/CloudTrail/${region}/${day}'",
        ")",
    ]
    # every column the query selects exists in the table
    for _, expression in SELECT_COLUMNS:
        top = expression.removeprefix("json_format(CAST(").split(" ")[0].split(".")[0]
        assert any(line.strip().startswith(f"{top} ") for line in lines), top


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"location": "s3://acme-trail/x' ) --"}, "location"),
        ({"location": "/local/folder"}, "location"),
        ({"accounts": ["12345"]}, "accounts must look like 012345678901"),
        ({"accounts": ["012345678901,999999999999"]}, "accounts must look like"),
        ({"regions": ["us-east-1'"]}, "regions must look like"),
        ({"organization": "o-x'"}, "organization"),
        ({"first_day": "2024-01-01"}, "first_day"),
    ],
)
def test_create_table_refuses_values_it_cannot_write_safely(arguments: dict[str, Any], message: str) -> None:
    base = {"table": "t", "location": "s3://acme-trail", "accounts": ["012345678901"], "regions": ["us-east-1"]}
    with pytest.raises(ParameterError, match=message):
        create_table_sql(**(base | arguments))


# ------------------------------------------------------------------------ running


def cell(value: str | None) -> dict[str, str]:
    return {} if value is None else {"VarCharValue": value}


HEADER = ["eventTime", "eventID", "eventName", "userIdentity.arn", "userIdentity.type", "readOnly", "requestParameters",
          "resources", "eventversion", "_partition"]


def row(*values: str | None) -> dict[str, Any]:
    return {"Data": [cell(v) for v in values]}


def page(rows: list[dict[str, Any]], token: str | None = None, header: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {"ResultSet": {"Rows": ([row(*HEADER)] if header else []) + rows,
                                          "ResultSetMetadata": {"ColumnInfo": [{"Name": h.lower(), "Label": h, "Type": "varchar"} for h in HEADER]}}}
    return body | ({"NextToken": token} if token else {})


def athena() -> tuple[Any, Stubber]:
    client = boto3.client("athena", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
    return client, Stubber(client)


def status(state: str, reason: str | None = None) -> dict[str, Any]:
    return {"QueryExecution": {"QueryExecutionId": "q-1", "Status": {"State": state} | ({"StateChangeReason": reason} if reason else {})}}


ALICE = "arn:aws:iam::012345678901:user/alice"
PARAMS = '{"bucketName":  "acme-data", "key": "a.csv"}'  # odd spacing: must come back byte for byte


def test_results_are_polled_paged_and_mapped_into_the_schema() -> None:
    client, stub = athena()
    sql = build_query("cloudtrail", start=START, end=END)
    stub.add_response("start_query_execution", {"QueryExecutionId": "q-1"}, {
        "QueryString": sql, "QueryExecutionContext": {"Database": "forensics"},
        "ResultConfiguration": {"OutputLocation": "s3://results/"}, "WorkGroup": "ir",
    })  # fmt: skip
    for state in ("QUEUED", "RUNNING", "SUCCEEDED"):
        stub.add_response("get_query_execution", status(state), {"QueryExecutionId": "q-1"})
    first = [
        row("2024-03-14T02:20:00Z", "e2", "PutObject", ALICE, "IAMUser", "false", PARAMS, '[{"arn":"arn:aws:s3:::acme-data/a.csv","accountid":"012345678901","type":"AWS::S3::Object"}]', "1.08", "x"),
        row("2024-03-14T02:10:00Z", "e1", "GetObject", ALICE, "IAMUser", "true", None, None, "1.08", "x"),
    ]  # fmt: skip
    stub.add_response("get_query_results", page(first, "next", header=True), {"QueryExecutionId": "q-1", "MaxResults": 1000})
    second = [row("2024-03-14T04:00:00Z", "late", "GetObject", None, "AWSService", None, "{broken", None, "1.08", None)]
    stub.add_response("get_query_results", page(second), {"QueryExecutionId": "q-1", "MaxResults": 1000, "NextToken": "next"})
    waits: list[float] = []
    with stub:
        result = load_athena(client, sql, "forensics", "s3://results/", "ir", poll=0.25, sleep=waits.append, start=START, end=END)
        stub.assert_no_pending_responses()
    assert waits == [0.25, 0.25]
    events = result.events
    assert events["eventID"].tolist() == ["e1", "e2"]
    assert events["actor"].astype(str).tolist() == [ALICE, ALICE]
    assert events["readOnly"].tolist() == [True, False]
    assert events["requestParameters"].tolist()[1] == PARAMS
    assert json.loads(events["resources"].tolist()[1])[0]["type"] == "AWS::S3::Object"
    assert events["source_file"].astype(str).unique().tolist() == ["athena://q-1"]
    assert events["record_index"].tolist() == [1, 0]
    report = result.report
    assert (report.records_read, report.outside_window, report.events) == (3, 1, 2)
    assert report.source == "athena://q-1" and report.start == pd.Timestamp(START)
    assert report.files[["path", "status", "records"]].values.tolist() == [["athena://q-1", "loaded", 3]]
    issues = dict(zip(report.issues["issue"], report.issues["count"]))
    assert issues["result columns not in the events schema (ignored)"] == 1
    assert issues["requestParameters is not JSON text (kept as a JSON string)"] == 1
    assert report.issues.set_index("issue").loc["result columns not in the events schema (ignored)", "example"] == "_partition"


def test_a_failed_query_raises_with_athenas_reason() -> None:
    client, stub = athena()
    stub.add_response("start_query_execution", {"QueryExecutionId": "q-1"})
    stub.add_response("get_query_execution", status("FAILED", "COLUMN_NOT_FOUND: line 9:3: Column 'addendum' cannot be resolved"))
    with stub, pytest.raises(SourceError, match=r"athena://q-1: the query failed: COLUMN_NOT_FOUND: .*'addendum'"):
        load_athena(client, "SELECT 1", "forensics", None, sleep=lambda s: None)


def test_a_query_that_runs_too_long_is_cancelled() -> None:
    client, stub = athena()
    stub.add_response("start_query_execution", {"QueryExecutionId": "q-1"})
    for _ in range(3):
        stub.add_response("get_query_execution", status("RUNNING"))
    stub.add_response("stop_query_execution", {}, {"QueryExecutionId": "q-1"})
    waits: list[float] = []
    with stub, pytest.raises(SourceError, match="did not finish within 2 s and was cancelled"):
        load_athena(client, "SELECT 1", "forensics", None, poll=1.0, sleep=waits.append, timeout=2)
    stub.assert_no_pending_responses()
    assert waits == [1.0, 1.0]


def test_a_refused_query_raises() -> None:
    client, stub = athena()
    stub.add_client_error("start_query_execution", "InvalidRequestException", "line 1:8: mismatched input")
    with stub, pytest.raises(SourceError, match="refused start_query_execution: InvalidRequestException: line 1:8"):
        load_athena(client, "SELEC 1", "forensics", "s3://results/")


def test_an_empty_result_is_an_empty_frame() -> None:
    client, stub = athena()
    stub.add_response("start_query_execution", {"QueryExecutionId": "q-1"})
    stub.add_response("get_query_execution", status("SUCCEEDED"))
    stub.add_response("get_query_results", page([], header=True))
    with stub:
        result = load_athena(client, "SELECT ...", "forensics", "s3://results/")
    assert result.events.empty and result.report.events == 0 and result.report.gaps.empty
