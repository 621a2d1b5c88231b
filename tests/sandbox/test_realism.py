"""The sandbox's products are as hard as real ones: look-vector convention, per-pair extents,
unwrapping errors with connected components, orbital-tube baselines, plain zips, atmosphere at
Sentinel-1 amplitudes, and a ground truth to measure a time series against."""

from __future__ import annotations

import io
import itertools
import math
import struct
import subprocess
import sys
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import hyp3_sdk
import numpy as np
import pytest
import rasterio
from rasterio.io import MemoryFile
from rasterio.windows import from_bounds
from sandbox_helpers import burst, insar_job, slc

from insarflow.sandbox.products import parameter_text, plan_product, render_members
from insarflow.sandbox.scene import SUBSIDENCE_M_PER_YEAR, WAVELENGTH_M
from insarflow.sandbox.truth import write_truth

PROCESSED = datetime(2025, 1, 1, tzinfo=UTC)
YEAR_OF_DATES = [date(2020, 1, 4) + timedelta(days=12 * i) for i in range(31)]


def _descending(name: str) -> str:
    """The same track's scene name twelve hours later in the day: the opposite pass direction."""
    return name.replace("T014512", "T134512").replace("T014539", "T134539")


def _finished(hyp3: hyp3_sdk.HyP3, jobs: list[dict]) -> hyp3_sdk.Batch:
    return hyp3.watch(hyp3.submit_prepared_jobs(jobs), timeout=60, interval=0.2)


def _download(batch: hyp3_sdk.Batch, directory: Path) -> list[Path]:
    zips = batch.download_files(directory)
    return [hyp3_sdk.util.extract_zipped_product(path, delete=False) for path in zips]


def _parameters_text(text: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in text.splitlines())


def _parameters(product: Path) -> dict[str, str]:
    return _parameters_text((product / f"{product.name}.txt").read_text())


def _rendered(job_type: str, parameters: dict, job_id: str = "job") -> dict[str, bytes]:
    """The files of a product exactly as the sandbox serves them (without a server round trip)."""
    return render_members(plan_product(job_id, job_type, parameters, PROCESSED))


def _layer(members: dict[str, bytes], layer: str) -> tuple[np.ndarray, dict]:
    (data,) = [value for name, value in members.items() if name.endswith(f"_{layer}.tif")]
    with MemoryFile(data) as memory, memory.open() as dataset:
        return dataset.read(1), dataset.profile


def _burst_job(first: date, second: date, looks: str = "20x4") -> dict:
    return {"granules": [burst(first), burst(second)], "apply_water_mask": False, "looks": looks}


def _mintpy_azimuth_angle(heading: float) -> float:
    """MintPy's heading2azimuth_angle (right-looking), from MintPy itself when installed."""
    try:
        from mintpy.utils.utils0 import heading2azimuth_angle
    except ImportError:  # the formula of mintpy/utils/utils0.py
        azimuth = (heading - 90.0) * -1.0
        return azimuth - np.round(azimuth / 360.0) * 360.0
    return float(heading2azimuth_angle(heading, look_direction="right"))


def test_lv_phi_agrees_with_the_heading_as_mintpy_reads_it(
    hyp3: hyp3_sdk.HyP3, tmp_path: Path
) -> None:
    a, b = slc(date(2020, 1, 4)), slc(date(2020, 1, 16))
    jobs = [
        insar_job(a, b, include_look_vectors=True),
        insar_job(_descending(a), _descending(b), include_look_vectors=True),
    ]
    ascending, descending = _download(_finished(hyp3, jobs), tmp_path)

    azimuths = {}
    for product in (ascending, descending):
        parameters = _parameters(product)
        with rasterio.open(product / f"{product.name}_lv_phi.tif") as dataset:
            lv_phi = dataset.read(1, masked=True)
        # MintPy's prep_hyp3: azimuth angle = deg(lv_phi) - 90, wrapped to [-180, 180).
        from_layer = (np.degrees(lv_phi) - 90.0 + 180.0) % 360.0 - 180.0
        from_heading = _mintpy_azimuth_angle(float(parameters["Heading"]))
        assert float(np.abs(from_layer - from_heading).max()) < 0.5
        azimuths[parameters["Reference Pass Direction"]] = float(from_layer.mean())
    # Ascending looks east (azimuth angle ~ +102 deg for a -12 deg heading), descending west.
    assert 95.0 < azimuths["ASCENDING"] < 110.0
    assert -110.0 < azimuths["DESCENDING"] < -95.0


