"""Compile parsed Sigma rules into predicates over the events frame's fields.

pySigma parses a rule and resolves its condition (``1 of selection_*``, ``all of them``,
value lists, the ``all``/``neq`` modifiers) into a tree of AND, OR and NOT over
``field = value`` leaves. :func:`compile_rule` turns that tree into the small frozen node
types below, with every field already resolved to a column of the events frame or to a
path inside one of its JSON text columns, and every value into a vectorised test over an
Arrow string array. Anything that cannot be run faithfully raises :class:`Unsupported`
with a reason, so the caller reports the rule as skipped instead of letting it match
nothing. :mod:`forensics.sigma_eval` evaluates the nodes.

Matching semantics, following the Sigma specification:

* plain strings match case-insensitively; ``*`` and ``?`` are wildcards, ``\\*`` a literal;
  ``cased`` makes the match case-sensitive;
* ``re`` is a case-sensitive, unanchored search (anchor with ``^``/``$``); ``i``, ``m``,
  ``s`` set flags. Patterns are RE2 (pySigma rejects others at parse time, so such rules
  are skipped with pySigma's message) and run on pyarrow's RE2;
* a JSON path that crosses a list fans out: the leaf matches when any element matches.
  An object or list reached at the end of a path is matched as compact JSON text
  (``{"AWS":"*"}``); JSON numbers and booleans as their JSON text (``0``, ``false``);
* ``field: null`` matches a missing field, a JSON ``null`` or an empty list;
  ``field|exists: true`` is true when the column has a value, or the JSON key is present
  (even with a ``null`` value);
* ``cidr`` matches IP addresses inside the network (values that are not IPs never match);
  ``gt``/``gte``/``lt``/``lte`` compare numerically (non-numbers never match);
* ``fieldref`` compares two fields for case-insensitive equality; the referenced field
  must be a column;
* ``not`` and ``neq`` are true where the field is missing (nothing equals the value).
"""


from __future__ import annotations

import ipaddress
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

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


def message(exc: BaseException) -> str:
    """The text of an exception on one line, without the location pySigma appends (the
    caller reports the path in its own column)."""
    text = Exception.__str__(exc) if isinstance(exc, SigmaError) else str(exc)
    return " ".join(text.split())


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
    """A ``re`` value: an unanchored search, case-sensitive unless ``ignore_case``.

    pySigma accepts only RE2 syntax (its default, ReDoS-safe policy), and pyarrow runs
    RE2 too, so every pattern that parsed can run here.
    """

    pattern: str
    ignore_case: bool = False
    multiline: bool = False
    dotall: bool = False

    def __call__(self, values: pa.Array) -> np.ndarray:
        inline = ("(?m)" if self.multiline else "") + ("(?s)" if self.dotall else "")
        return _bools(pc.match_substring_regex(values, pattern=inline + self.pattern, ignore_case=self.ignore_case))


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
            raise Unsupported(f"condition '{condition.condition}' cannot be resolved: {message(exc)}") from exc
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
    """Escape a literal for RE2."""
    return "".join("\\" + c if c in _REGEX_SPECIALS else c for c in text)
