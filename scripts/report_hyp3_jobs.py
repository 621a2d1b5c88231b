"""Rule report_hyp3_jobs: timeline of every HyP3 job, credits and product-expiry tables."""

from insarflow.report.run import hyp3_jobs_report
from insarflow.steps import run_step

run_step(
    snakemake.log[0],
    hyp3_jobs_report,
    snakemake.input.status,
    list(snakemake.input.finished),
    list(snakemake.input.products),
    snakemake.params.ledger,
    snakemake.params.board,
    snakemake.output.timeline,
    snakemake.output.table,
)
