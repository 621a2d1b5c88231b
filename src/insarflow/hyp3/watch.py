"""Waiting for HyP3 jobs with one list request per account per polling round.

The workflow's polling rounds (and the status target) share one status board on disk
(``.insarflow/hyp3/poll/<account>.jsonl``, see ``BoardLog``). Whoever finds the board older
than the polling interval takes the account's lock and refreshes it with one ``find_jobs`` listing over
the time window of the account's unfinished jobs (paged by HyP3); everyone else reads the
board. HyP3 therefore sees ceil(jobs in window / jobs per page) list requests per account per
round, however many pairs are waiting.
"""

from __future__ import annotations

import gc
import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from filelock import FileLock
from hyp3_sdk import Job

from insarflow.errors import UserError
from insarflow.hyp3.board import BOARD_SUFFIX, BoardLog
from insarflow.hyp3.client import PageListener, each_listed_page
from insarflow.hyp3.jobs import JobSpec
from insarflow.hyp3.ledger import Attempt, Ledger, LedgerView
from insarflow.hyp3.submit import Submitter
from insarflow.paths import HYP3_STATE

log = logging.getLogger(__name__)

FINISHED = ("SUCCEEDED", "FAILED")
WINDOW_SLACK = timedelta(minutes=10)


class PairFailed(UserError):
    """The pair cannot produce a product in this run; the message says why and what to do."""


class StatusBoard:
    """Shared, throttled view of job statuses per account."""

    def __init__(
        self,
        submitter: Submitter,
        ledger: Ledger,
        interval: float,
        root: Path = HYP3_STATE.poll_dir,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.submitter = submitter
        self.ledger = ledger
        # Polls only observe the ledger (spending decisions replay it whole, under its lock).
        self.ledger_view = LedgerView(ledger)
        self.interval = interval
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._clock = clock
        self._boards: dict[str, BoardLog] = {}

    def _board(self, account: str) -> tuple[BoardLog, FileLock]:
        """The account's board (as this process last read it) and the lock to hold for it."""
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in account)
        if account not in self._boards:
            self._boards[account] = BoardLog(self.root / f"{safe}{BOARD_SUFFIX}")
        lock = FileLock(str(self.root / f"{safe}.lock"), timeout=600)
        return self._boards[account], lock

    def jobs(
        self, attempts: list[Attempt], on_page: PageListener | None = None
    ) -> dict[str, dict[str, Any]]:
        """The latest known state of each attempt's job (job id -> job), refreshing stale boards.

        An account's board is refreshed (one listing) only when it is older than the polling
        interval and one of the asked-for jobs there is not finished yet; ``on_page`` gets each
        page of that listing as it arrives (see ``each_listed_page``).
        """
        by_account: dict[str, list[str]] = {}
        for attempt in attempts:
            assert attempt.job_id is not None
            by_account.setdefault(attempt.account, []).append(attempt.job_id)
        found: dict[str, dict[str, Any]] = {}
        for account, job_ids in by_account.items():
            board, lock = self._board(account)
            with lock:
                board.read()
                fresh = self._clock() - board.polled_at < self.interval
                settled = all(board.jobs.get(j, {}).get("status_code") in FINISHED for j in job_ids)
                if not (fresh or settled):
                    polled_at, changed = self._refresh(account, board, on_page)
                    for job_id in job_ids:
                        if job_id not in board.jobs and job_id not in changed:
                            # Not in the window listing (e.g. listed late): ask for this one job.
                            client = self.submitter.client(account)
                            changed[job_id] = board_entry(client.get_job_by_id(job_id).to_dict())
                    board.append(polled_at, changed)
            found.update({j: board.jobs[j] for j in job_ids if j in board.jobs})
        return found

    def seconds_until_stale(self, accounts: set[str]) -> float:
        """How long until the first of these accounts' boards may be polled again."""
        ages = [self._clock() - self._board(account)[0].read().polled_at for account in accounts]
        return max(0.0, min((self.interval - age for age in ages), default=0.0))

    def refresh_all(self, accounts: list[str]) -> dict[str, dict[str, Any]]:
        """One refresh round for each account (the status target); job id -> job."""
        jobs: dict[str, dict[str, Any]] = {}
        for account in accounts:
            board, lock = self._board(account)
            with lock:
                board.read()
                board.append(*self._refresh(account, board))
            jobs.update(board.jobs)
        return jobs

    def _refresh(
        self, account: str, board: BoardLog, on_page: PageListener | None = None
    ) -> tuple[float, dict[str, dict[str, Any]]]:
        """List the account's window: (when the listing started, the jobs whose status changed)."""
        unfinished_since = [
            datetime.fromisoformat(attempt.intent_time)
            for state in self.ledger_view.state().values()
            for attempt in state.attempts
            if attempt.account == account
            and attempt.job_id
            and board.jobs.get(attempt.job_id, {}).get("status_code") not in FINISHED
        ]
        start = min(unfinished_since, default=datetime.now(UTC)) - WINDOW_SLACK
        # The board is as old as the listing's start: the interval runs from one listing's
        # start to the next, so listing 10,000 jobs (about a second) does not stretch it.
        listed_at = self._clock()
        with each_listed_page(on_page) if on_page else nullcontext():
            listing = self.submitter.client(account).find_jobs(start=start)
        changed: dict[str, dict[str, Any]] = {}
        for listed in listing:
            # What insarflow reads of a job changes only with its status: a job listed as it
            # was is not converted again (at 10,000 jobs that was a tenth of every poll).
            known = board.jobs.get(listed.job_id)
            if known is None or known.get("status_code") != listed.status_code:
                changed[listed.job_id] = board_entry(listed.to_dict())
        log.info(
            "polled account %s: %d job(s) in window since %s, %d changed, listed in %.2f s",
            account,
            len(listing),
            start.isoformat(),
            len(changed),
            self._clock() - listed_at,
        )
        return listed_at, changed


