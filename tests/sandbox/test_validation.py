"""Submissions are validated like HyP3 validates them: spec schemas first, then job validators."""

from __future__ import annotations

from datetime import date

import hyp3_sdk
import pytest
import requests
from hyp3_sdk.exceptions import HyP3Error
from sandbox_helpers import burst, insar_job, slc, slc_pairs

REFERENCE, SECONDARY = slc_pairs(1)[0]


def _post(sandbox, body: object) -> requests.Response:
    return requests.post(
        f"{sandbox.base_url}/jobs",
        json=body,
        headers={"Authorization": "Bearer sandbox-token"},
        timeout=10,
    )


def _multi(reference_ids: list[int], secondary_ids: list[int], pol: str = "VV") -> dict:
    return {
        "job_type": "INSAR_ISCE_MULTI_BURST",
        "job_parameters": {
            "reference": [burst(date(2024, 1, 1), i, pol=pol) for i in reference_ids],
            "secondary": [burst(date(2024, 1, 13), i, pol=pol) for i in secondary_ids],
        },
    }


BAD_JOBS = {
    "unknown parameter": (
        insar_job(REFERENCE, SECONDARY, resolution=30),
        "jobs[0].job_parameters: Additional properties are not allowed ('resolution' was unexpected)",
    ),
    "granule pattern": (
        insar_job(REFERENCE, "S2A_MSIL1C_20200627T150921_N0209_R025_T22WEB_20200627T170912_XXXXXX"),
        "jobs[0].job_parameters.granules[1]: 'S2A_MSIL1C_20200627T150921_N0209_R025_T22WEB_"
        "20200627T170912_XXXXXX' does not match '^S1[ABCD]_IW_SLC__1S[SD][VH]'",
    ),
    "granule length": (
        insar_job(REFERENCE, SECONDARY[:-1]),
        "jobs[0].job_parameters.granules[1]: ",
    ),
    "one granule": (
        {"job_type": "INSAR_GAMMA", "job_parameters": {"granules": [REFERENCE]}},
        "jobs[0].job_parameters.granules: ",
    ),
    "looks enum": (
        insar_job(REFERENCE, SECONDARY, looks="5x1"),
        "jobs[0].job_parameters.looks: '5x1' is not one of ['20x4', '10x2']",
    ),
    "empty name": (insar_job(REFERENCE, SECONDARY, name=""), "jobs[0].name: "),
    "long name": (insar_job(REFERENCE, SECONDARY, name="x" * 101), "jobs[0].name: "),
    "phase filter above 1": (
        insar_job(REFERENCE, SECONDARY, phase_filter_parameter=1.5),
        "jobs[0].job_parameters.phase_filter_parameter: 1.5 is greater than the maximum of 1.0",
    ),
    "phase filter below 0": (
        insar_job(REFERENCE, SECONDARY, phase_filter_parameter=-0.1),
        "jobs[0].job_parameters.phase_filter_parameter: -0.1 is less than the minimum of 0.0",
    ),
    "boolean option": (
        insar_job(REFERENCE, SECONDARY, include_dem="yes"),
        "jobs[0].job_parameters.include_dem: 'yes' is not of type 'boolean'",
    ),
    "unknown job type": (
        {"job_type": "INSAR_MAGIC", "job_parameters": {}},
        "jobs[0].job_type: 'INSAR_MAGIC' is not one of "
        "['INSAR_GAMMA', 'INSAR_ISCE_BURST', 'INSAR_ISCE_MULTI_BURST', 'RTC_GAMMA']",
    ),
    "no job type": (
        {"job_parameters": {"granules": [REFERENCE, SECONDARY]}},
        "jobs[0]: 'job_type' is a required property",
    ),
    "burst ids differ": (
        {
            "job_type": "INSAR_ISCE_BURST",
            "job_parameters": {
                "granules": [burst(date(2020, 6, 4)), burst(date(2020, 6, 16), 136232)]
            },
        },
        "Burst IDs do not match for S1_136231_IW2_20200604T022312_VV_7C85-BURST and "
        "S1_136232_IW2_20200616T022312_VV_7C85-BURST.",
    ),
    "burst cross-pol": (
        {
            "job_type": "INSAR_ISCE_BURST",
            "job_parameters": {
                "granules": [burst(date(2020, 6, 4), pol="VH"), burst(date(2020, 6, 16), pol="VH")]
            },
        },
        "Only VV and HH polarizations are currently supported, got: VH",
    ),
    "burst looks": (
        {
            "job_type": "INSAR_ISCE_BURST",
            "job_parameters": {
                "granules": [burst(date(2020, 6, 4)), burst(date(2020, 6, 16))],
                "looks": "1x1",
            },
        },
        "jobs[0].job_parameters.looks: '1x1' is not one of ['20x4', '10x2', '5x1']",
    ),
    "multi-burst counts": (
        _multi([1, 2], [1]),
        "Must provide the same number of reference and secondary scenes, got 2 reference and "
        "1 secondary",
    ),
    "multi-burst ids": (
        _multi([1, 2], [1, 3]),
        "Burst number + swath + polarization identifiers must be the same for reference scenes "
        "and secondary scenes",
    ),
    "multi-burst too many": (
        _multi(list(range(1, 17)), list(range(1, 17))),
        "Must provide no more than 15 scene pairs, got 16 reference and 16 secondary",
    ),
    "custom prefix in the content bucket": (
        {**insar_job(REFERENCE, SECONDARY), "bucket_prefix": "mine"},
        "A custom bucket prefix can not be used with the default content bucket.",
    ),
}


