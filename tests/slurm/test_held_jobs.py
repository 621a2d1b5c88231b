"""A job SLURM holds for good is reported while the run goes on (not a silent wait)."""

from __future__ import annotations

import subprocess
import time

import pytest

from insarflow.isce.cluster import HeldJobWatch

pytestmark = pytest.mark.slurm


def test_a_job_that_can_never_start_is_reported_once(slurm_queue) -> None:
    # More CPUs than the single node has: SLURM accepts it and keeps it PENDING forever.
    submitted = subprocess.run(
        [
            "sbatch",
            "--parsable",
            "--cpus-per-task=64",
            "--comment=rule_isce_command_wildcards_held",
            "--job-name=insarflow-held-test",
            "--wrap=true",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert submitted.returncode == 0, submitted.stderr
    job_id = submitted.stdout.strip().split(";")[0]
    try:
        messages: list[str] = []
        watch = HeldJobWatch(messages.append)
        deadline = time.monotonic() + 90
        while not watch.check():
            assert time.monotonic() < deadline, [vars(job) for job in slurm_queue.jobs()]
            time.sleep(1)
        assert messages == [
            f"insarflow: SLURM job {job_id} (rule_isce_command_wildcards_held) is held for a "
            "reason that will not clear (PartitionConfig): it can never start; run "
            f"`scancel {job_id}`, then lower its resources (isce.step_resources) or pick "
            "another partition"
        ]
        assert watch.check() == [] and len(messages) == 1  # reported once
    finally:
        slurm_queue.cancel(job_id)
