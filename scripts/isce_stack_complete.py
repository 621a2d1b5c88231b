"""Rule isce_stack_complete: the completion file of a stack whose every step is done."""

from insarflow.isce.complete import write_complete
from insarflow.steps import run_step

run_step(
    snakemake.log[0],
    write_complete,
    snakemake.input.plan,
    snakemake.output.complete,
    snakemake.params.pairs,
)
