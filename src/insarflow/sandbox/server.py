"""Run the sandbox with uvicorn on 127.0.0.1, in a background thread of the calling process."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn

from insarflow.errors import UserError
from insarflow.sandbox.app import create_app
from insarflow.sandbox.faults import FaultConfig
from insarflow.sandbox.service import DYNAMODB_PAGE_BYTES, MAX_PAGE_SIZE, Sandbox, SandboxSettings
from insarflow.sandbox.users import SandboxUser, default_user

HOST = "127.0.0.1"
_START_TIMEOUT_S = 15.0
_STOP_TIMEOUT_S = 15.0


def bind_loopback(port: int) -> socket.socket:
    """A listening socket on 127.0.0.1:port (0 = a free port); UserError if it is taken."""
    # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose proto
    # says TCP, and without it every response waits ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
    except OSError as error:
        sock.close()
        raise UserError(
            f"sandbox port {port}: cannot listen on {HOST}:{port} ({error.strerror}); "
            "choose another port or 0 for a free one"
        ) from None
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


class SandboxServer:
    """An offline HyP3 API on ``http://127.0.0.1:<port>``, served from a background thread.

    >>> with SandboxServer(Path("state"), processing_seconds=1) as server:
    ...     hyp3 = hyp3_sdk.HyP3(api_url=server.base_url, token="sandbox-token")

    ``users`` replaces the default user (token ``sandbox-token``, ``credits`` credits). State
    (users, credits, jobs, products) lives in ``state_dir`` and survives a restart.
    """

    def __init__(
        self,
        state_dir: Path,
        port: int = 0,
        processing_seconds: float = 3.0,
        credits: float | None = 8000,
        users: list[SandboxUser] | None = None,
        faults: FaultConfig | None = None,
        *,
        pending_seconds: float | None = None,
        processing_spread_seconds: float = 0.0,
        page_size: int = MAX_PAGE_SIZE,
        page_bytes: int = DYNAMODB_PAGE_BYTES,
        product_lifetime_days: float = 14.0,
        open_registration: bool = False,
        log_level: str = "warning",
        render_ahead: bool = False,
    ) -> None:
        settings = SandboxSettings(
            processing_seconds=processing_seconds,
            pending_seconds=pending_seconds,
            processing_spread_seconds=processing_spread_seconds,
            page_size=page_size,
            page_bytes=page_bytes,
            product_lifetime_days=product_lifetime_days,
            open_registration=open_registration,
            default_credits=credits,
        )
        self.sandbox = Sandbox(
            Path(state_dir),
            settings=settings,
            users=users if users is not None else [default_user(credits)],
            faults=faults,
            render_ahead=render_ahead,
        )
        self._requested_port = port
        self._log_level = log_level
        self._socket: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port: int | None = None

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError("the sandbox is not running; call start() first")
        return f"http://{HOST}:{self.port}"

    def start(self) -> SandboxServer:
        if self._thread is not None:
            return self
        self._socket = bind_loopback(self._requested_port)
        self.port = self._socket.getsockname()[1]
        config = uvicorn.Config(
            create_app(self.sandbox),
            log_level=self._log_level,
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
            timeout_keep_alive=30,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            name=f"hyp3-sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the HyP3 sandbox did not start on {HOST}:{self.port}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(_STOP_TIMEOUT_S)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None
        self.sandbox.close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- runtime control (the same as the /_sandbox admin routes) ------------------------------

    @property
    def faults(self) -> FaultConfig:
        return self.sandbox.injector.config

    def set_faults(self, config: FaultConfig | None = None, **changes: Any) -> FaultConfig:
        """Replace the fault configuration, or change some of its fields."""
        if config is not None:
            self.sandbox.injector.configure(config)
        if changes:
            self.sandbox.injector.update(changes)
        return self.sandbox.injector.config

    def update_settings(self, **changes: Any) -> SandboxSettings:
        return self.sandbox.update_settings(changes)

    def stats(self) -> dict[str, Any]:
        return self.sandbox.statistics()

    def expire_job(self, job_id: str) -> None:
        self.sandbox.expire_job(job_id)

    def add_user(self, user: SandboxUser) -> None:
        self.sandbox.add_user(user)
