"""The status board file: a log of polls that every process replays to the same jobs."""

from __future__ import annotations

import json
from pathlib import Path

from insarflow.hyp3.board import COMPACT_AFTER_LINES, BoardLog, read_board_file


def job(job_id: str, status: str) -> dict:
    return {"job_id": job_id, "status_code": status}


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_poll_appends_only_the_jobs_it_changed_and_another_reader_follows(
    tmp_path: Path,
) -> None:
    path = tmp_path / "main.jsonl"
    writer, reader = BoardLog(path), BoardLog(path)
    writer.read().append(10.0, {"a": job("a", "PENDING"), "b": job("b", "PENDING")})
    assert reader.read().jobs == {"a": job("a", "PENDING"), "b": job("b", "PENDING")}

    writer.read().append(15.0, {"b": job("b", "SUCCEEDED")})
    assert lines(path)[-1] == {"polled_at": 15.0, "jobs": {"b": job("b", "SUCCEEDED")}}
    reader.read()
    assert reader.polled_at == 15.0
    assert reader.jobs == {"a": job("a", "PENDING"), "b": job("b", "SUCCEEDED")}
    assert read_board_file(path).jobs == reader.jobs


def test_a_line_torn_by_a_killed_writer_is_never_read_and_cut_off_by_the_next_poll(
    tmp_path: Path,
) -> None:
    path = tmp_path / "main.jsonl"
    BoardLog(path).read().append(10.0, {"a": job("a", "RUNNING")})
    with path.open("a") as handle:
        handle.write('{"polled_at": 12.0, "jobs": {"a": {"job_id": "a", "status_co')

    board = read_board_file(path)
    assert (board.polled_at, board.jobs) == (10.0, {"a": job("a", "RUNNING")})
    board.append(15.0, {"a": job("a", "SUCCEEDED")})
    assert len(lines(path)) == 2  # every line parses: the torn one is gone
    fresh = read_board_file(path)
    assert (fresh.polled_at, fresh.jobs) == (15.0, {"a": job("a", "SUCCEEDED")})


def test_the_log_is_compacted_to_one_line_and_readers_follow_the_new_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "main.jsonl"
    writer, reader = BoardLog(path), BoardLog(path)
    writer.read().append(0.0, {"a": job("a", "PENDING")})
    for poll in range(1, COMPACT_AFTER_LINES):
        writer.read().append(float(poll), {f"j{poll}": job(f"j{poll}", "RUNNING")})
    assert len(lines(path)) == COMPACT_AFTER_LINES
    reader.read()

    writer.read().append(99.0, {"a": job("a", "SUCCEEDED")})
    [only] = lines(path)
    assert only["polled_at"] == 99.0 and len(only["jobs"]) == COMPACT_AFTER_LINES
    reader.read()
    assert reader.jobs == writer.jobs and reader.jobs["a"] == job("a", "SUCCEEDED")

    path.unlink()  # a cache: deleting it means "poll again"
    assert (reader.read().polled_at, reader.jobs) == (0.0, {})
