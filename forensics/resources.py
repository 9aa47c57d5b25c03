"""The resources each CloudTrail event names, found by rules declared as data.

>>> from forensics.resources import extract_resources
>>> resources = extract_resources(events)                       # doctest: +SKIP
>>> resources[resources["type"] == "AWS::RDS::DBInstance"]      # doctest: +SKIP

A record names its resources in three places: the ``resources`` list (``ARN``, ``type``,
``accountId``), ``requestParameters`` and ``responseElements`` (``bucketName``,
``dBInstanceIdentifier``, ``functionName``, ``credentials.accessKeyId`` ...), and for a
few service events ``serviceEventDetails``. What to take from where is declared in the
tables of :mod:`forensics.resource_rules` (:data:`~forensics.resource_rules.RESOURCE_TYPES`,
:data:`~forensics.resource_rules.SERVICES`); this module is the engine that applies them.

JSON text is parsed only for the rows of the services in :data:`SERVICES` (and only the
columns and event names their rules need); the ``resources`` list is read for every row
that has one. An event that names nothing known is attached to its service
(``ec2.amazonaws.com``), so every event with an ``eventSource`` has at least one row.
Text that cannot be parsed is never taken for "names nothing": those rows fall back to the
service too, and their positions are listed in ``frame.attrs["unparsed_rows"]``.
"""

from __future__ import annotations

import gc
import itertools
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import msgspec
import numpy as np
import pandas as pd

from forensics import schema
from forensics.resource_rules import (  # noqa: F401 (the rules' names stay importable from here)
    LISTED_SERVICES,
    RESOURCE_TYPES,
    SERVICES,
    Pick,
    ResourceType,
    arn_fields,
    name_from_arn,
    partition_of,
    type_of_arn,
)

#: ``type`` of the fallback row of an event that names no known resource; its ``arn``
#: and ``name`` are the ``eventSource`` (``ec2.amazonaws.com``).
SERVICE = "service"

#: Columns of the frame returned by :func:`extract_resources`.
RESOURCE_COLUMNS: tuple[str, ...] = ("eventID", "row", "arn", "type", "name", "account", "region")

_VERSION_SUFFIX = re.compile(r"\d{8}(?:v\d+)?$")


def base_action(event_name: str) -> str:
    """The API action without the version suffix some services append to ``eventName``.

    Examples
    --------
    >>> base_action("PutFunctionConcurrency20171031")
    'PutFunctionConcurrency'
    >>> base_action("UpdateFunctionConfiguration20150331v2")
    'UpdateFunctionConfiguration'
    >>> base_action("StopDBInstance")
    'StopDBInstance'
    """
    return _VERSION_SUFFIX.sub("", event_name)


# ------------------------------------------------------------------------- small helpers


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while many small containers are built.

    Building hundreds of thousands of dicts and lists otherwise triggers collections that
    walk every object alive (2x slower on large frames); nothing built here is cyclic.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _walk(doc: object, steps: tuple[tuple[str, bool], ...]) -> list[str]:
    """Scalar values found at ``steps`` below ``doc``, as strings."""
    nodes = [doc]
    for key, many in steps:
        found: list[object] = []
        for node in nodes:
            if isinstance(node, dict):
                value = node.get(key)
                if many and isinstance(value, list):
                    found.extend(value)
                elif not many and value is not None:
                    found.append(value)
        nodes = found
    return [str(v) for v in nodes if isinstance(v, (str, int)) and not isinstance(v, bool) and v != ""]


# --------------------------------------------------------------------------- extraction


class _Listed(msgspec.Struct):
    ARN: str | None = None
    accountId: str | None = None
    type: str | None = None


_decode_listed = msgspec.json.Decoder(list[_Listed]).decode
_decode_any = msgspec.json.Decoder().decode

#: (arn, type, name, account, region, built): one resolved resource.
_Resolved = tuple[str, str, str, "str | None", "str | None", bool]


def _resolve(rtype: str, value: str, account: str | None, region: str | None) -> _Resolved:
    """Resolve a value an event names: its ARN (built from the tables for a bare name), name, owner, region.

    ``account`` and ``region`` are the best known owner and region of the event (the
    record's own ``accountId`` for a listed resource, else ``recipientAccountId``;
    ``awsRegion``); an ARN's own fields win over them.
    """
    if value.startswith("arn:"):
        rtype = rtype or type_of_arn(value) or ""
        spec = RESOURCE_TYPES.get(rtype)
        arn_region, arn_account = arn_fields(value)
        name = name_from_arn(value, rtype)
        match = spec.pattern.match(value) if spec is not None and spec.suffix else None
        arn = name if rtype == "AWS::IAM::AccessKey" else value[: match.end("name")] if match else value
        regional = spec is None or spec.regional
        return arn, rtype, name, arn_account or account, arn_region or (region if regional else None), False
    spec = RESOURCE_TYPES.get(rtype)
    if spec is None:
        return value, rtype, value, account, region, False
    arn = spec.arn.format(partition=partition_of(region), region=region or "", account=account or "", name=value)
    return arn, rtype, value, account, region if spec.regional else None, True


