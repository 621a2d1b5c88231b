"""Report figures and tables from small inputs in the workflow's real layouts."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from insarflow.isce import commands
from insarflow.report import displacement, hyp3_jobs, isce_timing, network, pages, quicklooks, run
from insarflow.report.products import read_product

from . import synthetic
from .checks import assert_image


@pytest.fixture(scope="module")
def hyp3(tmp_path_factory):
    root = tmp_path_factory.mktemp("hyp3")
    pair_dates = synthetic.sequential_pair_dates(40)
    products = synthetic.make_products(root / "products", pair_dates)
    failed = {list(pair_dates)[3]}
    state = synthetic.make_hyp3_state(root, list(pair_dates), failed=failed)
    return {"root": root, "pairs": pair_dates, "products": products, "failed": failed, **state}


def test_network_solves_each_dates_baseline_from_the_products_txt(hyp3, tmp_path):
    shown = run.hyp3_network(
        [str(p) for p in hyp3["products"]], hyp3["pairs"], tmp_path / "n.png", tmp_path / "h.png"
    )
    assert shown is True
    pairs = network.network_pairs(
        hyp3["pairs"],
        {read_product(p).pair_id: read_product(p).baseline() for p in hyp3["products"]},
    )
    solved = network.date_baselines(pairs)
    first = min(solved)
    for day, value in solved.items():
        truth = synthetic.per_date_baseline(f"{day:%Y%m%d}") - synthetic.per_date_baseline(
            f"{first:%Y%m%d}"
        )
        assert value == pytest.approx(truth, abs=1e-3)
    assert_image(tmp_path / "n.png")
    assert_image(tmp_path / "h.png")


def test_network_shows_dates_only_until_every_pair_has_a_product(hyp3, tmp_path):
    some = [str(p) for p in hyp3["products"][:10]]
    assert run.hyp3_network(some, hyp3["pairs"], tmp_path / "a.png", tmp_path / "b.png") is False
    assert run.hyp3_network([], hyp3["pairs"], tmp_path / "c.png", tmp_path / "d.png") is False
    for name in "abcd":
        assert_image(tmp_path / f"{name}.png")


def test_stack_baselines_come_from_topsstack_baseline_files(tmp_path):
    for day, values in {"20260113": (40.0, 44.0), "20260125": (-10.0, -12.0)}.items():
        folder = tmp_path / "stack" / "baselines" / f"20260101_{day}"
        folder.mkdir(parents=True)
        lines = [
            f"swath: IW{n}\nBperp (average): {v}\nBpar (average): 3.0"
            for n, v in enumerate(values, 1)
        ]
        (folder / f"20260101_{day}.txt").write_text("\n".join(lines) + "\n")
    assert network.stack_date_baselines(tmp_path / "stack") == {
        "20260101": 0.0,
        "20260113": 42.0,
        "20260125": -11.0,
    }
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"work_dir": str(tmp_path / "stack")}))
    pair_dates = {
        "20260101_20260113": ["20260101", "20260113"],
        "20260113_20260125": ["20260113", "20260125"],
    }
    assert run.stack_network(str(plan), pair_dates, tmp_path / "n.png", tmp_path / "h.png", "s")
    # a date without a baseline file: dates only, and the figure says why
    pair_dates["20260125_20260206"] = ["20260125", "20260206"]
    assert not run.stack_network(str(plan), pair_dates, tmp_path / "m.png", tmp_path / "i.png", "s")
    for name in "nhmi":
        assert_image(tmp_path / f"{name}.png")


def test_temporal_baselines_of_a_stack_from_its_dates():
    pairs = network.network_pairs(
        {
            "20260101_20260113": ["20260101", "20260113"],
            "20260101_20260125": ["20260125", "20260101"],
        }
    )
    assert [p.days for p in pairs] == [12, 24]
    assert pairs[1].reference.isoformat() == "2026-01-01"


def test_timeline_has_every_job_with_the_failed_one_and_its_resubmission(hyp3, tmp_path):
    board, polled = hyp3_jobs.read_board(hyp3["board"])
    records = [json.loads(Path(p).read_text()) for p in hyp3["finished"]]
    downloads = {
        read_product(p).pair_id: hyp3_jobs.parse_time(read_product(p).verified_at)
        for p in hyp3["products"]
    }
    spans = hyp3_jobs.job_spans(hyp3["ledger"], board, polled, records, downloads)
    assert len(spans) == len(hyp3["pairs"]) + len(hyp3["failed"])
    [pair] = hyp3["failed"]
    first, second = [s for s in spans if s.pair_id == pair]
    assert (first.status, first.attempt, second.status, second.attempt) == (
        "FAILED",
        1,
        "SUCCEEDED",
        2,
    )
    assert second.reason == f"failed:{first.job_id}"
    assert first.finished == second.submitted  # seen failed when it was resubmitted
    assert first.downloaded is None and second.downloaded is not None
    assert second.started == second.finished - timedelta(seconds=second.processing_seconds)
    assert all(s.submitted <= s.started <= s.finished for s in spans)
    hyp3_jobs.plot_job_timeline(spans, tmp_path / "timeline.png")
    assert_image(tmp_path / "timeline.png")


def test_timeline_shows_a_running_job_up_to_the_last_known_time(tmp_path):
    ledger = tmp_path / "ledger.jsonl"
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    ledger.write_text(
        json.dumps(
            {
                "event": "intent",
                "key": "k",
                "pair": "p",
                "attempt": 1,
                "name": "n",
                "account": "a",
                "time": t0.isoformat(),
            }
        )
        + "\n"
        + json.dumps(
            {
                "event": "submitted",
                "key": "k",
                "pair": "p",
                "attempt": 1,
                "job_id": "j",
                "time": t0.isoformat(),
            }
        )
        + "\n"
    )
    board = {"j": {"status_code": "RUNNING", "request_time": t0.isoformat()}}
    [span] = hyp3_jobs.job_spans(ledger, board, {}, [], {})
    assert span.status == "RUNNING" and span.finished is None and span.started is None
    hyp3_jobs.plot_job_timeline([span], tmp_path / "t.png")
    assert_image(tmp_path / "t.png")


def test_status_table_keeps_every_column_and_flags_products_about_to_expire(hyp3, tmp_path):
    header, rows = hyp3_jobs.read_table(hyp3["status"])
    # A newer status.tsv with more columns, expiry included: every column is kept as is.
    now = datetime(2026, 3, 5, tzinfo=UTC)
    wider = tmp_path / "status.tsv"
    expiries = [(now + timedelta(days=1 + i)).isoformat() for i in range(len(rows))]
    wider.write_text(
        "\t".join([*header, "expiration_time", "queue"])
        + "\n"
        + "".join(
            "\t".join([*(r[c] for c in header), e, "x"]) + "\n"
            for r, e in zip(rows, expiries, strict=True)
        )
    )
    written = hyp3_jobs.write_status_html(wider, [], tmp_path / "t.html", now=now)
    assert written["columns"] == [*header, "expiration_time", "queue", "days_left"]
    assert written["expiring"] == 2  # 1 and 2 days left; 3 days is not "within 3"
    by_account = {line["account"]: line for line in written["accounts"]}
    assert set(by_account) == {"alice", "bob"}
    spent = sum(float(r["credits_spent"]) for r in rows)
    assert sum(float(line["credits_spent"]) for line in written["accounts"]) == spent
    assert sum(int(line["pairs"]) for line in written["accounts"]) == len(rows)
    page = (tmp_path / "t.html").read_text()
    assert page.count('class="soon"') == 2 and "<th>queue</th>" in page


def test_status_table_takes_expiry_from_finished_records_when_the_table_has_none(hyp3, tmp_path):
    records = [json.loads(Path(p).read_text()) for p in hyp3["finished"]]
    written = hyp3_jobs.write_status_html(
        hyp3["status"], records, tmp_path / "t.html", now=datetime(2026, 3, 1, tzinfo=UTC)
    )
    assert written["columns"][-2:] == ["expiration_time", "days_left"]
    assert all(row["expiration_time"] != "-" for row in written["products"])
    # synthetic expiry of pair n: 2026-03-01T10:00 + (14 - n % 16) days, seen at 03-01T00:00:
    # n % 16 == 15 has gone (n = 15, 31); 12..14 expire within 3 days (n = 12-14, 28-30)
    assert written["expired"] == 2 and written["expiring"] == 6


def test_quicklooks_page_every_pair_with_its_label(hyp3, tmp_path):
    products = [str(p) for p in hyp3["products"]]
    page_total = pages.page_count(len(products))
    assert page_total == 2
    # a product without a coherence layer keeps its cell
    lacking = read_product(products[-1]).layer("corr")
    lacking.rename(lacking.with_suffix(".tif.hidden"))
    try:
        sizes = set()
        for layer in pages.LAYERS:
            for page in range(1, page_total + 1):
                chunk = products[pages.page_slice(page)]
                out = tmp_path / f"{layer}-{page}.png"
                run.quicklook_page(chunk, layer, page, page_total, str(out))
                sizes.add(assert_image(out)[0])
        assert len(products[pages.page_slice(1)]) == 36
        assert len(products[pages.page_slice(2)]) == 4
        assert len(sizes) == 1  # every page as wide as the others
    finally:
        lacking.with_suffix(".tif.hidden").rename(lacking)
    assert (
        quicklooks.two_lines("20260101T120000_20260113T120000")
        == "20260101T120000\n20260113T120000"
    )


def test_gantt_and_step_times_from_command_logs(tmp_path):
    steps = {"unpack_topo_reference": 1, "unpack_secondary_slc": 5, "unwrap": 7}
    plan, logs = synthetic.make_isce_logs(tmp_path, steps, parallel=2, failed=("run_03_unwrap", 4))
    spans = isce_timing.stack_spans(plan, logs)
    assert len(spans) == 13
    assert [s.index for s in spans if not s.ok] == [4]
    table = {row["step"]: row for row in isce_timing.step_wall_times(spans)}
    unwrap = table["run_03_unwrap"]
    assert unwrap["commands"] == 7
    # two commands at once: the wall time is about half the summed command time
    assert unwrap["command_seconds"] / 2 <= unwrap["wall_seconds"] < unwrap["command_seconds"]
    run.isce_timing_report(
        str(plan), str(logs), str(tmp_path / "g.png"), str(tmp_path / "s.png"), "t"
    )
    assert_image(tmp_path / "g.png")
    assert_image(tmp_path / "s.png")


def test_a_real_command_log_gives_its_start_and_duration(tmp_path):
    plan = tmp_path / "plan.json"
    plan.write_text(
        json.dumps(
            {
                "work_dir": str(tmp_path),
                "text_cmd": "",
                "steps": [
                    {
                        "name": "run_01_sleep",
                        "commands": [
                            {
                                "index": 1,
                                "lines": [f"{sys.executable} -c 'import time; time.sleep(0.3)'"],
                            }
                        ],
                    },
                    {"name": "run_02_fail", "commands": [{"index": 1, "lines": ["exit 3"]}]},
                ],
            }
        )
    )
    logs = tmp_path / "logs"
    before = datetime.now(UTC)
    assert (
        commands.run_command(
            str(plan),
            "run_01_sleep",
            1,
            str(logs / "run_01_sleep/0001.log"),
            str(tmp_path / "1.done"),
        )
        == 0
    )
    assert (
        commands.run_command(
            str(plan),
            "run_02_fail",
            1,
            str(logs / "run_02_fail/0001.log"),
            str(tmp_path / "2.done"),
        )
        == 3
    )
    first, second = isce_timing.stack_spans(plan, logs)
    assert first.ok and not second.ok
    assert 0.3 <= first.seconds < 5
    assert before - timedelta(seconds=1) <= first.start <= second.start <= datetime.now(UTC)


def test_older_command_logs_without_milliseconds_still_read(tmp_path):
    log = tmp_path / "0001.log"
    log.write_text(
        "# 2026-04-01T08:00:02 run_01_x command 1 on n1, 1 thread(s)\n# done in 4.000 s\n"
    )
    span = isce_timing.read_command_log(log)
    assert span.ok and span.seconds == 4.0 and span.start.second == 2


def test_displacement_figures_from_mintpy_files(tmp_path):
    files = synthetic.make_mintpy(tmp_path / "mintpy")
    stats = displacement.plot_velocity_map(
        files["velocity"], tmp_path / "v.png", files["geometryGeo"]
    )
    assert -60 < stats["min"] < -40 and stats["max"] < 10  # the bowl: about -50 mm/yr
    displacement.plot_velocity_map(
        files["velocity"], tmp_path / "s.png", files["geometryGeo"], "velocityStd"
    )
    points = displacement.plot_point_time_series(
        files["timeseries"], files["velocity"], tmp_path / "t.png"
    )
    assert points["reference"] == (50, 10)
    row, col = points["peak"]
    assert abs(row - 24) <= 4 and abs(col - 36) <= 4  # the bowl's centre (0.4, 0.6) of 60 px
    shown = displacement.plot_coherence_matrix(files["ifgramStack"], tmp_path / "c.png")
    dates, matrix, dropped = displacement.coherence_matrix(files["ifgramStack"])
    assert shown == 24 and len(dates) == 10 and dropped.sum() == 2 * 3
    assert np.isnan(matrix[0, 0]) and matrix[0, 1] == matrix[1, 0]
    assert matrix[0, 1] > matrix[0, 3]  # coherence drops with the temporal baseline
    for name in "vstc":
        assert_image(tmp_path / f"{name}.png")


def test_unreliable_pixels_are_left_out_of_the_velocity(tmp_path):
    files = synthetic.make_mintpy(tmp_path / "mintpy")
    values, _ = displacement.read_velocity(files["velocity"], mask_h5=files["mask"])
    assert np.isnan(values[:, -3:]).all() and np.isfinite(values[:, 10:50]).all()
    run.displacement_report(
        str(files["velocity"]),
        str(files["timeseries"]),
        str(files["ifgramStack"]),
        str(files["geometryGeo"]),
        *(str(tmp_path / f"{n}.png") for n in "abcd"),
        str(files["mask"]),
    )
    for name in "abcd":
        assert_image(tmp_path / f"{name}.png")


def test_velocity_without_a_dem_says_so_and_still_draws(tmp_path):
    files = synthetic.make_mintpy(tmp_path / "mintpy")
    displacement.plot_velocity_map(files["velocity"], tmp_path / "v.png", None)
    assert_image(tmp_path / "v.png")
