"""Rules report_hyp3_network and report_planned_network: pair network and temporal baselines."""

from insarflow.report.run import hyp3_network
from insarflow.steps import run_step

run_step(
    snakemake.log[0],
    hyp3_network,
    list(getattr(snakemake.input, "products", [])),  # none for the planned network
    snakemake.params.pair_dates,
    snakemake.output.network,
    snakemake.output.histogram,
    snakemake.params.title,
)
