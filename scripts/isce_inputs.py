"""Rule isce_inputs: orbits, the AUX_CAL note and the stackSentinel request of one stack."""

from insarflow.isce.inputs import prepare_stack_inputs
from insarflow.steps import run_step

run_step(
    snakemake.log[0],
    prepare_stack_inputs,
    list(snakemake.input.safes),
    snakemake.params.orbit_dir,
    snakemake.params.aux_dir,
    snakemake.output.orbits,
    snakemake.output.aux_cal,
    snakemake.output.request,
    snakemake.params.request,
)
