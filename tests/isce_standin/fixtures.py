"""Local inputs for ISCE2 topsStack tests and benchmarks. Everything is written to disk, so
the real clients work fully offline:

* `make_safe_zips`: small Sentinel-1 IW SLC zips with realistic names. Each holds
  `<NAME>.SAFE/manifest.safe` (with a `<gml:coordinates>` footprint),
  `preview/map-overlay.kml` (gx:LatLonQuad) and `annotation/s1?-iw?-slc-??-*.xml` (burst
  count, pass, slant range time, radar frequency).
* `make_orbit_files`: POEORB EOF files whose names and validity windows cover the scenes.
  sentineleof's search-path mode then finds nothing to download, and the orbit match of
  stackSentinel (and of the stand-in) succeeds.
* `make_glo30_tiles` / `make_geoid`: GeoTIFF tiles named like the Copernicus GLO-30 tile
  URLs, and a small EGM-like geoid. Pass them to `dem_stitcher.stitch_dem` with
  `dst_tile_dir=` and `geoid_path=str(...)`.
* `make_stack_project` bundles all of these; `make_benchmark_project` builds a large stack
  quickly (100 dates by default).

Bounds follow dem_stitcher's order, `(west, south, east, north)`. ISCE's `-b` takes
`'S N W E'`, which `StackProject.bbox_snwe` gives.

`STANDIN_BIN` is the directory of the ISCE stand-in executables. Put it first on PATH;
`standin_env()` builds such an environment.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import shutil
import sys
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

STANDIN_DIR = Path(__file__).resolve().parent
STANDIN_BIN = STANDIN_DIR / "bin"

# A default IW frame footprint near Mexico City (the topsStack README example area)
DEFAULT_FRAME_BOUNDS = (-100.2, 18.9, -98.2, 20.5)
SAFE_TIME = "%Y%m%dT%H%M%S"
REPEAT_DAYS = 12
ORBITS_PER_REPEAT = 175
# (time, absolute orbit) per mission. S1A, S1C and S1D come from real product names; S1B is
# approximate. They only set the scale of the absolute orbit numbers.
ORBIT_ANCHORS = {
    "S1A": (dt.datetime(2026, 6, 23, 22, 50, 50), 65103),
    "S1B": (dt.datetime(2018, 4, 2, 4, 30, 12), 10311),
    "S1C": (dt.datetime(2026, 5, 19, 21, 40, 4), 7728),
    "S1D": (dt.datetime(2026, 6, 13, 21, 40, 15), 3223),
}
# slant range time (s) of the first sample of IW1-3
SLANT_RANGE_TIMES = (5.331004416e-03, 5.997725285e-03, 6.587021413e-03)
RADAR_FREQUENCY = 5.405000454334350e09


# What a user's work directory holds to run the workflow (tests and the benchmark copy it).
WORKFLOW_FILES = ("Snakefile", "rules", "config", "envs", "scripts", "report")


def copy_workflow(work: Path) -> None:
    """Copy the repo's workflow files into the work directory ``work``."""
    repo = STANDIN_DIR.parents[1]
    for name in WORKFLOW_FILES:
        source = repo / name
        if source.is_dir():
            shutil.copytree(source, work / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, work / name)


def standin_env(
    base: Mapping[str, str] | None = None, *, python_first: bool = True, **extra: str
) -> dict[str, str]:
    """A copy of `base` (default: os.environ) with the stand-in's bin/ first on PATH, plus
    `extra` variables (e.g. ISCE_STANDIN_LOG=...). With `python_first`, the directory of the
    running interpreter comes next, so the wrappers' `#!/usr/bin/env python3` picks this
    interpreter (in the venv: no pyenv shim in between)."""
    env = dict(os.environ if base is None else base)
    head = [str(STANDIN_BIN)]
    if python_first:
        head.append(str(Path(sys.executable).parent))
    env["PATH"] = os.pathsep.join([*head, env.get("PATH", "")])
    env.update(extra)
    return env


def relative_orbit(mission: str, absolute_orbit: int) -> int:
    """Relative orbit (track) from the absolute orbit; the formula of hyp3's
    check_same_relative_orbits."""
    offsets = {"S1A": 73, "S1B": 27, "S1C": 172 if absolute_orbit <= 8018 else 99, "S1D": 42}
    offset = offsets[mission]
    return ((absolute_orbit - offset) % ORBITS_PER_REPEAT) + 1


def _absolute_orbit_near(mission: str, when: dt.datetime, track: int) -> int:
    """The absolute orbit on `track` nearest to the orbit flown at `when`."""
    anchor_time, anchor_orbit = ORBIT_ANCHORS[mission]
    days = (when - anchor_time).total_seconds() / 86400.0
    estimate = round(anchor_orbit + days * ORBITS_PER_REPEAT / REPEAT_DAYS)
    candidates = [
        orbit
        for orbit in range(estimate - ORBITS_PER_REPEAT, estimate + ORBITS_PER_REPEAT + 1)
        if orbit > 0 and relative_orbit(mission, orbit) == track
    ]
    return min(candidates, key=lambda orbit: abs(orbit - estimate))


