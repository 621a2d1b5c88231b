"""The isce settings and the pairs as a stackSentinel.py command line, and its fingerprint."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from insarflow.config import load_schema
from insarflow.errors import UserError
from insarflow.isce.stack import build_stack_request
from tests.isce_standin.fixtures import StackProject

ISCE_SCHEMA = load_schema()["properties"]["isce"]["properties"]


def settings_for(project: StackProject, **overrides: Any) -> dict[str, Any]:
    """Schema defaults, the project's paths, then the overrides (as a validated config has them)."""
    settings = {key: spec.get("default") for key, spec in ISCE_SCHEMA.items()}
    settings.update(
        slc_dir=str(project.slc_dir),
        orbit_dir=str(project.orbit_dir),
        aux_dir=str(project.aux_dir),
    )
    settings.update(overrides)
    return settings


def options(request) -> dict[str, str | None]:
    parsed = {}
    for argument in request.arguments:
        key, _, value = argument.partition("=")
        parsed[key] = value if _ else None
    return parsed


def test_every_setting_reaches_its_stacksentinel_option(project: StackProject, tmp_path: Path):
    ion = tmp_path / "ion_param.txt"
    ion.write_text("consider burst properties in ionosphere computation = False\n")
    d1, d2, d3 = project.dates
    request = build_stack_request(
        settings_for(
            project,
            workflow="correlation",
            coregistration="geometry",
            swath_num="1 2",
            bbox=[-19.5, 19.75, -99.5, -98.5],
            reference_date=d2,
            include_dates=[d3],
            num_overlap_connections=2,
            looks_range=9,
            looks_azimuth=3,
            filter_strength=0.3,
            unw_method="icu",
            esd_coherence_threshold=0.8,
            snr_misreg_threshold=12.5,
            num_proc=4,
            num_proc4topo=2,
            param_ion=str(ion),
            num_connections_ion=2,
            use_gpu=True,
            rm_filter=True,
            virtual_merge=False,
            polarization="vh",
            text_cmd="source env.sh;",
            dem_path="dems/my.dem.wgs84",
        ),
        [(d1, d2), (d2, d3)],
    )
    given = options(request)
    assert given["--workflow"] == "correlation"
    assert given["--coregistration"] == "geometry"
    assert given["--swath_num"] == "1 2"
    # `=` keeps argparse from reading the negative south as an option
    assert given["--bbox"] == "-19.5 19.75 -99.5 -98.5"
    assert given["--reference_date"] == d2
    assert given["--include_dates"] == d3
    assert given["--num_overlap_connections"] == "2"
    assert given["--num_connections"] == "1"
    assert (given["--range_looks"], given["--azimuth_looks"]) == ("9", "3")
    assert given["--filter_strength"] == "0.3"
    assert given["--unw_method"] == "icu"
    assert given["--esd_coherence_threshold"] == "0.8"
    assert given["--snr_misreg_threshold"] == "12.5"
    assert (given["--num_proc"], given["--num_proc4topo"]) == ("4", "2")
    assert given["--param_ion"] == str(ion)
    assert given["--num_connections_ion"] == "2"
    assert "--useGPU" in given and "--rmFilter" in given
    assert given["--virtual_merge"] == "False"
    assert given["--polarization"] == "vh"
    assert given["--text_cmd"] == "source env.sh;"
    assert given["--dem"] == os.path.abspath("dems/my.dem.wgs84")
    assert given["--orbit_directory"] == str(project.orbit_dir)
    assert given["--slc_directory"].endswith(f"results/isce/{request.fingerprint}/safe_list.txt")
    assert given["--working_directory"].endswith(f"results/isce/{request.fingerprint}/stack")


def test_defaults_leave_optional_options_out(project: StackProject):
    d1, d2, _ = project.dates
    given = options(build_stack_request(settings_for(project), [(d1, d2)]))
    for absent in (
        "--bbox",
        "--reference_date",
        "--param_ion",
        "--useGPU",
        "--rmFilter",
        "--text_cmd",
        "--virtual_merge",
    ):
        assert absent not in given
    assert given["--dem"].endswith("/dem.wgs84") and "/resources/dem/glo30_" in given["--dem"]


def test_full_frame_drops_the_bbox(project: StackProject):
    d1, d2, _ = project.dates
    request = build_stack_request(
        settings_for(project, bbox=[19, 20, -100, -99], full_frame=True), [(d1, d2)]
    )
    assert "--bbox" not in options(request)


