"""Rule hyp3_plan: print what a run would submit and what it would cost; submit nothing."""

from insarflow.hyp3.run import pairs_from_params, plan
from insarflow.steps import run_step

print(
    run_step(
        snakemake.log[0],
        plan,
        {**snakemake.config["hyp3"], **snakemake.params.job},
        pairs_from_params(snakemake.params.pairs),
        snakemake.params.options,
    )
)
