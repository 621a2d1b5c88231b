"""Does every ISCE job fit a node of the SLURM partition it goes to?

A job that asks more CPUs or memory than any node of its partition has stays PENDING forever
(reason ``PartitionConfig`` or ``Resources``) and Snakemake waits with it, printing nothing.
Before anything is submitted, each step's threads and memory (``isce.step_resources``) are
compared with what ``sinfo`` reports for the partition's nodes; a step that cannot fit is one
line naming the step, what it asks for and what the nodes have. While a run goes on,
``HeldJobWatch`` reports any job SLURM holds for a reason that waiting never clears.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from insarflow.errors import UserError
from insarflow.isce.plan import step_resources


@dataclass(frozen=True)
class NodeShape:
    cpus: int
    mem_mb: int


def _number(text: str) -> int:
    return int(text.strip().rstrip("+").split("-")[-1] or 0)


def partition_nodes(partition: str | None) -> tuple[str, list[NodeShape]] | None:
    """The partition's name (its default when ``partition`` is empty) and its node shapes,
    or None when ``sinfo`` is not available or does not answer."""
    if shutil.which("sinfo") is None:
        return None
    command = ["sinfo", "--noheader", "--format=%P|%c|%m"]
    if partition:
        command.append(f"--partition={partition}")
    try:
        listing = subprocess.run(
            command, capture_output=True, text=True, timeout=30, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    shapes: dict[str, list[NodeShape]] = {}
    default = None
    for line in listing.splitlines():
        fields = line.strip().split("|")
        if len(fields) != 3:
            continue
        name = fields[0]
        if name.endswith("*"):
            name = name[:-1]
            default = name
        shapes.setdefault(name, []).append(NodeShape(_number(fields[1]), _number(fields[2])))
    chosen = partition or default
    if not chosen or chosen not in shapes:
        return None
    return chosen, shapes[chosen]


def step_requests(settings: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    """Threads and memory of every configured step (``default`` also stands for the rest)."""
    names = {"default", "stack_sentinel", *(settings.get("step_resources") or {})}
    return {name: step_resources(settings, name) for name in sorted(names)}


def check_fits(settings: Mapping[str, Any], partition: str | None) -> str | None:
    """UserError when a step cannot fit any node of the partition; the partition's name, or
    None when SLURM cannot be asked."""
    found = partition_nodes(partition)
    if found is None:
        return None
    name, nodes = found
    largest = max(nodes, key=lambda node: (node.cpus, node.mem_mb))
    for step, request in step_requests(settings).items():
        if not any(
            node.cpus >= request["threads"] and node.mem_mb >= request["mem_mb"] for node in nodes
        ):
            key = (
                "isce.step_resources.default (every step not listed)"
                if step == "default"
                else f"isce.step_resources.{step}"
            )
            raise UserError(
                f"{key} asks {request['threads']} threads and {request['mem_mb']} MB, but the "
                f"largest node of SLURM partition '{name}' has {largest.cpus} CPUs and "
                f"{largest.mem_mb} MB: the job could never start; lower it in your config"
            )
    return name


# squeue pending reasons that waiting never clears: the job asks for more than the partition,
# its account or its QOS allows, or depends on a job that failed.
REASONS_THAT_NEVER_CLEAR = frozenset(
    {
        "PartitionConfig",
        "PartitionNodeLimit",
        "PartitionTimeLimit",
        "BadConstraints",
        "InvalidAccount",
        "InvalidQOS",
        "QOSMaxCpuPerJobLimit",
        "QOSMaxMemoryPerJob",
        "QOSMaxNodePerJobLimit",
        "QOSMaxWallDurationPerJobLimit",
        "AssocMaxCpuPerJobLimit",
        "AssocMaxNodesPerJobLimit",
        "AssocMaxWallDurationPerJobLimit",
        "DependencyNeverSatisfied",
    }
)


@dataclass(frozen=True)
class HeldJob:
    job_id: str
    comment: str
    reason: str

    def message(self) -> str:
        return (
            f"insarflow: SLURM job {self.job_id} ({self.comment}) is held for a reason that "
            f"will not clear ({self.reason}): it can never start; run `scancel {self.job_id}`, "
            "then lower its resources (isce.step_resources) or pick another partition"
        )


def held_jobs() -> list[HeldJob]:
    """This user's pending Snakemake jobs that can never start (empty if squeue is missing)."""
    if shutil.which("squeue") is None:
        return []
    command = ["squeue", "--me", "--noheader", "--states=PENDING", "--format=%i|%k|%r"]
    try:
        listing = subprocess.run(
            command, capture_output=True, text=True, timeout=30, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    held = []
    for line in listing.splitlines():
        fields = line.strip().split("|")
        if (
            len(fields) == 3
            and fields[1].startswith("rule_")
            and fields[2] in REASONS_THAT_NEVER_CLEAR
        ):
            held.append(HeldJob(*fields))
    return held


class HeldJobWatch:
    """Reports, once each, the jobs of a running workflow that SLURM holds for good.

    Snakemake's SLURM executor only sees such a job as pending, so without this the run waits
    with it, silently, forever.
    """

    def __init__(self, report: Callable[[str], None], interval: float = 60.0) -> None:
        self.report = report
        self.interval = interval
        self.reported: set[str] = set()
        self._stop = threading.Event()

    def check(self) -> list[HeldJob]:
        new = [job for job in held_jobs() if job.job_id not in self.reported]
        for job in new:
            self.reported.add(job.job_id)
            self.report(job.message())
        return new

    def start(self) -> HeldJobWatch:
        def loop() -> None:
            while not self._stop.wait(self.interval):
                self.check()

        threading.Thread(target=loop, name="held-slurm-jobs", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
