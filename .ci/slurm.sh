#!/usr/bin/env bash
# CI: a one-node SLURM on this machine, for tests/test_slurm.py (the `grokcore submit` path).
#
# Installs Debian's slurm-wlm and munge, writes a munge key and a slurm.conf for this host
# (all its CPUs, a bit under its free memory, one partition `debug`), starts munged,
# slurmctld and slurmd, and waits until `sinfo` shows the node idle. Idempotent: when
# SLURM already answers here, it does nothing. Needs root (CI runs as root).
#
# Accounting: none (no slurmdbd, which would need a database). Job completion is logged
# to /var/log/slurm/jobcomp.log (JobCompType=jobcomp/filetxt) for whoever wants to read
# what ran; `sacct` still has no data, so grokcore reads job states from squeue/scontrol
# and submitit's result files, and never asks submitit for them (its state calls sacct).
set -euo pipefail

say() { echo "[slurm.sh] $*"; }

if command -v sinfo >/dev/null 2>&1 && timeout 10 sinfo -h -o '%T' 2>/dev/null | grep -qE 'idle|mix|alloc'; then
    say "SLURM already up: $(sinfo -h -o '%N %T %c CPUs' | head -1)"
    exit 0
fi

if ! command -v slurmctld >/dev/null 2>&1 || ! command -v munged >/dev/null 2>&1; then
    say "installing slurm-wlm and munge"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
fi

host=$(hostname -s)
cpus=$(nproc)
free_mb=$(awk '/MemAvailable/ {print int($2 / 1024)}' /proc/meminfo)
mem_mb=$((free_mb * 9 / 10))  # a bit under what is free: slurmd refuses a node that has less

# munge: a 1,024-byte random key owned by munge, mode 0400; munged runs as munge
mkdir -p /etc/munge /var/log/munge /var/lib/munge /run/munge
if [ ! -s /etc/munge/munge.key ]; then
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
fi
chown -R munge:munge /etc/munge /var/log/munge /var/lib/munge /run/munge
chmod 0400 /etc/munge/munge.key
chmod 0700 /etc/munge /var/log/munge /var/lib/munge
chmod 0755 /run/munge
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    say "starting munged"
    runuser -u munge -- /usr/sbin/munged
fi

mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
cat >/etc/slurm/slurm.conf <<EOF
# written by grokcore's .ci/slurm.sh: one node, this host
ClusterName=grokcore-ci
SlurmctldHost=${host}
AuthType=auth/munge
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SlurmUser=root
SlurmdUser=root
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/var/run/slurmctld.pid
SlurmdPidFile=/var/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=/var/log/slurm/jobcomp.log
# keep finished jobs in scontrol for 30 min (default 5): grokcore status reads them there
MinJobAge=1800
# scancel: SIGTERM, then SIGKILL after this many seconds (default 30; submitit ignores SIGTERM,
# which SLURM also sends before a preemption, so a cancelled task lingers this long)
KillWait=10
ReturnToService=2
SchedulerType=sched/backfill
SchedulerParameters=defer_batch
MpiDefault=none
NodeName=${host} CPUs=${cpus} RealMemory=${mem_mb} State=UNKNOWN
PartitionName=debug Nodes=${host} Default=YES State=UP MaxTime=INFINITE
EOF

# A cold start: this SLURM belongs to CI, so jobs left in its state by an earlier run (a
# machine image taken mid-test, a killed CI) are dropped rather than recovered. Recovering
# them left the node "completing" for over a minute.
if ! pgrep -x slurmctld >/dev/null; then
    say "starting slurmctld (cold: earlier jobs dropped)"
    pkill -x slurmd 2>/dev/null || true
    pkill -9 -f '^slurmstepd' 2>/dev/null || true
    rm -rf /var/spool/slurmctld/* /var/spool/slurmd/*
    /usr/sbin/slurmctld -c
fi
pgrep -x slurmd >/dev/null || { say "starting slurmd"; /usr/sbin/slurmd; }

for _ in $(seq 120); do
    state=$(sinfo -h -n "${host}" -o '%T' 2>/dev/null || true)
    case "${state}" in
        idle*)
            say "up: $(sinfo -h -o 'node %N %T, %c CPUs, %m MB, partition %P')"
            exit 0 ;;
        down*|drain*|drained*)
            scontrol update NodeName="${host}" State=RESUME 2>/dev/null || true ;;
    esac
    sleep 1
done
say "SLURM did not come up within 120 s; the logs:"
tail -n 20 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2 || true
exit 1
