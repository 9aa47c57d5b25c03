"""From per-event links to the aggregated networkx graph, with numpy up to the last step.

:func:`forensics.graph.activity_graph` decides what links what (one link per event and
edge, as node codes); this module turns those links into the ``networkx.DiGraph``:

* :func:`aggregate` sums the links up per edge: counts, first and last times, errors, the
  strongest relation and the distinct event names (equal name sets numbered once and
  spelled once, as tuples), edges in the order of their first link. The links come as
  :class:`Links` parts, each a relation's arrays with an optional mask, so that they need
  not be picked out and concatenated first;
* :func:`attribute_dicts` makes the nodes' dicts, leaving out what is not known;
* :func:`add_nodes` and :func:`add_edges` put nodes, then edges with their attribute dicts
  (aware UTC datetimes, equal name sets shared as one tuple), into an empty graph.

Each step has two implementations that give identical results:

* the C extension ``forensics._edges`` (``_edges_sum.c`` sums, ``_edges.c`` makes the
  dicts). :func:`aggregate` is one pass over the parts' links, a chunk at a time, through
  a hash table (in huge pages on Linux) whose slots hold the edges' sums and name bits, so
  that a link reads and writes one slot at random (fetched a few links ahead), after a
  cheaper pass that checks the codes and estimates how many edges there are, to size the
  table once. It releases the GIL while it sums.
  :func:`add_edges` makes the dicts without the interpreter loop and puts them into one
  node's inner dict at a time (all edges of a source, then all of a target, each in edge
  order), which keeps networkx's dicts in the cache;
* numpy plus Python (reductions over integer arrays; :func:`edge_dicts` and :func:`fill`),
  used where the extension was not built or ``FORENSICS_GRAPHBUILD=python`` is set; tests
  switch to it with ``monkeypatch.setattr(graphbuild, "_edges", None)``.

``tests/test_graphbuild.py`` holds the two to each other (``bash bench/edges_asan.sh`` runs
it against a sanitizer build of the C); ``bench/bench_graph.py`` measures both and what the
Python objects alone cost (``python_floor_seconds``).
"""

from __future__ import annotations

import datetime as dt
import gc
import itertools
import os
from dataclasses import dataclass

import networkx as nx
import numpy as np
import pandas as pd

try:
    from forensics import _edges
except ImportError:  # installed without a C compiler: numpy and Python do every step
    _edges = None
if os.environ.get("FORENSICS_GRAPHBUILD", "").lower() == "python":
    _edges = None

_MIN, _MAX = np.iinfo(np.int64).min, np.iinfo(np.int64).max
_UTC = dt.UTC
_EPOCH, _MICROSECOND = dt.datetime(1970, 1, 1), dt.timedelta(microseconds=1)
#: Microseconds since the epoch of the first and last ``datetime``.
_EARLIEST, _LATEST = (dt.datetime.min - _EPOCH) // _MICROSECOND, (dt.datetime.max - _EPOCH) // _MICROSECOND
#: The dtype of each per-edge array of :class:`Edges`, in field order (what the C extension reads and writes).
_EDGE_DTYPES = {"src": np.int32, "dst": np.int32, "count": np.int64, "first": np.int64, "last": np.int64,
                "errors": np.int64, "relation": np.int8, "set_of": np.int32}  # fmt: skip


