"""hyp3_sdk clients with the timeouts and retries the SDK itself does not set.

hyp3_sdk sends every request without a timeout and never retries. Here each client's
session gets an adapter that applies a timeout to every request and retries idempotent
calls (GET, PATCH) on 429/5xx and connection errors with exponential backoff and jitter,
honouring Retry-After. POST /jobs is never retried at this level: whether a failed POST
was applied is decided by looking the job names up (see ``insarflow.hyp3.submit``).
"""

from __future__ import annotations

import logging
from typing import Any

import requests
from hyp3_sdk import HyP3
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from insarflow.hyp3.credentials import Account

log = logging.getLogger(__name__)

RETRY_STATUSES = (429, 500, 502, 503, 504)


class _TimeoutAdapter(HTTPAdapter):
    def __init__(self, timeout: float, **kwargs: Any) -> None:
        self._timeout = timeout
        super().__init__(**kwargs)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout
        return super().send(request, **kwargs)


def api_retry(total: int = 6, backoff: float = 0.5) -> Retry:
    """Retry policy for idempotent API calls (GET/PATCH)."""
    return Retry(
        total=total,
        connect=total,
        read=total,
        status=total,
        backoff_factor=backoff,
        backoff_jitter=backoff,
        backoff_max=60,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET", "PATCH", "HEAD"}),
        respect_retry_after_header=True,
        raise_on_status=False,
    )


def harden_session(session: requests.Session, timeout: float, retry: Retry | None = None) -> None:
    adapter = _TimeoutAdapter(timeout, max_retries=retry or api_retry())
    session.mount("http://", adapter)
    session.mount("https://", adapter)


def connect(api_url: str, account: Account, timeout: float) -> HyP3:
    """A hyp3_sdk client for one account, with timeouts and retries on its session."""
    if account.token:
        client = HyP3(api_url=api_url, token=account.token)
    else:
        # Username/password authentication goes to Earthdata Login once, here.
        client = HyP3(api_url=api_url, username=account.username, password=account.password)
    harden_session(client.session, timeout)
    return client
