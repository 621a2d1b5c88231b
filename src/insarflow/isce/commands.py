"""Run one topsStack command as a Snakemake job: its own log, its exit code checked, a marker.

topsStack's own ``run.py`` uses ``os.system`` and ignores exit codes, and ``bash run_NN`` with
``&``/``wait`` hides failures. Here a command (one run-file line, or the ordered lines of one
pair in computeIon) runs alone; any non-zero exit code or a timeout fails the job, and the
``.done`` marker is written only when every line exited 0. A failed job leaves no marker, so
``--retries`` or the next run repeats exactly that command.

Time limits: a command that runs past its runtime (its own deadline, or SLURM's time limit,
which stops it with SIGTERM near the end of its allocation) is recorded as ``timeout`` in
``<marker>.attempts`` (one JSON line per attempt); its next attempt gets ``retry_factor`` times
more time per time-out in a row, up to ``retry_max`` minutes (:func:`attempt_runtime`). A command
that fails on its own (a non-zero exit code) or is cancelled early gets the same time again.
The command log says which happened.

Rerun hazards: some topsStack programs read their own earlier output. ``extract_stack_valid_region``
updates ``stack/IW*.xml`` when it exists, so a half-written ``stack/`` from a failed attempt
would poison the rerun (rsmas_insar#418); it is removed before the command starts.

This module runs as ``$INSARFLOW_JOB_PYTHON -m insarflow.isce.commands`` once per command, inside
the job's shell (which may have the ISCE2 conda env active). It is started thousands of times,
so it imports only a few standard modules (no dataclasses or pathlib; argparse only in
``main``): about 40 ms.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from insarflow.isce.runfiles import step_kind

# Paths (relative to the work dir) removed before a step's command runs again.
RERUN_HAZARDS: dict[str, tuple[str, ...]] = {
    "extract_stack_valid_region": ("stack",),
}
# A SIGTERM this close to the time limit (seconds, or this share of it) is the time limit.
TIME_LIMIT_MARGIN = (60.0, 0.1)


class Stopped(Exception):
    """SIGTERM: SLURM's time limit, scancel, or Snakemake stopping the job."""


def attempts_path(done_file: str) -> str:
    return f"{os.path.splitext(done_file)[0]}.attempts"


def read_attempts(done_file: str) -> list[dict]:
    try:
        with open(attempts_path(done_file)) as handle:
            return [json.loads(line) for line in handle if line.strip()]
    except (OSError, ValueError):
        return []


def _record_attempt(done_file: str, outcome: str, seconds: float, runtime: float | None) -> None:
    os.makedirs(os.path.dirname(done_file) or ".", exist_ok=True)
    record = {"outcome": outcome, "seconds": round(seconds, 3), "runtime": runtime, "at": _stamp()}
    with open(attempts_path(done_file), "a") as handle:
        handle.write(json.dumps(record) + "\n")


def timeouts_in_a_row(done_file: str) -> int:
    """Time-outs at the end of the command's attempt history (0 after any other outcome)."""
    count = 0
    for record in reversed(read_attempts(done_file)):
        if record.get("outcome") != "timeout":
            break
        count += 1
    return count


