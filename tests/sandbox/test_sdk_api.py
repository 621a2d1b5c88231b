"""The real hyp3_sdk client against the sandbox: jobs, paging, credits, users and errors."""

from __future__ import annotations

import itertools
import json
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import hyp3_sdk
import pytest
import requests
from hyp3_sdk.exceptions import HyP3Error
from sandbox_helpers import admin, burst, insar_job, slc, slc_pairs

from insarflow.sandbox import SandboxUser
from insarflow.sandbox.spec import SPEC_DIR

GAMMA_DEFAULTS = json.loads((SPEC_DIR / "default_params_by_job_type.json").read_text())[
    "INSAR_GAMMA"
]


def test_submit_one_job_merges_defaults_and_charges_the_cost_table(hyp3: hyp3_sdk.HyP3) -> None:
    reference, secondary = slc_pairs(1)[0]
    prepared = hyp3.prepare_insar_job(reference, secondary, name="one", looks="10x2")
    # Drop some options: the server must fill them in from the spec's defaults.
    for option in ("include_dem", "phase_filter_parameter", "apply_water_mask"):
        del prepared["job_parameters"][option]

    batch = hyp3.submit_prepared_jobs(prepared)

    assert len(batch) == 1
    job = batch[0]
    assert job.status_code == "PENDING"
    assert job.name == "one"
    assert job.credit_cost == 15  # INSAR_GAMMA 10x2 in the production cost table
    assert job.job_parameters == {**GAMMA_DEFAULTS, **prepared["job_parameters"]}
    assert job.job_parameters["phase_filter_parameter"] == 0.6
    assert job.request_time.tzinfo is not None
    assert hyp3.check_credits() == 8000 - 15
    info = hyp3.my_info()
    assert info["user_id"] == "sandbox-user"
    assert info["application_status"] == "APPROVED"
    assert info["job_names"] == ["one"]


def test_200_jobs_are_accepted_and_201_rejected_whole(start_sandbox, tmp_path: Path) -> None:
    server = start_sandbox(processing_seconds=60)
    hyp3 = hyp3_sdk.HyP3(api_url=server.base_url, token="sandbox-token")
    jobs = [insar_job(*pair, name=f"batch{i % 3}") for i, pair in enumerate(slc_pairs(201))]

    with pytest.raises(HyP3Error) as rejected:
        hyp3.submit_prepared_jobs(jobs)
    assert "400" in str(rejected.value)
    assert "201 jobs submitted; a request holds 1 to 200 jobs" in str(rejected.value)
    assert hyp3.check_credits() == 8000
    assert len(hyp3.find_jobs()) == 0

    batch = hyp3.submit_prepared_jobs(jobs[:200])
    assert len(batch) == 200
    assert len({job.job_id for job in batch}) == 200
    assert len({job.request_time for job in batch}) == 1  # one request time per submission
    assert batch.total_credit_cost() == 2000
    assert hyp3.check_credits() == 6000
    # Priority counts down the credits left before each job, as HyP3 does.
    assert [job.priority for job in batch[:3]] == [8000, 7990, 7980]


def test_insufficient_credits_reject_the_whole_batch_with_hyp3s_message(start_sandbox) -> None:
    server = start_sandbox(users=[SandboxUser(name="poor", token="poor-token", credits=25)])
    hyp3 = hyp3_sdk.HyP3(api_url=server.base_url, token="poor-token")
    pairs = slc_pairs(3)

    with pytest.raises(HyP3Error) as rejected:
        hyp3.submit_prepared_jobs([insar_job(*pair) for pair in pairs])
    assert str(rejected.value).endswith(
        "These jobs would cost 30.0 credits, but you have only 25 remaining."
    )
    assert hyp3.check_credits() == 25
    assert len(hyp3.find_jobs()) == 0

    hyp3.submit_prepared_jobs([insar_job(*pair) for pair in pairs[:2]])
    assert hyp3.check_credits() == 5
    with pytest.raises(HyP3Error, match=r"would cost 15\.0 credits, but you have only 5 remaining"):
        hyp3.submit_prepared_jobs(insar_job(*pairs[2], looks="10x2"))
    # Burst jobs cost 1 credit: they still fit.
    hyp3.submit_insar_isce_burst_job(burst(datetime(2020, 6, 4)), burst(datetime(2020, 6, 16)))
    assert hyp3.check_credits() == 4


