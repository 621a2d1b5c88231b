"""The HyP3 path through the Snakemake CLI against the sandbox, with the real hyp3_sdk."""

from __future__ import annotations

import json
import os
import signal
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import rasterio
import yaml

from insarflow.pairs import make_pair

from .conftest import Sandbox, Workdir, scene_pairs, start_sandbox, stop

pytestmark = pytest.mark.slow


def post_count(sandbox: Sandbox) -> int:
    return sandbox.stats()["requests"].get("POST /jobs", 0)


def assert_one_job_per_pair(
    sandbox: Sandbox, workdir: Workdir, pairs: int, token: str = "sandbox-token"
) -> None:
    names = Counter(job["name"] for job in sandbox.jobs(token))
    assert len(names) == pairs
    assert set(names.values()) == {1}, f"a pair was submitted twice: {names}"


def assert_complete(workdir: Workdir, pairs: int) -> None:
    products = workdir.products()
    assert len(products) == pairs
    for manifest in products.values():
        folder = manifest["dir"] / manifest["files"][0]["folder"]
        unw = next(folder.glob("*_unw_phase.tif"))
        with rasterio.open(unw) as raster:
            assert raster.crs is not None and raster.width > 0
    rows = workdir.status_rows()
    assert [row["status"] for row in rows] == ["SUCCEEDED"] * pairs


