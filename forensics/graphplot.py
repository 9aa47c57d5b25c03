"""Pictures of an activity graph, and files of it for other tools (GraphML, GEXF, node-link JSON).

>>> from forensics.graph import activity_graph
>>> from forensics.graphwalk import reach
>>> from forensics.graphplot import draw_graph
>>> draw_graph(reach(activity_graph(events), "AKIAIOSFODNN7EXAMPLE"))     # doctest: +SKIP

Nodes are laid out in columns by kind: source IPs, principals, roles, sessions, resources;
an access key sits just left of what it signs for. Within a column the busiest nodes come
first. Node area grows with the events behind the node, edge width with the edge's
``count``. Failed calls are marked on the edge from the caller to the resource (the key
and session edges behind it stay grey): orange when some failed, red when at least half
did, dashed when all did. Big graphs are cut to the ends of the busiest edges (``top``
nodes), and the title says so. Labels are short names, made safe with
:func:`forensics.plots.plot_label`.

:func:`export_graph` writes a graph for Gephi, Cytoscape and the like.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from pathlib import Path

import networkx as nx
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from forensics.errors import ParameterError
from forensics.plots import plot_label

#: Nodes drawn by default: the busiest ones (by events on their edges).
TOP_NODES = 40
FAILED_COLOUR = "#c0392b"
SOME_FAILED_COLOUR = "#e67e22"
EDGE_COLOUR = "#8c8c8c"
NO_ACTIVITY = "no activity in this selection"

#: Column of each kind, left to right; resource types and anything else go last.
_COLUMNS = {"ip": 0.0, "role": 3.0, "session": 4.0}
_PRINCIPALS = {"IAMUser", "Root", "AWSAccount", "IdentityCenterUser", "SAMLUser", "WebIdentityUser", "Unknown",
               "Directory", "unknown"}  # fmt: skip
_RESOURCE_COLUMN = 5.0
_PRINCIPAL_COLUMN = 2.0

#: Colour of each group of kinds, in legend order.
GROUPS: dict[str, str] = {
    "source IP": "#a0785a",
    "principal": "#2e86c1",
    "access key": "#d4ac0d",
    "role": "#7d3c98",
    "session": "#bb8fce",
    "service": "#95a5a6",
    "resource": "#28b463",
}


def group_of(kind: str) -> str:
    """The legend group of a node ``kind``."""
    if kind == "ip":
        return "source IP"
    if kind == "access-key":
        return "access key"
    if kind in ("role", "session", "service"):
        return kind
    return "principal" if kind in _PRINCIPALS else "resource"


#: Longest label drawn; longer names keep their start and end around an ellipsis.
LABEL_LIMIT = 28


def short_label(node: str, data: dict) -> str:
    """A short, safe label: the node's ``name`` (bucket, function, user, ``role/session``), else its id.

    Long names keep their beginning and end (``DataPipelineR…xport-backfill``): both
    tell nodes apart. Evidence text is made safe with :func:`forensics.plots.plot_label`.
    """
    text = str(data.get("name") or node)
    if len(text) > LABEL_LIMIT:
        head = (LABEL_LIMIT - 1) // 2
        text = f"{text[:head]}…{text[len(text) - (LABEL_LIMIT - 1 - head):]}"
    return plot_label(text, limit=None)


def busiest(graph: nx.DiGraph, top: int) -> nx.DiGraph:
    """At most ``top`` nodes: the ends of the busiest edges, heaviest first (ties by ids).

    Picking by edge keeps the picture connected (no node is shown without an edge); the
    origin of a :func:`~forensics.graphwalk.reach` / ``touched_by`` walk is always kept.
    """
    if graph.number_of_nodes() <= top:
        return graph
    origin = graph.graph.get("origin")
    keep: list[str] = [origin] if origin in graph else []
    ranked = sorted(graph.edges(data="count", default=1), key=lambda e: (-e[2], str(e[0]), str(e[1])))
    for u, v, _ in ranked:
        for node in (u, v):
            if node not in keep and len(keep) < top:
                keep.append(node)
        if len(keep) >= top:
            break
    return graph.subgraph(keep)


def graph_layout(graph: nx.DiGraph) -> dict[str, tuple[float, float]]:
    """Positions (column, height) of the nodes: columns by kind, busiest node at the top of each.

    A service that calls (``lambda.amazonaws.com`` assuming a role) stands with the
    principals, a service that is only called with the resources; an access key stands
    half a column left of the leftmost node it signs for.
    """
    column: dict[str, float] = {}
    for node, kind in graph.nodes(data="kind", default="unknown"):
        if kind == "service":
            calls = any(d.get("relation") == "call" for _, _, d in graph.out_edges(node, data=True))
            column[node] = _PRINCIPAL_COLUMN if calls else _RESOURCE_COLUMN
        elif kind in _PRINCIPALS:
            column[node] = _PRINCIPAL_COLUMN
        elif kind != "access-key":
            column[node] = _COLUMNS.get(kind, _RESOURCE_COLUMN)
    for node, kind in graph.nodes(data="kind"):
        if kind == "access-key":
            targets = [column[t] for t in graph.successors(node) if t in column]
            column[node] = (min(targets) if targets else _PRINCIPAL_COLUMN) - 0.5
    weight = dict(graph.degree(weight="count"))
    positions: dict[str, tuple[float, float]] = {}
    for x in sorted(set(column.values())):
        members = sorted((n for n in column if column[n] == x), key=lambda n: (-weight[n], str(n)))
        for i, node in enumerate(members):
            positions[node] = (x, -(i - (len(members) - 1) / 2))
    return positions


def draw_graph(graph: nx.DiGraph, *, top: int = TOP_NODES, title: str | None = None, ax: Axes | None = None) -> Figure:
    """Draw an activity graph (or a :func:`~forensics.graphwalk.reach` / ``touched_by`` subgraph).

    Parameters
    ----------
    graph
        A graph from :mod:`forensics.graph`.
    top
        Draw at most this many nodes, the busiest; the title says when nodes were left out.
    title
        Title of the axes; by default it says how many nodes and edges are shown.
    ax
        Axes to draw into; a new figure is made when ``None``.

    Returns
    -------
    matplotlib.figure.Figure
        The figure. Edges with failed calls carry the ``gid`` ``"failed:<u> -> <v>"``
        (ids of the nodes), so tests and tools can find them. An empty graph gives axes
        that say so, never an error.
    """
    shown = busiest(graph, top)
    positions = graph_layout(shown)
    columns = {x for x, _ in positions.values()}
    tallest = max((sum(1 for p in positions.values() if p[0] == x) for x in columns), default=1)
    if ax is None:
        size = (max(6.0, 2.3 * len(columns) + 1.5), max(3.0, 0.55 * tallest + 1.5))
        figure = Figure(figsize=size, layout="constrained")
        ax = figure.add_subplot()
    else:
        figure = ax.get_figure()
    ax.set_axis_off()
    if not shown.number_of_nodes():
        ax.text(0.5, 0.5, NO_ACTIVITY, ha="center", va="center", transform=ax.transAxes, color="#666666")
        return figure
    _draw_edges(shown, positions, ax)
    _draw_nodes(shown, positions, ax)
    if title is None:
        left_out = graph.number_of_nodes() - shown.number_of_nodes()
        title = f"{shown.number_of_nodes()} nodes, {shown.number_of_edges()} edges"
        if left_out:
            title += f" (ends of the busiest edges: {top} of {graph.number_of_nodes()} nodes)"
    ax.set_title(plot_label(title, limit=120), loc="left", fontsize=10)
    present = {group_of(kind) for _, kind in shown.nodes(data="kind", default="unknown")}
    handles = [Line2D([], [], marker="o", linestyle="", color=c, label=g) for g, c in GROUPS.items() if g in present]
    failures = [d.get("errors", 0) / d.get("count", 1) for _, _, d in shown.edges(data=True)
                if d.get("errors") and d.get("relation", "call") == "call"]  # fmt: skip
    if any(share < 0.5 for share in failures):
        handles.append(Line2D([], [], color=SOME_FAILED_COLOUR, label="some calls failed"))
    if any(share >= 0.5 for share in failures):
        handles.append(Line2D([], [], color=FAILED_COLOUR, label="most calls failed"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    xs = [x for x, _ in positions.values()]
    ys = [y for _, y in positions.values()]
    ax.set_xlim(min(xs) - 0.6, max(xs) + 0.6)
    ax.set_ylim(min(ys) - 0.8, max(ys) + 0.8)
    return figure


def _draw_nodes(graph: nx.DiGraph, positions: dict[str, tuple[float, float]], ax: Axes) -> None:
    weight = dict(graph.degree(weight="count"))
    heaviest = max(max(weight.values()), 1)
    nodes = list(graph)
    nx.draw_networkx_nodes(
        graph, positions, nodelist=nodes, ax=ax, linewidths=0.5, edgecolors="white",
        node_size=[80 + 620 * math.sqrt(weight[n] / heaviest) for n in nodes],
        node_color=[GROUPS[group_of(graph.nodes[n].get("kind", "unknown"))] for n in nodes],
    )  # fmt: skip
    for node in nodes:
        x, y = positions[node]
        ax.text(x, y - 0.28, short_label(node, graph.nodes[node]), ha="center", va="top", fontsize=7, clip_on=False)


def _draw_edges(graph: nx.DiGraph, positions: dict[str, tuple[float, float]], ax: Axes) -> None:
    """Edges in up to three passes: fine, some calls failed (red), all failed (red, dashed)."""
    heaviest = max((d.get("count", 1) for _, _, d in graph.edges(data=True)), default=1)
    passes: dict[tuple[str, str], list[tuple[str, str, int]]] = {}
    for u, v, data in graph.edges(data=True):
        if u == v:
            continue  # a principal acting on itself: counted in its size, not drawn as a loop
        count = data.get("count", 1)
        errors = data.get("errors", 0) if data.get("relation", "call") == "call" else 0
        colour = EDGE_COLOUR if not errors else FAILED_COLOUR if 2 * errors >= count else SOME_FAILED_COLOUR
        look = (colour, "--" if errors and errors == count else "-")
        passes.setdefault(look, []).append((u, v, count))
    for (colour, style), drawn in passes.items():
        patches = nx.draw_networkx_edges(
            graph, positions, edgelist=[(u, v) for u, v, _ in drawn], ax=ax, edge_color=colour, style=style,
            width=[0.6 + 2.8 * math.log1p(c) / math.log1p(max(heaviest, 1)) for _, _, c in drawn],
            arrows=True, arrowstyle="-|>", arrowsize=8, connectionstyle="arc3,rad=0.06", node_size=300,
        )  # fmt: skip
        if colour != EDGE_COLOUR:
            for (u, v, _), patch in zip(drawn, patches):
                patch.set_gid(f"failed:{u} -> {v}")


# ------------------------------------------------------------------------------ export


EXPORT_FORMATS: tuple[str, ...] = ("graphml", "gexf", "json")


def _plain(value: object, join: bool) -> object:
    """A value GraphML/GEXF (``join``: lists as ``;``-joined text) or JSON can hold."""
    if isinstance(value, (list, tuple)):
        return ";".join(str(v) for v in value) if join else [_plain(v, join) for v in value]
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value.item() if isinstance(value, np.generic) else value


def scalar_graph(graph: nx.DiGraph) -> nx.DiGraph:
    """A copy with only scalar attributes, as GraphML and GEXF need: lists become ``;``-joined
    text, times ISO 8601 text, and missing values are left out (GraphML has no null)."""
    out = nx.DiGraph()
    out.graph.update({k: _plain(v, True) for k, v in graph.graph.items() if v is not None})
    for n, d in graph.nodes(data=True):
        out.add_node(n, **{k: _plain(v, True) for k, v in d.items() if v is not None})
    for u, v, d in graph.edges(data=True):
        out.add_edge(u, v, **{k: _plain(x, True) for k, x in d.items() if x is not None})
    return out


def export_graph(graph: nx.DiGraph, path: str | os.PathLike[str], format: str | None = None) -> Path:
    """Write a graph for Gephi, Cytoscape or other tools, as GraphML, GEXF or node-link JSON.

    Parameters
    ----------
    graph
        A graph from this module.
    path
        Where to write.
    format
        One of :data:`EXPORT_FORMATS`; taken from the file suffix when ``None``. JSON keeps
        lists as lists; all formats write times as ISO 8601 text.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    ParameterError
        If the format is unknown.
    """
    target = Path(path)
    kind = (format or target.suffix.lstrip(".")).lower()
    if kind not in EXPORT_FORMATS:
        raise ParameterError(f"cannot export a graph as {kind!r}; use one of {list(EXPORT_FORMATS)}")
    if kind == "json":
        data = nx.node_link_data(graph, edges="edges")
        data = {k: [{a: _plain(x, False) for a, x in d.items()} for d in v] if k in ("nodes", "edges") else v
                for k, v in data.items()}  # fmt: skip
        data["graph"] = {k: _plain(v, False) for k, v in graph.graph.items()}
        target.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
    else:
        (nx.write_graphml if kind == "graphml" else nx.write_gexf)(scalar_graph(graph), target)
    return target
