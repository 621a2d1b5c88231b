"""The time-series stage on INSAR_ISCE_MULTI_BURST products, connected components included:
the example multi-burst pair table (9 pairs over 6 dates, 3 bursts) through the whole workflow."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import h5py
import pytest
import rasterio
import yaml

from tests.hyp3.test_multi_burst_workflow import BURST_IDS, MINTPY_MULTI_BURST
from tests.timeseries.conftest import REPO, Sandbox, Workdir
from tests.timeseries.stack import BURST_SETTINGS

pytestmark = pytest.mark.slow

TIMESERIES = Path("results/timeseries")


def test_multi_burst_products_become_a_velocity_map_with_their_connected_components(
    sandbox: Sandbox, workdir: Workdir
) -> None:
    config_dir = workdir.path / "config"
    config_dir.mkdir(exist_ok=True)
    for name in ("multi-burst-pairs.tsv", "multi-burst-granules.txt"):
        shutil.copy(REPO / "config" / name, config_dir)
    config = {
        "processor": "hyp3",
        "pairs": "config/multi-burst-pairs.tsv",
        "multi_burst": {"burst_ids": BURST_IDS, "granules": "config/multi-burst-granules.txt"},
        "hyp3": {
            "api_url": sandbox.url,
            "job_type": "INSAR_ISCE_MULTI_BURST",
            "poll_interval": 0.5,
            "wait_timeout": 300,
            "request_timeout": 10,
        },
        # Bridging works on the connected components that burst products carry.
        "timeseries": {"enabled": True, "kmz": False, **BURST_SETTINGS},
    }
    (config_dir / "config.yaml").write_text(yaml.safe_dump(config))
    workdir.snakemake(timeout=900)

    products = sorted((workdir.path / "results/hyp3/products").glob("*/*/*/*_unw_phase.tif"))
    assert len(products) == 9
    assert all(MINTPY_MULTI_BURST.match(path.parent.name) for path in products)
    assert all(
        path.with_name(path.name.replace("unw_phase", "conncomp")).exists() for path in products
    )

    root = workdir.path / TIMESERIES
    steps = {s["step"]: s["status"] for s in json.loads((root / "mintpy_steps.json").read_text())}
    assert all(status.startswith("ok") for status in steps.values()), steps
    assert steps["correct_unwrap_error"] == "ok"
    with h5py.File(root / "mintpy" / "inputs" / "ifgramStack.h5", "r") as stack:
        # MintPy loaded every interferogram with its connected components.
        assert stack["unwrapPhase"].shape[0] == 9
        assert stack["connectComponent"].shape[0] == 9
        assert stack["connectComponent"][()].max() >= 1
    with rasterio.open(products[0]) as unw, rasterio.open(root / "velocity.tif") as velocity:
        assert velocity.crs == unw.crs
        assert velocity.tags(1)["units"] == "mm/yr"
