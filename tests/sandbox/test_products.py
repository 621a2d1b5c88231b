"""Products: names, zip layout, GeoTIFFs per option, metadata, signal, Range requests."""

from __future__ import annotations

import re
import threading
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import hyp3_sdk
import numpy as np
import pytest
import rasterio
import requests
from rasterio.windows import from_bounds
from sandbox_helpers import burst, insar_job, slc

from insarflow.sandbox.service import ProductRenderer
from insarflow.sandbox.truth import write_truth

GAMMA_NAME = re.compile(
    r"^S1[A-D]{2}_\d{8}T\d{6}_\d{8}T\d{6}_(VV|HH)[PRO]\d{3}_INT(80|40)_G_[uw]eF_[0-9A-F]{4}$"
)
BURST_NAME = re.compile(r"^S1_\d{6}_IW[1-3]_\d{8}_\d{8}_(VV|HH)_INT(80|40|20)_[0-9A-F]{4}$")
PARAMETER_KEYS = [
    "Reference Granule",
    "Secondary Granule",
    "Reference Pass Direction",
    "Reference Orbit Number",
    "Secondary Pass Direction",
    "Secondary Orbit Number",
    "Baseline",
    "UTC time",
    "Heading",
    "Spacecraft height",
    "Earth radius at nadir",
    "Slant range near",
    "Slant range center",
    "Slant range far",
    "Range looks",
    "Azimuth looks",
    "INSAR phase filter",
    "Phase filter parameter",
    "Resolution of output (m)",
    "Range bandpass filter",
    "Azimuth bandpass filter",
    "DEM source",
    "DEM resolution (m)",
    "Unwrapping type",
    "Phase at reference point",
    "Azimuth line of the reference point in SAR space",
    "Range pixel of the reference point in SAR space",
    "Y coordinate of the reference point in the map projection",
    "X coordinate of the reference point in the map projection",
    "Latitude of the reference point (WGS84)",
    "Longitude of the reference point (WGS84)",
    "Unwrapping threshold",
    "Speckle filter",
]
ALL_OPTIONS = {
    "include_look_vectors": True,
    "include_inc_map": True,
    "include_dem": True,
    "include_wrapped_phase": True,
    "apply_water_mask": True,
    "include_displacement_maps": True,
}


def _finished(hyp3: hyp3_sdk.HyP3, jobs: list[dict]) -> hyp3_sdk.Batch:
    return hyp3.watch(hyp3.submit_prepared_jobs(jobs), timeout=30, interval=0.2)


def _download(batch: hyp3_sdk.Batch, tmp_path: Path) -> list[Path]:
    zips = batch.download_files(tmp_path / "downloads")
    return [hyp3_sdk.util.extract_zipped_product(path, delete=False) for path in zips]


def _layers(product: Path) -> set[str]:
    return {path.name.removeprefix(product.name + "_")[:-4] for path in product.glob("*.tif")}


def _parameters(product: Path) -> dict[str, str]:
    lines = (product / f"{product.name}.txt").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines)


