"""Benchmark: N pairs (default 1,000) through the HyP3 path against the sandbox (issue 16).

Runs the real workflow (Snakemake CLI, real hyp3_sdk) in a temporary work dir against a
sandbox process on loopback, then prints each figure next to its goal:

- POSTs (goal: ceil(pairs / chunk size)); polling rounds; list requests (goal: at most
  ceil(jobs in the polled window / jobs on the smallest full page) per listing; a page is
  1 MB of jobs, as HyP3's DynamoDB pages); single-job GETs; API requests;
- wall time from start to every product verified, against the physical limit: the last job's
  success plus downloading its product at line rate (goal: within 1.15x);
- the lag from a job's SUCCEEDED to its product on disk, verified (goal: median < 10 s);
- CPU seconds of Snakemake and every process it started (goal: < 60 s at 1,000 pairs), and
  the peak memory (PSS) of that process tree (goal: < 400 MiB);
- the Snakemake jobs run by rule, and the Python processes among them;
- Snakemake's own overhead: a dry run and a rerun with nothing to do (goal at 10,000 pairs:
  each < 60 s).

With ``--insarhub``, InSARHub 0.4.2 (PyPI ``insarhub``: its ``Hyp3_S1`` processor,
``submit()`` then ``watch()``) runs the same pairs with the same settings against a second, fresh
sandbox, measured the same way (benchmarks/insarhub_driver.py, run by the Python of a separate
virtualenv, ``--insarhub-venv``, made on first use: InSARHub needs numpy<2, MintPy and the GDAL
bindings built against the system libgdal, so it never goes into insarflow's venv). The output
then ends with issue 16's side-by-side table. For InSARHub "all products verified" is every zip
on disk: its ``watch()`` downloads and checks the zip's first and last signature, no unzip.

Issue 16's setting: ``--pairs 1000 --processing-seconds 30 --processing-spread 60
--poll-interval 5 --max-workers 4 [--insarhub]``.

Usage: python benchmarks/hyp3_workflow.py [--pairs 1000] [--chunk 200] [--processing-seconds 20]
       [--processing-spread 0] [--poll-interval 2] [--max-workers 4] [--cores 2]
       [--credits N] [--insarhub [--insarhub-venv DIR]]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
import requests as http
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from hyp3.conftest import Sandbox, start_sandbox, stop  # noqa: E402

from insarflow.pairs import relative_orbit  # noqa: E402

# The job options of both tools' jobs (the products' size is what the downloads cost).
JOB_OPTIONS = {
    "include_dem": False,
    "include_look_vectors": False,
    "include_inc_map": False,
    "include_displacement_maps": False,
}


def synthetic_scenes(count: int) -> list[str]:
    """Scene names on one track, 12 days apart (valid names, realistic structure)."""
    start = datetime(2017, 1, 3, 14, 2, 11)
    names = []
    for index in range(count):
        t0 = start + timedelta(days=12 * index, seconds=index % 3)
        orbit = 14600 + 175 * index
        names.append(
            f"S1A_IW_SLC__1SDV_{t0:%Y%m%dT%H%M%S}_{t0 + timedelta(seconds=27):%Y%m%dT%H%M%S}_"
            f"{orbit:06d}_{0x017A00 + index:06X}_{(0x1000 + index * 7) % 0xFFFF:04X}"
        )
    assert len({relative_orbit("S1A", int(name.split("_")[7])) for name in names}) == 1
    return names


def network(names: list[str], connections: int, limit: int) -> list[tuple[str, str]]:
    pairs = [
        (names[i], names[j])
        for i in range(len(names))
        for j in range(i + 1, min(i + 1 + connections, len(names)))
    ]
    return pairs[:limit]


def run(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.monotonic()
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{result.stderr[-4000:]}")
    return time.monotonic() - started


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def tree_cpu_seconds(pid: int) -> dict[str, float]:
    """CPU seconds so far of the sandbox's server process and of its renderer processes."""
    server = psutil.Process(pid)
    seconds = {"server": cpu_seconds(server), "renderer": 0.0}
    for child in server.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            seconds["renderer"] += cpu_seconds(child)
    return seconds


