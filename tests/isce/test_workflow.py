"""The ISCE2 path through the `snakemake` command line, on the topsStack stand-in.

Three dates, one swath, tiny rasters: a full NESD run is about 40 jobs.
"""

from __future__ import annotations

import itertools
import json
import re
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest
import rasterio

from tests.isce.conftest import IsceWork, make_work, unit_of
from tests.isce_standin.fixtures import StackProject, make_stack_project, repeat_dates

pytestmark = pytest.mark.slow

NESD_STEPS = [
    "unpack_topo_reference",
    "unpack_secondary_slc",
    "average_baseline",
    "extract_burst_overlaps",
    "overlap_geo2rdr",
    "overlap_resample",
    "pairs_misreg",
    "timeseries_misreg",
    "fullBurst_geo2rdr",
    "fullBurst_resample",
    "extract_stack_valid_region",
    "merge_reference_secondary_slc",
    "generate_burst_igram",
    "merge_burst_igram",
    "filter_coherence",
    "unwrap",
]
GEOMETRY_STEPS = [step for step in NESD_STEPS if step not in NESD_STEPS[3:8]]


def step_names(steps: list[str]) -> list[str]:
    return [f"run_{number:02d}_{name}" for number, name in enumerate(steps, start=1)]


def listing(root: Path) -> dict[str, int]:
    """Every path under root with its mtime, Snakemake's own .snakemake/ aside."""
    return {
        str(path.relative_to(root)): path.stat().st_mtime_ns
        for path in root.rglob("*")
        if ".snakemake" not in path.relative_to(root).parts
    }


def planned(output: str) -> Counter[str]:
    """Job counts per rule from a dry run's job stats."""
    stats = output.split("Job stats:", 1)[1].split("\n\n", 1)[0]
    return Counter(
        {
            m[1]: int(m[2])
            for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", stats, re.MULTILINE)
            if m[1] != "total"
        }
    )


def plan_of(stack: Path) -> dict:
    return json.loads((stack / "plan.json").read_text())


def commands_in_run_files(stack: Path) -> tuple[Counter[str], set[str]]:
    """Commands per step, and every config file the run files name (what should run)."""
    per_step: Counter[str] = Counter()
    configs: set[str] = set()
    for step in plan_of(stack)["steps"]:
        per_step[step["name"].split("_", 2)[2]] += len(step["commands"])
        for command in step["commands"]:
            configs.update(re.findall(r"-c \S*/(config_\S+)", " ".join(command["lines"])))
    return per_step, configs


def by_command(work: IsceWork, stack: Path) -> dict[tuple[str, int], dict]:
    """The stand-in's record of each plan command, keyed by (step, index)."""
    records = {" ".join([record["program"], *record["argv"]]): record for record in work.records()}
    return {
        (step["name"], command["index"]): records[command["lines"][0]]
        for step in plan_of(stack)["steps"]
        for command in step["commands"]
    }


# Slow enough that a command started too early finds its inputs missing: the reference's
# topo and the stack's valid region take 2 s, during which other commands can run.
SLOW_BARRIERS = "config_reference=2,extractCommonValidRegion=2"


@pytest.fixture(scope="module")
def nesd(tmp_path_factory: pytest.TempPathFactory, project) -> IsceWork:
    """One complete NESD run: scenes with connections 2 (pairs d1-d2, d1-d3, d2-d3)."""
    work = make_work(tmp_path_factory.mktemp("nesd"), project)
    # chains: interferograms may form before the stack (long_chains would hold them back)
    work.configure(connections=2, coregistration="NESD", grouping="chains")
    work.run(ISCE_STANDIN_DURATIONS=SLOW_BARRIERS)
    return work