class _Found:
    """Resources found so far, in chunks: event rows and the resolved resource each names (interned).

    ``skip`` holds types left out (S3 objects when not wanted).
    """

    def __init__(self, events: pd.DataFrame, skip: frozenset[str] = frozenset()) -> None:
        self.rows: list[np.ndarray] = []
        self.which: list[np.ndarray] = []
        self.resolved: list[_Resolved] = []
        self.unparsed: list[np.ndarray] = []
        self.skip = skip
        self._known: dict[tuple[str, str, str | None, str | None], int] = {}
        self._accounts = _codes_and_values(events["recipientAccountId"])
        self._regions = _codes_and_values(events["awsRegion"])

    def add(self, rows: np.ndarray, lists: list[list[_Named] | None], which: np.ndarray) -> None:
        """Record that the event at ``rows[i]`` names the resources ``lists[which[i]]`` (``None``: unreadable).

        Each distinct (resource, event's account, event's region) is resolved once; the
        rest is numpy, so the cost is in the distinct lists, not in the rows.
        """
        unreadable = np.array([named is None for named in lists] + [False])[which]
        self.unparsed.append(rows[unreadable])
        rows, which, lists = rows[~unreadable], which[~unreadable], [named or [] for named in lists]
        distinct: dict[_Named, int] = {}  # each distinct resource named, numbered
        numbered = [[distinct.setdefault(n, len(distinct)) for n in named if n[0] not in self.skip] for named in lists]
        if not distinct or not len(rows):
            return
        counts = np.fromiter(map(len, numbered), dtype=np.int64, count=len(numbered))
        item_of = np.fromiter(itertools.chain.from_iterable(numbered), dtype=np.int64, count=int(counts.sum()))
        per_row = counts[which]
        out_rows = np.repeat(rows, per_row)
        # each entry's item: the start of its row's list plus its place in that list
        shift = (np.cumsum(counts) - counts)[which] - (np.cumsum(per_row) - per_row)
        item = item_of[np.repeat(shift, per_row) + np.arange(len(out_rows))]
        named = list(distinct)
        (account_of, accounts), (region_of, regions) = self._accounts, self._regions
        owned = np.array([bool(owner) for _, _, owner in named])  # the record says who owns it
        account = np.where(owned[item], len(accounts), account_of[out_rows])
        dims = (len(named), len(accounts) + 1, len(regions))
        combo, keys = pd.factorize(np.ravel_multi_index((item, account, region_of[out_rows]), dims))
        index = []
        for it, ac, rg in zip(*(part.tolist() for part in np.unravel_index(keys, dims))):
            rtype, value, owner = named[it]
            resource = (rtype, value, owner if ac == len(accounts) else accounts[ac], regions[rg])
            if resource not in self._known:
                self._known[resource] = len(self.resolved)
                self.resolved.append(_resolve(*resource))
            index.append(self._known[resource])
        self.rows.append(out_rows)
        self.which.append(np.array(index, dtype=np.int64)[combo])


def _codes_and_values(column: pd.Series) -> tuple[np.ndarray, list[str | None]]:
    """Per-row indexes into the values of a category column, the values (blank or missing: ``None``, last)."""
    values = [str(c) or None for c in column.cat.categories] + [None]
    codes = column.cat.codes.to_numpy().astype(np.int64)
    return np.where(codes < 0, len(values) - 1, codes), values


#: A resource as a record names it: (type, value, owning account if the record says).
_Named = tuple[str, str, "str | None"]


def _from_listed(events: pd.DataFrame, found: _Found) -> None:
    """Resources from the records' ``resources`` lists (identical lists are read once)."""
    column = events["resources"]
    rows = np.flatnonzero(column.notna().to_numpy())
    which, texts = pd.factorize(column.iloc[rows])
    found.add(rows, [_read_listed(text) for text in texts.tolist()], which)


def _read_listed(text: str) -> list[_Named] | None:
    """The resources of one ``resources`` list; ``None`` if the text is no list of objects."""
    try:
        items = _decode_listed(text)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        try:
            doc = _decode_any(text)
        except (msgspec.DecodeError, RecursionError):
            return None
        if doc is None:
            return []
        if not isinstance(doc, list):
            return None
        items = [  # items with odd types (an accountId as a number): keep what reads as text
            _Listed(**{k: str(item[k]) for k in ("ARN", "accountId", "type") if isinstance(item.get(k), (str, int))})
            for item in doc
            if isinstance(item, dict)
        ]
    return [(item.type or "", item.ARN, item.accountId) for item in items if item.ARN]


