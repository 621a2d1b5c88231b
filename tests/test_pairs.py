"""Pair validation as a user meets it: every rule has a bad input and the exact message."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from insarflow.errors import UserError
from insarflow.pairs import (
    make_pair,
    parse_scene,
    read_pair_table,
    relative_orbit,
    scene_list_network,
    sequential_pairs,
)

# Real Sentinel-1 IW SLC names, grouped by the track they were acquired on. Each group is a
# set of acquisitions that public sources pair (or label) as one track, across missions, so
# the relative-orbit formula must give every member the same number.
TRACK_106 = [  # Venezuela, June 2026: S1A, then S1C (orbit > 8018: new offset), then S1D
    "S1A_IW_SLC__1SDV_20260623T225050_20260623T225120_065103_0834C8_BAD5",
    "S1C_IW_SLC__1SDV_20260624T224958_20260624T225025_008254_010515_304A",
    "S1D_IW_SLC__1SDV_20260630T225009_20260630T225040_003472_006226_2543",
]
TRACK_32 = [  # Korea, May/June 2026: S1C with orbits <= 8018 (old offset), then S1D
    "S1C_IW_SLC__1SDV_20260519T214004_20260519T214028_007728_00FB4A_A82C",
    "S1C_IW_SLC__1SDV_20260531T214004_20260531T214029_007903_010126_2310",
    "S1D_IW_SLC__1SDV_20260613T214015_20260613T214042_003223_0059FE_D74F",
]
TRACK_111 = [  # Australia, April 2025: S1C, and S1A six days later (a single-pol 1SSV product)
    "S1C_IW_SLC__1SDV_20250412T083159_20250412T083230_001857_00381E_A63D",
    "S1A_IW_SLC__1SSV_20250418T083307_20250418T083335_058808_074969_CCA4",
]
# Absolute orbits of the four same-track granules in HyP3's own relative-orbit test (S1A, S1B).
TRACK_87 = [
    "S1B_IW_SLC__1SDV_20200623T161535_20200623T161607_022163_02A10F_7FD6",
    "S1B_IW_SLC__1SDV_20200810T161537_20200810T161610_022863_02B66A_F7D7",
    "S1A_IW_SLC__1SDV_20200816T161620_20200816T161652_033934_03EFCE_5730",
    "S1A_IW_SLC__1SDV_20201015T161622_20201015T161654_034809_040E95_AF3C",
]
# S1D scenes whose catalogue metadata states the relative orbit.
S1D_TRACK_19 = "S1D_IW_SLC__1SDV_20260824T001843_20260824T001910_004260_007D5D_98CC"
S1D_TRACK_150 = [
    "S1D_IW_SLC__1SDV_20260901T235450_20260901T235517_004391_0081E8_631B",
    "S1D_IW_SLC__1SDV_20260913T235451_20260913T235518_004566_008803_FBA2",
]
# Two consecutive frames of one S1C pass: same track, same date.
SAME_PASS = [
    "S1C_IW_SLC__1SDV_20260514T235559_20260514T235627_007656_00F8E9_4CEB",
    "S1C_IW_SLC__1SDV_20260514T235625_20260514T235652_007656_00F8E9_450F",
]

BURST_A = "S1_136231_IW2_20200604T022312_VV_7C85-BURST"
BURST_B = "S1_136231_IW2_20200616T022313_VV_5D11-BURST"

NOT_A_SCENE = (
    "is not a Sentinel-1 IW SLC name (S1A_IW_SLC__1SDV_<start>_<stop>_<orbit>_<datatake>_<id>), "
    "an IW burst name (S1_<burst>_IW<n>_<time>_<pol>_<id>-BURST) or a date YYYYMMDD"
)


def _orbit(name: str) -> tuple[str, int]:
    parts = name.split("_")
    return parts[0], int(parts[7])


def _error(call, *args, **kwargs) -> str:
    with pytest.raises(UserError) as caught:
        call(*args, **kwargs)
    return str(caught.value)


def _table(tmp_path: Path, text: str, name: str = "pairs.tsv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# --------------------------------------------------------------------------- relative orbit


@pytest.mark.parametrize("group", [TRACK_106, TRACK_32, TRACK_111, TRACK_87, S1D_TRACK_150])
def test_relative_orbit_agrees_across_missions_on_real_same_track_scenes(group):
    tracks = {relative_orbit(*_orbit(name)) for name in group}
    assert len(tracks) == 1, dict(zip(group, tracks, strict=False))


def test_relative_orbit_matches_catalogue_tracks_of_s1d_scenes():
    assert relative_orbit(*_orbit(S1D_TRACK_19)) == 19
    assert relative_orbit(*_orbit(S1D_TRACK_150[1])) == 150


def test_s1c_offset_changes_after_absolute_orbit_8018():
    # hyp3-api.md §5: offset 172 up to and including orbit 8018, 99 after it.
    assert relative_orbit("S1C", 8018) == ((8018 - 172) % 175) + 1
    assert relative_orbit("S1C", 8019) == ((8019 - 99) % 175) + 1
    # Real scenes either side of the change land on the tracks of their S1A/S1D partners.
    s1c_before, s1c_after = TRACK_32[1], TRACK_106[1]
    assert _orbit(s1c_before)[1] <= 8018 < _orbit(s1c_after)[1]
    assert relative_orbit(*_orbit(s1c_before)) == relative_orbit(*_orbit(TRACK_32[2]))
    assert relative_orbit(*_orbit(s1c_after)) == relative_orbit(*_orbit(TRACK_106[0]))


@pytest.mark.parametrize("first, second", [TRACK_106[:2], TRACK_106[1:], TRACK_32[1:], TRACK_111])
def test_cross_mission_pairs_on_one_track_are_accepted(first, second):
    pair = make_pair(second, first)
    assert (pair.reference.name, pair.secondary.name) == (first, second)


def test_different_relative_orbits_are_refused_naming_both_tracks():
    track_106 = relative_orbit(*_orbit(TRACK_106[0]))
    track_32 = relative_orbit(*_orbit(TRACK_32[2]))
    assert _error(make_pair, TRACK_106[0], TRACK_32[2]) == (
        f"scenes are on different tracks (relative orbit {track_106} vs relative orbit "
        f"{track_32}); both must be on the same one"
    )


# --------------------------------------------------------------------------- single pairs


@pytest.mark.parametrize(
    "bad",
    [
        "S1A_EW_SLC__1SDH_20200104T014512_20200104T014539_030656_038A1C_8C3F",  # EW mode
        "S1A_IW_GRDH_1SDV_20200104T014512_20200104T014539_030656_038A1C_8C3F",  # GRD product
        "S1E_IW_SLC__1SDV_20200104T014512_20200104T014539_030656_038A1C_8C3F",  # no such mission
        "S1A_IW_SLC__1SDV_20200104T014512_20200104T014539_030656_038a1c_8C3F",  # lower-case hex
        "S1A_IW_SLC__1SDV_20200104T014512_20200104T014539_030656_038A1C",  # truncated
        "S1A_IW_SLC__1SDV_20200104T014512_20200104T014539_030656_038A1C_8C3F.zip",
        "2020-01-04",
    ],
)
def test_bad_scene_name_is_named_with_the_accepted_forms(bad):
    assert _error(make_pair, bad, TRACK_106[0]) == f"'{bad}' {NOT_A_SCENE}"


def test_impossible_calendar_date_is_refused():
    assert _error(make_pair, "20200101", "20200230") == (
        "'20200230' is not a calendar date (YYYYMMDD)"
    )


def test_different_polarisations_are_refused():
    hh = TRACK_106[1].replace("_1SDV_", "_1SDH_")
    assert _error(make_pair, TRACK_106[0], hh) == (
        "polarizations differ (VV vs HH); both must be VV or both HH"
    )


def test_single_and_dual_pol_products_with_one_co_pol_are_accepted():
    assert make_pair(*TRACK_111).reference.polarization == "VV"


def test_same_date_is_refused():
    assert _error(make_pair, *SAME_PASS) == (
        "both scenes are from 20260514; a pair needs two different dates"
    )


def test_mixed_kinds_in_one_pair_are_refused():
    assert _error(make_pair, TRACK_106[0], "20260705") == (
        "mixes a slc name and a date name; use two of a kind"
    )
    assert _error(make_pair, BURST_A, TRACK_106[0]) == (
        "mixes a burst name and a slc name; use two of a kind"
    )


def test_earlier_scene_becomes_reference_whatever_the_order():
    later, earlier = TRACK_87[3], TRACK_87[0]
    pair = make_pair(later, earlier)
    assert pair.reference.name == earlier
    assert pair.secondary.name == later
    assert pair.dates == ("20200623", "20201015")
    assert pair.pair_id == "20200623T161535_20201015T161622"
    assert make_pair("20200113", "20200101").pair_id == "20200101_20200113"


# --------------------------------------------------------------------------- bursts


def test_burst_pair_on_one_burst_is_accepted():
    pair = make_pair(BURST_B, BURST_A)
    assert pair.kind == "burst"
    assert pair.reference.name == BURST_A
    assert pair.pair_id == "136231_IW2_20200604T022312_20200616T022313"


@pytest.mark.parametrize(
    "secondary, message",
    [
        (
            "S1_136232_IW2_20200616T022313_VV_5D11-BURST",
            "scenes are on different tracks (burst 136231_IW2 vs burst 136232_IW2); "
            "both must be on the same one",
        ),
        (
            "S1_136231_IW3_20200616T022313_VV_5D11-BURST",
            "scenes are on different tracks (burst 136231_IW2 vs burst 136231_IW3); "
            "both must be on the same one",
        ),
        (
            "S1_136231_IW2_20200616T022313_HH_5D11-BURST",
            "polarizations differ (VV vs HH); both must be VV or both HH",
        ),
        (
            "S1_136231_IW2_20200604T022340_VV_5D11-BURST",
            "both scenes are from 20200604; a pair needs two different dates",
        ),
    ],
)
def test_burst_pair_rules(secondary, message):
    assert _error(make_pair, BURST_A, secondary) == message


def test_cross_polarised_bursts_are_refused():
    vh_a, vh_b = BURST_A.replace("_VV_", "_VH_"), BURST_B.replace("_VV_", "_VH_")
    assert _error(make_pair, vh_a, vh_b) == "burst polarization VH is not processed; use VV or HH"


def test_bad_burst_name_is_refused():
    bad = "S1_136231_IW4_20200604T022312_VV_7C85-BURST"  # there is no fourth IW swath
    assert _error(parse_scene, bad) == f"'{bad}' {NOT_A_SCENE}"


# --------------------------------------------------------------------------- pair tables


def test_pair_table_reads_pairs_and_skips_comments_and_blank_lines(tmp_path):
    path = _table(
        tmp_path,
        "# my pairs\nreference\tsecondary\n\n"
        f"{TRACK_87[1]}\t{TRACK_87[0]}\n# a comment\n{TRACK_87[2]}\t{TRACK_87[3]}\n",
    )
    pairs = read_pair_table(path)
    assert [(p.reference.name, p.secondary.name) for p in pairs] == [
        (TRACK_87[0], TRACK_87[1]),
        (TRACK_87[2], TRACK_87[3]),
    ]


def test_pair_table_columns_may_come_in_any_order_with_extra_columns(tmp_path):
    path = _table(tmp_path, f"note\tsecondary\treference\nx\t{BURST_B}\t{BURST_A}\n")
    assert [p.pair_id for p in read_pair_table(path)] == [make_pair(BURST_A, BURST_B).pair_id]


def test_every_bad_row_is_reported_at_once_with_its_line_number(tmp_path):
    hh = TRACK_106[1].replace("_1SDV_", "_1SDH_")
    rows = [
        "reference\tsecondary",  # 1
        f"{TRACK_87[0]}\t{TRACK_87[1]}",  # 2 good
        f"{TRACK_106[0]}\t{hh}",  # 3 polarisation
        "# comment",  # 4
        f"{TRACK_87[1]}\t{TRACK_87[0]}",  # 5 duplicate of 2, reversed
        f"{TRACK_106[0]}\t{TRACK_32[2]}",  # 6 tracks
        f"S1X_bad\t{TRACK_87[2]}",  # 7 name
        f"{SAME_PASS[0]}\t{SAME_PASS[1]}",  # 8 same date
        f"{TRACK_87[2]}",  # 9 one column
        f"{TRACK_87[2]}\t{TRACK_87[3]}",  # 10 good
        f"{TRACK_87[0]}\t{TRACK_87[1]}",  # 11 duplicate of 2, same order
    ]
    path = _table(tmp_path, "\n".join(rows) + "\n")
    lines = _error(read_pair_table, path).splitlines()
    assert [line.split(":")[1] for line in lines] == ["3", "5", "6", "7", "8", "9", "11"]
    assert all(line.startswith(f"{path}:") for line in lines)
    assert lines[0].endswith("polarizations differ (VV vs HH); both must be VV or both HH")
    assert lines[1] == (
        f"{path}:5: duplicate of the pair on line 2 ({TRACK_87[0]}, {TRACK_87[1]}); "
        "each pair may appear once"
    )
    assert "different tracks" in lines[2]
    assert lines[3] == f"{path}:7: 'S1X_bad' {NOT_A_SCENE}"
    assert lines[4].endswith("a pair needs two different dates")
    assert lines[5] == f"{path}:9: expected 2 tab-separated columns, got ['{TRACK_87[2]}']"
    assert lines[6].startswith(f"{path}:11: duplicate of the pair on line 2 ")


def test_mixed_pair_kinds_in_a_table_name_each_odd_row(tmp_path):
    path = _table(
        tmp_path,
        f"reference\tsecondary\n{TRACK_87[0]}\t{TRACK_87[1]}\n20200101\t20200113\n"
        f"{BURST_A}\t{BURST_B}\n",
    )
    assert _error(read_pair_table, path).splitlines() == [
        f"{path}:3: a date pair in a table of slc pairs (line 2); "
        "use one kind (slc, burst or date) per table",
        f"{path}:4: a burst pair in a table of slc pairs (line 2); "
        "use one kind (slc, burst or date) per table",
    ]


@pytest.mark.parametrize(
    "header, missing",
    [
        ("reference\tsecond", "['secondary']"),
        ("ref\tsec", "['reference', 'secondary']"),
        ("reference secondary", "['reference', 'secondary']"),  # spaces, not a tab
    ],
)
def test_missing_columns_are_named(tmp_path, header, missing):
    path = _table(tmp_path, f"{header}\n20200101\t20200113\n")
    columns = [header] if "\t" not in header else header.split("\t")
    assert _error(read_pair_table, path) == (
        f"{path}:1: header {columns} lacks column(s) {missing}; "
        "the table needs tab-separated columns reference and secondary"
    )


def test_empty_or_missing_pair_tables(tmp_path):
    empty = _table(tmp_path, "# nothing here\n\n", "empty.tsv")
    assert _error(read_pair_table, empty) == (
        f"pair table '{empty}' is empty; it needs a header and at least one pair"
    )
    header_only = _table(tmp_path, "reference\tsecondary\n", "header.tsv")
    assert _error(read_pair_table, header_only) == (
        f"pair table '{header_only}' has a header but no pairs"
    )
    absent = tmp_path / "absent.tsv"
    assert _error(read_pair_table, absent) == (
        f"pair table '{absent}' does not exist; set `pairs` to a TSV file"
    )


def test_example_pair_table_is_valid():
    example = Path(__file__).resolve().parents[1] / "config" / "pairs.tsv"
    pairs = read_pair_table(example)
    assert pairs
    assert all(p.reference.start < p.secondary.start for p in pairs)


# --------------------------------------------------------------------------- scene networks

DATES = ["20200101", "20200113", "20200125", "20200206", "20200218"]


def _ids(pairs) -> list[tuple[str, str]]:
    return [(p.reference.name, p.secondary.name) for p in pairs]


def test_sequential_network_with_one_connection_links_neighbours():
    assert _ids(sequential_pairs(DATES, 1)) == list(itertools.pairwise(DATES))


def test_sequential_network_with_two_connections_exact_pairs():
    d = DATES
    assert _ids(sequential_pairs(list(reversed(d)), 2)) == [
        (d[0], d[1]),
        (d[0], d[2]),
        (d[1], d[2]),
        (d[1], d[3]),
        (d[2], d[3]),
        (d[2], d[4]),
        (d[3], d[4]),
    ]


@pytest.mark.parametrize("connections", [1, 2, 3, 4, 10])
def test_sequential_network_pair_count(connections):
    n = len(DATES)
    expected = sum(min(connections, n - 1 - index) for index in range(n))
    pairs = sequential_pairs(DATES, connections)
    assert len(pairs) == expected
    assert len(set(_ids(pairs))) == expected
    for pair in pairs:
        gap = DATES.index(pair.secondary.name) - DATES.index(pair.reference.name)
        assert 1 <= gap <= connections


def test_network_from_real_slc_scene_list_file(tmp_path):
    path = _table(tmp_path, "# track 87\n" + "\n".join(TRACK_87) + "\n", "scenes.txt")
    pairs = scene_list_network(path, 3)
    assert len(pairs) == 6  # 4 scenes, every pair within 3 steps
    assert all(p.reference.start < p.secondary.start for p in pairs)


def test_example_scene_list_builds_a_network():
    example = Path(__file__).resolve().parents[1] / "config" / "scenes.txt"
    assert scene_list_network(example, 3)


def test_scene_list_problems_carry_the_file_line_numbers(tmp_path):
    off_track = TRACK_32[0]
    hh = TRACK_87[2].replace("_1SDV_", "_1SDH_")
    text = "\n".join(
        [
            "# scenes of track 87",  # 1
            TRACK_87[0],  # 2
            "",  # 3
            "S1A_not_a_scene",  # 4
            TRACK_87[1] + "  # trailing comment",  # 5
        ]
    )
    path = _table(tmp_path, text + "\n", "scenes.txt")
    assert _error(scene_list_network, path, 2) == f"{path}:4: 'S1A_not_a_scene' {NOT_A_SCENE}"

    text = "\n".join(["# header", TRACK_87[0], off_track, hh, "20200101", TRACK_87[0]])
    path = _table(tmp_path, text + "\n", "scenes.txt")
    track_32 = relative_orbit(*_orbit(off_track))
    track_87 = relative_orbit(*_orbit(TRACK_87[0]))
    assert _error(scene_list_network, path, 2).splitlines() == [
        f"{path}:3: {off_track} is on relative orbit {track_32} but line 2 is on relative orbit "
        f"{track_87}; all scenes must be on the same one",
        f"{path}:4: {hh} has polarization HH but line 2 has VV; all scenes must share one",
        f"{path}:5: 20200101 is a date name but line 2 holds a slc name; list one kind only",
        f"{path}:6: a second scene on 20200623 (line 2); list one scene per date",
    ]


def test_scene_list_needs_two_scenes_and_must_exist(tmp_path):
    one = _table(tmp_path, "20200101\n", "one.txt")
    assert _error(scene_list_network, one, 3) == (
        f"{one}: 1 scene listed; a network needs at least 2"
    )
    none = _table(tmp_path, "# nothing\n", "none.txt")
    assert _error(scene_list_network, none, 3) == (
        f"{none}: no scenes listed; a network needs at least 2"
    )
    absent = tmp_path / "absent.txt"
    assert _error(scene_list_network, absent, 3) == (
        f"scene list '{absent}' does not exist; set `scenes` to a text file"
    )


def test_cross_polarised_burst_scene_list_is_reported_once(tmp_path):
    vh = [BURST_A.replace("_VV_", "_VH_"), BURST_B.replace("_VV_", "_VH_")]
    path = _table(tmp_path, "\n".join(vh) + "\n", "bursts.txt")
    assert _error(scene_list_network, path, 3) == (
        f"{path}:1: burst polarization VH is not processed; use VV or HH"
    )
