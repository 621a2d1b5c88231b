"""Run MintPy's smallbaselineApp one step at a time and check what each step leaves behind.

Each step runs as ``smallbaselineApp.py TEMPLATE --dir WORK --dostep STEP`` in its own process, with
its own log, so a crash names its step, and a step that "succeeds" without its output is caught too.
One crash is expected and harmless: MintPy 1.6.4's quick_overview raises ``ValueError: bins must
be positive`` in ``plot_num_triplet_with_nonzero_integer_ambiguity`` when no triplet of
interferograms has an unwrapping ambiguity, after it has written ``numTriNonzeroIntAmbiguity.h5``.
That crash passes only when the file is there and every count in it is zero.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from insarflow.errors import UserError
from insarflow.timeseries.template import write_template

log = logging.getLogger(__name__)

AMBIGUITY_FILE = "numTriNonzeroIntAmbiguity.h5"
_BINS_CRASH = "bins must be positive"
_BINS_CRASH_WHERE = "plot_num_triplet_with_nonzero_integer_ambiguity"


class MintPyStepFailed(UserError):
    """A MintPy step crashed or left no sane output; the message names the step and its log."""


@dataclass
class StepOutcome:
    step: str
    seconds: float
    status: str  # "ok", "ok (known quick_overview plot crash with zero ambiguities)", "failed"
    log: str


def steps_to_run(options: Mapping[str, str]) -> list[str]:
    """MintPy's own step list, without the export steps the template switches off."""
    from mintpy.defaults.template import STEP_LIST

    switched_off = {
        "google_earth": options.get("mintpy.save.kmz") == "no",
        "hdfeos5": options.get("mintpy.save.hdfEos5", "no") == "no",
    }
    return [step for step in STEP_LIST if not switched_off.get(step, False)]


def run_smallbaseline(
    settings: Mapping[str, Any],
    clipped_dir: str | Path,
    work_dir: str | Path,
    template_path: str | Path,
    step_log_dir: str | Path,
    record_path: str | Path,
    threads: int = 1,
) -> list[StepOutcome]:
    """Write the template, run every step with its check; MintPyStepFailed names a failing step."""
    work_dir = Path(work_dir).resolve()
    step_log_dir = Path(step_log_dir)
    shutil.rmtree(step_log_dir, ignore_errors=True)
    step_log_dir.mkdir(parents=True)
    # A fresh work dir: MintPy's update mode would otherwise keep files of an earlier stack.
    shutil.rmtree(work_dir, ignore_errors=True)
    work_dir.mkdir(parents=True)
    options = write_template(settings, clipped_dir, template_path)
    expected_pairs = len(list(Path(clipped_dir).glob("*/*_unw_phase.tif")))
    env = {
        **os.environ,
        "MPLBACKEND": "Agg",
        "OMP_NUM_THREADS": str(threads),
        "OPENBLAS_NUM_THREADS": str(threads),
    }
    outcomes: list[StepOutcome] = []
    try:
        for index, step in enumerate(steps_to_run(options), start=1):
            step_log = step_log_dir / f"{index:02d}_{step}.log"
            started = time.monotonic()
            with open(step_log, "w") as handle:
                result = subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "mintpy.cli.smallbaselineApp",
                        str(Path(template_path).resolve()),
                        "--dir",
                        str(work_dir),
                        "--dostep",
                        step,
                    ],
                    stdout=handle,
                    stderr=subprocess.STDOUT,
                    env=env,
                    check=False,
                )
            seconds = time.monotonic() - started
            status = judge_step(
                step, result.returncode, step_log, work_dir, options, expected_pairs
            )
            outcomes.append(StepOutcome(step, round(seconds, 2), status, str(step_log)))
            log.info("MintPy %-22s %6.1f s  %s", step, seconds, status)
    finally:
        Path(record_path).write_text(json.dumps([asdict(o) for o in outcomes], indent=2) + "\n")
    return outcomes


