"""Compile parsed Sigma detections into predicates and evaluate them on an events frame.

pySigma parses a rule and resolves its condition (``1 of selection_*``, ``all of them``,
value lists, the ``all``/``neq`` modifiers) into a tree of AND, OR and NOT over
``field = value`` leaves. :func:`compile_rule` turns that tree into the small node types
below, with every field already resolved to a column of the events frame or to a path
inside one of its JSON text columns. Anything this evaluator cannot run faithfully raises
:class:`Unsupported` with a reason, so the caller reports the rule as skipped instead of
letting it match nothing.

:class:`Evaluator` computes one boolean mask per node, vectorised:

* a ``category`` column is tested once per category and mapped back through the codes;
* other columns are tested as Arrow string arrays with :mod:`pyarrow.compute`;
* a JSON path (``requestParameters.bucketPolicy.Statement.Principal``) is extracted only
  for the rows still in play. AND tests cheap children first and narrows the rows, so the
  JSON of an event is parsed only when its plain fields already matched. Parsed documents
  and extracted paths are cached for the evaluator's lifetime (one :func:`detect` call).

Matching semantics, following the Sigma specification:

* plain strings match case-insensitively; ``*`` and ``?`` are wildcards, ``\\*`` a literal;
  ``cased`` makes the match case-sensitive;
* ``re`` is a case-sensitive, unanchored search (anchor with ``^``/``$``); ``i``, ``m``,
  ``s`` set flags. Patterns run on RE2 (pyarrow) and fall back to Python's :mod:`re` for
  syntax RE2 lacks;
* a JSON path that crosses a list fans out: the leaf matches when any element matches.
  An object or list reached at the end of a path is matched as compact JSON text
  (``{"AWS":"*"}``); JSON numbers and booleans as their JSON text (``0``, ``false``);
* ``field: null`` matches a missing field, a JSON ``null`` or an empty list;
  ``field|exists: true`` is true when the column has a value, or the JSON key is present
  (even with a ``null`` value);
* ``cidr`` matches IP addresses inside the network (values that are not IPs never match);
  ``gt``/``gte``/``lt``/``lte`` compare numerically (non-numbers never match);
* ``fieldref`` compares two fields for case-insensitive equality; the referenced field
  must be a column.
"""

from __future__ import annotations

import ipaddress
import re
from abc import ABC, abstractmethod
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import ClassVar, Literal

import msgspec
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.exceptions import SigmaError
from sigma.modifiers import reverse_modifier_mapping
from sigma.rule import SigmaDetection, SigmaDetectionItem, SigmaRule
from sigma.types import (
    CompareOperators,
    Placeholder,
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SigmaTimestampPart,
    SpecialChars,
)

from forensics.schema import JSON_COLUMNS

#: Modifiers this evaluator runs. Any other modifier makes the rule skipped.
SUPPORTED_MODIFIERS: frozenset[str] = frozenset(
    {
        "contains", "startswith", "endswith", "all", "re", "i", "ignorecase", "m", "multiline",
        "s", "dotall", "cidr", "exists", "cased", "neq", "gt", "gte", "lt", "lte", "fieldref",
    }
)  # fmt: skip


class Unsupported(Exception):
    """A rule uses something this evaluator cannot run; ``str(exc)`` is the reason."""


# --------------------------------------------------------------------------- value tests


@dataclass(frozen=True)
class Text:
    """A Sigma string: ``equals``/``prefix``/``suffix``/``contains`` a literal, or a
    ``wildcard`` pattern (already translated to an anchored regular expression)."""

    kind: Literal["equals", "prefix", "suffix", "contains", "wildcard"]
    text: str
    cased: bool = False

    def __call__(self, values: pa.Array) -> np.ndarray:
        ignore = not self.cased
        if self.kind == "equals":
            if ignore:
                return _bools(pc.equal(pc.utf8_lower(values), self.text.lower()))
            return _bools(pc.equal(values, self.text))
        if self.kind == "prefix":
            return _bools(pc.starts_with(values, pattern=self.text, ignore_case=ignore))
        if self.kind == "suffix":
            return _bools(pc.ends_with(values, pattern=self.text, ignore_case=ignore))
        if self.kind == "contains":
            return _bools(pc.match_substring(values, pattern=self.text, ignore_case=ignore))
        return _bools(pc.match_substring_regex(values, pattern=self.text, ignore_case=ignore))


