#!/usr/bin/env bash
# Start a real single-node SLURM cluster on this machine, on loopback only, for
# insarflow's tests and CI: munged, slurmctld and slurmd from Debian's packages.
#
#   scripts/slurm/slurm-up.sh          # install what is missing, configure, start, smoke-test
#   scripts/slurm/slurm-down.sh        # stop it again (by PID)
#
# Needs root and Debian's apt repositories; no systemd: each daemon runs in the
# foreground under setsid and its PID is kept in $STATE_DIR/run/<name>.pid.
# Running it again while the cluster is up only checks it (idempotent).
#
# There is deliberately no slurmdbd/MariaDB: accounting would add ~20 s of
# install and a database, and nothing insarflow does needs it. The workflow's
# profile asks the executor plugin to poll `squeue` (not `sacct`), which only
# needs slurmctld to remember finished jobs for MinJobAge seconds.
#
# Environment (all optional):
#   INSARFLOW_SLURM_DIR        state, logs and pid files   (default /tmp/insarflow-slurm)
#   INSARFLOW_SLURM_PARTITION  the single partition's name (default debug)
#   INSARFLOW_SLURM_TIMEOUT    seconds to wait for each daemon / the node (default 60)
set -euo pipefail

STATE_DIR=${INSARFLOW_SLURM_DIR:-/tmp/insarflow-slurm}
PARTITION=${INSARFLOW_SLURM_PARTITION:-debug}
WAIT_SECONDS=${INSARFLOW_SLURM_TIMEOUT:-60}
SLURM_CONF=/etc/slurm/slurm.conf
# Client commands (sinfo, sbatch, ...) read /etc/slurm/slurm.conf by default,
# so the file is written there; this marker lets us refuse to overwrite a
# configuration this script did not write (a real cluster's, say).
MARKER="# written by insarflow scripts/slurm/slurm-up.sh"
PACKAGES=(munge slurmctld slurmd slurm-client)
started_at=$(date +%s)

say() { printf '[slurm-up %3ss] %s\n' "$(($(date +%s) - started_at))" "$*"; }
fail() {
  say "ERROR: $*" >&2
  exit 1
}

[[ $(id -u) == 0 ]] || fail "must run as root (it installs packages and starts daemons)"
mkdir -p "$STATE_DIR"/{run,log,ctld,spool}

# ------------------------------------------------------------------ helpers
# is_running NAME: the pid file names a live process whose command is NAME
# (guards against a stale pid file whose PID was reused by something else).
is_running() {
  local pid_file="$STATE_DIR/run/$1.pid" pid
  [[ -s $pid_file ]] || return 1
  pid=$(<"$pid_file")
  [[ -r /proc/$pid/comm && $(<"/proc/$pid/comm") == "$1" ]]
}

# wait_until DESCRIPTION COMMAND...: poll COMMAND every 0.25 s, at most WAIT_SECONDS.
wait_until() {
  local description=$1 deadline=$(($(date +%s) + WAIT_SECONDS))
  shift
  until "$@" >/dev/null 2>&1; do
    (($(date +%s) < deadline)) || fail "gave up after ${WAIT_SECONDS}s waiting for $description"
    sleep 0.25
  done
}

# launch NAME COMMAND...: start a foreground daemon detached from our terminal;
# COMMAND must exec into a process called NAME (setsid and setpriv do).
launch() {
  local name=$1 pid
  shift
  if is_running "$name"; then
    say "$name already running (pid $(<"$STATE_DIR/run/$name.pid"))"
    return 0
  fi
  setsid "$@" >"$STATE_DIR/log/$name.out" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$STATE_DIR/run/$name.pid"
  wait_until "$name to start" is_running "$name"
  sleep 0.5 # a daemon that dies on a bad config does so at once
  is_running "$name" || {
    tail -n 20 "$STATE_DIR/log/$name.out" >&2
    fail "$name exited right after starting; see $STATE_DIR/log/$name.out"
  }
  say "started $name (pid $pid)"
}

stop_pid_of() {
  local name=$1 pid
  is_running "$name" || return 0
  pid=$(<"$STATE_DIR/run/$name.pid")
  kill -TERM "$pid"
  wait_until "$name (pid $pid) to exit" test ! -d "/proc/$pid"
  rm -f "$STATE_DIR/run/$name.pid"
}

# ------------------------------------------------------------------ packages
missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' ||
    missing+=("$package")
