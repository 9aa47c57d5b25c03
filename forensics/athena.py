"""Query CloudTrail with Amazon Athena when a trail is too big for one machine.

An organisation trail of many accounts and months does not fit in memory, and listing it
from S3 is slow; Athena scans it where it lives and returns only the rows asked for.
This module writes the SQL, runs it and pages the rows into the same events frame and
load report as every other source::

    >>> from forensics.athena import build_query, create_table_sql, load_athena
    >>> print(create_table_sql("forensics.cloudtrail", "s3://acme-trail/audit",
    ...                        organization="o-abcdef1234", accounts=["012345678901"],
    ...                        regions=["us-east-1", "eu-west-1"]))      # doctest: +SKIP
    >>> sql = build_query("forensics.cloudtrail", start="2024-03-14T02:00:00Z",
    ...                   end="2024-03-14T05:00:00Z", event_names=["PutBucketPolicy"])
    >>> events, report = load_athena(boto3.client("athena"), sql, "forensics",
    ...                              "s3://acme-athena-results/")       # doctest: +SKIP

The table
---------
:func:`create_table_sql` defines the columns of AWS's CloudTrail table for Athena
(``useridentity`` and ``resources`` are structs, the free-form fields strings of JSON
text, read by the CloudTrail input format), partitioned by ``account``, ``region`` and
delivery ``day`` (``yyyy/MM/dd``) with partition projection, so no partitions need to be
loaded and a query reads only the folders its ``WHERE`` names.

The query
---------
:func:`build_query` selects :data:`SELECT_COLUMNS` under the events schema's names
(struct fields flattened, e.g. ``useridentity.arn AS "userIdentity.arn"``) and pushes
down the filters: the delivery days that can hold the window (partition ``day``), the
window on ``eventtime``, accounts and regions (partitions, or ``recipientaccountid`` and
``awsregion`` in a table without them, see :class:`Partitions`), actors (the same rule
as the ``actor`` column) and event names. Every value is a quoted SQL literal and every
identifier is checked, so no value can change the query.

Not mapped, because the standard table has no column for them: ``managementEvent``,
``userIdentity.sessionContext.sourceIdentity`` and ``addendum`` stay empty; ``resources``
comes back as Athena writes a struct in JSON (lower-case field names).

The rows
--------
:func:`load_athena` starts the query, waits for it, pages ``GetQueryResults`` (the first
row of the first page is the header) and maps every column whose name is a schema column
(case does not matter), so hand-written SQL works too when it names its columns that way.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
import pandas as pd
from botocore.exceptions import BotoCoreError, ClientError

from forensics import layout, schema
from forensics.cloudtrail import DELIVERY_MARGIN, LoadResult, assemble, canonical
from forensics.errors import ParameterError, SourceError, WindowError
from forensics.reader import decode_blobs
from forensics.s3trail import describe_error
from forensics.window import TimeLike, parse_bounds

#: Events-schema column -> SQL expression over the standard CloudTrail table.
SELECT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("eventTime", "eventtime"),
    ("eventVersion", "eventversion"),
    ("eventSource", "eventsource"),
    ("eventName", "eventname"),
    ("eventType", "eventtype"),
    ("eventCategory", "eventcategory"),
    ("awsRegion", "awsregion"),
    ("sourceIPAddress", "sourceipaddress"),
    ("userAgent", "useragent"),
    ("errorCode", "errorcode"),
    ("errorMessage", "errormessage"),
    ("readOnly", "readonly"),
    ("recipientAccountId", "recipientaccountid"),
    ("eventID", "eventid"),
    ("requestID", "requestid"),
    ("sharedEventID", "sharedeventid"),
    ("vpcEndpointId", "vpcendpointid"),
    ("userIdentity.type", "useridentity.type"),
    ("userIdentity.arn", "useridentity.arn"),
    ("userIdentity.principalId", "useridentity.principalid"),
    ("userIdentity.accountId", "useridentity.accountid"),
    ("userIdentity.accessKeyId", "useridentity.accesskeyid"),
    ("userIdentity.userName", "useridentity.username"),
    ("userIdentity.invokedBy", "useridentity.invokedby"),
    ("userIdentity.sessionContext.sessionIssuer.arn", "useridentity.sessioncontext.sessionissuer.arn"),
    ("userIdentity.sessionContext.attributes.mfaAuthenticated", "useridentity.sessioncontext.attributes.mfaauthenticated"),
    ("requestParameters", "requestparameters"),
    ("responseElements", "responseelements"),
    ("resources", "json_format(CAST(resources AS JSON))"),
    ("additionalEventData", "additionaleventdata"),
    ("serviceEventDetails", "serviceeventdetails"),
)
#: The ``actor`` column's rule, in SQL.
ACTOR_SQL = (
    "coalesce(nullif(useridentity.arn, ''), nullif(useridentity.invokedby, ''), "
    "nullif(useridentity.principalid, ''), nullif(useridentity.accountid, ''))"
)
#: Rows per ``GetQueryResults`` request (the API's maximum).
RESULTS_PAGE_SIZE = 1000
#: First delivery day of the ``day`` projection when none is given (CloudTrail's launch).
FIRST_DAY = "2013/11/01"

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ACCOUNT = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
_ORGANIZATION = re.compile(r"^o-[a-z0-9]{10,32}$")
_LOCATION = re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[A-Za-z0-9!_.*()/-]*)?$")
_DAY = re.compile(r"^\d{4}/\d{2}/\d{2}$")


@dataclass(frozen=True)
class Partitions:
    """The partition columns of a CloudTrail table; ``None`` where the table has none.

    The default is the table of :func:`create_table_sql`. :data:`AWS_DOCS_PARTITIONS`
    fits the table of AWS's partition-projection example (one account and region per
    table, delivery date in a column named ``timestamp``); :data:`NO_PARTITIONS` a table
    without partitions.
    """

    account: str | None = "account"
    region: str | None = "region"
    day: str | None = "day"


AWS_DOCS_PARTITIONS = Partitions(account=None, region=None, day="timestamp")
NO_PARTITIONS = Partitions(account=None, region=None, day=None)


# ------------------------------------------------------------------------------ SQL


def build_query(
    table: str,
    *,
    start: TimeLike,
    end: TimeLike,
    accounts: Sequence[str] | None = None,
    regions: Sequence[str] | None = None,
    actors: Sequence[str] | None = None,
    event_names: Sequence[str] | None = None,
    limit: int | None = None,
    partitions: Partitions = Partitions(),
    delivery_margin: str | pd.Timedelta = DELIVERY_MARGIN,
) -> str:
    """The SELECT of a window's events from a CloudTrail table, filters pushed down.

    Parameters
    ----------
    table
        ``table`` or ``database.table`` (letters, digits and ``_``).
    start, end
        The window (ISO 8601 with a zone, or aware datetimes); both required.
    accounts, regions, actors, event_names
        Keep only rows of these accounts (the account whose trail recorded the event),
        regions, actors (as the ``actor`` column defines them) and event names.
    limit
        At most this many rows (the earliest).
    partitions
        The table's partition columns (see :class:`Partitions`).
    delivery_margin
        How long after ``end`` an event may have been delivered: the ``day`` partitions
        from ``start`` minus :data:`forensics.layout.DELIVERY_SKEW` to ``end`` plus this
        are read.

    Raises
    ------
    ParameterError
        If a name, a value or ``limit`` is not usable.
    WindowError
        If a time is missing, naive, invalid, or ``start`` is after ``end``.
    """
    lo, hi = _window(start, end)
    clauses: list[str] = []
    if partitions.day:
        first = (lo - layout.DELIVERY_SKEW).strftime("%Y/%m/%d")
        last = (hi + pd.Timedelta(delivery_margin)).strftime("%Y/%m/%d")
        clauses.append(f"{_column(partitions.day)} BETWEEN {quote_literal(first)} AND {quote_literal(last)}")
    first_second, last_second = (quote_literal(ts.floor("s").strftime("%Y-%m-%dT%H:%M:%SZ")) for ts in (lo, hi))
    clauses.append(f"eventtime BETWEEN {first_second} AND {last_second}")
    filters = (
        (accounts, _column(partitions.account) if partitions.account else "recipientaccountid", "accounts"),
        (regions, _column(partitions.region) if partitions.region else "awsregion", "regions"),
        (actors, ACTOR_SQL, "actors"),
        (event_names, "eventname", "event_names"),
    )
    for values, expression, name in filters:
        if values is not None:
            clauses.append(f"{expression} IN ({', '.join(quote_literal(v) for v in _values(values, name))})")
    select = ",\n".join(f"  {expression} AS {_alias(name)}" for name, expression in SELECT_COLUMNS)
    lines = [f"SELECT\n{select}", f"FROM {_table(table)}", "WHERE " + "\n  AND ".join(clauses)]
    lines.append("ORDER BY eventtime, eventid")
    if limit is not None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ParameterError(f"limit must be a positive integer, not {limit!r}")
        lines.append(f"LIMIT {limit}")
    return "\n".join(lines)


def create_table_sql(
    table: str,
    location: str,
    *,
    accounts: Sequence[str],
    regions: Sequence[str],
    organization: str | None = None,
    first_day: str = FIRST_DAY,
) -> str:
    """``CREATE EXTERNAL TABLE`` for a trail's logs, partition projection by account, region and day.

    Parameters
    ----------
    table
        ``table`` or ``database.table``.
    location
        The trail's bucket and prefix, ``s3://bucket[/prefix]`` (the part before ``AWSLogs/``).
    accounts, regions
        Every account and region the projection may read (enumerated partitions).
    organization
        The ``o-...`` folder of an organisation trail.
    first_day
        First delivery day (``yyyy/MM/dd``) of the projection; it ends today (``NOW``).

    Raises
    ------
    ParameterError
        If a name or value is not of the expected form.
    """
    if not _LOCATION.match(location):
        raise ParameterError(f"location must look like s3://bucket/prefix, not {location!r}")
    if organization is not None and not _ORGANIZATION.match(organization):
        raise ParameterError(f"organization must look like o-abcdef1234, not {organization!r}")
    if not _DAY.match(first_day):
        raise ParameterError(f"first_day must look like 2024/01/31, not {first_day!r}")
    account_list = _checked(accounts, _ACCOUNT, "accounts", "012345678901")
    region_list = _checked(regions, _REGION, "regions", "eu-west-1")
    root = location.rstrip("/") + "/AWSLogs/" + (f"{organization}/" if organization else "")
    name = ".".join(f"`{part}`" for part in _table_parts(table))
    properties = {
        "projection.enabled": "true",
        "projection.account.type": "enum",
        "projection.account.values": ",".join(account_list),
        "projection.region.type": "enum",
        "projection.region.values": ",".join(region_list),
        "projection.day.type": "date",
        "projection.day.format": "yyyy/MM/dd",
        "projection.day.range": f"{first_day},NOW",
        "projection.day.interval": "1",
        "projection.day.interval.unit": "DAYS",
        "storage.location.template": root + "${account}/CloudTrail/${region}/${day}",
    }
    props = ",\n".join(f"  '{key}'='{value}'" for key, value in properties.items())
    return (
        f"CREATE EXTERNAL TABLE {name} (\n{_TABLE_COLUMNS}\n)\n"
        "PARTITIONED BY (account STRING, region STRING, day STRING)\n"
        "ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'\n"
        "STORED AS INPUTFORMAT 'com.amazon.emr.cloudtrail.CloudTrailInputFormat'\n"
        "OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'\n"
        f"LOCATION '{root}'\n"
        f"TBLPROPERTIES (\n{props}\n)"
    )


_TABLE_COLUMNS = """\
  eventversion STRING,
  useridentity STRUCT<
    type: STRING, principalid: STRING, arn: STRING, accountid: STRING, invokedby: STRING,
    accesskeyid: STRING, username: STRING,
    onbehalfof: STRUCT<userid: STRING, identitystorearn: STRING>,
    sessioncontext: STRUCT<
      attributes: STRUCT<mfaauthenticated: STRING, creationdate: STRING>,
      sessionissuer: STRUCT<type: STRING, principalid: STRING, arn: STRING, accountid: STRING, username: STRING>,
      ec2roledelivery: STRING,
      webidfederationdata: STRUCT<federatedprovider: STRING, attributes: MAP<STRING, STRING>>>>,
  eventtime STRING,
  eventsource STRING,
  eventname STRING,
  awsregion STRING,
  sourceipaddress STRING,
  useragent STRING,
  errorcode STRING,
  errormessage STRING,
  requestparameters STRING,
  responseelements STRING,
  additionaleventdata STRING,
  requestid STRING,
  eventid STRING,
  readonly STRING,
  resources ARRAY<STRUCT<arn: STRING, accountid: STRING, type: STRING>>,
  eventtype STRING,
  apiversion STRING,
  recipientaccountid STRING,
  serviceeventdetails STRING,
  sharedeventid STRING,
  vpcendpointid STRING,
  eventcategory STRING,
  tlsdetails STRUCT<tlsversion: STRING, ciphersuite: STRING, clientprovidedhostheader: STRING>"""


def quote_literal(value: str) -> str:
    """A SQL string literal holding exactly ``value`` (quotes doubled).

    Raises
    ------
    ParameterError
        If ``value`` is not a string or holds a NUL character.
    """
    if not isinstance(value, str):
        raise ParameterError(f"SQL values must be strings, not {type(value).__name__} ({value!r})")
    if "\x00" in value:
        raise ParameterError(f"SQL values cannot hold NUL characters: {value!r}")
    return "'" + value.replace("'", "''") + "'"


def _window(start: TimeLike, end: TimeLike) -> tuple[pd.Timestamp, pd.Timestamp]:
    lo, hi = parse_bounds(start, end)
    if lo is None or hi is None:
        raise WindowError("an Athena query needs both start and end (a trail table is too big to scan whole)")
    return lo, hi


def _values(values: Sequence[str], name: str) -> list[str]:
    items = [values] if isinstance(values, str) else list(values)
    if not items:
        raise ParameterError(f"{name} is empty; give at least one value, or None for all")
    return items


def _checked(values: Sequence[str], pattern: re.Pattern[str], name: str, example: str) -> list[str]:
    items = _values(values, name)
    bad = [v for v in items if not isinstance(v, str) or not pattern.match(v)]
    if bad:
        raise ParameterError(f"{name} must look like {example}: {bad!r}")
    return items


def _table_parts(table: str) -> list[str]:
    parts = table.split(".") if isinstance(table, str) else []
    if not 1 <= len(parts) <= 2 or not all(_IDENTIFIER.match(p) for p in parts):
        raise ParameterError(f"table must be 'table' or 'database.table' of letters, digits and _, not {table!r}")
    return parts


def _table(table: str) -> str:
    return ".".join(f'"{part}"' for part in _table_parts(table))


def _column(name: str) -> str:
    if not _IDENTIFIER.match(name):
        raise ParameterError(f"partition column names are letters, digits and _, not {name!r}")
    return f'"{name}"'


def _alias(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# ------------------------------------------------------------------------------ running


def load_athena(
    client: Any,
    sql: str,
    database: str,
    output_location: str | None,
    workgroup: str | None = None,
    *,
    poll: float = 1.0,
    sleep: Callable[[float], object] = time.sleep,
    timeout: float | None = None,
    start: TimeLike | None = None,
    end: TimeLike | None = None,
) -> LoadResult:
    """Run a query and load its rows into the events frame.

    Parameters
    ----------
    client
        A boto3 Athena client.
    sql
        The query, usually from :func:`build_query`.
    database
        The database the query runs in.
    output_location
        ``s3://`` folder for Athena's result files (``None`` when the workgroup sets it).
    workgroup
        The Athena workgroup (``None``: the account's default).
    poll
        Seconds between status checks.
    sleep
        Called with the seconds to wait; tests pass a recorder.
    timeout
        Cancel the query when it has not finished after this many seconds of waiting.
    start, end
        The window the query selects, if any: recorded in the report, and rows outside
        it are counted and dropped (the SQL compares whole seconds).

    Returns
    -------
    LoadResult
        ``source_file`` is ``athena://<query execution id>`` and ``record_index`` the
        row number in the result.

    Raises
    ------
    SourceError
        If the query cannot start, fails, is cancelled or times out, or its results
        cannot be read.
    """
    lo, hi = parse_bounds(start, end)
    request: dict[str, Any] = {"QueryString": sql, "QueryExecutionContext": {"Database": database}}
    if output_location:
        request["ResultConfiguration"] = {"OutputLocation": output_location}
    if workgroup:
        request["WorkGroup"] = workgroup
    query_id = _call(client.start_query_execution, "athena://", **request)["QueryExecutionId"]
    location = f"athena://{query_id}"
    _wait(client, query_id, location, poll, sleep, timeout)
    header, rows = _results(client, query_id, location)
    records, issues = _records(header, rows, location)
    batch = decode_blobs([(0, location, msgspec.json.encode({"Records": records}))])
    table = canonical(batch.tables)
    return assemble(location, table, [location], batch.outcomes, issues + batch.issues, lo, hi, pd.Timedelta(0))


def _call(method: Callable[..., dict[str, Any]], location: str, **params: Any) -> dict[str, Any]:
    try:
        return method(**params)
    except (ClientError, BotoCoreError) as exc:
        raise SourceError(f"Athena refused {method.__name__}: {describe_error(exc)}", location) from None


def _wait(
    client: Any, query_id: str, location: str, poll: float, sleep: Callable[[float], object], timeout: float | None
) -> None:
    """Return when the query succeeded; raise when it failed, was cancelled or ran out of time."""
    waited = 0.0
    while True:
        status = _call(client.get_query_execution, location, QueryExecutionId=query_id)["QueryExecution"]["Status"]
        state = status.get("State")
        if state == "SUCCEEDED":
            return
        if state in ("FAILED", "CANCELLED"):
            reason = status.get("StateChangeReason", "no reason given")
            raise SourceError(f"the query {state.lower()}: {reason}", location)
        if timeout is not None and waited >= timeout:
            _call(client.stop_query_execution, location, QueryExecutionId=query_id)
            raise SourceError(f"the query did not finish within {timeout:g} s and was cancelled", location)
        sleep(poll)
        waited += poll


def _results(client: Any, query_id: str, location: str) -> tuple[list[str], list[list[str | None]]]:
    """The header and the rows of a finished query, every page."""
    header: list[str] | None = None
    rows: list[list[str | None]] = []
    params: dict[str, Any] = {"QueryExecutionId": query_id, "MaxResults": RESULTS_PAGE_SIZE}
    seen: set[str] = set()
    while True:
        page = _call(client.get_query_results, location, **params)
        result = page["ResultSet"]
        values = [[cell.get("VarCharValue") for cell in row.get("Data", [])] for row in result.get("Rows", [])]
        if header is None:
            labels = [c["Label"] for c in result.get("ResultSetMetadata", {}).get("ColumnInfo", [])]
            header = [str(v) for v in values[0]] if values else labels
            values = values[1:]
        rows += values
        token = page.get("NextToken")
        if not token:
            return header, rows
        if token in seen:
            raise SourceError(f"GetQueryResults repeated a NextToken after {len(rows)} rows", location)
        seen.add(token)
        params["NextToken"] = token


def _records(
    header: list[str], rows: list[list[str | None]], location: str
) -> tuple[list[dict[str, Any]], list[dict[str, object]]]:
    """Rows as CloudTrail records (nested by the dots of the column names) and issues found on the way."""
    known = {name.lower(): name for name in schema.COLUMNS}
    columns = [known.get(label.lower()) for label in header]
    issues: list[dict[str, object]] = []
    ignored = [label for label, name in zip(header, columns) if name is None]
    if ignored:
        issues.append({"path": location, "issue": "result columns not in the events schema (ignored)",
                       "count": len(ignored), "first_record": None, "example": ", ".join(ignored)[:200]})  # fmt: skip
    not_json: dict[str, list[tuple[int, str]]] = {}
    records: list[dict[str, Any]] = []
    for index, row in enumerate(rows):
        record: dict[str, Any] = {}
        for name, value in zip(columns, row):
            if name is None or value is None:
                continue
            if name in schema.JSON_COLUMNS:
                try:
                    msgspec.json.decode(value)
                    value = msgspec.Raw(value.encode("utf-8"))
                except (msgspec.DecodeError, RecursionError):
                    not_json.setdefault(name, []).append((index, value))
            elif name in schema.BOOLEAN_COLUMNS and value.strip().lower() in ("true", "false"):
                value = value.strip().lower() == "true"
            _put(record, name.split("."), value)
        records.append(record)
    for name, found in not_json.items():
        issues.append({"path": location, "issue": f"{name} is not JSON text (kept as a JSON string)",
                       "count": len(found), "first_record": found[0][0], "example": found[0][1][:200]})  # fmt: skip
    return records, issues


def _put(record: dict[str, Any], path: list[str], value: object) -> None:
    for key in path[:-1]:
        record = record.setdefault(key, {})
    record[path[-1]] = value