@pytest.mark.parametrize("case", BAD_JOBS, ids=list(BAD_JOBS))
def test_invalid_jobs_get_400_problem_json_naming_the_problem(sandbox, case: str) -> None:
    job, expected = BAD_JOBS[case]

    response = _post(sandbox, {"jobs": [insar_job(*slc_pairs(2)[1]), job]})

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    detail = response.json()["detail"]
    expected = expected.replace("jobs[0]", "jobs[1]")
    assert detail.startswith(expected) if expected.endswith(": ") else detail == expected
    # Nothing of a rejected request is stored or charged.
    user = requests.get(
        f"{sandbox.base_url}/user", headers={"Authorization": "Bearer sandbox-token"}, timeout=10
    ).json()
    assert user["remaining_credits"] == 8000
    assert user["job_names"] == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"jobs": []}, "jobs: 0 jobs submitted; a request holds 1 to 200 jobs"),
        ({}, "'jobs' is a required property"),
        (
            {"jobs": [], "extra": 1},
            "Additional properties are not allowed ('extra' was unexpected)",
        ),
        ([1, 2], "[1, 2] is not of type 'object'"),
    ],
)
def test_malformed_bodies_get_400(sandbox, body: object, expected: str) -> None:
    response = _post(sandbox, body)
    assert response.status_code == 400
    assert response.json()["detail"] == expected


def test_not_json_gets_400(sandbox) -> None:
    response = requests.post(
        f"{sandbox.base_url}/jobs",
        data=b"{not json",
        headers={"Authorization": "Bearer sandbox-token", "Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["detail"] == "The request body is not valid JSON"


def test_valid_burst_and_multi_burst_jobs_cost_what_the_table_says(
    hyp3: hyp3_sdk.HyP3,
) -> None:
    single = hyp3.submit_insar_isce_burst_job(
        burst(date(2020, 6, 4)), burst(date(2020, 6, 16)), looks="5x1"
    )
    three = hyp3.submit_insar_isce_multi_burst_job(
        [burst(date(2024, 1, 1), i) for i in (10, 11, 12)],
        [burst(date(2024, 1, 13), i) for i in (10, 11, 12)],
        looks="5x1",
    )
    five = hyp3.submit_insar_isce_multi_burst_job(
        [burst(date(2024, 1, 1), i) for i in range(10, 15)],
        [burst(date(2024, 1, 13), i) for i in range(10, 15)],
    )

    assert single[0].credit_cost == 1
    assert three[0].credit_cost == 10  # 5x1 with 3 pairs
    assert five[0].credit_cost == 5  # 20x4 with 5 pairs
    assert hyp3.check_credits() == 8000 - 16


def test_sdk_raises_hyp3error_with_the_servers_detail(hyp3: hyp3_sdk.HyP3) -> None:
    with pytest.raises(HyP3Error, match=r"^<Response \[400\]> jobs\[0\].job_parameters.looks: "):
        hyp3.submit_prepared_jobs(
            insar_job(slc(date(2020, 1, 4)), slc(date(2020, 1, 16)), looks="1x1")
        )
