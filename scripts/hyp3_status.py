"""Rules hyp3_status / hyp3_summary: refresh every pair's job and write the status table."""

from insarflow.hyp3.run import pairs_from_params, status
from insarflow.steps import run_step

table = run_step(
    snakemake.log[0],
    status,
    {**snakemake.config["hyp3"], **snakemake.params.job},
    pairs_from_params(snakemake.params.pairs),
    snakemake.params.products,
    snakemake.output[0] if snakemake.output else snakemake.params.table,
)
print(table)