def test_nesd_run_makes_one_job_per_command_after_what_it_reads(nesd: IsceWork):
    [stack] = nesd.stack_dirs()
    complete = nesd.complete()
    d1, d2, d3 = nesd.project.dates
    assert complete["steps"][0].split() == step_names(NESD_STEPS)
    assert complete["pair"] == [f"{d1}_{d2}", f"{d1}_{d3}", f"{d2}_{d3}"]
    assert complete["stack"] == [str(stack / "stack")]
    assert (stack / "stack" / "merged" / "interferograms" / f"{d1}_{d3}").is_dir()

    records = nesd.records()
    assert all(record["rc"] == 0 for record in records)
    # every run-file command ran exactly once, as its own process
    per_step, configs = commands_in_run_files(stack)
    assert Counter(record["step"] for record in records) == per_step
    ran = [unit_of(record) for record in records if unit_of(record).startswith("config_")]
    assert sorted(ran) == sorted(configs)
    # a command starts only when every command whose outputs it reads has finished ...
    ran = by_command(nesd, stack)
    for step in plan_of(stack)["steps"]:
        for command in step["commands"]:
            record = ran[step["name"], command["index"]]
            for name, index in command["after"]:
                assert ran[name, index]["end"] <= record["start"], (step["name"], name)
    by_step: dict[str, list[dict]] = {}
    for record in records:
        by_step.setdefault(record["step"], []).append(record)
    # ... the true barriers wait for every command of the step before them ...
    for earlier, barrier in (
        ("pairs_misreg", "timeseries_misreg"),
        ("fullBurst_resample", "extract_stack_valid_region"),
    ):
        assert max(r["end"] for r in by_step[earlier]) <= min(r["start"] for r in by_step[barrier])
    # ... and nothing else waits for whole steps: secondaries unpack during the reference's
    # topo, interferograms form while the stack's valid region is computed
    (reference,) = by_step["unpack_topo_reference"]
    assert min(r["start"] for r in by_step["unpack_secondary_slc"]) < reference["end"]
    (valid,) = by_step["extract_stack_valid_region"]
    assert min(r["start"] for r in by_step["generate_burst_igram"]) < valid["end"]
    # one log per command, each closed with its duration
    fingerprint = stack.name
    for step in plan_of(stack)["steps"]:
        for command in step["commands"]:
            log = (
                nesd.root
                / "logs"
                / "isce"
                / fingerprint
                / step["name"]
                / f"{command['index']:04d}.log"
            )
            assert log.read_text().rstrip().splitlines()[-1].startswith("# done in"), log
    assert nesd.network_attempts() == ""


def test_stitched_dem_xml_matches_the_raster_grid(nesd: IsceWork):
    [dem] = (nesd.root / "resources" / "dem").glob("glo30_*/dem.wgs84")
    root = ET.parse(f"{dem}.xml").getroot()
    coordinates = {
        component.get("name"): {
            p.get("name"): float(p.findtext("value")) for p in component.findall("property")
        }
        for component in root.findall("component")
    }
    with rasterio.open(f"{dem}.vrt") as raster:
        transform, width, height = raster.transform, raster.width, raster.height
    assert coordinates["Coordinate1"]["startingValue"] == transform.c + transform.a / 2
    assert coordinates["Coordinate2"]["startingValue"] == transform.f + transform.e / 2
    assert coordinates["Coordinate1"]["delta"] == transform.a
    assert coordinates["Coordinate2"]["delta"] == transform.e
    assert (coordinates["Coordinate1"]["size"], coordinates["Coordinate2"]["size"]) == (
        width,
        height,
    )
    [stack] = nesd.stack_dirs()
    assert f"--dem={dem}" in json.loads((stack / "request.json").read_text())["arguments"]


def test_dag_and_rulegraph_render(nesd: IsceWork):
    dag = nesd.snakemake("--dag").stdout
    assert dag.lstrip().startswith("digraph") and "isce_command" in dag and "isce_run_files" in dag
    rulegraph = nesd.snakemake("--rulegraph").stdout
    assert rulegraph.lstrip().startswith("digraph")
    for rule in (
        "isce_dem",
        "isce_inputs",
        "isce_run_files",
        "isce_command",
        "isce_step",
        "isce_stack_complete",
        "isce_complete",
    ):
        assert rule in rulegraph


def test_finished_stack_has_nothing_to_do_and_the_dry_run_writes_nothing(nesd: IsceWork):
    before = listing(nesd.root)
    result = nesd.snakemake("-n")
    assert "Nothing to be done" in result.stdout + result.stderr
    assert listing(nesd.root) == before


def test_dropping_a_pair_keeps_the_stack_and_reruns_no_command(nesd: IsceWork):
    d1, d2, d3 = nesd.project.dates
    [stack] = nesd.stack_dirs()
    config = (nesd.root / "isce.yaml").read_text()
    try:
        nesd.configure(
            connections=2,
            coregistration="NESD",
            pairs=[(d1, d2), (d1, d3)],
            grouping="chains",
            step_resources={"unwrap": {"threads": 2, "mem_mb": 1234, "runtime": 7}},
        )
        before = listing(nesd.root)
        result = nesd.snakemake("-n", "--cores", "4")
        jobs = planned(result.stdout)
        # same dates and connections: same run files; the remaining pairs' commands wait only
        # for what they read, so none of them runs again (only the step markers follow)
        assert jobs["isce_run_files"] == 0 and jobs["isce_inputs"] == 0, result.stdout
        assert jobs["isce_command"] == 0, result.stdout
        assert jobs["isce_complete"] == 1
        assert listing(nesd.root) == before
        # per-step threads, memory and runtime from isce.step_resources
        unwrap = f"results/isce/{stack.name}/steps/run_16_unwrap/0001.done"
        forced = nesd.snakemake("-n", "--cores", "4", "-f", unwrap).stdout
        assert planned(forced)["isce_command"] == 1, forced
        assert re.search(r"threads: 2\b", forced) and "mem_mb=1234" in forced, forced
        assert "runtime=7" in forced
        assert listing(nesd.root) == before
    finally:
        (nesd.root / "isce.yaml").write_text(config)


