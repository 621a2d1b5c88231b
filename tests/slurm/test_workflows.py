"""insarflow's own workflow through profiles/slurm on the real single-node SLURM cluster.

* HyP3 against the sandbox: every HyP3 rule is a local rule, so nothing is submitted.
* The ISCE2 stand-in stack end to end: the run-file job, and every topsStack command or
  chain of commands (isce.grouping) is one SLURM job, with the per-step resources of the
  config.
* A step larger than every node stops the run in one line before anything is submitted.
* A command cancelled with scancel mid-run is submitted again and the run completes.
* Ctrl-C mid-run cancels the running command's job and leaves the queue empty.

Every SLURM job costs 10-30 s here (Snakemake starts twice inside it, plus the plugin's
status-check interval), so the stacks are tiny: 3 dates, 1 swath, geometry coregistration.
The scancel and Ctrl-C tests make the run files locally first (a few seconds) and then
run only the first command through SLURM.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.hyp3.conftest import Workdir, scene_pairs, start_sandbox, stop
from tests.isce.conftest import IsceWork, isolated_env, make_work
from tests.isce_standin.fixtures import StackProject, make_stack_project, repeat_dates

pytestmark = pytest.mark.slurm

REPO = Path(__file__).resolve().parents[2]
HYP3_TIMEOUT = 240  # ~30 s: all local
ISCE_TIMEOUT = 480  # ~28 SLURM jobs in 16 waves (2 CPUs)
SHORT_TIMEOUT = 240
INTERRUPT_TIMEOUT = 90
PREPARE_TIMEOUT = 180

FIRST_STEP = "run_01_unpack_topo_reference"
SMALL = {"threads": 1, "mem_mb": 200, "runtime": 5}
# Also replaces the entries of the shipped config/config.yaml, which ask for more CPUs
# and memory than this 2-CPU node has (SLURM would refuse those jobs).
STEP_RESOURCES = {
    "default": SMALL,
    "stack_sentinel": SMALL,
    "unpack_topo_reference": SMALL,
    "fullBurst_resample": SMALL,
    "unwrap": SMALL,
    # one distinctive step, to see the config's resources reach sbatch
    "extract_stack_valid_region": {"threads": 2, "mem_mb": 300, "runtime": 7},
}
# topsStack's text_cmd prefixes every command; here it writes, into the command's log,
# the SLURM job the command runs in and what SLURM granted that job.
WHERE_AM_I = (
    'echo "SLURM job ${SLURM_JOB_ID:-none}: '
    '$(squeue --noheader --jobs ${SLURM_JOB_ID:-0} --format "%C CPUs, %m, limit %l" 2>&1)"; '
)
JOB_LINE = re.compile(r"^SLURM job (\S+): (.*)$", re.MULTILINE)
SUBMITTED = re.compile(
    r"has been submitted with SLURM jobid (\d+) \(log: .*/slurm_logs/"
    r"((?:rule|group)_[^/]+)/([^/]*)/?\d+\.log\)"
)


@dataclass(frozen=True)
class Submission:
    job_id: str
    rule: str  # the rule's name
    wildcards: str  # the plugin's log folder: wildcard values joined by "_"


def submissions(output: str) -> list[Submission]:
    """Every sbatch submission the executor plugin reported in Snakemake's output."""
    return [
        Submission(job_id, name.removeprefix("rule_"), wildcards)
        for job_id, name, wildcards in SUBMITTED.findall(output)
    ]


# --- HyP3 -----------------------------------------------------------------------------


