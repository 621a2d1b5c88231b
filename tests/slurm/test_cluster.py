"""profiles/slurm on a real single-node SLURM cluster, with tiny workflows written here.

These check the profile and the executor plugin, not insarflow's rules: jobs go
through sbatch, local rules stay on the submit host, a job killed with scancel is
submitted again, and Ctrl-C leaves nothing in the queue.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.slurm

RUN_TIMEOUT = 240  # a 3-job chain takes ~45 s here

CHAIN_SNAKEFILE = textwrap.dedent(
    """
    # Shell lines record where they ran: SLURM sets SLURM_JOB_ID inside a job.
    rule all:
        input:
            "fetched.txt",
            "step3.txt",


    rule fetch:
        # stands in for a network rule: runs on the submit host
        output:
            "fetched.txt",
        log:
            "logs/fetch.log",
        localrule: True
        resources:
            hyp3_api=1,
        shell:
            "echo ${{SLURM_JOB_ID:-none}} > {output}"


    rule step1:
        input:
            "fetched.txt",
        output:
            "step1.txt",
        log:
            "logs/step1.log",
        shell:
            "echo $SLURM_JOB_ID > {output}"


    rule step2:
        input:
            "step1.txt",
        output:
            "step2.txt",
        log:
            "logs/step2.log",
        resources:
            mem_mb=300,
            runtime=3,
        shell:
            "cat {input} > {output}; echo $SLURM_JOB_ID >> {output}"


    rule step3:
        input:
            "step2.txt",
        output:
            "step3.txt",
        log:
            "logs/step3.log",
        shell:
            "cat {input} > {output}; echo $SLURM_JOB_ID >> {output}"
    """
)

# `nap` sleeps long on its first attempt only, so that a retry finishes at once.
# It touches started.<attempt> first: the test acts once the shell is running.
NAP_SNAKEFILE = textwrap.dedent(
    """
    NAMES = config.get("names", "one").split(",")


    rule all:
        input:
            expand("{name}.done", name=NAMES),


    rule nap:
        output:
            "{name}.done",
        log:
            "logs/{name}.log",
        resources:
            nap_seconds=lambda wildcards, attempt: 600 if attempt == 1 else 0,
            runtime=15,
            mem_mb=200,
        shell:
            "touch {wildcards.name}.started.{resources.nap_seconds}; "
            "sleep {resources.nap_seconds}; echo $SLURM_JOB_ID > {output}"
    """
)


def write_workflow(directory: Path, snakefile: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "Snakefile").write_text(snakefile)
    return directory


def test_profile_runs_a_chain_as_slurm_jobs_and_local_rules_on_the_submit_host(
    tmp_path, slurm_queue, run_snakemake, slurm_profile_args
):
    workdir = write_workflow(tmp_path / "chain", CHAIN_SNAKEFILE)

    result = run_snakemake(slurm_profile_args, cwd=workdir, timeout=RUN_TIMEOUT)

    assert result.returncode == 0, result.output[-4000:]
    assert (workdir / "fetched.txt").read_text().split() == ["none"]
    job_ids = (workdir / "step3.txt").read_text().split()
    assert len(job_ids) == 3
    assert all(job_id.isdigit() for job_id in job_ids)
    assert len(set(job_ids)) == 3, "each step must be its own SLURM job"
    for job_id in job_ids:
        assert f"submitted with SLURM jobid {job_id}" in result.output
    slurm_queue.assert_empty()


def test_job_cancelled_with_scancel_is_retried_and_the_run_completes(
    tmp_path, slurm_queue, start_snakemake, slurm_profile_args
):
    workdir = write_workflow(tmp_path / "cancel", NAP_SNAKEFILE)
    run = start_snakemake(slurm_profile_args, cwd=workdir)
    slurm_queue.wait_for(
        lambda jobs: (workdir / "one.started.600").exists(), 120, "the first attempt to start"
    )
    (first,) = [job for job in slurm_queue.jobs() if job.comment.startswith("rule_nap")]
    assert first.state == "RUNNING"

    slurm_queue.cancel(first.job_id)
    returncode = run.wait(RUN_TIMEOUT)

    output = run.output()
    assert returncode == 0, output[-4000:]
    assert f"SLURM-job '{first.job_id}' failed, SLURM status is: 'CANCELLED'" in output
    assert (workdir / "one.started.0").exists(), "the retry (attempt 2) never ran"
    retry_job_id = (workdir / "one.done").read_text().strip()
    assert retry_job_id.isdigit() and retry_job_id != first.job_id
    slurm_queue.assert_empty()


def test_ctrl_c_cancels_every_submitted_job(
    tmp_path, slurm_queue, start_snakemake, slurm_profile_args
):
    workdir = write_workflow(tmp_path / "interrupt", NAP_SNAKEFILE)
    run = start_snakemake([*slurm_profile_args, "--config", "names=one,two"], cwd=workdir)
    slurm_queue.wait_for(
        lambda jobs: all((workdir / f"{n}.started.600").exists() for n in ("one", "two")),
        120,
        "both jobs to be running",
    )
    submitted = {job.job_id for job in slurm_queue.jobs() if job.comment.startswith("rule_nap")}
    assert len(submitted) == 2

    run.interrupt()
    returncode = run.wait(90)

    assert returncode != 0
    slurm_queue.assert_empty()
    finished = {job.job_id: job.state for job in slurm_queue.jobs(all_states=True)}
    assert {finished[job_id] for job_id in submitted} == {"CANCELLED"}
    assert not list(workdir.glob("*.done"))
