"""Clipping products to their common overlap (synthetic rasters with known extents)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio

from insarflow.errors import UserError
from insarflow.timeseries.clip import clip_products
from tests.timeseries.conftest import synthetic_product


def test_products_of_different_extents_are_clipped_to_their_common_overlap(tmp_path: Path):
    a = synthetic_product(tmp_path / "in", 0, west=500_000, north=4_000_000, width=40, height=30)
    # Shifted by 5 pixels east and 3 pixels south, and larger.
    b = synthetic_product(tmp_path / "in", 1, west=500_400, north=3_999_760, width=50, height=40)
    out = tmp_path / "clipped"
    written = clip_products([a, b], out)

    names = sorted(p.name for p in written)
    assert len(names) == 2 * 6
    for pair_dir in (a, b):
        name = next(p for p in pair_dir.iterdir() if p.is_dir()).name
        # prep_hyp3 parses <name>.txt beside each <name>_<layer>.tif.
        assert (out / name / f"{name}.txt").read_text() == "Heading: -12.3\n"
        for layer in ("unw_phase", "corr", "dem", "lv_theta", "lv_phi", "water_mask"):
            with rasterio.open(out / name / f"{name}_{layer}.tif") as clipped:
                # Overlap: west 500400..503200 (35 px), north 3999760..3997600 (27 px).
                assert clipped.bounds.left == 500_400
                assert clipped.bounds.right == 503_200
                assert clipped.bounds.top == 3_999_760
                assert clipped.bounds.bottom == 3_997_600
                assert (clipped.width, clipped.height) == (35, 27)
                assert clipped.crs.to_epsg() == 32611
                if layer != "water_mask":
                    first_col = clipped.read(1)[:, 0]
                    np.testing.assert_allclose(first_col, 500.44, rtol=0, atol=1e-4)
    # The products themselves are untouched.
    assert not any(p.is_relative_to(a) or p.is_relative_to(b) for p in written)


def test_products_without_common_overlap_stop_with_their_names(tmp_path: Path):
    a = synthetic_product(tmp_path / "in", 0, west=500_000, north=4_000_000, width=20, height=20)
    b = synthetic_product(tmp_path / "in", 1, west=502_000, north=4_000_000, width=20, height=20)
    with pytest.raises(UserError) as error:
        clip_products([a, b], tmp_path / "clipped")
    message = str(error.value)
    assert "no common overlap" in message
    assert "_0000 and " in message and "_0001 do not overlap" in message
    assert "\n" not in message
    assert not (tmp_path / "clipped").exists()


def test_products_in_different_utm_zones_stop_with_their_names(tmp_path: Path):
    a = synthetic_product(tmp_path / "in", 0, 500_000, 4_000_000, 20, 20, epsg=32611)
    b = synthetic_product(tmp_path / "in", 1, 500_000, 4_000_000, 20, 20, epsg=32611)
    c = synthetic_product(tmp_path / "in", 2, 200_000, 4_000_000, 20, 20, epsg=32612)
    with pytest.raises(UserError) as error:
        clip_products([a, b, c], tmp_path / "clipped")
    message = str(error.value)
    assert "different map projections" in message
    assert "EPSG:32611: " in message and "_0000, " in message and "_0001" in message
    assert "EPSG:32612: " in message and "_0002" in message


def test_products_off_each_others_grid_lines_are_refused(tmp_path: Path):
    a = synthetic_product(tmp_path / "in", 0, 500_000, 4_000_000, 20, 20)
    b = synthetic_product(tmp_path / "in", 1, 500_030, 4_000_000, 20, 20)
    with pytest.raises(UserError, match=r"offset by 0\.375 pixel .* share grid lines"):
        clip_products([a, b], tmp_path / "clipped")


def test_products_of_different_pixel_sizes_are_refused(tmp_path: Path):
    a = synthetic_product(tmp_path / "in", 0, 500_000, 4_000_000, 20, 20, pixel=80.0)
    b = synthetic_product(tmp_path / "in", 1, 500_000, 4_000_000, 40, 40, pixel=40.0)
    with pytest.raises(UserError, match=r"40 m pixels .* 80 m; .* same hyp3.looks"):
        clip_products([a, b], tmp_path / "clipped")


def test_a_product_without_its_dem_is_refused_by_name(tmp_path: Path):
    a = synthetic_product(
        tmp_path / "in", 0, 500_000, 4_000_000, 20, 20, layers=("unw_phase", "corr")
    )
    with pytest.raises(UserError, match=r"_0000 lacks dem, which MintPy needs"):
        clip_products([a], tmp_path / "clipped")


def test_a_work_directory_that_mintpy_would_misread_is_refused(tmp_path: Path):
    # prep_hyp3 calls every file with "corr" in its absolute path an interferogram.
    a = synthetic_product(tmp_path / "in", 0, 500_000, 4_000_000, 20, 20)
    with pytest.raises(UserError, match=r"contains 'corrections'"):
        clip_products([a], tmp_path / "corrections" / "clipped")


def test_connected_components_are_clipped_where_present(tmp_path: Path):
    layers = ("unw_phase", "corr", "dem", "conncomp")
    a = synthetic_product(tmp_path / "in", 0, 500_000, 4_000_000, 20, 20, layers=layers)
    b = synthetic_product(tmp_path / "in", 1, 500_080, 4_000_000, 20, 20, layers=layers)
    written = clip_products([a, b], tmp_path / "clipped")
    assert sum(p.name.endswith("_conncomp.tif") for p in written) == 2