# Young objects the collector lets pile up before it runs (Python's default is 700).
LISTING_GC_THRESHOLD = 10_000


def collect_less_while_listing() -> None:
    """Set this process's garbage collector up for listings of thousands of jobs.

    Decoding a listing and building hyp3_sdk's ``Job`` of each allocates dozens of objects per
    job, and they live until the listing ends, so with Python's default thresholds the
    collector ran hundreds of times per listing over ever more of them: 40 % of the client's
    CPU for a listing of 10,000 jobs (``benchmarks/hyp3_listing.py``). What a polling round has
    set up by now (pairs, specs, ledger) lives until it ends, so it is frozen out of
    collections; reference cycles are still collected, less often.
    """
    gc.freeze()
    gc.set_threshold(LISTING_GC_THRESHOLD, 10, 10)


# Left off the board: insarflow takes a job's parameters from its own job spec and never shows
# HyP3's browse images; together they were half of a board that is rewritten after every poll
# (19 MB at 10,000 jobs).
NOT_ON_BOARD = frozenset({"job_parameters", "browse_images", "thumbnail_images"})


def board_entry(job: Mapping[str, Any]) -> dict[str, Any]:
    """A job as the status board keeps it: ``Job.to_dict()`` less what insarflow never reads."""
    return {key: value for key, value in job.items() if key not in NOT_ON_BOARD}


def board_entry_of_listed(listed: Mapping[str, Any]) -> dict[str, Any]:
    """A job as HyP3 lists it, as the board will keep it once the listing has ended."""
    return board_entry(Job.from_dict(dict(listed)).to_dict())


@dataclass
class RoundResult:
    """What one polling round saw: jobs that succeeded, and pairs that cannot succeed."""

    succeeded: dict[str, tuple[Attempt, dict[str, Any]]] = field(default_factory=dict)
    gave_up: dict[str, str] = field(default_factory=dict)
    still_waiting: int = 0


