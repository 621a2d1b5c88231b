"""Fixtures for HyP3-path tests: a sandbox process on loopback and a Snakemake work dir."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from insarflow.hyp3.sandbox_process import start_sandbox_process

REPO = Path(__file__).resolve().parents[2]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
SCENES = [
    line.strip()
    for line in (REPO / "config" / "scenes.txt").read_text().splitlines()
    if line.strip() and not line.startswith("#")
]


@dataclass
class Sandbox:
    url: str
    process: subprocess.Popen
    state: Path

    def admin(self, method: str, path: str, **kwargs: Any) -> Any:
        response = requests.request(method, f"{self.url}/_sandbox/{path}", timeout=10, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    def faults(self, **faults: Any) -> None:
        self.admin("POST", "faults", json=faults)

    def stats(self) -> dict[str, Any]:
        return self.admin("GET", "stats")

    def jobs(self, token: str = "sandbox-token") -> list[dict[str, Any]]:
        from hyp3_sdk import HyP3

        return [job.to_dict() for job in HyP3(self.url, token=token).find_jobs()]


def start_sandbox(state: Path, *extra: str) -> Sandbox:
    process, url = start_sandbox_process(state, *extra)
    return Sandbox(url=url, process=process, state=state)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    server = start_sandbox(tmp_path / "sandbox-state", "--processing-seconds", "1")
    yield server
    stop(server.process)


@dataclass
class Workdir:
    path: Path
    env: dict[str, str] = field(default_factory=dict)

    def configure(self, pairs: list[tuple[str, str]], **hyp3: Any) -> None:
        (self.path / "config").mkdir(exist_ok=True)
        table = "reference\tsecondary\n" + "".join(f"{a}\t{b}\n" for a, b in pairs)
        (self.path / "config" / "pairs.tsv").write_text(table)
        settings = {"poll_interval": 0.3, "wait_timeout": 120, "request_timeout": 10, **hyp3}
        config = {"processor": "hyp3", "pairs": "config/pairs.tsv", "hyp3": settings}
        (self.path / "config" / "config.yaml").write_text(yaml.safe_dump(config))

    def command(self, *args: str) -> list[str]:
        """The snakemake command line a user runs, with the repo's workflow and local profile."""
        return [
            SNAKEMAKE,
            "--snakefile",
            str(REPO / "Snakefile"),
            "--profile",
            str(REPO / "profiles" / "local"),
            *args,
        ]

    def snakemake(
        self, *args: str, timeout: float = 240, check: bool = True
    ) -> subprocess.CompletedProcess:
        result = subprocess.run(
            self.command(*args),
            cwd=self.path,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"snakemake failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
            )
        return result

    def popen(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(
            self.command(*args),
            cwd=self.path,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def ledger(self) -> list[dict[str, Any]]:
        path = self.path / ".insarflow" / "hyp3" / "ledger.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def products(self, options: str = "*") -> dict[str, dict[str, Any]]:
        """Verified products by pair (of one options label, or of all when only one exists)."""
        root = self.path / "results" / "hyp3" / "products"
        manifests = sorted(root.glob(f"{options}/*/verified.json"))
        assert len({m.parent.parent for m in manifests}) <= 1, "products of several options"
        return {
            manifest.parent.name: {**json.loads(manifest.read_text()), "dir": manifest.parent}
            for manifest in manifests
        }

    def products_by_options(self) -> dict[str, dict[str, dict[str, Any]]]:
        root = self.path / "results" / "hyp3" / "products"
        return {
            options.name: {
                manifest.parent.name: json.loads(manifest.read_text())
                for manifest in options.glob("*/verified.json")
            }
            for options in sorted(root.iterdir())
        }

    def status_rows(self) -> list[dict[str, str]]:
        lines = (self.path / "results" / "hyp3" / "status.tsv").read_text().splitlines()
        header = lines[0].split("\t")
        return [dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:]]


@pytest.fixture
def workdir(tmp_path: Path) -> Workdir:
    home = tmp_path / "home"
    home.mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("EARTHDATA_", "SNAKEMAKE_")) and key not in ("NETRC",)
    }
    env.update(
        HOME=str(home),
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
        EARTHDATA_TOKEN="sandbox-token",
    )
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    path = tmp_path / "work"
    path.mkdir()
    return Workdir(path=path, env=env)


def scene_pairs(count: int) -> list[tuple[str, str]]:
    """Up to 7 distinct pairs among the example scenes (a sequential network)."""
    pairs = [
        (SCENES[i], SCENES[j])
        for span in (1, 2, 3)
        for i in range(len(SCENES))
        for j in [i + span]
        if j < len(SCENES)
    ]
    return pairs[:count]
