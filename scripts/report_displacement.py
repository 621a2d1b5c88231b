"""Rule report_displacement: velocity and its standard deviation, point time series, coherence matrix."""

from insarflow.report.run import displacement_report
from insarflow.steps import run_step

files = snakemake.params.mintpy
run_step(
    snakemake.log[0],
    displacement_report,
    snakemake.input.velocity,
    snakemake.input.timeseries,
    files["ifgram_stack"],
    files["geometry"],
    snakemake.output.velocity,
    snakemake.output.velocity_std,
    snakemake.output.time_series,
    snakemake.output.coherence_matrix,
    files["mask"],
)
