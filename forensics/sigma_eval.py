"""Evaluate compiled Sigma nodes on an events frame, vectorised.

:class:`Evaluator` computes one boolean mask per node (see :mod:`forensics.sigma_compile`
for the nodes and the matching semantics):

* a ``category`` column is tested once per category and mapped back through the codes;
* other columns are tested as Arrow string arrays with :mod:`pyarrow.compute`;
* a JSON path (``requestParameters.bucketPolicy.Statement.Principal``) is extracted only
  for the rows still in play. AND tests its cheapest child first and narrows the rows,
  so the JSON of an event is parsed only when its plain fields already matched. Parsed
  documents and extracted paths are cached for the evaluator's lifetime (one
  :func:`forensics.detect.detect` call), shared by every rule.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from functools import cached_property
from typing import ClassVar

import msgspec
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from forensics.sigma_compile import (
    All,
    Any_,
    Exists,
    FieldRef,
    IsNull,
    Match,
    Node,
    Not,
    SameAs,
    ValueTest,
)

# --------------------------------------------------------------------------- fields


_ABSENT = None  # a JSON path not present in the row


class _Field(ABC):
    """Values of one field of the events frame, for the rows asked."""

    #: Relative cost of testing this field; AND tests cheap fields first.
    cost: ClassVar[int]

    def __init__(self, n: int) -> None:
        self.n = n

    @abstractmethod
    def values(self, rows: np.ndarray) -> tuple[np.ndarray, pa.Array]:
        """Return ``(owner, values)``: each non-null value of the field in ``rows`` and the
        row position it belongs to (a row appears once per value)."""

    @abstractmethod
    def present(self, rows: np.ndarray, *, nonnull: bool) -> np.ndarray:
        """Boolean per row of ``rows``: the field is present (with a non-null value when
        ``nonnull``)."""

    def match(self, test: ValueTest, candidates: np.ndarray) -> np.ndarray:
        """Full-length mask: candidate rows where any value passes ``test``."""
        owner, values = self.values(np.flatnonzero(candidates))
        out = np.zeros(self.n, bool)
        out[owner[test(values)]] = True
        return out


class _CategoryField(_Field):
    cost = 1

    def __init__(self, series: pd.Series) -> None:
        super().__init__(len(series))
        self.codes = series.cat.codes.to_numpy()
        self.categories = pa.array(series.cat.categories.astype("str"), pa.large_string())
        self._tested: dict[ValueTest, np.ndarray] = {}

    def values(self, rows: np.ndarray) -> tuple[np.ndarray, pa.Array]:
        codes = self.codes[rows]
        keep = codes >= 0
        return rows[keep], self.categories.take(pa.array(codes[keep]))

    def present(self, rows: np.ndarray, *, nonnull: bool) -> np.ndarray:
        return self.codes[rows] >= 0

    def match(self, test: ValueTest, candidates: np.ndarray) -> np.ndarray:
        per_category = self._tested.get(test)
        if per_category is None:  # tested once per category (shared across rules), then mapped
            per_category = self._tested[test] = np.append(test(self.categories), False)
        return per_category[self.codes] & candidates


class _ColumnField(_Field):
    cost = 3

    def __init__(self, series: pd.Series) -> None:
        super().__init__(len(series))
        self.array = _as_text(series)
        self.notna = series.notna().to_numpy()

    def values(self, rows: np.ndarray) -> tuple[np.ndarray, pa.Array]:
        rows = rows[self.notna[rows]]
        return rows, self.array.take(pa.array(rows))

    def present(self, rows: np.ndarray, *, nonnull: bool) -> np.ndarray:
        return self.notna[rows]

    def match(self, test: ValueTest, candidates: np.ndarray) -> np.ndarray:
        if candidates.sum() * 4 < self.n:
            return super().match(test, candidates)
        return test(self.array) & candidates


def _as_text(series: pd.Series) -> pa.Array:
    """The column as an Arrow string array (booleans as ``true``/``false``, times ISO)."""
    if isinstance(series.dtype, pd.StringDtype):
        return pa.array(series, pa.large_string())
    if pd.api.types.is_bool_dtype(series.dtype):
        text = series.map({True: "true", False: "false"})
    elif isinstance(series.dtype, pd.DatetimeTZDtype):
        text = series.dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    else:
        text = series.map(str, na_action="ignore")
    return pa.array(text.astype(object).where(series.notna(), None), pa.large_string())


class _JsonField(_Field):
    """A path inside a JSON text column. Each row is extracted once, when first asked
    for; its leaf texts join a flat cache (``owner`` row, text) that later tests select
    from with array operations."""

    cost = 20

    def __init__(self, documents: _Documents, path: tuple[str, ...]) -> None:
        super().__init__(documents.n)
        self.documents = documents
        self.path = path
        self.done = np.zeros(self.n, bool)
        self.exists = np.zeros(self.n, bool)  # the path is present (even if null)
        self.has_value = np.zeros(self.n, bool)  # ... with at least one non-null value
        self._owners: list[np.ndarray] = []
        self._texts: list[pa.Array] = []

    def values(self, rows: np.ndarray) -> tuple[np.ndarray, pa.Array]:
        self._fill(rows)
        owner, texts = self._flat()
        wanted = np.zeros(self.n, bool)
        wanted[rows] = True
        keep = wanted[owner]
        return owner[keep], texts.filter(pa.array(keep))

    def present(self, rows: np.ndarray, *, nonnull: bool) -> np.ndarray:
        self._fill(rows)
        return (self.has_value if nonnull else self.exists)[rows]

    def _fill(self, rows: np.ndarray) -> None:
        todo = rows[~self.done[rows]]
        if not len(todo):
            return
        exists: list[int] = []
        owner: list[int] = []
        texts: list[str] = []
        for row, doc in zip(todo.tolist(), self.documents.parsed(todo), strict=True):
            leaves = _extract(doc, self.path)
            if leaves is _ABSENT:
                continue
            exists.append(row)
            for text in leaves:
                if text is not None:
                    owner.append(row)
                    texts.append(text)
        self.done[todo] = True
        self.exists[exists] = True
        self.has_value[owner] = True
        self._owners.append(np.asarray(owner, dtype=np.int64))
        self._texts.append(pa.array(texts, pa.large_string()))

    def _flat(self) -> tuple[np.ndarray, pa.Array]:
        if len(self._owners) > 1:  # merge the chunks once, not at every test
            self._owners = [np.concatenate(self._owners)]
            self._texts = [pa.concat_arrays(self._texts)]
        return self._owners[0], self._texts[0]


_NOT_JSON = object()  # a document that could not be parsed


@dataclass
class _Documents:
    """Parsed JSON of one text column, parsed row by row on demand and kept."""

    column: str
    text: pa.Array
    unreadable: list[tuple[str, int, str]]
    n: int = field(init=False)

    def __post_init__(self) -> None:
        self.n = len(self.text)
        self._parsed = np.empty(self.n, dtype=object)
        self._done = np.zeros(self.n, bool)
        self.decoded = 0

    def parsed(self, rows: np.ndarray) -> list[object]:
        """The parsed documents of ``rows`` (``None`` for no text)."""
        todo = rows[~self._done[rows]]
        if len(todo):
            texts = self.text.take(pa.array(todo)).to_pylist()
            for row, text in zip(todo.tolist(), texts, strict=True):
                self._parsed[row] = self._decode(row, text)  # one by one: numpy would unpack lists
            self._done[todo] = True
            self.decoded += sum(text is not None for text in texts)
        return self._parsed[rows].tolist()

    def _decode(self, row: int, text: str | None) -> object:
        if text is None:
            return None
        try:
            return msgspec.json.decode(text)
        except (msgspec.DecodeError, RecursionError) as exc:
            self.unreadable.append((self.column, row, str(exc)))
            return _NOT_JSON


def _extract(doc: object, path: tuple[str, ...]) -> tuple[str | None, ...] | None:
    """Leaf texts at ``path`` (fanning out over lists), or ``None`` if the path is absent."""
    if doc is None or doc is _NOT_JSON:
        return _ABSENT
    node = doc
    for depth, key in enumerate(path):  # fast path: objects only, the usual shape
        if isinstance(node, dict):
            if key not in node:
                return _ABSENT
            node = node[key]
        elif isinstance(node, list):
            found: list[object] = []
            return tuple(_leaf_text(v) for v in found) if _walk(node, path[depth:], found) else _ABSENT
        else:
            return _ABSENT
    if isinstance(node, list):
        found = []
        _walk(node, (), found)
        return tuple(_leaf_text(v) for v in found)
    return (_leaf_text(node),)


def _walk(node: object, path: tuple[str, ...], found: list[object]) -> bool:
    """Collect the values at ``path`` below ``node`` into ``found``; tell if the path exists."""
    if isinstance(node, list):
        hits = [_walk(item, path, found) for item in node]  # no short-circuit: collect all
        return not path or any(hits)
    if not path:
        found.append(node)
        return True
    if isinstance(node, dict) and path[0] in node:
        return _walk(node[path[0]], path[1:], found)
    return False


def _leaf_text(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return msgspec.json.encode(value).decode()


# --------------------------------------------------------------------------- evaluation


class Evaluator:
    """Evaluate compiled nodes on one events frame, sharing caches across rules.

    Parameters
    ----------
    events
        The events frame (any columns; fields are resolved against them).

    Attributes
    ----------
    unreadable
        ``(column, row, error)`` for every JSON text that a rule needed and that could not
        be parsed; nested-path conditions cannot match in those rows.
    """

    def __init__(self, events: pd.DataFrame) -> None:
        self.events = events
        self.n = len(events)
        self.unreadable: list[tuple[str, int, str]] = []
        self._fields: dict[FieldRef, _Field] = {}
        self._documents: dict[str, _Documents] = {}

    @cached_property
    def everything(self) -> np.ndarray:
        return np.ones(self.n, bool)

    @property
    def decoded(self) -> int:
        """How many JSON documents have been parsed so far (all columns)."""
        return sum(d.decoded for d in self._documents.values())

    def mask(self, node: Node) -> np.ndarray:
        """Rows (as a boolean mask) where ``node`` holds."""
        return self._eval(node, self.everything)

    def field(self, ref: FieldRef) -> _Field:
        """The cached view of one field."""
        view = self._fields.get(ref)
        if view is None:
            if ref.path:
                docs = self._documents.get(ref.column)
                if docs is None:
                    text = _as_text(self.events[ref.column])
                    docs = self._documents[ref.column] = _Documents(ref.column, text, self.unreadable)
                view = _JsonField(docs, ref.path)
            elif isinstance(self.events[ref.column].dtype, pd.CategoricalDtype):
                view = _CategoryField(self.events[ref.column])
            else:
                view = _ColumnField(self.events[ref.column])
            self._fields[ref] = view
        return view

    def _eval(self, node: Node, candidates: np.ndarray) -> np.ndarray:
        if isinstance(node, All):
            for child in sorted(node.children, key=self._cost):
                candidates = self._eval(child, candidates)
                if not candidates.any():
                    break
            return candidates
        if isinstance(node, Any_):
            out = np.zeros(self.n, bool)
            rest = candidates
            for child in sorted(node.children, key=self._cost):
                hit = self._eval(child, rest)
                out |= hit
                rest = rest & ~hit
                if not rest.any():
                    break
            return out
        if isinstance(node, Not):
            return candidates & ~self._eval(node.child, candidates)
        if isinstance(node, Match):
            return self.field(node.field).match(node.test, candidates)
        if isinstance(node, (IsNull, Exists)):
            rows = np.flatnonzero(candidates)
            present = self.field(node.field).present(rows, nonnull=isinstance(node, IsNull))
            keep = ~present if isinstance(node, IsNull) else present == node.expected
            out = np.zeros(self.n, bool)
            out[rows[keep]] = True
            return out
        if isinstance(node, SameAs):
            owner, values = self.field(node.field).values(np.flatnonzero(candidates))
            other = self.field(node.other)
            has_other = other.present(owner, nonnull=True)
            owner, values = owner[has_other], values.filter(pa.array(has_other))
            _, other_values = other.values(owner)
            same = pc.fill_null(pc.equal(pc.utf8_lower(values), pc.utf8_lower(other_values)), False).to_numpy(zero_copy_only=False)
            out = np.zeros(self.n, bool)
            out[owner[same]] = True
            return out
        raise TypeError(f"not a node: {node!r}")

    def _cost(self, node: Node) -> int:
        """Rough cost of testing ``node`` on many rows. An AND costs its cheapest child (the
        others then see only the rows it kept); an OR tests every child on every row."""
        if isinstance(node, All):
            return min(self._cost(c) for c in node.children)
        if isinstance(node, Any_):
            return sum(self._cost(c) for c in node.children)
        if isinstance(node, Not):
            return self._cost(node.child)
        if isinstance(node, SameAs):
            return self._field_cost(node.field) + self._field_cost(node.other)
        return self._field_cost(node.field)

    def _field_cost(self, ref: FieldRef) -> int:
        if ref.path:
            return _JsonField.cost
        if isinstance(self.events[ref.column].dtype, pd.CategoricalDtype):
            return _CategoryField.cost
        return _ColumnField.cost
