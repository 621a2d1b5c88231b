"""How close the stage's velocity is to a known truth (the sandbox's ground-truth export).

Everything is relative to the reference point of insarflow's velocity (a time series only knows
motion relative to it). Two errors over the deforming bowl (|true velocity| >= ``bowl_fraction`` of
its peak):

- the *irreducible* error: a least-squares line fitted pixel by pixel to the observed per-date LOS
  (true displacement plus atmosphere and per-date noise), i.e. the best any time-series method could
  do with these acquisitions, against the true velocity;
- insarflow's error: its velocity GeoTIFF against the true velocity;
- insarflow's own processing error: its velocity against that fitted line. The atmosphere of the
  acquisitions is common to both, so what is left is what the processing adds (network inversion
  of the pairs' decorrelation noise, DEM-error estimation, unwrapping-error correction, grid or
  unit mistakes).

The decorrelation noise is drawn per interferogram, so it is not in the observed per-date LOS,
and a time series sees it relative to one pixel: the reference pixel's noise, which a network of
short pairs integrates like a random walk, shifts every pixel's velocity by the same amount. On
the sandbox's one-year stacks (30 dates, 3 connections; 0.6-1.0 mm of noise per pair at the far
reference pixel) that shift has a standard deviation of about 1.5 mm/yr from frame to frame and a
mean of zero (+0.1 +- 0.2 mm/yr on 60 frames); on any one frame it can be most of
``processing_bias``. ``reference_offset`` estimates it as the mean of insarflow minus the fitted
line over the pixels around the reference point (their own noise averages out), and
``relative_processing_bias`` is the bowl's processing bias net of it: what the processing adds to
the bowl relative to the ground around the reference point.

With a realistic troposphere, the fitted line's mean over the bowl is itself several mm/yr off the
truth for one set of acquisitions (the reference point's atmosphere does not average out), so
goals on the bowl's mean are only resolved against the truth over many atmospheres; against the
fitted line they are resolved on every run.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import rasterio
from rasterio.windows import Window


@dataclass(frozen=True)
class Accuracy:
    irreducible_rms: float  # mm/yr
    rms: float  # mm/yr
    bias: float  # mm/yr, insarflow minus truth, mean over the bowl
    irreducible_bias: float  # mm/yr, the fitted line minus truth, mean over the bowl
    inner_mean: float  # mm/yr, insarflow's mean over the inner bowl
    inner_truth_mean: float  # mm/yr
    inner_irreducible_mean: float  # mm/yr, the fitted line's mean over the inner bowl
    processing_rms: float  # mm/yr, RMS of insarflow minus the fitted line over the bowl
    processing_bias: float  # mm/yr, insarflow minus the fitted line, mean over the bowl
    # mm/yr, insarflow minus the fitted line, mean over the pixels around the reference point
    # (not the reference pixel itself): the reference pixel's noise, common to every pixel
    reference_offset: float
    peak: float  # mm/yr, largest |true velocity| in the compared area
    bowl_pixels: int
    inner_pixels: int
    coverage: float  # share of bowl pixels where insarflow has a value
    reference: tuple[int, int]

    @property
    def relative_processing_bias(self) -> float:
        """``processing_bias`` net of ``reference_offset`` (mm/yr): what the processing adds to
        the bowl relative to the ground around the reference point."""
        return self.processing_bias - self.reference_offset

    @property
    def inner_error(self) -> float:
        """Relative error of the inner-bowl mean (0.1 = 10 %)."""
        return abs(self.inner_mean - self.inner_truth_mean) / abs(self.inner_truth_mean)

    @property
    def inner_irreducible_error(self) -> float:
        """The same relative error for the line fitted to the observations."""
        return abs(self.inner_irreducible_mean - self.inner_truth_mean) / abs(self.inner_truth_mean)

    @property
    def inner_processing_error(self) -> float:
        """insarflow's inner-bowl mean against the fitted line's, relative to the truth's mean."""
        return abs(self.inner_mean - self.inner_irreducible_mean) / abs(self.inner_truth_mean)

    def as_dict(self) -> dict[str, float]:
        return asdict(self) | {
            "relative_processing_bias": self.relative_processing_bias,
            "inner_error": self.inner_error,
            "inner_irreducible_error": self.inner_irreducible_error,
            "inner_processing_error": self.inner_processing_error,
        }