def test_stack_holds_only_the_pair_dates_and_connections_cover_every_pair(project: StackProject):
    d1, d2, d3 = project.dates
    request = build_stack_request(settings_for(project), [(d1, d3)])
    assert request.dates == (d1, d3)
    assert [Path(safe).name[17:25] for safe in request.safes] == [d1, d3]
    assert request.num_connections == 1
    wide = build_stack_request(settings_for(project), [(d1, d2), (d1, d3)])
    assert wide.num_connections == 2  # d1-d3 is two dates apart in the stack d1, d2, d3


def test_fingerprint_follows_settings_and_dates_but_not_the_pair_list(project: StackProject):
    d1, d2, d3 = project.dates
    base = build_stack_request(settings_for(project), [(d1, d2), (d2, d3), (d1, d3)])
    assert (
        base.fingerprint
        == build_stack_request(settings_for(project), [(d1, d3), (d2, d3), (d1, d2)]).fingerprint
    )
    # fewer pairs, same dates and connections: same run files, pair jobs are chosen later
    assert (
        base.fingerprint
        == build_stack_request(settings_for(project), [(d1, d3), (d2, d3)]).fingerprint
    )
    assert (
        base.fingerprint
        != build_stack_request(
            settings_for(project, filter_strength=0.4), [(d1, d3), (d2, d3)]
        ).fingerprint
    )
    assert base.fingerprint != build_stack_request(settings_for(project), [(d1, d2)]).fingerprint


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"exclude_dates": ["DATE2"]},
            "isce.exclude_dates/start_date/end_date leave out DATE2, used by pair(s) DATE1_DATE2",
        ),
        (
            {"reference_date": "19990101"},
            "isce.reference_date = '19990101' is not a date of the pairs",
        ),
        (
            {"param_ion": "no/such/ion_param.txt"},
            "isce.param_ion = 'no/such/ion_param.txt' is not a file",
        ),
    ],
)
def test_settings_that_cannot_work_are_one_line_errors(project: StackProject, overrides, message):
    d1, d2, _ = project.dates
    overrides = {key: [d2] if value == ["DATE2"] else value for key, value in overrides.items()}
    with pytest.raises(UserError) as caught:
        build_stack_request(settings_for(project, **overrides), [(d1, d2)])
    text = str(caught.value)
    assert "\n" not in text
    assert message.replace("DATE1", d1).replace("DATE2", d2) in text


def test_a_pair_date_without_slc_names_the_missing_date(project: StackProject):
    d1, _, _ = project.dates
    with pytest.raises(
        UserError,
        match=r"has no Sentinel-1 IW SLC \(.zip or .SAFE\) for 1 pair date\(s\): 20300101$",
    ):
        build_stack_request(settings_for(project), [(d1, "20300101")])


def test_regenerating_clears_the_old_stack_so_stacksentinel_neither_refuses_nor_updates(
    project: StackProject, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from insarflow.isce.stack import generate_run_files
    from tests.isce_standin.fixtures import STANDIN_BIN

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", f"{STANDIN_BIN}{os.pathsep}{os.environ['PATH']}")
    dem = tmp_path / "dem.wgs84"
    dem.write_bytes(b"")
    Path(f"{dem}.xml").write_text("<imageFile/>")
    d1, d2, d3 = project.dates
    request = build_stack_request(settings_for(project, dem_path=str(dem)), [(d1, d2), (d2, d3)])
    root = tmp_path / "results" / "isce" / request.fingerprint
    root.mkdir(parents=True)
    (root / "request.json").write_text(json.dumps(request.to_json()))

    first = generate_run_files(root / "request.json", root / "plan.json", timeout_minutes=5)
    assert first.dates == [d1, d2, d3] and first.reference_date == d1
    assert first.pairs() == {(d1, d2), (d2, d3)}
    # what a finished run leaves: outputs that would switch stackSentinel to update mode
    (root / "stack" / "coreg_secondarys" / d2).mkdir(parents=True)
    (root / "steps" / "run_01_unpack_topo_reference").mkdir(parents=True)
    (root / "steps" / "run_01_unpack_topo_reference" / "0001.done").write_text("ok\n")

    again = generate_run_files(root / "request.json", root / "plan.json", timeout_minutes=5)
    assert again.step_names == first.step_names
    assert not (root / "steps").exists()
    assert not (root / "stack" / "coreg_secondarys").exists()
    assert (root / "safe_list.txt").read_text().splitlines() == [
        os.path.abspath(safe) for safe in request.safes
    ]


def test_isce_home_without_topsstack_is_a_one_line_error(tmp_path: Path):
    from insarflow.isce.stack import find_tops_stack

    with pytest.raises(
        UserError, match=r"^isce.isce_home = '.*' has no stackSentinel.py \(looked in"
    ):
        find_tops_stack(str(tmp_path))
