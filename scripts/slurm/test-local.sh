#!/usr/bin/env bash
# A real Slurm on this one machine (Debian's slurm-wlm and munge, no cgroups), running a
# sharded sweep as a 3-task job array and the graphs as a dependent job, then checking that
# the table holds each run exactly once and the graph is drawn. Needs root (it installs
# the packages if missing, writes /etc/slurm/slurm.conf and starts munged, slurmctld and
# slurmd, which it stops at the end).
#
#   scripts/slurm/test-local.sh [AELAB_BINARY]     (default: target/debug/aelab)
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
aelab=$(realpath "${1:-target/debug/aelab}")
[[ -x $aelab ]] || { echo "no aelab binary at $aelab: build it first" >&2; exit 1; }
# Without root it cannot run: it says so, and CI's summary lists it ($AELAB_SKIPPED).
if [[ $(id -u) != 0 ]]; then
    echo "SKIPPED scripts/slurm/test-local.sh: a local Slurm needs root" >&2
    [[ -z ${AELAB_SKIPPED:-} ]] || echo "scripts/slurm/test-local.sh: a local Slurm needs root" >>"$AELAB_SKIPPED"
    exit 0
fi

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
fi

work=$(mktemp -d)
stop() {
    pkill -x slurmd 2>/dev/null || true
    pkill -x slurmctld 2>/dev/null || true
    pkill -x munged 2>/dev/null || true
}
trap 'stop; rm -rf "$work"' EXIT

# munge: a key, and the daemon as its own user.
[[ -s /etc/munge/munge.key ]] || mungekey --create --force 2>/dev/null \
    || dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
mkdir -p /run/munge /var/log/munge /var/lib/munge
chown munge:munge /run/munge /var/log/munge /var/lib/munge
pgrep -x munged >/dev/null || runuser -u munge -- munged

host=$(hostname -s)
node=$(slurmd -C | head -1 | sed 's/ UpTime=.*//')
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd
cat >/etc/slurm/slurm.conf <<CONF
ClusterName=aelab-test
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
$node
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
stop_slurm_only() { pkill -x slurmd 2>/dev/null || true; pkill -x slurmctld 2>/dev/null || true; }
stop_slurm_only
slurmctld -c -i
slurmd -c
for _ in $(seq 60); do
    sinfo -h -o %T 2>/dev/null | grep -qE '^(idle|mixed)' && break
    sleep 1
done
sinfo -h -o %T | grep -qE '^(idle|mixed)' || { echo "the node never came up" >&2; cat "$work"/slurm*.log >&2; exit 1; }

# The sweep: a base and filters 4 and 16, 300 images, one epoch: three runs, one per task.
out=$work/results
export AELAB=$aelab OUT=$out DEVICE=cpu
start=$(date +%s)
array=$(sbatch --parsable --chdir="$work" --array=1-3 "$repo/scripts/slurm/sweep.sbatch" \
    autoencoder -d "$repo/data/mnist/t10k-images-idx3-ubyte.gz" --limit 300 \
    --layers 2 --filters 8 --epochs 1 --batch-size 32 --sweep filters=4,16)
graphs=$(sbatch --parsable --chdir="$work" --dependency=afterok:"$array" \
    "$repo/scripts/slurm/graphs.sbatch")
for _ in $(seq 600); do
    [[ -z $(squeue -h -j "$array,$graphs" 2>/dev/null) ]] && break
    sleep 1
done

fail() { echo "FAILED: $*" >&2; tail -n 20 "$work"/*.log >&2; exit 1; }
state=$(sacct -n -X -j "$graphs" -o State 2>/dev/null | tr -d ' ' || true)
[[ -f $out/loss_values.csv ]] || fail "no results table"
rows=$(tail -n +2 "$out/loss_values.csv" | cut -d, -f3 | sort -n | tr '\n' ' ')
[[ $rows == "4 8 16 " ]] || fail "the table holds filters '$rows', not each of 4 8 16 once"
[[ -f $out/L2_FS3_FLx_E1_B32.png ]] || fail "no error graph (graphs job: ${state:-unknown})"
echo "Slurm: 3 array tasks and the graphs job ran in $(( $(date +%s) - start )) s; each run once, graph drawn"
echo "1 passed, 0 failed"
