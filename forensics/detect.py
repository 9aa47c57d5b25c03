"""Detections: Sigma rules evaluated natively on the events frame.

:func:`detect` reads Sigma rules with pySigma (the suite pack shipped in
``forensics/rules``, a rule file, a folder such as a clone of SigmaHQ's
``rules/cloud/aws/cloudtrail``, or a list of those) and evaluates them directly on the
events frame: :mod:`forensics.sigma_compile` compiles each rule, :mod:`forensics.sigma_eval`
evaluates it. Nothing is translated to another query language and no event leaves pandas.

Every rule ends up in exactly one place:

* it ran: its matches are rows of :attr:`Detections.findings` and the rule is a row of
  :attr:`Detections.rules` (also when it matched nothing);
* it could not run (another log source, a modifier the evaluator lacks, a parse error, a
  field the frame does not have): it is a row of :attr:`Detections.skipped` with the reason.

Correlation rules of type ``event_count`` run too (sliding windows per ``group-by`` key,
see :func:`_event_count`). As in Sigma, the rules a correlation reads report no findings
of their own unless it sets ``generate: true``; if the correlation cannot run, they do
report theirs, so their evidence is not lost.

Two checks cannot honestly be written as Sigma, because they compare the incident with
what is normal for each principal: a region, or a user agent, never seen for that
principal in a baseline period. They are :data:`BASELINE_CHECKS`, run when the caller
passes ``baseline=`` (events from before the incident), and listed as skipped otherwise.
The static half of "unusual user agent" is a Sigma rule of the pack (penetration-testing
distributions in the user agent).

``forensics.detect(events)`` works as well as ``forensics.detect.detect(events)``: the
module is callable (see the end of this file).
"""

from __future__ import annotations

import os
import re
import sys
import types
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from sigma.collection import SigmaCollection
from sigma.correlations import (
    SigmaCorrelationConditionOperator,
    SigmaCorrelationRule,
    SigmaCorrelationType,
)
from sigma.exceptions import SigmaError, SigmaRuleLocation
from sigma.filters import SigmaFilter
from sigma.rule import SigmaRule

from forensics import schema
from forensics.errors import SourceError
from forensics.sigma_compile import Unsupported, compile_rule, message, resolve_field
from forensics.sigma_eval import Evaluator

#: Folder of the suite rule pack shipped with the package.
SUITE_RULES: Path = Path(__file__).with_name("rules")

#: Sigma levels, least to most severe.
LEVELS: tuple[str, ...] = ("informational", "low", "medium", "high", "critical")

#: ATT&CK tactics as Sigma tags name them, in kill-chain order.
TACTICS: tuple[str, ...] = (
    "reconnaissance", "resource-development", "initial-access", "execution", "persistence",
    "privilege-escalation", "defense-evasion", "credential-access", "discovery",
    "lateral-movement", "collection", "command-and-control", "exfiltration", "impact",
)  # fmt: skip

#: ATT&CK techniques the suite pack and common CloudTrail rules use: ID -> (name, tactics).
#: Others are shown by ID only and paired with every tactic their rule is tagged with.
TECHNIQUES: dict[str, tuple[str, tuple[str, ...]]] = {
    "T1078": ("Valid Accounts", ("initial-access", "persistence", "privilege-escalation", "defense-evasion")),
    "T1078.004": ("Valid Accounts: Cloud Accounts", ("initial-access", "persistence", "privilege-escalation", "defense-evasion")),
    "T1098": ("Account Manipulation", ("persistence", "privilege-escalation")),
    "T1098.001": ("Account Manipulation: Additional Cloud Credentials", ("persistence", "privilege-escalation")),
    "T1098.003": ("Account Manipulation: Additional Cloud Roles", ("persistence", "privilege-escalation")),
    "T1136.003": ("Create Account: Cloud Account", ("persistence",)),
    "T1485": ("Data Destruction", ("impact",)),
    "T1486": ("Data Encrypted for Impact", ("impact",)),
    "T1490": ("Inhibit System Recovery", ("impact",)),
    "T1489": ("Service Stop", ("impact",)),
    "T1496": ("Resource Hijacking", ("impact",)),
    "T1526": ("Cloud Service Discovery", ("discovery",)),
    "T1530": ("Data from Cloud Storage", ("collection",)),
    "T1535": ("Unused/Unsupported Cloud Regions", ("defense-evasion",)),
    "T1537": ("Transfer Data to Cloud Account", ("exfiltration",)),
    "T1562": ("Impair Defenses", ("defense-evasion",)),
    "T1562.001": ("Impair Defenses: Disable or Modify Tools", ("defense-evasion",)),
    "T1562.007": ("Impair Defenses: Disable or Modify Cloud Firewall", ("defense-evasion",)),
    "T1562.008": ("Impair Defenses: Disable or Modify Cloud Logs", ("defense-evasion",)),
    "T1580": ("Cloud Infrastructure Discovery", ("discovery",)),
}

