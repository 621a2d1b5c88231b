"""Fault injection: what goes wrong between a HyP3 client and the service, on demand.

``FaultConfig`` says what to break; ``FaultInjector`` holds it (replaceable while the server runs)
with a seeded random generator, so a given sequence of requests meets the same faults every run.
``FaultMiddleware`` is a plain ASGI middleware in front of the app: it adds latency, answers with
5xx/429 errors, drops or truncates downloads mid-body and swallows the response of an applied
``POST /jobs``. Breaking a connection needs the server's transport; with uvicorn the middleware
reaches it through the ``send`` callable, otherwise it falls back to an incomplete response.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import random
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

ERROR_CODES = (429, 500, 502, 503, 504)
ERROR_SCOPES = ("api", "downloads", "all")
LOST_RESPONSE_MODES = ("close", "hang")
UNAVAILABLE_DETAIL = "HyP3 is currently unavailable. Please try again later."

_FAILURE_REASONS = (
    "ERROR: Found azimuth offset of 0.0523! Coregistration of the pair failed.",
    "Unable to download the orbit file: no precise or restituted orbit covers the scene.",
    "Job exceeded its timeout: processing killed after 10800 seconds.",
    "Host EC2 (instance i-0sandbox) terminated.",
)


def _rate(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
        raise ValueError(f"fault {name}={value!r} is not allowed; use a number from 0 to 1")
    return float(value)


def _non_negative(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"fault {name}={value!r} is not allowed; use a number >= 0")
    return float(value)


def _granule_delays(value: Any) -> tuple[tuple[str, float], ...]:
    """Normalise slow_granules to sorted (name, seconds) pairs."""
    if not isinstance(value, Mapping | tuple | list) or isinstance(value, str):
        raise ValueError("fault slow_granules must be a mapping {scene/burst name: seconds}")
    pairs = list(value.items()) if isinstance(value, Mapping) else list(value)
    normalised: dict[str, float] = {}
    for item in pairs:
        if not (isinstance(item, tuple | list) and len(item) == 2):
            raise ValueError("fault slow_granules must be a mapping {scene/burst name: seconds}")
        name, seconds = item
        normalised[str(name)] = _non_negative(f"slow_granules[{name!r}]", seconds)
    return tuple(sorted(normalised.items()))


def _granule_failures(value: Any) -> tuple[tuple[str, int | None], ...]:
    """Normalise fail_granules to sorted (name, count) pairs; count None = every job."""
    if isinstance(value, str):
        raise ValueError("fault fail_granules must be a list or a mapping of scene/burst names")
    if isinstance(value, Mapping):
        pairs = list(value.items())
    else:
        pairs = [item if isinstance(item, tuple | list) else (item, None) for item in value]
    normalised: dict[str, int | None] = {}
    for name, count in pairs:
        if count is not None and (
            isinstance(count, bool) or not isinstance(count, int) or count < 0
        ):
            raise ValueError(
                f"fault fail_granules[{name!r}]={count!r} is not allowed; use a count >= 0 or null"
            )
        normalised[str(name)] = count
    return tuple(sorted(normalised.items()))


@dataclass(frozen=True)
class FaultConfig:
    """What the sandbox breaks on purpose. All off by default.

    error_rate/error_codes/error_scope: answer that share of requests with one of these statuses
        (chosen at random) instead of handling them; scope ``api`` (HyP3 API paths), ``downloads``
        (product URLs) or ``all``.
    latency_s: delay every API request by this many seconds.
    download_latency_s: delay every product download by this many seconds.
    drop_download_rate: reset the connection halfway through that share of downloads.
    truncate_download_rate: send half the body of that share of downloads, then close cleanly
        (Content-Length still announces the whole file).
    lose_post_response_count: the next N successful ``POST /jobs`` are applied and charged, but the
        client never gets the response: the connection is closed (mode ``close``) or held open for
        ``hang_seconds`` first (mode ``hang``, for clients with a read timeout).
    failure_rate: share of newly submitted jobs that end FAILED (decided at submission).
    fail_granules: jobs using these scene/burst names end FAILED. A list fails every such job; a
        mapping {name: N} fails only the next N jobs using the name (so a resubmission succeeds).
    slow_granules: jobs using these scene/burst names take this many seconds longer to process
        ({name: seconds}), e.g. one straggler among many quick jobs.
    expire_products: every finished job reports an expiration_time in the past and its files 404.
    unavailable: every API request gets HyP3's 503 "currently unavailable" answer.
    seed: seed of the random generator behind every rate above.
    """

    seed: int = 0
    error_rate: float = 0.0
    error_codes: tuple[int, ...] = (500, 502, 503, 429)
    error_scope: str = "api"
    latency_s: float = 0.0
    download_latency_s: float = 0.0
    drop_download_rate: float = 0.0
    truncate_download_rate: float = 0.0
    lose_post_response_count: int = 0
    lose_post_response_mode: str = "close"
    hang_seconds: float = 30.0
    failure_rate: float = 0.0
    fail_granules: (
        tuple[tuple[str, int | None], ...] | Mapping[str, int | None] | tuple[str, ...]
    ) = ()
    slow_granules: tuple[tuple[str, float], ...] | Mapping[str, float] = ()
    expire_products: bool = False
    unavailable: bool = False

    def __post_init__(self) -> None:
        for name in ("error_rate", "drop_download_rate", "truncate_download_rate", "failure_rate"):
            object.__setattr__(self, name, _rate(name, getattr(self, name)))
        for name in ("latency_s", "download_latency_s", "hang_seconds"):
            object.__setattr__(self, name, _non_negative(name, getattr(self, name)))
        codes = tuple(self.error_codes)
        if not codes or any(code not in ERROR_CODES for code in codes):
            raise ValueError(
                f"fault error_codes={list(codes)!r} is not allowed; use some of {list(ERROR_CODES)}"
            )
        object.__setattr__(self, "error_codes", codes)
        if self.error_scope not in ERROR_SCOPES:
            raise ValueError(
                f"fault error_scope={self.error_scope!r} is not allowed; use one of {ERROR_SCOPES}"
            )
        if self.lose_post_response_mode not in LOST_RESPONSE_MODES:
            raise ValueError(
                f"fault lose_post_response_mode={self.lose_post_response_mode!r} is not allowed;"
                f" use one of {LOST_RESPONSE_MODES}"
            )
        count = self.lose_post_response_count
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(
                f"fault lose_post_response_count={count!r} is not allowed; use an integer >= 0"
            )
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError(f"fault seed={self.seed!r} is not allowed; use an integer")
        object.__setattr__(self, "fail_granules", _granule_failures(self.fail_granules))
        object.__setattr__(self, "slow_granules", _granule_delays(self.slow_granules))
        for name in ("expire_products", "unavailable"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(
                    f"fault {name}={getattr(self, name)!r} is not allowed; use a boolean"
                )

    def to_dict(self) -> dict[str, Any]:
        values = dataclasses.asdict(self)
        values["error_codes"] = list(self.error_codes)
        values["fail_granules"] = dict(self.fail_granules)
        values["slow_granules"] = dict(self.slow_granules)
        return values

    def updated(self, changes: Mapping[str, Any]) -> FaultConfig:
        """A copy with some fields changed; unknown names raise ValueError."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ValueError(f"unknown fault option(s) {unknown}; known: {sorted(known)}")
        values = dict(changes)
        if isinstance(values.get("error_codes"), list):
            values["error_codes"] = tuple(values["error_codes"])
        return dataclasses.replace(self, **values)