@dataclass(frozen=True)
class Links:
    """Links of one relation: ``src[i] -> dst[i]`` from event ``row[i]``, for each ``i`` where ``mask[i]``.

    Attributes
    ----------
    src, dst : numpy.ndarray
        Node codes (int32), valid (``0 .. nodes - 1``) wherever ``mask`` is set.
    relation : int
        The relation code of every link (0-127, higher is stronger).
    row : numpy.ndarray or None
        The event row of each link (int64); ``None``: link ``i`` is event ``i``'s (per-event arrays).
    mask : numpy.ndarray or None
        Which ``i`` are links (bool); ``None``: every ``i``.
    """

    src: np.ndarray
    dst: np.ndarray
    relation: int
    row: np.ndarray | None = None
    mask: np.ndarray | None = None

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The links' sources, targets and event rows, picked out (the mask applied)."""
        at = np.arange(len(self.src)) if self.mask is None else np.flatnonzero(self.mask)
        row = at if self.row is None else self.row[at]
        return self.src[at], self.dst[at], row

    def c_part(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None, int]:
        """The part as the C extension's ``aggregate`` takes it (arrays of its dtypes, contiguous)."""
        src, dst = (np.ascontiguousarray(a, dtype=np.int32) for a in (self.src, self.dst))
        row = None if self.row is None else np.ascontiguousarray(self.row, dtype=np.int64)
        mask = None if self.mask is None else np.ascontiguousarray(self.mask, dtype=np.bool_)
        return src, dst, row, mask, int(self.relation)


