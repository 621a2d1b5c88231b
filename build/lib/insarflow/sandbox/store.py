"""Durable sandbox state in one SQLite file: users with their credits, and jobs.

A job's status is never stored: it is derived from the timestamps fixed at submission (when it
starts running, when it ends, and how), so 10,000 jobs cost nothing while they "process" and a
listing can filter by status in SQL.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from insarflow.errors import UserError

SCHEMA_VERSION = "2"
STATUSES = ("PENDING", "RUNNING", "SUCCEEDED", "FAILED")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    user_id TEXT PRIMARY KEY,
    token_sha256 TEXT UNIQUE,
    password_sha256 TEXT,
    application_status TEXT NOT NULL,
    remaining_credits TEXT,
    credits_per_month TEXT,
    month_of_last_reset TEXT NOT NULL,
    use_case TEXT
);
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    job_type TEXT NOT NULL,
    name TEXT,
    request_time TEXT NOT NULL,
    submit_ts REAL NOT NULL,
    run_ts REAL NOT NULL,
    done_ts REAL NOT NULL,
    outcome TEXT NOT NULL,
    failure_reason TEXT,
    job_parameters TEXT NOT NULL,
    credit_cost TEXT NOT NULL,
    priority INTEGER NOT NULL,
    bucket TEXT NOT NULL,
    bucket_prefix TEXT NOT NULL,
    product_name TEXT,
    product_size INTEGER,
    expired_ts REAL
);
CREATE INDEX IF NOT EXISTS jobs_by_user_time ON jobs (user_id, request_time DESC, job_id DESC);
CREATE INDEX IF NOT EXISTS jobs_by_user_name ON jobs (user_id, name);
"""

_JOB_COLUMNS = (
    "job_id, user_id, job_type, name, request_time, submit_ts, run_ts, done_ts, outcome, "
    "failure_reason, job_parameters, credit_cost, priority, bucket, bucket_prefix, product_name, "
    "product_size, expired_ts"
)
_USER_COLUMNS = (
    "user_id, token_sha256, password_sha256, application_status, remaining_credits, "
    "credits_per_month, month_of_last_reset, use_case"
)


