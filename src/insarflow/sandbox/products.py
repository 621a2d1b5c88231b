"""Product names, layouts and zips, following the conventions of HyP3's processors.

INSAR_GAMMA (hyp3-gamma), INSAR_ISCE_BURST (hyp3-isce2 3.0.x), INSAR_ISCE_MULTI_BURST (hyp3-isce2
4.x) and RTC_GAMMA products are zips holding one folder named like the zip, with small GeoTIFFs of
the layers the job options select, browse PNGs, the ``Key: value`` parameter file and a README.

A job's ``files[].size`` is reported before anybody downloads it (listing 10,000 jobs must not render
10,000 products), so the size is fixed when the job is planned: members are stored uncompressed,
GeoTIFF and PNG sizes (PNGs are written with zlib level 0, so their size depends on the shape only)
are measured once per raster shape, and the parameter file's length is known at planning time (its
reference point is chosen from the long-term coherence; the phase there is a wrapped phase, as
GAMMA's mcf keeps it, written with a fixed width).
The zip is a plain one, as HyP3 serves it: no comment, so its end-of-central-directory record is
the last 22 bytes, and the announced size is its real size. The bytes are deterministic per job.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import math
import os
import threading
import warnings
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from PIL import Image
from rasterio.errors import NotGeoreferencedWarning
from rasterio.io import MemoryFile

from insarflow.sandbox.granules import Burst, Scene, parse_burst, parse_scene
from insarflow.sandbox.scene import (
    Grid,
    Window,
    backscatter,
    coverage_window,
    earth_radius_at_nadir,
    frame_grid,
    interferogram,
    perpendicular_baseline,
    reference_pixel,
    stable_seed,
    track_heading,
)

_ZIP_ENTRY_OVERHEAD = 30 + 46  # local file header + central directory record, no extras
_ZIP_END_RECORD = 22
_PRECISE_ORBIT_DELAY = timedelta(days=20)
_GDAL_ENV = {"GDAL_PAM_ENABLED": "NO"}  # no .aux.xml side files for in-memory PNGs

GAMMA_PIXEL_SPACING = {"20x4": 80, "10x2": 40}
ISCE_PIXEL_SPACING = {"20x4": 80, "10x2": 40, "5x1": 20}


@dataclass(frozen=True)
class Raster:
    """One GeoTIFF of a product: ``<name>_<layer>.tif``."""

    layer: str
    dtype: str = "float32"
    count: int = 1
    georeferenced: bool = True
    nodata: float | None = 0.0


# Mask layers are bytes without a nodata value; every other layer is float32 with nodata 0.
MASK_LAYERS = frozenset({"water_mask", "ls_map"})


def layer_rasters(layers: list[str]) -> tuple[Raster, ...]:
    return tuple(
        Raster(layer, dtype="uint8", nodata=None) if layer in MASK_LAYERS else Raster(layer)
        for layer in layers
    )


@dataclass(frozen=True)
class ProductPlan:
    """Everything needed to name, size and later render one job's product."""

    job_type: str
    name: str
    frame: Grid  # the track/frame's full grid
    window: Window  # the part of the frame this product covers
    rasters: tuple[Raster, ...]
    browse: tuple[str, ...]  # PNG suffixes ("_unw_phase", ...; "" for RTC's <name>.png)
    reference: tuple[Scene | Burst, ...]
    secondary: tuple[Scene | Burst, ...]
    job_parameters: dict[str, Any] = field(hash=False, compare=False)
    processing_time: datetime = field(compare=False)
    facts: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def grid(self) -> Grid:
        return self.frame.window(self.window)

    @property
    def zip_name(self) -> str:
        return f"{self.name}.zip"

    def arcname(self, suffix: str, extension: str) -> str:
        return f"{self.name}/{self.name}{suffix}.{extension}"

    def browse_files(self) -> list[str]:
        return [f"{self.name}{suffix}.png" for suffix in self.browse]

    def thumbnail_files(self) -> list[str]:
        return [f"{self.name}{suffix}_thumb.png" for suffix in self.browse]

    def member_sizes(self) -> dict[str, int]:
        """The exact size of every zip member, in archive order."""
        width, height = self.window.width, self.window.height
        sizes = {f"{self.name}/": 0}
        for raster in self.rasters:
            epsg = self.frame.epsg if raster.georeferenced else None
            sizes[self.arcname(f"_{raster.layer}", "tif")] = measured_tiff_size(
                raster, epsg, width, height
            )
        for suffix in self.browse:
            sizes[self.arcname(suffix, "png")] = measured_png_size(width, height)
        sizes[self.arcname("", "txt")] = len(parameter_text(self).encode())
        sizes[self.arcname("", "README.md.txt")] = len(readme_text(self).encode())
        return sizes

    def zip_size(self) -> int:
        """The exact size of the plain product zip."""
        return _ZIP_END_RECORD + sum(
            _ZIP_ENTRY_OVERHEAD + 2 * len(arcname.encode()) + size
            for arcname, size in self.member_sizes().items()
        )


