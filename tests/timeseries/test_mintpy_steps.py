"""Each MintPy failure the stage must catch, and the one known crash it must let through."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
import rasterio
from rasterio.warp import transform as warp_transform
from rasterio.windows import Window

from insarflow.timeseries.clip import clip_products
from insarflow.timeseries.smallbaseline import (
    AMBIGUITY_FILE,
    MintPyStepFailed,
    connected_dates,
    judge_step,
    run_smallbaseline,
)
from tests.timeseries.conftest import sandbox_products
from tests.timeseries.test_template import defaults

# The tail of MintPy 1.6.4's quick_overview log when no triplet has an unwrapping ambiguity.
BINS_CRASH = """\
Traceback (most recent call last):
  File "mintpy/unwrap_error_phase_closure.py", line 191, in calc_num_triplet_with_nonzero_integer_ambiguity
    pp.plot_num_triplet_with_nonzero_integer_ambiguity(out_file)
  File "mintpy/utils/plot.py", line 1153, in plot_num_triplet_with_nonzero_integer_ambiguity
    ax.hist(data[~np.isnan(data)].flatten(), range=(0, vmax), log=True, bins=vmax)
  File "numpy/lib/_histograms_impl.py", line 423, in _get_bin_edges
    raise ValueError('`bins` must be positive, when an integer')