FINDING_COLUMNS: tuple[str, ...] = ("rule_id", "title", "level", "tags", "eventID", "eventTime", "actor", "row", "rule_path")
SKIPPED_COLUMNS: tuple[str, ...] = ("rule_id", "title", "path", "reason")
RULE_COLUMNS: tuple[str, ...] = ("rule_id", "title", "level", "tags", "kind", "path")

#: What ``rules=`` accepts: ``None`` (the suite pack), a file or folder, or a list of them.
RuleSource = str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None

_LEVEL_DTYPE = pd.CategoricalDtype(LEVELS, ordered=True)
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # what pySigma uses, in C when libyaml is there
_TECHNIQUE = re.compile(r"t\d{4}(\.\d{3})?")


@dataclass(frozen=True)
class BaselineCheck:
    """A check of the incident against a baseline period, per principal.

    An event is flagged when its ``field`` value was never seen for its ``by`` value (the
    principal) in the baseline. Principals absent from the baseline are not flagged: every
    value would be new for them, which says nothing.
    """

    id: str
    title: str
    level: str
    tags: tuple[str, ...]
    field: str
    by: str = "actor"


#: Checks that need a baseline; run by :func:`detect` when ``baseline=`` is given.
BASELINE_CHECKS: tuple[BaselineCheck, ...] = (
    BaselineCheck(
        "40d1a3d2-62f9-4300-9297-fc6bf19d0b53",
        "API call from a region the principal did not use in the baseline",
        "medium",
        ("attack.defense-evasion", "attack.t1535"),
        "awsRegion",
    ),
    BaselineCheck(
        "a2cd7226-9c28-4dc0-8da7-c8d1022827ad",
        "API call with a user agent the principal did not use in the baseline",
        "low",
        ("attack.initial-access", "attack.t1078.004"),
        "userAgent",
    ),
)
_BASELINE_PATH = "forensics.detect.BASELINE_CHECKS"


@dataclass(frozen=True)
class _RuleInfo:
    rule_id: str
    title: str
    level: str | None
    tags: tuple[str, ...]
    kind: str
    path: str