def product_id(job_id: str) -> str:
    """The 4-hex-digit product id; random in HyP3, derived from the job id here."""
    return hashlib.sha256(job_id.encode()).hexdigest()[:4].upper()


def _orbit_letter(acquisitions: Iterable[datetime], processed: datetime) -> str:
    # Precise orbits arrive ~20 days after acquisition; before that GAMMA uses restituted ones.
    return (
        "P" if all(processed - moment >= _PRECISE_ORBIT_DELAY for moment in acquisitions) else "R"
    )


def _days_between(first: datetime, second: datetime) -> int:
    return round(abs((second - first).total_seconds()) / 86400.0)


def plan_product(
    job_id: str, job_type: str, job_parameters: dict[str, Any], processing_time: datetime
) -> ProductPlan:
    """Name and lay out a job's product; raises GranuleNameError for names that do not parse."""
    planner = {
        "INSAR_GAMMA": _plan_gamma,
        "INSAR_ISCE_BURST": _plan_isce_burst,
        "INSAR_ISCE_MULTI_BURST": _plan_isce_multi_burst,
        "RTC_GAMMA": _plan_rtc,
    }[job_type]
    plan = planner(job_id, job_parameters, processing_time)
    if plan.job_type == "RTC_GAMMA":
        return plan
    return dataclasses.replace(plan, facts=_interferogram_facts(plan))


def parameter_text(plan: ProductPlan, reference_phase: float = 0.0) -> str:
    """The product's ``<name>.txt``. Its length does not depend on ``reference_phase`` (a wrapped
    phase, written with a fixed width), so the zip size is known before the phase is computed."""
    if plan.job_type == "RTC_GAMMA":
        return rtc_parameter_text(plan)
    if plan.job_type == "INSAR_GAMMA":
        return gamma_parameter_text(plan, {**plan.facts, "reference_phase": reference_phase})
    return isce_parameter_text(plan, plan.facts)


def _fixed_width_phase(value: float) -> str:
    """A phase in [-pi, pi] as 8 characters: 3.141593, -3.14159."""
    if not -math.pi - 1e-6 <= value <= math.pi + 1e-6:
        raise ValueError(f"reference phase {value} is not wrapped")
    return f"{value:.6f}" if value >= 0 else f"{value:.5f}"


def _acquisition_window(frame: Grid, moment: datetime) -> Window:
    return coverage_window(frame, f"acquisition:{moment:%Y%m%d}")


def _burst_set_window(frame: Grid, bursts: Iterable[Burst]) -> Window:
    # One burst set always covers the same ground, whatever the dates of the pair.
    return coverage_window(frame, "bursts:" + ",".join(sorted({b.id_swath for b in bursts})))


def _plan_gamma(job_id: str, params: dict[str, Any], processed: datetime) -> ProductPlan:
    first, second = sorted(
        (parse_scene(name) for name in params["granules"]), key=lambda s: s.start
    )
    pixel = GAMMA_PIXEL_SPACING[params["looks"]]
    mask = "w" if params["apply_water_mask"] else "u"
    orbit = _orbit_letter((first.start, second.start), processed)
    days = _days_between(first.start, second.start)
    name = (
        f"S1{first.mission}{second.mission}_{first.start:%Y%m%dT%H%M%S}_{second.start:%Y%m%dT%H%M%S}"
        f"_{first.copol}{second.copol}{orbit}{days:03d}_INT{pixel}_G_{mask}eF_{product_id(job_id)}"
    )
    layers = ["amp", "corr", "unw_phase", "water_mask"]
    if params["include_wrapped_phase"]:
        layers.append("wrapped_phase")
    if params["include_dem"]:
        layers.append("dem")
    if params["include_displacement_maps"] or params["include_los_displacement"]:
        layers += ["los_disp", "vert_disp"]
    if params["include_inc_map"]:
        layers += ["inc_map", "inc_map_ell"]
    if params["include_look_vectors"]:
        layers += ["lv_theta", "lv_phi"]
    rasters = layer_rasters(layers)
    frame = frame_grid(f"slc:{first.relative_orbit}", pixel)
    # The product covers what both acquisitions cover (their frames start at different times).
    window = _acquisition_window(frame, first.start).intersection(
        _acquisition_window(frame, second.start)
    )
    return ProductPlan(
        job_type="INSAR_GAMMA",
        name=name,
        frame=frame,
        window=window,
        rasters=rasters,
        browse=("_color_phase", "_unw_phase"),
        reference=(first,),
        secondary=(second,),
        job_parameters=params,
        processing_time=processed,
    )


