"""Rule timeseries_kmz: MintPy's Google Earth velocity under the stage's stable name."""

from insarflow.steps import run_step
from insarflow.timeseries.stage import copy_kmz

run_step(snakemake.log[0], copy_kmz, snakemake.input.work, snakemake.output.kmz)
