"""Rule hyp3_submit: submit every pair that has no HyP3 job yet."""

from insarflow.hyp3.run import pairs_from_params, submit
from insarflow.steps import run_step

run_step(
    snakemake.log[0],
    submit,
    {**snakemake.config["hyp3"], **snakemake.params.job},
    pairs_from_params(snakemake.params.pairs),
    snakemake.output.submission,
)
