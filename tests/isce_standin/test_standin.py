"""The ISCE2 topsStack stand-in and its fixtures, checked against the formats recorded from
the real stackSentinel.py (shared/reference/isce-topsstack.md, section 2), and against the
real sentineleof and dem_stitcher working offline."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import socket
import subprocess
import time
import zipfile
from pathlib import Path

import pytest

from .fixtures import (
    STANDIN_BIN,
    geoid_height,
    make_benchmark_project,
    make_geoid,
    make_glo30_tiles,
    make_orbit_files,
    make_safe_zips,
    make_stack_project,
    relative_orbit,
    standin_env,
    terrain_height,
)

DATES = ["20200101", "20200113", "20200125"]
COMMON = ["unpack_topo_reference", "unpack_secondary_slc", "average_baseline"]
NESD = [
    "extract_burst_overlaps",
    "overlap_geo2rdr",
    "overlap_resample",
    "pairs_misreg",
    "timeseries_misreg",
]
COREG = ["fullBurst_geo2rdr", "fullBurst_resample", "extract_stack_valid_region"]
IFG = ["merge_reference_secondary_slc", "generate_burst_igram", "merge_burst_igram"]
ION = [
    "subband_and_resamp",
    "generateIgram_ion",
    "mergeBurstsIon",
    "unwrap_ion",
    "look_ion",
    "computeIon",
    "filtIon",
    "invertIon",
]
ION_BURST = ["filtIonShift", "invertIonShift", "burstRampIon", "mergeBurstRampIon"]
# the step sequences of the reference document, section 2.1
SEQUENCES = {
    ("interferogram", "NESD"): [*COMMON, *NESD, *COREG, *IFG, "filter_coherence", "unwrap"],
    ("interferogram", "geometry"): [*COMMON, *COREG, *IFG, "filter_coherence", "unwrap"],
    ("correlation", "NESD"): [*COMMON, *NESD, *COREG, *IFG, "filter_coherence"],
    ("offset", "geometry"): [*COMMON, *COREG, "merge_reference_secondary_slc", "dense_offsets"],
    ("slc", "NESD"): [*COMMON, *NESD, *COREG, "merge_reference_secondary_slc", "grid_baseline"],
}
PAIRS = ["20200101_20200113", "20200113_20200125"]


def _env(**extra: str) -> dict[str, str]:
    env = standin_env(**extra)
    assert env["PATH"].split(os.pathsep)[0] == str(STANDIN_BIN)
    return env


def _run(args: list[str], cwd: Path, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        args, cwd=cwd, env=_env(**extra), capture_output=True, text=True, timeout=120
    )


def _write_dem(path: Path, width: int = 12, length: int = 10) -> Path:
    """A DEM as the workflow hands it to ISCE: binary float32 plus an ISCE .xml."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\0" * (width * length * 4))
    path.with_name(path.name + ".xml").write_text(
        "<imageFile>"
        f'<property name="width"><value>{width}</value></property>'
        f'<property name="length"><value>{length}</value></property>'
        '<property name="data_type"><value>FLOAT</value></property>'
        '<property name="reference"><value>WGS84</value></property>'
        "</imageFile>"
    )
    return path


def _commands(run_file: Path) -> list[str]:
    """The commands of a run file as a workflow runs them: no `&`, `wait` or blank lines."""
    lines = (line.strip() for line in run_file.read_text().splitlines())
    return [line.removesuffix("&").rstrip() for line in lines if line and line != "wait"]


def _run_all(work: Path, **extra: str) -> int:
    count = 0
    for run_file in sorted((work / "run_files").iterdir()):
        for command in _commands(run_file):
            done = _run(shlex.split(command), work, **extra)
            assert done.returncode == 0, f"{run_file.name}: {command}\n{done.stderr}"
            count += 1
    return count


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("stack")
    proj = make_stack_project(root, DATES)
    _write_dem(root / "dem" / "dem.wgs84")
    return proj


def _stack(project, work: Path, *options: str) -> subprocess.CompletedProcess:
    work.mkdir(parents=True, exist_ok=True)
    argv = [
        "stackSentinel.py",
        *project.stack_sentinel_argv(work, project.root / "dem" / "dem.wgs84"),
    ]
    return _run([*argv, *options], work)


def _steps(work: Path) -> list[str]:
    names = sorted(p.name for p in (work / "run_files").iterdir())
    assert [n[:7] for n in names] == [f"run_{i:02d}_" for i in range(1, len(names) + 1)]
    return [n[7:] for n in names]


