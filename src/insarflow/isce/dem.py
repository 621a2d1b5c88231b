"""A GLO-30 DEM for topsStack, stitched with dem_stitcher and written as an ISCE DEM.

Output: ``dem.wgs84`` (raw little-endian float32, WGS84 ellipsoidal heights, nodata filled with
0), ``dem.wgs84.xml`` (what ISCE reads) and ``dem.wgs84.vrt`` (for GDAL). ISCE is not needed.

Grid conventions, the traps this module avoids:

* ISCE's ``startingValue`` is the coordinate of the first *sample* (pixel centre). The stitched
  GLO-30 grid is pixel-is-point, and rasterio's transform ``T`` gives the pixel *corner*, so the
  first sample is at ``T.c + T.a / 2``, ``T.f + T.e / 2``.
* GDAL's ISCE driver would write ``startingValue`` with ``%g`` (6 significant digits, e.g.
  20.000138889 -> 20.0001) and treats it as the corner. The ``.xml`` is therefore written here,
  with every float in full precision (``repr``).
* The ``.vrt`` carries GDAL's corner-based geotransform (``T`` itself), so GDAL tools read the
  same grid ISCE reads from the ``.xml``. (ISCE's own ``renderVRT`` puts the centre where GDAL
  expects the corner, half a pixel off.)

DEM area: the union of the SLC footprints, or, with ``isce.bbox``, the bbox grown by
``BURST_REACH_DEG`` (bursts that touch the bbox are processed whole, and a burst reaches about a
swath width beyond it) and clipped to the footprints; then ``isce.dem_margin`` on every side.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from insarflow.errors import ServiceError, UserError
from insarflow.isce.safe import footprint
from insarflow.paths import DEM_KEY_LENGTH

log = logging.getLogger(__name__)

BURST_REACH_DEG = 1.0
DEM_NAME = "glo_30"
# GDAL reads the remote tiles and geoid; make its HTTP calls time out and retry.
GDAL_HTTP_SETTINGS = {
    "GDAL_HTTP_TIMEOUT": "60",
    "GDAL_HTTP_CONNECTTIMEOUT": "20",
    "GDAL_HTTP_MAX_RETRY": "4",
    "GDAL_HTTP_RETRY_DELAY": "5",
}


def dem_key(safes: Iterable[str], settings: dict[str, Any]) -> str:
    """Short hash of what decides the DEM's content (not where tiles are cached)."""
    identity = {
        "dem": DEM_NAME,
        "safes": sorted(os.path.basename(safe) for safe in safes),
        "bbox": None if settings.get("full_frame") else settings.get("bbox"),
        "margin": settings.get("dem_margin"),
        "geoid": os.path.abspath(settings["geoid_path"]) if settings.get("geoid_path") else None,
    }
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()
    return digest[:DEM_KEY_LENGTH]


def dem_bounds(
    safes: Sequence[str | Path],
    bbox: Sequence[float] | None,
    margin: float,
) -> list[float]:
    """DEM bounds [W, S, E, N] (dem_stitcher order) for the SLCs and the optional bbox [S, N, W, E]."""
    points: list[tuple[float, float]] = []
    for safe in safes:
        try:
            points += footprint(Path(safe))
        except UserError:
            if not bbox:
                raise
    if bbox:
        south, north, west, east = bbox
        west, south = west - BURST_REACH_DEG, south - BURST_REACH_DEG
        east, north = east + BURST_REACH_DEG, north + BURST_REACH_DEG
        if points:
            lons, lats = [p[0] for p in points], [p[1] for p in points]
            clipped = [
                max(west, min(lons)),
                max(south, min(lats)),
                min(east, max(lons)),
                min(north, max(lats)),
            ]
            if clipped[0] < clipped[2] and clipped[1] < clipped[3]:
                west, south, east, north = clipped
    else:
        lons, lats = [p[0] for p in points], [p[1] for p in points]
        west, south, east, north = min(lons), min(lats), max(lons), max(lats)
    return [
        max(west - margin, -180.0),
        max(south - margin, -90.0),
        min(east + margin, 180.0),
        min(north + margin, 90.0),
    ]


def _property(parent: ET.Element, name: str, value: object) -> None:
    element = ET.SubElement(parent, "property", name=name)
    ET.SubElement(element, "value").text = value if isinstance(value, str) else repr(value)


def _coordinate(
    parent: ET.Element, name: str, doc: str, start: float, delta: float, size: int
) -> None:
    component = ET.SubElement(parent, "component", name=name)
    ET.SubElement(component, "factorymodule").text = "isceobj.Image"
    ET.SubElement(component, "factoryname").text = "createCoordinate"
    ET.SubElement(component, "doc").text = doc
    _property(component, "startingValue", start)
    _property(component, "delta", delta)
    _property(component, "size", size)
    _property(component, "endingValue", start + delta * size)


