"""Running a C extension's tests again under AddressSanitizer and UBSan (bench/asan.sh), from a test."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


def run_sanitized(script: str, env: dict[str, str] | None = None) -> None:
    """Run ``bench/<script>`` with this interpreter and assert its tests passed.

    Skips where there is no gcc, or where gcc has no AddressSanitizer runtime.
    """
    if shutil.which("gcc") is None:
        pytest.skip("no gcc here")
    libasan = subprocess.run(["gcc", "-print-file-name=libasan.so"], capture_output=True, text=True).stdout.strip()
    if not os.path.isabs(libasan):  # gcc prints the bare name when it has no such library
        pytest.skip("gcc has no AddressSanitizer runtime here")
    done = subprocess.run(
        ["bash", str(BENCH / script), "-x"], env={**os.environ, "PY": sys.executable, **(env or {})},
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert " passed" in done.stdout and "failed" not in done.stdout
