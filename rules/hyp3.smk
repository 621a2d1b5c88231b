# HyP3 path: submit (once per pair and job options, ever), polling rounds that download,
# verify, unpack and place the products, status. Every rule here talks to the network, so
# each is a localrule (HPC compute nodes are often offline); API calls share the global
# resource `hyp3_api`, downloads `hyp3_downloads`. Outputs are keyed by `{options}` (see
# insarflow/paths.py). Why rounds instead of one waiting job per pair: see
# insarflow/hyp3/rounds.py.


if "hyp3_api" not in workflow.global_resources:
    workflow.register_resource("hyp3_api", config["hyp3"]["api_concurrency"])
if "hyp3_downloads" not in workflow.global_resources:
    workflow.register_resource("hyp3_downloads", config["hyp3"]["max_downloads"])


rule hyp3_submit:
    output:
        submission=get_hyp3_submission(),
    log:
        get_hyp3_submit_log(),
    localrule: True
    conda:
        "../envs/insarflow.yaml"
    threads: 0
    resources:
        hyp3_api=1,
    params:
        pairs=get_hyp3_pair_names(),
        job=get_hyp3_job_options(),
    script:
        "../scripts/hyp3_submit.py"


# One polling round over every unsettled pair: puts each product in place as soon as its job
# succeeds, and ends once some are in place, so that the rules needing them start while the
# next round polls the rest. High priority: the next round should not queue behind them.
checkpoint hyp3_watch:
    input:
        submission=ancient(paths.HYP3_SUBMISSION),
        previous=get_hyp3_previous_round,
    output:
        paths.HYP3_ROUND,
    log:
        paths.HYP3_ROUND_LOG,
    priority: 20
    localrule: True
    conda:
        "../envs/insarflow.yaml"
    threads: 0
    resources:
        hyp3_api=1,
    params:
        job=get_hyp3_job_options(),
        products=get_hyp3_products_dir,
    script:
        "../scripts/hyp3_watch.py"


# The polling round that saw the pair's job succeed put its product in place, so Snakemake
# finds it up to date and runs this only when it is gone (e.g. deleted to be fetched anew):
# download, verify and unpack it again. No job per pair in a run: see ProductStager in
# insarflow/hyp3/run.py.
rule hyp3_product:
    input:
        succeeded=ancient(get_hyp3_succeeded_round),
    output:
        product=directory(paths.HYP3_PRODUCT),
        record=paths.HYP3_FINISHED,
    log:
        paths.HYP3_PRODUCT_LOG,
    priority: 10
    localrule: True
    conda:
        "../envs/insarflow.yaml"
    threads: 0
    resources:
        hyp3_downloads=1,
    params:
        pair=get_hyp3_pair,
        job=get_hyp3_job_options(),
    script:
        "../scripts/hyp3_product.py"


rule hyp3_summary:
    input:
        products=get_hyp3_products,
        # Rewritten when the pair set changes, so a removed pair leaves the table.
        submission=get_hyp3_submission(),
    output:
        paths.HYP3_STATUS,
    log:
        paths.HYP3_SUMMARY_LOG,
    localrule: True
    conda:
        "../envs/insarflow.yaml"
    threads: 0
    resources:
        hyp3_api=1,
    params:
        pairs=get_hyp3_pair_names(),
        job=get_hyp3_job_options(),
        products=get_hyp3_products_dir,
    script:
        "../scripts/hyp3_status.py"


# `snakemake hyp3_status`: refresh and print every current pair's job; submits nothing.
rule hyp3_status:
    log:
        paths.HYP3_STATUS_LOG,
    localrule: True
    conda:
        "../envs/insarflow.yaml"
    threads: 0
    params:
        pairs=get_hyp3_pair_names(),
        job=get_hyp3_job_options(),
        products=get_hyp3_products_dir,
        table=paths.HYP3_STATUS,
    script:
        "../scripts/hyp3_status.py"


# `snakemake hyp3_plan`: what a run would submit and what it costs; submits nothing.
rule hyp3_plan:
    log:
        paths.HYP3_PLAN_LOG,
    localrule: True
    conda:
        "../envs/insarflow.yaml"
    threads: 0
    params:
        pairs=get_hyp3_pair_names(),
        job=get_hyp3_job_options(),
        options=HYP3_OPTIONS,
    script:
        "../scripts/hyp3_plan.py"
