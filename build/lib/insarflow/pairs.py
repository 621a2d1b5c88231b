"""Sentinel-1 scene names, interferogram pairs and their validation.

A pair is written as (reference, secondary) where the reference is always the earlier
acquisition. Three kinds of pair exist:

* ``slc``: two IW SLC scene names (HyP3 INSAR_GAMMA; their dates feed ISCE),
* ``burst``: two IW SLC burst names (HyP3 INSAR_ISCE_BURST),
* ``date``: two dates YYYYMMDD (ISCE2 topsStack only).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from insarflow.errors import UserError

SLC_PATTERN = re.compile(
    r"^(?P<mission>S1[ABCD])_IW_SLC__1S(?P<pol>[SD][VH])_(?P<start>\d{8}T\d{6})_"
    r"(?P<stop>\d{8}T\d{6})_(?P<orbit>\d{6})_(?P<datatake>[0-9A-F]{6})_(?P<product_id>[0-9A-F]{4})$"
)
BURST_PATTERN = re.compile(
    r"^S1_(?P<burst_id>\d{6})_IW(?P<swath>[1-3])_(?P<start>\d{8}T\d{6})_(?P<pol>VV|VH|HH|HV)_"
    r"(?P<product_id>[0-9A-F]{4})-BURST$"
)
DATE_PATTERN = re.compile(r"^\d{8}$")

# Offsets of the absolute-orbit counter per mission (HyP3's check_same_relative_orbits).
_ORBIT_OFFSETS = {"S1A": 73, "S1B": 27, "S1D": 42}
_ORBITS_PER_CYCLE = 175
_S1C_ORBIT_OFFSET_CHANGE = 8018


def relative_orbit(mission: str, absolute_orbit: int) -> int:
    """Relative orbit (track) 1..175 of a Sentinel-1 absolute orbit number."""
    if mission == "S1C":
        offset = 172 if absolute_orbit <= _S1C_ORBIT_OFFSET_CHANGE else 99
    else:
        offset = _ORBIT_OFFSETS[mission]
    return ((absolute_orbit - offset) % _ORBITS_PER_CYCLE) + 1


@dataclass(frozen=True)
class Scene:
    """One acquisition: an SLC scene, a burst, or a bare date."""

    name: str
    kind: str  # "slc" | "burst" | "date"
    start: datetime
    mission: str | None = None
    polarization: str | None = None  # co-pol letter pair, e.g. "VV" or "HH"
    track: str | None = None  # relative orbit for SLCs, burst id + swath for bursts

    @property
    def date(self) -> str:
        return self.start.strftime("%Y%m%d")


def parse_scene(name: str) -> Scene:
    """Parse a scene name; raise UserError naming the value and the accepted forms."""
    name = name.strip()
    if match := SLC_PATTERN.match(name):
        mission = match["mission"]
        return Scene(
            name=name,
            kind="slc",
            start=datetime.strptime(match["start"], "%Y%m%dT%H%M%S"),
            mission=mission,
            polarization="V" * 2 if match["pol"][1] == "V" else "HH",
            track=f"relative orbit {relative_orbit(mission, int(match['orbit']))}",
        )
    if match := BURST_PATTERN.match(name):
        return Scene(
            name=name,
            kind="burst",
            start=datetime.strptime(match["start"], "%Y%m%dT%H%M%S"),
            polarization=match["pol"],
            track=f"burst {match['burst_id']}_IW{match['swath']}",
        )
    if DATE_PATTERN.match(name):
        try:
            start = datetime.strptime(name, "%Y%m%d")
        except ValueError:
            raise UserError(f"'{name}' is not a calendar date (YYYYMMDD)") from None
        return Scene(name=name, kind="date", start=start)
    raise UserError(
        f"'{name}' is not a Sentinel-1 IW SLC name (S1A_IW_SLC__1SDV_<start>_<stop>_<orbit>_"
        "<datatake>_<id>), an IW burst name (S1_<burst>_IW<n>_<time>_<pol>_<id>-BURST) or a date "
        "YYYYMMDD"
    )


@dataclass(frozen=True)
class Pair:
    """An interferogram pair; ``reference`` is the earlier acquisition."""

    reference: Scene
    secondary: Scene

    @property
    def kind(self) -> str:
        return self.reference.kind

    @property
    def pair_id(self) -> str:
        """Stable, filesystem-safe identifier used as the Snakemake ``{pair}`` wildcard."""
        if self.kind == "slc":
            ref, sec = self.reference.name.split("_")[5], self.secondary.name.split("_")[5]
            return f"{ref}_{sec}"
        if self.kind == "burst":
            burst = "_".join(self.reference.name.split("_")[1:3])
            ref, sec = self.reference.name.split("_")[3], self.secondary.name.split("_")[3]
            return f"{burst}_{ref}_{sec}"
        return f"{self.reference.name}_{self.secondary.name}"

    @property
    def dates(self) -> tuple[str, str]:
        return self.reference.date, self.secondary.date


def make_pair(first: str | Sequence[str], second: str | Sequence[str]) -> Pair:
    """Build a validated pair from two scene names in any order (the earlier becomes reference).

    Two lists of burst names make a multi-burst pair (reference first; see insarflow.multiburst).
    """
    if not isinstance(first, str) or not isinstance(second, str):
        from insarflow.multiburst import make_multi_burst_pair  # imports this module

        return make_multi_burst_pair(list(first), list(second))  # type: ignore[return-value]
    scene_a, scene_b = parse_scene(first), parse_scene(second)
    if scene_a.kind != scene_b.kind:
        raise UserError(f"mixes a {scene_a.kind} name and a {scene_b.kind} name; use two of a kind")
    if scene_a.kind != "date" and scene_a.track != scene_b.track:
        raise UserError(
            f"scenes are on different tracks ({scene_a.track} vs {scene_b.track}); "
            "both must be on the same one"
        )
    if scene_a.polarization != scene_b.polarization:
        raise UserError(
            f"polarizations differ ({scene_a.polarization} vs {scene_b.polarization}); "
            "both must be VV or both HH"
        )
    if scene_a.kind == "burst" and scene_a.polarization not in ("VV", "HH"):
        raise UserError(f"burst polarization {scene_a.polarization} is not processed; use VV or HH")
    if scene_a.date == scene_b.date:
        raise UserError(f"both scenes are from {scene_a.date}; a pair needs two different dates")
    reference, secondary = sorted((scene_a, scene_b), key=lambda scene: scene.start)
    return Pair(reference=reference, secondary=secondary)


def validate_rows(rows: Iterable[tuple[int, str, str]], source: str) -> list[Pair]:
    """Validate (line number, first, second) rows; report every bad row at once.

    Raises UserError with one line per bad row: ``<source>:<line>: <reason>``.
    """
    pairs: list[Pair] = []
    problems: list[str] = []
    seen: dict[frozenset[str], int] = {}
    first_of_kind: tuple[str, int] | None = None  # (kind, line) of the first good row
    for line, first, second in rows:
        try:
            pair = make_pair(first, second)
        except UserError as error:
            problems.append(f"{source}:{line}: {error}")
            continue
        key = frozenset((pair.reference.name, pair.secondary.name))
        if key in seen:
            problems.append(
                f"{source}:{line}: duplicate of the pair on line {seen[key]} "
                f"({pair.reference.name}, {pair.secondary.name}); each pair may appear once"
            )
            continue
        seen[key] = line
        if first_of_kind is None:
            first_of_kind = (pair.kind, line)
        elif pair.kind != first_of_kind[0]:
            problems.append(
                f"{source}:{line}: a {pair.kind} pair in a table of {first_of_kind[0]} pairs "
                f"(line {first_of_kind[1]}); use one kind (slc, burst or date) per table"
            )
            continue
        pairs.append(pair)
    if problems:
        # A scene network repeats a scene in several rows: report each problem once.
        raise UserError("\n".join(dict.fromkeys(problems)))
    return pairs


def read_pair_table(path: str | Path) -> list[Pair]:
    """Read a TSV pair table with a ``reference`` and a ``secondary`` column."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"pair table '{path}' does not exist; set `pairs` to a TSV file")
    with path.open(newline="") as handle:
        lines = [(number, text) for number, text in enumerate(handle, start=1)]
    content = [
        (number, text) for number, text in lines if text.strip() and not text.startswith("#")
    ]
    if not content:
        raise UserError(f"pair table '{path}' is empty; it needs a header and at least one pair")
    header_line, header_text = content[0]
    header = next(csv.reader([header_text], delimiter="\t"))
    header = [column.strip() for column in header]
    missing = {"reference", "secondary"} - set(header)
    if missing:
        raise UserError(
            f"{path}:{header_line}: header {header} lacks column(s) {sorted(missing)}; "
            "the table needs tab-separated columns reference and secondary"
        )
    ref_col, sec_col = header.index("reference"), header.index("secondary")
    rows: list[tuple[int, str, str]] = []
    problems: list[str] = []
    for number, text in content[1:]:
        cells = next(csv.reader([text.rstrip("\n")], delimiter="\t"))
        if (
            len(cells) <= max(ref_col, sec_col)
            or not cells[ref_col].strip()
            or not cells[sec_col].strip()
        ):
            problems.append(
                f"{path}:{number}: expected {len(header)} tab-separated columns, got {cells}"
            )
            continue
        rows.append((number, cells[ref_col].strip(), cells[sec_col].strip()))
    try:
        pairs = validate_rows(rows, str(path))
    except UserError as error:
        problems.extend(str(error).splitlines())
    if problems:
        raise UserError("\n".join(sorted(problems, key=_line_number)))
    if not pairs:
        raise UserError(f"pair table '{path}' has a header but no pairs")
    return pairs