def test_geometry_run_retries_a_failed_command_after_removing_its_half_written_stack(
    tmp_path: Path, project
):
    work = make_work(tmp_path, project)
    work.configure(connections=1, coregistration="geometry")
    once = tmp_path / "failed-once"
    once.mkdir()
    work.run(
        "--retries",
        "1",
        ISCE_STANDIN_FAIL="extract_stack_valid_region",
        ISCE_STANDIN_FAIL_ONCE_DIR=str(once),
    )
    complete = work.complete()
    d1, d2, d3 = project.dates
    assert complete["steps"][0].split() == step_names(GEOMETRY_STEPS)
    assert complete["pair"] == [f"{d1}_{d2}", f"{d2}_{d3}"]
    [stack] = work.stack_dirs()
    assert not list((stack / "stack" / "configs").glob("config_misreg_*"))
    attempts = [r for r in work.records() if r["step"] == "extract_stack_valid_region"]
    assert [r["rc"] for r in attempts] == [1, 0]
    log = (
        work.root / "logs" / "isce" / stack.name / "run_06_extract_stack_valid_region" / "0001.log"
    )
    assert "left by an earlier attempt" in log.read_text()


def test_failed_command_then_rerun_completes_only_what_is_left_and_new_settings_regenerate(
    tmp_path: Path, project
):
    work = make_work(tmp_path, project)
    work.configure(connections=2, filter_strength=0.5)
    d1, d2, d3 = project.dates
    failing = f"config_misreg_{d1}_{d3}"
    first = work.snakemake("--cores", "2", "--keep-going", check=False, ISCE_STANDIN_FAIL=failing)
    assert first.returncode != 0
    [stack] = work.stack_dirs()
    fingerprint = stack.name
    assert "run_07_pairs_misreg command 2 failed (exit 1)" in first.stderr
    assert not (stack / "steps" / "run_07_pairs_misreg" / "0002.done").exists()
    assert (stack / "steps" / "run_07_pairs_misreg" / "0001.done").exists()
    assert not (stack / "steps" / "run_07_pairs_misreg.done").exists()
    done_in_first = {unit_of(r) for r in work.records() if r["rc"] == 0}
    assert failing not in done_in_first and f"config_misreg_{d1}_{d2}" in done_in_first
    first_count = len(work.records())

    work.run()
    second = work.records()[first_count:]
    rerun = {unit_of(r) for r in second}
    assert not rerun & done_in_first  # nothing that had succeeded ran again
    assert failing in rerun and f"config_igram_unw_{d1}_{d3}" in rerun
    assert work.complete()["fingerprint"] == [fingerprint]

    # new settings: a dry run only plans (no new stack dir, nothing written) ...
    work.configure(connections=2, filter_strength=0.8)
    before = listing(work.root)
    dry = work.snakemake("-n")
    jobs = planned(dry.stdout)
    assert jobs["isce_run_files"] == 1 and jobs["isce_inputs"] == 1
    del before["isce.yaml"]
    after = listing(work.root)
    del after["isce.yaml"]
    assert after == before
    # ... and the run regenerates run files in a new stack; the old one is left as it was
    old_stack = listing(stack)
    work.run("--until", "isce_run_files")
    new = [path for path in work.stack_dirs() if path.name != fingerprint]
    assert len(new) == 1
    config = (new[0] / "stack" / "configs" / f"config_igram_filt_coh_{d1}_{d2}").read_text()
    assert re.search(r"strength\s*:\s*0\.8", config), config
    old = (stack / "stack" / "configs" / f"config_igram_filt_coh_{d1}_{d2}").read_text()
    assert re.search(r"strength\s*:\s*0\.5", old)
    assert listing(stack) == old_stack
    remaining = planned(work.snakemake("-n").stdout)
    commands = [c for s in plan_of(new[0])["steps"] for c in s["commands"]]
    chains = Counter(c["long_chain"] for c in commands if c["long_chain"])
    # one job per command, or per chain of commands (isce.grouping: long_chains, the default)
    assert remaining["isce_chain"] == len(chains) > 0
    assert remaining["isce_command"] == len(commands) - sum(chains.values())


