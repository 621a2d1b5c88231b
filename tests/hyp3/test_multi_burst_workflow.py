"""INSAR_ISCE_MULTI_BURST end to end through the Snakemake CLI against the sandbox, with the real
hyp3_sdk: submit, kill -9 and resume, download, status; one job per pair and no duplicates."""

from __future__ import annotations

import re
import shutil
from collections import Counter

import pytest
import rasterio
import yaml

from .conftest import REPO, Sandbox, Workdir
from .test_workflow import kill_when, resume

pytestmark = pytest.mark.slow

BURST_IDS = ["064_136231_IW2", "064_136232_IW2", "064_136233_IW2"]
DATE_PAIRS = [
    ("20200604", "20200616"),
    ("20200604", "20200628"),
    ("20200616", "20200628"),
    ("20200616", "20200710"),
]
MINTPY_MULTI_BURST = re.compile(
    r"S1_\d{3}_\d{6}s1n\d{2}-\d{6}s2n\d{2}-\d{6}s3n\d{2}_IW(_\d{8}){2}_(VV|HH)_INT\d{2}_[0-9A-F]{4}"
)


def configure_multi_burst(workdir: Workdir, **hyp3: object) -> None:
    config_dir = workdir.path / "config"
    config_dir.mkdir(exist_ok=True)
    shutil.copy(REPO / "config" / "multi-burst-granules.txt", config_dir)
    table = "reference\tsecondary\n" + "".join(f"{a}\t{b}\n" for a, b in DATE_PAIRS)
    (config_dir / "multi-burst-pairs.tsv").write_text(table)
    settings = {
        "job_type": "INSAR_ISCE_MULTI_BURST",
        "looks": "10x2",
        "poll_interval": 0.3,
        "wait_timeout": 120,
        "request_timeout": 10,
        **hyp3,
    }
    config = {
        "processor": "hyp3",
        "pairs": "config/multi-burst-pairs.tsv",
        "multi_burst": {"burst_ids": BURST_IDS, "granules": "config/multi-burst-granules.txt"},
        "hyp3": settings,
    }
    (config_dir / "config.yaml").write_text(yaml.safe_dump(config))


def test_multi_burst_run_survives_kill_9_and_pays_once_per_pair(
    sandbox: Sandbox, workdir: Workdir
) -> None:
    configure_multi_burst(workdir, api_url=sandbox.url, submission_chunk_size=1)
    sandbox.faults(latency_s=1.0)
    process = workdir.popen()
    # Killed after a first job was paid for and while the next POST is in flight.
    kill_when(
        process,
        lambda: (
            sum(r["event"] == "submitted" for r in workdir.ledger()) >= 1
            and any(r["event"] == "intent" for r in workdir.ledger()[-1:])
        ),
    )
    sandbox.faults(latency_s=0)
    resume(workdir)

    jobs = sandbox.jobs()
    names = Counter(job["name"] for job in jobs)
    assert len(names) == len(DATE_PAIRS) and set(names.values()) == {1}, names
    assert {job["job_type"] for job in jobs} == {"INSAR_ISCE_MULTI_BURST"}
    for job in jobs:
        parameters = job["job_parameters"]
        assert [name[:13] for name in parameters["reference"]] == [
            "S1_136231_IW2",
            "S1_136232_IW2",
            "S1_136233_IW2",
        ]
        assert len(parameters["secondary"]) == 3 and parameters["looks"] == "10x2"
    assert sum(job["credit_cost"] for job in jobs) == len(DATE_PAIRS)  # 10x2, 3 pairs: 1 each

    products = workdir.products()
    expected = {f"064_136231s2n03_{a}_{b}" for a, b in DATE_PAIRS}
    assert set(products) == expected
    for pair_id, manifest in products.items():
        folder_name = manifest["files"][0]["folder"]
        assert MINTPY_MULTI_BURST.fullmatch(folder_name), folder_name
        dates = pair_id.removeprefix("064_136231s2n03_")
        assert folder_name.startswith(f"S1_064_000000s1n00-136231s2n03-000000s3n00_IW_{dates}_VV_")
        folder = manifest["dir"] / folder_name
        for layer in ("unw_phase", "corr", "conncomp"):
            with rasterio.open(folder / f"{folder_name}_{layer}.tif") as raster:
                assert raster.crs is not None and raster.width > 0
    rows = workdir.status_rows()
    assert {row["pair"] for row in rows} == expected
    assert {row["status"] for row in rows} == {"SUCCEEDED"}
    assert {row["downloaded"] for row in rows} == {"yes"}

    status = workdir.snakemake("hyp3_status")
    assert "064_136231s2n03_20200604_20200616" in status.stdout + status.stderr
    again = workdir.snakemake()
    assert "Nothing to be done" in again.stdout + again.stderr
    assert len(sandbox.jobs()) == len(DATE_PAIRS)


def test_bad_multi_burst_rows_stop_a_dry_run_before_anything_is_spent(
    sandbox: Sandbox, workdir: Workdir
) -> None:
    configure_multi_burst(workdir, api_url=sandbox.url)
    table = workdir.path / "config" / "multi-burst-pairs.tsv"
    table.write_text(table.read_text() + "20200710\t20200616\n20200604\t20200901\n")

    result = workdir.snakemake("-n", check=False)

    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert (
        "insarflow: config/multi-burst-pairs.tsv:6: reference 20200710 is not older than "
        "secondary 20200616; put the older date in the reference column"
    ) in output
    assert (
        "insarflow: config/multi-burst-pairs.tsv:7: config/multi-burst-granules.txt has no "
        "granule of 064_136231_IW2 on 20200901"
    ) in output
    assert "Traceback" not in output
    assert sandbox.stats()["requests"].get("POST /jobs", 0) == 0