_ISCE_GEOCODED = ("unw_phase", "corr", "dem", "conncomp", "wrapped_phase", "lv_theta", "lv_phi")


def _plan_isce_burst(job_id: str, params: dict[str, Any], processed: datetime) -> ProductPlan:
    first, second = sorted(
        (parse_burst(name) for name in params["granules"]), key=lambda b: b.start
    )
    pixel = ISCE_PIXEL_SPACING[params["looks"]]
    name = (
        f"S1_{first.burst_id:06d}_IW{first.swath}_{first.start:%Y%m%d}_{second.start:%Y%m%d}"
        f"_{first.pol}_INT{pixel}_{product_id(job_id)}"
    )
    layers = list(_ISCE_GEOCODED)
    if params["apply_water_mask"]:
        layers.append("water_mask")
    rasters = list(layer_rasters(layers))
    rasters += [
        Raster("wrapped_phase_rdr", dtype="complex64", georeferenced=False),
        Raster("lat_rdr", georeferenced=False),
        Raster("lon_rdr", georeferenced=False),
        Raster("los_rdr", count=2, georeferenced=False),
    ]
    frame = frame_grid(f"burst:{first.id_swath}", pixel)
    return ProductPlan(
        job_type="INSAR_ISCE_BURST",
        name=name,
        frame=frame,
        window=_burst_set_window(frame, (first,)),
        rasters=tuple(rasters),
        browse=("_unw_phase",),
        reference=(first,),
        secondary=(second,),
        job_parameters=params,
        processing_time=processed,
    )


def _subswath_string(bursts: list[Burst], swath: int) -> str:
    in_swath = [burst for burst in bursts if burst.swath == swath]
    first = min((burst.burst_id for burst in in_swath), default=0)
    return f"{first:06d}s{swath}n{len(in_swath):02d}"


def _plan_isce_multi_burst(job_id: str, params: dict[str, Any], processed: datetime) -> ProductPlan:
    reference = [parse_burst(name) for name in params["reference"]]
    secondary = [parse_burst(name) for name in params["secondary"]]
    pixel = ISCE_PIXEL_SPACING[params["looks"]]
    first = min(reference, key=lambda burst: (burst.burst_id, burst.swath))
    swaths = "-".join(_subswath_string(reference, swath) for swath in (1, 2, 3))
    reference_date = min(burst.start for burst in reference)
    secondary_date = max(burst.start for burst in secondary)
    name = (
        f"S1_{first.relative_orbit:03d}_{swaths}_IW_{reference_date:%Y%m%d}_{secondary_date:%Y%m%d}"
        f"_{first.pol}_INT{pixel}_{product_id(job_id)}"
    )
    layers = ["amp", *_ISCE_GEOCODED]
    if params["apply_water_mask"]:
        layers.append("water_mask")
    rasters = layer_rasters(layers)
    frame = frame_grid(f"burst:{first.id_swath}", pixel)
    return ProductPlan(
        job_type="INSAR_ISCE_MULTI_BURST",
        name=name,
        frame=frame,
        window=_burst_set_window(frame, reference),
        rasters=rasters,
        browse=("_unw_phase",),
        reference=tuple(reference),
        secondary=tuple(secondary),
        job_parameters=params,
        processing_time=processed,
    )


def _plan_rtc(job_id: str, params: dict[str, Any], processed: datetime) -> ProductPlan:
    scene = parse_scene(params["granules"][0])
    resolution = int(params["resolution"])
    orbit = _orbit_letter((scene.start,), processed)
    flags = (
        ("g" if params["radiometry"] == "gamma0" else "s")
        + {"power": "p", "decibel": "d", "amplitude": "a"}[params["scale"]]
        + ("f" if params["speckle_filter"] else "u")
        + ("m" if params["dem_matching"] else "n")
        + "ed"
    )
    pol_mode = "D" if scene.dual_pol else "S"
    name = (
        f"S1{scene.mission}_IW_{scene.start:%Y%m%dT%H%M%S}_{pol_mode}{scene.copol}{orbit}"
        f"_RTC{resolution}_G_{flags}_{product_id(job_id)}"
    )
    copol = f"{scene.copol}{scene.copol}"
    layers = [copol]
    if scene.dual_pol:
        layers.append(f"{scene.copol}{'H' if scene.copol == 'V' else 'V'}")
    layers.append("ls_map")
    if params["include_dem"]:
        layers.append("dem")
    if params["include_inc_map"]:
        layers.append("inc_map")
    if params["include_scattering_area"]:
        layers.append("area")
    rasters = layer_rasters(layers)
    frame = frame_grid(f"slc:{scene.relative_orbit}", resolution)
    return ProductPlan(
        job_type="RTC_GAMMA",
        name=name,
        frame=frame,
        window=_acquisition_window(frame, scene.start),
        rasters=rasters,
        browse=("",),
        reference=(scene,),
        secondary=(),
        job_parameters=params,
        processing_time=processed,
    )


