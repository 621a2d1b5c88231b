"""What the sandbox reads out of Sentinel-1 scene and burst names (it has no CMR to ask)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

SLC_PATTERN = re.compile(
    r"^S1(?P<mission>[ABCD])_IW_(?P<product>SLC_|GRDH)_1S(?P<pol_mode>[SD])(?P<copol>[VH])_"
    r"(?P<start>\d{8}T\d{6})_(?P<stop>\d{8}T\d{6})_(?P<orbit>\d{6})_(?P<datatake>[0-9A-F]{6})_"
    r"(?P<pid>[0-9A-F]{4})$"
)
BURST_PATTERN = re.compile(
    r"^S1_(?P<burst_id>\d{6})_IW(?P<swath>[1-3])_(?P<start>\d{8}T\d{6})_(?P<pol>VV|VH|HH|HV)_"
    r"(?P<pid>[0-9A-F]{4})-BURST$"
)

# Relative orbit = ((absolute orbit - offset) mod 175) + 1, offset per mission (S1C changed after
# its orbit 8018); this is the formula HyP3 itself uses to compare scenes.
_ORBIT_OFFSETS = {"A": 73, "B": 27, "D": 42}
_ORBITS_PER_CYCLE = 175
_BURSTS_PER_CYCLE = 375887  # ESA burst IDs count the bursts of the 175-orbit, 12-day cycle


class GranuleNameError(ValueError):
    """A name the schema accepted but that does not parse as a real scene (the job will FAIL)."""


@dataclass(frozen=True)
class Scene:
    """One SLC/GRD scene as far as its name tells."""

    name: str
    mission: str
    copol: str
    dual_pol: bool
    start: datetime
    absolute_orbit: int

    @property
    def relative_orbit(self) -> int:
        if self.mission == "C":
            offset = 172 if self.absolute_orbit <= 8018 else 99
        else:
            offset = _ORBIT_OFFSETS[self.mission]
        return ((self.absolute_orbit - offset) % _ORBITS_PER_CYCLE) + 1


@dataclass(frozen=True)
class Burst:
    """One IW burst as far as its name tells."""

    name: str
    burst_id: int
    swath: int
    start: datetime
    pol: str

    @property
    def relative_orbit(self) -> int:
        # ESA burst IDs count along the 12-day cycle.
        position = (self.burst_id - 1) * _ORBITS_PER_CYCLE // _BURSTS_PER_CYCLE
        return min(position + 1, _ORBITS_PER_CYCLE)

    @property
    def id_swath(self) -> str:
        return f"{self.burst_id:06d}_IW{self.swath}"


def _parse_time(text: str, name: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        raise GranuleNameError(f"{name}: {text} is not a valid acquisition time") from None


def parse_scene(name: str) -> Scene:
    match = SLC_PATTERN.match(name)
    if match is None:
        raise GranuleNameError(f"{name} is not a Sentinel-1 IW SLC/GRDH scene name")
    return Scene(
        name=name,
        mission=match["mission"],
        copol=match["copol"],
        dual_pol=match["pol_mode"] == "D",
        start=_parse_time(match["start"], name),
        absolute_orbit=int(match["orbit"]),
    )


def parse_burst(name: str) -> Burst:
    match = BURST_PATTERN.match(name)
    if match is None:
        raise GranuleNameError(f"{name} is not a Sentinel-1 IW burst name")
    return Burst(
        name=name,
        burst_id=int(match["burst_id"]),
        swath=int(match["swath"]),
        start=_parse_time(match["start"], name),
        pol=match["pol"],
    )


def job_granules(job_parameters: dict) -> list[str]:
    """Every scene or burst name a job refers to (granules, or reference + secondary)."""
    names: list[str] = []
    for key in ("granules", "reference", "secondary"):
        names.extend(job_parameters.get(key) or [])
    return names