def _window_on(truth: rasterio.io.DatasetReader, bounds: rasterio.coords.BoundingBox) -> Window:
    transform = truth.transform
    col = (bounds.left - transform.c) / transform.a
    row = (bounds.top - transform.f) / transform.e
    width = (bounds.right - bounds.left) / transform.a
    height = (bounds.bottom - bounds.top) / transform.e
    values = (col, row, width, height)
    if any(abs(v - round(v)) > 1e-6 for v in values):
        raise ValueError("the velocity and the truth do not share grid lines")
    return Window(*(round(v) for v in values))


def fitted_velocity(observed: np.ndarray, dates: list[str]) -> np.ndarray:
    """Per-pixel least-squares slope of ``observed`` (dates x rows x cols, metres), in mm/yr."""
    moments = [datetime.strptime(day, "%Y%m%d") for day in dates]
    years = np.array([(m - moments[0]).days / 365.25 for m in moments])
    centred = years - years.mean()
    anomaly = observed - observed.mean(axis=0)
    slope = np.tensordot(centred, anomaly, axes=(0, 0)) / np.sum(centred**2)
    return slope * 1000.0


def velocity_accuracy(
    velocity_tif: str | Path,
    truth_velocity_tif: str | Path,
    observed_los_tif: str | Path,
    bowl_fraction: float = 0.2,
    inner_fraction: float = 0.8,
    reference_radius: int = 3,
) -> Accuracy:
    """Compare insarflow's velocity (mm/yr) with the truth, both relative to its reference point.

    ``reference_radius``: the half-size in pixels of the box around the reference point over which
    ``reference_offset`` is averaged (3: 48 pixels besides the reference pixel)."""
    with rasterio.open(velocity_tif) as velocity_file:
        velocity = velocity_file.read(1).astype("float64")
        bounds = velocity_file.bounds
        tags = velocity_file.tags()
        reference = (int(tags["reference_row"]), int(tags["reference_col"]))
    with rasterio.open(truth_velocity_tif) as truth_file:
        truth = truth_file.read(1, window=_window_on(truth_file, bounds)).astype("float64")
    with rasterio.open(observed_los_tif) as observed_file:
        window = _window_on(observed_file, bounds)
        observed = observed_file.read(window=window).astype("float64")
        dates = list(observed_file.descriptions)
    truth_relative = truth - truth[reference]
    fitted = fitted_velocity(
        observed - observed[:, reference[0], reference[1]][:, None, None], dates
    )

    magnitude = np.abs(truth)
    peak = float(magnitude.max())
    has_value = np.isfinite(velocity)
    whole_bowl = magnitude >= bowl_fraction * peak
    bowl = whole_bowl & has_value
    inner = (magnitude >= inner_fraction * peak) & has_value
    if not bowl.any() or not inner.any():
        raise ValueError("insarflow's velocity has no value over the deforming bowl")

    rows, cols = np.indices(velocity.shape)
    around_reference = (
        (np.abs(rows - reference[0]) <= reference_radius)
        & (np.abs(cols - reference[1]) <= reference_radius)
        & ((rows != reference[0]) | (cols != reference[1]))
        & has_value
    )
    if not around_reference.any():
        raise ValueError("insarflow's velocity has no value around its reference point")

    def rms(values: np.ndarray) -> float:
        return math.sqrt(float(np.mean(values**2)))

    return Accuracy(
        irreducible_rms=rms((fitted - truth_relative)[bowl]),
        rms=rms((velocity - truth_relative)[bowl]),
        bias=float(np.mean((velocity - truth_relative)[bowl])),
        irreducible_bias=float(np.mean((fitted - truth_relative)[bowl])),
        inner_mean=float(np.mean(velocity[inner])),
        inner_truth_mean=float(np.mean(truth_relative[inner])),
        inner_irreducible_mean=float(np.mean(fitted[inner])),
        processing_rms=rms((velocity - fitted)[bowl]),
        processing_bias=float(np.mean((velocity - fitted)[bowl])),
        reference_offset=float(np.mean((velocity - fitted)[around_reference])),
        peak=peak,
        bowl_pixels=int(bowl.sum()),
        inner_pixels=int(inner.sum()),
        coverage=float(bowl.sum() / whole_bowl.sum()),
        reference=reference,
    )
