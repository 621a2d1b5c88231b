"""The parsed run files of one stack (``plan.json``), and the layout of a stack's files.

``plan.json`` is written once by the run-file checkpoint and then read by every input function
and every command job, so it is loaded once per process and cached by path and mtime.

Layout of one stack (``<fp>`` is the settings fingerprint, see :mod:`insarflow.isce.stack`)::

    resources/dem/glo30_<key>/dem.wgs84*    stitched DEM (raw, .xml, .vrt), shared by stacks
    results/isce/<fp>/orbits.tsv            SAFE -> covering EOF
    results/isce/<fp>/aux_cal.txt           AUX_CAL directory and notes
    results/isce/<fp>/request.json          what stackSentinel.py is asked for (argv, SAFEs)
    results/isce/<fp>/safe_list.txt         its -s argument
    results/isce/<fp>/plan.json             steps -> commands, parsed from run_files/
    results/isce/<fp>/stack/                the topsStack work dir (-w): run_files/, merged/ ...
    results/isce/<fp>/steps/<step>/<i>.done one marker per finished command
    results/isce/<fp>/steps/<step>.done     the step is complete
    results/isce/<fp>/chains/<grouping>/<chain>.done   a chain of commands run as one job
    results/isce/<fp>/complete.txt          every step done (copied to results/isce/complete.txt)
    logs/isce/<fp>/<step>/<i>.log           one log per command

The templates are in :mod:`insarflow.paths` (``ISCE_*``, ``DEM``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from insarflow.config import schema_defaults
from insarflow.files import write_json_atomic
from insarflow.isce.runfiles import Step, step_kind

# 2: one command per line, each with after/barrier/unit/chain/long_chain (dependencies.py)
PLAN_FORMAT = 2


@dataclass
class Plan:
    """Steps and commands of one stack, in run-file order."""

    fingerprint: str
    work_dir: str  # absolute topsStack work dir
    text_cmd: str
    tops_dir: str | None  # where stackSentinel.py was found (PATH for the commands)
    reference_date: str | None
    dates: list[str]
    steps: list[dict[str, Any]]
    _step_index: dict[str, int] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self._step_index = {step["name"]: number for number, step in enumerate(self.steps)}

    @classmethod
    def from_steps(
        cls,
        fingerprint: str,
        work_dir: str,
        text_cmd: str,
        tops_dir: str | None,
        reference_date: str | None,
        dates: Iterable[str],
        steps: Iterable[Step],
    ) -> Plan:
        return cls(
            fingerprint=fingerprint,
            work_dir=work_dir,
            text_cmd=text_cmd,
            tops_dir=tops_dir,
            reference_date=reference_date,
            dates=sorted(dates),
            steps=[
                {"name": step.name, "commands": [command.to_json() for command in step.commands]}
                for step in steps
            ],
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "format": PLAN_FORMAT,
            "fingerprint": self.fingerprint,
            "work_dir": self.work_dir,
            "text_cmd": self.text_cmd,
            "tops_dir": self.tops_dir,
            "reference_date": self.reference_date,
            "dates": self.dates,
            "steps": self.steps,
        }

    def write(self, path: str | Path) -> None:
        write_json_atomic(path, self.to_json())

    @property
    def step_names(self) -> list[str]:
        return [step["name"] for step in self.steps]

    def step(self, name: str) -> dict[str, Any]:
        try:
            return self.steps[self._step_index[name]]
        except KeyError:
            raise KeyError(
                f"step {name!r} is not in the run files of stack {self.fingerprint}"
            ) from None

    def previous_step(self, name: str) -> str | None:
        number = self._step_index[name]
        return self.steps[number - 1]["name"] if number else None

    def command(self, step: str, index: int) -> dict[str, Any]:
        commands = self.step(step)["commands"]
        if not 1 <= index <= len(commands) or commands[index - 1]["index"] != index:
            raise KeyError(f"step {step} has no command {index}")
        return commands[index - 1]

    def pairs(self) -> set[tuple[str, str]]:
        """Interferogram-network pairs present in the run files."""
        return {
            (command["pair"][0], command["pair"][1])
            for step in self.steps
            for command in step["commands"]
            if command["pair"]
        }

    def selected_commands(
        self, step: str, pairs: set[tuple[str, str]] | None
    ) -> list[dict[str, Any]]:
        """Commands of ``step`` to run: all date-level ones, pair-level ones only for ``pairs``."""
        commands = self.step(step)["commands"]
        if pairs is None:
            return commands
        return [
            command
            for command in commands
            if not command["pair"] or tuple(command["pair"]) in pairs
        ]


_CACHE: dict[str, tuple[tuple[int, int], Plan]] = {}


def load_plan(path: str | Path) -> Plan:
    """The plan at ``path``, parsed once per process and re-read only when the file changes."""
    key = os.fspath(path)
    stat = os.stat(key)
    stamp = (stat.st_mtime_ns, stat.st_size)
    cached = _CACHE.get(key)
    if cached and cached[0] == stamp:
        return cached[1]
    with open(key) as handle:
        data = json.load(handle)
    if data.get("format") != PLAN_FORMAT:
        raise ValueError(f"{key} has plan format {data.get('format')}, expected {PLAN_FORMAT}")
    data.pop("format")
    plan = Plan(**data)
    _CACHE[key] = (stamp, plan)
    return plan


def step_resources(settings: dict[str, Any], step: str) -> dict[str, int]:
    """Threads, mem_mb and runtime of a step (run file name or step kind) from isce.step_resources."""
    table = settings.get("step_resources") or {}
    merged = schema_defaults("isce", "step_resources", "default")
    merged.update(table.get("default") or {})
    merged.update(table.get(step_kind(step)) or {})
    return merged