@dataclass(frozen=True, eq=False)
class Detections:
    """What :func:`detect` found.

    Attributes
    ----------
    findings
        One row per (rule, matching event): ``rule_id``, ``title``, ``level`` (ordered
        category), ``tags`` (comma-separated), ``eventID``, ``eventTime``, ``actor``,
        ``row`` (position in the events frame: ``events.iloc[row]``) and ``rule_path``.
        The rule columns are categories (few distinct values). Sorted by time.
    skipped
        One row per rule (or rule file) that could not run: ``rule_id``, ``title``,
        ``path``, ``reason``.
    rules
        One row per rule that ran, matches or not: ``rule_id``, ``title``, ``level``,
        ``tags``, ``kind`` (``sigma``, ``event_count``, ``baseline``), ``path``.
    unreadable
        JSON text a rule needed but that could not be parsed: ``column``, ``row``,
        ``eventID``, ``error``. Nested-path conditions could not match in those rows.
    events
        The events frame the rules ran on.
    """

    findings: pd.DataFrame
    skipped: pd.DataFrame
    rules: pd.DataFrame
    unreadable: pd.DataFrame
    events: pd.DataFrame = field(repr=False)

    def rule_summary(self) -> pd.DataFrame:
        """One row per rule that ran: ``rule_id``, ``title``, ``level``, ``matches``,
        ``first``/``last`` time, ``actors`` (distinct) and ``top_actors`` (up to three,
        with counts). Most severe and most frequent first."""
        f = self.findings.astype({"actor": "str", "rule_id": "str"})
        grouped = f.groupby("rule_id", sort=False)
        per_rule = pd.DataFrame(
            {
                "matches": grouped.size(),
                "first": grouped["eventTime"].min(),
                "last": grouped["eventTime"].max(),
                "actors": grouped["actor"].nunique(),
                "top_actors": grouped["actor"].agg(_top_actors),
            }
        )
        out = self.rules[["rule_id", "title", "level"]].merge(per_rule, left_on="rule_id", right_index=True, how="left")
        out["matches"] = out["matches"].fillna(0).astype("int64")
        out["actors"] = out["actors"].fillna(0).astype("int64")
        out["top_actors"] = out["top_actors"].fillna("")
        out = out.sort_values(["level", "matches", "title"], ascending=[False, False, True], kind="stable")
        return out.reset_index(drop=True)

    def attack_summary(self) -> pd.DataFrame:
        """ATT&CK coverage of the findings: one row per (``tactic``, ``technique``) with the
        ``technique_name``, how many ``rules`` fired and how many distinct ``events`` they
        matched, in kill-chain order. A rule tagged with tactics and techniques counts for
        every pair; a missing side is ``""``."""
        pairs = pd.DataFrame(
            [
                (rule_id, tactic, technique)
                for rule_id, tags in zip(self.rules["rule_id"], self.rules["tags"], strict=True)
                for tactic, technique in _attack_pairs(tags)
            ],
            columns=["rule_id", "tactic", "technique"],
        ).drop_duplicates()
        matched = self.findings[["rule_id", "row"]].astype({"rule_id": "str"}).merge(pairs, on="rule_id")
        out = (
            matched.groupby(["tactic", "technique"], sort=False)
            .agg(rules=("rule_id", "nunique"), events=("row", "nunique"))
            .reset_index()
        )
        out.insert(2, "technique_name", out["technique"].map(lambda t: TECHNIQUES.get(t, ("",))[0]))
        order = {t: i for i, t in enumerate(("", *TACTICS))}
        out = out.sort_values(["tactic", "technique"], key=lambda s: s.map(order) if s.name == "tactic" else s, kind="stable")
        return out.astype({"rules": "int64", "events": "int64"}).reset_index(drop=True)

    def table(self, limit: int | None = None) -> pd.DataFrame:
        """Display-ready findings: the event's context joined in, most severe first.

        Columns: ``level``, ``title``, ``eventTime``, ``actor``, ``eventName``,
        ``eventSource``, ``awsRegion``, ``sourceIPAddress``, ``errorCode``, ``attack``
        (technique IDs), ``eventID``. Values are the events' own (attacker-controlled)
        text: render with escaping (``DataFrame.to_html`` escapes by default).
        """
        f = self.findings
        context = self.events.iloc[f["row"].to_numpy()]
        tags = dict(zip(self.rules["rule_id"], self.rules["tags"], strict=True))
        attack = f["rule_id"].map(lambda r: ", ".join(t for _, t in _attack_pairs(tags.get(r, ())) if t))
        out = pd.DataFrame(
            {
                "level": f["level"].array,
                "title": f["title"].array,
                "eventTime": f["eventTime"].array,
                **{c: context[c].array for c in ("actor", "eventName", "eventSource", "awsRegion", "sourceIPAddress", "errorCode")},
                "attack": attack.astype("str").array,
                "eventID": f["eventID"].array,
            }
        )
        out = out.sort_values(["level", "eventTime"], ascending=[False, True], kind="stable").reset_index(drop=True)
        return out if limit is None else out.head(limit)