# ---------------------------------------------------------------------------------------------
# Rendering


def _tiff_tags(processed: datetime) -> dict[str, str]:
    return {
        "TIFFTAG_SOFTWARE": "insarflow HyP3 sandbox (synthetic data)",
        "TIFFTAG_DATETIME": processed.strftime("%Y:%m:%d %H:%M:%S"),
    }


def geotiff_bytes(array: np.ndarray, raster: Raster, grid: Grid, processed: datetime) -> bytes:
    """An uncompressed GeoTIFF (uncompressed, so its size depends on the shape only)."""
    data = array if array.ndim == 3 else array[np.newaxis, ...]
    profile: dict[str, Any] = {
        "driver": "GTiff",
        "width": grid.width,
        "height": grid.height,
        "count": raster.count,
        "dtype": raster.dtype,
        "nodata": raster.nodata,
    }
    if raster.georeferenced:
        profile.update(crs=grid.crs, transform=grid.transform)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.Env(**_GDAL_ENV), MemoryFile() as memory:
            with memory.open(**profile) as dataset:
                dataset.write(data.astype(raster.dtype))
                dataset.update_tags(**_tiff_tags(processed))
            return bytes(memory.read())


# Products of different pairs have different shapes, and a job's sizes are measured when it
# is submitted and again when its product is rendered: the cache holds the shapes of many
# thousands of jobs (a few hundred bytes each), so the second measurement is a lookup.
SIZE_CACHE_ENTRIES = 65536


@functools.lru_cache(maxsize=SIZE_CACHE_ENTRIES)
def measured_tiff_size(raster: Raster, epsg: int | None, width: int, height: int) -> int:
    """Size of an uncompressed GeoTIFF of this layout; pixel values and placement do not change it."""
    grid = Grid(
        epsg=epsg or 32601,
        west=500000.0,
        north=5000000.0,
        pixel=80.0,
        width=width,
        height=height,
        center_lon=0.0,
        center_lat=0.0,
        center_x=0.0,
        center_y=0.0,
    )
    # Ones, not zeros: GDAL lays out a raster that is all nodata differently (full last strip).
    ones = np.ones((raster.count, height, width), dtype=raster.dtype)
    return len(geotiff_bytes(ones, raster, grid, datetime(2000, 1, 1, tzinfo=UTC)))


def _palette_png(indices: np.ndarray, colormap: dict[int, tuple[int, int, int, int]]) -> bytes:
    """A palette PNG, zlib level 0 (stored), so its size depends on the shape only; index 0 is
    transparent."""
    image = Image.fromarray(np.ascontiguousarray(indices, dtype=np.uint8), mode="P")
    image.putpalette([channel for index in range(256) for channel in colormap[index][:3]])
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=0, transparency=0)
    return buffer.getvalue()


@functools.lru_cache(maxsize=SIZE_CACHE_ENTRIES)
def measured_png_size(width: int, height: int) -> int:
    """Size of a browse PNG of this shape (stored zlib: pixel values do not change it)."""
    return len(_palette_png(np.zeros((height, width), dtype=np.uint8), _ramp_colormap()))


@functools.lru_cache(maxsize=1)
def _cyclic_colormap() -> dict[int, tuple[int, int, int, int]]:
    colors = {0: (0, 0, 0, 0)}
    for index in range(1, 256):
        angle = 2 * math.pi * (index - 1) / 255
        colors[index] = tuple(  # type: ignore[assignment]
            [int(127.5 + 127.5 * math.cos(angle + shift)) for shift in (0, 2.094, 4.189)] + [255]
        )
    return colors


@functools.lru_cache(maxsize=1)
def _ramp_colormap() -> dict[int, tuple[int, int, int, int]]:
    colors = {0: (0, 0, 0, 0)}
    for index in range(1, 256):
        t = (index - 1) / 254
        colors[index] = (int(255 * t), int(255 * (1 - abs(2 * t - 1))), int(255 * (1 - t)), 255)
    return colors


def _to_indices(values: np.ndarray, valid: np.ndarray, low: float, high: float) -> np.ndarray:
    span = high - low if high > low else 1.0
    scaled = 1 + np.clip((values - low) / span, 0.0, 1.0) * 254
    return np.where(valid, scaled, 0).astype(np.uint8)


