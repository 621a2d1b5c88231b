"""Helpers for time-series tests: products on disk as the HyP3 download step leaves them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import from_origin

from insarflow.sandbox.products import plan_product, render_members
from insarflow.timeseries.clip import OPTIONAL_LAYERS, REQUIRED_LAYERS

REPO = Path(__file__).resolve().parents[2]
SCENES = [
    line.strip()
    for line in (REPO / "config" / "scenes.txt").read_text().splitlines()
    if line.strip() and not line.startswith("#")
]
GAMMA_PARAMS = {
    "looks": "20x4",
    "apply_water_mask": True,
    "include_dem": True,
    "include_look_vectors": True,
    "include_inc_map": False,
    "include_wrapped_phase": False,
    "include_displacement_maps": False,
    "include_los_displacement": False,
    "phase_filter_parameter": 0.6,
}


def write_verified(pair_dir: Path, name: str) -> None:
    pair_dir.mkdir(parents=True, exist_ok=True)
    record = {"job_id": f"job-{name}", "files": [{"filename": f"{name}.zip", "folder": name}]}
    (pair_dir / "verified.json").write_text(json.dumps(record))


def synthetic_product(
    root: Path,
    index: int,
    west: float,
    north: float,
    width: int,
    height: int,
    epsg: int = 32611,
    pixel: float = 80.0,
    layers: tuple[str, ...] = (*REQUIRED_LAYERS, *OPTIONAL_LAYERS[:3]),
) -> Path:
    """A product directory with georeferenced layers whose values encode map coordinates."""
    day = 4 + 12 * index
    name = f"S1AA_202001{day:02d}T014512_202001{day + 12:02d}T014513_VVP012_INT80_G_ueF_{index:04X}"
    pair_dir = root / f"pair{index}"
    write_verified(pair_dir, name)
    folder = pair_dir / name
    folder.mkdir()
    (folder / f"{name}.txt").write_text("Heading: -12.3\n")
    transform = from_origin(west, north, pixel, pixel)
    cols, _ = np.meshgrid(np.arange(width), np.arange(height))
    # Value = easting of the pixel centre in km: clipping must keep each value at its place.
    easting = (west + (cols + 0.5) * pixel) / 1000.0
    for layer in layers:
        dtype = "uint8" if layer == "water_mask" else "float32"
        data = np.ones((height, width), dtype) if dtype == "uint8" else easting.astype(dtype)
        with rasterio.open(
            folder / f"{name}_{layer}.tif",
            "w",
            driver="GTiff",
            width=width,
            height=height,
            count=1,
            dtype=dtype,
            crs=f"EPSG:{epsg}",
            transform=transform,
        ) as out:
            out.write(data, 1)
    return pair_dir


def sandbox_products(root: Path, pairs: list[tuple[int, int]], **params: object) -> list[Path]:
    """Real sandbox INSAR_GAMMA products of the example scenes, unpacked as the workflow does."""
    processed = datetime(2021, 6, 1, tzinfo=UTC)
    dirs = []
    for first, second in pairs:
        job = {**GAMMA_PARAMS, **params, "granules": [SCENES[first], SCENES[second]]}
        plan = plan_product(f"job-{first}-{second}", "INSAR_GAMMA", job, processed)
        pair_dir = root / f"{first}_{second}"
        write_verified(pair_dir, plan.name)
        for arcname, data in render_members(plan).items():
            if not arcname.endswith("/"):
                path = pair_dir / arcname
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
        dirs.append(pair_dir)
    return dirs


# The HyP3 tests' sandbox process and Snakemake work directory, for end-to-end runs.
from tests.hyp3.conftest import Sandbox, Workdir, sandbox, scene_pairs, workdir  # noqa: E402, F401