def link_arrays(links: list[Links]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """All links of ``links`` as four arrays: sources, targets (int32), event rows (int64), relation codes (int8)."""
    picked = [part.arrays() for part in links]
    src, dst, row = (np.concatenate([np.empty(0, dtype=t)] + [p[i] for p in picked]).astype(t, copy=False)
                     for i, t in enumerate((np.int32, np.int32, np.int64)))  # fmt: skip
    rel = np.concatenate([np.empty(0, dtype=np.int8)] + [np.full(len(p[2]), part.relation, dtype=np.int8)
                                                          for p, part in zip(picked, links)])  # fmt: skip
    return src, dst, row, rel


@dataclass(frozen=True)
class Edges:
    """Links summed up per (source, target) node code, one entry per edge in the order of its first link.

    Attributes
    ----------
    src, dst : numpy.ndarray
        The edge's source and target node codes (int32).
    count, errors : numpy.ndarray
        How many links the edge has, and how many of their events failed (int64).
    first, last : numpy.ndarray
        Least and greatest event time, microseconds since the epoch (int64); ``_MAX`` and
        ``_MIN`` when no event behind the edge has a time.
    relation : numpy.ndarray
        The strongest relation code of the edge's links (int8).
    set_of : numpy.ndarray
        The edge's set of event names, an index into ``sets`` (int32).
    sets : list of tuple of str
        The distinct sets of event names, each sorted, in the order of the first edge having it.
    linked : numpy.ndarray
        Per event, whether any link is its (bool).
    """

    src: np.ndarray
    dst: np.ndarray
    count: np.ndarray
    first: np.ndarray
    last: np.ndarray
    errors: np.ndarray
    relation: np.ndarray
    set_of: np.ndarray
    sets: list[tuple[str, ...]]
    linked: np.ndarray

    @property
    def actions(self) -> list[tuple[str, ...]]:
        """Each edge's sorted distinct event names; edges with equal names share one tuple."""
        return np.fromiter(self.sets, dtype=object, count=len(self.sets))[self.set_of].tolist()


def aggregate(nodes: int, links: list[Links], *, times: np.ndarray, failed: np.ndarray, names: pd.Series) -> Edges:
    """Sum up links per edge.

    Parameters
    ----------
    nodes
        How many node codes there are (below 2**31).
    links
        The links, in parts (see :class:`Links`); their order is the order of the links.
    times, failed, names
        Per event: ``eventTime`` as microseconds since the epoch (NaT the int64 minimum),
        whether it failed, ``eventName`` (a category column).

    Returns
    -------
    Edges
        One entry per distinct (source, target), in the order of its first link.

    Raises
    ------
    ValueError
        If a link names a node code outside ``0 .. nodes - 1`` or a row outside ``times``.
    """
    ranks, spelled = _ranks(names)
    times, failed = np.ascontiguousarray(times, dtype=np.int64), np.ascontiguousarray(failed, dtype=np.bool_)
    if _edges is not None:
        *columns, sets, linked = _edges.aggregate(
            nodes, tuple(spelled), [part.c_part() for part in links], times, failed, ranks
        )
        arrays = (np.frombuffer(b, dtype=t) for b, t in zip(columns, _EDGE_DTYPES.values()))
        return Edges(*arrays, sets=sets, linked=np.frombuffer(linked, dtype=np.bool_))
    src, dst, row, rel = link_arrays(links)
    for codes, end in ((src, nodes), (dst, nodes), (row, len(times))):
        if len(codes) and (codes.min() < 0 or codes.max() >= end):
            raise ValueError("aggregate: a link names a node or event out of range")
    linked = np.zeros(len(times), dtype=bool)
    linked[row] = True
    group, pairs = pd.factorize(src.astype(np.int64) * nodes + dst)
    size = len(pairs)
    first = np.full(size, _MAX)
    np.minimum.at(first, group, np.where(times == _MIN, _MAX, times)[row])  # NaT is _MIN: never the first
    last = np.full(size, _MIN)
    np.maximum.at(last, group, times[row])
    relation = np.zeros(size, dtype=np.int8)
    np.maximum.at(relation, group, rel)
    set_of, sets = _action_sets(group, ranks[row], spelled, size)
    return Edges(
        src=(pairs // nodes).astype(np.int32), dst=(pairs % nodes).astype(np.int32),
        count=np.bincount(group, minlength=size), first=first, last=last,
        errors=np.bincount(group[failed[row]], minlength=size), relation=relation, set_of=set_of, sets=sets,
        linked=linked,
    )  # fmt: skip


def sums_without_gil() -> bool:
    """Whether :func:`aggregate` sums in C, releasing the GIL meanwhile (so other threads can work then)."""
    return _edges is not None


def _ranks(names: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Per event, the rank of its name in sorted order (missing: one past the last), and the sorted names."""
    categories = names.cat.categories.astype(str).to_numpy(dtype=object)
    order = np.argsort(categories, kind="stable")
    rank = np.empty(len(categories) + 1, dtype=np.int32)
    rank[order] = np.arange(len(categories))
    rank[-1] = len(categories)  # code -1 (missing)
    return rank.take(names.cat.codes.to_numpy()), categories[order].tolist()  # take: faster than rank[codes]


def _action_sets(group: np.ndarray, rank: np.ndarray, spelled: list[str], size: int) -> tuple[np.ndarray, list[tuple[str, ...]]]:
    """Each edge's set of distinct names (``spelled[rank]``), numbered by first edge, and the sets as sorted tuples.

    Each edge's names become a bit set (bit ``i`` for ``spelled[i]``, 64 to a word), so
    equal sets are found by hashing integers, and each distinct set is spelled once.
    """
    named = rank < len(spelled)  # rank len(spelled) is a missing name: in no set
    group, rank = group[named], rank[named]
    words = len(spelled) // 64 + 1
    bits = np.empty((size, words), dtype="<u8")
    for word in range(words):
        mine = slice(None) if words == 1 else rank >> 6 == word
        hit = np.zeros(size * 64, dtype=bool)
        hit[group[mine] * 64 + (rank[mine].astype(np.int64) & 63)] = True
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
    return which.astype(np.int32), sets.tolist()


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
    if _edges is not None:
        return _edges.attribute_dicts(tuple(keys), [column.tolist() for column in columns])
    pattern = np.zeros(len(columns[0]), dtype=np.int64)  # which keys each row has, as bits
    for i, column in enumerate(columns):
        pattern |= (column != None).astype(np.int64) << i  # noqa: E711 (elementwise)
    out = np.empty(len(pattern), dtype=object)
    for p in np.unique(pattern).tolist():
        rows = np.flatnonzero(pattern == p)
        mine = [i for i in range(len(keys)) if p >> i & 1]
        values = zip(*(columns[i][rows].tolist() for i in mine)) if mine else itertools.repeat((), len(rows))
        out[rows] = list(map(dict, map(zip, itertools.repeat([keys[i] for i in mine]), values)))
    return out.tolist()


def add_nodes(graph: nx.DiGraph, nodes: list[str], node_data: list[dict[str, str]]) -> None:
    """Put ``nodes`` with their attribute dicts into an empty graph: what ``add_nodes_from`` makes.

    The one place, with :func:`add_edges`, that writes networkx's own dict-of-dicts
    (``_node``, ``_succ`` which is ``_adj``, and ``_pred``; "Subclasses (Advanced)" in the
    networkx ``Graph`` docs) instead of calling its methods, which check every node and
    edge and copy every attribute dict, three times the work. The caller guarantees what
    they would check: ``nodes`` unique, every attribute dict its own.
    """
    if len(graph):
        raise ValueError("add_nodes() fills an empty graph only")
    graph._node.update(zip(nodes, node_data))
    graph._succ.update({node: {} for node in nodes})
    graph._pred.update({node: {} for node in nodes})


def add_edges(graph: nx.DiGraph, labels: list[str], edges: Edges, relations: tuple[str, ...]) -> None:
    """Put the aggregated ``edges`` into a graph holding their nodes (:func:`add_nodes`), with their attribute dicts.

    Parameters
    ----------
    graph
        A graph whose ``_succ`` and ``_pred`` hold an empty dict for every node an edge
        names, and no edges yet.
    labels
        The node (label) of each node code.
    edges
        What :func:`aggregate` returned; its (source, target) pairs are unique.
    relations
        The name of each relation code.

    Each edge gets a dict of its own (see :func:`edge_dicts`); ``succ[u][v]`` and
    ``pred[v][u]`` are the same dict, and every inner dict gets its edges in edge order.
    Where an edge's first and last times are equal the C extension makes one datetime for
    both (they are immutable).

    Raises
    ------
    ValueError
        If a time is outside ``datetime``'s years 1-9999 (as pandas says it); from the C
        extension also if a code is out of range (numpy raises IndexError).
    KeyError
        If a node an edge names has no dict in ``_succ`` or ``_pred``.
    """
    if _edges is not None and _datetime_range(edges.first, _MAX) and _datetime_range(edges.last, _MIN):
        src, dst, count, first, last, errors, relation, set_of = (
            np.ascontiguousarray(getattr(edges, field), dtype=t) for field, t in _EDGE_DTYPES.items())
        _edges.insert_edges(graph._succ, graph._pred, labels, src, dst, count, first, last, errors, relation,
                            tuple(relations), set_of, edges.sets, _UTC)  # fmt: skip
        return
    # or years out of datetime's range: utc_datetimes says which
    sources, targets = (np.asarray(labels, dtype=object)[codes].tolist() for codes in (edges.src, edges.dst))
    _put_edges(graph, sources, targets, edge_dicts(edges, relations))


def _datetime_range(micros: np.ndarray, unknown: int) -> bool:
    """Whether every time in ``micros`` but the ``unknown`` marker falls in ``datetime``'s years 1-9999."""
    known = micros[micros != unknown]
    return not len(known) or (_EARLIEST <= known.min() and known.max() <= _LATEST)


def fill(
    graph: nx.DiGraph,
    nodes: list[str],
    node_data: list[dict[str, str]],
    sources: list[str],
    targets: list[str],
    edge_data: list[dict[str, object]],
) -> None:
    """Put nodes, then edges, into an empty graph: what ``add_nodes_from`` + ``add_edges_from`` make.

    The Python way of :func:`add_nodes` and :func:`add_edges`, from lists of labels and
    attribute dicts. The caller guarantees the (source, target) pairs unique and between
    ``nodes``. ``tests/test_graphbuild.py`` checks the result equals the public construction.
    """
    add_nodes(graph, nodes, node_data)
    _put_edges(graph, sources, targets, edge_data)


def _put_edges(graph: nx.DiGraph, sources: list[str], targets: list[str], edge_data: list[dict[str, object]]) -> None:
    """Python's way of putting edges between nodes already in ``graph``: one dict each, seen from both ends."""
    succ, pred = graph._succ, graph._pred
    for u, v, data in zip(sources, targets, edge_data):
        succ[u][v] = data
        pred[v][u] = data