def _browse_png(suffix: str, layers: dict[str, np.ndarray], valid: np.ndarray) -> bytes:
    if suffix == "_color_phase":
        wrapped = layers["wrapped_phase"]
        return _palette_png(_to_indices(wrapped, valid, -math.pi, math.pi), _cyclic_colormap())
    if suffix == "_unw_phase":
        unw = layers["unw_phase"]
        mask = valid & (unw != 0)
        low, high = (float(unw[mask].min()), float(unw[mask].max())) if mask.any() else (0.0, 1.0)
        return _palette_png(_to_indices(unw, mask, low, high), _ramp_colormap())
    copol = layers["copol"]
    decibels = 10 * np.log10(np.where(valid, copol, 1.0))
    return _palette_png(_to_indices(decibels, valid, -25.0, 0.0), _ramp_colormap())


def _pass_is_ascending(moment: datetime, grid: Grid) -> bool:
    # Sentinel-1 is dawn-dusk: ascending passes cross at ~18:00 local solar time.
    local_hour = (moment.hour + moment.minute / 60 + grid.center_lon / 15.0) % 24
    return 12.0 <= local_hour < 24.0


def _date_seeded(name: str, low: float, high: float) -> float:
    return low + (stable_seed("value", name) % 1_000_000) / 1_000_000 * (high - low)


@functools.lru_cache(maxsize=8192)
def _reference_coordinates(frame: Grid, window: Window, row: int, col: int) -> dict[str, float]:
    grid = frame.window(window)
    x, y = grid.map_coordinates(row, col)
    lons, lats = grid.lon_lat(np.array([x]), np.array([y]))
    return {
        "reference_x": x,
        "reference_y": y,
        "reference_lon": float(lons[0]),
        "reference_lat": float(lats[0]),
    }


def _interferogram_facts(plan: ProductPlan) -> dict[str, Any]:
    """What the parameter file says about a pair, known before the product is rendered."""
    first_time = min(item.start for item in plan.reference)
    second_time = max(item.start for item in plan.secondary)
    ascending = _pass_is_ascending(first_time, plan.frame)
    row, col = reference_pixel(plan.frame, plan.window)
    facts: dict[str, Any] = {
        "ascending": ascending,
        "heading": track_heading(plan.frame, ascending),
        "reference_time": first_time,
        "secondary_time": second_time,
        "reference_row": row,
        "reference_col": col,
    }
    if plan.job_type == "INSAR_GAMMA":
        facts.update(_reference_coordinates(plan.frame, plan.window, row, col))
    return facts


def _render_interferogram(plan: ProductPlan) -> tuple[dict[str, np.ndarray], float]:
    facts = plan.facts
    ascending = facts["ascending"]
    ifg = interferogram(
        plan.frame,
        plan.window,
        facts["reference_time"],
        facts["secondary_time"],
        apply_water_mask=bool(plan.job_parameters["apply_water_mask"]),
        heading_deg=facts["heading"],
        # GAMMA's mcf keeps the wrapped phase at its reference point; SNAPHU (ISCE2) does not.
        wrapped_at_reference=plan.job_type == "INSAR_GAMMA",
    )
    if ifg.reference_pixel != (facts["reference_row"], facts["reference_col"]):
        raise RuntimeError(f"{plan.name}: the reference point moved between planning and render")
    layers: dict[str, np.ndarray] = {
        name: getattr(ifg, name)
        for name in (
            "unw_phase",
            "wrapped_phase",
            "corr",
            "amp",
            "water_mask",
            "dem",
            "inc_map",
            "inc_map_ell",
            "lv_theta",
            "lv_phi",
            "los_disp",
            "vert_disp",
            "conncomp",
        )
    }
    if any(not raster.georeferenced for raster in plan.rasters):
        grid = plan.grid
        ys, xs = np.meshgrid(
            grid.north - (np.arange(grid.height) + 0.5) * grid.pixel,
            grid.west + (np.arange(grid.width) + 0.5) * grid.pixel,
            indexing="ij",
        )
        lons, lats = grid.lon_lat(xs, ys)
        # Radar geometry: rows run along track, so an ascending pass is flipped north-south.
        flip = np.flipud if ascending else np.fliplr
        layers["lat_rdr"] = flip(lats).astype(np.float32)
        layers["lon_rdr"] = flip(lons).astype(np.float32)
        layers["los_rdr"] = np.stack(
            [flip(np.degrees(ifg.inc_map_ell)), flip(np.degrees(ifg.lv_phi))]
        ).astype(np.float32)
        layers["wrapped_phase_rdr"] = flip(ifg.corr * np.exp(1j * ifg.wrapped_phase)).astype(
            np.complex64
        )
    row, col = ifg.reference_pixel
    return layers, float(ifg.unw_phase[row, col])


