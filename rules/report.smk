# Report items for `snakemake --report report.zip` (or .html): figures and tables made by the
# workflow as normal outputs (get_final_outputs asks for them), then marked with report().
# Plotting lives in src/insarflow/report/. Every rule here is a localrule: each takes seconds,
# and a cluster job would cost more in queueing than it saves.


wildcard_constraints:
    layer="|".join(REPORT_QUICKLOOK_LAYERS),
    page=paths.REPORT_QUICKLOOK_PAGE_PATTERN,


rule report_hyp3_network:
    input:
        products=get_hyp3_products,
    output:
        network=report(
            paths.REPORT_HYP3_NETWORK,
            caption="../report/network.rst",
            category="Pairs and network",
            subcategory="HyP3",
            labels={"figure": "date against perpendicular baseline"},
        ),
        histogram=report(
            paths.REPORT_HYP3_BASELINES,
            caption="../report/temporal_baselines.rst",
            category="Pairs and network",
            subcategory="HyP3",
            labels={"figure": "temporal-baseline histogram"},
        ),
    log:
        paths.REPORT_LOG.format(item="hyp3_network"),
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
        network=paths.REPORT_PLANNED_NETWORK,
        histogram=paths.REPORT_PLANNED_BASELINES,
    log:
        paths.REPORT_LOG.format(item="planned_network"),
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
        status=paths.HYP3_STATUS,
        finished=get_report_hyp3_finished_records,
        products=get_hyp3_products,
    output:
        timeline=report(
            paths.REPORT_HYP3_TIMELINE,
            caption="../report/job_timeline.rst",
            category="HyP3 jobs",
            labels={"item": "timeline of every job"},
        ),
        table=report(
            paths.REPORT_HYP3_CREDITS,
            caption="../report/credits_and_expiry.rst",
            category="HyP3 jobs",
            labels={"item": "credits per account, product expiry"},
        ),
    log:
        paths.REPORT_LOG.format(item="hyp3_jobs"),
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
            paths.REPORT_QUICKLOOK_PAGE,
            caption="../report/quicklooks.rst",
            category="Quicklooks",
            subcategory=get_report_quicklook_title,
            labels=get_report_quicklook_labels,
        ),
    log:
        paths.REPORT_QUICKLOOK_LOG,
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
            paths.REPORT_ISCE_NETWORK,
            caption="../report/network.rst",
            category="Pairs and network",
            subcategory="ISCE stack",
            labels={"figure": "date against perpendicular baseline"},
        ),
        histogram=report(
            paths.REPORT_ISCE_BASELINES,
            caption="../report/temporal_baselines.rst",
            category="Pairs and network",
            subcategory="ISCE stack",
            labels={"figure": "temporal-baseline histogram"},
        ),
    log:
        paths.REPORT_LOG.format(item="isce_network"),
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
            paths.REPORT_ISCE_GANTT,
            caption="../report/isce_gantt.rst",
            category="ISCE",
            labels={"figure": "Gantt chart of the run-file commands"},
        ),
        steps=report(
            paths.REPORT_ISCE_STEP_TIMES,
            caption="../report/isce_step_times.rst",
            category="ISCE",
            labels={"figure": "wall time per step"},
        ),
    log:
        paths.REPORT_LOG.format(item="isce_timing"),
    localrule: True
    conda:
        "../envs/insarflow.yaml"
    params:
        logs=get_report_isce_log_dir,
    script:
        "../scripts/report_isce_timing.py"


rule report_displacement:
    input:
        velocity=paths.VELOCITY_H5,
        timeseries=paths.TIMESERIES_H5,
        work=paths.MINTPY_DIR,
    output:
        velocity=report(
            paths.REPORT_VELOCITY,
            caption="../report/velocity.rst",
            category="Displacement",
            labels={"figure": "velocity (mm/yr)"},
        ),
        velocity_std=report(
            paths.REPORT_VELOCITY_STD,
            caption="../report/velocity_std.rst",
            category="Displacement",
            labels={"figure": "velocity standard deviation"},
        ),
        time_series=report(
            paths.REPORT_POINT_TIME_SERIES,
            caption="../report/point_time_series.rst",
            category="Displacement",
            labels={"figure": "time series at two points"},
        ),
        coherence_matrix=report(
            paths.REPORT_COHERENCE_MATRIX,
            caption="../report/coherence_matrix.rst",
            category="Displacement",
            labels={"figure": "coherence matrix"},
        ),
    log:
        paths.REPORT_LOG.format(item="displacement"),
    localrule: True
    conda:
        "../envs/insarflow.yaml"
    params:
        mintpy=get_report_mintpy_files,
    script:
        "../scripts/report_displacement.py"
