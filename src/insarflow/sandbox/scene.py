"""A small synthetic world the sandbox's products are cut from.

Every product of one frame (same relative orbit for scenes, same burst for bursts) lands on the same
UTM grid, so stacks line up. Its phase is a consistent function of the two acquisition dates:

    unw_phase(ref, sec) = -4*pi/lambda * (los(sec) - los(ref)) + aps(sec) - aps(ref) + noise(pair)

where ``los(t)`` is a subsidence bowl growing linearly with time (so the signal scales with the
time span of the pair), ``aps(t)`` is a smooth per-date "atmosphere" and the noise grows as the
coherence drops with the temporal baseline. Because ``los`` and ``aps`` are per date, interferograms
close in loops and a time-series inversion recovers the bowl: downstream steps have a real signal.
Everything is derived from hashes of names, so the same job always gives the same bytes.
"""

from __future__ import annotations

import functools
import hashlib
import math
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
from rasterio.transform import Affine
from rasterio.warp import transform as warp_transform

WAVELENGTH_M = 0.05546576  # Sentinel-1 C-band
SUBSIDENCE_M_PER_YEAR = 0.05  # peak vertical rate of the bowl
_EPOCH = date(2014, 10, 3)  # Sentinel-1A's first acquisitions; deformation is zero here
_FRAME_EXTENT_M = 5120.0
_MAX_SIZE = 128


def stable_seed(*parts: object) -> int:
    """A 64-bit seed from strings, identical across processes (unlike ``hash``)."""
    digest = hashlib.sha256("|".join(str(part) for part in parts).encode()).digest()
    return int.from_bytes(digest[:8], "little")


