# HyP3 path: submit (once per pair, ever), polling rounds, download + verify + unpack, status.
# Every rule here talks to the network, so each is a localrule (HPC compute nodes are often
# offline); API calls share the global resource `hyp3_api`, downloads `hyp3_downloads`.
# Why rounds instead of one waiting job per pair: see insarflow/hyp3/rounds.py.


if "hyp3_api" not in workflow.global_resources:
    workflow.register_resource("hyp3_api", config["hyp3"]["api_concurrency"])
if "hyp3_downloads" not in workflow.global_resources:
    workflow.register_resource("hyp3_downloads", config["hyp3"]["max_workers"])


onstart:
    start_hyp3_sandbox()


onsuccess:
    stop_hyp3_sandbox()


onerror:
    stop_hyp3_sandbox()


rule hyp3_submit:
    output:
        records=get_hyp3_job_records(),
        submission="results/hyp3/submission.json",
    log:
        "logs/hyp3/submit.log",
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


# One polling round over every unsettled pair; ends once some jobs have succeeded, so their
# downloads start while the next round polls the rest. High priority: the next round should
# not queue behind downloads.
checkpoint hyp3_watch:
    input:
        submission=ancient("results/hyp3/submission.json"),
        previous=get_hyp3_previous_round,
    output:
        "results/hyp3/watch/{generation}/round-{round}.json",
    log:
        "logs/hyp3/watch/{generation}/round-{round}.log",
    priority: 20
    localrule: True
    conda:
        "../envs/insarflow.yaml"
    threads: 0
    resources:
        hyp3_api=1,
    params:
        job=get_hyp3_job_options(),
    script:
        "../scripts/hyp3_watch.py"


rule hyp3_download:
    input:
        succeeded=ancient(get_hyp3_succeeded_round),
        # A pair without a job record yet makes hyp3_submit run first.
        submitted=ancient("results/hyp3/jobs/{pair}.json"),
    output:
        product=directory("results/hyp3/products/{pair}"),
        record="results/hyp3/finished/{pair}.json",
    log:
        "logs/hyp3/download/{pair}.log",
    priority: 10
    retries: 2
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
        "../scripts/hyp3_download.py"


rule hyp3_summary:
    input:
        get_hyp3_products,
    output:
        "results/hyp3/status.tsv",
    log:
        "logs/hyp3/summary.log",
    localrule: True
    conda:
        "../envs/insarflow.yaml"
    threads: 0
    resources:
        hyp3_api=1,
    params:
        pairs=get_hyp3_pair_names(),
        job=get_hyp3_job_options(),
        products=get_hyp3_products_root,
    script:
        "../scripts/hyp3_status.py"


# `snakemake hyp3_status`: refresh and print every pair's job at any time; submits nothing.
rule hyp3_status:
    log:
        "logs/hyp3/status.log",
    localrule: True
    conda:
        "../envs/insarflow.yaml"
    threads: 0
    params:
        pairs=get_hyp3_pair_names(),
        job=get_hyp3_job_options(),
        products=get_hyp3_products_root,
        table="results/hyp3/status.tsv",
    script:
        "../scripts/hyp3_status.py"