def _decimal_or_none(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def normalized(value: Decimal) -> Decimal:
    """A credit amount the way DynamoDB hands it back: no trailing zeros (7990, not 7990.0)."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


def secret_digest(secret: str) -> str:
    """What the state keeps of a token or password: never the secret itself."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass
class UserRecord:
    user_id: str
    token_sha256: str | None
    password_sha256: str | None
    application_status: str
    remaining_credits: Decimal | None
    credits_per_month: Decimal | None  # what the monthly reset restores; None = unlimited
    month_of_last_reset: str
    use_case: str | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> UserRecord:
        return cls(
            user_id=row["user_id"],
            token_sha256=row["token_sha256"],
            password_sha256=row["password_sha256"],
            application_status=row["application_status"],
            remaining_credits=_decimal_or_none(row["remaining_credits"]),
            credits_per_month=_decimal_or_none(row["credits_per_month"]),
            month_of_last_reset=row["month_of_last_reset"],
            use_case=row["use_case"],
        )


@dataclass
class JobRecord:
    job_id: str
    user_id: str
    job_type: str
    name: str | None
    request_time: str
    submit_ts: float
    run_ts: float
    done_ts: float
    outcome: str  # SUCCEEDED or FAILED, reached at done_ts
    failure_reason: str | None
    job_parameters: dict[str, Any]
    credit_cost: Decimal
    priority: int
    bucket: str
    bucket_prefix: str
    product_name: str | None
    product_size: int | None
    expired_ts: float | None

    def status_at(self, now: float) -> str:
        if now < self.run_ts:
            return "PENDING"
        if now < self.done_ts:
            return "RUNNING"
        return self.outcome

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> JobRecord:
        values = dict(row)
        values["job_parameters"] = json.loads(values["job_parameters"])
        values["credit_cost"] = Decimal(values["credit_cost"])
        return cls(**values)

    def as_row(self) -> tuple[Any, ...]:
        return (
            self.job_id,
            self.user_id,
            self.job_type,
            self.name,
            self.request_time,
            self.submit_ts,
            self.run_ts,
            self.done_ts,
            self.outcome,
            self.failure_reason,
            json.dumps(self.job_parameters),
            str(self.credit_cost),
            self.priority,
            self.bucket,
            self.bucket_prefix,
            self.product_name,
            self.product_size,
            self.expired_ts,
        )


class InsufficientCreditsError(Exception):
    def __init__(self, remaining: Decimal) -> None:
        super().__init__(f"only {remaining} credits remaining")
        self.remaining = remaining


class JobNotFoundError(KeyError):
    pass


def status_condition(status: str) -> str:
    """SQL for "the job has this status at :now"."""
    return {
        "PENDING": ":now < run_ts",
        "RUNNING": "run_ts <= :now AND :now < done_ts",
        "SUCCEEDED": "done_ts <= :now AND outcome = 'SUCCEEDED'",
        "FAILED": "done_ts <= :now AND outcome = 'FAILED'",
    }[status]


class Store:
    """Thread-safe access to the state database (one connection, one lock)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
        )
        version = self._db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        if version is not None and version["value"] != SCHEMA_VERSION:
            self._db.close()
            raise UserError(
                f"sandbox state {path} was written by another sandbox version (schema "
                f"{version['value']}, this one needs {SCHEMA_VERSION}); use a new state directory"
            )
        self._db.executescript(_SCHEMA)
        if version is None:
            self._db.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- users -------------------------------------------------------------------------------

    def get_user(self, user_id: str) -> UserRecord | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT {_USER_COLUMNS} FROM users WHERE user_id = ?", (user_id,)
            ).fetchone()
        return None if row is None else UserRecord.from_row(row)

    def user_by_token(self, token: str) -> UserRecord | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT {_USER_COLUMNS} FROM users WHERE token_sha256 = ?", (secret_digest(token),)
            ).fetchone()
        return None if row is None else UserRecord.from_row(row)

    def users(self) -> list[UserRecord]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_USER_COLUMNS} FROM users ORDER BY user_id"
            ).fetchall()
        return [UserRecord.from_row(row) for row in rows]

    def put_user(self, user: UserRecord) -> None:
        """Insert or replace a user record as given."""
        with self.transaction() as db:
            # A token belongs to one user: take it away from whoever held it before.
            if user.token_sha256 is not None:
                db.execute(
                    "UPDATE users SET token_sha256 = NULL WHERE token_sha256 = ? AND user_id != ?",
                    (user.token_sha256, user.user_id),
                )
            db.execute(
                f"INSERT OR REPLACE INTO users ({_USER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    user.user_id,
                    user.token_sha256,
                    user.password_sha256,
                    user.application_status,
                    None if user.remaining_credits is None else str(user.remaining_credits),
                    None if user.credits_per_month is None else str(user.credits_per_month),
                    user.month_of_last_reset,
                    user.use_case,
                ),
            )

    # -- jobs --------------------------------------------------------------------------------

    def submit_jobs(self, user_id: str, jobs: list[JobRecord], total_cost: Decimal) -> None:
        """Charge the user and store the jobs, all or nothing."""
        with self.transaction() as db:
            row = db.execute(
                "SELECT remaining_credits FROM users WHERE user_id = ?", (user_id,)
            ).fetchone()
            remaining = _decimal_or_none(row["remaining_credits"])
            if remaining is not None:
                if total_cost > remaining:
                    raise InsufficientCreditsError(normalized(remaining))
                db.execute(
                    "UPDATE users SET remaining_credits = ? WHERE user_id = ?",
                    (str(normalized(remaining - total_cost)), user_id),
                )
            db.executemany(
                f"INSERT INTO jobs ({_JOB_COLUMNS}) VALUES ({', '.join('?' * 18)})",
                [job.as_row() for job in jobs],
            )

    def get_job(self, job_id: str) -> JobRecord | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT {_JOB_COLUMNS} FROM jobs WHERE job_id = ?", (job_id,)
            ).fetchone()
        return None if row is None else JobRecord.from_row(row)

    def list_jobs(
        self,
        user_id: str,
        now: float,
        *,
        start: str | None = None,
        end: str | None = None,
        status: str | None = None,
        name: str | None = None,
        job_type: str | None = None,
        after: tuple[str, str] | None = None,
        limit: int = 100,
    ) -> list[JobRecord]:
        """Jobs newest first; ``after`` = (request_time, job_id) of the last job already seen."""
        conditions = ["user_id = :user_id"]
        values: dict[str, Any] = {"user_id": user_id, "now": now, "limit": limit}
        if start is not None:
            conditions.append("request_time >= :start")
            values["start"] = start
        if end is not None:
            conditions.append("request_time <= :end")
            values["end"] = end
        if status is not None:
            conditions.append(status_condition(status))
        if name is not None:
            conditions.append("name = :name")
            values["name"] = name
        if job_type is not None:
            conditions.append("job_type = :job_type")
            values["job_type"] = job_type
        if after is not None:
            conditions.append(
                "(request_time < :after_time OR (request_time = :after_time AND job_id < :after_id))"
            )
            values["after_time"], values["after_id"] = after
        query = (
            f"SELECT {_JOB_COLUMNS} FROM jobs WHERE {' AND '.join(conditions)} "
            "ORDER BY request_time DESC, job_id DESC LIMIT :limit"
        )
        with self._lock:
            rows = self._db.execute(query, values).fetchall()
        return [JobRecord.from_row(row) for row in rows]

    def job_names(self, user_id: str) -> list[str]:
        with self._lock:
            rows = self._db.execute(
                "SELECT DISTINCT name FROM jobs WHERE user_id = ? AND name IS NOT NULL ORDER BY name",
                (user_id,),
            ).fetchall()
        return [row["name"] for row in rows]

    def rename_job(self, job_id: str, name: str | None) -> None:
        with self.transaction() as db:
            db.execute("UPDATE jobs SET name = ? WHERE job_id = ?", (name, job_id))

    def expire_job(self, job_id: str, when: float) -> None:
        with self.transaction() as db:
            updated = db.execute(
                "UPDATE jobs SET expired_ts = ? WHERE job_id = ?", (when, job_id)
            ).rowcount
        if not updated:
            raise JobNotFoundError(job_id)

    def count_jobs(self, now: float) -> dict[str, int]:
        counts = {"total": 0, **dict.fromkeys(STATUSES, 0)}
        query = " UNION ALL ".join(
            f"SELECT '{status}', COUNT(*) FROM jobs WHERE {status_condition(status)}"
            for status in STATUSES
        )
        with self._lock:
            for status, count in self._db.execute(query, {"now": now}).fetchall():
                counts[status] = count
                counts["total"] += count
        return counts
