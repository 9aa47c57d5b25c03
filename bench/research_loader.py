"""The research's best loader design, rebuilt as a baseline for ``bench_load.py``.

``perf-baseline.md`` measured this design ("g′": 0.057 × naive on two cores, "f″" on one):
msgspec typed structs of the **24 standard columns** (``requestParameters`` kept as raw JSON
text), Python column lists turned into Arrow every ~250k rows with GC off, then pandas. No
categoricals, no sorting, no duplicate check, no ``actor``, no load report, no tolerance
for bad files. It is the anchor that separates "how wide is the schema" from "how efficient
is the loader": ``forensics`` fills 36 record columns and does all of the above.

Not part of the package: a bad file makes it raise, as the research's version did.
"""

from __future__ import annotations

import gc
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import msgspec
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from isal import isal_zlib

from forensics.records import text_array

ROWS_PER_ARROW = 250_000


class _Issuer(msgspec.Struct, gc=False):
    arn: str | None = None


class _Context(msgspec.Struct, gc=False):
    sessionIssuer: _Issuer | None = None


class _Identity(msgspec.Struct, gc=False):
    type: str | None = None
    arn: str | None = None
    principalId: str | None = None
    accountId: str | None = None
    accessKeyId: str | None = None
    invokedBy: str | None = None
    sessionContext: _Context | None = None


class _Record(msgspec.Struct, gc=False):
    eventTime: str | None = None
    eventVersion: str | None = None
    eventSource: str | None = None
    eventName: str | None = None
    eventType: str | None = None
    eventCategory: str | None = None
    awsRegion: str | None = None
    sourceIPAddress: str | None = None
    userAgent: str | None = None
    errorCode: str | None = None
    errorMessage: str | None = None
    readOnly: bool | None = None
    managementEvent: bool | None = None
    recipientAccountId: str | None = None
    eventID: str | None = None
    requestID: str | None = None
    userIdentity: _Identity | None = None
    requestParameters: msgspec.Raw = msgspec.Raw()


class _File(msgspec.Struct, gc=False):
    Records: list[_Record]


_DECODER = msgspec.json.Decoder(_File)
_TOP = ("eventTime", "eventVersion", "eventSource", "eventName", "eventType", "eventCategory", "awsRegion",
        "sourceIPAddress", "userAgent", "errorCode", "errorMessage", "recipientAccountId", "eventID", "requestID")  # fmt: skip
_IDENTITY = ("type", "arn", "principalId", "accountId", "accessKeyId", "invokedBy")


def _arrow(cols: dict[str, list]) -> pa.Table:
    arrays = {}
    for name, values in cols.items():
        if name in ("readOnly", "managementEvent"):
            arrays[name] = pa.array(values, pa.bool_())
        elif name == "requestParameters":
            arrays[name] = text_array(values)  # the loader's own raw-bytes join: no handicap for the anchor
        else:
            arrays[name] = pa.array(values, pa.string())
    return pa.table(arrays)


def read_files(paths: list[str]) -> pa.Table:
    """Decode ``paths`` into one Arrow table of the 24 columns (event time still text)."""
    gc.disable()
    names = [*_TOP, "readOnly", "managementEvent", *(f"userIdentity.{n}" for n in _IDENTITY),
             "userIdentity.sessionContext.sessionIssuer.arn", "requestParameters"]  # fmt: skip
    cols: dict[str, list] = {name: [] for name in names}
    tables = []
    for path in paths:
        records = _DECODER.decode(isal_zlib.decompress(Path(path).read_bytes(), 31)).Records
        for name in _TOP:
            cols[name].extend([getattr(r, name) for r in records])
        cols["readOnly"].extend([r.readOnly for r in records])
        cols["managementEvent"].extend([r.managementEvent for r in records])
        ids = [r.userIdentity for r in records]
        for name in _IDENTITY:
            cols[f"userIdentity.{name}"].extend([None if u is None else getattr(u, name) for u in ids])
        issuers = [None if u is None or u.sessionContext is None else u.sessionContext.sessionIssuer for u in ids]
        cols["userIdentity.sessionContext.sessionIssuer.arn"].extend([None if i is None else i.arn for i in issuers])
        cols["requestParameters"].extend([r.requestParameters for r in records])
        if len(cols["eventID"]) >= ROWS_PER_ARROW:
            tables.append(_arrow(cols))
            cols = {name: [] for name in names}
    tables.append(_arrow(cols))
    return pa.concat_tables(tables)


def load(root: str, workers: int) -> pd.DataFrame:
    """The 24-column frame of every ``*.json.gz`` under ``root`` (``workers`` processes when > 1)."""
    paths = sorted(str(p) for p in Path(root).rglob("*.json.gz"))
    if workers > 1:
        parts = np.array_split(np.arange(len(paths)), workers * 8)
        with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
            tables = list(pool.map(read_files, [[paths[i] for i in part] for part in parts if len(part)]))
        table = pa.concat_tables(tables)
    else:
        table = read_files(paths)
    times = pc.strptime(table["eventTime"], format="%Y-%m-%dT%H:%M:%SZ", unit="s", error_is_null=True)
    table = table.set_column(0, "eventTime", pc.cast(times, pa.timestamp("s", "UTC")))
    return table.to_pandas()
