"""Decoding in worker processes gives exactly what one process gives."""

from __future__ import annotations

import gzip
import json

import pandas as pd

from cloudtrail_builders import log_path, record, write_log
from forensics import load_cloudtrail
from forensics.cloudtrail import _chunks
from forensics.reader import FileRef


def test_parallel_equals_serial_including_bad_files(tmp_path):
    for f in range(12):
        recs = [record(f"f{f}-{i}", f"2024-03-14T{f:02d}:{i:02d}:00Z", region=["us-east-1", "eu-west-1"][f % 2]) for i in range(40)]
        recs.append(record("dup", "2024-03-14T00:00:30Z"))
        if f == 5:
            recs.append("not an object")
        write_log(tmp_path, f"20240314T{f:02d}59Z", recs, unique=f"U{f}")
    log_path(tmp_path, "20240314T1300Z", unique="E").write_bytes(b"")
    truncated = gzip.compress(json.dumps({"Records": [record(f"t{i}", "2024-03-14T12:00:00Z") for i in range(50)]}).encode())
    log_path(tmp_path, "20240314T1301Z", unique="T").write_bytes(truncated[: len(truncated) // 2])
    serial = load_cloudtrail(tmp_path, workers=1)
    parallel = load_cloudtrail(tmp_path, workers=2)
    pd.testing.assert_frame_equal(parallel.events, serial.events)
    pd.testing.assert_frame_equal(parallel.report.files, serial.report.files)
    pd.testing.assert_frame_equal(parallel.report.issues, serial.report.issues)
    pd.testing.assert_frame_equal(parallel.report.duplicates, serial.report.duplicates)
    assert parallel.report.summary().equals(serial.report.summary())
    assert serial.report.records_rejected == 1 and serial.report.duplicates_dropped == 11


def test_chunks_are_consecutive_and_cover_every_file():
    sizes = [10, 1000, 10, 10, 500, 10, 10, 10]
    refs = [FileRef(n, f"/evidence/{n}.json", f"{n}.json") for n in range(len(sizes))]
    chunks = _chunks(refs, sizes, 4)
    assert [r.number for chunk in chunks for r in chunk] == list(range(8))
    assert 2 <= len(chunks) <= 4 and all(chunks)


def test_broken_workers_fall_back_to_this_process_and_say_so(tmp_path):
    """A script without a main guard, in a process with threads, breaks its worker pool:
    the load still completes in-process, and the report's notes say why."""
    import subprocess
    import sys

    for f in range(4):
        write_log(tmp_path / "evidence", f"20240314T{f:02d}59Z", [record(f"e{f}-{i}", f"2024-03-14T{f:02d}:{i:02d}:00Z") for i in range(5)], unique=f"U{f}")
    script = tmp_path / "unguarded.py"
    script.write_text(
        "import threading, time\n"
        "threading.Thread(target=time.sleep, args=(60,), daemon=True).start()  # like a notebook kernel\n"
        "from forensics import load_cloudtrail\n"
        f"result = load_cloudtrail({str(tmp_path / 'evidence')!r}, workers=2, progress=False)\n"
        "print(len(result.events))\n"
        "print(result.report.notes)\n"
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    count, notes = done.stdout.strip().splitlines()[-2:]
    assert count == "20"
    assert "worker processes failed" in notes and "__main__" in notes
