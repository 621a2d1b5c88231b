"""Measure the test SLURM cluster's start time and the per-job cost of profiles/slurm.

    /work/venv/bin/python benchmarks/slurm_overhead.py [--jobs N]

Starts the cluster with scripts/slurm/slurm-up.sh (timed; stopped again at the end
if it was not already up), then runs a chain of N trivial rules through
`--profile profiles/slurm` and reports, per job: the wall time Snakemake needs, the
time the SLURM job itself runs (two Snakemake start-ups inside the allocation),
and the rest (submission plus status polling). Needs root.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SLURM_UP = REPO_ROOT / "scripts" / "slurm" / "slurm-up.sh"
SLURM_DOWN = REPO_ROOT / "scripts" / "slurm" / "slurm-down.sh"
PROFILE = REPO_ROOT / "profiles" / "slurm"
RUN_TIMEOUT_PER_JOB = 60


def chain_snakefile(length: int) -> str:
    rules = [f'rule all:\n    input:\n        "step{length}.txt",\n']
    for index in range(1, length + 1):
        needs = f'    input:\n        "step{index - 1}.txt",\n' if index > 1 else ""
        rules.append(
            f"rule step{index}:\n{needs}"
            f'    output:\n        "step{index}.txt",\n'
            f'    log:\n        "logs/step{index}.log",\n'
            f'    shell:\n        "echo $SLURM_JOB_ID > {{output}}"\n'
        )
    return "\n\n".join(rules)


def slurm_job_seconds(job_id: str) -> float:
    """Start-to-end seconds of a finished job (still listed for MinJobAge s)."""
    record = subprocess.run(
        ["scontrol", "show", "job", job_id], capture_output=True, text=True, timeout=20, check=True
    ).stdout
    start, end = (
        datetime.fromisoformat(re.search(rf"{key}=(\S+)", record).group(1))
        for key in ("StartTime", "EndTime")
    )
    return (end - start).total_seconds()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=4, help="length of the rule chain")
    parser.add_argument("--init-seconds", default="2", help="first status check delay")
    args = parser.parse_args()

    was_up = (
        shutil.which("scontrol") is not None
        and subprocess.run(["scontrol", "ping"], capture_output=True, timeout=20).returncode == 0
    )
    began = time.monotonic()
    subprocess.run([str(SLURM_UP)], check=True, timeout=600)
    print(f"slurm-up.sh: {time.monotonic() - began:.1f} s (cluster already up: {was_up})")
    try:
        with tempfile.TemporaryDirectory(prefix="slurm-bench-") as workdir:
            (Path(workdir) / "Snakefile").write_text(chain_snakefile(args.jobs))
            command = [sys.executable, "-m", "snakemake", "--profile", str(PROFILE)]
            command += ["--slurm-init-seconds-before-status-checks", args.init_seconds]
            began = time.monotonic()
            subprocess.run(
                command,
                cwd=workdir,
                check=True,
                timeout=RUN_TIMEOUT_PER_JOB * args.jobs + 60,
                capture_output=True,
            )
            wall = time.monotonic() - began
            job_ids = [
                (Path(workdir) / f"step{i}.txt").read_text().strip()
                for i in range(1, args.jobs + 1)
            ]
        inside = sum(slurm_job_seconds(job_id) for job_id in job_ids) / args.jobs
        per_job = wall / args.jobs
        print(f"{args.jobs}-job chain: {wall:.1f} s wall, {per_job:.1f} s per job")
        print(f"  inside the SLURM job (two snakemake start-ups): {inside:.1f} s")
        print(f"  submission + status polling: {per_job - inside:.1f} s")
    finally:
        if not was_up:
            subprocess.run([str(SLURM_DOWN)], check=False, timeout=180)


if __name__ == "__main__":
    main()