def test_hyp3_path_runs_on_the_submit_host_and_submits_one_hyp3_job_per_pair(
    tmp_path, slurm_queue, run_snakemake, slurm_profile_args
):
    sandbox = start_sandbox(tmp_path / "sandbox", "--processing-seconds", "1")
    try:
        workdir = Workdir(path=tmp_path / "work")
        workdir.path.mkdir()
        pairs = scene_pairs(3)
        workdir.configure(pairs, api_url=sandbox.url)

        result = run_snakemake(
            ["--snakefile", str(REPO / "Snakefile"), *slurm_profile_args],
            cwd=workdir.path,
            timeout=HYP3_TIMEOUT,
            env={"EARTHDATA_TOKEN": "sandbox-token"},
        )

        assert result.returncode == 0, result.output[-4000:]
        assert len(workdir.products()) == len(pairs)
        assert [row["status"] for row in workdir.status_rows()] == ["SUCCEEDED"] * len(pairs)
        names = Counter(job["name"] for job in sandbox.jobs())
        assert len(names) == len(pairs) and set(names.values()) == {1}, names
        ran = set(re.findall(r"^local(?:rule|checkpoint) (hyp3_\w+):", result.output, re.MULTILINE))
        assert ran == {"hyp3_submit", "hyp3_watch", "hyp3_summary"}  # products: placed by the round
    finally:
        stop(sandbox.process)
    # Local rules never reach sbatch: nothing submitted, nothing in the queue's memory
    # (finished jobs stay listed for MinJobAge = 300 s, far longer than this run).
    assert submissions(result.output) == []
    assert not (workdir.path / ".snakemake" / "slurm_logs").exists()
    assert [
        job for job in slurm_queue.jobs(all_states=True) if job.comment.startswith("rule_hyp3")
    ] == []


# --- ISCE2 stand-in -------------------------------------------------------------------


@pytest.fixture(scope="module")
def stack_project(tmp_path_factory: pytest.TempPathFactory) -> StackProject:
    """Three SAFE zips on the 12-day repeat (two pairs), orbits, GLO-30 tiles and geoid."""
    root = tmp_path_factory.mktemp("slurm-isce-project")
    return make_stack_project(root, repeat_dates(3), bursts_per_swath=2)


def isce_work(tmp_path: Path, project: StackProject) -> IsceWork:
    """A copy of the workflow whose config/config.yaml is the stand-in stack's, so that the
    shipped config (and its step_resources) is not merged in."""
    (tmp_path / "isce").mkdir()
    work = make_work(tmp_path / "isce", project)
    work.configure(
        connections=1,
        coregistration="geometry",
        step_resources=STEP_RESOURCES,
        text_cmd=WHERE_AM_I,
    )
    shutil.copyfile(work.root / "isce.yaml", work.root / "config" / "config.yaml")
    return work


def isce_env(work: IsceWork, **extra: str) -> dict[str, str]:
    """Stand-in bin/ and the venv first on PATH, network fenced off, a private HOME."""
    return isolated_env(work.home, ISCE_STANDIN_LOG=str(work.standin_log), **extra)


def plan_of(work: IsceWork) -> dict[str, Any]:
    (plan_file,) = (work.root / "results" / "isce").glob("*/plan.json")
    return json.loads(plan_file.read_text())


def command_log(work: IsceWork, fingerprint: str, step: str, index: int) -> Path:
    return work.root / "logs" / "isce" / fingerprint / step / f"{index:04d}.log"


def prepare_run_files(work: IsceWork, run_snakemake) -> str:
    """Everything up to stackSentinel.py, locally; returns the stack's fingerprint."""
    result = run_snakemake(
        ["--cores", "2", "--until", "isce_run_files"],
        cwd=work.root,
        timeout=PREPARE_TIMEOUT,
        env=isce_env(work),
    )
    assert result.returncode == 0, result.output[-4000:]
    return plan_of(work)["fingerprint"]


def wait_until_started(work: IsceWork, log: Path, run, slurm_queue, timeout: float = 120) -> str:
    """The SLURM job id of the command whose log is `log`, once the command is running."""
    deadline = time.monotonic() + timeout
    while not (log.exists() and "# $ " in log.read_text()):
        assert run.process.poll() is None, f"snakemake ended early:\n{run.tail()}"
        if time.monotonic() > deadline:
            pytest.fail(f"the command of {log.name} never started:\n{run.tail()}")
        time.sleep(0.2)
    # Commands of other dates may run at the same time (they wait only for what they read).
    step = log.parent.name
    (job,) = [
        job
        for job in slurm_queue.jobs()
        if job.comment.startswith("rule_isce_command") and step in job.comment
    ]
    assert job.state == "RUNNING"
    return job.job_id


