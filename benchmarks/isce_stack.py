"""Benchmark: the ISCE2 topsStack path as Snakemake jobs (a script, not a timed test).

Builds a stand-in stack (tests/isce_standin: SAFE zips, EOFs, GLO-30 tiles, geoid and the
topsStack stand-in executables) of ``--dates`` dates paired with ``--connections`` connections,
NESD coregistration, one swath, in a temporary directory, runs the workflow with the
``snakemake`` command line and prints:

* jobs in the DAG once the run files exist (every run-file command is one job);
* dry-run wall time and peak memory: before the run files exist, with them (the full DAG) and
  after completion (nothing to do);
* per-job overhead with near-zero command durations (the stand-in only writes small files);
* the makespan of the commands with realistic relative durations per step against the lower
  bound max(critical path, total work / cores). The critical path follows the workflow's step
  chain (a step starts when the previous one is complete); work is the commands' durations as
  the stand-in measured them.

Goals (issue 5): dry run under 10 s, under 0.1 s overhead per job.

    /work/venv/bin/python benchmarks/isce_stack.py                  # 100 dates, 3 connections
    /work/venv/bin/python benchmarks/isce_stack.py --dates 20 --unit 0.02
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "isce_standin"))

from fixtures import (  # noqa: E402
    STANDIN_BIN,
    copy_workflow,
    make_benchmark_project,
    standin_env,
)

# `snakemake` itself, timing its import (which loads the executor plugins) apart from the rest.
DRIVER = """
import sys, time
started = time.monotonic()
from snakemake.cli import main
imported = time.monotonic()
try:
    main(sys.argv[1:])
    code = 0
except SystemExit as exit:
    code = exit.code
