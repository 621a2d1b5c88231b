"""Benchmark: accuracy of the time-series stage against the sandbox's ground truth.

A one-year stack (default 30 acquisitions, 12 days apart, 3 connections: 84 pairs) goes
through the real workflow (Snakemake CLI, real hyp3_sdk against the sandbox, real MintPy). The
sandbox's truth export (`insarflow.sandbox.truth.write_truth`) gives the true LOS velocity and the
observed per-date LOS (true displacement + atmosphere + per-date noise). Printed, each next to its
goal, over the deforming bowl (|true velocity| >= 20 % of its peak), relative to insarflow's
reference point:

- (a) irreducible error: RMS error of a per-pixel least-squares line fitted to the observed LOS;
- (b) insarflow's velocity RMS error (goal: <= 1.5 x (a));
- insarflow's mean bias over the bowl (goal: within 1 mm/yr);
- insarflow's mean velocity over the inner bowl (truth > 80 % of its peak) (goal: within 10 % of
  the truth's mean there);
- the wall time of every stage, and of every MintPy step.

Next to each of insarflow's figures the same figure of the irreducible line is printed: with a
realistic troposphere, its bias and inner-bowl error are several mm/yr and percent by themselves.

The stack is INSAR_ISCE_BURST by default, with MintPy's bridging unwrapping-error correction
(the sandbox puts 2*pi errors in a quarter of the pairs, and burst products carry the connected
components every MintPy correction works with). ``--job-type INSAR_GAMMA`` runs scene pairs,
which have no connected components, so their unwrapping errors stay in the time series.

``--reference far`` puts the reference point on stable land far from the deformation (as a
scientist who knows the area would), instead of the stage's automatic choice.

Usage: python benchmarks/timeseries_accuracy.py [--dates 30] [--spacing 12] [--connections 3]
       [--job-type INSAR_ISCE_BURST] [--reference auto|far] [--cores 2] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
from scipy.ndimage import binary_dilation  # noqa: E402

from insarflow import paths  # noqa: E402
from insarflow.sandbox.products import frame_of_granules  # noqa: E402
from insarflow.sandbox.scene import scene_model  # noqa: E402
from insarflow.sandbox.truth import write_truth  # noqa: E402
from insarflow.timeseries.accuracy import Accuracy, velocity_accuracy  # noqa: E402
from tests.timeseries.stack import (  # noqa: E402
    BURST_SETTINGS,
    run_phases,
    track_bursts,
    track_scenes,
    write_project,
)

GOAL_RMS_FACTOR = 1.5
GOAL_BIAS_MM_YR = 1.0
GOAL_INNER_ERROR = 0.10


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dates", type=int, default=30)
    parser.add_argument("--spacing", type=int, default=12, help="days between acquisitions")
    parser.add_argument("--connections", type=int, default=3)
    parser.add_argument(
        "--job-type", default="INSAR_ISCE_BURST", choices=["INSAR_ISCE_BURST", "INSAR_GAMMA"]
    )
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="work dir to keep (default: a temporary one)")
    parser.add_argument(
        "--reference",
        choices=["auto", "far"],
        default="auto",
        help="auto: the stage's own choice (most coherent window); far: a stable land pixel far "
        "from the deformation, as a scientist who knows the area would pick",
    )
    args = parser.parse_args()

    if args.job_type == "INSAR_GAMMA":
        scenes, settings = track_scenes(args.dates, args.spacing), {}
    else:
        scenes, settings = track_bursts(args.dates, args.spacing), BURST_SETTINGS
    with tempfile.TemporaryDirectory(prefix="insarflow-ts-bench-") as temporary:
        work = args.keep or Path(temporary)
        work.mkdir(parents=True, exist_ok=True)
        if args.reference == "far":
            settings = {**settings, "reference_lalo": far_field_reference(scenes)}
        write_project(work, scenes, args.connections, settings, job_type=args.job_type)
        print(
            f"stack: {args.job_type}, {args.dates} acquisitions {args.spacing} days apart, "
            f"{args.connections} connections; timeseries settings {settings}; work dir {work}"
        )
        started = time.monotonic()
        timings = run_phases(work, cores=args.cores)
        truth_started = time.monotonic()
        truth = write_truth(scenes, "20x4", work / "truth")
        timings["sandbox truth export"] = time.monotonic() - truth_started
        total = time.monotonic() - started
        accuracy = velocity_accuracy(
            work / paths.VELOCITY_TIF, truth["velocity"], truth["observed_los"]
        )
        steps = json.loads((work / paths.MINTPY_STEPS).read_text())
        pairs = len(list((work / paths.TIMESERIES_CLIPPED).glob("*/*_unw_phase.tif")))
        report(accuracy, timings, total, steps, pairs)
    return 0 if passes(accuracy) else 1


def far_field_reference(scenes: list[str]) -> list[float]:
    """[lat, lon] of a land pixel inside every product's window (the frame's central 3/4 x 7/8),
    where the true velocity is under 2 % of its peak, as far as possible from the peak."""
    frame = frame_of_granules(scenes, "20x4")
    model = scene_model(frame)
    speed = np.abs(model.los_velocity())
    rows, cols = np.indices(speed.shape)
    height, width = speed.shape
    inside = (
        (rows > height // 8 + 2)
        & (rows < height - height // 8 - 3)
        & (cols > width // 16 + 2)
        & (cols < width - width // 16 - 3)
    )
    stable = inside & model.valid & ~binary_dilation(model.water, iterations=3)
    stable &= speed < 0.02 * speed.max()
    peak_row, peak_col = np.unravel_index(int(np.argmax(speed)), speed.shape)
    distance = np.where(stable, np.hypot(rows - peak_row, cols - peak_col), -1.0)
    row, col = np.unravel_index(int(np.argmax(distance)), distance.shape)
    x, y = frame.map_coordinates(int(row), int(col))
    lons, lats = frame.lon_lat(np.array([x]), np.array([y]))
    return [round(float(lats[0]), 6), round(float(lons[0]), 6)]


def passes(accuracy: Accuracy) -> bool:
    return (
        accuracy.rms <= GOAL_RMS_FACTOR * accuracy.irreducible_rms
        and abs(accuracy.bias) <= GOAL_BIAS_MM_YR
        and accuracy.inner_error <= GOAL_INNER_ERROR
    )


def report(accuracy: Accuracy, timings: dict, total: float, steps: list, pairs: int) -> None:
    def verdict(ok: bool) -> str:
        return "ok" if ok else "MISSED"

    a = accuracy
    print(f"\npairs inverted: {pairs}; reference pixel (row, col) {a.reference}")
    print(
        f"bowl: {a.bowl_pixels} pixels (|truth| >= 20 % of peak {a.peak:.1f} mm/yr), "
        f"{a.coverage:.0%} of them with an insarflow value; inner bowl: {a.inner_pixels} pixels"
    )
    print("\naccuracy over the bowl (mm/yr)                     value    goal")
    print(f"(a) irreducible RMS error (LSQ line on observed)  {a.irreducible_rms:7.2f}    -")
    limit = GOAL_RMS_FACTOR * a.irreducible_rms
    print(
        f"(b) insarflow velocity RMS error                  {a.rms:7.2f}    <= {limit:.2f} "
        f"(1.5 x a; ratio {a.rms / a.irreducible_rms:.2f})  {verdict(a.rms <= limit)}"
    )
    print(
        f"    insarflow mean bias                           {a.bias:+7.2f}    within "
        f"+-{GOAL_BIAS_MM_YR:.1f}  {verdict(abs(a.bias) <= GOAL_BIAS_MM_YR)}"
        f"  (irreducible line: {a.irreducible_bias:+.2f})"
    )
    print(
        f"    inner-bowl mean: insarflow {a.inner_mean:7.2f} vs truth {a.inner_truth_mean:7.2f}"
        f"  error {a.inner_error:.1%}  <= 10 %  {verdict(a.inner_error <= GOAL_INNER_ERROR)}"
        f"  (irreducible line: {a.inner_irreducible_mean:.2f}, error "
        f"{a.inner_irreducible_error:.1%})"
    )
    print("\nwall time per stage (s)")
    for name, seconds in timings.items():
        print(f"  {name:<44} {seconds:7.1f}")
    print(f"  {'total':<44} {total:7.1f}")
    print("MintPy steps (s, each in its own process)")
    for step in steps:
        print(f"  {step['step']:<24} {step['seconds']:6.1f}  {step['status']}")


if __name__ == "__main__":
    sys.exit(main())
