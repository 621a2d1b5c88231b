"""Rule hyp3_download: download, verify and unpack one pair's product."""

from insarflow.hyp3.run import download
from insarflow.pairs import make_pair
from insarflow.steps import run_step

run_step(
    snakemake.log[0],
    download,
    {**snakemake.config["hyp3"], **snakemake.params.job},
    make_pair(*snakemake.params.pair),
    snakemake.input.succeeded,
    snakemake.output.product,
    snakemake.output.record,
)
