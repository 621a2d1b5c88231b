"""Every response conforms to HyP3's OpenAPI spec (checked with openapi-core, independently of
the sandbox's own validators), and every error is problem+json with a ``detail``."""

from __future__ import annotations

import time
from datetime import date

import hyp3_sdk
import pytest
import requests
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from sandbox_helpers import burst, insar_job, slc, slc_pairs

from insarflow.sandbox import FaultConfig, SandboxUser
from insarflow.sandbox.spec import SPEC_DIR

API_PATHS = ("/jobs", "/user", "/costs")


@pytest.fixture(scope="module")
def openapi() -> OpenAPI:
    return OpenAPI.from_file_path(str(SPEC_DIR / "openapi-spec.yml"))


def test_all_responses_conform_to_the_spec(start_sandbox, openapi: OpenAPI) -> None:
    doomed = slc(date(2020, 3, 4))
    server = start_sandbox(
        processing_seconds=1.0,
        page_size=4,
        faults=FaultConfig(fail_granules=(doomed,)),
        users=[
            SandboxUser(name="u", token="t"),
            SandboxUser(name="unlimited", token="u2", credits=None),
        ],
    )
    collected: list[requests.Response] = []
    hyp3 = hyp3_sdk.HyP3(api_url=server.base_url, token="t")
    hyp3.session.hooks["response"].append(lambda response, **_: collected.append(response))
    unlimited = hyp3_sdk.HyP3(api_url=server.base_url, token="u2")
    unlimited.session.hooks["response"].append(lambda response, **_: collected.append(response))

    batch = hyp3.submit_prepared_jobs(
        [insar_job(*pair, name="n") for pair in slc_pairs(3)]
        + [insar_job(slc(date(2020, 2, 21)), doomed)]
    )
    batch += hyp3.submit_insar_isce_burst_job(burst(date(2020, 6, 4)), burst(date(2020, 6, 16)))
    batch += hyp3.submit_insar_isce_multi_burst_job(
        [burst(date(2024, 1, 1), 5)], [burst(date(2024, 1, 13), 5)]
    )
    batch += hyp3.submit_rtc_job(slc(date(2020, 1, 4)), name="rtc")
    batch += unlimited.submit_prepared_jobs(insar_job(*slc_pairs(1)[0]))
    hyp3.refresh(batch)  # PENDING
    time.sleep(0.5)
    hyp3.refresh(batch)  # RUNNING
    hyp3.watch(batch, timeout=30, interval=0.3)  # SUCCEEDED and FAILED
    requests.post(f"{server.base_url}/_sandbox/jobs/{batch[0].job_id}/expire", timeout=10)
    hyp3.find_jobs()
    hyp3.find_jobs(status_code="FAILED")
    hyp3.update_jobs(batch[:2], name="renamed")
    hyp3.update_jobs(batch[2], name=None)
    hyp3.my_info()
    unlimited.my_info()
    hyp3.costs()
    hyp3.session.post(
        f"{server.base_url}/jobs",
        json={"jobs": [insar_job(*slc_pairs(1)[0])], "validate_only": True},
    )
    hyp3.session.patch(f"{server.base_url}/jobs/{batch[0].job_id}", json={"name": "single"})

    checked = set()
    for response in collected:
        path = response.request.path_url.split("?")[0]
        if not path.startswith(API_PATHS):
            continue
        assert response.status_code == 200, response.text
        if path == "/user" and response.json()["remaining_credits"] is None:
            # The one place HyP3 itself departs from its spec: unlimited users get null
            # (hyp3_sdk's check_credits documents None). Everything else must still conform.
            checked.add("unlimited user")
            response._content = response.content.replace(
                b'"remaining_credits":null', b'"remaining_credits":0'
            )
        openapi.validate_response(
            RequestsOpenAPIRequest(response.request), RequestsOpenAPIResponse(response)
        )
        body = response.json()
        for job in body.get("jobs", [body]) if isinstance(body, dict) else []:
            if isinstance(job, dict) and "status_code" in job:
                checked.add(job["status_code"])
        checked.add(f"{response.request.method} {path.split('/')[1]}")
    assert {"PENDING", "RUNNING", "SUCCEEDED", "FAILED"} <= checked
    assert {"POST jobs", "GET jobs", "PATCH jobs", "GET user", "GET costs"} <= checked
    assert "unlimited user" in checked


def test_the_spec_check_rejects_a_nonconforming_response(sandbox, openapi: OpenAPI) -> None:
    """The check above can fail: a job without its required keys is caught."""
    response = requests.get(
        f"{sandbox.base_url}/jobs", headers={"Authorization": "Bearer sandbox-token"}, timeout=10
    )
    response._content = b'{"jobs": [{"job_id": "not-a-uuid"}]}'
    with pytest.raises(Exception, match="not valid for schema"):
        openapi.validate_response(
            RequestsOpenAPIRequest(response.request), RequestsOpenAPIResponse(response)
        )


@pytest.mark.parametrize(
    ("method", "path", "headers", "status"),
    [
        ("GET", "/jobs", {}, 401),
        ("GET", "/user", {"Authorization": "Bearer nope"}, 401),
        (
            "GET",
            "/jobs/27836b79-e5b2-4d8f-932f-659724ea02c3",
            {"Authorization": "Bearer sandbox-token"},
            404,
        ),
        ("GET", "/jobs/123", {"Authorization": "Bearer sandbox-token"}, 400),
        ("PATCH", "/jobs", {"Authorization": "Bearer sandbox-token"}, 400),
        ("GET", "/no/such/path", {}, 404),
        ("DELETE", "/costs", {}, 405),
        ("GET", "/products/27836b79-e5b2-4d8f-932f-659724ea02c3/x.zip", {}, 404),
    ],
)
def test_errors_are_problem_json_with_detail(
    sandbox, method: str, path: str, headers: dict[str, str], status: int
) -> None:
    response = requests.request(
        method, f"{sandbox.base_url}{path}", headers=headers, json={}, timeout=10
    )
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert isinstance(body["detail"], str) and body["detail"]
