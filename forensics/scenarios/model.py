"""Values shared by every scenario: what a scenario is, and what generating one produces."""

from __future__ import annotations

from dataclasses import dataclass

from forensics.scenarios.cloudwatch import CloudWatchData
from forensics.scenarios.identities import JSON

#: Bumped when the same seed would give different output; written into every answer key.
GENERATOR_VERSION = 1


@dataclass(frozen=True)
class ScenarioInfo:
    """What a scenario is about.

    Attributes
    ----------
    name
        Identifier used on the command line, e.g. ``leaked-key``.
    title
        One line for listings.
    description
        A paragraph: the story, without giving the answers away.
    tactics
        ATT&CK tactics the attack covers, in story order.
    """

    name: str
    title: str
    description: str
    tactics: tuple[str, ...]


@dataclass(frozen=True)
class Generated:
    """A scenario's data before it is written.

    Attributes
    ----------
    account
        The account whose trail the records belong to.
    records
        Every CloudTrail record (background, attack and response), each once.
    cloudwatch
        Metric series, alarms and their transitions.
    answer_key
        The answer key without the delivery facts (files, duplicates), which
        :func:`forensics.scenarios.make_scenario` adds once the files are written.
    """

    account: str
    records: tuple[JSON, ...]
    cloudwatch: CloudWatchData
    answer_key: JSON