def test_isce_stack_runs_each_command_or_chain_of_commands_as_one_slurm_job(
    tmp_path, stack_project, slurm_queue, run_snakemake, slurm_profile_args
):
    work = isce_work(tmp_path, stack_project)

    result = run_snakemake(
        slurm_profile_args, cwd=work.root, timeout=ISCE_TIMEOUT, env=isce_env(work)
    )

    assert result.returncode == 0, result.output[-4000:]
    d1, d2, d3 = stack_project.dates
    assert work.complete()["pair"] == [f"{d1}_{d2}", f"{d2}_{d3}"]
    for pair in (f"{d1}_{d2}", f"{d2}_{d3}"):
        (unwrapped,) = work.stack_dirs()[0].glob(
            f"stack/merged/interferograms/{pair}/filt_fine.unw"
        )
        assert unwrapped.stat().st_size > 0
    plan = plan_of(work)
    fingerprint = plan["fingerprint"]
    chain_of = {  # isce.grouping: long_chains, the default
        (step["name"], command["index"]): command["long_chain"]
        for step in plan["steps"]
        for command in step["commands"]
    }
    chains = Counter(chain for chain in chain_of.values() if chain)
    # geometry, 3 dates, 2 pairs: geo2rdr->resample per date, generate->merge->filter->unwrap
    # per pair
    assert sorted(chains.values()) == [2, 2, 4, 4], chains
    submitted = submissions(result.output)
    singles = sum(1 for chain in chain_of.values() if not chain)
    kinds = Counter(s.rule for s in submitted)
    assert kinds == {"isce_run_files": 1, "isce_command": singles, "isce_chain": len(chains)}, (
        "only the run files and the commands may be SLURM jobs; DEM, orbits, markers stay "
        "local; a chain of commands is one job"
    )
    command_jobs = {s.job_id for s in submitted if s.rule != "isce_run_files"}
    job_of: dict[tuple[str, int], str] = {}
    for (step, index), chain in chain_of.items():
        text = command_log(work, fingerprint, step, index).read_text()
        (job_id, granted) = JOB_LINE.search(text).groups()
        job_of[step, index] = job_id
        assert job_id in command_jobs, (step, index)
        if step.endswith("extract_stack_valid_region"):
            assert granted == "2 CPUs, 300M, limit 7:00"
        elif chain:
            # runtimes of a chain add up (plus a minute per command); threads and memory are
            # those of its largest command
            assert granted == f"1 CPUs, 200M, limit {6 * chains[chain]}:00", (step, granted)
        else:
            assert granted == "1 CPUs, 200M, limit 5:00", (step, index, granted)
        assert "# done in" in text
    for chain in chains:
        assert len({job_of[key] for key, c in chain_of.items() if c == chain}) == 1
    assert len(set(job_of.values())) == singles + len(chains)
    # the stand-in's own record: one successful run per command, none twice
    runs = Counter((record["unit"] or record["program"], record["rc"]) for record in work.records())
    assert sum(runs.values()) == len(chain_of) and {rc for _, rc in runs} == {0}
    slurm_queue.assert_empty()


def test_isce_command_cancelled_with_scancel_is_retried_and_the_run_completes(
    tmp_path, stack_project, slurm_queue, run_snakemake, start_snakemake, slurm_profile_args
):
    work = isce_work(tmp_path, stack_project)
    fingerprint = prepare_run_files(work, run_snakemake)
    marker = f"results/isce/{fingerprint}/steps/{FIRST_STEP}.done"
    log = command_log(work, fingerprint, FIRST_STEP, 1)
    run = start_snakemake(
        [*slurm_profile_args, marker],
        cwd=work.root,
        # 12 s: time enough to cancel it mid-run, short enough that the retry's job (~20 s)
        # is seen finished by the plugin's status check 30 s after its submission
        env=isce_env(work, ISCE_STANDIN_DURATIONS="unpack_topo_reference=12"),
    )
    cancelled = wait_until_started(work, log, run, slurm_queue)

    slurm_queue.cancel(cancelled)
    returncode = run.wait(SHORT_TIMEOUT)

    output = run.output()
    assert returncode == 0, output[-4000:]
    assert f"SLURM-job '{cancelled}' failed, SLURM status is: 'CANCELLED'" in output
    first, retry = [s.job_id for s in submissions(output) if s.rule == "isce_command"]
    assert first == cancelled and retry != cancelled
    # the retry ran the command again, to the end, in its own job
    text = log.read_text()
    assert JOB_LINE.search(text).group(1) == retry and "# done in" in text
    assert (work.root / marker).exists()
    assert [r["rc"] for r in work.records() if r["unit"] == "config_reference"][-1] == 0
    slurm_queue.assert_empty()


