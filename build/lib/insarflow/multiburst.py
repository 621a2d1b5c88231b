"""Multi-burst interferogram pairs (HyP3 INSAR_ISCE_MULTI_BURST): the table, its expansion, its rules.

A user writes three short things instead of 15 x 2 burst names per row:

* ``pairs``: the usual TSV pair table, with *dates* YYYYMMDD in the reference and secondary
  columns (one row per interferogram, the reference the older date);
* ``multi_burst.burst_ids``: the bursts every interferogram covers, as ASF full burst ids
  ``<track>_<burst id>_IW<n>`` (what ASF Vertex and asf_search show), 1 to 15 of them;
* ``multi_burst.granules``: a text file of burst granule names, one per line (a pasted search
  result; bursts of other ids are ignored), from which each date's bursts are taken.

Each row then becomes one HyP3 job whose reference and secondary are that burst set on the two
dates. Before anything is spent, every problem of all three inputs is reported at once, one line
each, naming the file and line (or config key), the bad value and what is allowed. The rules are
HyP3's own (``multi_burst_validation.py`` of the HyP3 API: 1-15 pairs, equal counts, the same
burst + swath + polarisation set on both sides, unique bursts, one polarisation VV or HH, each
side within 2 minutes, the reference older), plus contiguity, which HyP3's burst InSAR guide asks
for (a set must be contiguous without holes) because the bursts are merged into one image.

Contiguity, as checked here: within each swath the burst ids are consecutive; the swaths used are
adjacent (IW1 and IW3 need IW2); and neighbouring swaths' burst-id ranges touch or overlap.

The pair id (the ``{pair}`` wildcard and product directory) reads like the product name:
``<track>_<first burst>s<swath>n<count>[-<first burst>s<swath>n<count>...]_<ref date>_<sec date>``,
one ``s<swath>n<count>`` group per swath used, e.g. ``064_136231s2n03_20200604_20200616``. A
contiguous set is fully given by its first burst and count per swath, so the id is unique.
"""

from __future__ import annotations

import csv
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from insarflow.errors import UserError
from insarflow.pairs import BURST_PATTERN, DATE_PATTERN, Scene, parse_scene

JOB_TYPE = "INSAR_ISCE_MULTI_BURST"
MAX_BURSTS = 15
ACQUISITION_WINDOW = timedelta(minutes=2)
CO_POLARIZATIONS = ("VV", "HH")
BURST_ID_PATTERN = re.compile(r"^(?P<track>\d{3})_(?P<burst_id>\d{6})_IW(?P<swath>[1-3])$")
# ESA burst ids count the bursts of the whole 12-day cycle of 175 orbits.
BURSTS_PER_CYCLE = 375887
ORBITS_PER_CYCLE = 175


def track_of_burst(burst_id: int) -> int:
    """Relative orbit (track) 1..175 that an ESA burst id belongs to."""
    return min(int((burst_id - 1) * ORBITS_PER_CYCLE / BURSTS_PER_CYCLE) + 1, ORBITS_PER_CYCLE)


@dataclass(frozen=True, order=True)
class BurstId:
    """One burst position on the ground: ``<track>_<burst id>_IW<swath>``."""

    burst_id: int
    swath: int

    @property
    def track(self) -> int:
        return track_of_burst(self.burst_id)

    def __str__(self) -> str:
        return f"{self.track:03d}_{self.burst_id:06d}_IW{self.swath}"


def burst_id_of(scene: Scene) -> BurstId:
    parts = scene.name.split("_")
    return BurstId(int(parts[1]), int(parts[2][2:]))


@dataclass(frozen=True)
class BurstSet:
    """One side of a multi-burst pair: the bursts of one acquisition, ordered by id and swath."""

    bursts: tuple[Scene, ...]

    @property
    def name(self) -> tuple[str, ...]:
        """The burst granule names, as the job request lists them (a scene's ``name`` is one)."""
        return tuple(burst.name for burst in self.bursts)

    @property
    def start(self) -> datetime:
        return min(burst.start for burst in self.bursts)

    @property
    def date(self) -> str:
        return self.start.strftime("%Y%m%d")

    @property
    def kind(self) -> str:
        return "multi_burst"