def poll_until_any_succeeds(
    specs: list[JobSpec],
    submitter: Submitter,
    board: StatusBoard,
    *,
    max_resubmits: int,
    timeout: float,
    expired: Callable[[JobSpec, dict[str, Any]], str | None] = lambda spec, job: None,
    resubmit_expired: bool = False,
    progress: Callable[[Counter[str], float], None] | None = None,
    on_succeeded: Callable[[JobSpec, Attempt, dict[str, Any]], None] | None = None,
    keep_polling: Callable[[RoundResult], bool] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> RoundResult:
    """Poll the pairs' jobs until at least one has SUCCEEDED; resubmit FAILED ones.

    ``on_succeeded`` is called once for each job seen SUCCEEDED (the round starts its
    download there), as soon as the listing page that shows it arrives; while
    ``keep_polling(result)`` is true the poll goes on after the first successes, until every
    pair has succeeded or been given up.

    Returns every job that succeeded by then, so each can be downloaded at once. A FAILED job
    is resubmitted while its pair has resubmissions left (``max_resubmits``); after that the
    pair is given up with its job's log URL. A SUCCEEDED job whose product expired before it
    was downloaded (``expired`` says why) is paid for again only with ``resubmit_expired``,
    and then waited for like any other job. Raises PairFailed when nothing is left that could
    still succeed, or when ``timeout`` seconds pass without any job succeeding. ``progress``
    gets the status counts of the polled pairs after every poll.
    """
    deadline = clock() + timeout
    result = RoundResult()
    pending = list(specs)
    succeeded_before = 0
    started: set[str] = set()  # pairs handed to on_succeeded from a listing's page
    while True:
        states = board.ledger_view.state()
        current: dict[str, Attempt] = {}
        for spec in pending:
            state = states.get(spec.key)
            attempt = state.current_job if state else None
            if attempt is None or attempt.job_id is None:
                result.gave_up[spec.pair_id] = (
                    f"pair {spec.pair_id} has no HyP3 job in the ledger; "
                    "rerun so the submit step submits it"
                )
            else:
                current[spec.pair_id] = attempt
        on_page = None
        if on_succeeded is not None:
            on_page = _start_as_listed(pending, current, expired, on_succeeded, started)
        jobs = board.jobs(list(current.values()), on_page)
        statuses: Counter[str] = Counter()
        for spec in pending:
            attempt = current.get(spec.pair_id)
            if attempt is None:
                continue
            job = jobs.get(attempt.job_id or "", {"status_code": "PENDING"})
            status = job["status_code"]
            statuses[status] += 1
            started_early = spec.pair_id in started
            gone = expired(spec, job) if status == "SUCCEEDED" and not started_early else None
            if gone and resubmit_expired:
                log.warning("pair %s: %s; resubmitting (hyp3.resubmit_expired)", spec.pair_id, gone)
                submitter.resubmit(spec, attempt.job_id or "", reason=f"expired:{attempt.job_id}")
            elif gone:
                message = f"pair {spec.pair_id}: {gone}; set hyp3.resubmit_expired: true to pay for it again"
                log.error("%s", message)
                result.gave_up[spec.pair_id] = message
            elif status == "SUCCEEDED":
                result.succeeded[spec.pair_id] = (attempt, job)
                if on_succeeded is not None and not started_early:
                    on_succeeded(spec, attempt, job)
            elif status == "FAILED":
                log_url = (job.get("logs") or ["(no log URL)"])[0]
                resubmits = states[spec.key].resubmits
                if resubmits < max_resubmits:
                    log.warning(
                        "pair %s: job %s FAILED (log: %s); resubmitting",
                        spec.pair_id,
                        attempt.job_id,
                        log_url,
                    )
                    submitter.resubmit(
                        spec, attempt.job_id or "", reason=f"failed:{attempt.job_id}"
                    )
                else:
                    message = (
                        f"pair {spec.pair_id}: HyP3 job {attempt.job_id} FAILED after {resubmits} "
                        f"resubmission(s) (hyp3.max_resubmits = {max_resubmits}); job log: {log_url}"
                    )
                    log.error("%s", message)
                    result.gave_up[spec.pair_id] = message
        pending = [
            spec
            for spec in pending
            if spec.pair_id not in result.succeeded and spec.pair_id not in result.gave_up
        ]
        result.still_waiting = len(pending)
        if progress is not None:
            earlier = len(result.succeeded) - statuses["SUCCEEDED"]
            progress(statuses + Counter(SUCCEEDED=earlier), clock())
        if len(result.succeeded) > succeeded_before:
            # "no job succeeded for wait_timeout" counts from the latest success.
            deadline = clock() + timeout
            succeeded_before = len(result.succeeded)
        if result.succeeded and not (pending and keep_polling and keep_polling(result)):
            return result
        if not pending:
            raise PairFailed("\n".join(result.gave_up.values()))
        if clock() >= deadline:
            waiting = ", ".join(spec.pair_id for spec in pending[:5])
            more = f" and {len(pending) - 5} more" if len(pending) > 5 else ""
            raise PairFailed(
                "\n".join(
                    [
                        *result.gave_up.values(),
                        f"no HyP3 job succeeded within {timeout:g} s (hyp3.wait_timeout); "
                        f"still waiting: {waiting}{more}; rerun to keep waiting "
                        "(nothing is resubmitted)",
                    ]
                )
            )
        accounts = {attempt.account for attempt in current.values()}
        sleep(max(board.seconds_until_stale(accounts), 0.05))


def _start_as_listed(
    pending: list[JobSpec],
    current: Mapping[str, Attempt],
    expired: Callable[[JobSpec, dict[str, Any]], str | None],
    on_succeeded: Callable[[JobSpec, Attempt, dict[str, Any]], None],
    started: set[str],
) -> PageListener:
    """A page listener that calls ``on_succeeded`` for each pending pair's job the page shows
    SUCCEEDED (and not expired), adding the pair to ``started``.

    Why: listing 10,000 jobs takes most of a second; a download that waited for the whole
    listing waited half of it on average.
    """
    by_job_id = {
        attempt.job_id: (spec, attempt)
        for spec in pending
        if (attempt := current.get(spec.pair_id)) is not None
    }

    def start(page: list[dict[str, Any]]) -> None:
        for listed in page:
            found = by_job_id.get(listed.get("job_id"))
            if found is None or listed.get("status_code") != "SUCCEEDED":
                continue
            spec, attempt = found
            job = board_entry_of_listed(listed)
            if spec.pair_id not in started and expired(spec, job) is None:
                started.add(spec.pair_id)
                on_succeeded(spec, attempt, job)

    return start


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