@pytest.mark.parametrize(("workflow", "coregistration"), sorted(SEQUENCES))
def test_run_file_names_and_order_follow_each_workflow(project, tmp_path, workflow, coregistration):
    done = _stack(project, tmp_path, "-W", workflow, "-C", coregistration)
    assert done.returncode == 0, done.stderr
    assert _steps(tmp_path) == SEQUENCES[workflow, coregistration]
    # SAFE_files.txt goes to the current directory, as with the real script
    listed = (tmp_path / "SAFE_files.txt").read_text().split()
    assert listed == [str(s.path) for s in project.scenes]


def test_param_ion_appends_the_ionosphere_steps(project, tmp_path):
    plain, burst = tmp_path / "ion.txt", tmp_path / "ion_burst.txt"
    plain.write_text("###ionospheric correction module parameters\n")
    burst.write_text("consider burst properties in ionosphere computation: True\n")
    done = _stack(project, tmp_path / "a", "--param_ion", str(plain))
    assert done.returncode == 0, done.stderr
    assert _steps(tmp_path / "a") == [*SEQUENCES["interferogram", "NESD"], *ION]
    done = _stack(project, tmp_path / "b", "--param_ion", str(burst))
    assert _steps(tmp_path / "b") == [*SEQUENCES["interferogram", "NESD"], *ION, *ION_BURST]
    # burst properties need NESD, as in the real script
    done = _stack(project, tmp_path / "c", "--param_ion", str(burst), "-C", "geometry")
    assert done.returncode == 1
    assert "must be NESD" in done.stderr


def test_lines_group_with_wait_per_num_proc_and_miss_the_last_wait(project, tmp_path):
    done = _stack(project, tmp_path, "--num_proc", "2", "-O", "3")
    assert done.returncode == 0, done.stderr
    w, cfg = str(tmp_path), f"{tmp_path}/configs"
    run = {p.name[7:]: p.read_text() for p in (tmp_path / "run_files").iterdir()}
    assert run["unpack_topo_reference"] == f"SentinelWrapper.py -c {cfg}/config_reference\n"
    assert run["unpack_secondary_slc"] == (
        f"SentinelWrapper.py -c {cfg}/config_secondary_20200113 &\n"
        f"SentinelWrapper.py -c {cfg}/config_secondary_20200125 &\n"
        "wait\n\n"
    )
    assert run["extract_burst_overlaps"] == (
        f"subsetReference.py -m {w}/reference -g {w}/geom_reference\n"
    )
    # three misreg pairs with two processes: the last group has no `wait`
    assert run["pairs_misreg"] == (
        f"SentinelWrapper.py -c {cfg}/config_misreg_20200101_20200113 &\n"
        f"SentinelWrapper.py -c {cfg}/config_misreg_20200101_20200125 &\n"
        "wait\n\n"
        f"SentinelWrapper.py -c {cfg}/config_misreg_20200113_20200125 &\n"
    )
    assert run["timeseries_misreg"] == (
        f"invertMisreg.py -i {w}/misreg/azimuth/pairs/ -o {w}/misreg/azimuth/dates/\n"
        f"invertMisreg.py -i {w}/misreg/range/pairs/ -o {w}/misreg/range/dates/\n"
    )
    assert run["extract_stack_valid_region"] == (
        f"extractCommonValidRegion.py -m {w}/reference -s {w}/coreg_secondarys\n"
    )
    merges = [
        "20200101",
        "lat",
        "lon",
        "los",
        "hgt",
        "shadowMask",
        "incLocal",
        "20200113",
        "20200125",
    ]
    assert run["merge_reference_secondary_slc"] == "".join(
        f"SentinelWrapper.py -c {cfg}/config_merge_{m}\n" for m in merges
    )


def test_text_cmd_prefixes_every_command_but_not_wait(project, tmp_path):
    done = _stack(project, tmp_path, "--num_proc", "2", "-t", "source ~/.bashrc;")
    assert done.returncode == 0, done.stderr
    lines = [
        line
        for p in (tmp_path / "run_files").iterdir()
        for line in p.read_text().splitlines()
        if line
    ]
    assert "wait" in lines
    commands = [line for line in lines if line != "wait"]
    assert commands
    assert all(line.startswith("source ~/.bashrc;") for line in commands)


