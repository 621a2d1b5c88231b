"""The workflow through the `snakemake` command line, as a user runs it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from insarflow.pairs import read_pair_table

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).parent / "snakemake"
WORKFLOW_FILES = ["Snakefile", "rules", "config", "envs", "profiles", "scripts"]
TIMEOUT = 120

GOOD_SLC = [
    "S1B_IW_SLC__1SDV_20200623T161535_20200623T161607_022163_02A10F_7FD6",
    "S1B_IW_SLC__1SDV_20200810T161537_20200810T161610_022863_02B66A_F7D7",
]
OTHER_TRACK = "S1C_IW_SLC__1SDV_20260519T214004_20260519T214028_007728_00FB4A_A82C"


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A copy of the workflow, so relative paths like config/pairs.tsv resolve as for a user."""
    work = tmp_path / "work"
    work.mkdir()
    for name in WORKFLOW_FILES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, work / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.exists():
            shutil.copy2(source, work / name)
    return work


def _snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "HOME": str(workdir.parent / "home"),
        "NO_PROXY": "127.0.0.1,localhost",
        "NETRC": str(workdir.parent / "no-netrc"),
    }
    return subprocess.run(
        [str(SNAKEMAKE), *args],
        cwd=workdir,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def _listing(root: Path) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob("*")}


def _assert_refused(workdir: Path, expected: list[str], *args: str) -> None:
    """Snakemake exits 1 with exactly the expected problem lines and plans nothing."""
    before = _listing(workdir)
    result = _snakemake(workdir, "-n", *args)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert result.stderr.splitlines() == expected, output
    assert "Traceback" not in output
    assert "Job stats" not in output
    assert _listing(workdir) == before  # nothing planned, nothing created (not even .snakemake)


def _job_stats(output: str) -> dict[str, int]:
    """The `Job stats` table of a dry run as {rule: count}."""
    table = output.split("Job stats:", 1)[1].split("\n\n", 1)[0]
    stats = {}
    for line in table.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            stats[parts[0]] = int(parts[1])
    return stats


def test_dry_run_of_the_example_config_plans_the_jobs(workdir):
    result = _snakemake(workdir, "-n", "--configfile", "config/config.yaml")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Traceback" not in output
    stats = _job_stats(output)
    assert stats["all"] == 1
    assert stats["total"] == sum(count for rule, count in stats.items() if rule != "total")
    assert stats["total"] > 1
    # Every pair of the example table is planned.
    for pair in read_pair_table(workdir / "config" / "pairs.tsv"):
        assert pair.pair_id in output


def test_time_series_jobs_ask_the_cluster_for_the_configured_size(workdir):
    # The size comes from the config (schema default or the user's value), not the profile.
    default = _snakemake(workdir, "-n", "--configfile", "config/config.yaml")
    assert default.returncode == 0, default.stderr
    (workdir / "big.yaml").write_text("timeseries:\n  job_resources:\n    mem_mb: 64000\n")
    big = _snakemake(workdir, "-n", "--configfile", "config/config.yaml", "big.yaml")
    assert big.returncode == 0, big.stderr

    def mintpy_resources(output: str) -> str:
        block = output[output.index("rule timeseries_mintpy:") :]
        return next(line for line in block.splitlines() if "resources:" in line)

    assert "runtime=120, mem_mb=8000," in mintpy_resources(default.stdout)
    assert "runtime=120, mem_mb=64000," in mintpy_resources(big.stdout)


def test_bad_config_value_stops_before_any_job(workdir):
    (workdir / "bad.yaml").write_text('hyp3:\n  looks: "40x8"\n')
    _assert_refused(
        workdir,
        ["insarflow: config: hyp3.looks = '40x8' is not allowed; allowed: '20x4', '10x2', '5x1'"],
        "--configfile",
        "bad.yaml",
    )


def test_unknown_config_key_stops_before_any_job(workdir):
    (workdir / "bad.yaml").write_text("isce:\n  num_procs: 4\n")
    before = _listing(workdir)
    result = _snakemake(workdir, "-n", "--configfile", "bad.yaml")
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("insarflow: config: unknown key 'isce.num_procs'; allowed keys here: ")
    assert ", num_proc, num_proc4topo, " in line
    assert "Traceback" not in result.stdout
    assert _listing(workdir) == before


def test_bad_pair_table_reports_every_bad_row_and_stops(workdir):
    table = (
        "reference\tsecondary\n"
        f"{GOOD_SLC[0]}\t{GOOD_SLC[1]}\n"
        f"{GOOD_SLC[0]}\t{OTHER_TRACK}\n"
        f"{GOOD_SLC[1]}\t{GOOD_SLC[0]}\n"
    )
    (workdir / "my_pairs.tsv").write_text(table)
    (workdir / "my.yaml").write_text("pairs: my_pairs.tsv\n")
    _assert_refused(
        workdir,
        [
            "insarflow: my_pairs.tsv:3: scenes are on different tracks (relative orbit 87 vs "
            "relative orbit 32); both must be on the same one",
            f"insarflow: my_pairs.tsv:4: duplicate of the pair on line 2 ({GOOD_SLC[0]}, {GOOD_SLC[1]}); "
            "each pair may appear once",
        ],
        "--configfile",
        "my.yaml",
    )


def test_bad_scene_list_names_its_line(workdir):
    (workdir / "scenes.txt").write_text(f"# my scenes\n{GOOD_SLC[0]}\nS1A_typo\n{GOOD_SLC[1]}\n")
    (workdir / "my.yaml").write_text("pairs: null\nscenes: scenes.txt\n")
    _assert_refused(
        workdir,
        [
            "insarflow: scenes.txt:3: 'S1A_typo' is not a Sentinel-1 IW SLC name "
            "(S1A_IW_SLC__1SDV_<start>_<stop>_<orbit>_<datatake>_<id>), an IW burst name "
            "(S1_<burst>_IW<n>_<time>_<pol>_<id>-BURST) or a date YYYYMMDD"
        ],
        "--configfile",
        "my.yaml",
    )
