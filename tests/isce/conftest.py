"""Fixtures for the ISCE2 topsStack path: a stand-in project and Snakemake runs on it.

Every Snakemake run happens in a temporary copy of the workflow, through the ``snakemake``
command line, with the topsStack stand-in first on PATH and the network blocked for every
Python process it starts (tests/isce/netguard); GDAL and requests are pointed at a closed
loopback proxy as a second fence.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.isce_standin.fixtures import (
    StackProject,
    copy_workflow,
    make_stack_project,
    repeat_dates,
    standin_env,
)

REPO = Path(__file__).resolve().parents[2]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
NETGUARD = Path(__file__).resolve().parent / "netguard"
TIMEOUT = 300
CLOSED_PROXY = "http://127.0.0.1:9"


@pytest.fixture(scope="session")
def project(tmp_path_factory: pytest.TempPathFactory) -> StackProject:
    """Three SAFE zips (12-day repeat, one swath used), covering EOFs, GLO-30 tiles, geoid."""
    return make_stack_project(
        tmp_path_factory.mktemp("isce-project"), repeat_dates(3), bursts_per_swath=2
    )


def isolated_env(home: Path, **extra: str) -> dict[str, str]:
    env = standin_env()
    env.update(
        HOME=str(home),
        XDG_CACHE_HOME=str(home / ".cache"),
        NETRC=str(home / "no-netrc"),
        PYTHONPATH=os.pathsep.join(filter(None, [str(NETGUARD), env.get("PYTHONPATH")])),
        INSARFLOW_NETGUARD_LOG=str(home / "network-attempts.txt"),
        HTTP_PROXY=CLOSED_PROXY,
        HTTPS_PROXY=CLOSED_PROXY,
        GDAL_HTTP_PROXY="127.0.0.1:9",
        NO_PROXY="127.0.0.1,localhost",
        NO_COLOR="1",
    )
    for name in ("CDSE_ACCESS_TOKEN", "CDSE_USERNAME", "CDSE_PASSWORD"):
        env.pop(name, None)
    env.update(extra)
    return env


@dataclass
class IsceWork:
    """A copy of the workflow configured for the stand-in project."""

    root: Path
    project: StackProject
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def home(self) -> Path:
        return self.root.parent / "home"

    @property
    def standin_log(self) -> Path:
        return self.root.parent / "standin.jsonl"

    def configure(
        self, *, connections: int = 2, pairs: list[tuple[str, str]] | None = None, **isce: Any
    ) -> None:
        settings = {
            "slc_dir": str(self.project.slc_dir),
            "orbit_dir": str(self.project.orbit_dir),
            "aux_dir": str(self.project.aux_dir),
            "dem_tile_dir": str(self.project.dem_tile_dir),
            "geoid_path": str(self.project.geoid_path),
            "swath_num": "1",
        }
        settings.update(isce)
        self.settings = settings
        config: dict[str, Any] = {"processor": "isce", "connections": connections, "isce": settings}
        if pairs:
            table = "reference\tsecondary\n" + "".join(f"{a}\t{b}\n" for a, b in pairs)
            (self.root / "pairs.tsv").write_text(table)
            config.update(pairs="pairs.tsv", scenes=None)
        else:
            (self.root / "scenes.txt").write_text("".join(f"{day}\n" for day in self.project.dates))
            config.update(pairs=None, scenes="scenes.txt")
        (self.root / "isce.yaml").write_text(yaml.safe_dump(config))

    def snakemake(
        self, *args: str, check: bool = True, **env: str
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [SNAKEMAKE, "--configfile", "isce.yaml", *args],
            cwd=self.root,
            env=isolated_env(self.home, ISCE_STANDIN_LOG=str(self.standin_log), **env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"snakemake {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
            )
        return result

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return self.snakemake("--cores", "2", "--show-failed-logs", *args, **env)

    def records(self) -> list[dict[str, Any]]:
        """Stand-in commands that ran (one JSON record per process), stackSentinel.py excluded."""
        if not self.standin_log.exists():
            return []
        records = [json.loads(line) for line in self.standin_log.read_text().splitlines() if line]
        return [record for record in records if record["program"] != "stackSentinel.py"]

    def network_attempts(self) -> str:
        attempts = self.home / "network-attempts.txt"
        return attempts.read_text() if attempts.exists() else ""

    def complete(self) -> dict[str, list[str]]:
        table: dict[str, list[str]] = {}
        for line in (self.root / "results" / "isce" / "complete.txt").read_text().splitlines():
            key, *values = line.split("\t")
            table.setdefault(key, []).extend(values)
        return table

    def stack_dirs(self) -> list[Path]:
        return sorted(path.parent for path in (self.root / "results" / "isce").glob("*/plan.json"))


def make_work(tmp_path: Path, project: StackProject) -> IsceWork:
    root = tmp_path / "work"
    root.mkdir()
    (tmp_path / "home").mkdir()
    copy_workflow(root)
    return IsceWork(root=root, project=project)


@pytest.fixture
def work(tmp_path: Path, project: StackProject) -> IsceWork:
    return make_work(tmp_path, project)


def unit_of(record: dict[str, Any]) -> str:
    """What a stand-in command worked on: its config file, or the program for plain commands."""
    return record.get("unit") or record["program"]