def test_configs_match_the_real_layout(project, tmp_path):
    bbox = project.bbox_snwe
    done = _stack(project, tmp_path, "-C", "geometry", "-b", bbox, "--num_proc", "4")
    assert done.returncode == 0, done.stderr
    w = str(tmp_path)
    reference_safe = project.scenes[0].path
    assert (tmp_path / "configs" / "config_reference").read_text() == (
        "[Common]\n"
        "##########################\n"
        "##########################\n"
        "[Function-1]\n"
        "Sentinel1_TOPS : \n"
        f"dirname : {reference_safe}\n"
        "swaths : 1 2 3\n"
        f"orbitdir : {project.orbit_dir}\n"
        f"outdir : {w}/reference\n"
        f"auxdir : {project.aux_dir}\n"
        f"bbox : {bbox}\n"
        "pol : vv\n"
        "##########################\n"
        "##########################\n"
        "#Call topo to produce reference geometry files\n"
        "[Function-2]\n"
        "topo : \n"
        f"reference : {w}/reference\n"
        f"dem : {project.root}/dem/dem.wgs84\n"
        f"geom_referenceDir : {w}/geom_reference\n"
        "numProcess : 4\n"
        "##########################\n"
    )
    # misreg files are named even with -C geometry
    geo2rdr = (tmp_path / "configs" / "config_fullBurst_geo2rdr_20200113").read_text()
    assert geo2rdr.endswith(
        "geo2rdr :\n"
        f"secondary : {w}/secondarys/20200113\n"
        f"reference : {w}/reference\n"
        f"geom_referenceDir : {w}/geom_reference\n"
        f"coregSLCdir : {w}/coreg_secondarys/20200113\n"
        "overlap : False\n"
        "useGPU : False\n"
        f"azimuth_misreg : {w}/misreg/azimuth/dates/20200113.txt\n"
        f"range_misreg : {w}/misreg/range/dates/20200113.txt\n"
    )
    unwrap = (tmp_path / "configs" / "config_igram_unw_20200101_20200113").read_text()
    assert f"unw : {w}/merged/interferograms/20200101_20200113/filt_fine.unw\n" in unwrap
    assert unwrap.endswith("rmfilter : False\nmethod : snaphu\n")


def test_refuses_to_run_when_run_files_exists(project, tmp_path):
    (tmp_path / "run_files").mkdir()
    done = _stack(project, tmp_path)
    assert done.returncode == 1
    assert "run_files folder exists" in done.stderr
    assert list((tmp_path / "run_files").iterdir()) == []


def test_a_crash_while_writing_run_files_blocks_the_next_run(project, tmp_path):
    crashed = _run(
        ["stackSentinel.py", *project.stack_sentinel_argv(tmp_path, tmp_path / "dem.wgs84")],
        tmp_path,
        ISCE_STANDIN_FAIL="stackSentinel",
    )
    assert crashed.returncode == 1
    (partial,) = (tmp_path / "run_files").iterdir()
    assert partial.name == "run_01_unpack_topo_reference"
    assert not partial.read_text().endswith("\n")
    assert _stack(project, tmp_path).returncode == 1


def test_date_filters_and_bbox_select_the_stack(project, tmp_path):
    slc = tmp_path / "SLC"
    shutil.copytree(project.slc_dir, slc)
    # a frame further north, which does not reach the southern edge of the bbox
    west, south, east, north = project.frame_bounds
    north_frame = make_safe_zips(slc, ["20200206"], bounds=(west, south + 0.7, east, north + 0.7))
    orbits = tmp_path / "orbits"
    shutil.copytree(project.orbit_dir, orbits)
    make_orbit_files(orbits, north_frame)
    dem = project.root / "dem" / "dem.wgs84"

    def dates(work: Path, *options: str) -> list[str]:
        argv = ["-s", str(slc), "-o", str(orbits), "-a", str(project.aux_dir), "-d", str(dem)]
        done = _run(["stackSentinel.py", *argv, "-w", str(work), *options], tmp_path)
        assert done.returncode == 0, done.stderr
        secondaries = sorted(p.name[17:] for p in (work / "configs").glob("config_secondary_*"))
        reference = (work / "configs" / "config_reference").read_text()
        safe = next(line for line in reference.splitlines() if line.startswith("dirname : "))
        return [os.path.basename(safe).split("_")[5][:8], *secondaries]

    assert dates(tmp_path / "all") == [*DATES, "20200206"]
    assert dates(tmp_path / "bbox", "-b", project.bbox_snwe) == DATES
    assert dates(tmp_path / "forced", "-b", project.bbox_snwe, "-i", "20200206") == [
        *DATES,
        "20200206",
    ]
    assert dates(tmp_path / "excluded", "-x", "20200113") == ["20200101", "20200125", "20200206"]
    assert dates(
        tmp_path / "window", "--start_date", "2020-01-10", "--stop_date", "2020-01-30"
    ) == [
        "20200113",
        "20200125",
    ]
    assert dates(tmp_path / "ref", "-m", "20200125") == [
        "20200125",
        "20200101",
        "20200113",
        "20200206",
    ]


