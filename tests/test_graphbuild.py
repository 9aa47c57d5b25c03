"""The graph's last step: networkx's dicts filled directly, and datetimes made in bulk, checked against the plain ways."""

from __future__ import annotations

import datetime as dt

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from forensics.graphbuild import aggregate, edge_dicts, fill, utc_datetimes


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


def test_links_sum_up_per_edge_as_counted_one_by_one():
    """Random links over 130 event names (three words of name bits), some times and names missing."""
    rng = np.random.default_rng(11)
    names = pd.Series(pd.Categorical.from_codes(rng.integers(-1, 130, 400), [f"Name{i:03d}" for i in range(130)][::-1]))
    times = np.where(rng.random(400) < 0.05, np.iinfo(np.int64).min, rng.integers(0, 10**15, 400))
    failed = rng.random(400) < 0.2
    src, dst, row, rel = (rng.integers(0, 9, 3000), rng.integers(0, 9, 3000), rng.integers(0, 400, 3000),
                          rng.integers(0, 5, 3000).astype(np.int8))  # fmt: skip
    edges = aggregate(9, src, dst, row, rel, times=times, failed=failed, names=names)
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
