"""The HyP3 path as a user lives with it: changed options, a second terminal, failures that are
not bugs, progress, costs, expiry, disk use, profiles. Through the Snakemake CLI, real hyp3_sdk."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml

from insarflow.hyp3.sandbox_process import pid_file, running_url

from .conftest import REPO, SNAKEMAKE, Sandbox, Workdir, scene_pairs, start_sandbox, stop

pytestmark = pytest.mark.slow

PROGRESS = re.compile(
    r"HyP3 INSAR_GAMMA_20x4_[0-9a-f]{10}, waited \d+:\d\d:\d\d: \d+ PENDING, \d+ RUNNING, "
    r"\d+ SUCCEEDED, \d+ FAILED; \d+ of (\d+) products downloaded \(\d+%\); [\d.]+ credits spent"
)


def posts(sandbox: Sandbox) -> int:
    return sandbox.stats()["requests"].get("POST /jobs", 0)


def all_requests(sandbox: Sandbox) -> int:
    return sum(sandbox.stats()["requests"].values())


def output(result: subprocess.CompletedProcess) -> str:
    return result.stdout + result.stderr


def ran(result: subprocess.CompletedProcess, rule: str) -> int:
    """How many jobs of ``rule`` the run started (not the ones it planned)."""
    return len(re.findall(rf"^local(?:rule|checkpoint) {rule}:", output(result), re.MULTILINE))


def test_a_changed_option_downloads_new_products_and_keeps_the_old_ones(
    sandbox: Sandbox, workdir: Workdir
) -> None:
    pairs = scene_pairs(3)
    workdir.configure(pairs, api_url=sandbox.url)
    first = workdir.snakemake()
    old = workdir.products_by_options()
    (old_options,) = old
    assert len(old[old_options]) == 3
    old_dir = workdir.path / "results/hyp3/products" / old_options
    old_state = {p: p.stat().st_mtime_ns for p in old_dir.rglob("*")}
    # Before the first POST the run says what the new jobs cost; then one line per round.
    assert "HyP3: 3 new job(s) cost 30 credits; credits left: EARTHDATA_TOKEN 8000" in output(first)
    assert PROGRESS.search(output(first)), output(first)[-3000:]

    workdir.configure(pairs, api_url=sandbox.url, looks="10x2")
    second = workdir.snakemake()
    assert "HyP3: 3 new job(s) cost 45 credits; credits left: EARTHDATA_TOKEN 7970" in output(
        second
    )
    products = workdir.products_by_options()
    (new_options,) = set(products) - {old_options}
    assert new_options.startswith("INSAR_GAMMA_10x2_")
    assert len(products[new_options]) == 3
    assert all("_INT40_" in m["files"][0]["folder"] for m in products[new_options].values())
    # The old products are untouched and no longer listed as current.
    assert {p: p.stat().st_mtime_ns for p in old_dir.rglob("*")} == old_state
    rows = workdir.status_rows()
    assert len(rows) == 3
    assert all("_INT40_" in row["product"] and row["downloaded"] == "yes" for row in rows)
    new_jobs = {m["job_id"] for m in products[new_options].values()}
    assert {row["job_id"] for row in rows} == new_jobs
    # One paid job per pair and set of options.
    names = Counter(job["name"] for job in sandbox.jobs())
    assert len(names) == 6 and set(names.values()) == {1}
    assert posts(sandbox) == 2
    assert "Nothing to be done" in output(workdir.snakemake())

    # Removing a pair: its product stays on disk and leaves the current table.
    workdir.configure(pairs[:2], api_url=sandbox.url, looks="10x2")
    workdir.snakemake()
    assert len(workdir.status_rows()) == 2
    assert len(workdir.products_by_options()[new_options]) == 3
    assert posts(sandbox) == 2


def test_status_from_a_second_terminal_leaves_the_run_and_its_sandbox_alone(
    workdir: Workdir,
) -> None:
    state = workdir.path / ".insarflow" / "sandbox"
    workdir.configure(
        scene_pairs(2),
        api_url="sandbox",
        sandbox={"processing_seconds": 30, "poll_interval": 0.5, "state_dir": str(state)},
    )
    run = workdir.popen()
    try:
        deadline = time.monotonic() + 60
        while not list((workdir.path / "logs/hyp3/watch").rglob("round-0.log")):
            assert run.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        pid = int(pid_file(state).read_text())
        status = workdir.snakemake("hyp3_status")
        assert "RUNNING" in output(status) or "PENDING" in output(status)
        assert running_url(state), "the status check stopped the run's sandbox"
        assert run.wait(120) == 0
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
    assert len(workdir.products()) == 2
    # The last run out stopped the sandbox, and reaped it (no zombie left behind).
    assert not Path(f"/proc/{pid}").exists()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_unreachable_api_is_one_line_in_bounded_time(workdir: Workdir) -> None:
    port = closed_port()
    workdir.configure(scene_pairs(2), api_url=f"http://127.0.0.1:{port}", poll_interval=60)
    started = time.monotonic()
    result = workdir.snakemake(check=False)
    assert result.returncode != 0
    assert time.monotonic() - started < 90
    assert "Traceback" not in output(result)
    lines = [line for line in result.stderr.splitlines() if line.startswith("insarflow: ")]
    assert len(lines) == 1, result.stderr[-3000:]
    assert re.search(
        rf"cannot reach http://127\.0\.0\.1:{port} after 6 tries over \d+ s \(Connection refused\)",
        lines[0],
    )
    # Waiting for the retries is visible, not silent.
    assert "HyP3 did not answer (NewConnectionError); try 2 of 6" in result.stderr


def test_a_rejected_token_is_one_line(sandbox: Sandbox, workdir: Workdir) -> None:
    workdir.env["EARTHDATA_TOKEN"] = "expired-token"
    workdir.configure(scene_pairs(1), api_url=sandbox.url)
    result = workdir.snakemake(check=False)
    assert result.returncode != 0
    assert "Traceback" not in output(result)
    assert (
        f"insarflow: HyP3 at {sandbox.url} rejected the token of account 'EARTHDATA_TOKEN' "
        "(HTTP 401: Invalid authorization token provided); renew the token at "
        "https://urs.earthdata.nasa.gov/user_tokens" in result.stderr
    )
    assert posts(sandbox) == 0


def test_an_account_without_hyp3_access_is_one_line(sandbox: Sandbox, workdir: Workdir) -> None:
    sandbox.admin(
        "POST",
        "users",
        json={"name": "newcomer", "token": "new-token", "application_status": "PENDING"},
    )
    workdir.env["EARTHDATA_TOKEN"] = "new-token"
    workdir.configure(scene_pairs(1), api_url=sandbox.url)
    result = workdir.snakemake(check=False)
    assert result.returncode != 0
    assert "Traceback" not in output(result)
    assert (
        "account 'EARTHDATA_TOKEN' may not submit jobs (application status PENDING)"
        in result.stderr
    )
    assert posts(sandbox) == 0


@pytest.mark.parametrize(
    ("content", "mode", "expected"),
    [
        (None, 0o600, "hyp3.credentials_file = '{path}' does not exist"),
        ("accounts:\n  - {name: a, token: t}\n", 0o644, "is readable by others (mode 644)"),
        (
            "accounts:\n  - name: a\n    token: [unclosed\n",
            0o600,
            "hyp3.credentials_file = '{path}' is not valid YAML at line 4, column 1",
        ),
    ],
    ids=["missing", "readable-by-others", "broken-yaml"],
)
def test_a_dry_run_reports_credential_problems(
    workdir: Workdir, content: str | None, mode: int, expected: str
) -> None:
    credentials = workdir.path.parent / "private" / "earthdata.yaml"
    credentials.parent.mkdir()
    if content is not None:
        credentials.write_text(content)
        credentials.chmod(mode)
    workdir.configure(
        scene_pairs(1),
        api_url="https://hyp3.invalid",
        credentials_file=str(credentials),
    )
    result = workdir.snakemake("-n", check=False)
    assert result.returncode != 0
    assert "Traceback" not in output(result)
    assert expected.format(path=credentials) in result.stderr


def test_a_dry_run_without_any_account_says_so(workdir: Workdir) -> None:
    workdir.env.pop("EARTHDATA_TOKEN")
    workdir.configure(scene_pairs(1), api_url="https://hyp3.invalid")
    result = workdir.snakemake("-n", check=False)
    assert result.returncode != 0
    assert "insarflow: no Earthdata account: set EARTHDATA_TOKEN" in result.stderr


def test_plan_and_dry_run_spend_nothing(tmp_path: Path, workdir: Workdir) -> None:
    short_lived = start_sandbox(
        tmp_path / "short", "--processing-seconds", "1", "--product-lifetime-days", "2"
    )
    try:
        workdir.configure(scene_pairs(2), api_url=short_lived.url)
        before = all_requests(short_lived)
        workdir.snakemake("-n")
        assert all_requests(short_lived) == before, "a dry run talked to HyP3"

        plan = workdir.snakemake("hyp3_plan")
        assert "0 already have a job, 2 new" in output(plan)
        assert "HyP3: 2 new job(s) cost 20 credits; credits left: EARTHDATA_TOKEN 8000" in (
            output(plan)
        )
        assert posts(short_lived) == 0

        # Submitted but not downloaded, expiring in 2 days: the status says so.
        workdir.snakemake("hyp3_submit")
        time.sleep(2.5)
        status = workdir.snakemake("hyp3_status")
        assert "total credits spent: 20" in output(status)
        assert "2 product(s) not downloaded yet expire within 3 days" in output(status)
        rows = workdir.status_rows()
        assert [row["downloaded"] for row in rows] == ["no", "no"]
        assert all(row["expiration_time"] != "-" for row in rows)

        done = workdir.snakemake()
        assert "expire within 3 days" not in output(done)
        assert [row["downloaded"] for row in workdir.status_rows()] == ["yes", "yes"]
        assert "0 new" in output(workdir.snakemake("hyp3_plan"))
        assert posts(short_lived) == 1
    finally:
        stop(short_lived.process)


def test_zips_are_deleted_once_unpacked_unless_kept(sandbox: Sandbox, workdir: Workdir) -> None:
    downloads = workdir.path / ".insarflow" / "hyp3" / "downloads"
    workdir.configure(scene_pairs(1), api_url=sandbox.url)
    workdir.snakemake()
    assert len(workdir.products()) == 1
    assert list(downloads.rglob("*.zip")) == []

    workdir.configure(scene_pairs(2), api_url=sandbox.url, keep_zips=True)
    workdir.snakemake()
    assert len(list(downloads.rglob("*.zip"))) == 1  # the new pair's zip


def test_ctrl_c_prints_no_traceback_and_the_rerun_finishes(
    tmp_path: Path, workdir: Workdir
) -> None:
    slow = start_sandbox(tmp_path / "slow", "--processing-seconds", "6")
    try:
        workdir.configure(scene_pairs(2), api_url=slow.url)
        command = workdir.command()
        run = subprocess.Popen(
            command,
            cwd=workdir.path,
            env=workdir.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while not list((workdir.path / "logs/hyp3/watch").rglob("round-0.log")):
            assert run.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        time.sleep(1)
        os.killpg(run.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        text, _ = run.communicate(timeout=60)
        assert run.returncode != 0
        assert "Traceback" not in text, text[-3000:]
        workdir.snakemake("--unlock")
        workdir.snakemake()
        assert len(workdir.products()) == 2
        assert posts(slow) == 1
    finally:
        stop(slow.process)


def test_report_renders_for_a_finished_run(sandbox: Sandbox, workdir: Workdir) -> None:
    workdir.configure(scene_pairs(1), api_url=sandbox.url)
    workdir.snakemake()
    workdir.snakemake("--report", "report.html")
    assert (workdir.path / "report.html").stat().st_size > 10_000


@pytest.mark.parametrize("profile", ["local", "slurm"])
def test_profiles_work_by_name_from_the_repository(tmp_path: Path, profile: str) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    # The working tree as it is now (a test run may precede the commit).
    for name in ("Snakefile", "rules", "config", "profiles", "scripts", "envs", profile):
        source = REPO / name
        target = clone / name
        if target.is_symlink() or target.is_file():
            target.unlink()
        elif target.exists():
            shutil.rmtree(target)
        if source.is_symlink():
            target.symlink_to(os.readlink(source))
        elif source.is_dir():
            shutil.copytree(source, target, symlinks=True)
        else:
            shutil.copy2(source, target)
    env = {**os.environ, "HOME": str(tmp_path / "home"), "EARTHDATA_TOKEN": "unused"}
    result = subprocess.run(
        [SNAKEMAKE, "--profile", profile, "-n"],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, output(result)[-3000:]
    assert f"Using profile {profile} " in output(result)
    assert "hyp3_submit" in output(result)


def test_the_example_config_polls_the_real_service_politely() -> None:
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())["hyp3"]
    assert config["api_url"] == "sandbox"
    assert config.get("poll_interval", 60) >= 30
    assert config["sandbox"]["poll_interval"] < 30


def test_a_fast_poll_of_a_real_url_gets_a_warning(workdir: Workdir) -> None:
    workdir.configure(scene_pairs(1), api_url="https://hyp3.invalid", poll_interval=5)
    result = workdir.snakemake("-n")
    assert "hyp3.poll_interval = 5 s polls https://hyp3.invalid very often" in output(result)


def test_stopping_the_sandbox_reaps_it_at_once(tmp_path: Path) -> None:
    from insarflow.hyp3.sandbox_process import start_sandbox_process, stop_sandbox

    process, _ = start_sandbox_process(tmp_path / "state")
    assert stop_sandbox(tmp_path / "state")
    # Reaped by stop_sandbox itself: a zombie would have made it wait and then SIGKILL.
    with pytest.raises(ChildProcessError):
        os.waitpid(process.pid, os.WNOHANG)


def test_the_client_turns_http_refusals_into_one_line_errors(sandbox: Sandbox) -> None:
    from hyp3_sdk import HyP3

    from insarflow.errors import ServiceError
    from insarflow.hyp3.client import HttpRefusal, connect
    from insarflow.hyp3.credentials import Account

    sandbox.admin(
        "POST",
        "users",
        json={"name": "waiting", "token": "w-token", "application_status": "PENDING"},
    )
    job = HyP3.prepare_insar_job(scene_pairs(1)[0][0], scene_pairs(1)[0][1])
    client = connect(sandbox.url, Account("waiting", token="w-token"), timeout=10)
    with pytest.raises(HttpRefusal) as refused:
        client.submit_prepared_jobs([job])  # HyP3 refuses an account not yet approved
    assert refused.value.status == 403
    assert str(refused.value).startswith(
        f"HyP3 at {sandbox.url} refused account 'waiting' (HTTP 403: "
    )
    assert "request for access is pending review" in str(refused.value)

    stranger = connect(sandbox.url, Account("stranger", token="nope"), timeout=10)
    with pytest.raises(ServiceError, match="rejected the token of account 'stranger'"):
        stranger.my_info()
    with pytest.raises(HttpRefusal, match=r"refused the request \(HTTP 404\)"):
        client.get_job_by_id("27836b79-e5b2-4d8f-932f-659724ea02c3")


def test_a_deleted_product_is_fetched_again_without_paying(
    sandbox: Sandbox, workdir: Workdir
) -> None:
    workdir.configure(scene_pairs(2), api_url=sandbox.url)
    first = workdir.snakemake()
    # The polling round put both products in place: no job per pair.
    assert ran(first, "hyp3_product") == 0
    deleted = next(iter(workdir.products().values()))["dir"]
    shutil.rmtree(deleted)
    again = workdir.snakemake()
    assert ran(again, "hyp3_product") == 1
    assert len(workdir.products()) == 2 and deleted.is_dir()
    assert posts(sandbox) == 1


def test_a_round_killed_before_its_round_file_downloads_nothing_twice(
    sandbox: Sandbox, workdir: Workdir
) -> None:
    """A round killed after putting one pair's product in place, before the other's and before
    its round file: the round runs again, leaves the placed product as it is and downloads
    only the missing one."""
    workdir.configure(scene_pairs(2), api_url=sandbox.url)
    workdir.snakemake()
    downloads = sandbox.stats()["requests"].get("GET /products/{job_id}/{filename}", 0)
    products = workdir.products()
    (kept_pair, kept), (gone_pair, gone) = sorted(products.items())
    inodes = {path: path.stat().st_ino for path in kept["dir"].rglob("*.tif")}
    # The state the kill leaves: one product in place, the other not, no round file.
    shutil.rmtree(gone["dir"])
    next(workdir.path.glob(f"results/hyp3/finished/*/{gone_pair}.json")).unlink()
    for round_file in workdir.path.glob("results/hyp3/watch/*/round-*.json"):
        round_file.unlink()

    again = workdir.snakemake()

    assert ran(again, "hyp3_watch") == 1 and ran(again, "hyp3_product") == 0
    assert sandbox.stats()["requests"].get("GET /products/{job_id}/{filename}", 0) == downloads + 1
    assert {pair: p["job_id"] for pair, p in workdir.products().items()} == {
        pair: p["job_id"] for pair, p in products.items()
    }
    assert {path: path.stat().st_ino for path in inodes} == inodes
    log = "".join(path.read_text() for path in workdir.path.glob("logs/hyp3/watch/*/*.log"))
    assert f"pair {kept_pair}: its product (job {kept['job_id']}) is already in place" in log
    assert posts(sandbox) == 1


def test_a_product_whose_placing_was_cut_short_is_placed_without_downloading(
    sandbox: Sandbox, workdir: Workdir
) -> None:
    """Killed between writing a pair's record and renaming its staged product into place, the
    next run places the staged copy of the same job; nothing is downloaded or paid again."""
    workdir.configure(scene_pairs(2), api_url=sandbox.url)
    workdir.snakemake()
    downloads = sandbox.stats()["requests"].get("GET /products/{job_id}/{filename}", 0)
    products = workdir.products()
    pair, product = next(iter(products.items()))
    staged = workdir.path / ".insarflow/hyp3/staged" / product["dir"].parent.name / pair
    product["dir"].rename(staged)  # the state the kill leaves
    inodes = {path: path.stat().st_ino for path in staged.rglob("*.tif")}

    again = workdir.snakemake()

    assert ran(again, "hyp3_product") == 1
    log = next(workdir.path.glob(f"logs/hyp3/product/*/{pair}.log")).read_text()
    assert "staged product (job" in log and "is whole" in log
    assert {pair: p["job_id"] for pair, p in workdir.products().items()} == {
        pair: p["job_id"] for pair, p in products.items()
    }
    placed = {path: path.stat().st_ino for path in product["dir"].rglob("*.tif")}
    assert sorted(placed.values()) == sorted(inodes.values())  # renamed, not fetched
    assert sandbox.stats()["requests"].get("GET /products/{job_id}/{filename}", 0) == downloads
    assert posts(sandbox) == 1
