import sys

from snakemake.utils import validate

from insarflow.config import check_config, load_schema, select_pairs
from insarflow.errors import UserError
from insarflow.hyp3.jobs import HYP3_JOB_OPTIONS
from insarflow.hyp3.service import ensure_sandbox, stop_sandbox

SCHEMA = "../config/schemas/config.schema.yaml"

try:
    # One readable line per problem first; then snakemake's validate fills the defaults.
    check_config(config, load_schema(workflow.source_path(SCHEMA)))
    validate(config, schema=SCHEMA)
    PAIRS = {pair.pair_id: pair for pair in select_pairs(config)}
except UserError as error:
    sys.exit("\n".join(f"insarflow: {line}" for line in str(error).splitlines()))

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
    return expand("results/hyp3/products/{pair}", pair=PAIRS)


def get_hyp3_products_root(wildcards):
    return "results/hyp3/products"


def get_hyp3_job_records():
    return expand("results/hyp3/jobs/{pair}.json", pair=PAIRS)


def get_hyp3_pair_names():
    return {
        pair_id: [pair.reference.name, pair.secondary.name]
        for pair_id, pair in PAIRS.items()
    }


def get_hyp3_pair(wildcards):
    pair = PAIRS[wildcards.pair]
    return [pair.reference.name, pair.secondary.name]


def get_hyp3_job_options():
    # Only the options that define a job: changing one makes a new job (and product);
    # operational settings (polling, timeouts) are read from the config by the scripts.
    return {key: config["hyp3"][key] for key in HYP3_JOB_OPTIONS}


def start_hyp3_sandbox():
    if RUN_HYP3 and config["hyp3"]["api_url"] == "sandbox":
        sandbox = config["hyp3"]["sandbox"]
        url = ensure_sandbox(
            sandbox["state_dir"], sandbox["processing_seconds"], sandbox["credits"]
        )
        logger.info(f"HyP3 sandbox (no credits spent) serving at {url}")


def stop_hyp3_sandbox():
    if RUN_HYP3 and config["hyp3"]["api_url"] == "sandbox":
        stop_sandbox(config["hyp3"]["sandbox"]["state_dir"])

# === ISCE input functions (rules/isce.smk) ===