def test_update_mode_starts_with_the_new_secondaries(project, tmp_path):
    for date in DATES[1:]:
        (tmp_path / "coreg_secondarys" / date).mkdir(parents=True)
    done = _stack(project, tmp_path, "-C", "geometry", "-c", "1")
    assert done.returncode == 1
    assert "No new acquisition" in done.stderr
    (tmp_path / "coreg_secondarys" / DATES[2]).rmdir()
    done = _stack(project, tmp_path, "-C", "geometry", "-c", "1")
    assert done.returncode == 0, done.stderr
    assert _steps(tmp_path)[0] == "unpack_secondary_slc"


def test_missing_orbit_fails_loudly_instead_of_downloading(tmp_path):
    proj = make_stack_project(tmp_path / "p", DATES[:2], orbits=False)
    dem = _write_dem(tmp_path / "dem.wgs84")
    work = tmp_path / "work"
    work.mkdir()
    done = _run(["stackSentinel.py", *proj.stack_sentinel_argv(work, dem)], work)
    assert done.returncode == 1
    assert "fetchOrbit.py" in done.stderr
    assert "pre-seed" in done.stderr
    assert not (work / "run_files").exists()


@pytest.mark.parametrize("coregistration", ["NESD", "geometry"])
def test_running_every_line_in_order_unwraps_every_pair(project, tmp_path, coregistration):
    import rasterio

    log = tmp_path / "standin.jsonl"
    done = _stack(project, tmp_path, "-C", coregistration, "--num_proc", "2")
    assert done.returncode == 0, done.stderr
    count = _run_all(tmp_path, ISCE_STANDIN_LOG=str(log))
    for pair in PAIRS:
        unw = tmp_path / "merged" / "interferograms" / pair / "filt_fine.unw"
        with rasterio.open(unw) as ds:
            assert ds.count == 2
            assert ds.read(2).std() > 0
        assert (unw.parent / "filt_fine.unw.conncomp").exists()
        assert (unw.parent / "filt_fine.cor").exists()
    assert (tmp_path / "merged" / "geom_reference" / "hgt.rdr").exists()
    assert (
        "Bperp (average)"
        in (tmp_path / "baselines" / "20200101_20200113" / "20200101_20200113.txt").read_text()
    )
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(records) == count
    assert all(r["rc"] == 0 for r in records)
    assert records[0]["unit"] == "config_reference"
    assert records[-1]["step"] == "unwrap"


def test_ionosphere_steps_run_in_order(tmp_path):
    # a starting-range change makes pairs that go through the per-swath ionosphere path
    proj = make_stack_project(tmp_path / "p", [*DATES, "20200206"], range_change_dates=["20200125"])
    dem = _write_dem(tmp_path / "dem.wgs84")
    ion = tmp_path / "ion.txt"
    ion.write_text("consider burst properties in ionosphere computation: True\n")
    work = tmp_path / "work"
    work.mkdir()
    argv = [*proj.stack_sentinel_argv(work, dem), "--param_ion", str(ion), "-c", "1"]
    done = _run(["stackSentinel.py", *argv], work)
    assert done.returncode == 0, done.stderr
    assert "20200101_20200125" in (work / "pairs_diff_starting_ranges.txt").read_text()
    compute = (work / "run_files" / "run_22_computeIon").read_text()
    assert "mergeSwathIon.py" in compute
    assert "ion_cal_IW2" in compute
    _run_all(work)
    assert sorted(p.name for p in (work / "ion_dates").glob("*.ion")) == [
        f"{d}.ion" for d in [*DATES, "20200206"]
    ]
    assert (work / "ion_burst_ramp_merged_dates" / "20200113.float").exists()