@dataclass(frozen=True)
class Regex:
    """A ``re`` value: an unanchored search, case-sensitive unless ``ignore_case``."""

    pattern: str
    ignore_case: bool = False
    multiline: bool = False
    dotall: bool = False

    def __call__(self, values: pa.Array) -> np.ndarray:
        inline = ("(?m)" if self.multiline else "") + ("(?s)" if self.dotall else "")
        try:
            hits = pc.match_substring_regex(values, pattern=inline + self.pattern, ignore_case=self.ignore_case)
            return _bools(hits)
        except pa.ArrowInvalid:  # syntax RE2 lacks (look-arounds, back-references)
            flags = re.IGNORECASE if self.ignore_case else 0
            rx = re.compile(inline + self.pattern, flags)
            return np.fromiter((v is not None and rx.search(v) is not None for v in values.to_pylist()), bool, len(values))


@dataclass(frozen=True)
class Cidr:
    """A ``cidr`` value: the field is an IP address inside ``network``."""

    network: str

    def __call__(self, values: pa.Array) -> np.ndarray:
        net = ipaddress.ip_network(self.network)
        distinct = pc.unique(values).drop_null().to_pylist()
        inside = [v for v in distinct if _ip_in(v, net)]
        return _bools(pc.is_in(values, value_set=pa.array(inside, pa.large_string())))


@dataclass(frozen=True)
class Number:
    """A numeric value: ``eq`` for a plain number, or a comparison modifier."""

    op: Literal["eq", "gt", "gte", "lt", "lte"]
    number: float

    def __call__(self, values: pa.Array) -> np.ndarray:
        numbers = pd.to_numeric(pd.Series(values.to_pylist(), dtype=object), errors="coerce").to_numpy(float)
        with np.errstate(invalid="ignore"):
            compare = {"eq": np.equal, "gt": np.greater, "gte": np.greater_equal, "lt": np.less, "lte": np.less_equal}
            return compare[self.op](numbers, self.number)


ValueTest = Text | Regex | Cidr | Number


