// The flash/RAM split of a firmware ELF by source file (see firmware_footprint.h).
#include "deploy/firmware_footprint.h"

#include <algorithm>

namespace slingshot {
namespace {

constexpr uint32_t kPtLoad = 1;

bool is_mapping_symbol(const ElfSymbol& s) {
  if (!s.local || s.name.size() < 2 || s.name[0] != '$') return false;
  const char kind = s.name[1];
  return (kind == 't' || kind == 'd' || kind == 'a') && (s.name.size() == 2 || s.name[2] == '.');
}

// A section lives in RAM when it has no file contents (.bss) or when its load address
// differs from its run address (.data: copied from flash at boot).
bool placed_in_ram(const ElfImage& elf, const ElfSection& s) {
  if (s.nobits()) return true;
  for (const ElfSegment& p : elf.segments)
    if (p.type == kPtLoad && s.addr >= p.vaddr && uint64_t{s.addr} + s.size <= uint64_t{p.vaddr} + p.memsz)
      return p.vaddr != p.paddr;
  return false;
}

}  // namespace

Result<FirmwareFootprint> measure_firmware(const ElfImage& elf, const std::string& model_file,
                                           const std::set<std::string>& runtime_files) {
  FirmwareFootprint out;
  bool model_seen = false;
  for (size_t index = 0; index < elf.sections.size(); ++index) {
    const ElfSection& s = elf.sections[index];
    if (!s.allocated() || s.size == 0) continue;
    FootprintSection row{s.name, s.size, !s.nobits(), placed_in_ram(elf, s)};
    out.sections.push_back(row);
    if (row.flash) out.flash_bytes += s.size;
    if (row.ram) out.static_ram_bytes += s.size;

    // The runs of this section, by start address; bytes before the first run are kOther.
    struct Run {
      uint32_t start;
      FootprintOwner owner;
    };
    std::vector<Run> runs;
    for (const ElfSymbol& sym : elf.symbols) {
      if (sym.section != index || !is_mapping_symbol(sym)) continue;
      if (sym.value < s.addr || sym.value - s.addr > s.size) continue;
      FootprintOwner owner = FootprintOwner::kOther;
      if (sym.file == model_file) {
        owner = FootprintOwner::kModelData;
        model_seen = true;
      } else if (runtime_files.count(sym.file)) {
        owner = FootprintOwner::kRuntime;
      }
      runs.push_back({sym.value, owner});
    }
    std::stable_sort(runs.begin(), runs.end(), [](const Run& a, const Run& b) { return a.start < b.start; });
    uint64_t by_owner[kFootprintOwnerCount] = {};
    uint64_t previous = s.addr;
    FootprintOwner owner = FootprintOwner::kOther;
    for (const Run& r : runs) {
      by_owner[static_cast<int>(owner)] += r.start - previous;
      previous = r.start;
      owner = r.owner;
    }
    by_owner[static_cast<int>(owner)] += uint64_t{s.addr} + s.size - previous;
    for (int k = 0; k < kFootprintOwnerCount; ++k) {
      if (row.flash) out.flash_by_owner[k] += by_owner[k];
      if (row.ram) out.ram_by_owner[k] += by_owner[k];
    }
  }
  if (out.flash_bytes == 0) return data_loss("the firmware ELF has no allocated sections with contents (no flash image)");
  if (!model_seen)
    return data_loss("the firmware ELF has no symbols from " + model_file +
                     " (stripped, or not built from an exported model), so its flash cannot be split");
  return out;
}

}  // namespace slingshot
