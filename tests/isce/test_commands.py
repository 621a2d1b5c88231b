"""One run-file command as one job: its log, its exit code, its marker, rerun hazards."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from insarflow.isce.commands import run_command
from insarflow.isce.plan import Plan
from insarflow.isce.runfiles import Command, Step


def write_plan(
    tmp_path: Path,
    steps: dict[str, list[list[str]]],
    text_cmd: str = "",
    tops_dir: str | None = None,
) -> str:
    work = tmp_path / "stack"
    work.mkdir(exist_ok=True)
    plan = Plan.from_steps(
        fingerprint="0123456789ab",
        work_dir=str(work),
        text_cmd=text_cmd,
        tops_dir=tops_dir,
        reference_date=None,
        dates=[],
        steps=[
            Step(name, [Command(index, lines) for index, lines in enumerate(commands, start=1)])
            for name, commands in steps.items()
        ],
    )
    path = tmp_path / "plan.json"
    plan.write(path)
    return str(path)


def test_success_writes_log_and_marker_in_the_work_dir(tmp_path: Path):
    plan = write_plan(tmp_path, {"run_03_average_baseline": [["echo hello from $PWD"]]})
    log, done = tmp_path / "logs" / "1.log", tmp_path / "steps" / "1.done"
    assert run_command(plan, "run_03_average_baseline", 1, str(log), str(done), threads=3) == 0
    text = log.read_text()
    assert f"hello from {tmp_path / 'stack'}" in text
    assert "# $ echo hello from $PWD" in text and "3 thread(s)" in text and "# done in" in text
    assert done.read_text().startswith("run_03_average_baseline 1 ok")


def test_a_failing_line_fails_the_command_stops_it_and_leaves_no_marker(tmp_path: Path):
    plan = write_plan(
        tmp_path,
        {"run_22_computeIon": [["echo first", "echo oops >&2; exit 3", "touch should-not-run"]]},
    )
    log, done = tmp_path / "1.log", tmp_path / "1.done"
    assert run_command(plan, "run_22_computeIon", 1, str(log), str(done)) == 3
    text = log.read_text()
    assert "first" in text and "oops" in text and "# FAILED: exit code 3" in text
    assert not done.exists()
    assert not (tmp_path / "stack" / "should-not-run").exists()


def test_command_past_its_runtime_is_stopped(tmp_path: Path):
    plan = write_plan(tmp_path, {"run_16_unwrap": [["sleep 30"]]})
    log, done = tmp_path / "1.log", tmp_path / "1.done"
    assert run_command(plan, "run_16_unwrap", 1, str(log), str(done), timeout_minutes=0.001) == 124
    assert "# FAILED: timed out" in log.read_text()
    assert not done.exists()


def test_half_written_stack_dir_is_removed_before_extract_stack_valid_region(tmp_path: Path):
    plan = write_plan(tmp_path, {"run_11_extract_stack_valid_region": [["ls stack 2>&1 || true"]]})
    stale = tmp_path / "stack" / "stack"
    stale.mkdir()
    (stale / "IW1.xml").write_text("<half")
    log = tmp_path / "1.log"
    assert (
        run_command(plan, "run_11_extract_stack_valid_region", 1, str(log), str(tmp_path / "d"))
        == 0
    )
    assert not stale.exists()
    assert "removing" in log.read_text() and "No such file" in log.read_text()


def test_text_cmd_is_run_and_non_executable_scripts_start_with_python(tmp_path: Path):
    tops = tmp_path / "tops"
    tops.mkdir()
    (tops / "invertMisreg.py").write_text("import sys\nprint('invert', sys.argv[1:], flush=True)\n")
    (tmp_path / "env.sh").write_text("export GREETING=hi\n")
    plan = write_plan(
        tmp_path,
        {"run_08_timeseries_misreg": [["invertMisreg.py -i a -o b; echo $GREETING"]]},
        text_cmd=f"source {tmp_path / 'env.sh'}; ",
        tops_dir=str(tops),
    )
    log = tmp_path / "1.log"
    assert run_command(plan, "run_08_timeseries_misreg", 1, str(log), str(tmp_path / "d")) == 0
    text = log.read_text()
    assert "invert ['-i', 'a', '-o', 'b']" in text and "\nhi\n" in text


def test_command_line_interface_reports_the_failure_in_one_line(tmp_path: Path):
    plan = write_plan(tmp_path, {"run_02_unpack_secondary_slc": [["true"], ["exit 1"]]})
    log, done = tmp_path / "2.log", tmp_path / "2.done"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "insarflow.isce.commands",
            "--plan",
            plan,
            "--step",
            "run_02_unpack_secondary_slc",
            "--index",
            "2",
            "--log",
            str(log),
            "--done",
            str(done),
            "--threads",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        == f"insarflow: run_02_unpack_secondary_slc command 2 failed (exit 1); see {log}"
    )
    with pytest.raises(KeyError):
        run_command(plan, "run_02_unpack_secondary_slc", 3, str(log), str(done))


def test_time_out_gives_the_next_attempt_more_time_and_an_own_failure_does_not(tmp_path: Path):
    from insarflow.isce.commands import attempt_runtime, read_attempts

    plan = write_plan(tmp_path, {"run_16_unwrap": [["sleep 2"]], "run_15_filter": [["exit 3"]]})
    log, done = tmp_path / "1.log", tmp_path / "steps" / "0001.done"
    base, factor, cap = 0.02, 1.5, 0.05  # minutes: 1.2 s, then 1.8 s, then at most 3 s
    runtimes = []
    for _ in range(3):
        runtime = attempt_runtime(base, str(done), factor, cap)
        runtimes.append(runtime)
        code = run_command(plan, "run_16_unwrap", 1, str(log), str(done), timeout_minutes=runtime)
        if code == 0:
            break
        assert code == 124
        assert "the next attempt gets more time" in log.read_text()
    assert code == 0
    assert runtimes == [0.02, 0.03, 0.045]  # x1.5 per time-out in a row
    assert [r["outcome"] for r in read_attempts(str(done))] == ["timeout", "timeout", "ok"]
    assert "2 earlier attempt(s) timed out in a row" in log.read_text()
    assert attempt_runtime(base, str(done), factor, cap) == base  # a success resets it

    failed_log, failed_done = tmp_path / "2.log", tmp_path / "steps" / "0002.done"
    assert (
        run_command(plan, "run_15_filter", 1, str(failed_log), str(failed_done), timeout_minutes=5)
        == 3
    )
    assert "not a time-out: the next attempt gets the same time" in failed_log.read_text()
    assert attempt_runtime(5, str(failed_done), factor, 60) == 5
    # capped
    (tmp_path / "steps" / "0003.attempts").write_text('{"outcome": "timeout"}\n' * 10)
    assert attempt_runtime(100, str(tmp_path / "steps" / "0003.done"), 1.5, 240) == 240


def test_sigterm_at_the_time_limit_counts_as_a_time_out_and_earlier_as_cancelled(tmp_path: Path):
    from insarflow.isce.commands import read_attempts

    plan = write_plan(tmp_path, {"run_16_unwrap": [["sleep 30"]]})
    outcomes = []
    for number, (runtime, wait) in enumerate(((0.05, 2.5), (10, 1.0)), start=1):
        done = tmp_path / f"{number}.done"
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "insarflow.isce.commands",
                "--plan",
                plan,
                "--step",
                "run_16_unwrap",
                "--index",
                "1",
                "--log",
                str(tmp_path / f"{number}.log"),
                "--done",
                str(done),
                "--timeout-minutes",
                str(runtime),
            ],
        )
        time.sleep(wait)
        process.terminate()  # what SLURM sends at the time limit, and scancel
        assert process.wait(timeout=60) == 1
        outcomes += [r["outcome"] for r in read_attempts(str(done))]
        assert not done.exists()
    # 2.5 s of a 3 s runtime: within the last minute, so the time limit; 1 s of 10 min: not
    assert outcomes == ["timeout", "cancelled"]
    assert "at the time limit" in (tmp_path / "1.log").read_text()
    assert "before the time limit (cancelled)" in (tmp_path / "2.log").read_text()


def test_a_chain_runs_its_commands_in_order_and_a_retry_resumes_after_the_last_done(
    tmp_path: Path,
):
    from insarflow.isce.commands import run_chain

    plan = write_plan(
        tmp_path,
        {
            "run_09_fullBurst_geo2rdr": [["echo geo2rdr >> order.txt"]],
            "run_10_fullBurst_resample": [["echo resample >> order.txt; test -e ok"]],
        },
    )
    members = [("run_09_fullBurst_geo2rdr", 1, 5.0), ("run_10_fullBurst_resample", 1, 5.0)]
    log, done = tmp_path / "chain.log", tmp_path / "chain.done"
    cwd = Path.cwd()
    os.chdir(tmp_path)  # command logs and markers are relative to the workflow directory
    try:
        assert run_chain(plan, "run_09_fullBurst_geo2rdr-1", members, str(log), str(done)) == 1
        assert not done.exists() and "FAILED: run_10_fullBurst_resample" in log.read_text()
        (tmp_path / "stack" / "ok").touch()
        assert run_chain(plan, "run_09_fullBurst_geo2rdr-1", members, str(log), str(done)) == 0
    finally:
        os.chdir(cwd)
    # geo2rdr ran once: the retry resumed with the resample
    assert (tmp_path / "stack" / "order.txt").read_text().split() == [
        "geo2rdr",
        "resample",
        "resample",
    ]
    assert "done in an earlier attempt" in log.read_text() and done.exists()