@dataclass(frozen=True)
class MultiBurstPair:
    """A multi-burst interferogram: the same burst set on two dates, the reference older.

    It behaves like ``insarflow.pairs.Pair`` (``reference.name``, ``pair_id``, ``dates``), so the
    HyP3 pipeline (ledger, rounds, downloads, status) treats it as just another pair.
    """

    reference: BurstSet
    secondary: BurstSet

    @property
    def kind(self) -> str:
        return "multi_burst"

    @property
    def burst_ids(self) -> list[BurstId]:
        return sorted(burst_id_of(burst) for burst in self.reference.bursts)

    @property
    def pair_id(self) -> str:
        return f"{burst_set_label(self.burst_ids)}_{self.reference.date}_{self.secondary.date}"

    @property
    def dates(self) -> tuple[str, str]:
        return self.reference.date, self.secondary.date


def burst_set_label(ids: Sequence[BurstId]) -> str:
    """``<track>_<first>s<swath>n<count>[-...]``: one group per swath used, like the product name."""
    groups = []
    for swath in sorted({burst.swath for burst in ids}):
        in_swath = [burst.burst_id for burst in ids if burst.swath == swath]
        groups.append(f"{min(in_swath):06d}s{swath}n{len(in_swath):02d}")
    return f"{ids[0].track:03d}_" + "-".join(groups)


# -- HyP3's rules for one job -------------------------------------------------------------------


def contiguity_problem(ids: Iterable[BurstId]) -> str | None:
    """Why a burst set is not contiguous (None when it is)."""
    ranges: dict[int, list[int]] = {}
    for burst in ids:
        ranges.setdefault(burst.swath, []).append(burst.burst_id)
    for swath, numbers in sorted(ranges.items()):
        numbers.sort()
        missing = sorted(set(range(numbers[0], numbers[-1] + 1)) - set(numbers))
        if missing:
            return (
                f"IW{swath} has bursts {numbers[0]:06d} to {numbers[-1]:06d} but not "
                f"{', '.join(f'{n:06d}' for n in missing)}; a burst set must be contiguous "
                "(no holes)"
            )
    swaths = sorted(ranges)
    if swaths != list(range(swaths[0], swaths[-1] + 1)):
        return (
            f"swaths {', '.join(f'IW{s}' for s in swaths)} are not adjacent; a burst set must be "
            "contiguous (IW1 and IW3 need IW2)"
        )
    for left, right in itertools.pairwise(swaths):
        low_a, high_a = min(ranges[left]), max(ranges[left])
        low_b, high_b = min(ranges[right]), max(ranges[right])
        if low_b > high_a + 1 or low_a > high_b + 1:
            return (
                f"IW{left} bursts {low_a:06d}-{high_a:06d} and IW{right} bursts "
                f"{low_b:06d}-{high_b:06d} do not touch; a burst set must be contiguous"
            )
    return None


