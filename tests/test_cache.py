"""The Parquet cache: hits equal cold loads, partial refresh, corruption, and where it lives."""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest

from cloudtrail_builders import record, write_log
from forensics import SourceError, load_cloudtrail
from forensics import reader


def make_trail(root, files=4, per_file=30):
    paths = []
    for f in range(files):
        recs = [record(f"f{f}-{i:03d}", f"2024-03-14T0{f}:{i % 60:02d}:00Z", name=["GetObject", "PutObject"][i % 2])
                for i in range(per_file)]  # fmt: skip
        recs.append(record("dup", "2024-03-14T00:00:30Z"))
        paths.append(write_log(root, f"2024031{4}T0{f}59Z", recs, unique=f"U{f}"))
    return paths


@pytest.fixture()
def counting(monkeypatch):
    """Count the files the reader decodes (the real reader still does the work)."""
    seen: list[str] = []
    real = reader.read_file

    def spy(path):
        seen.append(path)
        return real(path)

    monkeypatch.setattr(reader, "read_file", spy)
    return seen


def test_cache_hit_equals_cold_load(tmp_path, counting):
    evidence, cache = tmp_path / "evidence", tmp_path / "cache"
    make_trail(evidence)
    cold = load_cloudtrail(evidence, cache=cache)
    assert len(counting) == 4 and cold.report.cache.startswith("miss (4 files decoded")
    counting.clear()
    hot = load_cloudtrail(evidence, cache=cache)
    assert counting == [] and hot.report.cache.startswith("hit (4 files")
    pd.testing.assert_frame_equal(hot.events, cold.events)
    pd.testing.assert_frame_equal(hot.report.files, cold.report.files)
    pd.testing.assert_frame_equal(hot.report.duplicates, cold.report.duplicates)
    assert hot.report.records_read == cold.report.records_read


def test_cache_hit_with_a_window_equals_a_cold_windowed_load(tmp_path):
    evidence, cache = tmp_path / "evidence", tmp_path / "cache"
    make_trail(evidence)
    load_cloudtrail(evidence, cache=cache)  # fill the cache with everything
    window = {"start": "2024-03-14T01:00:00Z", "end": "2024-03-14T02:30:00Z"}
    hot = load_cloudtrail(evidence, cache=cache, **window)
    cold = load_cloudtrail(evidence, **window)
    pd.testing.assert_frame_equal(hot.events, cold.events)
    assert hot.report.outside_window == cold.report.outside_window


def test_partial_refresh_decodes_only_changed_and_new_files(tmp_path, counting):
    evidence, cache = tmp_path / "evidence", tmp_path / "cache"
    paths = make_trail(evidence)
    load_cloudtrail(evidence, cache=cache)
    write_log(evidence, "20240314T0159Z", [record("changed", "2024-03-14T01:00:00Z")], unique="U1")  # rewrite file 1
    os.utime(paths[1], ns=(1, 1))
    added = write_log(evidence, "20240314T0459Z", [record("new", "2024-03-14T04:00:00Z")], unique="U9")
    paths[3].unlink()
    counting.clear()
    result = load_cloudtrail(evidence, cache=cache)
    assert sorted(counting) == sorted([str(paths[1]), str(added)])
    assert result.report.cache.startswith("partial hit (2 of 4 files decoded")
    ids = set(result.events["eventID"])
    assert {"changed", "new"} <= ids and not any(i.startswith(("f1-", "f3-")) for i in ids)
    pd.testing.assert_frame_equal(result.events, load_cloudtrail(evidence).events)


def test_corrupted_cache_is_detected_and_rebuilt(tmp_path):
    evidence, cache = tmp_path / "evidence", tmp_path / "cache"
    make_trail(evidence)
    cold = load_cloudtrail(evidence, cache=cache)
    parquet = next(cache.rglob("events.parquet"))
    data = bytearray(parquet.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(64)
    parquet.write_bytes(bytes(data))
    rebuilt = load_cloudtrail(evidence, cache=cache)
    assert rebuilt.report.cache.startswith("cache unreadable") and rebuilt.report.cache.endswith("rebuilt")
    pd.testing.assert_frame_equal(rebuilt.events, cold.events)
    assert load_cloudtrail(evidence, cache=cache).report.cache.startswith("hit")


def test_manifest_from_another_parquet_is_not_trusted(tmp_path):
    evidence, cache = tmp_path / "evidence", tmp_path / "cache"
    make_trail(evidence)
    load_cloudtrail(evidence, cache=cache)
    manifest = next(cache.rglob("manifest.json"))
    data = json.loads(manifest.read_text())
    data["token"] = "0" * 32
    manifest.write_text(json.dumps(data))
    assert "does not belong to manifest" in load_cloudtrail(evidence, cache=cache).report.cache


def test_cache_is_never_inside_the_evidence(tmp_path):
    make_trail(tmp_path)
    with pytest.raises(SourceError, match="inside the evidence"):
        load_cloudtrail(tmp_path, cache=tmp_path / "cache")
    assert not (tmp_path / "cache").exists()


def test_default_cache_folder_is_outside_and_configurable(tmp_path, monkeypatch):
    evidence = tmp_path / "evidence"
    make_trail(evidence)
    monkeypatch.setenv("FORENSICS_CACHE_DIR", str(tmp_path / "elsewhere"))
    first = load_cloudtrail(evidence, cache=True)
    assert str(tmp_path / "elsewhere") in first.report.cache
    assert load_cloudtrail(evidence, cache=True).report.cache.startswith("hit")
    assert load_cloudtrail(evidence).report.cache == "off"


def test_manifest_records_whether_event_ids_are_distinct(tmp_path):
    """A hit skips the duplicate check only when the stored rows were checked distinct."""
    with_copies, clean, cache = tmp_path / "copies", tmp_path / "clean", tmp_path / "cache"
    make_trail(with_copies)  # every file also holds the record "dup"
    write_log(clean, "20240314T0059Z", [record(f"c{i}", "2024-03-14T00:10:00Z") for i in range(5)], unique="C0")
    for evidence, distinct, dropped in ((with_copies, False, 3), (clean, True, 0)):
        cold = load_cloudtrail(evidence, cache=cache)
        manifests = [json.loads(p.read_text()) for p in (cache / "cloudtrail").glob("*/manifest.json")]
        (manifest,) = [m for m in manifests if m["source"] == str(evidence)]
        assert manifest["distinct_ids"] is distinct
        hot = load_cloudtrail(evidence, cache=cache)
        assert hot.report.cache.startswith("hit")
        pd.testing.assert_frame_equal(hot.events, cold.events)
        assert hot.report.duplicates_dropped == cold.report.duplicates_dropped == dropped
