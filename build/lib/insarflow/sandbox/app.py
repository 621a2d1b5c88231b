"""The HTTP face of the sandbox: HyP3's routes, product URLs and the ``/_sandbox`` admin routes."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from insarflow.errors import UserError
from insarflow.sandbox.faults import FaultMiddleware, problem_body
from insarflow.sandbox.service import ProblemError, Sandbox
from insarflow.sandbox.store import UserRecord
from insarflow.sandbox.users import SandboxUser

log = logging.getLogger(__name__)

_NOT_FOUND = (
    "The requested URL was not found on the server. If you entered the URL manually please "
    "check your spelling and try again."
)


def problem(status: int, detail: str) -> Response:
    """A problem+json error response, the shape every HyP3 4xx/5xx has."""
    return Response(
        problem_body(status, detail), status_code=status, media_type="application/problem+json"
    )


class ProductFileResponse(FileResponse):
    """A FileResponse (Range, If-Range, HEAD, Content-Length) whose Range errors (400, 416) are
    problem+json like every other error of the sandbox."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        error: dict[str, Any] = {}

        async def send_problems(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start" and message["status"] in (400, 416):
                error.update(status=message["status"], headers=message.get("headers", []))
                return
            if error and message["type"] == "http.response.body":
                body = problem_body(
                    error["status"], message.get("body", b"").decode() or "Bad Range"
                )
                headers = [
                    (key, value)
                    for key, value in error["headers"]
                    if key.lower() not in (b"content-type", b"content-length")
                ]
                headers += [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                ]
                await send(
                    {"type": "http.response.start", "status": error["status"], "headers": headers}
                )
                await send({"type": "http.response.body", "body": body, "more_body": False})
                return
            await send(message)

        await super().__call__(scope, receive, send_problems)


def _json(payload: Any, status: int = 200) -> Response:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return Response(body, status_code=status, media_type="application/json")


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ProblemError(400, "The request body is not valid JSON") from None


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def create_app(sandbox: Sandbox) -> FaultMiddleware:
    """The ASGI application: FastAPI routes wrapped in the fault-injection middleware."""
    api = FastAPI(title="insarflow HyP3 sandbox", openapi_url=None, docs_url=None, redoc_url=None)

    @api.exception_handler(ProblemError)
    async def _problem(_: Request, error: ProblemError) -> Response:
        return problem(error.status, error.detail)

    @api.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, error: StarletteHTTPException) -> Response:
        detail = _NOT_FOUND if error.status_code == 404 else str(error.detail)
        return problem(error.status_code, detail)

    @api.exception_handler(Exception)
    async def _unexpected(_: Request, error: Exception) -> Response:
        log.exception("sandbox request failed")
        return problem(500, f"Internal Server Error: {type(error).__name__}: {error}")

    def user_of(request: Request) -> UserRecord:
        return sandbox.authenticate(
            request.headers.get("authorization"), request.cookies.get("asf-urs")
        )

    # -- HyP3 API ----------------------------------------------------------------------------

    @api.get("/costs")
    async def get_costs() -> Response:
        return _json(sandbox.costs())

    @api.get("/openapi.json")
    async def get_openapi() -> Response:
        return _json(sandbox.spec.openapi)

    @api.post("/jobs")
    async def post_jobs(request: Request) -> Response:
        user = user_of(request)
        return _json(sandbox.submit(user, await _json_body(request)))

    @api.get("/jobs")
    async def get_jobs(request: Request) -> Response:
        user = user_of(request)
        query = dict(request.query_params)
        return _json(sandbox.list_jobs(user, query, str(request.url), _base_url(request)))

    @api.patch("/jobs")
    async def patch_jobs(request: Request) -> Response:
        user = user_of(request)
        return _json(sandbox.patch_jobs(user, await _json_body(request)))

    @api.get("/jobs/{job_id}")
    async def get_job(job_id: str, request: Request) -> Response:
        user_of(request)
        return _json(sandbox.get_job(job_id, _base_url(request)))

    @api.patch("/jobs/{job_id}")
    async def patch_job(job_id: str, request: Request) -> Response:
        user = user_of(request)
        body = await _json_body(request)
        return _json(sandbox.patch_job(user, job_id, body, _base_url(request)))

    @api.get("/user")
    async def get_user(request: Request) -> Response:
        return _json(sandbox.user_info(user_of(request)))

    @api.patch("/user")
    async def patch_user(request: Request) -> Response:
        user = user_of(request)
        return _json(sandbox.patch_user(user, await _json_body(request)))

    # -- admin (loopback only, like everything else) ------------------------------------------

    @api.get("/_sandbox/health")
    async def health() -> Response:
        return _json({"status": "ok"})

    @api.get("/_sandbox/faults")
    async def get_faults() -> Response:
        return _json(sandbox.injector.snapshot())

    @api.post("/_sandbox/faults")
    async def post_faults(request: Request) -> Response:
        changes = await _json_body(request)
        if not isinstance(changes, dict):
            raise ProblemError(400, "send a JSON object of fault options")
        try:
            if changes.pop("reset", False):
                sandbox.injector.configure(type(sandbox.injector.config)())
            sandbox.injector.update(changes)
        except (TypeError, ValueError) as error:
            raise ProblemError(400, str(error)) from None
        return _json(sandbox.injector.snapshot())

    @api.get("/_sandbox/settings")
    async def get_settings() -> Response:
        return _json(vars(sandbox.settings))

    @api.post("/_sandbox/settings")
    async def post_settings(request: Request) -> Response:
        changes = await _json_body(request)
        if not isinstance(changes, dict):
            raise ProblemError(400, "send a JSON object of settings")
        try:
            settings = sandbox.update_settings(changes)
        except (TypeError, ValueError) as error:
            raise ProblemError(400, str(error)) from None
        return _json(vars(settings))

    @api.get("/_sandbox/stats")
    async def get_stats() -> Response:
        return _json(sandbox.statistics())

    @api.post("/_sandbox/stats/reset")
    async def reset_stats() -> Response:
        sandbox.stats.reset()
        sandbox.injector.injected.clear()
        return _json(sandbox.statistics())

    @api.get("/_sandbox/users")
    async def get_users() -> Response:
        return _json([_admin_user_view(sandbox, user) for user in sandbox.store.users()])

    @api.post("/_sandbox/users")
    async def post_user(request: Request) -> Response:
        data = await _json_body(request)
        if not isinstance(data, dict):
            raise ProblemError(400, "send a JSON object {name, token, credits, application_status}")
        try:
            user = SandboxUser.from_mapping(data, sandbox.settings.default_credits)
        except (TypeError, UserError) as error:
            raise ProblemError(400, str(error)) from None
        record = sandbox.add_user(user)
        return _json(_admin_user_view(sandbox, record))

    @api.post("/_sandbox/jobs/{job_id}/expire")
    async def expire_job(job_id: str, request: Request) -> Response:
        sandbox.expire_job(job_id)
        return _json(sandbox.get_job(job_id, _base_url(request)))

    # -- product URLs: no authentication, like HyP3's CloudFront distribution ------------------

    @api.api_route("/products/{job_id}/{filename}", methods=["GET", "HEAD"])
    async def get_product_file(job_id: str, filename: str, request: Request) -> Response:
        content, media_type = await run_in_threadpool(sandbox.product_file, job_id, filename)
        if isinstance(content, bytes):
            if request.method == "HEAD":
                return Response(
                    media_type=media_type, headers={"content-length": str(len(content))}
                )
            return Response(content, media_type=media_type)
        return ProductFileResponse(content, media_type=media_type, filename=filename)

    return FaultMiddleware(api, sandbox.injector, sandbox.stats)


def _admin_user_view(sandbox: Sandbox, user: UserRecord) -> dict[str, Any]:
    view = sandbox.user_info(user)
    view["has_token"] = user.token_sha256 is not None
    view["has_password"] = user.password_sha256 is not None
    return view