def job_problems(reference: Sequence[str], secondary: Sequence[str]) -> list[str]:
    """Every reason HyP3 (or its processor) would refuse this reference/secondary burst job.

    One sentence each, naming the bad value and what is allowed; empty when the job is valid.
    """
    problems: list[str] = []
    sides: dict[str, list[Scene]] = {}
    for side, names in (("reference", reference), ("secondary", secondary)):
        scenes = []
        for name in names:
            if not BURST_PATTERN.match(name):
                problems.append(
                    f"{side} {name!r} is not an IW burst name (S1_<burst>_IW<n>_<time>_<pol>_<id>-BURST)"
                )
                continue
            scenes.append(parse_scene(name))
        sides[side] = scenes
    if problems:
        return problems
    ref, sec = sides["reference"], sides["secondary"]
    for side, scenes in sides.items():
        if not 1 <= len(scenes) <= MAX_BURSTS:
            problems.append(
                f"{len(scenes)} {side} bursts; a multi-burst job takes 1 to {MAX_BURSTS} pairs"
            )
    if problems:
        return problems
    if len(ref) != len(sec):
        problems.append(
            f"{len(ref)} reference and {len(sec)} secondary bursts; both sides need the same number"
        )

    def identity(scene: Scene) -> str:
        return f"{burst_id_of(scene)}_{scene.polarization}"

    ref_ids = [identity(scene) for scene in ref]
    sec_ids = [identity(scene) for scene in sec]
    for side, ids in (("reference", ref_ids), ("secondary", sec_ids)):
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            problems.append(
                f"{side} burst(s) {', '.join(repeated)} listed more than once; each burst once"
            )
    only_ref, only_sec = sorted(set(ref_ids) - set(sec_ids)), sorted(set(sec_ids) - set(ref_ids))
    if only_ref or only_sec:
        problems.append(
            "burst id + swath + polarisation differ between the sides (only in reference: "
            f"{', '.join(only_ref) or 'none'}; only in secondary: {', '.join(only_sec) or 'none'}); "
            "both sides need the same set"
        )
    pols = sorted({scene.polarization for scene in ref + sec})
    if len(pols) > 1:
        problems.append(
            f"polarisations {', '.join(pols)} are mixed; a job takes one polarisation, VV or HH"
        )
    elif pols[0] not in CO_POLARIZATIONS:
        problems.append(f"polarisation {pols[0]} is not processed by HyP3; use VV or HH")
    for side, scenes in sides.items():
        times = sorted(scene.start for scene in scenes)
        if times[-1] - times[0] > ACQUISITION_WINDOW:
            problems.append(
                f"{side} bursts span {times[0]:%Y-%m-%dT%H:%M:%S} to {times[-1]:%Y-%m-%dT%H:%M:%S}, "
                "more than 2 minutes; each side must be one acquisition (2-minute window)"
            )
    if max(s.start for s in ref) >= min(s.start for s in sec):
        problems.append(
            f"reference {max(s.start for s in ref):%Y-%m-%dT%H:%M:%S} is not older than secondary "
            f"{min(s.start for s in sec):%Y-%m-%dT%H:%M:%S}; the reference must be the older date"
        )
    contiguity = contiguity_problem({burst_id_of(scene) for scene in ref})
    if contiguity:
        problems.append(contiguity)
    return problems


def make_multi_burst_pair(reference: Sequence[str], secondary: Sequence[str]) -> MultiBurstPair:
    """A validated multi-burst pair from its burst names; UserError listing every broken rule."""
    problems = job_problems(reference, secondary)
    if problems:
        raise UserError("\n".join(problems))

    def side(names: Sequence[str]) -> BurstSet:
        scenes = sorted((parse_scene(name) for name in names), key=burst_id_of)
        return BurstSet(tuple(scenes))

    return MultiBurstPair(reference=side(reference), secondary=side(secondary))


# -- the three inputs -------------------------------------------------------------------------


def parse_burst_ids(values: Sequence[object], key: str = "multi_burst.burst_ids") -> list[BurstId]:
    """The configured burst ids; UserError with one line per problem."""
    problems: list[str] = []
    ids: list[BurstId] = []
    seen: dict[BurstId, int] = {}
    if not 1 <= len(values) <= MAX_BURSTS:
        problems.append(
            f"config: {key} lists {len(values)} bursts; a multi-burst job takes 1 to {MAX_BURSTS}"
        )
    for position, value in enumerate(values, start=1):
        match = BURST_ID_PATTERN.match(str(value))
        if not match:
            problems.append(
                f"config: {key}[{position}] = {value!r} is not a full burst id; "
                "write <track>_<burst id>_IW<n>, e.g. 064_136231_IW2"
            )
            continue
        burst = BurstId(int(match["burst_id"]), int(match["swath"]))
        if int(match["track"]) != burst.track:
            problems.append(
                f"config: {key}[{position}] = {value!r}: burst {match['burst_id']} lies on track "
                f"{burst.track:03d}, not {match['track']}; write {burst}"
            )
            continue
        if burst in seen:
            problems.append(
                f"config: {key}[{position}] = {value!r} repeats item {seen[burst]}; "
                "list each burst once"
            )
            continue
        seen[burst] = position
        ids.append(burst)
    tracks = sorted({burst.track for burst in ids})
    if len(tracks) > 1:
        problems.append(
            f"config: {key} mixes tracks {', '.join(f'{t:03d}' for t in tracks)}; "
            "a multi-burst job covers bursts of one track"
        )
    if not problems and ids:
        contiguity = contiguity_problem(ids)
        if contiguity:
            problems.append(f"config: {key}: {contiguity}")
    if problems:
        raise UserError("\n".join(problems))
    return sorted(ids)


