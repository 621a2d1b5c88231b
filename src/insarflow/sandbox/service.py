"""What the sandbox does for each HyP3 call, independent of HTTP.

The behaviour follows the HyP3 API server (hyp3_api handlers and the dynamo library): the order of
checks (schema, job validators, application status, credits), the messages of every 4xx, how
defaults are merged and credits charged, paging with an opaque ``start_token``, and which keys a job
has in each state. Faults and timing come from the sandbox's own settings.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import dataclasses
import hashlib
import heapq
import itertools
import json
import logging
import math
import multiprocessing
import os
import threading
import time
import uuid
import zipfile
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from insarflow.sandbox.faults import FaultConfig, FaultInjector, RequestStats
from insarflow.sandbox.granules import GranuleNameError, job_granules
from insarflow.sandbox.products import (
    ProductPlan,
    frame_key_of_granules,
    plan_product,
    write_product_zip,
)
from insarflow.sandbox.scene import dem_gap
from insarflow.sandbox.spec import HyP3Spec, describe_error, iter_errors, load_spec, to_json_number
from insarflow.sandbox.store import (
    InsufficientCreditsError,
    JobNotFoundError,
    JobRecord,
    Store,
    UserRecord,
    normalized,
    secret_digest,
)
from insarflow.sandbox.users import SandboxUser

log = logging.getLogger(__name__)

CONTENT_BUCKET = "hyp3-sandbox-contentbucket"
# Rendering ahead yields the CPU to everything else (the client being measured).
RENDER_AHEAD_NICENESS = 15
_EXAMPLE_BUCKET = "my-example-bucket"
_HELP_URL = "https://hyp3-docs.asf.alaska.edu/using/requesting_access"
_MAX_JOBS_PER_POST = 200
_MAX_JOBS_PER_PATCH = 100
_MAX_MULTI_BURST_PAIRS = 15


class ProblemError(Exception):
    """An HTTP error answered as problem+json with a ``detail`` (what hyp3_sdk shows the user)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


DYNAMODB_PAGE_BYTES = 1_048_576  # a DynamoDB query returns at most 1 MB of items
MAX_PAGE_SIZE = 10000


