"""From per-event links to the aggregated networkx graph, with numpy up to the last step.

:func:`forensics.graph.activity_graph` decides what links what (one link per event and
edge, as node codes); this module turns those links into the ``networkx.DiGraph``:

* :func:`aggregate` sums the links up per edge with numpy: one hash pass finds the edges,
  then counts, first and last times, errors, the strongest relation and the distinct
  event names are reductions over integer arrays;
* :func:`edge_dicts` makes each edge's attribute dict (aware UTC datetimes through
  :func:`utc_datetimes`, equal name sets shared as one tuple);
* :func:`attribute_dicts` makes the nodes' dicts, leaving out what is not known;
* :func:`fill` puts nodes and edges into an empty graph in one pass.

What remains is Python objects: two datetimes and one dict per edge, two dict entries to
insert it. ``bench/bench_graph.py`` measures that floor (``python_floor_seconds``).
"""

from __future__ import annotations

import datetime as dt
import gc
import itertools
from dataclasses import dataclass

import networkx as nx
import numpy as np
import pandas as pd

_MIN, _MAX = np.iinfo(np.int64).min, np.iinfo(np.int64).max
_UTC = dt.UTC
_EPOCH, _MICROSECOND = dt.datetime(1970, 1, 1), dt.timedelta(microseconds=1)
#: Microseconds since the epoch of the first and last ``datetime``.
_EARLIEST, _LATEST = (dt.datetime.min - _EPOCH) // _MICROSECOND, (dt.datetime.max - _EPOCH) // _MICROSECOND


@dataclass(frozen=True)
class Edges:
    """Links summed up per (source, target) node code, one entry per edge in the order of its first link.

    ``first``/``last`` are microseconds since the epoch (``_MAX``/``_MIN`` when no event
    behind the edge has a time); ``relation`` is the strongest relation code of its links;
    ``actions`` the sorted distinct event names, edges with equal names sharing one tuple.
    """

    src: np.ndarray
    dst: np.ndarray
    count: np.ndarray
    first: np.ndarray
    last: np.ndarray
    errors: np.ndarray
    relation: np.ndarray
    actions: list[tuple[str, ...]]


def aggregate(
    nodes: int,
    src: np.ndarray,
    dst: np.ndarray,
    row: np.ndarray,
    rel: np.ndarray,
    *,
    times: np.ndarray,
    failed: np.ndarray,
    names: pd.Series,
) -> Edges:
    """Sum up links per edge.

    Parameters
    ----------
    nodes
        How many node codes there are.
    src, dst, row, rel
        One entry per link: its source and target node codes, its event's row, its
        relation code (higher is stronger).
    times, failed, names
        Per event: ``eventTime`` as microseconds since the epoch (NaT the int64 minimum),
        whether it failed, ``eventName`` (a category column).
    """
    group, pairs = pd.factorize(src.astype(np.int64) * nodes + dst)
    size = len(pairs)
    first = np.full(size, _MAX)
    np.minimum.at(first, group, np.where(times == _MIN, _MAX, times)[row])  # NaT is _MIN: never the first
    last = np.full(size, _MIN)
    np.maximum.at(last, group, times[row])
    relation = np.zeros(size, dtype=np.int8)
    np.maximum.at(relation, group, rel)
    ranks, spelled = _ranks(names)
    return Edges(
        src=pairs // nodes, dst=pairs % nodes, count=np.bincount(group, minlength=size), first=first, last=last,
        errors=np.bincount(group[failed[row]], minlength=size), relation=relation,
        actions=_action_sets(group, ranks[row], spelled, size),
    )  # fmt: skip


