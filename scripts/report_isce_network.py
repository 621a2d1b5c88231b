"""Rule report_isce_network: the ISCE stack's pair network and temporal-baseline histogram."""

from insarflow.report.run import stack_network
from insarflow.steps import run_step

run_step(
    snakemake.log[0],
    stack_network,
    snakemake.input.plan,
    snakemake.params.pair_dates,
    snakemake.output.network,
    snakemake.output.histogram,
    "ISCE stack",
)
