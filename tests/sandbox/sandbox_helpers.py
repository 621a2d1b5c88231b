"""Scene names and small helpers shared by the sandbox tests."""

from __future__ import annotations

from datetime import date, timedelta

import requests

# A real S1A track (relative orbit 134): 2020-01-04 was absolute orbit 30656, 175 orbits a cycle.
_FIRST_DATE = date(2020, 1, 4)
_FIRST_ORBIT = 30656


def slc(day: date, mission: str = "A", pol: str = "DV") -> str:
    """A valid Sentinel-1 IW SLC name of the test track acquired on ``day``."""
    cycles = (day - _FIRST_DATE).days // 12
    orbit = _FIRST_ORBIT + 175 * cycles
    start = f"{day:%Y%m%d}T014512"
    stop = f"{day:%Y%m%d}T014539"
    datatake = (0x038A1C + cycles) % 0xFFFFFF
    return f"S1{mission}_IW_SLC__1S{pol}_{start}_{stop}_{orbit:06d}_{datatake:06X}_{cycles % 0xFFFF:04X}"


def slc_pairs(count: int, start: date = _FIRST_DATE) -> list[tuple[str, str]]:
    """``count`` distinct sequential 12-day pairs."""
    return [
        (slc(start + timedelta(days=12 * i)), slc(start + timedelta(days=12 * (i + 1))))
        for i in range(count)
    ]


def burst(day: date, burst_id: int = 136231, swath: int = 2, pol: str = "VV") -> str:
    return f"S1_{burst_id:06d}_IW{swath}_{day:%Y%m%d}T022312_{pol}_7C85-BURST"


def insar_job(reference: str, secondary: str, name: str | None = None, **options: object) -> dict:
    """A job dict like hyp3_sdk.HyP3.prepare_insar_job makes (every option sent explicitly)."""
    parameters = {
        "granules": [reference, secondary],
        "include_look_vectors": False,
        "include_los_displacement": False,
        "include_inc_map": False,
        "looks": "20x4",
        "include_dem": False,
        "include_wrapped_phase": False,
        "apply_water_mask": False,
        "include_displacement_maps": False,
        "phase_filter_parameter": 0.6,
    }
    parameters.update(options)
    job: dict = {"job_type": "INSAR_GAMMA", "job_parameters": parameters}
    if name is not None:
        job["name"] = name
    return job


def admin(base_url: str, path: str, payload: object | None = None) -> dict:
    """Call a /_sandbox admin route (POST with a payload, GET without)."""
    url = f"{base_url}/_sandbox/{path}"
    response = (
        requests.post(url, json=payload, timeout=10)
        if payload is not None
        else requests.get(url, timeout=10)
    )
    response.raise_for_status()
    return response.json()
