"""Rule isce_dem: stitch the GLO-30 DEM of a stack's footprint in ISCE's format."""

from insarflow.isce.dem import stitch_isce_dem
from insarflow.steps import run_step

settings = snakemake.params.settings
run_step(
    snakemake.log[0],
    stitch_isce_dem,
    list(snakemake.input.safes),
    snakemake.output.dem,
    settings["bbox"],
    settings["margin"],
    settings["tile_dir"],
    settings["geoid_path"],
)