def detect(events: pd.DataFrame, rules: RuleSource = None, *, baseline: pd.DataFrame | None = None) -> Detections:
    """Evaluate Sigma rules (and, with a baseline, :data:`BASELINE_CHECKS`) on events.

    Parameters
    ----------
    events
        An events frame (see :mod:`forensics.schema`).
    rules
        ``None`` for the suite pack, or a rule file, a folder (searched recursively for
        ``*.yml``/``*.yaml``), or a list of files and folders.
    baseline
        Events from a period before the incident, in the same schema. When given, the
        baseline checks run; when not, they are listed in ``skipped``.

    Returns
    -------
    Detections
        Findings, skipped rules, the rules that ran, and unreadable JSON.

    Raises
    ------
    SchemaError
        If ``events`` (or ``baseline``) does not follow the events schema.
    SourceError
        If a rule path does not exist.
    """
    schema.validate(events)
    loaded, skipped = load_rules(rules)
    evaluator = Evaluator(events)
    masks: dict[int, np.ndarray] = {}
    infos: dict[int, _RuleInfo] = {}
    for rule in loaded.rules:
        if isinstance(rule, SigmaRule):
            info = _info(rule, "sigma")
            try:
                _check_logsource(rule)
                masks[id(rule)] = evaluator.mask(compile_rule(rule, events.columns))
                infos[id(rule)] = info
            except Unsupported as exc:
                skipped.append(_skip(info, str(exc)))

    correlated: list[tuple[_RuleInfo, np.ndarray]] = []
    silenced: set[int] = set()  # rules whose matches only feed a correlation that ran
    for rule in loaded.rules:
        if isinstance(rule, SigmaCorrelationRule):
            info = _info(rule, str(rule.type))
            try:
                correlated.append((info, _event_count(rule, masks, evaluator)))
            except Unsupported as exc:
                skipped.append(_skip(info, str(exc)))
                continue
            if not rule.generate:
                silenced.update(id(ref.rule) for ref in rule.referenced_rules)
    hits = [(infos[key], np.flatnonzero(mask)) for key, mask in masks.items() if key not in silenced] + correlated

    checks = [
        (check, _RuleInfo(check.id, check.title, check.level, check.tags, "baseline", _BASELINE_PATH)) for check in BASELINE_CHECKS
    ]
    if baseline is not None:
        schema.validate(baseline)
        hits.extend((info, _novel(events, baseline, check)) for check, info in checks)
    elif rules is None:
        reason = "needs a baseline: pass baseline=<events from before the incident> to detect()"
        skipped.extend(_skip(info, reason) for _, info in checks)

    unreadable = pd.DataFrame(evaluator.unreadable, columns=["column", "row", "error"])
    unreadable.insert(2, "eventID", events["eventID"].to_numpy()[unreadable["row"].to_numpy(dtype=np.int64)])
    return Detections(
        findings=_findings(events, hits),
        skipped=pd.DataFrame(skipped, columns=list(SKIPPED_COLUMNS), dtype="str"),
        rules=pd.DataFrame([vars(info) for info, _ in hits], columns=list(RULE_COLUMNS)).astype({"level": _LEVEL_DTYPE}),
        unreadable=unreadable,
        events=events,
    )


def load_rules(rules: RuleSource = None) -> tuple[SigmaCollection, list[tuple[str | None, str | None, str, str]]]:
    """Read Sigma rules with pySigma, collecting every failure instead of raising.

    Parameters
    ----------
    rules
        As for :func:`detect`.

    Returns
    -------
    tuple
        The parsed rules (correlation references resolved) and the skipped entries as
        ``(rule_id, title, path, reason)`` tuples: unreadable files, rules with parse
        errors, Sigma filters, correlations whose rules cannot be found.

    Raises
    ------
    SourceError
        If a path does not exist.
    """
    skipped: list[tuple[str | None, str | None, str, str]] = []
    parsed: list[SigmaRule | SigmaCorrelationRule | SigmaFilter] = []
    for path in _rule_files(rules):
        try:
            with path.open(encoding="utf-8") as stream:
                documents = list(yaml.load_all(stream, Loader=_YAML_LOADER))
            collection = SigmaCollection.from_dicts(
                documents, collect_errors=True, source=SigmaRuleLocation(path), collect_filters=True, resolve_references=False
            )
        except (OSError, ValueError, yaml.YAMLError, AttributeError, TypeError, KeyError) as exc:
            skipped.append((None, None, str(path), f"cannot read rule file: {type(exc).__name__}: {message(exc)}"))
            continue
        owned = {id(e) for rule in collection.rules for e in rule.errors}
        skipped.extend((None, None, str(path), message(e)) for e in collection.errors if id(e) not in owned)
        for sigma_filter in collection.filters:
            skipped.append((_id(sigma_filter), sigma_filter.title, str(path), "Sigma filters are not applied"))
        for rule in collection.rules:
            if rule.errors:
                skipped.append(_skip(_info(rule, "sigma"), "; ".join(message(e) for e in rule.errors)))
            else:
                parsed.append(rule)
    loaded = SigmaCollection(parsed, resolve_references=False)
    for rule in list(loaded.rules):
        if isinstance(rule, SigmaCorrelationRule):
            try:
                rule.resolve_rule_references(loaded)
            except SigmaError as exc:
                skipped.append(_skip(_info(rule, str(rule.type)), message(exc)))
                loaded.rules.remove(rule)
    return loaded, skipped


