"""Exercise questions, declared as data next to each scenario and answered from its answer key.

A :class:`Question` says what is asked, what kind of answer is expected, how an answer is
compared, how many points it is worth and which hints help. It never holds the answer: that
depends on the seed, so the question names *where* the answer key holds it, with a small path::

    attacker.source_ips                                   a list in the key
    attacker.access_key_ids.leaked[0]                     an item of a list
    attacker.roles_assumed[*].roleArn                     a field of every item
    stages[*].events[eventName=StopDBInstance].eventID    items whose field matches (fnmatch)
    stages[*].events[eventName=Delete*][0].eventTime      the first of them
    resources_touched[arn:aws:s3:::*]                     strings that match a pattern
    len(objects_downloaded)                               how many values there are

Grading lives in :mod:`forensics.training`.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from typing import Any

from forensics.errors import ParameterError

#: How an answer is compared with the expected values.
COMPARES = ("exact", "any-of", "set", "time")
#: The kind of answer each comparison takes.
KINDS = {"exact": ("text", "number"), "any-of": ("text",), "set": ("list",), "time": ("time",)}

_SEGMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)((?:\[[^\]]*\])*)")
_INDEX = re.compile(r"\[([^\]]*)\]")


@dataclass(frozen=True)
class Question:
    """One question of an exercise.

    Attributes
    ----------
    id
        Key of the answer in the trainee's ``answers`` dict, e.g. ``"source_ips"``.
    prompt
        The question as the trainee reads it (Markdown).
    kind
        What the answer is: ``"text"``, ``"number"``, ``"list"`` (of texts) or ``"time"``
        (ISO 8601, UTC when no zone is given).
    compare
        ``"exact"`` (the one expected value), ``"any-of"`` (any one of the expected values),
        ``"set"`` (all of them and nothing else; partial credit for some) or ``"time"``
        (within ``tolerance`` seconds; partial credit within ``close`` seconds).
    expected
        Path of the expected values in the answer key (see the module's docstring).
    points
        Points for a correct answer.
    hints
        Help shown with a missing or wrong answer (the first) and a partial one (the last);
        hints never contain an answer.
    noun
        What the values are, in the plural, for feedback like "2 of 3 source IPs found".
    tolerance, close
        For ``"time"``: seconds from the expected time for full and for half marks.
    """

    id: str
    prompt: str
    kind: str
    compare: str
    expected: str
    points: int = 1
    hints: tuple[str, ...] = ()
    noun: str = "values"
    tolerance: int = 0
    close: int = 600

    def __post_init__(self) -> None:
        if not self.id.isidentifier():
            raise ParameterError(f"question id {self.id!r} is not an identifier")
        if self.compare not in COMPARES:
            raise ParameterError(f"question {self.id}: compare must be one of {COMPARES}, not {self.compare!r}")
        if self.kind not in KINDS[self.compare]:
            raise ParameterError(f"question {self.id}: {self.compare!r} takes a {' or '.join(KINDS[self.compare])}")
        if self.points <= 0:
            raise ParameterError(f"question {self.id}: points must be positive")
        parse_path(self.expected)


def parse_path(path: str) -> tuple[bool, list[tuple[str, list[str]]]]:
    """Split a path into (whether it is wrapped in ``len()``, [(field, [selectors])])."""
    counted = path.startswith("len(") and path.endswith(")")
    inner = path[4:-1] if counted else path
    segments: list[tuple[str, list[str]]] = []
    for part in _split(inner):
        match = _SEGMENT.fullmatch(part)
        if not match:
            raise ParameterError(f"bad answer-key path {path!r} at {part!r}")
        segments.append((match[1], _INDEX.findall(match[2])))
    return counted, segments


def _split(path: str) -> list[str]:
    """Split at dots outside brackets (patterns may hold dots)."""
    parts, depth, current = [], 0, ""
    for char in path:
        depth += char == "["
        depth -= char == "]"
        if char == "." and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts


def _select(items: list[Any], selector: str) -> list[Any]:
    """Apply one ``[...]`` to a sequence of items."""
    if selector.isdigit():
        index = int(selector)
        return [items[index]] if index < len(items) else []
    if selector == "*":
        return items
    if "=" in selector:
        field, pattern = selector.split("=", 1)
        return [item for item in items if isinstance(item, dict) and fnmatch.fnmatchcase(str(item.get(field)), pattern)]
    return [item for item in items if isinstance(item, str) and fnmatch.fnmatchcase(item, selector)]


def resolve(key: dict[str, Any], path: str) -> list[Any]:
    """The values at ``path`` in an answer key, as a flat list (``[n]`` for ``len(...)``).

    Raises
    ------
    ParameterError
        If a field on the way does not exist (the path does not fit this answer key).
    """
    counted, segments = parse_path(path)
    values: list[Any] = [key]
    for field, selectors in segments:
        found = []
        for value in values:
            if not isinstance(value, dict) or field not in value:
                raise ParameterError(f"the answer key has no {field!r} on the path {path!r}")
            found.append(value[field])
        values = found
        if selectors:  # the first [...] opens the lists; the next ones narrow what it selected
            if not all(isinstance(value, list) for value in values):
                raise ParameterError(f"[{selectors[0]}] on the path {path!r} needs a list")
            values = [item for value in values for item in value]
            for selector in selectors:
                values = _select(values, selector)
    flat = [item for value in values for item in (value if isinstance(value, list) else [value])]
    return [len(flat)] if counted else flat
