"""What the Snakemake input functions of rules/isce.smk return, computed from the config.

The job graph: DEM (unless ``isce.dem_path``) and inputs (orbits, AUX_CAL note, request) ->
run-file checkpoint -> one ``isce_command`` job per run-file command, each waiting for the
commands whose outputs it reads (:mod:`insarflow.isce.dependencies`; with
``isce.dependencies: steps`` for the whole previous run file, as ``run.py`` does) -> one
``isce_step`` marker per run file -> ``results/isce/<fp>/complete.txt`` -> its copy
``results/isce/complete.txt``. Every command has its own log and marker; on a cluster, the
commands of one chain (``isce.grouping``) are submitted as one job.

The copy exists because Snakemake does not look behind a checkpoint whose output does not exist
yet: a finished ``complete.txt`` whose inputs came from the checkpoint would stay "up to date"
after a settings change. The copy's input is the current fingerprint's file, known at parse time.

Nothing here writes to disk: parsing the workflow (and ``snakemake -n``) has no side effects.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from insarflow.isce.plan import (
    Plan,
    command_marker,
    request_path,
    stack_root,
    step_marker,
    step_resources,
)
from insarflow.isce.stack import StackRequest, build_stack_request

STACK_SENTINEL_RESOURCES = "stack_sentinel"  # isce.step_resources key of the run-file job


class IsceWorkflow:
    """The ISCE part of one configuration: its stack request and the paths of its jobs."""

    def __init__(self, settings: Mapping[str, Any], pair_dates: Iterable[tuple[str, str]]) -> None:
        pair_dates = sorted(set(pair_dates))
        self.settings = dict(settings)
        self.request: StackRequest = build_stack_request(self.settings, pair_dates)
        self.fingerprint = self.request.fingerprint
        self.pairs = frozenset(pair_dates)

    # --- before the checkpoint ---

    @property
    def dem(self) -> str:
        return self.request.dem

    def dem_settings(self, dem_file: str) -> dict[str, Any]:
        settings = self.settings
        return {
            "bbox": None if settings.get("full_frame") else settings.get("bbox"),
            "margin": settings["dem_margin"],
            "tile_dir": settings.get("dem_tile_dir"),
            "geoid_path": settings.get("geoid_path"),
            # The .xml holds absolute paths: a moved project needs a new one.
            "location": os.path.abspath(dem_file),
        }

    def run_files_inputs(self) -> dict[str, Any]:
        root = stack_root(self.fingerprint)
        return {
            "request": request_path(self.fingerprint),
            "orbits": f"{root}/orbits.tsv",
            "aux_cal": f"{root}/aux_cal.txt",
            "dem": self.dem,
            "dem_xml": f"{self.dem}.xml",
            "safes": list(self.request.safes),
        }

    def resources(self, step: str = STACK_SENTINEL_RESOURCES) -> dict[str, int]:
        """Threads, mem_mb and runtime of a run file (or of the run-file generation job)."""
        return step_resources(self.settings, step)

    def command_runtime(self, fingerprint: str, step: str, index: int) -> int:
        """Minutes for the command's next attempt: the step's runtime, longer after time-outs
        (``isce.runtime_retry_factor`` per time-out in a row, at most ``runtime_retry_max``)."""
        from insarflow.isce.commands import attempt_runtime

        return attempt_runtime(
            self.resources(step)["runtime"],
            command_marker(fingerprint, step, index),
            float(self.settings.get("runtime_retry_factor", 1.5)),
            float(self.settings.get("runtime_retry_max", 2880)),
        )

    # --- after the checkpoint ---

    @property
    def waits_for_steps(self) -> bool:
        """``isce.dependencies: steps``: every command waits for the whole previous run file."""
        return self.settings.get("dependencies", "files") == "steps"

    def command_inputs(self, plan: Plan, plan_file: str, step: str, index: int) -> dict[str, Any]:
        """The plan, and the markers of the commands this one waits for: those whose outputs
        it reads (plan ``after``), or the whole previous step when its inputs are unknown or
        ``isce.dependencies`` is ``steps``."""
        inputs: dict[str, Any] = {"plan": plan_file}
        command = plan.command(step, index)
        if self.waits_for_steps or command.get("barrier", True):
            previous = plan.previous_step(step)
            if previous:
                inputs["previous"] = step_marker(plan.fingerprint, previous)
        else:
            inputs["after"] = [
                command_marker(plan.fingerprint, name, number) for name, number in command["after"]
            ]
        return inputs

    def command_group(self, plan: Plan, step: str, index: int) -> str | None:
        """The cluster job a command shares with the rest of its chain (``isce.grouping``)."""
        grouping = self.settings.get("grouping", "chains")
        if grouping == "none" or self.waits_for_steps:
            return None
        chain = plan.command(step, index).get(
            "long_chain" if grouping == "long_chains" else "chain"
        )
        return f"isce-{plan.fingerprint}-{chain}" if chain else None

    def step_inputs(self, plan: Plan, step: str) -> dict[str, Any]:
        """Markers of the step's selected commands, plus the previous step (for empty steps)."""
        inputs: dict[str, Any] = {
            "commands": [
                command_marker(plan.fingerprint, step, command["index"])
                for command in plan.selected_commands(step, self.pairs)
            ]
        }
        previous = plan.previous_step(step)
        if previous:
            inputs["previous"] = step_marker(plan.fingerprint, previous)
        return inputs

    def last_step_marker(self, plan: Plan) -> str:
        return step_marker(plan.fingerprint, plan.step_names[-1])
