"""Multi-burst pairs: the date-pair table, the burst-id list and the granule list, and HyP3's rules
for a multi-burst job, each asserted by the line a user reads (before anything is spent)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from insarflow.config import select_pairs
from insarflow.errors import UserError
from insarflow.hyp3.jobs import build_job, job_cost, options_label
from insarflow.multiburst import job_problems, read_multi_burst_pairs, track_of_burst
from insarflow.pairs import make_pair

REPO = Path(__file__).resolve().parents[1]
IDS = ["064_136231_IW2", "064_136232_IW2", "064_136233_IW2"]
DATES = ["20200604", "20200616", "20200628"]
PRODUCT_IDS = ["7C85", "5D11", "A1B2"]


def granule(burst: str, day: str, pol: str = "VV", seconds: float = 0.0, pid: str = "7C85") -> str:
    _, number, swath = burst.split("_")
    start = datetime.strptime(day, "%Y%m%d") + timedelta(hours=2, minutes=23, seconds=12 + seconds)
    return f"S1_{number}_{swath}_{start:%Y%m%dT%H%M%S}_{pol}_{pid}-BURST"


def stack(ids: list[str] = IDS, dates: list[str] = DATES) -> list[str]:
    return [
        granule(burst, day, seconds=3 * index, pid=PRODUCT_IDS[day_index % 3])
        for day_index, day in enumerate(dates)
        for index, burst in enumerate(ids)
    ]


class Inputs:
    def __init__(self, root: Path) -> None:
        self.pairs = root / "multi-burst-pairs.tsv"
        self.granules = root / "multi-burst-granules.txt"

    def write(self, rows: list[str], granules: list[str]) -> None:
        self.pairs.write_text("reference\tsecondary\n" + "".join(f"{row}\n" for row in rows))
        self.granules.write_text("".join(f"{name}\n" for name in granules))

    def read(self, ids: list[object] = IDS):
        return read_multi_burst_pairs(self.pairs, ids, self.granules)

    def problems(self, ids: list[object] = IDS) -> list[str]:
        with pytest.raises(UserError) as error:
            self.read(ids)
        return str(error.value).splitlines()


@pytest.fixture
def inputs(tmp_path: Path) -> Inputs:
    return Inputs(tmp_path)


def test_the_shipped_example_expands_to_one_job_per_date_pair() -> None:
    pairs = read_multi_burst_pairs(
        REPO / "config" / "multi-burst-pairs.tsv", IDS, REPO / "config" / "multi-burst-granules.txt"
    )
    assert len(pairs) == 9
    first = pairs[0]
    assert first.pair_id == "064_136231s2n03_20200604_20200616"
    assert [name[:13] for name in first.reference.name] == [
        "S1_136231_IW2",
        "S1_136232_IW2",
        "S1_136233_IW2",
    ]
    assert all("_20200604T" in name for name in first.reference.name)
    assert all("_20200616T" in name for name in first.secondary.name)
    assert len({pair.pair_id for pair in pairs}) == 9


def test_a_pair_rebuilt_from_its_request_names_is_the_same_pair(inputs: Inputs) -> None:
    inputs.write(["20200604\t20200616"], stack())
    (pair,) = inputs.read()
    # What the rules pass between jobs (JSON lists) rebuilds the same pair and pair id.
    rebuilt = make_pair(*json.loads(json.dumps([pair.reference.name, pair.secondary.name])))
    assert rebuilt == pair and rebuilt.pair_id == pair.pair_id


def test_pair_ids_name_every_swath_like_the_product_name(inputs: Inputs) -> None:
    ids = ["173_370305_IW1", "173_370306_IW1", "173_370305_IW2", "173_370306_IW2", "173_370306_IW3"]
    inputs.write(["20200604\t20200616"], stack(ids))
    (pair,) = inputs.read(ids)
    assert pair.pair_id == "173_370305s1n02-370305s2n02-370306s3n01_20200604_20200616"


def test_the_job_is_hyp3_sdks_multi_burst_request_and_costs_the_table(inputs: Inputs) -> None:
    inputs.write(["20200604\t20200616"], stack())
    (pair,) = inputs.read()
    options = {
        "job_type": "INSAR_ISCE_MULTI_BURST",
        "name_prefix": "ifg",
        "looks": "5x1",
        "apply_water_mask": True,
        "phase_filter_parameter": 0.6,
        "include_dem": True,
        "include_look_vectors": True,
        "include_inc_map": True,
        "include_los_displacement": False,
        "include_wrapped_phase": False,
        "include_displacement_maps": True,
    }
    spec = build_job(pair, options)
    assert spec.prepared["job_type"] == "INSAR_ISCE_MULTI_BURST"
    assert spec.prepared["job_parameters"] == {
        "reference": list(pair.reference.name),
        "secondary": list(pair.secondary.name),
        "apply_water_mask": True,
        "looks": "5x1",
    }
    assert spec.name.startswith("ifg_064_136231s2n03_20200604_20200616_")
    costs = json.loads((REPO / "src/insarflow/sandbox/spec/costs_EDC.json").read_text())
    assert job_cost(costs, spec) == 10  # 5x1 with 3 pairs
    assert options_label(options).startswith("INSAR_ISCE_MULTI_BURST_5x1_")


# -- the validation corpus: one test per rule, each asserting the user's line --------------------


def test_rule_1_to_15_bursts(inputs: Inputs) -> None:
    ids = [f"064_{136231 + i}_IW2" for i in range(16)]
    inputs.write(["20200604\t20200616"], stack(ids))
    assert inputs.problems(ids) == [
        "config: multi_burst.burst_ids lists 16 bursts; a multi-burst job takes 1 to 15"
    ]
    assert inputs.problems([]) == [
        "config: multi_burst.burst_ids lists 0 bursts; a multi-burst job takes 1 to 15"
    ]


def test_rule_equal_counts(inputs: Inputs) -> None:
    granules = [name for name in stack() if not name.startswith("S1_136233_IW2_20200616")]
    inputs.write(["20200604\t20200616"], granules)
    assert inputs.problems() == [
        f"{inputs.pairs}:2: {inputs.granules} has no granule of 064_136233_IW2 on 20200616; "
        "every burst id needs a granule on both dates"
    ]
    reference = [granule(burst, "20200604") for burst in IDS]
    secondary = [granule(burst, "20200616") for burst in IDS[:2]]
    assert job_problems(reference, secondary) == [
        "3 reference and 2 secondary bursts; both sides need the same number",
        "burst id + swath + polarisation differ between the sides (only in reference: "
        "064_136233_IW2_VV; only in secondary: none); both sides need the same set",
    ]


def test_rule_same_burst_set_on_both_sides() -> None:
    reference = [granule(burst, "20200604") for burst in IDS]
    secondary = [granule(burst, "20200616") for burst in [*IDS[:2], "064_136234_IW2"]]
    assert job_problems(reference, secondary) == [
        "burst id + swath + polarisation differ between the sides (only in reference: "
        "064_136233_IW2_VV; only in secondary: 064_136234_IW2_VV); both sides need the same set"
    ]


def test_rule_unique_bursts(inputs: Inputs) -> None:
    ids = [IDS[0], IDS[1], IDS[0]]
    inputs.write(["20200604\t20200616"], stack())
    assert inputs.problems(ids) == [
        "config: multi_burst.burst_ids[3] = '064_136231_IW2' repeats item 1; list each burst once"
    ]
    reference = [granule(burst, "20200604") for burst in ids]
    secondary = [granule(burst, "20200616") for burst in ids]
    assert job_problems(reference, secondary)[0] == (
        "reference burst(s) 064_136231_IW2_VV listed more than once; each burst once"
    )


def test_rule_one_polarisation_vv_or_hh(inputs: Inputs) -> None:
    granules = stack()
    granules[4] = granules[4].replace("_VV_", "_HH_")  # 064_136232_IW2 on 20200616
    cross = granule(IDS[0], "20200710", pol="VH")
    inputs.write(["20200604\t20200616", "20200604\t20200628"], [*granules, cross])
    assert inputs.problems() == [
        f"{inputs.granules}:10: {cross} has polarisation VH; HyP3 processes VV or HH only, list "
        "the co-polarised burst"
    ]
    inputs.write(["20200604\t20200616", "20200604\t20200628"], granules)
    assert inputs.problems() == [
        f"{inputs.pairs}:2: burst id + swath + polarisation differ between the sides (only in "
        "reference: 064_136232_IW2_VV; only in secondary: 064_136232_IW2_HH); both sides need "
        "the same set",
        f"{inputs.pairs}:2: polarisations HH, VV are mixed; a job takes one polarisation, VV or HH",
    ]


def test_rule_each_side_within_two_minutes(inputs: Inputs) -> None:
    granules = stack()
    # A typo'd time: the third burst of 20200616 from another pass that day.
    granules[5] = granule(IDS[2], "20200616", seconds=3 * 3600)
    inputs.write(["20200604\t20200616"], granules)
    assert inputs.problems() == [
        f"{inputs.pairs}:2: secondary bursts span 2020-06-16T02:23:12 to 2020-06-16T05:23:12, "
        "more than 2 minutes; each side must be one acquisition (2-minute window)"
    ]


def test_rule_reference_older_than_secondary(inputs: Inputs) -> None:
    inputs.write(["20200616\t20200604", "20200604\t20200604"], stack())
    assert inputs.problems() == [
        f"{inputs.pairs}:2: reference 20200616 is not older than secondary 20200604; put the "
        "older date in the reference column",
        f"{inputs.pairs}:3: reference 20200604 is not older than secondary 20200604; put the "
        "older date in the reference column",
    ]


def test_rule_contiguous_bursts(inputs: Inputs) -> None:
    inputs.write(["20200604\t20200616"], stack())
    assert inputs.problems(["064_136231_IW2", "064_136233_IW2"]) == [
        "config: multi_burst.burst_ids: IW2 has bursts 136231 to 136233 but not 136232; a burst "
        "set must be contiguous (no holes)"
    ]
    assert inputs.problems(["064_136231_IW1", "064_136231_IW3"]) == [
        "config: multi_burst.burst_ids: swaths IW1, IW3 are not adjacent; a burst set must be "
        "contiguous (IW1 and IW3 need IW2)"
    ]
    assert inputs.problems(["064_136231_IW1", "064_136235_IW2"]) == [
        "config: multi_burst.burst_ids: IW1 bursts 136231-136231 and IW2 bursts 136235-136235 do "
        "not touch; a burst set must be contiguous"
    ]


# -- the inputs themselves -------------------------------------------------------------------------


def test_burst_ids_name_their_track_correctly(inputs: Inputs) -> None:
    inputs.write(["20200604\t20200616"], stack())
    assert inputs.problems(["64_136231_IW2", "063_136232_IW2", "064_136233_IW4"]) == [
        "config: multi_burst.burst_ids[1] = '64_136231_IW2' is not a full burst id; write "
        "<track>_<burst id>_IW<n>, e.g. 064_136231_IW2",
        "config: multi_burst.burst_ids[2] = '063_136232_IW2': burst 136232 lies on track 064, "
        "not 063; write 064_136232_IW2",
        "config: multi_burst.burst_ids[3] = '064_136233_IW4' is not a full burst id; write "
        "<track>_<burst id>_IW<n>, e.g. 064_136231_IW2",
    ]
    assert track_of_burst(370305) == 173 and track_of_burst(1) == 1


def test_every_bad_row_is_reported_at_once_with_its_line(inputs: Inputs) -> None:
    inputs.write(
        [
            "20200604\t20200616",
            "2020-06-04\t20200616",
            "20200616\t20200604",
            "20200604\t20200616",
            "20200604\t20200710",
            "20200604",
        ],
        stack(),
    )
    missing = ", ".join(f"{burst} on 20200710" for burst in IDS)
    assert inputs.problems() == [
        f"{inputs.pairs}:3: '2020-06-04' is not a date; a multi-burst pair table holds dates "
        "YYYYMMDD (the bursts come from multi_burst.burst_ids)",
        f"{inputs.pairs}:4: reference 20200616 is not older than secondary 20200604; put the "
        "older date in the reference column",
        f"{inputs.pairs}:5: duplicate of the pair on line 2 (20200604, 20200616); each pair may "
        "appear once",
        f"{inputs.pairs}:6: {inputs.granules} has no granule of {missing}; every burst id needs a "
        "granule on both dates",
        f"{inputs.pairs}:7: expected 2 tab-separated columns, got ['20200604']",
    ]


def test_granule_list_problems_name_their_lines(inputs: Inputs) -> None:
    granules = stack()
    again = granules[0].replace("7C85", "ABCD")
    other_burst = granule("064_136999_IW2", "20200604")  # not a configured id: ignored
    inputs.write(
        ["20200604\t20200616"], [*granules, "S1A_IW_SLC__1SDV_nonsense", again, other_burst]
    )
    assert inputs.problems() == [
        f"{inputs.granules}:10: 'S1A_IW_SLC__1SDV_nonsense' is not an IW burst name "
        "(S1_<burst>_IW<n>_<time>_<pol>_<id>-BURST)",
        f"{inputs.granules}:11: {again} is a second granule of burst 064_136231_IW2 on 20200604 "
        f"(line 1: {granules[0]}); list one per burst and date",
    ]


def test_the_config_must_name_a_pair_table_and_a_granule_list(inputs: Inputs) -> None:
    inputs.write(["20200604\t20200616"], stack())
    config = {
        "processor": "hyp3",
        "pairs": str(inputs.pairs),
        "multi_burst": {"burst_ids": IDS, "granules": str(inputs.granules)},
        "hyp3": {"job_type": "INSAR_ISCE_MULTI_BURST"},
    }
    assert [pair.pair_id for pair in select_pairs(config)] == ["064_136231s2n03_20200604_20200616"]
    with pytest.raises(UserError) as error:
        select_pairs({**config, "pairs": None})
    assert str(error.value) == (
        "config: pairs is empty; hyp3.job_type INSAR_ISCE_MULTI_BURST needs `pairs`, a TSV of date "
        "pairs (reference and secondary YYYYMMDD)"
    )
    with pytest.raises(UserError) as error:
        select_pairs({**config, "multi_burst": {"burst_ids": IDS, "granules": None}})
    assert str(error.value) == (
        "config: multi_burst.granules is empty; hyp3.job_type INSAR_ISCE_MULTI_BURST needs a text "
        "file with one burst granule name per line"
    )
