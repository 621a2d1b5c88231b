"""Fixtures for tests that run Snakemake through profiles/slurm on a real SLURM cluster.

The cluster is the single-node one of scripts/slurm/slurm-up.sh (munged, slurmctld
and slurmd on 127.0.0.1). It is started once per session and stopped by PID at the
end, unless it was already running before the session (then it belongs to whoever
started it). Outside CI the tests are skipped when the cluster cannot be started
here (not root, no apt-get); in CI (CI=true) that is a failure.

Every Snakemake call goes through `run_snakemake` / `start_snakemake`, which enforce
a hard timeout: the executor plugin's failure mode is a silent hang.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SLURM_UP = REPO_ROOT / "scripts" / "slurm" / "slurm-up.sh"
SLURM_DOWN = REPO_ROOT / "scripts" / "slurm" / "slurm-down.sh"
SLURM_PROFILE = REPO_ROOT / "profiles" / "slurm"
STATE_DIR = Path(os.environ.get("INSARFLOW_SLURM_DIR", "/tmp/insarflow-slurm"))
DAEMONS = ("munged", "slurmctld", "slurmd")
CLUSTER_START_TIMEOUT = 600  # a cold start installs Debian packages first
SQUEUE_TIMEOUT = 20
OUTPUT_TAIL_LINES = 60

# Options added to `--profile profiles/slurm` in the tests: none, the profile is
# used as shipped (its partition "" is the cluster's default, here `debug`). Its
# first status check after 10 s already catches a trivial job (~5 s here); a
# shorter delay is slower, because a miss waits 10 s longer for the next check.
TEST_SNAKEMAKE_OPTIONS: tuple[str, ...] = ()


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _daemon_running(name: str) -> bool:
    pid_file = STATE_DIR / "run" / f"{name}.pid"
    try:
        pid = pid_file.read_text().strip()
        return Path(f"/proc/{pid}/comm").read_text().strip() == name
    except (OSError, ValueError):
        return False


def _cannot_start_reason() -> str | None:
    if os.geteuid() != 0:
        return "the test SLURM cluster needs root (scripts/slurm/slurm-up.sh installs and starts daemons)"
    if shutil.which("apt-get") is None and shutil.which("slurmctld") is None:
        return "no apt-get to install SLURM and no slurmctld installed"
    return None


@pytest.fixture(scope="session")
def slurm_cluster() -> Iterator[Path]:
    """A running single-node SLURM cluster; yields its state directory."""
    reason = _cannot_start_reason()
    if reason is not None:
        if _in_ci():
            pytest.fail(f"cannot start the SLURM cluster in CI: {reason}")
        pytest.skip(reason)
    already_up = all(_daemon_running(name) for name in DAEMONS)
    env = {**os.environ, "INSARFLOW_SLURM_DIR": str(STATE_DIR)}
    try:
        started = subprocess.run(
            [str(SLURM_UP)],
            env=env,
            capture_output=True,
            text=True,
            timeout=CLUSTER_START_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        if not already_up:
            subprocess.run([str(SLURM_DOWN)], env=env, timeout=180, check=False)
        pytest.fail(f"slurm-up.sh did not finish within {CLUSTER_START_TIMEOUT}s")
    if started.returncode != 0:
        message = f"slurm-up.sh failed (rc={started.returncode}):\n{started.stdout}{started.stderr}"
        if not already_up:
            subprocess.run([str(SLURM_DOWN)], env=env, timeout=180, check=False)
        if _in_ci():
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield STATE_DIR
    finally:
        if not already_up:
            subprocess.run([str(SLURM_DOWN)], env=env, timeout=180, check=False)


@dataclass
class QueuedJob:
    job_id: str
    state: str
    comment: str  # the executor plugin puts "rule_<name>..." here


class SlurmQueue:
    """Read-only view of the test cluster's queue, plus scancel."""

    def jobs(self, all_states: bool = False) -> list[QueuedJob]:
        """Jobs in the queue; by default only the live ones (pending, running, completing)."""
        command = ["squeue", "--noheader", "--format=%i|%T|%k"]
        if all_states:
            command.append("--states=all")
        listing = subprocess.run(
            command, capture_output=True, text=True, timeout=SQUEUE_TIMEOUT, check=True
        ).stdout
        return [QueuedJob(*line.split("|", 2)) for line in listing.splitlines() if line.strip()]

    def wait_for(
        self, condition: Callable[[list[QueuedJob]], bool], timeout: float, what: str
    ) -> list[QueuedJob]:
        deadline = time.monotonic() + timeout
        while True:
            jobs = self.jobs()
            if condition(jobs):
                return jobs
            if time.monotonic() > deadline:
                pytest.fail(f"timed out after {timeout}s waiting for {what}; queue: {jobs}")
            time.sleep(0.5)

    def assert_empty(self, timeout: float = 30) -> None:
        """Fail unless the queue has no live job within `timeout` s (cancelled jobs pass
        through COMPLETING for a moment)."""
        self.wait_for(lambda jobs: not jobs, timeout, "an empty squeue")

    def cancel(self, job_id: str) -> None:
        subprocess.run(["scancel", job_id], timeout=SQUEUE_TIMEOUT, check=True)

    def cancel_all(self) -> None:
        job_ids = [job.job_id for job in self.jobs()]
        if job_ids:
            subprocess.run(["scancel", *job_ids], timeout=SQUEUE_TIMEOUT, check=False)


