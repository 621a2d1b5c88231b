import sys

from insarflow import paths
from insarflow.config import apply_renamed_keys, check_config, select_pairs
from insarflow.errors import UserError
from insarflow.hyp3.credentials import load_accounts
from insarflow.hyp3.jobs import HYP3_JOB_OPTIONS, options_label
from insarflow.hyp3.rounds import RoundIndex
from insarflow.hyp3.sandbox_process import acquire_sandbox, release_sandbox

MIN_REAL_POLL_INTERVAL_S = 30

for notice in apply_renamed_keys(config):
    logger.warning(notice)

try:
    # One pass: one readable line per problem, and the schema's defaults filled in.
    check_config(config)
    PAIRS = {pair.pair_id: pair for pair in select_pairs(config)}
    RUN_HYP3 = config["processor"] in ("hyp3", "both")
    RUN_ISCE = config["processor"] in ("isce", "both")
    if RUN_HYP3:
        # Checks that need no network, so that a dry run already reports them; the secrets
        # are read and dropped here, never stored in the workflow.
        load_accounts(
            config["hyp3"]["credentials_file"],
            sandbox=config["hyp3"]["api_url"] == "sandbox",
        )
except UserError as error:
    sys.exit("\n".join(f"insarflow: {line}" for line in str(error).splitlines()))

if (
    RUN_HYP3
    and config["hyp3"]["api_url"] != "sandbox"
    and config["hyp3"]["poll_interval"] < MIN_REAL_POLL_INTERVAL_S
):
    logger.warning(
        f"insarflow: hyp3.poll_interval = {config['hyp3']['poll_interval']} s polls "
        f"{config['hyp3']['api_url']} very often; use {MIN_REAL_POLL_INTERVAL_S} s or more "
        "(the default is 60)"
    )


def get_hyp3_job_options():
    # Only the options that define a job: changing one makes a new job (and product);
    # operational settings (polling, timeouts) are read from the config by the scripts.
    return {key: config["hyp3"][key] for key in HYP3_JOB_OPTIONS}


# Products, rounds and records are keyed by the job options: changed options mean new jobs.
HYP3_OPTIONS = options_label(get_hyp3_job_options())
HYP3_ROUNDS = RoundIndex(paths.HYP3_ROUNDS_DIR.format(options=HYP3_OPTIONS))


wildcard_constraints:
    pair=paths.PAIR_PATTERN,
    round=paths.ROUND_PATTERN,
    options=paths.HYP3_OPTIONS_PATTERN,


def get_final_outputs(wildcards):
    targets = []
    if RUN_HYP3:
        targets += get_hyp3_products(wildcards)
        targets.append(paths.HYP3_STATUS)
    if RUN_ISCE:
        targets.append(paths.ISCE_COMPLETE)
    targets += get_timeseries_outputs(wildcards)
    targets += get_report_outputs(wildcards)
    return targets


def get_hyp3_products(wildcards):
    return expand(paths.HYP3_PRODUCT, options=HYP3_OPTIONS, pair=PAIRS)


def get_hyp3_products_dir(wildcards):
    return paths.HYP3_PRODUCTS_DIR.format(options=HYP3_OPTIONS)


def get_hyp3_submission():
    return paths.HYP3_SUBMISSION.format(options=HYP3_OPTIONS)


def get_hyp3_submit_log():
    return paths.HYP3_SUBMIT_LOG.format(options=HYP3_OPTIONS)


def get_hyp3_pair_names():
    return {
        pair_id: [pair.reference.name, pair.secondary.name]
        for pair_id, pair in PAIRS.items()
    }


def get_hyp3_pair(wildcards):
    pair = PAIRS[wildcards.pair]
    return [pair.reference.name, pair.secondary.name]


def get_hyp3_previous_round(wildcards):
    index = int(wildcards.round)
    if index == 0:
        return []
    return ancient(paths.round_file(wildcards.options, index - 1))