@dataclass(frozen=True)
class SafeScene:
    """One SAFE zip written by `make_safe_zips`."""

    path: Path
    mission: str
    start: dt.datetime
    stop: dt.datetime
    absolute_orbit: int
    relative_orbit: int
    flight_direction: str
    # corners (lon, lat) in gx:LatLonQuad order
    footprint: tuple[tuple[float, float], ...]

    @property
    def name(self) -> str:
        """The product name without `.zip`."""
        return self.path.name.removesuffix(".zip")

    @property
    def date(self) -> str:
        return self.start.strftime("%Y%m%d")


def _quad(bounds: Sequence[float], ascending: bool) -> tuple[tuple[float, float], ...]:
    """A slanted frame footprint whose envelope is `bounds`, in the corner order of real
    map-overlay.kml files (first line first)."""
    west, south, east, north = bounds
    dx, dy = 0.12 * (east - west), 0.2 * (north - south)
    if ascending:
        corners = ((east - dx, south), (west, south + dy), (west + dx, north), (east, north - dy))
    else:
        corners = ((west + dx, north), (east, north - dy), (east - dx, south), (west, south + dy))
    return tuple((round(lon, 6), round(lat, 6)) for lon, lat in corners)


def _kml(footprint: Sequence[tuple[float, float]]) -> str:
    coordinates = " ".join(f"{lon:.6f},{lat:.6f}" for lon, lat in footprint)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:gml="http://www.opengis.net/gml" \
xmlns:xfdu="urn:ccsds:schema:xfdu:1" xmlns:safe="http://www.esa.int/safe/sentinel-1.0" \
xmlns:s1="http://www.esa.int/safe/sentinel-1.0/sentinel-1" \
xmlns:s1sar="http://www.esa.int/safe/sentinel-1.0/sentinel-1/sar" \
xmlns:s1sarl1="http://www.esa.int/safe/sentinel-1.0/sentinel-1/sar/level-1" \
xmlns:gx="http://www.google.com/kml/ext/2.2">
  <Document>
    <name>Sentinel-1 Map Overlay</name>
    <Folder>
      <name>Sentinel-1 Scene Overlay</name>
      <GroundOverlay>
        <name>Sentinel-1 Image Overlay</name>
        <Icon>
          <href>quick-look.png</href>
        </Icon>
        <gx:LatLonQuad>
          <coordinates>{coordinates}</coordinates>
        </gx:LatLonQuad>
      </GroundOverlay>
    </Folder>
  </Document>