def test_validate_only_neither_stores_nor_charges(sandbox, hyp3: hyp3_sdk.HyP3) -> None:
    session = requests.Session()
    session.headers["Authorization"] = "Bearer sandbox-token"
    body = {"jobs": [insar_job(*slc_pairs(1)[0])], "validate_only": True}

    response = session.post(f"{sandbox.base_url}/jobs", json=body, timeout=10)

    assert response.status_code == 200
    assert response.json()["validate_only"] is True
    assert response.json()["jobs"][0]["credit_cost"] == 10
    assert hyp3.check_credits() == 8000
    assert len(hyp3.find_jobs()) == 0


def test_find_jobs_follows_every_page_and_filters(start_sandbox) -> None:
    server = start_sandbox(page_size=7, processing_seconds=0)
    hyp3 = hyp3_sdk.HyP3(api_url=server.base_url, token="sandbox-token")
    gamma = hyp3.submit_prepared_jobs(
        [
            insar_job(*pair, name="even" if i % 2 == 0 else "odd")
            for i, pair in enumerate(slc_pairs(20))
        ]
    )
    bursts = hyp3.submit_insar_isce_burst_job(
        burst(datetime(2020, 6, 4)), burst(datetime(2020, 6, 16)), name="burst"
    )
    admin(server.base_url, "stats/reset", {})

    everything = hyp3.find_jobs()

    assert sorted(job.job_id for job in everything) == sorted(job.job_id for job in gamma + bursts)
    assert admin(server.base_url, "stats")["requests"]["GET /jobs"] == 3  # 21 jobs, 7 a page
    assert {job.job_id for job in hyp3.find_jobs(name="even")} == {
        job.job_id for job in gamma if job.name == "even"
    }
    assert [job.job_id for job in hyp3.find_jobs(job_type="INSAR_ISCE_BURST")] == [bursts[0].job_id]
    assert len(hyp3.find_jobs(status_code="SUCCEEDED")) == 21
    assert len(hyp3.find_jobs(status_code="PENDING")) == 0
    submitted = gamma[0].request_time
    assert len(hyp3.find_jobs(start=submitted - timedelta(seconds=1))) == 21
    assert len(hyp3.find_jobs(start=submitted + timedelta(hours=1))) == 0
    assert len(hyp3.find_jobs(end=submitted - timedelta(hours=1))) == 0
    assert len(hyp3.find_jobs(end=datetime.now(UTC) + timedelta(hours=1))) == 21


def test_a_page_ends_after_page_bytes_of_jobs_as_a_dynamodb_query_page_does(
    start_sandbox,
) -> None:
    # HyP3 lists with one DynamoDB query per page and no Limit: a page is 1 MB of jobs.
    server = start_sandbox(page_bytes=5000, processing_seconds=0)
    hyp3 = hyp3_sdk.HyP3(api_url=server.base_url, token="sandbox-token")
    submitted = hyp3.submit_prepared_jobs([insar_job(*pair, name="p") for pair in slc_pairs(12)])
    time.sleep(0.5)
    session = requests.Session()
    session.headers["Authorization"] = "Bearer sandbox-token"

    pages, url = [], f"{server.base_url}/jobs"
    while url:
        body = session.get(url, timeout=10).json()
        pages.append(body["jobs"])
        url = body.get("next")

    def size(job: dict) -> int:
        return len(json.dumps(job, separators=(",", ":")))

    assert len(pages) > 2
    for page, following in itertools.pairwise(pages):
        assert sum(map(size, page)) <= 5000 < sum(map(size, page)) + size(following[0])
    assert sorted(job["job_id"] for page in pages for job in page) == sorted(
        job.job_id for job in submitted
    )
    stats = admin(server.base_url, "stats")
    assert stats["page_bytes"] == 5000
    assert stats["smallest_full_page"] == min(len(page) for page in pages[:-1])
    assert len(hyp3.find_jobs()) == 12