def _fresh_work(project, tmp_path: Path, *options: str) -> Path:
    done = _stack(project, tmp_path, *options)
    assert done.returncode == 0, done.stderr
    return tmp_path


def _lines(work: Path, step: str) -> list[str]:
    (run_file,) = (work / "run_files").glob(f"run_??_{step}")
    return _commands(run_file)


def _call(work: Path, command: str, **extra: str) -> subprocess.CompletedProcess:
    return _run(shlex.split(command), work, **extra)


def test_a_step_run_before_its_inputs_exist_fails(project, tmp_path):
    work = _fresh_work(project, tmp_path / "geometry", "-C", "geometry")
    reference = _lines(work, "unpack_topo_reference")[0]
    # unpack and topo can be split with -s/-e
    assert _call(work, reference + " -s Function-2 -e Function-2").returncode == 1
    assert _call(work, reference + " -s Function-1 -e Function-1").returncode == 0
    assert (work / "reference" / "IW1.xml").exists()
    assert not (work / "geom_reference").exists()
    assert _call(work, reference + " -s Function-2 -e Function-2").returncode == 0
    for command in _lines(work, "unpack_secondary_slc"):
        assert _call(work, command).returncode == 0
    resample = _call(work, _lines(work, "fullBurst_resample")[0])
    assert resample.returncode == 1
    assert "fullBurst_geo2rdr" in resample.stderr
    assert "does not exist" in resample.stderr
    assert _call(work, _lines(work, "fullBurst_geo2rdr")[0]).returncode == 0
    # the valid region needs every date resampled, not only offsets
    extract = _call(work, _lines(work, "extract_stack_valid_region")[0])
    assert extract.returncode == 1
    assert "IW1.xml" in extract.stderr

    # NESD: full-burst geo2rdr must wait for the misregistration time series, which the
    # real geo2rdr would silently read as 0.0
    work = _fresh_work(project, tmp_path / "nesd")
    for step in ("unpack_topo_reference", "unpack_secondary_slc"):
        for command in _lines(work, step):
            assert _call(work, command).returncode == 0
    geo2rdr = _call(work, _lines(work, "fullBurst_geo2rdr")[0])
    assert geo2rdr.returncode == 1
    assert "timeseries_misreg" in geo2rdr.stderr


@pytest.fixture(scope="module")
def finished(project, tmp_path_factory):
    """A NESD stack whose every line has run."""
    work = _fresh_work(project, tmp_path_factory.mktemp("finished"))
    _run_all(work)
    return work


def test_fail_pattern_fails_the_matching_command_and_fail_once_only_once(finished, tmp_path):
    first, second = _lines(finished, "unwrap")[:2]
    target = "config_igram_unw_20200101_20200113"
    assert target in first
    failed = _call(finished, first, ISCE_STANDIN_FAIL=target)
    assert failed.returncode == 1
    assert "injected failure" in failed.stderr
    # the failure leaves a half-written output, like a crash during a write
    merged = finished / "merged" / "interferograms"
    complete = (merged / PAIRS[1] / "filt_fine.unw").stat().st_size
    assert (merged / PAIRS[0] / "filt_fine.unw").stat().st_size * 2 == complete
    assert _call(finished, second, ISCE_STANDIN_FAIL=target).returncode == 0
    assert _call(finished, second, ISCE_STANDIN_FAIL="unwrap").returncode == 1

    once = {"ISCE_STANDIN_FAIL": "unwrap", "ISCE_STANDIN_FAIL_ONCE_DIR": str(tmp_path / "once")}
    assert _call(finished, first, **once).returncode == 1
    assert _call(finished, first, **once).returncode == 0
    assert _call(finished, second, **once).returncode == 1
    assert _call(finished, second, **once).returncode == 0


def test_partial_stack_from_an_interrupted_run_breaks_the_rerun(finished, tmp_path):
    work = tmp_path / "work"
    shutil.copytree(finished, work, symlinks=True)
    shutil.rmtree(work / "stack")
    # paths in run files are absolute: point them at the copy
    extract = _lines(finished, "extract_stack_valid_region")[0].replace(str(finished), str(work))
    crashed = _call(work, extract, ISCE_STANDIN_FAIL="extract_stack_valid_region")
    assert crashed.returncode == 1
    rerun = _call(work, extract)
    assert rerun.returncode == 1
    assert "partial write" in rerun.stderr
    assert "rsmas_insar#417" in rerun.stderr
    shutil.rmtree(work / "stack")
    assert _call(work, extract).returncode == 0
    # a complete stack/ is reused (the real update path)
    assert _call(work, extract).returncode == 0