@dataclass
class FaultInjector:
    """The current FaultConfig plus the seeded generator and counters behind it."""

    config: FaultConfig = field(default_factory=FaultConfig)
    injected: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self.configure(self.config)

    def configure(self, config: FaultConfig) -> None:
        with self._lock:
            self.config = config
            self._random = random.Random(config.seed)
            self._lost_posts_left = config.lose_post_response_count
            self._failures_left = dict(config.fail_granules)

    def update(self, changes: Mapping[str, Any]) -> FaultConfig:
        config = self.config.updated(changes)
        self.configure(config)
        return config

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            values = self.config.to_dict()
            values["lose_post_response_count"] = self._lost_posts_left
            values["fail_granules"] = dict(self._failures_left)
            return values

    def draw(self, rate: float) -> bool:
        if rate <= 0.0:
            return False
        with self._lock:
            return self._random.random() < rate

    def choose(self, options: tuple[Any, ...]) -> Any:
        with self._lock:
            return self._random.choice(options)

    def count(self, kind: str) -> None:
        with self._lock:
            self.injected[kind] += 1

    def lost_post_pending(self) -> bool:
        return self._lost_posts_left > 0

    def take_lost_post(self) -> bool:
        with self._lock:
            if self._lost_posts_left <= 0:
                return False
            self._lost_posts_left -= 1
            self.injected["lost_post_response"] += 1
            return True

    def extra_seconds_for(self, granules: list[str]) -> float:
        """How much longer than usual a newly submitted job takes (``slow_granules``)."""
        delays = dict(self.config.slow_granules)
        return max((delays.get(granule, 0.0) for granule in granules), default=0.0)

    def failure_for(self, granules: list[str]) -> str | None:
        """Why a newly submitted job will fail, or None if it will succeed."""
        with self._lock:
            for granule in granules:
                if granule not in self._failures_left:
                    continue
                left = self._failures_left[granule]
                if left is None or left > 0:
                    if left is not None:
                        self._failures_left[granule] = left - 1
                    self.injected["failed_job"] += 1
                    return f"Sandbox fault injection: {granule} is configured to fail."
        if self.draw(self.config.failure_rate):
            self.count("failed_job")
            return self.choose(_FAILURE_REASONS)
        return None