def test_paging_uses_absolute_next_urls_and_omits_next_on_the_last_page(start_sandbox) -> None:
    server = start_sandbox(page_size=2)
    hyp3 = hyp3_sdk.HyP3(api_url=server.base_url, token="sandbox-token")
    hyp3.submit_prepared_jobs([insar_job(*pair, name="p") for pair in slc_pairs(3)])
    session = requests.Session()
    session.headers["Authorization"] = "Bearer sandbox-token"

    first = session.get(f"{server.base_url}/jobs", params={"name": "p"}, timeout=10).json()
    assert len(first["jobs"]) == 2
    assert first["next"].startswith(f"{server.base_url}/jobs?")
    assert "name=p" in first["next"] and "start_token=" in first["next"]
    last = session.get(first["next"], timeout=10).json()
    assert len(last["jobs"]) == 1
    assert "next" not in last
    seen = [job["job_id"] for job in first["jobs"] + last["jobs"]]
    assert len(set(seen)) == 3

    bad = session.get(f"{server.base_url}/jobs", params={"start_token": "nonsense"}, timeout=10)
    assert bad.status_code == 400
    assert bad.json()["detail"] == "Invalid start_token value"
    bad = session.get(f"{server.base_url}/jobs", params={"status_code": "DONE"}, timeout=10)
    assert bad.status_code == 400
    assert "status_code" in bad.json()["detail"]


def test_get_job_by_id_and_unknown_ids(sandbox, hyp3: hyp3_sdk.HyP3) -> None:
    job = hyp3.submit_prepared_jobs(insar_job(*slc_pairs(1)[0], name="lookup"))[0]

    found = hyp3.get_job_by_id(job.job_id)
    assert found.job_id == job.job_id
    assert found.name == "lookup"

    unknown = "27836b79-e5b2-4d8f-932f-659724ea02c3"
    with pytest.raises(HyP3Error, match=f"404.*job_id does not exist: {unknown}"):
        hyp3.get_job_by_id(unknown)
    with pytest.raises(HyP3Error, match="400"):
        hyp3.get_job_by_id("not-a-uuid")


def test_jobs_progress_pending_running_succeeded_and_watch_returns(start_sandbox) -> None:
    server = start_sandbox(processing_seconds=1.5, pending_seconds=0.5)
    hyp3 = hyp3_sdk.HyP3(api_url=server.base_url, token="sandbox-token")
    job = hyp3.submit_prepared_jobs(insar_job(*slc_pairs(1)[0]))[0]

    seen = []
    while not seen or seen[-1] != "SUCCEEDED":
        status = hyp3.get_job_by_id(job.job_id).status_code
        if not seen or seen[-1] != status:
            seen.append(status)
        time.sleep(0.05)
    assert seen == ["PENDING", "RUNNING", "SUCCEEDED"]

    second = hyp3.submit_prepared_jobs(insar_job(*slc_pairs(2)[1]))
    done = hyp3.watch(second, timeout=20, interval=0.2)
    assert done.complete() and done.succeeded()
    finished = done[0]
    assert finished.processing_times == [pytest.approx(1.0, abs=0.01)]
    assert finished.logs == []
    expires = finished.expiration_time
    assert expires.tzinfo is not None and (expires.hour, expires.minute) == (0, 0)
    assert timedelta(days=14) <= expires - datetime.now(UTC) <= timedelta(days=15)
    assert not finished.expired()


