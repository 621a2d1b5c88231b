"""Configuration checks, the schema as single source of truth, and the pairs a config selects."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from snakemake.utils import validate

from insarflow.config import SCHEMA_PATH, check_config, load_schema, select_pairs
from insarflow.errors import UserError

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_CONFIG = REPO / "config" / "config.yaml"
SCHEMA = load_schema()

TRACK_87 = [
    "S1B_IW_SLC__1SDV_20200623T161535_20200623T161607_022163_02A10F_7FD6",
    "S1B_IW_SLC__1SDV_20200810T161537_20200810T161610_022863_02B66A_F7D7",
    "S1A_IW_SLC__1SDV_20200816T161620_20200816T161652_033934_03EFCE_5730",
]
BURSTS = [
    "S1_136231_IW2_20200604T022312_VV_7C85-BURST",
    "S1_136231_IW2_20200616T022313_VV_5D11-BURST",
]

# Every field of InSARHub's processor configs (insarhub-peer.md §4).
HYP3_BASE_CONFIG = [
    "name",
    "workdir",
    "saved_job_path",
    "earthdata_credentials_pool",
    "skip_existing",
    "submission_chunk_size",
    "max_workers",
    "dry_run",
]
HYP3_S1_CONFIG = [
    *HYP3_BASE_CONFIG,
    "pairs",
    "name_prefix",
    "include_look_vectors",
    "include_los_displacement",
    "include_inc_map",
    "looks",
    "include_dem",
    "include_wrapped_phase",
    "apply_water_mask",
    "include_displacement_maps",
    "phase_filter_parameter",
]
ISCE_S1_CONFIG = [
    "name",
    "workdir",
    "slc_dir",
    "orbit_dir",
    "aux_dir",
    "dem_path",
    "isce_home",
    "saved_job_path",
    "full_frame",
    "bbox",
    "swath_num",
    "start_date",
    "end_date",
    "exclude_dates",
    "include_dates",
    "num_overlap_connections",
    "reference_date",
    "coregistration",
    "esd_coherence_threshold",
    "snr_misreg_threshold",
    "looks_range",
    "looks_azimuth",
    "filter_strength",
    "polarization",
    "unw_method",
    "workflow",
    "rm_filter",
    "virtual_merge",
    "param_ion",
    "num_connections_ion",
    "use_gpu",
    "num_proc",
    "num_proc4topo",
    "text_cmd",
    "max_workers",
    "skip_existing",
    "submission_chunk_size",
    "hpc_mode",
    "max_concurrent_hpc",
    "dry_run",
    "sbatch_options_per_step",
    "container",
]


def _error(config: dict[str, Any]) -> str:
    with pytest.raises(UserError) as caught:
        check_config(config, SCHEMA)
    return str(caught.value)


def _properties(
    schema: dict[str, Any], prefix: str = ""
) -> Iterator[tuple[str, dict[str, Any], bool]]:
    """(dotted path, property schema, is_container) for every property, depth first."""
    for name, prop in schema.get("properties", {}).items():
        path = f"{prefix}{name}"
        container = prop.get("type") == "object" and "properties" in prop
        yield path, prop, container
        if container:
            yield from _properties(prop, f"{path}.")


def _resolve(path: str) -> dict[str, Any] | None:
    node: dict[str, Any] = SCHEMA
    for part in path.split("."):
        node = node.get("properties", {}).get(part)
        if node is None:
            return None
    return node


# --------------------------------------------------------------------------- one-line messages


@pytest.mark.parametrize(
    "config, message",
    [
        (
            {"procesor": "hyp3"},
            "config: unknown key 'procesor'; allowed keys here: connections, hyp3, isce, multi_burst, "
            "pairs, processor, scenes, timeseries",
        ),
        (
            {"hyp3": {"sandbox": {"credit": 5}}},
            "config: unknown key 'hyp3.sandbox.credit'; allowed keys here: credits, "
            "poll_interval, processing_seconds, state_dir",
        ),
        (
            {"isce": {"step_resources": {"unwrap": {"memory": 8000}}}},
            "config: unknown key 'isce.step_resources.unwrap.memory'; allowed keys here: mem_mb, "
            "runtime, threads",
        ),
        (
            {"processor": "gamma"},
            "config: processor = 'gamma' is not allowed; allowed: 'hyp3', 'isce', 'both'",
        ),
        (
            {"hyp3": {"looks": "40x8"}},
            "config: hyp3.looks = '40x8' is not allowed; allowed: '20x4', '10x2', '5x1'",
        ),
        (
            {"isce": {"coregistration": "nesd"}},
            "config: isce.coregistration = 'nesd' is not allowed; allowed: 'NESD', 'geometry'",
        ),
        ({"connections": 0}, "config: connections = 0 is out of range; allowed: between 1 and 50"),
        (
            {"hyp3": {"phase_filter_parameter": 1.5}},
            "config: hyp3.phase_filter_parameter = 1.5 is out of range; allowed: between 0 and 1",
        ),
        (
            {"hyp3": {"submission_chunk_size": 201}},
            "config: hyp3.submission_chunk_size = 201 is out of range; allowed: between 1 and 200",
        ),
        (
            {"isce": {"snr_misreg_threshold": -1}},
            "config: isce.snr_misreg_threshold = -1 is out of range; allowed: at least 0",
        ),
        (
            {"connections": "3"},
            "config: connections = '3' has the wrong type; allowed: integer",
        ),
        (
            {"isce": {"use_gpu": "yes"}},
            "config: isce.use_gpu = 'yes' has the wrong type; allowed: boolean",
        ),
        (
            {"pairs": 5},
            "config: pairs = 5 has the wrong type; allowed: string or null",
        ),
        (
            {"hyp3": None},
            "config: hyp3 = None has the wrong type; allowed: object",
        ),
        (
            {"hyp3": {"name_prefix": "my run"}},
            "config: hyp3.name_prefix = 'my run' does not match ^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$ "
            "(Prefix of HyP3 job names (the name also carries a stable key of pair and options))",
        ),
        (
            {"isce": {"start_date": "20200101"}},
            "config: isce.start_date = '20200101' does not match ^\\d{4}-\\d{2}-\\d{2}$ "
            "(First acquisition date to use (YYYY-MM-DD))",
        ),
        (
            {"isce": {"exclude_dates": ["2020-01-01"]}},
            "config: isce.exclude_dates.0 = '2020-01-01' does not match ^\\d{8}$",
        ),
        (
            {"isce": {"bbox": [30.0, 31.0, 120.0]}},
            "config: isce.bbox = [30.0, 31.0, 120.0] has 3 item(s); allowed: exactly 4 items",
        ),
        (
            {"isce": {"step_resources": {"Unwrap": {"threads": 2}}}},
            "config: isce.step_resources has a bad key 'Unwrap'; keys must match "
            "^(default|[a-z][A-Za-z0-9_]*)$",
        ),
        (
            {"hyp3": {"looks": "5x1"}},
            "config: hyp3.looks = '5x1' is only for INSAR_ISCE_BURST; "
            "allowed for INSAR_GAMMA: '20x4', '10x2'",
        ),
        (
            {"pairs": None, "scenes": None},
            "config: pairs and scenes are both empty; set `pairs` (a TSV) or `scenes` (a list)",
        ),
    ],
)
def test_bad_setting_gives_one_line_naming_key_value_and_allowed(config, message):
    assert _error(config) == message


def test_several_problems_are_reported_together_one_line_each():
    lines = _error({"processor": "gamma", "connections": 0, "hyp3": {"lookz": "20x4"}})
    assert lines.splitlines() == [
        "config: connections = 0 is out of range; allowed: between 1 and 50",
        "config: unknown key 'hyp3.lookz'; allowed keys here: "
        + ", ".join(sorted(SCHEMA["properties"]["hyp3"]["properties"])),
        "config: processor = 'gamma' is not allowed; allowed: 'hyp3', 'isce', 'both'",
    ]


def test_5x1_looks_are_accepted_for_burst_jobs():
    check_config({"hyp3": {"looks": "5x1", "job_type": "INSAR_ISCE_BURST"}}, SCHEMA)


def test_missing_pairs_key_means_the_default_table():
    check_config({}, SCHEMA)
    check_config({"pairs": None, "scenes": "config/scenes.txt"}, SCHEMA)


# --------------------------------------------------------------------------- defaults


def _expected_defaults(schema: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, prop in schema.get("properties", {}).items():
        if prop.get("type") == "object" and "properties" in prop:
            values[name] = _expected_defaults(prop)
        else:
            values[name] = prop["default"]
    return values


def test_minimal_config_gets_every_default_from_the_schema():
    config: dict[str, Any] = {}
    check_config(config, SCHEMA)
    assert config == _expected_defaults(SCHEMA)


def test_filled_defaults_are_copies_not_the_schema_objects():
    first: dict[str, Any] = {}
    check_config(first, SCHEMA)
    first["isce"]["step_resources"]["unwrap"] = {"threads": 2}
    second: dict[str, Any] = {}
    check_config(second, SCHEMA)
    assert "unwrap" not in second["isce"]["step_resources"]


def test_given_values_survive_default_filling():
    config = {"processor": "isce", "hyp3": {"looks": "10x2"}, "isce": {"num_proc": 8}}
    check_config(config, SCHEMA)
    assert (config["processor"], config["hyp3"]["looks"]) == ("isce", "10x2")
    assert config["isce"]["num_proc"] == 8
    assert (
        config["hyp3"]["job_type"]
        == SCHEMA["properties"]["hyp3"]["properties"]["job_type"]["default"]
    )


def test_example_config_validates_and_names_only_schema_keys():
    config = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    filled = copy.deepcopy(config)
    check_config(filled, SCHEMA)
    Draft202012Validator(SCHEMA).validate(filled)


# --------------------------------------------------------------------------- schema meta-tests


def test_every_setting_has_type_default_one_line_description_and_known_group():
    groups = {group["name"] for group in SCHEMA["x-groups"]}
    problems = []
    for path, prop, container in _properties(SCHEMA):
        needed = ["type", "default", "description"] + ([] if container else ["x-group"])
        problems += [f"{path}: no {key}" for key in needed if key not in prop]
        description = prop.get("description", "")
        if "\n" in description.strip() or not description.strip():
            problems.append(f"{path}: description is not one line")
        if "x-group" in prop and prop["x-group"] not in groups:
            problems.append(f"{path}: x-group {prop['x-group']!r} is not in x-groups")
    assert problems == []


def test_every_default_is_itself_a_valid_value():
    problems = []
    for path, prop, _ in _properties(SCHEMA):
        errors = list(Draft202012Validator(prop).iter_errors(prop["default"]))
        problems += [f"{path}: default {prop['default']!r}: {error.message}" for error in errors]
    assert problems == []


def test_every_group_is_used():
    used = {prop.get("x-group") for _, prop, _ in _properties(SCHEMA)}
    assert {group["name"] for group in SCHEMA["x-groups"]} <= used


def _insarhub_fields() -> list[tuple[str, str, str]]:
    mapping = SCHEMA["x-insarhub"]
    return [
        (config_class, field, text)
        for config_class in ("Hyp3_Base_Config", "Hyp3_S1_Config", "ISCE_S1_Config")
        for field, text in mapping[config_class].items()
    ]


def test_every_insarhub_config_field_is_mapped():
    mapping = SCHEMA["x-insarhub"]
    hyp3 = {**mapping["Hyp3_Base_Config"], **mapping["Hyp3_S1_Config"]}
    assert [name for name in HYP3_S1_CONFIG if name not in hyp3] == []
    assert [name for name in ISCE_S1_CONFIG if name not in mapping["ISCE_S1_Config"]] == []
    assert all(isinstance(text, str) and text.strip() for _, _, text in _insarhub_fields())


def test_insarhub_mappings_that_name_a_setting_resolve_to_a_real_property():
    top_level = set(SCHEMA["properties"])
    named = 0
    problems = []
    for _, field, text in _insarhub_fields():
        token = text.split()[0].rstrip(",;:")
        looks_like_path = re.fullmatch(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)+", token)
        if looks_like_path or token in top_level:
            named += 1
            if _resolve(token) is None:
                problems.append(f"{field} -> {token}: no such setting")
    assert problems == []
    assert named >= 40  # most seed fields become settings; the rest are Snakemake features


# --------------------------------------------------------------------------- selected pairs


def _filled(tmp_path: Path, **settings: Any) -> dict[str, Any]:
    config = copy.deepcopy(settings)
    validate(config, schema=str(SCHEMA_PATH))
    return config


def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _pairs_file(tmp_path: Path, first: str, second: str) -> str:
    return _write(tmp_path, "pairs.tsv", f"reference\tsecondary\n{first}\t{second}\n")


def test_hyp3_gamma_jobs_refuse_date_pairs(tmp_path):
    config = _filled(tmp_path, pairs=_pairs_file(tmp_path, "20200101", "20200113"))
    with pytest.raises(UserError) as caught:
        select_pairs(config)
    assert str(caught.value) == (
        "pairs are date pairs but hyp3.job_type INSAR_GAMMA needs SLC scene names"
    )


def test_hyp3_burst_jobs_refuse_slc_pairs(tmp_path):
    config = _filled(
        tmp_path,
        pairs=_pairs_file(tmp_path, *TRACK_87[:2]),
        hyp3={"job_type": "INSAR_ISCE_BURST"},
    )
    with pytest.raises(UserError) as caught:
        select_pairs(config)
    assert str(caught.value) == (
        "pairs are slc pairs but hyp3.job_type INSAR_ISCE_BURST needs burst names"
    )


def test_isce_refuses_burst_pairs(tmp_path):
    config = _filled(tmp_path, processor="isce", pairs=_pairs_file(tmp_path, *BURSTS))
    with pytest.raises(UserError) as caught:
        select_pairs(config)
    assert str(caught.value) == (
        "pairs are burst pairs but ISCE2 topsStack needs SLC scene names or dates YYYYMMDD"
    )


def test_both_processors_refuse_burst_pairs_even_with_burst_jobs(tmp_path):
    config = _filled(
        tmp_path,
        processor="both",
        pairs=_pairs_file(tmp_path, *BURSTS),
        hyp3={"job_type": "INSAR_ISCE_BURST", "looks": "5x1"},
    )
    with pytest.raises(UserError, match="ISCE2 topsStack needs SLC scene names"):
        select_pairs(config)


def test_accepted_kinds_per_processor(tmp_path):
    dates = _filled(tmp_path, processor="isce", pairs=_pairs_file(tmp_path, "20200113", "20200101"))
    assert [p.pair_id for p in select_pairs(dates)] == ["20200101_20200113"]
    bursts = _filled(
        tmp_path, pairs=_pairs_file(tmp_path, *BURSTS), hyp3={"job_type": "INSAR_ISCE_BURST"}
    )
    assert [p.kind for p in select_pairs(bursts)] == ["burst"]
    slcs = _filled(tmp_path, processor="both", pairs=_pairs_file(tmp_path, *TRACK_87[:2]))
    assert [p.kind for p in select_pairs(slcs)] == ["slc"]


def test_pairs_come_from_the_scene_list_when_the_table_is_empty(tmp_path):
    scenes = _write(tmp_path, "scenes.txt", "# track 87\n" + "\n".join(TRACK_87) + "\n")
    config = _filled(tmp_path, pairs=None, scenes=scenes, connections=1)
    pairs = select_pairs(config)
    assert [(p.reference.name, p.secondary.name) for p in pairs] == [
        (TRACK_87[0], TRACK_87[1]),
        (TRACK_87[1], TRACK_87[2]),
    ]


def test_scene_list_errors_name_the_file_and_line(tmp_path):
    scenes = _write(tmp_path, "scenes.txt", "# track 87\n" + TRACK_87[0] + "\nnonsense\n")
    config = _filled(tmp_path, pairs=None, scenes=scenes)
    with pytest.raises(UserError, match=rf"^{re.escape(scenes)}:3: 'nonsense' is not a Sentinel"):
        select_pairs(config)


def test_a_renamed_key_keeps_working_with_a_notice() -> None:
    from insarflow.config import apply_renamed_keys

    config = {"hyp3": {"max_workers": 8}}
    notices = apply_renamed_keys(config)
    assert config == {"hyp3": {"max_downloads": 8}}
    assert notices == [
        "insarflow: hyp3.max_workers is deprecated and will be removed; "
        "it is now hyp3.max_downloads (same meaning)"
    ]
    check_config(config, SCHEMA)
    assert apply_renamed_keys({"hyp3": {"max_downloads": 2}}) == []
