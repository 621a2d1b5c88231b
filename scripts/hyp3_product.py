"""Rule hyp3_product: put a settled pair's product in place again (download, verify, unpack)."""

from insarflow.hyp3.run import fetch_settled_product
from insarflow.pairs import make_pair
from insarflow.steps import run_step

run_step(
    snakemake.log[0],
    fetch_settled_product,
    {**snakemake.config["hyp3"], **snakemake.params.job},
    make_pair(*snakemake.params.pair),
    snakemake.input.succeeded,
    snakemake.output.product,
    snakemake.output.record,
)
