"""Benchmark: N pairs (default 1,000) through the HyP3 path against the sandbox.

Runs the real workflow (Snakemake CLI, real hyp3_sdk) in a temporary work dir against a
sandbox process on loopback, then prints:

- POSTs (goal: ceil(pairs / chunk size)),
- polling rounds and list requests per round per account (goal: at most ceil(jobs in the
  polled window / page size), never one request per job), GETs of single jobs,
- total API requests, downloads,
- wall time; Snakemake's own overhead (dry-run time, and a rerun with nothing to do);
- how soon downloads start after a job succeeds (median and max seconds).

Usage: python benchmarks/hyp3_workflow.py [--pairs 1000] [--chunk 200] [--processing-seconds 20]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=1000)
    parser.add_argument("--chunk", type=int, default=200)
    parser.add_argument("--processing-seconds", type=float, default=20)
    parser.add_argument("--poll-interval", type=float, default=2)
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
        finally:
            stop(sandbox.process)

        requests = stats["requests"]
        page_size = stats.get("page_size", 100)
        rounds = []
        # Polling rounds of the waiters, plus the final status table's one refresh.
        for log in [
            *(work / "logs" / "hyp3" / "wait").glob("*.log"),
            work / "logs" / "hyp3" / "summary.log",
        ]:
            rounds += [
                int(m)
                for m in re.findall(
                    r"polled account \S+: (\d+) job\(s\) in window", log.read_text()
                )
            ]
        list_requests = requests.get("GET /jobs", 0)
        lookups = 0  # name lookups after ambiguous POSTs (none in a clean run)
        allowed = sum(max(1, math.ceil(n / page_size)) for n in rounds)
        ledger = [
            json.loads(line)
            for line in (work / ".insarflow/hyp3/ledger.jsonl").read_text().splitlines()
        ]
        delays = []
        for finished in (work / "results/hyp3/finished").glob("*.json"):
            job = json.loads(finished.read_text())
            done = datetime.fromisoformat(job["request_time"]) + timedelta(
                seconds=args.processing_seconds
            )
            log = (work / "logs/hyp3/download" / finished.name.replace(".json", ".log")).read_text()
            first = datetime.fromisoformat(log.split(" INFO ")[0].split(",")[0]).astimezone()
            delays.append((first - done.astimezone()).total_seconds())

        print(f"pairs                         {len(pairs)}")
        print(
            f"POSTs                         {requests.get('POST /jobs', 0)} (goal {math.ceil(len(pairs) / args.chunk)})"
        )
        print(f"polling rounds                {len(rounds)}")
        print(
            f"list requests (GET /jobs)     {list_requests} (goal <= {allowed + lookups}: ceil(window/page) per round)"
        )
        print(f"max jobs in a polled window   {max(rounds, default=0)} (page size {page_size})")
        print(f"single-job GETs               {requests.get('GET /jobs/{job_id}', 0)}")
        print(
            f"total API requests            {sum(v for k, v in requests.items() if not k.startswith('GET /products'))}"
        )
        print(
            f"downloads                     {sum(v for k, v in requests.items() if 'product' in k.lower())}"
        )
        print(f"ledger events                 {len(ledger)}")
        print(
            f"wall time                     {wall:.1f} s (job processing {args.processing_seconds:g} s)"
        )
        print(f"snakemake dry run             {dry:.1f} s")
        print(f"snakemake rerun, nothing to do {noop:.1f} s")
        if delays:
            print(
                f"download start after SUCCEEDED median {statistics.median(delays):.1f} s, max {max(delays):.1f} s"
            )


if __name__ == "__main__":
    main()
