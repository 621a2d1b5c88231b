"""The sandbox's products carry the topographic residual of a GLO-30-like DEM error: a phase
proportional to the perpendicular baseline that the product's ``.txt`` states, over the slant range
and incidence MintPy derives from the product, with MintPy's sign, so that MintPy's DEM-error
estimation recovers the truth's DEM error."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import rasterio
from mintpy.dem_error import estimate_dem_error
from mintpy.utils.utils0 import incidence_angle2slant_range_distance
from rasterio.io import MemoryFile
from rasterio.windows import from_bounds
from sandbox_helpers import burst

from insarflow.sandbox import scene
from insarflow.sandbox.products import parameter_text, plan_product, render_members
from insarflow.sandbox.scene import WAVELENGTH_M
from insarflow.sandbox.truth import write_truth

PROCESSED = datetime(2025, 1, 1, tzinfo=UTC)
DATES = [date(2020, 1, 4) + timedelta(days=12 * i) for i in range(12)]


def _product(first: date, second: date) -> dict:
    """The layers and parameters of an INSAR_ISCE_BURST product, as the sandbox serves it."""
    parameters = {"granules": [burst(first), burst(second)], "apply_water_mask": False}
    members = render_members(
        plan_product("job", "INSAR_ISCE_BURST", {**parameters, "looks": "20x4"}, PROCESSED)
    )
    product: dict = {}
    for name, data in members.items():
        if name.endswith(".tif") and not name.endswith("_rdr.tif"):
            layer = name.rsplit("/", 1)[1].split("_INT80_")[1].split("_", 1)[1][: -len(".tif")]
            with MemoryFile(data) as memory, memory.open() as dataset:
                product[layer] = dataset.read(1).astype(float)
                product["profile"] = dataset.profile
        elif name.endswith(".txt") and not name.endswith("README.md.txt"):
            product["txt"] = dict(line.split(": ", 1) for line in data.decode().splitlines())
    return product


def _parameters(first: date, second: date) -> dict[str, str]:
    """The .txt of the pair's product, from its plan (without rendering the layers)."""
    parameters = {"granules": [burst(first), burst(second)], "apply_water_mask": False}
    plan = plan_product("job", "INSAR_ISCE_BURST", {**parameters, "looks": "20x4"}, PROCESSED)
    return dict(line.split(": ", 1) for line in parameter_text(plan).splitlines())


def _truth_on(path: Path, profile: dict) -> dict[str, np.ndarray]:
    """Every band of a truth GeoTIFF, by description, on a product's window."""
    with rasterio.open(path) as dataset:
        window = from_bounds(
            *rasterio.transform.array_bounds(
                profile["height"], profile["width"], profile["transform"]
            ),
            transform=dataset.transform,
        ).round_offsets()
        return {
            name: dataset.read(index + 1, window=window).astype(float)
            for index, name in enumerate(dataset.descriptions)
        }


def _wrap(phase: np.ndarray) -> np.ndarray:
    return np.angle(np.exp(1j * phase))


def _mintpy_range_times_sin_inc(product: dict) -> np.ndarray:
    """r * sin(inc) as MintPy gets it for a geocoded HyP3 product: incidence 90 - deg(lv_theta),
    slant range from it and the .txt's spacecraft height and Earth radius."""
    incidence = 90.0 - np.degrees(product["lv_theta"])
    attributes = {
        "HEIGHT": product["txt"]["Spacecraft height"],
        "EARTH_RADIUS": product["txt"]["Earth radius at nadir"],
    }
    slant_range = incidence_angle2slant_range_distance(attributes, incidence)
    return slant_range * np.sin(np.radians(incidence))


def _residual_phase(truth: Path, product: dict, first: date, second: date) -> np.ndarray:
    """The product's phase minus what motion and atmosphere explain (the truth's per-date LOS),
    wrapped, so unwrapping errors (whole cycles) drop out: DEM error plus noise."""
    observed = _truth_on(truth / "observed_los_m.tif", product["profile"])
    motion = (
        -4.0 * math.pi / WAVELENGTH_M * (observed[f"{second:%Y%m%d}"] - observed[f"{first:%Y%m%d}"])
    )
    return _wrap(product["unw_phase"] - motion)