@dataclass(frozen=True)
class Grid:
    """A north-up UTM grid; ``x``/``y`` of pixel centres are metres from the frame centre."""

    epsg: int
    west: float
    north: float
    pixel: float
    width: int
    height: int
    center_lon: float
    center_lat: float
    center_x: float
    center_y: float

    @property
    def transform(self) -> Affine:
        return Affine(self.pixel, 0.0, self.west, 0.0, -self.pixel, self.north)

    @property
    def crs(self) -> str:
        return f"EPSG:{self.epsg}"

    def coordinates(self) -> tuple[np.ndarray, np.ndarray]:
        cols = self.west + (np.arange(self.width) + 0.5) * self.pixel - self.center_x
        rows = self.north - (np.arange(self.height) + 0.5) * self.pixel - self.center_y
        return np.meshgrid(cols, rows)

    def map_coordinates(self, row: int, col: int) -> tuple[float, float]:
        """(x, y) in the UTM projection of a pixel centre."""
        return (self.west + (col + 0.5) * self.pixel, self.north - (row + 0.5) * self.pixel)

    def lon_lat(self, xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lons, lats = warp_transform(self.crs, "EPSG:4326", list(xs.ravel()), list(ys.ravel()))
        return np.asarray(lons).reshape(xs.shape), np.asarray(lats).reshape(xs.shape)


@functools.lru_cache(maxsize=1024)
def frame_grid(frame_key: str, pixel: float) -> Grid:
    """The grid of a frame at a pixel spacing; frames sit at hash-chosen places between 10 and 60 N
    (so products are in northern UTM zones, EPSG:326xx)."""
    seed = stable_seed("frame", frame_key)
    lon = -170.0 + (seed % 34000) / 100.0
    lat = 10.0 + ((seed >> 20) % 5000) / 100.0
    zone = int((lon + 180.0) // 6.0) + 1
    epsg = 32600 + zone
    (x,), (y,) = warp_transform("EPSG:4326", f"EPSG:{epsg}", [lon], [lat])
    # Snap the centre so every pixel spacing (80/40/20 m) shares grid lines across products.
    center_x = round(x / 160.0) * 160.0
    center_y = round(y / 160.0) * 160.0
    size = min(_MAX_SIZE, round(_FRAME_EXTENT_M / pixel))
    (center_lon,), (center_lat,) = warp_transform(
        f"EPSG:{epsg}", "EPSG:4326", [center_x], [center_y]
    )
    return Grid(
        epsg=epsg,
        west=center_x - size * pixel / 2,
        north=center_y + size * pixel / 2,
        pixel=float(pixel),
        width=size,
        height=size,
        center_lon=center_lon,
        center_lat=center_lat,
        center_x=center_x,
        center_y=center_y,
    )


def years_since_epoch(moment: datetime) -> float:
    return (moment.date() - _EPOCH).days / 365.25


class SceneModel:
    """Geophysical fields of one frame on one grid; everything is float64 until written."""

    def __init__(self, grid: Grid) -> None:
        self.grid = grid
        self.x, self.y = grid.coordinates()
        x, y = self.x, self.y
        # A slanted swath edge: the left strip lies outside the footprint (no data).
        self.valid = x > -2350.0 - 0.12 * y
        self.water = ((x - 1450.0) / 750.0) ** 2 + ((y + 1500.0) / 480.0) ** 2 < 1.0
        self.dem = (
            300.0
            + 250.0 * np.exp(-((x + 800.0) ** 2 + (y - 900.0) ** 2) / (2 * 1500.0**2))
            + 40.0 * np.sin(x / 900.0) * np.cos(y / 1100.0)
        )
        self.dem[self.water] = 180.0
        self.inc_ell = np.radians(38.0 + x * 1.1e-4)
        slope_range = np.gradient(self.dem, grid.pixel, axis=1)
        self.inc_local = self.inc_ell - np.arctan(slope_range)
        self.bowl = np.exp(-((x + 300.0) ** 2 + (y - 400.0) ** 2) / (2 * 900.0**2))
        texture = 0.9 + 0.1 * np.sin(x / 700.0) * np.cos(y / 900.0)
        self.land_texture = texture

    def los_displacement(self, moment: datetime) -> np.ndarray:
        """Line-of-sight displacement (m, positive towards the sensor) accumulated since the epoch."""
        vertical = -SUBSIDENCE_M_PER_YEAR * years_since_epoch(moment) * self.bowl
        return vertical * np.cos(self.inc_ell)

    def atmosphere(self, acquisition: str) -> np.ndarray:
        """A smooth phase screen (rad) of one acquisition: a ramp, a blob and a height term."""
        rng = np.random.default_rng(stable_seed("aps", acquisition))
        ramp_x, ramp_y, blob, height_term = rng.normal(0.0, [0.5, 0.5, 0.8, 0.4])
        blob_x, blob_y = rng.uniform(-2000.0, 2000.0, size=2)
        extent = _FRAME_EXTENT_M
        return (
            ramp_x * self.x / extent
            + ramp_y * self.y / extent
            + blob * np.exp(-((self.x - blob_x) ** 2 + (self.y - blob_y) ** 2) / (2 * 1500.0**2))
            + height_term * (self.dem - 300.0) / 250.0
        )

    def coherence(self, days: float, pair_key: str) -> np.ndarray:
        rng = np.random.default_rng(stable_seed("coherence", pair_key))
        base = 0.35 + 0.55 * math.exp(-days / 45.0)
        corr = base * self.land_texture + rng.normal(0.0, 0.03, size=self.x.shape)
        corr[self.water] = 0.08 + rng.uniform(0.0, 0.05, size=int(self.water.sum()))
        return np.clip(corr, 0.01, 0.995)

    def amplitude(self, acquisition: str) -> np.ndarray:
        rng = np.random.default_rng(stable_seed("amplitude", acquisition))
        backscatter = 0.15 + 0.1 * (self.dem - 300.0) / 250.0 + 0.05 * self.land_texture
        speckle = rng.gamma(4.0, 0.25, size=self.x.shape)
        amp = np.clip(backscatter, 0.03, None) * speckle
        amp[self.water] = 0.02 * speckle[self.water]
        return np.clip(amp, 1e-4, None)


@dataclass(frozen=True)
class Interferogram:
    """The layers of one pair on one grid, with no-data already applied (0 = no data)."""

    grid: Grid
    unw_phase: np.ndarray
    wrapped_phase: np.ndarray
    corr: np.ndarray
    amp: np.ndarray
    water_mask: np.ndarray
    dem: np.ndarray
    inc_map: np.ndarray
    inc_map_ell: np.ndarray
    lv_theta: np.ndarray
    lv_phi: np.ndarray
    los_disp: np.ndarray
    vert_disp: np.ndarray
    conncomp: np.ndarray
    valid: np.ndarray
    reference_pixel: tuple[int, int]


def interferogram(
    grid: Grid,
    reference_time: datetime,
    secondary_time: datetime,
    apply_water_mask: bool,
    ascending: bool,
) -> Interferogram:
    """Model the interferogram of two acquisitions of a frame."""
    model = SceneModel(grid)
    ref_key = reference_time.strftime("%Y%m%d")
    sec_key = secondary_time.strftime("%Y%m%d")
    pair_key = f"{grid.center_x:.0f},{grid.center_y:.0f}:{ref_key}_{sec_key}:{grid.pixel}"
    days = abs((secondary_time - reference_time).total_seconds()) / 86400.0

    corr = model.coherence(days, pair_key)
    rng = np.random.default_rng(stable_seed("phase-noise", pair_key))
    # Filtered, multilooked phase: the noise stays well below a radian where coherence is fair.
    noise_sigma = np.clip(np.sqrt(1.0 - corr**2) / corr * 0.15, 0.0, 1.0)
    deformation = model.los_displacement(secondary_time) - model.los_displacement(reference_time)
    phase = (
        -4.0 * math.pi / WAVELENGTH_M * deformation
        + model.atmosphere(sec_key)
        - model.atmosphere(ref_key)
        + rng.normal(0.0, 1.0, size=corr.shape) * noise_sigma
    )
    valid = model.valid
    unwrapped_valid = valid & ~model.water if apply_water_mask else valid

    # Reference point: the most coherent valid land pixel (first one on ties, so deterministic).
    candidates = np.where(unwrapped_valid & ~model.water, corr, -1.0)
    ref_row, ref_col = np.unravel_index(int(np.argmax(candidates)), corr.shape)

    los_disp = -phase * WAVELENGTH_M / (4.0 * math.pi)
    heading_offset = 0.0 if ascending else math.pi
    look_azimuth = np.full(corr.shape, math.radians(80.0) + heading_offset)

    def masked(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return np.where(mask, values, 0.0).astype(np.float32)

    return Interferogram(
        grid=grid,
        unw_phase=masked(phase, unwrapped_valid),
        wrapped_phase=masked(np.angle(np.exp(1j * phase)), valid),
        corr=masked(corr, valid),
        amp=masked(model.amplitude(ref_key), valid),
        water_mask=np.where(model.water, 0, 1).astype(np.uint8),
        dem=masked(model.dem, valid),
        inc_map=masked(model.inc_local, valid),
        inc_map_ell=masked(model.inc_ell, valid),
        lv_theta=masked(math.pi / 2 - model.inc_ell, valid),
        lv_phi=masked(look_azimuth + 1e-5 * model.y, valid),
        los_disp=masked(los_disp, unwrapped_valid),
        vert_disp=masked(los_disp / np.cos(model.inc_ell), unwrapped_valid),
        conncomp=masked(np.where(corr > 0.2, 1.0, 0.0), unwrapped_valid & (corr > 0.2)),
        valid=valid,
        reference_pixel=(int(ref_row), int(ref_col)),
    )


def backscatter(grid: Grid, acquisition: datetime) -> dict[str, np.ndarray]:
    """RTC-like layers of one acquisition (gamma0 power, co- and cross-pol)."""
    model = SceneModel(grid)
    key = acquisition.strftime("%Y%m%dT%H%M%S")
    amp = model.amplitude(key)
    copol = np.where(model.valid, amp**2, 0.0).astype(np.float32)
    rng = np.random.default_rng(stable_seed("cross-pol", key))
    cross = np.where(model.valid, amp**2 * rng.uniform(0.1, 0.3, size=amp.shape), 0.0)
    return {
        "copol": copol,
        "crosspol": cross.astype(np.float32),
        "dem": np.where(model.valid, model.dem, 0.0).astype(np.float32),
        "inc_map": np.where(model.valid, model.inc_local, 0.0).astype(np.float32),
        "area": np.where(model.valid, grid.pixel**2 / np.cos(model.inc_local), 0.0).astype(
            np.float32
        ),
        "ls_map": np.where(model.valid, 1, 0).astype(np.uint8),
    }
