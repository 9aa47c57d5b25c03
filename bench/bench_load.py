"""Benchmark: loading CloudTrail into the events frame, as ratios against baselines measured in the same run.

Every measurement runs in a fresh Python process (so peak RSS is its own) on data this
script generates deterministically (``bench/gen_trail.py``, seed 42). Times are
in-process seconds from the first file open to the finished frame (imports excluded),
the median of ``--repeat`` interleaved rounds (each approach once per round, so a slow
spell of the machine hits every row alike).

    python bench/bench_load.py                   # 100k events, quick
    python bench/bench_load.py --events 1000000  # the README table
    python bench/bench_load.py --scale 10000000  # the 10M memory check (slow)

Rows:
  naive          gzip + json.load per file + pd.json_normalize of every record, then select the columns
  research design  the research's best design (perf-baseline.md g'/f''; research_loader.py): 24 columns,
                 msgspec -> Arrow -> pandas, no categoricals, sorting, duplicate check or tolerance
  fast, 2 cores  load_cloudtrail(workers=2)
  fast, 1 core   load_cloudtrail(workers=1)
  msgspec only   load_cloudtrail(workers=1, and 2) without the C decoder (FORENSICS_DECODER=python)
  fast path only load_cloudtrail(workers=1) with the C decoder alone, no fallback (clean data)
  cache hit      load_cloudtrail(cache=...) on unchanged files
  parquet read   pd.read_parquet of the cached table's columns (the floor for a cache hit)
  window 2h/30d  load_cloudtrail(start, end) of 2 hours out of a 30-day trail (files opened vs all)
Results are printed as a table and written to bench/results/load.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

WINDOW = ("2024-03-15T10:00:00Z", "2024-03-15T12:00:00Z")  # inside the 30-day trail


# ---------------------------------------------------------------- measurements (child side)


def measure(kind: str, data: str, cache: str) -> dict[str, object]:
    """Run one measurement in this process and return its figures."""
    import pandas as pd

    import forensics
    from forensics import ctbuilder, records

    if kind == "naive":
        return _naive(data)
    if kind.startswith("research"):
        import research_loader

        start = time.perf_counter()
        frame = research_loader.load(data, workers=2 if kind == "research2" else 1)
        seconds = time.perf_counter() - start
        return {"seconds": seconds, "events": len(frame), "frame_bytes": int(frame.memory_usage(deep=True).sum())}
    if kind == "parquet":
        import pyarrow.parquet  # noqa: F401  (imports excluded, as for the loader)

        parquet = next(Path(cache).rglob("events.parquet"))
        start = time.perf_counter()
        frame = pd.read_parquet(parquet)
        seconds = time.perf_counter() - start
        return {"seconds": seconds, "events": len(frame), "frame_bytes": int(frame.memory_usage(deep=True).sum())}
    if kind == "fastpath":
        import forensics.reader

        def declined(data: bytes, *, damaged: str = "") -> records.Decoded:
            raise RuntimeError("the fast-path row needs a clean trail and the C decoder")

        forensics.reader.decode = declined  # the same pipeline with no fallback: every file must go to the builder
    if kind.startswith("msgspec"):
        ctbuilder._ctdecode = None  # as FORENSICS_DECODER=python does
    options: dict[str, object] = {"workers": 1, "progress": False}
    if kind in ("fast2", "msgspec2"):
        options["workers"] = 2
    if kind in ("cache_fill", "cache_hit"):
        options["cache"] = cache
    if kind == "window":
        options.update(start=WINDOW[0], end=WINDOW[1])
    load = forensics.load_cloudtrail  # resolves the lazy import before the clock starts (imports excluded)
    import pyarrow.parquet  # noqa: F401  (the cache reads Parquet; the baseline had it imported too)

    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # interpreter and libraries
    start = time.perf_counter()
    result = load(data, **options)
    seconds = time.perf_counter() - start
    files = result.report.files
    return {
        "seconds": seconds,
        "baseline_rss_mb": baseline,
        "events": len(result.events),
        "frame_bytes": int(result.events.memory_usage(deep=True).sum()),
        "files_opened": int((files["kind"].eq("log") & ~files["status"].eq("pruned")).sum()),
        "files_total": len(files),
        "cache": result.report.cache,
    }


def _naive(data: str) -> dict[str, object]:
    import gzip

    import pandas as pd

    from forensics.schema import COLUMNS

    start = time.perf_counter()
    recs: list[dict] = []
    for path in sorted(Path(data).rglob("*.json.gz")):
        with gzip.open(path) as handle:
            recs.extend(json.load(handle)["Records"])
    frame = pd.json_normalize(recs, sep=".")
    frame = frame[[c for c in COLUMNS if c in frame.columns]].copy()
    frame["eventTime"] = pd.to_datetime(frame["eventTime"], utc=True)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "events": len(frame), "frame_bytes": int(frame.memory_usage(deep=True).sum())}


# ------------------------------------------------------------------------- parent side


def run(kind: str, data: Path, cache: Path) -> dict[str, object]:
    """One fresh-process run of one measurement (rounds are combined by :func:`_median`)."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(data), str(cache)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def ensure(data: Path, events: int, days: float, per_file: tuple[int, int]) -> None:
    from gen_trail import generate

    marker = data / ".complete"
    if marker.exists():
        return
    started = time.perf_counter()
    counts = generate(data, events, seed=42, days=days, per_file=per_file)
    marker.write_text(json.dumps(counts))
    print(f"generated {counts} in {time.perf_counter() - started:.1f} s under {data}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description="CloudTrail loading benchmark (ratios in one run)")
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--naive-repeat", type=int, default=1)
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "forensics-bench")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "load.json")
    parser.add_argument("--scale", type=int, default=0, help="instead: load this many events once, report memory")
    parser.add_argument("--child", nargs=3, metavar=("KIND", "DATA", "CACHE"), help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        figures = measure(*args.child)
        figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(figures))
        return

    if args.scale:
        data = args.data / f"trail-{args.scale}"
        ensure(data, args.scale, days=max(1.0, args.scale / 1_000_000), per_file=(200, 2000))
        row = run("fast2", data, args.data / "cache-scale")
        row.update(date=time.strftime("%Y-%m-%d"), cpus=os.cpu_count(), note="peak_rss_mb is the parent's; workers are extra")
        (args.out.parent / "scale.json").write_text(json.dumps(row, indent=2))
        print(json.dumps(row, indent=2))
        return

    trail = args.data / f"trail-{args.events}"
    month = args.data / "month-100000"
    ensure(trail, args.events, days=max(1.0, args.events / 1_000_000), per_file=(200, 2000))
    ensure(month, 100_000, days=30, per_file=(5, 30))
    cache = args.data / f"cache-{args.events}"
    if cache.exists():
        import shutil

        shutil.rmtree(cache)

    # Interleaved rounds (every approach once per round, the median over rounds): this shared
    # machine drifts by tens of percent over minutes, and a slow spell then hits every row alike.
    specs = {
        "naive": ("naive", trail),
        "research design (24 columns), 2 cores": ("research2", trail),
        "research design (24 columns), 1 core": ("research1", trail),
        "fast, 2 cores": ("fast2", trail),
        "fast, 1 core": ("fast1", trail),
        "msgspec only, 2 cores": ("msgspec2", trail),
        "msgspec only, 1 core": ("msgspec1", trail),
        "fast path only, 1 core": ("fastpath", trail),
        "cache hit": ("cache_hit", trail),
        "parquet read": ("parquet", trail),
        "30 days, all": ("fast1", month),
        "30 days, 2h window": ("window", month),
    }
    run("cache_fill", trail, cache)
    runs: dict[str, list[dict[str, object]]] = {name: [] for name in specs}
    for round_ in range(args.repeat):
        for name, (kind, data) in specs.items():
            if kind != "naive" or round_ < args.naive_repeat:
                runs[name].append(run(kind, data, cache))
    rows = {name: _median(found) for name, found in runs.items()}

    naive = float(rows["naive"]["seconds"])  # type: ignore[arg-type]
    for row in rows.values():
        row["ratio_vs_naive"] = float(row["seconds"]) / naive  # type: ignore[arg-type]
        row["events_per_s"] = float(row["events"]) / float(row["seconds"])  # type: ignore[arg-type]
        row["bytes_per_event"] = float(row["frame_bytes"]) / max(1, int(row["events"]))  # type: ignore[arg-type]
    single = rows["fast, 1 core"]
    checks = {
        "cold 2 cores <= 0.06 x naive": rows["fast, 2 cores"]["ratio_vs_naive"],
        "cold 1 core <= 0.11 x naive": single["ratio_vs_naive"],
        "peak RSS (1 core) <= 2 x frame bytes": float(single["peak_rss_mb"]) * 2**20 / float(single["frame_bytes"]),
        "  the same above the interpreter and libraries (not a target)":
            (float(single["peak_rss_mb"]) - float(single["baseline_rss_mb"])) * 2**20 / float(single["frame_bytes"]),
        "frame bytes per event <= 300": single["bytes_per_event"],
        "fast 2 cores / research design 2 cores (36 vs 24 columns)":
            float(rows["fast, 2 cores"]["seconds"]) / float(rows["research design (24 columns), 2 cores"]["seconds"]),
        "fast 1 core / research design 1 core (36 vs 24 columns)":
            float(single["seconds"]) / float(rows["research design (24 columns), 1 core"]["seconds"]),
        "fast / msgspec only, 2 cores": float(rows["fast, 2 cores"]["seconds"]) / float(rows["msgspec only, 2 cores"]["seconds"]),
        "fast / msgspec only, 1 core": float(single["seconds"]) / float(rows["msgspec only, 1 core"]["seconds"]),
        "cache hit <= 1.5 x parquet read": float(rows["cache hit"]["seconds"]) / float(rows["parquet read"]["seconds"]),
        "tolerant / fast path only <= 1.05 (clean data)": float(single["seconds"]) / float(rows["fast path only, 1 core"]["seconds"]),
        "2h of 30 days: files opened / files in trail": f"{rows['30 days, 2h window']['files_opened']} / {rows['30 days, all']['files_opened']}",
    }  # fmt: skip
    result = {
        "events": args.events,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "date": time.strftime("%Y-%m-%d"),
        "rows": rows,
        "checks": checks,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=str))
    print(table(result))


