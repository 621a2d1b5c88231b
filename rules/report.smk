# Report items for `snakemake --report report.zip` (or .html): figures and tables made by the
# workflow as normal outputs (get_final_outputs asks for them), then marked with report().
# Plotting lives in src/insarflow/report/. Every rule here is a localrule: each takes seconds,
# and a cluster job would cost more in queueing than it saves.


wildcard_constraints:
    layer="|".join(REPORT_QUICKLOOK_LAYERS),
    page="[0-9]{3}",


rule report_hyp3_network:
    input:
        products=get_hyp3_products,
    output:
        network=report(
            "results/report/hyp3/network.png",
            caption="../report/network.rst",
            category="Pairs and network",
            subcategory="HyP3",
            labels={"figure": "date against perpendicular baseline"},
        ),
        histogram=report(
            "results/report/hyp3/temporal_baselines.png",
            caption="../report/temporal_baselines.rst",
            category="Pairs and network",
            subcategory="HyP3",
            labels={"figure": "temporal-baseline histogram"},
        ),
    log:
        "logs/report/hyp3_network.log",
    localrule: True
    conda:
        "../envs/insarflow.yaml"
    params:
        pair_dates=get_report_hyp3_pair_dates(),
        title="HyP3 pairs",
    script:
        "../scripts/report_hyp3_network.py"


# `snakemake results/report/planned/network.png`: the configured pairs' network before anything
# is submitted or paid for (dates only). Not part of the default target.
rule report_planned_network:
    output:
        network="results/report/planned/network.png",
        histogram="results/report/planned/temporal_baselines.png",
    log:
        "logs/report/planned_network.log",
    localrule: True
    conda:
        "../envs/insarflow.yaml"
    params:
        pair_dates=get_report_hyp3_pair_dates(),
        title="Planned pairs",
    script:
        "../scripts/report_hyp3_network.py"


rule report_hyp3_jobs:
    input:
        # status.tsv's rule refreshes the status boards this timeline reads.
        status="results/hyp3/status.tsv",
        finished=get_report_hyp3_finished_records,
        products=get_hyp3_products,
    output:
        timeline=report(
            "results/report/hyp3/job_timeline.png",
            caption="../report/job_timeline.rst",
            category="HyP3 jobs",
            labels={"item": "timeline of every job"},
        ),
        table=report(
            "results/report/hyp3/credits_and_expiry.html",
            caption="../report/credits_and_expiry.rst",
            category="HyP3 jobs",
            labels={"item": "credits per account, product expiry"},
        ),
    log:
        "logs/report/hyp3_jobs.log",
    localrule: True
    conda:
        "../envs/insarflow.yaml"
    params:
        ledger=get_report_hyp3_ledger(),
        board=get_report_hyp3_board(),
    script:
        "../scripts/report_hyp3_jobs.py"


rule report_hyp3_quicklooks:
    input:
        products=get_report_quicklook_products,
    output:
        report(
            "results/report/hyp3/quicklooks/{layer}/page-{page}.png",
            caption="../report/quicklooks.rst",
            category="Quicklooks",
            subcategory=get_report_quicklook_title,
            labels=get_report_quicklook_labels,
        ),
    log:
        "logs/report/quicklooks/{layer}/page-{page}.log",
    localrule: True
    conda:
        "../envs/insarflow.yaml"
    params:
        pages=get_report_quicklook_pages(),
    script:
        "../scripts/report_quicklooks.py"


rule report_isce_network:
    input:
        plan=get_report_isce_plan,
        complete=get_isce_stack_complete,
    output:
        network=report(
            "results/report/isce/network.png",
            caption="../report/network.rst",
            category="Pairs and network",
            subcategory="ISCE stack",
            labels={"figure": "date against perpendicular baseline"},
        ),
        histogram=report(
            "results/report/isce/temporal_baselines.png",
            caption="../report/temporal_baselines.rst",
            category="Pairs and network",
            subcategory="ISCE stack",
            labels={"figure": "temporal-baseline histogram"},
        ),
    log:
        "logs/report/isce_network.log",
    localrule: True
    conda:
        "../envs/insarflow.yaml"
    params:
        pair_dates=get_report_isce_pair_dates,
    script:
        "../scripts/report_isce_network.py"


rule report_isce_timing:
    input:
        plan=get_report_isce_plan,
        complete=get_isce_stack_complete,
    output:
        gantt=report(
            "results/report/isce/commands_gantt.png",
            caption="../report/isce_gantt.rst",
            category="ISCE",
            labels={"figure": "Gantt chart of the run-file commands"},
        ),
        steps=report(
            "results/report/isce/step_wall_times.png",
            caption="../report/isce_step_times.rst",
            category="ISCE",
            labels={"figure": "wall time per step"},
        ),
    log:
        "logs/report/isce_timing.log",
    localrule: True
    conda:
        "../envs/insarflow.yaml"
    params:
        logs=get_report_isce_log_dir,
    script:
        "../scripts/report_isce_timing.py"


rule report_displacement:
    input:
        velocity=TIMESERIES_PATHS.VELOCITY,
        timeseries=TIMESERIES_PATHS.TIMESERIES,
        work=TIMESERIES_PATHS.MINTPY_DIR,
    output:
        velocity=report(
            "results/report/displacement/velocity.png",
            caption="../report/velocity.rst",
            category="Displacement",
            labels={"figure": "velocity (mm/yr)"},
        ),
        velocity_std=report(
            "results/report/displacement/velocity_std.png",
            caption="../report/velocity_std.rst",
            category="Displacement",
            labels={"figure": "velocity standard deviation"},
        ),
        time_series=report(
            "results/report/displacement/point_time_series.png",
            caption="../report/point_time_series.rst",
            category="Displacement",
            labels={"figure": "time series at two points"},
        ),
        coherence_matrix=report(
            "results/report/displacement/coherence_matrix.png",
            caption="../report/coherence_matrix.rst",
            category="Displacement",
            labels={"figure": "coherence matrix"},
        ),
    log:
        "logs/report/displacement.log",
    localrule: True
    conda:
        "../envs/insarflow.yaml"
    params:
        mintpy=get_report_mintpy_files,
    script:
        "../scripts/report_displacement.py"
