#!/usr/bin/env bash
# insarflow's test command:  bash scripts/test.sh [PYTEST ARGS...]
#
# Needs nothing but Python >= 3.11 (and root + apt-get for the SLURM tests). It
#   1. creates or reuses the virtualenv (INSARFLOW_VENV, default .venv) and installs
#      insarflow with its test extra (skipped while pyproject.toml is unchanged),
#   2. starts the single-node SLURM cluster of scripts/slurm/slurm-up.sh (Debian packages),
#   3. runs pytest; tests/test_gates.py holds the quality gates (snakemake --lint,
#      snakefmt --check, ruff check, ruff format --check),
#   4. stops the cluster again if it started it, and exits with pytest's code.
# pytest's "no tests collected" (exit 5) is a failure here, never a green run.
#
#   bash scripts/test.sh                            # the whole suite, as CI runs it
#   bash scripts/test.sh tests/test_pairs.py -x     # arguments go to pytest
#
# Environment (optional):
#   INSARFLOW_VENV        virtualenv to create or reuse        (default: <repo>/.venv)
#   INSARFLOW_PYTHON      interpreter for a new virtualenv     (default: python3 >= 3.11)
#   INSARFLOW_NO_SLURM=1  do not start the cluster here (tests/slurm start it themselves,
#                         or skip outside CI when they cannot)
set -euo pipefail

started_at=$(date +%s)
say() { printf '[test.sh %4ss] %s\n' "$(($(date +%s) - started_at))" "$*"; }

# shellcheck source=scripts/lib/venv.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/venv.sh"
cd "$INSARFLOW_REPO"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 DEBIAN_FRONTEND=noninteractive
export PYTHONDONTWRITEBYTECODE=1

# ------------------------------------------------------------------ 1. virtualenv
say "Python environment"
insarflow_venv test

# ------------------------------------------------------------------ 1b. headless browser
# The report tests render `snakemake --report` in Debian's Chromium (tests/report).
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    say "installing chromium and chromium-driver with apt-get (report tests)"
    apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    say "chromium: not installed (needs root and apt-get); outside CI the report browser tests skip"
  fi
fi

# ------------------------------------------------------------------ 2. SLURM cluster
SLURM_DIR=${INSARFLOW_SLURM_DIR:-/tmp/insarflow-slurm}
SLURM_UP=scripts/slurm/slurm-up.sh
SLURM_DOWN=scripts/slurm/slurm-down.sh
slurm_started_here=""

slurm_running() {
  local name pid
  for name in munged slurmctld slurmd; do
    pid=$(cat "$SLURM_DIR/run/$name.pid" 2>/dev/null) || return 1
    [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$name" ]] || return 1
  done
}

# Only a cluster this run started is stopped (by the PIDs slurm-down.sh keeps).
stop_slurm() {
  if [[ -n $slurm_started_here && -f $SLURM_DOWN ]]; then
    slurm_started_here=""
    say "stopping the SLURM cluster (log: $SLURM_DIR/test-sh-down.log)"
    bash "$SLURM_DOWN" >"$SLURM_DIR/test-sh-down.log" 2>&1 || say "WARNING: $SLURM_DOWN failed"
  fi
}
trap stop_slurm EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

if [[ ${INSARFLOW_NO_SLURM:-} == 1 ]]; then
  say "SLURM: not started (INSARFLOW_NO_SLURM=1)"
elif [[ ! -f $SLURM_UP ]]; then
  say "SLURM: $SLURM_UP is missing; the SLURM tests will say so"
elif [[ $(id -u) != 0 ]] || { ! command -v apt-get >/dev/null && ! command -v slurmctld >/dev/null; }; then
  say "SLURM: not started (needs root and apt-get); outside CI the SLURM tests skip"
elif slurm_running; then
  say "SLURM: already running; left as it is"
else
  say "SLURM: starting the single-node cluster (log: $SLURM_DIR/test-sh-up.log)"
  mkdir -p "$SLURM_DIR"
  slurm_started_here=yes
  if ! INSARFLOW_SLURM_DIR=$SLURM_DIR bash "$SLURM_UP" >"$SLURM_DIR/test-sh-up.log" 2>&1; then
    say "WARNING: $SLURM_UP failed; its last lines:"
    tail -n 20 "$SLURM_DIR/test-sh-up.log" >&2 || true
  fi
fi

# ------------------------------------------------------------------ 3. pytest
junit=$(mktemp --suffix=.xml)
say "pytest $*"
set +e
python -m pytest -p no:cacheprovider --junitxml="$junit" "$@"
rc=$?
set -e

counts=$(
  python - "$junit" <<'PY' 2>/dev/null || echo "0 0 0"
import sys
import xml.etree.ElementTree as ET

root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else list(root)
total = sum(int(s.get("tests", 0)) for s in suites)
failed = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
skipped = sum(int(s.get("skipped", 0)) for s in suites)
print(total - failed - skipped, failed, skipped)
PY
)
rm -f "$junit"
read -r passed failed skipped <<<"$counts"
stop_slurm

if ((rc == 5)); then
  say "FAILED: pytest collected no tests (exit 5), which never counts as a pass"
  rc=1
elif ((rc == 0 && passed == 0)); then
  say "FAILED: pytest ran no test"
  rc=1
elif ((rc != 0)); then
  say "FAILED: pytest exit $rc"
else
  say "PASSED"
fi
echo "insarflow-tests: $passed passed, $failed failed, $skipped skipped"
exit "$rc"
