"""Clip every current HyP3 product to the stack's common overlap, as MintPy's prep_hyp3 needs it.

MintPy requires every file of a stack on the same grid: unclipped, its load_data silently drops the
interferograms whose size differs from the most common one (MintPy#1447). The clipped layers keep
the ``<product name>_<layer>.tif`` names and get ``<product name>.txt`` beside them, since
prep_hyp3 parses both. prep_hyp3 treats any file whose absolute path contains ``unw_phase`` or
``corr`` as an interferogram, so no directory above a geometry file may contain those words.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
from dataclasses import dataclass
from pathlib import Path

import rasterio
from rasterio.windows import Window

from insarflow.errors import UserError

log = logging.getLogger(__name__)

REQUIRED_LAYERS = ("unw_phase", "corr", "dem")
OPTIONAL_LAYERS = ("lv_theta", "lv_phi", "water_mask", "conncomp")
INTERFEROGRAM_WORDS = ("unw_phase", "corr")
_ALIGNMENT_TOLERANCE = 1e-3  # of a pixel


@dataclass(frozen=True)
class Product:
    """One unpacked HyP3 product: its name, folder and the layers the stage uses."""

    name: str
    folder: Path
    layers: dict[str, Path]

    @property
    def metadata(self) -> Path:
        return self.folder / f"{self.name}.txt"


@dataclass(frozen=True)
class Footprint:
    crs: str
    pixel_x: float
    pixel_y: float
    west: float
    north: float
    east: float
    south: float


def find_product(product_dir: str | Path) -> Product:
    """The product unpacked in a pair's directory (named by its ``verified.json``)."""
    product_dir = Path(product_dir)
    manifest = product_dir / "verified.json"
    try:
        name = json.loads(manifest.read_text())["files"][0]["folder"]
    except (OSError, ValueError, KeyError, IndexError) as error:
        raise UserError(f"{manifest}: no verified product record ({error})") from None
    folder = product_dir / name
    layers = {}
    for layer in (*REQUIRED_LAYERS, *OPTIONAL_LAYERS):
        path = folder / f"{name}_{layer}.tif"
        if path.exists():
            layers[layer] = path
    missing = [layer for layer in REQUIRED_LAYERS if layer not in layers]
    if missing or not (folder / f"{name}.txt").exists():
        missing += [] if (folder / f"{name}.txt").exists() else [f"{name}.txt"]
        raise UserError(
            f"product {name} lacks {', '.join(missing)}, which MintPy needs "
            "(keep hyp3.include_dem on)"
        )
    return Product(name=name, folder=folder, layers=layers)


def footprint(path: Path) -> Footprint:
    with rasterio.open(path) as raster:
        transform = raster.transform
        if transform.b or transform.d:
            raise UserError(f"{path.name} is rotated; only north-up grids can be stacked")
        crs = raster.crs.to_string() if raster.crs else "none"
        west, north = transform.c, transform.f
        return Footprint(
            crs=crs,
            pixel_x=transform.a,
            pixel_y=transform.e,
            west=west,
            north=north,
            east=west + raster.width * transform.a,
            south=north + raster.height * transform.e,
        )


