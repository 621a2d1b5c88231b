"""Pages of labelled thumbnails: one layer (phase or coherence) of every pair, 6 x 6 per page.

Hundreds of pairs stay viewable because each page is one PNG of a fixed size. A page is drawn
as a single image (thumbnails placed in a numpy canvas) plus one text label per cell, which is
what keeps a thousand-pair report fast: one ``imshow`` per page, not one axes per pair.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import rasterio
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from rasterio.enums import Resampling

from insarflow.report.figures import DPI, colormap, new_figure, save
from insarflow.report.pages import COLUMNS, ROWS, Layer

THUMB = 150  # pixels on the longest side
LABEL = 26  # pixels under each thumbnail for its pair label (two lines)
GAP = 6
NODATA_RGB = (0.85, 0.85, 0.85)


def read_thumbnail(path: str | Path, size: int = THUMB) -> np.ndarray:
    """The first band, decimated to at most ``size`` pixels a side (NaN where nodata)."""
    with rasterio.open(path) as raster:
        # Decimated (or, for small rasters, enlarged) to fill the cell: nearest keeps values.
        scale = max(raster.width, raster.height) / size
        shape = (max(1, round(raster.height / scale)), max(1, round(raster.width / scale)))
        data = raster.read(1, out_shape=shape, resampling=Resampling.nearest, masked=True)
    values = data.astype("float32").filled(np.nan)
    return values


def two_lines(label: str) -> str:
    """A pair id broken at its middle underscore, so that it fits under its thumbnail."""
    cuts = [i for i, char in enumerate(label) if char == "_"]
    if len(label) <= 22 or not cuts:
        return label
    cut = min(cuts, key=lambda i: abs(i - len(label) / 2))
    return f"{label[:cut]}\n{label[cut + 1 :]}"


def _centre(values: np.ndarray) -> np.ndarray:
    finite = values[np.isfinite(values)]
    return values - np.median(finite) if finite.size else values


def write_page(
    cells: Sequence[tuple[str, Path | None]],
    layer: Layer,
    path: str | Path,
    page: int,
    pages: int,
) -> None:
    """One page: ``cells`` are (pair label, layer GeoTIFF or None when the product lacks it)."""
    thumbs = []
    for _, tif in cells:
        if tif is None:
            thumbs.append(None)
            continue
        values = read_thumbnail(tif)
        thumbs.append(_centre(values) if layer.vmin is None else values)
    vmin, vmax = layer.vmin, layer.vmax
    if vmin is None or vmax is None:
        finite = [np.abs(t[np.isfinite(t)]) for t in thumbs if t is not None]
        pooled = np.concatenate(finite) if finite else np.zeros(1)
        bound = float(np.percentile(pooled, 98)) if pooled.size else 1.0
        vmin, vmax = -(bound or 1.0), bound or 1.0
    cmap = colormap(layer.cmap)
    norm = Normalize(vmin, vmax, clip=True)
    cell_w, cell_h = THUMB + GAP, THUMB + LABEL + GAP
    rows = min(ROWS, math.ceil(len(cells) / COLUMNS)) or 1
    canvas = np.ones((rows * cell_h, COLUMNS * cell_w, 3), dtype="float32")
    # Fixed geometry (no layout engine): the canvas at 1 pixel per pixel, a title band above
    # and a colour bar on the right.
    width_in, height_in = canvas.shape[1] / DPI, canvas.shape[0] / DPI
    title_in, bar_in = 0.5, 1.3
    figure = new_figure(width_in + bar_in, height_in + title_in, layout=None)
    total_w, total_h = width_in + bar_in, height_in + title_in
    axes = figure.add_axes((0.0, 0.0, width_in / total_w, height_in / total_h))
    bar_axes = figure.add_axes(
        (
            (width_in + 0.25) / total_w,
            0.2 * height_in / total_h,
            0.2 / total_w,
            0.6 * height_in / total_h,
        )
    )
    for number, ((label, _), thumb) in enumerate(zip(cells, thumbs, strict=True)):
        row, column = divmod(number, COLUMNS)
        top, left = row * cell_h, column * cell_w
        if thumb is not None:
            rgb = cmap(norm(thumb))[..., :3]
            rgb[~np.isfinite(thumb)] = NODATA_RGB
            height, width = thumb.shape
            y0 = top + (THUMB - height) // 2
            x0 = left + (THUMB - width) // 2
            canvas[y0 : y0 + height, x0 : x0 + width] = rgb
        else:
            canvas[top : top + THUMB, left : left + THUMB] = NODATA_RGB
            axes.text(
                left + THUMB / 2,
                top + THUMB / 2,
                f"no {layer.suffix}",
                ha="center",
                va="center",
                fontsize=8,
            )
        axes.text(
            left + THUMB / 2, top + THUMB + 2, two_lines(label), ha="center", va="top", fontsize=6.5
        )
    axes.imshow(canvas, interpolation="nearest", aspect="equal")
    axes.set_axis_off()
    figure.suptitle(
        f"{layer.title}: page {page} of {pages} ({len(cells)} pairs)",
        y=1 - 0.15 / total_h,
        va="top",
    )
    figure.colorbar(
        ScalarMappable(norm=norm, cmap=cmap), cax=bar_axes, label=layer.unit or layer.title.lower()
    )
    save(figure, path, compress_level=1)