def _median(runs: list[dict[str, object]]) -> dict[str, object]:
    """The first run's figures with the median seconds and the largest peak RSS of ``runs``."""
    row = dict(runs[0])
    row["seconds"] = statistics.median(float(r["seconds"]) for r in runs)  # type: ignore[arg-type]
    row["peak_rss_mb"] = max(float(r["peak_rss_mb"]) for r in runs)  # type: ignore[arg-type]
    row["runs"] = len(runs)
    return row


def table(result: dict) -> str:
    """The results as a Markdown table (the README shows it)."""
    lines = [
        f"{result['events']:,} events, {result['machine']['cpus']} cores, Python {result['machine']['python']}, {result['date']}",
        "",
        "| approach | s (median) | ratio vs naive | events/s | peak RSS MiB | bytes/event |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in result["rows"].items():
        lines.append(
            f"| {name} | {row['seconds']:.3f} | {row['ratio_vs_naive']:.3f} | {row['events_per_s']:,.0f} | "
            f"{row['peak_rss_mb']:,.0f} | {row['bytes_per_event']:.0f} |"
        )
    lines += ["", "| target | measured |", "|---|---|"]
    for name, value in result["checks"].items():
        lines.append(f"| {name} | {value:.3f} |" if isinstance(value, float) else f"| {name} | {value} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
