"""Benchmark: ISCE2 stack makespan with run-file barriers against per-command dependencies
(and chains of commands run as one job), and the SLURM jobs a stack submits per grouping (a script, not a timed test).

The 100-date synthetic stack (NESD, 3 connections, one swath) goes through the real workflow:
the stand-in ``stackSentinel.py`` writes the real run files and configs, then every command
runs as its own Snakemake job. The commands are sleepers: each sleeps for its step's relative
duration (as in ``isce_stack.py``) times a heavy-tailed factor (lognormal, sigma 1, fixed
seed), scaled by ``--unit`` seconds, so 2 cores can host 48 concurrent jobs. (The stand-in's
file checks are what the tests use; here only the timing matters, and sleepers keep the
per-job CPU cost low.)

For ``isce.dependencies`` = ``steps`` (barriers) and ``files`` (per-command), at ``--cores``
12 and 48, it prints the makespan over the lower bound max(critical path, work / P), where
the critical path follows the true data dependencies and work is the sum of the sleeps.
It also prints the dry-run time of the full DAG (goal < 10 s), the SLURM jobs a
``--profile profiles/slurm`` dry run plans for each ``isce.grouping`` (goal: at least 40 %
fewer than the issue's 2,175), and the same comparison simulated by list scheduling with the
same durations at 200 concurrent jobs too (no per-job overhead).

    python benchmarks/isce_dependencies.py --cores 48 --unit 0.4   # about 25 min on 2 cores
    python benchmarks/isce_dependencies.py --cores 12 --unit 0.1 --skip-dry-runs
    python benchmarks/isce_dependencies.py --skip-runs            # dry runs, simulation: 2 min
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "isce_standin"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fixtures import STANDIN_BIN, copy_workflow, make_benchmark_project  # noqa: E402
from isce_stack import RELATIVE_DURATIONS  # noqa: E402

BASELINE_SLURM_JOBS = 2175  # issue 13: one SLURM job per command of the 100-date stack
PROGRAMS = (
    "SentinelWrapper.py",
    "subsetReference.py",
    "invertMisreg.py",
    "extractCommonValidRegion.py",
    "computeIon.py",
    "mergeSwathIon.py",
    "invertIon.py",
)
SLEEPER = """#!{python} -S
# benchmark sleeper: sleep for this command's duration, record start and end
import json, os, sys, time
start = time.time()
line = " ".join([os.path.basename(sys.argv[0]), *sys.argv[1:]])
with open({durations!r}) as handle:
    seconds = json.load(handle).get(line, 0.0)
