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
        record = {"event": event, "time": utc_now(), **fields}
        line = json.dumps(record, sort_keys=True) + "\n"
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line.encode())
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
            key = record.get("key")
            if not key:
                continue
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
                continue
            elif event == "submitted":
                attempt.job_id, attempt.outcome = record["job_id"], "submitted"
            elif event == "unsent":
                attempt.outcome = "unsent"
        return states
