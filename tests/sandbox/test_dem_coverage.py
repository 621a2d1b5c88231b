"""HyP3's check_dem_coverage in the sandbox: jobs over a gap of the Copernicus GLO-30 DEM are
refused with HyP3's message, through the real hyp3_sdk."""

from __future__ import annotations

import pytest
from hyp3_sdk import HyP3
from hyp3_sdk.exceptions import HyP3Error

from insarflow.sandbox import SandboxServer
from insarflow.sandbox.scene import dem_gap, frame_location


def burst(burst_id: int, swath: int, day: str) -> str:
    return f"S1_{burst_id:06d}_IW{swath}_{day}T015000_VV_1A2B-BURST"


def first_burst_in_a_dem_gap() -> tuple[int, int]:
    for burst_id in range(1, 100_000):
        for swath in (1, 2, 3):
            if dem_gap(f"burst:{burst_id:06d}_IW{swath}"):
                return burst_id, swath
    raise AssertionError("no burst frame lies in a DEM gap")


@pytest.fixture
def client(tmp_path, monkeypatch) -> HyP3:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    server = SandboxServer(tmp_path / "state", processing_seconds=0.2).start()
    yield HyP3(server.base_url, token="sandbox-token")
    server.stop()


def test_a_job_over_a_dem_gap_is_refused_with_hyps3s_message(client: HyP3) -> None:
    burst_id, swath = first_burst_in_a_dem_gap()
    lon, lat = frame_location(f"burst:{burst_id:06d}_IW{swath}")
    assert 38 <= lat <= 42 and 43 <= lon <= 51  # Armenia / Azerbaijan
    granules = [burst(burst_id, swath, "20200105"), burst(burst_id, swath, "20200117")]
    with pytest.raises(HyP3Error, match="Some requested scene\\(s\\) do not have DEM coverage"):
        client.submit_prepared_jobs([HyP3.prepare_insar_isce_burst_job(*granules)])
    multi = HyP3.prepare_insar_isce_multi_burst_job([granules[0]], [granules[1]])
    with pytest.raises(HyP3Error, match="do not have DEM coverage"):
        client.submit_prepared_jobs([multi])
    assert client.find_jobs().jobs == []


def test_a_job_on_the_dem_is_accepted(client: HyP3) -> None:
    burst_id, swath = next(
        (b, s)
        for b in range(136231, 136300)
        for s in (1, 2, 3)
        if not dem_gap(f"burst:{b:06d}_IW{s}")
    )
    job = HyP3.prepare_insar_isce_burst_job(
        burst(burst_id, swath, "20200105"), burst(burst_id, swath, "20200117")
    )
    assert len(client.submit_prepared_jobs([job])) == 1