def test_products_of_a_track_differ_in_extent_but_share_grid_lines(
    hyp3: hyp3_sdk.HyP3, tmp_path: Path
) -> None:
    days = YEAR_OF_DATES[:5]
    pairs = [insar_job(slc(first), slc(second)) for first, second in itertools.pairwise(days)]
    multi = [
        {
            "job_type": "INSAR_ISCE_MULTI_BURST",
            "job_parameters": {
                "reference": [burst(first, i, swath=1) for i in (111, 112)],
                "secondary": [burst(second, i, swath=1) for i in (111, 112)],
                "apply_water_mask": False,
                "looks": "20x4",
            },
        }
        for first, second in ((days[0], days[1]), (days[1], days[3]))
    ]
    products = _download(_finished(hyp3, pairs + multi), tmp_path)

    grids = []
    for product in products:
        with rasterio.open(product / f"{product.name}_unw_phase.tif") as dataset:
            grids.append((dataset.crs, dataset.transform, dataset.shape, dataset.bounds))
    gamma, bursts = grids[: len(pairs)], grids[len(pairs) :]
    assert len({bounds for *_, bounds in gamma}) == len(gamma)  # every pair its own extent
    assert len({crs for crs, *_ in gamma}) == 1
    pixel = gamma[0][1].a
    west, north = gamma[0][1].c, gamma[0][1].f
    for _, transform, _, _ in gamma:
        assert transform.a == pixel and transform.e == -pixel
        assert (transform.c - west) / pixel == pytest.approx(round((transform.c - west) / pixel))
        assert (transform.f - north) / pixel == pytest.approx(round((transform.f - north) / pixel))
    overlap_west = max(bounds.left for *_, bounds in gamma)
    overlap_east = min(bounds.right for *_, bounds in gamma)
    overlap_south = max(bounds.bottom for *_, bounds in gamma)
    overlap_north = min(bounds.top for *_, bounds in gamma)
    # A large common overlap (a track's windows all hold the frame's central 3/4 x 7/8).
    assert (overlap_east - overlap_west) / pixel >= 0.8 * min(s[1] for _, _, s, _ in gamma)
    assert (overlap_north - overlap_south) / pixel >= 0.75 * min(s[0] for _, _, s, _ in gamma)
    # Products of one burst set share one grid, whatever the dates.
    assert bursts[0][:3] == bursts[1][:3]


def _truth_phase(truth_dir: Path, grid_profile: dict, first: date, second: date) -> np.ndarray:
    """The unwrapping-error-free phase of a pair from the truth's per-date observed LOS."""
    with rasterio.open(truth_dir / "observed_los_m.tif") as dataset:
        window = from_bounds(
            *rasterio.transform.array_bounds(
                grid_profile["height"], grid_profile["width"], grid_profile["transform"]
            ),
            transform=dataset.transform,
        ).round_offsets()
        band = {name: index + 1 for index, name in enumerate(dataset.descriptions)}
        observed = {
            day: dataset.read(band[f"{day:%Y%m%d}"], window=window).astype(float)
            for day in (first, second)
        }
    return -4.0 * math.pi / WAVELENGTH_M * (observed[second] - observed[first])


def test_a_share_of_interferograms_has_an_unwrapping_error_labelled_by_conncomp(
    tmp_path: Path,
) -> None:
    days = YEAR_OF_DATES
    pairs = [(a, b) for a, b in itertools.pairwise(days)] + [
        (a, b) for a, b in zip(days, days[2:], strict=False)
    ]
    write_truth([burst(day) for day in days], "20x4", tmp_path / "truth")

    with_errors = 0
    for first, second in pairs:
        members = _rendered("INSAR_ISCE_BURST", _burst_job(first, second))
        unw, profile = _layer(members, "unw_phase")
        corr, _ = _layer(members, "corr")
        conncomp, _ = _layer(members, "conncomp")
        cycles = np.round(
            (unw - _truth_phase(tmp_path / "truth", profile, first, second)) / 2 / np.pi
        )
        coherent = (unw != 0) & (corr > 0.3)
        wrong = coherent & (cycles != 0)
        if wrong.sum() < 0.02 * coherent.sum():
            assert set(np.unique(conncomp[coherent])) == {1.0}
            continue
        with_errors += 1
        # One patch, off by a whole number of cycles, which is its own connected component.
        assert len(set(cycles[wrong].tolist())) == 1 and 1 <= abs(cycles[wrong][0]) <= 2
        assert (conncomp[wrong] == 2).all()
        assert (conncomp[coherent & ~wrong] == 1).mean() > 0.99
        assert (conncomp[unw == 0] == 0).all()
    assert 0.1 * len(pairs) <= with_errors <= 0.45 * len(pairs)


