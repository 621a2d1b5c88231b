"""Rule timeseries_mintpy: MintPy smallbaselineApp, step by step, each step checked."""

from pathlib import Path

from insarflow.steps import run_step
from insarflow.timeseries.stage import run_mintpy

run_step(
    snakemake.log[0],
    run_mintpy,
    snakemake.params.settings,
    snakemake.input.clipped,
    snakemake.output.work,
    snakemake.params.template,
    # One log per MintPy step, beside the rule's log (outputs are deleted when a job fails).
    Path(snakemake.log[0]).with_suffix(""),
    snakemake.output.steps,
    snakemake.output.timeseries,
    snakemake.output.velocity,
    threads=snakemake.threads,
)