def test_insar_gamma_layers_follow_the_job_options(hyp3: hyp3_sdk.HyP3, tmp_path: Path) -> None:
    reference, secondary = slc(date(2020, 1, 4)), slc(date(2020, 1, 16))
    batch = _finished(
        hyp3,
        [
            insar_job(reference, secondary, name="plain"),
            insar_job(reference, secondary, name="full", **ALL_OPTIONS),
            insar_job(
                reference, secondary, name="los", include_los_displacement=True, looks="10x2"
            ),
        ],
    )
    plain, full, los = (_download(hyp3_sdk.Batch([job]), tmp_path / job.name)[0] for job in batch)

    assert _layers(plain) == {"amp", "corr", "unw_phase", "water_mask"}
    assert _layers(full) == {
        "amp", "corr", "unw_phase", "water_mask", "wrapped_phase", "dem", "los_disp",
        "vert_disp", "inc_map", "inc_map_ell", "lv_theta", "lv_phi",
    }  # fmt: skip
    assert _layers(los) == {"amp", "corr", "unw_phase", "water_mask", "los_disp", "vert_disp"}
    for product in (plain, full, los):
        assert GAMMA_NAME.match(product.name), product.name
        assert (product / f"{product.name}.README.md.txt").is_file()
        assert (product / f"{product.name}_color_phase.png").is_file()
        assert (product / f"{product.name}_unw_phase.png").is_file()
    assert "_INT80_G_ueF_" in plain.name
    assert "_INT80_G_weF_" in full.name  # water mask applied
    assert "_INT40_G_ueF_" in los.name

    # Products are windows of a frame of 96 px at 80 m and 160 px at 40 m.
    for product, pixel, size in ((full, 80.0, 96), (los, 40.0, 160)):
        grids = set()
        for tif in product.glob("*.tif"):
            with rasterio.open(tif) as dataset:
                assert dataset.crs.is_projected
                assert 32601 <= dataset.crs.to_epsg() <= 32660  # a northern UTM zone
                assert dataset.res == (pixel, pixel)
                assert 0.75 * size <= min(dataset.shape) and max(dataset.shape) <= size
                expected = "uint8" if tif.name.endswith("_water_mask.tif") else "float32"
                assert dataset.dtypes == (expected,)
                grids.add((dataset.crs.to_epsg(), dataset.transform, dataset.shape))
                if expected == "float32":
                    assert dataset.nodata == 0
                    values = dataset.read(1)
                    assert np.count_nonzero(values) > values.size // 2
        assert len(grids) == 1  # every layer on the same grid


def test_product_zip_is_hyp3_shaped_and_sized_exactly(hyp3: hyp3_sdk.HyP3, tmp_path: Path) -> None:
    reference, secondary = slc(date(2020, 1, 28)), slc(date(2020, 1, 4))  # submitted late first
    job = _finished(hyp3, [insar_job(reference, secondary, phase_filter_parameter=0.0)])[0]
    file = job.files[0]

    zip_path = job.download_files(tmp_path)[0]

    assert zip_path.name == file["filename"]
    assert zip_path.stat().st_size == file["size"]
    stem = zip_path.stem
    assert stem.startswith("S1AA_20200104T014512_20200128T014512_VVP024_INT80_G_ueF_")
    with zipfile.ZipFile(zip_path) as archive:
        assert archive.testzip() is None
        assert {name.split("/")[0] for name in archive.namelist()} == {stem}
    product = hyp3_sdk.util.extract_zipped_product(zip_path)
    assert product == tmp_path / stem and not zip_path.exists()
    parameters = _parameters(product)
    assert list(parameters) == PARAMETER_KEYS
    assert parameters["Reference Granule"] == secondary  # the earlier scene is the reference
    assert parameters["Secondary Granule"] == reference
    assert parameters["INSAR phase filter"] == "none"
    assert parameters["Range looks"] == "20" and parameters["Azimuth looks"] == "4"
    assert parameters["DEM source"] == "GLO-30"
    assert parameters["Reference Pass Direction"] in ("ASCENDING", "DESCENDING")
    float(parameters["Baseline"])
    with rasterio.open(product / f"{stem}_unw_phase.tif") as dataset:
        x = float(parameters["X coordinate of the reference point in the map projection"])
        y = float(parameters["Y coordinate of the reference point in the map projection"])
        row, col = dataset.index(x, y)
        assert dataset.read(1)[row, col] == pytest.approx(
            float(parameters["Phase at reference point"]), abs=1e-5
        )