def _line_number(problem: str) -> int:
    parts = problem.split(":")
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


def read_scene_list(path: str | Path) -> list[tuple[int, str]]:
    """Read one scene name or date per line as (line number, name); skip blanks and # comments."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"scene list '{path}' does not exist; set `scenes` to a text file")
    numbered = [
        (number, line.split("#", 1)[0].strip())
        for number, line in enumerate(path.read_text().splitlines(), start=1)
    ]
    return [(number, name) for number, name in numbered if name]


def sequential_pairs(
    scene_names: Sequence[str],
    connections: int,
    source: str = "scenes",
    line_numbers: Sequence[int] | None = None,
) -> list[Pair]:
    """Sequential network: each scene paired with its next ``connections`` scenes in time.

    ``line_numbers`` are the file lines of the names (default: their 1-based positions), so
    every problem is reported as ``<source>:<line>: <reason>`` naming the scene at fault.
    """
    lines = list(line_numbers) if line_numbers is not None else list(range(1, len(scene_names) + 1))
    problems: list[str] = []
    scenes: list[tuple[int, Scene]] = []
    for number, name in zip(lines, scene_names, strict=True):
        try:
            scenes.append((number, parse_scene(name)))
        except UserError as error:
            problems.append(f"{source}:{number}: {error}")
    if problems:
        raise UserError("\n".join(problems))
    if not scenes:
        raise UserError(f"{source}: no scenes listed; a network needs at least 2")
    # Every scene must pair with every other, so each is checked against the first one listed.
    first_line, first = scenes[0]
    line_of_date: dict[str, int] = {}
    for number, scene in scenes:
        if scene.kind != first.kind:
            problems.append(
                f"{source}:{number}: {scene.name} is a {scene.kind} name but line {first_line} "
                f"holds a {first.kind} name; list one kind only"
            )
        elif scene.track != first.track:
            problems.append(
                f"{source}:{number}: {scene.name} is on {scene.track} but line {first_line} is on "
                f"{first.track}; all scenes must be on the same one"
            )
        elif scene.polarization != first.polarization:
            problems.append(
                f"{source}:{number}: {scene.name} has polarization {scene.polarization} but line "
                f"{first_line} has {first.polarization}; all scenes must share one"
            )
        elif scene.date in line_of_date:
            problems.append(
                f"{source}:{number}: a second scene on {scene.date} (line "
                f"{line_of_date[scene.date]}); list one scene per date"
            )
        else:
            line_of_date[scene.date] = number
    if problems:
        raise UserError("\n".join(problems))
    if len(scenes) < 2:
        raise UserError(f"{source}: {len(scenes)} scene listed; a network needs at least 2")
    ordered = sorted(scenes, key=lambda item: item[1].start)
    rows = [
        (ordered[index][0], ordered[index][1].name, ordered[later][1].name)
        for index in range(len(ordered))
        for later in range(index + 1, min(index + 1 + connections, len(ordered)))
    ]
    return validate_rows(rows, source)


def scene_list_network(path: str | Path, connections: int) -> list[Pair]:
    """Sequential network from a scene-list file; problems name the file's own line numbers."""
    numbered = read_scene_list(path)
    return sequential_pairs(
        [name for _, name in numbered],
        connections,
        source=str(path),
        line_numbers=[number for number, _ in numbered],
    )