def _ranks(names: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Per event, the rank of its name in sorted order (missing: one past the last), and the sorted names."""
    categories = names.cat.categories.astype(str).to_numpy(dtype=object)
    order = np.argsort(categories, kind="stable")
    rank = np.empty(len(categories) + 1, dtype=np.int64)
    rank[order] = np.arange(len(categories))
    rank[-1] = len(categories)  # code -1 (missing)
    return rank[names.cat.codes.to_numpy()], categories[order].tolist()


def _action_sets(group: np.ndarray, rank: np.ndarray, spelled: list[str], size: int) -> list[tuple[str, ...]]:
    """The sorted distinct names (``spelled[rank]``) of each edge's links; edges with equal sets share one tuple.

    Each edge's names become a bit set (bit ``i`` for ``spelled[i]``, 64 to a word), so
    equal sets are found by hashing integers, and each distinct set is spelled once.
    """
    words = len(spelled) // 64 + 1  # bit len(spelled), a missing name, is never spelled
    bits = np.empty((size, words), dtype="<u8")
    for word in range(words):
        mine = slice(None) if words == 1 else rank >> 6 == word
        hit = np.zeros(size * 64, dtype=bool)
        hit[group[mine] * 64 + (rank[mine] & 63)] = True
        bits[:, word] = np.packbits(hit.reshape(size, 64), axis=1, bitorder="little").view("<u8")[:, 0]
    which = np.zeros(size, dtype=np.int64)  # the distinct set of each edge, numbered by first edge
    for column in bits.T:
        codes, uniques = pd.factorize(column)
        which = pd.factorize(which * len(uniques) + codes)[0]
    first = np.flatnonzero(~pd.Series(which).duplicated().to_numpy())
    present = np.unpackbits(bits[first].view(np.uint8), axis=1, bitorder="little")
    owner, slot = np.nonzero(present[:, : len(spelled)])
    names = np.asarray(spelled, dtype=object)[slot].tolist()
    ends = np.cumsum(np.bincount(owner, minlength=len(first))).tolist()
    sets = np.fromiter((tuple(names[a:b]) for a, b in zip([0, *ends[:-1]], ends)), dtype=object, count=len(first))
    # A young collection untracks tuples of strings, and a dict holding only untracked
    # values is never tracked: the collector then never walks the edge dicts (60 ms).
    gc.collect(0)
    return sets[which].tolist()


def edge_dicts(edges: Edges, relations: tuple[str, ...]) -> list[dict[str, object]]:
    """The attribute dict of each edge: ``count``, ``first_seen``, ``last_seen``, ``actions``, ``errors``, ``relation``.

    Every edge gets a dict of its own (networkx edge data must not be shared); the
    datetimes and tuples in them are immutable and may be.
    """
    first = utc_datetimes(edges.first, edges.first == _MAX)
    last = utc_datetimes(edges.last, edges.last == _MIN)
    relation = np.array(relations, dtype=object)[edges.relation].tolist()
    return [
        {"count": c, "first_seen": f, "last_seen": l, "actions": a, "errors": e, "relation": r}
        for c, f, l, a, e, r in zip(edges.count.tolist(), first, last, edges.actions, edges.errors.tolist(), relation)
    ]  # fmt: skip


def utc_datetimes(micros: np.ndarray, unknown: np.ndarray) -> list[dt.datetime | None]:
    """Aware UTC datetimes of microseconds since the epoch, ``None`` where ``unknown``; 2x faster than pandas.

    Each datetime is made from the 10-byte state it pickles itself as (``datetime(state,
    tzinfo)``, the unpickling constructor of CPython and PyPy alike): year as two bytes,
    month, day, hour, minute, second, microsecond as three bytes, all big-endian. numpy
    computes all the states at once. Times outside ``datetime``'s years 1-9999 go
    through pandas, which says what is wrong with them.
    """
    known = np.where(unknown, 0, micros)
    if len(known) and (known.min() < _EARLIEST or known.max() > _LATEST):
        values = pd.DatetimeIndex(known.view("datetime64[us]")).tz_localize(_UTC).to_pydatetime().tolist()
    else:
        stamps = known.view("datetime64[us]")
        days, months, years = (stamps.astype(f"datetime64[{unit}]") for unit in "DMY")
        year = years.astype(np.int64) + 1970
        micro = (stamps - days).astype(np.int64)
        state = np.empty((len(known), 10), dtype=np.uint8)
        state[:, 0], state[:, 1] = year >> 8, year & 255
        state[:, 2] = (months - years).astype(np.int64) + 1
        state[:, 3] = (days - months).astype(np.int64) + 1
        state[:, 4], state[:, 5] = micro // 3_600_000_000, micro // 60_000_000 % 60
        state[:, 6], micro = micro // 1_000_000 % 60, micro % 1_000_000
        state[:, 7], state[:, 8], state[:, 9] = micro >> 16, micro >> 8 & 255, micro & 255
        values = list(map(dt.datetime, state.view("V10").ravel().tolist(), itertools.repeat(_UTC)))
    for i in np.flatnonzero(unknown).tolist():
        values[i] = None
    return values


def attribute_dicts(keys: tuple[str, ...], columns: list[np.ndarray]) -> list[dict[str, str]]:
    """One dict per row of ``columns`` (object arrays, one per key), leaving out ``None`` values."""
    pattern = np.zeros(len(columns[0]), dtype=np.int64)  # which keys each row has, as bits
    for i, column in enumerate(columns):
        pattern |= (column != None).astype(np.int64) << i  # noqa: E711 (elementwise)
    out = np.empty(len(pattern), dtype=object)
    for p in np.unique(pattern).tolist():
        rows = np.flatnonzero(pattern == p)
        mine = [i for i in range(len(keys)) if p >> i & 1]
        values = zip(*(columns[i][rows].tolist() for i in mine))
        out[rows] = list(map(dict, map(zip, itertools.repeat([keys[i] for i in mine]), values)))
    return out.tolist()


def fill(
    graph: nx.DiGraph,
    nodes: list[str],
    node_data: list[dict[str, str]],
    sources: list[str],
    targets: list[str],
    edge_data: list[dict[str, object]],
) -> None:
    """Put nodes, then edges, into an empty graph: what ``add_nodes_from`` + ``add_edges_from`` make.

    The one place that writes networkx's own dict-of-dicts (``_node``, ``_succ`` which is
    ``_adj``, and ``_pred``; "Subclasses (Advanced)" in the networkx ``Graph`` docs)
    instead of calling those methods, which check both ends of every edge and copy every
    attribute dict, three times the work. The caller guarantees what they
    would check: ``nodes`` unique, the (source, target) pairs unique and between those
    nodes, every attribute dict its own. ``tests/test_graphbuild.py`` checks the result
    equals the public construction.
    """
    if len(graph):
        raise ValueError("fill() fills an empty graph only")
    graph._node.update(zip(nodes, node_data))
    succ, pred = graph._succ, graph._pred
    succ.update({node: {} for node in nodes})
    pred.update({node: {} for node in nodes})
    for u, v, data in zip(sources, targets, edge_data):
        succ[u][v] = data
        pred[v][u] = data
