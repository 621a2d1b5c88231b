"""What the Snakemake input functions of rules/isce.smk return, computed from the config.

The job graph: DEM (unless ``isce.dem_path``) and inputs (orbits, AUX_CAL note, request) ->
run-file checkpoint -> one ``isce_command`` job per run-file command, each waiting for the
commands whose outputs it reads (:mod:`insarflow.isce.dependencies`; with
``isce.dependencies: steps`` for the whole previous run file, as ``run.py`` does) -> one
``isce_step`` marker per run file -> ``results/isce/<fp>/complete.txt`` -> its copy
``results/isce/complete.txt``. With ``isce.grouping``, the commands of a chain (one date or
pair, back to back) run as one ``isce_chain`` job instead; every command still has its own
log and marker.

The copy exists because Snakemake does not look behind a checkpoint whose output does not exist
yet: a finished ``complete.txt`` whose inputs came from the checkpoint would stay "up to date"
after a settings change. The copy's input is the current fingerprint's file, known at parse time.

Nothing here writes to disk: parsing the workflow (and ``snakemake -n``) has no side effects.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from insarflow import paths
from insarflow.isce.plan import Plan, step_resources
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
        self._chains: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        self._chains_key: tuple[Plan, str] | None = None

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
        fingerprint = self.fingerprint
        return {
            "request": paths.ISCE_REQUEST.format(fingerprint=fingerprint),
            "orbits": paths.ISCE_ORBITS.format(fingerprint=fingerprint),
            "aux_cal": paths.ISCE_AUX_CAL.format(fingerprint=fingerprint),
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
            paths.isce_command_done(fingerprint, step, index),
            float(self.settings.get("runtime_retry_factor", 1.5)),
            float(self.settings.get("runtime_retry_max", 2880)),
        )

    # --- after the checkpoint ---

    @property
    def waits_for_steps(self) -> bool:
        """``isce.dependencies: steps``: every command waits for the whole previous run file."""
        return self.settings.get("dependencies", "files") == "steps"

    @property
    def grouping(self) -> str:
        """``none``, ``chains`` or ``long_chains``; chains need per-command dependencies."""
        return "none" if self.waits_for_steps else self.settings.get("grouping", "long_chains")

    def chain_of(self, command: dict[str, Any]) -> str | None:
        if self.grouping == "none":
            return None
        return command.get("long_chain" if self.grouping == "long_chains" else "chain")

    def job_marker(self, plan: Plan, step: str, index: int) -> str:
        """The marker of the job that runs a command: its own, or its chain's."""
        chain = self.chain_of(plan.command(step, index))
        if chain:
            return paths.isce_chain_done(plan.fingerprint, self.grouping, chain)
        return paths.isce_command_done(plan.fingerprint, step, index)

    def _waits_for(self, plan: Plan, step: str, command: dict[str, Any]) -> dict[str, Any]:
        if self.waits_for_steps or command.get("barrier", True):
            previous = plan.previous_step(step)
            return (
                {"previous": paths.isce_step_done(plan.fingerprint, previous)} if previous else {}
            )
        return {"after": [self.job_marker(plan, name, number) for name, number in command["after"]]}

    def command_inputs(self, plan: Plan, plan_file: str, step: str, index: int) -> dict[str, Any]:
        """The plan, and the markers of the jobs this command waits for: those whose outputs
        it reads (plan ``after``), or the whole previous step when its inputs are unknown or
        ``isce.dependencies`` is ``steps``."""
        return {"plan": plan_file, **self._waits_for(plan, step, plan.command(step, index))}

    def chain_members(self, plan: Plan, chain: str) -> list[tuple[str, dict[str, Any]]]:
        """(step, command) of the chain, in run order (indexed once per plan)."""
        cached = self._chains_key
        if cached is None or cached[0] is not plan or cached[1] != self.grouping:
            self._chains = {}
            for entry in plan.steps:
                for command in entry["commands"]:
                    name = self.chain_of(command)
                    if name:
                        self._chains.setdefault(name, []).append((entry["name"], command))
            self._chains_key = (plan, self.grouping)
        return self._chains.get(chain, [])

    def chain_inputs(self, plan: Plan, plan_file: str, chain: str) -> dict[str, Any]:
        """What the chain's commands wait for outside the chain."""
        own = paths.isce_chain_done(plan.fingerprint, self.grouping, chain)
        waits: set[str] = set()
        for step, command in self.chain_members(plan, chain):
            for markers in self._waits_for(plan, step, command).values():
                waits.update([markers] if isinstance(markers, str) else markers)
        waits.discard(own)
        return {"plan": plan_file, "after": sorted(waits)}

    def chain_resources(self, plan: Plan, chain: str) -> dict[str, Any]:
        """Threads and memory of its largest command, runtime of all (each after its own
        time-outs, plus a minute per command), and ``step:index=minutes`` for the runner."""
        members = self.chain_members(plan, chain)
        runtimes = [
            (step, command["index"], self.command_runtime(plan.fingerprint, step, command["index"]))
            for step, command in members
        ]
        return {
            "threads": max(self.resources(step)["threads"] for step, _ in members),
            "mem_mb": max(self.resources(step)["mem_mb"] for step, _ in members),
            "runtime": int(sum(minutes for *_, minutes in runtimes)) + len(runtimes),
            "runtimes": ",".join(
                f"{step}:{index}={minutes:g}" for step, index, minutes in runtimes
            ),
        }

    def step_inputs(self, plan: Plan, step: str) -> dict[str, Any]:
        """Markers of the step's selected commands, plus the previous step (for empty steps)."""
        inputs: dict[str, Any] = {
            "commands": sorted(
                {
                    self.job_marker(plan, step, command["index"])
                    for command in plan.selected_commands(step, self.pairs)
                }
            )
        }
        previous = plan.previous_step(step)
        if previous:
            inputs["previous"] = paths.isce_step_done(plan.fingerprint, previous)
        return inputs

    def last_step_marker(self, plan: Plan) -> str:
        return paths.isce_step_done(plan.fingerprint, plan.step_names[-1])
