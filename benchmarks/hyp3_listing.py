"""Benchmark: the client's CPU per job when a polling round lists the window (issue 16).

HyP3 has no "changed since" filter, so every poll lists every job in the window; at 10,000
pairs that listing is the part of the CPU per pair that grows with the pair count. This submits
``--pairs`` jobs to a sandbox, waits until all succeeded, then lists them with the client as
insarflow configures it (``insarflow.hyp3.client.connect``: hyp3_sdk's ``find_jobs``, the
hardened session, orjson, and the garbage collector as a polling round sets it up:
``collect_less_while_listing``) and prints the best of ``--repeats`` listings: the client's
CPU per job listed, the requests a listing took, its wall time and the sandbox's CPU. It also decodes one
page with the standard library's json and with orjson.

Goal: at most 15 µs of the client's CPU per job listed, the figure of the README's cost model.
``--page-size 100`` shows the sandbox's earlier pages of 100 jobs (HyP3's pages are 1 MB);
``--default-collector`` leaves Python's garbage collector as it is.

Usage: python benchmarks/hyp3_listing.py [--pairs 10000] [--page-size N] [--repeats 5]
       [--default-collector]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "benchmarks"))

import orjson  # noqa: E402
import psutil  # noqa: E402
import requests  # noqa: E402
from hyp3.conftest import start_sandbox, stop  # noqa: E402
from hyp3_workflow import JOB_OPTIONS, cpu_seconds, network, synthetic_scenes  # noqa: E402

from insarflow.hyp3.client import connect  # noqa: E402
from insarflow.hyp3.credentials import Account  # noqa: E402
from insarflow.hyp3.watch import collect_less_while_listing  # noqa: E402

GOAL_US_PER_JOB = 15.0


def best_cpu_per_call(call, repeats: int) -> float:
    """The least CPU seconds of this process over ``repeats`` calls of ``call``."""
    best = float("inf")
    for _ in range(repeats):
        started = time.process_time()
        call()
        best = min(best, time.process_time() - started)
    return best


def decode_seconds(decode, body: bytes, times: int = 50) -> float:
    """Process CPU seconds of one decode of ``body``, the mean of ``times``."""
    started = time.process_time()
    for _ in range(times):
        decode(body)
    return (time.process_time() - started) / times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=10_000)
    parser.add_argument("--page-size", type=int, default=None, help="cap a page at N jobs")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--default-collector", action="store_true", help="Python's default GC thresholds"
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="insarflow-listing-"))
    options = ["--processing-seconds", "1", "--credits", "unlimited"]
    if args.page_size:
        options += ["--page-size", str(args.page_size)]
    sandbox = start_sandbox(work / "sandbox", *options)
    try:
        api = connect(sandbox.url, Account(name="bench", token="sandbox-token"), 120)
        pairs = network(synthetic_scenes(args.pairs // 10 + 11), 10, args.pairs)
        for start in range(0, len(pairs), 200):
            chunk = pairs[start : start + 200]
            api.submit_prepared_jobs(
                [api.prepare_insar_job(a, b, name="listing", **JOB_OPTIONS) for a, b in chunk]
            )
        while not all(job.status_code == "SUCCEEDED" for job in api.find_jobs()):
            time.sleep(1)
        server = psutil.Process(sandbox.process.pid)
        if not args.default_collector:
            collect_less_while_listing()
        requests_before = _list_requests(sandbox.url)
        server_before, started = cpu_seconds(server), time.monotonic()
        client = best_cpu_per_call(api.find_jobs, args.repeats)
        wall = (time.monotonic() - started) / args.repeats
        server_cpu = (cpu_seconds(server) - server_before) / args.repeats
        per_listing = (_list_requests(sandbox.url) - requests_before) / args.repeats
        page = api.session.get(f"{sandbox.url}/jobs", timeout=120).content
        jobs_on_page = len(json.loads(page)["jobs"])
        stdlib, fast = (
            decode_seconds(decode, page) / jobs_on_page for decode in (json.loads, orjson.loads)
        )
    finally:
        stop(sandbox.process)

    per_job = client / args.pairs * 1e6
    verdict = "met" if per_job <= GOAL_US_PER_JOB else "NOT met"
    pages = f"pages of at most {args.page_size} jobs" if args.page_size else "pages of 1 MB"
    collector = "Python's default" if args.default_collector else "a polling round's"
    print(
        f"listing {args.pairs} succeeded jobs, {pages}, {collector} garbage collector, "
        f"best of {args.repeats}:"
    )
    print(
        f"  client CPU per job listed   {per_job:.1f} µs (goal <= {GOAL_US_PER_JOB:g} µs: {verdict})"
    )
    print(f"  client CPU per listing      {client:.2f} s")
    print(f"  list requests per listing   {per_listing:.0f}")
    print(f"  wall time per listing       {wall:.2f} s (sandbox CPU {server_cpu:.2f} s)")
    print(
        f"  decoding a page of {jobs_on_page} jobs   json {stdlib * 1e6:.1f} µs a job, "
        f"orjson {fast * 1e6:.1f} µs a job"
    )
    return 0 if per_job <= GOAL_US_PER_JOB else 1


def _list_requests(url: str) -> int:
    stats = requests.get(f"{url}/_sandbox/stats", timeout=30).json()
    return int(stats["requests"].get("GET /jobs", 0))


if __name__ == "__main__":
    sys.exit(main())
