"""Test-only stand-in for the ISCE2 topsStack executables (stackSentinel.py and the commands
its run files call).

ISCE2 cannot be installed here, and there is no Sentinel-1 data. The workflow drives these
programs through their command lines, so this module mirrors those command lines and the
files on disk:

* ``stackSentinel.py`` takes the real options and writes ``run_files/run_NN_<step>`` and
  ``configs/config_*`` in the real text format (the strings, the order, the ``&``/``wait``
  grouping and its missing trailing ``wait``). The layout was checked against isce2
  ``contrib/stack/topsStack/{stackSentinel,Stack}.py`` (v2.6.x).
* ``SentinelWrapper.py -c CFG [-s Function-N -e Function-M]`` reads the config with
  configparser, as the real one does, and "runs" each function. A function checks that the
  inputs the real module reads exist, then writes small files with the real names: ISCE
  product XMLs (``IW1.xml``) and raster triplets (binary + ISCE ``.xml`` + ``.vrt``, which
  GDAL can read). Running a step before its inputs exist fails with a one-line message, so a
  wrong step order in a workflow shows up as a failure.
* The plain commands (``subsetReference.py``, ``invertMisreg.py``,
  ``extractCommonValidRegion.py``, ``computeIon.py``, ``mergeSwathIon.py``, ``invertIon.py``)
  work the same way.

This module uses only the standard library, so whichever ``python3`` is first on PATH can run
the wrappers in ``bin/``.

Environment controls (all optional):

``ISCE_STANDIN_LOG``
    Path of a JSON-lines log. Each command appends one record: program, argv, unit, step,
    functions, start, end (``time.time()``), rc, pid and error.
``ISCE_STANDIN_DURATION``
    Seconds every command takes (default 0): half before its first write, half after its
    last. Its outputs stay locked (``flock``) until it exits; a command that reads a file
    still locked fails, as one that finds it missing does.
``ISCE_STANDIN_DURATIONS``
    ``pattern=seconds,...``. Each pattern is an fnmatch pattern, tried in order against the
    unit (e.g. ``config_igram_unw_20200101_20200113``), the step (e.g. ``unwrap``), the program
    (e.g. ``invertMisreg.py``) and the functions run (e.g. ``topo``). The first match wins,
    otherwise ``ISCE_STANDIN_DURATION`` applies.
``ISCE_STANDIN_FAIL``
    Comma-separated fnmatch patterns. A command whose unit, step or program matches exits 1
    in its last function. A pattern that matches ``<unit>:<function>`` or a function name
    fails that function. The failing function first writes half of its first output, which
    mimics a crash in the middle of a write.
``ISCE_STANDIN_FAIL_ONCE_DIR``
    With ``ISCE_STANDIN_FAIL``: fail only the first time, and remember that with a marker file
    in this directory. Use it to test retries.

Where the stand-in deliberately differs from ISCE2:

* It is stricter about inputs. For example, the real geo2rdr and resamp_withCarrier read a
  missing misregistration file as 0.0. Here that is an error when the stack was generated with
  NESD, i.e. when ``configs/config_misreg_*`` exists.
* The real ``Sentinel1_TOPS`` prints its exceptions and still exits 0. The stand-in exits 1.
* When stackSentinel finds no matching orbit, the real one would download one with
  fetchOrbit.py. The stand-in fails instead, because tests must pre-seed EOF files.
"""

from __future__ import annotations

import argparse
import configparser
import datetime as dt
import fcntl
import fnmatch
import glob
import json
import math
import os
import re
import sys
import time
from array import array
from xml.etree import ElementTree as ET

ENV_LOG = "ISCE_STANDIN_LOG"
ENV_DURATION = "ISCE_STANDIN_DURATION"
ENV_DURATIONS = "ISCE_STANDIN_DURATIONS"
ENV_FAIL = "ISCE_STANDIN_FAIL"
ENV_FAIL_ONCE_DIR = "ISCE_STANDIN_FAIL_ONCE_DIR"

SPEED_OF_LIGHT = 299792458.0
SAFE_TIME_FORMAT = "%Y%m%dT%H%M%S"
ORBIT_MARGIN = dt.timedelta(seconds=60.0)
SEP26 = "#" * 26
SEP35 = "#" * 35
GEOMETRY_LAYERS = ("lat", "lon", "los", "hgt", "shadowMask", "incLocal")
# mergeReference's multilook tool and no-data value per geometry layer (Stack.py)
GEOMETRY_MULTILOOK_TOOL = {
    "lat": "gdal",
    "lon": "gdal",
    "los": "gdal",
    "hgt": "gdal",
    "shadowMask": "isce",
    "incLocal": "gdal",
}
GEOMETRY_NO_DATA = {
    "lat": "0",
    "lon": "0",
    "los": "0",
    "hgt": None,
    "shadowMask": None,
    "incLocal": "0",
}
# Rasters are tiny: every burst and every full-resolution merged product is this size.
FULL_WIDTH, FULL_LENGTH = 27, 12

# ISCE data type -> (array typecode, values per pixel, GDAL type, bytes per pixel)
DATA_TYPES = {
    "BYTE": ("B", 1, "Byte", 1),
    "SHORT": ("h", 1, "Int16", 2),
    "INT": ("i", 1, "Int32", 4),
    "FLOAT": ("f", 1, "Float32", 4),
    "DOUBLE": ("d", 1, "Float64", 8),
    "CFLOAT": ("f", 2, "CFloat32", 8),
}
# (data type, bands) of the topo outputs, as topo.py writes them
GEOMETRY_TYPES = {
    "lat": ("DOUBLE", 1),
    "lon": ("DOUBLE", 1),
    "hgt": ("DOUBLE", 1),
    "los": ("FLOAT", 2),
    "shadowMask": ("BYTE", 1),
    "incLocal": ("FLOAT", 2),
}


class StandinError(Exception):
    """A failure that the real program would hit too. It is printed as one line and the
    program exits with status 1."""


class InjectedFailure(StandinError):
    """A failure requested through ISCE_STANDIN_FAIL."""


# --------------------------------------------------------------------------------------------
# Job bookkeeping: durations, injected failures, run log, and writing outputs
# --------------------------------------------------------------------------------------------


def _patterns(value: str | None) -> list[str]:
    return [p.strip() for p in (value or "").split(",") if p.strip()]


def _matches(patterns: list[str], names: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(n, p) for p in patterns for n in names if n)


def _duration_for(names: list[str]) -> float:
    for item in _patterns(os.environ.get(ENV_DURATIONS)):
        pattern, sep, seconds = item.rpartition("=")
        if not sep:
            raise StandinError(f"{ENV_DURATIONS}: {item!r} is not pattern=seconds")
        if _matches([pattern], names):
            return float(seconds)
    return float(os.environ.get(ENV_DURATION) or 0.0)


