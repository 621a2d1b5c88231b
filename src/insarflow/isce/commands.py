"""Run one topsStack command as a Snakemake job: its own log, its exit code checked, a marker.

topsStack's own ``run.py`` uses ``os.system`` and ignores exit codes, and ``bash run_NN`` with
``&``/``wait`` hides failures. Here a command (one run-file line, or the ordered lines of one
pair in computeIon) runs alone; any non-zero exit code or a timeout fails the job, and the
``.done`` marker is written only when every line exited 0. A failed job leaves no marker, so
``--retries`` or the next run repeats exactly that command.

Rerun hazards: some topsStack programs read their own earlier output. ``extract_stack_valid_region``
updates ``stack/IW*.xml`` when it exists, so a half-written ``stack/`` from a failed attempt
would poison the rerun (rsmas_insar#418); it is removed before the command starts.

This module runs as ``$INSARFLOW_PYTHON -m insarflow.isce.commands`` inside the job's shell,
which may have the ISCE2 conda env active; it needs only the standard library.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from insarflow.isce.plan import load_plan
from insarflow.isce.runfiles import step_kind

# Paths (relative to the work dir) removed before a step's command runs again.
RERUN_HAZARDS: dict[str, tuple[str, ...]] = {
    "extract_stack_valid_region": ("stack",),
}


def _stamp() -> str:
    return datetime.now().isoformat(timespec="seconds")


def _resolve_script(line: str, path: str) -> str:
    """Start a bare ``X.py`` with python3 when the file found on PATH is not executable."""
    program, _, rest = line.partition(" ")
    if "/" in program or not program.endswith(".py"):
        return line
    found = shutil.which(program, path=path)
    if found:
        return line
    for directory in path.split(os.pathsep):
        candidate = Path(directory, program)
        if directory and candidate.is_file():
            return f"python3 {candidate} {rest}".rstrip()
    return line


def _run_line(line: str, cwd: str, env: dict[str, str], log, deadline: float | None) -> int | None:
    """Exit code of ``line`` run by bash, or None when it ran past the deadline."""
    timeout = None if deadline is None else max(deadline - time.monotonic(), 1.0)
    process = subprocess.Popen(
        ["bash", "-c", line],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # so a timeout can stop the command and its children
    )
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        return None
    except BaseException:
        # Snakemake stopping the job (Ctrl-C, scancel): take the command down with us.
        os.killpg(process.pid, signal.SIGTERM)
        raise


def run_command(
    plan_file: str,
    step: str,
    index: int,
    log_file: str,
    done_file: str,
    threads: int = 1,
    timeout_minutes: float | None = None,
) -> int:
    """Run command ``index`` of ``step``; return its exit code (0 also writes ``done_file``)."""
    plan = load_plan(plan_file)
    command = plan.command(step, index)
    env = dict(os.environ)
    if plan.tops_dir:
        env["PATH"] = os.pathsep.join([plan.tops_dir, env.get("PATH", "")])
    env["OMP_NUM_THREADS"] = str(threads)
    deadline = time.monotonic() + timeout_minutes * 60 if timeout_minutes else None
    Path(log_file).parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with open(log_file, "w", buffering=1) as log:
        log.write(f"# {_stamp()} {step} command {index} on {socket.gethostname()}, {threads} thread(s)\n")
        for relative in RERUN_HAZARDS.get(step_kind(step), ()):
            hazard = Path(plan.work_dir, relative)
            if hazard.exists():
                log.write(f"# removing {hazard} left by an earlier attempt\n")
                shutil.rmtree(hazard)
        for line in command["lines"]:
            text = plan.text_cmd + _resolve_script(line, env["PATH"])
            log.write(f"# $ {text}\n")
            log.flush()
            code = _run_line(text, plan.work_dir, env, log, deadline)
            seconds = time.monotonic() - started
            if code is None:
                log.write(f"# FAILED: timed out after {seconds:.1f} s (runtime {timeout_minutes:g} min)\n")
                return 124
            if code != 0:
                log.write(f"# FAILED: exit code {code} after {seconds:.1f} s\n")
                return code
        log.write(f"# done in {time.monotonic() - started:.2f} s\n")
    marker = Path(done_file)
    marker.parent.mkdir(parents=True, exist_ok=True)
    temporary = marker.with_name(f".{marker.name}.tmp")
    temporary.write_text(f"{step} {index} ok {_stamp()}\n")
    os.replace(temporary, marker)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run one topsStack run-file command.")
    parser.add_argument("--plan", required=True)
    parser.add_argument("--step", required=True)
    parser.add_argument("--index", required=True, type=int)
    parser.add_argument("--log", required=True)
    parser.add_argument("--done", required=True)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--timeout-minutes", type=float, default=None)
    args = parser.parse_args(argv)
    code = run_command(
        args.plan, args.step, args.index, args.log, args.done, args.threads, args.timeout_minutes
    )
    if code != 0:
        print(f"insarflow: {args.step} command {args.index} failed (exit {code}); see {args.log}", file=sys.stderr)
    return 1 if code != 0 else 0


if __name__ == "__main__":
    sys.exit(main())