@dataclass(frozen=True)
class ListedBurst:
    line: int
    scene: Scene


def read_burst_granules(
    path: str | Path, wanted: Iterable[BurstId]
) -> dict[tuple[BurstId, str], ListedBurst]:
    """The granule list's bursts of the wanted ids, by (burst id, date); one line per problem."""
    path = Path(path)
    if not path.is_file():
        raise UserError(
            f"burst granule list '{path}' does not exist; set multi_burst.granules to a text file "
            "with one burst name per line"
        )
    wanted = set(wanted)
    problems: list[str] = []
    found: dict[tuple[BurstId, str], ListedBurst] = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        name = line.split("#", 1)[0].strip()
        if not name:
            continue
        if not BURST_PATTERN.match(name):
            problems.append(
                f"{path}:{number}: {name!r} is not an IW burst name "
                "(S1_<burst>_IW<n>_<time>_<pol>_<id>-BURST)"
            )
            continue
        scene = parse_scene(name)
        burst = burst_id_of(scene)
        if burst not in wanted:
            continue  # a pasted search result may hold other bursts
        if scene.polarization not in CO_POLARIZATIONS:
            problems.append(
                f"{path}:{number}: {name} has polarisation {scene.polarization}; HyP3 processes "
                "VV or HH only, list the co-polarised burst"
            )
            continue
        slot = (burst, scene.date)
        if slot in found:
            problems.append(
                f"{path}:{number}: {name} is a second granule of burst {burst} on {scene.date} "
                f"(line {found[slot].line}: {found[slot].scene.name}); list one per burst and date"
            )
            continue
        found[slot] = ListedBurst(number, scene)
    if problems:
        raise UserError("\n".join(problems))
    return found


TableRows = tuple[list[tuple[int, str, str]], list[tuple[int, str]]]


def _table_rows(path: Path) -> TableRows:
    """(line, reference, secondary) rows of a TSV pair table, and (line, problem) of bad lines."""
    if not path.is_file():
        raise UserError(f"pair table '{path}' does not exist; set `pairs` to a TSV file")
    lines = [
        (number, text)
        for number, text in enumerate(path.read_text().splitlines(), start=1)
        if text.strip() and not text.startswith("#")
    ]
    if not lines:
        raise UserError(f"pair table '{path}' is empty; it needs a header and at least one pair")
    header_line, header_text = lines[0]
    header = [cell.strip() for cell in next(csv.reader([header_text], delimiter="\t"))]
    if not {"reference", "secondary"} <= set(header):
        raise UserError(
            f"{path}:{header_line}: header {header} lacks reference/secondary; the table needs "
            "tab-separated columns reference and secondary"
        )
    ref_col, sec_col = header.index("reference"), header.index("secondary")
    rows: list[tuple[int, str, str]] = []
    bad: list[tuple[int, str]] = []
    for number, text in lines[1:]:
        cells = [cell.strip() for cell in next(csv.reader([text], delimiter="\t"))]
        if len(cells) <= max(ref_col, sec_col) or not cells[ref_col] or not cells[sec_col]:
            bad.append((number, f"expected {len(header)} tab-separated columns, got {cells}"))
            continue
        rows.append((number, cells[ref_col], cells[sec_col]))
    if not rows and not bad:
        raise UserError(f"pair table '{path}' has a header but no pairs")
    return rows, bad


