#!/usr/bin/env bash
# Starts (or stops) a private single-node Slurm cluster on this machine for tests and
# trials: munged, slurmctld and slurmd with a minimal slurm.conf under a state directory.
# Needs root and Debian's slurm-wlm and munge. Prints the SLURM_CONF to export on success.
#   scripts/slurm_local.sh start [DIR]   (default DIR: /tmp/slingshot-slurm)
#   scripts/slurm_local.sh stop [DIR]
# munged, if this script started it, keeps running (other Slurm users may need it).
set -euo pipefail
action=${1:-start}
dir=${2:-/tmp/slingshot-slurm}
conf=$dir/slurm.conf

# Stops the daemons this directory's pid files name and waits until they have exited, so
# the ports are free for the next cluster.
stop() {
  local pid
  for daemon in slurmd slurmctld; do
    [[ -f $dir/$daemon.pid ]] || continue
    pid=$(cat "$dir/$daemon.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    rm -f "$dir/$daemon.pid"
  done
}

if [[ $action == stop ]]; then
  stop
  exit 0
fi
[[ $action == start ]] || { echo "usage: $0 start|stop [DIR]" >&2; exit 2; }
for tool in munged slurmctld slurmd sbatch scontrol; do
  command -v "$tool" >/dev/null 2>&1 || { echo "slurm_local: $tool not found (apt-get install slurm-wlm munge)" >&2; exit 3; }
done
((EUID == 0)) || { echo "slurm_local: the daemons need root" >&2; exit 3; }

mkdir -p "$dir/state" "$dir/spool" "$dir/log"
host=$(hostname -s)
cpus=$(nproc)
cat >"$conf" <<CONF
ClusterName=slingshot
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
NodeName=$host CPUs=$cpus State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$conf

# munge: Debian's key, its socket directory owned by the munge user.
if ! pgrep -x munged >/dev/null 2>&1; then
  mkdir -p /run/munge && chown munge:munge /run/munge
  runuser -u munge -- munged
fi
stop
slurmctld -f "$conf"
slurmd -f "$conf"
for _ in $(seq 1 30); do
  if sinfo -h -o %T 2>/dev/null | grep -qE '^idle'; then
    echo "export SLURM_CONF=$conf"
    exit 0
  fi
  sleep 1
done
echo "slurm_local: the node did not become idle within 30 s; see $dir/log/" >&2
sinfo >&2 || true
exit 1
