import sys

from snakemake.utils import validate

from insarflow.config import check_config, load_schema, select_pairs
from insarflow.errors import UserError
from insarflow.hyp3.jobs import HYP3_JOB_OPTIONS, options_digest
from insarflow.hyp3.rounds import RoundIndex, round_path
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
    round=r"\d+",
    generation=r"[0-9a-f]+",


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


# Polling rounds are kept per set of job options: changed options mean new jobs.
HYP3_GENERATION = options_digest(get_hyp3_job_options())
HYP3_ROUNDS = RoundIndex(f"results/hyp3/watch/{HYP3_GENERATION}")


def get_hyp3_previous_round(wildcards):
    index = int(wildcards.round)
    if index == 0:
        return []
    return ancient(
        str(round_path(f"results/hyp3/watch/{wildcards.generation}", index - 1))
    )


def get_hyp3_succeeded_round(wildcards):
    # The round that saw the pair's job succeed; asking for a round that has not run yet
    # makes Snakemake run it (a checkpoint) and ask again.
    index = HYP3_ROUNDS.locate(wildcards.pair)
    while True:
        path = checkpoints.hyp3_watch.get(
            generation=HYP3_GENERATION, round=index
        ).output[0]
        if HYP3_ROUNDS.settled_in(index, wildcards.pair):
            return path
        index += 1


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
# Parse time: the stack the pairs need (reads only the SLC directory listing; UserError
# for anything that cannot work). Jobs' shells start insarflow helpers with this Python,
# also when the ISCE2 conda env is active.
import os

from insarflow.isce.cluster import check_fits as check_isce_fits
from insarflow.isce.plan import load_plan
from insarflow.isce.workflow import IsceWorkflow

ISCE = None
ISCE_FINGERPRINT = "[0-9a-f]{12}"
if RUN_ISCE:
    try:
        ISCE = IsceWorkflow(config["isce"], [pair.dates for pair in PAIRS.values()])
    except UserError as error:
        sys.exit(f"insarflow: {error}")
    ISCE_FINGERPRINT = ISCE.fingerprint
    os.environ.setdefault("INSARFLOW_PYTHON", sys.executable)


def get_isce_safes(wildcards):
    return list(ISCE.request.safes)


def get_isce_dem_settings(wildcards):
    return ISCE.dem_settings(f"resources/dem/{wildcards.dem_key}/dem.wgs84")


def get_isce_orbit_dir(wildcards):
    return config["isce"]["orbit_dir"]


def get_isce_aux_dir(wildcards):
    return config["isce"]["aux_dir"]


def get_isce_stack_request(wildcards):
    return ISCE.request.to_json()


def get_isce_run_files_inputs(wildcards):
    # Their content is fixed by the fingerprint: a rewritten copy must not wipe the stack.
    inputs = ISCE.run_files_inputs()
    return {key: ancient(value) for key, value in inputs.items() if key != "safes"} | {
        "safes": [ancient(safe) for safe in inputs["safes"]]
    }


ISCE_CLUSTER_CHECKED = []


def check_isce_fits_the_cluster(slurm=False):
    # A step too large for every node of the partition would wait in the queue forever:
    # stop first. At parse time when the default resources name slurm_* (a SLURM profile),
    # else from the resource functions once the SLURM executor is known.
    plugin = workflow.executor_plugin
    if plugin is not None and plugin.name == "slurm":
        slurm = True
    if ISCE_CLUSTER_CHECKED or not slurm or not workflow.is_main_process:
        return
    ISCE_CLUSTER_CHECKED.append(True)
    defaults = workflow.resource_settings.default_resources or {}
    partition = defaults.get("slurm_partition") if hasattr(defaults, "get") else None
    partition = getattr(partition, "raw", partition)  # the profile's text, e.g. "debug"
    try:
        check_isce_fits(ISCE.settings, str(partition or "").strip("\"' ") or None)
    except UserError as error:
        sys.exit(f"insarflow: {error}")


if RUN_ISCE:
    check_isce_fits_the_cluster(
        slurm=any(
            str(name).startswith("slurm_")
            for name in (workflow.resource_settings.default_resources or {})
        )
    )


def get_isce_run_files_mem_mb(wildcards):
    check_isce_fits_the_cluster()
    return ISCE.resources()["mem_mb"]


def get_isce_run_files_runtime(wildcards):
    return ISCE.resources()["runtime"]


def _isce_plan(fingerprint):
    plan_file = checkpoints.isce_run_files.get(fingerprint=fingerprint).output.plan
    return load_plan(plan_file), plan_file


def get_isce_command_inputs(wildcards):
    plan, plan_file = _isce_plan(wildcards.fingerprint)
    return ISCE.command_inputs(plan, plan_file, wildcards.step, int(wildcards.index))


def get_isce_chain_inputs(wildcards):
    plan, plan_file = _isce_plan(wildcards.fingerprint)
    return ISCE.chain_inputs(plan, plan_file, wildcards.chain)


def _isce_chain_resources(wildcards):
    plan, _ = _isce_plan(wildcards.fingerprint)
    return ISCE.chain_resources(plan, wildcards.chain)


def get_isce_chain_threads(wildcards):
    check_isce_fits_the_cluster()
    return _isce_chain_resources(wildcards)["threads"]


def get_isce_chain_mem_mb(wildcards):
    return _isce_chain_resources(wildcards)["mem_mb"]


def get_isce_chain_runtime(wildcards, attempt):
    # attempt > 1 after a failure; only time-outs make the commands' runtimes longer
    return _isce_chain_resources(wildcards)["runtime"]


def get_isce_chain_runtimes(wildcards):
    return _isce_chain_resources(wildcards)["runtimes"]


def get_isce_step_inputs(wildcards):
    plan, _ = _isce_plan(wildcards.fingerprint)
    return ISCE.step_inputs(plan, wildcards.step)


def get_isce_last_step(wildcards):
    plan, _ = _isce_plan(wildcards.fingerprint)
    return ISCE.last_step_marker(plan)


def get_isce_stack_complete(wildcards):
    return f"results/isce/{ISCE.fingerprint}/complete.txt"


def get_isce_step_threads(wildcards):
    check_isce_fits_the_cluster()
    return ISCE.resources(wildcards.step)["threads"]


def get_isce_step_mem_mb(wildcards):
    return ISCE.resources(wildcards.step)["mem_mb"]


def get_isce_step_runtime(wildcards, attempt):
    # attempt > 1 after a failure; only a time-out makes the next attempt longer
    return ISCE.command_runtime(
        wildcards.fingerprint, wildcards.step, int(wildcards.index)
    )


def get_isce_pair_ids(wildcards):
    return " ".join(f"{a}_{b}" for a, b in sorted(ISCE.pairs))