def read_multi_burst_pairs(
    pairs_path: str | Path, burst_ids: Sequence[object], granules_path: str | Path | None
) -> list[MultiBurstPair]:
    """Expand a date-pair table over the burst ids, taking each date's bursts from the granule list.

    Every problem of the three inputs is reported at once (UserError, one line each).
    """
    pairs_path = Path(pairs_path)
    if not granules_path:
        raise UserError(
            f"config: multi_burst.granules is empty; hyp3.job_type {JOB_TYPE} needs a text file "
            "with one burst granule name per line"
        )
    # The three inputs' own problems together, then (once they are sound) each row's.
    problems: list[str] = []
    ids: list[BurstId] = []
    granules: dict[tuple[BurstId, str], ListedBurst] = {}
    rows: list[tuple[int, str, str]] = []
    row_problems: list[tuple[int, str]] = []  # (line, problem), reported in line order
    try:
        ids = parse_burst_ids(burst_ids)
    except UserError as error:
        problems.extend(str(error).splitlines())
    try:
        granules = read_burst_granules(granules_path, ids)
    except UserError as error:
        problems.extend(str(error).splitlines())
    try:
        rows, row_problems = _table_rows(pairs_path)
    except UserError as error:
        problems.extend(str(error).splitlines())
    if problems:
        raise UserError("\n".join(problems))
    pairs: list[MultiBurstPair] = []
    seen: dict[tuple[str, str], int] = {}
    for number, first, second in rows:
        bad = [value for value in (first, second) if not DATE_PATTERN.match(value)]
        if bad:
            row_problems.append(
                (
                    number,
                    f"{bad[0]!r} is not a date; a multi-burst pair table holds dates YYYYMMDD "
                    "(the bursts come from multi_burst.burst_ids)",
                )
            )
            continue
        try:
            dates = [datetime.strptime(value, "%Y%m%d") for value in (first, second)]
        except ValueError:
            row_problems.append((number, f"{first} or {second} is not a calendar date (YYYYMMDD)"))
            continue
        if dates[0] >= dates[1]:
            row_problems.append(
                (
                    number,
                    f"reference {first} is not older than secondary {second}; "
                    "put the older date in the reference column",
                )
            )
            continue
        if (first, second) in seen:
            row_problems.append(
                (
                    number,
                    f"duplicate of the pair on line {seen[(first, second)]} ({first}, {second}); "
                    "each pair may appear once",
                )
            )
            continue
        seen[(first, second)] = number
        missing = [
            f"{burst} on {date}"
            for date in (first, second)
            for burst in ids
            if (burst, date) not in granules
        ]
        if missing:
            row_problems.append(
                (
                    number,
                    f"{Path(granules_path)} has no granule of {', '.join(missing)}; every burst "
                    "id needs a granule on both dates",
                )
            )
            continue
        reference = [granules[(burst, first)].scene.name for burst in ids]
        secondary = [granules[(burst, second)].scene.name for burst in ids]
        rule_problems = job_problems(reference, secondary)
        if rule_problems:
            for problem in rule_problems:
                row_problems.append((number, problem))
            continue
        pairs.append(make_multi_burst_pair(reference, secondary))
    if row_problems:
        row_problems.sort(key=lambda item: item[0])
        raise UserError("\n".join(f"{pairs_path}:{n}: {problem}" for n, problem in row_problems))
    return pairs


def select_multi_burst_pairs(config: Mapping[str, object]) -> list[MultiBurstPair]:
    """The multi-burst pairs a validated config asks for."""
    if not config.get("pairs"):
        raise UserError(
            f"config: pairs is empty; hyp3.job_type {JOB_TYPE} needs `pairs`, a TSV of date pairs "
            "(reference and secondary YYYYMMDD)"
        )
    settings = config.get("multi_burst") or {}
    assert isinstance(settings, Mapping)
    return read_multi_burst_pairs(
        str(config["pairs"]), list(settings.get("burst_ids") or []), settings.get("granules")
    )