def _geometry_values(plan: ProductPlan, facts: dict[str, Any]) -> dict[str, float]:
    frame = plan.name.split("_")[0]
    earth_radius = earth_radius_at_nadir(plan.frame.center_lat)
    near = 799_000.0 + _date_seeded(f"{frame}:{plan.frame.center_x}", 0.0, 30_000.0)
    return {
        "baseline": perpendicular_baseline(
            plan.frame.identity, facts["reference_time"], facts["secondary_time"]
        ),
        "utc_time": round(
            facts["reference_time"].hour * 3600
            + facts["reference_time"].minute * 60
            + facts["reference_time"].second
            + _date_seeded(plan.name[:40], 0.0, 1.0),
            6,
        ),
        "heading": round(facts["heading"], 7),
        "height": round(_date_seeded(f"height:{plan.name[:40]}", 692_000.0, 695_000.0), 4),
        "earth_radius": round(earth_radius, 4),
        "near": round(near, 4),
        "center": round(near + 77_000.0, 4),
        "far": round(near + 154_000.0, 4),
    }


def _pass_direction(ascending: bool) -> str:
    return "ASCENDING" if ascending else "DESCENDING"


def gamma_parameter_text(plan: ProductPlan, facts: dict[str, Any]) -> str:
    """The ``<name>.txt`` of an INSAR_GAMMA product, in hyp3-gamma's key order."""
    first, second = plan.reference[0], plan.secondary[0]
    assert isinstance(first, Scene) and isinstance(second, Scene)
    range_looks, azimuth_looks = (int(n) for n in plan.job_parameters["looks"].split("x"))
    resolution = 20 * azimuth_looks
    phase_filter = plan.job_parameters["phase_filter_parameter"]
    geometry = _geometry_values(plan, facts)
    direction = _pass_direction(facts["ascending"])
    lines = [
        ("Reference Granule", first.name),
        ("Secondary Granule", second.name),
        ("Reference Pass Direction", direction),
        ("Reference Orbit Number", first.absolute_orbit),
        ("Secondary Pass Direction", direction),
        ("Secondary Orbit Number", second.absolute_orbit),
        ("Baseline", geometry["baseline"]),
        ("UTC time", geometry["utc_time"]),
        ("Heading", geometry["heading"]),
        ("Spacecraft height", geometry["height"]),
        ("Earth radius at nadir", geometry["earth_radius"]),
        ("Slant range near", geometry["near"]),
        ("Slant range center", geometry["center"]),
        ("Slant range far", geometry["far"]),
        ("Range looks", range_looks),
        ("Azimuth looks", azimuth_looks),
        ("INSAR phase filter", "adf" if phase_filter > 0.0 else "none"),
        ("Phase filter parameter", phase_filter),
        ("Resolution of output (m)", resolution),
        ("Range bandpass filter", "no"),
        ("Azimuth bandpass filter", "no"),
        ("DEM source", "GLO-30"),
        ("DEM resolution (m)", resolution * 2),
        ("Unwrapping type", "mcf"),
        ("Phase at reference point", _fixed_width_phase(facts["reference_phase"])),
        (
            "Azimuth line of the reference point in SAR space",
            facts["reference_row"] * azimuth_looks,
        ),
        ("Range pixel of the reference point in SAR space", facts["reference_col"] * range_looks),
        ("Y coordinate of the reference point in the map projection", facts["reference_y"]),
        ("X coordinate of the reference point in the map projection", facts["reference_x"]),
        ("Latitude of the reference point (WGS84)", round(facts["reference_lat"], 8)),
        ("Longitude of the reference point (WGS84)", round(facts["reference_lon"], 8)),
        ("Unwrapping threshold", "none"),
        ("Speckle filter", "no"),
    ]
    return "".join(f"{key}: {value}\n" for key, value in lines)


