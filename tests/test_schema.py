"""The events schema: one definition, a validator, and documentation that matches it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from forensics import SchemaError, schema

README = Path(__file__).resolve().parents[1] / "README.md"


def test_empty_frame_validates():
    frame = schema.empty_events()
    assert tuple(frame.columns) == schema.COLUMNS
    assert schema.validate(frame) is frame


def test_issue_columns_are_present():
    required = """eventTime eventVersion eventSource eventName eventType eventCategory awsRegion sourceIPAddress
    userAgent errorCode errorMessage readOnly managementEvent recipientAccountId eventID requestID sharedEventID
    vpcEndpointId userIdentity.type userIdentity.arn userIdentity.principalId userIdentity.accountId
    userIdentity.accessKeyId userIdentity.userName userIdentity.invokedBy
    userIdentity.sessionContext.sessionIssuer.arn userIdentity.sessionContext.attributes.mfaAuthenticated
    requestParameters responseElements resources additionalEventData serviceEventDetails actor""".split()
    assert set(required) <= set(schema.COLUMNS)
    assert schema.DTYPES["eventTime"] == "datetime64[us, UTC]"
    assert schema.DTYPES["readOnly"] == "boolean"
    assert all(schema.DTYPES[c] in ("str", "category") for c in schema.JSON_COLUMNS)


def test_validate_names_missing_columns():
    with pytest.raises(SchemaError, match=r"lacks columns \['actor'\]"):
        schema.validate(schema.empty_events().drop(columns="actor"))


def test_validate_names_wrong_dtypes():
    frame = schema.empty_events().astype({"eventName": object})
    with pytest.raises(SchemaError, match="eventName"):
        schema.validate(frame)


def test_readme_documents_every_column_with_its_dtype():
    text = README.read_text()
    section = text[text.index("### The events schema") :]
    section = section[: section.index("\n## ")]
    rows = re.findall(r"^\| `([^`]+)` \| ([^|]+) \| ([^|]+) \|$", section, flags=re.MULTILINE)
    documented = {name: dtype.strip() for name, dtype, _ in rows}
    assert documented == schema.DTYPES
