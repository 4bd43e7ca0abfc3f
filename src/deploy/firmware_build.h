// Builds the harness firmware (src/cortexm/harness_main.cpp + the device runtime + the
// int8 kernels + an exported model) for one Cortex-M core by running arm-none-eabi-gcc
// directly, and caches what it builds: the model-independent objects per core under a key
// hashed from their sources and flags, the linked ELF under a key adding the model's C
// files. A second run with the same sources and model reuses the ELF.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "deploy/mcu_parts.h"
#include "export/c_model.h"

namespace slingshot {

// How one core is built and emulated.
struct FirmwareTarget {
  McuCpu cpu;
  std::string board;                   // qemu-system-arm -M
  std::vector<std::string> cpu_flags;  // -mcpu, -mfpu, -mfloat-abi
  std::string linker_script;           // relative to the source dir (src/)
  unsigned core_clock_hz;              // SysTick's clock: instructions per tick = 1e9 / this
  bool dsp;                            // has the DSP extension: src/kernels/cortexm is built
};
const FirmwareTarget& firmware_target(McuCpu cpu);

// The firmware sources: $SLINGSHOT_SOURCE_DIR if set, else the src/ directory this binary
// was built from; an error names both when neither holds src/cortexm/harness_main.cpp.
Result<std::string> firmware_source_dir();

// The file names (no directory) of the device runtime and the kernels the harness links
// for `cpu`: what a product embedding the model would link too (footprint attributes flash
// to them). Excludes the harness, startup code and instruction counter.
Result<std::vector<std::string>> model_runtime_source_names(McuCpu cpu);

// Fails with "run scripts/setup.sh" when arm-none-eabi-gcc or qemu-system-arm is missing.
Status check_deploy_tools();

// $SLINGSHOT_CACHE_DIR, else $XDG_CACHE_HOME/slingshot, else ~/.cache/slingshot.
std::string default_cache_dir();

struct FirmwareBuild {
  std::string elf_path;
  bool reused = false;  // found in the cache
};

// Builds (or reuses) the harness ELF for `model` on `cpu` under `cache_dir`/mcu.
Result<FirmwareBuild> build_harness_firmware(McuCpu cpu, const CModelSource& model, const std::string& cache_dir);

}  // namespace slingshot
