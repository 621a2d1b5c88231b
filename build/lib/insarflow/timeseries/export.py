"""The stage's deliverables from MintPy's HDF5 files: GeoTIFFs in the products' CRS and PNG maps.

Velocities are written in mm/yr (MintPy stores m/yr), line of sight, positive toward the satellite,
relative to the reference point. Pixels MintPy left without a value are NaN.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import h5py
import numpy as np
import rasterio
from rasterio.crs import CRS
from rasterio.transform import Affine

log = logging.getLogger(__name__)

MM_PER_M = 1000.0


@dataclass(frozen=True)
class Geo:
    crs: CRS
    transform: Affine
    ref_row: int
    ref_col: int


def grid_of(path: str | Path) -> Geo:
    """CRS, transform and reference pixel from a MintPy HDF5 file's attributes."""
    with h5py.File(path, "r") as handle:
        attrs = {key: _text(value) for key, value in handle.attrs.items()}
    if "EPSG" not in attrs or "X_FIRST" not in attrs:
        raise ValueError(
            f"{path} has no map grid (EPSG/X_FIRST); was it loaded from HyP3 products?"
        )
    transform = Affine(
        float(attrs["X_STEP"]),
        0.0,
        float(attrs["X_FIRST"]),
        0.0,
        float(attrs["Y_STEP"]),
        float(attrs["Y_FIRST"]),
    )
    return Geo(
        crs=CRS.from_epsg(int(attrs["EPSG"])),
        transform=transform,
        ref_row=int(attrs.get("REF_Y", -1)),
        ref_col=int(attrs.get("REF_X", -1)),
    )


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def write_geotiff(
    path: str | Path, data: np.ndarray, geo: Geo, unit: str, description: str
) -> None:
    profile = {
        "driver": "GTiff",
        "width": data.shape[1],
        "height": data.shape[0],
        "count": 1,
        "dtype": "float32",
        "crs": geo.crs,
        "transform": geo.transform,
        "nodata": np.nan,
        "compress": "deflate",
    }
    tmp = Path(f"{path}.part")
    with rasterio.open(tmp, "w", **profile) as out:
        out.write(data.astype("float32"), 1)
        out.set_band_description(1, description)
        out.update_tags(1, units=unit)
        out.update_tags(
            reference_row=str(geo.ref_row),
            reference_col=str(geo.ref_col),
            source="insarflow time-series stage (MintPy smallbaselineApp)",
        )
    os.replace(tmp, path)