</kml>
"""


def _iso(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.%f")


def _manifest(
    scene: SafeScene, datatake: int, polarizations: Sequence[str], names: list[str]
) -> str:
    gml = " ".join(f"{lat:.6f},{lon:.6f}" for lon, lat in scene.footprint)
    number = scene.mission[-1]
    nssdc = {"A": "2014-016A", "B": "2016-025A", "C": "2024-235A", "D": "2025-260A"}[number]
    pols = "\n".join(
        f"            <s1sarl1:transmitterReceiverPolarisation>{p}"
        f"</s1sarl1:transmitterReceiverPolarisation>"
        for p in polarizations
    )
    cycle = (scene.absolute_orbit - 1) // ORBITS_PER_REPEAT + 1
    data_objects = "\n".join(
        f'    <dataObject ID="{Path(n).stem}" repID="s1Level1ProductSchema">\n'
        f'      <byteStream mimeType="text/xml">\n'
        f'        <fileLocation locatorType="URL" href="./{n}"/>\n'
        f"      </byteStream>\n"
        f"    </dataObject>"
        for n in names
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<xfdu:XFDU xmlns:xfdu="urn:ccsds:schema:xfdu:1" xmlns:gml="http://www.opengis.net/gml" \
xmlns:safe="http://www.esa.int/safe/sentinel-1.0" \
xmlns:s1="http://www.esa.int/safe/sentinel-1.0/sentinel-1" \
xmlns:s1sar="http://www.esa.int/safe/sentinel-1.0/sentinel-1/sar" \
xmlns:s1sarl1="http://www.esa.int/safe/sentinel-1.0/sentinel-1/sar/level-1" \
version="esa/safe/sentinel-1.0/sentinel-1/sar/level-1/slc/standard/iwdp">
  <informationPackageMap>
    <xfdu:contentUnit unitType="SAFE Archive Information Package" \
textInfo="Sentinel-1 IW Level-1 SLC Product" \
dmdID="acquisitionPeriod platform generalProductInformation measurementOrbitReference \
measurementFrameSet" pdiID="processing"/>
  </informationPackageMap>
  <metadataSection>
    <metadataObject ID="processing" classification="PROVENANCE" category="PDI">
      <metadataWrap mimeType="text/xml" vocabularyName="SAFE" textInfo="Processing">
        <xmlData>
          <safe:processing name="SLC Processing" start="{_iso(scene.stop)}" \
stop="{_iso(scene.stop + dt.timedelta(minutes=40))}">
            <safe:facility country="United Kingdom" name="Copernicus S1 Core Ground Segment" \
organisation="ESA" site="Newport">
              <safe:software name="Sentinel-1 IPF" version="003.71"/>
            </safe:facility>
          </safe:processing>
        </xmlData>
      </metadataWrap>
    </metadataObject>
    <metadataObject ID="platform" classification="DESCRIPTION" category="DMD">
      <metadataWrap mimeType="text/xml" vocabularyName="SAFE" textInfo="Platform Description">
        <xmlData>
          <safe:platform>
            <safe:nssdcIdentifier>{nssdc}</safe:nssdcIdentifier>
            <safe:familyName>SENTINEL-1</safe:familyName>
            <safe:number>{number}</safe:number>
            <safe:instrument>
              <safe:familyName abbreviation="SAR">Synthetic Aperture Radar</safe:familyName>
              <safe:extension>
                <s1sarl1:instrumentMode>
                  <s1sarl1:mode>IW</s1sarl1:mode>
                  <s1sarl1:swath>IW1</s1sarl1:swath>
                  <s1sarl1:swath>IW2</s1sarl1:swath>
                  <s1sarl1:swath>IW3</s1sarl1:swath>
                </s1sarl1:instrumentMode>
              </safe:extension>
            </safe:instrument>
          </safe:platform>
        </xmlData>
      </metadataWrap>
    </metadataObject>
    <metadataObject ID="generalProductInformation" classification="DESCRIPTION" category="DMD">
      <metadataWrap mimeType="text/xml" vocabularyName="SAFE" textInfo="General Product \
Information">
        <xmlData>
          <s1sarl1:standAloneProductInformation>
            <s1sarl1:productClass>S</s1sarl1:productClass>
            <s1sarl1:productClassDescription>SAR Standard L1 Product\
</s1sarl1:productClassDescription>
            <s1sarl1:productComposition>Slice</s1sarl1:productComposition>
            <s1sarl1:productType>SLC</s1sarl1:productType>
            <s1sarl1:productTimelinessCategory>Fast-24h</s1sarl1:productTimelinessCategory>
            <s1sarl1:instrumentConfigurationID>7</s1sarl1:instrumentConfigurationID>
            <s1sarl1:missionDataTakeID>{datatake}</s1sarl1:missionDataTakeID>
{pols}
            <s1sarl1:sliceProductFlag>true</s1sarl1:sliceProductFlag>
            <s1sarl1:sliceNumber>4</s1sarl1:sliceNumber>
            <s1sarl1:totalSlices>9</s1sarl1:totalSlices>
          </s1sarl1:standAloneProductInformation>
        </xmlData>
      </metadataWrap>
    </metadataObject>
    <metadataObject ID="acquisitionPeriod" classification="DESCRIPTION" category="DMD">
      <metadataWrap mimeType="text/xml" vocabularyName="SAFE" textInfo="Acquisition Period">
        <xmlData>
          <safe:acquisitionPeriod>
            <safe:startTime>{_iso(scene.start)}</safe:startTime>
            <safe:stopTime>{_iso(scene.stop)}</safe:stopTime>
          </safe:acquisitionPeriod>
        </xmlData>
      </metadataWrap>
    </metadataObject>
    <metadataObject ID="measurementOrbitReference" classification="DESCRIPTION" category="DMD">
      <metadataWrap mimeType="text/xml" vocabularyName="SAFE" textInfo="Orbit Reference">
        <xmlData>
          <safe:orbitReference>
            <safe:orbitNumber type="start">{scene.absolute_orbit}</safe:orbitNumber>
            <safe:orbitNumber type="stop">{scene.absolute_orbit}</safe:orbitNumber>
            <safe:relativeOrbitNumber type="start">{scene.relative_orbit}\
</safe:relativeOrbitNumber>
            <safe:relativeOrbitNumber type="stop">{scene.relative_orbit}\
</safe:relativeOrbitNumber>
            <safe:cycleNumber>{cycle}</safe:cycleNumber>
            <safe:phaseIdentifier>1</safe:phaseIdentifier>
            <safe:extension>
              <s1:orbitProperties>
                <s1:pass>{scene.flight_direction}</s1:pass>
                <s1:ascendingNodeTime>{_iso(scene.start - dt.timedelta(minutes=25))}\
</s1:ascendingNodeTime>
              </s1:orbitProperties>
            </safe:extension>
          </safe:orbitReference>
        </xmlData>
      </metadataWrap>
    </metadataObject>
    <metadataObject ID="measurementFrameSet" classification="DESCRIPTION" category="DMD">
      <metadataWrap mimeType="text/xml" vocabularyName="SAFE" textInfo="Frame Set">
        <xmlData>
          <safe:frameSet>
            <safe:frame>
              <safe:footPrint srsName="http://www.opengis.net/gml/srs/epsg.xml#4326">
                <gml:coordinates>{gml}</gml:coordinates>
              </safe:footPrint>
            </safe:frame>
          </safe:frameSet>
        </xmlData>
      </metadataWrap>
    </metadataObject>
  </metadataSection>
  <dataObjectSection>
{data_objects}
  </dataObjectSection>
</xfdu:XFDU>
"""