@pytest.fixture
def slurm_queue(slurm_cluster: Path) -> Iterator[SlurmQueue]:
    """The queue of the test cluster; jobs a test leaves behind are cancelled after it."""
    queue = SlurmQueue()
    yield queue
    queue.cancel_all()


@dataclass
class SnakemakeRun:
    """A Snakemake process in its own process group, output going to `log_path`."""

    process: subprocess.Popen
    log_path: Path
    command: list[str]

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def tail(self, lines: int = OUTPUT_TAIL_LINES) -> str:
        return "\n".join(self.output().splitlines()[-lines:])

    def interrupt(self) -> None:
        """Ctrl-C, as a user at the terminal would send it."""
        os.killpg(self.process.pid, signal.SIGINT)

    def wait(self, timeout: float) -> int:
        """Return the exit code; on timeout interrupt, then kill the group, and fail."""
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
        # SIGINT first so that Snakemake scancels what it submitted.
        self.interrupt()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
        pytest.fail(
            f"snakemake did not finish within {timeout}s: {' '.join(self.command)}\n"
            f"--- last lines of {self.log_path} ---\n{self.tail()}"
        )


def _snakemake_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a test run; SLURM jobs inherit it (the plugin submits with
    --export=ALL), so the venv's Python and whatever `extra` puts on PATH reach them too."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("EARTHDATA_", "CDSE_", "SNAKEMAKE_"))
    }
    # A private HOME keeps ~/.config/snakemake profiles and ~/.netrc out of the run.
    env["HOME"] = str(home)
    env["NETRC"] = str(home / "no-netrc")
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.update(extra or {})
    return env


@pytest.fixture
def start_snakemake(tmp_path: Path) -> Iterator[Callable[..., SnakemakeRun]]:
    """Start `python -m snakemake ARGS` in CWD without waiting; the caller must `.wait()`.
    `env` adds or replaces environment variables.

    Any run still alive when the test ends is interrupted and then killed."""
    runs: list[SnakemakeRun] = []
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)

    def start(args: list[str], cwd: Path, env: Mapping[str, str] | None = None) -> SnakemakeRun:
        command = [sys.executable, "-m", "snakemake", *args]
        log_path = cwd / f"snakemake-{len(runs) + 1}.out"
        with log_path.open("w") as log:
            process = subprocess.Popen(
                command,
                cwd=cwd,
                env=_snakemake_env(home, env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        run = SnakemakeRun(process, log_path, command)
        runs.append(run)
        return run

    yield start
    for run in runs:
        if run.process.poll() is None:
            run.interrupt()
            try:
                run.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(run.process.pid, signal.SIGKILL)
                run.process.wait(timeout=30)


@dataclass
class SnakemakeResult:
    returncode: int
    output: str


@pytest.fixture
def run_snakemake(
    start_snakemake: Callable[..., SnakemakeRun],
) -> Callable[..., SnakemakeResult]:
    """Run `python -m snakemake ARGS` in CWD with a hard timeout (seconds)."""

    def run(
        args: list[str], cwd: Path, timeout: float, env: Mapping[str, str] | None = None
    ) -> SnakemakeResult:
        started = start_snakemake(args, cwd, env)
        returncode = started.wait(timeout)
        return SnakemakeResult(returncode, started.output())

    return run


@pytest.fixture(scope="session")
def slurm_profile_args() -> list[str]:
    """`--profile profiles/slurm` plus the test cluster's overrides."""
    return ["--profile", str(SLURM_PROFILE), *TEST_SNAKEMAKE_OPTIONS]
