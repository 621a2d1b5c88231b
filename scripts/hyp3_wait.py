"""Rule hyp3_wait: wait for one pair's job to succeed (resubmitting failed jobs)."""

from insarflow.hyp3.run import wait
from insarflow.pairs import make_pair
from insarflow.steps import run_step

run_step(
    snakemake.log[0],
    wait,
    {**snakemake.config["hyp3"], **snakemake.params.job},
    make_pair(*snakemake.params.pair),
    snakemake.output[0],
)