def isce_parameter_text(plan: ProductPlan, facts: dict[str, Any]) -> str:
    """The ``<name>.txt`` of an INSAR_ISCE_(MULTI_)BURST product, in hyp3-isce2's key order."""
    range_looks, azimuth_looks = (int(n) for n in plan.job_parameters["looks"].split("x"))
    geometry = _geometry_values(plan, facts)
    direction = _pass_direction(facts["ascending"])
    reference = ",".join(item.name for item in plan.reference)
    secondary = ",".join(item.name for item in plan.secondary)
    orbit = f"{plan.reference[0].relative_orbit}"
    lines: list[tuple[str, Any]] = [
        ("Reference Granule", reference),
        ("Secondary Granule", secondary),
        ("Reference Pass Direction", direction),
        ("Reference Orbit Number", orbit),
        ("Secondary Pass Direction", direction),
        ("Secondary Orbit Number", orbit),
        ("Baseline", geometry["baseline"]),
        ("UTC time", geometry["utc_time"]),
        ("Heading", geometry["heading"]),
        ("Spacecraft height", geometry["height"]),
        ("Earth radius at nadir", geometry["earth_radius"]),
        ("Slant range near", geometry["near"]),
        ("Slant range center", geometry["center"]),
        ("Slant range far", geometry["far"]),
        ("Range looks", range_looks),
        ("Azimuth looks", azimuth_looks),
        ("INSAR phase filter", "yes"),
        ("Phase filter parameter", 0.5),
        ("Range bandpass filter", "no"),
        ("Azimuth bandpass filter", "no"),
        ("DEM source", "GLO_30"),
        ("DEM resolution (m)", 30),
        ("Unwrapping type", "snaphu_mcf"),
        ("Speckle filter", "yes"),
        ("Water mask", "yes" if plan.job_parameters["apply_water_mask"] else "no"),
    ]
    if plan.job_type == "INSAR_ISCE_BURST":
        sensing_stop = facts["reference_time"] + timedelta(seconds=2.758)
        lines += [
            ("Radar n lines", plan.grid.height),
            ("Radar n samples", plan.grid.width),
            ("Radar first valid line", 2),
            ("Radar n valid lines", plan.grid.height - 4),
            ("Radar first valid sample", 3),
            ("Radar n valid samples", plan.grid.width - 6),
            ("Multilook azimuth time interval", round(0.002055556 * azimuth_looks, 9)),
            ("Multilook range pixel size", round(2.329562 * range_looks, 6)),
            ("Radar sensing stop", sensing_stop.strftime("%Y-%m-%dT%H:%M:%S.%f")),
        ]
    return "".join(f"{key}: {value}\n" for key, value in lines)


def rtc_parameter_text(plan: ProductPlan) -> str:
    scene = plan.reference[0]
    params = plan.job_parameters
    lines = [
        ("Granule", scene.name),
        ("Resolution (m)", int(params["resolution"])),
        ("Radiometry", params["radiometry"]),
        ("Scale", params["scale"]),
        ("Speckle filter", "yes" if params["speckle_filter"] else "no"),
        ("DEM matching", "yes" if params["dem_matching"] else "no"),
        ("DEM name", params["dem_name"]),
    ]
    return "".join(f"{key}: {value}\n" for key, value in lines)


_LAYER_DESCRIPTIONS = {
    "amp": "amplitude (linear)",
    "corr": "coherence (0-1)",
    "unw_phase": "unwrapped phase (radians)",
    "water_mask": "water mask (1 land, 0 water)",
    "wrapped_phase": "wrapped phase (radians)",
    "dem": "DEM (metres)",
    "los_disp": "line-of-sight displacement (metres, positive towards the sensor)",
    "vert_disp": "vertical displacement (metres, positive up)",
    "inc_map": "local incidence angle (radians)",
    "inc_map_ell": "ellipsoid incidence angle (radians)",
    "lv_theta": "look vector elevation angle (radians)",
    "lv_phi": "look vector orientation angle (radians)",
    "conncomp": "connected components",
    "wrapped_phase_rdr": "wrapped interferogram, radar geometry (complex)",
    "lat_rdr": "latitude, radar geometry",
    "lon_rdr": "longitude, radar geometry",
    "los_rdr": "incidence and azimuth angles, radar geometry (degrees)",
    "ls_map": "layover/shadow map",
    "area": "scattering area (square metres)",
}


def readme_text(plan: ProductPlan) -> str:
    """The ``<name>.README.md.txt``; it depends on the plan only, so its size is known up front."""
    inputs = ", ".join(item.name for item in (*plan.reference, *plan.secondary))
    lines = [
        f"{plan.job_type} product {plan.name}",
        "",
        "Made by the insarflow HyP3 sandbox: an offline stand-in for ASF HyP3. The layout and",
        "names follow HyP3's products; the pixel values are SYNTHETIC (a subsidence bowl that",
        "grows with time, a per-date atmosphere and coherence-dependent noise) and describe no",
        "real place. Do not use them for science.",
        "",
        f"Input granules: {inputs}",
        f"Pixel spacing: {plan.grid.pixel:g} m, grid EPSG:{plan.grid.epsg}, "
        f"{plan.grid.width} x {plan.grid.height} pixels",
        "",
        "Files:",
    ]
    lines += [
        f"- {plan.name}_{raster.layer}.tif: {_LAYER_DESCRIPTIONS.get(raster.layer, 'backscatter')}"
        for raster in plan.rasters
    ]
    lines += [f"- {plan.name}{suffix}.png: browse image" for suffix in plan.browse]
    lines += [f"- {plan.name}.txt: processing parameters", ""]
    return "\n".join(lines)


