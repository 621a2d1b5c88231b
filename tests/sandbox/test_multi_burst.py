"""INSAR_ISCE_MULTI_BURST in the sandbox, through the real hyp3_sdk: every rule HyP3 applies to a
multi-burst job refuses a bad one with 400 and HyP3's message; a valid one yields a product MintPy
recognises, and products of one burst set share one grid."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

import hyp3_sdk
import pytest
import rasterio
from hyp3_sdk.exceptions import HyP3Error

# MintPy prep_hyp3's pattern for a multi-burst product.
MINTPY_MULTI_BURST = re.compile(
    r"S1_\d{3}_\d{6}s1n\d{2}-\d{6}s2n\d{2}-\d{6}s3n\d{2}_IW(_\d{8}){2}_(VV|HH)_INT\d{2}_[0-9A-F]{4}"
)
REFERENCE_TIME = datetime(2024, 1, 1, 2, 23, 12)
SECONDARY_TIME = datetime(2024, 1, 13, 2, 23, 13)
BURST_SECONDS = 2.758


def bursts(
    moment: datetime,
    ids: list[tuple[int, int]],
    pol: str = "VV",
    offsets: dict[int, float] | None = None,
) -> list[str]:
    """Burst names of one acquisition for (burst id, swath) positions; ``offsets`` shifts the
    time of burst i by seconds (to make a side span more than one pass)."""
    names = []
    for index, (burst_id, swath) in enumerate(ids):
        seconds = index * BURST_SECONDS + (offsets or {}).get(index, 0.0)
        start = moment + timedelta(seconds=seconds)
        names.append(f"S1_{burst_id:06d}_IW{swath}_{start:%Y%m%dT%H%M%S}_{pol}_7C85-BURST")
    return names


def iw2(*ids: int) -> list[tuple[int, int]]:
    return [(burst_id, 2) for burst_id in ids]


THREE = iw2(136231, 136232, 136233)

BAD_JOBS = {
    "16 pairs": (
        bursts(REFERENCE_TIME, iw2(*range(136231, 136247))),
        bursts(SECONDARY_TIME, iw2(*range(136231, 136247))),
        "Must provide no more than 15 scene pairs, got 16 reference and 16 secondary",
    ),
    "unequal counts": (
        bursts(REFERENCE_TIME, THREE),
        bursts(SECONDARY_TIME, iw2(136231, 136232)),
        "Must provide the same number of reference and secondary scenes, got 3 reference and "
        "2 secondary",
    ),
    "different burst ids": (
        bursts(REFERENCE_TIME, THREE),
        bursts(SECONDARY_TIME, iw2(136232, 136233, 136234)),
        "Burst number + swath + polarization identifiers must be the same for reference scenes "
        "and secondary scenes",
    ),
    "a burst twice": (
        bursts(REFERENCE_TIME, iw2(136231, 136231, 136232)),
        bursts(SECONDARY_TIME, iw2(136231, 136232, 136232)),
        "Each reference scene must have a unique burst number + swath + polarization identifier",
    ),
    "mixed polarisations": (
        bursts(REFERENCE_TIME, THREE[:1], pol="VV") + bursts(REFERENCE_TIME, THREE[1:], pol="HH"),
        bursts(SECONDARY_TIME, THREE[:1], pol="VV") + bursts(SECONDARY_TIME, THREE[1:], pol="HH"),
        "Scenes must have the same polarization. Polarizations present: HH, VV",
    ),
    "cross-polarisation": (
        bursts(REFERENCE_TIME, THREE, pol="VH"),
        bursts(SECONDARY_TIME, THREE, pol="VH"),
        "VH polarization is not currently supported, only VV and HH",
    ),
    "reference over two passes": (
        bursts(REFERENCE_TIME, THREE, offsets={2: 180}),
        bursts(SECONDARY_TIME, THREE),
        "Reference scenes must fall within a 2-minute window in order to ensure they were "
        "collected during the same pass",
    ),
    "secondary over two passes": (
        bursts(REFERENCE_TIME, THREE),
        bursts(SECONDARY_TIME, THREE, offsets={0: -180}),
        "Secondary scenes must fall within a 2-minute window in order to ensure they were "
        "collected during the same pass",
    ),
    "secondary older": (
        bursts(SECONDARY_TIME, THREE),
        bursts(REFERENCE_TIME, THREE),
        "Reference scenes must be older than secondary scenes",
    ),
    "a hole in a swath": (
        bursts(REFERENCE_TIME, iw2(136231, 136233)),
        bursts(SECONDARY_TIME, iw2(136231, 136233)),
        "Bursts must be contiguous, but IW2 is missing burst(s) 136232",
    ),
    "swaths not adjacent": (
        bursts(REFERENCE_TIME, [(136231, 1), (136231, 3)]),
        bursts(SECONDARY_TIME, [(136231, 1), (136231, 3)]),
        "Bursts must be contiguous, but swaths IW1, IW3 are not adjacent",
    ),
    "swaths apart": (
        bursts(REFERENCE_TIME, [(136231, 1), (136235, 2)]),
        bursts(SECONDARY_TIME, [(136231, 1), (136235, 2)]),
        "Bursts must be contiguous, but the IW1 and IW2 bursts do not touch",
    ),
}


@pytest.mark.parametrize("case", BAD_JOBS, ids=list(BAD_JOBS))
def test_bad_multi_burst_jobs_are_refused_with_hyp3s_message(
    hyp3: hyp3_sdk.HyP3, case: str
) -> None:
    reference, secondary, message = BAD_JOBS[case]
    job = hyp3_sdk.HyP3.prepare_insar_isce_multi_burst_job(reference, secondary, name=case)

    with pytest.raises(HyP3Error) as refused:
        hyp3.submit_prepared_jobs(job)

    assert str(refused.value) == f"<Response [400]> {message}"
    assert hyp3.check_credits() == 8000
    assert len(hyp3.find_jobs()) == 0


def test_a_contiguous_set_over_three_swaths_is_accepted(hyp3: hyp3_sdk.HyP3) -> None:
    # A diagonal: each swath's burst touches its neighbour's (as ASF's own examples allow).
    diagonal = [(370305, 1), (370306, 2), (370307, 3)]
    batch = hyp3.submit_insar_isce_multi_burst_job(
        bursts(REFERENCE_TIME, diagonal), bursts(SECONDARY_TIME, diagonal), looks="10x2"
    )
    assert batch[0].credit_cost == 1  # 10x2 with 3 pairs


def test_a_valid_job_makes_a_mintpy_product_and_one_burst_set_shares_one_grid(
    hyp3: hyp3_sdk.HyP3, tmp_path: Path
) -> None:
    later = SECONDARY_TIME + timedelta(days=12)
    batch = hyp3.submit_insar_isce_multi_burst_job(
        bursts(REFERENCE_TIME, THREE), bursts(SECONDARY_TIME, THREE), apply_water_mask=True
    )
    batch += hyp3.submit_insar_isce_multi_burst_job(
        bursts(REFERENCE_TIME, THREE), bursts(later, THREE), apply_water_mask=True
    )
    batch = hyp3.watch(batch, timeout=60, interval=0.2)
    assert all(job.succeeded() for job in batch)
    zips = batch.download_files(tmp_path)
    products = [hyp3_sdk.util.extract_zipped_product(path) for path in zips]

    names = sorted(product.name for product in products)
    for name in names:
        assert MINTPY_MULTI_BURST.fullmatch(name), name
    assert names[0].startswith(
        "S1_064_000000s1n00-136231s2n03-000000s3n00_IW_20240101_20240113_VV_"
    )
    assert names[1].startswith(
        "S1_064_000000s1n00-136231s2n03-000000s3n00_IW_20240101_20240125_VV_"
    )
    grids = set()
    for product in products:
        for layer in ("unw_phase", "corr", "conncomp"):
            with rasterio.open(product / f"{product.name}_{layer}.tif") as dataset:
                assert dataset.crs is not None
                grids.add((dataset.transform, dataset.shape, dataset.crs.to_epsg()))
    assert len(grids) == 1, grids
