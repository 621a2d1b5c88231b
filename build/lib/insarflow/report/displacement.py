"""Displacement figures from MintPy's HDF5 outputs (the time-series stage).

* velocity map in mm/yr over a hillshade of the DEM, with its colour bar and reference point;
* its standard deviation;
* the time series at the reference point and at the point of largest motion;
* the network's coherence matrix (mean coherence of every pair; dropped pairs crossed).

Layout read (MintPy 1.6): ``velocity.h5`` datasets ``velocity``, ``velocityStd`` (m/year) with
attributes ``REF_Y``/``REF_X`` and, when geocoded, ``X_FIRST``/``Y_FIRST``/``X_STEP``/``Y_STEP``;
``timeseries.h5`` ``timeseries`` (dates x rows x cols, m) and ``date``; ``ifgramStack.h5``
``coherence`` and ``date`` (pairs x 2) and ``dropIfgram``; ``geometryGeo.h5`` ``height``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import h5py
import numpy as np
from matplotlib.colors import LightSource, Normalize, TwoSlopeNorm
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

from insarflow.report.figures import colormap, new_figure, note, save

UNIT_TO_MM = {"m/year": 1000.0, "m/yr": 1000.0, "m": 1000.0, "cm/year": 10.0, "mm/year": 1.0}
MAX_PIXELS_READ = 2_000_000  # subsample coherence layers above this for the matrix


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _attrs(handle: h5py.File) -> dict[str, str]:
    return {key: _text(value) for key, value in handle.attrs.items()}


def _extent(attrs: Mapping[str, str], shape: tuple[int, int]) -> tuple[list[float] | None, str]:
    """imshow extent and axis unit from MintPy's geocoding attributes (pixels if absent)."""
    try:
        x0, y0 = float(attrs["X_FIRST"]), float(attrs["Y_FIRST"])
        dx, dy = float(attrs["X_STEP"]), float(attrs["Y_STEP"])
    except (KeyError, ValueError):
        return None, "pixel"
    unit = attrs.get("X_UNIT", "degrees" if abs(dx) < 0.1 else "m")
    rows, cols = shape
    return [x0, x0 + cols * dx, y0 + rows * dy, y0], unit


def _reference(attrs: Mapping[str, str]) -> tuple[int, int] | None:
    try:
        return int(attrs["REF_Y"]), int(attrs["REF_X"])
    except (KeyError, ValueError):
        return None


def _pixel_to_map(extent, row: float, col: float, shape) -> tuple[float, float]:
    if extent is None:
        return col, row
    left, right, bottom, top = extent
    return (
        left + (col + 0.5) * (right - left) / shape[1],
        top + (row + 0.5) * (bottom - top) / shape[0],
    )


def read_velocity(
    path: str | Path, dataset: str = "velocity", mask_h5: str | Path | None = None
) -> tuple[np.ndarray, dict]:
    """``dataset`` in mm/yr (NaN where masked or zero-filled) and the file's attributes.

    ``mask_h5`` is a MintPy mask file (``maskTempCoh.h5``: dataset ``mask``, 0 = unreliable).
    """
    with h5py.File(path, "r") as handle:
        attrs = _attrs(handle)
        values = handle[dataset][()].astype("float64")
    scale = UNIT_TO_MM.get(attrs.get("UNIT", "m/year"), 1000.0)
    values = values * scale
    values[values == 0] = np.nan  # MintPy writes 0 outside the processed area
    if mask_h5 is not None:
        with h5py.File(mask_h5, "r") as handle:
            mask = handle["mask"][()]
        if mask.shape == values.shape:
            values[mask == 0] = np.nan
    return values, attrs


def _hillshade(geometry: str | Path | None, shape) -> np.ndarray | None:
    if geometry is None or not Path(geometry).exists():
        return None
    with h5py.File(geometry, "r") as handle:
        if "height" not in handle:
            return None
        height = handle["height"][()].astype("float64")
    if height.shape != shape:
        return None
    height = np.where(np.isfinite(height), height, np.nanmedian(height))
    return LightSource(azdeg=315, altdeg=45).hillshade(height, vert_exag=2.0)