ValueError: `bins` must be positive, when an integer
"""


def quick_overview_dir(tmp_path: Path, counts: np.ndarray | None) -> Path:
    work = tmp_path / "mintpy"
    work.mkdir()
    with h5py.File(work / "avgPhaseVelocity.h5", "w") as handle:
        handle["velocity"] = np.zeros((4, 4), "float32")
    if counts is not None:
        with h5py.File(work / AMBIGUITY_FILE, "w") as handle:
            handle["mask"] = counts
    return work


def judge_quick_overview(tmp_path: Path, work: Path, log_text: str) -> str:
    log = tmp_path / "04_quick_overview.log"
    log.write_text("temporal_average.py ...\n" + log_text)
    return judge_step("quick_overview", 1, log, work, {}, 3)


def test_the_known_histogram_crash_passes_when_no_triplet_has_an_ambiguity(tmp_path: Path):
    counts = np.zeros((4, 4), "float32")
    counts[0, 0] = np.nan  # water or no data
    work = quick_overview_dir(tmp_path, counts)
    assert "no triplet has an unwrapping ambiguity" in judge_quick_overview(
        tmp_path, work, BINS_CRASH
    )


def test_the_histogram_crash_fails_when_some_triplet_has_an_ambiguity(tmp_path: Path):
    counts = np.zeros((4, 4), "float32")
    counts[2, 3] = 1
    work = quick_overview_dir(tmp_path, counts)
    with pytest.raises(MintPyStepFailed, match=r"MintPy step quick_overview failed \(exit 1\)"):
        judge_quick_overview(tmp_path, work, BINS_CRASH)


def test_the_histogram_crash_fails_when_the_counts_were_never_written(tmp_path: Path):
    work = quick_overview_dir(tmp_path, None)
    with pytest.raises(MintPyStepFailed, match=r"quick_overview failed .*bins. must be positive"):
        judge_quick_overview(tmp_path, work, BINS_CRASH)


def test_another_crash_in_quick_overview_fails_the_stage(tmp_path: Path):
    work = quick_overview_dir(tmp_path, np.zeros((4, 4), "float32"))
    other = BINS_CRASH.replace(
        "ValueError: `bins` must be positive, when an integer",
        "MemoryError: Unable to allocate 3.2 GiB",
    )
    with pytest.raises(MintPyStepFailed) as error:
        judge_quick_overview(tmp_path, work, other)
    assert "MemoryError: Unable to allocate 3.2 GiB; see " in str(error.value)
    assert str(error.value).endswith("04_quick_overview.log")


def test_the_same_error_elsewhere_is_not_mistaken_for_the_known_crash(tmp_path: Path):
    work = quick_overview_dir(tmp_path, np.zeros((4, 4), "float32"))
    elsewhere = BINS_CRASH.replace("plot_num_triplet_with_nonzero_integer_ambiguity", "plot_hist")
    with pytest.raises(MintPyStepFailed):
        judge_quick_overview(tmp_path, work, elsewhere)


def test_a_step_that_exits_0_without_its_output_fails(tmp_path: Path):
    log = tmp_path / "15_velocity.log"
    log.write_text("timeseries2velocity.py ...\n")
    with pytest.raises(MintPyStepFailed, match=r"MintPy step velocity wrote no velocity.h5; see "):
        judge_step("velocity", 0, log, tmp_path, {}, 3)


def test_connected_dates_splits_a_network_into_its_parts():
    pairs = [("20200104", "20200116"), ("20200128", "20200209"), ("20200209", "20200221")]
    assert connected_dates(pairs) == [
        ["20200104", "20200116"],
        ["20200128", "20200209", "20200221"],
    ]


# ------------------------------------------------------------------ real MintPy runs


def run_until_failure(tmp_path: Path, products: list[Path], **settings: object) -> str:
    clipped = tmp_path / "clipped"
    clip_products(products, clipped)
    return run_stack(tmp_path, clipped, **settings)


def run_stack(tmp_path: Path, clipped: Path, **settings: object) -> str:
    with pytest.raises(MintPyStepFailed) as error:
        run_smallbaseline(
            defaults(kmz=False, **settings),
            clipped,
            tmp_path / "mintpy",
            tmp_path / "mintpy" / "insarflow.txt",
            tmp_path / "logs",
            tmp_path / "steps.json",
        )
    return str(error.value)


@pytest.mark.slow
def test_an_unconnected_network_is_stopped_before_the_inversion(tmp_path: Path):
    products = sandbox_products(tmp_path / "products", [(0, 1), (2, 3), (3, 4)])
    message = run_until_failure(tmp_path, products)
    assert message.startswith("MintPy step modify_network left a network in 2 unconnected parts")
    assert "20200104..20200116 (2 dates); 20200128..20200221 (3 dates)" in message
    steps = json.loads((tmp_path / "steps.json").read_text())
    assert [s["step"] for s in steps] == ["load_data"]  # modify_network failed, nothing after


@pytest.mark.slow
def test_interferograms_mintpy_drops_silently_are_caught(tmp_path: Path):
    products = sandbox_products(tmp_path / "products", [(0, 1), (1, 2), (0, 2)])
    clipped = tmp_path / "clipped"
    clip_products(products, clipped)
    # Cut one interferogram by hand (as an unclipped stack would be): MintPy's load_data skips
    # files whose size differs from the most common one with only a warning (MintPy#1447).
    unw = sorted(clipped.glob("*/*_unw_phase.tif"))[1]
    with rasterio.open(unw) as raster:
        profile = raster.profile
        window = Window(0, 0, raster.width, raster.height - 4)
        data = raster.read(window=window)
        profile.update(height=raster.height - 4, transform=raster.window_transform(window))
    with rasterio.open(unw, "w", **profile) as out:
        out.write(data)
    with rasterio.open(unw) as raster:
        (lon,), (lat,) = warp_transform(raster.crs, "EPSG:4326", *map(list, zip(raster.xy(9, 9))))
    message = run_stack(tmp_path, clipped, reference_lalo=[lat, lon])
    assert message.startswith("MintPy step load_data loaded 2 of 3 interferograms; see ")


@pytest.mark.slow
def test_a_crashing_step_stops_the_stage_naming_the_step_and_its_log(tmp_path: Path):
    products = sandbox_products(tmp_path / "products", [(0, 1), (1, 2), (0, 2)])
    # No pixel can reach a temporal coherence of 1: MintPy's inversion raises RuntimeError.
    message = run_until_failure(tmp_path, products, min_temporal_coherence=1.0)
    assert message.startswith("MintPy step invert_network failed (exit 1): ")
    assert "Not enough reliable pixels" in message
    log = Path(message.rsplit("see ", 1)[1])
    assert log.name == "06_invert_network.log" and "Traceback" in log.read_text()