def pss(process: psutil.Process) -> int:
    """A process's proportional set size in bytes. Read from smaps_rollup: psutil's
    ``memory_full_info`` parses the whole smaps, 8 ms for a 10,000-pair Snakemake, which at
    ten samples a second took a tenth of a core from the run being measured."""
    try:
        with open(f"/proc/{process.pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except FileNotFoundError:
        pass
    return process.memory_full_info().pss


def run_measured(cmd: list[str], cwd: Path, env: dict[str, str]) -> dict[str, float]:
    """Run a command; its wall time, CPU seconds (it and every descendant) and the peak
    memory of its process tree (proportional set size, sampled every 0.1 s)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    process = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    peak = 0
    peak_members: list[tuple[int, str]] = []
    seen: set[int] = set()
    root = psutil.Process(process.pid)
    output = []

    def drain() -> None:
        assert process.stdout is not None
        output.extend(process.stdout)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    while process.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
            rss = 0
            members = []
            for member in tree:
                with contextlib.suppress(psutil.Error, OSError):
                    # PSS: pages shared between processes (a fork) are counted once.
                    member_rss = pss(member)
                    rss += member_rss
                    members.append((member_rss, " ".join(member.cmdline()[:4])[-80:]))
                    seen.add(member.pid)
            if rss > peak:
                peak, peak_members = rss, sorted(members, reverse=True)
        except psutil.Error:
            pass
        time.sleep(0.1)
    reader.join()
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if process.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{b''.join(output).decode()[-4000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if os.environ.get("BENCH_SHOW_PEAK"):
        for member_rss, command in peak_members:
            print(f"  {member_rss / 2**20:7.0f} MiB  {command}", file=sys.stderr)
    return {"wall": wall, "cpu": cpu, "peak_rss": peak, "processes_seen": len(seen),
            "output": b"".join(output).decode()}  # fmt: skip


STAGED_LINE = re.compile(
    r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) INFO pair (\S+): .* downloaded, verified and unpacked"
)


def log_matches(logs: Path, pattern: re.Pattern[str]) -> Iterator[tuple[datetime, re.Match[str]]]:
    """(time stamp, match) of every line of the round logs that ``pattern`` matches."""
    for log in logs.rglob("*.log"):
        for line in log.read_text().splitlines():
            if match := pattern.match(line):
                yield datetime.strptime(match[1], "%Y-%m-%d %H:%M:%S,%f").astimezone(), match


def staged_times(logs: Path) -> dict[str, datetime]:
    """When each pair's product was on disk, verified and unpacked (from the round logs)."""
    times: dict[str, datetime] = {}
    for at, match in log_matches(logs, STAGED_LINE):
        times.setdefault(match[2], at)
    return times


POLLED_LINE = re.compile(
    r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) INFO polled account \S+: \d+ job\(s\) "
    r"in window since \S+, \d+ changed, listed in ([\d.]+) s"
)


def listing_spans(logs: Path) -> list[tuple[datetime, datetime]]:
    """(start, end) of every polling listing, from the round logs, in time order."""
    return sorted(
        (end - timedelta(seconds=float(match[2])), end)
        for end, match in log_matches(logs, POLLED_LINE)
    )


def seen_time(succeeded: datetime, spans: list[tuple[datetime, datetime]]) -> datetime | None:
    """When a round knew of a job's success: the end of the first listing that started after
    it (a listing under way when the job succeeded may have listed it, or not)."""
    for start, end in spans:
        if start >= succeeded:
            return end
    return None


def success_times(jobs: list[dict], processing_seconds: float) -> dict[str, datetime]:
    """When each job succeeded on the sandbox's clock, by job id (request_time has whole
    seconds, so this is exact to about a second)."""
    pending = processing_seconds / 5
    return {
        job["job_id"]: (
            datetime.fromisoformat(job["request_time"])
            + timedelta(seconds=pending + job["processing_times"][0])
        ).astimezone()
        for job in jobs
        if job["status_code"] == "SUCCEEDED"
    }