class Job:
    """One run of one program. It decides the duration and any injected failure, checks
    inputs, writes outputs and appends the run-log record."""

    def __init__(self, program: str, argv: list[str]) -> None:
        self.program = program
        self.argv = list(argv)
        self.unit = os.path.splitext(program)[0]
        self.step = self.unit
        self.functions: list[str] = [self.unit]
        self.config_path: str | None = None
        self._fail_function: str | None = None
        self._current: str | None = None
        self._slept = False
        self._seconds = 0.0
        # files this job wrote, each kept open with an exclusive lock until the process ends:
        # a command that reads one of them before this one has finished fails (see `need`)
        self._held: dict[str, int] = {}
        self.start = time.time()

    def describe(self, unit: str, step: str, functions: list[str]) -> None:
        """Names this job; the duration and any failure are decided from these names."""
        self.unit, self.step, self.functions = unit, step, list(functions) or [unit]
        self._current = self.functions[0]
        self._fail_function = self._decide_failure()

    def _decide_failure(self) -> str | None:
        patterns = _patterns(os.environ.get(ENV_FAIL))
        if not patterns:
            return None
        target = None
        for function in self.functions:
            if _matches(patterns, [f"{self.unit}:{function}", function]):
                target = function
                break
        if target is None and _matches(patterns, [self.unit, self.step, self.program]):
            target = self.functions[-1]
        return target

    def _take_failure(self) -> bool:
        """True when the injected failure happens now. With ISCE_STANDIN_FAIL_ONCE_DIR only
        the first attempt that gets this far fails; a marker file remembers it."""
        once_dir = os.environ.get(ENV_FAIL_ONCE_DIR)
        if not once_dir:
            return True
        os.makedirs(once_dir, exist_ok=True)
        name = re.sub(r"[^\w.-]", "_", f"{self.unit}__{self._fail_function}")
        try:
            # O_EXCL: of two concurrent attempts only one takes the failure
            os.close(os.open(os.path.join(once_dir, name), os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return False
        return True

    def enter(self, function: str) -> None:
        self._current = function

    def _before_write(self) -> bool:
        """Called before each write. The job's duration is spent half before its first write
        (outputs missing) and half after its last (outputs there but locked, see `finish`).
        Returns True when this write must be cut short by an injected failure."""
        if not self._slept:
            self._slept = True
            self._seconds = _duration_for([self.unit, self.step, self.program, *self.functions])
            if self._seconds > 0:
                time.sleep(self._seconds / 2)
        if self._fail_function is None or self._current != self._fail_function:
            return False
        if not self._take_failure():
            self._fail_function = None
            return False
        return True

    def _injected(self, path: str) -> InjectedFailure:
        return InjectedFailure(
            f"injected failure ({ENV_FAIL}) in {self.unit} function {self._current}; "
            f"left a partial {path}"
        )

    def finish(self) -> None:
        """The second half of the job's duration, with its outputs written but still locked."""
        if not self._slept:
            self._slept = True
            self._seconds = _duration_for([self.unit, self.step, self.program, *self.functions])
            time.sleep(self._seconds)
        elif self._seconds > 0:
            time.sleep(self._seconds / 2)

    # -- inputs ---------------------------------------------------------------------------
    def need(self, path: str, what: str = "input") -> str:
        """`path` must exist and be complete: not still held by the command writing it."""
        if not os.path.exists(path):
            raise StandinError(
                f"{self.program} ({self.unit}): {what} {path} does not exist; "
                f"the step that writes it has not run (step order?)"
            )
        self._complete(path, what)
        return path

    def _complete(self, path: str, what: str) -> None:
        if path in self._held or not os.path.isfile(path):
            return
        for candidate in (path, path + ".xml"):
            if candidate in self._held or not os.path.isfile(candidate):
                continue
            with open(candidate, "rb") as handle:
                try:
                    fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
                except BlockingIOError:
                    raise StandinError(
                        f"{self.program} ({self.unit}): {what} {candidate} is still being "
                        "written by the command that makes it, which has not finished "
                        "(step order?)"
                    ) from None
                fcntl.flock(handle, fcntl.LOCK_UN)

    def need_glob(self, pattern: str, what: str) -> list[str]:
        found = sorted(glob.glob(pattern))
        if not found:
            raise StandinError(
                f"{self.program} ({self.unit}): no {what} matches {pattern}; "
                f"the step that writes it has not run (step order?)"
            )
        for path in found:
            self._complete(path, what)
        return found

    def need_all(self, expected: dict[str, str], what: str) -> None:
        """Every file of `expected` (path -> the command that writes it) exists and is
        complete. The real programs glob and silently use whatever they find."""
        missing = [
            f"{path} ({writer})" for path, writer in expected.items() if not os.path.exists(path)
        ]
        if missing:
            raise StandinError(
                f"{self.program} ({self.unit}): {len(missing)} {what} missing, e.g. "
                f"{missing[0]}; the real program would silently leave them out (step order?)"
            )
        for path in expected:
            self._complete(path, what)

    # -- outputs --------------------------------------------------------------------------
    def write_bytes(self, path: str, data: bytes) -> None:
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        partial = self._before_write()
        if path in self._held:
            os.close(self._held.pop(path))
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        if len(self._held) < 500:  # keep well below the open-file limit
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, data[: len(data) // 2] if partial else data)
        self._held[path] = fd
        if partial:
            raise self._injected(path)

    def write_text(self, path: str, text: str) -> None:
        self.write_bytes(path, text.encode())

    def makedirs(self, path: str) -> None:
        os.makedirs(path, exist_ok=True)

    def image(
        self,
        path: str,
        data_type: str,
        *,
        width: int = FULL_WIDTH,
        length: int = FULL_LENGTH,
        bands: int = 1,
        binary: bool = True,
        vrt: str | None = None,
        image_type: str = "",
    ) -> None:
        """Writes an ISCE raster: the binary, `<path>.xml` and `<path>.vrt`."""
        scheme = "BIL" if bands > 1 else "BIP"
        if binary:
            self.write_bytes(path, _raster_bytes(data_type, width, length, bands, path))
        self.write_text(
            path + ".xml",
            _isce_image_xml(path, data_type, width, length, bands, scheme, image_type),
        )
        if vrt is None:
            vrt = _raw_vrt(path, data_type, width, length, bands)
        self.write_text(path + ".vrt", vrt)

    def product(self, path: str, **fields: object) -> None:
        """Writes an ISCE product XML (IW{n}.xml and friends); see `product_xml`."""
        self.write_text(path, product_xml(**fields))

    # -- run log --------------------------------------------------------------------------
    def log(self, rc: int, error: str | None) -> None:
        log_path = os.environ.get(ENV_LOG)
        if not log_path:
            return
        record = {
            "program": self.program,
            "argv": self.argv,
            "unit": self.unit,
            "step": self.step,
            "functions": self.functions,
            "start": self.start,
            "end": time.time(),
            "rc": rc,
            "pid": os.getpid(),
            "error": error,
        }
        line = (json.dumps(record) + "\n").encode()
        directory = os.path.dirname(log_path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        # one write() on an O_APPEND descriptor: concurrent jobs do not interleave lines
        fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)


def _raster_bytes(data_type: str, width: int, length: int, bands: int, seed: str) -> bytes:
    typecode, per_pixel, _, _ = DATA_TYPES[data_type]
    count = width * length * bands * per_pixel
    offset = sum(seed.encode()) % 97
    if typecode == "B":
        values = array("B", ((i + offset) % 3 for i in range(count)))
    elif typecode in "hi":
        values = array(typecode, ((i * 7 + offset) % 1000 for i in range(count)))
    else:
        values = array(typecode, (math.sin(0.05 * i + offset) for i in range(count)))
    if sys.byteorder != "little":
        values.byteswap()
    return values.tobytes()


def _isce_image_xml(
    path: str, data_type: str, width: int, length: int, bands: int, scheme: str, image_type: str
) -> str:
    def prop(name: str, value: object) -> str:
        return f'    <property name="{name}">\n        <value>{value}</value>\n    </property>\n'

    def coordinate(name: str, size: int) -> str:
        return (
            f'    <component name="{name}">\n'
            "        <factorymodule>isceobj.Image</factorymodule>\n"
            "        <factoryname>createCoordinate</factoryname>\n"
            f'        <property name="delta"><value>1.0</value></property>\n'
            f'        <property name="endingvalue"><value>{float(size)}</value></property>\n'
            '        <property name="family"><value>imagecoordinate</value></property>\n'
            '        <property name="name"><value>imagecoordinate_name</value></property>\n'
            f'        <property name="size"><value>{size}</value></property>\n'
            '        <property name="startingvalue"><value>0.0</value></property>\n'
            "    </component>\n"
        )

    abspath = os.path.abspath(path)
    return (
        "<imageFile>\n"
        + prop("access_mode", "read")
        + prop("byte_order", "l")
        + coordinate("coordinate1", width)
        + coordinate("coordinate2", length)
        + prop("data_type", data_type)
        + prop("extra_file_name", abspath + ".vrt")
        + prop("family", "image")
        + prop("file_name", abspath)
        + prop("image_type", image_type or "image")
        + prop("length", length)
        + prop("name", "image_name")
        + prop("number_bands", bands)
        + prop("scheme", scheme)
        + prop("width", width)
        + prop("xmax", width)
        + prop("xmin", 0)
        + "</imageFile>\n"
    )


def _raw_vrt(path: str, data_type: str, width: int, length: int, bands: int) -> str:
    _, _, gdal_type, size = DATA_TYPES[data_type]
    lines = [f'<VRTDataset rasterXSize="{width}" rasterYSize="{length}">']
    for band in range(bands):
        # BIL for several bands, BIP (one band) otherwise: what ISCE's renderVRT writes
        lines += [
            f'    <VRTRasterBand dataType="{gdal_type}" band="{band + 1}" '
            'subClass="VRTRawRasterBand">',
            f'        <SourceFilename relativeToVRT="1">{os.path.basename(path)}</SourceFilename>',
            "        <ByteOrder>LSB</ByteOrder>",
            f"        <ImageOffset>{band * width * size}</ImageOffset>",
            f"        <PixelOffset>{size}</PixelOffset>",
            f"        <LineOffset>{bands * width * size}</LineOffset>",
            "    </VRTRasterBand>",
        ]
    lines.append("</VRTDataset>")
    return "\n".join(lines) + "\n"


def _mosaic_vrt(path: str, data_type: str, sources: list[str], width: int, length: int) -> str:
    """A virtual merged product: a VRT whose sources are the burst VRTs, with paths relative
    to the merged file, as mergeBursts.py writes them (the reason isce2#247 exists)."""
    _, _, gdal_type, _ = DATA_TYPES[data_type]
    lines = [
        f'<VRTDataset rasterXSize="{width}" rasterYSize="{length}">',
        f'    <VRTRasterBand dataType="{gdal_type}" band="1">',
    ]
    here = os.path.dirname(os.path.abspath(path))
    rows = max(1, len(sources))
    for index, source in enumerate(sources):
        rel = os.path.relpath(os.path.abspath(source) + ".vrt", here)
        y = index * length // rows
        lines += [
            "        <SimpleSource>",
            f'            <SourceFilename relativeToVRT="1">{rel}</SourceFilename>',
            "            <SourceBand>1</SourceBand>",
            f'            <SrcRect xOff="0" yOff="0" xSize="{FULL_WIDTH}" ySize="{FULL_LENGTH}"/>',
            f'            <DstRect xOff="0" yOff="{y}" xSize="{width}" ySize="{length // rows}"/>',
            "        </SimpleSource>",
        ]
    lines += ["    </VRTRasterBand>", "</VRTDataset>"]
    return "\n".join(lines) + "\n"


def product_xml(
    *,
    swath: int,
    bursts: list[int],
    date: str = "",
    kind: str = "slc",
    platform: str = "",
    passdirection: str = "",
    starting_range: float = 0.0,
    extra: dict[str, object] | None = None,
) -> str:
    """A small ISCE product XML in the layout of ISCE's ProductManager: `instance` with a
    `bursts` list whose entries carry `burstnumber`. The stand-in reads back only what it
    wrote."""
    props = {
        "kind": kind,
        "swathnumber": swath,
        "numberofbursts": len(bursts),
        "sensingdate": date,
        "platform": platform,
        "passdirection": passdirection,
        "startingrange": starting_range,
        **(extra or {}),
    }
    lines = [
        "<productmanager_name>",
        '    <component name="instance">',
        "        <factorymodule>isceobj.Sensor.TOPS</factorymodule>",
        "        <factoryname>createTOPSSwathSLCProduct</factoryname>",
    ]
    lines += [
        f'        <property name="{k}"><value>{v}</value></property>' for k, v in props.items()
    ]
    lines.append('        <component name="bursts">')
    for index, number in enumerate(bursts):
        lines += [
            f'            <component name="burst{index + 1}">',
            f'                <property name="burstnumber"><value>{number}</value></property>',
            f'                <property name="swathnumber"><value>{swath}</value></property>',
            f'                <property name="numberoflines"><value>{FULL_LENGTH}</value></property>',
            f'                <property name="numberofsamples"><value>{FULL_WIDTH}</value></property>',
            '                <property name="firstvalidline"><value>1</value></property>',
            f'                <property name="numvalidlines"><value>{FULL_LENGTH - 2}</value></property>',
            "            </component>",
        ]
    lines += ["        </component>", "    </component>", "</productmanager_name>"]
    return "\n".join(lines) + "\n"


def read_product(path: str, job: Job | None = None, what: str = "product XML") -> dict:
    """Reads a product XML written by `product_xml`: a dict of its properties plus
    `bursts` (list of int). A truncated file is an error."""
    if job is not None:
        job.need(path, what)
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as exc:
        raise StandinError(
            f"cannot load {what} {path}: {exc} (a partial write from an interrupted run?)"
        ) from exc
    instance = root.find("component[@name='instance']")
    if instance is None:
        raise StandinError(f"{path} is not an ISCE product XML")
    fields: dict = {p.get("name"): p.findtext("value") for p in instance.findall("property")}
    fields["bursts"] = [
        int(b.findtext("property[@name='burstnumber']/value"))
        for b in instance.findall("component[@name='bursts']/component")
    ]
    fields["swathnumber"] = int(fields["swathnumber"])
    return fields


def image_size(path: str) -> tuple[int, int]:
    """(width, length) from an ISCE image XML `<path>.xml`."""
    root = ET.parse(path + ".xml").getroot()
    values = {p.get("name", "").lower(): p.findtext("value") for p in root.iter("property")}
    return int(values["width"]), int(values["length"])


def swath_list(directory: str) -> list[int]:
    """s1a_isce_utils.getSwathList: the swaths whose `IW{n}` directory exists."""
    return [n for n in (1, 2, 3) if os.path.exists(os.path.join(directory, f"IW{n}"))]


# --------------------------------------------------------------------------------------------
# SAFE products and orbit files
# --------------------------------------------------------------------------------------------


def parse_safe_name(path: str) -> tuple[str, dt.datetime, dt.datetime]:
    """(platform, start, stop), as Stack.sentinelSLC.get_dates reads them from the name."""
    fields = os.path.basename(path).split("_")
    try:
        start = dt.datetime.strptime(fields[5], SAFE_TIME_FORMAT)
        stop = dt.datetime.strptime(fields[6], SAFE_TIME_FORMAT)
    except (IndexError, ValueError) as exc:
        raise StandinError(f"cannot read the acquisition time from SAFE name {path}") from exc
    return fields[0], start, stop


def _read_member(safe: str, relative: str) -> bytes:
    """A file inside a SAFE, whether the SAFE is a zip or a directory."""
    import zipfile  # imported here: most commands never read a SAFE

    if safe.endswith(".zip"):
        member = os.path.basename(safe).replace("zip", "SAFE") + "/" + relative
        try:
            with zipfile.ZipFile(safe) as zf:
                return zf.read(member)
        except KeyError as exc:
            raise StandinError(f"{safe} has no {member}") from exc
        except zipfile.BadZipFile as exc:
            raise StandinError(f"{safe} is not a valid zip file") from exc
    try:
        with open(os.path.join(safe, relative), "rb") as f:
            return f.read()
    except OSError as exc:
        raise StandinError(f"{safe} has no {relative}") from exc


def _safe_members(safe: str) -> list[str]:
    import zipfile  # imported here: most commands never read a SAFE

    if safe.endswith(".zip"):
        with zipfile.ZipFile(safe) as zf:
            return zf.namelist()
    top = os.path.basename(safe.rstrip("/"))
    return [
        os.path.join(top, os.path.relpath(os.path.join(d, f), safe))
        for d, _, files in os.walk(safe)
        for f in files
    ]


def kml_points(safe: str) -> list[tuple[float, float]]:
    """The gx:LatLonQuad corners (lon, lat) of preview/map-overlay.kml."""
    text = _read_member(safe, "preview/map-overlay.kml").decode("utf-8")
    if safe.endswith(".zip"):
        # the real code cuts the text between the first <coordinates> tags
        start = text.find("<coordinates>") + len("<coordinates>")
        coordinates = text[start : text.find("</coordinates>")]
    else:
        root = ET.fromstring(text.replace("gx:", "gx"))
        quad = root.find("Document/Folder/GroundOverlay/gxLatLonQuad")
        if quad is None:
            raise StandinError(f"{safe}: preview/map-overlay.kml has no gx:LatLonQuad")
        coordinates = quad.findtext("coordinates") or ""
    points = []
    for token in coordinates.split():
        lon, lat = token.split(",")[:2]
        points.append((float(lon), float(lat)))
    if len(points) != 4:
        raise StandinError(f"{safe}: map-overlay.kml has {len(points)} corners, expected 4")
    return points


def ordered_quad(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Corners in the order of Stack.getkmlQUAD: bottom-left, bottom-right, top-right, top-left.
    The two westernmost points are the left corners. The right corner farther from the
    top-left one is the bottom-right corner."""
    by_lon = sorted(points, key=lambda p: p[0])
    bottom_left, top_left = sorted(by_lon[:2], key=lambda p: p[1])
    right = sorted(by_lon[2:], key=lambda p: math.dist(top_left, p), reverse=True)
    bottom_right, top_right = right
    return [bottom_left, bottom_right, top_right, top_left]


def _convex_intersect(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> bool:
    """Whether two convex polygons share a point (separating-axis test; touching counts)."""
    for polygon in (a, b):
        for i, (x1, y1) in enumerate(polygon):
            x2, y2 = polygon[(i + 1) % len(polygon)]
            nx, ny = y2 - y1, x1 - x2
            pa = [nx * x + ny * y for x, y in a]
            pb = [nx * x + ny * y for x, y in b]
            if max(pa) < min(pb) or max(pb) < min(pa):
                return False
    return True


def eof_validity(path: str) -> tuple[dt.datetime, dt.datetime]:
    """Validity start and stop from an EOF name (fields 6 and 7, split on '_')."""
    fields = os.path.basename(path).split("_")
    try:
        start = dt.datetime.strptime(fields[6].replace("V", ""), SAFE_TIME_FORMAT)
        stop = dt.datetime.strptime(fields[7].replace(".EOF", ""), SAFE_TIME_FORMAT)
    except (IndexError, ValueError) as exc:
        raise StandinError(f"cannot read the validity period from orbit file name {path}") from exc
    return start, stop


def find_precise_orbit(
    platform: str, start: dt.datetime, stop: dt.datetime, orbit_dir: str
) -> str | None:
    """The orbit match of Stack.sentinelSLC.get_orbit: `<dir>/<platform>*.EOF`, or else
    `<dir>/*/<platform>*.EOF`, whose validity covers the scene with a 60 s margin."""
    candidates = sorted(glob.glob(os.path.join(orbit_dir, platform + "*.EOF")))
    if not candidates:
        candidates = sorted(glob.glob(os.path.join(orbit_dir, "*", platform + "*.EOF")))
    for candidate in candidates:
        valid_start, valid_stop = eof_validity(candidate)
        if start >= valid_start + ORBIT_MARGIN and stop < valid_stop - ORBIT_MARGIN:
            return os.path.join(orbit_dir, os.path.basename(candidate))
    return None


def read_annotation(safe: str, swath: int, polarization: str) -> dict:
    """Values from annotation/s1?-iw<n>-slc-<pol>-*.xml that the stand-in uses."""
    pattern = re.compile(rf"\.SAFE/annotation/s1[a-e]-iw{swath}-slc-{polarization.lower()}-")
    names = [m for m in _safe_members(safe) if pattern.search(m)]
    if not names:
        raise StandinError(
            f"{safe} has no annotation for IW{swath} polarization {polarization} "
            f"(check -p/--polarization)"
        )
    relative = names[0].split(".SAFE/", 1)[1]
    root = ET.fromstring(_read_member(safe, relative))
    burst_list = root.find("swathTiming/burstList")
    return {
        "bursts": int(burst_list.get("count")) if burst_list is not None else 0,
        "pass": root.findtext("generalAnnotation/productInformation/pass") or "",
        "slant_range_time": float(
            root.findtext("imageAnnotation/imageInformation/slantRangeTime") or 0.0
        ),
        "radar_frequency": float(
            root.findtext("generalAnnotation/productInformation/radarFrequency") or 5.405e9
        ),
    }


class Acquisition:
    """One date of the stack (Stack.sentinelSLC): its SAFE file(s) and its orbit."""

    def __init__(self, safe_file: str) -> None:
        self.safe_file = safe_file
        self.platform, self.start_date_time, self.stop_date_time = parse_safe_name(safe_file)
        self.date = self.start_date_time.strftime("%Y%m%d")
        self.orbit: str | None = None
        self.orbit_type: str | None = None
        self._snwe: list[float] | None = None

    def get_orbit(self, orbit_dir: str, work_dir: str) -> None:
        found = find_precise_orbit(
            self.platform, self.start_date_time, self.stop_date_time, orbit_dir
        )
        if found:
            self.orbit, self.orbit_type = found, "precise"
            return
        # an orbit downloaded by an earlier run sits in <work>/orbits/<date>/
        restituted_dir = os.path.join(work_dir, "orbits/" + self.date)
        downloaded = glob.glob(os.path.join(restituted_dir, "*.EOF"))
        if downloaded:
            valid_start, valid_stop = eof_validity(downloaded[0])
            if valid_start <= self.start_date_time and self.stop_date_time < valid_stop:
                self.orbit, self.orbit_type = downloaded[0], "restituted"
                return
            raise StandinError(f"{downloaded[0]} does not cover {self.safe_file}")
        raise StandinError(
            f"no orbit file in {orbit_dir} covers {os.path.basename(self.safe_file)} "
            f"({self.start_date_time:%Y-%m-%dT%H:%M:%S}); the real stackSentinel.py would now "
            f"run fetchOrbit.py -i <SAFE> -o {restituted_dir} (network): pre-seed a covering "
            f"{self.platform}_OPER_AUX_POEORB_*.EOF in -o for tests"
        )

    def snwe(self) -> list[float]:
        """Stack.get_lat_lon_v2: south/north/west/east over the kml quads of all slices."""
        if self._snwe is None:
            points = [p for safe in self.safe_file.split() for p in ordered_quad(kml_points(safe))]
            lats = [p[1] for p in points]
            lons = [p[0] for p in points]
            self._snwe = [min(lats), max(lats), min(lons), max(lons)]
        return self._snwe

    def starting_ranges(self) -> tuple[list[float], float, str]:
        """Stack.get_starting_ranges: slant range of IW1-3 of the first slice, the radar
        wavelength and the pass direction. The real one opens the SAFE as a zip."""
        safe = sorted(self.safe_file.split(), key=lambda x: x.split("_")[-5])[0]
        if not safe.endswith(".zip"):
            raise StandinError(
                f"{safe}: ionosphere estimation reads the SAFE as a zip file "
                f"(the real get_starting_ranges uses zipfile)"
            )
        names = sorted(m for m in _safe_members(safe) if ".SAFE/annotation/s1" in m)
        if len(names) == 6:
            # dual polarization: the two polarizations share the slant ranges
            names = names[1:6:2]
        if len(names) < 3:
            raise StandinError(f"{safe}: fewer than 3 annotation files")
        ranges, wavelength, direction = [], 0.0, ""
        for k in range(3):
            root = ET.fromstring(_read_member(safe, names[k].split(".SAFE/", 1)[1]))
            tau = float(root.findtext("imageAnnotation/imageInformation/slantRangeTime"))
            ranges.append(tau * SPEED_OF_LIGHT / 2.0)
            if k == 0:
                frequency = float(
                    root.findtext("generalAnnotation/productInformation/radarFrequency")
                )
                wavelength = SPEED_OF_LIGHT / frequency
                direction = root.findtext("generalAnnotation/productInformation/pass") or ""
        return ranges, wavelength, direction


# --------------------------------------------------------------------------------------------
# stackSentinel.py
# --------------------------------------------------------------------------------------------

HELP_TEXT = """
Stack processor for Sentinel-1 data using ISCE software (test stand-in).

stackSentinel.py generates all configuration and run files required to be executed for a
stack of Sentinel-1 TOPS data. Existing workflows: slc, interferogram, correlation, offset.
"""


class _LongHelp(argparse.Action):
    def __call__(self, parser, namespace, values, option_string=None):
        print(HELP_TEXT)
        parser.exit()


def stack_sentinel_parser() -> argparse.ArgumentParser:
    """The options of stackSentinel.py: same flags, dests, defaults and choices."""
    p = argparse.ArgumentParser(
        prog="stackSentinel.py",
        description="Preparing the directory structure and config files for stack processing "
        "of Sentinel-1 TOPS data",
    )
    p.add_argument("-H", "--hh", nargs=0, action=_LongHelp, help="Display detailed help.")
    p.add_argument("-s", "--slc_directory", dest="slc_dirname", type=str, required=True)
    p.add_argument("-o", "--orbit_directory", dest="orbit_dirname", type=str, required=True)
    p.add_argument("-a", "--aux_directory", dest="aux_dirname", type=str, required=True)
    p.add_argument("-w", "--working_directory", dest="work_dir", type=str, default="./")
    p.add_argument("-d", "--dem", dest="dem", type=str, required=True)
    p.add_argument("-p", "--polarization", dest="polarization", type=str, default="vv")
    p.add_argument(
        "-W",
        "--workflow",
        dest="workflow",
        type=str,
        default="interferogram",
        choices=["slc", "correlation", "interferogram", "offset"],
    )
    aoi = p.add_argument_group("Area of interest")
    aoi.add_argument("-n", "--swath_num", dest="swath_num", type=str, default="1 2 3")
    aoi.add_argument("-b", "--bbox", dest="bbox", type=str, default=None)
    doi = p.add_argument_group("Dates of interest")
    doi.add_argument("-x", "--exclude_dates", dest="exclude_dates", type=str, default=None)
    doi.add_argument("-i", "--include_dates", dest="include_dates", type=str, default=None)
    doi.add_argument("--start_date", dest="startDate", type=str, default=None)
    doi.add_argument("--stop_date", dest="stopDate", type=str, default=None)
    coreg = p.add_argument_group("Coregistration options")
    coreg.add_argument(
        "-C",
        "--coregistration",
        dest="coregistration",
        type=str,
        default="NESD",
        choices=["geometry", "NESD"],
    )
    coreg.add_argument("-m", "--reference_date", dest="reference_date", type=str, default=None)
    coreg.add_argument("--snr_misreg_threshold", dest="snrThreshold", type=str, default="10")
    coreg.add_argument(
        "-e", "--esd_coherence_threshold", dest="esdCoherenceThreshold", type=str, default="0.85"
    )
    coreg.add_argument(
        "-O", "--num_overlap_connections", dest="num_overlap_connections", type=str, default="3"
    )
    ifgram = p.add_argument_group("Interferogram options")
    ifgram.add_argument("-c", "--num_connections", dest="num_connections", type=str, default="1")
    ifgram.add_argument("-z", "--azimuth_looks", dest="azimuthLooks", type=str, default="3")
    ifgram.add_argument("-r", "--range_looks", dest="rangeLooks", type=str, default="9")
    ifgram.add_argument("-f", "--filter_strength", dest="filtStrength", type=str, default="0.5")
    unwrap = p.add_argument_group("Phase unwrapping options")
    unwrap.add_argument(
        "-u",
        "--unw_method",
        dest="unwMethod",
        type=str,
        default="snaphu",
        choices=["icu", "snaphu"],
    )
    unwrap.add_argument(
        "-rmFilter", "--rmFilter", dest="rmFilter", action="store_true", default=False
    )
    iono = p.add_argument_group("Ionosphere options")
    iono.add_argument("--param_ion", dest="param_ion", type=str, default=None)
    iono.add_argument("--num_connections_ion", dest="num_connections_ion", type=str, default="3")
    compute = p.add_argument_group("Computing options")
    compute.add_argument("-useGPU", "--useGPU", dest="useGPU", action="store_true", default=False)
    compute.add_argument("--num_proc", "--num_process", dest="numProcess", type=int, default=1)
    compute.add_argument(
        "--num_proc4topo", "--num_process4topo", dest="numProcess4topo", type=int, default=1
    )
    compute.add_argument("-t", "--text_cmd", dest="text_cmd", type=str, default="")
    compute.add_argument(
        "-V",
        "--virtual_merge",
        dest="virtualMerge",
        type=str,
        default=None,
        choices=["True", "False"],
    )
    return p


def _parse_stack_args(argv: list[str]) -> argparse.Namespace:
    inps = stack_sentinel_parser().parse_args(argv)
    for name in ("slc_dirname", "orbit_dirname", "aux_dirname", "work_dir", "dem"):
        setattr(inps, name, os.path.abspath(getattr(inps, name)))
    # exact token test as in the real cmdLineParse: '--num_proc=4' does not count
    if any(t in argv for t in ("--num_proc", "--num_process")) and all(
        t not in argv for t in ("--num_proc4topo", "--num_process4topo")
    ):
        inps.numProcess4topo = inps.numProcess
    return inps


def _list_safes(slc_dirname: str) -> list[str]:
    if os.path.isfile(slc_dirname):
        print("reading SAFE files from: " + slc_dirname)
        with open(slc_dirname) as f:
            return [line.replace("\n", "").strip() for line in f]
    safes = sorted(glob.glob(os.path.join(slc_dirname, "S1*_IW_SLC*zip")))
    if not safes:
        safes = sorted(glob.glob(os.path.join(slc_dirname, "S1*_IW_SLC*SAFE")))
    return safes


def get_dates(inps: argparse.Namespace) -> tuple[list[str], str, list[str], dict]:
    """stackSentinel.get_dates: select the SAFEs, check their orbits, group them by date and
    choose the reference. Writes SAFE_files.txt into the current directory."""
    bbox = [float(v) for v in inps.bbox.split()] if inps.bbox is not None else None
    exclude = inps.exclude_dates.split(",") if inps.exclude_dates is not None else []
    include = inps.include_dates.split(",") if inps.include_dates is not None else []
    safes = _list_safes(inps.slc_dirname)
    if not safes:
        raise StandinError(f"No SAFE file found in {inps.slc_dirname}")
    if len(safes) == 1:
        raise StandinError("At least two SAFE file is required. Only one SAFE file found.")
    print("Number of SAFE files found: " + str(len(safes)))

    # dates compare against midnight: scenes on --stop_date itself are dropped, as in the real code
    start_limit = dt.datetime.strptime(inps.startDate or "1958-01-31", "%Y-%m-%d")
    stop_limit = dt.datetime.strptime(inps.stopDate or "2158-01-31", "%Y-%m-%d")

    safe_dict: dict[str, Acquisition] = {}
    used = []
    for safe in safes:
        acq = Acquisition(safe)
        if acq.start_date_time < start_limit or acq.start_date_time > stop_limit:
            exclude.append(acq.date)
            continue
        acq.get_orbit(inps.orbit_dirname, inps.work_dir)
        reject = False
        if acq.date not in exclude and bbox is not None:
            box = [(bbox[2], bbox[0]), (bbox[3], bbox[0]), (bbox[3], bbox[1]), (bbox[2], bbox[1])]
            reject = not _convex_intersect(ordered_quad(kml_points(safe)), box)
        if not reject:
            if acq.date not in safe_dict and acq.date not in exclude:
                safe_dict[acq.date] = acq
            elif acq.date not in exclude:
                safe_dict[acq.date].safe_file += " " + safe
            used.append(safe)
    with open("SAFE_files.txt", "w") as f:
        f.writelines(s + "\n" for s in used)
    print("Number of SAFE files to be used (cover BBOX): " + str(len(used)))

    date_list = sorted(safe_dict)
    print("Number of dates : " + str(len(date_list)))
    print(date_list)
    if bbox is not None:
        covering = {}
        for date in date_list:
            south, north = safe_dict[date].snwe()[:2]
            if (south <= bbox[0] and north >= bbox[1]) or date in include:
                covering[date] = safe_dict[date]
        safe_dict = covering
        date_list = sorted(safe_dict)
        print(f"dates covering the bbox ({len(date_list)})")
        print(date_list)

    if inps.reference_date is None:
        if not date_list:
            raise StandinError("No acquisition fulfills the temporal range and bbox requirement.")
        inps.reference_date = date_list[0]
        print("The reference date was not chosen. The first date is considered as reference date.")
    print("All SLCs will be coregistered to : " + inps.reference_date)
    if inps.reference_date not in date_list:
        raise StandinError(
            f"reference date {inps.reference_date} (-m) is not among the stack dates {date_list} "
            f"(the real script fails with ValueError: list.remove(x): x not in list)"
        )
    secondaries = [d for d in date_list if d != inps.reference_date]
    return date_list, inps.reference_date, secondaries, safe_dict


def select_neighbor_pairs(
    dates: list[str], reference: str, secondaries: list[str], num_connections: str, update: bool
) -> list[tuple[str, str]]:
    if update:
        dates = sorted([*secondaries, reference])[1:]
    n = len(dates) - 1 if num_connections == "all" else int(num_connections)
    return [
        (dates[i], dates[j])
        for i in range(len(dates) - 1)
        for j in range(i + 1, i + n + 1)
        if j < len(dates)
    ]


def check_current_status(inps: argparse.Namespace) -> tuple[list[str], str, list[str], dict, bool]:
    """stackSentinel.checkCurrentStatus: detect an existing stack (update mode)."""
    dates, reference, secondaries, safe_dict = get_dates(inps)
    coreg_dir = os.path.join(inps.work_dir, "coreg_secondarys")
    if not os.path.exists(coreg_dir):
        print("No existing stack was identified. A new stack will be generated.")
        return dates, reference, secondaries, safe_dict, False
    coreg = sorted(
        os.path.basename(p) for p in glob.glob(os.path.join(coreg_dir, "[0-9]???[0-9]?[0-9]?"))
    )
    print("An existing stack with following coregistered SLCs was found:")
    print(coreg)
    new = sorted(set(secondaries) - set(coreg))
    if not new:
        raise StandinError(
            f"The stack already exists in: {coreg_dir}. No new acquisition found to update the "
            f"stack."
        )
    if inps.coregistration in ("NESD", "nesd"):
        n = min(2 * int(inps.num_overlap_connections), len(secondaries))
    else:
        n = min(int(inps.num_connections), len(secondaries))
    latest = coreg[-1 * n :]
    if len(set(secondaries) & set(latest)) < n:
        raise StandinError(f"The original SAFE files for latest {n} coregistered SLCs is needed")
    print(f"Last {n} coregistred SLCs to be updated: ", latest)
    secondaries = sorted(latest + new)
    dates = sorted([*secondaries, reference])
    safe_dict = {d: safe_dict[d] for d in dates}
    return dates, reference, secondaries, safe_dict, True


def read_ion_params(path: str) -> dict:
    """Stack.ionParamUsr: the user ionosphere parameter file, with the real defaults."""
    params: dict = {
        "doIon": False,
        "considerBurstProperties": False,
        "ionHeight": 200.0,
        "ionFit": True,
        "ionFilteringWinsizeMax": 200,
        "ionFilteringWinsizeMin": 100,
        "ionshiftFilteringWinsizeMax": 150,
        "ionshiftFilteringWinsizeMin": 75,
        "azshiftFlag": 1,
        "maskedAreas": None,
        "numberAzimuthLooks": 50,
        "numberRangeLooks": 200,
        "numberAzimuthLooks0": 10,
        "numberRangeLooks0": 40,
    }
    keys = {
        "do ionosphere correction": ("doIon", "bool"),
        "consider burst properties in ionosphere computation": ("considerBurstProperties", "bool"),
        "height of ionosphere layer in km": ("ionHeight", float),
        "apply polynomial fit before filtering ionosphere phase": ("ionFit", "bool"),
        "maximum window size for filtering ionosphere phase": ("ionFilteringWinsizeMax", int),
        "minimum window size for filtering ionosphere phase": ("ionFilteringWinsizeMin", int),
        "maximum window size for filtering ionosphere azimuth shift": (
            "ionshiftFilteringWinsizeMax",
            int,
        ),
        "minimum window size for filtering ionosphere azimuth shift": (
            "ionshiftFilteringWinsizeMin",
            int,
        ),
        "correct phase error caused by ionosphere azimuth shift": ("azshiftFlag", int),
        "total number of azimuth looks in the ionosphere processing": ("numberAzimuthLooks", int),
        "total number of range looks in the ionosphere processing": ("numberRangeLooks", int),
        "number of azimuth looks at first stage for ionosphere phase unwrapping": (
            "numberAzimuthLooks0",
            int,
        ),
        "number of range looks at first stage for ionosphere phase unwrapping": (
            "numberRangeLooks0",
            int,
        ),
    }
    with open(path) as f:
        for raw in f:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            key, _, value = (part.strip() for part in line.partition(":"))
            if key == "areas masked out in ionospheric phase estimation":
                if value.capitalize() == "None":
                    params["maskedAreas"] = None
                else:
                    numbers = value.replace("[", "").replace("]", "").split(",")
                    if len(numbers) % 4:
                        raise StandinError("there must be four elements for each area.")
                    ints = [int(x.strip()) for x in numbers]
                    params["maskedAreas"] = [ints[i : i + 4] for i in range(0, len(ints), 4)]
            elif key in keys:
                name, kind = keys[key]
                if kind == "bool":
                    if value.capitalize() not in ("True", "False"):
                        raise StandinError(f"{path}: '{key}' must be True or False, not {value!r}")
                    params[name] = value.capitalize() == "True"
                else:
                    params[name] = kind(value)
    for total, first in (
        ("numberAzimuthLooks", "numberAzimuthLooks0"),
        ("numberRangeLooks", "numberRangeLooks0"),
    ):
        if params[total] % params[first] or not 1 <= params[first] <= params[total]:
            raise StandinError(f"{total} must be integer multiples of {first}")
    return params


def select_pairs_ionosphere(
    safe_dict: dict, num_connections: str
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """stackSentinel.selectNeighborPairsIonosphere: pairs within a group of equal swath
    starting ranges, and the pairs that link consecutive groups."""
    dates = sorted(safe_dict)
    ranges = {d: safe_dict[d].starting_ranges()[0] for d in dates}
    groups: list[list[str]] = []
    for date in dates:
        for group in groups:
            if ranges[group[0]] == ranges[date]:
                group.append(date)
                break
        else:
            groups.append([date])
    n = len(dates) - 1 if num_connections == "all" else int(num_connections)
    same_group = {d: k for k, g in enumerate(groups) for d in g}
    diff_all = [
        (dates[i], dates[j])
        for i in range(len(dates) - 1)
        for j in range(i + 1, i + n + 1)
        if j < len(dates) and same_group[dates[i]] != same_group[dates[j]]
    ]
    same = [
        (g[i], g[j])
        for g in groups
        for i in range(len(g))
        for j in range(i + 1, i + n + 1)
        if j < len(g)
    ]
    diff = []
    for k in range(len(groups) - 1):
        count = 0
        for pair in diff_all:
            members = {same_group[pair[0]], same_group[pair[1]]}
            if members == {k, k + 1}:
                diff.append(pair)
                count += 1
            if count >= n:
                break
    return same, diff


def _kv(key: str, value: object) -> str:
    return f"{key} : {value}"


def _section(
    label: str,
    module_line: str,
    items: list[str],
    *,
    lead: str = SEP26,
    comment: str | None = None,
    trail: str | None = None,
) -> str:
    lines = [lead, *([comment] if comment else []), label, module_line, *items]
    if trail:
        lines.append(trail)
    return "\n".join(lines) + "\n"


class StackWriter:
    """Writes run_files/ and configs/ exactly as Stack.run and Stack.config do."""

    def __init__(self, inps: argparse.Namespace, job: Job) -> None:
        self.inps = inps
        self.job = job
        self.w = inps.work_dir
        self.config_dir = os.path.join(self.w, "configs")
        self.run_dir = os.path.join(self.w, "run_files")
        self.number = 0
        self._name: str | None = None
        self._lines: list[str] = []

    def path(self, relative: str) -> str:
        return os.path.join(self.w, relative)

    # -- files ----------------------------------------------------------------------------
    def begin(self, step: str) -> None:
        self.end()
        self.number += 1
        self._name = f"run_{self.number:02d}_{step}"
        self._lines = []
        os.makedirs(self.run_dir, exist_ok=True)
        os.makedirs(self.config_dir, exist_ok=True)
        print("writing ", os.path.join(self.run_dir, self._name))

    def end(self) -> None:
        if self._name is not None:
            self.job.write_text(os.path.join(self.run_dir, self._name), "".join(self._lines))
            self._name = None

    def config(self, name: str, *sections: str) -> str:
        path = os.path.join(self.config_dir, name)
        with open(path, "w") as f:
            f.write("[Common]\n" + SEP26 + "\n" + "".join(sections))
        return path

    def plain(self, command: str) -> None:
        self._lines.append(self.inps.text_cmd + command + "\n")

    def wrapper(self, config_path: str, line_count: int, num_process: int = 1) -> int:
        """Stack.config.write_wrapper_config2run_file, including its quirks: with
        num_process > 1 it writes `wait` after every num_process lines only (so a last,
        incomplete group has no `wait`), and with num_process < 1 it writes nothing."""
        command = self.inps.text_cmd + "SentinelWrapper.py -c " + config_path
        if num_process == 1:
            self._lines.append(command + "\n")
        elif num_process > 1:
            self._lines.append(command + " &\n")
            if line_count == num_process:
                self._lines.append("wait\n\n")
                line_count = 0
        return line_count

    # -- config sections ------------------------------------------------------------------
    def sec_sentinel1_tops(self, acq: Acquisition, outdir: str) -> str:
        i = self.inps
        orbit = (
            _kv("orbitdir", i.orbit_dirname)
            if acq.orbit_type == "precise"
            else _kv("orbit", acq.orbit)
        )
        items = [
            _kv("dirname", acq.safe_file),
            _kv("swaths", i.swath_num),
            orbit,
            _kv("outdir", outdir),
            _kv("auxdir", i.aux_dirname),
        ]
        if i.bbox is not None:
            items.append(_kv("bbox", i.bbox))
        items.append(_kv("pol", i.polarization))
        return _section("[Function-1]", "Sentinel1_TOPS : ", items, trail=SEP26)

    def sec_topo(self, outdir: str, geom_dir: str) -> str:
        items = [
            _kv("reference", outdir),
            _kv("dem", os.path.join(self.w, self.inps.dem)),
            _kv("geom_referenceDir", geom_dir),
            _kv("numProcess", str(self.inps.numProcess4topo)),
        ]
        return _section(
            "[Function-2]",
            "topo : ",
            items,
            comment="#Call topo to produce reference geometry files",
            trail=SEP26,
        )

    def sec_geo2rdr(self, date: str, overlap: bool, misreg: bool) -> str:
        items = [
            _kv("secondary", self.path("secondarys/" + date)),
            _kv("reference", self.path("reference")),
            _kv("geom_referenceDir", self.path("geom_reference")),
            _kv("coregSLCdir", self.path("coreg_secondarys/" + date)),
            _kv("overlap", str(overlap)),
            "useGPU : True " if self.inps.useGPU else "useGPU : False",
        ]
        if misreg:
            items += self._misreg_items(date)
        # the real module line has no space after the colon
        return _section("[Function-1]", "geo2rdr :", items)

    def _misreg_items(self, date: str) -> list[str]:
        return [
            _kv("azimuth_misreg", self.path("misreg/azimuth/dates/" + date + ".txt")),
            _kv("range_misreg", self.path("misreg/range/dates/" + date + ".txt")),
        ]

    def sec_resample(self, date: str, overlap: bool, misreg: bool) -> str:
        items = [
            _kv("secondary", self.path("secondarys/" + date)),
            _kv("reference", self.path("reference")),
            _kv("coregdir", self.path("coreg_secondarys/" + date)),
            _kv("overlap", str(overlap)),
        ]
        if misreg:
            items += self._misreg_items(date)
        return _section("[Function-1]", "resamp_withCarrier : ", items)

    @staticmethod
    def sec_generate_igram(
        label: str, reference: str, secondary: str, ifg_dir: str, prefix: str, overlap: bool
    ) -> str:
        items = [
            _kv("reference", reference),
            _kv("secondary", secondary),
            _kv("interferogram", ifg_dir),
            _kv("flatten", "False"),
            _kv("interferogram_prefix", prefix),
            _kv("overlap", str(overlap)),
        ]
        return _section(label, "generateIgram : ", items, lead=SEP35, trail=SEP35)

    def sec_merge(
        self,
        *,
        reference: str,
        dirname: str,
        pattern: str,
        outfile: str,
        aligned: str,
        valid_only: str,
        virtual: str,
        multilook: str,
        tool: str | None = None,
        no_data: str | None = None,
        label: str = "[Function-1]",
    ) -> str:
        items = [
            _kv("stack", self.path("stack")),
            _kv("inp_reference", reference),
            _kv("dirname", dirname),
            _kv("name_pattern", pattern),
            _kv("outfile", outfile),
            _kv("method", "top"),
            _kv("aligned", aligned),
            _kv("valid_only", valid_only),
            _kv("use_virtual_files", virtual),
            _kv("multilook", multilook),
            _kv("range_looks", self.inps.rangeLooks),
            _kv("azimuth_looks", self.inps.azimuthLooks),
        ]
        if tool:
            items.append(_kv("multilook_tool", tool))
        if no_data is not None:
            items.append(_kv("no_data_value", no_data))
        return _section(label, "mergeBursts : ", items, lead=SEP35)

    # -- run files (Stack.run methods) ----------------------------------------------------
    def unpack_reference(self, safe_dict: dict) -> None:
        acq = safe_dict[self.inps.reference_date]
        cfg = self.config(
            "config_reference",
            self.sec_sentinel1_tops(acq, self.path("reference")),
            self.sec_topo(self.path("reference"), self.path("geom_reference")),
        )
        self.wrapper(cfg, 1)

    def unpack_secondaries(self, secondaries: list[str], safe_dict: dict) -> None:
        count = 0
        for date in secondaries:
            outdir = self.path("secondarys/" + date)
            cfg = self.config(
                "config_secondary_" + date, self.sec_sentinel1_tops(safe_dict[date], outdir)
            )
            count = self.wrapper(cfg, count + 1, self.inps.numProcess)

    def average_baseline(self, reference: str, secondaries: list[str]) -> None:
        count = 0
        for date in secondaries:
            items = [
                _kv("reference", self.path("reference/")),
                _kv("secondary", self.path("secondarys/" + date)),
                _kv(
                    "baseline_file",
                    self.path(f"baselines/{reference}_{date}/{reference}_{date}.txt"),
                ),
            ]
            cfg = self.config(
                "config_baseline_" + date,
                _section("[Function-1]", "computeBaseline : ", items),
            )
            count = self.wrapper(cfg, count + 1, self.inps.numProcess)

    def grid_baseline(self, reference: str, secondaries: list[str]) -> None:
        def section(secondary_dir: str, date: str) -> str:
            items = [
                _kv("reference", self.path("reference/")),
                _kv("secondary", secondary_dir),
                _kv("baseline_file", self.path(f"merged/baselines/{date}/{date}")),
            ]
            return _section("[Function-1]", "baselineGrid : ", items)

        count = 0
        for date in secondaries:
            cfg = self.config(
                "config_baselinegrid_" + date, section(self.path("secondarys/" + date), date)
            )
            count = self.wrapper(cfg, count + 1)
        cfg = self.config(
            "config_baselinegrid_reference", section(self.path("reference/"), reference)
        )
        self.wrapper(cfg, 1)

    def extract_overlaps(self) -> None:
        self.plain(
            "subsetReference.py -m " + self.path("reference") + " -g " + self.path("geom_reference")
        )

    def geo2rdr(self, secondaries: list[str], full_burst: bool) -> None:
        count = 0
        for date in secondaries:
            name = ("config_fullBurst_geo2rdr_" if full_burst else "config_overlap_geo2rdr_") + date
            cfg = self.config(name, self.sec_geo2rdr(date, not full_burst, full_burst))
            count = self.wrapper(cfg, count + 1, self.inps.numProcess)

    def resample(self, secondaries: list[str], full_burst: bool) -> None:
        count = 0
        for date in secondaries:
            prefix = "config_fullBurst_resample_" if full_burst else "config_overlap_resample_"
            cfg = self.config(prefix + date, self.sec_resample(date, not full_burst, full_burst))
            count = self.wrapper(cfg, count + 1, self.inps.numProcess)

    def pairs_misreg(self, dates: list[str]) -> None:
        n = int(self.inps.num_overlap_connections)
        pairs = [
            (dates[i], dates[j])
            for i in range(len(dates) - 1)
            for j in range(i + 1, i + n + 1)
            if j < len(dates)
        ]
        slc = {d: self.path("coreg_secondarys/" + d) for d in dates}
        slc[self.inps.reference_date] = self.path("reference")
        count = 0
        for first, second in pairs:
            pair = first + "_" + second
            ifg_dir = self.path("coarse_interferograms/" + pair)
            sections = [
                self.sec_generate_igram(
                    "[Function-1]", slc[first], slc[second], ifg_dir, "int", True
                ),
                _section(
                    "[Function-2]",
                    "overlap_withDEM : ",
                    [
                        _kv("interferogram", ifg_dir),
                        _kv("reference_dir", slc[first]),
                        _kv("secondary_dir", slc[second]),
                        _kv("overlap_dir", self.path("ESD/" + pair)),
                    ],
                    lead=SEP35,
                ),
                _section(
                    "[Function-3]",
                    "estimateAzimuthMisreg : ",
                    [
                        _kv("overlap_dir", self.path("ESD/" + pair)),
                        _kv("out_azimuth", self.path(f"misreg/azimuth/pairs/{pair}/{pair}.txt")),
                        _kv("coh_threshold", self.inps.esdCoherenceThreshold),
                        _kv("plot", "False"),
                    ],
                    lead=SEP35,
                ),
                _section(
                    "[Function-4]",
                    "estimateRangeMisreg : ",
                    [
                        _kv("reference", slc[first]),
                        _kv("secondary", slc[second]),
                        _kv("out_range", self.path(f"misreg/range/pairs/{pair}/{pair}.txt")),
                        _kv("snr_threshold", self.inps.snrThreshold),
                    ],
                    lead=SEP35,
                ),
            ]
            cfg = self.config("config_misreg_" + pair, *sections)
            count = self.wrapper(cfg, count + 1, self.inps.numProcess)

    def timeseries_misreg(self) -> None:
        for kind in ("azimuth", "range"):
            self.plain(
                "invertMisreg.py -i "
                + self.path(f"misreg/{kind}/pairs/")
                + " -o "
                + self.path(f"misreg/{kind}/dates/")
            )

    def extract_valid_region(self) -> None:
        self.plain(
            "extractCommonValidRegion.py -m "
            + self.path("reference")
            + " -s "
            + self.path("coreg_secondarys")
        )

    def merge_reference(self, reference: str, virtual: str) -> None:
        cfg = self.config(
            "config_merge_" + reference,
            self.sec_merge(
                reference=self.path("reference"),
                dirname=self.path("reference"),
                pattern="burst*slc",
                outfile=self.path(f"merged/SLC/{reference}/{reference}.slc"),
                aligned="False",
                valid_only="True",
                virtual=virtual,
                multilook="False",
            ),
        )
        self.wrapper(cfg, 1)
        for layer in GEOMETRY_LAYERS:
            cfg = self.config(
                "config_merge_" + layer,
                self.sec_merge(
                    reference=self.path("reference"),
                    dirname=self.path("geom_reference"),
                    pattern=layer + "*rdr",
                    outfile=self.path("merged/geom_reference/" + layer + ".rdr"),
                    aligned="False",
                    valid_only="False",
                    virtual=virtual,
                    multilook="True",
                    tool=GEOMETRY_MULTILOOK_TOOL[layer],
                    no_data=GEOMETRY_NO_DATA[layer],
                ),
            )
            self.wrapper(cfg, 1)

    def merge_secondaries(self, secondaries: list[str], virtual: str) -> None:
        for date in secondaries:
            cfg = self.config(
                "config_merge_" + date,
                self.sec_merge(
                    reference=self.path("coreg_secondarys/" + date),
                    dirname=self.path("coreg_secondarys/" + date),
                    pattern="burst*slc",
                    outfile=self.path(f"merged/SLC/{date}/{date}.slc"),
                    aligned="True",
                    valid_only="True",
                    virtual=virtual,
                    multilook="False",
                ),
            )
            self.wrapper(cfg, 1)

    def _slc_dirs(self, dates: list[str]) -> dict[str, str]:
        slc = {d: self.path("coreg_secondarys/" + d) for d in dates}
        slc[self.inps.reference_date] = self.path("reference")
        return slc

    def generate_burst_igram(self, dates: list[str], pairs: list[tuple[str, str]]) -> None:
        slc = self._slc_dirs(dates)
        count = 0
        for first, second in pairs:
            pair = first + "_" + second
            section = self.sec_generate_igram(
                "[Function-1]",
                slc[first],
                slc[second],
                self.path("interferograms/" + pair),
                "fine",
                False,
            )
            cfg = self.config("config_generate_igram_" + pair, section)
            count = self.wrapper(cfg, count + 1, self.inps.numProcess)

    def merge_burst_igram(self, pairs: list[tuple[str, str]]) -> None:
        count = 0
        for first, second in pairs:
            pair = first + "_" + second
            ifg_dir = self.path("interferograms/" + pair)
            section = self.sec_merge(
                reference=ifg_dir,
                dirname=ifg_dir,
                pattern="fine*int",
                outfile=self.path("merged/interferograms/" + pair) + "/fine.int",
                aligned="True",
                valid_only="True",
                virtual="True",
                multilook="True",
            )
            cfg = self.config("config_merge_igram_" + pair, section)
            count = self.wrapper(cfg, count + 1, self.inps.numProcess)

    def filter_coherence(self, pairs: list[tuple[str, str]]) -> None:
        i = self.inps
        count = 0
        for first, second in pairs:
            merged = self.path("merged/interferograms/" + first + "_" + second)
            slc_dir = self.path("merged/SLC")
            complex_coh = os.path.join(merged, "fine.cor")
            if int(i.rangeLooks) * int(i.azimuthLooks) == 1:
                complex_coh += ".full"
            items = [
                _kv("input", os.path.join(merged, "fine.int")),
                _kv("filt", os.path.join(merged, "filt_fine.int")),
                _kv("coh", os.path.join(merged, "filt_fine.cor")),
                _kv("strength", i.filtStrength),
                _kv("slc1", os.path.join(slc_dir, f"{first}/{first}.slc.full")),
                _kv("slc2", os.path.join(slc_dir, f"{second}/{second}.slc.full")),
                _kv("complex_coh", complex_coh),
                _kv("range_looks", i.rangeLooks),
                _kv("azimuth_looks", i.azimuthLooks),
            ]
            cfg = self.config(
                f"config_igram_filt_coh_{first}_{second}",
                _section("[Function-1]", "FilterAndCoherence : ", items, lead=SEP35),
            )
            count = self.wrapper(cfg, count + 1, i.numProcess)

    def unwrap_items(
        self, ifg: str, unw: str, coh: str, rlks: str, alks: str, rm_filter: bool, method: str
    ) -> list[str]:
        return [
            _kv("ifg", ifg),
            _kv("unw", unw),
            _kv("coh", coh),
            _kv("nomcf", "False"),
            _kv("reference", self.path("reference")),
            _kv("defomax", "2"),
            _kv("rlks", rlks),
            _kv("alks", alks),
            "rmfilter : True " if rm_filter else "rmfilter : False",
            _kv("method", method),
        ]

    def unwrap(self, pairs: list[tuple[str, str]]) -> None:
        i = self.inps
        count = 0
        for first, second in pairs:
            merged = self.path("merged/interferograms/" + first + "_" + second)
            items = self.unwrap_items(
                os.path.join(merged, "filt_fine.int"),
                os.path.join(merged, "filt_fine.unw"),
                os.path.join(merged, "filt_fine.cor"),
                i.rangeLooks,
                i.azimuthLooks,
                i.rmFilter,
                i.unwMethod,
            )
            cfg = self.config(
                f"config_igram_unw_{first}_{second}",
                _section("[Function-1]", "unwrap : ", items, lead=SEP35),
            )
            count = self.wrapper(cfg, count + 1, i.numProcess)

    def dense_offsets(self, pairs: list[tuple[str, str]]) -> None:
        count = 0
        for first, second in pairs:
            pair = first + "_" + second
            items = [
                _kv("reference", self.path(f"merged/SLC/{first}/{first}.slc.full")),
                _kv("secondary", self.path(f"merged/SLC/{second}/{second}.slc.full")),
                _kv("outprefix", self.path(f"merged/dense_offsets/{pair}/{pair}")),
            ]
            cfg = self.config(
                "config_denseOffset_" + pair,
                _section("[Function-1]", "denseOffsets : ", items, lead=SEP35),
            )
            count = self.wrapper(cfg, count + 1)

    # -- ionosphere (Stack.run ion methods) -------------------------------------------------
    def subband_and_resamp(self, dates: list[str], reference: str) -> None:
        count = 0
        for date in dates:
            if date == reference:
                section = _section(
                    "[Function-1]", "subband : ", [_kv("directory", self.path("reference"))]
                )
            else:
                section = _section(
                    "[Function-1]",
                    "subband_and_resamp : ",
                    [
                        _kv("reference", self.path("reference")),
                        _kv("secondary", os.path.join(self.w, "secondarys", date)),
                        _kv("coregdir", os.path.join(self.w, "coreg_secondarys", date)),
                        _kv(
                            "azimuth_misreg",
                            os.path.join(self.w, "misreg", "azimuth", "dates", f"{date}.txt"),
                        ),
                        _kv(
                            "range_misreg",
                            os.path.join(self.w, "misreg", "range", "dates", f"{date}.txt"),
                        ),
                    ],
                )
            cfg = self.config(f"config_subband_and_resamp_{date}", section)
            count = self.wrapper(cfg, count + 1, self.inps.numProcess)

    def _ion(self, pair: tuple[str, str], *parts: str) -> str:
        return os.path.join(self.w, "ion", f"{pair[0]}_{pair[1]}", *parts)

    def generate_igram_ion(self, pairs: list[tuple[str, str]], reference: str) -> None:
        count = 0
        for pair in pairs:
            slc = [
                os.path.join(self.w, "reference")
                if d == reference
                else os.path.join(self.w, "coreg_secondarys", d)
                for d in pair
            ]
            sections = []
            for label, band in (("[Function-1]", "lower"), ("[Function-2]", "upper")):
                items = [
                    _kv("reference", slc[0]),
                    _kv("reference_suffix", "_" + band),
                    _kv("secondary", slc[1]),
                    _kv("secondary_suffix", "_" + band),
                    _kv("interferogram", self._ion(pair, band, "interferograms")),
                    _kv("flatten", "False"),
                    _kv("interferogram_prefix", "fine"),
                    _kv("overlap", "False"),
                ]
                sections.append(_section(label, "generateIgram : ", items, lead=SEP35))
            cfg = self.config(f"config_generateIgram_ion_{pair[0]}_{pair[1]}", *sections)
            count = self.wrapper(cfg, count + 1, self.inps.numProcess)

    def _ion_pair_groups(self, same: list, diff: list) -> tuple[list, list, list[str]]:
        swaths = sorted(self.inps.swath_num.split())
        if len(swaths) == 1:
            return same + diff, [], swaths
        return same, diff, swaths

    def merge_bursts_ion(self, same: list, diff: list, ion: dict) -> None:
        pairs1, pairs2, swaths = self._ion_pair_groups(same, diff)
        count = 0

        def merge_section(label: str, pair: tuple, band: str, merged: str, swath: str | None):
            items = [
                _kv("reference", os.path.join(self.w, "reference")),
                _kv("stack", os.path.join(self.w, "stack")),
                _kv("dirname", self._ion(pair, band, "interferograms")),
                _kv("name_pattern", "fine_*.int"),
                _kv("outfile", self._ion(pair, band, merged, "fine.int")),
                _kv("nrlks", ion["numberRangeLooks"]),
                _kv("nalks", ion["numberAzimuthLooks"]),
                _kv("nrlks0", ion["numberRangeLooks0"]),
                _kv("nalks0", ion["numberAzimuthLooks0"]),
            ]
            if swath is not None:
                items += [_kv("rvalid", round(ion["numberRangeLooks"] / 8.0)), _kv("swath", swath)]
            return _section(label, "mergeBurstsIon : ", items, lead=SEP35)

        def coherence_section(label: str, pair: tuple, merged: str) -> str:
            items = [
                _kv("lower", self._ion(pair, "lower", merged, "fine.int")),
                _kv("upper", self._ion(pair, "upper", merged, "fine.int")),
                _kv("coherence", self._ion(pair, "lower", merged, "fine.cor")),
            ]
            return _section(label, "coherenceIon : ", items, lead=SEP35)

        for pair in pairs1 + pairs2:
            sections = []
            if pair in pairs1:
                sections += [
                    merge_section("[Function-1]", pair, "lower", "merged", None),
                    merge_section("[Function-2]", pair, "upper", "merged", None),
                    coherence_section("[Function-3]", pair, "merged"),
                ]
            if pair in pairs2:
                fn = 0
                for band in ("lower", "upper"):
                    for swath in swaths:
                        fn += 1
                        sections.append(
                            merge_section(
                                f"[Function-{fn}]", pair, band, f"merged_IW{swath}", swath
                            )
                        )
                for swath in swaths:
                    fn += 1
                    sections.append(
                        coherence_section(f"[Function-{fn}]", pair, f"merged_IW{swath}")
                    )
            cfg = self.config(f"config_mergeBurstsIon_{pair[0]}-{pair[1]}", *sections)
            count = self.wrapper(cfg, count + 1)

    def unwrap_ion(self, same: list, diff: list, ion: dict) -> None:
        pairs1, pairs2, swaths = self._ion_pair_groups(same, diff)
        count = 0
        rlks, alks = str(ion["numberRangeLooks0"]), str(ion["numberAzimuthLooks0"])
        for pair in pairs1 + pairs2:
            jobs = []
            if pair in pairs1:
                jobs += [(band, "merged") for band in ("lower", "upper")]
            if pair in pairs2:
                jobs += [(band, f"merged_IW{s}") for band in ("lower", "upper") for s in swaths]
            sections = [
                _section(
                    f"[Function-{k + 1}]",
                    "unwrap : ",
                    self.unwrap_items(
                        self._ion(pair, band, merged, "fine.int"),
                        self._ion(pair, band, merged, "fine.unw"),
                        self._ion(pair, "lower", merged, "fine.cor"),
                        rlks,
                        alks,
                        False,
                        "snaphu",
                    ),
                    lead=SEP35,
                )
                for k, (band, merged) in enumerate(jobs)
            ]
            cfg = self.config(f"config_unwrap_ion_{pair[0]}-{pair[1]}", *sections)
            count = self.wrapper(cfg, count + 1)

    def look_ion(self, same: list, diff: list, ion: dict) -> None:
        pairs1, pairs2, swaths = self._ion_pair_groups(same, diff)
        nrlks = round(ion["numberRangeLooks"] / ion["numberRangeLooks0"])
        nalks = round(ion["numberAzimuthLooks"] / ion["numberAzimuthLooks0"])
        count = 0

        def look_section(label: str, pair: tuple, band: str, merged: str) -> str:
            items = [
                _kv("unw", self._ion(pair, band, merged, "fine.unw")),
                _kv("cor", self._ion(pair, "lower", merged, "fine.cor")),
                _kv("output", self._ion(pair, band, merged, "fine_look.unw")),
                _kv("nrlks", nrlks),
                _kv("nalks", nalks),
            ]
            return _section(label, "lookUnwIon : ", items, lead=SEP35)

        def coherence_section(label: str, pair: tuple, merged: str) -> str:
            # nrlks/nalks are left over from lookUnwIon in the real code, so they are written
            items = [
                _kv("lower", self._ion(pair, "lower", merged, "fine.int")),
                _kv("upper", self._ion(pair, "upper", merged, "fine.int")),
                _kv("coherence", self._ion(pair, "lower", merged, "fine_look.cor")),
                _kv("nrlks", nrlks),
                _kv("nalks", nalks),
            ]
            return _section(label, "coherenceIon : ", items, lead=SEP35)

        for pair in pairs1 + pairs2:
            sections = []
            if pair in pairs1:
                sections += [
                    look_section("[Function-1]", pair, "lower", "merged"),
                    look_section("[Function-2]", pair, "upper", "merged"),
                    coherence_section("[Function-3]", pair, "merged"),
                ]
            if pair in pairs2:
                fn = 0
                for band in ("lower", "upper"):
                    for swath in swaths:
                        fn += 1
                        sections.append(
                            look_section(f"[Function-{fn}]", pair, band, f"merged_IW{swath}")
                        )
                for swath in swaths:
                    fn += 1
                    sections.append(
                        coherence_section(f"[Function-{fn}]", pair, f"merged_IW{swath}")
                    )
            cfg = self.config(f"config_look_ion_{pair[0]}-{pair[1]}", *sections)
            count = self.wrapper(cfg, count + 1)

    def compute_ion(self, same: list, diff: list, safe_dict: dict, ion: dict) -> None:
        pairs1, pairs2, swaths = self._ion_pair_groups(same, diff)
        masked = "".join(
            f" --masked_areas {m[0]} {m[1]} {m[2]} {m[3]}" for m in ion["maskedAreas"] or []
        )

        def command(pair: tuple, merged: str, cal: str) -> str:
            return (
                f"computeIon.py --lower {self._ion(pair, 'lower', merged, 'fine_look.unw')} "
                f"--upper {self._ion(pair, 'upper', merged, 'fine_look.unw')} "
                f"--coherence {self._ion(pair, 'lower', merged, 'fine_look.cor')} "
                f"--ionosphere {self._ion(pair, cal, 'raw_no_projection.ion')} "
                f"--coherence_output {self._ion(pair, cal, 'raw_no_projection.cor')}{masked}"
            )

        for pair in pairs1 + pairs2:
            if pair in pairs1:
                self.plain(command(pair, "merged", "ion_cal"))
            if pair in pairs2:
                for swath in swaths:
                    self.plain(command(pair, f"merged_IW{swath}", f"ion_cal_IW{swath}"))
                platforms = (safe_dict[pair[0]].platform, safe_dict[pair[1]].platform)
                if platforms[0] == platforms[1]:
                    ramp = 0
                else:
                    ramp = 1 if platforms == ("S1A", "S1B") else -1
                self.plain(
                    f"mergeSwathIon.py --reference {os.path.join(self.w, 'reference')} "
                    f"--stack {os.path.join(self.w, 'stack')} "
                    f"--input {os.path.join(self.w, 'ion', f'{pair[0]}_{pair[1]}')} "
                    f"--output {self._ion(pair, 'ion_cal')} "
                    f"--nrlks {ion['numberRangeLooks']} --nalks {ion['numberAzimuthLooks']} "
                    f"--remove_ramp {ramp}"
                )

    def filt_ion(self, pairs: list, ion: dict) -> None:
        count = 0
        for pair in pairs:
            items = [
                _kv("input", self._ion(pair, "ion_cal", "raw_no_projection.ion")),
                _kv("coherence", self._ion(pair, "ion_cal", "raw_no_projection.cor")),
                _kv("output", self._ion(pair, "ion_cal", "filt.ion")),
                _kv("win_min", ion["ionFilteringWinsizeMin"]),
                _kv("win_max", ion["ionFilteringWinsizeMax"]),
            ]
            cfg = self.config(
                f"config_filtIon_{pair[0]}_{pair[1]}",
                _section("[Function-1]", "filtIon : ", items, lead=SEP35),
            )
            count = self.wrapper(cfg, count + 1)

    def invert_ion(self, ion: dict, shift: bool) -> None:
        out = "ion_azshift_dates" if shift else "ion_dates"
        filename = " --filename azshift.ion" if shift else ""
        self.plain(
            f"invertIon.py --idir {os.path.join(self.w, 'ion')}{filename} "
            f"--odir {os.path.join(self.w, out)} --nrlks1 {ion['numberRangeLooks']} "
            f"--nalks1 {ion['numberAzimuthLooks']} --nrlks2 {self.inps.rangeLooks} "
            f"--nalks2 {self.inps.azimuthLooks} "
            f"--merged_geom {os.path.join(self.w, 'merged/geom_reference/hgt.rdr')} "
            f"--interp --msk_overlap"
        )

    def filt_ion_shift(self, pairs: list, ion: dict) -> None:
        count = 0
        for pair in pairs:
            items = [
                _kv("reference_stack", os.path.join(self.w, "reference")),
                _kv("reference", os.path.join(self.w, "coreg_secondarys", pair[0])),
                _kv("secondary", os.path.join(self.w, "coreg_secondarys", pair[1])),
                _kv("input", self._ion(pair, "ion_cal", "filt.ion")),
                _kv("coherence", self._ion(pair, "ion_cal", "raw_no_projection.cor")),
                _kv("output", self._ion(pair, "ion_cal", "azshift.ion")),
                _kv("win_min", ion["ionshiftFilteringWinsizeMin"]),
                _kv("win_max", ion["ionshiftFilteringWinsizeMax"]),
                _kv("nrlks", ion["numberRangeLooks"]),
                _kv("nalks", ion["numberAzimuthLooks"]),
            ]
            cfg = self.config(
                f"config_filtIonShift_{pair[0]}_{pair[1]}",
                _section("[Function-1]", "filtIonShift : ", items, lead=SEP35),
            )
            count = self.wrapper(cfg, count + 1)

    def burst_ramp_ion(self, dates: list[str], ion: dict) -> None:
        count = 0
        for date in dates:
            items = [
                _kv("reference_stack", os.path.join(self.w, "reference")),
                _kv("input", os.path.join(self.w, "ion_azshift_dates", f"{date}.ion")),
                _kv("output", os.path.join(self.w, "ion_burst_ramp_dates", date)),
                _kv("nrlks", self.inps.rangeLooks),
                _kv("nalks", self.inps.azimuthLooks),
                _kv("ion_height", ion["ionHeight"]),
            ]
            cfg = self.config(
                f"config_burstRampIon_{date}",
                _section("[Function-1]", "burstRampIon : ", items, lead=SEP35),
            )
            count = self.wrapper(cfg, count + 1)

    def merge_burst_ramp_ion(self, dates: list[str], reference: str) -> None:
        count = 0
        for date in dates:
            is_reference = date == reference
            section = self.sec_merge(
                reference=self.path("reference" if is_reference else "coreg_secondarys/" + date),
                dirname=self.path("ion_burst_ramp_dates/" + date),
                pattern="burst*float",
                outfile=self.path("ion_burst_ramp_merged_dates/" + date + ".float"),
                aligned="False" if is_reference else "True",
                valid_only="True",
                virtual="True",
                multilook="True",
            )
            cfg = self.config("config_mergeBurstRampIon_" + date, section)
            count = self.wrapper(cfg, count + 1)


def _slc_stack(writer: StackWriter, dates, reference, secondaries, safe_dict, update, merge_slc):
    """stackSentinel.slcStack."""
    nesd = writer.inps.coregistration in ("NESD", "nesd")
    if not update:
        writer.begin("unpack_topo_reference")
        writer.unpack_reference(safe_dict)
    writer.begin("unpack_secondary_slc")
    writer.unpack_secondaries(secondaries, safe_dict)
    writer.begin("average_baseline")
    writer.average_baseline(reference, secondaries)
    if nesd:
        if not update:
            writer.begin("extract_burst_overlaps")
            writer.extract_overlaps()
        writer.begin("overlap_geo2rdr")
        writer.geo2rdr(secondaries, full_burst=False)
        writer.begin("overlap_resample")
        writer.resample(secondaries, full_burst=False)
        writer.begin("pairs_misreg")
        writer.pairs_misreg(secondaries if update else dates)
        writer.begin("timeseries_misreg")
        writer.timeseries_misreg()
    writer.begin("fullBurst_geo2rdr")
    writer.geo2rdr(secondaries, full_burst=True)
    writer.begin("fullBurst_resample")
    writer.resample(secondaries, full_burst=True)
    writer.begin("extract_stack_valid_region")
    writer.extract_valid_region()
    if merge_slc:
        writer.begin("merge_reference_secondary_slc")
        writer.merge_reference(reference, "False")
        writer.merge_secondaries(secondaries, "False")
        writer.begin("grid_baseline")
        writer.grid_baseline(reference, secondaries)


def _ionosphere_stack(writer: StackWriter, reference: str) -> None:
    """stackSentinel.checkCurrentStatusIonosphere + ionosphereStack."""
    inps = writer.inps
    ion = read_ion_params(inps.param_ion)
    if ion["considerBurstProperties"] and inps.coregistration != "NESD":
        raise StandinError(
            "Coregistration options '-C', '--coregistration' must be NESD when 'consider burst "
            "properties in ionosphere computation' is True"
        )
    _, _, _, safe_dict = get_dates(inps)
    same, diff = select_pairs_ionosphere(safe_dict, inps.num_connections_ion)

    def dates_of(*pair_lists: list) -> list[str]:
        return sorted({d for pairs in pair_lists for p in pairs for d in p})

    dates_all = dates_of(same, diff)
    ion_dir = os.path.join(inps.work_dir, "ion")
    if os.path.isdir(ion_dir):
        done = {
            tuple(os.path.basename(p).split("_"))
            for p in glob.glob(os.path.join(ion_dir, "*"))
            if os.path.isdir(p)
        }
        same = [p for p in same if p not in done]
        diff = [p for p in diff if p not in done]
    dates_update = dates_of(same, diff)
    report = "ionosphere phase estimation pairs with different swath starting ranges\n"
    report += "".join(f"{p[0]}_{p[1]}\n" for p in diff)
    report += "\nionosphere phase estimation pairs with different platforms\n"
    report += "".join(
        f"{p[0]}_{p[1]}\n"
        for p in same + diff
        if safe_dict[p[0]].platform != safe_dict[p[1]].platform
    )
    with open("pairs_diff_starting_ranges.txt", "w") as f:
        f.write(report)

    writer.begin("subband_and_resamp")
    writer.subband_and_resamp(dates_update, reference)
    writer.begin("generateIgram_ion")
    writer.generate_igram_ion(same + diff, reference)
    writer.begin("mergeBurstsIon")
    writer.merge_bursts_ion(same, diff, ion)
    writer.begin("unwrap_ion")
    writer.unwrap_ion(same, diff, ion)
    writer.begin("look_ion")
    writer.look_ion(same, diff, ion)
    writer.begin("computeIon")
    writer.compute_ion(same, diff, safe_dict, ion)
    writer.begin("filtIon")
    writer.filt_ion(same + diff, ion)
    writer.begin("invertIon")
    writer.invert_ion(ion, shift=False)
    if ion["considerBurstProperties"]:
        writer.begin("filtIonShift")
        writer.filt_ion_shift(same + diff, ion)
        writer.begin("invertIonShift")
        writer.invert_ion(ion, shift=True)
        writer.begin("burstRampIon")
        writer.burst_ramp_ion(dates_all, ion)
        writer.begin("mergeBurstRampIon")
        writer.merge_burst_ramp_ion(dates_all, reference)


def stack_sentinel(job: Job, argv: list[str]) -> None:
    job.describe("stackSentinel", "stackSentinel", ["stackSentinel"])
    inps = _parse_stack_args(argv)
    run_dir = os.path.join(inps.work_dir, "run_files")
    if os.path.exists(run_dir):
        raise StandinError(
            f"run_files folder exists. {run_dir} already exists. Please remove or rename this "
            f"folder and try again."
        )
    dates, reference, secondaries, safe_dict, update = check_current_status(inps)
    pairs = []
    if inps.workflow != "slc":
        pairs = select_neighbor_pairs(dates, reference, secondaries, inps.num_connections, update)
        print(
            f"selecting pairs with {inps.num_connections} nearest neighbor connections: "
            f"{len(pairs)}"
        )
    print("Coregistration method: ", inps.coregistration)
    print("Workflow: ", inps.workflow)
    writer = StackWriter(inps, job)
    workflow = inps.workflow
    _slc_stack(writer, dates, reference, secondaries, safe_dict, update, workflow == "slc")
    if workflow in ("interferogram", "correlation", "offset"):
        default_virtual = "False" if workflow == "offset" else "True"
        virtual = inps.virtualMerge or default_virtual
        writer.begin("merge_reference_secondary_slc")
        writer.merge_reference(reference, virtual)
        writer.merge_secondaries(secondaries, virtual)
        if workflow == "offset":
            writer.begin("dense_offsets")
            writer.dense_offsets(pairs)
        else:
            writer.begin("generate_burst_igram")
            writer.generate_burst_igram(dates, pairs)
            writer.begin("merge_burst_igram")
            writer.merge_burst_igram(pairs)
            writer.begin("filter_coherence")
            writer.filter_coherence(pairs)
            if workflow == "interferogram":
                writer.begin("unwrap")
                writer.unwrap(pairs)
    if inps.param_ion is None:
        print("Ion parameter file is not specified. Ionospheric estimation will not be done.")
    elif not os.path.isfile(inps.param_ion):
        # the real script carries on silently without ionosphere steps
        print("Ion parameter file is missing. Ionospheric estimation will not be done.")
    else:
        _ionosphere_stack(writer, reference)
    writer.end()


# --------------------------------------------------------------------------------------------
# SentinelWrapper.py functions
# --------------------------------------------------------------------------------------------


def _bool(value: object) -> bool:
    return value is True


def _looks(args: dict, key: str, default: int) -> int:
    return int(args.get(key, default))


def _uses_nesd(job: Job) -> bool:
    """Whether the stack was generated with NESD (then configs/config_misreg_* exist)."""
    if not job.config_path:
        return False
    return bool(glob.glob(os.path.join(os.path.dirname(job.config_path), "config_misreg_*")))


def _check_misreg(job: Job, args: dict, module: str) -> None:
    for key in ("azimuth_misreg", "range_misreg"):
        path = args.get(key)
        if isinstance(path, str) and not os.path.exists(path) and _uses_nesd(job):
            raise StandinError(
                f"{module} ({job.unit}): {key} {path} does not exist although the stack uses "
                f"NESD; the real {module} would silently use 0.0 (run timeseries_misreg first)"
            )


def _common_swaths(job: Job, first: str, second: str) -> list[int]:
    swaths = [s for s in swath_list(first) if s in swath_list(second)]
    if not swaths:
        job.need_glob(os.path.join(first, "IW?"), "swath directory")
        job.need_glob(os.path.join(second, "IW?"), "swath directory")
        raise StandinError(f"{job.unit}: {first} and {second} have no swath in common")
    return swaths


def _need_bursts(job: Job, directory: str, template: str, bursts: list[int]) -> None:
    for b in bursts:
        job.need(os.path.join(directory, template.format(b=b)) + ".xml", "burst image")


def _overlaps(bursts: list[int]) -> list[tuple[int, int]]:
    return [(b, b + 1) for b in bursts if b + 1 in bursts]


def f_sentinel1_tops(job: Job, a: dict) -> None:
    safes = a["dirname"].split()
    for safe in safes:
        job.need(safe, "SAFE")
    acqs = sorted((Acquisition(s) for s in safes), key=lambda x: x.start_date_time)
    if "orbit" in a:
        job.need(a["orbit"], "orbit file")
    elif "orbitdir" in a:
        for acq in acqs:
            if not find_precise_orbit(
                acq.platform, acq.start_date_time, acq.stop_date_time, a["orbitdir"]
            ):
                raise StandinError(
                    f"Sentinel1_TOPS: no orbit file in {a['orbitdir']} covers {acq.safe_file}"
                )
    else:
        raise StandinError("Sentinel1_TOPS: neither orbit nor orbitdir given")
    swaths = [int(s) for s in str(a.get("swaths", "1 2 3")).split()]
    pol = a.get("pol", "vv")
    bbox = [float(v) for v in a["bbox"].split()] if "bbox" in a else None
    outdir = a["outdir"]
    written = 0
    for swath in swaths:
        bursts: list[int] = []
        number = 0
        info = {}
        for acq in acqs:
            info = read_annotation(acq.safe_file, swath, pol)
            south, north, west, east = acq.snwe()
            # the three swaths side by side across track, IW1 at near range
            width = (east - west) / 3.0
            ascending = info["pass"].lower().startswith("asc")
            k = swath - 1 if ascending else 3 - swath
            lon_band = (west + k * width, west + (k + 1) * width)
            height = (north - south) / max(1, info["bursts"])
            for index in range(info["bursts"]):
                number += 1
                row = index if ascending else info["bursts"] - 1 - index
                lat_band = (south + row * height, south + (row + 1) * height)
                if bbox is None or (
                    lat_band[0] <= bbox[1]
                    and lat_band[1] >= bbox[0]
                    and lon_band[0] <= bbox[3]
                    and lon_band[1] >= bbox[2]
                ):
                    bursts.append(number)
        if not bursts:
            # the real module prints its exception; the swath is simply missing afterwards
            print(f"IW{swath}: no burst in the region of interest {bbox}; skipping the swath")
            continue
        for b in bursts:
            safe = acqs[0].safe_file
            member = os.path.basename(safe).replace("zip", "SAFE")
            tiff = (
                f"/vsizip/{safe}/{member}/measurement/"
                f"{acqs[0].platform.lower()}-iw{swath}-slc-{pol}.tiff"
            )
            vrt = (
                f'<VRTDataset rasterXSize="{FULL_WIDTH}" rasterYSize="{FULL_LENGTH}">\n'
                '    <VRTRasterBand dataType="CInt16" band="1">\n'
                "        <SimpleSource>\n"
                f'            <SourceFilename relativeToVRT="0">{tiff}</SourceFilename>\n'
                "            <SourceBand>1</SourceBand>\n"
                "        </SimpleSource>\n"
                "    </VRTRasterBand>\n"
                "</VRTDataset>\n"
            )
            job.image(
                os.path.join(outdir, f"IW{swath}", f"burst_{b:02d}.slc"),
                "CFLOAT",
                binary=False,
                vrt=vrt,
                image_type="slc",
            )
        job.product(
            os.path.join(outdir, f"IW{swath}.xml"),
            swath=swath,
            bursts=bursts,
            date=acqs[0].date,
            kind="slc",
            platform=acqs[0].platform,
            passdirection=info.get("pass", ""),
            starting_range=info.get("slant_range_time", 0.0) * SPEED_OF_LIGHT / 2.0,
        )
        written += 1
    if not written:
        raise StandinError(f"Sentinel1_TOPS: no swath of {swaths} covers the bbox {bbox}")


def _check_dem(job: Job, dem: str) -> None:
    job.need(dem, "DEM")
    job.need(dem + ".xml", "DEM header")
    try:
        root = ET.parse(dem + ".xml").getroot()
    except ET.ParseError as exc:
        raise StandinError(f"topo: cannot read DEM header {dem}.xml: {exc}") from exc
    values = {p.get("name", "").lower(): p.findtext("value") for p in root.iter("property")}
    if "width" in values and "length" in values:
        size = {"short": 2, "float": 4, "double": 8}.get(
            (values.get("data_type") or "FLOAT").strip().lower(), 4
        )
        expected = int(values["width"]) * int(values["length"]) * size
        if os.path.getsize(dem) != expected:
            raise StandinError(
                f"topo: {dem} has {os.path.getsize(dem)} bytes but its .xml says "
                f"{values['width']} x {values['length']} {values.get('data_type', 'FLOAT')}"
            )


def f_topo(job: Job, a: dict) -> None:
    reference = a["reference"]
    geom = a.get("geom_referenceDir", "geom_reference")
    swaths = swath_list(reference)
    if not swaths:
        job.need_glob(os.path.join(reference, "IW?"), "swath directory")
    _check_dem(job, a["dem"])
    for swath in swaths:
        product = read_product(os.path.join(reference, f"IW{swath}.xml"), job)
        for b in product["bursts"]:
            for layer in GEOMETRY_LAYERS:
                data_type, bands = GEOMETRY_TYPES[layer]
                job.image(
                    os.path.join(geom, f"IW{swath}", f"{layer}_{b:02d}.rdr"),
                    data_type,
                    bands=bands,
                )


def _pseudo(text: str, salt: float) -> float:
    """A deterministic value in [-1, 1] derived from a name (fake baselines and offsets)."""
    return math.sin(sum(ord(c) * (i + 1) for i, c in enumerate(text)) * 0.731 + salt)


def _baseline(job: Job, a: dict, grid: bool) -> None:
    reference, secondary = a["reference"], a["secondary"]
    lines = []
    date = ""
    for swath in (1, 2, 3):
        ref_xml = os.path.join(reference, f"IW{swath}.xml")
        sec_xml = os.path.join(secondary, f"IW{swath}.xml")
        if os.path.exists(ref_xml) and os.path.exists(sec_xml):
            read_product(ref_xml, job)
            date = read_product(sec_xml, job)["sensingdate"] or ""
            lines += [
                f"swath: IW{swath}",
                f"Bperp (average): {120.0 * _pseudo(date, swath):.6f}",
                f"Bpar (average): {40.0 * _pseudo(date, swath + 0.5):.6f}",
            ]
    if not lines:
        job.need(os.path.join(reference, "IW1.xml"), "reference product")
        job.need(os.path.join(secondary, "IW1.xml"), "secondary product")
    if grid:
        out = a["baseline_file"]
        job.image(out, "FLOAT", width=4, length=4, bands=2, image_type="bperp")
        job.write_text(out + ".full.vrt", _raw_vrt(out, "FLOAT", 4, 4, 2))
    else:
        job.write_text(a["baseline_file"], "\n".join(lines) + "\n")


def f_compute_baseline(job: Job, a: dict) -> None:
    _baseline(job, a, grid=False)


def f_baseline_grid(job: Job, a: dict) -> None:
    _baseline(job, a, grid=True)


def f_geo2rdr(job: Job, a: dict) -> None:
    reference, secondary = a["reference"], a["secondary"]
    geom = a.get("geom_referenceDir", "geom_reference")
    coreg = a.get("coregSLCdir", "coreg_secondarys")
    overlap_name = a.get("overlap_dir", "overlap")
    overlap = _bool(a.get("overlap"))
    if not overlap:
        _check_misreg(job, a, "geo2rdr")
    for swath in _common_swaths(job, secondary, reference):
        sec = read_product(os.path.join(secondary, f"IW{swath}.xml"), job, "secondary product")
        if overlap:
            top = read_product(
                os.path.join(reference, overlap_name, f"IW{swath}_top.xml"),
                job,
                "reference overlap product (extract_burst_overlaps)",
            )
            geom_dir = os.path.join(geom, overlap_name, f"IW{swath}")
            out_dir = os.path.join(coreg, overlap_name, f"IW{swath}")
            pairs = [
                (b, b + 1) for b in top["bursts"] if b in sec["bursts"] and b + 1 in sec["bursts"]
            ]
            for b, c in pairs:
                for layer in ("lat", "lon", "hgt"):
                    job.need(
                        os.path.join(geom_dir, f"{layer}_{b:02d}_{c:02d}.rdr"), "overlap geometry"
                    )
                for half in ("top", "bot"):
                    for kind in ("range", "azimuth"):
                        job.image(
                            os.path.join(out_dir, f"{kind}_{half}_{b:02d}_{c:02d}.off"), "DOUBLE"
                        )
        else:
            ref = read_product(os.path.join(reference, f"IW{swath}.xml"), job, "reference product")
            for b in [x for x in ref["bursts"] if x in sec["bursts"]]:
                for layer in ("lat", "lon", "hgt"):
                    job.need(os.path.join(geom, f"IW{swath}", f"{layer}_{b:02d}.rdr"), "geometry")
                for kind in ("range", "azimuth"):
                    job.image(os.path.join(coreg, f"IW{swath}", f"{kind}_{b:02d}.off"), "DOUBLE")


def f_resamp_with_carrier(job: Job, a: dict) -> None:
    reference, secondary = a["reference"], a["secondary"]
    coreg = a.get("coregdir", "coreg_secondary")
    overlap_name = a.get("overlapDir", "overlap")
    overlap = _bool(a.get("overlap"))
    if not overlap:
        _check_misreg(job, a, "resamp_withCarrier")
    for swath in _common_swaths(job, secondary, reference):
        sec = read_product(os.path.join(secondary, f"IW{swath}.xml"), job, "secondary product")
        if overlap:
            top = read_product(
                os.path.join(reference, overlap_name, f"IW{swath}_top.xml"),
                job,
                "reference overlap product (extract_burst_overlaps)",
            )
            read_product(
                os.path.join(reference, overlap_name, f"IW{swath}_bottom.xml"),
                job,
                "reference overlap product (extract_burst_overlaps)",
            )
            off_dir = os.path.join(coreg, overlap_name, f"IW{swath}")
            pairs = [
                (b, b + 1) for b in top["bursts"] if b in sec["bursts"] and b + 1 in sec["bursts"]
            ]
            for b, c in pairs:
                _need_bursts(
                    job, os.path.join(secondary, f"IW{swath}"), "burst_{b:02d}.slc", [b, c]
                )
                for half in ("top", "bot"):
                    for kind in ("range", "azimuth"):
                        job.need(
                            os.path.join(off_dir, f"{kind}_{half}_{b:02d}_{c:02d}.off"),
                            "overlap offsets (overlap_geo2rdr)",
                        )
                    job.image(os.path.join(off_dir, f"burst_{half}_{b:02d}_{c:02d}.slc"), "CFLOAT")
            for half, name in (("top", "top"), ("bot", "bottom")):
                job.product(
                    os.path.join(coreg, overlap_name, f"IW{swath}_{name}.xml"),
                    swath=swath,
                    bursts=[b for b, _ in pairs],
                    date=sec["sensingdate"] or "",
                    kind=f"overlap-{half}",
                )
        else:
            ref = read_product(os.path.join(reference, f"IW{swath}.xml"), job, "reference product")
            common = [b for b in ref["bursts"] if b in sec["bursts"]]
            for b in common:
                for kind in ("range", "azimuth"):
                    job.need(
                        os.path.join(coreg, f"IW{swath}", f"{kind}_{b:02d}.off"),
                        "offsets (fullBurst_geo2rdr)",
                    )
                _need_bursts(job, os.path.join(secondary, f"IW{swath}"), "burst_{b:02d}.slc", [b])
                job.image(
                    os.path.join(coreg, f"IW{swath}", f"burst_{b:02d}.slc"),
                    "CFLOAT",
                    image_type="slc",
                )
            # the product XML comes last: its presence means the date is fully resampled
            job.product(
                os.path.join(coreg, f"IW{swath}.xml"),
                swath=swath,
                bursts=common,
                date=sec["sensingdate"] or "",
                kind="coreg",
                platform=sec.get("platform") or "",
            )


def f_generate_igram(job: Job, a: dict) -> None:
    reference, secondary = a["reference"], a["secondary"]
    ifg_dir = a.get("interferogram", "interferograms")
    prefix = a.get("interferogram_prefix", "int")
    ref_suffix, sec_suffix = a.get("reference_suffix", ""), a.get("secondary_suffix", "")
    if _bool(a.get("overlap")):
        ref_ov, sec_ov = os.path.join(reference, "overlap"), os.path.join(secondary, "overlap")
        for swath in _common_swaths(job, ref_ov, sec_ov):
            products = {}
            for name, base in (("ref", ref_ov), ("sec", sec_ov)):
                for half in ("top", "bottom"):
                    products[name, half] = read_product(
                        os.path.join(base, f"IW{swath}_{half}.xml"), job, "overlap product"
                    )
            tops = [
                b for b in products["ref", "top"]["bursts"] if b in products["sec", "top"]["bursts"]
            ]
            for b in tops:
                for base in (ref_ov, sec_ov):
                    for half in ("top", "bot"):
                        job.need(
                            os.path.join(
                                base, f"IW{swath}", f"burst_{half}_{b:02d}_{b + 1:02d}.slc.xml"
                            ),
                            "overlap burst",
                        )
                for half in ("top", "bot"):
                    job.image(
                        os.path.join(
                            ifg_dir,
                            "overlap",
                            f"IW{swath}",
                            f"{prefix}_{half}_{b:02d}_{b + 1:02d}.int",
                        ),
                        "CFLOAT",
                    )
            for half in ("top", "bottom"):
                job.product(
                    os.path.join(ifg_dir, "overlap", f"IW{swath}_{half}.xml"),
                    swath=swath,
                    bursts=tops,
                    kind="ifg-overlap",
                )
        return
    for swath in _common_swaths(job, reference, secondary):
        ref = read_product(os.path.join(reference, f"IW{swath}.xml"), job, "reference product")
        sec = read_product(os.path.join(secondary, f"IW{swath}.xml"), job, "secondary product")
        common = [b for b in ref["bursts"] if b in sec["bursts"]]
        _need_bursts(
            job,
            os.path.join(reference, f"IW{swath}"),
            "burst_{b:02d}" + ref_suffix + ".slc",
            common,
        )
        _need_bursts(
            job,
            os.path.join(secondary, f"IW{swath}"),
            "burst_{b:02d}" + sec_suffix + ".slc",
            common,
        )
        for b in common:
            job.image(
                os.path.join(ifg_dir, f"IW{swath}", f"{prefix}_{b:02d}.int"),
                "CFLOAT",
                image_type="cpx",
            )
        job.product(
            os.path.join(ifg_dir, f"IW{swath}.xml"),
            swath=swath,
            bursts=common,
            date=ref["sensingdate"] or "",
            kind="ifg",
            extra={"secondarydate": sec["sensingdate"] or ""},
        )


def f_overlap_with_dem(job: Job, a: dict) -> None:
    ifg = os.path.join(a["interferogram"], "overlap")
    ref, sec = (
        os.path.join(a["reference_dir"], "overlap"),
        os.path.join(a["secondary_dir"], "overlap"),
    )
    esd = a["overlap_dir"]
    for swath in _common_swaths(job, ref, sec):
        for base in (ref, sec, ifg):
            for half in ("top", "bottom"):
                read_product(os.path.join(base, f"IW{swath}_{half}.xml"), job, "overlap product")
        top = read_product(os.path.join(ifg, f"IW{swath}_top.xml"), job)
        for b in top["bursts"]:
            job.need_glob(
                os.path.join(ifg, f"IW{swath}", f"*_top_{b:02d}_{b + 1:02d}.int"),
                "overlap interferogram",
            )
            job.image(os.path.join(esd, f"IW{swath}", f"overlap_{b:02d}.int"), "CFLOAT")
            job.write_bytes(
                os.path.join(esd, f"IW{swath}", f"freq_{b:02d}.bin"),
                _raster_bytes("FLOAT", FULL_WIDTH, 4, 1, esd),
            )


def _misreg_text(value: float, threshold_name: str, threshold: str, points: int) -> str:
    return (
        f"median : {value}\nmean : {value}\nstd : {abs(value) / 10}\n"
        f"{threshold_name} : {threshold}\nmumber of coherent points : {points}\n"
    )


def f_estimate_azimuth_misreg(job: Job, a: dict) -> None:
    esd = a.get("overlap_dir", "overlap")
    threshold = float(a.get("coh_threshold", 0.95))
    job.need_glob(os.path.join(esd, "IW*", "freq_??.bin"), "ESD overlap (overlap_withDEM)")
    if threshold >= 0.99:
        # isce2#991: a strict threshold leaves no point
        raise StandinError(
            "Coherence threshold too strict. No points left for reliable ESD estimate"
        )
    out = a.get("out_azimuth", "misreg.txt")
    value = round(0.002 * _pseudo(os.path.basename(out), 1.0), 6)
    job.write_text(out, _misreg_text(value, "coherence threshold", str(threshold), 1234))


def f_estimate_range_misreg(job: Job, a: dict) -> None:
    for base in (a["reference"], a["secondary"]):
        job.need_glob(os.path.join(base, "overlap", "IW?_top.xml"), "overlap product")
    out = a.get("out_range", "misreg.txt")
    value = round(0.01 * _pseudo(os.path.basename(out), 2.0), 6)
    job.write_text(
        out, _misreg_text(value, "snr threshold", str(float(a.get("snr_threshold", 6.0))), 321)
    )


def _merge_data_type(prefix: str, ext: str) -> tuple[str, int]:
    if ext == "rdr":
        return GEOMETRY_TYPES.get(prefix, ("FLOAT", 1))
    if ext == "float":
        return "FLOAT", 1
    return "CFLOAT", 1


def f_merge_bursts(job: Job, a: dict) -> None:
    reference, dirname, outfile = a["inp_reference"], a["dirname"], a["outfile"]
    stack = a.get("stack")
    prefix, _, ext = a.get("name_pattern", "fine*int").partition("*")
    swaths = swath_list(reference)
    if not swaths:
        job.need_glob(os.path.join(reference, "IW?"), "swath directory")
    sources = []
    for swath in swaths:
        product = read_product(os.path.join(reference, f"IW{swath}.xml"), job, "product")
        bursts = product["bursts"]
        if stack:
            stack_bursts = read_product(
                os.path.join(stack, f"IW{swath}.xml"),
                job,
                "stack product (extract_stack_valid_region)",
            )["bursts"]
            if any(not 0 <= b - stack_bursts[0] < len(stack_bursts) for b in bursts):
                raise StandinError(
                    f"mergeBursts: IndexError: {reference}/IW{swath}.xml has bursts {bursts} but "
                    f"the stack has {stack_bursts} (different number of bursts, isce2#923)"
                )
        if len(bursts) < 2:
            print(f"Skipping processing of swath {swath}")
            continue
        for b in bursts:
            name = os.path.join(dirname, f"IW{swath}", f"{prefix}_{b:02d}.{ext}")
            job.need(name + ".xml", "burst file")
            sources.append(name)
    if not sources:
        raise StandinError(f"mergeBursts: no swath of {reference} has two or more bursts to merge")
    rlks, alks = _looks(a, "range_looks", 9), _looks(a, "azimuth_looks", 3)
    data_type, bands = _merge_data_type(prefix, ext)
    # mergeBursts.py drops '.full' for 1x1 looks, but it compares its string options with the
    # int 1, so the suffix is always there
    full = outfile + ".full"
    if _bool(a.get("use_virtual_files")):
        mosaic = _mosaic_vrt(full, data_type, sources, FULL_WIDTH, FULL_LENGTH)
        job.image(full, data_type, bands=bands, binary=False, vrt=mosaic)
    else:
        job.image(full, data_type, bands=bands)
    if _bool(a.get("multilook")):
        job.image(
            outfile,
            data_type,
            bands=bands,
            width=max(1, FULL_WIDTH // rlks),
            length=max(1, FULL_LENGTH // alks),
        )


def f_filter_and_coherence(job: Job, a: dict) -> None:
    inp = job.need(a["input"], "merged interferogram (merge_burst_igram)")
    for key in ("slc1", "slc2"):
        if key in a:
            job.need(a[key] + ".xml", "merged SLC (merge_reference_secondary_slc)")
    width, length = image_size(inp)
    job.image(a.get("filt", "filt.int"), "CFLOAT", width=width, length=length, image_type="cpx")
    job.image(a.get("coh", "phsig.cor"), "FLOAT", width=width, length=length, image_type="cor")
    job.image(
        a.get("complex_coh", "fine.cor.full"), "FLOAT", width=width, length=length, image_type="cor"
    )


def f_unwrap(job: Job, a: dict) -> None:
    ifg = job.need(a["ifg"], "interferogram")
    method = a.get("method", "icu")
    unw = a.get("unw") or ifg.replace(".int", ".unw")
    if method == "snaphu":
        job.need(a["coh"], "coherence")
        swaths = swath_list(a.get("reference", "reference"))
        if not swaths:
            job.need_glob(os.path.join(a.get("reference", "reference"), "IW?"), "reference swath")
        read_product(os.path.join(a.get("reference", "reference"), f"IW{swaths[0]}.xml"), job)
    width, length = image_size(ifg)
    job.image(unw, "FLOAT", width=width, length=length, bands=2, image_type="unw")
    if method == "snaphu":
        job.image(unw + ".conncomp", "BYTE", width=width, length=length, image_type="cmp")
    if _bool(a.get("rmfilter")):
        before, _, after = os.path.abspath(unw).partition("filt_")
        job.image(before + after, "FLOAT", width=width, length=length, bands=2, image_type="unw")


def f_dense_offsets(job: Job, a: dict) -> None:
    for key in ("reference", "secondary"):
        job.need(a[key] + ".xml", "merged SLC (merge_reference_secondary_slc)")
    prefix = a.get("outprefix", "dense_ampcor")
    job.image(prefix + ".bil", "FLOAT", width=8, length=4, bands=2)
    job.image(prefix + "_snr.bil", "FLOAT", width=8, length=4)


def _subband_bursts(job: Job, directory: str, product: dict) -> None:
    swath = product["swathnumber"]
    for b in product["bursts"]:
        for band in ("lower", "upper"):
            job.image(
                os.path.join(directory, f"IW{swath}", f"burst_{b:02d}_{band}.slc"),
                "CFLOAT",
                image_type="slc",
            )


def f_subband(job: Job, a: dict) -> None:
    directory = a["directory"]
    for swath in swath_list(directory) or [1]:
        product = read_product(os.path.join(directory, f"IW{swath}.xml"), job)
        _need_bursts(
            job, os.path.join(directory, f"IW{swath}"), "burst_{b:02d}.slc", product["bursts"]
        )
        _subband_bursts(job, directory, product)


def f_subband_and_resamp(job: Job, a: dict) -> None:
    reference, secondary = a["reference"], a["secondary"]
    coreg = a.get("coregdir", "coreg_secondary")
    _check_misreg(job, a, "subband_and_resamp")
    for swath in _common_swaths(job, secondary, reference):
        ref = read_product(os.path.join(reference, f"IW{swath}.xml"), job)
        sec = read_product(os.path.join(secondary, f"IW{swath}.xml"), job)
        common = [b for b in ref["bursts"] if b in sec["bursts"]]
        for b in common:
            for kind in ("range", "azimuth"):
                job.need(
                    os.path.join(coreg, f"IW{swath}", f"{kind}_{b:02d}.off"),
                    "offsets (fullBurst_geo2rdr)",
                )
        _need_bursts(job, os.path.join(secondary, f"IW{swath}"), "burst_{b:02d}.slc", common)
        _subband_bursts(job, coreg, {"swathnumber": swath, "bursts": common})


def f_merge_bursts_ion(job: Job, a: dict) -> None:
    reference, dirname, outfile = a["reference"], a["dirname"], a["outfile"]
    head, _, tail = a["name_pattern"].partition("*")
    swaths = [int(a["swath"])] if "swath" in a else swath_list(dirname)
    if not swaths:
        job.need_glob(os.path.join(dirname, "IW?"), "ionosphere sub-band interferograms")
    for swath in swaths:
        read_product(os.path.join(reference, f"IW{swath}.xml"), job)
        if a.get("stack"):
            read_product(os.path.join(a["stack"], f"IW{swath}.xml"), job, "stack product")
        product = read_product(
            os.path.join(dirname, f"IW{swath}.xml"),
            job,
            "sub-band interferogram product (generateIgram_ion)",
        )
        for b in product["bursts"]:
            job.need(
                os.path.join(dirname, f"IW{swath}", f"{head}{b:02d}{tail}"), "burst interferogram"
            )
    width = max(1, FULL_WIDTH // int(a.get("nrlks0", 1)))
    length = max(1, FULL_LENGTH // int(a.get("nalks0", 1)))
    job.image(outfile, "CFLOAT", width=width, length=length, image_type="cpx")


def f_coherence_ion(job: Job, a: dict) -> None:
    lower = job.need(a["lower"], "lower-band interferogram")
    job.need(a["upper"], "upper-band interferogram")
    width, length = image_size(lower)
    rl, al = int(a.get("nrlks", 1)), int(a.get("nalks", 1))
    job.image(
        a["coherence"],
        "FLOAT",
        width=max(1, width // rl),
        length=max(1, length // al),
        image_type="cor",
    )


def f_look_unw_ion(job: Job, a: dict) -> None:
    unw = job.need(a["unw"], "unwrapped sub-band interferogram (unwrap_ion)")
    job.need(a["cor"], "coherence")
    width, length = image_size(unw)
    rl, al = int(a.get("nrlks", 1)), int(a.get("nalks", 1))
    job.image(
        a["output"],
        "FLOAT",
        width=max(1, width // rl),
        length=max(1, length // al),
        bands=2,
        image_type="unw",
    )


def f_filt_ion(job: Job, a: dict) -> None:
    inp = job.need(a["input"], "raw ionosphere (computeIon)")
    job.need(a["coherence"], "ionosphere coherence (computeIon)")
    width, length = image_size(inp)
    job.image(a["output"], "FLOAT", width=width, length=length, image_type="ion")


def f_filt_ion_shift(job: Job, a: dict) -> None:
    job.need_glob(os.path.join(a["reference_stack"], "IW?.xml"), "reference product")
    inp = job.need(a["input"], "filtered ionosphere (filtIon)")
    job.need(a["coherence"], "ionosphere coherence")
    width, length = image_size(inp)
    job.image(a["output"], "FLOAT", width=width, length=length, image_type="ion")


def f_burst_ramp_ion(job: Job, a: dict) -> None:
    job.need(a["input"], "ionosphere azimuth shift of the date (invertIonShift)")
    for swath in swath_list(a["reference_stack"]):
        product = read_product(os.path.join(a["reference_stack"], f"IW{swath}.xml"), job)
        for b in product["bursts"]:
            job.image(os.path.join(a["output"], f"IW{swath}", f"burst_{b:02d}.float"), "FLOAT")


# module name -> (function, required options, optional options); unknown options are an
# error, as argparse makes them in the real modules
FUNCTIONS: dict[str, tuple] = {
    "Sentinel1_TOPS": (
        f_sentinel1_tops,
        {"dirname", "outdir"},
        {"swaths", "orbit", "orbitdir", "auxdir", "aux", "bbox", "pol"},
    ),
    "topo": (f_topo, {"reference", "dem"}, {"geom_referenceDir", "numProcess"}),
    "computeBaseline": (f_compute_baseline, {"reference", "secondary", "baseline_file"}, set()),
    "baselineGrid": (f_baseline_grid, {"reference", "secondary", "baseline_file"}, set()),
    "geo2rdr": (
        f_geo2rdr,
        {"reference", "secondary"},
        {
            "geom_referenceDir",
            "azimuth_misreg",
            "range_misreg",
            "useGPU",
            "coregSLCdir",
            "overlap",
            "overlap_dir",
        },
    ),
    "resamp_withCarrier": (
        f_resamp_with_carrier,
        {"reference", "secondary"},
        {"coregdir", "azimuth_misreg", "range_misreg", "noflat", "overlap", "overlapDir"},
    ),
    "generateIgram": (
        f_generate_igram,
        {"reference", "secondary"},
        {
            "reference_suffix",
            "secondary_suffix",
            "flatten",
            "interferogram",
            "interferogram_prefix",
            "overlap",
        },
    ),
    "overlap_withDEM": (
        f_overlap_with_dem,
        {"interferogram", "reference_dir", "secondary_dir", "overlap_dir"},
        {"esdAzimuthLooks", "esdRangeLooks"},
    ),
    "estimateAzimuthMisreg": (
        f_estimate_azimuth_misreg,
        set(),
        {"overlap_dir", "out_azimuth", "coh_threshold", "azimuth_looks", "range_looks", "plot"},
    ),
    "estimateRangeMisreg": (
        f_estimate_range_misreg,
        {"reference", "secondary"},
        {"out_range", "snr_threshold"},
    ),
    "mergeBursts": (
        f_merge_bursts,
        {"inp_reference", "dirname", "outfile"},
        {
            "stack",
            "method",
            "aligned",
            "multilook",
            "azimuth_looks",
            "range_looks",
            "name_pattern",
            "valid_only",
            "use_virtual_files",
            "multilook_tool",
            "no_data_value",
        },
    ),
    "FilterAndCoherence": (
        f_filter_and_coherence,
        {"input"},
        {"filt", "coh", "strength", "slc1", "slc2", "complex_coh", "range_looks", "azimuth_looks"},
    ),
    "unwrap": (
        f_unwrap,
        {"ifg"},
        {"unw", "coh", "nomcf", "alks", "rlks", "defomax", "reference", "method", "rmfilter"},
    ),
    "denseOffsets": (
        f_dense_offsets,
        {"reference", "secondary"},
        {"outprefix", "ww", "wh", "sw", "sh", "mm", "kw", "kh", "aa", "rr", "oo"},
    ),
    "subband": (f_subband, {"directory"}, set()),
    "subband_and_resamp": (
        f_subband_and_resamp,
        {"reference", "secondary"},
        {"coregdir", "azimuth_misreg", "range_misreg", "noflat"},
    ),
    "mergeBurstsIon": (
        f_merge_bursts_ion,
        {"reference", "dirname", "name_pattern", "outfile"},
        {"stack", "nrlks", "nalks", "nrlks0", "nalks0", "rvalid", "avalid", "swath"},
    ),
    "coherenceIon": (f_coherence_ion, {"lower", "upper", "coherence"}, {"nrlks", "nalks"}),
    "lookUnwIon": (f_look_unw_ion, {"unw", "cor", "output"}, {"nrlks", "nalks"}),
    "filtIon": (f_filt_ion, {"input", "coherence", "output"}, {"win_min", "win_max"}),
    "filtIonShift": (
        f_filt_ion_shift,
        {"reference_stack", "reference", "secondary", "input", "coherence", "output"},
        {"win_min", "win_max", "nrlks", "nalks"},
    ),
    "burstRampIon": (
        f_burst_ramp_ion,
        {"reference_stack", "input", "output"},
        {"nrlks", "nalks", "ion_height"},
    ),
}

# config name prefix -> run-file step; longest prefixes first
CONFIG_STEPS = sorted(
    {
        "config_reference": "unpack_topo_reference",
        "config_secondary_": "unpack_secondary_slc",
        "config_baseline_": "average_baseline",
        "config_overlap_geo2rdr_": "overlap_geo2rdr",
        "config_overlap_resample_": "overlap_resample",
        "config_misreg_": "pairs_misreg",
        "config_fullBurst_geo2rdr_": "fullBurst_geo2rdr",
        "config_fullBurst_resample_": "fullBurst_resample",
        "config_merge_igram_": "merge_burst_igram",
        "config_merge_": "merge_reference_secondary_slc",
        "config_generate_igram_": "generate_burst_igram",
        "config_igram_filt_coh_": "filter_coherence",
        "config_igram_unw_": "unwrap",
        "config_denseOffset_": "dense_offsets",
        "config_baselinegrid_": "grid_baseline",
        "config_subband_and_resamp_": "subband_and_resamp",
        "config_generateIgram_ion_": "generateIgram_ion",
        "config_mergeBurstsIon_": "mergeBurstsIon",
        "config_unwrap_ion_": "unwrap_ion",
        "config_look_ion_": "look_ion",
        "config_filtIon_": "filtIon",
        "config_filtIonShift_": "filtIonShift",
        "config_burstRampIon_": "burstRampIon",
        "config_mergeBurstRampIon_": "mergeBurstRampIon",
    }.items(),
    key=lambda item: -len(item[0]),
)


def step_of_config(name: str) -> str:
    """The run-file step (e.g. `unwrap`) that a config name (e.g. `config_igram_unw_X_Y`)
    belongs to."""
    for prefix, step in CONFIG_STEPS:
        if name.startswith(prefix):
            return step
    return name


def _wrapper_params(items: list[tuple[str, str]]) -> dict:
    """SentinelWrapper's conversion of a section to options: 'True' becomes a flag,
    'False' and empty values are dropped, anything else is one argument."""
    params: dict = {}
    for key, value in items:
        if value == "True":
            params[key] = True
        elif not value or value == "False":
            continue
        else:
            params[key] = value
    return params


def sentinel_wrapper(job: Job, argv: list[str]) -> None:
    parser = argparse.ArgumentParser(
        prog="SentinelWrapper.py", description="Sentinel Processing Wrapper"
    )
    parser.add_argument("-s", type=str, dest="start", default=None)
    parser.add_argument("-e", type=str, dest="end", default=None)
    parser.add_argument("-c", type=str, dest="config", default=None)
    parser.add_argument("-n", dest="createConfig", action="store_true", default=False)
    args = parser.parse_args(argv)
    config_file = args.config or "sentinel.ini"
    job.config_path = os.path.abspath(config_file)
    if not os.path.exists(config_file):
        raise StandinError(f"SentinelWrapper.py: config file {config_file} does not exist")
    cfg = configparser.ConfigParser()
    cfg.optionxform = str  # keep the case of option names, as the real one does
    with open(config_file) as f:
        cfg.read_file(f.readlines())
    sections = cfg.sections()[1:]
    if args.start is not None and args.end is not None:
        if args.start in sections and args.end in sections:
            sections = sections[sections.index(args.start) : sections.index(args.end) + 1]
        else:
            print("Warning start and end was not found")
    plan = []
    for section in sections:
        items = list(cfg.items(section))
        if not items:
            raise StandinError(f"{config_file}: section [{section}] is empty")
        module = items[0][0]
        plan.append((module, _wrapper_params(items[1:])))
    unit = os.path.basename(config_file)
    job.describe(unit, step_of_config(unit), [m for m, _ in plan])
    print("Functions to be executed:")
    print(sections)
    for module, params in plan:
        if module not in FUNCTIONS:
            raise StandinError(f"module {module} not found")
        function, required, optional = FUNCTIONS[module]
        missing = sorted(required - set(params))
        unknown = sorted(set(params) - required - optional)
        if missing or unknown:
            raise StandinError(
                f"{module}: "
                + (
                    f"the following arguments are required: {', '.join(missing)} "
                    if missing
                    else ""
                )
                + (
                    f"unrecognized arguments: {', '.join('--' + u for u in unknown)}"
                    if unknown
                    else ""
                )
            )
        print(f"Running: {module}")
        job.enter(module)
        function(job, params)


# --------------------------------------------------------------------------------------------
# Plain commands
# --------------------------------------------------------------------------------------------


def subset_reference(job: Job, argv: list[str]) -> None:
    p = argparse.ArgumentParser(prog="subsetReference.py")
    p.add_argument("-m", "--reference", dest="reference", required=True)
    p.add_argument("-o", "--overlapDir", dest="overlapDir", default="overlap")
    p.add_argument("-g", "--geomReference", dest="geom_reference", required=True)
    a = p.parse_args(argv)
    job.describe("subsetReference", "extract_burst_overlaps", ["subsetReference"])
    swaths = swath_list(a.reference)
    if not swaths:
        job.need_glob(os.path.join(a.reference, "IW?"), "reference swath (unpack_topo_reference)")
    for swath in swaths:
        product = read_product(
            os.path.join(a.reference, f"IW{swath}.xml"), job, "reference product"
        )
        overlaps = _overlaps(product["bursts"])
        if not overlaps:
            raise StandinError(
                f"subsetReference.py: IW{swath} has a single burst, so there is no burst overlap "
                f"for NESD (use -C geometry or a larger bbox)"
            )
        geom_dir = os.path.join(a.geom_reference, f"IW{swath}")
        for b in product["bursts"]:
            for layer in ("lat", "lon", "hgt"):
                job.need(os.path.join(geom_dir, f"{layer}_{b:02d}.rdr"), "geometry (topo)")
        sub_dir = os.path.join(a.reference, a.overlapDir, f"IW{swath}")
        out_geom = os.path.join(a.geom_reference, a.overlapDir, f"IW{swath}")
        for b, c in overlaps:
            for half in ("top", "bot"):
                job.image(os.path.join(sub_dir, f"burst_{half}_{b:02d}_{c:02d}.slc"), "CFLOAT")
            for layer in ("lat", "lon", "hgt"):
                job.image(os.path.join(out_geom, f"{layer}_{b:02d}_{c:02d}.rdr"), "DOUBLE")
        for half in ("top", "bottom"):
            job.product(
                os.path.join(a.reference, a.overlapDir, f"IW{swath}_{half}.xml"),
                swath=swath,
                bursts=[b for b, _ in overlaps],
                date=product["sensingdate"] or "",
                kind=f"overlap-{half}",
            )


def invert_misreg(job: Job, argv: list[str]) -> None:
    p = argparse.ArgumentParser(prog="invertMisreg.py")
    p.add_argument("-i", "--input", dest="input", required=True)
    p.add_argument("-o", "--output", dest="output", required=True)
    a = p.parse_args(argv)
    kind = os.path.basename(os.path.dirname(os.path.normpath(a.input)))
    job.describe(f"invertMisreg_{kind}", "timeseries_misreg", ["invertMisreg"])
    configs = os.path.join(
        os.path.dirname(os.path.dirname(os.path.dirname(os.path.normpath(a.input)))), "configs"
    )
    job.need_all(
        {
            os.path.join(a.input, pair, pair + ".txt"): f"config_misreg_{pair}"
            for pair in (
                os.path.basename(c).removeprefix("config_misreg_")
                for c in glob.glob(os.path.join(configs, "config_misreg_*"))
            )
        },
        "pair misregistration file(s)",
    )
    files = job.need_glob(os.path.join(a.input, "*/*.txt"), "pair misregistration (pairs_misreg)")
    edges: dict[str, list[tuple[str, float]]] = {}
    for path in files:
        first, second = os.path.basename(os.path.dirname(path)).split("_")[:2]
        with open(path) as f:
            values = dict(line.split(" : ", 1) for line in f.read().splitlines() if " : " in line)
        if "median" not in values:
            raise StandinError(f"invertMisreg.py: {path} has no median (a partial write?)")
        value = float(values["median"])
        edges.setdefault(first, []).append((second, value))
        edges.setdefault(second, []).append((first, -value))
    dates = sorted(edges)
    # offsets relative to the first date along the pair network (the real code solves
    # the same system by least squares)
    offsets = {dates[0]: 0.0}
    queue = [dates[0]]
    while queue:
        date = queue.pop(0)
        for other, value in edges[date]:
            if other not in offsets:
                offsets[other] = offsets[date] + value
                queue.append(other)
    if len(offsets) < len(dates):
        print("Design matrix is rank deficient. Network is disconnected.")
    for date in dates:
        job.write_text(os.path.join(a.output, date + ".txt"), str(offsets.get(date, 0.0)))


def _stack_hazard(stack_dir: str, reference: str) -> None:
    """A stack/ left by an interrupted run breaks the next one (rsmas_insar#417/#418): the
    real script then loads the partial stack/IW*.xml in place of the reference."""
    stack_swaths = set()
    for path in sorted(glob.glob(os.path.join(stack_dir, "*.xml"))):
        try:
            stack_swaths.add(read_product(path)["swathnumber"])
        except StandinError as exc:
            raise StandinError(
                f"extractCommonValidRegion.py: {stack_dir} holds a partial write from an earlier "
                f"run ({os.path.basename(path)} cannot be loaded); delete {stack_dir} before "
                f"re-running (rsmas_insar#417)"
            ) from exc
    expected = {n for n in (1, 2, 3) if os.path.exists(os.path.join(reference, f"IW{n}.xml"))}
    if stack_swaths != expected:
        raise StandinError(
            f"extractCommonValidRegion.py: {stack_dir} holds a partial write from an earlier run "
            f"(swaths {sorted(stack_swaths)}, the reference has {sorted(expected)}); delete "
            f"{stack_dir} before re-running (rsmas_insar#417)"
        )


def extract_common_valid_region(job: Job, argv: list[str]) -> None:
    p = argparse.ArgumentParser(prog="extractCommonValidRegion.py")
    p.add_argument("-m", "--reference", dest="reference", required=True)
    p.add_argument("-s", "--secondary", dest="secondary", required=True)
    a = p.parse_args(argv)
    job.describe(
        "extractCommonValidRegion", "extract_stack_valid_region", ["extractCommonValidRegion"]
    )
    stack_dir = os.path.join(os.path.dirname(a.reference), "stack")
    reference = a.reference
    if os.path.exists(stack_dir) and glob.glob(os.path.join(stack_dir, "*.xml")):
        _stack_hazard(stack_dir, a.reference)
        print(stack_dir, " already exists.")
        print("Replacing reference with existing stack.")
        reference = stack_dir
    configs = os.path.join(os.path.dirname(os.path.normpath(a.secondary)), "configs")
    resampled = [
        os.path.basename(c).rsplit("_", 1)[1]
        for c in glob.glob(os.path.join(configs, "config_fullBurst_resample_*"))
    ]
    job.need_all(
        {
            os.path.join(a.secondary, date, f"IW{swath}.xml"): f"config_fullBurst_resample_{date}"
            for date in resampled
            for swath in swath_list(a.reference)
        },
        "coregistered date product(s)",
    )
    secondaries = sorted(glob.glob(os.path.join(a.secondary, "2*")))
    if not secondaries:
        raise StandinError(
            f"extractCommonValidRegion.py: no coregistered date in {a.secondary} "
            f"(fullBurst_resample has not run)"
        )
    swaths = sorted(set(swath_list(reference)) | set(swath_list(secondaries[0])))
    if not swaths:
        job.need_glob(os.path.join(reference, "IW?"), "reference swath")
    products = {}
    kept = set(secondaries)
    for swath in swaths:
        products[swath] = read_product(
            os.path.join(reference, f"IW{swath}.xml"), job, "reference product"
        )
        for secondary in secondaries:
            coreg = read_product(
                os.path.join(secondary, f"IW{swath}.xml"),
                job,
                "coregistered product (fullBurst_resample)",
            )
            if len(coreg["bursts"]) != len(products[swath]["bursts"]):
                print(
                    f"WARNING: {os.path.basename(secondary)} has different number of bursts "
                    f"({len(coreg['bursts'])}) than the reference ({len(products[swath]['bursts'])}) "
                    f"for swath {swath} --> exclude it for common region calculation"
                )
                kept.discard(secondary)
    print(f"{len(kept)} of {len(secondaries)} secondary dates define the common valid region")
    for swath in swaths:
        product = products[swath]
        job.product(
            os.path.join(stack_dir, f"IW{swath}.xml"),
            swath=swath,
            bursts=product["bursts"],
            date=product["sensingdate"] or "",
            kind="stack",
        )
        job.makedirs(os.path.join(stack_dir, f"IW{swath}"))


def _ion_pair_name(path: str) -> str:
    """The `<d1>_<d2>` directory under ion/ that a path lies in."""
    parts = os.path.normpath(path).split(os.sep)
    if "ion" in parts and parts.index("ion") + 1 < len(parts):
        return parts[parts.index("ion") + 1]
    return os.path.basename(path)


def compute_ion(job: Job, argv: list[str]) -> None:
    p = argparse.ArgumentParser(prog="computeIon.py")
    p.add_argument("-l", "--lower", required=True)
    p.add_argument("-u", "--upper", required=True)
    p.add_argument("-c", "--coherence", required=True)
    p.add_argument("-i", "--ionosphere", required=True)
    p.add_argument("-o", "--coherence_output", required=True)
    p.add_argument("-m", "--masked_areas", type=int, nargs="+", action="append", default=None)
    a = p.parse_args(argv)
    cal = os.path.basename(os.path.dirname(a.ionosphere))
    suffix = cal.replace("ion_cal", "")
    job.describe(f"computeIon_{_ion_pair_name(a.ionosphere)}{suffix}", "computeIon", ["computeIon"])
    lower = job.need(a.lower, "multilooked lower-band unwrapped interferogram (look_ion)")
    job.need(a.upper, "multilooked upper-band unwrapped interferogram (look_ion)")
    job.need(a.coherence, "multilooked coherence (look_ion)")
    width, length = image_size(lower)
    job.image(a.ionosphere, "FLOAT", width=width, length=length, image_type="ion")
    job.image(a.coherence_output, "FLOAT", width=width, length=length, image_type="cor")


def merge_swath_ion(job: Job, argv: list[str]) -> None:
    p = argparse.ArgumentParser(prog="mergeSwathIon.py")
    p.add_argument("-c", "--reference", required=True)
    p.add_argument("-s", "--stack", default=None)
    p.add_argument("-i", "--input", required=True)
    p.add_argument("-o", "--output", required=True)
    p.add_argument("-r", "--nrlks", type=int, default=1)
    p.add_argument("-a", "--nalks", type=int, default=1)
    p.add_argument("-m", "--remove_ramp", type=int, default=0)
    a = p.parse_args(argv)
    job.describe(
        f"mergeSwathIon_{os.path.basename(os.path.normpath(a.input))}",
        "computeIon",
        ["mergeSwathIon"],
    )
    swaths = swath_list(a.reference)
    for swath in swaths:
        read_product(os.path.join(a.reference, f"IW{swath}.xml"), job)
        for name in ("raw_no_projection.ion", "raw_no_projection.cor"):
            job.need(os.path.join(a.input, f"ion_cal_IW{swath}", name), "per-swath ionosphere")
    first = os.path.join(a.input, f"ion_cal_IW{swaths[0]}", "raw_no_projection.ion")
    width, length = image_size(first)
    for name in ("raw_no_projection.ion", "raw_no_projection.cor"):
        job.image(os.path.join(a.output, name), "FLOAT", width=width, length=length)


def invert_ion(job: Job, argv: list[str]) -> None:
    p = argparse.ArgumentParser(prog="invertIon.py")
    p.add_argument("--idir", required=True)
    p.add_argument("--filename", default="filt.ion")
    p.add_argument("--odir", required=True)
    p.add_argument("--zro_date", default=None)
    p.add_argument("--exc_date", nargs="+", default=[])
    p.add_argument("--exc_pair", nargs="+", default=[])
    p.add_argument("--tsmax", type=float, default=None)
    for name in ("--nrlks1", "--nalks1", "--nrlks2", "--nalks2"):
        p.add_argument(name, type=int, default=1)
    p.add_argument("--width2", type=int, default=None)
    p.add_argument("--length2", type=int, default=None)
    p.add_argument("--merged_geom", default=None)
    p.add_argument("--interp", action="store_true", default=False)
    p.add_argument("--msk_overlap", action="store_true", default=False)
    a = p.parse_args(argv)
    unit = "invertIonShift" if a.filename == "azshift.ion" else "invertIon"
    job.describe(unit, unit, [unit])
    writer = "config_filtIonShift_" if a.filename == "azshift.ion" else "config_filtIon_"
    configs = os.path.join(os.path.dirname(os.path.abspath(a.idir)), "configs")
    job.need_all(
        {
            os.path.join(os.path.abspath(a.idir), pair, "ion_cal", a.filename): writer + pair
            for pair in (
                os.path.basename(c).removeprefix(writer)
                for c in glob.glob(os.path.join(configs, writer + "*"))
            )
        },
        "ionosphere pair file(s)",
    )
    pair_dirs = job.need_glob(os.path.join(os.path.abspath(a.idir), "*_*"), "ionosphere pair")
    dates = set()
    for pair_dir in pair_dirs:
        job.need(os.path.join(pair_dir, "ion_cal", a.filename), "ionosphere of the pair")
        dates.update(os.path.basename(pair_dir).split("_")[:2])
    if a.merged_geom:
        job.need(a.merged_geom, "merged geometry (merge_reference_secondary_slc)")
        width, length = image_size(a.merged_geom)
    else:
        width, length = FULL_WIDTH // a.nrlks2, FULL_LENGTH // a.nalks2
    for date in sorted(dates):
        job.image(
            os.path.join(a.odir, date + ".ion"),
            "FLOAT",
            width=width,
            length=length,
            image_type="ion",
        )


PROGRAMS = {
    "stackSentinel.py": stack_sentinel,
    "SentinelWrapper.py": sentinel_wrapper,
    "subsetReference.py": subset_reference,
    "invertMisreg.py": invert_misreg,
    "extractCommonValidRegion.py": extract_common_valid_region,
    "computeIon.py": compute_ion,
    "mergeSwathIon.py": merge_swath_ion,
    "invertIon.py": invert_ion,
}


def main(program: str, argv: list[str]) -> int:
    """Entry point of the bin/ wrappers: run `program` with `argv`, return the exit status."""
    job = Job(program, argv)
    rc, error = 0, None
    try:
        PROGRAMS[program](job, argv)
        job.finish()
    except StandinError as exc:
        rc, error = 1, str(exc)
        print(f"ERROR: {program}: {exc}", file=sys.stderr)
    except SystemExit as exc:  # argparse errors and --help
        rc = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        error = None if rc == 0 else "command-line error"
    except Exception as exc:
        rc, error = 1, f"{type(exc).__name__}: {exc}"
        job.log(rc, error)
        raise
    job.log(rc, error)
    return rc
