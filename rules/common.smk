import sys

from snakemake.utils import validate

from insarflow.config import check_config, load_schema, select_pairs
from insarflow.errors import UserError


SCHEMA = "../config/schemas/config.schema.yaml"

try:
    # One readable line per problem first; then snakemake's validate fills the defaults.
    check_config(config, load_schema(workflow.source_path(SCHEMA)))
    validate(config, schema=SCHEMA)
    PAIRS = {pair.pair_id: pair for pair in select_pairs(config)}
except UserError as error:
    sys.exit(f"insarflow: {error}")

RUN_HYP3 = config["processor"] in ("hyp3", "both")
RUN_ISCE = config["processor"] in ("isce", "both")


wildcard_constraints:
    pair="|".join(PAIRS) or "NO_PAIRS",


def get_final_outputs(wildcards):
    targets = []
    if RUN_HYP3:
        targets += get_hyp3_products(wildcards)
        targets.append("results/hyp3/status.tsv")
    if RUN_ISCE:
        targets.append("results/isce/complete.txt")
    return targets


def get_hyp3_products(wildcards):
    return expand("results/hyp3/products/{pair}/verified.json", pair=PAIRS)


# === ISCE input functions (rules/isce.smk) ===