def render_members(plan: ProductPlan) -> dict[str, bytes]:
    """Every file of the product, keyed by its path inside the zip."""
    processed = plan.processing_time
    if plan.job_type == "RTC_GAMMA":
        layers = backscatter(plan.frame, plan.window, plan.reference[0].start)
        copol = f"{plan.reference[0].copol}{plan.reference[0].copol}"
        named = {copol: layers["copol"]}
        for raster in plan.rasters:
            if raster.layer not in named:
                named[raster.layer] = layers.get(raster.layer, layers["crosspol"])
        valid = layers["ls_map"] == 1
        browse_layers = {"copol": layers["copol"]}
        text = parameter_text(plan)
    else:
        named, reference_phase = _render_interferogram(plan)
        valid = named["corr"] != 0
        browse_layers = named
        text = parameter_text(plan, reference_phase)
    members: dict[str, bytes] = {f"{plan.name}/": b""}
    for raster in plan.rasters:
        members[plan.arcname(f"_{raster.layer}", "tif")] = geotiff_bytes(
            named[raster.layer], raster, plan.grid, processed
        )
    for suffix in plan.browse:
        members[plan.arcname(suffix, "png")] = _browse_png(suffix, browse_layers, valid)
    members[plan.arcname("", "txt")] = text.encode()
    members[plan.arcname("", "README.md.txt")] = readme_text(plan).encode()
    return members


def write_product_zip(
    plan: ProductPlan, destination: Path, expected_size: int | None = None
) -> int:
    """Render the product and write ``destination`` atomically; returns its size in bytes.

    ``expected_size``: the size the job announced (``plan.zip_size()`` by default). Passing it
    spares measuring every member's size again, which is half of a render where the sizes
    were measured in another process (the server, at submission).
    """
    members = render_members(plan)
    expected = plan.zip_size() if expected_size is None else expected_size
    buffer = io.BytesIO()
    timestamp = plan.processing_time.timetuple()[:6]
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for arcname, data in members.items():
            info = zipfile.ZipInfo(arcname, date_time=timestamp)
            directory = arcname.endswith("/")
            info.external_attr = ((0o40755 << 16) | 0x10) if directory else (0o100644 << 16)
            archive.writestr(info, data)
    data = buffer.getvalue()
    if len(data) != expected:
        sizes = plan.member_sizes()  # which member is off, for the message
        for arcname, member in members.items():
            if len(member) != sizes[arcname]:
                raise RuntimeError(f"{arcname} is {len(member)} bytes, planned {sizes[arcname]}")
        raise RuntimeError(f"{plan.zip_name} is {len(data)} bytes, expected {expected}")
    destination.parent.mkdir(parents=True, exist_ok=True)
    # A name of its own per writer: the renderer ahead (another process) and a download that
    # did not wait for it may write the same product at once; each rename is whole.
    temporary = destination.with_name(
        f"{destination.name}.{os.getpid()}-{threading.get_ident()}.part"
    )
    temporary.write_bytes(data)
    temporary.replace(destination)
    return len(data)


def frame_of_granules(granules: Sequence[str], looks: str) -> Grid:
    """The full grid of the track/frame some scenes or bursts belong to, at the looks' spacing
    (what the products of those granules are windows of); ValueError if they span several."""
    key = frame_key_of_granules(granules)
    bursts = key.startswith("burst:")
    spacing = ISCE_PIXEL_SPACING if bursts else GAMMA_PIXEL_SPACING
    if looks not in spacing:
        kind = "bursts" if bursts else "scenes"
        raise ValueError(f"looks {looks!r} is not allowed for {kind}; use one of {sorted(spacing)}")
    return frame_grid(key, spacing[looks])


def frame_key_of_granules(granules: Sequence[str]) -> str:
    """The track/frame some scenes or bursts belong to; ValueError if they span several."""
    if not granules:
        raise ValueError("no granules given; name the scenes or bursts of one track")
    keys: set[str] = set()
    bursts: list[Burst] = []
    for name in granules:
        if name.endswith("-BURST"):
            bursts.append(parse_burst(name))
        else:
            keys.add(f"slc:{parse_scene(name).relative_orbit}")
    if bursts and keys:
        raise ValueError(
            "granules mix SLC scenes and bursts; give the granules of one product type"
        )
    if bursts:
        first = min(bursts, key=lambda burst: (burst.burst_id, burst.swath))
        keys = {f"burst:{first.id_swath}"}
        if len({burst.relative_orbit for burst in bursts}) > 1:
            raise ValueError("bursts belong to several relative orbits; give those of one track")
    if len(keys) > 1:
        raise ValueError(
            f"scenes belong to several relative orbits ({', '.join(sorted(keys))}); "
            "give those of one track"
        )
    return keys.pop()