def test_ctrl_c_during_an_isce_command_leaves_no_job_and_no_process(
    tmp_path, stack_project, slurm_queue, run_snakemake, start_snakemake, slurm_profile_args
):
    work = isce_work(tmp_path, stack_project)
    fingerprint = prepare_run_files(work, run_snakemake)
    log = command_log(work, fingerprint, FIRST_STEP, 1)
    run = start_snakemake(
        slurm_profile_args,
        cwd=work.root,
        env=isce_env(work, ISCE_STANDIN_DURATIONS="unpack_topo_reference=600"),
    )
    job_id = wait_until_started(work, log, run, slurm_queue)

    run.interrupt()
    returncode = run.wait(INTERRUPT_TIMEOUT)

    assert returncode != 0
    slurm_queue.assert_empty()
    states = {job.job_id: job.state for job in slurm_queue.jobs(all_states=True)}
    assert states[job_id] == "CANCELLED"
    assert not (work.root / f"results/isce/{fingerprint}/steps/{FIRST_STEP}/0001.done").exists()
    # SLURM killed the command itself too: no stand-in process of this run is left
    assert_no_process_mentions(str(work.root), timeout=30)


def assert_no_process_mentions(text: str, timeout: float) -> None:
    """Fail if a process whose command line contains `text` is still alive after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        alive = []
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                argv = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if text in argv:
                alive.append(f"{cmdline.parent.name}: {argv}")
        if not alive:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"processes left after Ctrl-C: {alive}")
        time.sleep(0.5)


def test_isce_step_larger_than_any_node_stops_before_submitting_in_one_line(
    tmp_path, stack_project, slurm_queue, run_snakemake, slurm_profile_args
):
    """The issue's trap: 4 threads for unpack_topo_reference on this 2-CPU node would stay
    PENDING forever while Snakemake waits silently."""
    work = isce_work(tmp_path, stack_project)
    work.configure(
        connections=1,
        coregistration="geometry",
        step_resources={**STEP_RESOURCES, "unpack_topo_reference": {"threads": 4}},
    )
    shutil.copyfile(work.root / "isce.yaml", work.root / "config" / "config.yaml")

    result = run_snakemake(
        slurm_profile_args, cwd=work.root, timeout=SHORT_TIMEOUT, env=isce_env(work)
    )

    assert result.returncode == 1, result.output[-4000:]
    lines = [line for line in result.output.splitlines() if line.startswith("insarflow:")]
    assert lines == [
        "insarflow: isce.step_resources.unpack_topo_reference asks 4 threads and 200 MB, but "
        "the largest node of SLURM partition 'debug' has 2 CPUs and 24105 MB: the job could "
        "never start; lower it in your config"
    ], result.output[-3000:]
    assert submissions(result.output) == []
    slurm_queue.assert_empty()


def test_shipped_example_config_fits_the_test_node_and_a_users_file_can_shrink_every_step(
    tmp_path, stack_project, run_snakemake, slurm_profile_args
):
    """The example config imposes no per-step sizes, so a user's file that sets only
    `default` is what every step gets (Snakemake deep-merges --configfile over it)."""
    work = isce_work(tmp_path, stack_project)
    shutil.copyfile(REPO / "config" / "config.yaml", work.root / "config" / "config.yaml")
    work.configure(connections=1, coregistration="geometry", step_resources={"default": SMALL})
    result = run_snakemake(
        ["--configfile", "isce.yaml", *slurm_profile_args, "-n"],
        cwd=work.root,
        timeout=SHORT_TIMEOUT,
        env=isce_env(work),
    )
    assert result.returncode == 0, result.output[-3000:]
    assert "threads: 4" not in result.output and "mem_mb=16000" not in result.output
