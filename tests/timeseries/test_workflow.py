"""The time-series stage end to end: sandbox HyP3 products -> MintPy -> velocity map."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
import rasterio
import yaml

from tests.timeseries.conftest import Sandbox, Workdir, scene_pairs

TIMESERIES = Path("results/timeseries")


def enable_timeseries(workdir: Workdir, **settings: object) -> None:
    path = workdir.path / "config" / "config.yaml"
    config = yaml.safe_load(path.read_text())
    config["timeseries"] = {"enabled": True, **settings}
    path.write_text(yaml.safe_dump(config))


@pytest.mark.slow
def test_products_become_a_velocity_map(sandbox: Sandbox, workdir: Workdir):
    # A connected SBAS network of the 5 example scenes, 2 connections each (7 pairs).
    workdir.configure(scene_pairs(7), api_url=sandbox.url)
    enable_timeseries(workdir, kmz=False)
    workdir.snakemake(timeout=600)

    root = workdir.path / TIMESERIES
    for name in (
        "timeseries.h5",
        "velocity.h5",
        "velocity_std.tif",
        "temporal_coherence.tif",
        "velocity.png",
        "displacement.png",
    ):
        assert (root / name).stat().st_size > 0, name
    assert not (root / "velocity.kmz").exists()
    assert (root / "mintpy" / "insarflow.txt").exists()

    # Every MintPy step ran and was checked; the perfect sandbox unwrapping meets MintPy 1.6.4's
    # histogram crash, which is recognised and passed.
    steps = {s["step"]: s["status"] for s in json.loads((root / "mintpy_steps.json").read_text())}
    assert list(steps)[:6] == [
        "load_data",
        "modify_network",
        "reference_point",
        "quick_overview",
        "correct_unwrap_error",
        "invert_network",
    ]
    assert "velocity" in steps and "google_earth" not in steps
    assert steps["quick_overview"].startswith("ok (MintPy 1.6.4 plot crash")
    assert all(status.startswith("ok") for status in steps.values())

    product = next((workdir.path / "results/hyp3/products").glob("*/*/*/*_unw_phase.tif"))
    with rasterio.open(product) as unw, rasterio.open(root / "velocity.tif") as velocity:
        assert velocity.crs == unw.crs
        assert velocity.tags(1)["units"] == "mm/yr"
        values = velocity.read(1)
        ref = int(velocity.tags()["reference_row"]), int(velocity.tags()["reference_col"])
    assert values[ref] == 0.0
    # MintPy's m/yr, in mm/yr, on the same pixels; the swath edge and water have no value.
    with h5py.File(root / "velocity.h5", "r") as handle:
        mintpy_velocity = handle["velocity"][()]
    finite = np.isfinite(values)
    assert 0.5 < finite.mean() < 1.0
    np.testing.assert_allclose(values[finite], 1000.0 * mintpy_velocity[finite], rtol=1e-6)


@pytest.mark.slow
def test_a_network_cut_in_two_stops_the_stage_with_one_line(sandbox: Sandbox, workdir: Workdir):
    workdir.configure(scene_pairs(4), api_url=sandbox.url)
    # A chain of 12-day pairs over 5 dates; leaving out the middle date cuts it in two.
    enable_timeseries(workdir, kmz=False, exclude_dates=["20200128"])
    result = workdir.snakemake(timeout=600, check=False)
    assert result.returncode != 0
    log = (workdir.path / "logs/timeseries/mintpy.log").read_text()
    assert "MintPy step modify_network left a network in 2 unconnected parts" in log
    assert "insarflow: MintPy step modify_network left a network in 2 unconnected parts" in (
        result.stderr + result.stdout
    )
    assert not (workdir.path / TIMESERIES / "velocity.h5").exists()


def test_settings_that_cannot_work_stop_before_any_job(workdir: Workdir):
    workdir.configure(scene_pairs(3))
    enable_timeseries(workdir, unwrap_error_correction="phase_closure")
    result = workdir.snakemake("-n", check=False)
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1:] == [
        "insarflow: timeseries.unwrap_error_correction = 'phase_closure' needs connected "
        "components, which INSAR_GAMMA products do not have (INSAR_ISCE_BURST products do); "
        "allowed with INSAR_GAMMA: 'no'"
    ]
    assert "Traceback" not in result.stderr
    assert not (workdir.path / "results").exists()
