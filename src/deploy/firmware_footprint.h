// Flash and static RAM of a linked firmware ELF, split by where the bytes come from. The
// split uses the ARM mapping symbols ($t, $d, $a): the assembler puts one at the start of
// every code and data run of every input section, and the linker keeps them, as local
// symbols, after the STT_FILE symbol of the object they came from. Sorting them by address
// partitions each section into runs owned by one source file; a run ends where the next
// one starts (alignment padding goes with the run before it).
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "core/status.h"
#include "deploy/elf_sections.h"

namespace slingshot {

// Where a byte of the image comes from.
enum class FootprintOwner { kModelData, kRuntime, kOther };
constexpr int kFootprintOwnerCount = 3;

struct FootprintSection {
  std::string name;
  uint64_t bytes = 0;
  bool flash = false;  // occupies flash (code, constants, .data's initial values)
  bool ram = false;    // occupies RAM (.data, .bss)
};

struct FirmwareFootprint {
  uint64_t flash_bytes = 0;       // every allocated section with contents
  uint64_t static_ram_bytes = 0;  // .data + .bss (and any other section placed in RAM)
  uint64_t flash_by_owner[kFootprintOwnerCount] = {};
  uint64_t ram_by_owner[kFootprintOwnerCount] = {};
  std::vector<FootprintSection> sections;  // allocated sections only
};

// `model_file` is the exported model's source file name ("model_data.c"); `runtime_files`
// the file names of the device runtime and its kernels. Everything else (the harness, the
// startup code, the instruction counter, the C library, libgcc, linker padding) is kOther.
Result<FirmwareFootprint> measure_firmware(const ElfImage& elf, const std::string& model_file,
                                           const std::set<std::string>& runtime_files);

}  // namespace slingshot
