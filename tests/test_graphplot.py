"""Drawing the activity graph: layered columns, the busiest nodes, failed calls marked, a real PNG."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import networkx as nx
import pytest
from matplotlib.figure import Figure

from cloudtrail_builders import ACCOUNT, assumed_role, iam_user, record
from forensics import load_cloudtrail
from forensics.graph import activity_graph
from forensics.graphwalk import reach
from forensics import ParameterError
from forensics.graphplot import NO_ACTIVITY, busiest, draw_graph, export_graph, graph_layout, short_label

READER = f"arn:aws:iam::{ACCOUNT}:role/Reader"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/Reader/alice"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
BUCKET = "arn:aws:s3:::acme-data"


@pytest.fixture
def graph(tmp_path: Path) -> nx.DiGraph:
    """alice assumes Reader; the session reads acme-data twice and fails to delete it once."""
    session = assumed_role("Reader", "alice", key="ASIAEXAMPLEREADER001")
    session["sessionContext"]["sessionIssuer"]["arn"] = READER
    records = [
        record("e1", "2024-03-14T02:10:00Z", name="AssumeRole", source="sts.amazonaws.com", identity=iam_user("alice"),
               requestParameters={"roleArn": READER, "roleSessionName": "alice"},
               responseElements={"credentials": {"accessKeyId": "ASIAEXAMPLEREADER001", "sessionToken": "x", "expiration": "x"},
                                 "assumedRoleUser": {"assumedRoleId": "AROAEXAMPLE:alice", "arn": SESSION}}),
        record("e2", "2024-03-14T02:11:00Z", identity=session),
        record("e3", "2024-03-14T02:12:00Z", identity=session),
        record("e4", "2024-03-14T02:13:00Z", name="DeleteBucket", identity=session, readOnly=False,
               requestParameters={"bucketName": "acme-data"}, errorCode="AccessDenied", errorMessage="Access Denied"),
    ]  # fmt: skip
    path = tmp_path / "trail.json"
    path.write_text(json.dumps({"Records": records}))
    return activity_graph(load_cloudtrail(path).events)


def texts(figure: Figure) -> set[str]:
    return {t.get_text() for t in figure.axes[0].texts}


def test_columns_run_from_principals_through_roles_and_sessions_to_resources(graph):
    x = {node: position[0] for node, position in graph_layout(graph).items()}
    assert x[ALICE] < x[READER] < x[SESSION] < x[BUCKET]
    assert x["AKIAEXAMPLEALICE0001"] == x[ALICE] - 0.5  # a key stands just left of whom it signs for
    assert x["ASIAEXAMPLEREADER001"] == x[SESSION] - 0.5


def test_labels_are_short_names(graph):
    figure = draw_graph(graph)
    assert texts(figure) == {"alice", "Reader", "Reader/alice", "acme-data", "AKIAEXAMPLEALICE0001", "ASIAEXAMPLEREADER001"}
    assert figure.axes[0].get_title(loc="left") == "6 nodes, 6 edges"


def test_failed_calls_are_marked(graph):
    figure = draw_graph(graph)
    failed = {p.get_gid() for p in figure.axes[0].patches if p.get_gid()}
    assert failed == {f"failed:{SESSION} -> {BUCKET}"}
    legend = [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
    assert legend == ["principal", "access key", "role", "session", "resource", "some calls failed"]


def test_big_graphs_are_cut_to_the_busiest_nodes():
    big = nx.DiGraph()
    start = dt.datetime(2024, 3, 14, tzinfo=dt.timezone.utc)
    for i in range(50):
        big.add_node(f"arn:aws:s3:::bucket-{i:02d}", kind="AWS::S3::Bucket", name=f"bucket-{i:02d}")
        big.add_node(f"user-{i % 5}", kind="IAMUser", name=f"user-{i % 5}")
        big.add_edge(f"user-{i % 5}", f"arn:aws:s3:::bucket-{i:02d}", count=i + 1, errors=0, relation="call",
                     actions=["GetObject"], first_seen=start, last_seen=start)  # fmt: skip
    kept = busiest(big, 8)  # the ends of the heaviest edges: bucket-49 (user-4), 48 (user-3), 47 (user-2), 46 (user-1)
    assert set(kept) == {"user-4", "user-3", "user-2", "user-1", "arn:aws:s3:::bucket-49",
                         "arn:aws:s3:::bucket-48", "arn:aws:s3:::bucket-47", "arn:aws:s3:::bucket-46"}  # fmt: skip
    figure = draw_graph(big, top=8)
    assert len(texts(figure)) == 8
    assert figure.axes[0].get_title(loc="left") == "8 nodes, 4 edges (ends of the busiest edges: 8 of 55 nodes)"
    big.graph["origin"] = "user-0"
    assert "user-0" in busiest(big, 8) and len(busiest(big, 8)) == 8


def test_renders_to_png_and_draws_into_given_axes(graph):
    buffer = io.BytesIO()
    draw_graph(reach(graph, "AKIAEXAMPLEALICE0001")).savefig(buffer, format="png")
    assert buffer.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"
    host = Figure()
    ax = host.add_subplot()
    assert draw_graph(graph, ax=ax, title="incident 42") is host and ax.get_title(loc="left") == "incident 42"


def test_an_empty_graph_says_so():
    figure = draw_graph(nx.DiGraph())
    assert texts(figure) == {NO_ACTIVITY}


def test_labels_from_evidence_are_made_safe_and_short():
    assert short_label("x", {"name": "a$b$\u202eevil"}) == r"a\$b\$<U+202E>evil"
    assert short_label("x", {"name": "DataPipelineRole/export-backfill"}) == "DataPipelineR…xport-backfill"
    assert short_label("arn:aws:s3:::" + "b" * 60, {}) == "arn:aws:s3:::…" + "b" * 14


def test_exports_round_trip(tmp_path, graph):
    back = nx.read_graphml(export_graph(graph, tmp_path / "g.graphml"))
    assert set(back.edges) == set(graph.edges) and set(back.nodes) == set(graph.nodes)
    assert back.edges[SESSION, BUCKET]["actions"] == "DeleteBucket;GetObject"
    assert back.edges[SESSION, BUCKET]["first_seen"] == "2024-03-14T02:11:00+00:00"
    assert (back.edges[SESSION, BUCKET]["count"], back.edges[SESSION, BUCKET]["errors"]) == (3, 1)
    assert back.nodes[BUCKET]["kind"] == "AWS::S3::Bucket"
    assert set(nx.read_gexf(export_graph(graph, tmp_path / "g.gexf")).edges) == set(graph.edges)
    data = json.loads(export_graph(graph, tmp_path / "g.json").read_text())
    link = next(e for e in data["edges"] if e["source"] == SESSION and e["target"] == BUCKET)
    assert link["actions"] == ["DeleteBucket", "GetObject"] and link["last_seen"] == "2024-03-14T02:13:00+00:00"
    walked = reach(graph, "AKIAEXAMPLEALICE0001")  # walks carry datetimes on their nodes too
    assert set(nx.read_graphml(export_graph(walked, tmp_path / "r.graphml"))) == set(walked)
    with pytest.raises(ParameterError, match="export"):
        export_graph(graph, tmp_path / "g.png")