done
if ((${#missing[@]})); then
  command -v apt-get >/dev/null || fail "packages ${missing[*]} are missing and there is no apt-get"
  say "installing ${missing[*]}"
  # Without systemd the packages' postinst would start the daemons through
  # /etc/init.d; policy-rc.d forbids that so that we alone own their PIDs.
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
  fi
  timeout 300 apt-get update -qq >"$STATE_DIR/log/apt-update.log" 2>&1 || {
    tail -n 20 "$STATE_DIR/log/apt-update.log" >&2
    fail "apt-get update failed; see $STATE_DIR/log/apt-update.log"
  }
  DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >"$STATE_DIR/log/apt-install.log" 2>&1 || {
    tail -n 30 "$STATE_DIR/log/apt-install.log" >&2
    fail "apt-get install failed; see $STATE_DIR/log/apt-install.log"
  }
  say "packages installed"
fi

# ------------------------------------------------------------------ slurm.conf
if [[ -e $SLURM_CONF ]] && ! grep -qxF "$MARKER" "$SLURM_CONF"; then
  fail "$SLURM_CONF exists and was not written by this script; refusing to overwrite it"
fi
node=$(hostname -s)
# The node must resolve to loopback: slurmd registers under its hostname.
getent hosts "$node" | grep -qE '^127\.' ||
  fail "hostname $node does not resolve to 127.x (add '127.0.0.1 $node' to /etc/hosts)"
# `slurmd -C` prints this host's CPUs/Boards/Sockets/Cores/Threads/RealMemory.
hardware=$(slurmd -C | sed -n '1s/^NodeName=[^ ]* //p')
[[ $hardware == *RealMemory=* ]] || fail "could not read the node's hardware from 'slurmd -C'"

mkdir -p "$(dirname "$SLURM_CONF")"
cat >"$SLURM_CONF.new" <<EOF
$MARKER
# Single-node test cluster on 127.0.0.1; state in $STATE_DIR.
ClusterName=insarflow
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
SlurmctldPort=6817
SlurmdPort=6818
AuthType=auth/munge
CryptoType=crypto/munge
MpiDefault=none
# No mail on this machine; without it slurmctld logs "MailProg is invalid".
MailProg=/bin/true
# cgroups are not available in the sandbox; plain process tracking works.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
ReturnToService=2
SlurmctldPidFile=$STATE_DIR/run/slurmctld.self.pid
SlurmdPidFile=$STATE_DIR/run/slurmd.self.pid
StateSaveLocation=$STATE_DIR/ctld
SlurmdSpoolDir=$STATE_DIR/spool
SlurmctldLogFile=$STATE_DIR/log/slurmctld.log
SlurmdLogFile=$STATE_DIR/log/slurmd.log
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
# squeue must still list a finished job when Snakemake polls it: the executor
# plugin needs MinJobAge >= 3x its first status-check delay.
MinJobAge=300
InactiveLimit=0
KillWait=10
Waittime=0
NodeName=$node NodeAddr=127.0.0.1 $hardware State=UNKNOWN
# DefMemPerCPU: a job that asks for no memory would otherwise hold the whole
# node's memory and run alone.
PartitionName=$PARTITION Nodes=ALL Default=YES MaxTime=INFINITE State=UP DefMemPerCPU=256
EOF
if cmp -s "$SLURM_CONF.new" "$SLURM_CONF"; then
  rm "$SLURM_CONF.new"
else
  mv "$SLURM_CONF.new" "$SLURM_CONF"
  if is_running slurmctld || is_running slurmd; then
    say "slurm.conf changed: restarting slurmd and slurmctld"
    stop_pid_of slurmd
    stop_pid_of slurmctld
  fi
fi

# ------------------------------------------------------------------ munge
[[ -s /etc/munge/munge.key ]] || mungekey --create --force
chown munge:munge /etc/munge/munge.key
chmod 400 /etc/munge/munge.key
mkdir -p /run/munge /var/lib/munge /var/log/munge
chown munge:munge /run/munge /var/lib/munge /var/log/munge
chmod 755 /run/munge
launch munged setpriv --reuid=munge --regid=munge --init-groups /usr/sbin/munged --foreground
wait_until "munge to answer" sh -c 'munge -n | unmunge'

# ------------------------------------------------------------------ slurm daemons
launch slurmctld /usr/sbin/slurmctld -D
wait_until "slurmctld to answer" sh -c 'scontrol ping | grep -q UP'
launch slurmd /usr/sbin/slurmd -D
wait_until "node $node to become idle" \
  sh -c "sinfo --noheader --nodes='$node' --format=%T | grep -Eq '^(idle|mixed|allocated)$'"
say "node $node ready: $(sinfo --noheader --format='partition %P, %D node, %T, %c CPUs, %m MB')"

# ------------------------------------------------------------------ smoke test
timeout "$WAIT_SECONDS" srun --time=1 --ntasks=1 true ||
  fail "'srun true' did not succeed; see $STATE_DIR/log/slurmctld.log and slurmd.log"
say "cluster up ('srun true' works); pids in $STATE_DIR/run, logs in $STATE_DIR/log"
