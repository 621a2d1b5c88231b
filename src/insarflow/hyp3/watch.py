"""Waiting for HyP3 jobs with one list request per account per polling round.

Every pair waits in its own Snakemake job, but they share one status board on disk
(``.insarflow/hyp3/poll/<account>.json``). Whichever waiter finds the board older than the
polling interval takes the account's lock and refreshes it with a single ``find_jobs``
listing over the time window of the account's unfinished jobs (paged by HyP3); everyone
else reads the board. HyP3 therefore sees ceil(jobs in window / page size) list requests
per account per round, however many pairs are waiting.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from filelock import FileLock

from insarflow.hyp3.jobs import JobSpec
from insarflow.hyp3.ledger import Attempt, Ledger
from insarflow.hyp3.submit import Submitter

log = logging.getLogger(__name__)

DEFAULT_BOARD = Path(".insarflow/hyp3/poll")
FINISHED = ("SUCCEEDED", "FAILED")
WINDOW_SLACK = timedelta(minutes=10)


class PairFailed(Exception):
    """The pair cannot produce a product in this run; the message says why and what to do."""


def write_json_atomic(path: str | Path, data: Any) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("w") as handle:
        json.dump(data, handle, indent=1, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


class StatusBoard:
    """Shared, throttled view of job statuses per account."""

    def __init__(
        self,
        submitter: Submitter,
        ledger: Ledger,
        interval: float,
        root: Path = DEFAULT_BOARD,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.submitter = submitter
        self.ledger = ledger
        self.interval = interval
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._clock = clock

    def _paths(self, account: str) -> tuple[Path, FileLock]:
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in account)
        return self.root / f"{safe}.json", FileLock(str(self.root / f"{safe}.lock"), timeout=600)

    def job(self, attempt: Attempt) -> dict[str, Any]:
        """The latest known state of the attempt's job, refreshing the board when it is stale."""
        assert attempt.job_id is not None
        board_path, lock = self._paths(attempt.account)
        with lock:
            board = _read(board_path)
            fresh = self._clock() - board.get("polled_at", 0) < self.interval
            job = board.get("jobs", {}).get(attempt.job_id)
            if job is not None and (fresh or job["status_code"] in FINISHED):
                return job
            board = self._refresh(attempt.account, board)
            job = board["jobs"].get(attempt.job_id)
            if job is None:
                # Not in the window listing (e.g. listed late): ask for this one job.
                job = self.submitter.client(attempt.account).get_job_by_id(attempt.job_id).to_dict()
                board["jobs"][attempt.job_id] = job
            write_json_atomic(board_path, board)
            return job

    def refresh_all(self, accounts: list[str]) -> dict[str, dict[str, Any]]:
        """One refresh round for each account (the status target); job id -> job."""
        jobs: dict[str, dict[str, Any]] = {}
        for account in accounts:
            board_path, lock = self._paths(account)
            with lock:
                board = self._refresh(account, _read(board_path))
                write_json_atomic(board_path, board)
            jobs.update(board["jobs"])
        return jobs

    def _refresh(self, account: str, board: dict[str, Any]) -> dict[str, Any]:
        jobs: dict[str, Any] = board.get("jobs", {})
        unfinished_since = [
            datetime.fromisoformat(attempt.intent_time)
            for state in self.ledger.state().values()
            for attempt in state.attempts
            if attempt.account == account
            and attempt.job_id
            and jobs.get(attempt.job_id, {}).get("status_code") not in FINISHED
        ]
        start = min(unfinished_since, default=datetime.now(UTC)) - WINDOW_SLACK
        listing = self.submitter.client(account).find_jobs(start=start)
        for listed in listing:
            jobs[listed.job_id] = listed.to_dict()
        log.info(
            "polled account %s: %d job(s) in window since %s",
            account,
            len(listing),
            start.isoformat(),
        )
        return {"polled_at": self._clock(), "jobs": jobs}


def _read(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def wait_for_job(
    spec: JobSpec,
    submitter: Submitter,
    board: StatusBoard,
    *,
    max_resubmits: int,
    timeout: float,
    interval: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> tuple[Attempt, dict[str, Any]]:
    """Wait until the pair's current job SUCCEEDED, resubmitting FAILED jobs up to the limit."""
    deadline = clock() + timeout
    while True:
        state = board.ledger.state().get(spec.key)
        attempt = state.current_job if state else None
        if state is None or attempt is None:
            raise PairFailed(
                f"pair {spec.pair_id} has no HyP3 job in the ledger; rerun so the submit step submits it"
            )
        job = board.job(attempt)
        status = job["status_code"]
        if status == "SUCCEEDED":
            return attempt, job
        if status == "FAILED":
            log_url = (job.get("logs") or ["(no log URL)"])[0]
            if state.resubmits < max_resubmits:
                log.warning(
                    "pair %s: job %s FAILED (log: %s); resubmitting",
                    spec.pair_id,
                    attempt.job_id,
                    log_url,
                )
                submitter.resubmit(spec, attempt.job_id or "", reason=f"failed:{attempt.job_id}")
                continue
            raise PairFailed(
                f"pair {spec.pair_id}: HyP3 job {attempt.job_id} FAILED after {state.resubmits} "
                f"resubmission(s) (hyp3.max_resubmits = {max_resubmits}); job log: {log_url}"
            )
        if clock() >= deadline:
            raise PairFailed(
                f"pair {spec.pair_id}: job {attempt.job_id} still {status} after {timeout:g} s "
                "(hyp3.wait_timeout); rerun to keep waiting (nothing is resubmitted)"
            )
        sleep(interval)


def job_record(
    spec: JobSpec, attempt: Attempt, job: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A per-pair job record (no secrets: the account is a name).

    Without ``job`` it is the submission record, which stays byte-identical across reruns so
    Snakemake sees nothing new; with ``job`` it adds the job's latest state from HyP3.
    """
    record = {
        "pair": spec.pair_id,
        "job_key": spec.key,
        "job_name": spec.name,
        "job_type": spec.job_type,
        "job_parameters": spec.prepared["job_parameters"],
        "account": attempt.account,
        "job_id": attempt.job_id,
        "attempt": attempt.number,
        "submitted_at": attempt.intent_time,
    }
    if job is not None:
        record.update(
            status_code=job.get("status_code"),
            request_time=job.get("request_time"),
            expiration_time=job.get("expiration_time"),
            credit_cost=job.get("credit_cost"),
            files=job.get("files") or [],
            logs=job.get("logs") or [],
            recorded_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
    return record