def test_durations_delay_commands_and_the_log_shows_overlap(finished, tmp_path):
    log = tmp_path / "log.jsonl"
    env = _env(ISCE_STANDIN_LOG=str(log), ISCE_STANDIN_DURATIONS="unwrap=0.6,filter_coherence=9")
    procs = [
        subprocess.Popen(shlex.split(c), cwd=finished, env=env, stderr=subprocess.PIPE)
        for c in _lines(finished, "unwrap")
    ]
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(records) == 2
    assert all(r["end"] - r["start"] >= 0.6 for r in records)
    first, second = sorted(records, key=lambda r: r["start"])
    assert second["start"] < first["end"]  # they ran at the same time


def test_a_command_reading_outputs_of_a_command_still_running_fails(finished, tmp_path):
    """Outputs are written half-way through a command's duration and stay locked until it
    ends: a consumer started too early fails, whether it finds nothing or a file in use."""
    work = tmp_path / "work"
    shutil.copytree(finished, work, symlinks=True)
    for config in (work / "configs").iterdir():  # absolute paths: point them at the copy
        config.write_text(config.read_text().replace(str(finished), str(work)))
    unwrap, filt = (
        _lines(finished, step)[0].replace(str(finished), str(work))
        for step in ("unwrap", "filter_coherence")
    )
    for old in (work / "merged" / "interferograms" / PAIRS[0]).glob("filt_fine.*"):
        old.unlink()
    env = _env(ISCE_STANDIN_DURATIONS="filter_coherence=4")
    producer = subprocess.Popen(shlex.split(filt), cwd=work, env=env, stderr=subprocess.PIPE)
    try:
        time.sleep(0.5)
        # half-way not reached: the filtered interferogram is not there yet
        early = _call(work, unwrap)
        assert early.returncode == 1 and "does not exist" in early.stderr
        time.sleep(2.5)
        # written, but the command writing it has not finished
        during = _call(work, unwrap)
        assert during.returncode == 1
        assert "still being written by the command that makes it" in during.stderr
    finally:
        assert producer.wait(timeout=30) == 0
    assert _call(work, unwrap).returncode == 0


def test_glob_readers_fail_when_a_file_they_should_find_is_missing(finished, tmp_path):
    work = tmp_path / "work"
    shutil.copytree(finished, work, symlinks=True)
    pairs = sorted((work / "misreg" / "azimuth" / "pairs").iterdir())
    shutil.rmtree(pairs[-1])
    invert = _lines(finished, "timeseries_misreg")[0].replace(str(finished), str(work))
    failed = _call(work, invert)
    assert failed.returncode == 1
    assert f"config_misreg_{pairs[-1].name}" in failed.stderr
    assert "silently leave them out" in failed.stderr
    (work / "coreg_secondarys" / DATES[-1] / "IW1.xml").unlink()
    extract = _lines(finished, "extract_stack_valid_region")[0].replace(str(finished), str(work))
    failed = _call(work, extract)
    assert failed.returncode == 1 and f"config_fullBurst_resample_{DATES[-1]}" in failed.stderr


def test_safe_zips_have_realistic_names_and_contents(tmp_path):
    scenes = make_safe_zips(
        tmp_path, ["20200101", "20200113", "20200206"], relative_orbit_number=78
    )
    names = [s.name for s in scenes]
    assert names[0].startswith("S1A_IW_SLC__1SDV_20200101T123456_20200101T123523_")
    for scene in scenes:
        assert relative_orbit("S1A", int(scene.name.split("_")[7])) == 78
    # 12-day repeat: 175 orbits per cycle
    assert scenes[1].absolute_orbit - scenes[0].absolute_orbit == 175
    assert scenes[2].absolute_orbit - scenes[0].absolute_orbit == 3 * 175
    with zipfile.ZipFile(scenes[0].path) as zf:
        safe = scenes[0].name + ".SAFE"
        manifest = zf.read(f"{safe}/manifest.safe").decode()
        kml = zf.read(f"{safe}/preview/map-overlay.kml").decode()
        annotations = [n for n in zf.namelist() if "/annotation/s1a-iw" in n]
    assert "<gml:coordinates>" in manifest
    assert '<safe:relativeOrbitNumber type="start">78' in manifest
    assert "<gx:LatLonQuad>" in kml
    corners = kml.split("<coordinates>")[1].split("</coordinates>")[0].split()
    gml = manifest.split("<gml:coordinates>")[1].split("</gml:coordinates>")[0].split()
    assert [c.split(",")[::-1] for c in corners] == [g.split(",") for g in gml]
    assert len(annotations) == 6  # IW1-3 x VV, VH


