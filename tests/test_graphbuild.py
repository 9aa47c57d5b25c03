"""The graph's last step: networkx's dicts filled directly, and datetimes made in bulk, checked against the plain ways."""

from __future__ import annotations

import datetime as dt
import gc
import os
import sys

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from sanitized import run_sanitized

from forensics import graphbuild
from forensics.graphbuild import (
    Links, add_edges, add_nodes, aggregate, attribute_dicts, edge_dicts, fill, link_arrays, utc_datetimes,
)


def test_filling_equals_add_nodes_from_and_add_edges_from():
    rng = np.random.default_rng(3)
    nodes = [f"n{i}" for i in range(40)]
    node_data = [{"kind": "k", "name": n} for n in nodes]
    pairs = list(dict.fromkeys(zip(rng.choice(nodes, 300).tolist(), rng.choice(nodes, 300).tolist())))  # self-loops too
    data = [{"count": i, "actions": ("A",)} for i in range(len(pairs))]
    filled = nx.DiGraph()
    fill(filled, nodes, [dict(d) for d in node_data], [u for u, _ in pairs], [v for _, v in pairs], [dict(d) for d in data])
    plain = nx.DiGraph()
    plain.add_nodes_from(zip(nodes, node_data))
    plain.add_edges_from((u, v, d) for (u, v), d in zip(pairs, data))
    assert nx.utils.graphs_equal(filled, plain) and list(filled.nodes) == list(plain.nodes)
    assert all(list(filled.succ[n]) == list(plain.succ[n]) and list(filled.pred[n]) == list(plain.pred[n]) for n in nodes)
    assert nx.utils.graphs_equal(filled.copy(), plain) and nx.utils.graphs_equal(filled.reverse(), plain.reverse())