def common_overlap(products: list[Product]) -> Footprint:
    """The intersection of every product's layers; UserError naming the products if there is none."""
    if not products:
        raise UserError("the time-series stage needs at least one HyP3 product; none was given")
    prints = {
        (product.name, layer): footprint(path)
        for product in products
        for layer, path in product.layers.items()
    }
    by_crs: dict[str, list[str]] = {}
    for (name, _), print_ in prints.items():
        by_crs.setdefault(print_.crs, [])
        if name not in by_crs[print_.crs]:
            by_crs[print_.crs].append(name)
    if len(by_crs) > 1:
        groups = "; ".join(f"{crs}: {', '.join(names)}" for crs, names in sorted(by_crs.items()))
        raise UserError(
            f"products are on different map projections (UTM zones) and cannot form one stack: "
            f"{groups}; keep one track and zone per run"
        )
    first_key, first = next(iter(prints.items()))
    for (name, layer), print_ in prints.items():
        if not (
            math.isclose(print_.pixel_x, first.pixel_x)
            and math.isclose(print_.pixel_y, first.pixel_y)
        ):
            raise UserError(
                f"{name}_{layer}.tif has {print_.pixel_x:g} m pixels but {first_key[0]} has "
                f"{first.pixel_x:g} m; every product of a stack needs the same hyp3.looks"
            )
        for offset, pixel in (
            (print_.west - first.west, first.pixel_x),
            (print_.north - first.north, first.pixel_y),
        ):
            shift = offset / pixel
            if abs(shift - round(shift)) > _ALIGNMENT_TOLERANCE:
                raise UserError(
                    f"{name}_{layer}.tif is offset by {shift - math.floor(shift):.3f} pixel from "
                    f"{first_key[0]}'s grid; products must share grid lines to be stacked"
                )
    west = max(p.west for p in prints.values())
    east = min(p.east for p in prints.values())
    north = min(p.north for p in prints.values())
    south = max(p.south for p in prints.values())
    if west >= east or south >= north:
        raise UserError(
            f"products have no common overlap: {_disjoint_pair(products, prints)}; "
            "drop the pairs that do not cover the same ground"
        )
    return Footprint(first.crs, first.pixel_x, first.pixel_y, west, north, east, south)


def _disjoint_pair(products: list[Product], prints: dict[tuple[str, str], Footprint]) -> str:
    # Name two products that do not overlap, else all of them (no area common to every one).
    boxes = {p.name: prints[(p.name, "unw_phase")] for p in products}
    names = list(boxes)
    for index, a in enumerate(names):
        for b in names[index + 1 :]:
            one, two = boxes[a], boxes[b]
            if min(one.east, two.east) <= max(one.west, two.west) or min(
                one.north, two.north
            ) <= max(one.south, two.south):
                return f"{a} and {b} do not overlap"
    return "no area is covered by all of " + ", ".join(names)


def clip_products(product_dirs: list[str | Path], out_dir: str | Path) -> list[Path]:
    """Clip every product's layers to the common overlap under ``out_dir/<product name>/``."""
    out_dir = Path(out_dir).resolve()
    for part in out_dir.parts:
        if any(word in part for word in INTERFEROGRAM_WORDS):
            raise UserError(
                f"the directory {out_dir} contains '{part}', and MintPy's prep_hyp3 would take "
                "geometry files under it for interferograms; run the workflow in a directory "
                "whose path has no 'corr' or 'unw_phase'"
            )
    products = [find_product(path) for path in product_dirs]
    names = [product.name for product in products]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise UserError(f"product {duplicates[0]} appears in more than one pair directory")
    overlap = common_overlap(products)
    log.info(
        "common overlap of %d products: W %.1f N %.1f E %.1f S %.1f (%s)",
        len(products),
        overlap.west,
        overlap.north,
        overlap.east,
        overlap.south,
        overlap.crs,
    )
    shutil.rmtree(out_dir, ignore_errors=True)
    written = []
    for product in products:
        target = out_dir / product.name
        target.mkdir(parents=True)
        shutil.copy2(product.metadata, target / product.metadata.name)
        for path in product.layers.values():
            destination = target / path.name
            _clip_one(path, destination, overlap)
            written.append(destination)
        log.info("clipped %s (%s)", product.name, ", ".join(product.layers))
    return written


def _clip_one(source: Path, destination: Path, overlap: Footprint) -> None:
    with rasterio.open(source) as raster:
        transform = raster.transform
        col = round((overlap.west - transform.c) / transform.a)
        row = round((overlap.north - transform.f) / transform.e)
        width = round((overlap.east - overlap.west) / transform.a)
        height = round((overlap.south - overlap.north) / transform.e)
        window = Window(col, row, width, height)
        data = raster.read(window=window)
        profile = raster.profile
        profile.update(
            driver="GTiff",
            width=width,
            height=height,
            transform=raster.window_transform(window),
            compress="deflate",
            tiled=False,
        )
        profile.pop("blockxsize", None)
        profile.pop("blockysize", None)
        with rasterio.open(destination, "w", **profile) as out:
            out.write(data)
            out.update_tags(**raster.tags())
            for band in range(1, raster.count + 1):
                if raster.descriptions[band - 1]:
                    out.set_band_description(band, raster.descriptions[band - 1])