def _from_service(events: pd.DataFrame, rows: np.ndarray, picks: tuple[Pick, ...], found: _Found) -> None:
    """Resources named in the JSON text of one service's rows, by its picks.

    Only the columns and event names the picks need are parsed, and identical texts of
    the same action (``{"tableName":"orders"}`` a thousand times) only once.
    """
    names = events["eventName"]
    actions = [base_action(str(c)) for c in names.cat.categories] + [""]  # code -1 (missing) takes the ""
    by_column: dict[str, list[Pick]] = {}
    for pick in picks:
        by_column.setdefault(pick.column, []).append(pick)
    for column, column_picks in by_column.items():
        take = rows
        if all(p.events for p in column_picks):
            wanted = {e for p in column_picks for e in p.events}
            take = rows[np.array([a in wanted for a in actions])[names.cat.codes.to_numpy()[rows]]]
        texts = events[column].iloc[take]
        present = texts.notna().to_numpy()
        take, (text_of, texts) = take[present], pd.factorize(texts[present])
        action_of = names.cat.codes.to_numpy()[take].astype(np.int64) + 1  # 0: missing
        which, keys = pd.factorize(text_of * len(actions) + action_of)
        texts = texts.tolist()
        found.add(take, [_read_picks(column_picks, actions[k % len(actions) - 1], texts[k // len(actions)])
                         for k in keys.tolist()], which)  # fmt: skip


def _read_picks(picks: list[Pick], action: str, text: str) -> list[_Named] | None:
    """What ``picks`` find in one JSON text of ``action``; ``None`` if it is no JSON object."""
    try:
        doc = _decode_any(text)
    except (msgspec.DecodeError, RecursionError):  # not JSON, or nested too deeply to follow
        return None
    if doc is None:
        return []
    if not isinstance(doc, dict):
        return None
    return [named for pick in picks if not pick.events or action in pick.events for named in _apply(pick, doc)]


def _apply(pick: Pick, doc: dict) -> list[_Named]:
    """What one pick finds in one parsed document."""
    if pick.key is not None:  # the common case: one key right below the column
        value = doc.get(pick.key)
        values = [] if value is None else _walk(value, ())
    elif len(pick.steps) == 1:
        values = _walk(doc, pick.steps[0])
    else:
        parts = [_walk(doc, steps) for steps in pick.steps]
        values = ["/".join(p[0] for p in parts)] if all(len(p) == 1 for p in parts) else []
    if not values:
        return []
    owners = _walk(doc, pick.account_steps) if pick.account_steps else []
    account = owners[0] if owners else None
    if pick.matcher is not None:
        values = [v for v in values if pick.matcher.match(v)]
    if pick.clean is not None:
        values = [pick.clean(v) for v in values]
    return [(pick.type, v, account) for v in values if v]


_SSO_SUFFIX = re.compile(r"^(AWSReservedSSO_.+)_[0-9a-f]{16}$")


def _identity_key(arn: str) -> tuple[str, str, str] | None:
    """(account, "user"/"role", name) of an IAM user or role ARN, SSO role hashes dropped."""
    match = re.match(r"arn:[^:]*:iam::(\d*):(user|role)/(?:.*/)?([^/]+)$", arn)
    if match is None:
        return None
    account, kind, name = match.groups()
    return account, kind, _SSO_SUFFIX.sub(r"\1", name)


def _reconcile(found: _Found, known: Iterable[str]) -> None:
    """Give IAM users and roles built from a bare name the full ARN (with its path) seen elsewhere.

    ``AttachRolePolicy(roleName="etl")`` names a role whose ARN may be
    ``arn:aws:iam::...:role/service-role/etl``; when that ARN appears in the frame (a session
    issuer, a ``resources`` list, a response), the built ARN is replaced by it so both are
    one node. IAM Identity Center roles are matched without their random suffix.
    """
    full: dict[tuple[str, str, str], str] = {}
    seen = {r[0] for r in found.resolved if not r[5] and ":iam::" in r[0]}
    for arn in sorted({*seen, *known}):
        key = _identity_key(arn)
        if key is not None and (key not in full or full[key].count("/") < arn.count("/")):
            full[key] = arn
    for i, (arn, rtype, _name, account, region, built) in enumerate(found.resolved):
        if built and rtype in ("AWS::IAM::User", "AWS::IAM::Role"):
            key = _identity_key(arn)
            if key is not None and full.get(key, arn) != arn:
                found.resolved[i] = (full[key], rtype, name_from_arn(full[key], rtype), account, region, built)


def _known_identities(events: pd.DataFrame) -> list[str]:
    """IAM user and role ARNs the frame's identity columns mention."""
    known: list[str] = []
    for column in ("userIdentity.arn", "userIdentity.sessionContext.sessionIssuer.arn"):
        values = events[column]
        known.extend(str(v) for v in values.cat.categories if ":iam::" in str(v))
    return known


def extract_resources(events: pd.DataFrame, *, objects: bool = True) -> pd.DataFrame:
    """One row per (event, resource) the events name.

    Parameters
    ----------
    events
        An events frame (see :mod:`forensics.schema`).
    objects
        Include S3 objects (``AWS::S3::Object``); data events name one per call, so
        leaving them out halves the work on object-heavy trails. Buckets are always kept.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`RESOURCE_COLUMNS`: ``eventID``; ``row``, the integer position of
        the event in ``events``; ``arn``, the resource's ARN (an access key's id; the
        ``eventSource`` for the :data:`SERVICE` fallback); ``type``, its CloudFormation
        type; ``name``, the short name CloudWatch dimensions use; ``account`` and
        ``region`` where known. Sorted by ``row``; one row per (event, ARN).
        ``attrs["unparsed_rows"]`` lists the positions of events whose JSON text could
        not be parsed (they have the service fallback row).

    Raises
    ------
    SchemaError
        If ``events`` does not follow the events schema.
    """
    schema.validate(events)
    with paused_gc():
        found = _Found(events, frozenset() if objects else frozenset({"AWS::S3::Object"}))
        _from_listed(events, found)
        sources = events["eventSource"]
        codes = sources.cat.codes.to_numpy()
        listed = (events["resources"].notna() & (events["resources"] != "[]")).to_numpy(dtype=bool)
        for code, source in enumerate(sources.cat.categories):
            picks = SERVICES.get(str(source))
            mine = codes == code
            if picks and source in LISTED_SERVICES:
                mine &= ~listed
            rows = np.flatnonzero(mine)
            if picks and len(rows):
                _from_service(events, rows, picks, found)
        _reconcile(found, _known_identities(events))
        _add_fallback(events, found)
        return _to_frame(events, found)


def _add_fallback(events: pd.DataFrame, found: _Found) -> None:
    """Attach each event that names nothing (or could not be read) to its service."""
    named = np.zeros(len(events), dtype=bool)
    for rows in found.rows:
        named[rows] = True
    for rows in found.unparsed:
        named[rows] = False
    sources = events["eventSource"]
    missing = np.flatnonzero(~named & sources.notna().to_numpy())
    lists: list[list[_Named] | None] = [[(SERVICE, str(source), None)] for source in sources.cat.categories]
    found.add(missing, lists, sources.cat.codes.to_numpy()[missing])


def _to_frame(events: pd.DataFrame, found: _Found) -> pd.DataFrame:
    rows = np.concatenate([np.empty(0, dtype=np.int64), *found.rows])
    which = np.concatenate([np.empty(0, dtype=np.int64), *found.which])
    order = np.argsort(rows, kind="stable")
    rows, which = rows[order], which[order]
    arns = pd.factorize(np.array([r[0] for r in found.resolved], dtype=object))[0]
    once = ~pd.Series(np.ravel_multi_index((rows, arns[which]), (len(events), len(arns) + 1))).duplicated().to_numpy()
    rows, which = rows[once], which[once]
    which, used = pd.factorize(which)  # only the resources kept rows name make categories
    columns: dict[str, object] = {"eventID": events["eventID"].iloc[rows].reset_index(drop=True), "row": rows}
    for position, column in enumerate(("arn", "type", "name", "account", "region")):
        values = pd.Categorical([found.resolved[i][position] for i in used.tolist()])
        columns[column] = pd.Categorical.from_codes(values.codes[which], values.categories)
    frame = pd.DataFrame(columns)
    frame.attrs["unparsed_rows"] = np.unique(np.concatenate([np.empty(0, dtype=np.int64), *found.unparsed])).tolist()
    return frame


def mentioning(events: pd.DataFrame, needles: Iterable[str]) -> np.ndarray:
    """Mask of the events whose JSON text contains any of ``needles`` (case-insensitive).

    A cheap filter before parsing: a resource an event names by value appears in its text.
    Needles that JSON would escape (quotes, backslashes, control or non-ASCII characters)
    match every row, so the filter never hides an event.
    """
    found = np.zeros(len(events), dtype=bool)
    for needle in needles:
        if not needle:
            continue
        if not needle.isascii() or any(c in needle for c in '"\\') or not needle.isprintable():
            return np.ones(len(events), dtype=bool)
        for column in ("requestParameters", "responseElements", "resources", "serviceEventDetails"):
            found |= events[column].str.contains(needle, case=False, regex=False).to_numpy(dtype=bool, na_value=False)
    return found
