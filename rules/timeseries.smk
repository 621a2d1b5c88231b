# Time-series stage: HyP3 products -> common-overlap clip -> MintPy smallbaselineApp -> maps.
# Logic in insarflow.timeseries; paths in insarflow.paths.


rule timeseries_clip:
    input:
        products=get_hyp3_products,
    output:
        directory(paths.TIMESERIES_CLIPPED),
    log:
        paths.TIMESERIES_LOG.format(step="clip"),
    conda:
        "../envs/mintpy.yaml"
    resources:
        **get_timeseries_job_resources(),
    script:
        "../scripts/timeseries_clip.py"


rule timeseries_mintpy:
    input:
        clipped=paths.TIMESERIES_CLIPPED,
    output:
        work=directory(paths.MINTPY_DIR),
        steps=paths.MINTPY_STEPS,
        timeseries=paths.TIMESERIES_H5,
        velocity=paths.VELOCITY_H5,
    log:
        paths.TIMESERIES_LOG.format(step="mintpy"),
    conda:
        "../envs/mintpy.yaml"
    threads: get_timeseries_threads
    resources:
        **get_timeseries_job_resources(),
    params:
        settings=get_timeseries_settings(),
        template=paths.MINTPY_TEMPLATE,
    script:
        "../scripts/timeseries_mintpy.py"


rule timeseries_kmz:
    input:
        work=paths.MINTPY_DIR,
    output:
        kmz=paths.VELOCITY_KMZ,
    log:
        paths.TIMESERIES_LOG.format(step="kmz"),
    localrule: True
    conda:
        "../envs/mintpy.yaml"
    script:
        "../scripts/timeseries_kmz.py"


rule timeseries_export:
    input:
        velocity=paths.VELOCITY_H5,
        timeseries=paths.TIMESERIES_H5,
        work=paths.MINTPY_DIR,
    output:
        velocity_tif=paths.VELOCITY_TIF,
        velocity_std_tif=paths.VELOCITY_STD_TIF,
        coherence_tif=paths.TEMPORAL_COHERENCE_TIF,
        velocity_png=paths.VELOCITY_PNG,
        displacement_png=paths.DISPLACEMENT_PNG,
    log:
        paths.TIMESERIES_LOG.format(step="export"),
    conda:
        "../envs/mintpy.yaml"
    resources:
        **get_timeseries_job_resources(),
    params:
        settings=get_timeseries_settings(),
    script:
        "../scripts/timeseries_export.py"
