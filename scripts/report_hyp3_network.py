"""Rule report_hyp3_network: the HyP3 pairs' network graph and temporal-baseline histogram."""

from insarflow.report.run import hyp3_network
from insarflow.steps import run_step

run_step(
    snakemake.log[0],
    hyp3_network,
    list(snakemake.input.products),
    snakemake.params.pair_dates,
    snakemake.output.network,
    snakemake.output.histogram,
)
