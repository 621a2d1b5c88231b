"""``python -m insarflow.sandbox`` as a separate process: URL handshake, signals, persistence."""

from __future__ import annotations

import os
import re
import select
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import hyp3_sdk
import pytest
import requests
from sandbox_helpers import insar_job, slc_pairs


class SandboxProcess:
    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "insarflow.sandbox", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=os.environ.copy(),
        )

    def first_line(self, timeout: float = 30.0) -> str:
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        assert ready, "the sandbox printed nothing"
        return self.process.stdout.readline().rstrip("\n")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.process.send_signal(sig)
        return self.process.wait(timeout=20)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def launch() -> Iterator:
    processes: list[SandboxProcess] = []

    def start(*args: str) -> SandboxProcess:
        process = SandboxProcess(*args)
        processes.append(process)
        return process

    yield start
    for process in processes:
        process.kill()


def test_prints_its_url_first_serves_and_stops_cleanly_on_signals(launch, tmp_path: Path) -> None:
    url_file, pid_file, state = tmp_path / "url", tmp_path / "pid", tmp_path / "state"
    sandbox = launch(
        "--port", "0", "--state", str(state), "--processing-seconds", "0.3",
        "--url-file", str(url_file), "--pid-file", str(pid_file),
    )  # fmt: skip

    url = sandbox.first_line()

    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
    assert url_file.read_text().strip() == url
    assert int(pid_file.read_text()) == sandbox.process.pid
    hyp3 = hyp3_sdk.HyP3(api_url=url, token="sandbox-token")
    job = hyp3.watch(
        hyp3.submit_prepared_jobs(insar_job(*slc_pairs(1)[0], name="cli")), interval=0.2
    )
    assert job.succeeded()
    assert requests.get(job[0].files[0]["url"], timeout=10).status_code == 200

    assert sandbox.stop(signal.SIGTERM) == 0
    assert not url_file.exists() and not pid_file.exists()
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"{url}/costs", timeout=2)

    # A restarted sandbox keeps users, jobs, credits and products.
    again = launch("--port", "0", "--state", str(state))
    url = again.first_line()
    hyp3 = hyp3_sdk.HyP3(api_url=url, token="sandbox-token")
    jobs = hyp3.find_jobs()
    assert [found.job_id for found in jobs] == [job[0].job_id]
    assert hyp3.check_credits() == 7990
    assert len(jobs[0].download_files(tmp_path / "after-restart")) == 1
    assert again.stop(signal.SIGINT) == 0


def test_users_file_and_fault_options(launch, tmp_path: Path) -> None:
    users = tmp_path / "users.yml"
    users.write_text(
        "- {name: first, token: token-a, credits: 20}\n"
        "- {name: second, token: token-b, application_status: PENDING}\n"
    )
    sandbox = launch(
        "--state", str(tmp_path / "state"), "--users", str(users), "--credits", "300",
        "--error-rate", "1", "--error-codes", "503", "--error-scope", "downloads",
    )  # fmt: skip
    url = sandbox.first_line()

    first = hyp3_sdk.HyP3(api_url=url, token="token-a")
    second = hyp3_sdk.HyP3(api_url=url, token="token-b")
    assert first.check_credits() == 20
    assert second.my_info()["application_status"] == "PENDING"
    with pytest.raises(hyp3_sdk.exceptions.HyP3Error, match="401"):
        hyp3_sdk.HyP3(api_url=url, token="sandbox-token").my_info()  # no default user
    faults = requests.get(f"{url}/_sandbox/faults", timeout=10).json()
    assert faults["error_rate"] == 1.0 and faults["error_codes"] == [503]
    assert sandbox.stop() == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "- {name: x, token: t, credits: -5}\n",
            r"users\.yml: 0\.credits: -5 is less than the minimum of 0",
        ),
        (
            "- {name: x, tokn: t}\n",
            r"users\.yml: 0: Additional properties are not allowed \('tokn'",
        ),
        ("- {name: x, token: t}\n- {name: x, token: u}\n", r"duplicate name \['x'\]"),
        ("{{{", r"users\.yml: not valid YAML"),
    ],
)
def test_bad_users_file_is_one_clear_line(tmp_path: Path, content: str, message: str) -> None:
    users = tmp_path / "users.yml"
    users.write_text(content)

    result = subprocess.run(
        [sys.executable, "-m", "insarflow.sandbox", "--users", str(users)],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert re.search(message, lines[0]), lines[0]


def test_a_taken_port_is_reported_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "insarflow.sandbox", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"insarflow-sandbox: error: sandbox port {port}: cannot listen on 127.0.0.1:{port} "
        "(Address already in use); choose another port or 0 for a free one"
    )
