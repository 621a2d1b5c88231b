"""Accuracy of the stage on a small sandbox stack against the sandbox's ground truth.

The same figures as benchmarks/timeseries_accuracy.py (which runs one-year, 30-date stacks
against the issue's goals) on 12 burst acquisitions over 132 days with 3 connections, MintPy's
bridging unwrapping-error correction on (the sandbox puts 2*pi errors in a quarter of the pairs)
and the reference point on stable land far from the bowl, as the benchmark sets it.

A realistic troposphere moves the bowl's mean velocity by several mm/yr for any estimator on one
set of acquisitions (on 40 frames' atmospheres, 12 dates: the irreducible line's bias has a
standard deviation of 20 mm/yr), so the bias and the inner-bowl mean are bounded against the
irreducible line (a line fitted to the true per-date displacement plus the injected atmosphere
and noise): insarflow's own processing error, which a sign, unit, grid or reference-point mistake
would make tens of mm/yr.

MintPy's DEM-error estimation is off here: on 132 days the perpendicular baselines drift almost
linearly with time, so the estimated DEM error trades off with the velocity and moves the bowl by
-7 to +22 mm/yr on five frames (on a one-year stack about +-3 mm/yr, zero-mean). The benchmark
measures the stage with it on, as configured by default. With it off, the sandbox's DEM error
(GLO-30-like, a phase proportional to each product's baseline) stays in the velocity and counts
here as processing error: on this frame a line fitted to its per-date term moves the bowl's mean
by +0.7 mm/yr (1.1 mm/yr RMS over the bowl), within the bounds below; measured with it: processing
bias +1.8 mm/yr, inner-bowl difference 6 %, RMS error 0.95x the irreducible one.

Bounds: the benchmark's 1 mm/yr and 10 % for a year of 30 dates, loosened for a rate fitted to 12
dates over a third of the span (its error grows as 1 / (span * sqrt(dates)), about 4x). Measured
on five frames with these settings: processing bias -0.4 .. +3.3 mm/yr, inner-bowl difference
up to 9 %, RMS error up to 1.1x the irreducible one.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from insarflow import paths
from insarflow.sandbox.truth import write_truth
from insarflow.timeseries.accuracy import velocity_accuracy
from tests.timeseries.stack import (
    BURST_SETTINGS,
    far_field_reference,
    run_phases,
    track_bursts,
    write_project,
)

RMS_FACTOR = 2.0  # benchmark goal: 1.5 x the irreducible RMS error
PROCESSING_BIAS_MM_YR = 4.0  # benchmark goal: 1 mm/yr over a year of 30 dates
INNER_PROCESSING_ERROR = 0.15  # benchmark goal: 10 %


@pytest.mark.slow
def test_velocity_of_a_small_stack_is_close_to_the_truth(tmp_path: Path):
    bursts = track_bursts(12)
    work = tmp_path / "work"
    settings = {
        **BURST_SETTINGS,
        "reference_lalo": far_field_reference(bursts),
        "topographic_residual": False,
    }
    write_project(work, bursts, 3, settings, job_type="INSAR_ISCE_BURST")
    run_phases(work)
    truth = write_truth(bursts, "20x4", tmp_path / "truth")
    accuracy = velocity_accuracy(
        work / paths.VELOCITY_TIF, truth["velocity"], truth["observed_los"]
    )
    summary = accuracy.as_dict()
    assert accuracy.coverage > 0.9, summary
    assert accuracy.rms <= RMS_FACTOR * accuracy.irreducible_rms, summary
    assert abs(accuracy.processing_bias) <= PROCESSING_BIAS_MM_YR, summary
    assert accuracy.inner_processing_error <= INNER_PROCESSING_ERROR, summary