def test_times_become_aware_utc_datetimes():
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    stamps = [dt.datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=dt.UTC), epoch, dt.datetime(1969, 12, 31, 0, 0, 1, tzinfo=dt.UTC),
              dt.datetime(1, 1, 1, tzinfo=dt.UTC), dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC),
              dt.datetime(2038, 1, 19, 3, 14, 8, 65536, tzinfo=dt.UTC)]  # fmt: skip
    micros = np.array([(s - epoch) // dt.timedelta(microseconds=1) for s in stamps] + [0])
    made = utc_datetimes(micros, np.arange(len(micros)) == len(stamps))
    assert made == [*stamps, None]
    assert all(type(t) is dt.datetime and t.tzinfo is dt.UTC for t in made[:-1])
    with pytest.raises(ValueError, match="year 11476 is out of range"):
        utc_datetimes(np.array([300_000_000_000_000_000]), np.array([False]))


def test_filling_refuses_a_graph_with_nodes():
    with pytest.raises(ValueError, match="empty graph"):
        fill(nx.DiGraph([("a", "b")]), [], [], [], [], [])


def test_links_sum_up_per_edge_as_counted_one_by_one(way):
    """Random links over 130 event names (three words of name bits), some times and names missing."""
    rng = np.random.default_rng(11)
    names = pd.Series(pd.Categorical.from_codes(rng.integers(-1, 130, 400), [f"Name{i:03d}" for i in range(130)][::-1]))
    times = np.where(rng.random(400) < 0.05, np.iinfo(np.int64).min, rng.integers(0, 10**15, 400))
    failed = rng.random(400) < 0.2
    parts = [Links(rng.integers(0, 9, n).astype(np.int32), rng.integers(0, 9, n).astype(np.int32), int(rng.integers(0, 5)),
                   row=rng.integers(0, 400, n)) for n in rng.integers(0, 900, 7)]  # fmt: skip
    src, dst, row, rel = link_arrays(parts)
    edges = aggregate(9, parts, times=times, failed=failed, names=names)
    data = dict(zip(zip(edges.src.tolist(), edges.dst.tolist()), edge_dicts(edges, ("ip", "call", "runs-as", "session", "credential"))))
    assert list(data) == list(dict.fromkeys(zip(src.tolist(), dst.tolist())))  # edges in the order of their first link
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    for (u, v), got in data.items():
        mine = row[(src == u) & (dst == v)]
        known = [epoch + dt.timedelta(microseconds=int(t)) for t in times[mine] if t != np.iinfo(np.int64).min]
        assert got["count"] == len(mine) and got["errors"] == failed[mine].sum()
        assert (got["first_seen"], got["last_seen"]) == ((min(known), max(known)) if known else (None, None))
        assert got["actions"] == tuple(sorted({str(n) for n in names.iloc[mine] if isinstance(n, str)}))
        assert got["relation"] == ("ip", "call", "runs-as", "session", "credential")[rel[(src == u) & (dst == v)].max()]
    by_names = {}
    for got in data.values():  # equal name sets are one tuple
        assert by_names.setdefault(got["actions"], got["actions"]) is got["actions"]


# ------------------------------------------------------- the C extension and the Python way

RELATIONS = ("ip", "call", "runs-as", "session", "credential")
needs_c = pytest.mark.skipif(graphbuild._edges is None, reason="forensics._edges was not built")


@pytest.fixture(params=["c", "python"])
def way(request, monkeypatch):
    """Each test once through the C extension, once through numpy and Python."""
    if request.param == "c" and graphbuild._edges is None:
        pytest.skip("forensics._edges was not built")
    if request.param == "python":
        monkeypatch.setattr(graphbuild, "_edges", None)
    return request.param


def random_links(seed: int, nodes: int, names: int, links: int, events: int = 500):
    """Random links between ``nodes`` nodes over events with ``names`` event names (some missing, some without time).

    The links come in parts of every shape: with rows, masked (the left-out entries
    holding codes out of range), per event; ``src``, ``dst``, ``row``, ``rel`` are all of
    them picked out, in order.
    """
    rng = np.random.default_rng(seed)
    spelled = [f"Name{i:04d}" for i in range(names)][::-1]
    codes = rng.integers(-1, names, events) if names else np.full(events, -1)
    series = pd.Series(pd.Categorical.from_codes(codes, spelled))
    times = np.where(rng.random(events) < 0.05, np.iinfo(np.int64).min, rng.integers(-(10**15), 10**16, events))
    failed = rng.random(events) < 0.2
    hot = rng.integers(0, nodes, 40)  # links crowd on a few nodes, so edges repeat

    def ends(n: int) -> tuple[np.ndarray, np.ndarray]:
        return tuple(np.where(rng.random(n) < 0.7, rng.choice(hot, n), rng.integers(0, nodes, n)).astype(np.int32)
                     for _ in "ab")  # fmt: skip

    parts, left = [], links
    for shape in range(links and 6):
        n = left if shape == 5 else int(rng.integers(0, left + 1))
        left -= n
        relation = int(rng.integers(0, 5))
        if shape % 3 == 0:  # rows given
            src, dst = ends(n)
            parts.append(Links(src, dst, relation, row=rng.integers(0, events, n)))
        elif shape % 3 == 1:  # masked: the entries left out name no node and no event
            mask = np.zeros(2 * n, dtype=bool)
            mask[rng.choice(2 * n, n, replace=False)] = True
            src, dst = np.full(2 * n, -5, dtype=np.int32), np.full(2 * n, nodes + 3, dtype=np.int32)
            src[mask], dst[mask] = ends(n)
            row = np.full(2 * n, -1)
            row[mask] = rng.integers(0, events, n)
            parts.append(Links(src, dst, relation, row=row, mask=mask))
        else:  # per event: link i is event i's, where the mask is set
            src, dst = ends(events)
            mask = rng.random(events) < min(1.0, n / events)
            src[~mask] = -1
            parts.append(Links(src, dst, relation, mask=mask))
    src, dst, row, rel = link_arrays(parts)
    return dict(nodes=nodes, links=parts, src=src, dst=dst, row=row, rel=rel, times=times, failed=failed,
                names=series)  # fmt: skip


def c_parts(case: dict) -> list[tuple]:
    """The case's parts as the C extension takes them."""
    return [part.c_part() for part in case["links"]]


def summed(case: dict, monkeypatch, c: bool) -> graphbuild.Edges:
    with monkeypatch.context() as patch:
        if not c:
            patch.setattr(graphbuild, "_edges", None)
        return aggregate(case["nodes"], case["links"], times=case["times"], failed=case["failed"], names=case["names"])


CASES = [(9, 130, 3000), (70_000, 5, 20_000), (300, 400, 50_000), (3, 0, 100), (1, 1, 1), (5, 3, 0), (2**17, 64, 4000),
         (400, 65, 30_000), (40, 1, 5000)]  # fmt: skip


@needs_c
@pytest.mark.parametrize(("nodes", "names", "links"), CASES)
def test_c_sums_links_exactly_as_numpy(monkeypatch, nodes, names, links):
    """>64 and >300 names (bits past the slot's own word), no links, self-loops, node codes past 2**16."""
    case = random_links(nodes + names + links, nodes, names, links)
    c, py = summed(case, monkeypatch, True), summed(case, monkeypatch, False)
    for field in ("src", "dst", "count", "first", "last", "errors", "relation", "set_of"):
        assert getattr(c, field).tolist() == getattr(py, field).tolist(), field
        assert getattr(c, field).dtype == graphbuild._EDGE_DTYPES[field], field
    assert c.sets == py.sets and c.actions == py.actions
    assert c.linked.tolist() == py.linked.tolist() == (np.bincount(case["row"], minlength=500) > 0).tolist()
    assert len({id(s) for s in c.actions}) == len(c.sets)  # edges with equal names share one tuple
    pairs = list(zip(c.src.tolist(), c.dst.tolist()))
    assert pairs == list(dict.fromkeys(zip(case["src"].tolist(), case["dst"].tolist())))  # first-link order


@needs_c
def test_a_table_too_small_at_first_grows():
    """The C table is sized from an estimate of the edge count; when that is short it grows (here from 16 slots)."""
    case = random_links(21, 3000, 200, 60_000)
    ranks, spelled = graphbuild._ranks(case["names"])
    args = [c_parts(case), case["times"], case["failed"], ranks]
    sized, grown = (graphbuild._edges.aggregate(3000, tuple(spelled), *args, *start) for start in ((), (16,)))
    assert sized == grown and len(sized[0]) // 4 > 10_000


def built_graphs(case: dict, monkeypatch) -> tuple[nx.DiGraph, nx.DiGraph]:
    """The graph of ``case`` made by the C extension, and by numpy and Python."""
    graphs = []
    for c in (True, False):
        edges = summed(case, monkeypatch, c)
        labels = [f"node-{i}" for i in range(case["nodes"])]
        used = sorted(set(edges.src.tolist()) | set(edges.dst.tolist()))
        with monkeypatch.context() as patch:
            if not c:
                patch.setattr(graphbuild, "_edges", None)
            graph = nx.DiGraph()
            add_nodes(graph, [labels[i] for i in used], [{"kind": "k"} for _ in used])
            add_edges(graph, labels, edges, RELATIONS)
        graphs.append(graph)
    return graphs[0], graphs[1]


@needs_c
@pytest.mark.parametrize(("nodes", "names", "links"), [(400, 90, 30_000), *CASES[:6]])
def test_c_fills_the_graph_exactly_as_python(monkeypatch, nodes, names, links):
    made, plain = built_graphs(random_links(nodes * 7 + names + links, nodes, names, links), monkeypatch)
    assert nx.utils.graphs_equal(made, plain) and list(made.edges) == list(plain.edges)
    assert all(list(made.succ[n]) == list(plain.succ[n]) and list(made.pred[n]) == list(plain.pred[n]) for n in made)
    for (_, _, got), (_, _, want) in zip(made.edges(data=True), plain.edges(data=True)):
        assert list(got) == list(want) == ["count", "first_seen", "last_seen", "actions", "errors", "relation"]
        assert all(type(got[k]) is type(want[k]) for k in got)
        assert got["first_seen"] is None or got["first_seen"].tzinfo is dt.UTC
        assert got["last_seen"] is None or got["last_seen"].tzinfo is dt.UTC
    for u, v, data in made.edges(data=True):
        assert made.succ[u][v] is made.pred[v][u]  # one dict per edge, in both directions
        assert not gc.is_tracked(data)  # only untracked values: the collector never walks the edge dicts
    assert len({id(d) for _, _, d in made.edges(data=True)}) == made.number_of_edges()
    assert len({id(d["actions"]) for _, _, d in made.edges(data=True)}) == len({d["actions"] for _, _, d in made.edges(data=True)})


def test_edge_times_at_the_ends_of_datetime(way):
    """Times at the first and last microsecond datetime has, leap days, before the epoch: the same datetimes both ways."""
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    stamps = [dt.datetime(1, 1, 1, tzinfo=dt.UTC), dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC),
              dt.datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=dt.UTC), dt.datetime(1600, 2, 29, 12, tzinfo=dt.UTC),
              dt.datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC), epoch]  # fmt: skip
    micros = np.array([(s - epoch) // dt.timedelta(microseconds=1) for s in stamps])
    n = len(stamps)
    edges = graphbuild.Edges(np.zeros(n, dtype=np.int32), np.arange(n, dtype=np.int32), np.ones(n, dtype=np.int64),
                             micros, micros[::-1].copy(), np.zeros(n, dtype=np.int64), np.ones(n, dtype=np.int8),
                             np.zeros(n, dtype=np.int32), sets=[("A",)], linked=np.ones(1, dtype=bool))  # fmt: skip
    labels = [f"n{i}" for i in range(n)]
    graph = nx.DiGraph()
    add_nodes(graph, labels, [{} for _ in labels])
    add_edges(graph, labels, edges, RELATIONS)
    assert [graph.succ["n0"][v]["first_seen"] for v in labels] == stamps
    assert [graph.succ["n0"][v]["last_seen"] for v in labels] == stamps[::-1]
    assert all(d["first_seen"].tzinfo is dt.UTC and type(d["last_seen"]) is dt.datetime for d in graph.succ["n0"].values())


def test_years_out_of_range_are_refused_the_way_datetime_says(way):
    edges = graphbuild.Edges(*(np.array(v) for v in ([0], [1], [1], [300_000_000_000_000_000], [300_000_000_000_000_000],
                                                     [0], np.array([1], dtype=np.int8), np.array([0], dtype=np.int32))),
                             sets=[("A",)], linked=np.ones(1, dtype=bool))  # fmt: skip
    graph = nx.DiGraph()
    add_nodes(graph, ["a", "b"], [{}, {}])
    with pytest.raises(ValueError, match="year 11476 is out of range"):
        add_edges(graph, ["a", "b"], edges, RELATIONS)


def test_node_dicts_leave_out_what_is_not_known(way):
    columns = [np.array(c, dtype=object) for c in (["k", None, None], ["t", "u", None], [None, "n", None])]
    assert attribute_dicts(("kind", "type", "name"), columns) == [{"kind": "k", "type": "t"}, {"type": "u", "name": "n"}, {}]


def test_links_out_of_range_are_refused(way):
    """A node code past ``nodes`` or a row past the events where the mask is set is a ValueError, never a wrong graph."""
    case = random_links(4, 10, 3, 50)
    kw = dict(times=case["times"], failed=case["failed"], names=case["names"])
    at = np.array([0, 1, 2])
    for src, dst, row in (([0, 10, 0], [0, 0, 0], [0, 0, 0]), ([0, 0, 0], [0, -1, 0], [0, 0, 0]),
                          ([0, 0, 0], [0, 0, 0], [0, 500, 0]), ([0, 0, 0], [0, 0, 0], [0, -1, 0])):  # fmt: skip
        src, dst, row = np.array(src, dtype=np.int32), np.array(dst, dtype=np.int32), np.array(row)
        with pytest.raises(ValueError, match="out of range"):
            aggregate(10, [*case["links"], Links(src, dst, 1, row=row)], **kw)
        fine = aggregate(10, [*case["links"], Links(src, dst, 1, row=row, mask=at != 1)], **kw)  # left out: no matter
        assert fine.count.sum() == len(case["src"]) + 2
    with pytest.raises(ValueError, match="out of range"):  # per event, more entries than events
        aggregate(10, [Links(np.zeros(501, dtype=np.int32), np.zeros(501, dtype=np.int32), 1)], **kw)


@needs_c
def test_c_refuses_codes_out_of_range_and_bad_buffers():
    c = graphbuild._edges
    one64, one32, one8 = np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int32), np.zeros(1, dtype=np.int8)
    flag = np.zeros(1, dtype=bool)
    events = [one64, flag, one32]  # times failed rank

    def agg(*part, nodes=1, spelled=("A",), more=()):
        return c.aggregate(nodes, spelled, [part], *events, *more)

    counted = agg(one32, one32, one64, None, 0)
    assert counted[2] == np.int64(1).tobytes() and counted[8] == [("A",)] and counted[9] == b"\x01"
    assert agg(one32, one32, None, np.ones(1, dtype=bool), 3)[6] == b"\x03"  # per event, masked in
    assert agg(np.array([7], dtype=np.int32), one32, one64, flag, 0)[0] == b""  # masked out: never read as a link
    for part in [(np.array([1], dtype=np.int32), one32, one64, None, 0), (one32, np.array([-1], dtype=np.int32), None, None, 0),
                 (one32, one32, np.array([1]), None, 0), (one32, one32, np.array([-1]), None, 0),
                 (np.zeros(2, dtype=np.int32), np.zeros(2, dtype=np.int32), None, None, 0)]:  # fmt: skip
        with pytest.raises(ValueError, match="out of range"):
            agg(*part)
    for bad in (np.array([2], dtype=np.int32), np.array([-1], dtype=np.int32)):
        with pytest.raises(ValueError, match="rank out of range"):
            c.aggregate(1, ("A",), [], one64, flag, bad)
    for part, error, message in [
        ((np.zeros(1), one32, one64, None, 0), TypeError, "src: expected integer items of 4 bytes, got format 'd'"),
        ((one32, one32, np.zeros(1, dtype=np.uint64), None, 0), TypeError, "row: expected integer items of 8 bytes, got format 'L'"),
        ((one32, one32, None, np.zeros(1, dtype=np.int8), 0), TypeError, "mask: expected bool items of 1 bytes"),
        ((one32, np.zeros(2, dtype=np.int32), None, None, 0), ValueError, "dst: expected 1 items, got 2"),
        ((one32, one32, np.zeros(2, dtype=np.int64), None, 0), ValueError, "row: expected 1 items, got 2"),
        ((np.zeros(4, dtype=np.int32)[::2], np.zeros(2, dtype=np.int32), None, None, 0), ValueError, "contiguous"),
        ((np.zeros((1, 1), dtype=np.int32), one32, None, None, 0), ValueError, "one-dimensional"),
        ((one32, one32, None, None, 128), ValueError, "relation 128 out of range"),
        ((one32, one32, None, None, -1), ValueError, "relation -1 out of range"),
        ((one32, one32, None, None, 1.0), TypeError, "relation must be an int"),
        ((one32, one32, None, None), TypeError, r"tuple \(src, dst, row, mask, relation\)"),
    ]:
        with pytest.raises(error, match=message):
            agg(*part)
    with pytest.raises(TypeError, match="times: expected integer items of 8 bytes, got format '>q'"):
        c.aggregate(1, ("A",), [], np.zeros(1, dtype=">i8"), flag, one32)
    with pytest.raises(TypeError, match="failed: expected bool items of 1 bytes"):
        c.aggregate(1, ("A",), [], one64, one8, one32)
    with pytest.raises(ValueError, match="rank: expected 1 items, got 0"):
        c.aggregate(1, ("A",), [], one64, flag, np.zeros(0, dtype=np.int32))
    with pytest.raises(TypeError):
        c.aggregate(1, ("A",), ((one32, one32, None, None, 0),), *events)  # parts: a list
    with pytest.raises(TypeError, match="tuple of str"):
        agg(one32, one32, None, None, 0, spelled=(b"A",))
    with pytest.raises(ValueError, match="node count"):
        agg(one32, one32, None, None, 0, nodes=2**31)
    graph = nx.DiGraph()
    add_nodes(graph, ["a"], [{}])
    edge = [one32, one32, one64, one64, one64, one64, one8]  # src dst count first last errors relation
    with pytest.raises(ValueError, match="out of range"):
        c.insert_edges(graph._succ, graph._pred, ["a"], *edge, RELATIONS, np.array([3], dtype=np.int32), [()], dt.UTC)
    with pytest.raises(ValueError, match="out of range"):
        c.insert_edges(graph._succ, graph._pred, ["a"], *edge[:6], np.array([5], dtype=np.int8), RELATIONS, one32, [()], dt.UTC)
    with pytest.raises(TypeError, match="count: expected integer items of 8 bytes"):
        c.insert_edges(graph._succ, graph._pred, ["a"], one32, one32, one32, *edge[3:], RELATIONS, one32, [()], dt.UTC)
    with pytest.raises(KeyError, match="no adjacency dict"):
        c.insert_edges(graph._succ, graph._pred, ["z"], *edge, RELATIONS, one32, [()], dt.UTC)
    with pytest.raises(TypeError):
        c.insert_edges(graph._succ, graph._pred, ["a"], *edge, RELATIONS, one32, [()], "UTC")
    assert graph.number_of_edges() == 0
    c.insert_edges(graph._succ, graph._pred, ["a"], *edge, RELATIONS, one32, [()], dt.UTC)
    assert graph.succ["a"]["a"] == {"count": 0, "first_seen": dt.datetime(1970, 1, 1, tzinfo=dt.UTC),
                                    "last_seen": dt.datetime(1970, 1, 1, tzinfo=dt.UTC), "actions": (), "errors": 0,
                                    "relation": "ip"}  # fmt: skip


@needs_c
def test_c_keeps_reference_counts(monkeypatch):
    case = random_links(8, 60, 20, 5000)
    ranks, spelled = graphbuild._ranks(case["names"])
    spelled = tuple("".join(["n-", name]) for name in spelled)  # objects of this test's own
    args = [c_parts(case), case["times"], case["failed"], ranks]
    before = [sys.getrefcount(x) for x in spelled]
    for _ in range(3):
        out = graphbuild._edges.aggregate(60, spelled, *args)
        assert sum(len(s) for s in out[8]) > len(spelled)
        del out
    assert [sys.getrefcount(x) for x in spelled] == before
    edges = summed(case, monkeypatch, True)
    labels = [f"n{i}" for i in range(60)]
    relations = tuple("".join(["rel-", name]) for name in RELATIONS)
    watched = [*labels, *(s for s in edges.sets if s), *relations]  # not the shared empty tuple
    before = [sys.getrefcount(x) for x in watched]
    for _ in range(3):
        graph = nx.DiGraph()
        add_nodes(graph, labels, [{} for _ in labels])
        add_edges(graph, labels, edges, relations)
        assert sum(d["count"] for _, _, d in graph.edges(data=True)) == len(case["src"])
        del graph
        gc.collect()  # a graph's cached views refer back to it
    assert [sys.getrefcount(x) for x in watched] == before


@pytest.mark.slow
@needs_c
@pytest.mark.skipif(bool(os.environ.get("FORENSICS_CTDECODE_BUILD")), reason="already running under the sanitizer build")
def test_under_address_sanitizer() -> None:
    """This file and test_graph.py again, against an ASan + UBSan build of forensics._edges (bench/edges_asan.sh)."""
    run_sanitized("edges_asan.sh")
