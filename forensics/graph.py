"""The actor-to-resource graph: who touched what, through which key, role and session, and when.

>>> from forensics.graph import activity_graph
>>> from forensics.graphwalk import reach, touched_by, who_did
>>> graph = activity_graph(events, start="2024-03-14T02:00:00Z", end="2024-03-14T05:00:00Z")   # doctest: +SKIP
>>> reach(graph, "AKIAIOSFODNN7EXAMPLE")              # everything a leaked key led to   # doctest: +SKIP
>>> touched_by(graph, "arn:aws:s3:::acme-data")       # everyone who got to a bucket     # doctest: +SKIP
>>> who_did(events, "orders-db", actions="StopDBInstance")                               # doctest: +SKIP

The walks and questions (``reach``, ``touched_by``, ``events_for_edge``, ``who_did``) are in
:mod:`forensics.graphwalk`; pictures and GraphML/GEXF/JSON files of a graph are in
:mod:`forensics.graphplot`.

Nodes are ARNs where one exists (``arn:aws:s3:::bucket``, ``arn:aws:iam::...:role/x``,
session ARNs ``arn:aws:sts::...:assumed-role/x/session``), an access key is its id, a
service its DNS name (``ec2.amazonaws.com``), an IP address itself. Each node has a
``kind``: the principal type (``IAMUser``, ``Root``, ``AWSAccount``, ``SAMLUser`` ...),
``role``, ``session``, ``access-key``, ``service``, ``ip``, or the resource type
(``AWS::S3::Bucket`` ...), plus ``type``, ``name``, ``account`` and ``region`` where known.

Edges are aggregated (one per pair of nodes, never one per event) and carry ``count``
(events behind the edge), ``first_seen``, ``last_seen`` (aware UTC datetimes), ``actions``
(a tuple of the sorted distinct ``eventName``\\s), ``errors`` (how many of those events
failed) and ``relation``:

* ``call``: an actor called an API naming the target (the fallback target is the service);
* ``credential``: an access key signed the target's calls, or was issued to it;
* ``session``: a role (or user) issued the target session (``AssumeRole*``,
  ``GetFederationToken``, or the ``sessionIssuer`` of the session's calls), or the caller
  of that ``AssumeRole*`` started it;
* ``runs-as``: a resource runs as a role or instance profile (``CreateFunction``);
* ``ip``: an address the actor called from (only with ``ips=True``).

So a chain reads ``AKIA... -credential-> user -session-> session -call-> bucket``, with
``user -call(AssumeRole)-> role -session-> session`` beside it and the key the
``AssumeRole`` returned ``-credential->`` the session.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import networkx as nx
import numpy as np
import pandas as pd

from forensics import schema
from forensics.errors import ParameterError, SchemaError
from forensics.resource_rules import arn_fields, name_from_arn
from forensics.resources import SERVICE, base_action, extract_resources, paused_gc
from forensics.window import TimeLike, parse_bounds

#: Event categories :func:`activity_graph` can keep: ``reads`` (``readOnly`` true),
#: ``writes`` (``readOnly`` false *or unknown*: nothing is hidden for lack of the flag),
#: ``errors`` (``errorCode`` set).
CATEGORIES: tuple[str, ...] = ("reads", "writes", "errors")
#: Edge relations, from weakest to strongest; an edge several rules produce gets the strongest.
RELATIONS: tuple[str, ...] = ("ip", "call", "runs-as", "session", "credential")
#: Events that hand out credentials. The sessions and temporary keys they return are
#: wired as a chain (issuer -> session, key -> holder), not as targets of the caller; a
#: key ``CreateAccessKey`` makes is both (its creator -> key -> its user).
CREDENTIAL_EVENTS: frozenset[str] = frozenset({
    "AssumeRole", "AssumeRoleWithSAML", "AssumeRoleWithWebIdentity", "AssumeRoot",
    "GetFederationToken", "GetSessionToken", "CreateAccessKey", "GetRoleCredentials",
})  # fmt: skip
_KEPT_AS_TARGET = frozenset({"CreateAccessKey"})

ISSUER = "userIdentity.sessionContext.sessionIssuer.arn"
KEY = "userIdentity.accessKeyId"
_SESSION_TYPES = ("AWS::STS::AssumedRole", "AWS::STS::FederatedUser")
_KEY_TYPE = "AWS::IAM::AccessKey"
_OBJECT_TYPE = "AWS::S3::Object"


@dataclass(frozen=True)
class ResourceLink:
    """Every ``source``-type resource an ``event`` names links to every ``target``-type one."""

    event: str
    source: str
    target: str
    relation: str = "runs-as"


#: Links between resources, declared as data: a function runs as the role it was given.
RESOURCE_LINKS: tuple[ResourceLink, ...] = (
    ResourceLink("CreateFunction", "AWS::Lambda::Function", "AWS::IAM::Role"),
    ResourceLink("UpdateFunctionConfiguration", "AWS::Lambda::Function", "AWS::IAM::Role"),
    ResourceLink("RunInstances", "AWS::EC2::Instance", "AWS::IAM::InstanceProfile"),
    ResourceLink("AssociateIamInstanceProfile", "AWS::EC2::Instance", "AWS::IAM::InstanceProfile"),
    ResourceLink("AddRoleToInstanceProfile", "AWS::IAM::InstanceProfile", "AWS::IAM::Role"),
)

_KIND_OF_IDENTITY = {"AssumedRole": "session", "FederatedUser": "session", "AWSService": "service", "Role": "role"}
_TYPE_OF_IDENTITY = {
    "IAMUser": "AWS::IAM::User",
    "AssumedRole": "AWS::STS::AssumedRole",
    "FederatedUser": "AWS::STS::FederatedUser",
}
_KIND_OF_TYPE = {
    "AWS::IAM::User": "IAMUser",
    "AWS::IAM::Role": "role",
    _KEY_TYPE: "access-key",
    "AWS::STS::AssumedRole": "session",
    "AWS::STS::FederatedUser": "session",
    SERVICE: "service",
}


# ------------------------------------------------------------------------------ selection


def select(
    events: pd.DataFrame,
    *,
    start: TimeLike | None = None,
    end: TimeLike | None = None,
    actors: Iterable[str] | None = None,
    category: str | None = None,
) -> np.ndarray:
    """Boolean mask (one per row) of the events a graph is built from.

    ``start``/``end`` is an inclusive window on ``eventTime`` (events without a time are
    left out once a bound is given), ``actors`` keeps events of these ``actor``\\s,
    ``category`` is one of :data:`CATEGORIES`. Of the per-account copies of one
    cross-account call (same ``sharedEventID`` and ``eventName``) one is kept, preferring
    the copy that names the caller by ARN, so a call counts once.

    Raises
    ------
    WindowError
        If a bound is naive or ``start`` is after ``end``.
    ParameterError
        If ``category`` is not one of :data:`CATEGORIES`.
    """
    lo, hi = parse_bounds(start, end)
    keep = _one_copy(events)
    times = events["eventTime"]
    if lo is not None:
        keep &= (times >= lo).to_numpy(dtype=bool)
    if hi is not None:
        keep &= (times <= hi).to_numpy(dtype=bool)
    if actors is not None:
        wanted = [actors] if isinstance(actors, str) else list(actors)
        keep &= events["actor"].isin(wanted).to_numpy(dtype=bool)
    if category is not None:
        if category not in CATEGORIES:
            raise ParameterError(f"category={category!r} is not one of {list(CATEGORIES)}")
        read_only = events["readOnly"].to_numpy(dtype=bool, na_value=False)
        if category == "reads":
            keep &= read_only
        elif category == "writes":
            keep &= ~read_only
        else:
            keep &= events["errorCode"].notna().to_numpy(dtype=bool)
    return keep


def _one_copy(events: pd.DataFrame) -> np.ndarray:
    """Mask keeping one per-account copy of each cross-account call."""
    keep = np.ones(len(events), dtype=bool)
    shared = events["sharedEventID"]
    rows = np.flatnonzero(shared.notna().to_numpy(dtype=bool))
    if len(rows) < 2:
        return keep
    copies = pd.DataFrame({
        "shared": shared.iloc[rows].to_numpy(),
        "name": events["eventName"].iloc[rows].to_numpy(),
        "anonymous": events["userIdentity.arn"].iloc[rows].isna().to_numpy(),
        "row": rows,
    }).sort_values(["anonymous", "row"], kind="stable")  # fmt: skip
    keep[copies.loc[copies.duplicated(["shared", "name"]), "row"].to_numpy()] = False
    return keep


# ---------------------------------------------------------------------------------- links


@dataclass(frozen=True)
class _Links:
    """One link per (event, edge) reason: node codes into ``nodes``, the event row, the relation.

    ``codes`` keeps the node code of each row's ``actor``, ``key``, ``issuer`` and ``ip``
    (per event) and ``arn`` (per resources row), for describing the nodes.
    """

    nodes: pd.Index
    src: np.ndarray
    dst: np.ndarray
    row: np.ndarray
    rel: np.ndarray
    codes: dict[str, np.ndarray]


def _flags(column: pd.Series, wanted: Iterable[str], how: str = "exact") -> np.ndarray:
    """Row mask of a category column whose value (or its :func:`base_action`) is in ``wanted``."""
    wanted = set(wanted)
    categories = column.cat.categories.astype(str)
    values = [base_action(c) for c in categories] if how == "action" else list(categories)
    flags = np.array([v in wanted for v in values] + [False], dtype=bool)
    return flags[column.cat.codes.to_numpy()]  # code -1 (missing) takes the trailing False


def _codes(column: pd.Series, nodes: pd.Index) -> np.ndarray:
    """Codes into ``nodes`` of a category column (-1 where missing or blank)."""
    lut = np.append(nodes.get_indexer(column.cat.categories.astype(str)), -1)
    return lut[column.cat.codes.to_numpy()]  # code -1 (missing) takes the trailing -1


def _links(events: pd.DataFrame, resources: pd.DataFrame, keep: np.ndarray, objects: bool, ips: bool) -> _Links:
    """Every reason for an edge, one per (event, edge), as parallel arrays."""
    credential_event = _flags(events["eventName"], CREDENTIAL_EVENTS, "action")
    temporary = _flags(events["eventName"], CREDENTIAL_EVENTS - _KEPT_AS_TARGET, "action")
    rows = resources["row"].to_numpy()
    handed_out = (credential_event[rows] & _flags(resources["type"], _SESSION_TYPES)) | (
        temporary[rows] & _flags(resources["type"], [_KEY_TYPE])
    )
    wanted = keep[rows] & (objects | ~_flags(resources["type"], [_OBJECT_TYPE]))
    target = wanted & ~handed_out
    arn_codes = resources["arn"].cat.codes.to_numpy()
    # ARNs no wanted row names (often most of them: S3 objects) stay out of the node index
    named = np.bincount(arn_codes + 1, weights=wanted, minlength=len(resources["arn"].cat.categories) + 1)[1:] > 0
    arn_names = resources["arn"].cat.categories[named].astype(str).to_numpy()
    columns = [events["actor"], events[KEY], events[ISSUER]] + ([events["sourceIPAddress"]] if ips else [])
    names = pd.unique(np.concatenate([arn_names, *(c.cat.categories.astype(str).to_numpy() for c in columns)]))
    nodes = pd.Index(names[names != ""])
    actor, key, issuer = (_codes(c, nodes) for c in columns[:3])
    lut = np.full(len(named) + 1, -1)
    lut[np.flatnonzero(named)] = nodes.get_indexer(arn_names)
    arn = lut[arn_codes]  # code -1 (missing) takes the trailing -1
    ip = _codes(events["sourceIPAddress"], nodes) if ips else np.full(len(events), -1)
    everyone = np.arange(len(events))
    signed = keep & (key >= 0)
    issued = keep & (issuer >= 0) & (issuer != actor)
    parts = [
        (actor[rows[target]], arn[target], rows[target], "call"),
        (key[signed], actor[signed], everyone[signed], "credential"),
        (issuer[issued], actor[issued], everyone[issued], "session"),
        *_credential_links(events, resources, arn, actor, keep & credential_event),
        *_resource_links(events, resources, arn, keep),
    ]
    if ips:
        called = keep & (ip >= 0)
        parts.append((ip[called], actor[called], everyone[called], "ip"))
    src, dst, row, rel = (np.concatenate(x) for x in zip(*(
        (s, d, r, np.full(len(r), RELATIONS.index(name), dtype=np.int8)) for s, d, r, name in parts
    )))  # fmt: skip
    valid = (src >= 0) & (dst >= 0)
    twice = np.flatnonzero(valid & credential_event[row])  # a session re-assuming its own role: one link
    valid[twice[pd.DataFrame({"s": src[twice], "d": dst[twice], "r": row[twice]}).duplicated().to_numpy()]] = False
    codes = {"actor": actor, "key": key, "issuer": issuer, "arn": arn, "ip": ip}
    return _Links(nodes, src[valid], dst[valid], row[valid], rel[valid], codes)


def _credential_links(
    events: pd.DataFrame, resources: pd.DataFrame, arn: np.ndarray, actor: np.ndarray, rows_mask: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, str]]:
    """Issuer -> session, caller -> session and key -> holder links of credential events.

    The issuer of a session is the role the event names, else the caller
    (``GetFederationToken``); the caller who started it links to it too. The holder of a key is the session the event returns, else
    the user it names (``CreateAccessKey`` for someone), else, for ``GetSessionToken`` and
    ``CreateAccessKey``, the caller. A key an ``AssumeRole`` returns without its session
    (as for AWS services) gets its holder from the calls it signs.
    """
    take = np.flatnonzero(rows_mask[resources["row"].to_numpy()])
    if not len(take):
        return []
    types = resources["type"].iloc[take].astype(str).to_numpy()
    sub = pd.DataFrame({"row": resources["row"].to_numpy()[take], "type": types, "node": arn[take]})
    first = sub.drop_duplicates(["row", "type"]).pivot(index="row", columns="type", values="node")
    rows = first.index.to_numpy()

    def of(*types: str) -> np.ndarray:
        """Per row, the node of the first of ``types`` the event names (-1 if none)."""
        return first.reindex(columns=list(types)).bfill(axis=1).iloc[:, 0].fillna(-1).astype("int64").to_numpy()

    role = of("AWS::IAM::Role")
    issuer = np.where(role >= 0, role, actor[rows])
    holder = of(*_SESSION_TYPES, "AWS::IAM::User")
    self_held = _flags(events["eventName"], ("GetSessionToken", "CreateAccessKey"), "action")[rows]
    holder = np.where((holder < 0) & self_held, actor[rows], holder)
    position = pd.Series(np.arange(len(rows)), index=rows)
    sessions = sub[sub["type"].isin(_SESSION_TYPES)]
    keys = sub[sub["type"] == _KEY_TYPE]
    at_session, at_key = position[sessions["row"]].to_numpy(), position[keys["row"]].to_numpy()
    started = actor[rows][at_session]  # the caller started the session (unless it is the session itself)
    return [
        (issuer[at_session], sessions["node"].to_numpy(), sessions["row"].to_numpy(), "session"),
        (np.where(started == sessions["node"].to_numpy(), -1, started), sessions["node"].to_numpy(),
         sessions["row"].to_numpy(), "session"),  # fmt: skip
        (keys["node"].to_numpy(), holder[at_key], keys["row"].to_numpy(), "credential"),
    ]


def _resource_links(
    events: pd.DataFrame, resources: pd.DataFrame, arn: np.ndarray, keep: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, str]]:
    """Links of :data:`RESOURCE_LINKS` between resources named by the same event."""
    linking = _flags(events["eventName"], {link.event for link in RESOURCE_LINKS}, "action")
    take = np.flatnonzero((keep & linking)[resources["row"].to_numpy()])
    sub = pd.DataFrame({
        "row": resources["row"].to_numpy()[take], "node": arn[take],
        "type": resources["type"].iloc[take].astype(str).to_numpy(),
        "event": events["eventName"].iloc[resources["row"].to_numpy()[take]].astype(str).map(base_action).to_numpy(),
    })  # fmt: skip
    out = []
    for link in RESOURCE_LINKS:
        mine = sub[sub["event"] == link.event]
        pairs = mine[mine["type"] == link.source].merge(mine[mine["type"] == link.target], on="row")
        out.append((pairs["node_x"].to_numpy(), pairs["node_y"].to_numpy(), pairs["row"].to_numpy(), link.relation))
    return out


# ---------------------------------------------------------------------------------- graph


def activity_graph(
    events: pd.DataFrame,
    *,
    start: TimeLike | None = None,
    end: TimeLike | None = None,
    actors: Iterable[str] | None = None,
    category: str | None = None,
    objects: bool = False,
    ips: bool = False,
    resources: pd.DataFrame | None = None,
) -> nx.DiGraph:
    """Build the aggregated actor-to-resource graph of an events frame.

    Parameters
    ----------
    events
        An events frame (see :mod:`forensics.schema`).
    start, end, actors, category
        Which events to use; see :func:`select`.
    objects
        Make S3 objects nodes of their own; by default data events stop at the bucket.
    ips
        Add source-IP nodes with ``ip -> actor`` edges.
    resources
        The :func:`~forensics.resources.extract_resources` frame of ``events``, when
        already computed (parsing JSON is most of the cost on large frames).

    Returns
    -------
    networkx.DiGraph
        Nodes and edges as described in the module docstring. ``graph.graph`` records the
        selection (``start``, ``end``, ``actors``, ``category``, ``objects``, ``ips``),
        ``events`` (how many events the selection kept), ``unparsed`` (events whose JSON
        could not be read; attached to their service, never dropped) and
        ``without_actor`` (kept events with no actor and no target, which no edge shows).

    Raises
    ------
    SchemaError
        If ``events`` (or ``resources``) does not fit.
    WindowError, ParameterError
        On a bad selection (see :func:`select`).
    """
    schema.validate(events)
    keep = select(events, start=start, end=end, actors=actors, category=category)
    if resources is None:
        resources = extract_resources(events, objects=objects)
    else:
        _check_resources(events, resources)
    links = _links(events, resources, keep, objects, ips)
    graph = nx.DiGraph()
    lo, hi = parse_bounds(start, end)
    covered = np.zeros(len(events), dtype=bool)
    covered[links.row] = True
    unparsed = np.asarray(resources.attrs.get("unparsed_rows", []), dtype=np.int64)
    chosen = None if actors is None else tuple(sorted([actors] if isinstance(actors, str) else actors))
    graph.graph.update(
        start=lo, end=hi, actors=chosen, category=category, objects=objects, ips=ips, events=int(keep.sum()),
        unparsed=int(keep[unparsed].sum()) if len(unparsed) else 0, without_actor=int((keep & ~covered).sum()),
    )  # fmt: skip
    with paused_gc():
        _add_nodes(graph, events, resources, links, keep)
        _add_edges(graph, events, links)
    return graph


def _check_resources(events: pd.DataFrame, resources: pd.DataFrame) -> None:
    """Refuse a resources frame made from another events frame (columns, row range, spot-checked eventIDs)."""
    missing = [c for c in ("eventID", "row", "arn", "type", "name", "account", "region") if c not in resources]
    if missing:
        raise SchemaError(f"resources frame lacks columns {missing}; make it with extract_resources(events)")
    rows = resources["row"].to_numpy()
    if len(rows) and (rows.max() >= len(events) or rows.min() < 0):
        raise SchemaError("resources frame does not belong to this events frame (row positions out of range)")
    sample = np.unique(np.linspace(0, len(rows) - 1, num=min(len(rows), 1024)).astype(np.int64)) if len(rows) else rows
    mine = events["eventID"].iloc[rows[sample]].tolist()
    if mine != resources["eventID"].iloc[sample].tolist():
        raise SchemaError("resources frame does not belong to this events frame (eventIDs differ); extract it again")


_MIN, _MAX = np.iinfo(np.int64).min, np.iinfo(np.int64).max
_UTC = dt.timezone.utc


def _add_edges(graph: nx.DiGraph, events: pd.DataFrame, links: _Links) -> None:
    """Aggregate links per (source, target) and add them as edges."""
    if not len(links.row):
        return
    n = len(links.nodes)
    group, pairs = pd.factorize(links.src.astype(np.int64) * n + links.dst)
    size = len(pairs)
    times = events["eventTime"].array.asi8[links.row]
    known = times != _MIN
    first = np.full(size, _MAX)
    last = np.full(size, _MIN)
    np.minimum.at(first, group[known], times[known])
    np.maximum.at(last, group[known], times[known])
    count = np.bincount(group, minlength=size)
    failed = events["errorCode"].notna().to_numpy(dtype=bool)[links.row]
    errors = np.bincount(group, weights=failed, minlength=size).astype(np.int64)
    relation = np.zeros(size, dtype=np.int8)
    np.maximum.at(relation, group, links.rel)
    labels = links.nodes.to_numpy()
    graph.add_edges_from(
        (u, v, {"count": c, "first_seen": f, "last_seen": l, "actions": a, "errors": e, "relation": RELATIONS[r]})
        for u, v, c, f, l, a, e, r in zip(
            labels[pairs // n].tolist(), labels[pairs % n].tolist(), count.tolist(), _datetimes(first, _MAX),
            _datetimes(last, _MIN), _actions(events, links, group, size), errors.tolist(), relation.tolist(),
        )
    )  # fmt: skip


def _datetimes(micros: np.ndarray, unknown: int) -> list[dt.datetime | None]:
    """Aware UTC datetimes of microseconds since the epoch; ``unknown`` becomes ``None``."""
    missing = micros == unknown
    index = pd.DatetimeIndex(np.where(missing, 0, micros).view("datetime64[us]")).tz_localize(_UTC)
    values = index.to_pydatetime().tolist()
    if missing.any():
        for i in np.flatnonzero(missing).tolist():
            values[i] = None
    return values


def _actions(events: pd.DataFrame, links: _Links, group: np.ndarray, size: int) -> list[tuple[str, ...]]:
    """Sorted distinct eventNames per edge, as tuples (edges with one action share theirs)."""
    names = events["eventName"]
    categories = names.cat.categories.astype(str).to_numpy()
    order = np.argsort(categories, kind="stable")
    rank = np.empty(len(categories) + 1, dtype=np.int64)
    rank[order] = np.arange(len(categories))
    rank[-1] = len(categories)  # missing eventName (code -1) sorts last and is dropped
    wide = len(categories) + 1
    pairs = pd.unique(group.astype(np.int64) * wide + rank[names.cat.codes.to_numpy()[links.row]])
    pairs = pairs[pairs % wide < len(categories)]
    pairs.sort()
    edge, slot = pairs // wide, pairs % wide
    spelled = categories[order].tolist()
    alone = np.empty(len(spelled), dtype=object)
    alone[:] = [(name,) for name in spelled]
    out = np.empty(size, dtype=object)
    out[:] = [()] * size
    counts = np.bincount(edge, minlength=size)
    single = counts[edge] == 1
    out[edge[single]] = alone[slot[single]]
    many = np.flatnonzero(counts > 1)
    ends = np.cumsum(counts)  # pairs are sorted by edge: edge e's actions are pairs[ends[e] - counts[e]:ends[e]]
    names = np.asarray(spelled, dtype=object)[slot]
    for e, stop in zip(many.tolist(), ends[many].tolist()):
        out[e] = tuple(names[stop - counts[e] : stop])
    return out.tolist()


_ATTRIBUTES = ("kind", "type", "name", "account", "region")


def _add_nodes(
    graph: nx.DiGraph, events: pd.DataFrame, resources: pd.DataFrame, links: _Links, keep: np.ndarray
) -> None:
    """Add every node the links use, with kind, type, name, account and region.

    Later sources win: IPs, then resources, session issuers, keys, and last the callers'
    own identities (an IAM user named in a request and acting itself is one ``IAMUser``).
    """
    used = np.zeros(len(links.nodes), dtype=bool)
    used[links.src] = used[links.dst] = True
    ids = links.nodes.to_numpy()
    table = {a: np.full(len(ids), None, dtype=object) for a in _ATTRIBUTES}

    def fill(codes: np.ndarray, **values: object) -> None:
        for attribute, value in values.items():
            table[attribute][codes] = value

    ip, _ = _representatives(links.codes["ip"], keep, used)
    fill(ip, kind="ip", name=ids[ip])
    arn, rows = _representatives(links.codes["arn"], np.ones(len(resources), dtype=bool), used)
    found = resources.iloc[rows].astype(object)
    types = found["type"].to_numpy()
    regions = np.where(types == SERVICE, None, found["region"].to_numpy())
    fill(arn, kind=[_KIND_OF_TYPE.get(t, t) for t in types], type=types, name=found["name"].to_numpy(),
         account=found["account"].to_numpy(), region=regions)  # fmt: skip
    for code in _representatives(links.codes["issuer"], keep, used)[0].tolist():
        node = ids[code]
        rtype = "AWS::IAM::Role" if ":role/" in node else "AWS::IAM::User" if ":user/" in node else None
        fill(code, kind=_KIND_OF_TYPE.get(rtype or "", "Root" if node.endswith(":root") else "unknown"), type=rtype,
             name=name_from_arn(node, rtype), account=arn_fields(node)[1])  # fmt: skip
    key, rows = _representatives(links.codes["key"], keep, used)
    fill(key, kind="access-key", type=_KEY_TYPE, name=ids[key],
         account=events["userIdentity.accountId"].iloc[rows].astype(object).to_numpy())  # fmt: skip
    actor, rows = _representatives(links.codes["actor"], keep, used)
    who = events[["userIdentity.type", "userIdentity.accountId"]].iloc[rows].astype(object).to_numpy().tolist()
    for code, (itype, account) in zip(actor.tolist(), who):
        node, itype = ids[code], itype if isinstance(itype, str) else "Unknown"
        rtype, is_arn = _TYPE_OF_IDENTITY.get(itype), node.startswith("arn:")
        fill(code, kind=_KIND_OF_IDENTITY.get(itype, itype), type=rtype,
             name=name_from_arn(node, rtype) if is_arn else node, account=arn_fields(node)[1] or account)  # fmt: skip
    table["kind"][table["kind"] == None] = "unknown"  # noqa: E711 (elementwise)
    graph.add_nodes_from(
        (node, {a: v for a, v in zip(_ATTRIBUTES, values) if isinstance(v, str) and v})
        for node, *values in zip(ids[used].tolist(), *(table[a][used].tolist() for a in _ATTRIBUTES))
    )


def _representatives(codes: np.ndarray, keep: np.ndarray, used: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each used node code that kept rows carry, and one such row (their attributes agree)."""
    rows = np.flatnonzero(keep & (codes >= 0))
    where = np.full(len(used), -1, dtype=np.int64)
    where[codes[rows]] = rows
    found = np.flatnonzero((where >= 0) & used)
    return found, where[found]