def plot_velocity_map(
    velocity_h5: str | Path,
    path: str | Path,
    geometry_h5: str | Path | None = None,
    dataset: str = "velocity",
    mask_h5: str | Path | None = None,
) -> dict[str, float]:
    """The velocity (or its ``velocityStd``) map in mm/yr over the DEM's hillshade."""
    values, attrs = read_velocity(velocity_h5, dataset, mask_h5)
    shape = values.shape
    extent, unit = _extent(attrs, shape)
    figure = new_figure(8, 7)
    axes = figure.add_subplot()
    shade = _hillshade(geometry_h5, shape)
    if shade is not None:
        axes.imshow(shade, cmap="gray", extent=extent, interpolation="nearest")
    finite = values[np.isfinite(values)]
    is_std = dataset != "velocity"
    if is_std:
        norm = Normalize(0.0, float(np.percentile(finite, 98)) if finite.size else 1.0)
        cmap, label = colormap("magma_r"), "velocity standard deviation (mm/yr)"
    else:
        bound = float(np.percentile(np.abs(finite), 98)) if finite.size else 1.0
        norm = TwoSlopeNorm(0.0, -(bound or 1.0), bound or 1.0)
        cmap, label = colormap("RdBu_r"), "LOS velocity (mm/yr), positive towards the satellite"
    image = axes.imshow(
        np.ma.masked_invalid(values),
        cmap=cmap,
        norm=norm,
        alpha=0.75 if shade is not None else 1.0,
        extent=extent,
        interpolation="nearest",
    )
    figure.colorbar(image, ax=axes, shrink=0.8, label=label)
    reference = _reference(attrs)
    if reference:
        x, y = _pixel_to_map(extent, *reference, shape)
        axes.plot(
            x,
            y,
            "s",
            markersize=10,
            markerfacecolor="none",
            markeredgecolor="black",
            markeredgewidth=2,
            label="reference point",
        )
        axes.legend(loc="lower right", fontsize=8)
    axes.ticklabel_format(useOffset=False, style="plain")
    axes.set_xlabel(f"x ({unit})")
    axes.set_ylabel(f"y ({unit})")
    period = f"{attrs.get('START_DATE', '?')} to {attrs.get('END_DATE', '?')}"
    axes.set_title(("Velocity standard deviation" if is_std else "LOS velocity") + f", {period}")
    if shade is None:
        note(figure, "No DEM height in the geometry file: no hillshade.")
    save(figure, path)
    return {
        "min": float(finite.min()) if finite.size else float("nan"),
        "max": float(finite.max()) if finite.size else float("nan"),
    }


def _dates(values) -> list[datetime]:
    return [datetime.strptime(_text(v)[:8], "%Y%m%d") for v in values]


