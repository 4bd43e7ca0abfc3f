#!/usr/bin/env bash
# ctest `cortexm_dsp_equivalence_m4` / `_m7`: runs the kernel-equivalence firmware
# (tests/cortexm/kernel_equivalence_main.cpp) under QEMU with semihosting. The firmware
# compares the Cortex-M DSP int8 kernels with the reference kernels on seeded random layers
# and exits 1 on any differing byte; this script passes only on its PASS line and status 0.
# Usage: run_kernel_equivalence.sh FIRMWARE_ELF QEMU_MACHINE   (mps2-an386 = M4, mps2-an500 = M7)
set -uo pipefail
elf=$1
machine=$2

if [[ ! -f $elf ]]; then
  echo "FAIL: firmware not built: $elf does not exist."
  echo "      Build it with: cmake --preset cortex-m4 && cmake --build --preset cortex-m4"
  exit 1
fi
if ! command -v qemu-system-arm >/dev/null; then
  echo "FAIL: qemu-system-arm not found (Debian package qemu-system-arm; run scripts/setup.sh)."
  exit 1
fi

output=$(timeout 120 qemu-system-arm -M "$machine" -nographic -monitor none -serial none \
  -semihosting-config enable=on,target=native -icount shift=0 -kernel "$elf" </dev/null 2>&1)
status=$?
output=${output//$'\r'/}
echo "$output"
if ((status == 124)); then
  echo "FAIL: firmware did not finish within 120 s."; exit 1
elif ((status != 0)); then
  echo "FAIL: firmware exited with status $status (1 = mismatch, 101 = fault, 102 = unexpected exception)."
  exit 1
fi
if ! grep -q '^PASS: [0-9]* layers, 0 mismatched' <<<"$output"; then
  echo "FAIL: no PASS line in the firmware's output."; exit 1
fi