def get_hyp3_succeeded_round(wildcards):
    # The round that saw the pair's job succeed; asking for a round that has not run yet
    # makes Snakemake run it (a checkpoint) and ask again.
    index = HYP3_ROUNDS.locate(wildcards.pair)
    while True:
        path = checkpoints.hyp3_watch.get(
            options=wildcards.options, round=index
        ).output[0]
        if HYP3_ROUNDS.settled_in(index, wildcards.pair):
            return path
        index += 1


def start_hyp3_sandbox():
    if RUN_HYP3 and config["hyp3"]["api_url"] == "sandbox":
        sandbox = config["hyp3"]["sandbox"]
        try:
            url = acquire_sandbox(
                sandbox["state_dir"], sandbox["processing_seconds"], sandbox["credits"]
            )
        except UserError as error:
            sys.exit(f"insarflow: {error}")
        logger.info(f"HyP3 sandbox (no credits spent) serving at {url}")


def stop_hyp3_sandbox():
    # Only this run's lease is returned: a sandbox another run still uses keeps serving.
    if RUN_HYP3 and config["hyp3"]["api_url"] == "sandbox":
        release_sandbox(config["hyp3"]["sandbox"]["state_dir"])


# === ISCE input functions (rules/isce.smk) ===
# Parse time: the stack the pairs need (reads only the SLC directory listing; UserError
# for anything that cannot work). Jobs' shells start insarflow helpers with this Python,
# also when the ISCE2 conda env is active.
import os

from insarflow.isce.cluster import HeldJobWatch
from insarflow.isce.cluster import check_fits as check_isce_fits
from insarflow.isce.plan import load_plan
from insarflow.isce.workflow import IsceWorkflow

ISCE = None
ISCE_FINGERPRINT = paths.ISCE_FINGERPRINT_PATTERN
if RUN_ISCE:
    try:
        ISCE = IsceWorkflow(config["isce"], [pair.dates for pair in PAIRS.values()])
    except UserError as error:
        sys.exit(f"insarflow: {error}")
    ISCE_FINGERPRINT = ISCE.fingerprint
    # Always this interpreter (it has insarflow), whatever a caller exported.
    os.environ.update(INSARFLOW_JOB_PYTHON=sys.executable)


def get_isce_safes(wildcards):
    return list(ISCE.request.safes)


def get_isce_dem_settings(wildcards):
    return ISCE.dem_settings(paths.DEM.format(dem_key=wildcards.dem_key))


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


def watch_held_slurm_jobs():
    # A job SLURM holds for good (e.g. PartitionConfig) would keep the run waiting silently.
    plugin = workflow.executor_plugin
    if plugin is not None and plugin.name == "slurm" and workflow.is_main_process:
        HeldJobWatch(logger.warning).start()


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
    return paths.ISCE_STACK_COMPLETE.format(fingerprint=ISCE.fingerprint)


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
    return [f"{a}_{b}" for a, b in sorted(ISCE.pairs)]


# === Time-series input functions (rules/timeseries.smk) ===
from insarflow.timeseries.config import check_timeseries_config

try:
    check_timeseries_config(config)
except UserError as error:
    sys.exit(f"insarflow: {error}")
# The stage works on HyP3 products: with processor isce it has nothing to work on.
RUN_TIMESERIES = config["timeseries"]["enabled"] and RUN_HYP3


def get_timeseries_outputs(wildcards):
    if not RUN_TIMESERIES:
        return []
    outputs = [
        paths.TIMESERIES_H5,
        paths.VELOCITY_H5,
        paths.VELOCITY_TIF,
        paths.VELOCITY_STD_TIF,
        paths.TEMPORAL_COHERENCE_TIF,
        paths.VELOCITY_PNG,
        paths.DISPLACEMENT_PNG,
    ]
    if config["timeseries"]["kmz"]:
        outputs.append(paths.VELOCITY_KMZ)
    return outputs


