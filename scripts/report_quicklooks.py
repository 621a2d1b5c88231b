"""Rule report_hyp3_quicklooks: one page of labelled thumbnails of one product layer."""

from insarflow.report.run import quicklook_page
from insarflow.steps import run_step

run_step(
    snakemake.log[0],
    quicklook_page,
    list(snakemake.input.products),
    snakemake.wildcards.layer,
    int(snakemake.wildcards.page),
    len(snakemake.params.pages),
    snakemake.output[0],
)
