"""The canonical events schema: one row per CloudTrail record.

Every source (local files, S3, LookupEvents, CloudWatch Logs, Athena) produces a frame with
exactly these columns, and every analysis (graph, detections, timeline, reports) reads it.
Column names are CloudTrail's own field names, nested ones joined with dots, so analysts,
Sigma rules and the AWS documentation read the same. Fields whose shape varies per API
(``requestParameters``, ``responseElements``, ``resources``, ``additionalEventData``,
``serviceEventDetails``, ``addendum``) are kept verbatim as JSON text, never flattened.

Dtypes
------
* ``eventTime``: ``datetime64[us, UTC]``; a record whose time cannot be parsed keeps
  ``NaT`` and is flagged in the load report.
* strings that repeat (event names, regions, ARNs, user agents, ``sharedEventID``) and
  the six JSON text columns: ``category`` (values are still the verbatim text; a missing
  value costs one byte). CloudTrail's request parameters, responses and resource lists
  repeat heavily (the same automation calls, the same keys and buckets): on the benchmark
  trail, 967k ``requestParameters`` hold 181k distinct texts, and as a category the column
  takes 36 bytes per event instead of 101. Text that never repeats costs 2-4 bytes of code
  per row more than a plain string would.
* strings unique per record (``eventID``, ``requestID``): pandas' Arrow-backed ``str``.
* ``readOnly``, ``managementEvent``: nullable ``boolean``.
* provenance: ``source_file`` (category), ``record_index`` (int32: position of the record
  in its file), ``copies`` (int32: how many records with this ``eventID`` were read; the
  frame keeps one).

Account IDs are strings everywhere (``"012345678901"`` keeps its leading zero).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from forensics.errors import SchemaError

#: Version of the schema; caches are keyed by it, so bump it when columns or dtypes change.
SCHEMA_VERSION = 3

CATEGORY = "category"
TEXT = "str"
BOOLEAN = "boolean"
TIME = "datetime64[us, UTC]"
INT32 = "int32"


@dataclass(frozen=True)
class Column:
    """One column of the events frame.

    Attributes
    ----------
    name
        Column name (CloudTrail's field path, dot-joined, or a derived name).
    dtype
        pandas dtype name.
    description
        One line for the README and for ``help()``.
    """

    name: str
    dtype: str
    description: str


EVENT_COLUMNS: tuple[Column, ...] = (
    Column("eventTime", TIME, "When the request was made (UTC)"),
    Column("eventVersion", CATEGORY, "Version of the record format, e.g. 1.08"),
    Column("eventSource", CATEGORY, "Service called, e.g. s3.amazonaws.com"),
    Column("eventName", CATEGORY, "API action, e.g. PutBucketPolicy"),
    Column("eventType", CATEGORY, "AwsApiCall, AwsServiceEvent, AwsConsoleSignIn, ..."),
    Column("eventCategory", CATEGORY, "Management, Data, NetworkActivity"),
    Column("awsRegion", CATEGORY, "Region the request went to"),
    Column("sourceIPAddress", CATEGORY, "Caller IP, or a service name such as ec2.amazonaws.com"),
    Column("userAgent", CATEGORY, "Caller's user agent (attacker-controlled text)"),
    Column("errorCode", CATEGORY, "Error code of a failed call, e.g. AccessDenied"),
    Column("errorMessage", CATEGORY, "Error message of a failed call"),
    Column("readOnly", BOOLEAN, "Whether the call only reads"),
    Column("managementEvent", BOOLEAN, "Whether it is a management event"),
    Column("recipientAccountId", CATEGORY, "Account that received the event"),
    Column("eventID", TEXT, "Unique ID of the record (duplicates are merged on it)"),
    Column("requestID", TEXT, "ID of the request"),
    Column("sharedEventID", CATEGORY, "Links the per-account copies of one cross-account action"),
    Column("vpcEndpointId", CATEGORY, "VPC endpoint the call came through"),
    Column("userIdentity.type", CATEGORY, "IAMUser, AssumedRole, Root, AWSService, ..."),
    Column("userIdentity.arn", CATEGORY, "ARN of the principal (session ARN for roles)"),
    Column("userIdentity.principalId", CATEGORY, "Unique ID of the principal"),
    Column("userIdentity.accountId", CATEGORY, "Account that owns the principal"),
    Column("userIdentity.accessKeyId", CATEGORY, "Access key used to sign the request"),
    Column("userIdentity.userName", CATEGORY, "Friendly name of the principal"),
    Column("userIdentity.invokedBy", CATEGORY, "Service that made the call on the principal's behalf"),
    Column("userIdentity.sessionContext.sessionIssuer.arn", CATEGORY, "Role (or user) that issued the session"),
    Column("userIdentity.sessionContext.attributes.mfaAuthenticated", CATEGORY, "'true'/'false' as CloudTrail writes it"),
    Column("userIdentity.sessionContext.sourceIdentity", CATEGORY, "Source identity set when the role was assumed"),
    Column("requestParameters", CATEGORY, "Request parameters, verbatim JSON text"),
    Column("responseElements", CATEGORY, "Response elements, verbatim JSON text"),
    Column("resources", CATEGORY, "Resources list, verbatim JSON text"),
    Column("additionalEventData", CATEGORY, "Additional event data, verbatim JSON text"),
    Column("serviceEventDetails", CATEGORY, "Service event details, verbatim JSON text"),
    Column("addendum", CATEGORY, "Addendum of late or corrected events, verbatim JSON text"),
    Column("actor", CATEGORY, "Best identity of the caller: ARN, else invokedBy, else principalId, else accountId"),
    Column("source_file", CATEGORY, "File or object the record was read from"),
    Column("record_index", INT32, "Position of the record in its file"),
    Column("copies", INT32, "Records read with this eventID (the frame keeps one)"),
)

#: Column names in order.
COLUMNS: tuple[str, ...] = tuple(c.name for c in EVENT_COLUMNS)
#: Column name -> dtype name.
DTYPES: dict[str, str] = {c.name: c.dtype for c in EVENT_COLUMNS}
#: Columns holding verbatim JSON text.
JSON_COLUMNS: tuple[str, ...] = (
    "requestParameters",
    "responseElements",
    "resources",
    "additionalEventData",
    "serviceEventDetails",
    "addendum",
)
#: Columns that are nullable booleans.
BOOLEAN_COLUMNS: tuple[str, ...] = tuple(c.name for c in EVENT_COLUMNS if c.dtype == BOOLEAN)
#: String columns (category or text) read from the record.
STRING_COLUMNS: tuple[str, ...] = tuple(
    c.name for c in EVENT_COLUMNS if c.dtype in (CATEGORY, TEXT) and c.name not in ("actor", "source_file")
)
#: Sort order of every events frame.
SORT_KEYS: tuple[str, ...] = ("eventTime", "eventID")


def empty_events() -> pd.DataFrame:
    """Return an events frame with no rows and the schema's columns and dtypes."""
    return pd.DataFrame({c.name: pd.Series([], dtype=c.dtype) for c in EVENT_COLUMNS})


def validate(events: pd.DataFrame) -> pd.DataFrame:
    """Check that a frame follows the events schema and return it unchanged.

    Parameters
    ----------
    events
        Frame to check.

    Returns
    -------
    pandas.DataFrame
        The same frame, so calls can be chained.

    Raises
    ------
    SchemaError
        If a column is missing or has another dtype than the schema's.
    """
    missing = [c for c in COLUMNS if c not in events.columns]
    if missing:
        raise SchemaError(f"events frame lacks columns {missing}; build it with forensics.load_cloudtrail")
    wrong = {
        name: str(events[name].dtype)
        for name, dtype in DTYPES.items()
        if not _dtype_matches(events[name].dtype, dtype)
    }
    if wrong:
        raise SchemaError(f"events frame has unexpected dtypes {wrong}; expected {[DTYPES[n] for n in wrong]}")
    return events


def _dtype_matches(actual: object, expected: str) -> bool:
    if expected == CATEGORY:
        return isinstance(actual, pd.CategoricalDtype)
    if expected == TEXT:
        return isinstance(actual, pd.StringDtype)
    return str(actual) == expected
