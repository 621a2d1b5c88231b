"""A small synthetic world the sandbox's products are cut from.

Frames and windows
    Each track/frame (relative orbit for scenes, first burst for bursts) has one north-up UTM grid
    per pixel spacing, ``FRAME_EXTENT_M`` wide (96 px at 80 m; at most ``MAX_FRAME_SIZE`` px a side).
    A product covers a deterministic sub-window of it, so products differ in extent but share grid
    lines. Each acquisition covers the frame minus up to an eighth at the top and bottom (frame
    timing) and up to a sixteenth at the sides; an INSAR_GAMMA product is the intersection of its
    two acquisitions' windows. Burst products cover one window per burst set, shared by every pair
    of that set. Every window holds the frame's central 3/4 x 7/8, so a track always has a common
    overlap.

Signal
    The phase of a pair is a consistent function of per-date fields, so interferograms close in
    loops and a time-series inversion has a real signal to recover::

        unw_phase(ref, sec) = -4*pi/lambda * (obs(sec) - obs(ref) + topo(ref, sec))
                              + decorrelation noise
                              + 2*pi*k in a patch of some pairs (unwrapping errors)
        obs(t) = los(t) - delay(t)       (metres, positive towards the sensor, MintPy's sign)
        topo(ref, sec) = Bperp * dz / (r * sin(inc))                       (metres, same sign)

    ``los(t)`` is a Gaussian subsidence bowl sinking at ``SUBSIDENCE_M_PER_YEAR`` (vertical),
    projected on the line of sight, and ``delay(t)`` the tropospheric one-way LOS path delay of
    acquisition ``t`` (a delay lengthens the path, which reads as motion away from the sensor).

    ``topo`` is the topographic residual of the DEM error ``dz`` (true height of the scatterers
    minus the GLO-30 height that HyP3 removed, the ``dem`` layer): ``Bperp`` is the pair's
    ``Baseline`` as the product's ``.txt`` states it (orbit position of the secondary minus the
    reference's), ``inc`` the ellipsoid incidence angle (``pi/2 - lv_theta``) and ``r`` the slant
    range that MintPy derives from it and the ``.txt``'s spacecraft height and Earth radius
    (``mintpy/utils/utils0.py: incidence_angle2slant_range_distance``, law of sines). This is
    MintPy's model (``mintpy/dem_error.py``: ``G_geom = pbase / (range_dist * sin_inc_angle)``
    multiplies ``delta_z`` in the time series in metres, ``ts = -lambda/(4*pi) * phase`` in
    ``ifgram_inversion.py``, and ``dem_error.py``'s help adds ``demErr.h5`` to ``dem.h5`` for a
    corrected DEM), so MintPy's ``demErr.h5`` should recover ``dz``. It is per-date consistent
    (``Bperp`` of a pair is the difference of per-date orbit positions), so loops still close.

Amplitudes (realistic Sentinel-1 values; not tuned to make any stage look good)
    Turbulent troposphere: per acquisition, a power-law (fractal) screen of LOS delay whose 2-D
        power spectrum falls as k^(-11/3) below 2 km and k^(-8/3) above, the regimes Hanssen (2001,
        *Radar Interferometry*, sec. 4.7) found in interferograms (1-D slopes -8/3 and -5/3), so it
        is correlated over kilometres. Its standard deviation over the frame is drawn per date
        between 5 and 10 mm (``TURBULENT_STD_RANGE_M``). Measured on the 80 m frame: the rms
        difference between two points is ~7 mm at 1 km and ~11 mm at 4 km per date (~9 and ~15 mm
        in a 12-day interferogram). That is the humid, rough end of the range: Emardson et al.
        (2003, JGR 108(B5), 2231) fit sigma ~ 2.5 mm * (L/km)^0.5 + 4.8 mm/km * dH of zenith delay
        per interferogram for southern California (~3 mm at 1 km, ~6 mm at 4 km in Sentinel-1's
        LOS), a dry climate.
    Stratified troposphere: a per-date delay/height slope drawn from N(0, 10 mm/km) (LOS) times the
        height above the frame's mean (``STRATIFIED_STD_M_PER_M``): ~14 mm/km per interferogram,
        the order of the acquisition-to-acquisition variations in Doin et al. (2009, J. Appl.
        Geophys. 69) and of Emardson's height term. The frame's relief is ~300 m.
    Decorrelation noise: per pair and pixel, the Cramer-Rao phase standard deviation
        sqrt(1 - g^2) / (g * sqrt(2 * L)) (Rodriguez & Martin 1992; Hanssen 2001, sec. 4.2) with
        coherence g decaying with the temporal baseline (0.35 + 0.55 exp(-days/45), times a land
        texture of 0.8-1.0; water ~0.1) and L a quarter of the looks (20x4 -> 20 independent
        looks), capped at 1.2 rad: ~0.15 rad (0.7 mm) on a 12-day pair, ~0.5 rad on a year.
    Unwrapping errors: ``UNWRAP_ERROR_SHARE`` (25 %) of the interferograms, chosen by hash, carry a
        2*pi*k (k = +-1, +-2) error in an elliptical patch of 5-12 % of the product (never holding
        the reference point). Burst products label that patch as its own connected component
        (``conncomp`` 2; 1 = the rest, 0 = not unwrapped). Patches are 300-900 px at 80 m, below
        MintPy's default ``unwrapError.connCompMinArea`` (2500 px), so bridging needs it lowered.
    Orbital tube: each acquisition sits at a perpendicular position of a slow 40 m annual drift plus
        +-55 m jitter, so 12-day baselines stay within +-120 m and all within ~+-190 m
        (Sentinel-1's tube is ~100 m RMS; baselines of a network add up).
    Deformation: a Gaussian bowl (sigma 900 m) subsiding 50 mm/yr at its centre, ~39 mm/yr in LOS
        (incidence ~38 deg); the truth export (``insarflow.sandbox.truth``) writes it.
    DEM error (per frame, fixed in time): the Copernicus GLO-30 DEM that HyP3 uses is specified
        to an absolute vertical accuracy better than 4 m LE90 (Copernicus DEM Product Handbook,
        AIRBUS 2020), i.e. a standard deviation ~2.4 m, with errors correlated over hundreds of
        metres to kilometres; being an X-band surface model it holds canopy and buildings, where
        the C-band scatterers sit metres to tens of metres off it. So ``dz`` is a smooth random
        field of standard deviation ``DEM_ERROR_STD_M`` (2.5 m; a sum of plane waves of 400 m to
        4 km wavelength) plus ``DEM_ERROR_PATCHES`` (4) flat-topped patches of 150-400 m radius
        and 10-20 m of either sign (``DEM_ERROR_PATCH_M``), like forest stands or built-up
        blocks, anywhere in the frame. With r*sin(inc) ~ 0.53e6 m, 1 m of DEM error reads as
        ~1.9 um of LOS per metre of baseline: ~0.2 mm (2.5 m, 100 m) to ~3 mm (20 m, 150 m), and
        the tube's annual drift folds part of it into a one-year velocity. The truth export
        writes ``dz`` too.

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
FRAME_EXTENT_M = 7680.0
MAX_FRAME_SIZE = 160
TURBULENT_STD_RANGE_M = (0.005, 0.010)
# 2-D spectral exponents of the turbulent delay (Hanssen 2001, sec. 4.7: 1-D slopes -8/3 below
# ~2 km, where turbulence is three-dimensional, and -5/3 above, up to a few tens of km).
TURBULENCE_EXPONENT_SHORT = 11.0 / 3.0
TURBULENCE_EXPONENT_LONG = 8.0 / 3.0
TURBULENCE_BREAK_M = 2000.0
STRATIFIED_STD_M_PER_M = 0.010 / 1000.0
UNWRAP_ERROR_SHARE = 0.25
ORBIT_DRIFT_M = 40.0
ORBIT_JITTER_M = 55.0
MAX_NOISE_RAD = 1.2
DEM_ERROR_STD_M = 2.5
DEM_ERROR_WAVELENGTHS_M = (400.0, 4000.0)
DEM_ERROR_WAVES = 48
DEM_ERROR_PATCHES = 4
DEM_ERROR_PATCH_M = (10.0, 20.0)
DEM_ERROR_PATCH_RADIUS_M = (150.0, 400.0)
# The spacecraft height at which the scene's slant range is computed: the middle of the range the
# products' .txt states (692-695 km; 0.2 % of slant range either way).
SPACECRAFT_HEIGHT_M = 693_500.0
_EPOCH = date(2014, 10, 3)  # Sentinel-1A's first acquisitions; deformation is zero here


def stable_seed(*parts: object) -> int:
    """A 64-bit seed from strings, identical across processes (unlike ``hash``)."""
    digest = hashlib.sha256("|".join(str(part) for part in parts).encode()).digest()
    return int.from_bytes(digest[:8], "little")


@dataclass(frozen=True)
class Window:
    """A block of frame pixels: rows ``row0 .. row0 + height``, columns ``col0 .. col0 + width``."""

    row0: int
    col0: int
    height: int
    width: int

    def intersection(self, other: Window) -> Window:
        row0, col0 = max(self.row0, other.row0), max(self.col0, other.col0)
        row1 = min(self.row0 + self.height, other.row0 + other.height)
        col1 = min(self.col0 + self.width, other.col0 + other.width)
        return Window(row0, col0, max(row1 - row0, 0), max(col1 - col0, 0))

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.row0, self.row0 + self.height), slice(self.col0, self.col0 + self.width)


@dataclass(frozen=True)
class Grid:
    """A north-up UTM grid; ``x``/``y`` of pixel centres are metres from the *frame* centre
    (``center_*`` is the frame's centre for a frame and for every window of it)."""

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

    def window(self, window: Window) -> Grid:
        """The grid of a window of this (frame) grid: same CRS, pixel and grid lines."""
        return Grid(
            epsg=self.epsg,
            west=self.west + window.col0 * self.pixel,
            north=self.north - window.row0 * self.pixel,
            pixel=self.pixel,
            width=window.width,
            height=window.height,
            center_lon=self.center_lon,
            center_lat=self.center_lat,
            center_x=self.center_x,
            center_y=self.center_y,
        )

    @property
    def identity(self) -> str:
        """A key naming the frame (not the window) for seeds."""
        return f"{self.epsg}:{self.center_x:.0f},{self.center_y:.0f}"


# Where the Copernicus GLO-30 DEM that HyP3 uses has no public tiles (Armenia and Azerbaijan),
# as (south, north, west, east) in degrees: HyP3 refuses jobs there (check_dem_coverage).
DEM_GAPS = {"Armenia and Azerbaijan": (38.0, 42.0, 43.0, 51.0)}


def frame_location(frame_key: str) -> tuple[float, float]:
    """(lon, lat) of a frame's centre: a hash-chosen place between 10 and 60 N."""
    seed = stable_seed("frame", frame_key)
    return -170.0 + (seed % 34000) / 100.0, 10.0 + ((seed >> 20) % 5000) / 100.0


def dem_gap(frame_key: str) -> str | None:
    """The DEM gap a frame lies in, or None where the DEM covers it."""
    lon, lat = frame_location(frame_key)
    for name, (south, north, west, east) in DEM_GAPS.items():
        if south <= lat <= north and west <= lon <= east:
            return name
    return None


@functools.lru_cache(maxsize=1024)
def frame_grid(frame_key: str, pixel: float) -> Grid:
    """The grid of a frame at a pixel spacing; frames sit at hash-chosen places between 10 and 60 N
    (so products are in northern UTM zones, EPSG:326xx)."""
    lon, lat = frame_location(frame_key)
    zone = int((lon + 180.0) // 6.0) + 1
    epsg = 32600 + zone
    (x,), (y,) = warp_transform("EPSG:4326", f"EPSG:{epsg}", [lon], [lat])
    # Snap the centre so every pixel spacing (80/40/20 m) shares grid lines across products.
    center_x = round(x / 160.0) * 160.0
    center_y = round(y / 160.0) * 160.0
    size = min(MAX_FRAME_SIZE, round(FRAME_EXTENT_M / pixel))
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


def unit_values(count: int, *parts: object) -> list[float]:
    """``count`` (<= 8) numbers in [0, 1) from strings, cheaper than a seeded generator."""
    digest = hashlib.sha256("|".join(str(part) for part in parts).encode()).digest()
    return [int.from_bytes(digest[4 * i : 4 * i + 4], "little") / 2**32 for i in range(count)]


@functools.lru_cache(maxsize=8192)
def coverage_window(frame: Grid, key: str) -> Window:
    """The part of a frame one acquisition (or one burst set) covers: the along-track ends move
    with the frame timing by up to an eighth of the frame, the swath edges by up to a sixteenth."""
    top, bottom, left, right = unit_values(4, "coverage", frame.identity, key)
    along, across = frame.height // 8, frame.width // 16
    top_px, bottom_px = int(top * (along + 1)), int(bottom * (along + 1))
    left_px, right_px = int(left * (across + 1)), int(right * (across + 1))
    return Window(
        top_px, left_px, frame.height - top_px - bottom_px, frame.width - left_px - right_px
    )


def years_since_epoch(moment: datetime | date) -> float:
    day = moment.date() if isinstance(moment, datetime) else moment
    return (day - _EPOCH).days / 365.25


def date_key(moment: datetime | date) -> str:
    return moment.strftime("%Y%m%d")


def orbit_position(track_key: str, moment: datetime) -> float:
    """Perpendicular position (m) of the satellite in its orbital tube at one acquisition."""
    phase = 2 * math.pi * (stable_seed("orbit-phase", track_key) % 10_000) / 10_000
    drift = ORBIT_DRIFT_M * math.sin(2 * math.pi * years_since_epoch(moment) + phase)
    unit = (stable_seed("orbit-jitter", track_key, date_key(moment)) % 1_000_001) / 1_000_000
    return drift + ORBIT_JITTER_M * (2 * unit - 1)


def perpendicular_baseline(track_key: str, first: datetime, second: datetime) -> float:
    return round(orbit_position(track_key, second) - orbit_position(track_key, first), 4)


def track_heading(frame: Grid, ascending: bool) -> float:
    """Platform heading (degrees clockwise from north, HyP3's ``Heading``) over a frame."""
    unit = (stable_seed("heading", frame.identity) % 1_000_001) / 1_000_000
    return (-12.0 if ascending else -168.0) + (4 * unit - 2)


def look_azimuth_rad(heading_deg: float) -> float:
    """HyP3's ``lv_phi`` for a right-looking sensor: the azimuth of the ground-to-sensor look
    vector, counter-clockwise from East. MintPy's azimuth angle ``deg(lv_phi) - 90`` then equals
    ``heading2azimuth_angle(heading) = 90 - heading`` (both wrapped to [-180, 180))."""
    degrees = 180.0 - heading_deg
    return math.radians((degrees + 180.0) % 360.0 - 180.0)


def earth_radius_at_nadir(latitude_deg: float) -> float:
    """The local Earth radius (m) at a latitude, as the products' ``.txt`` states it."""
    lat = math.radians(latitude_deg)
    return 6378137.0 * (1 - 0.00335281 * math.sin(lat) ** 2)


def slant_range_m(
    incidence_rad: np.ndarray, earth_radius: float, spacecraft_height: float
) -> np.ndarray:
    """Slant range (m) of targets at an ellipsoid incidence angle, by the law of sines in the
    triangle Earth centre - target - satellite (MintPy's ``incidence_angle2slant_range_distance``,
    which gives MintPy the range for geocoded HyP3 products)."""
    circumdiameter = (earth_radius + spacecraft_height) / np.sin(np.pi - incidence_rad)
    look = np.arcsin(earth_radius / circumdiameter)
    return circumdiameter * np.sin(incidence_rad - look)


def dem_error_field(frame: Grid, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """DEM error (m, true scatterer height minus the DEM's) of a frame at frame coordinates
    ``x``, ``y`` (m from the frame centre). Defined in metres, not pixels, so every pixel spacing
    of the frame sees the same ground; seeded by the frame only, so it is the same on every date."""
    rng = np.random.default_rng(stable_seed("dem-error", frame.identity))
    # Smooth background: random plane waves; N waves of amplitude a have standard deviation
    # a * sqrt(N / 2).
    low, high = DEM_ERROR_WAVELENGTHS_M
    wavelengths = np.exp(rng.uniform(math.log(low), math.log(high), DEM_ERROR_WAVES))
    directions = rng.uniform(0.0, math.pi, DEM_ERROR_WAVES)
    phases = rng.uniform(0.0, 2 * math.pi, DEM_ERROR_WAVES)
    amplitude = DEM_ERROR_STD_M * math.sqrt(2.0 / DEM_ERROR_WAVES)
    error = np.zeros_like(x, dtype=float)
    for wavelength, direction, phase in zip(wavelengths, directions, phases, strict=True):
        along = x * math.cos(direction) + y * math.sin(direction)
        error += amplitude * np.cos(2 * math.pi * along / wavelength + phase)
    # Canopy / building patches: flat tops with smooth edges.
    half = 0.4 * FRAME_EXTENT_M
    for _ in range(DEM_ERROR_PATCHES):
        center_x, center_y = rng.uniform(-half, half, 2)
        radius = rng.uniform(*DEM_ERROR_PATCH_RADIUS_M)
        height = rng.uniform(*DEM_ERROR_PATCH_M) * rng.choice([-1.0, 1.0])
        distance = np.hypot(x - center_x, y - center_y) / radius
        error += height * np.exp(-(distance**4))
    return error


@functools.lru_cache(maxsize=512)
def _turbulent_delay(frame: Grid, day: str) -> np.ndarray:
    """Turbulent LOS delay (m) of one acquisition over the frame: a power-law screen."""
    rng = np.random.default_rng(stable_seed("troposphere", frame.identity, frame.pixel, day))
    size = 2 * max(frame.height, frame.width)  # padded, so the screen does not wrap around
    kx = np.fft.fftfreq(size, d=frame.pixel)
    k = np.hypot(*np.meshgrid(kx, kx))
    k[0, 0] = np.inf  # no mean
    k_break = 1.0 / TURBULENCE_BREAK_M
    # Power k^-beta, continuous at the break: amplitudes are its square root.
    exponent = np.where(k > k_break, TURBULENCE_EXPONENT_SHORT, TURBULENCE_EXPONENT_LONG)
    amplitude = (k / k_break) ** (-exponent / 2)
    spectrum = (rng.normal(size=(size, size)) + 1j * rng.normal(size=(size, size))) * amplitude
    screen = np.fft.ifft2(spectrum).real[: frame.height, : frame.width]
    screen = (screen - screen.mean()) / screen.std()
    return screen * rng.uniform(*TURBULENT_STD_RANGE_M)


class SceneModel:
    """Geophysical fields of one frame on its full grid; everything is float64 until written."""

    def __init__(self, grid: Grid) -> None:
        self.grid = grid
        self.x, self.y = grid.coordinates()
        x, y = self.x, self.y
        # A slanted swath edge: the left strip lies outside the footprint (no data).
        self.valid = x > -3300.0 - 0.12 * y
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
        # ``dem`` is the DEM HyP3 used (GLO-30); the scatterers sit ``dem_error`` above it.
        self.dem_error = dem_error_field(grid, x, y)
        self.slant_range = slant_range_m(
            self.inc_ell, earth_radius_at_nadir(grid.center_lat), SPACECRAFT_HEIGHT_M
        )

    def los_velocity(self) -> np.ndarray:
        """True line-of-sight velocity (m/yr, positive towards the sensor)."""
        return -SUBSIDENCE_M_PER_YEAR * self.bowl * np.cos(self.inc_ell)

    def los_displacement(self, moment: datetime | date) -> np.ndarray:
        """Line-of-sight displacement (m, positive towards the sensor) accumulated since the epoch."""
        return self.los_velocity() * years_since_epoch(moment)

    def tropospheric_delay(self, moment: datetime | date) -> np.ndarray:
        """One-way LOS path delay (m) of one acquisition: turbulent plus stratified."""
        day = date_key(moment)
        rng = np.random.default_rng(stable_seed("stratified", self.grid.identity, day))
        slope = rng.normal(0.0, STRATIFIED_STD_M_PER_M)
        stratified = slope * (self.dem - float(self.dem.mean()))
        return _turbulent_delay(self.grid, day) + stratified

    def observed_los(self, moment: datetime | date) -> np.ndarray:
        """What one acquisition's phase says (m, towards the sensor): motion minus the delay."""
        return self.los_displacement(moment) - self.tropospheric_delay(moment)

    def topographic_residual(self, baseline_m: float) -> np.ndarray:
        """Apparent LOS displacement (m, towards the sensor, as in MintPy's time series) of the DEM
        error in a pair of perpendicular baseline ``baseline_m`` (the product's ``Baseline``):
        MintPy's ``pbase * delta_z / (range_dist * sin(inc_angle))``."""
        return baseline_m * self.dem_error / (self.slant_range * np.sin(self.inc_ell))

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


@functools.lru_cache(maxsize=64)
def scene_model(frame: Grid) -> SceneModel:
    return SceneModel(frame)


def looks_of(pixel: float) -> int:
    """Number of looks of a pixel spacing (80 m = 20x4, 40 m = 10x2, 20 m = 5x1)."""
    return max(1, round(5 * (pixel / 20.0) ** 2))


@functools.lru_cache(maxsize=8192)
def reference_pixel(frame: Grid, window: Window) -> tuple[int, int]:
    """The unwrapping reference point: the most coherent land pixel of the window (long-term
    coherence, so it is known before the pair is processed; first one on ties)."""
    model = scene_model(frame)
    rows, cols = window.slices
    good = (model.valid & ~model.water)[rows, cols]
    candidates = np.where(good, model.land_texture[rows, cols], -1.0)
    row, col = np.unravel_index(int(np.argmax(candidates)), candidates.shape)
    return int(row), int(col)


def _pair_key(frame: Grid, reference_time: datetime, secondary_time: datetime) -> str:
    return f"{frame.identity}:{date_key(reference_time)}_{date_key(secondary_time)}:{frame.pixel}"


def pair_phase(
    frame: Grid, reference_time: datetime, secondary_time: datetime
) -> tuple[np.ndarray, np.ndarray]:
    """(unwrapped phase without unwrapping errors, coherence) of a pair over the whole frame."""
    model = scene_model(frame)
    pair_key = _pair_key(frame, reference_time, secondary_time)
    days = abs((secondary_time - reference_time).total_seconds()) / 86400.0
    corr = model.coherence(days, pair_key)
    rng = np.random.default_rng(stable_seed("phase-noise", pair_key))
    independent_looks = looks_of(frame.pixel) / 4.0
    noise_sigma = np.clip(
        np.sqrt(1.0 - corr**2) / (corr * math.sqrt(2.0 * independent_looks)), 0.0, MAX_NOISE_RAD
    )
    # The baseline the product's .txt states (same function, same track key, same times).
    baseline = perpendicular_baseline(frame.identity, reference_time, secondary_time)
    change = (
        model.observed_los(secondary_time)
        - model.observed_los(reference_time)
        + model.topographic_residual(baseline)
    )
    phase = -4.0 * math.pi / WAVELENGTH_M * change + rng.normal(size=corr.shape) * noise_sigma
    return phase, corr


@dataclass(frozen=True)
class UnwrappingError:
    """A 2*pi*cycles error over ``patch`` (a boolean mask on the product window)."""

    cycles: int
    patch: np.ndarray


def unwrapping_error(
    frame: Grid,
    window: Window,
    reference_time: datetime,
    secondary_time: datetime,
    reference: tuple[int, int],
) -> UnwrappingError | None:
    """The pair's unwrapping error, if it has one (``UNWRAP_ERROR_SHARE`` of pairs, by hash)."""
    pair_key = _pair_key(frame, reference_time, secondary_time)
    rng = np.random.default_rng(stable_seed("unwrapping-error", pair_key))
    if rng.uniform() >= UNWRAP_ERROR_SHARE:
        return None
    cycles = int(rng.choice([-2, -1, -1, 1, 1, 2]))
    rows, cols = np.mgrid[0 : window.height, 0 : window.width]
    for _attempt in range(20):
        area = rng.uniform(0.05, 0.12) * window.height * window.width
        aspect = rng.uniform(0.6, 1.0)
        semi_major = math.sqrt(area / (math.pi * aspect))
        semi_minor = semi_major * aspect
        angle = rng.uniform(0.0, math.pi)
        center_row = rng.uniform(0.2, 0.8) * window.height
        center_col = rng.uniform(0.2, 0.8) * window.width
        du, dv = cols + 0.5 - center_col, rows + 0.5 - center_row
        along = du * math.cos(angle) + dv * math.sin(angle)
        across = -du * math.sin(angle) + dv * math.cos(angle)
        patch = (along / semi_major) ** 2 + (across / semi_minor) ** 2 < 1.0
        ref_row, ref_col = reference
        # Keep the reference point (and a ring of 3 pixels around it) outside the patch.
        near_reference = (np.abs(rows - ref_row) <= 3) & (np.abs(cols - ref_col) <= 3)
        if not (patch & near_reference).any():
            return UnwrappingError(cycles=cycles, patch=patch)
    return None


@dataclass(frozen=True)
class Interferogram:
    """The layers of one pair on its product window, with no-data already applied (0 = no data)."""

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
    unwrapping_error: UnwrappingError | None


def interferogram(
    frame: Grid,
    window: Window,
    reference_time: datetime,
    secondary_time: datetime,
    apply_water_mask: bool,
    heading_deg: float,
    wrapped_at_reference: bool = False,
) -> Interferogram:
    """Model the interferogram of two acquisitions of a frame, cut to the product's window.

    With ``wrapped_at_reference`` (GAMMA's mcf), whole cycles are removed so that the unwrapped
    phase at the reference point equals its wrapped phase; otherwise the phase is absolute."""
    model = scene_model(frame)
    rows, cols = window.slices
    phase_frame, corr_frame = pair_phase(frame, reference_time, secondary_time)
    phase, corr = phase_frame[rows, cols], corr_frame[rows, cols]
    valid, water = model.valid[rows, cols], model.water[rows, cols]
    inc_ell, x = model.inc_ell[rows, cols], model.x[rows, cols]
    reference = reference_pixel(frame, window)
    error = unwrapping_error(frame, window, reference_time, secondary_time, reference)
    if wrapped_at_reference:
        phase = phase - 2 * math.pi * round(float(phase[reference]) / (2 * math.pi))
    unwrapped = phase + (2 * math.pi * error.cycles * error.patch if error else 0.0)
    unwrapped_valid = valid & ~water if apply_water_mask else valid

    los_disp = -unwrapped * WAVELENGTH_M / (4.0 * math.pi)
    # The look azimuth turns slowly across the swath (a fraction of a degree over a frame).
    look_azimuth = look_azimuth_rad(heading_deg) + 2e-7 * x

    # Connected components as SNAPHU labels them: 0 = not unwrapped, 1 = the main component, 2 =
    # the patch whose ambiguity differs (so MintPy's bridging can fix it).
    components = np.where(corr > 0.2, 1.0, 0.0)
    if error is not None:
        components[error.patch & (corr > 0.2)] = 2.0

    def masked(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return np.where(mask, values, 0.0).astype(np.float32)

    return Interferogram(
        grid=frame.window(window),
        unw_phase=masked(unwrapped, unwrapped_valid),
        wrapped_phase=masked(np.angle(np.exp(1j * phase)), valid),
        corr=masked(corr, valid),
        amp=masked(model.amplitude(date_key(reference_time))[rows, cols], valid),
        water_mask=np.where(water, 0, 1).astype(np.uint8),
        dem=masked(model.dem[rows, cols], valid),
        inc_map=masked(model.inc_local[rows, cols], valid),
        inc_map_ell=masked(inc_ell, valid),
        lv_theta=masked(math.pi / 2 - inc_ell, valid),
        lv_phi=masked(look_azimuth, valid),
        los_disp=masked(los_disp, unwrapped_valid),
        vert_disp=masked(los_disp / np.cos(inc_ell), unwrapped_valid),
        conncomp=masked(components, unwrapped_valid),
        valid=valid,
        reference_pixel=reference,
        unwrapping_error=error,
    )


def backscatter(frame: Grid, window: Window, acquisition: datetime) -> dict[str, np.ndarray]:
    """RTC-like layers of one acquisition (gamma0 power, co- and cross-pol) on a window."""
    model = scene_model(frame)
    rows, cols = window.slices
    key = acquisition.strftime("%Y%m%dT%H%M%S")
    amp = model.amplitude(key)[rows, cols]
    valid = model.valid[rows, cols]
    dem, inc_local = model.dem[rows, cols], model.inc_local[rows, cols]
    copol = np.where(valid, amp**2, 0.0).astype(np.float32)
    rng = np.random.default_rng(stable_seed("cross-pol", key))
    cross = np.where(valid, amp**2 * rng.uniform(0.1, 0.3, size=amp.shape), 0.0)
    return {
        "copol": copol,
        "crosspol": cross.astype(np.float32),
        "dem": np.where(valid, dem, 0.0).astype(np.float32),
        "inc_map": np.where(valid, inc_local, 0.0).astype(np.float32),
        "area": np.where(valid, frame.pixel**2 / np.cos(inc_local), 0.0).astype(np.float32),
        "ls_map": np.where(valid, 1, 0).astype(np.uint8),
    }