def test_gamma_products_have_errors_but_no_connected_components(tmp_path: Path) -> None:
    days = YEAR_OF_DATES[:16]
    write_truth([slc(day) for day in days], "20x4", tmp_path / "truth")
    with_errors = 0
    for first, second in itertools.pairwise(days):
        members = _rendered("INSAR_GAMMA", insar_job(slc(first), slc(second))["job_parameters"])
        assert not any(name.endswith("_conncomp.tif") for name in members)
        unw, profile = _layer(members, "unw_phase")
        corr, _ = _layer(members, "corr")
        cycles = np.round(
            (unw - _truth_phase(tmp_path / "truth", profile, first, second)) / 2 / np.pi
        )
        coherent = (unw != 0) & (corr > 0.3)
        # GAMMA keeps the wrapped phase at its reference point: whole cycles off everywhere.
        cycles -= np.median(cycles[coherent])
        with_errors += int((coherent & (cycles != 0)).sum() > 0.02 * coherent.sum())
    assert 1 <= with_errors <= 8


def test_baselines_of_a_year_of_12_day_pairs_stay_in_the_orbital_tube() -> None:
    def baseline(first: date, second: date) -> float:
        plan = plan_product(
            "job", "INSAR_GAMMA", insar_job(slc(first), slc(second))["job_parameters"], PROCESSED
        )
        return float(_parameters_text(parameter_text(plan))["Baseline"])

    days = YEAR_OF_DATES
    consecutive = [baseline(a, b) for a, b in itertools.pairwise(days)]
    assert max(abs(value) for value in consecutive) <= 150.0
    assert np.std(consecutive) > 20.0  # not a degenerate tube either
    # Per-date orbit positions: the baselines of a network add up.
    assert baseline(days[0], days[2]) == pytest.approx(consecutive[0] + consecutive[1], abs=1e-3)
    assert abs(baseline(days[0], days[-1])) <= 200.0


def test_zip_is_plain_and_its_size_is_the_announced_one(
    hyp3: hyp3_sdk.HyP3, tmp_path: Path
) -> None:
    jobs = [
        insar_job(slc(date(2020, 1, 4)), slc(date(2020, 1, 28)), include_look_vectors=True),
        {
            "job_type": "INSAR_ISCE_BURST",
            "job_parameters": _burst_job(date(2020, 1, 4), date(2020, 1, 16)),
        },
    ]
    for job in _finished(hyp3, jobs):
        path = job.download_files(tmp_path)[0]
        data = path.read_bytes()
        assert len(data) == job.files[0]["size"]
        # InSARHub's check: the end-of-central-directory record is the last 22 bytes.
        assert data[-22:-18] == b"PK\x05\x06"
        assert struct.unpack("<H", data[-2:])[0] == 0  # no comment
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            assert archive.comment == b"" and archive.testzip() is None