def _rule_files(rules: RuleSource) -> list[Path]:
    if rules is None:
        items: list[str | os.PathLike[str]] = [SUITE_RULES]
    elif isinstance(rules, (str, os.PathLike)):
        items = [rules]
    else:
        items = list(rules)
    files: list[Path] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file()))
        elif path.is_file():
            files.append(path)
        else:
            raise SourceError("no such Sigma rule file or folder", location=str(path))
    return files


def _check_logsource(rule: SigmaRule) -> None:
    source = rule.logsource
    if (source.product or "").lower() == "aws" and (source.service or "").lower() == "cloudtrail":
        return
    parts = (("product", source.product), ("category", source.category), ("service", source.service))
    described = ", ".join(f"{key}: {value}" for key, value in parts if value)
    raise Unsupported(f"logsource is {{{described}}}; only product: aws, service: cloudtrail applies")


def _event_count(rule: SigmaCorrelationRule, masks: dict[int, np.ndarray], evaluator: Evaluator) -> np.ndarray:
    """Rows of the referenced rules' matches that lie in a window of ``timespan`` holding
    at least the required number of them, per ``group-by`` key.

    Windows slide: one starts at every matching event and covers ``[t, t + timespan)``.
    Matches without ``eventTime`` cannot be placed in time and are not counted.
    """
    if rule.type != SigmaCorrelationType.EVENT_COUNT:
        raise Unsupported(f"correlation type '{rule.type}' is not supported (only event_count)")
    if len(rule.aliases):
        raise Unsupported("correlation field aliases are not supported")
    condition = rule.condition
    operators = {SigmaCorrelationConditionOperator.GTE: 0, SigmaCorrelationConditionOperator.GT: 1}
    if getattr(condition, "op", None) not in operators:
        raise Unsupported("event_count is supported with gte/gt conditions only")
    need = int(np.floor(condition.count)) + operators[condition.op]  # type: ignore[union-attr]
    mask = np.zeros(evaluator.n, bool)
    for ref in rule.referenced_rules:
        base = masks.get(id(ref.rule))
        if base is None:
            raise Unsupported(f"referenced rule '{ref.reference}' did not run (see its own entry)")
        mask |= base
    events = evaluator.events
    keys = [resolve_field(name, events.columns) for name in rule.group_by or ()]
    if any(k.path for k in keys):
        raise Unsupported("group-by on a path inside JSON text is not supported")
    rows = np.flatnonzero(mask & events["eventTime"].notna().to_numpy())
    times = events["eventTime"].array[rows].as_unit("us").asi8
    span = rule.timespan.seconds * 1_000_000
    if keys:
        columns = {k.column: events[k.column].to_numpy()[rows] for k in keys}
        groups = pd.DataFrame(columns).groupby(list(columns), dropna=False, sort=False).indices
    else:
        groups = {(): np.arange(len(rows))}
    flagged = [rows[_dense(times[idx], span, need, idx)] for idx in groups.values() if len(idx) >= need]
    return np.sort(np.concatenate(flagged)) if flagged else np.empty(0, np.int64)


def _dense(times: np.ndarray, span: int, need: int, idx: np.ndarray) -> np.ndarray:
    """Positions (from ``idx``) of the events inside a window of ``span`` starting at an
    event and holding at least ``need`` events."""
    order = np.argsort(times, kind="stable")
    t = times[order]
    end = np.searchsorted(t, t + span, side="left")
    starts = np.flatnonzero(end - np.arange(len(t)) >= need)
    cover = np.zeros(len(t) + 1, np.int64)
    np.add.at(cover, starts, 1)
    np.add.at(cover, end[starts], -1)
    return idx[order[np.cumsum(cover[:-1]) > 0]]


def _novel(events: pd.DataFrame, baseline: pd.DataFrame, check: BaselineCheck) -> np.ndarray:
    """Rows whose (``by``, ``field``) pair is absent from the baseline, for principals
    present in it."""
    seen = baseline[[check.by, check.field]].dropna().astype(str).drop_duplicates()
    known = pd.MultiIndex.from_frame(seen)
    current = events[[check.by, check.field]]
    valid = current.notna().all(axis=1).to_numpy()
    pairs = pd.MultiIndex.from_frame(current.astype(str))
    flag = valid & current[check.by].astype(str).isin(set(seen[check.by])).to_numpy() & ~pairs.isin(known)
    return np.flatnonzero(flag)


