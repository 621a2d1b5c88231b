"""The MintPy template written from the config's `timeseries` section."""

from __future__ import annotations

from pathlib import Path

import pytest
import rasterio
from rasterio.warp import transform as warp_transform

from insarflow.config import check_config, load_schema
from insarflow.errors import UserError
from insarflow.timeseries.clip import clip_products
from insarflow.timeseries.config import check_timeseries_config
from insarflow.timeseries.template import most_coherent_pixel, template_options, write_template
from tests.timeseries.conftest import REPO, sandbox_products

SCHEMA = load_schema(REPO / "config" / "schemas" / "config.schema.yaml")


def defaults(**changes: object) -> dict:
    """The `timeseries` section as validation fills it from the schema, with changes."""
    properties = SCHEMA["properties"]["timeseries"]["properties"]
    settings = {key: spec["default"] for key, spec in properties.items()}
    return settings | changes


@pytest.fixture(scope="module")
def clipped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("stack")
    products = sandbox_products(root / "products", [(0, 1), (1, 2), (0, 2)])
    clip_products(products, root / "clipped")
    return root / "clipped"


def read_template(path: Path) -> dict[str, str]:
    lines = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
    return {key.strip(): value.strip() for key, value in (line.split("=", 1) for line in lines)}


def test_default_template_loads_hyp3_layers_and_keeps_the_troposphere_off(
    clipped: Path, tmp_path: Path
):
    written = write_template(defaults(), clipped, tmp_path / "t.txt")
    template = read_template(tmp_path / "t.txt")
    assert template == written
    assert template["mintpy.load.processor"] == "hyp3"
    assert template["mintpy.load.unwFile"] == f"{clipped.resolve()}/*/*_unw_phase.tif"
    assert template["mintpy.load.corFile"] == f"{clipped.resolve()}/*/*_corr.tif"
    assert template["mintpy.load.demFile"].endswith("*_dem.tif")
    assert template["mintpy.load.incAngleFile"].endswith("*_lv_theta.tif")
    assert template["mintpy.load.azAngleFile"].endswith("*_lv_phi.tif")
    assert template["mintpy.load.waterMaskFile"].endswith("*_water_mask.tif")
    # GAMMA products have no connected components.
    assert template["mintpy.load.connCompFile"] == "no"
    assert template["mintpy.troposphericDelay.method"] == "no"
    assert template["mintpy.unwrapError.method"] == "no"
    assert template["mintpy.deramp"] == "no"
    assert template["mintpy.network.tempBaseMax"] == "no"
    assert template["mintpy.networkInversion.minTempCoh"] == "0.7"
    assert template["mintpy.compute.cluster"] == "no"


def test_options_map_to_mintpy_keys(clipped: Path):
    options = template_options(
        defaults(
            max_temporal_baseline=36,
            max_perpendicular_baseline=150.0,
            exclude_dates=["20200116", "20200128"],
            min_network_coherence=0.5,
            min_coherence=0.3,
            unwrap_error_correction="phase_closure",
            deramp="linear",
            troposphere="height_correlation",
            topographic_residual=False,
            weight_function=False,  # YAML's bare `no`
            kmz=False,
            cluster="local",
            num_workers=2,
            max_memory_gb=1.5,
            mintpy_options={"mintpy.timeFunc.periodic": "1.0,0.5", "mintpy.save.hdfEos5": True},
        ),
        clipped,
    )
    assert options["mintpy.network.tempBaseMax"] == "36"
    assert options["mintpy.network.perpBaseMax"] == "150.0"
    assert options["mintpy.network.excludeDate"] == "20200116,20200128"
    assert options["mintpy.network.coherenceBased"] == "yes"
    assert options["mintpy.network.minCoherence"] == "0.5"
    assert options["mintpy.networkInversion.maskDataset"] == "coherence"
    assert options["mintpy.networkInversion.maskThreshold"] == "0.3"
    assert options["mintpy.unwrapError.method"] == "phase_closure"
    assert options["mintpy.deramp"] == "linear"
    assert options["mintpy.troposphericDelay.method"] == "height_correlation"
    assert options["mintpy.topographicResidual"] == "no"
    assert options["mintpy.networkInversion.weightFunc"] == "no"
    assert options["mintpy.save.kmz"] == "no"
    assert options["mintpy.compute.cluster"] == "local"
    assert options["mintpy.compute.numWorker"] == "2"
    assert options["mintpy.compute.maxMemory"] == "1.5"
    assert options["mintpy.timeFunc.periodic"] == "1.0,0.5"
    assert options["mintpy.save.hdfEos5"] == "yes"