time.sleep(seconds)
record = json.dumps({{"line": line, "start": start, "end": time.time()}}) + "\\n"
fd = os.open({log!r}, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
os.write(fd, record.encode())
os.close(fd)
"""


def sleepers(directory: Path, durations: Path, log: Path) -> Path:
    directory.mkdir()
    real = shutil.which("stackSentinel.py", path=str(STANDIN_BIN))
    (directory / "stackSentinel.py").write_text(f'#!/bin/sh\nexec {real} "$@"\n')
    text = SLEEPER.format(python=sys.executable, durations=str(durations), log=str(log))
    for name in PROGRAMS:
        (directory / name).write_text(text)
    for path in directory.iterdir():
        path.chmod(0o755)
    return directory


def configure(work: Path, project, connections: int, **isce: object) -> None:
    (work / "scenes.txt").write_text("".join(f"{day}\n" for day in project.dates))
    settings = {
        "slc_dir": str(project.slc_dir),
        "orbit_dir": str(project.orbit_dir),
        "aux_dir": str(project.aux_dir),
        "dem_tile_dir": str(project.dem_tile_dir),
        "geoid_path": str(project.geoid_path),
        "swath_num": "1",
        "coregistration": "NESD",
        "step_resources": {"default": {"threads": 1, "mem_mb": 1000, "runtime": 600}},
        **isce,
    }
    config = {
        "processor": "isce",
        "pairs": None,
        "scenes": "scenes.txt",
        "connections": connections,
        "isce": settings,
    }
    (work / "bench.yaml").write_text(json.dumps(config))


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def slurm_plugin_startup(env: dict[str, str]) -> float:
    """Seconds that importing the SLURM executor plugin adds to every snakemake start here."""

    def run(code: str) -> float:
        started = time.monotonic()
        subprocess.run([sys.executable, "-c", code], env=env, check=True)
        return time.monotonic() - started

    return max(0.0, run("import snakemake_executor_plugin_slurm") - run("import snakemake"))


def snakemake(work: Path, env: dict[str, str], *args: str) -> tuple[float, str]:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "--configfile", "bench.yaml", *args],
        cwd=work,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(
            f"snakemake {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return time.monotonic() - started, result.stdout + result.stderr


def step_kind(name: str) -> str:
    return name.split("_", 2)[2]


def assign_durations(plan: dict, unit: float, seed: int) -> dict[tuple[str, int], float]:
    rng = random.Random(seed)
    return {
        (step["name"], command["index"]): unit
        * RELATIVE_DURATIONS.get(step_kind(step["name"]), 2)
        * rng.lognormvariate(0.0, 1.0)
        for step in plan["steps"]
        for command in step["commands"]
    }


def bound(plan: dict, durations: dict, cores: int) -> tuple[float, float, float]:
    """(work, critical path over the data dependencies, max of critical path and work/P)."""
    finish: dict[tuple[str, int], float] = {}
    for step in plan["steps"]:
        for command in step["commands"]:
            key = (step["name"], command["index"])
            ready = max((finish[tuple(a)] for a in command["after"]), default=0.0)
            finish[key] = ready + durations[key]
    work = sum(durations.values())
    critical = max(finish.values())
    return work, critical, max(critical, work / cores)


def tasks_of(plan: dict, durations: dict, mode: str, grouping: str) -> tuple[list, dict]:
    """Scheduling units: (duration, deps) per task id, for a list-scheduling simulation."""
    order = [(s["name"], c) for s in plan["steps"] for c in s["commands"]]
    task_of: dict[tuple[str, int], str] = {}
    for name, command in order:
        chain = (
            None
            if grouping == "none"
            else command.get("long_chain" if grouping == "long_chains" else "chain")
        )
        task_of[name, command["index"]] = chain or f"{name}-{command['index']}"
    duration: dict[str, float] = defaultdict(float)
    deps: dict[str, set[str]] = defaultdict(set)
    steps = [s["name"] for s in plan["steps"]]
    for name, command in order:
        key = (name, command["index"])
        task = task_of[key]
        duration[task] += durations[key]
        if mode == "steps":
            number = steps.index(name)
            if number:
                deps[task] |= {
                    task_of[steps[number - 1], c["index"]]
                    for c in plan["steps"][number - 1]["commands"]
                }
        else:
            deps[task] |= {task_of[tuple(a)] for a in command["after"]}
        deps[task].discard(task)
    return list(duration), {t: (duration[t], deps[t]) for t in duration}


def simulate(plan: dict, durations: dict, cores: int, mode: str, grouping: str) -> float:
    """Makespan of greedy list scheduling (ready tasks in plan order) on ``cores`` slots."""
    order, tasks = tasks_of(plan, durations, mode, grouping)
    position = {task: number for number, task in enumerate(order)}
    waiting = {task: set(deps) for task, (_, deps) in tasks.items()}
    dependents: dict[str, list[str]] = defaultdict(list)
    for task, (_, deps) in tasks.items():
        for dep in deps:
            dependents[dep].append(task)
    ready = [(position[t], t) for t, deps in waiting.items() if not deps]
    heapq.heapify(ready)
    running: list[tuple[float, str]] = []
    now = 0.0
    while ready or running:
        while ready and len(running) < cores:
            _, task = heapq.heappop(ready)
            heapq.heappush(running, (now + tasks[task][0], task))
        now, task = heapq.heappop(running)
        for other in dependents[task]:
            waiting[other].discard(task)
            if not waiting[other]:
                heapq.heappush(ready, (position[other], other))
    return now


def slurm_jobs(output: str) -> int:
    """SLURM jobs a --profile profiles/slurm dry run plans (jobs of non-local rules; a chain
    of commands is one isce_chain job)."""
    groups = len(re.findall(r"^\[.*\] Group job ", output, re.MULTILINE))
    singles = len(
        re.findall(r"^rule (?:isce_command|isce_chain|isce_run_files):", output, re.MULTILINE)
    )
    return groups + singles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dates", type=int, default=100)
    parser.add_argument("--connections", type=int, default=3)
    parser.add_argument("--cores", type=int, nargs="+", default=[12, 48])
    parser.add_argument("--unit", type=float, default=0.2, help="seconds per duration unit")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--skip-runs", action="store_true", help="dry runs and simulation only")
    parser.add_argument("--skip-dry-runs", action="store_true")
    parser.add_argument(
        "--modes",
        default="barriers,fine,chains,long_chains",
        help="real runs: barriers (isce.dependencies steps), fine (files, no chains), "
        "chains, long_chains",
    )
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="isce-deps-bench-"))
    try:
        project = make_benchmark_project(root / "project", args.dates, bursts_per_swath=2)
        work = root / "work"
        work.mkdir()
        copy_workflow(work)
        configure(work, project, args.connections)
        durations_file, log = root / "durations.json", root / "sleeps.jsonl"
        durations_file.write_text("{}")
        env = dict(os.environ)
        env["PATH"] = os.pathsep.join(
            [str(sleepers(root / "bin", durations_file, log)), env["PATH"]]
        )
        env.pop("INSARFLOW_PYTHON", None)
        quiet = ("--scheduler", "greedy", "--quiet", "all")
        snakemake(work, env, "--cores", "2", *quiet, "--until", "isce_run_files")
        (plan_file,) = (work / "results" / "isce").glob("*/plan.json")
        plan = json.loads(plan_file.read_text())
        commands = sum(len(s["commands"]) for s in plan["steps"])
        print(
            f"stack: {args.dates} dates, {args.connections} connections, NESD: {commands} commands"
        )

        # --- dry runs: DAG time and the SLURM jobs per grouping ---
        groupings = () if args.skip_dry_runs else ("none", "chains", "long_chains")
        cpu_before = _children_cpu()
        wall, output = snakemake(work, env, "-n")
        cpu = _children_cpu() - cpu_before
        plugin = slurm_plugin_startup(env)
        print(
            f"dry run of the full DAG: {wall:.1f} s wall, {cpu:.1f} s CPU; of the wall time, "
            f"{plugin:.1f} s is the SLURM executor plugin's import (it runs `scontrol show "
            "config` and waits up to 10 s when no controller answers: about 0 s on a cluster or "
            f"without slurm-wlm); the workflow's dry run: {wall - plugin:.1f} s (goal < 10 s)"
        )
        for grouping in groupings:
            configure(work, project, args.connections, grouping=grouping)
            wall, output = snakemake(work, env, "-n", "--profile", str(REPO / "profiles" / "slurm"))
            jobs = slurm_jobs(output)
            print(
                f"SLURM jobs planned with grouping {grouping:<11}: {jobs:5d} "
                f"({100 * (1 - jobs / BASELINE_SLURM_JOBS):.0f} % fewer than "
                f"{BASELINE_SLURM_JOBS}; goal: at least 40 % fewer with the default) "
                f"[dry run {wall:.1f} s]"
            )

        durations = assign_durations(plan, args.unit, args.seed)
        durations_file.write_text(
            json.dumps(
                {
                    command["lines"][0]: durations[step["name"], command["index"]]
                    for step in plan["steps"]
                    for command in step["commands"]
                }
            )
        )
        # --- simulation: what grouping costs (local runs ignore groups) ---
        print(
            "simulated makespan / lower bound (greedy list scheduling, same durations, no overhead):"
        )
        for cores in (*args.cores, 200):
            _, _, lower = bound(plan, durations, cores)
            cells = [
                f"{label} {simulate(plan, durations, cores, mode, grouping) / lower:.2f}x"
                for label, mode, grouping in (
                    ("barriers", "steps", "none"),
                    ("fine", "files", "none"),
                    ("fine+chains", "files", "chains"),
                    ("fine+long_chains", "files", "long_chains"),
                )
            ]
            print(f"  P={cores:<3}: " + ", ".join(cells))
        if args.skip_runs:
            return

        # --- real runs: the workflow with sleeping commands ---
        print(f"real runs (unit {args.unit:g} s, lognormal sigma 1, seed {args.seed}):")
        for cores in args.cores:
            work_total, critical, lower = bound(plan, durations, cores)
            runs = {
                "barriers": ("barriers (steps)", "steps", "none"),
                "fine": ("fine-grained (files)", "files", "none"),
                "chains": ("fine-grained + chains", "files", "chains"),
                "long_chains": ("fine-grained + long_chains", "files", "long_chains"),
            }
            for label, mode, grouping in (runs[name] for name in args.modes.split(",")):
                configure(work, project, args.connections, dependencies=mode, grouping=grouping)
                shutil.rmtree(plan_file.parent / "chains", ignore_errors=True)
                shutil.rmtree(plan_file.parent / "steps", ignore_errors=True)
                shutil.rmtree(work / "logs" / "isce", ignore_errors=True)
                log.unlink(missing_ok=True)
                wall, _ = snakemake(work, env, "--cores", str(cores), *quiet)
                records = [json.loads(line) for line in log.read_text().splitlines()]
                assert len(records) == commands, (len(records), commands)
                makespan = max(r["end"] for r in records) - min(r["start"] for r in records)
                goal = ""
                if cores == 48:
                    goal = " (goal <= 1.3x)" if mode == "files" else " (issue: about 1.9x)"
                print(
                    f"  P={cores:<3} {label:<27}: makespan {makespan:7.1f} s, bound "
                    f"{lower:7.1f} s (critical path {critical:.1f} s, work/P "
                    f"{work_total / cores:.1f} s) -> {makespan / lower:.2f}x{goal}; "
                    f"whole run {wall:.0f} s"
                )
    finally:
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
