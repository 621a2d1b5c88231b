#!/usr/bin/env bash
# insarflow's main command:  bash scripts/demo.sh [SNAKEMAKE ARGS...]
#
# Creates or reuses the virtualenv (INSARFLOW_VENV, default .venv), installs insarflow, and
# runs the workflow with config/config.yaml on this machine (the local profile). The example
# config sends its pairs to the offline HyP3 sandbox (hyp3.api_url: sandbox) on a loopback
# port, so the whole HyP3 path runs without an Earthdata account and spends no credits.
#
#   bash scripts/demo.sh            # run it; products land in results/hyp3/products/
#   bash scripts/demo.sh -n         # only show the planned jobs
#   bash scripts/demo.sh --configfile my.yaml   # your own pairs and settings
set -euo pipefail

# shellcheck source=scripts/lib/venv.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/venv.sh"
cd "$INSARFLOW_REPO"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1

insarflow_venv
echo "[demo] snakemake --profile local $*"
exec snakemake --profile local "$@"
