"""What each run-file command waits for, worked out from the files its config or arguments
name, on run files written by the topsStack stand-in (real formats, every variant).

The expectations are the facts of the reference notes (§2.4), written per date and pair here,
never as a table in the code under test."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from insarflow.isce.dependencies import annotate
from insarflow.isce.runfiles import parse_run_files
from tests.isce_standin.fixtures import make_stack_project, repeat_dates, standin_env

DATES = repeat_dates(4)
R, D2, D3, D4 = DATES


def _dem(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\0" * 480)
    path.with_name(path.name + ".xml").write_text(
        "<imageFile><property name='width'><value>12</value></property>"
        "<property name='length'><value>10</value></property></imageFile>"
    )
    return path


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("deps")
    project = make_stack_project(root, DATES, range_change_dates=[D3])
    _dem(root / "dem" / "dem.wgs84")
    return project


def plan_steps(project, work: Path, *options: str) -> dict[str, list[dict]]:
    work.mkdir(parents=True, exist_ok=True)
    argv = project.stack_sentinel_argv(work, project.root / "dem" / "dem.wgs84")
    done = subprocess.run(
        ["stackSentinel.py", *argv, *options],
        cwd=work,
        env=standin_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    steps = [
        {"name": step.name, "commands": [command.to_json() for command in step.commands]}
        for step in parse_run_files(work / "run_files")
    ]
    annotate(steps, str(work))
    return {step["name"].split("_", 2)[2]: step["commands"] for step in steps}


def find(steps: dict[str, list[dict]], kind: str, text: str) -> dict:
    (command,) = [c for c in steps[kind] if text in c["lines"][0]]
    return command


def names(steps: dict[str, list[dict]], command: dict) -> set[str]:
    """What a command waits for, as '<step kind>:<what its line names>'."""
    by_id = {}
    for kind, commands in steps.items():
        for other in commands:
            by_id[(other["index"], kind)] = other
    found = set()
    for step, index in command["after"]:
        kind = step.split("_", 2)[2]
        line = by_id[(index, kind)]["lines"][0]
        found.add(f"{kind}:{line.split('/')[-1] if '-c ' in line else line.split()[0]}")
    return found


@pytest.fixture(scope="module")
def nesd(project, tmp_path_factory):
    return plan_steps(project, tmp_path_factory.mktemp("nesd"), "-C", "NESD", "-c", "2")


def test_unpacking_a_secondary_waits_for_nothing(nesd):
    for command in nesd["unpack_secondary_slc"]:
        assert command["after"] == [] and not command["barrier"]


def test_per_date_coregistration_follows_its_own_date(nesd):
    assert names(nesd, find(nesd, "overlap_geo2rdr", f"geo2rdr_{D3}")) == {
        f"unpack_secondary_slc:config_secondary_{D3}",
        "extract_burst_overlaps:subsetReference.py",
    }
    assert names(nesd, find(nesd, "overlap_resample", f"resample_{D3}")) == {
        f"overlap_geo2rdr:config_overlap_geo2rdr_{D3}"
    }
    assert names(nesd, find(nesd, "pairs_misreg", f"misreg_{D2}_{D3}")) == {
        f"overlap_resample:config_overlap_resample_{D2}",
        f"overlap_resample:config_overlap_resample_{D3}",
    }
    # the reference date has no resample: its misreg pairs need the burst overlaps
    assert names(nesd, find(nesd, "pairs_misreg", f"misreg_{R}_{D2}")) == {
        f"overlap_resample:config_overlap_resample_{D2}"
    }


def test_global_barriers_stay_barriers(nesd):
    every_pair = {f"pairs_misreg:{c['lines'][0].split('/')[-1]}" for c in nesd["pairs_misreg"]}
    for command in nesd["timeseries_misreg"]:
        assert names(nesd, command) == every_pair
    # fullBurst geo2rdr needs its date's misregistration, i.e. both inversions
    assert names(nesd, find(nesd, "fullBurst_geo2rdr", f"geo2rdr_{D4}")) == {
        "timeseries_misreg:invertMisreg.py"
    }
    assert len(find(nesd, "fullBurst_geo2rdr", f"geo2rdr_{D4}")["after"]) == 2
    every_date = {
        f"fullBurst_resample:{c['lines'][0].split('/')[-1]}" for c in nesd["fullBurst_resample"]
    }
    (stack,) = nesd["extract_stack_valid_region"]
    assert names(nesd, stack) == every_date


def test_pair_steps_wait_for_their_dates_and_the_stack_only_where_they_read_it(nesd):
    assert names(nesd, find(nesd, "generate_burst_igram", f"igram_{D2}_{D3}")) == {
        f"fullBurst_resample:config_fullBurst_resample_{D2}",
        f"fullBurst_resample:config_fullBurst_resample_{D3}",
    }
    assert names(nesd, find(nesd, "merge_burst_igram", f"igram_{D2}_{D3}")) == {
        f"generate_burst_igram:config_generate_igram_{D2}_{D3}",
        "extract_stack_valid_region:extractCommonValidRegion.py",
    }
    assert names(nesd, find(nesd, "filter_coherence", f"coh_{D2}_{D3}")) == {
        f"merge_burst_igram:config_merge_igram_{D2}_{D3}",
        f"merge_reference_secondary_slc:config_merge_{D2}",
        f"merge_reference_secondary_slc:config_merge_{D3}",
    }
    assert names(nesd, find(nesd, "unwrap", f"unw_{D2}_{D3}")) == {
        f"filter_coherence:config_igram_filt_coh_{D2}_{D3}"
    }


def test_chains_run_back_to_back_per_date_and_pair(nesd):
    geo2rdr = find(nesd, "fullBurst_geo2rdr", f"geo2rdr_{D3}")
    resample = find(nesd, "fullBurst_resample", f"resample_{D3}")
    assert geo2rdr["chain"] and geo2rdr["chain"] == resample["chain"]
    pair = [find(nesd, kind, f"_{D2}_{D3}") for kind in ("merge_burst_igram", "filter_coherence")]
    pair.append(find(nesd, "unwrap", f"unw_{D2}_{D3}"))
    assert len({c["chain"] for c in pair}) == 1 and pair[0]["chain"]
    generate = find(nesd, "generate_burst_igram", f"igram_{D2}_{D3}")
    # chains never delay: generate_burst_igram does not wait for the stack, the merge does
    assert generate["chain"] is None
    assert generate["long_chain"] == pair[0]["long_chain"] == pair[2]["long_chain"]
    # a command read by several others ends its chain (resample feeds the stack and igrams)
    assert find(nesd, "pairs_misreg", f"misreg_{D2}_{D3}")["chain"] is None


def test_geometry_coregistration_has_no_misregistration_wait(project, tmp_path):
    steps = plan_steps(project, tmp_path, "-C", "geometry")
    assert names(steps, find(steps, "fullBurst_geo2rdr", f"geo2rdr_{D3}")) == {
        "unpack_topo_reference:config_reference",
        f"unpack_secondary_slc:config_secondary_{D3}",
    }


def test_merge_swath_ion_follows_the_compute_ion_lines_it_merges(project, tmp_path):
    ion = tmp_path / "ion.txt"
    ion.write_text("consider burst properties in ionosphere computation: True\n")
    steps = plan_steps(project, tmp_path / "w", "--param_ion", str(ion), "-c", "1")
    compute = steps["computeIon"]
    merges = [c for c in compute if c["lines"][0].startswith("mergeSwathIon.py")]
    assert merges
    for merge in merges:
        pair = merge["lines"][0].split("--input ")[1].split()[0].rsplit("/", 1)[1]
        swaths = {
            c["index"]
            for c in compute
            if c["lines"][0].startswith("computeIon.py")
            and f"/ion/{pair}/ion_cal_IW" in c["lines"][0]
        }
        assert len(swaths) >= 2
        assert {index for step, index in merge["after"] if step.endswith("computeIon")} == swaths
    (invert,) = steps["invertIon"]
    filtered = {c["index"] for c in steps["filtIon"]}
    assert {i for s, i in invert["after"] if s.endswith("filtIon")} == filtered


def test_a_command_whose_inputs_are_unknown_waits_for_the_whole_previous_step(project, tmp_path):
    work = tmp_path / "w"
    steps_before = plan_steps(project, work, "-C", "geometry")
    assert not any(c["barrier"] for commands in steps_before.values() for c in commands)
    # a text_cmd left in place, or a program insarflow does not know
    run_file = next((work / "run_files").glob("run_*_fullBurst_resample"))
    lines = run_file.read_text().splitlines()
    lines[0] = "myResample.py --date " + D2
    run_file.write_text("\n".join(lines) + "\n")
    steps = [
        {"name": step.name, "commands": [command.to_json() for command in step.commands]}
        for step in parse_run_files(work / "run_files")
    ]
    annotate(steps, str(work))
    by_kind = {step["name"].split("_", 2)[2]: step["commands"] for step in steps}
    unknown = by_kind["fullBurst_resample"][0]
    assert unknown["barrier"] and unknown["chain"] is None
    # everything after it waits for it, directly or through others
    (stack,) = by_kind["extract_stack_valid_region"]
    assert ["run_05_fullBurst_resample", 1] in [list(a) for a in stack["after"]]
    for command in by_kind["generate_burst_igram"]:
        assert any(step.endswith("fullBurst_resample") for step, _ in command["after"])


def test_update_mode_reads_the_earlier_stack_and_waits_only_for_new_work(project, tmp_path):
    work = tmp_path / "w"
    for date in (R, D2):
        (work / "coreg_secondarys" / date).mkdir(parents=True)
    steps = plan_steps(project, work, "-C", "geometry")
    assert "unpack_topo_reference" not in steps  # the reference comes from the earlier run
    assert not any(c["barrier"] for commands in steps.values() for c in commands)
    # the reference and its geometry exist already: a new date waits only for its unpacking
    assert names(steps, find(steps, "fullBurst_geo2rdr", f"geo2rdr_{D4}")) == {
        f"unpack_secondary_slc:config_secondary_{D4}"
    }