def judge_step(
    step: str,
    returncode: int,
    step_log: Path,
    work_dir: Path,
    options: Mapping[str, str],
    expected_pairs: int,
) -> str:
    """ "ok" (or the harmless-crash note) if the step did its job; MintPyStepFailed otherwise."""
    status = "ok"
    if returncode != 0:
        if step == "quick_overview" and is_harmless_ambiguity_plot_crash(step_log, work_dir):
            status = "ok (MintPy 1.6.4 plot crash: no triplet has an unwrapping ambiguity)"
            log.warning(
                "quick_overview crashed in MintPy's ambiguity histogram because no triplet has "
                "an unwrapping ambiguity (%s holds only zeros); continuing",
                AMBIGUITY_FILE,
            )
        else:
            raise MintPyStepFailed(
                f"MintPy step {step} failed (exit {returncode}): {last_error_line(step_log)}; "
                f"see {step_log}"
            )
    check = STEP_CHECKS.get(step)
    if check is not None:
        problem = check(work_dir, options, expected_pairs)
        if problem:
            raise MintPyStepFailed(f"MintPy step {step} {problem}; see {step_log}")
    return status


def last_error_line(step_log: Path) -> str:
    lines = [line.strip() for line in step_log.read_text(errors="replace").splitlines()]
    errors = [line for line in lines if line.startswith(("ERROR", "Error")) or "Error:" in line]
    if errors:
        return errors[-1]
    return next((line for line in reversed(lines) if line), "no output")


def is_harmless_ambiguity_plot_crash(step_log: Path, work_dir: Path) -> bool:
    """True only for MintPy 1.6.4's histogram crash after an all-zero ambiguity count was written."""
    text = step_log.read_text(errors="replace")
    tail = text[text.rfind("Traceback (most recent call last)") :] if "Traceback" in text else ""
    if not tail or _BINS_CRASH_WHERE not in tail:
        return False
    final = [line for line in tail.splitlines() if line.strip()][-1]
    if not (final.startswith("ValueError") and _BINS_CRASH in final.replace("`", "")):
        return False
    counts = work_dir / AMBIGUITY_FILE
    if not counts.exists() or not (work_dir / "avgPhaseVelocity.h5").exists():
        return False
    try:
        with h5py.File(counts, "r") as handle:
            values = np.asarray(handle[next(iter(handle.keys()))][()])
    except (OSError, StopIteration, KeyError):
        return False
    counted = values[np.isfinite(values)]
    return bool(counted.size) and not np.any(counted != 0)


# ----------------------------------------------------------------------------- step checks
# Each returns None when the step left what the workflow needs, else what is wrong.


def _stack(work_dir: Path) -> Path:
    return work_dir / "inputs" / "ifgramStack.h5"


def _check_load_data(work_dir: Path, options: Mapping[str, str], expected: int) -> str | None:
    stack, geometry = _stack(work_dir), work_dir / "inputs" / "geometryGeo.h5"
    missing = [p.name for p in (stack, geometry) if not p.exists()]
    if missing:
        return f"wrote no {', '.join(missing)}"
    with h5py.File(stack, "r") as handle:
        loaded = handle["unwrapPhase"].shape[0] if "unwrapPhase" in handle else 0
    if loaded != expected:
        # load_data drops interferograms whose size differs from the most common one (MintPy#1447).
        return f"loaded {loaded} of {expected} interferograms"
    return None


def _check_modify_network(work_dir: Path, options: Mapping[str, str], expected: int) -> str | None:
    with h5py.File(_stack(work_dir), "r") as handle:
        keep = np.asarray(handle["dropIfgram"][()], dtype=bool)
        date12 = [tuple(d.decode() for d in pair) for pair in handle["date"][()]]
    kept = [pair for pair, flag in zip(date12, keep, strict=True) if flag]
    if not kept:
        return "kept no interferogram (network options drop all of them)"
    groups = connected_dates(kept)
    if len(groups) > 1:
        parts = "; ".join(f"{g[0]}..{g[-1]} ({len(g)} dates)" for g in groups)
        return (
            f"left a network in {len(groups)} unconnected parts: {parts}; SBAS cannot tie them "
            "together (add pairs, or relax timeseries.max_temporal_baseline / exclude_dates)"
        )
    return None


def connected_dates(pairs: list[tuple[str, str]]) -> list[list[str]]:
    """The network's connected groups of dates, each sorted, in date order."""
    parent: dict[str, str] = {}

    def root(date: str) -> str:
        parent.setdefault(date, date)
        while parent[date] != date:
            parent[date] = parent[parent[date]]
            date = parent[date]
        return date

    for first, second in pairs:
        parent[root(first)] = root(second)
    groups: dict[str, list[str]] = {}
    for date in sorted(parent):
        groups.setdefault(root(date), []).append(date)
    return sorted(groups.values())


def _check_reference_point(work_dir: Path, options: Mapping[str, str], expected: int) -> str | None:
    with h5py.File(_stack(work_dir), "r") as handle:
        if "REF_Y" not in handle.attrs or "REF_X" not in handle.attrs:
            return "chose no reference point"
    return None


