"""Sentinel-1 SLC products on disk (``*.zip`` or ``*.SAFE``): names, footprints, IPF version."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from insarflow.errors import UserError
from insarflow.pairs import SLC_PATTERN

# A scene name (insarflow.pairs) as a .zip or .SAFE; stackSentinel.py reads the platform, start
# and stop time from it.
SAFE_NAME = re.compile(SLC_PATTERN.pattern.removesuffix("$") + r"\.(?:zip|SAFE)$")
_GML_COORDINATES = re.compile(r"<gml:coordinates>([^<]+)</gml:coordinates>")
_KML_COORDINATES = re.compile(r"<coordinates>([^<]+)</coordinates>")
_IPF_VERSION = re.compile(r'<safe:software[^>]*name="Sentinel-1 IPF"[^>]*version="([^"]+)"')


@dataclass(frozen=True)
class SafeProduct:
    """One SLC product file or directory, with the times stackSentinel takes from its name."""

    path: Path
    mission: str
    start: datetime
    stop: datetime

    @property
    def date(self) -> str:
        return self.start.strftime("%Y%m%d")

    @property
    def product_name(self) -> str:
        return self.path.name.rsplit(".", 1)[0]


def parse_safe_path(path: Path) -> SafeProduct | None:
    """The product behind ``path``, or None when the name is not an IW SLC product."""
    match = SAFE_NAME.match(path.name)
    if not match:
        return None
    return SafeProduct(
        path=path,
        mission=match["mission"],
        start=datetime.strptime(match["start"], "%Y%m%dT%H%M%S"),
        stop=datetime.strptime(match["stop"], "%Y%m%dT%H%M%S"),
    )


def find_safe_products(slc_dir: str | Path) -> list[SafeProduct]:
    """IW SLC products in ``slc_dir``, zips preferred over an unpacked .SAFE of the same product."""
    directory = Path(slc_dir)
    if not directory.is_dir():
        return []
    by_name: dict[str, SafeProduct] = {}
    for entry in sorted(directory.iterdir()):
        product = parse_safe_path(entry.absolute())
        if product is None:
            continue
        known = by_name.get(product.product_name)
        if known is None or entry.suffix == ".zip":
            by_name[product.product_name] = product
    return sorted(by_name.values(), key=lambda item: (item.start, item.path.name))


def products_by_date(products: Iterable[SafeProduct]) -> dict[str, list[SafeProduct]]:
    grouped: dict[str, list[SafeProduct]] = {}
    for product in products:
        grouped.setdefault(product.date, []).append(product)
    return grouped


def _read_member(path: Path, member: str) -> str | None:
    """Text of ``<product>.SAFE/<member>`` inside a zip or an unpacked .SAFE directory."""
    safe_name = path.name.rsplit(".", 1)[0] + ".SAFE"
    if path.suffix == ".zip":
        try:
            with zipfile.ZipFile(path) as archive:
                return archive.read(f"{safe_name}/{member}").decode("utf-8", errors="replace")
        except (KeyError, zipfile.BadZipFile, OSError):
            return None
    file = path / member
    return file.read_text(errors="replace") if file.is_file() else None


def footprint(path: Path) -> list[tuple[float, float]]:
    """Corner points (lon, lat) of a product, from manifest.safe or else the preview kml."""
    manifest = _read_member(path, "manifest.safe")
    if manifest and (match := _GML_COORDINATES.search(manifest)):
        # gml:coordinates are "lat,lon lat,lon ..."
        points = [item.split(",") for item in match[1].split()]
        return [(float(lon), float(lat)) for lat, lon in points]
    kml = _read_member(path, "preview/map-overlay.kml")
    if kml and (match := _KML_COORDINATES.search(kml)):
        # kml coordinates are "lon,lat[,alt] ..."
        points = [item.split(",") for item in match[1].split()]
        return [(float(point[0]), float(point[1])) for point in points]
    raise UserError(
        f"SLC product '{path}' has no footprint (no gml:coordinates in manifest.safe and no "
        "preview/map-overlay.kml); set isce.bbox or isce.dem_path"
    )


def ipf_version(path: Path) -> str | None:
    """The IPF (processor) version that made the product, from its manifest.safe."""
    manifest = _read_member(path, "manifest.safe")
    if not manifest:
        return None
    match = _IPF_VERSION.search(manifest)
    return match[1] if match else None
