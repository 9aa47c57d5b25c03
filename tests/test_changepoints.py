"""Change points in one series: steps and spikes found with robust statistics, none in flat or noisy series.

How :func:`~forensics.changepoints.change_points` lists the calls behind each change, on
realistic CloudTrail and metric data, is in ``test_timeline.py`` (it shares that story).
"""

from __future__ import annotations

import numpy as np
import pytest

from forensics import changepoints, timeline
from forensics.changepoints import detect_changes


def test_a_step_is_found_where_it_happens() -> None:
    values = [10.0] * 30 + [2.0] * 30
    (change,) = detect_changes(values)
    assert (change.index, change.kind, change.before, change.after) == (30, "step", 10.0, 2.0)


def test_a_step_in_noise_is_found_within_one_sample() -> None:
    rng = np.random.default_rng(7)
    values = np.concatenate([rng.normal(50, 2, 60), rng.normal(20, 2, 60)])
    changes = detect_changes(values)
    assert [(c.kind, abs(c.index - 60) <= 1) for c in changes] == [("step", True)]
    assert changes[0].before == pytest.approx(50, abs=2.5) and changes[0].after == pytest.approx(20, abs=2.5)


def test_a_spike_is_a_spike_not_two_steps() -> None:
    values = [5.0] * 25 + [90.0, 80.0] + [5.0] * 25
    (change,) = detect_changes(values)
    assert (change.index, change.kind, change.before, change.after) == (25, "spike", 5.0, 90.0)


def test_flat_and_pure_noise_series_have_no_change() -> None:
    assert detect_changes([3.0] * 50) == []
    rng = np.random.default_rng(11)
    for _ in range(20):
        assert detect_changes(rng.normal(100, 5, 120)) == []
    assert detect_changes([1.0, 2.0]) == []


def test_min_change_ignores_small_shifts() -> None:
    values = [10.0] * 20 + [10.5] * 20
    assert [c.kind for c in detect_changes(values)] == ["step"]
    assert detect_changes(values, min_change=1.0) == []


def test_the_names_stay_importable_from_forensics_timeline() -> None:
    """Notebooks and scripts import them from forensics.timeline, where they were defined."""
    moved = ("CHANGE_COLUMNS", "Change", "change_points", "detect_changes")
    assert [name for name in moved if getattr(timeline, name) is not getattr(changepoints, name)] == []
