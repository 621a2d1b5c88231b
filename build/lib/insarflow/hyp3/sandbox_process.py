"""Run the offline HyP3 sandbox for a workflow whose ``hyp3.api_url`` is ``sandbox``.

The sandbox runs as its own process on a free loopback port, with its state (users, jobs,
credits, products) in ``hyp3.sandbox.state_dir``, so it outlives a killed Snakemake and a
rerun finds the same jobs. Jobs read its URL from ``<state_dir>/url``.

Several Snakemake runs may use one sandbox at once (a run and a ``hyp3_status`` from a second
terminal): each holds a lease, a file ``<state_dir>/leases/<pid>``, from its start to its end,
and the sandbox is stopped when the last live lease is returned. A run killed with -9 leaves a
dead lease, which is ignored, and the sandbox keeps serving for the rerun.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests
from filelock import FileLock

from insarflow.errors import UserError

START_TIMEOUT_S = 60


def url_file(state_dir: str | Path) -> Path:
    return Path(state_dir) / "url"


def pid_file(state_dir: str | Path) -> Path:
    return Path(state_dir) / "sandbox.pid"


def lease_dir(state_dir: str | Path) -> Path:
    return Path(state_dir) / "leases"


def _alive(pid: int) -> bool:
    try:
        # Reap it if it is our own child that has exited: a zombie still answers kill(0).
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _responds(url: str) -> bool:
    try:
        return requests.get(f"{url}/costs", timeout=5).ok
    except requests.RequestException:
        return False


def running_url(state_dir: str | Path) -> str | None:
    """The URL of this state dir's sandbox if it is up, else None."""
    try:
        url = url_file(state_dir).read_text().strip()
        pid = int(pid_file(state_dir).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    return url if _alive(pid) and _responds(url) else None


def acquire_sandbox(state_dir: str | Path, processing_seconds: float, credits: float) -> str:
    """Start or join this state dir's sandbox for the calling process; return its URL."""
    state_dir = Path(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(str(state_dir / "start.lock"), timeout=START_TIMEOUT_S * 2):
        url = running_url(state_dir) or _start(state_dir, processing_seconds, credits)
        lease_dir(state_dir).mkdir(exist_ok=True)
        (lease_dir(state_dir) / str(os.getpid())).touch()
    return url


def release_sandbox(state_dir: str | Path) -> bool:
    """Return the calling process's lease; stop the sandbox if no live lease is left.

    True if the sandbox was stopped.
    """
    state_dir = Path(state_dir)
    if not state_dir.is_dir():
        return False
    with FileLock(str(state_dir / "start.lock"), timeout=START_TIMEOUT_S * 2):
        leases = lease_dir(state_dir)
        (leases / str(os.getpid())).unlink(missing_ok=True)
        holders = [p for p in leases.iterdir() if p.name.isdigit()] if leases.is_dir() else []
        live = [p for p in holders if _alive(int(p.name))]
        for dead in set(holders) - set(live):
            dead.unlink(missing_ok=True)
        return False if live else stop_sandbox(state_dir)


def _start(state_dir: Path, processing_seconds: float, credits: float) -> str:
    _, url = start_sandbox_process(
        state_dir, "--processing-seconds", str(processing_seconds), "--credits", str(credits)
    )
    return url


def start_sandbox_process(state_dir: str | Path, *options: str) -> tuple[subprocess.Popen, str]:
    """Start ``python -m insarflow.sandbox`` in its own session; wait until it answers.

    ``options`` are further sandbox CLI options. Its URL and PID files live in ``state_dir``,
    which is how it is found again and stopped by PID (``stop_sandbox``).
    """
    state_dir = Path(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    url_file(state_dir).unlink(missing_ok=True)
    log_path = state_dir / "sandbox.log"
    command = [
        sys.executable, "-m", "insarflow.sandbox", "--port", "0", "--state", str(state_dir),
        "--url-file", str(url_file(state_dir)), "--pid-file", str(pid_file(state_dir)), *options,
    ]  # fmt: skip
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise UserError(
                f"the HyP3 sandbox exited with code {process.returncode}; see {log_path}"
            )
        if url_file(state_dir).exists():
            url = url_file(state_dir).read_text().strip()
            if url and _responds(url):
                return process, url
        time.sleep(0.05)
    process.terminate()
    raise UserError(f"the HyP3 sandbox did not start within {START_TIMEOUT_S} s; see {log_path}")


def stop_sandbox(state_dir: str | Path) -> bool:
    """Stop this state dir's sandbox by its PID; True if one was running."""
    try:
        pid = int(pid_file(state_dir).read_text().strip())
    except (FileNotFoundError, ValueError):
        return False
    if not _alive(pid):
        return False
    os.kill(pid, signal.SIGTERM)
    for _ in range(200):
        if not _alive(pid):
            break
        time.sleep(0.025)
    else:
        os.kill(pid, signal.SIGKILL)
        _alive(pid)
    url_file(state_dir).unlink(missing_ok=True)
    return True


def sandbox_url(state_dir: str | Path) -> str:
    """The URL of the sandbox the workflow run started (jobs never start one themselves)."""
    url = running_url(state_dir)
    if url is None:
        raise UserError(
            f"the HyP3 sandbox of {state_dir} is not running; run the workflow with snakemake, "
            "which starts it (hyp3.api_url: sandbox)"
        )
    return url