@pytest.fixture
def no_network(monkeypatch, tmp_path):
    """Block Python sockets and record every attempt; isolate HOME and caches."""
    attempts: list[object] = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("NETRC", str(tmp_path / "home" / ".netrc"))
    return attempts


def test_sentineleof_finds_the_local_orbits_without_network(tmp_path, no_network):
    from eof.download import main as eof_main

    scenes = make_safe_zips(tmp_path / "SLC", DATES)
    orbits = make_orbit_files(tmp_path / "orbits", scenes)
    assert eof_main(search_path=str(tmp_path / "SLC"), save_dir=str(tmp_path / "orbits")) == []
    assert no_network == []
    assert sorted((tmp_path / "orbits").iterdir()) == orbits
    # control: with one orbit missing, sentineleof does go to the network
    orbits[0].unlink()
    with contextlib.suppress(Exception):  # whatever the client makes of the refusal
        eof_main(search_path=str(tmp_path / "SLC"), save_dir=str(tmp_path / "orbits"))
    assert no_network


def test_dem_stitcher_stitches_the_local_tiles_offline(tmp_path, no_network, monkeypatch):
    import dem_stitcher.stitcher
    import numpy as np
    from dem_stitcher import stitch_dem

    def no_download(*args, **kwargs):
        raise AssertionError(f"dem_stitcher tried to download {args[0]}")

    # GDAL's own HTTP client bypasses Python sockets: forbid the one download path too
    monkeypatch.setattr(dem_stitcher.stitcher, "_download_and_write_one_tile_to_gtiff", no_download)
    bounds = [-99.6, 19.2, -98.4, 20.3]
    tiles = make_glo30_tiles(tmp_path / "tiles", bounds)
    assert [t.name for t in tiles] == [
        "Copernicus_DSM_COG_10_N19_00_W099_00_DEM.tif",
        "Copernicus_DSM_COG_10_N19_00_W100_00_DEM.tif",
        "Copernicus_DSM_COG_10_N20_00_W099_00_DEM.tif",
        "Copernicus_DSM_COG_10_N20_00_W100_00_DEM.tif",
    ]
    geoid = make_geoid(tmp_path / "geoid.tif", bounds)
    dem, profile = stitch_dem(
        bounds,
        "glo_30",
        dst_ellipsoidal_height=True,
        dst_area_or_point="Point",
        dst_tile_dir=tmp_path / "tiles",
        geoid_path=str(geoid),
        fill_in_glo_30=False,
    )
    assert no_network == []
    assert profile["crs"].to_epsg() == 4326
    transform = profile["transform"]
    assert transform.a == pytest.approx(1 / 120)
    # pixel-is-point grid at 1/120 degree with samples on both edges of the bounds
    assert dem.shape == (round(1.1 * 120) + 1, round(1.2 * 120) + 1)
    assert np.isfinite(dem).all()
    rows, cols = np.mgrid[0 : dem.shape[0], 0 : dem.shape[1]]
    lon = transform.c + (cols + 0.5) * transform.a
    lat = transform.f + (rows + 0.5) * transform.e
    expected = terrain_height(lon, lat) + geoid_height(lon, lat)
    # ellipsoidal heights: the geoid (about -8 m) was added
    assert np.abs(dem - expected).max() < 0.5
    assert np.abs(dem - terrain_height(lon, lat)).min() > 2.0


def test_benchmark_project_builds_a_large_stack_the_stand_in_accepts(tmp_path):
    proj = make_benchmark_project(tmp_path / "big", n_dates=100)
    assert len(list(proj.slc_dir.glob("S1A_IW_SLC__*.zip"))) == 100
    assert len(proj.orbit_files) == 100
    dem = _write_dem(tmp_path / "dem.wgs84")
    work = tmp_path / "work"
    work.mkdir()
    done = _run(["stackSentinel.py", *proj.stack_sentinel_argv(work, dem), "-c", "3"], work)
    assert done.returncode == 0, done.stderr
    assert len(_lines(work, "unwrap")) == 3 * 100 - 6
