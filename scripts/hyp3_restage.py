"""Rule hyp3_restage: download, verify and unpack a settled pair's product again."""

from insarflow.hyp3.run import restage
from insarflow.pairs import make_pair
from insarflow.steps import run_step

run_step(
    snakemake.log[0],
    restage,
    {**snakemake.config["hyp3"], **snakemake.params.job},
    make_pair(*snakemake.params.pair),
    snakemake.input.succeeded,
    snakemake.output[0],
)