def test_dry_run_of_a_new_project_plans_without_side_effects(tmp_path: Path, project):
    work = make_work(tmp_path, project)
    work.configure(connections=2)
    before_work, before_project = listing(work.root), listing(project.root)
    result = work.snakemake("-n")
    jobs = planned(result.stdout)
    assert jobs["isce_dem"] == 1 and jobs["isce_inputs"] == 1 and jobs["isce_run_files"] == 1
    assert "checkpoint" in result.stdout + result.stderr
    assert listing(work.root) == before_work  # no DEM, no run files, no directories
    assert listing(project.root) == before_project
    assert work.records() == [] and work.network_attempts() == ""


def test_pair_date_without_an_slc_is_refused_in_one_line(tmp_path: Path, project):
    work = make_work(tmp_path, project)
    work.configure(pairs=[(project.dates[0], "20300101")])
    result = work.snakemake("-n", check=False)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"insarflow: isce.slc_dir '{project.slc_dir}' has no Sentinel-1 IW SLC (.zip or .SAFE) "
        "for 1 pair date(s): 20300101"
    ]


def test_a_missing_dependency_edge_fails_the_run(tmp_path: Path, project):
    """The stricter stand-in is what makes the edges trustworthy: drop what the burst
    interferograms wait for from the plan, and they fail instead of passing by luck."""
    work = make_work(tmp_path, project)
    work.configure(connections=1, coregistration="geometry", grouping="none")
    work.run("--until", "isce_run_files")
    [stack] = work.stack_dirs()
    plan = plan_of(stack)
    cleared = 0
    for step in plan["steps"]:
        if step["name"].endswith("generate_burst_igram"):
            for command in step["commands"]:
                assert command["after"]
                command["after"] = []
                cleared += 1
    assert cleared
    (stack / "plan.json").write_text(json.dumps(plan))
    result = work.snakemake("--cores", "2", "--keep-going", check=False)
    assert result.returncode != 0
    failed = [r for r in work.records() if r["rc"] != 0]
    assert failed and {r["step"] for r in failed} == {"generate_burst_igram"}
    assert all("has not run (step order?)" in r["error"] for r in failed), failed


def test_steps_mode_waits_for_whole_run_files(tmp_path: Path, project):
    work = make_work(tmp_path, project)
    work.configure(connections=1, coregistration="geometry", dependencies="steps")
    work.run()
    by_step: dict[str, list[dict]] = {}
    for record in work.records():
        by_step.setdefault(record["step"], []).append(record)
    for earlier, later in itertools.pairwise(GEOMETRY_STEPS):
        assert max(r["end"] for r in by_step[earlier]) <= min(r["start"] for r in by_step[later])


@pytest.fixture(scope="module")
def ion_project(tmp_path_factory: pytest.TempPathFactory) -> StackProject:
    """Four dates, the third with shifted swath starting ranges (per-swath ionosphere)."""
    dates = repeat_dates(4)
    return make_stack_project(
        tmp_path_factory.mktemp("ion-project"),
        dates,
        bursts_per_swath=2,
        range_change_dates=[dates[2]],
    )


def test_ionosphere_stack_with_text_cmd_runs_merge_swath_ion_after_its_swaths(
    tmp_path: Path, ion_project: StackProject
):
    param_ion = tmp_path / "ion_param.txt"
    param_ion.write_text("consider burst properties in ionosphere computation: True\n")
    work = make_work(tmp_path, ion_project)
    work.configure(
        connections=1,
        coregistration="NESD",
        swath_num="1 2",
        param_ion=str(param_ion),
        text_cmd="export INSARFLOW_TEXT_CMD=1; ",
    )
    work.run(ISCE_STANDIN_DURATIONS="computeIon_*=1")
    [stack] = work.stack_dirs()
    assert (stack / "stack" / "ion_dates").is_dir()
    plan = plan_of(stack)
    # text_cmd is stripped before the inputs are worked out: no command waits for whole steps
    assert not [c for s in plan["steps"] for c in s["commands"] if c["barrier"]]
    ran = by_command(work, stack)
    (compute,) = [s for s in plan["steps"] if s["name"].endswith("computeIon")]
    merges = [c for c in compute["commands"] if c["lines"][0].startswith("mergeSwathIon")]
    assert merges
    for merge in merges:
        pair = merge["lines"][0].split("--input ")[1].split()[0]
        swaths = [
            ran[compute["name"], c["index"]]
            for c in compute["commands"]
            if f"{pair}/ion_cal_IW" in c["lines"][0]
        ]
        assert len(swaths) == 2
        assert max(r["end"] for r in swaths) <= ran[compute["name"], merge["index"]]["start"]
    assert all(r["rc"] == 0 for r in work.records())