def read_velocity(velocity_h5: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Velocity and its standard deviation in mm/yr, NaN where MintPy has no value."""
    with h5py.File(velocity_h5, "r") as handle:
        velocity = handle["velocity"][()].astype("float64") * MM_PER_M
        std = handle["velocityStd"][()].astype("float64") * MM_PER_M
        ref_row, ref_col = int(handle.attrs.get("REF_Y", -1)), int(handle.attrs.get("REF_X", -1))
    no_value = ~np.isfinite(velocity) | ((velocity == 0) & (std == 0))
    if ref_row >= 0 and ref_col >= 0:
        no_value[ref_row, ref_col] = False  # zero by definition, not missing
    velocity[no_value] = np.nan
    std[no_value] = np.nan
    return velocity, std


def export_products(
    velocity_h5: str | Path,
    timeseries_h5: str | Path,
    mintpy_dir: str | Path,
    velocity_tif: str | Path,
    velocity_std_tif: str | Path,
    coherence_tif: str | Path,
    velocity_png: str | Path,
    displacement_png: str | Path,
    min_temporal_coherence: float,
) -> None:
    """Write the GeoTIFFs and the two PNGs of the stage."""
    geo = grid_of(velocity_h5)
    velocity, std = read_velocity(velocity_h5)
    with h5py.File(Path(mintpy_dir) / "temporalCoherence.h5", "r") as handle:
        coherence = handle["temporalCoherence"][()].astype("float64")
    coherence[np.isnan(velocity)] = np.nan
    write_geotiff(
        velocity_tif,
        velocity,
        geo,
        "mm/yr",
        "LOS velocity, positive toward the satellite, relative to the reference point",
    )
    write_geotiff(velocity_std_tif, std, geo, "mm/yr", "standard deviation of the LOS velocity")
    write_geotiff(coherence_tif, coherence, geo, "1", "temporal coherence of the network inversion")
    reliable = np.isfinite(velocity) & (coherence >= min_temporal_coherence)
    largest = largest_motion_pixel(velocity, reliable)
    plot_velocity(velocity, reliable, geo, largest, velocity_png, timeseries_h5)
    plot_displacement(timeseries_h5, velocity_h5, geo, largest, displacement_png)
    log.info(
        "velocity %s .. %s mm/yr over %d reliable pixels (temporal coherence >= %.2f); "
        "largest motion %.1f mm/yr at row %d col %d",
        f"{np.nanmin(velocity[reliable]):.1f}" if reliable.any() else "-",
        f"{np.nanmax(velocity[reliable]):.1f}" if reliable.any() else "-",
        int(reliable.sum()),
        min_temporal_coherence,
        velocity[largest],
        *largest,
    )


def largest_motion_pixel(velocity: np.ndarray, reliable: np.ndarray) -> tuple[int, int]:
    """The reliable pixel with the largest |velocity| (any valid pixel if none is reliable)."""
    candidates = reliable if reliable.any() else np.isfinite(velocity)
    magnitude = np.where(candidates, np.abs(np.nan_to_num(velocity)), -1.0)
    row, col = np.unravel_index(int(np.argmax(magnitude)), magnitude.shape)
    return int(row), int(col)


def _extent_km(geo: Geo, shape: tuple[int, int]) -> tuple[float, float, float, float]:
    west, north = geo.transform.c, geo.transform.f
    east = west + shape[1] * geo.transform.a
    south = north + shape[0] * geo.transform.e
    return west / 1e3, east / 1e3, south / 1e3, north / 1e3


def plot_velocity(
    velocity: np.ndarray,
    reliable: np.ndarray,
    geo: Geo,
    largest: tuple[int, int],
    out: str | Path,
    timeseries_h5: str | Path,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with h5py.File(timeseries_h5, "r") as handle:
        dates = [_text(d) for d in handle["date"][()]]
    shown = np.where(reliable, velocity, np.nan)
    limit = float(np.nanpercentile(np.abs(shown), 99.5)) if np.isfinite(shown).any() else 1.0
    limit = max(limit, 0.1)
    extent = _extent_km(geo, velocity.shape)
    figure, axes = plt.subplots(figsize=(7.5, 6.8), dpi=120)
    axes.set_facecolor("0.85")
    image = axes.imshow(
        shown, cmap="RdBu_r", vmin=-limit, vmax=limit, extent=extent, interpolation="nearest"
    )
    bar = figure.colorbar(image, ax=axes, shrink=0.85)
    bar.set_label("LOS velocity (mm/yr), + toward the satellite")
    _mark(axes, geo, (geo.ref_row, geo.ref_col), "k^", "reference point")
    _mark(axes, geo, largest, "ko", f"largest motion ({velocity[largest]:.1f} mm/yr)", filled=False)
    # Below the map: inside it, the legend could hide a marker.
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, fontsize=8)
    axes.set_xlabel(f"easting (km, {geo.crs.to_string()})")
    axes.set_ylabel("northing (km)")
    axes.set_title(
        f"LOS velocity {dates[0]} to {dates[-1]} ({len(dates)} dates)\n"
        "grey: no data or temporal coherence below the threshold",
        fontsize=10,
    )
    figure.tight_layout()
    figure.savefig(out)
    plt.close(figure)


def _mark(
    axes: object, geo: Geo, pixel: tuple[int, int], style: str, label: str, filled: bool = True
) -> None:
    row, col = pixel
    if row < 0 or col < 0:
        return
    x = (geo.transform.c + (col + 0.5) * geo.transform.a) / 1e3
    y = (geo.transform.f + (row + 0.5) * geo.transform.e) / 1e3
    kwargs = {} if filled else {"markerfacecolor": "none", "markeredgewidth": 1.8}
    axes.plot(x, y, style, markersize=9, label=label, **kwargs)


def plot_displacement(
    timeseries_h5: str | Path,
    velocity_h5: str | Path,
    geo: Geo,
    largest: tuple[int, int],
    out: str | Path,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with h5py.File(timeseries_h5, "r") as handle:
        dates = [datetime.strptime(_text(d), "%Y%m%d") for d in handle["date"][()]]
        # MintPy refers the series to a reference date it picks (reference_date step); shown here
        # since the first acquisition instead.
        series = {
            name: (values - values[0]) * MM_PER_M
            for name, values in (
                ("reference point", handle["timeseries"][:, geo.ref_row, geo.ref_col]),
                ("largest motion", handle["timeseries"][:, largest[0], largest[1]]),
            )
        }
    velocity, std = read_velocity(velocity_h5)
    figure, axes = plt.subplots(figsize=(8, 4.5), dpi=120)
    styles = {
        "reference point": ("k^-", (geo.ref_row, geo.ref_col)),
        "largest motion": ("o-", largest),
    }
    years = np.array([(d - dates[0]).days / 365.25 for d in dates])
    for name, values in series.items():
        style, (row, col) = styles[name]
        rate = velocity[row, col]
        label = f"{name} (row {row}, col {col}): {rate:+.1f} ± {std[row, col]:.1f} mm/yr"
        axes.plot(dates, values, style, label=label, markersize=5)
        if np.isfinite(rate):
            offset = np.nanmean(values - rate * years)
            axes.plot(dates, offset + rate * years, "--", color="0.5", linewidth=1)
    axes.axhline(0.0, color="0.7", linewidth=0.8)
    axes.set_ylabel("LOS displacement (mm), + toward the satellite")
    axes.set_title(
        f"displacement since the first acquisition, {dates[0]:%Y-%m-%d} (dashed: velocity fit)",
        fontsize=10,
    )
    axes.legend(fontsize=8)
    figure.autofmt_xdate()
    figure.tight_layout()
    figure.savefig(out)
    plt.close(figure)


def copy_result(source: str | Path, destination: str | Path) -> None:
    """Put MintPy's file under the stage's stable name (a hard link when possible)."""
    destination = Path(destination)
    tmp = destination.with_name(f".{destination.name}.part")
    tmp.unlink(missing_ok=True)
    try:
        os.link(source, tmp)
    except OSError:
        shutil.copy2(source, tmp)
    os.replace(tmp, destination)
