"""Fixtures: an isolated HOME/NETRC, and sandboxes served on loopback in-process."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import hyp3_sdk
import pytest

from insarflow.sandbox import SandboxServer


@pytest.fixture(autouse=True)
def isolated_network_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Loopback traffic bypasses proxies; no user .netrc can replace the Bearer header."""
    for variable in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("NETRC", str(home / ".netrc"))


@pytest.fixture
def start_sandbox(tmp_path: Path) -> Iterator[Callable[..., SandboxServer]]:
    """Start sandboxes (state under tmp_path unless given); all are stopped at the end."""
    servers: list[SandboxServer] = []

    def start(state_dir: Path | None = None, **options: object) -> SandboxServer:
        options.setdefault("processing_seconds", 0.5)
        server = SandboxServer(state_dir or tmp_path / f"state{len(servers)}", **options)
        servers.append(server.start())
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def sandbox(start_sandbox: Callable[..., SandboxServer]) -> SandboxServer:
    return start_sandbox()


@pytest.fixture
def hyp3(sandbox: SandboxServer) -> hyp3_sdk.HyP3:
    return hyp3_sdk.HyP3(api_url=sandbox.base_url, token="sandbox-token")
