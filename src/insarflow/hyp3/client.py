"""hyp3_sdk clients with the timeouts, retries and error messages the SDK itself lacks.

hyp3_sdk sends every request without a timeout and never retries. Each client's session here
gets an adapter that applies a timeout to every request and retries idempotent calls (GET,
PATCH) on 429/5xx and connection errors with exponential backoff and jitter, honouring
Retry-After; this is the only retry layer for API calls. POST /jobs is never retried here:
whether a failed POST was applied is decided by looking the job names up
(``insarflow.hyp3.submit``).

Failures become one-line ``ServiceError``s that name the URL or the account and what to do:
an unreachable API (after the retries), a rejected token (401) and a refused account (403,
e.g. HyP3 access not approved). A response hook reads the status from the response itself,
so hyp3_sdk's own error text is never parsed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import hyp3_sdk.jobs
import orjson
import requests
from dateutil.parser import parse as parse_any_date
from hyp3_sdk import HyP3
from hyp3_sdk.exceptions import AuthenticationError
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from insarflow.errors import ServiceError
from insarflow.hyp3.credentials import Account

log = logging.getLogger(__name__)

RETRY_STATUSES = (429, 500, 502, 503, 504)
API_TRIES = 5  # retries after the first try: about 16 s of backoff in all
TOKEN_URL = "https://urs.earthdata.nasa.gov/user_tokens"
ACCESS_URL = "https://hyp3-docs.asf.alaska.edu/using/requesting_access/"


class HttpRefusal(ServiceError):
    """HyP3 answered with a 4xx status (400, 401, 403, 404...): the request was not applied."""

    def __init__(self, status: int, detail: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail


class _CountingRetry(Retry):
    """Retry that counts its tries and says on the console that it is waiting."""

    def __init__(self, *args: Any, tries: list[int] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tries = tries if tries is not None else [1]

    def new(self, **kwargs: Any) -> Retry:
        retry = super().new(**kwargs)
        retry.tries = self.tries
        return retry

    def increment(self, *args: Any, **kwargs: Any) -> Retry:
        new = super().increment(*args, **kwargs)
        self.tries[0] += 1
        error, response = kwargs.get("error"), kwargs.get("response")
        reason = error.__class__.__name__ if error else f"HTTP {getattr(response, 'status', '?')}"
        log.warning("HyP3 did not answer (%s); try %d of %d", reason, self.tries[0], API_TRIES + 1)
        return new


def api_retry(total: int = API_TRIES, backoff: float = 0.5) -> Retry:
    """Retry policy for idempotent API calls (GET/PATCH)."""
    return _CountingRetry(
        total=total,
        connect=total,
        read=total,
        status=total,
        backoff_factor=backoff,
        backoff_jitter=backoff,
        backoff_max=30,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET", "PATCH", "HEAD"}),
        respect_retry_after_header=True,
        raise_on_status=False,
    )


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class _TimeoutAdapter(HTTPAdapter):
    def __init__(self, timeout: float, **kwargs: Any) -> None:
        self._timeout = timeout
        super().__init__(**kwargs)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout
        started = time.monotonic()
        counter = getattr(self.max_retries, "tries", [1])
        counter[0] = 1
        try:
            return super().send(request, **kwargs)
        except (requests.ConnectionError, requests.Timeout) as error:
            tries = counter[0]
            raise ServiceError(
                f"cannot reach {_origin(request.url or '')} after {tries} tries over "
                f"{time.monotonic() - started:.0f} s ({_short_reason(error)}); check the network "
                "and hyp3.api_url, then rerun (nothing is lost)"
            ) from None


def _short_reason(error: BaseException) -> str:
    text = str(error)
    for marker in ("Connection refused", "timed out", "Name or service not known", "reset"):
        if marker in text:
            return marker
    return error.__class__.__name__


def _detail(response: requests.Response) -> str:
    try:
        return str(response.json().get("detail", "")).strip() or response.reason
    except ValueError:
        return response.reason or ""


def _parse_once(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    """Make ``response.json()`` parse the body once, with orjson.

    hyp3_sdk's ``find_jobs`` calls it three times per page, and a polling round lists every job
    in its window: at 10,000 jobs, decoding was the largest part of a listing's CPU, and orjson
    decodes HyP3's jobs in about two thirds of the time of the standard library. A body that
    orjson refuses goes to requests' own parser, so errors stay requests' errors.
    """
    parse = response.json
    parsed: list[Any] = []

    def json_once(**json_kwargs: Any) -> Any:
        if json_kwargs:
            return parse(**json_kwargs)
        if not parsed:
            try:
                parsed.append(orjson.loads(response.content))
            except orjson.JSONDecodeError:
                parsed.append(parse())
        return parsed[0]

    response.json = json_once  # type: ignore[method-assign]


PageListener = Callable[[list[dict[str, Any]]], None]
_page_listener: ContextVar[PageListener | None] = ContextVar("page_listener", default=None)


@contextmanager
def each_listed_page(listener: PageListener) -> Iterator[None]:
    """Hand every page of the ``find_jobs`` listings made in this block to ``listener``.

    ``find_jobs`` returns only once it has every page, and a listing of 10,000 jobs takes 18
    pages and most of a second. The listener sees each page's jobs (as HyP3 sends them, not
    to be changed) as soon as that page arrives, so a polling round can start a download
    before the rest of the window is listed. Only this thread's listings are handed over.
    """
    token = _page_listener.set(listener)
    try:
        yield
    finally:
        _page_listener.reset(token)


def _hand_over_page(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    listener = _page_listener.get()
    if listener is None or response.status_code != 200:
        return
    page = response.json()
    if isinstance(page, dict) and isinstance(page.get("jobs"), list):
        listener(page["jobs"])


def parse_job_date(text: str) -> datetime:
    """A HyP3 timestamp as hyp3_sdk's ``Job.from_dict`` reads it, ISO 8601 parsed natively.

    The SDK parses each job's dates with dateutil, whose general-purpose parser was two thirds
    of the CPU of listing 10,000 jobs (a polling round lists every job in its window). HyP3
    writes ISO 8601, which ``datetime.fromisoformat`` reads about 50 times faster to the same
    instant; anything else still goes to dateutil.
    """
    try:
        return datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return parse_any_date(text)


hyp3_sdk.jobs.parse_date = parse_job_date


def _status_hook(account: Account):
    def hook(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        status = response.status_code
        if status < 400 or status == 429 or status >= 500:
            return
        url, detail = _origin(response.url), _detail(response)
        if status == 401:
            what = "token" if account.token else "login"
            message = (
                f"HyP3 at {url} rejected the {what} of account '{account.name}' "
                f"(HTTP 401: {detail}); renew the token at {TOKEN_URL} and update "
                "EARTHDATA_TOKEN or hyp3.credentials_file"
            )
        elif status == 403:
            message = (
                f"HyP3 at {url} refused account '{account.name}' (HTTP 403: {detail}); accept "
                "the EULAs and complete the study area in your Earthdata profile, or request "
                f"HyP3 access ({ACCESS_URL})"
            )
        elif 400 <= status < 500 and status != 429:
            message = f"HyP3 at {url} refused the request (HTTP {status}): {detail}"
        else:
            return
        raise HttpRefusal(status, detail, message)

    return hook


def harden_session(session: requests.Session, timeout: float, retry: Retry | None = None) -> None:
    adapter = _TimeoutAdapter(timeout, max_retries=retry or api_retry())
    session.mount("http://", adapter)
    session.mount("https://", adapter)


def connect(api_url: str, account: Account, timeout: float) -> HyP3:
    """A hyp3_sdk client for one account, with timeouts, retries and one-line errors."""
    try:
        if account.token:
            client = HyP3(api_url=api_url, token=account.token)
        else:
            # Username/password authentication goes to Earthdata Login once, here.
            client = HyP3(api_url=api_url, username=account.username, password=account.password)
    except AuthenticationError as error:
        # EULA or study-area problems: hyp3_sdk's message carries the resolution URL.
        raise ServiceError(f"Earthdata login of account '{account.name}' failed: {error}") from None
    except requests.RequestException as error:
        raise ServiceError(
            f"cannot reach Earthdata Login for account '{account.name}' "
            f"({_short_reason(error)}); check the network, or use a token (EARTHDATA_TOKEN)"
        ) from None
    harden_session(client.session, timeout)
    client.session.hooks["response"].append(_status_hook(account))
    client.session.hooks["response"].append(_parse_once)
    client.session.hooks["response"].append(_hand_over_page)
    return client
