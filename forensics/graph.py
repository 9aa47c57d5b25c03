"""The actor-to-resource graph: who touched what, through which key, role and session, and when.

>>> from forensics.graph import activity_graph
>>> from forensics.graphwalk import reach, touched_by, who_did
>>> graph = activity_graph(events, start="2024-03-14T02:00:00Z", end="2024-03-14T05:00:00Z")   # doctest: +SKIP
>>> reach(graph, "AKIAIOSFODNN7EXAMPLE")              # everything a leaked key led to   # doctest: +SKIP
>>> touched_by(graph, "arn:aws:s3:::acme-data")       # everyone who got to a bucket     # doctest: +SKIP
>>> who_did(events, "orders-db", actions="StopDBInstance")                               # doctest: +SKIP

The walks and questions (``reach``, ``touched_by``, ``events_for_edge``, ``who_did``) are in
:mod:`forensics.graphwalk`; pictures and GraphML/GEXF/JSON files of a graph are in
:mod:`forensics.graphplot`. This module decides what links what, one link per event and
edge; :mod:`forensics.graphbuild` sums the links up and builds the networkx graph.

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

import itertools
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import networkx as nx
import numpy as np
import pandas as pd

from forensics import schema
from forensics.errors import ParameterError, SchemaError
from forensics.graphbuild import Links, add_edges, add_nodes, aggregate, attribute_dicts, sums_without_gil
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
class _Nodes:
    """The nodes a selection can have, and where the rows name them.

    ``codes`` holds the node code (``-1``: none) of each row's ``actor``, ``key``,
    ``issuer`` and ``ip`` (per event) and ``arn`` (per resources row); ``wanted`` which
    resources rows the selection keeps (their events kept, S3 objects only if asked for).
    """

    index: pd.Index
    codes: dict[str, np.ndarray]
    wanted: np.ndarray


def _flag_table(column: pd.Series, wanted: Iterable[str], how: str = "exact") -> np.ndarray:
    """Per category of ``column`` (then one ``False`` for missing) whether it (or its :func:`base_action`) is wanted."""
    wanted = set(wanted)
    categories = column.cat.categories.astype(str)
    values = [base_action(c) for c in categories] if how == "action" else list(categories)
    return np.array([v in wanted for v in values] + [False], dtype=bool)


def _flags(column: pd.Series, wanted: Iterable[str], how: str = "exact") -> np.ndarray:
    """Row mask of a category column whose value (or its :func:`base_action`) is in ``wanted``."""
    return _flag_table(column, wanted, how)[column.cat.codes.to_numpy()]  # code -1 (missing) takes the last False


def _node_index(labels: list[np.ndarray]) -> tuple[pd.Index, list[np.ndarray]]:
    """The nodes named by arrays of labels (first appearance first, blanks left out), and each label's code.

    Each returned code array has one more element than its labels, ``-1``, the code of a
    missing category value (category code ``-1``).
    """
    names = np.concatenate(labels)
    names[names == ""] = None  # a blank names no node
    codes, nodes = pd.factorize(names)
    bounds = np.cumsum([0] + [len(part) for part in labels])
    luts = [np.append(codes[lo:hi], -1).astype(np.int32) for lo, hi in itertools.pairwise(bounds)]
    return pd.Index(nodes), luts


#: Links of one kind, picked out: sources, targets, event rows, the relation's name.
_Part = tuple[np.ndarray, np.ndarray, np.ndarray, str]


def _nodes(events: pd.DataFrame, resources: pd.DataFrame, keep: np.ndarray, objects: bool, ips: bool) -> _Nodes:
    """The nodes: the ARNs the kept resources rows name, then actors, keys, issuers (and IPs), each once.

    Per-row codes come from small per-category tables, so the cost is a few passes over the rows.
    """
    types = resources["type"]
    kept = keep[resources["row"].to_numpy()]
    wanted = kept & ~_flags(types, [_OBJECT_TYPE]) if not objects else kept
    arn_column = resources["arn"]
    arn_codes = arn_column.cat.codes.to_numpy()
    # ARNs no wanted row names (often most of them: S3 objects) stay out of the node index
    named = np.zeros(len(arn_column.cat.categories) + 1, dtype=bool)
    named[arn_codes[wanted]] = True  # code -1 (missing) marks the spare last slot
    named = np.flatnonzero(named[:-1])
    columns = [events["actor"], events[KEY], events[ISSUER]] + ([events["sourceIPAddress"]] if ips else [])
    index, luts = _node_index(
        [arn_column.cat.categories[named].astype(str).to_numpy(dtype=object)]
        + [c.cat.categories.astype(str).to_numpy(dtype=object) for c in columns]
    )
    arn_lut = np.full(len(arn_column.cat.categories) + 1, -1, dtype=np.int32)
    arn_lut[named] = luts[0][:-1]
    # code -1 (missing) takes the trailing -1; take is faster than [] here
    actor, key, issuer, *ip = (lut.take(c.cat.codes.to_numpy()) for lut, c in zip(luts[1:], columns))
    ip = ip[0] if ips else np.full(len(events), -1, dtype=np.int32)
    codes = {"actor": actor, "key": key, "issuer": issuer, "ip": ip, "arn": arn_lut.take(arn_codes)}
    return _Nodes(index, codes, wanted)


def _links(events: pd.DataFrame, resources: pd.DataFrame, keep: np.ndarray, nodes: _Nodes) -> list[Links]:
    """Every reason for an edge, one per (event, edge), in parts (:class:`~forensics.graphbuild.Links`).

    Arrays over events or resource rows are built once and indexed by small tables of
    category codes (``_flag_table``), so the cost is a few passes over the rows; the big
    parts (per event, per resources row) stay masks over those arrays.
    """
    names = events["eventName"]
    rows = resources["row"].to_numpy()
    row_names = names.cat.codes.to_numpy()[rows]  # each resource row's eventName code
    types = resources["type"]
    type_codes = types.cat.codes.to_numpy()
    credential_table = _flag_table(names, CREDENTIAL_EVENTS, "action")
    credential_event = credential_table[names.cat.codes.to_numpy()]
    # sessions and temporary keys that credential events hand out are chained, not called
    credential_row = credential_table[row_names]
    handing = np.flatnonzero(credential_row)
    temporary = _flag_table(names, CREDENTIAL_EVENTS - _KEPT_AS_TARGET, "action")
    handed_out = _flag_table(types, _SESSION_TYPES)[type_codes[handing]] | (
        temporary[row_names[handing]] & _flag_table(types, [_KEY_TYPE])[type_codes[handing]]
    )
    target = nodes.wanted.copy()
    target[handing[handed_out]] = False
    actor, key, issuer, ip, arn = (nodes.codes[c] for c in ("actor", "key", "issuer", "ip", "arn"))

    acting = actor >= 0
    signing, issuing = acting & (key >= 0), acting & (issuer >= 0) & (issuer != actor)
    caller = actor.take(rows)  # per resources row
    calling = target & (caller >= 0) & (arn >= 0)
    plain = keep & ~credential_event
    call, session, credential = (RELATIONS.index(r) for r in ("call", "session", "credential"))
    parts = [
        Links(caller, arn, call, row=rows, mask=calling & ~credential_row),
        Links(key, actor, credential, mask=plain & signing),
        Links(issuer, actor, session, mask=plain & issuing),
        *(_known(part) for part in _resource_links(resources, arn, row_names, keep, names)),
    ]
    if (ip >= 0).any():
        parts.append(Links(ip, actor, RELATIONS.index("ip"), mask=keep & acting & (ip >= 0)))
    # Links of events that hand out credentials may repeat one another (see _once); the
    # rest never do. So the former, few, are picked out and compared, and only they.
    called = handing[calling[handing]]
    handing_kept = np.flatnonzero(keep & credential_event)
    signed, issued = handing_kept[signing[handing_kept]], handing_kept[issuing[handing_kept]]
    repeatable = [
        Links(caller[called], arn[called], call, row=rows[called]),
        Links(key[signed], actor[signed], credential, row=signed),
        Links(issuer[issued], actor[issued], session, row=issued),
        *(_known(p) for p in _credential_links(resources, arn, actor, row_names, handing[keep[rows[handing]]], names)),
    ]
    return parts + _once(repeatable, len(events), len(nodes.index))


def _known(part: _Part) -> Links:
    """The links of a part whose both ends are nodes (``-1``: a missing actor, a skipped object)."""
    src, dst, row, name = part
    known = (src >= 0) & (dst >= 0)
    return Links(src, dst, RELATIONS.index(name), row=row, mask=None if known.all() else known)


def _once(parts: list[Links], events: int, nodes: int) -> list[Links]:
    """The parts without the links that repeat an earlier link's (source, target, event), picked out.

    Only a credential event gives one edge for two reasons (a session re-assuming its own
    role is its issuer's session twice): only the links of those events come here.
    """
    picked = [part.arrays() for part in parts]
    src, dst, row = (np.concatenate([np.empty(0, dtype=np.int64)] + [p[i] for p in picked]) for i in range(3))
    if events * nodes * nodes < 1 << 62:  # one integer per (event, source, target)
        link = (row.astype(np.int64) * nodes + src) * nodes + dst
    else:
        link = np.ravel_multi_index((pd.factorize(src.astype(np.int64) * nodes + dst)[0], row), (len(row), events))
    repeated = pd.Series(link).duplicated().to_numpy()
    bounds = np.cumsum([0] + [len(p[2]) for p in picked]).tolist()
    out = []
    for (s, d, r), part, lo, hi in zip(picked, parts, bounds[:-1], bounds[1:]):
        kept = ~repeated[lo:hi]
        out.append(Links(s[kept], d[kept], part.relation, row=r[kept]))
    return out


def _credential_links(
    resources: pd.DataFrame, arn: np.ndarray, actor: np.ndarray, row_names: np.ndarray, take: np.ndarray,
    names: pd.Series,
) -> list[_Part]:
    """Issuer -> session, caller -> session and key -> holder links of credential events.

    ``take`` are the positions in ``resources`` of what the kept credential events name;
    ``row_names`` the ``eventName`` code of each resources row. The issuer of a session is
    the role the event names, else the caller (``GetFederationToken``); the caller who
    started it links to it too. The holder of a key is the session the event returns,
    else the user it names (``CreateAccessKey`` for someone), else, for
    ``GetSessionToken`` and ``CreateAccessKey``, the caller. A key an ``AssumeRole``
    returns without its session (as for AWS services) gets its holder from the calls it
    signs.
    """
    if not len(take):
        return []
    rows = resources["row"].to_numpy()[take]
    if (rows[1:] < rows[:-1]).any():  # extract_resources sorts by row; a frame made elsewhere may not be
        order = np.argsort(rows, kind="stable")
        take, rows = take[order], rows[order]
    nodes = arn[take]
    event = np.cumsum(np.diff(rows, prepend=-1) != 0) - 1  # each item's event, 0 .. events - 1 (adjacent items)
    code_of = {str(t): i for i, t in enumerate(resources["type"].cat.categories)}
    types = resources["type"].cat.codes.to_numpy()[take]

    def of(*wanted: str) -> np.ndarray:
        """Per event, the first node of the first of ``wanted`` types it names (-1 if none)."""
        out = np.full(int(event[-1]) + 1, -1, dtype=np.int32)
        for t in reversed(wanted):  # the first type present is written last
            mine = np.flatnonzero(types == code_of.get(t, -2))
            mine = mine[np.diff(event[mine], prepend=-1) != 0]  # the first of its event
            out[event[mine]] = nodes[mine]
        return out

    session = np.flatnonzero(np.isin(types, [code_of.get(t, -2) for t in _SESSION_TYPES]))
    keys = np.flatnonzero(types == code_of.get(_KEY_TYPE, -2))
    started = actor[rows[session]]  # the caller started the session (unless it is the session itself)
    issuer = of("AWS::IAM::Role")[event[session]]
    issuer = np.where(issuer >= 0, issuer, started)
    holder = of(*_SESSION_TYPES, "AWS::IAM::User")[event[keys]]
    self_held = _flag_table(names, ("GetSessionToken", "CreateAccessKey"), "action")[row_names[take[keys]]]
    holder = np.where((holder < 0) & self_held, actor[rows[keys]], holder)
    return [
        (issuer, nodes[session], rows[session], "session"),
        (np.where(started == nodes[session], -1, started), nodes[session], rows[session], "session"),
        (nodes[keys], holder, rows[keys], "credential"),
    ]


def _resource_links(
    resources: pd.DataFrame, arn: np.ndarray, row_names: np.ndarray, keep: np.ndarray, names: pd.Series
) -> list[_Part]:
    """Links of :data:`RESOURCE_LINKS` between resources named by the same event.

    ``row_names`` is the ``eventName`` code of each resources row, ``keep`` which events
    are selected.
    """
    linking = _flag_table(names, [link.event for link in RESOURCE_LINKS], "action")
    if not linking.any():
        return []
    take = np.flatnonzero(linking[row_names])
    take = take[keep[resources["row"].to_numpy()[take]]]
    types = resources["type"]
    rows, type_codes, row_names = resources["row"].to_numpy()[take], types.cat.codes.to_numpy()[take], row_names[take]
    out = []
    for link in RESOURCE_LINKS:
        mine = _flag_table(names, [link.event], "action")[row_names]
        sources = np.flatnonzero(mine & _flag_table(types, [link.source])[type_codes])
        targets = np.flatnonzero(mine & _flag_table(types, [link.target])[type_codes])
        if len(sources) and len(targets):
            i, j = _same_values(rows[sources], rows[targets])
            out.append((arn[take[sources[i]]], arn[take[targets[j]]], rows[sources[i]], link.relation))
    return out


def _same_values(left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every pair of positions ``(i, j)`` with ``left[i] == right[j]``, in the order of ``i`` then ``j``."""
    order = np.argsort(right, kind="stable")
    ordered = right[order]
    lo, hi = np.searchsorted(ordered, left, "left"), np.searchsorted(ordered, left, "right")
    many = hi - lo
    i = np.repeat(np.arange(len(left)), many)
    start = np.cumsum(many) - many  # where each i's pairs begin in the output
    return i, order[np.repeat(lo - start, many) + np.arange(len(i))]


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
    nodes = _nodes(events, resources, keep, objects, ips)
    links = _links(events, resources, keep, nodes)
    labels = nodes.index.to_numpy(dtype=object).tolist()
    graph = nx.DiGraph()
    sum_links = partial(
        aggregate, len(labels), links, times=events["eventTime"].array.asi8,
        failed=events["errorCode"].notna().to_numpy(dtype=bool), names=events["eventName"],
    )  # fmt: skip
    with paused_gc(), ThreadPoolExecutor(1, thread_name_prefix="forensics-graph") as pool:
        # The C extension sums the links without the GIL, so meanwhile every node is described
        # and put in; those no edge names are taken out after. (numpy and Python would only
        # wait for each other's GIL, as would describing the nodes while the links are made.)
        summing = pool.submit(sum_links) if sums_without_gil() else None
        add_nodes(graph, labels, attribute_dicts(_ATTRIBUTES, _node_columns(events, resources, nodes, keep)))
        edges = summing.result() if summing else sum_links()
        used = np.zeros(len(labels), dtype=bool)
        used[edges.src] = used[edges.dst] = True
        graph.remove_nodes_from([labels[i] for i in np.flatnonzero(~used).tolist()])
        add_edges(graph, labels, edges, RELATIONS)
    lo, hi = parse_bounds(start, end)
    unparsed = np.asarray(resources.attrs.get("unparsed_rows", []), dtype=np.int64)
    chosen = None if actors is None else tuple(sorted([actors] if isinstance(actors, str) else actors))
    graph.graph.update(
        start=lo, end=hi, actors=chosen, category=category, objects=objects, ips=ips, events=int(keep.sum()),
        unparsed=int(keep[unparsed].sum()) if len(unparsed) else 0, without_actor=int((keep & ~edges.linked).sum()),
    )  # fmt: skip
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


# ---------------------------------------------------------------------------------- nodes

_ATTRIBUTES = ("kind", "type", "name", "account", "region")


def _node_columns(events: pd.DataFrame, resources: pd.DataFrame, nodes: _Nodes, keep: np.ndarray) -> list[np.ndarray]:
    """The nodes' attributes (kind, type, name, account, region; ``None`` where not known), an object array each.

    Later sources win: IPs, then resources, session issuers, keys, and last the callers'
    own identities (an IAM user named in a request and acting itself is one ``IAMUser``).
    """
    ids = nodes.index.to_numpy(dtype=object)
    table = {a: np.full(len(ids), None, dtype=object) for a in _ATTRIBUTES}
    kind, rtype, name, account, region = (table[a] for a in _ATTRIBUTES)

    ip, _ = _representatives(nodes.codes["ip"], keep)
    kind[ip], name[ip] = "ip", ids[ip]

    arn, rows = _representatives(nodes.codes["arn"], np.ones(len(resources), dtype=bool))
    type_codes = resources["type"].cat.codes.to_numpy()[rows]
    types = _value_table(resources["type"])[type_codes]
    kind[arn] = _value_table(resources["type"], lambda t: _KIND_OF_TYPE.get(t, t))[type_codes]
    rtype[arn], name[arn] = types, _values_at(resources["name"], rows)
    account[arn] = _values_at(resources["account"], rows)
    region[arn] = np.where(types == SERVICE, None, _values_at(resources["region"], rows))

    for code in _representatives(nodes.codes["issuer"], keep)[0].tolist():
        node = ids[code]
        of = "AWS::IAM::Role" if ":role/" in node else "AWS::IAM::User" if ":user/" in node else None
        kind[code] = _KIND_OF_TYPE.get(of or "", "Root" if node.endswith(":root") else "unknown")
        rtype[code], name[code], account[code] = of, name_from_arn(node, of) or None, arn_fields(node)[1]

    key, rows = _representatives(nodes.codes["key"], keep)
    kind[key], rtype[key], name[key] = "access-key", _KEY_TYPE, ids[key]
    account[key] = _values_at(events["userIdentity.accountId"], rows)

    actor, rows = _representatives(nodes.codes["actor"], keep)
    identity = events["userIdentity.type"]
    types = [str(t) or "Unknown" for t in identity.cat.categories] + ["Unknown"]  # then code -1, missing
    codes = identity.cat.codes.to_numpy()[rows]
    kind[actor] = np.array([_KIND_OF_IDENTITY.get(t, t) for t in types], dtype=object)[codes]
    rtype[actor] = np.array([_TYPE_OF_IDENTITY.get(t) for t in types], dtype=object)[codes]
    name[actor], account[actor] = ids[actor], _values_at(events["userIdentity.accountId"], rows)
    for code in actor[pd.Series(ids[actor], dtype=object).str.startswith("arn:").to_numpy(dtype=bool)].tolist():
        node = ids[code]  # an ARN names the caller and its account
        name[code], account[code] = name_from_arn(node, rtype[code]) or None, arn_fields(node)[1] or account[code]

    kind[kind == None] = "unknown"  # noqa: E711 (elementwise)
    return [table[a] for a in _ATTRIBUTES]


def _values_at(column: pd.Series, rows: np.ndarray) -> np.ndarray:
    """The values of a category column at ``rows``, as an object array (``None`` where missing or blank)."""
    return _value_table(column)[column.cat.codes.to_numpy()[rows]]


def _value_table(column: pd.Series, spell: Callable[[str], object] | None = None) -> np.ndarray:
    """Per category of ``column`` its value (or ``spell(value)``), blanks ``None``, then ``None`` for code -1 (missing)."""
    values = column.cat.categories.to_numpy(dtype=object)
    table = np.empty(len(values) + 1, dtype=object)
    table[:-1] = values if spell is None else [spell(v) for v in values.tolist()]
    table[:-1][values == ""] = None
    return table


def _representatives(codes: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each node code kept rows carry (``codes``: per row, -1 for none), and one such row (their attributes agree)."""
    where = np.full(codes.max(initial=-1) + 2, -1, dtype=np.int64)  # the last slot takes code -1 and left-out rows
    where[np.where(keep, codes, -1)] = np.arange(len(codes))
    found = np.flatnonzero(where[:-1] >= 0)
    return found, where[found]