def test_dem_error_is_glo30_like_and_the_same_for_every_pixel_spacing(tmp_path: Path) -> None:
    granules = [burst(day) for day in DATES[:2]]
    coarse = write_truth(granules, "20x4", tmp_path / "80m")["dem_error"]
    fine = write_truth(granules, "10x2", tmp_path / "40m")["dem_error"]
    with rasterio.open(coarse) as dataset:
        error = dataset.read(1).astype(float)
        coarse_left, coarse_top = dataset.transform.c, dataset.transform.f
    # Metres-scale almost everywhere, with patches of 10-20 m (canopy, buildings).
    assert 1.5 < float(np.median(np.abs(error))) < 4.0
    assert 10.0 < float(np.abs(error).max()) < 25.0
    assert 0.005 < float(np.mean(np.abs(error) > 8.0)) < 0.15
    # Defined on the ground, not on pixels: each 80 m pixel is close to the mean of the 2 x 2
    # pixels of the 40 m frame (a smaller frame on the same grid lines) that it covers.
    with rasterio.open(fine) as dataset:
        fine_error = dataset.read(1).astype(float)
        row0 = round((coarse_top - dataset.transform.f) / 80.0)
        col0 = round((dataset.transform.c - coarse_left) / 80.0)
    blocks = fine_error.reshape(fine_error.shape[0] // 2, 2, fine_error.shape[1] // 2, 2)
    averaged = blocks.mean(axis=(1, 3))
    same_ground = error[row0 : row0 + averaged.shape[0], col0 : col0 + averaged.shape[1]]
    assert float(np.median(np.abs(same_ground - averaged))) < 0.1


def test_two_pairs_differ_by_the_dem_error_times_their_baseline_difference(
    tmp_path: Path,
) -> None:
    """Over the DEM-error patches, two pairs of one reference date differ by
    -4*pi/lambda * (B1 - B2) * dz / (r * sin(inc)), with the baselines of their .txt."""
    truth = tmp_path / "truth"
    paths = write_truth([burst(day) for day in DATES], "20x4", truth)
    reference = DATES[0]
    baselines = {second: float(_parameters(reference, second)["Baseline"]) for second in DATES[1:]}
    first, second = max(
        itertools.combinations(baselines, 2),
        key=lambda pair: abs(baselines[pair[0]] - baselines[pair[1]]),
    )
    difference = baselines[first] - baselines[second]
    assert abs(difference) > 50.0  # the orbital tube gives pairs of clearly different baselines

    one, two = _product(reference, first), _product(reference, second)
    dem_error = _truth_on(paths["dem_error"], one["profile"])["dem_error_m"]
    measured = _wrap(
        _residual_phase(truth, one, reference, first)
        - _residual_phase(truth, two, reference, second)
    )
    expected = (
        -4.0 * math.pi / WAVELENGTH_M * difference * dem_error / _mintpy_range_times_sin_inc(one)
    )
    patches = (np.abs(dem_error) > 8.0) & (one["corr"] > 0.3) & (two["corr"] > 0.3)
    assert patches.sum() > 30
    assert float(np.median(np.abs(expected[patches]))) > 0.5  # above the noise (0.2-0.5 rad)
    slope = float(np.polyfit(expected[patches], measured[patches], 1)[0])
    assert slope == pytest.approx(1.0, abs=0.1)
    assert float(np.median(np.abs(_wrap(measured - expected)[patches]))) < 0.3


def test_a_zero_baseline_pair_has_no_topographic_residual(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = DATES[0], DATES[1]
    truth = tmp_path / "truth"
    paths = write_truth([burst(first), burst(second)], "20x4", truth)

    def slope_per_metre(product: dict) -> float:
        dem_error = _truth_on(paths["dem_error"], product["profile"])["dem_error_m"]
        coherent = product["corr"] > 0.3
        residual = _residual_phase(truth, product, first, second)
        return float(np.polyfit(dem_error[coherent], residual[coherent], 1)[0])

    product = _product(first, second)
    baseline = float(product["txt"]["Baseline"])
    assert abs(baseline) > 30.0
    per_metre = -4.0 * math.pi / WAVELENGTH_M * baseline / 0.53e6  # rad per metre of DEM error
    assert slope_per_metre(product) == pytest.approx(per_metre, rel=0.15)

    # Both acquisitions at one orbit position: the .txt says 0 and the DEM error is invisible.
    monkeypatch.setattr(scene, "orbit_position", lambda track_key, moment: 12.5)
    still = _product(first, second)
    assert float(still["txt"]["Baseline"]) == 0.0
    assert abs(slope_per_metre(still)) < 0.05 * abs(per_metre)


def test_mintpy_dem_error_estimation_recovers_the_truths_dem_error(tmp_path: Path) -> None:
    """MintPy's own least squares (dem_error.estimate_dem_error) on a time series of sequential
    pairs (motion and atmosphere taken out with the truth) finds the DEM error with its sign."""
    truth = tmp_path / "truth"
    paths = write_truth([burst(day) for day in DATES], "20x4", truth)
    products = [_product(a, b) for a, b in itertools.pairwise(DATES)]
    profile = products[0]["profile"]
    assert all(product["profile"]["transform"] == profile["transform"] for product in products)
    dem_error = _truth_on(paths["dem_error"], profile)["dem_error_m"]

    # Per-date phase (first date 0) and per-date perpendicular baseline, as MintPy inverts them.
    residuals = [
        _residual_phase(truth, product, a, b)
        for product, (a, b) in zip(products, itertools.pairwise(DATES), strict=True)
    ]
    phase = np.concatenate([np.zeros((1, *dem_error.shape)), np.cumsum(residuals, axis=0)])
    displacement = -WAVELENGTH_M / (4.0 * math.pi) * phase  # MintPy's phase2range
    pbase = np.concatenate([[0.0], np.cumsum([float(p["txt"]["Baseline"]) for p in products])])
    years = np.array([(day - DATES[0]).days / 365.25 for day in DATES])
    geometry = _mintpy_range_times_sin_inc(products[0])

    coherent = np.all([product["corr"] > 0.5 for product in products], axis=0)
    rows, cols = np.nonzero(coherent)
    pick = np.random.default_rng(0).choice(rows.size, size=min(1500, rows.size), replace=False)
    estimated, true = [], []
    for row, col in zip(rows[pick], cols[pick], strict=True):
        design = np.column_stack([pbase / geometry[row, col], np.ones_like(years), years])
        delta_z, *_ = estimate_dem_error(displacement[:, row, col], design, years.reshape(-1, 1))
        estimated.append(float(delta_z[0]))
        true.append(float(dem_error[row, col]))
    slope = float(np.polyfit(true, estimated, 1)[0])
    assert slope == pytest.approx(1.0, abs=0.15)  # a wrong sign gives -1
    # Per pixel, 12 dates of decorrelation noise leave several metres of estimation noise.
    assert float(np.corrcoef(true, estimated)[0, 1]) > 0.4
