"""Faults on demand: HTTP errors, latency, broken downloads, lost responses, failures, expiry."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import hyp3_sdk
import pytest
import requests
from hyp3_sdk.exceptions import HyP3Error, HyP3SDKError, ServerError, ServiceUnavailableError
from sandbox_helpers import admin, insar_job, slc, slc_pairs

from insarflow.sandbox import FaultConfig

PAIR = (slc(date(2020, 1, 4)), slc(date(2020, 1, 16)))


def _finished(hyp3: hyp3_sdk.HyP3, jobs: list[dict] | dict) -> hyp3_sdk.Batch:
    return hyp3.watch(hyp3.submit_prepared_jobs(jobs), timeout=30, interval=0.2)


def test_injected_http_errors_reach_the_sdk_as_hyp3_would_raise_them(sandbox, hyp3) -> None:
    admin(sandbox.base_url, "faults", {"error_rate": 1.0, "error_codes": [503]})
    with pytest.raises(ServiceUnavailableError, match=r"503.*HyP3 is currently unavailable"):
        hyp3.check_credits()

    admin(sandbox.base_url, "faults", {"error_codes": [500]})
    with pytest.raises(ServerError):
        hyp3.find_jobs()

    admin(sandbox.base_url, "faults", {"error_codes": [429]})
    response = requests.get(f"{sandbox.base_url}/costs", timeout=10)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    assert response.json()["detail"] == "Too Many Requests (sandbox fault injection)"
    with pytest.raises(HyP3Error, match="429"):
        hyp3.my_info()

    stats = admin(sandbox.base_url, "stats")
    assert stats["faults"] == {"error_503": 1, "error_500": 1, "error_429": 2}
    assert stats["responses"]["429"] == 2

    admin(sandbox.base_url, "faults", {"reset": True})
    assert hyp3.check_credits() == 8000

    bad = requests.post(f"{sandbox.base_url}/_sandbox/faults", json={"error_rate": 2}, timeout=10)
    assert bad.status_code == 400
    assert bad.json()["detail"] == "fault error_rate=2 is not allowed; use a number from 0 to 1"
    bad = requests.post(f"{sandbox.base_url}/_sandbox/faults", json={"eror_rate": 1}, timeout=10)
    assert bad.status_code == 400
    assert bad.json()["detail"].startswith("unknown fault option(s) ['eror_rate']")


def test_error_rate_is_a_share_of_requests_and_seeded(start_sandbox) -> None:
    def statuses(seed: int) -> list[int]:
        server = start_sandbox(faults=FaultConfig(error_rate=0.3, error_codes=(502,), seed=seed))
        return [requests.get(f"{server.base_url}/costs", timeout=10).status_code for _ in range(60)]

    first, again, other = statuses(7), statuses(7), statuses(8)
    assert first == again  # same seed, same faults
    assert first != other
    assert set(first) == {200, 502}
    assert 8 <= first.count(502) <= 30


def test_unavailable_and_latency(sandbox, hyp3) -> None:
    sandbox.set_faults(unavailable=True)
    with pytest.raises(ServiceUnavailableError, match="HyP3 is currently unavailable"):
        hyp3.submit_prepared_jobs(insar_job(*PAIR))
    sandbox.set_faults(unavailable=False, latency_s=0.3)

    started = time.monotonic()
    job = _finished(hyp3, insar_job(*PAIR))[0]
    hyp3.costs()
    assert time.monotonic() - started >= 0.6
    started = time.monotonic()
    requests.get(job.files[0]["url"], timeout=10)
    assert time.monotonic() - started < 0.3  # API latency does not slow downloads

    sandbox.set_faults(latency_s=0, download_latency_s=0.3)
    started = time.monotonic()
    requests.get(job.files[0]["url"], timeout=10)
    assert time.monotonic() - started >= 0.3


def test_lost_post_response_is_applied_and_charged(sandbox, hyp3) -> None:
    admin(sandbox.base_url, "faults", {"lose_post_response_count": 1})

    with pytest.raises(requests.exceptions.ConnectionError):
        hyp3.submit_prepared_jobs(insar_job(*PAIR, name="lost"))

    # The client never saw an answer, but the job exists and was paid for.
    assert [job.name for job in hyp3.find_jobs()] == ["lost"]
    assert hyp3.check_credits() == 7990
    assert admin(sandbox.base_url, "faults")["lose_post_response_count"] == 0
    hyp3.submit_prepared_jobs(insar_job(*PAIR, name="answered"))
    assert hyp3.check_credits() == 7980


def test_lost_post_response_can_hang_until_the_client_times_out(sandbox, hyp3) -> None:
    sandbox.set_faults(lose_post_response_count=1, lose_post_response_mode="hang", hang_seconds=5)

    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.post(
            f"{sandbox.base_url}/jobs",
            json={"jobs": [insar_job(*PAIR, name="hung")]},
            headers={"Authorization": "Bearer sandbox-token"},
            timeout=(2, 0.5),
        )
    assert time.monotonic() - started < 3
    assert [job.name for job in hyp3.find_jobs()] == ["hung"]


def test_rejected_posts_are_answered_even_while_responses_are_being_lost(sandbox, hyp3) -> None:
    sandbox.set_faults(lose_post_response_count=1)
    with pytest.raises(HyP3Error, match="400"):
        hyp3.submit_prepared_jobs(insar_job(*PAIR, looks="1x1"))
    assert sandbox.faults.lose_post_response_count == 1  # still armed for a successful POST


@pytest.mark.parametrize("fault", ["drop_download_rate", "truncate_download_rate"])
def test_broken_downloads_leave_a_short_file_and_raise(
    sandbox, hyp3, tmp_path: Path, fault: str
) -> None:
    job = _finished(hyp3, insar_job(*PAIR))[0]
    size = job.files[0]["size"]
    sandbox.set_faults(**{fault: 1.0})

    with pytest.raises(requests.exceptions.RequestException):
        job.download_files(tmp_path)
    partial = tmp_path / job.files[0]["filename"]
    assert partial.stat().st_size < size

    response = requests.get(job.files[0]["url"], stream=True, timeout=10)
    assert int(response.headers["content-length"]) == size  # the promise is the whole file
    with pytest.raises(requests.exceptions.RequestException):
        response.content  # noqa: B018
    kind = "dropped_download" if fault.startswith("drop") else "truncated_download"
    assert sandbox.stats()["faults"][kind] == 2

    sandbox.set_faults(**{fault: 0.0})
    assert job.download_files(tmp_path)[0].stat().st_size == size


def test_failures_at_a_rate_and_for_chosen_granules(start_sandbox, tmp_path: Path) -> None:
    doomed = slc(date(2020, 2, 9))
    server = start_sandbox(faults=FaultConfig(fail_granules=(doomed,)))
    hyp3 = hyp3_sdk.HyP3(api_url=server.base_url, token="sandbox-token")
    pairs = slc_pairs(4)  # the third and fourth pairs use the doomed scene

    batch = _finished(hyp3, [insar_job(*pair) for pair in pairs])

    assert [job.status_code for job in batch] == ["SUCCEEDED", "SUCCEEDED", "FAILED", "FAILED"]
    failed = batch[2]
    assert failed.files == [] and failed.processing_times is None
    assert failed.expiration_time is not None and failed.expiration_time.tzinfo is not None
    log = requests.get(failed.logs[0], timeout=10)
    assert log.status_code == 200
    assert f"{doomed} is configured to fail" in log.text
    downloaded = batch.download_files(tmp_path)  # failed jobs are skipped with a warning
    assert len(downloaded) == 2

    # A count fails only the next jobs using the scene: a resubmission then succeeds.
    server.set_faults(fail_granules={doomed: 1})
    retried = _finished(hyp3, [insar_job(*pairs[2]), insar_job(*pairs[2])])
    assert [job.status_code for job in retried] == ["FAILED", "SUCCEEDED"]
    assert admin(server.base_url, "faults")["fail_granules"] == {doomed: 0}

    server.set_faults(fail_granules=(), failure_rate=1.0)
    assert all(job.failed() for job in _finished(hyp3, [insar_job(*pair) for pair in pairs[:2]]))


def test_slow_granules_delay_only_their_jobs(start_sandbox) -> None:
    slow = slc(date(2020, 1, 4))
    server = start_sandbox(processing_seconds=0.2, faults=FaultConfig(slow_granules={slow: 2.0}))
    hyp3 = hyp3_sdk.HyP3(api_url=server.base_url, token="sandbox-token")
    pairs = slc_pairs(3)  # only the first pair uses the slow scene
    batch = _finished(hyp3, [insar_job(*pair) for pair in pairs])
    times = [job.processing_times[0] for job in batch]
    assert times[0] == pytest.approx(2.16, abs=0.02)
    assert times[1:] == [pytest.approx(0.16, abs=0.02)] * 2
    assert admin(server.base_url, "faults")["slow_granules"] == {slow: 2.0}

    bad = requests.post(
        f"{server.base_url}/_sandbox/faults", json={"slow_granules": {slow: -1}}, timeout=10
    )
    assert bad.status_code == 400
    assert bad.json()["detail"] == (
        f"fault slow_granules[{slow!r}]=-1 is not allowed; use a number >= 0"
    )


def test_expired_products_cannot_be_downloaded(sandbox, hyp3, tmp_path: Path) -> None:
    first, second = _finished(hyp3, [insar_job(*pair) for pair in slc_pairs(2)])
    url = first.files[0]["url"]

    expired = admin(sandbox.base_url, f"jobs/{first.job_id}/expire", {})

    assert expired["job_id"] == first.job_id
    first = hyp3.get_job_by_id(first.job_id)
    assert first.expired()
    with pytest.raises(HyP3SDKError, match="Expired jobs cannot be downloaded"):
        first.download_files(tmp_path)
    assert requests.get(url, timeout=10).status_code == 404
    assert not hyp3.get_job_by_id(second.job_id).expired()

    sandbox.set_faults(expire_products=True)
    assert hyp3.find_jobs().any_expired()
    assert all(job.expired() for job in hyp3.find_jobs())
    assert requests.get(second.files[0]["url"], timeout=10).status_code == 404
