# ISCE2 topsStack: DEM, orbits and AUX_CAL, stackSentinel.py run files (a checkpoint),
# then one job per run-file command, a step marker per run file, and the completion file.
# Design notes: src/insarflow/isce/ (stack.py: pairs and fingerprint; runfiles.py: parsing;
# commands.py: running one command). Paths: insarflow.paths (ISCE_*, DEM).
# Python steps are `script:` rules calling one package function through run_step, like every
# stage. The rules that start ISCE2 programs are `shell:` rules in the ISCE2 conda env (with
# --sdm conda); the small insarflow runner in front of each program runs with the Python that
# runs Snakemake ($INSARFLOW_JOB_PYTHON, set in common.smk), as that env has no insarflow.


wildcard_constraints:
    fingerprint=ISCE_FINGERPRINT,
    step=paths.ISCE_STEP_PATTERN,
    chain=paths.ISCE_CHAIN_PATTERN,
    grouping=paths.ISCE_GROUPING_PATTERN,
    index=paths.ISCE_INDEX_PATTERN,
    dem_key=paths.DEM_KEY_PATTERN,


rule isce_dem:
    input:
        safes=get_isce_safes,
    output:
        dem=paths.DEM,
        xml=paths.DEM_XML,
        vrt=paths.DEM_VRT,
    log:
        paths.DEM_LOG,
    localrule: True
    conda:
        "../envs/insarflow.yaml"
    params:
        settings=get_isce_dem_settings,
    script:
        "../scripts/isce_dem.py"


# Orbits (sentineleof; covered SLCs need no network), AUX_CAL note, stackSentinel request.
rule isce_inputs:
    input:
        safes=get_isce_safes,
    output:
        orbits=paths.ISCE_ORBITS,
        aux_cal=paths.ISCE_AUX_CAL,
        request=paths.ISCE_REQUEST,
    log:
        paths.ISCE_INPUTS_LOG,
    localrule: True
    conda:
        "../envs/insarflow.yaml"
    params:
        orbit_dir=get_isce_orbit_dir,
        aux_dir=get_isce_aux_dir,
        request=get_isce_stack_request,
    script:
        "../scripts/isce_inputs.py"


# stackSentinel.py in a clean work dir; plan.json lists every step and command.
checkpoint isce_run_files:
    input:
        unpack(get_isce_run_files_inputs),
    output:
        plan=paths.ISCE_PLAN,
    log:
        paths.ISCE_RUN_FILES_LOG,
    conda:
        "../envs/isce2.yaml"
    resources:
        mem_mb=get_isce_run_files_mem_mb,
        runtime=get_isce_run_files_runtime,
    shell:
        '"$INSARFLOW_JOB_PYTHON" -m insarflow.isce.stack --request {input.request} '
        "--plan {output.plan} --timeout-minutes {resources.runtime} > {log} 2>&1"


# One run-file command; it waits for the commands whose outputs it reads, and its marker
# is written only when it exits 0.
rule isce_command:
    input:
        unpack(get_isce_command_inputs),
    output:
        done=paths.ISCE_COMMAND_DONE,
    log:
        paths.ISCE_COMMAND_LOG,
    conda:
        "../envs/isce2.yaml"
    threads: get_isce_step_threads
    resources:
        mem_mb=get_isce_step_mem_mb,
        runtime=get_isce_step_runtime,
    shell:
        '"$INSARFLOW_JOB_PYTHON" -m insarflow.isce.commands --plan {input.plan} '
        "--step {wildcards.step} --index {wildcards.index} --threads {threads} "
        "--timeout-minutes {resources.runtime} --log {log} --done {output.done}"


# Commands of one date or pair that run back to back (isce.grouping), as one job: one
# SLURM job instead of several. Each command keeps its own log and marker, and a retry
# resumes after the last command that finished.
rule isce_chain:
    input:
        unpack(get_isce_chain_inputs),
    output:
        done=paths.ISCE_CHAIN_DONE,
    log:
        paths.ISCE_CHAIN_LOG,
    conda:
        "../envs/isce2.yaml"
    threads: get_isce_chain_threads
    resources:
        mem_mb=get_isce_chain_mem_mb,
        runtime=get_isce_chain_runtime,
    params:
        runtimes=get_isce_chain_runtimes,
    shell:
        '"$INSARFLOW_JOB_PYTHON" -m insarflow.isce.commands --plan {input.plan} '
        '--chain {wildcards.chain} --runtimes "{params.runtimes}" --threads {threads} '
        "--log {log} --done {output.done}"


# Every selected command of a run file is done: the next run file may start.
rule isce_step:
    input:
        unpack(get_isce_step_inputs),
    output:
        touch(paths.ISCE_STEP_DONE),
    localrule: True


rule isce_stack_complete:
    input:
        plan=paths.ISCE_PLAN,
        last_step=get_isce_last_step,
    output:
        complete=paths.ISCE_STACK_COMPLETE,
    log:
        paths.ISCE_STACK_COMPLETE_LOG,
    localrule: True
    conda:
        "../envs/insarflow.yaml"
    params:
        pairs=get_isce_pair_ids,
    script:
        "../scripts/isce_stack_complete.py"


# The current stack's completion file, under a fixed name. Its input is not behind the
# checkpoint, so other settings (a new fingerprint) make it out of date at once.
rule isce_complete:
    input:
        get_isce_stack_complete,
    output:
        paths.ISCE_COMPLETE,
    log:
        paths.ISCE_COMPLETE_LOG,
    localrule: True
    conda:
        "../envs/isce2.yaml"
    shell:
        "cp {input} {output} 2> {log}"
