"""Walks and questions over an activity graph: what a key led to, who got to a bucket, who did what.

>>> from forensics.graphwalk import reach, touched_by, who_did
>>> reach(graph, "AKIAIOSFODNN7EXAMPLE")              # everything a leaked key led to   # doctest: +SKIP
>>> touched_by(graph, "arn:aws:s3:::acme-data")       # everyone who got to a bucket     # doctest: +SKIP
>>> who_did(events, "orders-db", actions="StopDBInstance")                               # doctest: +SKIP

* :func:`reach` and :func:`touched_by` walk a graph of :func:`forensics.graph.activity_graph`
  forward or backward in time; :func:`resolve_node` finds a node by id or name;
* :func:`events_for_edge` gives back the events behind an edge, under the graph's own
  selection;
* :func:`who_did` answers "who called which API on this resource, and when" straight from
  the events.

These names are importable from :mod:`forensics.graph` too.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Iterable

import networkx as nx
import numpy as np
import pandas as pd

from forensics import schema
from forensics.errors import ParameterError
from forensics.graph import ISSUER, KEY, _check_resources, _flags, _links, _nodes, _one_copy, select
from forensics.graphbuild import link_arrays
from forensics.resource_rules import name_from_arn
from forensics.resources import base_action, extract_resources, mentioning
from forensics.window import TimeLike, parse_bounds

# ------------------------------------------------------------------------- walking it


def resolve_node(graph: nx.DiGraph, node: str) -> str:
    """The node id for ``node``: itself if it is one, else the one node with that ``name``.

    Raises
    ------
    ParameterError
        If no node (or more than one) has that id or name; the message lists candidates.
    """
    if node in graph:
        return node
    named = sorted(n for n, name in graph.nodes(data="name") if name == node)
    if len(named) == 1:
        return named[0]
    if named:
        raise ParameterError(f"{node!r} names several nodes, pass one of {named}")
    close = sorted(n for n in graph if node.lower() in str(n).lower())[:5]
    hint = f"; did you mean one of {close}?" if close else ""
    raise ParameterError(f"{node!r} is not a node of the graph{hint}")


def reach(graph: nx.DiGraph, node: str, start: TimeLike | None = None, end: TimeLike | None = None) -> nx.DiGraph:
    """Everything reachable from ``node``, following edges forward in time.

    An edge ``u -> v`` is followed when it was active in ``[start, end]`` and its last event
    is not earlier than the time the walk reached ``u``; ``v`` is then reached at the later
    of that time and the edge's first event. So a session that acted only *before* a role
    was assumed is not blamed on the assumption. Edges without known times are followed.

    Acting on something is not becoming it: after a ``call`` edge the walk goes on only
    along ``runs-as`` and ``credential`` edges (a function created runs as its role; a key
    created signs for its user). So calling the EC2 API does not reach what the EC2 service
    did, and assuming a role reaches the session the caller started (``caller -session->
    session``), not every other session of the role; start the walk at the role for those.
    A key leads to its user, whose node holds all the user's calls whatever key signed
    them: :func:`events_for_edge` tells them apart (``userIdentity.accessKeyId``).

    Returns
    -------
    networkx.DiGraph
        The reached nodes and the edges followed, with their attributes; each node has
        ``reached`` (a datetime, or ``None`` for the start without ``start``).
    """
    return _walk(graph, resolve_node(graph, node), *parse_bounds(start, end), forward=True)


def touched_by(graph: nx.DiGraph, node: str, start: TimeLike | None = None, end: TimeLike | None = None) -> nx.DiGraph:
    """Everything that led to ``node``: the mirror of :func:`reach`, backwards in time.

    An edge ``u -> v`` is followed back when it was active in ``[start, end]`` and its first
    event is not later than the time the walk left ``v``; ``u`` is then left at the earlier
    of that time and the edge's last event. The same chains as :func:`reach` are allowed,
    read backwards (the callers of ``AssumeRole`` on a role are not taken for the authors
    of its sessions' calls). Each node has ``left`` instead of ``reached``.
    """
    return _walk(graph, resolve_node(graph, node), *parse_bounds(start, end), forward=False)


_NEVER = -(2**63)  # "no time yet": before every time
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
#: Relations a walk may follow right after a ``call`` edge.
_AFTER_CALL = frozenset({"runs-as", "credential"})


def _ordinal(ts: dt.datetime, forward: bool) -> int:
    """A time as microseconds since the epoch, negated when walking backwards."""
    micros = round(ts.timestamp() * 1_000_000)
    return micros if forward else -micros


def _cross(data: dict, at: int, lo: pd.Timestamp | None, hi: pd.Timestamp | None, forward: bool) -> int | None:
    """When a walk standing at ``at`` gets across an edge, or ``None`` if it cannot."""
    first, last = data.get("first_seen"), data.get("last_seen")
    if (lo is not None and last is not None and last < lo) or (hi is not None and first is not None and first > hi):
        return None
    enter, leave = (first, last) if forward else (last, first)
    if leave is not None and at != _NEVER and _ordinal(leave, forward) < at:
        return None
    return at if enter is None else max(at, _ordinal(enter, forward))


def _walk(
    graph: nx.DiGraph, origin: str, lo: pd.Timestamp | None, hi: pd.Timestamp | None, forward: bool
) -> nx.DiGraph:
    """Earliest-arrival (forward) or latest-departure (backward) walk from ``origin``.

    A label-setting search over (node, restricted) states: ``restricted`` says the chain
    so far forbids what comes next (forward: the walk arrived by a ``call``; backward: it
    left by an edge that may not follow a ``call``). Each state is expanded once, at its
    best time; the edges crossed from there are the ones kept.
    """
    bound = lo if forward else hi
    best = {(origin, False): _NEVER if bound is None else _ordinal(bound, forward)}
    heap = [(best[origin, False], origin, False)]
    done: set[tuple[str, bool]] = set()
    followed: dict[tuple[str, str], dict] = {}
    while heap:
        at, u, restricted = heapq.heappop(heap)
        if (u, restricted) in done:
            continue
        done.add((u, restricted))
        for w, data in (graph.succ[u] if forward else graph.pred[u]).items():
            relation = data.get("relation", "call")
            if restricted and (relation not in _AFTER_CALL if forward else relation == "call"):
                continue
            when = _cross(data, at, lo, hi, forward)
            if when is None:
                continue
            followed[(u, w) if forward else (w, u)] = data
            state = (w, relation == "call" if forward else relation not in _AFTER_CALL)
            if state not in best or when < best[state]:
                best[state] = when
                heapq.heappush(heap, (when, *state))
    out = nx.DiGraph()
    out.graph.update(graph.graph, origin=origin, walk="reach" if forward else "touched_by", walk_start=lo, walk_end=hi)
    earliest: dict[str, int] = {}
    for (n, _), t in best.items():
        earliest[n] = min(t, earliest.get(n, t))
    for n, t in earliest.items():
        when = None if t == _NEVER else _EPOCH + dt.timedelta(microseconds=t if forward else -t)
        out.add_node(n, **{**graph.nodes[n], ("reached" if forward else "left"): when})
    out.add_edges_from((u, v, d) for (u, v), d in followed.items())
    return out


# ------------------------------------------------------------------------- back to events


def events_for_edge(
    events: pd.DataFrame, graph: nx.DiGraph, u: str, v: str, *, resources: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The events behind the edge ``u -> v`` of a graph built from ``events``.

    ``graph`` is from :func:`~forensics.graph.activity_graph` (or a walk of one), ``u``/``v``
    ids or names (:func:`resolve_node`). ``resources``, the frame the graph was built with,
    saves parsing again; without it only the events that can be behind the edge are parsed.
    Returns the rows of ``events`` (original index, frame order) that make the edge, under
    the graph's own selection; raises :class:`ParameterError` if there is no such edge.
    """
    u, v = resolve_node(graph, u), resolve_node(graph, v)
    if not graph.has_edge(u, v):
        raise ParameterError(f"the graph has no edge {u!r} -> {v!r}")
    meta = graph.graph
    keep = select(events, start=meta.get("start"), end=meta.get("end"), actors=meta.get("actors"),
                  category=meta.get("category"))  # fmt: skip
    ends = [u, v]
    near = np.zeros(len(events), dtype=bool)
    for column in ("actor", KEY, ISSUER, "sourceIPAddress", "eventSource"):
        near |= events[column].isin(ends).to_numpy(dtype=bool)
    names = [str(graph.nodes[n].get("name", n)) for n in ends]
    rows = np.flatnonzero(keep & (near | mentioning(events, names)))
    sub = events.iloc[rows]
    if resources is None:
        sub_resources = extract_resources(sub, objects=bool(meta.get("objects")))
    else:
        _check_resources(events, resources)
        position = np.full(len(events), -1)
        position[rows] = np.arange(len(rows))
        mine = resources[position[resources["row"].to_numpy()] >= 0]
        sub_resources = mine.assign(row=position[mine["row"].to_numpy()]).reset_index(drop=True)
    every = np.ones(len(sub), dtype=bool)
    nodes = _nodes(sub, sub_resources, every, bool(meta.get("objects")), bool(meta.get("ips")))
    src, dst = nodes.index.get_indexer([u, v])
    link_src, link_dst, link_row, _ = link_arrays(_links(sub, sub_resources, every, nodes))
    hit = np.unique(link_row[(link_src == src) & (link_dst == dst)])
    return events.iloc[rows[hit]]


WHO_DID_COLUMNS: tuple[str, ...] = (
    "eventTime", "actor", "eventName", "arn", "sourceIPAddress", KEY, "errorCode", "eventID",
)  # fmt: skip


def who_did(
    events: pd.DataFrame,
    resource: str,
    actions: str | Iterable[str] | None = None,
    *,
    resources: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Who called which API on a resource, and when: "who stopped this RDS instance".

    Parameters
    ----------
    events
        An events frame.
    resource
        An ARN, an access key id, or a short name (bucket name, DB identifier, function
        name, instance id); short names match case-insensitively.
    actions
        Only these eventNames (version suffixes such as Lambda's ``20171031`` ignored).
    resources
        The :func:`~forensics.resources.extract_resources` frame of ``events``, if computed;
        otherwise only the events whose text mentions the resource are parsed.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`WHO_DID_COLUMNS`, one row per (event, matching resource), in time
        order, indexed like ``events``. Failed attempts are included; ``errorCode`` says so.
        ``who_did(events, "acme-data", "CreateBucket")``, ``who_did(events, "resize",
        ["PutFunctionConcurrency", "DeleteFunctionConcurrency"])``.
    """
    schema.validate(events)
    keep = _one_copy(events)
    if actions is not None:
        wanted = {base_action(a) for a in ([actions] if isinstance(actions, str) else actions)}
        keep &= _flags(events["eventName"], wanted, "action")
    needle = name_from_arn(resource) if resource.startswith("arn:") else resource
    if resources is None:
        near = mentioning(events, [needle]) | (events["eventSource"] == resource).to_numpy(dtype=bool)
        rows = np.flatnonzero(keep & near)
        found = extract_resources(events.iloc[rows])
        found = found.assign(row=rows[found["row"].to_numpy()])
    else:
        _check_resources(events, resources)
        found = resources[keep[resources["row"].to_numpy()]]
    arn = found["arn"].astype(str)
    hit = found[(arn == resource) | (found["name"].astype(str).str.lower() == resource.lower())]
    rows = hit["row"].to_numpy()
    out = events.iloc[rows][[c for c in WHO_DID_COLUMNS if c != "arn"]].copy()
    out.insert(WHO_DID_COLUMNS.index("arn"), "arn", hit["arn"].astype(str).to_numpy())
    return out.iloc[np.argsort(rows, kind="stable")]
