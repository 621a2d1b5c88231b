"""Rule timeseries_clip: every current product's layers, clipped to the common overlap."""

from insarflow.steps import run_step
from insarflow.timeseries.clip import clip_products

run_step(snakemake.log[0], clip_products, list(snakemake.input.products), snakemake.output[0])
