"""Ground truth of the sandbox's synthetic world, for measuring the accuracy of a time series.

``write_truth`` writes, for the track/frame some granules belong to, on the frame's full UTM grid at
the looks' pixel spacing (every product of those granules is a window of it: same CRS, same grid
lines):

``velocity_mm_yr.tif``
    the true line-of-sight velocity in mm/yr, positive towards the sensor (MintPy's sign);
``observed_los_m.tif``
    one band per acquisition date of the granules (sorted; band descriptions ``YYYYMMDD``): the true
    LOS displacement plus that date's tropospheric delay (as apparent motion: a delay reads as
    motion away from the sensor), in metres, positive towards the sensor. This is exactly the
    per-date part of every interferogram's phase (``unw_phase = -4*pi/lambda * (obs(sec) -
    obs(ref))`` plus per-pair decorrelation noise and unwrapping errors), i.e. what a perfect
    per-date inversion would see. A straight line fitted to it pixel by pixel gives the
    irreducible velocity error.

``dem_error_m.tif``
    the DEM error of the frame in metres: the true height of the scatterers minus the DEM's (the
    products' ``dem`` layer), fixed in time; MintPy's ``demErr.h5`` estimates it. It is NOT in
    ``observed_los_m.tif``: each interferogram adds ``-4*pi/lambda * Bperp * dz / (r * sin(inc))``
    with its own ``Baseline`` (``insarflow.sandbox.scene``), which a time-series method can
    estimate and remove, so the irreducible line stays the one of motion, atmosphere and noise.

All are float32 without a nodata value; the frame's no-data strip and water are included (the
truth is defined everywhere), so mask them with a product's layers if needed.

As a command: ``python -m insarflow.sandbox truth --looks 20x4 --out-dir DIR GRANULE...``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import numpy as np
import rasterio

from insarflow.sandbox.granules import parse_burst, parse_scene
from insarflow.sandbox.products import frame_of_granules
from insarflow.sandbox.scene import Grid, date_key, scene_model

VELOCITY_FILE = "velocity_mm_yr.tif"
OBSERVED_FILE = "observed_los_m.tif"
DEM_ERROR_FILE = "dem_error_m.tif"


def _acquisition_time(name: str) -> datetime:
    return parse_burst(name).start if name.endswith("-BURST") else parse_scene(name).start


def _write(path: Path, grid: Grid, bands: list[np.ndarray], descriptions: list[str]) -> None:
    profile = {
        "driver": "GTiff",
        "width": grid.width,
        "height": grid.height,
        "count": len(bands),
        "dtype": "float32",
        "crs": grid.crs,
        "transform": grid.transform,
    }
    temporary = path.with_name(path.name + ".part")
    with rasterio.open(temporary, "w", **profile) as dataset:
        for index, (band, description) in enumerate(zip(bands, descriptions, strict=True), 1):
            dataset.write(band.astype(np.float32), index)
            dataset.set_band_description(index, description)
    temporary.replace(path)


def write_truth(granules: Sequence[str], looks: str, out_dir: Path) -> dict[str, Path]:
    """Write the true LOS velocity, the per-date observed LOS and the DEM error of the granules'
    frame.

    Returns ``{"velocity": out_dir/velocity_mm_yr.tif, "observed_los": out_dir/observed_los_m.tif,
    "dem_error": out_dir/dem_error_m.tif}``.
    Raises ValueError for names that do not parse, granules of several tracks, or bad looks.
    """
    frame = frame_of_granules(granules, looks)
    model = scene_model(frame)
    # One band per date (bursts of one date, or a scene listed twice, are one acquisition).
    moments: dict[str, datetime] = {}
    for name in granules:
        moment = _acquisition_time(name)
        moments.setdefault(date_key(moment), moment)
    days = sorted(moments)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    velocity_path, observed_path = out_dir / VELOCITY_FILE, out_dir / OBSERVED_FILE
    _write(velocity_path, frame, [model.los_velocity() * 1000.0], ["los_velocity_mm_yr"])
    _write(observed_path, frame, [model.observed_los(moments[day]) for day in days], days)
    dem_error_path = out_dir / DEM_ERROR_FILE
    _write(dem_error_path, frame, [model.dem_error], ["dem_error_m"])
    return {"velocity": velocity_path, "observed_los": observed_path, "dem_error": dem_error_path}