def test_a_mintpy_option_that_overrides_the_products_is_refused(clipped: Path):
    with pytest.raises(UserError, match=r"mintpy_options.mintpy.load.unwFile is set by insarflow"):
        template_options(defaults(mintpy_options={"mintpy.load.unwFile": "x/*.tif"}), clipped)


def test_the_reference_point_from_lat_lon_is_the_pixel_under_it(clipped: Path):
    unw = sorted(clipped.glob("*/*_unw_phase.tif"))[0]
    with rasterio.open(unw) as raster:
        x, y = raster.xy(17, 23)  # pixel centre
        (lon,), (lat,) = warp_transform(raster.crs, "EPSG:4326", [x], [y])
    options = template_options(defaults(reference_lalo=[lat, lon]), clipped)
    assert options["mintpy.reference.yx"] == "17,23"


def test_a_reference_point_outside_the_overlap_is_refused(clipped: Path):
    with pytest.raises(UserError, match=r"reference_lalo = \[0.0, 0.0\] lies outside"):
        template_options(defaults(reference_lalo=[0.0, 0.0]), clipped)


def test_the_automatic_reference_point_is_deterministic_and_coherent(clipped: Path):
    row, col = most_coherent_pixel(clipped)
    assert (row, col) == most_coherent_pixel(clipped)
    corr = []
    for path in sorted(clipped.glob("*/*_corr.tif")):
        with rasterio.open(path) as raster:
            corr.append(raster.read(1))
    mean = sum(corr) / len(corr)
    # Among the most coherent tenth of the scene, and on land with data in every pair.
    assert mean[row, col] >= sorted(mean[mean > 0].ravel())[int(0.9 * (mean > 0).sum())]
    options = template_options(defaults(), clipped)
    assert options["mintpy.reference.yx"] == f"{row},{col}"


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ({"deramp": "cubic"}, "timeseries.deramp = 'cubic' is not allowed"),
        ({"reference_lalo": [45.0]}, "timeseries.reference_lalo = [45.0] has 1 item(s)"),
        ({"mintpy_options": {"timeFunc": 1}}, "timeseries.mintpy_options has a bad key 'timeFunc'"),
        ({"max_temporal_baseline": 0}, "timeseries.max_temporal_baseline = 0 is out of range"),
        (
            {"min_temporal_coherence": 1.5},
            "timeseries.min_temporal_coherence = 1.5 is out of range",
        ),
        (
            {"exclude_dates": ["2020-01-16"]},
            "timeseries.exclude_dates.0 = '2020-01-16' does not match",
        ),
        ({"velocity": True}, "unknown key 'timeseries.velocity'"),
    ],
)
def test_bad_settings_stop_with_one_line(section: dict, expected: str):
    with pytest.raises(UserError) as error:
        check_config({"timeseries": section}, SCHEMA)
    assert expected in str(error.value)
    assert "\n" not in str(error.value)


def test_an_isce_only_run_ignores_the_hyp3_stage_settings():
    # The example config enables the stage; switching to processor: isce must still work,
    # even with settings that only a HyP3 run would refuse.
    bad_for_hyp3 = {"enabled": True, "unwrap_error_correction": "bridging"}
    check_timeseries_config({"processor": "isce", "timeseries": bad_for_hyp3})
    with pytest.raises(UserError, match="needs connected components"):
        check_timeseries_config({"processor": "both", "timeseries": bad_for_hyp3})


def test_unwrap_error_correction_is_refused_for_gamma_products():
    config = {"processor": "hyp3", "hyp3": {"job_type": "INSAR_GAMMA"}}
    config["timeseries"] = {"enabled": True, "unwrap_error_correction": "phase_closure"}
    with pytest.raises(UserError, match=r"needs connected components, which INSAR_GAMMA"):
        check_timeseries_config(config)
    config["hyp3"]["job_type"] = "INSAR_ISCE_BURST"
    check_timeseries_config(config)


def test_the_stage_needs_the_dem_in_the_products_before_any_job_is_paid_for():
    config = {"processor": "hyp3", "hyp3": {"include_dem": False}, "timeseries": {"enabled": True}}
    with pytest.raises(UserError, match=r"needs the DEM in every product, but hyp3.include_dem"):
        check_timeseries_config(config)