def test_isce_burst_products_follow_their_own_convention(
    hyp3: hyp3_sdk.HyP3, tmp_path: Path
) -> None:
    single = hyp3.submit_insar_isce_burst_job(
        burst(date(2020, 6, 16)), burst(date(2020, 6, 4)), apply_water_mask=True, looks="10x2"
    )
    multi = hyp3.submit_insar_isce_multi_burst_job(
        [burst(date(2024, 1, 1), i, swath=1) for i in (111, 112)],
        [burst(date(2024, 1, 13), i, swath=1) for i in (111, 112)],
    )
    batch = hyp3.watch(single + multi, timeout=30, interval=0.2)
    single_product, multi_product = _download(batch, tmp_path)

    assert BURST_NAME.match(single_product.name), single_product.name
    assert single_product.name.startswith("S1_136231_IW2_20200604_20200616_VV_INT40_")
    assert _layers(single_product) == {
        "unw_phase", "corr", "dem", "conncomp", "wrapped_phase", "lv_theta", "lv_phi",
        "water_mask", "wrapped_phase_rdr", "lat_rdr", "lon_rdr", "los_rdr",
    }  # fmt: skip
    assert _parameters(single_product)["Unwrapping type"] == "snaphu_mcf"
    assert re.match(
        r"^S1_\d{3}_000111s1n02-000000s2n00-000000s3n00_IW_20240101_20240113_VV_INT80_[0-9A-F]{4}$",
        multi_product.name,
    )
    assert "lat_rdr" not in _layers(multi_product)
    with rasterio.open(single_product / f"{single_product.name}_corr.tif") as dataset:
        assert dataset.res == (40.0, 40.0)
        assert dataset.crs.to_epsg() // 100 == 326


def test_signal_grows_with_time_span_and_closes_in_loops(
    hyp3: hyp3_sdk.HyP3, tmp_path: Path
) -> None:
    days = date(2020, 1, 4), date(2020, 1, 16), date(2021, 1, 10)
    a, b, c = (slc(day) for day in days)
    options = {"include_displacement_maps": True}
    batch = _finished(
        hyp3, [insar_job(a, b, **options), insar_job(b, c, **options), insar_job(a, c, **options)]
    )
    products = _download(batch, tmp_path)
    truth = write_truth([a, b, c], "20x4", tmp_path / "truth")
    # Products of a track differ in extent: compare them on their common overlap.
    bounds = []
    for product in products:
        with rasterio.open(product / f"{product.name}_unw_phase.tif") as dataset:
            bounds.append(dataset.bounds)
    overlap = (
        max(bound.left for bound in bounds),
        max(bound.bottom for bound in bounds),
        min(bound.right for bound in bounds),
        min(bound.top for bound in bounds),
    )

    def read(path: Path) -> np.ndarray:
        with rasterio.open(path) as dataset:
            window = from_bounds(*overlap, transform=dataset.transform).round_offsets()
            return dataset.read(1, window=window).astype(float)

    def layer(product: Path, name: str) -> np.ndarray:
        return read(product / f"{product.name}_{name}.tif")

    velocity = read(truth["velocity"])
    bowl, far = velocity < 0.8 * velocity.min(), velocity > 0.05 * velocity.min()
    short, long_ = layer(products[0], "vert_disp"), layer(products[2], "vert_disp")
    valid = (short != 0) & (long_ != 0)

    def sinking(vertical: np.ndarray) -> float:
        return float(vertical[bowl & valid].mean() - vertical[far & valid].mean())

    # A subsidence bowl deepening by 5 cm/yr: a year shows it above the atmosphere, twelve days
    # (1.6 mm of motion) barely do.
    assert sinking(long_) < -0.03
    assert abs(sinking(short)) < 0.015
    # Phases of a->b plus b->c equal a->c up to noise and whole cycles (each GAMMA product keeps
    # the wrapped phase at its own reference point; unwrapping errors): a network inversion has a
    # real signal.
    ab, bc, ac = (layer(product, "unw_phase") for product in products)
    both = valid & (ab != 0) & (bc != 0) & (ac != 0)
    misclosure = ab[both] + bc[both] - ac[both]
    misclosure -= 2 * np.pi * np.round(np.median(misclosure) / (2 * np.pi))
    assert np.median(np.abs(misclosure)) < 0.5
    assert np.mean(np.round(misclosure / (2 * np.pi)) != 0) < 0.4


def test_products_are_deterministic_and_rendered_once(
    sandbox, hyp3: hyp3_sdk.HyP3, tmp_path: Path
) -> None:
    job = _finished(hyp3, [insar_job(slc(date(2020, 1, 4)), slc(date(2020, 1, 16)))])[0]
    first = job.download_files(tmp_path / "first")[0].read_bytes()
    cached = next((sandbox.sandbox.products_dir / job.job_id).glob("*.zip"))
    cached.unlink()  # rendered again from scratch on the next request

    second = job.download_files(tmp_path / "second")[0].read_bytes()

    assert first == second
    assert len(first) == job.files[0]["size"]


