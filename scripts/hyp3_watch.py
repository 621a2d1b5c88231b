"""Checkpoint hyp3_watch: one polling round, ending as soon as some jobs have succeeded."""

from insarflow.hyp3.run import watch_round
from insarflow.steps import run_step

run_step(
    snakemake.log[0],
    watch_round,
    {**snakemake.config["hyp3"], **snakemake.params.job},
    snakemake.input.submission,
    snakemake.input.previous or None,  # a path, or empty for round 0
    snakemake.output[0],
    snakemake.wildcards.options,
    snakemake.params.products,
)