class RequestStats:
    """Request counts per route (``"GET /jobs"``, ``"POST /jobs"``, ...) and per status code."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: Counter[str] = Counter()
        self.responses: Counter[str] = Counter()

    def record_request(self, route: str) -> None:
        with self._lock:
            self.requests[route] += 1

    def record_response(self, status: int) -> None:
        with self._lock:
            self.responses[str(status)] += 1

    def snapshot(self) -> dict[str, dict[str, int]]:
        with self._lock:
            return {"requests": dict(self.requests), "responses": dict(self.responses)}

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.responses.clear()


def classify(method: str, path: str) -> tuple[str, str]:
    """(kind, route) of a request: kind is api, download, admin or other."""
    if path.startswith("/_sandbox"):
        return "admin", f"{method} {path}"
    parts = [part for part in path.split("/") if part]
    if parts[:1] == ["jobs"]:
        return "api", f"{method} /jobs" if len(parts) == 1 else f"{method} /jobs/{{job_id}}"
    if parts in (["user"], ["costs"]):
        return "api", f"{method} /{parts[0]}"
    if len(parts) == 3 and parts[0] == "products":
        return "download", f"{method} /products/{{job_id}}/{{filename}}"
    return "other", f"{method} {path}"


def problem_body(status: int, detail: str) -> bytes:
    return json.dumps(
        {
            "status": status,
            "detail": detail,
            "title": HTTPStatus(status).phrase,
            "type": "about:blank",
        }
    ).encode()


async def send_problem(send: Send, status: int, detail: str) -> None:
    body = problem_body(status, detail)
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if status in (429, 503):
        headers.append((b"retry-after", b"1"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def break_connection(send: Send, *, reset: bool) -> bool:
    """Close (FIN) or reset (RST) the client connection under ``send``; False if unreachable."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:
        return False
    if reset:
        transport.abort()
    else:
        transport.close()
    # Let the server notice the disconnect before the app returns, so it does not report an
    # unfinished response as an application error.
    for _ in range(3):
        await asyncio.sleep(0)
    return True


_KINDS_IN_ERROR_SCOPE = {"api": ("api",), "downloads": ("download",), "all": ("api", "download")}

