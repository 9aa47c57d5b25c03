"""Change points in metric series: level shifts and spikes, and the API calls made just before.

:func:`detect_changes` finds the changes in one series with robust statistics (medians,
and a noise scale from the median absolute first difference); :func:`change_points`
runs it over every series of a metric data frame and lists, for each change, the write
calls made shortly before it and which of them touched the series' resource (through
:class:`forensics.discovery.Touched`, as :func:`forensics.timeline.probable_causes` does).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from forensics.discovery import Touched
from forensics.errors import ParameterError
from forensics.window import Incident

#: Columns of the frame :func:`change_points` returns.
CHANGE_COLUMNS: tuple[str, ...] = (
    "id", "namespace", "metric", "dimensions", "stat", "time", "kind", "before", "after", "score",
    "calls", "eventIDs", "matched",
)


@dataclass(frozen=True)
class Change:
    """A change in one series.

    Attributes
    ----------
    index
        Position of the first changed value.
    kind
        ``step`` (a lasting level shift) or ``spike`` (a few values off the level).
    before, after
        Level before; level after (a step) or the most extreme value (a spike).
    score
        Size of the change in noise units (robust z-score).
    """

    index: int
    kind: str
    before: float
    after: float
    score: float


def detect_changes(values: Sequence[float] | np.ndarray, *, window: int = 5, threshold: float = 5.0,
                   spike_threshold: float = 8.0, min_change: float = 0.0) -> list[Change]:
    """Find level shifts and spikes in one series.

    A **step** at ``i``: the median of the ``window`` values from ``i`` differs from the
    median of the ``window`` values before it by more than ``threshold`` times the
    standard error of that difference; the noise scale ``sigma`` is the median absolute
    deviation of the first differences divided by √2 (robust to the steps themselves),
    falling back to their mean absolute deviation when more than half the differences
    are equal. Only the strongest position within ``window`` of another is kept.
    A **spike**: a run of at most ``window`` values whose distance to the centred rolling
    median (``2 * window + 1`` values) exceeds ``spike_threshold * sigma``. Single values
    are noisier than medians, hence the higher default; heavy-tailed series still show
    their outliers as spikes.
    A flat series has no change; changes smaller than ``min_change`` are ignored.

    Parameters
    ----------
    values
        The series, in time order, without missing values.
    window
        Values on each side of a step (at least 2).
    threshold
        Robust z-score above which a step is reported.
    spike_threshold
        Robust z-score above which a spike is reported.
    min_change
        Smallest absolute change reported.

    Returns
    -------
    list of Change
        Sorted by position.
    """
    x = np.asarray(values, dtype="float64")
    if window < 2:
        raise ParameterError(f"window={window}: a step needs at least 2 values on each side")
    if len(x) < 3:
        return []
    sigma = _noise(x)
    if sigma == 0:
        return []
    steps = _steps(x, window, threshold, sigma, min_change)
    spikes = _spikes(x, window, spike_threshold, sigma, min_change, {c.index for c in steps})
    return sorted(steps + spikes, key=lambda c: c.index)


def _noise(x: np.ndarray) -> float:
    d = np.diff(x)
    centred = np.abs(d - np.median(d))
    sigma = 1.4826 * float(np.median(centred)) / math.sqrt(2)
    if sigma == 0:
        sigma = 1.2533 * float(np.mean(centred)) / math.sqrt(2)
    return sigma


def _steps(x: np.ndarray, w: int, threshold: float, sigma: float, min_change: float) -> list[Change]:
    windows = np.lib.stride_tricks.sliding_window_view(x, w)
    medians, means = np.median(windows, axis=1), windows.mean(axis=1)
    # a step at i compares the window ending before i (index i - w) with the one starting at i
    before, after = medians[:-w], medians[w:]
    shift = np.abs(after - before)
    z = shift / (sigma * 1.2533 * math.sqrt(2 / w))
    strength = np.abs(means[w:] - means[:-w])  # breaks ties between neighbours: largest at the true step
    kept: list[Change] = []
    for k in sorted(np.flatnonzero((z > threshold) & (shift >= min_change) & (shift > 0)),
                    key=lambda k: (-z[k], -strength[k])):
        i = int(k) + w
        if all(abs(i - c.index) >= w for c in kept):
            kept.append(Change(i, "step", float(before[k]), float(after[k]), round(float(z[k]), 3)))
    return kept


def _spikes(x: np.ndarray, w: int, threshold: float, sigma: float, min_change: float, steps: set[int]) -> list[Change]:
    level = pd.Series(x).rolling(2 * w + 1, center=True, min_periods=1).median().to_numpy()
    residual = x - level
    flagged = (np.abs(residual) > threshold * sigma) & (np.abs(residual) >= min_change)
    out: list[Change] = []
    i = 0
    while i < len(x):
        if not flagged[i]:
            i += 1
            continue
        j = i
        while j + 1 < len(x) and flagged[j + 1]:
            j += 1
        near_step = any(i - 1 <= s <= j + 1 for s in steps)
        if j - i + 1 <= w and not near_step:
            peak = i + int(np.argmax(np.abs(residual[i:j + 1])))
            out.append(Change(i, "spike", float(level[peak]), float(x[peak]), round(abs(residual[peak]) / sigma, 3)))
        i = j + 1
    return out


def change_points(
    metrics: pd.DataFrame,
    events: pd.DataFrame | None = None,
    *,
    incident: Incident | None = None,
    window: int = 5,
    threshold: float = 5.0,
    spike_threshold: float = 8.0,
    min_change: float = 0.0,
    before: str | pd.Timedelta = "15min",
) -> pd.DataFrame:
    """Change points of every metric series, each with the API calls made just before it.

    Parameters
    ----------
    metrics
        A metric data frame (:func:`forensics.metrics.load_metric_data`).
    events
        An events frame; its write calls from ``before`` the change to the end of the
        changed datapoint's period are listed.
    incident
        Only series values inside the padded window are examined.
    window, threshold, spike_threshold, min_change
        See :func:`detect_changes`.
    before
        How long before a change a call may lie.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`CHANGE_COLUMNS`: the series (``id``, ``namespace``, ``metric``,
        ``dimensions``, ``stat``), ``time`` of the first changed datapoint, ``kind``
        (``step``/``spike``), ``before``/``after`` levels, ``score``, ``calls`` (text:
        ``HH:MM:SS eventName by actor``, ``; ``-joined), ``eventIDs`` (a tuple) and
        ``matched``, those of ``eventIDs`` on the series' resource, a related resource or
        its service (as in :func:`~forensics.timeline.probable_causes`).
    """
    lead = pd.Timedelta(before)
    data = metrics.dropna(subset=["timestamp", "value"])
    if incident is not None:
        data = data[incident.contains(data["timestamp"], padded=True)]
    writes = None
    touched = None
    if events is not None:
        writes = events[events["readOnly"].eq(False).fillna(False).astype(bool)]
        touched = Touched.of(events)
    rows: list[dict[str, object]] = []
    keys = ["id", "namespace", "metric", "dimensions", "stat"]
    for key, series in data.groupby(keys, sort=False, dropna=False):
        named = dict(zip(keys, key, strict=True))
        about: dict[str, tuple[str, str]] = {}
        if touched is not None and isinstance(named["namespace"], str):
            about = touched.matches(named["namespace"], named["dimensions"])
        series = series.sort_values("timestamp", ignore_index=True)
        period = series["period"].dropna()
        width = pd.Timedelta(seconds=int(period.iloc[0])) if len(period) else _step_of(series["timestamp"])
        for change in detect_changes(series["value"].to_numpy(), window=window, threshold=threshold,
                                     spike_threshold=spike_threshold, min_change=min_change):
            at = series["timestamp"].iloc[change.index]
            calls = _calls(writes, at - lead, at + width)
            ids = tuple(calls["eventID"].astype(str))
            rows.append({
                **named,
                "time": at, "kind": change.kind, "before": change.before, "after": change.after,
                "score": change.score,
                "calls": "; ".join(f"{t:%H:%M:%S} {n} by {a}" for t, n, a in
                                   calls[["eventTime", "eventName", "actor"]].itertuples(index=False)),
                "eventIDs": ids,
                "matched": tuple(i for i in ids if i in about),
            })
    frame = pd.DataFrame(rows, columns=list(CHANGE_COLUMNS))
    frame["time"] = pd.to_datetime(frame["time"], utc=True).astype("datetime64[us, UTC]")
    return frame.sort_values(["time", "id"], kind="stable", ignore_index=True)


def _calls(writes: pd.DataFrame | None, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    if writes is None:
        return pd.DataFrame(columns=["eventTime", "eventName", "actor", "eventID"])
    inside = writes[(writes["eventTime"] >= start) & (writes["eventTime"] < end)]
    return inside.sort_values("eventTime")


def _step_of(times: pd.Series) -> pd.Timedelta:
    gaps = times.diff().dropna()
    return gaps.min() if len(gaps) else pd.Timedelta(minutes=1)