@dataclass
class SandboxSettings:
    """Timing and paging; changeable while the server runs (``POST /_sandbox/settings``)."""

    processing_seconds: float = 3.0
    # Each job takes processing_seconds plus up to this much more (fixed by its id), so jobs
    # finish spread out as on the real HyP3.
    processing_spread_seconds: float = 0.0
    pending_seconds: float | None = None  # None: a fifth of processing_seconds
    # A GET /jobs page ends after page_bytes of jobs, as HyP3's DynamoDB query page ends after
    # 1 MB read (HyP3 sets no Limit): about 560 succeeded or 1,400 pending jobs. page_size
    # caps the jobs on a page too, so that tests can page through a few jobs.
    page_bytes: int = DYNAMODB_PAGE_BYTES
    page_size: int = MAX_PAGE_SIZE
    product_lifetime_days: float = 14.0
    open_registration: bool = False  # unknown tokens become new users instead of a 401
    default_credits: float | None = 8000.0  # credits of users created by open registration

    def __post_init__(self) -> None:
        for name in ("processing_seconds", "processing_spread_seconds", "product_lifetime_days"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"setting {name}={value!r} is not allowed; use a number >= 0")
        pending = self.pending_seconds
        if pending is not None and (
            isinstance(pending, bool) or not isinstance(pending, int | float) or pending < 0
        ):
            raise ValueError(
                f"setting pending_seconds={pending!r} is not allowed; use a number >= 0"
            )
        for name, most in (("page_size", MAX_PAGE_SIZE), ("page_bytes", 16 * DYNAMODB_PAGE_BYTES)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
                raise ValueError(f"setting {name}={value!r} is not allowed; use 1 to {most}")

    @property
    def pending_duration(self) -> float:
        if self.pending_seconds is not None:
            return min(self.pending_seconds, self.processing_seconds)
        return self.processing_seconds / 5.0


def format_time(moment: datetime) -> str:
    """HyP3's time format: UTC, seconds, explicit offset (``2021-02-24T21:30:45+00:00``)."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _timestamp_text(timestamp: float) -> str:
    return format_time(datetime.fromtimestamp(timestamp, UTC))


def _user_from_config(user: SandboxUser, month: str) -> UserRecord:
    credits = None if user.credits is None else normalized(Decimal(str(user.credits)))
    return UserRecord(
        user_id=user.name,
        token_sha256=None if user.token is None else secret_digest(user.token),
        password_sha256=None if user.password is None else secret_digest(user.password),
        application_status=user.application_status,
        remaining_credits=credits,
        credits_per_month=credits,
        month_of_last_reset=month,
        use_case=None,
    )


def _current_month(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m")


class Sandbox:
    """The HyP3 stand-in: state, spec, settings, faults and the operations on them."""

    def __init__(
        self,
        state_dir: Path,
        settings: SandboxSettings | None = None,
        users: list[SandboxUser] | None = None,
        faults: FaultConfig | None = None,
        render_ahead: bool = False,
    ) -> None:
        self.state_dir = Path(state_dir)
        self.settings = settings or SandboxSettings()
        self.spec: HyP3Spec = load_spec()
        self.store = Store(self.state_dir / "sandbox.sqlite3")
        self.products_dir = self.state_dir / "products"
        self.injector = FaultInjector(faults or FaultConfig())
        self.stats = RequestStats()
        self.started = time.time()
        self._build_locks: dict[str, threading.Lock] = {}
        self._build_locks_guard = threading.Lock()
        self._renderer = ProductRenderer() if render_ahead else None
        # Products the server rendered when asked for them, on the CPU the client also uses
        # (with --render-ahead: ones the renderer had not reached; a benchmark reports them).
        self.rendered_on_download = 0
        self.smallest_full_page: int | None = None
        self._listed_sizes: dict[tuple[str, str], int] = {}
        self._validators = {
            name: self.spec.validator(name)
            for name in ("post_jobs_body", "patch_jobs_body", "patch_job_body", "patch_user_body")
        }
        self._parameter_validators = {
            name: self.spec.parameter_validator("/jobs", "get", name)
            for name in ("user_id", "status_code", "name", "job_type")
        }
        self._job_validators = {
            job_type: self.spec.validator(f"{job_type}Job", "job_parameters")
            for job_type in self.spec.job_types
        }
        for user in users or []:
            self.add_user(user, keep_balance=True)

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
        self.store.close()

    @staticmethod
    def now() -> float:
        return time.time()

    # -- users and authentication -----------------------------------------------------------

    def add_user(self, user: SandboxUser, keep_balance: bool = False) -> UserRecord:
        """Create or update a user. With ``keep_balance`` an existing user keeps its remaining
        credits (a restarted sandbox must not refill accounts)."""
        record = _user_from_config(user, _current_month(self.now()))
        existing = self.store.get_user(user.name)
        if existing is not None and keep_balance:
            record.remaining_credits = existing.remaining_credits
            record.month_of_last_reset = existing.month_of_last_reset
            record.use_case = existing.use_case
        self.store.put_user(record)
        return record

    def authenticate(self, authorization: str | None, cookie_token: str | None) -> UserRecord:
        """The user behind a request: Bearer token, HTTP Basic (e.g. from .netrc) or the
        ``asf-urs`` cookie; 401 otherwise."""
        scheme, _, credentials = (authorization or "").partition(" ")
        scheme = scheme.lower()
        user: UserRecord | None
        if scheme == "bearer" and credentials.strip():
            user = self._user_for_token(credentials.strip())
        elif scheme == "basic" and credentials.strip():
            user = self._user_for_basic(credentials.strip())
        elif cookie_token:
            user = self._user_for_token(cookie_token)
        else:
            raise ProblemError(401, "No authorization token provided")
        return self._with_monthly_credits(user)

    def _user_for_token(self, token: str) -> UserRecord:
        user = self.store.user_by_token(token)
        if user is not None:
            return user
        if not self.settings.open_registration:
            raise ProblemError(401, "Invalid authorization token provided")
        name = _token_user_name(token)
        existing = self.store.get_user(name)
        if existing is not None:
            raise ProblemError(401, "Invalid authorization token provided")
        return self.add_user(
            SandboxUser(name=name, token=token, credits=self.settings.default_credits)
        )

    def _user_for_basic(self, encoded: str) -> UserRecord:
        try:
            name, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise ProblemError(401, "Invalid authorization token provided") from None
        user = self.store.get_user(name)
        if user is not None and password:
            digest = secret_digest(password)
            if digest in (user.password_sha256, user.token_sha256):
                return user
        if user is None and self.settings.open_registration and name and password:
            return self.add_user(
                SandboxUser(name=name, password=password, credits=self.settings.default_credits)
            )
        raise ProblemError(401, "Invalid username or password")

    def _with_monthly_credits(self, user: UserRecord) -> UserRecord:
        # HyP3 refills approved users at the first request of a calendar month (UTC) and keeps
        # everyone else at zero.
        month = _current_month(self.now())
        changed = False
        if user.application_status == "APPROVED":
            if user.month_of_last_reset < month and user.remaining_credits is not None:
                user.remaining_credits = user.credits_per_month
                user.month_of_last_reset = month
                changed = True
        elif user.remaining_credits != Decimal(0):
            user.remaining_credits = Decimal(0)
            changed = True
        if changed:
            self.store.put_user(user)
        return user

    def user_info(self, user: UserRecord) -> dict[str, Any]:
        info: dict[str, Any] = {
            "user_id": user.user_id,
            "application_status": user.application_status,
            "remaining_credits": to_json_number(user.remaining_credits),
            "job_names": self.store.job_names(user.user_id),
        }
        if user.use_case is not None:
            info["use_case"] = user.use_case
        return info

    def patch_user(self, user: UserRecord, body: Any) -> dict[str, Any]:
        self._check_schema("patch_user_body", body)
        status = user.application_status
        if status in ("NOT_STARTED", "PENDING"):
            if body.get("access_code"):
                raise ProblemError(403, f"{body['access_code']} is not a valid access code")
            user.application_status = "PENDING"
            user.use_case = body["use_case"]
            self.store.put_user(user)
            return self.user_info(self._with_monthly_credits(user))
        if status == "APPROVED":
            raise ProblemError(
                403,
                f"{user.user_id}'s request for access is already approved. "
                f"For more information, visit {_HELP_URL}",
            )
        raise ProblemError(
            403,
            f"{user.user_id}'s request for access has been rejected. "
            f"For more information, visit {_HELP_URL}",
        )

    # -- costs and validation ----------------------------------------------------------------

    def costs(self) -> dict[str, Any]:
        return self.spec.costs_response()

    def _check_schema(self, component: str, body: Any) -> None:
        error = next(iter_errors(self._validators[component], body), None)
        if error is not None:
            raise ProblemError(400, describe_error(error))

    def _check_post_body(self, body: Any) -> None:
        error = next(iter_errors(self._validators["post_jobs_body"], body), None)
        if error is None:
            return
        path = list(error.absolute_path)
        if path == ["jobs"] and error.validator in ("maxItems", "minItems"):
            count = len(body["jobs"])
            raise ProblemError(
                400,
                f"jobs: {count} jobs submitted; a request holds 1 to {_MAX_JOBS_PER_POST} jobs",
            )
        if len(path) >= 2 and path[0] == "jobs" and isinstance(path[1], int):
            # A job failed the oneOf over job types: report it against its own job type's schema.
            index = path[1]
            job = body["jobs"][index]
            if isinstance(job, dict) and job.get("job_type") in self._job_validators:
                specific = next(iter_errors(self._job_validators[job["job_type"]], job), None)
                if specific is not None:
                    raise ProblemError(400, describe_error(specific, f"jobs[{index}]"))
            elif isinstance(job, dict) and "job_type" in job:
                raise ProblemError(
                    400,
                    f"jobs[{index}].job_type: {job['job_type']!r} is not one of "
                    f"{self.spec.job_types}",
                )
            elif isinstance(job, dict):
                raise ProblemError(400, f"jobs[{index}]: 'job_type' is a required property")
        raise ProblemError(400, describe_error(error))

    def _validate_job(self, job: dict[str, Any]) -> None:
        """The job-type validators HyP3 runs after the schema (job_validation_map)."""
        params = job["job_parameters"]
        if job["job_type"] == "INSAR_ISCE_BURST":
            _check_single_burst_pair(params["granules"])
        elif job["job_type"] == "INSAR_ISCE_MULTI_BURST":
            _check_multi_burst(params["reference"], params["secondary"])
        if job["job_type"] in ("INSAR_GAMMA", "INSAR_ISCE_BURST", "INSAR_ISCE_MULTI_BURST"):
            granules = params.get("granules") or [*params["reference"], *params["secondary"]]
            _check_dem_coverage(granules)

    # -- submitting --------------------------------------------------------------------------

    def submit(self, user: UserRecord, body: Any) -> dict[str, Any]:
        self._check_post_body(body)
        for job in body["jobs"]:
            try:
                self._validate_job(job)
            except ValueError as error:
                raise ProblemError(400, str(error)) from None
        _raise_for_application_status(user)

        now = self.now()
        request_time = _timestamp_text(now)
        remaining = user.remaining_credits
        total_cost = Decimal("0.0")
        prepared: list[JobRecord] = []
        for job in body["jobs"]:
            record = self._prepare_job(job, user.user_id, request_time, now, remaining, total_cost)
            prepared.append(record)
            total_cost += record.credit_cost
        if remaining is not None and total_cost > remaining:
            raise ProblemError(
                400,
                f"These jobs would cost {total_cost} credits, but you have only "
                f"{normalized(remaining)} remaining.",
            )
        if not body.get("validate_only"):
            try:
                self.store.submit_jobs(user.user_id, prepared, total_cost)
            except InsufficientCreditsError as error:
                raise ProblemError(
                    400,
                    f"These jobs would cost {total_cost} credits, but you have only "
                    f"{error.remaining} remaining.",
                ) from None
            self._render_ahead(prepared)
        # A new job is PENDING in the response whatever its timing, as in HyP3.
        response: dict[str, Any] = {
            "jobs": [self.job_view(record, -math.inf, "") for record in prepared]
        }
        if "validate_only" in body:
            response["validate_only"] = body["validate_only"]
        return response

    def _prepare_job(
        self,
        job: dict[str, Any],
        user_id: str,
        request_time: str,
        now: float,
        remaining: Decimal | None,
        running_cost: Decimal,
    ) -> JobRecord:
        job_id = str(uuid.uuid4())
        job_type = job["job_type"]
        parameters = {**self.spec.default_parameters[job_type], **job["job_parameters"]}
        cost = self.spec.credit_cost(job_type, parameters)
        priority = 0 if remaining is None else min(round(remaining - running_cost), 9999)
        bucket, prefix = _content_location(job, job_id)

        settings = self.settings
        run_ts = now + settings.pending_duration
        spread = settings.processing_spread_seconds * int(job_id[:8], 16) / 0xFFFFFFFF
        spread += self.injector.extra_seconds_for(job_granules(parameters))
        done_ts = now + max(settings.processing_seconds + spread, settings.pending_duration)
        failure = self.injector.failure_for(job_granules(parameters))
        plan: ProductPlan | None = None
        if failure is None:
            try:
                plan = plan_product(
                    job_id, job_type, parameters, datetime.fromtimestamp(done_ts, UTC)
                )
            except GranuleNameError as error:
                failure = f"Unable to process the granules: {error}"
        return JobRecord(
            job_id=job_id,
            user_id=user_id,
            job_type=job_type,
            name=job.get("name"),
            request_time=request_time,
            submit_ts=now,
            run_ts=run_ts,
            done_ts=done_ts,
            outcome="FAILED" if failure else "SUCCEEDED",
            failure_reason=failure,
            job_parameters=parameters,
            credit_cost=cost,
            priority=priority,
            bucket=bucket,
            bucket_prefix=prefix,
            product_name=None if plan is None else plan.name,
            product_size=None if plan is None else plan.zip_size(),
            expired_ts=None,
        )

    # -- reading jobs ------------------------------------------------------------------------

    def expiration_time(self, job: JobRecord) -> datetime:
        """Midnight UTC after the product lifetime; earlier when expired on purpose."""
        end = datetime.fromtimestamp(
            job.done_ts + self.settings.product_lifetime_days * 86400.0, UTC
        )
        expiration = datetime(end.year, end.month, end.day, tzinfo=UTC) + timedelta(days=1)
        if job.expired_ts is not None:
            expiration = min(expiration, datetime.fromtimestamp(job.expired_ts, UTC))
        if self.injector.config.expire_products:
            expiration = min(expiration, datetime.fromtimestamp(job.done_ts, UTC))
        return expiration.replace(microsecond=0)

    def job_view(self, job: JobRecord, now: float, base_url: str) -> dict[str, Any]:
        """The job as HyP3 returns it at time ``now``; URLs start with ``base_url``."""
        status = job.status_at(now)
        view: dict[str, Any] = {
            "job_id": job.job_id,
            "user_id": job.user_id,
            "status_code": status,
            "execution_started": status != "PENDING" or now >= (job.submit_ts + job.run_ts) / 2,
            "request_time": job.request_time,
            "priority": job.priority,
            "job_type": job.job_type,
            "job_parameters": job.job_parameters,
        }
        if job.name is not None:
            view["name"] = job.name
        view["bucket"] = job.bucket
        view["bucket_prefix"] = job.bucket_prefix
        view["credit_cost"] = to_json_number(job.credit_cost)
        if status not in ("SUCCEEDED", "FAILED"):
            return view
        location = f"{base_url}/products/{job.job_id}"
        view["expiration_time"] = format_time(self.expiration_time(job))
        if status == "FAILED":
            view.update(
                files=[],
                browse_images=[],
                thumbnail_images=[],
                logs=[f"{location}/{job.job_id}.log"],
                processing_times=None,
            )
            return view
        name = job.product_name
        filename = f"{name}.zip"
        suffixes = _BROWSE_SUFFIXES[job.job_type]
        view.update(
            files=[
                {
                    "filename": filename,
                    "size": job.product_size,
                    "url": f"{location}/{filename}",
                    "s3": {"bucket": job.bucket, "key": f"{job.bucket_prefix}/{filename}"},
                }
            ],
            browse_images=[f"{location}/{name}{suffix}.png" for suffix in suffixes],
            thumbnail_images=[f"{location}/{name}{suffix}_thumb.png" for suffix in suffixes],
            logs=[],
            processing_times=[round(job.done_ts - job.run_ts, 3)],
        )
        return view

    def get_job(self, job_id: str, base_url: str) -> dict[str, Any]:
        return self.job_view(self._job_or_404(job_id), self.now(), base_url)

    def _job_or_404(self, job_id: str) -> JobRecord:
        _check_job_id(job_id)
        job = self.store.get_job(job_id)
        if job is None:
            raise ProblemError(404, f"job_id does not exist: {job_id}")
        return job

    def list_jobs(
        self, user: UserRecord, query: dict[str, str], request_url: str, base_url: str
    ) -> dict[str, Any]:
        params = self._list_parameters(query)
        after = _decode_start_token(query["start_token"]) if "start_token" in query else None
        now = self.now()
        settings = self.settings
        views: list[dict[str, Any]] = []
        listed: list[JobRecord] = []
        used = 0
        cursor = after
        while True:
            chunk = self.store.list_jobs(
                params.get("user_id") or user.user_id,
                now,
                start=params.get("start"),
                end=params.get("end"),
                status=params.get("status_code"),
                name=params.get("name"),
                job_type=params.get("job_type"),
                after=cursor,
                limit=_LIST_CHUNK,
            )
            for job in chunk:
                view = self.job_view(job, now, base_url)
                # The compact JSON stands in for the DynamoDB item's size, which changes only
                # with the job's status (kept, so a listing serialises each job once).
                key = (job.job_id, view["status_code"])
                size = self._listed_sizes.get(key)
                if size is None:
                    size = self._listed_sizes[key] = len(json.dumps(view, separators=(",", ":")))
                if views and (
                    len(views) >= settings.page_size or used + size > settings.page_bytes
                ):
                    self.smallest_full_page = min(self.smallest_full_page or len(views), len(views))
                    token = _encode_start_token(listed[-1])
                    return {"jobs": views, "next": _next_url(request_url, token)}
                views.append(view)
                listed.append(job)
                used += size
            if len(chunk) < _LIST_CHUNK:
                return {"jobs": views}
            cursor = (chunk[-1].request_time, chunk[-1].job_id)

    def _list_parameters(self, query: dict[str, str]) -> dict[str, str]:
        """The filters of ``GET /jobs``, checked against the operation's parameter schemas."""
        params: dict[str, str] = {}
        for key in ("user_id", "status_code", "name", "job_type"):
            if key in query:
                validator = self._parameter_validators[key]
                error = next(iter_errors(validator, query[key]), None)
                if error is not None:
                    raise ProblemError(400, f"{key}: {error.message}")
                params[key] = query[key]
        for key in ("start", "end"):
            if key in query:
                params[key] = format_time(_parse_query_time(key, query[key]))
        return params

    # -- updating jobs -----------------------------------------------------------------------

    def patch_jobs(self, user: UserRecord, body: Any) -> dict[str, Any]:
        self._check_schema("patch_jobs_body", body)
        job_ids = body["job_ids"]
        if not job_ids:
            raise ProblemError(400, "Must provide at least one job ID")
        if len(job_ids) > _MAX_JOBS_PER_PATCH:
            raise ProblemError(400, f"Cannot update more than {_MAX_JOBS_PER_PATCH} jobs")
        for job_id in dict.fromkeys(job_ids):
            self._rename(user, job_id, body["name"])
        return {}

    def patch_job(self, user: UserRecord, job_id: str, body: Any, base_url: str) -> dict[str, Any]:
        _check_job_id(job_id)
        self._check_schema("patch_job_body", body)
        self._rename(user, job_id, body["name"])
        return self.get_job(job_id, base_url)

    def _rename(self, user: UserRecord, job_id: str, name: str | None) -> None:
        job = self.store.get_job(job_id)
        if job is None:
            raise ProblemError(404, f"Job {job_id} does not exist")
        if job.user_id != user.user_id:
            raise ProblemError(
                403, f"You cannot modify job {job_id} because it belongs to a different user"
            )
        self.store.rename_job(job_id, name)

    # -- products ----------------------------------------------------------------------------

    def product_file(self, job_id: str, filename: str) -> tuple[Path | bytes, str]:
        """A product zip (path), browse image or log (bytes) of a job, or ProblemError(404)."""
        not_found = ProblemError(404, f"No such file: /products/{job_id}/{filename}")
        try:
            uuid.UUID(job_id)
        except ValueError:
            raise not_found from None
        job = self.store.get_job(job_id)
        now = self.now()
        if job is None or job.status_at(now) not in ("SUCCEEDED", "FAILED"):
            raise not_found
        if now >= self.expiration_time(job).timestamp():
            raise ProblemError(404, f"/products/{job_id}/{filename} has expired and was deleted")
        if job.outcome == "FAILED":
            if filename != f"{job_id}.log":
                raise not_found
            return failure_log(job).encode(), "text/plain; charset=utf-8"
        name = job.product_name
        if filename == f"{name}.zip":
            return self.product_zip(job), "application/zip"
        for suffix in _BROWSE_SUFFIXES[job.job_type]:
            if filename in (f"{name}{suffix}.png", f"{name}{suffix}_thumb.png"):
                return self._zip_member(job, f"{name}/{name}{suffix}.png"), "image/png"
        raise not_found

    def product_zip(self, job: JobRecord) -> Path:
        """The job's product zip, rendered on first use and kept in the state directory."""
        path = self.products_dir / job.job_id / f"{job.product_name}.zip"
        if path.exists():
            return path
        with self._build_locks_guard:
            lock = self._build_locks.setdefault(job.job_id, threading.Lock())
        with lock:
            if not path.exists():
                build_product_zip(*_render_arguments(job, path))
                with self._build_locks_guard:
                    self.rendered_on_download += 1
        with self._build_locks_guard:
            self._build_locks.pop(job.job_id, None)
        return path

    def _render_ahead(self, jobs: list[JobRecord]) -> None:
        """Hand the products of newly stored jobs to the renderer, soonest done first."""
        if self._renderer is None:
            return
        for job in jobs:
            if job.outcome == "SUCCEEDED" and job.product_name:
                path = self.products_dir / job.job_id / f"{job.product_name}.zip"
                self._renderer.render(_render_arguments(job, path), job.done_ts)

    def _zip_member(self, job: JobRecord, member: str) -> bytes:
        with zipfile.ZipFile(self.product_zip(job)) as archive:
            return archive.read(member)

    # -- admin -------------------------------------------------------------------------------

    def expire_job(self, job_id: str) -> None:
        """Force a job's expiration_time into the past (its product URLs then 404)."""
        _check_job_id(job_id)
        try:
            self.store.expire_job(job_id, self.now() - 1.0)
        except JobNotFoundError:
            raise ProblemError(404, f"job_id does not exist: {job_id}") from None

    def update_settings(self, changes: dict[str, Any]) -> SandboxSettings:
        known = {f.name for f in dataclasses.fields(SandboxSettings)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ValueError(f"unknown setting(s) {unknown}; known: {sorted(known)}")
        self.settings = dataclasses.replace(self.settings, **changes)
        return self.settings

    def statistics(self) -> dict[str, Any]:
        return {
            **self.stats.snapshot(),
            "faults": dict(self.injector.injected),
            "jobs": self.store.count_jobs(self.now()),
            "page_size": self.settings.page_size,
            "page_bytes": self.settings.page_bytes,
            # Fewest jobs on a page that had a next page: a listing of n jobs needs at most
            # ceil(n / this) requests.
            "smallest_full_page": self.smallest_full_page,
            "rendered_on_download": self.rendered_on_download,
            "uptime_seconds": round(time.time() - self.started, 3),
        }


_BROWSE_SUFFIXES = {
    "INSAR_GAMMA": ("_color_phase", "_unw_phase"),
    "INSAR_ISCE_BURST": ("_unw_phase",),
    "INSAR_ISCE_MULTI_BURST": ("_unw_phase",),
    "RTC_GAMMA": ("",),
}


def _render_arguments(job: JobRecord, path: Path) -> tuple[Any, ...]:
    return (job.job_id, job.job_type, job.job_parameters, job.done_ts, job.product_size, path)


def build_product_zip(
    job_id: str,
    job_type: str,
    parameters: dict[str, Any],
    done_ts: float,
    product_size: int | None,
    path: Path,
) -> None:
    """Render a job's product zip to ``path`` (the same bytes whoever renders it, and when)."""
    if path.exists():
        return
    plan = plan_product(job_id, job_type, parameters, datetime.fromtimestamp(done_ts, UTC))
    try:
        write_product_zip(plan, path, product_size)
    except RuntimeError as error:
        raise RuntimeError(
            f"product of job {job_id} does not match the size the job says, {product_size} "
            f"bytes ({error}); was the state made by another version?"
        ) from None


def _lower_priority() -> None:
    with contextlib.suppress(OSError):
        os.nice(RENDER_AHEAD_NICENESS)


class ProductRenderer:
    """Renders products before their first download, in one low-priority process (opt-in,
    ``--render-ahead``), in the order their jobs succeed.

    HyP3 has a product's zip in its bucket when the job succeeds; rendered on the first
    download instead, every download waits for a render on the CPU the client is also using,
    which on a small machine at thousands of products a minute caps the client's download
    rate well below what a real bucket serves. The bytes are the same either way
    (``build_product_zip``); a product not rendered yet when asked for is rendered then, as
    before. Rendering runs under ``nice`` so it yields the CPU to the client being measured.

    The queue is ordered by success time across every submission, not per POST: with
    jobs of many POSTs succeeding interleaved, a first-in-first-out queue left the soonest
    products of the last POSTs unrendered when they were first asked for.
    """

    IN_FLIGHT = 2  # handed to the process at once: enough to keep it busy, no more

    def __init__(
        self,
        pool: Executor | None = None,
        render: Callable[..., None] = build_product_zip,
    ) -> None:
        self._pool = pool or ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_lower_priority,
        )
        self._render = render
        self._queue: list[tuple[float, int, tuple[Any, ...]]] = []  # (done_ts, order, args)
        self._order = itertools.count()
        self._slots = threading.Semaphore(self.IN_FLIGHT)
        self._wake = threading.Condition()
        self._closed = False
        threading.Thread(target=self._feed, name="render-ahead", daemon=True).start()

    def render(self, arguments: tuple[Any, ...], done_ts: float) -> None:
        with self._wake:
            heapq.heappush(self._queue, (done_ts, next(self._order), arguments))
            self._wake.notify()

    def _feed(self) -> None:
        while True:
            self._slots.acquire()
            with self._wake:
                while not self._queue and not self._closed:
                    self._wake.wait()
                if self._closed:
                    return
                arguments = heapq.heappop(self._queue)[2]
            try:
                future = self._pool.submit(self._render, *arguments)
            except RuntimeError:  # the pool was shut down
                return
            future.add_done_callback(self._done)

    def _done(self, future: Future[None]) -> None:
        self._slots.release()
        _log_failure(future)

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._queue.clear()
            self._wake.notify()
        self._slots.release()
        self._pool.shutdown(wait=False, cancel_futures=True)


def _log_failure(future: Future[None]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.warning(
            "rendering a product ahead failed (it is rendered on download): %s", future.exception()
        )


def failure_log(job: JobRecord) -> str:
    """The log a FAILED job points at."""
    stamp = "%Y-%m-%d %H:%M:%S"
    started = datetime.fromtimestamp(job.run_ts, UTC).strftime(stamp)
    ended = datetime.fromtimestamp(job.done_ts, UTC).strftime(stamp)
    granules = " ".join(job_granules(job.job_parameters))
    return (
        f"{started} - INFO - insarflow HyP3 sandbox: {job.job_type} job {job.job_id}\n"
        f"{started} - INFO - Processing {granules}\n"
        f"{ended} - ERROR - {job.failure_reason}\n"
    )


def _token_user_name(token: str) -> str:
    # A real Earthdata token is a JWT whose payload names the user (claim "uid").
    parts = token.split(".")
    if len(parts) == 3:
        try:
            padded = parts[1] + "=" * (-len(parts[1]) % 4)
            claims = json.loads(base64.urlsafe_b64decode(padded))
            if isinstance(claims, dict) and isinstance(claims.get("uid"), str) and claims["uid"]:
                return claims["uid"][:100]
        except (ValueError, binascii.Error):
            pass
    return "user-" + hashlib.sha256(token.encode()).hexdigest()[:10]


def _raise_for_application_status(user: UserRecord) -> None:
    status = user.application_status
    messages = {
        "NOT_STARTED": f"{user.user_id} must request access before submitting jobs. "
        f"Visit {_HELP_URL}",
        "PENDING": f"{user.user_id}'s request for access is pending review. "
        f"For more information, visit {_HELP_URL}",
        "REJECTED": f"{user.user_id}'s request for access has been rejected. "
        f"For more information, visit {_HELP_URL}",
    }
    if status in messages:
        raise ProblemError(403, messages[status])
    if status != "APPROVED":
        raise ProblemError(403, f"User {user.user_id} has an invalid application status: {status}")


def _content_location(job: dict[str, Any], job_id: str) -> tuple[str, str]:
    """(bucket, bucket_prefix) of a new job: the content bucket unless the user named another."""
    user_bucket = job.get("bucket") or ""
    prefix = job.get("bucket_prefix") or ""
    if user_bucket and user_bucket not in (CONTENT_BUCKET, _EXAMPLE_BUCKET):
        return user_bucket, (
            prefix.format(job_id=job_id, name=job.get("name", "")) if prefix else job_id
        )
    if prefix and prefix != "{job_id}":
        raise ProblemError(
            400, "A custom bucket prefix can not be used with the default content bucket."
        )
    return CONTENT_BUCKET, job_id


def _check_job_id(job_id: str) -> None:
    try:
        valid = str(uuid.UUID(job_id)) == job_id.lower()
    except ValueError:
        valid = False
    if not valid:
        raise ProblemError(400, f"job_id: {job_id!r} is not a 'uuid'")


def _parse_query_time(key: str, text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ProblemError(
            400,
            f"{key}: {text!r} is not a 'date-time' (ISO 8601 with a UTC offset, "
            "e.g. 2021-01-01T00:00:00+00:00)",
        )
    return moment


_LIST_CHUNK = 500  # rows read from the store at a time while a page fills


def _encode_start_token(job: JobRecord) -> str:
    key = {"job_id": job.job_id, "user_id": job.user_id, "request_time": job.request_time}
    return base64.b64encode(json.dumps(key).encode()).decode()


def _decode_start_token(token: str) -> tuple[str, str]:
    try:
        key = json.loads(base64.b64decode(token.encode(), validate=True))
        return str(key["request_time"]), str(key["job_id"])
    except (ValueError, binascii.Error, UnicodeDecodeError, KeyError, TypeError):
        raise ProblemError(400, "Invalid start_token value") from None


def _next_url(request_url: str, start_token: str) -> str:
    parts = urlsplit(request_url)
    query = dict(parse_qsl(parts.query))
    query["start_token"] = start_token
    return urlunsplit(parts._replace(query=urlencode(query)))


def _check_single_burst_pair(granules: list[str]) -> None:
    first, second = granules
    first_id, second_id = ("_".join(name.split("_")[1:3]) for name in granules)
    if first_id != second_id:
        raise ValueError(f"Burst IDs do not match for {first} and {second}.")
    first_pol, second_pol = (name.split("_")[4] for name in granules)
    if first_pol != second_pol:
        raise ValueError(
            f"The requested scenes need to have the same polarization, got: {first_pol}, {second_pol}"
        )
    if first_pol not in ("VV", "HH"):
        raise ValueError(f"Only VV and HH polarizations are currently supported, got: {first_pol}")


def _check_dem_coverage(granules: list[str]) -> None:
    """HyP3's check_dem_coverage: the granules' footprint must lie on the DEM."""
    if dem_gap(frame_key_of_granules(granules)) is not None:
        raise ValueError(f"Some requested scene(s) do not have DEM coverage: {', '.join(granules)}")


def _check_multi_burst(reference: list[str], secondary: list[str]) -> None:
    if len(reference) > _MAX_MULTI_BURST_PAIRS or len(secondary) > _MAX_MULTI_BURST_PAIRS:
        raise ValueError(
            f"Must provide no more than {_MAX_MULTI_BURST_PAIRS} scene pairs, got "
            f"{len(reference)} reference and {len(secondary)} secondary"
        )
    if not reference or not secondary:
        raise ValueError("Must include at least 1 reference scene and 1 secondary scene")
    if len(reference) != len(secondary):
        raise ValueError(
            "Must provide the same number of reference and secondary scenes, got "
            f"{len(reference)} reference and {len(secondary)} secondary"
        )

    def identity(scene: str) -> str:
        parts = scene.split("_")
        return "_".join([parts[1], parts[2], parts[4]])

    reference_ids = {identity(scene) for scene in reference}
    if reference_ids != {identity(scene) for scene in secondary}:
        raise ValueError(
            "Burst number + swath + polarization identifiers must be the same for reference "
            "scenes and secondary scenes"
        )
    if len(reference_ids) != len(reference):
        raise ValueError(
            "Each reference scene must have a unique burst number + swath + polarization identifier"
        )
    pols = sorted({scene.split("_")[4] for scene in reference})
    if len(pols) > 1:
        raise ValueError(
            f"Scenes must have the same polarization. Polarizations present: {', '.join(pols)}"
        )
    if pols[0] not in ("VV", "HH"):
        raise ValueError(f"{pols[0]} polarization is not currently supported, only VV and HH")

    def times(scenes: list[str]) -> list[datetime]:
        return sorted(datetime.strptime(scene.split("_")[3], "%Y%m%dT%H%M%S") for scene in scenes)

    reference_times, secondary_times = times(reference), times(secondary)
    window = timedelta(minutes=2)
    if reference_times[-1] - reference_times[0] > window:
        raise ValueError(
            "Reference scenes must fall within a 2-minute window in order to ensure they were "
            "collected during the same pass"
        )
    if secondary_times[-1] - secondary_times[0] > window:
        raise ValueError(
            "Secondary scenes must fall within a 2-minute window in order to ensure they were "
            "collected during the same pass"
        )
    if reference_times[-1] >= secondary_times[0]:
        raise ValueError("Reference scenes must be older than secondary scenes")
    _check_contiguous_bursts(reference)


def _check_contiguous_bursts(scenes: list[str]) -> None:
    """HyP3's burst guide asks for a contiguous set without holes (the bursts are merged into one
    image); the sandbox refuses other sets at submission, in the API's message style.

    Contiguous: consecutive burst ids within each swath, adjacent swaths, and neighbouring
    swaths' burst ranges touching or overlapping.
    """
    by_swath: dict[int, list[int]] = {}
    for scene in scenes:
        parts = scene.split("_")
        by_swath.setdefault(int(parts[2][2:]), []).append(int(parts[1]))
    for swath, ids in sorted(by_swath.items()):
        missing = sorted(set(range(min(ids), max(ids) + 1)) - set(ids))
        if missing:
            raise ValueError(
                f"Bursts must be contiguous, but IW{swath} is missing burst(s) "
                f"{', '.join(str(i) for i in missing)}"
            )
    swaths = sorted(by_swath)
    if swaths != list(range(swaths[0], swaths[-1] + 1)):
        raise ValueError(
            f"Bursts must be contiguous, but swaths {', '.join(f'IW{s}' for s in swaths)} "
            "are not adjacent"
        )
    for left, right in itertools.pairwise(swaths):
        a, b = by_swath[left], by_swath[right]
        if min(b) > max(a) + 1 or min(a) > max(b) + 1:
            raise ValueError(
                f"Bursts must be contiguous, but the IW{left} and IW{right} bursts do not touch"
            )
