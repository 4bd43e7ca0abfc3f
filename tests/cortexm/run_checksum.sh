#!/usr/bin/env bash
# ctest `cortexm_checksum`: runs the Cortex-M4 firmware under QEMU (mps2-an386, semihosting)
# and checks that it prints the same checksum as the native build of the same workload.
# Usage: run_checksum.sh FIRMWARE_ELF HOST_EXECUTABLE
set -uo pipefail
elf=$1
host=$2

if [[ ! -f $elf ]]; then
  echo "FAIL: firmware not built: $elf does not exist."
  echo "      Build it with: cmake --preset cortex-m4 && cmake --build --preset cortex-m4"
  echo "      (or run scripts/build.sh, which builds every preset)."
  exit 1
fi
if ! command -v qemu-system-arm >/dev/null; then
  echo "FAIL: qemu-system-arm not found (Debian package qemu-system-arm; run scripts/setup.sh)."
  exit 1
fi

expected=$("$host") || { echo "FAIL: $host exited with status $?"; exit 1; }

# -icount shift=0: one instruction per virtual ns, so the run is deterministic.
# exit(n) in the firmware becomes QEMU's exit status through semihosting.
actual=$(timeout 60 qemu-system-arm -M mps2-an386 -nographic -monitor none -serial none \
  -semihosting-config enable=on,target=native -icount shift=0 -kernel "$elf" </dev/null 2>&1)
status=$?
actual=${actual//$'\r'/}
if ((status == 124)); then
  echo "FAIL: firmware did not finish within 60 s. Output so far:"; echo "$actual"; exit 1
elif ((status != 0)); then
  echo "FAIL: firmware exited with status $status (101 = fault, 102 = unexpected exception). Output:"
  echo "$actual"; exit 1
fi

want=$(grep -o 'checksum: [0-9a-f]\{8\}' <<<"$expected" | head -n1)
got=$(grep -o 'checksum: [0-9a-f]\{8\}' <<<"$actual" | head -n1)
echo "native:    ${want:-<none>}"
echo "cortex-m4: ${got:-<none>}"
if [[ -z $want || -z $got ]]; then
  echo "FAIL: no checksum line. Native printed: $expected"; echo "Firmware printed: $actual"; exit 1
fi
if [[ $want != "$got" ]]; then
  echo "FAIL: Cortex-M4 and native results differ bit-wise."
  exit 1
fi
echo "PASS: identical checksums"
