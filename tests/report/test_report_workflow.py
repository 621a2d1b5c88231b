"""`snakemake --report` end to end: the HyP3 demo against the sandbox and an ISCE stand-in stack.

Each report is checked as a user sees it: every category holds its items, every image opens
and is not blank, and the page renders in headless Chromium without console errors (its
screenshot is kept under .test-work/).
"""

from __future__ import annotations

import json
import shutil
import zipfile
from collections import Counter
from pathlib import Path

import pytest
import yaml

from tests.hyp3.conftest import Sandbox, Workdir, scene_pairs
from tests.isce.conftest import make_work

from .checks import ARTEFACTS, assert_image, need_chromium, render_in_chromium, report_json

pytestmark = pytest.mark.slow


def categories_as_sets(html: str) -> dict[str, dict[str, set[str]]]:
    return {
        category: {sub: set(paths) for sub, paths in subcategories.items()}
        for category, subcategories in report_json(html, "categories").items()
    }


def check_zip_images(archive: Path, expected: set[str], into: Path) -> None:
    """The zip report links every expected item to a file it holds; each PNG is not blank."""
    with zipfile.ZipFile(archive) as bundle:
        [page] = [name for name in bundle.namelist() if name.endswith("/report.html")]
        results = report_json(bundle.read(page).decode(), "results")
        assert set(results) == expected
        folder = Path(page).parent
        for item, entry in results.items():
            member = str(folder / entry["data_uri"])
            assert member in bundle.namelist(), f"{item}: {member} is not in {archive.name}"
            if item.endswith(".png"):
                target = into / member
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(bundle.read(member))
                assert_image(target)


def landing_page(html: Path, tmp_path: Path, name: str, wait_for: str) -> str:
    screenshot = tmp_path / f"{name}.png"
    errors, text = render_in_chromium(html, screenshot, wait_for=wait_for)
    assert not errors, f"console errors: {errors}"
    assert_image(screenshot)
    ARTEFACTS.mkdir(exist_ok=True)
    shutil.copy(screenshot, ARTEFACTS / f"{name}.png")
    return text


def test_demo_report_has_every_hyp3_item_and_renders(
    sandbox: Sandbox, workdir: Workdir, tmp_path: Path
) -> None:
    need_chromium()
    pairs = scene_pairs(7)  # the demo's SBAS network
    # The first job using this scene fails (once): the timeline shows it resubmitted.
    uses = Counter(name for pair in pairs for name in pair)
    lonely = min(uses, key=uses.get)
    sandbox.faults(fail_granules={lonely: 1})
    workdir.configure(pairs, api_url=sandbox.url, max_resubmits=1)
    config_file = workdir.path / "config" / "config.yaml"
    config = yaml.safe_load(config_file.read_text())
    config["timeseries"] = {"enabled": True, "kmz": False}
    config_file.write_text(yaml.safe_dump(config))
    workdir.snakemake()
    # The report items are part of the normal run: --report only collects them.
    workdir.snakemake("--report", "report.zip")
    workdir.snakemake("--report", "report.html")

    html = (workdir.path / "report.html").read_text()
    hyp3 = "results/report/hyp3"
    expected = {
        "Pairs and network": {"HyP3": {f"{hyp3}/network.png", f"{hyp3}/temporal_baselines.png"}},
        "HyP3 jobs": {"Other": {f"{hyp3}/job_timeline.png", f"{hyp3}/credits_and_expiry.html"}},
        "Quicklooks": {
            "Unwrapped phase (minus each pair's median)": {
                f"{hyp3}/quicklooks/unw_phase/page-001.png"
            },
            "Coherence": {f"{hyp3}/quicklooks/corr/page-001.png"},
        },
        "Displacement": {
            "Other": {
                f"results/report/displacement/{name}.png"
                for name in ("velocity", "velocity_std", "point_time_series", "coherence_matrix")
            }
        },
    }
    assert categories_as_sets(html) == expected
    results = report_json(html, "results")
    assert all(results[path]["caption"].strip() for path in results), "an item has no caption"
    items = {path for subs in expected.values() for paths in subs.values() for path in paths}
    check_zip_images(workdir.path / "report.zip", items, tmp_path / "unzipped")

    # what the pictures are made of
    log = (workdir.path / "logs/report/hyp3_jobs.log").read_text()
    assert "8 jobs on the timeline" in log  # 7 pairs, one failed and resubmitted
    assert "graph with baselines" in (workdir.path / "logs/report/hyp3_network.log").read_text()
    table = (workdir.path / hyp3 / "credits_and_expiry.html").read_text()
    assert "EARTHDATA_TOKEN" in table and table.count("SUCCEEDED") >= 7

    text = landing_page(workdir.path / "report.html", tmp_path, "report-landing", "Quicklooks")
    for category in expected:
        assert category in text


def test_isce_standin_report_has_network_and_step_timings(tmp_path: Path, isce_project) -> None:
    need_chromium()
    work = make_work(tmp_path, isce_project)
    work.configure(connections=2, coregistration="NESD")
    # config/config.yaml enables the (HyP3-only) time-series stage; an ISCE run turns it off.
    settings = yaml.safe_load((work.root / "isce.yaml").read_text())
    settings["timeseries"] = {"enabled": False}
    (work.root / "isce.yaml").write_text(yaml.safe_dump(settings))
    work.run()
    work.snakemake("--report", "report.html")
    html = (work.root / "report.html").read_text()
    isce = "results/report/isce"
    expected = {
        "Pairs and network": {
            "ISCE stack": {f"{isce}/network.png", f"{isce}/temporal_baselines.png"}
        },
        "ISCE": {"Other": {f"{isce}/commands_gantt.png", f"{isce}/step_wall_times.png"}},
    }
    assert categories_as_sets(html) == expected
    for subs in expected.values():
        for paths in subs.values():
            for path in paths:
                assert_image(work.root / path)
    [plan] = (work.root / "results/isce").glob("*/plan.json")
    commands = sum(len(step["commands"]) for step in json.loads(plan.read_text())["steps"])
    log = (work.root / "logs/report/isce_timing.log").read_text()
    assert f"{commands} command logs read" in log
    network_log = (work.root / "logs/report/isce_network.log").read_text()
    assert "3 pairs; graph with baselines" in network_log  # from the stack's baselines/
    landing_page(work.root / "report.html", tmp_path, "report-landing-isce", "ISCE")