def attempt_runtime(base: float, done_file: str, factor: float, cap: float) -> float:
    """Minutes for the next attempt: ``base``, times ``factor`` per time-out in a row, at most
    ``max(cap, base)``; whole minutes (rounded up) from one minute on, as SLURM takes them."""
    minutes = min(max(base, cap), base * factor ** timeouts_in_a_row(done_file))
    return round(minutes, 6) if minutes < 1 else int(-(-minutes // 1))


def _on_sigterm(signum: int, frame: object) -> None:
    raise Stopped()


def _stamp() -> str:
    # UTC with milliseconds: the report's Gantt chart places sub-second commands from it.
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"


def read_command(plan_file: str, step: str, index: int) -> tuple[dict, dict]:
    """The plan (as JSON) and command ``index`` of ``step``."""
    with open(plan_file) as handle:
        plan = json.load(handle)
    for entry in plan["steps"]:
        if entry["name"] == step:
            commands = entry["commands"]
            if 1 <= index <= len(commands) and commands[index - 1]["index"] == index:
                return plan, commands[index - 1]
            break
    raise KeyError(f"{plan_file} has no command {index} in step {step}")


def _resolve_script(line: str, path: str) -> str:
    """Start a bare ``X.py`` with python3 when the file found on PATH is not executable."""
    program, _, rest = line.partition(" ")
    if "/" in program or not program.endswith(".py"):
        return line
    for directory in path.split(os.pathsep):
        candidate = os.path.join(directory, program)
        if directory and os.path.isfile(candidate):
            if os.access(candidate, os.X_OK):
                return line
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
    plan, command = read_command(plan_file, step, index)
    env = dict(os.environ)
    if plan.get("tops_dir"):
        env["PATH"] = os.pathsep.join([plan["tops_dir"], env.get("PATH", "")])
    env["OMP_NUM_THREADS"] = str(threads)
    deadline = time.monotonic() + timeout_minutes * 60 if timeout_minutes else None
    os.makedirs(os.path.dirname(log_file) or ".", exist_ok=True)
    started = time.monotonic()
    signal.signal(signal.SIGTERM, _on_sigterm)
    with open(log_file, "w", buffering=1) as log:
        log.write(
            f"# {_stamp()} {step} command {index} on {os.uname().nodename}, {threads} thread(s)\n"
        )
        earlier = timeouts_in_a_row(done_file)
        if timeout_minutes:
            log.write(
                f"# runtime {timeout_minutes:g} min"
                + (f" ({earlier} earlier attempt(s) timed out in a row)" if earlier else "")
                + "\n"
            )
        try:
            code = _run_lines(plan, step, command, env, log, deadline)
        except Stopped:
            seconds = time.monotonic() - started
            limit = (timeout_minutes or 0) * 60
            margin = max(TIME_LIMIT_MARGIN[0], TIME_LIMIT_MARGIN[1] * limit)
            if limit and seconds >= limit - margin:
                _record_attempt(done_file, "timeout", seconds, timeout_minutes)
                log.write(
                    f"# FAILED: stopped by SIGTERM after {seconds:.1f} s, at the time limit "
                    f"({timeout_minutes:g} min): the next attempt gets more time\n"
                )
            else:
                _record_attempt(done_file, "cancelled", seconds, timeout_minutes)
                log.write(
                    f"# FAILED: stopped by SIGTERM after {seconds:.1f} s, before the time limit "
                    "(cancelled): the next attempt gets the same time\n"
                )
            return 143
        seconds = time.monotonic() - started
        if code is None:
            _record_attempt(done_file, "timeout", seconds, timeout_minutes)
            log.write(
                f"# FAILED: timed out after {seconds:.1f} s (runtime {timeout_minutes:g} min): "
                "the next attempt gets more time\n"
            )
            return 124
        if code != 0:
            _record_attempt(done_file, "failed", seconds, timeout_minutes)
            log.write(
                f"# FAILED: exit code {code} after {seconds:.1f} s (not a time-out: the next "
                "attempt gets the same time)\n"
            )
            return code
        _record_attempt(done_file, "ok", seconds, timeout_minutes)
        log.write(f"# done in {time.monotonic() - started:.3f} s\n")
    os.makedirs(os.path.dirname(done_file) or ".", exist_ok=True)
    temporary = f"{done_file}.tmp"
    with open(temporary, "w") as marker:
        marker.write(f"{step} {index} ok {_stamp()}\n")
    os.replace(temporary, done_file)
    return 0


def _run_lines(
    plan: dict,
    step: str,
    command: dict,
    env: dict[str, str],
    log,
    deadline: float | None,
) -> int | None:
    """Exit code of the first failing line (0 when all pass), None on a time-out."""
    work_dir = plan["work_dir"]
    for relative in RERUN_HAZARDS.get(step_kind(step), ()):
        hazard = os.path.join(work_dir, relative)
        if os.path.exists(hazard):
            import shutil

            log.write(f"# removing {hazard} left by an earlier attempt\n")
            shutil.rmtree(hazard)
    for line in command["lines"]:
        text = plan.get("text_cmd", "") + _resolve_script(line, env["PATH"])
        log.write(f"# $ {text}\n")
        log.flush()
        code = _run_line(text, work_dir, env, log, deadline)
        if code != 0:
            return code
    return 0


def run_chain(
    plan_file: str,
    chain: str,
    runtimes: list[tuple[str, int, float]],
    log_file: str,
    done_file: str,
    threads: int = 1,
) -> int:
    """Run the commands of a chain (``step, index, minutes`` in order) as one job. Each keeps
    its own log, marker and time-out history; one that finished in an earlier attempt is not
    run again. ``done_file`` is written when all have finished."""
    from insarflow.paths import isce_command_done, isce_command_log

    with open(plan_file) as handle:
        fingerprint = json.load(handle)["fingerprint"]
    os.makedirs(os.path.dirname(log_file) or ".", exist_ok=True)
    with open(log_file, "w", buffering=1) as log:
        log.write(f"# {_stamp()} chain {chain}: {len(runtimes)} command(s)\n")
        for step, index, minutes in runtimes:
            done = isce_command_done(fingerprint, step, index)
            command_log_file = isce_command_log(fingerprint, step, index)
            if os.path.exists(done):
                log.write(f"# {step} command {index}: done in an earlier attempt\n")
                continue
            code = run_command(plan_file, step, index, command_log_file, done, threads, minutes)
            log.write(f"# {step} command {index}: exit {code} (log: {command_log_file})\n")
            if code != 0:
                log.write(f"# FAILED: {step} command {index}; see {command_log_file}\n")
                return code
        log.write(f"# {_stamp()} chain done\n")
    os.makedirs(os.path.dirname(done_file) or ".", exist_ok=True)
    with open(done_file, "w") as marker:
        marker.write(f"{chain} ok {_stamp()}\n")
    return 0


def _runtimes(text: str) -> list[tuple[str, int, float]]:
    """``step:index=minutes,...`` -> [(step, index, minutes), ...]."""
    found = []
    for item in filter(None, text.split(",")):
        where, _, minutes = item.partition("=")
        step, _, index = where.rpartition(":")
        found.append((step, int(index), float(minutes)))
    return found


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m insarflow.isce.commands",
        description="Run one run-file command (--step/--index) or a chain of them (--chain).",
    )
    parser.add_argument("--plan", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--done", required=True)
    parser.add_argument("--threads", type=int, default=1)
    one = parser.add_argument_group("one command")
    one.add_argument("--step")
    one.add_argument("--index", type=int)
    one.add_argument("--timeout-minutes", type=float)
    chain = parser.add_argument_group("a chain")
    chain.add_argument("--chain")
    chain.add_argument("--runtimes", type=_runtimes, help="step:index=minutes,...")
    args = parser.parse_args(argv)
    if args.chain:
        code = run_chain(
            args.plan, args.chain, args.runtimes or [], args.log, args.done, args.threads
        )
        what = f"chain {args.chain}"
    elif args.step and args.index:
        code = run_command(
            args.plan,
            args.step,
            args.index,
            args.log,
            args.done,
            args.threads,
            args.timeout_minutes,
        )
        what = f"{args.step} command {args.index}"
    else:
        parser.error("give --step and --index, or --chain and --runtimes")
    if code != 0:
        print(f"insarflow: {what} failed (exit {code}); see {args.log}", file=sys.stderr)
    return 1 if code != 0 else 0


if __name__ == "__main__":
    sys.exit(main())
