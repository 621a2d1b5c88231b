"""Benchmark: N pairs (default 1,000) through the HyP3 path against the sandbox.

Runs the real workflow (Snakemake CLI, real hyp3_sdk) in a temporary work dir against a
sandbox process on loopback, then prints:

- POSTs (goal: ceil(pairs / chunk size)),
- polling rounds and list requests per round per account (goal: at most ceil(jobs in the
  polled window / page size), never one request per job), GETs of single jobs,
- total API requests, downloads,
- how soon each download starts after its job succeeded (median, p90, max), and how many
  split into polling (success -> end of the round that saw it) and scheduling (round end ->
  download start); and how many download slot-seconds (``hyp3.max_downloads`` slots) sat idle
  while a product known to have succeeded waited: when every job succeeds at the same
  moment, later downloads must queue for a slot, and the idle share shows the scheduling
  overhead between downloads;
- wall time; Snakemake's own overhead (dry-run time, and a rerun with nothing to do).

``--processing-spread S`` makes jobs finish spread over S seconds, as on the real HyP3.

Usage: python benchmarks/hyp3_workflow.py [--pairs 1000] [--chunk 200] [--processing-seconds 20]
       [--processing-spread 0] [--poll-interval 2] [--max-workers 4] [--cores 2]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from hyp3.conftest import start_sandbox, stop  # noqa: E402

from insarflow.pairs import relative_orbit  # noqa: E402


def synthetic_scenes(count: int) -> list[str]:
    """Scene names on one track, 12 days apart (valid names, realistic structure)."""
    start = datetime(2017, 1, 3, 14, 2, 11)
    names = []
    for index in range(count):
        t0 = start + timedelta(days=12 * index, seconds=index % 3)
        orbit = 14600 + 175 * index
        names.append(
            f"S1A_IW_SLC__1SDV_{t0:%Y%m%dT%H%M%S}_{t0 + timedelta(seconds=27):%Y%m%dT%H%M%S}_"
            f"{orbit:06d}_{0x017A00 + index:06X}_{(0x1000 + index * 7) % 0xFFFF:04X}"
        )
    assert len({relative_orbit("S1A", int(name.split("_")[7])) for name in names}) == 1
    return names


def network(names: list[str], connections: int, limit: int) -> list[tuple[str, str]]:
    pairs = [
        (names[i], names[j])
        for i in range(len(names))
        for j in range(i + 1, min(i + 1 + connections, len(names)))
    ]
    return pairs[:limit]


def run(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.monotonic()
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{result.stderr[-4000:]}")
    return time.monotonic() - started


def log_times(path: Path) -> tuple[datetime, datetime]:
    """First and last timestamp of a job log (``2026-01-01 12:00:00,123 LEVEL ...`` lines)."""
    stamps = [
        datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").astimezone()
        for line in path.read_text().splitlines()
        if re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ", line)
    ]
    return stamps[0], stamps[-1]


def idle_slot_seconds(
    done: dict[str, datetime], spans: dict[str, tuple[datetime, datetime]], slots: int
) -> tuple[float, float]:
    """Download slot-seconds left idle while a known-succeeded product waited, and slot-seconds
    in those moments. ``done``: when the workflow knew the job had succeeded (its round ended).

    Sampled every 0.05 s from the first success to the last download start.
    """
    step = 0.05
    t = min(done.values())
    end = max(start for start, _ in spans.values())
    idle = busy = 0.0
    while t < end:
        backlog = sum(1 for pair, at in done.items() if at <= t and spans[pair][0] > t)
        active = sum(1 for start, stop in spans.values() if start <= t < stop)
        if backlog:
            idle += max(0, slots - active) * step
            busy += slots * step
        t += timedelta(seconds=step)
    return idle, busy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=1000)
    parser.add_argument("--chunk", type=int, default=200)
    parser.add_argument("--processing-seconds", type=float, default=20)
    parser.add_argument(
        "--processing-spread",
        type=float,
        default=0,
        help="jobs take up to this many seconds longer (spread by job id); 0: all alike",
    )
    parser.add_argument("--poll-interval", type=float, default=2)
    parser.add_argument("--max-workers", type=int, default=4, help="hyp3.max_downloads")
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args()

    scenes_needed = args.pairs // 10 + 11
    pairs = network(synthetic_scenes(scenes_needed), 10, args.pairs)
    with tempfile.TemporaryDirectory(prefix="insarflow-bench-") as tmp:
        root = Path(tmp)
        sandbox = start_sandbox(
            root / "sandbox",
            "--processing-seconds",
            str(args.processing_seconds),
            "--processing-spread",
            str(args.processing_spread),
            "--credits",
            "unlimited",
        )
        try:
            work = root / "work"
            (work / "config").mkdir(parents=True)
            (work / "config" / "pairs.tsv").write_text(
                "reference\tsecondary\n" + "".join(f"{a}\t{b}\n" for a, b in pairs)
            )
            config = {
                "processor": "hyp3",
                "pairs": "config/pairs.tsv",
                "hyp3": {
                    "api_url": sandbox.url,
                    "submission_chunk_size": args.chunk,
                    "poll_interval": args.poll_interval,
                    "max_downloads": args.max_workers,
                    "include_dem": False,
                    "include_look_vectors": False,
                    "include_inc_map": False,
                    "include_displacement_maps": False,
                },
            }
            (work / "config" / "config.yaml").write_text(yaml.safe_dump(config))
            env = {
                **os.environ,
                "EARTHDATA_TOKEN": "sandbox-token",
                "NO_PROXY": "127.0.0.1,localhost",
            }
            snakemake = [
                str(Path(sys.executable).with_name("snakemake")),
                "--snakefile",
                str(REPO / "Snakefile"),
                "--profile",
                str(REPO / "profiles" / "local"),
                "--cores",
                str(args.cores),
            ]
            dry = run([*snakemake, "-n", "--quiet"], work, env)
            wall = run(snakemake, work, env)
            noop = run(snakemake, work, env)
            stats = sandbox.stats()
            jobs = {job["job_id"]: job for job in sandbox.jobs()}
        finally:
            stop(sandbox.process)

        requests = stats["requests"]
        page_size = stats.get("page_size", 100)
        listings = []
        # Every listing of the polling rounds, plus the final status table's one refresh.
        for log in [*(work / "logs/hyp3/watch").rglob("*.log"), work / "logs/hyp3/summary.log"]:
            listings += [
                int(m)
                for m in re.findall(
                    r"polled account \S+: (\d+) job\(s\) in window", log.read_text()
                )
            ]
        list_requests = requests.get("GET /jobs", 0)
        allowed = sum(max(1, math.ceil(n / page_size)) for n in listings)
        ledger = [
            json.loads(line)
            for line in (work / ".insarflow/hyp3/ledger.jsonl").read_text().splitlines()
        ]
        rounds = len(list((work / "results/hyp3/watch").rglob("round-*.json")))

        # When each job succeeded on the sandbox's clock (request_time has whole seconds, so
        # this is exact to about a second), and when its download job logged its first line.
        pending = args.processing_seconds / 5
        done: dict[str, datetime] = {}
        spans: dict[str, tuple[datetime, datetime]] = {}
        for finished in (work / "results/hyp3/finished").glob("*/*.json"):
            pair = finished.stem
            job = jobs[json.loads(finished.read_text())["job_id"]]
            done[pair] = (
                datetime.fromisoformat(job["request_time"])
                + timedelta(seconds=pending + job["processing_times"][0])
            ).astimezone()
            spans[pair] = log_times(work / "logs/hyp3/download" / f"{pair}.log")
        # When the polling round that saw each job succeed ended (its log's last line).
        detected: dict[str, datetime] = {}
        for round_file in (work / "results/hyp3/watch").rglob("round-*.json"):
            log = work / "logs/hyp3/watch" / round_file.parent.name / f"{round_file.stem}.log"
            ended = log_times(log)[1]
            detected.update(dict.fromkeys(json.loads(round_file.read_text())["succeeded"], ended))
        lags = sorted((spans[pair][0] - done[pair]).total_seconds() for pair in done)
        noticed = sorted((detected[pair] - done[pair]).total_seconds() for pair in done)
        started = sorted((spans[pair][0] - detected[pair]).total_seconds() for pair in done)
        idle, slot_time = idle_slot_seconds(detected, spans, args.max_workers)
        first_done, last_done = min(done.values()), max(done.values())

        def row(label: str, value: object) -> None:
            print(f"{label:<44}{value}")

        row("pairs", len(pairs))
        row("POSTs", f"{requests.get('POST /jobs', 0)} (goal {math.ceil(len(pairs) / args.chunk)})")
        row("polling rounds (checkpoint jobs)", rounds)
        row("listings (find_jobs calls)", len(listings))
        row("list requests (GET /jobs)", f"{list_requests} (goal <= {allowed}: ceil(window/page))")
        row("max jobs in a polled window", f"{max(listings, default=0)} (page size {page_size})")
        row("single-job GETs", requests.get("GET /jobs/{job_id}", 0))
        row(
            "total API requests",
            sum(v for k, v in requests.items() if not k.startswith("GET /products")),
        )
        row("downloads", sum(v for k, v in requests.items() if "product" in k.lower()))
        row("ledger events", len(ledger))
        row("jobs succeeded over", f"{(last_done - first_done).total_seconds():.0f} s")
        row(
            "download start after SUCCEEDED",
            f"median {statistics.median(lags):.1f} s, p90 {lags[int(0.9 * (len(lags) - 1))]:.1f} s,"
            f" max {lags[-1]:.1f} s",
        )
        row(
            "  of which polling (SUCCEEDED -> round end)",
            f"median {statistics.median(noticed):.1f} s, max {noticed[-1]:.1f} s",
        )
        row(
            "  of which scheduling (round end -> start)",
            f"median {statistics.median(started):.1f} s, max {started[-1]:.1f} s",
        )
        row(
            "idle download slots while products waited",
            f"{idle:.1f} of {slot_time:.1f} slot-seconds ({100 * idle / max(slot_time, 1e-9):.0f}%)",
        )
        row(
            "wall time",
            f"{wall:.1f} s (each job takes {args.processing_seconds:g} s"
            f" + up to {args.processing_spread:g} s)",
        )
        row("snakemake dry run", f"{dry:.1f} s")
        row("snakemake rerun, nothing to do", f"{noop:.1f} s")


if __name__ == "__main__":
    main()
