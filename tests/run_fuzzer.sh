#!/usr/bin/env bash
# ctest wrapper for one libFuzzer harness of the `fuzz` preset: runs it for a bounded time;
# any crash, leak, sanitizer report or timeout fails the test (libFuzzer exits non-zero).
# Usage: run_fuzzer.sh FUZZER_BINARY WORK_DIR SECONDS [SEED_CORPUS_DIR...]
set -uo pipefail
fuzzer=$1 work=$2 seconds=$3
shift 3

if [[ ! -x $fuzzer ]]; then
  echo "FAIL: fuzzer not built: $fuzzer does not exist."
  echo "      Build it with: cmake --preset fuzz && cmake --build --preset fuzz"
  echo "      (or run scripts/build.sh, which builds every preset)."
  exit 1
fi

name=$(basename "$fuzzer")
corpus=$work/corpus/$name
artifacts=$work/artifacts/$name
mkdir -p "$corpus" "$artifacts"
seeds=()
for dir in "$@"; do [[ -d $dir ]] && seeds+=("$dir"); done

# The first corpus dir collects new inputs across runs; seed dirs in the source tree are
# only read. Crash inputs land in $artifacts for reproduction: $fuzzer <file>.
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$artifacts/" "$corpus" "${seeds[@]}" 2>&1 | tail -n 120
status=${PIPESTATUS[0]}
if ((status != 0)); then
  echo "FAIL: $name exited with status $status; crashing inputs are in $artifacts/"
fi
exit "$status"