def kill_when(process, condition: Callable[[], bool], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, "snakemake ended before the kill point"
        assert time.monotonic() < deadline, "kill point never reached"
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def resume(workdir: Workdir) -> None:
    """What a user does after kill -9: release Snakemake's lock, rerun incomplete jobs."""
    workdir.snakemake("--unlock")
    workdir.snakemake("--rerun-incomplete")


def test_happy_path_then_rerun_submits_nothing(sandbox: Sandbox, workdir: Workdir) -> None:
    workdir.configure(scene_pairs(4), api_url=sandbox.url)
    result = workdir.snakemake()
    assert_complete(workdir, 4)
    assert post_count(sandbox) == 1
    assert_one_job_per_pair(sandbox, workdir, 4)
    index = json.loads(next((workdir.path / "results/hyp3/jobs").glob("*.json")).read_text())
    assert len(index["jobs"]) == 4
    record = next(iter(index["jobs"].values()))
    assert record["account"] == "EARTHDATA_TOKEN" and record["job_type"] == "INSAR_GAMMA"
    assert "SUCCEEDED" in result.stdout + result.stderr or workdir.status_rows()

    again = workdir.snakemake()
    assert "Nothing to be done" in again.stdout + again.stderr
    assert post_count(sandbox) == 1


def test_pairs_added_later_submit_only_the_new_ones(sandbox: Sandbox, workdir: Workdir) -> None:
    workdir.configure(scene_pairs(2), api_url=sandbox.url)
    workdir.snakemake()
    workdir.configure(scene_pairs(5), api_url=sandbox.url)
    workdir.snakemake()
    assert_complete(workdir, 5)
    assert post_count(sandbox) == 2
    assert_one_job_per_pair(sandbox, workdir, 5)


def test_a_slow_job_does_not_hold_up_other_pairs_downloads(
    sandbox: Sandbox, workdir: Workdir
) -> None:
    pairs = scene_pairs(3)
    # One API slot: a per-pair waiting job on the slow pair would block everyone else.
    workdir.configure(pairs, api_url=sandbox.url, api_concurrency=1)
    sandbox.faults(slow_granules={pairs[0][0]: 20})  # only the first pair uses this scene
    workdir.snakemake()
    assert_complete(workdir, 3)
    jobs = {tuple(job["job_parameters"]["granules"]): job for job in sandbox.jobs()}
    slow_requested = datetime.fromisoformat(jobs[pairs[0]]["request_time"])
    verified = {
        pair_id: datetime.fromisoformat(manifest["verified_at"])
        for pair_id, manifest in workdir.products().items()
    }
    slow_pair = make_pair(*pairs[0]).pair_id
    quick = {pair_id: at for pair_id, at in verified.items() if pair_id != slow_pair}
    assert len(quick) == 2
    # The quick products were verified before the slow job could even have finished.
    assert all(at < slow_requested + timedelta(seconds=20) for at in quick.values()), (
        quick,
        slow_requested,
    )
    assert verified[slow_pair] >= slow_requested + timedelta(seconds=20)


def test_kill_during_submission_then_rerun(sandbox: Sandbox, workdir: Workdir) -> None:
    workdir.configure(scene_pairs(4), api_url=sandbox.url, submission_chunk_size=1)
    sandbox.faults(latency_s=1.0)
    process = workdir.popen()
    # Killed after the first POST was answered and while a later one is in flight.
    kill_when(
        process,
        lambda: (
            sum(r["event"] == "submitted" for r in workdir.ledger()) >= 1
            and any(r["event"] == "intent" and r["attempt"] == 1 for r in workdir.ledger()[-1:])
        ),
    )
    sandbox.faults(latency_s=0)
    resume(workdir)
    assert_complete(workdir, 4)
    assert_one_job_per_pair(sandbox, workdir, 4)


def test_kill_during_polling_then_rerun(tmp_path: Path, workdir: Workdir) -> None:
    slow = start_sandbox(tmp_path / "slow-sandbox", "--processing-seconds", "4")
    try:
        workdir.configure(scene_pairs(3), api_url=slow.url)
        process = workdir.popen()
        kill_when(
            process,
            lambda: (
                (workdir.path / "logs/hyp3/watch").exists()
                and any((workdir.path / "logs/hyp3/watch").rglob("round-0.log"))
            ),
        )
        resume(workdir)
        assert_complete(workdir, 3)
        assert post_count(slow) == 1
        assert_one_job_per_pair(slow, workdir, 3)
    finally:
        stop(slow.process)


def test_kill_during_download_then_rerun(sandbox: Sandbox, workdir: Workdir) -> None:
    workdir.configure(scene_pairs(2), api_url=sandbox.url)
    sandbox.faults(download_latency_s=2.0)
    process = workdir.popen()
    logs = workdir.path / "logs" / "hyp3" / "watch"
    kill_when(
        process,
        lambda: (
            logs.exists() and any("downloading" in path.read_text() for path in logs.rglob("*.log"))
        ),
    )
    assert workdir.products() == {}
    sandbox.faults(download_latency_s=0)
    resume(workdir)
    assert_complete(workdir, 2)
    assert post_count(sandbox) == 1


def test_server_errors_and_a_lost_post_response(sandbox: Sandbox, workdir: Workdir) -> None:
    workdir.configure(
        scene_pairs(4), api_url=sandbox.url, submission_chunk_size=2, request_timeout=3
    )
    sandbox.faults(
        error_rate=0.3, error_codes=[500, 502, 503, 429], lose_post_response_count=1, seed=7
    )
    workdir.snakemake()
    sandbox.faults(error_rate=0)
    assert_complete(workdir, 4)
    assert_one_job_per_pair(sandbox, workdir, 4)
    events = Counter(record["event"] for record in workdir.ledger())
    assert events["submitted"] == 4


def test_failed_job_is_resubmitted_once_then_the_pair_fails(
    sandbox: Sandbox, workdir: Workdir
) -> None:
    pairs = scene_pairs(2)
    workdir.configure(pairs, api_url=sandbox.url, max_resubmits=1)
    # The first job of the first pair fails; its resubmission succeeds.
    sandbox.faults(fail_granules={pairs[0][1]: 1})
    workdir.snakemake()
    assert_complete(workdir, 2)
    assert sum(1 for job in sandbox.jobs() if job["status_code"] == "FAILED") == 1
    assert [row["attempts"] for row in workdir.status_rows()] == ["2", "1"]

    # A pair whose jobs always fail stops after max_resubmits, naming the log; others finish.
    more = scene_pairs(3)
    workdir.configure(more, api_url=sandbox.url, max_resubmits=1)
    sandbox.faults(fail_granules={more[2][1]: 100})
    result = workdir.snakemake(check=False)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "FAILED after 1 resubmission(s)" in output and "job log: http://127.0.0.1" in output
    assert len(workdir.products()) == 2


def test_expired_product_stops_the_pair_until_the_user_opts_in_to_pay_again(
    sandbox: Sandbox, workdir: Workdir
) -> None:
    workdir.configure(scene_pairs(1), api_url=sandbox.url)
    sandbox.faults(expire_products=True)
    result = workdir.snakemake(check=False)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "expired on" in output and "set hyp3.resubmit_expired: true" in output
    assert workdir.products() == {}
    assert post_count(sandbox) == 1  # nothing paid again without the opt-in

    sandbox.faults(expire_products=False)
    workdir.configure(scene_pairs(1), api_url=sandbox.url, resubmit_expired=True)
    workdir.snakemake()
    assert_complete(workdir, 1)
    assert post_count(sandbox) == 2
    events = [record for record in workdir.ledger() if record["event"] == "intent"]
    assert [record["attempt"] for record in events] == [1, 2]

    workdir.snakemake()  # a rerun pays for nothing more
    assert post_count(sandbox) == 2


def test_truncated_download_is_fetched_again(sandbox: Sandbox, workdir: Workdir) -> None:
    workdir.configure(scene_pairs(2), api_url=sandbox.url)
    sandbox.faults(truncate_download_rate=1.0)
    process = workdir.popen()
    logs = workdir.path / "logs" / "hyp3" / "watch"
    deadline = time.monotonic() + 120
    while not (
        logs.exists() and any("Retrying" in path.read_text() for path in logs.rglob("*.log"))
    ):
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    sandbox.faults(truncate_download_rate=0.0)
    assert process.wait(180) == 0
    assert_complete(workdir, 2)
    assert sandbox.stats()["faults"], "no truncation was injected"


def test_insufficient_credits_stop_before_any_submission(tmp_path: Path, workdir: Workdir) -> None:
    poor = start_sandbox(tmp_path / "poor", "--credits", "25")
    try:
        workdir.configure(scene_pairs(3), api_url=poor.url)
        result = workdir.snakemake(check=False)
        assert result.returncode != 0
        assert "cost 30 credits but the accounts have 25" in result.stderr
        assert "Traceback" not in result.stderr
        assert post_count(poor) == 0
    finally:
        stop(poor.process)


def test_two_accounts_share_the_work(tmp_path: Path, workdir: Workdir) -> None:
    users = tmp_path / "users.yaml"
    users.write_text(
        yaml.safe_dump(
            [
                {"name": "alice", "token": "alice-token", "credits": 20},
                {"name": "bob", "token": "bob-token", "credits": 20},
            ]
        )
    )
    pool = start_sandbox(tmp_path / "pool", "--users", str(users), "--processing-seconds", "1")
    try:
        credentials = tmp_path / "secrets" / "earthdata.yaml"
        credentials.parent.mkdir()
        credentials.write_text(
            yaml.safe_dump(
                {
                    "accounts": [
                        {"name": "alice", "token": "alice-token"},
                        {"name": "bob", "token": "bob-token"},
                    ]
                }
            )
        )
        credentials.chmod(0o600)
        workdir.env.pop("EARTHDATA_TOKEN")
        workdir.configure(
            scene_pairs(4),
            api_url=pool.url,
            credentials_file=str(credentials),
            submission_chunk_size=2,
        )
        workdir.snakemake()
        assert_complete(workdir, 4)
        accounts = Counter(row["account"] for row in workdir.status_rows())
        assert accounts == {"alice": 2, "bob": 2}
        assert len(pool.jobs("alice-token")) == 2 and len(pool.jobs("bob-token")) == 2

        credentials.chmod(0o644)
        result = workdir.snakemake("--forcerun", "hyp3_submit", check=False)
        assert result.returncode != 0
        assert "is readable by others (mode 644); run `chmod 600" in result.stderr
    finally:
        stop(pool.process)


def test_token_never_written_anywhere(sandbox: Sandbox, workdir: Workdir) -> None:
    token = "tok-Zq8vK3nW-distinctive-secret"
    sandbox.admin("POST", "users", json={"name": "secretive", "token": token, "credits": 1000})
    workdir.env["EARTHDATA_TOKEN"] = token
    workdir.configure(scene_pairs(2), api_url=sandbox.url)
    workdir.snakemake()
    assert_complete(workdir, 2)
    leaks = [
        path
        for path in workdir.path.rglob("*")
        if path.is_file() and token.encode() in path.read_bytes()
    ]
    assert leaks == []


def test_insarhub_jobs_are_adopted_not_resubmitted(sandbox: Sandbox, workdir: Workdir) -> None:
    from hyp3_sdk import HyP3

    from insarflow.config import load_schema
    from insarflow.hyp3.jobs import build_job
    from insarflow.pairs import make_pair

    pairs = scene_pairs(2)
    defaults = {
        key: spec["default"]
        for key, spec in load_schema()["properties"]["hyp3"]["properties"].items()
    }
    client = HyP3(sandbox.url, token="sandbox-token")
    prepared = build_job(make_pair(*pairs[0]), defaults).prepared
    prepared["name"] = "ifg_20200104T014512_20200116T014513"  # InSARHub's own naming
    old = client.submit_prepared_jobs([prepared])[0]
    (workdir.path / "hyp3_jobs.json").write_text(
        json.dumps({"job_ids": {"someone": [old.job_id]}, "out_dir": "/x"})
    )
    workdir.configure(pairs, api_url=sandbox.url, import_insarhub_jobs="hyp3_jobs.json")
    workdir.snakemake()
    assert_complete(workdir, 2)
    assert len(sandbox.jobs()) == 2
    assert old.job_id in {row["job_id"] for row in workdir.status_rows()}