def _annotation(
    scene: SafeScene, swath: int, polarization: str, bursts: int, slant_range_time: float
) -> str:
    burst_seconds = 2.758
    heading = -12.6 if scene.flight_direction == "ASCENDING" else -167.4
    burst_xml = "\n".join(
        "      <burst>\n"
        f"        <azimuthTime>{_iso(scene.start + dt.timedelta(seconds=k * burst_seconds))}"
        "</azimuthTime>\n"
        f"        <byteOffset>{k * 1499 * 21632 * 4}</byteOffset>\n"
        "      </burst>"
        for k in range(bursts)
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<product>
  <adsHeader>
    <missionId>{scene.mission}</missionId>
    <productType>SLC</productType>
    <polarisation>{polarization}</polarisation>
    <mode>IW</mode>
    <swath>IW{swath}</swath>
    <startTime>{_iso(scene.start)}</startTime>
    <stopTime>{_iso(scene.stop)}</stopTime>
    <absoluteOrbitNumber>{scene.absolute_orbit}</absoluteOrbitNumber>
    <imageNumber>00{swath}</imageNumber>
  </adsHeader>
  <generalAnnotation>
    <productInformation>
      <pass>{scene.flight_direction.capitalize()}</pass>
      <timelinessCategory>Fast-24h</timelinessCategory>
      <platformHeading>{heading}</platformHeading>
      <projection>Slant Range</projection>
      <rangeSamplingRate>6.434523812571428e+07</rangeSamplingRate>
      <radarFrequency>{RADAR_FREQUENCY!r}</radarFrequency>
      <azimuthSteeringRate>1.590368784000000e+00</azimuthSteeringRate>
    </productInformation>
  </generalAnnotation>
  <imageAnnotation>
    <imageInformation>
      <productFirstLineUtcTime>{_iso(scene.start)}</productFirstLineUtcTime>
      <productLastLineUtcTime>{_iso(scene.stop)}</productLastLineUtcTime>
      <slantRangeTime>{slant_range_time!r}</slantRangeTime>
      <numberOfSamples>21632</numberOfSamples>
      <numberOfLines>{1499 * bursts}</numberOfLines>
    </imageInformation>
  </imageAnnotation>
  <swathTiming>
    <linesPerBurst>1499</linesPerBurst>
    <samplesPerBurst>21632</samplesPerBurst>
    <burstList count="{bursts}">
{burst_xml}
    </burstList>
  </swathTiming>
</product>
"""


def make_safe_zips(
    slc_dir: str | os.PathLike,
    dates: Iterable[str],
    *,
    mission: str = "S1A",
    relative_orbit_number: int = 78,
    bounds: Sequence[float] = DEFAULT_FRAME_BOUNDS,
    flight_direction: str = "ASCENDING",
    polarization: str = "1SDV",
    bursts_per_swath: int = 3,
    slices_per_date: int = 1,
    time_of_day: str = "123456",
    range_change_dates: Iterable[str] = (),
) -> list[SafeScene]:
    """Write one tiny Sentinel-1 IW SLC zip per date (or `slices_per_date` consecutive slices
    per date) into `slc_dir`, and return them sorted by start time.

    * Names look like `S1A_IW_SLC__1SDV_20200101T123456_20200101T123523_030623_0399D5_8C3F`.
      The absolute orbit gives `relative_orbit_number` under hyp3's formula and grows by 175
      per 12 days. Dates off the 12-day grid get the nearest orbit of that track.
    * `bounds` is the (west, south, east, north) envelope of the frame footprint. Slices of
      one date split it from south to north (first slice first when ascending).
    * Each zip holds `<NAME>.SAFE/manifest.safe`, `<NAME>.SAFE/preview/map-overlay.kml` and
      one annotation XML per swath and polarization, with `bursts_per_swath` bursts.
    * From each date in `range_change_dates` on, the swath starting ranges shift (as after a
      real instrument change). This makes ionosphere pairs with different starting ranges.
    """
    slc_dir = Path(slc_dir)
    slc_dir.mkdir(parents=True, exist_ok=True)
    dates = sorted(dates)
    if not dates:
        return []
    ascending = flight_direction.upper() == "ASCENDING"
    pols = {"1SDV": ("VH", "VV"), "1SSV": ("VV",), "1SDH": ("HH", "HV"), "1SSH": ("HH",)}[
        polarization
    ]
    hour, minute, second = int(time_of_day[:2]), int(time_of_day[2:4]), int(time_of_day[4:6])
    first = dt.datetime.strptime(dates[0], "%Y%m%d").replace(
        hour=hour, minute=minute, second=second
    )
    first_orbit = _absolute_orbit_near(mission, first, relative_orbit_number)
    changes = sorted(range_change_dates)
    west, south, east, north = bounds
    slice_height = (north - south) / slices_per_date
    scenes = []
    for date in dates:
        day_start = dt.datetime.strptime(date, "%Y%m%d").replace(
            hour=hour, minute=minute, second=second
        )
        cycles = round((day_start - first).total_seconds() / 86400.0 / REPEAT_DAYS)
        absolute = first_orbit + ORBITS_PER_REPEAT * cycles
        shift = sum(1 for change in changes if change <= date) * 1.0e-7
        for k in range(slices_per_date):
            start = day_start + dt.timedelta(seconds=25 * k)
            stop = start + dt.timedelta(seconds=27)
            row = k if ascending else slices_per_date - 1 - k
            slice_bounds = (
                west,
                south + row * slice_height,
                east,
                south + (row + 1) * slice_height,
            )
            datatake = (absolute * 17 + 0x2F000) % 0xFFFFFF
            base = (
                f"{mission}_IW_SLC__{polarization}_{start:{SAFE_TIME}}_{stop:{SAFE_TIME}}_"
                f"{absolute:06d}_{datatake:06X}"
            )
            name = f"{base}_{zlib.crc32(base.encode()) & 0xFFFF:04X}"
            scene = SafeScene(
                path=slc_dir / f"{name}.zip",
                mission=mission,
                start=start,
                stop=stop,
                absolute_orbit=absolute,
                relative_orbit=relative_orbit(mission, absolute),
                flight_direction="ASCENDING" if ascending else "DESCENDING",
                footprint=_quad(slice_bounds, ascending),
            )
            _write_safe_zip(scene, datatake, pols, bursts_per_swath, shift)
            scenes.append(scene)
    return scenes


def _write_safe_zip(
    scene: SafeScene, datatake: int, pols: Sequence[str], bursts: int, range_shift: float
) -> None:
    import zipfile

    safe = scene.name + ".SAFE"
    t0, t1 = scene.start.strftime("%Y%m%dt%H%M%S"), scene.stop.strftime("%Y%m%dt%H%M%S")
    annotations = {}
    image = 0
    for pol in pols:
        for swath in (1, 2, 3):
            image += 1
            name = (
                f"annotation/{scene.mission.lower()}-iw{swath}-slc-{pol.lower()}-{t0}-{t1}-"
                f"{scene.absolute_orbit:06d}-{datatake:06x}-{image:03d}.xml"
            )
            annotations[name] = _annotation(
                scene, swath, pol, bursts, SLANT_RANGE_TIMES[swath - 1] + range_shift
            )
    manifest = _manifest(scene, datatake, pols, sorted(annotations))
    # stored, not deflated: the members are tiny and writing stays fast for big stacks
    with zipfile.ZipFile(scene.path, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr(f"{safe}/manifest.safe", manifest)
        zf.writestr(f"{safe}/preview/map-overlay.kml", _kml(scene.footprint))
        for name, text in sorted(annotations.items()):
            zf.writestr(f"{safe}/{name}", text)


def _orbit_name(mission: str, day: dt.date) -> tuple[str, dt.datetime, dt.datetime]:
    """A POEORB name for `day`: valid from 22:59:42 the day before to 00:59:42 the day
    after, created 20 days later, as ESA names them."""
    valid_start = dt.datetime.combine(day, dt.time(22, 59, 42)) - dt.timedelta(days=1)
    valid_stop = dt.datetime.combine(day, dt.time(0, 59, 42)) + dt.timedelta(days=1)
    created = dt.datetime.combine(day, dt.time(12, 6, 54)) + dt.timedelta(days=20)
    name = (
        f"{mission}_OPER_AUX_POEORB_OPOD_{created:{SAFE_TIME}}_V{valid_start:{SAFE_TIME}}_"
        f"{valid_stop:{SAFE_TIME}}.EOF"
    )
    return name, valid_start, valid_stop


def _eof_body(name: str, mission: str, start: dt.datetime, stop: dt.datetime) -> str:
    """A small but well-formed Earth Explorer orbit file: the header plus a few state
    vectors of a circular sun-synchronous orbit."""
    radius, period = 7_071_000.0, 98.6 * 60.0
    inclination = math.radians(98.18)
    vectors = []
    step = dt.timedelta(hours=2)
    t = start
    anchor_time, anchor_orbit = ORBIT_ANCHORS[mission]
    while t <= stop:
        seconds = (t - anchor_time).total_seconds()
        orbit = anchor_orbit + int(seconds // period)
        u = 2 * math.pi * (seconds % period) / period
        node = -2 * math.pi * seconds / 86164.0
        x0, y0 = radius * math.cos(u), radius * math.sin(u) * math.cos(inclination)
        z = radius * math.sin(u) * math.sin(inclination)
        x, y = x0 * math.cos(node) - y0 * math.sin(node), x0 * math.sin(node) + y0 * math.cos(node)
        speed = 2 * math.pi * radius / period
        vx0, vy0 = -speed * math.sin(u), speed * math.cos(u) * math.cos(inclination)
        vz = speed * math.cos(u) * math.sin(inclination)
        vx = vx0 * math.cos(node) - vy0 * math.sin(node)
        vy = vx0 * math.sin(node) + vy0 * math.cos(node)
        vectors.append(
            "      <OSV>\n"
            f"        <TAI>TAI={_iso(t + dt.timedelta(seconds=37))}</TAI>\n"
            f"        <UTC>UTC={_iso(t)}</UTC>\n"
            f"        <UT1>UT1={_iso(t - dt.timedelta(microseconds=170000))}</UT1>\n"
            f"        <Absolute_Orbit>+{orbit}</Absolute_Orbit>\n"
            f'        <X unit="m">{x:.6f}</X>\n'
            f'        <Y unit="m">{y:.6f}</Y>\n'
            f'        <Z unit="m">{z:.6f}</Z>\n'
            f'        <VX unit="m/s">{vx:.6f}</VX>\n'
            f'        <VY unit="m/s">{vy:.6f}</VY>\n'
            f'        <VZ unit="m/s">{vz:.6f}</VZ>\n'
            "        <Quality>NOMINAL</Quality>\n"
            "      </OSV>"
        )
        t += step
    created = name.split("_")[5]
    return f"""<?xml version="1.0" ?>
<Earth_Explorer_File>
  <Earth_Explorer_Header>
    <Fixed_Header>
      <File_Name>{name.removesuffix(".EOF")}</File_Name>
      <File_Description>Precise Orbit Ephemerides (POE) Orbit File</File_Description>
      <Notes></Notes>
      <Mission>Sentinel-1{mission[-1]}</Mission>
      <File_Class>OPER</File_Class>
      <File_Type>AUX_POEORB</File_Type>
      <Validity_Period>
        <Validity_Start>UTC={start:%Y-%m-%dT%H:%M:%S}</Validity_Start>
        <Validity_Stop>UTC={stop:%Y-%m-%dT%H:%M:%S}</Validity_Stop>
      </Validity_Period>
      <File_Version>0001</File_Version>
      <Source>
        <System>OPOD</System>
        <Creator>OPOD</Creator>
        <Creator_Version>3.1.0</Creator_Version>
        <Creation_Date>UTC={dt.datetime.strptime(created, SAFE_TIME):%Y-%m-%dT%H:%M:%S}\
</Creation_Date>
      </Source>
    </Fixed_Header>
    <Variable_Header>
      <Ref_Frame>EARTH_FIXED</Ref_Frame>
      <Time_Reference>UTC</Time_Reference>
    </Variable_Header>
  </Earth_Explorer_Header>
  <Data_Block type="xml">
    <List_of_OSVs count="{len(vectors)}">
{chr(10).join(vectors)}
    </List_of_OSVs>
  </Data_Block>
</Earth_Explorer_File>
"""


def make_orbit_files(
    orbit_dir: str | os.PathLike, scenes: Iterable[SafeScene | str | os.PathLike]
) -> list[Path]:
    """Write one POEORB file per (mission, day) of `scenes` (SafeScene objects, or SAFE
    names/paths) into `orbit_dir`, covering each scene with more than the 60 s margin that
    stackSentinel and sentineleof require. Returns the paths written, sorted."""
    orbit_dir = Path(orbit_dir)
    orbit_dir.mkdir(parents=True, exist_ok=True)
    wanted = set()
    for scene in scenes:
        if isinstance(scene, SafeScene):
            wanted.add((scene.mission, scene.start.date()))
        else:
            fields = Path(scene).name.split("_")
            wanted.add((fields[0], dt.datetime.strptime(fields[5], SAFE_TIME).date()))
    paths = []
    for mission, day in sorted(wanted):
        name, start, stop = _orbit_name(mission, day)
        path = orbit_dir / name
        path.write_text(_eof_body(name, mission, start, stop))
        paths.append(path)
    return paths


def terrain_height(lon, lat):
    """The smooth, deterministic orthometric height (m) of the DEM tiles of
    `make_glo30_tiles`, for scalars or numpy arrays (degrees)."""
    import numpy as np

    return 1500.0 + 600.0 * np.sin(np.radians(lat) * 90.0) * np.cos(np.radians(lon) * 70.0)


def geoid_height(lon, lat):
    """The geoid undulation (m) of `make_geoid`, an EGM2008-like smooth field, for scalars
    or numpy arrays (degrees)."""
    import numpy as np

    return -8.0 + 4.0 * np.sin(np.radians(lat) * 12.0) * np.cos(np.radians(lon) * 9.0)


def make_glo30_tiles(
    tile_dir: str | os.PathLike,
    bounds: Sequence[float],
    *,
    pixels_per_degree: int = 120,
) -> list[Path]:
    """Write a GeoTIFF for every Copernicus GLO-30 tile that dem_stitcher would fetch for
    `bounds` (west, south, east, north). Each is named like its URL's basename, e.g.
    `Copernicus_DSM_COG_10_N19_00_W100_00_DEM.tif`. dem_stitcher uses a pre-seeded
    `dst_tile_dir` file and downloads nothing.

    The tiles use the real tiles' grid convention at a coarser spacing
    (1/`pixels_per_degree` degree, 120 px = 30 arcsec): EPSG:4326, tag AREA_OR_POINT=Point,
    and the first sample centred on the tile's north-west corner. Heights come from
    `terrain_height`.
    """
    import numpy as np
    import rasterio
    from dem_stitcher.datasets import get_overlapping_dem_tiles
    from rasterio.transform import from_origin

    tile_dir = Path(tile_dir)
    tile_dir.mkdir(parents=True, exist_ok=True)
    tiles = get_overlapping_dem_tiles(list(bounds), "glo_30")
    res = 1.0 / pixels_per_degree
    paths = []
    for url, geometry in zip(tiles.url, tiles.geometry, strict=True):
        west, _, _, north = geometry.bounds
        n = pixels_per_degree
        lons = west + res * np.arange(n)
        lats = north - res * np.arange(n)
        lon_grid, lat_grid = np.meshgrid(lons, lats)
        heights = terrain_height(lon_grid, lat_grid).astype("float32")
        path = tile_dir / url.rsplit("/", 1)[1]
        profile = {
            "driver": "GTiff",
            "dtype": "float32",
            "count": 1,
            "width": n,
            "height": n,
            "crs": "EPSG:4326",
            # pixel-is-point: the sample at row 0, col 0 sits on (west, north)
            "transform": from_origin(west - res / 2, north + res / 2, res, res),
            "compress": "deflate",
        }
        with rasterio.open(path, "w", **profile) as ds:
            ds.write(heights, 1)
            ds.update_tags(AREA_OR_POINT="Point")
        paths.append(path)
    return sorted(paths)


def make_geoid(
    path: str | os.PathLike,
    bounds: Sequence[float],
    *,
    resolution_deg: float = 1.0 / 12.0,
    buffer_deg: float = 1.0,
) -> Path:
    """Write a small EPSG:4326 float32 geoid GeoTIFF (heights from `geoid_height`) that
    covers `bounds` plus `buffer_deg` on every side. Use it as
    `stitch_dem(..., geoid_path=str(path))`; dem_stitcher rejects a Path object there."""
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    west = math.floor(bounds[0] - buffer_deg)
    south = math.floor(bounds[1] - buffer_deg)
    east = math.ceil(bounds[2] + buffer_deg)
    north = math.ceil(bounds[3] + buffer_deg)
    width = round((east - west) / resolution_deg)
    height = round((north - south) / resolution_deg)
    lons = west + resolution_deg * (np.arange(width) + 0.5)
    lats = north - resolution_deg * (np.arange(height) + 0.5)
    lon_grid, lat_grid = np.meshgrid(lons, lats)
    values = geoid_height(lon_grid, lat_grid).astype("float32")
    profile = {
        "driver": "GTiff",
        "dtype": "float32",
        "count": 1,
        "width": width,
        "height": height,
        "crs": "EPSG:4326",
        "transform": from_origin(west, north, resolution_deg, resolution_deg),
        "nodata": -32767.0,
    }
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(values, 1)
    return path


@dataclass
class StackProject:
    """The inputs of one topsStack run, as `make_stack_project` lays them out under `root`."""

    root: Path
    slc_dir: Path
    orbit_dir: Path
    aux_dir: Path
    dem_tile_dir: Path
    geoid_path: Path
    scenes: list[SafeScene]
    orbit_files: list[Path]
    dem_tiles: list[Path]
    frame_bounds: tuple[float, float, float, float]
    dem_bounds: tuple[float, float, float, float]
    dates: list[str] = field(default_factory=list)

    @property
    def bbox_snwe(self) -> str:
        """An area of interest inside every frame, in ISCE's `-b 'S N W E'` form."""
        west, south, east, north = self.frame_bounds
        dy, dx = (north - south) / 4.0, (east - west) / 4.0
        return f"{south + dy:.3f} {north - dy:.3f} {west + dx:.3f} {east - dx:.3f}"

    def stack_sentinel_argv(self, work_dir: str | os.PathLike, dem: str | os.PathLike) -> list[str]:
        """The required stackSentinel.py options (-s -o -a -d -w) for this project."""
        return [
            "-s",
            str(self.slc_dir),
            "-o",
            str(self.orbit_dir),
            "-a",
            str(self.aux_dir),
            "-d",
            str(dem),
            "-w",
            str(work_dir),
        ]


def make_stack_project(
    root: str | os.PathLike,
    dates: Iterable[str],
    *,
    mission: str = "S1A",
    relative_orbit_number: int = 78,
    frame_bounds: Sequence[float] = DEFAULT_FRAME_BOUNDS,
    flight_direction: str = "ASCENDING",
    bursts_per_swath: int = 3,
    slices_per_date: int = 1,
    range_change_dates: Iterable[str] = (),
    pixels_per_degree: int = 120,
    orbits: bool = True,
) -> StackProject:
    """Lay out everything a topsStack run reads, under `root`:

    * `root/SLC/`: SAFE zips (`make_safe_zips`);
    * `root/orbits/`: covering POEORB files (`make_orbit_files`; skipped with
      `orbits=False`, e.g. to test a missing orbit);
    * `root/aux/`: an empty AUX_CAL directory (stackSentinel requires -a; an empty one is
      what ISCE users pass);
    * `root/dem_tiles/`: GLO-30 tiles for `dem_bounds`, the whole-degree envelope of the
      frame grown by 0.5 degree on each side;
    * `root/geoid/egm08_test.tif`: the geoid for `dem_bounds` (+1 degree).
    """
    root = Path(root)
    dates = sorted(dates)
    slc_dir, orbit_dir, aux_dir = root / "SLC", root / "orbits", root / "aux"
    aux_dir.mkdir(parents=True, exist_ok=True)
    scenes = make_safe_zips(
        slc_dir,
        dates,
        mission=mission,
        relative_orbit_number=relative_orbit_number,
        bounds=frame_bounds,
        flight_direction=flight_direction,
        bursts_per_swath=bursts_per_swath,
        slices_per_date=slices_per_date,
        range_change_dates=range_change_dates,
    )
    orbit_files = make_orbit_files(orbit_dir, scenes) if orbits else []
    orbit_dir.mkdir(parents=True, exist_ok=True)
    west, south, east, north = frame_bounds
    dem_bounds = (
        float(math.floor(west - 0.5)),
        float(math.floor(south - 0.5)),
        float(math.ceil(east + 0.5)),
        float(math.ceil(north + 0.5)),
    )
    dem_tiles = make_glo30_tiles(
        root / "dem_tiles", dem_bounds, pixels_per_degree=pixels_per_degree
    )
    geoid = make_geoid(root / "geoid" / "egm08_test.tif", dem_bounds)
    return StackProject(
        root=root,
        slc_dir=slc_dir,
        orbit_dir=orbit_dir,
        aux_dir=aux_dir,
        dem_tile_dir=root / "dem_tiles",
        geoid_path=geoid,
        scenes=scenes,
        orbit_files=orbit_files,
        dem_tiles=dem_tiles,
        frame_bounds=tuple(float(v) for v in frame_bounds),
        dem_bounds=dem_bounds,
        dates=dates,
    )


def repeat_dates(count: int, start: str = "20200101", step_days: int = REPEAT_DAYS) -> list[str]:
    """`count` dates `step_days` apart, starting at `start` (YYYYMMDD)."""
    first = dt.datetime.strptime(start, "%Y%m%d")
    return [(first + dt.timedelta(days=step_days * i)).strftime("%Y%m%d") for i in range(count)]


def make_benchmark_project(
    root: str | os.PathLike, n_dates: int = 100, *, start: str = "20200101", **kwargs
) -> StackProject:
    """A large stack for the workflow benchmark: `n_dates` dates on the 12-day repeat, with
    SAFE zips, orbits, DEM tiles and geoid. Other options go to `make_stack_project`. It
    takes well under a few seconds for 100 dates."""
    return make_stack_project(root, repeat_dates(n_dates, start), **kwargs)
