"""The ``isce:`` settings as a stackSentinel.py call, its fingerprint, and run-file generation.

How the user's pairs reach stackSentinel.py
-------------------------------------------
stackSentinel.py takes no pair list: it pairs every date with its next ``-c`` dates. insarflow
therefore maps a pair list onto the command line like this:

* The stack's dates are exactly the dates of the pairs. Only the SAFEs of those dates are passed,
  as a list file (``-s`` accepts a file of SAFE paths), so other products in ``isce.slc_dir``
  need no ``--exclude_dates`` and get no orbit lookup (stackSentinel fetches a missing orbit for
  every SAFE it is given, even excluded ones).
* ``-c`` is the largest distance, counted in stack dates, between the two dates of a pair, so
  the run files hold every requested pair. Pairs built from ``scenes`` with ``connections: N``
  give exactly ``-c N``.
* Run-file commands of the interferogram network carry their pair (parsed from the config
  name). Only those of requested pairs become jobs (see :mod:`insarflow.isce.runfiles`); all
  date-level and coregistration commands run.
* ``isce.exclude_dates``, ``start_date`` and ``end_date`` are applied here, when the SAFE list is
  chosen, rather than passed on: a pair that uses a left-out date is a configuration error
  (stackSentinel's ``--stop_date`` would also drop the stop day itself).

Fingerprint and regeneration
----------------------------
Every setting that shapes the run files (the full argument list with absolute paths, the SAFE
list and the ISCE install) is hashed into a 12-hex-digit fingerprint. A stack lives under
``results/isce/<fingerprint>/``: changed settings give a new directory, new run files and new
step markers, so run files or markers from other settings are never reused. When a stack's run
files are (re)generated, its ``stack/`` work dir and markers are emptied first: stackSentinel.py
refuses an existing ``run_files/`` and switches to "update mode" when ``coreg_secondarys/``
holds dates. Changing only the pair list within the same dates and ``-c`` keeps the stack and
just adds or drops pair-level jobs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from insarflow import paths
from insarflow.errors import UserError
from insarflow.isce.dem import dem_key
from insarflow.isce.dependencies import annotate
from insarflow.isce.plan import PLAN_FORMAT, Plan
from insarflow.isce.runfiles import parse_run_files
from insarflow.isce.safe import find_safe_products, products_by_date
from insarflow.paths import ISCE_FINGERPRINT_LENGTH

# Where topsStack sits below an ISCE2 install root (conda package, source tree, build tree).
TOPS_STACK_SUBDIRS = (
    "share/isce2/topsStack",
    "contrib/stack/topsStack",
    "components/contrib/stack/topsStack",
    "topsStack",
    ".",
)


@dataclass(frozen=True)
class StackRequest:
    """What stackSentinel.py will be asked for; computed at parse time without touching disk."""

    fingerprint: str
    dates: tuple[str, ...]
    safes: tuple[str, ...]  # SAFE paths as Snakemake inputs
    dem: str  # DEM path as a Snakemake input
    num_connections: int
    arguments: tuple[str, ...]  # full stackSentinel.py argv
    isce_home: str | None
    text_cmd: str

    def to_json(self) -> dict[str, Any]:
        return {
            "format": PLAN_FORMAT,
            "fingerprint": self.fingerprint,
            "dates": list(self.dates),
            "safes": [_absolute(safe) for safe in self.safes],
            "arguments": list(self.arguments),
            "isce_home": self.isce_home,
            "text_cmd": self.text_cmd,
        }


def _absolute(path: str) -> str:
    return os.path.abspath(os.path.expanduser(path))


def _stack_dates(settings: Mapping[str, Any], pair_dates: list[tuple[str, str]]) -> list[str]:
    dates = sorted({day for pair in pair_dates for day in pair})
    left_out = set(settings.get("exclude_dates") or [])
    if settings.get("start_date"):
        first = settings["start_date"].replace("-", "")
        left_out |= {day for day in dates if day < first}
    if settings.get("end_date"):
        last = settings["end_date"].replace("-", "")
        left_out |= {day for day in dates if day > last}
    used = sorted(left_out.intersection(dates))
    if used:
        affected = [f"{a}_{b}" for a, b in pair_dates if a in used or b in used]
        raise UserError(
            f"isce.exclude_dates/start_date/end_date leave out {', '.join(used)}, used by pair(s) "
            f"{', '.join(affected[:5])}{' ...' if len(affected) > 5 else ''}; remove those pairs "
            "(or the dates from `scenes`) or change the date selection"
        )
    return dates


def _num_connections(dates: list[str], pair_dates: Iterable[tuple[str, str]]) -> int:
    position = {day: number for number, day in enumerate(dates)}
    return max([position[b] - position[a] for a, b in pair_dates] + [1])


def stack_sentinel_options(
    settings: Mapping[str, Any], dem: str, num_connections: int
) -> list[str]:
    """stackSentinel.py options for the settings (every option of its command line but -s/-w).

    Values are attached with ``=`` so argparse never mistakes a negative bbox for an option.
    """
    options = [
        f"--orbit_directory={_absolute(settings['orbit_dir'])}",
        f"--aux_directory={_absolute(settings['aux_dir'])}",
        f"--dem={_absolute(dem)}",
        f"--polarization={settings['polarization']}",
        f"--workflow={settings['workflow']}",
        f"--swath_num={settings['swath_num']}",
    ]
    if settings.get("bbox") and not settings.get("full_frame"):
        south, north, west, east = settings["bbox"]
        options.append(f"--bbox={south:g} {north:g} {west:g} {east:g}")
    if settings.get("include_dates"):
        options.append(f"--include_dates={','.join(settings['include_dates'])}")
    options += [
        f"--coregistration={settings['coregistration']}",
        f"--snr_misreg_threshold={settings['snr_misreg_threshold']:g}",
        f"--esd_coherence_threshold={settings['esd_coherence_threshold']:g}",
        f"--num_overlap_connections={settings['num_overlap_connections']}",
        f"--num_connections={num_connections}",
        f"--azimuth_looks={settings['looks_azimuth']}",
        f"--range_looks={settings['looks_range']}",
        f"--filter_strength={settings['filter_strength']:g}",
        f"--unw_method={settings['unw_method']}",
    ]
    if settings.get("reference_date"):
        options.append(f"--reference_date={settings['reference_date']}")
    if settings.get("rm_filter"):
        options.append("--rmFilter")
    if settings.get("param_ion"):
        options.append(f"--param_ion={_absolute(settings['param_ion'])}")
        options.append(f"--num_connections_ion={settings['num_connections_ion']}")
    if settings.get("use_gpu"):
        options.append("--useGPU")
    options += [
        f"--num_proc={settings['num_proc']}",
        f"--num_proc4topo={settings['num_proc4topo']}",
    ]
    if settings.get("text_cmd"):
        options.append(f"--text_cmd={settings['text_cmd']}")
    if settings.get("virtual_merge") is not None:
        options.append(f"--virtual_merge={settings['virtual_merge']}")
    return options


def build_stack_request(
    settings: Mapping[str, Any], pair_dates: Iterable[tuple[str, str]]
) -> StackRequest:
    """The stack for the requested pairs; UserError (one line) for anything that cannot work.

    Reads only the SLC directory listing, so it is cheap enough to run at every parse.
    """
    pair_dates = sorted(set(pair_dates))
    dates = _stack_dates(settings, pair_dates)
    by_date = products_by_date(find_safe_products(settings["slc_dir"]))
    missing = [day for day in dates if day not in by_date]
    if missing:
        raise UserError(
            f"isce.slc_dir '{settings['slc_dir']}' has no Sentinel-1 IW SLC (.zip or .SAFE) for "
            f"{len(missing)} pair date(s): {', '.join(missing[:8])}{' ...' if len(missing) > 8 else ''}"
        )
    if settings.get("reference_date") and settings["reference_date"] not in dates:
        raise UserError(
            f"isce.reference_date = '{settings['reference_date']}' is not a date of the pairs; "
            f"allowed: one of {dates[0]} ... {dates[-1]} used by the pairs"
        )
    if settings.get("param_ion") and not os.path.isfile(settings["param_ion"]):
        raise UserError(
            f"isce.param_ion = '{settings['param_ion']}' is not a file; give topsStack's "
            "ion_param.txt (edited) or leave it empty for no ionosphere steps"
        )
    slc_dir = settings["slc_dir"]
    safes = tuple(
        os.path.join(slc_dir, product.path.name) for day in dates for product in by_date[day]
    )
    dem = settings.get("dem_path") or paths.dem_file(dem_key(safes, dict(settings)))
    num_connections = _num_connections(dates, pair_dates)
    options = stack_sentinel_options(settings, dem, num_connections)
    isce_home = _absolute(settings["isce_home"]) if settings.get("isce_home") else None
    identity = {
        "format": PLAN_FORMAT,
        "options": options,
        "safes": [_absolute(safe) for safe in safes],
        "isce_home": isce_home,
    }
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()
    fingerprint = digest[:ISCE_FINGERPRINT_LENGTH]
    arguments = (
        f"--slc_directory={_absolute(paths.ISCE_SAFE_LIST.format(fingerprint=fingerprint))}",
        f"--working_directory={_absolute(paths.ISCE_WORK_DIR.format(fingerprint=fingerprint))}",
        *options,
    )
    return StackRequest(
        fingerprint=fingerprint,
        dates=tuple(dates),
        safes=safes,
        dem=dem,
        num_connections=num_connections,
        arguments=arguments,
        isce_home=isce_home,
        text_cmd=settings.get("text_cmd") or "",
    )


# --- job time -----------------------------------------------------------------------------


def find_tops_stack(isce_home: str | None) -> Path:
    """Directory of stackSentinel.py: isce.isce_home, $ISCE_HOME, the active conda env, or PATH.

    Never downloads topsStack: a missing install is a one-line error.
    """
    roots = [isce_home] if isce_home else []
    roots += [os.environ.get("ISCE_HOME"), os.environ.get("CONDA_PREFIX")]
    for root in filter(None, roots):
        for sub in TOPS_STACK_SUBDIRS:
            candidate = Path(root, sub, "stackSentinel.py")
            if candidate.is_file():
                return candidate.parent.resolve()
        if root == isce_home:
            raise UserError(
                f"isce.isce_home = '{isce_home}' has no stackSentinel.py (looked in "
                f"{', '.join(TOPS_STACK_SUBDIRS)}); point it at the ISCE2 install root"
            )
    on_path = shutil.which("stackSentinel.py")
    if on_path:
        return Path(on_path).resolve().parent
    raise UserError(
        "stackSentinel.py not found: set isce.isce_home to the ISCE2 install, put topsStack on "
        "PATH, or run with --sdm conda (envs/isce2.yaml)"
    )


def command_environment(tops_dir: str) -> dict[str, str]:
    """Environment for topsStack programs: topsStack first on PATH (run files call them by name)."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([tops_dir, env.get("PATH", "")])
    return env