print(f"BENCH-TIMES {imported - started:.3f} {time.monotonic() - imported:.3f}")
sys.exit(code)
"""
NULL_PROGRAMS = (
    "SentinelWrapper.py",
    "subsetReference.py",
    "invertMisreg.py",
    "extractCommonValidRegion.py",
    "computeIon.py",
    "mergeSwathIon.py",
    "invertIon.py",
)
# Relative durations per step (units of --unit seconds), roughly as a real NESD stack spends
# them: topo and unwrapping dominate, merges and baselines are quick.
RELATIVE_DURATIONS = {
    "unpack_topo_reference": 40,
    "unpack_secondary_slc": 6,
    "average_baseline": 1,
    "extract_burst_overlaps": 3,
    "overlap_geo2rdr": 4,
    "overlap_resample": 3,
    "pairs_misreg": 4,
    "timeseries_misreg": 2,
    "fullBurst_geo2rdr": 10,
    "fullBurst_resample": 8,
    "extract_stack_valid_region": 2,
    "merge_reference_secondary_slc": 2,
    "generate_burst_igram": 4,
    "merge_burst_igram": 3,
    "filter_coherence": 5,
    "unwrap": 20,
}


def make_workdir(root: Path, name: str, project, dates: list[str], connections: int) -> Path:
    work = root / name
    work.mkdir()
    copy_workflow(work)
    (work / "scenes.txt").write_text("".join(f"{day}\n" for day in dates))
    (work / "bench.yaml").write_text(
        json.dumps(
            {
                "processor": "isce",
                "pairs": None,
                "scenes": "scenes.txt",
                "connections": connections,
                "isce": {
                    "slc_dir": str(project.slc_dir),
                    "orbit_dir": str(project.orbit_dir),
                    "aux_dir": str(project.aux_dir),
                    "dem_tile_dir": str(project.dem_tile_dir),
                    "geoid_path": str(project.geoid_path),
                    "swath_num": "1",
                    "coregistration": "NESD",
                    # one core per command (the example config gives unwrap and others more),
                    # so the bound's work / cores counts every command once
                    "step_resources": {
                        step: {"threads": 1} for step in ("default", *RELATIVE_DURATIONS)
                    },
                },
            }
        )
    )
    return work


def snakemake(work: Path, env: dict[str, str], *args: str) -> tuple[float, float, str]:
    """Run snakemake; return wall seconds after its import, its peak RSS (MiB) and its output."""
    output_file = work / ".bench-output.txt"
    with open(output_file, "w") as output:
        process = subprocess.Popen(
            [sys.executable, "-c", DRIVER, "--configfile", "bench.yaml", *args],
            cwd=work,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        # wait4 gives this child's own peak memory (not the largest of all children so far)
        _, status, usage = os.wait4(process.pid, 0)
    text = output_file.read_text()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"snakemake {' '.join(args)} failed:\n{text[-4000:]}")
    times = re.search(r"^BENCH-TIMES (\S+) (\S+)$", text, re.MULTILINE)
    IMPORT_TIMES.append(float(times[1]))
    return float(times[2]), usage.ru_maxrss / 1024, text


IMPORT_TIMES: list[float] = []


def job_count(output: str) -> int:
    match = re.search(r"^total\s+(\d+)\s*$", output, re.MULTILINE)
    return int(match[1]) if match else 0


def null_tools(directory: Path) -> Path:
    """topsStack programs that do nothing (exit 0 at once): the commands' own cost drops out of
    the overhead measurement. stackSentinel.py still writes the real run files."""
    directory.mkdir()
    real = Path(shutil.which("stackSentinel.py", path=str(STANDIN_BIN)))
    (directory / "stackSentinel.py").write_text(f'#!/bin/sh\nexec {real} "$@"\n')
    for name in NULL_PROGRAMS:
        (directory / name).write_text("#!/bin/sh\nexit 0\n")
    for path in directory.iterdir():
        path.chmod(0o755)
    return directory


def read_standin_log(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def step_of(record: dict) -> str:
    return record.get("step") or record.get("program", "?")


def runner_durations(work: Path) -> dict[str, list[float]]:
    """Wall time of every command as the runner measured it (process start-up included)."""
    durations: dict[str, list[float]] = defaultdict(list)
    for log in (work / "logs" / "isce").glob("*/run_*/*.log"):
        last = log.read_text().rstrip().rsplit("\n", 1)[-1]
        if last.startswith("# done in"):
            durations[log.parent.name.split("_", 2)[2]].append(float(last.split()[3]))
    return durations


def report_bound(label: str, by_step: dict[str, list[float]], makespan: float, cores: int) -> None:
    """Lower bound max(critical path, work / cores); the critical path follows the step chain."""
    work = sum(sum(values) for values in by_step.values())
    critical_path = sum(max(values) for values in by_step.values())
    bound = max(critical_path, work / cores)
    print(
        f"{label}: work {work:.1f} s, critical path {critical_path:.1f} s, lower bound "
        f"{bound:.1f} s -> makespan = {makespan / bound:.2f} x bound"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dates", type=int, default=100)
    parser.add_argument("--connections", type=int, default=3)
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--unit", type=float, default=0.05, help="seconds per duration unit")
    parser.add_argument("--scheduler", default="greedy", choices=["greedy", "ilp"])
    parser.add_argument("--skip-makespan", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="isce-bench-"))
    try:
        t0 = time.monotonic()
        project = make_benchmark_project(root / "project", args.dates, bursts_per_swath=2)
        print(f"stand-in project: {args.dates} dates in {time.monotonic() - t0:.1f} s ({root})")
        run_args = ("--cores", str(args.cores), "--scheduler", args.scheduler, "--quiet", "all")

        # --- near-zero durations: DAG size, dry runs, per-job overhead ---
        work = make_workdir(root, "zero", project, project.dates, args.connections)
        env = dict(os.environ)
        env["PATH"] = os.pathsep.join([str(null_tools(root / "null-bin")), env["PATH"]])
        wall, peak, _ = snakemake(work, env, "-n")
        print(f"dry run before the run files exist: {wall:.2f} s, peak {peak:.0f} MiB")
        wall, _, _ = snakemake(work, env, *run_args, "--until", "isce_run_files")
        print(f"inputs and run files (DEM, orbits, stackSentinel.py): {wall:.1f} s")
        wall, peak, output = snakemake(work, env, "-n")
        jobs = job_count(output)
        print(f"jobs in the DAG: {jobs}")
        print(f"dry run with the full DAG: {wall:.2f} s, peak {peak:.0f} MiB")
        wall, _, _ = snakemake(work, env, *run_args)
        markers = sorted(
            path.stat().st_mtime for path in (work / "results" / "isce").glob("*/steps/*/*.done")
        )
        span = markers[-1] - markers[0]
        print(
            f"near-zero durations: {len(markers)} command jobs in {wall:.1f} s for the whole run "
            f"on {args.cores} cores; first to last command: {span:.1f} s -> "
            f"{span / max(len(markers) - 1, 1):.3f} s per command job"
        )
        wall, peak, output = snakemake(work, env, "-n")
        nothing = "Nothing to be done" in output
        print(
            f"dry run after completion: {wall:.2f} s, peak {peak:.0f} MiB (nothing to do: {nothing})"
        )

        print(
            f"(each snakemake start also spends {min(IMPORT_TIMES):.1f}-{max(IMPORT_TIMES):.1f} s "
            "importing snakemake and its executor plugins, not counted above)"
        )
        if args.skip_makespan:
            return
        # --- realistic relative durations: makespan against the lower bound ---
        work = make_workdir(root, "timed", project, project.dates, args.connections)
        log = root / "timed-standin.jsonl"
        durations = ",".join(
            f"{step}={rel * args.unit:g}" for step, rel in RELATIVE_DURATIONS.items()
        )
        env = standin_env(ISCE_STANDIN_LOG=str(log), ISCE_STANDIN_DURATIONS=durations)
        snakemake(work, env, *run_args, "--until", "isce_run_files")
        wall, _, _ = snakemake(work, env, *run_args)
        records = [r for r in read_standin_log(log) if r.get("program") != "stackSentinel.py"]
        makespan = max(r["end"] for r in records) - min(r["start"] for r in records)
        inside: dict[str, list[float]] = defaultdict(list)
        for record in records:
            inside[step_of(record)].append(record["end"] - record["start"])
        print(
            f"realistic durations (unit {args.unit:g} s), {len(records)} commands on {args.cores} cores:"
        )
        report_bound("  stand-in work inside the commands", inside, makespan, args.cores)
        report_bound(
            "  commands as processes (runner-timed)", runner_durations(work), makespan, args.cores
        )
        print(f"  makespan of the commands {makespan:.1f} s (whole workflow run {wall:.1f} s)")
    finally:
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
