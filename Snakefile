from snakemake.utils import min_version

min_version("9.20")


configfile: "config/config.yaml"


include: "rules/common.smk"
include: "rules/hyp3.smk"
include: "rules/isce.smk"
include: "rules/timeseries.smk"


rule all:
    default_target: True
    input:
        get_final_outputs,