def plot_point_time_series(
    timeseries_h5: str | Path,
    velocity_h5: str | Path,
    path: str | Path,
    mask_h5: str | Path | None = None,
) -> dict[str, Any]:
    """Displacement (mm) over time at the reference point and at the largest-|velocity| point
    (among reliable pixels when ``mask_h5`` is given)."""
    velocity, attrs = read_velocity(velocity_h5, mask_h5=mask_h5)
    if not np.isfinite(velocity).any():
        raise ValueError(f"{velocity_h5}: no finite velocity")
    peak = np.unravel_index(np.nanargmax(np.abs(velocity)), velocity.shape)
    with h5py.File(timeseries_h5, "r") as handle:
        ts_attrs = _attrs(handle)
        dates = _dates(handle["date"][()])
        reference = _reference(ts_attrs) or _reference(attrs) or (0, 0)
        points = {
            f"reference point (row {reference[0]}, col {reference[1]})": reference,
            f"largest motion (row {peak[0]}, col {peak[1]}), {velocity[peak]:+.1f} mm/yr": (
                int(peak[0]),
                int(peak[1]),
            ),
        }
        series = {
            label: handle["timeseries"][:, row, col].astype("float64") * 1000.0
            for label, (row, col) in points.items()
        }
    figure = new_figure(9, 4.5)
    axes = figure.add_subplot()
    years = np.array([(d - dates[0]).days / 365.25 for d in dates])
    for (label, values), colour in zip(series.items(), ("tab:gray", "tab:red"), strict=True):
        axes.plot(dates, values, "o-", color=colour, markersize=4, linewidth=1, label=label)
        finite = np.isfinite(values)
        if finite.sum() >= 2:
            slope, offset = np.polyfit(years[finite], values[finite], 1)
            axes.plot(dates, offset + slope * years, "--", color=colour, linewidth=0.8)
    locator = AutoDateLocator()
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    axes.set_ylabel("LOS displacement (mm)")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    axes.set_title(f"Time series, {len(dates)} dates (dashed: linear fit)")
    save(figure, path)
    return {"reference": reference, "peak": (int(peak[0]), int(peak[1]))}


def coherence_matrix(ifgram_stack_h5: str | Path) -> tuple[list[datetime], np.ndarray, np.ndarray]:
    """Dates, the date x date matrix of mean pair coherence (NaN: no pair), and dropped flags."""
    with h5py.File(ifgram_stack_h5, "r") as handle:
        pairs = [(_text(a), _text(b)) for a, b in handle["date"][()]]
        dropped_flags = (
            ~handle["dropIfgram"][()].astype(bool)
            if "dropIfgram" in handle
            else np.zeros(len(pairs), bool)
        )
        coherence = handle["coherence"]
        rows, cols = coherence.shape[1:]
        step = max(1, int(np.sqrt(rows * cols / MAX_PIXELS_READ)))
        means = [float(np.nanmean(coherence[i, ::step, ::step])) for i in range(coherence.shape[0])]
    dates = sorted({d for pair in pairs for d in pair})
    index = {d: i for i, d in enumerate(dates)}
    matrix = np.full((len(dates), len(dates)), np.nan)
    dropped = np.zeros_like(matrix, dtype=bool)
    for (first, second), mean, drop in zip(pairs, means, dropped_flags, strict=True):
        i, j = sorted((index[first], index[second]))
        matrix[i, j] = matrix[j, i] = mean
        dropped[i, j] = dropped[j, i] = drop
    return _dates(dates), matrix, dropped


def plot_coherence_matrix(ifgram_stack_h5: str | Path, path: str | Path) -> int:
    """The coherence matrix as MintPy draws it; returns the number of pairs shown."""
    dates, matrix, dropped = coherence_matrix(ifgram_stack_h5)
    figure = new_figure(7.5, 6.5)
    axes = figure.add_subplot()
    cmap = colormap("viridis").with_extremes(bad="0.9")
    image = axes.imshow(np.ma.masked_invalid(matrix), cmap=cmap, vmin=0, vmax=1)
    rows, cols = np.nonzero(np.triu(dropped))
    if rows.size:
        axes.plot(cols, rows, "x", color="red", markersize=5, label="dropped from the inversion")
        axes.legend(loc="lower left", fontsize=8)
    ticks = np.linspace(0, len(dates) - 1, min(len(dates), 8)).round().astype(int)
    labels = [dates[i].strftime("%Y-%m-%d") for i in ticks]
    axes.set_xticks(ticks, labels, rotation=45, ha="right", fontsize=7)
    axes.set_yticks(ticks, labels, fontsize=7)
    figure.colorbar(image, ax=axes, shrink=0.8, label="mean spatial coherence")
    upper = np.triu_indices(len(dates), k=1)
    shown = int(np.isfinite(matrix[upper]).sum())
    axes.set_title(f"Coherence matrix: {shown} pairs over {len(dates)} dates")
    save(figure, path)
    return shown
