"""MintPy's smallbaselineApp template, written from the `timeseries` section of the config."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from insarflow.errors import UserError

# The layers of the clipped stack and the template key that loads each one.
LOAD_KEYS = {
    "unw_phase": "mintpy.load.unwFile",
    "corr": "mintpy.load.corFile",
    "conncomp": "mintpy.load.connCompFile",
    "dem": "mintpy.load.demFile",
    "lv_theta": "mintpy.load.incAngleFile",
    "lv_phi": "mintpy.load.azAngleFile",
    "water_mask": "mintpy.load.waterMaskFile",
}
MINTPY_KEY = re.compile(r"^mintpy(\.[A-Za-z0-9_]+)+$")
# Keys the workflow sets itself: a pass-through value would break the stage's own checks.
RESERVED_KEYS = frozenset({"mintpy.load.processor", *LOAD_KEYS.values()})


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "no"
    if isinstance(value, list | tuple):
        return ",".join(_value(item) for item in value)
    return str(value)


def template_options(settings: Mapping[str, Any], clipped_dir: str | Path) -> dict[str, str]:
    """Every template key and value the config asks for (``settings`` = config['timeseries'])."""
    clipped = Path(clipped_dir).resolve()
    present = {layer for layer in LOAD_KEYS if any(clipped.glob(f"*/*_{layer}.tif"))}
    options: dict[str, Any] = {"mintpy.load.processor": "hyp3"}
    for layer, key in LOAD_KEYS.items():
        options[key] = str(clipped / "*" / f"*_{layer}.tif") if layer in present else "no"

    workers = settings["num_workers"]
    options |= {
        "mintpy.compute.cluster": settings["cluster"],
        "mintpy.compute.numWorker": workers,
        "mintpy.compute.maxMemory": settings["max_memory_gb"],
        "mintpy.reference.yx": _reference_yx(settings["reference_lalo"], clipped),
        "mintpy.network.tempBaseMax": settings["max_temporal_baseline"] or "no",
        "mintpy.network.perpBaseMax": settings["max_perpendicular_baseline"] or "no",
        "mintpy.network.excludeDate": settings["exclude_dates"] or "no",
        "mintpy.network.coherenceBased": settings["min_network_coherence"] is not None,
        "mintpy.unwrapError.method": settings["unwrap_error_correction"],
        "mintpy.networkInversion.minTempCoh": settings["min_temporal_coherence"],
        "mintpy.networkInversion.weightFunc": settings["weight_function"],
        "mintpy.troposphericDelay.method": settings["troposphere"],
        "mintpy.deramp": settings["deramp"],
        "mintpy.topographicResidual": settings["topographic_residual"],
        "mintpy.save.kmz": settings["kmz"],
        # The stage draws its own maps; MintPy's pic/ plots double the run time.
        "mintpy.plot": False,
    }
    if settings["min_network_coherence"] is not None:
        options["mintpy.network.minCoherence"] = settings["min_network_coherence"]
    if settings["min_coherence"] is not None:
        options["mintpy.networkInversion.maskDataset"] = "coherence"
        options["mintpy.networkInversion.maskThreshold"] = settings["min_coherence"]
    for key, value in (settings.get("mintpy_options") or {}).items():
        if not MINTPY_KEY.match(key):
            raise UserError(
                f"timeseries.mintpy_options has a bad key {key!r}; keys are MintPy template keys "
                "such as 'mintpy.timeFunc.periodic'"
            )
        if key in RESERVED_KEYS:
            raise UserError(
                f"timeseries.mintpy_options.{key} is set by insarflow from the clipped products; "
                "remove it"
            )
        options[key] = value
    return {key: _value(value) for key, value in options.items()}


def _reference_yx(lalo: list[float] | None, clipped: Path) -> str:
    # MintPy's reference.lalo is read as lat/lon even on UTM grids in some versions (MintPy#668);
    # the row and column on the clipped grid are unambiguous.
    if not lalo:
        row, col = most_coherent_pixel(clipped)
        return f"{row},{col}"
    import rasterio
    from rasterio.warp import transform as warp_transform

    lat, lon = lalo
    unw = next(iter(sorted(clipped.glob("*/*_unw_phase.tif"))), None)
    if unw is None:
        raise UserError(f"no clipped interferogram under {clipped}")
    with rasterio.open(unw) as raster:
        (x,), (y,) = warp_transform("EPSG:4326", raster.crs, [lon], [lat])
        row, col = raster.index(x, y)
        if not (0 <= row < raster.height and 0 <= col < raster.width):
            south, north = _lat_range(raster)
            raise UserError(
                f"timeseries.reference_lalo = [{lat}, {lon}] lies outside the products' common "
                f"overlap ({raster.crs}, x {raster.bounds.left:.0f}..{raster.bounds.right:.0f}, "
                f"y {raster.bounds.bottom:.0f}..{raster.bounds.top:.0f}; latitude about "
                f"{south:.4f}..{north:.4f}); pick a point inside it or null for auto"
            )
    return f"{row},{col}"


def most_coherent_pixel(clipped: str | Path, window: int = 5) -> tuple[int, int]:
    """The reference chosen for `reference_lalo: null`: the centre of the most coherent window.

    MintPy's own ``auto`` picks a *random* pixel above a coherence threshold, so two runs of the
    same data would differ; this choice is deterministic. Candidates are land pixels with data in
    every interferogram; the score is the mean coherence over all pairs in a window x window box.
    """
    import rasterio
    from scipy.ndimage import uniform_filter

    clipped = Path(clipped)
    total = None
    usable = None
    for path in sorted(clipped.glob("*/*_corr.tif")):
        unw = path.with_name(path.name.replace("_corr.tif", "_unw_phase.tif"))
        with rasterio.open(path) as corr_file, rasterio.open(unw) as unw_file:
            corr = corr_file.read(1).astype("float64")
            has_data = (unw_file.read(1) != 0) & (corr > 0)
        total = corr if total is None else total + corr
        usable = has_data if usable is None else usable & has_data
        water = path.with_name(path.name.replace("_corr.tif", "_water_mask.tif"))
        if water.exists():
            with rasterio.open(water) as water_file:
                usable &= water_file.read(1) != 0
    if total is None or usable is None or not usable.any():
        raise UserError(
            f"no pixel of {clipped} has data in every interferogram; the products do not share "
            "any usable ground"
        )
    score = uniform_filter(np.where(usable, total, 0.0), size=window, mode="constant")
    share = uniform_filter(usable.astype("float64"), size=window, mode="constant")
    # Only windows that are all usable: an edge pixel next to no-data is a poor reference.
    score = np.where(usable & (share > 0.999), score, -1.0)
    if score.max() < 0:
        score = np.where(usable, total, -1.0)
    row, col = np.unravel_index(int(np.argmax(score)), score.shape)
    return int(row), int(col)


def _lat_range(raster: Any) -> tuple[float, float]:
    from rasterio.warp import transform_bounds

    _, south, _, north = transform_bounds(raster.crs, "EPSG:4326", *raster.bounds)
    return south, north


def write_template(
    settings: Mapping[str, Any], clipped_dir: str | Path, path: str | Path
) -> dict[str, str]:
    """Write the template file MintPy reads; returns its options."""
    options = template_options(settings, clipped_dir)
    width = max(len(key) for key in options)
    lines = ["# MintPy template written by insarflow from the config's `timeseries` section"]
    lines += [f"{key:<{width}} = {value}" for key, value in options.items()]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text("\n".join(lines) + "\n")
    return options