def test_processing_spread_makes_jobs_finish_at_different_times(start_sandbox) -> None:
    server = start_sandbox(processing_seconds=0.2, processing_spread_seconds=3)
    hyp3 = hyp3_sdk.HyP3(api_url=server.base_url, token="sandbox-token")
    batch = hyp3.submit_prepared_jobs([insar_job(*pair) for pair in slc_pairs(20)])
    done = hyp3.watch(batch, timeout=30, interval=0.2)
    assert done.succeeded()
    times = sorted(job.processing_times[0] for job in done)
    # 0.2 s (a fifth of it PENDING, so 0.16 s RUNNING) plus up to 3 s fixed by the job id.
    assert times[0] >= 0.16 - 0.01 and times[-1] <= 3.16 + 0.01
    assert times[-1] - times[0] > 1.0
    assert len(set(times)) > 10


def test_update_jobs_renames_and_removes_names_and_guards_other_users(start_sandbox) -> None:
    server = start_sandbox(
        users=[
            SandboxUser(name="alice", token="alice-token"),
            SandboxUser(name="bob", token="bob-token"),
        ]
    )
    alice = hyp3_sdk.HyP3(api_url=server.base_url, token="alice-token")
    bob = hyp3_sdk.HyP3(api_url=server.base_url, token="bob-token")
    batch = alice.submit_prepared_jobs([insar_job(*pair, name="old") for pair in slc_pairs(3)])

    alice.update_jobs(batch, name="new")
    assert len(alice.find_jobs(name="new")) == 3
    assert alice.my_info()["job_names"] == ["new"]
    alice.update_jobs(batch[0], name=None)
    assert alice.get_job_by_id(batch[0].job_id).name is None
    assert alice.my_info()["job_names"] == ["new"]

    with (
        pytest.warns(UserWarning),
        pytest.raises(HyP3Error, match=r"403.*belongs to a different user"),
    ):
        bob.update_jobs(batch[1], name="stolen")
    assert alice.get_job_by_id(batch[1].job_id).name == "new"


def test_costs_are_the_production_cost_table(hyp3: hyp3_sdk.HyP3) -> None:
    costs = hyp3.costs()
    expected = json.loads((SPEC_DIR / "costs_EDC.json").read_text())
    assert costs == expected
    assert costs["INSAR_GAMMA"]["cost_table"] == {"20x4": 10, "10x2": 15}
    assert isinstance(costs["INSAR_GAMMA"]["cost_table"]["20x4"], int)  # whole numbers as ints


def test_each_token_is_its_own_user(start_sandbox) -> None:
    server = start_sandbox(
        users=[
            SandboxUser(name="pool-1", token="token-1", credits=100),
            SandboxUser(name="pool-2", token="token-2", credits=None),
        ]
    )
    first = hyp3_sdk.HyP3(api_url=server.base_url, token="token-1")
    second = hyp3_sdk.HyP3(api_url=server.base_url, token="token-2")

    first.submit_prepared_jobs(insar_job(*slc_pairs(1)[0]))

    assert first.check_credits() == 90
    assert second.check_credits() is None  # unlimited
    assert second.my_info()["user_id"] == "pool-2"
    assert len(first.find_jobs()) == 1
    assert len(second.find_jobs()) == 0
    job = first.find_jobs()[0]
    assert second.get_job_by_id(job.job_id).user_id == "pool-1"  # jobs are public by id
    assert [found.job_id for found in second.find_jobs(user_id="pool-1")] == [job.job_id]


