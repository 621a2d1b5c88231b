"""The accuracy figures (insarflow.timeseries.accuracy) on rasters with a known answer."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from insarflow.timeseries.accuracy import velocity_accuracy

PIXEL = 80.0
WEST, NORTH = 500_000.0, 4_000_000.0
FRAME = (24, 32)  # rows, cols of the truth's grid
WINDOW = (3, 5, 18, 24)  # row0, col0, height, width of insarflow's velocity in that grid
REFERENCE = (15, 20)  # in the window


def _write(path: Path, bands: np.ndarray, west: float, north: float, **tags: str) -> Path:
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=bands.shape[2],
        height=bands.shape[1],
        count=bands.shape[0],
        dtype="float32",
        crs="EPSG:32611",
        transform=from_origin(west, north, PIXEL, PIXEL),
    ) as out:
        out.write(bands.astype("float32"))
        if tags:
            out.update_tags(**tags)
    return path


@pytest.fixture
def scene(tmp_path: Path) -> dict:
    rows, cols = np.indices(FRAME)
    truth = -40.0 * np.exp(-((rows - 8.0) ** 2 + (cols - 14.0) ** 2) / (2 * 4.0**2))  # mm/yr
    # A delay whose per-date amplitude grows linearly in time: the fitted line sees it as a
    # velocity (exactly `drift` mm/yr), as a real atmosphere's trend over one year would be seen.
    drift = 3.0 * np.sin(cols / 5.0) + 0.2 * rows  # mm/yr
    days = [date(2021, 1, 1) + timedelta(days=12 * i) for i in range(10)]
    years = np.array([(day - days[0]).days / 365.25 for day in days])
    observed = (truth + drift)[None] * years[:, None, None] / 1000.0  # metres
    truth_path = _write(tmp_path / "truth.tif", truth[None], WEST, NORTH)
    observed_path = _write(tmp_path / "observed.tif", observed, WEST, NORTH)
    with rasterio.open(observed_path, "r+") as dataset:
        for index, day in enumerate(days, 1):
            dataset.set_band_description(index, day.strftime("%Y%m%d"))
    row0, col0, height, width = WINDOW
    window = np.s_[row0 : row0 + height, col0 : col0 + width]
    line = (truth + drift)[window]
    return {
        "truth": truth_path,
        "observed": observed_path,
        "line": line - line[REFERENCE],  # the fitted line, relative to the reference point
        "west": WEST + col0 * PIXEL,
        "north": NORTH - row0 * PIXEL,
    }


def _velocity(tmp_path: Path, scene: dict, values: np.ndarray) -> Path:
    return _write(
        tmp_path / "velocity.tif",
        values[None],
        scene["west"],
        scene["north"],
        reference_row=str(REFERENCE[0]),
        reference_col=str(REFERENCE[1]),
    )


def test_a_velocity_offset_from_the_fitted_line_is_insarflows_own_error(
    tmp_path: Path, scene: dict
):
    velocity = scene["line"] + 0.5
    velocity[REFERENCE] = 0.0
    accuracy = velocity_accuracy(
        _velocity(tmp_path, scene, velocity), scene["truth"], scene["observed"]
    )

    assert accuracy.processing_bias == pytest.approx(0.5, abs=1e-3)
    assert accuracy.processing_rms == pytest.approx(0.5, abs=1e-3)
    # The drift is in the fitted line as well: against the truth, both carry it.
    assert accuracy.bias - accuracy.irreducible_bias == pytest.approx(0.5, abs=1e-3)
    assert abs(accuracy.irreducible_bias) > 1.0
    assert accuracy.inner_processing_error == pytest.approx(
        0.5 / abs(accuracy.inner_truth_mean), rel=1e-3
    )


def test_a_velocity_on_the_fitted_line_has_no_processing_error(tmp_path: Path, scene: dict):
    accuracy = velocity_accuracy(
        _velocity(tmp_path, scene, scene["line"]), scene["truth"], scene["observed"]
    )
    assert accuracy.processing_bias == pytest.approx(0.0, abs=1e-3)
    assert accuracy.processing_rms == pytest.approx(0.0, abs=1e-3)
    assert accuracy.inner_processing_error == pytest.approx(0.0, abs=1e-4)
    assert accuracy.bias == pytest.approx(accuracy.irreducible_bias, abs=1e-3)


def test_a_velocity_one_pixel_off_the_truths_grid_shows_as_processing_error(
    tmp_path: Path, scene: dict
):
    shifted = np.roll(scene["line"], 1, axis=1)
    shifted -= shifted[REFERENCE]
    accuracy = velocity_accuracy(
        _velocity(tmp_path, scene, shifted), scene["truth"], scene["observed"]
    )
    assert accuracy.processing_rms > 1.0


def test_the_reference_pixels_own_noise_is_told_apart_from_an_error_over_the_bowl(
    tmp_path: Path, scene: dict
):
    # The reference pixel's decorrelation noise shifts every other pixel by the same amount (here
    # +0.5 mm/yr); an error of the processing over the bowl (here -1 mm/yr where the truth exceeds
    # 20 % of its peak) does not reach the ground around the reference point.
    row0, col0, height, width = WINDOW
    with rasterio.open(scene["truth"]) as truth_file:
        truth = truth_file.read(1)[row0 : row0 + height, col0 : col0 + width]
    bowl = np.abs(truth) >= 0.2 * np.abs(truth).max()
    velocity = scene["line"] + 0.5 - 1.0 * bowl
    velocity[REFERENCE] = 0.0
    accuracy = velocity_accuracy(
        _velocity(tmp_path, scene, velocity), scene["truth"], scene["observed"]
    )

    assert accuracy.processing_bias == pytest.approx(-0.5, abs=1e-3)
    assert accuracy.reference_offset == pytest.approx(0.5, abs=1e-3)
    assert accuracy.relative_processing_bias == pytest.approx(-1.0, abs=1e-3)