def _bools(result: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return pc.fill_null(result, False).to_numpy(zero_copy_only=False)


def _ip_in(value: str, network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    try:
        return ipaddress.ip_address(value) in network
    except ValueError:
        return False


# --------------------------------------------------------------------------- nodes


@dataclass(frozen=True)
class FieldRef:
    """A Sigma field resolved on the events frame: a column, and a path inside it when the
    column holds JSON text (``path == ()`` for plain columns)."""

    column: str
    path: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return ".".join((self.column, *self.path))


@dataclass(frozen=True)
class Match:
    """True where any value of ``field`` passes ``test``."""

    field: FieldRef
    test: ValueTest


@dataclass(frozen=True)
class IsNull:
    """True where ``field`` has no value (missing, JSON ``null``, empty list)."""

    field: FieldRef


@dataclass(frozen=True)
class Exists:
    """True where ``field`` is present (``expected=True``) or absent (``expected=False``)."""

    field: FieldRef
    expected: bool


@dataclass(frozen=True)
class SameAs:
    """True where a value of ``field`` equals (case-insensitively) the column ``other``."""

    field: FieldRef
    other: FieldRef


@dataclass(frozen=True)
class All:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Any_:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    child: Node


Node = Match | IsNull | Exists | SameAs | All | Any_ | Not


# --------------------------------------------------------------------------- compiling


def compile_rule(rule: SigmaRule, columns: Collection[str]) -> Node:
    """Compile a parsed Sigma rule into a :data:`Node` over the given frame columns.

    Parameters
    ----------
    rule
        A rule parsed by pySigma without errors.
    columns
        Columns of the events frame the rule will run on.

    Returns
    -------
    Node
        The rule's condition; several ``condition`` entries are OR-ed.

    Raises
    ------
    Unsupported
        If the rule uses a modifier, value type or field this evaluator cannot run, or its
        condition cannot be resolved.
    """
    for item in _detection_items(rule.detection.detections.values()):
        for modifier in item.modifiers:
            name = reverse_modifier_mapping.get(modifier.__name__, modifier.__name__)
            if name not in SUPPORTED_MODIFIERS:
                raise Unsupported(f"modifier '{name}' is not supported")
        if item.field is None:
            raise Unsupported("keyword detection (a value without a field) is not supported")
    trees = []
    for condition in rule.detection.parsed_condition:
        try:
            trees.append(condition.parse())
        except SigmaError as exc:
            raise Unsupported(f"condition '{condition.condition}' cannot be resolved: {exc}") from exc
    nodes = tuple(_node(tree, columns) for tree in trees)
    return nodes[0] if len(nodes) == 1 else Any_(nodes)


def resolve_field(name: str, columns: Collection[str]) -> FieldRef:
    """Resolve a Sigma field name to a column, or to a path inside a JSON text column.

    Raises
    ------
    Unsupported
        If the name is neither a column nor under a JSON text column.
    """
    if name in columns:
        return FieldRef(name)
    head, _, rest = name.partition(".")
    if head in JSON_COLUMNS and head in columns and rest:
        return FieldRef(head, tuple(rest.split(".")))
    raise Unsupported(f"field '{name}' is not a column of the events frame nor a path inside its JSON columns")


def _detection_items(detections: Sequence[SigmaDetection] | Collection[SigmaDetection]) -> Iterator[SigmaDetectionItem]:
    for detection in detections:
        for item in detection.detection_items:
            if isinstance(item, SigmaDetection):
                yield from _detection_items([item])
            else:
                yield item


def _node(tree: object, columns: Collection[str]) -> Node:
    if isinstance(tree, ConditionAND):
        return All(tuple(_node(arg, columns) for arg in tree.args))
    if isinstance(tree, ConditionOR):
        return Any_(tuple(_node(arg, columns) for arg in tree.args))
    if isinstance(tree, ConditionNOT):
        return Not(_node(tree.args[0], columns))
    if isinstance(tree, ConditionFieldEqualsValueExpression):
        return _leaf(resolve_field(tree.field, columns), tree.value, columns)
    if isinstance(tree, ConditionValueExpression):
        raise Unsupported("keyword detection (a value without a field) is not supported")
    raise Unsupported(f"condition element {type(tree).__name__} is not supported")


_FLAGS = SigmaRegularExpressionFlag
_COMPARE = {CompareOperators.GT: "gt", CompareOperators.GTE: "gte", CompareOperators.LT: "lt", CompareOperators.LTE: "lte"}


def _leaf(ref: FieldRef, value: object, columns: Collection[str]) -> Node:
    if isinstance(value, SigmaNull):
        return IsNull(ref)
    if isinstance(value, SigmaExists):
        return Exists(ref, bool(value))
    if isinstance(value, SigmaFieldReference):
        if value.starts_with or value.ends_with:
            raise Unsupported("fieldref combined with contains/startswith/endswith is not supported")
        other = resolve_field(value.field, columns)
        if other.path:
            raise Unsupported(f"fieldref to the nested path '{value.field}' is not supported")
        return SameAs(ref, other)
    if isinstance(value, SigmaString):
        return Match(ref, _text(value))
    if isinstance(value, SigmaRegularExpression):
        flags = value.flags
        return Match(
            ref,
            Regex(str(value.regexp), _FLAGS.IGNORECASE in flags, _FLAGS.MULTILINE in flags, _FLAGS.DOTALL in flags),
        )
    if isinstance(value, SigmaCIDRExpression):
        return Match(ref, Cidr(str(value.network)))
    if isinstance(value, SigmaTimestampPart):
        raise Unsupported("time modifiers (minute, hour, day, ...) are not supported")
    if isinstance(value, SigmaNumber):
        return Match(ref, Number("eq", value.number))
    if isinstance(value, SigmaCompareExpression):
        if value.op not in _COMPARE:
            raise Unsupported(f"numeric comparison {value.op.name} is not supported")
        return Match(ref, Number(_COMPARE[value.op], value.number.number))  # type: ignore[arg-type]
    if isinstance(value, SigmaBool):
        return Match(ref, Text("equals", "true" if value.boolean else "false"))
    raise Unsupported(f"value type {type(value).__name__} is not supported")


def _text(value: SigmaString) -> Text:
    cased = isinstance(value, SigmaCasedString)
    parts = list(value.s)
    if any(isinstance(p, Placeholder) for p in parts):
        raise Unsupported("placeholders (the expand modifier) are not supported")
    star, one = SpecialChars.WILDCARD_MULTI, SpecialChars.WILDCARD_SINGLE
    shape = tuple("*" if p is star else "?" if p is one else "s" for p in parts)
    literal = [p for p in parts if isinstance(p, str)]
    simple = {("s",): "equals", ("s", "*"): "prefix", ("*", "s"): "suffix", ("*", "s", "*"): "contains"}
    if shape in simple:
        return Text(simple[shape], literal[0], cased)  # type: ignore[arg-type]
    if shape == ():
        return Text("equals", "", cased)
    pattern = "".join(".*" if p is star else "." if p is one else _escape(p) for p in parts)  # type: ignore[arg-type]
    return Text("wildcard", f"(?s)^{pattern}$", cased)


_REGEX_SPECIALS = frozenset("\\.^$|?*+()[]{}")


def _escape(text: str) -> str:
    """Escape a literal for both RE2 and Python's :mod:`re`."""
    return "".join("\\" + c if c in _REGEX_SPECIALS else c for c in text)


# --------------------------------------------------------------------------- fields


_UNSET = object()  # a cache slot not computed yet
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
    cost = 20

    def __init__(self, documents: _Documents, path: tuple[str, ...]) -> None:
        super().__init__(documents.n)
        self.documents = documents
        self.path = path
        self._leaves = np.full(self.n, _UNSET, dtype=object)  # per row: tuple of texts, or _ABSENT

    def _rows(self, rows: np.ndarray) -> np.ndarray:
        todo = rows[np.fromiter((x is _UNSET for x in self._leaves[rows]), bool, len(rows))]
        if len(todo):
            docs = self.documents.parsed(todo)
            _store(self._leaves, todo, [_extract(doc, self.path) for doc in docs])
        return self._leaves[rows]

    def values(self, rows: np.ndarray) -> tuple[np.ndarray, pa.Array]:
        leaves = self._rows(rows)
        owner: list[int] = []
        texts: list[str] = []
        for row, leaf in zip(rows.tolist(), leaves):
            if leaf:
                for text in leaf:
                    if text is not None:
                        owner.append(row)
                        texts.append(text)
        return np.asarray(owner, dtype=np.int64), pa.array(texts, pa.large_string())

    def present(self, rows: np.ndarray, *, nonnull: bool) -> np.ndarray:
        leaves = self._rows(rows)
        if nonnull:
            return np.fromiter((leaf is not _ABSENT and any(t is not None for t in leaf) for leaf in leaves), bool, len(rows))
        return np.fromiter((leaf is not _ABSENT for leaf in leaves), bool, len(rows))


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
        self._parsed = np.full(self.n, _UNSET, dtype=object)
        self.decoded = 0

    def parsed(self, rows: np.ndarray) -> np.ndarray:
        todo = rows[np.fromiter((x is _UNSET for x in self._parsed[rows]), bool, len(rows))]
        if len(todo):
            texts = self.text.take(pa.array(todo)).to_pylist()
            _store(self._parsed, todo, [self._decode(row, text) for row, text in zip(todo.tolist(), texts)])
            self.decoded += len(todo)
        return self._parsed[rows]

    def _decode(self, row: int, text: str | None) -> object:
        if text is None:
            return None
        try:
            return msgspec.json.decode(text)
        except msgspec.DecodeError as exc:
            self.unreadable.append((self.column, row, str(exc)))
            return _NOT_JSON


def _store(slots: np.ndarray, rows: np.ndarray, values: list[object]) -> None:
    # one by one: numpy would unpack tuples and lists given as a sequence
    for row, value in zip(rows.tolist(), values):
        slots[row] = value


def _extract(doc: object, path: tuple[str, ...]) -> tuple[str | None, ...] | None:
    """Leaf texts at ``path`` (fanning out over lists), or ``None`` if the path is absent."""
    if doc is None or doc is _NOT_JSON:
        return _ABSENT
    found: list[object] = []
    if not _walk(doc, path, found):
        return _ABSENT
    return tuple(_leaf_text(v) for v in found)


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
            same = _bools(pc.equal(pc.utf8_lower(values), pc.utf8_lower(other_values)))
            out = np.zeros(self.n, bool)
            out[owner[same]] = True
            return out
        raise TypeError(f"not a node: {node!r}")

    def _cost(self, node: Node) -> int:
        if isinstance(node, (All, Any_)):
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