def _findings(events: pd.DataFrame, hits: list[tuple[_RuleInfo, np.ndarray]]) -> pd.DataFrame:
    rows = np.concatenate([r for _, r in hits]).astype(np.int64) if hits else np.empty(0, np.int64)
    which = np.repeat(np.arange(len(hits)), [len(r) for _, r in hits])
    infos = [info for info, _ in hits]
    levels = np.array([LEVELS.index(i.level) if i.level in LEVELS else -1 for i in infos] + [-1], dtype=np.int8)
    out = pd.DataFrame(
        {
            "rule_id": _per_rule([i.rule_id for i in infos], which),
            "title": _per_rule([i.title for i in infos], which),
            "level": pd.Categorical.from_codes(levels[which] if len(infos) else levels[:0], dtype=_LEVEL_DTYPE),
            "tags": _per_rule([", ".join(i.tags) for i in infos], which),
            "eventID": events["eventID"].array.take(rows),
            "eventTime": events["eventTime"].array.take(rows),
            "actor": events["actor"].array.take(rows),
            "row": rows,
            "rule_path": _per_rule([i.path for i in infos], which),
        }
    )
    return out.sort_values(["eventTime", "title", "row"], kind="stable").reset_index(drop=True)


def _per_rule(values: list[str], which: np.ndarray) -> pd.Categorical:
    """A categorical column holding ``values[k]`` for every finding of rule ``k``."""
    categories = sorted(set(values))
    codes = np.array([categories.index(v) for v in values] + [-1], dtype=np.int32)
    return pd.Categorical.from_codes(codes[which] if len(values) else codes[:0], categories=pd.Index(categories, dtype="str"))


def _info(rule: SigmaRule | SigmaCorrelationRule, kind: str) -> _RuleInfo:
    """The rule's metadata; a rule without ``id`` gets a UUID derived from its path and title."""
    path = str(rule.source.path) if rule.source is not None and rule.source.path is not None else ""
    rule_id = _id(rule) or str(uuid.uuid5(uuid.NAMESPACE_URL, f"{path}#{rule.title}"))
    tags = tuple(str(t) for t in rule.tags)
    return _RuleInfo(rule_id, rule.title, str(rule.level) if rule.level is not None else None, tags, kind, path)


def _id(rule: object) -> str | None:
    value = getattr(rule, "id", None)
    return str(value) if value is not None else None


def _skip(info: _RuleInfo, reason: str) -> tuple[str | None, str | None, str, str]:
    return (info.rule_id, info.title, info.path, reason)


def _attack_pairs(tags: Sequence[str]) -> list[tuple[str, str]]:
    """(tactic, technique) pairs of a rule's ``attack.*`` tags. A known technique goes with
    the rule's tactics it belongs to (all of them if none does); a tactic left without a
    technique, or a rule without techniques, gives ``(tactic, "")``."""
    names = [t.split(".", 1)[1].lower() for t in tags if t.lower().startswith("attack.")]
    tactics = [n for n in names if n in TACTICS]
    pairs: list[tuple[str, str]] = []
    for technique in (n.upper() for n in names if _TECHNIQUE.fullmatch(n)):
        known = TECHNIQUES.get(technique, ("", ()))[1]
        pairs.extend((tactic, technique) for tactic in [t for t in tactics if t in known] or tactics or [""])
    paired = {tactic for tactic, _ in pairs}
    pairs.extend((tactic, "") for tactic in tactics if tactic not in paired)
    return pairs


def _top_actors(actors: pd.Series) -> str:
    counts = actors.value_counts()
    return ", ".join(f"{name} ({n})" for name, n in counts.head(3).items() if n)


class _CallableModule(types.ModuleType):
    """Lets ``forensics.detect(events)`` work as well as ``forensics.detect.detect(events)``.

    The package exposes this module as ``forensics.detect``; re-exporting the function
    under that name instead would hide the module and its other names.
    """

    def __call__(self, events: pd.DataFrame, rules: RuleSource = None, *, baseline: pd.DataFrame | None = None) -> Detections:
        return detect(events, rules, baseline=baseline)


sys.modules[__name__].__class__ = _CallableModule
