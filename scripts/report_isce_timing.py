"""Rule report_isce_timing: Gantt chart of the stack's commands and wall time per step."""

from insarflow.report.run import isce_timing_report
from insarflow.steps import run_step

run_step(
    snakemake.log[0],
    isce_timing_report,
    snakemake.input.plan,
    snakemake.params.logs,
    snakemake.output.gantt,
    snakemake.output.steps,
    "ISCE stack",
)
