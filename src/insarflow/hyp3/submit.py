"""Submit HyP3 jobs so that none is ever paid for twice.

Every submission decision is taken under the ledger lock, after the ledger has been
replayed and every ambiguous POST resolved by looking its job names up on HyP3. A POST
is *definitely unsent* only when HyP3 answered 400/401/403; anything else after the
request may have left (timeouts, dropped connections, 5xx, 429) is resolved by a lookup
before anything is posted again.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests
from hyp3_sdk import HyP3
from hyp3_sdk.exceptions import HyP3SDKError
from tenacity import (
    Retrying,
    before_sleep_log,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from insarflow.errors import ServiceError, UserError
from insarflow.hyp3.client import ACCESS_URL, HttpRefusal, connect
from insarflow.hyp3.credentials import Account
from insarflow.hyp3.jobs import JobSpec, job_cost
from insarflow.hyp3.ledger import Attempt, KeyState, Ledger
from insarflow.steps import console

log = logging.getLogger(__name__)

# HyP3's own limit on jobs per POST.
MAX_JOBS_PER_POST = 200
# Jobs may show up in listings a moment after the POST that created them.
LOOKUP_SETTLE_S = 2.0
LOOKUP_WINDOW_SLACK = timedelta(hours=1)
MAX_POST_TRIES = 6


class SubmissionError(ServiceError):
    """HyP3 refused or could not take the jobs; the message says what and why."""


@dataclass
class Planned:
    spec: JobSpec
    attempt: int
    reason: str


class Submitter:
    """Posts jobs for a credentials pool, recording everything in the ledger."""

    def __init__(
        self,
        api_url: str,
        accounts: Sequence[Account],
        ledger: Ledger,
        *,
        chunk_size: int = MAX_JOBS_PER_POST,
        timeout: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.api_url = api_url
        self.accounts = {account.name: account for account in accounts}
        self.ledger = ledger
        self.chunk_size = min(chunk_size, MAX_JOBS_PER_POST)
        self.timeout = timeout
        self._sleep = sleep
        self._clients: dict[str, HyP3] = {}
        self._costs: dict[str, Any] | None = None

    # -- clients and credits -------------------------------------------------------------
    def client(self, account_name: str) -> HyP3:
        if account_name not in self._clients:
            if account_name not in self.accounts:
                raise UserError(
                    f"the ledger has jobs of account '{account_name}', which is not in the credentials "
                    "pool; add it back to check on them"
                )
            self._clients[account_name] = connect(
                self.api_url, self.accounts[account_name], self.timeout
            )
        return self._clients[account_name]

    def costs(self) -> dict[str, Any]:
        if self._costs is None:
            self._costs = self.client(next(iter(self.accounts))).costs()
        return self._costs

    def remaining_credits(self) -> dict[str, float]:
        """Credits each account can still spend (inf when HyP3 reports no limit).

        An account whose HyP3 access is not approved cannot submit at all: one line says so.
        """
        remaining = {}
        for name in self.accounts:
            info = self.client(name).my_info()
            status = info.get("application_status", "APPROVED")
            if status != "APPROVED":
                raise ServiceError(
                    f"HyP3 at {self.api_url}: account '{name}' may not submit jobs (application "
                    f"status {status}); request access at {ACCESS_URL} or remove the account"
                )
            credits = info.get("remaining_credits")
            remaining[name] = math.inf if credits is None else float(credits)
        return remaining

    def cost_line(self, specs: Sequence[JobSpec]) -> str:
        """What new jobs cost and what each account has left (one line, made before a POST)."""
        costs = self.costs()
        needed = sum(job_cost(costs, spec) for spec in specs)
        balances = ", ".join(
            f"{name} {_fmt(value)}" for name, value in self.remaining_credits().items()
        )
        return (
            f"HyP3: {len(specs)} new job(s) cost {_fmt(needed)} credits; credits left: {balances}"
        )

    # -- public operations ---------------------------------------------------------------
    def submit_missing(self, specs: Iterable[JobSpec]) -> dict[str, KeyState]:
        """Submit every spec whose key has no job yet; return the ledger state afterwards."""
        specs = list(specs)
        with self.ledger.locked():
            self.resolve_ambiguous()
            states = self.ledger.state()
            pending = [
                Planned(spec, _next_attempt(states.get(spec.key)), "new")
                for spec in specs
                if states.get(spec.key) is None or states[spec.key].current_job is None
            ]
            already = len(specs) - len(pending)
            log.info("%d pair(s) already have a HyP3 job; %d to submit", already, len(pending))
            if pending:
                console().info("%s", self.cost_line([planned.spec for planned in pending]))
                self._post_all(pending)
            return self.ledger.state()

    def resubmit(self, spec: JobSpec, replaced_job_id: str, reason: str) -> Attempt:
        """Submit a replacement for ``replaced_job_id`` unless another process already did."""
        with self.ledger.locked():
            self.resolve_ambiguous()
            state = self.ledger.state()[spec.key]
            current = state.current_job
            if current is not None and current.job_id != replaced_job_id:
                log.info("job %s was already replaced by %s", replaced_job_id, current.job_id)
                return current
            self._post_all([Planned(spec, _next_attempt(state), reason)])
            replacement = self.ledger.state()[spec.key].current_job
            assert replacement is not None
            return replacement

    def resolve_ambiguous(self) -> int:
        """Look up every intent with no recorded outcome; adopt found jobs, mark others unsent."""
        states = self.ledger.state()
        ambiguous = [(state, attempt) for state in states.values() for attempt in state.ambiguous]
        if not ambiguous:
            return 0
        known_ids = {job_id for state in states.values() for job_id in state.job_ids}
        by_account: dict[str, list[tuple[KeyState, Attempt]]] = {}
        for state, attempt in ambiguous:
            by_account.setdefault(attempt.account, []).append((state, attempt))
        for account, items in by_account.items():
            oldest = min(datetime.fromisoformat(attempt.intent_time) for _, attempt in items)
            wanted = {attempt.name for _, attempt in items}
            found = self._lookup_names(account, wanted, oldest - LOOKUP_WINDOW_SLACK, known_ids)
            if len(found) < len(wanted):
                # A job created moments ago may not be listed yet.
                self._sleep(LOOKUP_SETTLE_S)
                found = self._lookup_names(account, wanted, oldest - LOOKUP_WINDOW_SLACK, known_ids)
            for state, attempt in items:
                jobs = found.get(attempt.name, [])
                if jobs:
                    job = jobs.pop(0)
                    known_ids.add(job["job_id"])
                    self._record_submitted(state.key, state.pair_id, attempt.number, job)
                    log.info(
                        "pair %s: ambiguous submission resolved: job %s exists",
                        state.pair_id,
                        job["job_id"],
                    )
                else:
                    self.ledger.append(
                        "unsent",
                        key=state.key,
                        pair=state.pair_id,
                        attempt=attempt.number,
                        reason="not found by name",
                    )
                    log.info(
                        "pair %s: ambiguous submission resolved: no job was created", state.pair_id
                    )
        return len(ambiguous)

    # -- internals -----------------------------------------------------------------------
    def _lookup_names(
        self, account: str, names: set[str], since: datetime, known_ids: set[str]
    ) -> dict[str, list[dict[str, Any]]]:
        batch = self.client(account).find_jobs(start=since)
        log.info(
            "looked up %d name(s) in account %s: %d job(s) in window since %s",
            len(names),
            account,
            len(batch),
            since.isoformat(),
        )
        found: dict[str, list[dict[str, Any]]] = {}
        for job in sorted(batch, key=lambda item: item.request_time):
            if job.name in names and job.job_id not in known_ids:
                found.setdefault(job.name, []).append(job.to_dict())
        return found

    def _record_submitted(self, key: str, pair_id: str, attempt: int, job: dict[str, Any]) -> None:
        self.ledger.append("submitted", **_submitted_fields(key, pair_id, attempt, job))

    def _post_all(self, pending: list[Planned]) -> None:
        costs = self.costs()
        remaining = self.remaining_credits()
        needed = sum(job_cost(costs, planned.spec) for planned in pending)
        available = sum(remaining.values())
        if needed > available:
            balances = ", ".join(f"{name} {_fmt(value)}" for name, value in remaining.items())
            raise UserError(
                f"the credentials pool cannot pay for {len(pending)} new HyP3 job(s): they cost "
                f"{_fmt(needed)} credits but the accounts have {_fmt(available)} ({balances}); "
                "add accounts or credits, or remove pairs"
            )
        queue = list(pending)
        while queue:
            account, chunk = self._next_chunk(queue, remaining, costs)
            try:
                self._post_with_retries(account, chunk)
            except _OutOfCredits:
                remaining[account] = 0.0
                states = self.ledger.state()
                queue = [
                    Planned(planned.spec, _next_attempt(states[planned.spec.key]), planned.reason)
                    for planned in chunk
                ] + queue
                if not any(value > 0 for value in remaining.values()):
                    raise UserError(
                        f"the credentials pool ran out of credits with {len(queue)} job(s) left to submit; "
                        "every job submitted so far is recorded"
                    ) from None
                continue
            remaining[account] -= sum(job_cost(costs, planned.spec) for planned in chunk)

    def _post_with_retries(self, account: str, chunk: list[Planned]) -> None:
        """POST one chunk; the one retry layer for POSTs (the HTTP adapter never retries them).

        Before each new try, what the name lookup found is dropped from the chunk and the
        rest gets a new attempt number, so no job is posted twice.
        """
        retrying = Retrying(
            retry=retry_if_exception_type(_Retryable),
            wait=wait_random_exponential(multiplier=1, max=60),
            stop=stop_after_attempt(MAX_POST_TRIES),
            sleep=self._sleep,
            before_sleep=before_sleep_log(log, logging.WARNING),
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    if attempt.retry_state.attempt_number > 1:
                        states = self.ledger.state()
                        chunk = [
                            Planned(p.spec, _next_attempt(states[p.spec.key]), p.reason)
                            for p in chunk
                            if states[p.spec.key].current_job is None
                        ]
                    if chunk:
                        self._post_chunk(account, chunk)
        except _Retryable as error:
            raise SubmissionError(
                f"HyP3 did not accept the jobs after {MAX_POST_TRIES} tries: {error}"
            ) from None

    def _next_chunk(
        self, queue: list[Planned], remaining: dict[str, float], costs: dict[str, Any]
    ) -> tuple[str, list[Planned]]:
        # Spread the work: each chunk goes to the account with the most credits left.
        account = max(remaining, key=lambda name: remaining[name])
        budget = remaining[account]
        chunk: list[Planned] = []
        while queue and len(chunk) < self.chunk_size:
            cost = job_cost(costs, queue[0].spec)
            if cost > budget:
                break
            budget -= cost
            chunk.append(queue.pop(0))
        if not chunk:
            raise UserError(
                "no account in the credentials pool can pay for the next HyP3 job; add credits or accounts"
            )
        return account, chunk

    def _post_chunk(self, account: str, chunk: list[Planned]) -> None:
        self.ledger.append_many(
            "intent",
            [
                {
                    "key": planned.spec.key,
                    "pair": planned.spec.pair_id,
                    "name": planned.spec.name,
                    "account": account,
                    "attempt": planned.attempt,
                    "reason": planned.reason,
                    "job_type": planned.spec.job_type,
                }
                for planned in chunk
            ],
        )
        log.info("POST %d job(s) as account %s", len(chunk), account)
        try:
            batch = self.client(account).submit_prepared_jobs(
                [planned.spec.prepared for planned in chunk]
            )
        except HttpRefusal as error:
            self.ledger.append_many(
                "unsent",
                [
                    {
                        "key": planned.spec.key,
                        "pair": planned.spec.pair_id,
                        "attempt": planned.attempt,
                        "reason": f"refused: {error}"[:200],
                    }
                    for planned in chunk
                ],
            )
            if error.status == 400:
                # HyP3 refuses a whole batch the account cannot pay for: ask its balance
                # rather than reading the error text.
                cost = sum(job_cost(self.costs(), planned.spec) for planned in chunk)
                balance = self.remaining_credits()[account]
                if balance < cost:
                    log.warning("account %s: %s", account, error.detail)
                    raise _OutOfCredits(error.detail) from None
                raise SubmissionError(f"HyP3 refused the jobs (HTTP 400): {error.detail}") from None
            raise
        except (
            ServiceError,
            HyP3SDKError,
            requests.RequestException,
            ValueError,
            KeyError,
        ) as error:
            # The request may have been applied (lost answer, 5xx): only a lookup can tell.
            self.resolve_ambiguous()
            raise _Retryable(f"{error.__class__.__name__}: {error}") from None
        by_name = {planned.spec.name: planned for planned in chunk}
        outcomes = []
        try:
            for job in batch:
                planned = by_name.pop(job.name)
                outcomes.append(
                    _submitted_fields(
                        planned.spec.key, planned.spec.pair_id, planned.attempt, job.to_dict()
                    )
                )
        finally:
            self.ledger.append_many("submitted", outcomes)
        if by_name:
            raise SubmissionError(f"HyP3 answered without job(s) for {sorted(by_name)}")


def _submitted_fields(key: str, pair_id: str, attempt: int, job: dict[str, Any]) -> dict[str, Any]:
    return {
        "key": key,
        "pair": pair_id,
        "attempt": attempt,
        "job_id": job["job_id"],
        "request_time": job.get("request_time"),
        "credit_cost": job.get("credit_cost"),
    }


class _Retryable(Exception):
    pass


class _OutOfCredits(Exception):
    pass


def _next_attempt(state: KeyState | None) -> int:
    return (
        1 if state is None else max((attempt.number for attempt in state.attempts), default=0) + 1
    )


def _fmt(value: float) -> str:
    return "unlimited" if math.isinf(value) else f"{value:g}"