def line_rate(jobs: list[dict]) -> float:
    """Bytes per second of the largest product, fetched alone over loopback."""
    largest = max((item for job in jobs for item in job["files"]), key=lambda i: i["size"])
    fetch_started = time.monotonic()
    size = len(http.get(largest["url"], timeout=60).content)
    return size / max(time.monotonic() - fetch_started, 1e-6)


def api_requests(requests: dict[str, int]) -> int:
    """API requests, product files excluded."""
    return sum(
        v for k, v in requests.items() if not k.startswith(("GET /products", "HEAD /products"))
    )


def start_bench_sandbox(state: Path, args: argparse.Namespace) -> Sandbox:
    return start_sandbox(
        state,
        "--processing-seconds",
        str(args.processing_seconds),
        "--processing-spread",
        str(args.processing_spread),
        "--credits",
        args.credits,
        # Products in the "bucket" when their job succeeds, as on HyP3 (rendered in a niced
        # process): the stand-in's rendering does not compete with the downloads it serves.
        *(["--render-ahead"] if args.render_ahead else []),
    )


def measure_insarflow(
    args: argparse.Namespace, pairs: list[tuple[str, str]], root: Path
) -> dict[str, Any]:
    """Run the workflow against a fresh sandbox; its figures (see the module docstring)."""
    sandbox = start_bench_sandbox(root / "sandbox", args)
    try:
        work = root / "work"
        (work / "config").mkdir(parents=True)
        (work / "config" / "pairs.tsv").write_text(
            "reference\tsecondary\n" + "".join(f"{a}\t{b}\n" for a, b in pairs)
        )
        config = {
            "processor": "hyp3",
            "pairs": "config/pairs.tsv",
            "hyp3": {
                "api_url": sandbox.url,
                "submission_chunk_size": args.chunk,
                "poll_interval": args.poll_interval,
                "max_downloads": args.max_workers,
                **JOB_OPTIONS,
            },
        }
        (work / "config" / "config.yaml").write_text(yaml.safe_dump(config))
        env = {
            **os.environ,
            "EARTHDATA_TOKEN": "sandbox-token",
            "NO_PROXY": "127.0.0.1,localhost",
        }
        snakemake = [
            str(Path(sys.executable).with_name("snakemake")),
            "--snakefile",
            str(REPO / "Snakefile"),
            "--profile",
            str(REPO / "profiles" / "local"),
            "--cores",
            str(args.cores),
            # The HyP3 path only (the report's pictures are not part of the comparison).
            "results/hyp3/status.tsv",
        ]
        dry = run([*snakemake, "-n", "--quiet"], work, env)
        run_started = datetime.now().astimezone()
        stand_in_before = tree_cpu_seconds(sandbox.process.pid)
        measured = run_measured(snakemake, work, env)
        stand_in = {
            role: seconds - stand_in_before.get(role, 0.0)
            for role, seconds in tree_cpu_seconds(sandbox.process.pid).items()
        }
        stats = sandbox.stats()
        noop = run([*snakemake, "--quiet"], work, env)
        noop_requests = api_requests(sandbox.stats()["requests"]) - api_requests(stats["requests"])
        jobs = {job["job_id"]: job for job in sandbox.jobs()}
        rate = line_rate(list(jobs.values()))
    finally:
        stop(sandbox.process)

    requests = stats["requests"]
    # Pages end after 1 MB of jobs (as HyP3's DynamoDB query pages), so how many jobs fill one
    # depends on their states; the sandbox reports the fewest on any page that had a next.
    page_jobs = stats["smallest_full_page"] or stats["page_size"]
    listings = []
    # Every listing: the polling rounds', the status table's refresh, and any lookup by name
    # of a submission whose answer was lost (e.g. a POST that timed out under load).
    for log in (work / "logs/hyp3").rglob("*.log"):
        listings += [
            int(m)
            for m in re.findall(
                r"(?:polled|looked up \d+ name\(s\) in) account \S+: (\d+) job\(s\) in window",
                log.read_text(),
            )
        ]
    allowed = sum(max(1, math.ceil(n / page_jobs)) for n in listings)
    rounds = len(list((work / "results/hyp3/watch").rglob("round-*.json")))

    # When each job succeeded, and when its product was on disk and verified.
    succeeded = success_times(list(jobs.values()), args.processing_seconds)
    done: dict[str, datetime] = {}
    sizes: dict[str, int] = {}
    for finished in (work / "results/hyp3/finished").glob("*/*.json"):
        job = jobs[json.loads(finished.read_text())["job_id"]]
        done[finished.stem] = succeeded[job["job_id"]]
        sizes[finished.stem] = sum(item["size"] for item in job["files"])
    on_disk = staged_times(work / "logs/hyp3/watch")
    lags = sorted((on_disk[pair] - done[pair]).total_seconds() for pair in done)
    # The lag in two: until a listing showed the success (the polling interval and the time
    # to list every job in the window: the service's pace), and from then until the product
    # was on disk (insarflow's download, verify and unpack, queueing included).
    spans = listing_spans(work / "logs/hyp3/watch")
    seen = {pair: seen_time(done[pair], spans) for pair in done}
    seen = {pair: at for pair, at in seen.items() if at is not None and at <= on_disk[pair]}
    to_seen = [(seen[pair] - done[pair]).total_seconds() for pair in seen]
    seen_to_disk = [(on_disk[pair] - seen[pair]).total_seconds() for pair in seen]
    listing_seconds = [(end - start).total_seconds() for start, end in spans]
    # The median lag of the first, second and last third of the jobs to succeed: a lag that
    # grows from third to third is products queueing behind downloads (throughput-bound).
    by_success = sorted(done, key=done.get)
    thirds = [
        statistics.median(
            (on_disk[pair] - done[pair]).total_seconds()
            for pair in by_success[i * len(by_success) // 3 : (i + 1) * len(by_success) // 3]
        )
        for i in range(3)
    ]
    first_done, last_done = min(done.values()), max(done.values())
    last_pair = max(done, key=done.get)
    limit = (last_done - run_started).total_seconds() + sizes[last_pair] / rate
    jobs_run = Counter(
        re.findall(r"^local(?:rule|checkpoint) (\w+):", measured["output"], re.MULTILINE)
    )
    return {
        **measured,
        "requests": requests,
        "api_requests": api_requests(requests),
        "listings": listings,
        "list_requests_allowed": allowed,
        "page_jobs": page_jobs,
        "rounds": rounds,
        "lags": lags,
        "lag_thirds": thirds,
        "lag_split": (to_seen, seen_to_disk, listing_seconds),
        "succeeded_over": (last_done - first_done).total_seconds(),
        "limit": limit,
        "jobs_run": jobs_run,
        "dry": dry,
        "noop": noop,
        "noop_requests": noop_requests,
        "rendered_on_download": stats.get("rendered_on_download", 0),
        "stand_in_cpu": stand_in,
    }


INSARHUB_VERSION = "0.4.2"
INSARHUB_DRIVER = Path(__file__).with_name("insarhub_driver.py")


def insarhub_python(venv: Path) -> Path:
    """The Python of a virtualenv with InSARHub 0.4.2; the venv is made when missing."""
    if venv.resolve() == Path(sys.prefix).resolve():
        sys.exit(f"--insarhub-venv {venv}: is insarflow's own venv; InSARHub needs one of its own")
    python = venv / "bin" / "python"
    version_check = [
        str(python),
        "-c",
        "import importlib.metadata as m; print(m.version('insarhub'))",
    ]
    if python.exists():
        found = subprocess.run(version_check, capture_output=True, text=True).stdout.strip()
        if found == INSARHUB_VERSION:
            return python
        if found:
            sys.exit(
                f"--insarhub-venv {venv}: has insarhub {found}; {INSARHUB_VERSION} is compared"
            )
    try:
        libgdal = subprocess.run(
            ["gdal-config", "--version"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        sys.exit(
            "--insarhub: gdal-config not found; InSARHub needs the GDAL bindings (apt: libgdal-dev)"
        )
    print(
        f"making the InSARHub {INSARHUB_VERSION} venv {venv} (GDAL bindings {libgdal}) ...",
        flush=True,
    )
    pip = [str(python), "-m", "pip", "install", "--quiet"]
    for step in (
        [sys.executable, "-m", "venv", str(venv)] if not python.exists() else None,
        [*pip, "numpy<2", "setuptools", "wheel"],
        # Built against the system libgdal (the newest bindings need a newer libgdal).
        [*pip, "--no-build-isolation", f"gdal=={libgdal}"],
        [*pip, f"insarhub=={INSARHUB_VERSION}", "numpy<2", f"gdal=={libgdal}"],
    ):
        if step and subprocess.run(step).returncode != 0:
            sys.exit(f"--insarhub: making the venv {venv} failed at: {' '.join(step)}")
    return python


def measure_insarhub(
    args: argparse.Namespace, pairs: list[tuple[str, str]], root: Path, python: Path
) -> dict[str, Any]:
    """Run InSARHub's Hyp3_S1 submit() and watch() against a fresh sandbox, measured like
    insarflow: wall, CPU (it and its children), peak PSS of its process tree, the lag from each
    job's success to its zip on disk (the zip's mtime: downloads are renamed into place)."""
    sandbox = start_bench_sandbox(root / "sandbox", args)
    try:
        home = root / "home"
        home.mkdir(parents=True)
        # InSARHub's constructor reads the Earthdata login from ~/.netrc (the driver's client
        # factory ignores it: the sandbox is reached with a token).
        netrc = home / ".netrc"
        netrc.write_text("machine urs.earthdata.nasa.gov login sandbox password sandbox\n")
        netrc.chmod(0o600)
        settings = {
            "api_url": sandbox.url,
            "workdir": str(root / "work"),
            "pairs": pairs,
            "max_workers": args.max_workers,
            "submission_chunk_size": args.chunk,
            "refresh_interval": args.poll_interval,
            "job_options": {**JOB_OPTIONS, "phase_filter_parameter": 0.6},
        }
        (root / "settings.json").write_text(json.dumps(settings))
        env = {
            **{
                k: v
                for k, v in os.environ.items()
                if not k.startswith(("EARTHDATA_", "VIRTUAL_ENV"))
            },
            "HOME": str(home),
            "INSARHUB_SANDBOX_TOKEN": "sandbox-token",
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }
        run_started = datetime.now().astimezone()
        measured = run_measured(
            [str(python), str(INSARHUB_DRIVER), str(root / "settings.json")], root, env
        )
        stats = sandbox.stats()
        jobs = sandbox.jobs()
        rate = line_rate(jobs)
    finally:
        stop(sandbox.process)

    succeeded = success_times(jobs, args.processing_seconds)
    by_file = {item["filename"]: job for job in jobs for item in job["files"]}
    zips = {path.name: path for path in (root / "work" / "hyp3").glob("*.zip")}
    lags = sorted(
        (
            datetime.fromtimestamp(path.stat().st_mtime).astimezone()
            - succeeded[by_file[name]["job_id"]]
        ).total_seconds()
        for name, path in zips.items()
    )
    last = max(
        (job for job in jobs if job["job_id"] in succeeded),
        key=lambda job: succeeded[job["job_id"]],
    )
    limit = (succeeded[last["job_id"]] - run_started).total_seconds() + sum(
        item["size"] for item in last["files"]
    ) / rate
    return {
        **measured,
        "requests": stats["requests"],
        "api_requests": api_requests(stats["requests"]),
        "jobs": len(jobs),
        "zips": len(zips),
        "lags": lags,
        "limit": limit,
    }


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[int(0.9 * (len(ordered) - 1))]


def lag_figures(lags: list[float]) -> str:
    return f"{statistics.median(lags):.1f} / {p90(lags):.1f} / {lags[-1]:.1f} s"


def side_by_side(flow: dict[str, Any], hub: dict[str, Any], pairs_n: int) -> None:
    """Issue 16's table: insarflow next to its goals, InSARHub, and their ratio."""

    def ratio(a: float, b: float) -> str:
        return f"{a / b:.2f}x" if b else ""

    processes = 1 + sum(flow["jobs_run"].values())
    rows = [
        (
            "wall time, start -> all products verified",
            f"{flow['wall']:.0f} s ({flow['wall'] / flow['limit']:.2f}x limit {flow['limit']:.0f} s)",
            "<= 1.15x limit",
            f"{hub['wall']:.0f} s ({hub['wall'] / hub['limit']:.2f}x limit {hub['limit']:.0f} s)",
            ratio(flow["wall"], hub["wall"]),
        ),
        (
            "lag SUCCEEDED -> zip on disk, median / p90 / max",
            lag_figures(flow["lags"]),
            "median < 10 s",
            lag_figures(hub["lags"]),
            ratio(statistics.median(flow["lags"]), statistics.median(hub["lags"])),
        ),
        (
            "CPU seconds, tool and children",
            f"{flow['cpu']:.1f} s",
            "< 60 s",
            f"{hub['cpu']:.1f} s",
            ratio(flow["cpu"], hub["cpu"]),
        ),
        (
            "peak memory (PSS), process tree",
            f"{flow['peak_rss'] / 2**20:.0f} MiB",
            "< 400 MiB",
            f"{hub['peak_rss'] / 2**20:.0f} MiB",
            ratio(flow["peak_rss"], hub["peak_rss"]),
        ),
        ("processes started", str(processes), "", str(hub["processes_seen"]), ""),
        (
            "API requests, product files excluded",
            str(flow["api_requests"]),
            "",
            str(hub["api_requests"]),
            ratio(flow["api_requests"], hub["api_requests"]),
        ),
    ]
    print()
    print(f"Side by side, {pairs_n} pairs, one fresh sandbox each (issue 16):")
    print()
    print(f"| | insarflow | goal | InSARHub {INSARHUB_VERSION} | insarflow / InSARHub |")
    print("|---|---|---|---|---|")
    for cells in rows:
        print("| " + " | ".join(cells) + " |")
    print()
    print(
        f"insarflow: products unpacked and CRC-checked; processes = Snakemake + one per job it ran (a lower bound). "
        f"InSARHub: {hub['zips']} of {hub['jobs']} zips on disk (checked by their first and last "
        f"signature, not unpacked); processes = distinct PIDs seen in its tree every 0.1 s."
    )


def row(label: str, value: object) -> None:
    print(f"{label:<46}{value}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=1000)
    parser.add_argument("--chunk", type=int, default=200)
    parser.add_argument("--processing-seconds", type=float, default=20)
    parser.add_argument(
        "--processing-spread",
        type=float,
        default=0,
        help="jobs take up to this many seconds longer (spread by job id); 0: all alike",
    )
    parser.add_argument("--poll-interval", type=float, default=2)
    parser.add_argument("--max-workers", type=int, default=4, help="hyp3.max_downloads")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument(
        "--no-render-ahead",
        dest="render_ahead",
        action="store_false",
        help="the sandbox renders each product on its first download (its default)",
    )
    parser.add_argument(
        "--credits",
        help="credits of the sandbox user (default: 'unlimited'; with --insarhub 30 per pair, "
        "since InSARHub fails on an account without a credit limit)",
    )
    parser.add_argument(
        "--insarhub",
        action="store_true",
        help=f"also run InSARHub {INSARHUB_VERSION} with the same settings; print both",
    )
    parser.add_argument(
        "--insarhub-venv",
        type=Path,
        default=Path.home() / ".cache" / "insarflow" / f"insarhub-{INSARHUB_VERSION}-venv",
        help="virtualenv with InSARHub (made when missing; never insarflow's own venv)",
    )
    args = parser.parse_args()
    if args.credits is None:
        args.credits = str(30 * args.pairs) if args.insarhub else "unlimited"
    hub_python = insarhub_python(args.insarhub_venv) if args.insarhub else None

    scenes_needed = args.pairs // 10 + 11
    pairs = network(synthetic_scenes(scenes_needed), 10, args.pairs)
    with tempfile.TemporaryDirectory(prefix="insarflow-bench-") as tmp:
        flow = measure_insarflow(args, pairs, Path(tmp) / "insarflow")
        if hub_python is not None:
            hub = measure_insarhub(args, pairs, Path(tmp) / "insarhub", hub_python)

    requests = flow["requests"]
    lags = flow["lags"]
    pairs_n = len(pairs)
    jobs_run = flow["jobs_run"]
    row("pairs", pairs_n)
    row("POSTs", f"{requests.get('POST /jobs', 0)} (goal {math.ceil(pairs_n / args.chunk)})")
    row("polling rounds (checkpoint jobs)", flow["rounds"])
    row("listings (find_jobs calls)", len(flow["listings"]))
    row(
        "list requests (GET /jobs)",
        f"{requests.get('GET /jobs', 0)} (goal <= {flow['list_requests_allowed']}: "
        f"ceil(window/page), full pages of >= {flow['page_jobs']} jobs)",
    )
    row("single-job GETs", requests.get("GET /jobs/{job_id}", 0))
    row("API requests, product files excluded", flow["api_requests"])
    row("product downloads", sum(v for k, v in requests.items() if "product" in k.lower()))
    row("jobs succeeded over", f"{flow['succeeded_over']:.0f} s")
    stand_in = flow["stand_in_cpu"]
    row(
        "CPU seconds of the stand-in, same cores",
        f"{sum(stand_in.values()):.1f} s (serving {stand_in['server']:.1f} s, rendering ahead "
        f"{stand_in['renderer']:.1f} s; HyP3 spends neither on the user's machine)",
    )
    row(
        "products the stand-in rendered on download",
        f"{flow['rendered_on_download']} (0: its renderer kept ahead; the rest cost the "
        "client's CPU, which a real bucket does not)",
    )
    row(
        "wall time, start -> all products verified",
        f"{flow['wall']:.1f} s = {flow['wall'] / flow['limit']:.2f}x the physical limit "
        f"{flow['limit']:.1f} s (goal <= 1.15x)",
    )
    row(
        "lag SUCCEEDED -> product on disk",
        f"median {statistics.median(lags):.1f} s (goal < 10 s), "
        f"p90 {p90(lags):.1f} s, max {lags[-1]:.1f} s",
    )
    row(
        "lag median, by thirds of the jobs to succeed",
        " / ".join(f"{lag:.1f} s" for lag in flow["lag_thirds"]),
    )
    to_seen, seen_to_disk, listing_seconds = flow["lag_split"]
    if to_seen:
        row(
            "lag median: until a poll lists the job",
            f"{statistics.median(to_seen):.1f} s (polling interval {args.poll_interval:g} s; "
            f"a listing takes {statistics.median(listing_seconds):.2f} s, "
            f"{len(to_seen)} of {len(lags)} products timed)",
        )
        row(
            "lag median: listed -> product on disk",
            f"{statistics.median(seen_to_disk):.1f} s (p90 "
            f"{p90(seen_to_disk):.1f} s; the round's download, verify, unpack)",
        )
    row(
        "CPU seconds, Snakemake and its children",
        f"{flow['cpu']:.1f} s (goal < 60 s at 1,000 pairs; "
        f"{1000 * flow['cpu'] / pairs_n:.1f} ms per pair)",
    )
    row(
        "peak memory (PSS) of the process tree",
        f"{flow['peak_rss'] / 2**20:.0f} MiB (goal < 400 MiB)",
    )
    row(
        "Snakemake jobs run",
        ", ".join(f"{count} {rule}" for rule, count in sorted(jobs_run.items())),
    )
    row(
        "Python processes started (script jobs)",
        sum(jobs_run[r] for r in ("hyp3_submit", "hyp3_watch", "hyp3_summary", "hyp3_product")),
    )
    row("snakemake dry run", f"{flow['dry']:.1f} s (goal < 60 s at 10,000 pairs)")
    row(
        "snakemake rerun, nothing to do",
        f"{flow['noop']:.1f} s (goal < 60 s at 10,000 pairs), "
        f"{flow['noop_requests']} API request(s)",
    )
    if hub_python is not None:
        side_by_side(flow, hub, pairs_n)


if __name__ == "__main__":
    main()