def _check_files(*names: str) -> Callable[[Path, Mapping[str, str], int], str | None]:
    def check(work_dir: Path, options: Mapping[str, str], expected: int) -> str | None:
        missing = [name for name in names if not (work_dir / name).exists()]
        return f"wrote no {', '.join(missing)}" if missing else None

    return check


def _check_unwrap_error(work_dir: Path, options: Mapping[str, str], expected: int) -> str | None:
    method = options.get("mintpy.unwrapError.method", "no")
    if method in ("no", "auto"):
        return None
    dataset = {
        "phase_closure": "unwrapPhase_phaseClosure",
        "bridging": "unwrapPhase_bridging",
        "bridging+phase_closure": "unwrapPhase_bridging_phaseClosure",
    }.get(method)
    with h5py.File(_stack(work_dir), "r") as handle:
        if dataset not in handle:
            return f"wrote no corrected dataset {dataset} for unwrapError.method {method}"
    return None


def _check_invert_network(work_dir: Path, options: Mapping[str, str], expected: int) -> str | None:
    problem = _check_files("timeseries.h5", "temporalCoherence.h5", "maskTempCoh.h5")(
        work_dir, options, expected
    )
    if problem:
        return problem
    with h5py.File(work_dir / "maskTempCoh.h5", "r") as handle:
        reliable = int(np.count_nonzero(handle["mask"][()]))
    return None if reliable else "found no pixel above the minimum temporal coherence"


def final_timeseries(work_dir: str | Path) -> Path:
    """MintPy's last corrected time-series file, chosen by MintPy's own naming rules."""
    from mintpy.smallbaselineApp import TimeSeriesAnalysis
    from mintpy.utils import readfile
    from mintpy.utils import utils as ut

    work_dir = Path(work_dir).resolve()
    template = ut.check_template_auto_value(
        readfile.read_template(str(work_dir / "smallbaselineApp.cfg"))
    )
    steps = TimeSeriesAnalysis.get_timeseries_filename(template, str(work_dir))
    return Path(steps["velocity"]["input"])


def _check_correction(step: str) -> Callable[[Path, Mapping[str, str], int], str | None]:
    def check(work_dir: Path, options: Mapping[str, str], expected: int) -> str | None:
        from mintpy.smallbaselineApp import TimeSeriesAnalysis
        from mintpy.utils import readfile
        from mintpy.utils import utils as ut

        template = ut.check_template_auto_value(
            readfile.read_template(str(work_dir / "smallbaselineApp.cfg"))
        )
        output = Path(
            TimeSeriesAnalysis.get_timeseries_filename(template, str(work_dir))[step]["output"]
        )
        return None if output.exists() else f"wrote no {output.name}"

    return check


def _check_velocity(work_dir: Path, options: Mapping[str, str], expected: int) -> str | None:
    path = work_dir / "velocity.h5"
    if not path.exists():
        return "wrote no velocity.h5"
    with h5py.File(path, "r") as handle:
        if "velocity" not in handle or "velocityStd" not in handle:
            return "wrote velocity.h5 without velocity and velocityStd"
        velocity = handle["velocity"][()]
    if not np.any(np.isfinite(velocity) & (velocity != 0)):
        return "wrote a velocity that is zero or NaN everywhere"
    return None


def kmz_file(work_dir: str | Path) -> Path | None:
    candidates = [Path(work_dir) / name for name in ("velocity.kmz", "geo/geo_velocity.kmz")]
    candidates += sorted(Path(work_dir).glob("pic/*velocity*.kmz"))
    return next((path for path in candidates if path.exists()), None)


def _check_google_earth(work_dir: Path, options: Mapping[str, str], expected: int) -> str | None:
    return None if kmz_file(work_dir) else "wrote no KMZ of the velocity"


STEP_CHECKS: dict[str, Callable[[Path, Mapping[str, str], int], str | None]] = {
    "load_data": _check_load_data,
    "modify_network": _check_modify_network,
    "reference_point": _check_reference_point,
    "quick_overview": _check_files("avgPhaseVelocity.h5", AMBIGUITY_FILE),
    "correct_unwrap_error": _check_unwrap_error,
    "invert_network": _check_invert_network,
    "correct_troposphere": _check_correction("correct_troposphere"),
    "deramp": _check_correction("deramp"),
    "correct_topography": _check_correction("correct_topography"),
    "velocity": _check_velocity,
    "google_earth": _check_google_earth,
}
