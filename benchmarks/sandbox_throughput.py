"""Benchmark the HyP3 sandbox: is it ever the bottleneck of a workflow run?

Starts ``python -m insarflow.sandbox`` as its own process (so client and server do not share a
GIL), stores 10,000 jobs through hyp3_sdk (50 POSTs of 200), times a full ``find_jobs`` listing
(checking every job comes back exactly once across the pages), then drives a mix of API requests
from several client threads for a fixed time and reports requests per second and latencies.

    /work/venv/bin/python benchmarks/sandbox_throughput.py [--jobs 10000] [--seconds 10]

Goal: the listing pages correctly and the server sustains >= 200 API requests/s on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import random
import select
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import hyp3_sdk
import requests

TOKEN = "sandbox-token"


def scene(day: date) -> str:
    cycles = (day - date(2017, 1, 1)).days // 12
    return (
        f"S1A_IW_SLC__1SDV_{day:%Y%m%d}T014512_{day:%Y%m%d}T014539_"
        f"{14000 + 175 * cycles:06d}_{cycles:06X}_{cycles % 65536:04X}"
    )


def job(index: int) -> dict:
    first = date(2017, 1, 1) + timedelta(days=12 * (index % 600))
    gap = 12 * (1 + index // 600 % 5)
    return {
        "job_type": "INSAR_GAMMA",
        "name": f"bench-{index % 50}",
        "job_parameters": {
            "granules": [scene(first), scene(first + timedelta(days=gap))],
            "looks": "20x4",
            "include_dem": index % 2 == 0,
        },
    }


def start_sandbox(state: Path) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "insarflow.sandbox",
            "--port",
            "0",
            "--state",
            str(state),
            "--processing-seconds",
            "0",
            "--credits",
            "unlimited",
            "--page-size",
            "100",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    ready, _, _ = select.select([process.stdout], [], [], 60)
    if not ready:
        process.kill()
        raise SystemExit("the sandbox did not start")
    return process, process.stdout.readline().strip()


def fill(hyp3: hyp3_sdk.HyP3, count: int) -> float:
    started = time.perf_counter()
    for offset in range(0, count, 200):
        hyp3.submit_prepared_jobs([job(i) for i in range(offset, min(offset + 200, count))])
    return time.perf_counter() - started


def load(base_url: str, job_ids: list[str], seconds: float, threads: int) -> dict[str, list[float]]:
    """Mixed API traffic like a workflow's: job refreshes, filtered pages, user and costs."""
    latencies: dict[str, list[float]] = {}
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds
    mix = [("GET /jobs/{job_id}", 6), ("GET /jobs?name=", 2), ("GET /user", 1), ("GET /costs", 1)]
    kinds = [kind for kind, weight in mix for _ in range(weight)]

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {TOKEN}"
        mine: dict[str, list[float]] = {kind: [] for kind, _ in mix}
        while time.perf_counter() < deadline:
            kind = rng.choice(kinds)
            if kind == "GET /jobs/{job_id}":
                url = f"{base_url}/jobs/{rng.choice(job_ids)}"
            elif kind == "GET /jobs?name=":
                url = f"{base_url}/jobs?name=bench-{rng.randrange(50)}"
            elif kind == "GET /user":
                url = f"{base_url}/user"
            else:
                url = f"{base_url}/costs"
            started = time.perf_counter()
            response = session.get(url, timeout=30)
            elapsed = time.perf_counter() - started
            response.raise_for_status()
            mine[kind].append(elapsed)
        with lock:
            for kind, values in mine.items():
                latencies.setdefault(kind, []).extend(values)

    workers = [threading.Thread(target=worker, args=(seed,)) for seed in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    return latencies


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    os.environ["NO_PROXY"] = "127.0.0.1,localhost"

    with tempfile.TemporaryDirectory(prefix="sandbox-bench-") as state:
        process, base_url = start_sandbox(Path(state))
        try:
            hyp3 = hyp3_sdk.HyP3(api_url=base_url, token=TOKEN)
            fill_s = fill(hyp3, args.jobs)
            print(
                f"submitted {args.jobs} jobs in {fill_s:.1f} s "
                f"({args.jobs / 200:.0f} POSTs of 200: {fill_s / (args.jobs / 200) * 1000:.0f} ms each)"
            )

            requests.post(f"{base_url}/_sandbox/stats/reset", timeout=10)
            started = time.perf_counter()
            listing = hyp3.find_jobs()
            list_s = time.perf_counter() - started
            pages = requests.get(f"{base_url}/_sandbox/stats", timeout=10).json()["requests"]
            ids = [listing_job.job_id for listing_job in listing]
            ok = len(ids) == args.jobs and len(set(ids)) == args.jobs
            print(
                f"full find_jobs listing: {len(ids)} jobs ({len(set(ids))} distinct) in "
                f"{pages['GET /jobs']} pages, {list_s:.2f} s "
                f"({list_s / pages['GET /jobs'] * 1000:.0f} ms a page incl. client parsing)"
                + ("" if ok else "  <-- WRONG")
            )

            latencies = load(base_url, ids, args.seconds, args.threads)
            total = sum(len(values) for values in latencies.values())
            print(
                f"mixed API load, {args.threads} client threads for {args.seconds:.0f} s: "
                f"{total / args.seconds:.0f} requests/s"
            )
            for kind, values in latencies.items():
                print(
                    f"  {kind:20s} {len(values) / args.seconds:6.0f}/s  "
                    f"median {statistics.median(values) * 1000:5.1f} ms  "
                    f"p95 {percentile(values, 0.95) * 1000:5.1f} ms"
                )
            rate = total / args.seconds
            print("goal >= 200 requests/s:", "met" if rate >= 200 and ok else "NOT met")
            return 0 if rate >= 200 and ok else 1
        finally:
            process.terminate()
            process.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