def test_truth_is_on_the_products_grid_and_peaks_at_the_model_rate(
    hyp3: hyp3_sdk.HyP3, tmp_path: Path
) -> None:
    days = YEAR_OF_DATES[:4]
    granules = [slc(day) for day in reversed(days)]  # any order; bands come out sorted
    paths = write_truth(granules, "20x4", tmp_path / "truth")
    products = _download(
        _finished(
            hyp3, [insar_job(slc(days[0]), slc(days[1])), insar_job(slc(days[1]), slc(days[3]))]
        ),
        tmp_path / "products",
    )

    with rasterio.open(paths["velocity"]) as dataset:
        velocity, truth_transform, truth_crs = dataset.read(1), dataset.transform, dataset.crs
        truth_bounds = dataset.bounds
    with rasterio.open(paths["observed_los"]) as dataset:
        assert dataset.descriptions == tuple(f"{day:%Y%m%d}" for day in days)
        assert dataset.transform == truth_transform
    # The bowl sinks at the model's rate; in the line of sight (~38 deg incidence) towards -.
    expected_peak = -SUBSIDENCE_M_PER_YEAR * 1000.0 * math.cos(math.radians(38.0))
    assert float(velocity.min()) == pytest.approx(expected_peak, rel=0.02)
    assert float(velocity.max()) <= 0.0

    for product, (first, second) in zip(
        products, [(days[0], days[1]), (days[1], days[3])], strict=True
    ):
        with rasterio.open(product / f"{product.name}_unw_phase.tif") as dataset:
            assert dataset.crs == truth_crs and dataset.res == (truth_transform.a,) * 2
            column = (dataset.transform.c - truth_transform.c) / truth_transform.a
            row = (truth_transform.f - dataset.transform.f) / truth_transform.a
            assert column == round(column) >= 0 and row == round(row) >= 0  # same grid lines
            bounds = dataset.bounds
            assert truth_bounds.left <= bounds.left and bounds.right <= truth_bounds.right
            assert truth_bounds.bottom <= bounds.bottom and bounds.top <= truth_bounds.top
            unw = dataset.read(1)
            profile = dataset.profile
        # The truth's per-date observed LOS is what the interferogram measures, up to noise.
        residual = unw - _truth_phase(tmp_path / "truth", profile, first, second)
        residual = residual[unw != 0]
        wrapped = np.angle(np.exp(1j * residual))
        assert np.median(np.abs(wrapped)) < 0.3


def test_atmosphere_has_sentinel1_amplitudes_and_is_correlated_over_kilometres(
    tmp_path: Path,
) -> None:
    days = YEAR_OF_DATES[:12]
    paths = write_truth([slc(day) for day in days], "20x4", tmp_path)
    with rasterio.open(paths["observed_los"]) as dataset:
        observed = dataset.read().astype(float) * 1000.0  # mm
        pixel_km = dataset.res[0] / 1000.0
    with rasterio.open(paths["velocity"]) as dataset:
        velocity = dataset.read(1).astype(float)  # mm/yr
    # Remove the motion between consecutive dates: what is left is the change of atmosphere.
    change = np.diff(observed, axis=0) - velocity * 12.0 / 365.25
    change -= change.mean(axis=(1, 2), keepdims=True)
    per_pair_std = change.std(axis=(1, 2))
    # Two independent dates of 5-10 mm each: 7-14 mm.
    assert (per_pair_std > 5.0).all() and (per_pair_std < 16.0).all()

    def rms_difference(lag_km: float) -> float:
        lag = max(1, round(lag_km / pixel_km))
        return float(np.sqrt(np.mean((change[:, :, lag:] - change[:, :, :-lag]) ** 2)))

    # Spatially correlated: neighbours nearly agree, points kilometres apart do not.
    assert rms_difference(0.08) < 0.4 * rms_difference(4.0)
    assert rms_difference(1.0) < rms_difference(4.0)


def test_truth_command_writes_the_files_and_rejects_bad_input(tmp_path: Path) -> None:
    granules = [burst(day) for day in YEAR_OF_DATES[:3]]
    command = [sys.executable, "-m", "insarflow.sandbox", "truth", "--looks", "10x2"]
    done = subprocess.run(
        [*command, "--out-dir", str(tmp_path / "out"), *granules],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [
        str(tmp_path / "out" / "velocity_mm_yr.tif"),
        str(tmp_path / "out" / "observed_los_m.tif"),
        str(tmp_path / "out" / "dem_error_m.tif"),
    ]
    with rasterio.open(tmp_path / "out" / "observed_los_m.tif") as dataset:
        assert dataset.count == 3 and dataset.res == (40.0, 40.0)

    bad = subprocess.run(
        [sys.executable, "-m", "insarflow.sandbox", "truth", "--looks", "3x3", "--out-dir",
         str(tmp_path / "bad"), *granules],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0 and "'3x3'" in bad.stderr
    assert not (tmp_path / "bad").exists()
