#!/usr/bin/env bash
# The Slurm example (examples/slurm/sweep.sbatch) on a real Slurm: a 4-task job array,
# submitted with `sbatch --wait`, whose shards merge into the same bytes as one local run.
# Uses the cluster SLURM_CONF points at, else (as root) starts a private single-node
# cluster with scripts/slurm_local.sh and stops it afterwards. Skips (77) when neither works.
set -u
bin="$1"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
spec="$repo/examples/sweeps/housenum_small.json"
skip() { echo "SKIP: $1"; exit 77; }
command -v sbatch > /dev/null || skip "Slurm is not installed (apt-get install slurm-wlm munge)"
work=$(mktemp -d)
chmod 755 "$work"  # the job may run as another user on a real cluster
started=""
cleanup() {
  if [ -n "$started" ]; then
    "$repo/scripts/slurm_local.sh" stop "$started"
    rm -rf "$started"
  fi
  rm -rf "$work"
}
trap cleanup EXIT
if ! scontrol ping > /dev/null 2>&1; then
  [ "$(id -u)" -eq 0 ] || skip "no Slurm controller answers and starting one needs root"
  state=$(mktemp -d /tmp/slingshot-slurm-test.XXXXXX)
  if ! out=$("$repo/scripts/slurm_local.sh" start "$state" 2>&1); then
    rm -rf "$state"
    skip "no Slurm controller answers and a local one did not start: $out"
  fi
  started=$state
  eval "$out"  # export SLURM_CONF=...
fi
cd "$work"
"$bin" sweep "$spec" -o single.jsonl > /dev/null 2>&1 && "$bin" merge "$spec" single.jsonl -o single.json > /dev/null \
  || { echo "FAIL single run"; exit 1; }
# The job's environment carries SLINGSHOT; --chdir puts the logs here.
if ! timeout 300 sbatch --wait --array=0-3 --chdir="$work" --export=ALL,SLINGSHOT="$bin" \
    "$repo/examples/slurm/sweep.sbatch" "$spec" "$work/out" > sbatch.txt 2>&1; then
  echo "FAIL sbatch --wait: $(cat sbatch.txt) $(cat slingshot-sweep-*.log 2> /dev/null)"
  exit 1
fi
echo "ok   4-task job array finished ($(cat sbatch.txt))"
ls out/shard-*-of-4.jsonl > /dev/null 2>&1 || { echo "FAIL no shard outputs: $(ls -R)"; exit 1; }
if ! "$bin" merge "$spec" out/shard-*-of-4.jsonl -o slurm.json > merge.txt 2>&1; then
  echo "FAIL merge: $(cat merge.txt)"
  exit 1
fi
cmp -s single.json slurm.json || { echo "FAIL Slurm results differ from one local run"; exit 1; }
echo "ok   Slurm shards merge byte-identical to one local run"
