# Time-series stage: HyP3 products -> common-overlap clip -> MintPy smallbaselineApp -> maps.
# Logic in insarflow.timeseries; paths in insarflow.timeseries.paths (TIMESERIES_PATHS).


rule timeseries_clip:
    input:
        products=get_hyp3_products,
    output:
        directory(TIMESERIES_PATHS.CLIPPED),
    log:
        "logs/timeseries/clip.log",
    conda:
        "../envs/mintpy.yaml"
    script:
        "../scripts/timeseries_clip.py"


rule timeseries_mintpy:
    input:
        clipped=TIMESERIES_PATHS.CLIPPED,
    output:
        work=directory(TIMESERIES_PATHS.MINTPY_DIR),
        steps=TIMESERIES_PATHS.STEPS_RECORD,
        timeseries=TIMESERIES_PATHS.TIMESERIES,
        velocity=TIMESERIES_PATHS.VELOCITY,
    log:
        "logs/timeseries/mintpy.log",
    conda:
        "../envs/mintpy.yaml"
    threads: get_timeseries_threads
    params:
        settings=get_timeseries_settings(),
        template=TIMESERIES_PATHS.TEMPLATE,
    script:
        "../scripts/timeseries_mintpy.py"


rule timeseries_kmz:
    input:
        work=TIMESERIES_PATHS.MINTPY_DIR,
    output:
        kmz=TIMESERIES_PATHS.VELOCITY_KMZ,
    log:
        "logs/timeseries/kmz.log",
    localrule: True
    conda:
        "../envs/mintpy.yaml"
    script:
        "../scripts/timeseries_kmz.py"


rule timeseries_export:
    input:
        velocity=TIMESERIES_PATHS.VELOCITY,
        timeseries=TIMESERIES_PATHS.TIMESERIES,
        work=TIMESERIES_PATHS.MINTPY_DIR,
    output:
        velocity_tif=TIMESERIES_PATHS.VELOCITY_TIF,
        velocity_std_tif=TIMESERIES_PATHS.VELOCITY_STD_TIF,
        coherence_tif=TIMESERIES_PATHS.TEMPORAL_COHERENCE_TIF,
        velocity_png=TIMESERIES_PATHS.VELOCITY_PNG,
        displacement_png=TIMESERIES_PATHS.DISPLACEMENT_PNG,
    log:
        "logs/timeseries/export.log",
    conda:
        "../envs/mintpy.yaml"
    params:
        settings=get_timeseries_settings(),
    script:
        "../scripts/timeseries_export.py"
