"""Accuracy of the stage on a small sandbox stack against the sandbox's ground truth.

The same figures as benchmarks/timeseries_accuracy.py (which runs the one-year, 30-date stack
against the issue's goals) on 12 burst acquisitions over 132 days with 3 connections, MintPy's
bridging unwrapping-error correction on (the sandbox puts 2*pi errors in a quarter of the pairs).
The bounds are looser: a shorter span leaves the atmosphere a larger share of each velocity. Bias
and inner-bowl mean are bounded relative to the irreducible line (what a perfect per-date
inversion would give), since a realistic troposphere alone moves those by several mm/yr.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from insarflow import paths
from insarflow.sandbox.truth import write_truth
from insarflow.timeseries.accuracy import velocity_accuracy
from tests.timeseries.stack import BURST_SETTINGS, run_phases, track_bursts, write_project

RMS_FACTOR = 2.0  # benchmark goal: 1.5 x the irreducible RMS error
BIAS_MARGIN_MM_YR = 3.0  # |bias| <= |irreducible bias| + this
INNER_MARGIN = 0.15  # inner-bowl relative error <= the irreducible line's + this


@pytest.mark.slow
def test_velocity_of_a_small_stack_is_close_to_the_truth(tmp_path: Path):
    bursts = track_bursts(12)
    work = tmp_path / "work"
    write_project(work, bursts, 3, BURST_SETTINGS, job_type="INSAR_ISCE_BURST")
    run_phases(work)
    truth = write_truth(bursts, "20x4", tmp_path / "truth")
    accuracy = velocity_accuracy(
        work / paths.VELOCITY_TIF, truth["velocity"], truth["observed_los"]
    )
    summary = accuracy.as_dict()
    assert accuracy.coverage > 0.9, summary
    assert accuracy.rms <= RMS_FACTOR * accuracy.irreducible_rms, summary
    assert abs(accuracy.bias) <= abs(accuracy.irreducible_bias) + BIAS_MARGIN_MM_YR, summary
    assert accuracy.inner_error <= accuracy.inner_irreducible_error + INNER_MARGIN, summary
