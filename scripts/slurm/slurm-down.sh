#!/usr/bin/env bash
# Stop the single-node SLURM cluster started by scripts/slurm/slurm-up.sh.
#
#   scripts/slurm/slurm-down.sh           # cancel leftover jobs, stop the daemons
#   scripts/slurm/slurm-down.sh --purge   # ... and delete the state directory
#
# Only the processes recorded in $INSARFLOW_SLURM_DIR/run/<name>.pid are
# signalled, and only while that PID still belongs to a process of that name.
set -uo pipefail

STATE_DIR=${INSARFLOW_SLURM_DIR:-/tmp/insarflow-slurm}
STOP_SECONDS=30

say() { printf '[slurm-down] %s\n' "$*"; }

is_running() {
  local pid_file="$STATE_DIR/run/$1.pid" pid
  [[ -s $pid_file ]] || return 1
  pid=$(<"$pid_file")
  [[ -r /proc/$pid/comm && $(<"/proc/$pid/comm") == "$1" ]]
}

# Jobs left in the queue would leave slurmstepd processes behind once slurmd
# is gone, so cancel them while the controller still answers.
if is_running slurmctld; then
  mapfile -t leftover < <(timeout 10 squeue --noheader --format=%i 2>/dev/null)
  if ((${#leftover[@]})); then
    say "cancelling leftover jobs: ${leftover[*]}"
    timeout 30 scancel "${leftover[@]}" 2>/dev/null
    for _ in $(seq 1 60); do
      [[ -z $(timeout 10 squeue --noheader --states=PENDING,RUNNING,COMPLETING 2>/dev/null) ]] && break
      sleep 0.5
    done
  fi
fi

for name in slurmd slurmctld munged; do
  pid_file="$STATE_DIR/run/$name.pid"
  [[ -e $pid_file ]] || continue
  if is_running "$name"; then
    pid=$(<"$pid_file")
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 $((STOP_SECONDS * 4))); do
      [[ -d /proc/$pid ]] || break
      sleep 0.25
    done
    if [[ -d /proc/$pid ]]; then
      say "$name (pid $pid) still running ${STOP_SECONDS}s after SIGTERM; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null
    fi
    say "stopped $name (pid $pid)"
  else
    say "$name was not running (stale pid file removed)"
  fi
  rm -f "$pid_file"
done

if [[ ${1:-} == --purge ]]; then
  rm -rf "$STATE_DIR"
  say "removed $STATE_DIR"
fi