def python_script_argv(script: Path) -> list[str]:
    """How to start a topsStack script: directly when executable, else with python3 from PATH."""
    if os.access(script, os.X_OK):
        return [str(script)]
    return ["python3", str(script)]


def _reference_date(stack: Path) -> str | None:
    config = stack / "configs" / "config_reference"
    if not config.is_file():
        return None
    for line in config.read_text().splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "dirname" and value.strip():
            start = os.path.basename(value.split()[0]).split("_")[5]  # SAFE name field 5
            return start[:8]
    return None


def _stack_dates_from_configs(stack: Path, reference: str | None) -> list[str]:
    dates = {path.name.rsplit("_", 1)[1] for path in (stack / "configs").glob("config_secondary_*")}
    if reference:
        dates.add(reference)
    return sorted(dates)


def log(message: str) -> None:
    print(f"[{datetime.now().isoformat(timespec='seconds')}] {message}", flush=True)


def generate_run_files(
    request_file: str | Path, plan_file: str | Path, timeout_minutes: float
) -> Plan:
    """Run stackSentinel.py for a request in a clean work dir and parse its run files."""
    request = json.loads(Path(request_file).read_text())
    fingerprint = request["fingerprint"]
    root = Path(paths.isce_stack(fingerprint)).absolute()
    stack = Path(paths.ISCE_WORK_DIR.format(fingerprint=fingerprint)).absolute()
    # A fresh generation: old run files and outputs would send stackSentinel into update
    # mode or make it refuse, and old markers must not count for the new run files.
    for stale in (stack, root / "steps", root / "chains"):
        if stale.exists():
            log(f"removing {stale} (run files are regenerated)")
            shutil.rmtree(stale)
    stack.mkdir(parents=True)
    Path(paths.ISCE_SAFE_LIST.format(fingerprint=fingerprint)).absolute().write_text(
        "".join(f"{safe}\n" for safe in request["safes"])
    )
    tops_dir = find_tops_stack(request["isce_home"])
    argv = [*python_script_argv(tops_dir / "stackSentinel.py"), *request["arguments"]]
    log(f"topsStack: {tops_dir}")
    log(f"running: {shlex.join(argv)}")
    started = time.monotonic()
    try:
        result = subprocess.run(
            argv,
            cwd=root,  # it writes SAFE_files.txt into the current directory
            env=command_environment(str(tops_dir)),
            stdin=subprocess.DEVNULL,
            timeout=timeout_minutes * 60,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise RuntimeError(
            f"stackSentinel.py did not finish within {timeout_minutes:g} min"
        ) from None
    log(
        f"stackSentinel.py exited with {result.returncode} after {time.monotonic() - started:.1f} s"
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"stackSentinel.py failed with exit code {result.returncode} (see above)"
        )
    run_dir = stack / "run_files"
    steps = parse_run_files(run_dir, request["text_cmd"]) if run_dir.is_dir() else []
    if not steps:
        raise RuntimeError(f"stackSentinel.py wrote no run files into {run_dir}")
    reference = _reference_date(stack)
    dates = _stack_dates_from_configs(stack, reference)
    dropped = sorted(set(request["dates"]) - set(dates))
    if dropped:
        raise RuntimeError(
            f"stackSentinel.py left out date(s) {', '.join(dropped)} that requested pairs use "
            "(their SAFEs do not cover the whole bbox, or have no orbit); add them to "
            "isce.include_dates, widen or drop isce.bbox, or remove those pairs"
        )
    plan = Plan.from_steps(
        fingerprint=fingerprint,
        work_dir=str(stack),
        text_cmd=request["text_cmd"],
        tops_dir=str(tops_dir),
        reference_date=reference,
        dates=dates,
        steps=steps,
    )
    # what each command waits for, from the files its config or arguments name
    annotate(plan.steps, str(stack))
    plan.write(plan_file)
    total = sum(len(step["commands"]) for step in plan.steps)
    log(f"{len(plan.steps)} steps, {total} commands -> {plan_file}")
    return plan


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Generate topsStack run files for a stack request."
    )
    parser.add_argument("--request", required=True)
    parser.add_argument("--plan", required=True)
    parser.add_argument("--timeout-minutes", type=float, default=60)
    args = parser.parse_args(argv)
    try:
        generate_run_files(args.request, args.plan, args.timeout_minutes)
    except (UserError, RuntimeError, OSError) as error:
        log(f"ERROR: {error}")
        print(f"insarflow: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
