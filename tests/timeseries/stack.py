"""A time-series stack through the real workflow against the sandbox (accuracy test, benchmark).

The work dir gets a scene list of one Sentinel-1 track and a config that generates a sequential
network with `connections` neighbours per scene; Snakemake runs in phases (HyP3 products, clip,
MintPy, export) so each stage is timed on its own.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from scipy.ndimage import binary_dilation

from insarflow import paths
from insarflow.sandbox.products import frame_of_granules
from insarflow.sandbox.scene import Grid, scene_model

REPO = Path(__file__).resolve().parents[2]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
# S1A track of the example scenes: 175 orbits per 12-day repeat cycle.
_FIRST = datetime(2020, 1, 4, 1, 45, 12)
_FIRST_ORBIT = 30656
_FIRST_DATATAKE = 0x038A1C


def track_scenes(count: int, spacing_days: int = 12, track: int = 0) -> list[str]:
    """``count`` S1A IW SLC names of one track, ``spacing_days`` apart, from 2020-01-04.

    ``track`` shifts the relative orbit: another track is another sandbox frame, with its own
    atmosphere, noise and unwrapping errors (the same bowl and relief)."""
    names = []
    for index in range(count):
        cycles = index * spacing_days // 12
        start = _FIRST + timedelta(days=index * spacing_days, seconds=index % 3)
        stop = start + timedelta(seconds=27)
        orbit = _FIRST_ORBIT + track + 175 * cycles
        datatake = _FIRST_DATATAKE + 0x1F3 * index
        crc = hashlib.sha256(start.isoformat().encode()).hexdigest()[:4].upper()
        names.append(
            f"S1A_IW_SLC__1SDV_{start:%Y%m%dT%H%M%S}_{stop:%Y%m%dT%H%M%S}_{orbit:06d}_"
            f"{datatake:06X}_{crc}"
        )
    return names


def track_bursts(count: int, spacing_days: int = 12, burst_id: int = 136231) -> list[str]:
    """``count`` IW2 burst names of one burst id, ``spacing_days`` apart, from 2020-06-04.

    Another ``burst_id`` is another sandbox frame, with its own atmosphere, noise and unwrapping
    errors (the same bowl and relief)."""
    first = datetime(2020, 6, 4, 2, 23, 12)
    names = []
    for index in range(count):
        start = first + timedelta(days=index * spacing_days, seconds=index % 2)
        crc = hashlib.sha256(start.isoformat().encode()).hexdigest()[:4].upper()
        names.append(f"S1_{burst_id:06d}_IW2_{start:%Y%m%dT%H%M%S}_VV_{crc}-BURST")
    return names


def far_field_reference(granules: list[str], looks: str = "20x4") -> list[float]:
    """[lat, lon] of ``far_field_pixel`` of the granules' frame: the stable reference a scientist
    who knows the area would set as ``reference_lalo``."""
    frame = frame_of_granules(granules, looks)
    row, col = far_field_pixel(frame)
    x, y = frame.map_coordinates(row, col)
    lons, lats = frame.lon_lat(np.array([x]), np.array([y]))
    return [round(float(lats[0]), 6), round(float(lons[0]), 6)]


def far_field_pixel(frame: Grid) -> tuple[int, int]:
    """(row, col) on the frame of a land pixel inside every product's window (the frame's central
    3/4 x 7/8), where the true velocity is under 2 % of its peak, as far as possible from the
    peak."""
    model = scene_model(frame)
    speed = np.abs(model.los_velocity())
    rows, cols = np.indices(speed.shape)
    height, width = speed.shape
    inside = (
        (rows > height // 8 + 2)
        & (rows < height - height // 8 - 3)
        & (cols > width // 16 + 2)
        & (cols < width - width // 16 - 3)
    )
    stable = inside & model.valid & ~binary_dilation(model.water, iterations=3)
    stable &= speed < 0.02 * speed.max()
    peak_row, peak_col = np.unravel_index(int(np.argmax(speed)), speed.shape)
    distance = np.where(stable, np.hypot(rows - peak_row, cols - peak_col), -1.0)
    row, col = np.unravel_index(int(np.argmax(distance)), distance.shape)
    return int(row), int(col)


# Burst products carry connected components, so MintPy can correct unwrapping errors; the
# sandbox's error patches (300-900 px at 80 m) are below MintPy's default 2500-px minimum area.
BURST_SETTINGS: dict[str, Any] = {
    "unwrap_error_correction": "bridging",
    "mintpy_options": {"mintpy.unwrapError.connCompMinArea": 100},
}


# (phase, Snakemake targets) in order; each phase is one Snakemake run.
PHASES = [
    ("HyP3 products (submit, watch, download)", [paths.HYP3_STATUS]),
    ("clip to the common overlap", [paths.TIMESERIES_CLIPPED]),
    ("MintPy smallbaselineApp", [paths.VELOCITY_H5, paths.TIMESERIES_H5]),
    ("export GeoTIFFs and PNGs", [paths.VELOCITY_TIF, paths.VELOCITY_PNG, paths.DISPLACEMENT_PNG]),
]


def write_project(
    work: Path,
    scenes: list[str],
    connections: int,
    timeseries: dict[str, Any],
    job_type: str = "INSAR_GAMMA",
) -> None:
    (work / "config").mkdir(parents=True, exist_ok=True)
    (work / "config" / "scenes.txt").write_text("\n".join(scenes) + "\n")
    config = {
        "processor": "hyp3",
        "pairs": None,
        "scenes": "config/scenes.txt",
        "connections": connections,
        "hyp3": {
            "api_url": "sandbox",
            "job_type": job_type,
            "poll_interval": 0.5,
            "request_timeout": 30,
            "sandbox": {"processing_seconds": 1, "state_dir": ".insarflow/sandbox"},
        },
        "timeseries": {"enabled": True, "kmz": False, **timeseries},
    }
    (work / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def run_phases(work: Path, cores: int = 2, timeout: float = 1800) -> dict[str, float]:
    """Run the workflow phase by phase; wall seconds per phase. RuntimeError with the log tail."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("SNAKEMAKE_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")]))
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("EARTHDATA_TOKEN", "sandbox-token")
    timings = {}
    for name, targets in PHASES:
        started = time.monotonic()
        result = subprocess.run(
            [
                SNAKEMAKE,
                "--snakefile",
                str(REPO / "Snakefile"),
                "--profile",
                str(REPO / "profiles" / "local"),
                "--cores",
                str(cores),
                *targets,
            ],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        timings[name] = time.monotonic() - started
        if result.returncode != 0:
            raise RuntimeError(
                f"{name} failed ({result.returncode}):\n{result.stdout[-3000:]}\n"
                f"{result.stderr[-5000:]}"
            )
    return timings
