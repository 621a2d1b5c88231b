"""The submission ledger: the single source of truth about paid HyP3 jobs.

Snakemake deletes a job's declared outputs before it reruns the job, so what has been paid
for cannot live in those outputs. The ledger is an append-only JSON-lines file outside them
(``.insarflow/hyp3/ledger.jsonl``). Every line is flushed and fsynced before the next step,
and every decision to spend credits is made while holding the ledger's file lock:

1. ``intent``     written before a POST (job key, name, account, attempt);
2. ``submitted``  written after the POST answered, with the job id;
   ``unsent``     written when the POST is known not to have been applied (a 4xx answer, or
                  a name lookup after an ambiguous failure that found nothing).

An ``intent`` with neither outcome is *ambiguous* (the process died or the response was
lost): before anything for that key is submitted again, the job name is looked up on HyP3.
Attempts above 1 are resubmissions of a FAILED (or opted-in expired) job.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from filelock import FileLock

from insarflow.files import JsonLinesTail
from insarflow.paths import HYP3_STATE

LOCK_TIMEOUT_S = 600


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class Attempt:
    number: int
    name: str
    account: str
    intent_time: str
    reason: str = "new"
    job_id: str | None = None
    outcome: str | None = None  # "submitted" | "imported" | "unsent" | None (ambiguous)


@dataclass
class KeyState:
    """Everything the ledger knows about one job key (one pair with one set of options)."""

    key: str
    pair_id: str
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def job_ids(self) -> list[str]:
        return [attempt.job_id for attempt in self.attempts if attempt.job_id]

    @property
    def current_job(self) -> Attempt | None:
        """The latest attempt that has a job on HyP3."""
        for attempt in reversed(self.attempts):
            if attempt.job_id:
                return attempt
        return None

    @property
    def ambiguous(self) -> list[Attempt]:
        return [attempt for attempt in self.attempts if attempt.outcome is None]

    @property
    def resubmits(self) -> int:
        return sum(1 for attempt in self.attempts if attempt.job_id and attempt.reason != "new")


class Ledger:
    """Append-only, fsynced, lock-protected record of HyP3 submissions."""

    def __init__(self, path: str | Path = HYP3_STATE.ledger) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(str(self.path) + ".lock", timeout=LOCK_TIMEOUT_S)

    @contextmanager
    def locked(self) -> Iterator[Ledger]:
        """Hold the ledger lock: no other process can decide to spend credits meanwhile."""
        with self._lock:
            yield self

    def append(self, event: str, **fields: Any) -> None:
        self.append_many(event, [fields])

    def append_many(self, event: str, records: list[dict[str, Any]]) -> None:
        """Append one line per record (all of ``event``) with one write and one fsync.

        For the records of one POST: every intent is on disk before the POST, every outcome
        after its answer, as with one append each, at one fsync per chunk instead of one per
        job (an fsync costs about a millisecond, 20,000 of them half a minute). A crash
        mid-write leaves whole lines and at most one torn last line, as with single appends.
        """
        if not records:
            return
        now = utc_now()
        data = "".join(
            json.dumps({"event": event, "time": now, **fields}, sort_keys=True) + "\n"
            for fields in records
        ).encode()
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                written = 0
                while written < len(data):  # a regular file takes it in one write
                    written += os.write(fd, data[written:])
                os.fsync(fd)
            finally:
                os.close(fd)

    def records(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        records = []
        with self.path.open() as handle:
            for line in handle:
                line = line.strip()
                if not line:
                    continue
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError:
                    # A torn last line from a crash mid-write: the write was never
                    # acknowledged, so its intent is re-established by lookup.
                    continue
        return records

    def state(self) -> dict[str, KeyState]:
        """Replay the ledger into the state of every job key."""
        states: dict[str, KeyState] = {}
        for record in self.records():
            apply_record(states, record)
        return states


def apply_record(states: dict[str, KeyState], record: dict[str, Any]) -> None:
    """Replay one ledger record onto ``states`` (job key -> KeyState)."""
    key = record.get("key")
    if not key:
        return
    state = states.setdefault(key, KeyState(key=key, pair_id=record.get("pair", "")))
    number = record.get("attempt", 1)
    attempt = next((a for a in state.attempts if a.number == number), None)
    event = record["event"]
    if event in ("intent", "imported"):
        if attempt is None:
            attempt = Attempt(
                number=number,
                name=record["name"],
                account=record["account"],
                intent_time=record["time"],
                reason=record.get("reason", "new"),
            )
            state.attempts.append(attempt)
        if event == "imported":
            attempt.job_id, attempt.outcome = record["job_id"], "imported"
    elif attempt is None:
        return
    elif event == "submitted":
        attempt.job_id, attempt.outcome = record["job_id"], "submitted"
    elif event == "unsent":
        attempt.outcome = "unsent"


class LedgerView:
    """A read-only view of the ledger that parses only what was appended since it last looked.

    For observers that look often (a polling round looks after every poll): a full replay
    costs time in proportion to the whole ledger, which at thousands of pairs is most of a
    poll. Decisions to spend credits never use this view: they replay the whole ledger
    under its lock (``Ledger.state``). Lines are read as ``JsonLinesTail`` reads them, with
    the same outcome as a full replay.
    """

    def __init__(self, ledger: Ledger) -> None:
        self._tail = JsonLinesTail(ledger.path)
        self._states: dict[str, KeyState] = {}
        self._credits: dict[str, float] = {}

    def _catch_up(self) -> None:
        restarted, records = self._tail.read()
        if restarted:  # a different or shortened file: replay it whole
            self._states, self._credits = {}, {}
        for record in records:
            apply_record(self._states, record)
            if record.get("event") in ("submitted", "imported") and record.get("key"):
                self._credits[record["key"]] = self._credits.get(record["key"], 0.0) + float(
                    record.get("credit_cost") or 0
                )

    def state(self) -> dict[str, KeyState]:
        """The state of every job key, as ``Ledger.state`` (do not modify it)."""
        self._catch_up()
        return self._states

    def credits_spent(self, keys: set[str]) -> float:
        """Credits of every job the ledger records as submitted or imported for these keys."""
        self._catch_up()
        return sum(cost for key, cost in self._credits.items() if key in keys)
