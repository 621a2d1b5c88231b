"""Rule timeseries_export: velocity GeoTIFFs (mm/yr), temporal coherence and the PNG maps."""

from insarflow.steps import run_step
from insarflow.timeseries.stage import export

run_step(
    snakemake.log[0],
    export,
    snakemake.params.settings,
    snakemake.input.velocity,
    snakemake.input.timeseries,
    snakemake.input.work,
    dict(snakemake.output),
)