def isce_dem_xml(path: str | Path, width: int, length: int, transform: Any) -> str:
    """The ISCE ``.xml`` of a float32 DEM on ``transform`` (rasterio Affine, corner-based)."""
    path = os.path.abspath(path)
    first_lon = transform.c + transform.a / 2
    first_lat = transform.f + transform.e / 2
    root = ET.Element("imageFile")
    for name, value in (
        ("ACCESS_MODE", "read"),
        ("BYTE_ORDER", "l"),
        ("DATA_TYPE", "FLOAT"),
        ("EXTRA_FILE_NAME", f"{path}.vrt"),
        ("FILE_NAME", path),
        ("IMAGE_TYPE", "dem"),
        ("LENGTH", length),
        ("NUMBER_BANDS", 1),
        ("REFERENCE", "WGS84"),
        ("SCHEME", "BIP"),
        ("WIDTH", width),
    ):
        _property(root, name, value)
    _coordinate(
        root,
        "Coordinate1",
        "First coordinate of a 2D image (width).",
        first_lon,
        transform.a,
        width,
    )
    _coordinate(
        root,
        "Coordinate2",
        "Second coordinate of a 2D image (length).",
        first_lat,
        transform.e,
        length,
    )
    ET.indent(root)
    return ET.tostring(root, encoding="unicode") + "\n"


def gdal_vrt(path: str | Path, width: int, length: int, transform: Any) -> str:
    """A VRT reading the raw float32 file with GDAL's corner-based geotransform."""
    root = ET.Element("VRTDataset", rasterXSize=str(width), rasterYSize=str(length))
    ET.SubElement(root, "SRS").text = "EPSG:4326"
    geotransform = (transform.c, transform.a, transform.b, transform.f, transform.d, transform.e)
    ET.SubElement(root, "GeoTransform").text = ", ".join(
        repr(float(value)) for value in geotransform
    )
    band = ET.SubElement(
        root, "VRTRasterBand", dataType="Float32", band="1", subClass="VRTRawRasterBand"
    )
    ET.SubElement(band, "SourceFilename", relativeToVRT="1").text = os.path.basename(path)
    ET.SubElement(band, "ByteOrder").text = "LSB"
    ET.SubElement(band, "ImageOffset").text = "0"
    ET.SubElement(band, "PixelOffset").text = "4"
    ET.SubElement(band, "LineOffset").text = str(4 * width)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode") + "\n"


def write_isce_dem(array: Any, transform: Any, path: str | Path) -> None:
    """Write ``path`` (raw), ``path.xml`` and ``path.vrt``; NaN (nodata) becomes 0 m."""
    import numpy as np

    data = np.nan_to_num(np.asarray(array, dtype="<f4"), nan=0.0)
    length, width = data.shape
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data.tofile(path)
    Path(f"{path}.xml").write_text(isce_dem_xml(path, width, length, transform))
    Path(f"{path}.vrt").write_text(gdal_vrt(path, width, length, transform))


def stitch_isce_dem(
    safes: Sequence[str],
    dem_file: str | Path,
    bbox: Sequence[float] | None,
    margin: float,
    tile_dir: str | None = None,
    geoid_path: str | None = None,
) -> list[float]:
    """Stitch GLO-30 (ellipsoidal heights, pixel-is-point) for the stack and write the ISCE DEM."""
    import numpy as np
    from dem_stitcher import stitch_dem

    for key, value in GDAL_HTTP_SETTINGS.items():
        os.environ.setdefault(key, value)
    bounds = dem_bounds(safes, bbox, margin)
    log.info("DEM bounds [W, S, E, N]: %s", bounds)
    try:
        array, profile = stitch_dem(
            bounds,
            DEM_NAME,
            dst_ellipsoidal_height=True,
            dst_area_or_point="Point",
            n_threads_downloading=5,
            dst_tile_dir=tile_dir,
            # dem_stitcher's geoid check rejects pathlib.Path: it must be a str.
            geoid_path=str(geoid_path) if geoid_path else None,
        )
    except OSError as error:  # rasterio's and requests' I/O errors: tiles out of reach
        raise ServiceError(
            f"GLO-30 tiles for {bounds} could not be read ({type(error).__name__}: {error}); "
            "check the network, or set isce.dem_tile_dir or isce.dem_path"
        ) from None
    if not np.isfinite(array).any():
        raise UserError(f"GLO-30 has no heights within {bounds}")
    transform = profile["transform"]
    log.info("DEM grid %d x %d, transform %s", array.shape[1], array.shape[0], tuple(transform)[:6])
    write_isce_dem(array, transform, dem_file)
    return bounds
