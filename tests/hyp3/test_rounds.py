"""Polling rounds: what one round returns, and how pairs find the round that settled them.

Against an in-process sandbox with the real hyp3_sdk, the real submitter, ledger and board.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from insarflow.hyp3.board import BOARD_SUFFIX, read_board_file
from insarflow.hyp3.credentials import Account
from insarflow.hyp3.jobs import build_job
from insarflow.hyp3.ledger import Ledger
from insarflow.hyp3.rounds import RoundIndex, round_path
from insarflow.hyp3.submit import Submitter
from insarflow.hyp3.watch import PairFailed, StatusBoard, poll_until_any_succeeds
from insarflow.pairs import make_pair
from insarflow.sandbox import FaultConfig, SandboxServer

from .conftest import scene_pairs
from .test_units import defaults


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict]:
    """Start a sandbox with the given faults; returns submitter, board and specs of 3 pairs."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    servers: list[SandboxServer] = []

    def start(server_options: dict | None = None, **faults: object) -> dict:
        server = SandboxServer(
            tmp_path / "sandbox",
            processing_seconds=0.3,
            faults=FaultConfig(**faults),
            **(server_options or {}),
        ).start()
        servers.append(server)
        ledger = Ledger(tmp_path / "state" / "ledger.jsonl")
        submitter = Submitter(server.base_url, [Account("main", token="sandbox-token")], ledger)
        board = StatusBoard(submitter, ledger, 0.2, root=tmp_path / "state" / "poll")
        specs = [build_job(make_pair(*pair), defaults()) for pair in scene_pairs(3)]
        submitter.submit_missing(specs)
        return {"server": server, "submitter": submitter, "board": board, "specs": specs}

    yield start
    for server in servers:
        server.stop()


def requests_made(server: SandboxServer) -> dict[str, int]:
    return server.stats()["requests"]


def test_a_round_returns_the_quick_jobs_without_waiting_for_a_slow_one(world) -> None:
    slow_scene = scene_pairs(3)[0][0]  # only the first pair uses it
    w = world(slow_granules={slow_scene: 60})
    result = poll_until_any_succeeds(
        w["specs"], w["submitter"], w["board"], max_resubmits=1, timeout=30
    )
    quick = {spec.pair_id for spec in w["specs"][1:]}
    assert set(result.succeeded) == quick
    assert result.still_waiting == 1 and result.gave_up == {}
    for attempt, job in result.succeeded.values():
        assert job["job_id"] == attempt.job_id and job["status_code"] == "SUCCEEDED"
    requests = requests_made(w["server"])
    # Polled by listing (3 jobs fit one page), never one GET per job.
    assert requests.get("GET /jobs", 0) >= 1
    assert requests.get("GET /jobs/{job_id}", 0) == 0

    # The next round waits only for what is left, and times out on it cleanly.
    with pytest.raises(PairFailed, match=r"no HyP3 job succeeded within 1 s .*still waiting: "):
        poll_until_any_succeeds(
            w["specs"][:1], w["submitter"], w["board"], max_resubmits=1, timeout=1
        )


def test_a_failed_job_is_resubmitted_then_given_up_with_its_log(world) -> None:
    first, _, third = scene_pairs(3)
    # The first pair fails once (resubmission succeeds); the third always fails.
    w = world(fail_granules={first[0]: 1, third[1]: 100})
    specs = w["specs"]
    succeeded: set[str] = set()
    pending = list(specs)
    with pytest.raises(PairFailed) as failure:
        while pending:
            result = poll_until_any_succeeds(
                pending, w["submitter"], w["board"], max_resubmits=1, timeout=30
            )
            succeeded |= set(result.succeeded)
            pending = [spec for spec in pending if spec.pair_id not in succeeded]
    assert succeeded == {specs[0].pair_id, specs[1].pair_id}
    message = str(failure.value)
    assert message.startswith(f"pair {specs[2].pair_id}: HyP3 job ")
    assert "FAILED after 1 resubmission(s) (hyp3.max_resubmits = 1)" in message
    assert "job log: http://127.0.0.1" in message
    states = w["submitter"].ledger.state()
    assert [len(states[spec.key].job_ids) for spec in specs] == [2, 1, 2]


def test_a_download_starts_when_its_page_of_the_listing_arrives(world) -> None:
    w = world(server_options={"page_size": 1})  # one job a page: the listing takes 3 requests
    client = w["submitter"].client("main")
    deadline = time.monotonic() + 30
    while {job.status_code for job in client.find_jobs()} != {"SUCCEEDED"}:
        assert time.monotonic() < deadline, "sandbox jobs did not succeed"
        time.sleep(0.1)
    listed_before = requests_made(w["server"])["GET /jobs"]
    pages_served: dict[str, int] = {}

    def download(spec, attempt, job) -> None:
        assert spec.pair_id not in pages_served, "a download was started twice"
        pages_served[spec.pair_id] = requests_made(w["server"])["GET /jobs"] - listed_before

    result = poll_until_any_succeeds(
        w["specs"], w["submitter"], w["board"], max_resubmits=1, timeout=30, on_succeeded=download
    )
    assert set(result.succeeded) == set(pages_served) == {spec.pair_id for spec in w["specs"]}
    # Each download started while its own page was the last one served, not after page 3.
    assert sorted(pages_served.values()) == [1, 2, 3]
    assert requests_made(w["server"])["GET /jobs"] - listed_before == 3


def test_a_poll_that_changes_no_status_writes_no_job_to_the_board(world, tmp_path: Path) -> None:
    w = world()
    result = poll_until_any_succeeds(
        w["specs"],
        w["submitter"],
        w["board"],
        max_resubmits=1,
        timeout=30,
        keep_polling=lambda _: True,
    )
    assert len(result.succeeded) == 3
    w["board"].refresh_all(["main"])
    board_file = tmp_path / "state" / "poll" / f"main{BOARD_SUFFIX}"
    last = json.loads(board_file.read_text().splitlines()[-1])
    assert last["jobs"] == {}  # listed again, all as they were
    jobs = read_board_file(board_file).jobs
    assert {job["status_code"] for job in jobs.values()} == {"SUCCEEDED"}
    assert all(job["files"] for job in jobs.values())


def write_round(rounds: Path, index: int, pairs: list[str], settled: list[str]) -> Path:
    path = round_path(rounds, index)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"succeeded": {pair: {} for pair in pairs}, "settled": settled}))
    return path


def test_round_index_finds_the_round_that_settled_each_pair(tmp_path: Path) -> None:
    rounds = tmp_path / "watch" / "abc"
    index = RoundIndex(rounds)
    assert index.locate("a") == 0  # no rounds yet: round 0 has to run

    write_round(rounds, 0, ["a", "b"], ["a", "b"])
    write_round(rounds, 1, ["c"], ["a", "b", "c"])
    assert [index.locate(pair) for pair in "abcd"] == [0, 0, 1, 2]
    assert index.settled_in(0, "a") and not index.settled_in(0, "c")
    assert index.settled_in(1, "c")

    # A later round appears (another process wrote it): found without a new index.
    write_round(rounds, 2, ["d"], ["a", "b", "c", "d"])
    assert index.locate("d") == 2

    # A missing round in the middle: pairs after the gap look at the gap first.
    (rounds / "round-1.json").unlink()
    assert index.locate("c") == 1 and index.locate("d") == 1 and index.locate("a") == 0

    # A half-written round file counts as settling nothing (Snakemake reruns it).
    (rounds / "round-1.json").write_text("{")
    assert index.locate("c") == 3 and not index.settled_in(1, "c")