def get_timeseries_settings():
    return dict(config["timeseries"])


def get_timeseries_job_resources():
    # mem_mb and runtime, from the schema's defaults or the user's config (no profile values)
    return dict(config["timeseries"]["job_resources"])


def get_timeseries_threads(wildcards):
    settings = config["timeseries"]
    return settings["num_workers"] if settings["cluster"] == "local" else 1


# === Report input functions (rules/report.smk) ===
from insarflow.report import pages as report_pages

REPORT_QUICKLOOK_LAYERS = tuple(report_pages.LAYERS)


def get_report_outputs(wildcards):
    """Every report item; part of the default target, so `--report` finds them all."""
    targets = []
    if RUN_HYP3:
        targets += [
            paths.REPORT_HYP3_NETWORK,
            paths.REPORT_HYP3_BASELINES,
            paths.REPORT_HYP3_TIMELINE,
            paths.REPORT_HYP3_CREDITS,
        ]
        targets += expand(
            paths.REPORT_QUICKLOOK_PAGE,
            layer=REPORT_QUICKLOOK_LAYERS,
            page=get_report_quicklook_pages(),
        )
    if RUN_TIMESERIES:
        targets += [
            paths.REPORT_VELOCITY,
            paths.REPORT_VELOCITY_STD,
            paths.REPORT_POINT_TIME_SERIES,
            paths.REPORT_COHERENCE_MATRIX,
        ]
    if RUN_ISCE:
        targets += [
            paths.REPORT_ISCE_NETWORK,
            paths.REPORT_ISCE_BASELINES,
            paths.REPORT_ISCE_GANTT,
            paths.REPORT_ISCE_STEP_TIMES,
        ]
    return targets


def get_report_hyp3_pair_dates():
    return {pair_id: list(pair.dates) for pair_id, pair in PAIRS.items()}


def get_report_hyp3_finished_records(wildcards):
    # The `record` outputs of hyp3_product (rules/hyp3.smk), one per pair.
    return expand(paths.HYP3_FINISHED, options=HYP3_OPTIONS, pair=PAIRS)


def get_report_hyp3_ledger():
    return str(paths.HYP3_STATE.ledger)


def get_report_hyp3_board():
    return str(paths.HYP3_STATE.poll_dir)


def get_report_quicklook_pages():
    pages = report_pages.page_count(len(PAIRS))
    return [f"{page:03d}" for page in range(1, pages + 1)]


def get_report_quicklook_products(wildcards):
    return get_hyp3_products(wildcards)[report_pages.page_slice(int(wildcards.page))]


def get_report_quicklook_title(wildcards):
    return report_pages.LAYERS[wildcards.layer].title


def get_report_quicklook_labels(wildcards):
    pair_ids = list(PAIRS)[report_pages.page_slice(int(wildcards.page))]
    return {
        "page": wildcards.page,
        "pairs": f"{pair_ids[0]} … {pair_ids[-1]}" if pair_ids else "-",
    }


def get_report_isce_pair_dates(wildcards):
    return {f"{a}_{b}": [a, b] for a, b in sorted(ISCE.pairs)}


def get_report_isce_plan(wildcards):
    return paths.ISCE_PLAN.format(fingerprint=ISCE.fingerprint)


def get_report_isce_log_dir(wildcards):
    return paths.ISCE_LOGS.format(fingerprint=ISCE.fingerprint)


def get_report_mintpy_files(wildcards):
    # Inside the time-series stage's MintPy work dir (a directory output).
    work = paths.MINTPY_DIR
    return {
        "ifgram_stack": f"{work}/inputs/ifgramStack.h5",
        "geometry": f"{work}/inputs/geometryGeo.h5",
        "mask": f"{work}/maskTempCoh.h5",
    }


onstart:
    start_hyp3_sandbox()
    watch_held_slurm_jobs()


onsuccess:
    stop_hyp3_sandbox()


onerror:
    stop_hyp3_sandbox()
