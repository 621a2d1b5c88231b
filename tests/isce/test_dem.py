"""The stitched DEM written as an ISCE DEM: the .xml must describe the raster's grid exactly."""

from __future__ import annotations

import socket
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import Affine

from insarflow.isce.dem import dem_bounds, stitch_isce_dem, write_isce_dem
from insarflow.isce.safe import footprint
from tests.isce_standin.fixtures import StackProject


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Refuse every non-loopback connection or name lookup made in this process."""
    attempts: list[str] = []

    def refuse(what: str) -> OSError:
        attempts.append(what)
        return ConnectionRefusedError(f"network blocked in tests: {what}")

    real_connect = socket.socket.connect

    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in (
            "127.0.0.1",
            "::1",
        ):
            raise refuse(f"connect {address}")
        return real_connect(self, address)

    def getaddrinfo(host, *args, **kwargs):
        raise refuse(f"resolve {host}")

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setenv("GDAL_HTTP_PROXY", "127.0.0.1:9")
    return attempts


def read_isce_xml(path: Path) -> dict[str, str]:
    """Flatten an ISCE image .xml to {'WIDTH': ..., 'Coordinate1.startingValue': ...}."""
    root = ET.parse(path).getroot()
    values = {prop.get("name"): prop.findtext("value") for prop in root.findall("property")}
    for component in root.findall("component"):
        for prop in component.findall("property"):
            values[f"{component.get('name')}.{prop.get('name')}"] = prop.findtext("value")
    return values


def assert_xml_describes(xml: dict[str, str], transform: Affine, width: int, length: int) -> None:
    # ISCE's startingValue is the first sample's centre; the raster transform is corner-based
    assert float(xml["Coordinate1.startingValue"]) == transform.c + transform.a / 2
    assert float(xml["Coordinate2.startingValue"]) == transform.f + transform.e / 2
    assert float(xml["Coordinate1.delta"]) == transform.a
    assert float(xml["Coordinate2.delta"]) == transform.e
    assert int(xml["Coordinate1.size"]) == int(xml["WIDTH"]) == width
    assert int(xml["Coordinate2.size"]) == int(xml["LENGTH"]) == length


def test_xml_and_vrt_keep_full_precision_and_the_pixel_centre(tmp_path: Path):
    # Values GDAL's ISCE driver would round to 6 digits (20.000138889 -> 20.0001).
    transform = Affine(1 / 3600, 0.0, -100.00013888888889, 0.0, -1 / 3600, 20.000138888888888)
    data = np.array([[1.5, np.nan, 3.0], [4.0, 5.0, 6.25]], dtype="float32")
    dem = tmp_path / "dem.wgs84"
    write_isce_dem(data, transform, dem)

    xml = read_isce_xml(Path(f"{dem}.xml"))
    assert_xml_describes(xml, transform, width=3, length=2)
    assert xml["Coordinate1.startingValue"] == repr(-100.0)  # the sample sits on the whole degree
    assert xml["Coordinate2.startingValue"] == repr(20.0)
    assert xml["REFERENCE"] == "WGS84"  # else ISCE assumes EGM96 heights
    assert xml["DATA_TYPE"] == "FLOAT" and xml["SCHEME"] == "BIP" and xml["BYTE_ORDER"] == "l"
    assert xml["FILE_NAME"] == str(dem.absolute())

    with rasterio.open(f"{dem}.vrt") as vrt:
        assert vrt.transform == transform  # GDAL's corner convention, exactly
        assert vrt.crs.to_epsg() == 4326
        np.testing.assert_array_equal(vrt.read(1), np.nan_to_num(data, nan=0.0))
    assert np.fromfile(dem, dtype="<f4").tolist() == [1.5, 0.0, 3.0, 4.0, 5.0, 6.25]


def test_stitched_glo30_dem_is_described_exactly_by_its_xml(
    project: StackProject, tmp_path: Path, no_network: list[str]
):
    from dem_stitcher import stitch_dem

    safes = [str(path) for path in sorted(project.slc_dir.iterdir())]
    dem = tmp_path / "dem" / "dem.wgs84"
    bounds = stitch_isce_dem(
        safes, dem, None, 0.1, str(project.dem_tile_dir), str(project.geoid_path)
    )

    # the same call as the workflow makes, to compare with the raster dem_stitcher returns
    array, profile = stitch_dem(
        bounds,
        "glo_30",
        dst_ellipsoidal_height=True,
        dst_area_or_point="Point",
        dst_tile_dir=str(project.dem_tile_dir),
        geoid_path=str(project.geoid_path),
    )
    transform = profile["transform"]
    xml = read_isce_xml(Path(f"{dem}.xml"))
    assert_xml_describes(xml, transform, width=array.shape[1], length=array.shape[0])
    with rasterio.open(f"{dem}.vrt") as vrt:
        assert vrt.transform == transform
        np.testing.assert_array_equal(vrt.read(1), np.nan_to_num(array, nan=0.0))

    # the first sample is on the tiles' sample grid (pixel-is-point), not half a pixel off
    samples_per_degree = round(1 / transform.a)
    first_lon = float(xml["Coordinate1.startingValue"]) * samples_per_degree
    assert first_lon == pytest.approx(round(first_lon), abs=1e-6)

    lons = [lon for safe in safes for lon, _ in footprint(Path(safe))]
    lats = [lat for safe in safes for _, lat in footprint(Path(safe))]
    west, south, east, north = bounds
    assert west <= min(lons) - 0.1 + 1e-9 and east >= max(lons) + 0.1 - 1e-9
    assert south <= min(lats) - 0.1 + 1e-9 and north >= max(lats) + 0.1 - 1e-9
    assert no_network == []


def test_bbox_area_is_grown_for_whole_bursts_but_clipped_to_the_footprints(project: StackProject):
    safes = [str(path) for path in sorted(project.slc_dir.iterdir())]
    west, south, _, north = dem_bounds(safes, None, 0.0)
    # a bbox at the frame's west edge: 1 degree more to the east, clipped elsewhere
    bbox = [19.5, 19.6, west + 0.1, west + 0.2]
    assert dem_bounds(safes, bbox, 0.0) == pytest.approx([west, south, west + 1.2, north])
    assert dem_bounds(safes, bbox, 0.25) == pytest.approx(
        [west - 0.25, south - 0.25, west + 1.45, north + 0.25]
    )