def test_products_rendered_ahead_are_the_products_rendered_on_download(
    start_sandbox, tmp_path: Path
) -> None:
    """--render-ahead: the zip is in place when the job succeeds, byte for byte the zip that
    the sandbox renders on the first download otherwise."""
    ahead = start_sandbox(render_ahead=True)
    hyp3 = hyp3_sdk.HyP3(api_url=ahead.base_url, token="sandbox-token")
    job = _finished(hyp3, [insar_job(slc(date(2020, 1, 4)), slc(date(2020, 1, 16)))])[0]
    job_dir = ahead.sandbox.products_dir / job.job_id
    deadline = time.monotonic() + 60
    while not list(job_dir.glob("*.zip")) and time.monotonic() < deadline:
        time.sleep(0.1)
    rendered_ahead = next(job_dir.glob("*.zip")).read_bytes()
    next(job_dir.glob("*.zip")).unlink()  # rendered again, on the next request

    on_download = job.download_files(tmp_path / "downloaded")[0].read_bytes()

    assert rendered_ahead == on_download
    assert len(on_download) == job.files[0]["size"]
    assert not list(job_dir.glob("*.part"))


def test_products_are_rendered_ahead_in_the_order_their_jobs_succeed() -> None:
    """Jobs of a later POST that succeed sooner are rendered before an earlier POST's later
    ones, so the renderer keeps ahead of downloads across many POSTs."""
    started = threading.Event()
    release = threading.Event()
    rendered: list[str] = []

    def render(name: str) -> None:
        rendered.append(name)
        started.set()
        release.wait(10)

    renderer = ProductRenderer(ThreadPoolExecutor(max_workers=1), render)
    try:
        renderer.render(("busy",), 0.0)  # holds the renderer
        assert started.wait(10)
        renderer.render(("handed over",), 0.5)  # takes the second slot
        deadline = time.monotonic() + 10
        while renderer._queue and time.monotonic() < deadline:
            time.sleep(0.01)
        for name, done_ts in [("post 1, job 2", 30.0), ("post 1, job 1", 20.0)]:
            renderer.render((name,), done_ts)
        renderer.render(("post 2, job 1",), 10.0)
        release.set()
        deadline = time.monotonic() + 10
        while len(rendered) < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        release.set()
        renderer.close()
    assert rendered == ["busy", "handed over", "post 2, job 1", "post 1, job 1", "post 1, job 2"]


def test_range_requests_and_browse_images(hyp3: hyp3_sdk.HyP3) -> None:
    job = _finished(hyp3, [insar_job(slc(date(2020, 1, 4)), slc(date(2020, 1, 16)))])[0]
    url, size = job.files[0]["url"], job.files[0]["size"]
    whole = requests.get(url, timeout=10)
    assert whole.status_code == 200
    assert int(whole.headers["content-length"]) == size == len(whole.content)
    assert whole.headers["accept-ranges"] == "bytes"

    part = requests.get(url, headers={"Range": "bytes=100-199"}, timeout=10)
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-199/{size}"
    assert part.content == whole.content[100:200]
    tail = requests.get(url, headers={"Range": f"bytes={size - 10}-"}, timeout=10)
    assert tail.content == whole.content[-10:]
    beyond = requests.get(url, headers={"Range": f"bytes={size + 5}-"}, timeout=10)
    assert beyond.status_code == 416
    assert beyond.headers["content-type"] == "application/problem+json"
    assert beyond.headers["content-range"] == f"bytes */{size}"
    assert beyond.json()["detail"]
    head = requests.head(url, timeout=10)
    assert int(head.headers["content-length"]) == size

    for image in job.browse_images + job.thumbnail_images:
        response = requests.get(image, timeout=10)
        assert response.status_code == 200
        assert response.headers["content-type"] == "image/png"
        assert response.content.startswith(b"\x89PNG")
    assert requests.get(url.replace(".zip", "_nope.zip"), timeout=10).status_code == 404