_INJECTED_DETAIL = {
    429: "Too Many Requests (sandbox fault injection)",
    500: "Internal Server Error (sandbox fault injection)",
    502: "Bad Gateway (sandbox fault injection)",
    503: UNAVAILABLE_DETAIL,
    504: "Endpoint request timed out (sandbox fault injection)",
}


class FaultMiddleware:
    """ASGI middleware that counts requests and injects the configured faults."""

    def __init__(self, app: ASGIApp, injector: FaultInjector, stats: RequestStats) -> None:
        self.app = app
        self.injector = injector
        self.stats = stats

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        kind, route = classify(method, path)
        if kind == "admin":
            await self.app(scope, receive, send)
            return
        self.stats.record_request(route)
        stats = self.stats

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                stats.record_response(message["status"])
            await send(message)

        await self._handle(kind, method, path, scope, receive, counting_send, send)

    async def _handle(
        self,
        kind: str,
        method: str,
        path: str,
        scope: Scope,
        receive: Receive,
        send: Send,
        raw_send: Send,
    ) -> None:
        injector = self.injector
        config = injector.config
        delay = {"api": config.latency_s, "download": config.download_latency_s}.get(kind, 0.0)
        if delay:
            await asyncio.sleep(delay)
        if config.unavailable and kind == "api":
            injector.count("unavailable")
            await send_problem(send, 503, UNAVAILABLE_DETAIL)
            return
        in_scope = kind in _KINDS_IN_ERROR_SCOPE[config.error_scope]
        if in_scope and injector.draw(config.error_rate):
            status = injector.choose(config.error_codes)
            injector.count(f"error_{status}")
            await send_problem(send, status, _INJECTED_DETAIL[status])
            return
        if kind == "api" and method == "POST" and path == "/jobs" and injector.lost_post_pending():
            await self._maybe_lose_response(scope, receive, send, raw_send, config)
            return
        if kind == "download" and method == "GET":
            if injector.draw(config.drop_download_rate):
                injector.count("dropped_download")
                await self._cut_download(scope, receive, send, raw_send, reset=True)
                return
            if injector.draw(config.truncate_download_rate):
                injector.count("truncated_download")
                await self._cut_download(scope, receive, send, raw_send, reset=False)
                return
        await self.app(scope, receive, send)

    async def _maybe_lose_response(
        self, scope: Scope, receive: Receive, send: Send, raw_send: Send, config: FaultConfig
    ) -> None:
        messages: list[Message] = []

        async def buffer(message: Message) -> None:
            messages.append(message)

        await self.app(scope, receive, buffer)
        status = next((m["status"] for m in messages if m["type"] == "http.response.start"), None)
        if status != 200 or not self.injector.take_lost_post():
            for message in messages:
                await send(message)
            return
        if config.lose_post_response_mode == "hang":
            await _wait_for_disconnect(receive, config.hang_seconds)
        if not await break_connection(raw_send, reset=False):
            # No transport to close: announce the body and never send it.
            start = next(m for m in messages if m["type"] == "http.response.start")
            await send(start)

    async def _cut_download(
        self, scope: Scope, receive: Receive, send: Send, raw_send: Send, *, reset: bool
    ) -> None:
        state = {"limit": -1, "sent": 0, "done": False, "passthrough": False}

        async def cutting_send(message: Message) -> None:
            if state["done"]:
                return
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers", []))
                length = int(headers.get(b"content-length", b"0"))
                if message["status"] not in (200, 206) or length < 2:
                    state["passthrough"] = True
                state["limit"] = length // 2
                await send(message)
                return
            if state["passthrough"]:
                await send(message)
                return
            body = message.get("body", b"")
            room = state["limit"] - state["sent"]
            if len(body) < room:
                state["sent"] += len(body)
                await send({"type": "http.response.body", "body": body, "more_body": True})
                return
            await send({"type": "http.response.body", "body": body[:room], "more_body": True})
            state["done"] = True
            await break_connection(raw_send, reset=reset)

        await self.app(scope, receive, cutting_send)


async def _wait_for_disconnect(receive: Receive, timeout: float) -> None:
    async def disconnected() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(disconnected(), timeout=timeout)