def test_authentication_errors_and_basic_auth_from_netrc(
    sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    anonymous = requests.get(f"{sandbox.base_url}/user", timeout=10)
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"
    assert anonymous.json()["detail"] == "No authorization token provided"
    with pytest.raises(HyP3Error, match=r"401.*Invalid authorization token provided"):
        hyp3_sdk.HyP3(api_url=sandbox.base_url, token="wrong").my_info()

    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login sandbox-user password sandbox-token\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    # requests replaces the Bearer header with Basic credentials from the .netrc entry.
    via_netrc = hyp3_sdk.HyP3(api_url=sandbox.base_url, token="ignored-by-requests")
    assert via_netrc.my_info()["user_id"] == "sandbox-user"
    netrc.write_text("machine 127.0.0.1 login sandbox-user password wrong\n")
    with pytest.raises(HyP3Error, match=r"401.*Invalid username or password"):
        via_netrc.my_info()


def test_unapproved_users_get_403_and_no_credits(start_sandbox) -> None:
    server = start_sandbox(
        users=[SandboxUser(name="newbie", token="newbie-token", application_status="PENDING")]
    )
    hyp3 = hyp3_sdk.HyP3(api_url=server.base_url, token="newbie-token")

    with pytest.raises(HyP3Error, match=r"403.*newbie's request for access is pending review"):
        hyp3.submit_prepared_jobs(insar_job(*slc_pairs(1)[0]))
    info = hyp3.my_info()
    assert info["application_status"] == "PENDING"
    assert info["remaining_credits"] == 0

    # Approving the user (admin route) makes the same submission work.
    admin(server.base_url, "users", {"name": "newbie", "token": "newbie-token", "credits": 50})
    hyp3.submit_prepared_jobs(insar_job(*slc_pairs(1)[0]))
    assert hyp3.check_credits() == 40


def test_resubmitting_a_job_dict_is_accepted(sandbox, hyp3: hyp3_sdk.HyP3) -> None:
    job = hyp3.submit_prepared_jobs(insar_job(*slc_pairs(1)[0], name="again"))[0]

    again = hyp3.submit_prepared_jobs(job.to_dict(for_resubmit=True))[0]

    assert again.job_id != job.job_id
    assert again.bucket_prefix == again.job_id
    assert again.job_parameters == job.job_parameters


def test_slc_pair_order_does_not_matter_for_naming(hyp3: hyp3_sdk.HyP3) -> None:
    early, late = slc(date(2020, 1, 4)), slc(date(2020, 2, 9))
    forward = hyp3.submit_prepared_jobs(insar_job(early, late))[0]
    backward = hyp3.submit_prepared_jobs(insar_job(late, early))[0]
    finished = hyp3.watch(hyp3_sdk.Batch([forward, backward]), timeout=20, interval=0.2)
    names = [job.files[0]["filename"] for job in finished]
    # The earlier scene is the reference whatever the submitted order; 36 days apart.
    for name in names:
        assert name.startswith("S1AA_20200104T014512_20200209T014512_VVP036_INT80_G_ueF_")
    assert names[0] != names[1]  # the product id differs per job


def test_open_registration_turns_unknown_tokens_into_new_users(start_sandbox) -> None:
    server = start_sandbox(open_registration=True, credits=50)
    newcomer = hyp3_sdk.HyP3(api_url=server.base_url, token="a-brand-new-token")

    info = newcomer.my_info()

    assert info["user_id"].startswith("user-")
    assert info["remaining_credits"] == 50
    assert newcomer.my_info()["user_id"] == info["user_id"]  # the same token, the same user
    newcomer.submit_prepared_jobs(insar_job(*slc_pairs(1)[0]))
    assert newcomer.check_credits() == 40
    assert hyp3_sdk.HyP3(api_url=server.base_url, token="sandbox-token").check_credits() == 50


def test_patch_user_applies_for_access(start_sandbox) -> None:
    server = start_sandbox(
        users=[
            SandboxUser(name="fresh", token="fresh-token", application_status="NOT_STARTED"),
            SandboxUser(name="done", token="done-token"),
        ]
    )

    def patch(token: str, body: dict) -> requests.Response:
        return requests.patch(
            f"{server.base_url}/user",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )

    applied = patch("fresh-token", {"use_case": "Rehearsing a run."})
    assert applied.status_code == 200
    assert applied.json()["application_status"] == "PENDING"
    assert applied.json()["use_case"] == "Rehearsing a run."
    assert patch("fresh-token", {"use_case": "x", "access_code": "123"}).status_code == 403
    assert patch("fresh-token", {}).status_code == 400
    approved = patch("done-token", {"use_case": "again"})
    assert approved.status_code == 403
    assert "already approved" in approved.json()["detail"]
