from snakemake.utils import min_version

min_version("9.20")


configfile: "config/config.yaml"


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/hyp3.smk"
include: "rules/isce.smk"
include: "rules/timeseries.smk"
include: "rules/report.smk"


rule all:
    default_target: True
    input:
        get_final_outputs,
