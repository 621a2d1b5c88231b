"""Benchmark: how many products a second the polling round's download code can put in place.

The workflow benchmark (`hyp3_workflow.py`) runs the sandbox on the same cores as insarflow, so
at 10,000 pairs its rendering and serving compete with the client. This one takes the
stand-in's rendering out: it submits ``--pairs`` jobs to a sandbox that renders ahead, waits
until every product is rendered, and only then times what a polling round runs for each
succeeded job (download, size and CRC check, unpack, record, rename into place) the way a round runs it: `insarflow.hyp3.run.ProductStager`, with ``--threads``
download threads (``max_downloads``) and as many that unpack and place.

Goal: faster than the jobs succeed in the 10,000-pair workflow benchmark (10,000 jobs over about
70 s, so at least 143 products a second).

Usage: python benchmarks/hyp3_capacity.py [--pairs 2000] [--threads 4]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "benchmarks"))

import hyp3_sdk  # noqa: E402
import psutil  # noqa: E402
from hyp3.conftest import start_sandbox, stop  # noqa: E402
from hyp3_workflow import JOB_OPTIONS, cpu_seconds, network, synthetic_scenes  # noqa: E402

from insarflow.hyp3.run import ProductStager  # noqa: E402
from insarflow.paths import Hyp3State  # noqa: E402

GOAL_PER_SECOND = 10_000 / 70
RENDER_WAIT_S = 600


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=4, help="hyp3.max_downloads")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="insarflow-capacity-"))
    sandbox = start_sandbox(
        work / "sandbox", "--processing-seconds", "1", "--credits", "100000000", "--render-ahead"
    )
    try:
        api = hyp3_sdk.HyP3(sandbox.url, token="sandbox-token")
        pairs = network(synthetic_scenes(args.pairs // 10 + 11), 10, args.pairs)
        prepared = [
            api.prepare_insar_job(a, b, name=f"capacity-{i}", **JOB_OPTIONS)
            for i, (a, b) in enumerate(pairs)
        ]
        for start in range(0, len(prepared), 200):
            api.submit_prepared_jobs(prepared[start : start + 200])
        server = psutil.Process(sandbox.process.pid)
        deadline = time.monotonic() + RENDER_WAIT_S
        rendered = 0
        while rendered < len(pairs) and time.monotonic() < deadline:
            time.sleep(2)
            rendered = sum(1 for _ in (work / "sandbox" / "products").glob("*/*.zip"))
        if rendered < len(pairs):
            sys.exit(f"the sandbox rendered {rendered} of {len(pairs)} products in time")
        jobs = [job.to_dict() for job in api.find_jobs()]
        jobs = [job for job in jobs if job["status_code"] == "SUCCEEDED"]

        os.chdir(work)  # products are staged under ./.insarflow, as in a workflow run
        settings = {"skip_existing": True, "keep_zips": False, "request_timeout": 60}
        stager = ProductStager(
            settings,
            "capacity",
            work / "results" / "capacity",
            Hyp3State(work / "state"),
            args.threads,
        )
        usage = resource.getrusage(resource.RUSAGE_SELF)
        client_before = usage.ru_utime + usage.ru_stime
        server_before = cpu_seconds(server)
        started = time.monotonic()
        for job in jobs:
            stager.start_record(
                {
                    "pair": job["job_id"],
                    "account": "capacity",
                    "job_id": job["job_id"],
                    "files": job["files"],
                    "expiration_time": job["expiration_time"],
                }
            )
        placed, failed = stager.finish()
        if failed or len(placed) != len(jobs):
            sys.exit(f"{len(failed)} product(s) failed: {next(iter(failed.values()), '')}")
        wall = time.monotonic() - started
        usage = resource.getrusage(resource.RUSAGE_SELF)
        client = usage.ru_utime + usage.ru_stime - client_before
        served = cpu_seconds(server) - server_before
    finally:
        stop(sandbox.process)

    rate = len(jobs) / wall
    verdict = "MET" if rate >= GOAL_PER_SECOND else "MISSED"
    print(f"products placed                 {len(jobs)} with {args.threads} threads")
    print(
        f"rate                            {rate:.0f} products/s "
        f"(goal >= {GOAL_PER_SECOND:.0f}/s, the 10,000-pair success rate)  {verdict}"
    )
    print(f"client CPU per product          {1000 * client / len(jobs):.1f} ms")
    print(f"sandbox CPU per product         {1000 * served / len(jobs):.1f} ms (serving only)")
    return 0 if verdict == "MET" else 1


if __name__ == "__main__":
    sys.exit(main())
