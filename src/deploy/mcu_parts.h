// Microcontroller parts an exported model is checked against: each names a real chip (or,
// for the M55, the emulated board) with its core, on-chip flash and SRAM and maximum core clock. export-c and
// mcu-run refuse a model whose constants do not fit the part's flash or whose arena does
// not fit its RAM. Each core has a default part.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace slingshot {

enum class McuCpu { kM3, kM4, kM7, kM55 };

struct McuPart {
  std::string name;      // lower case, e.g. "nrf52840"
  McuCpu cpu;
  uint64_t flash_bytes;  // on-chip flash
  uint64_t ram_bytes;    // on-chip SRAM
  double max_clock_mhz;  // the datasheet's maximum core clock (footprint's default latency clock)
  std::string note;      // the board it is known from
};

// "m3", "m4", "m7", "m55".
const char* cpu_name(McuCpu cpu);
Result<McuCpu> parse_cpu(const std::string& name);

const std::vector<McuPart>& mcu_parts();
// The part named `name`, or the cpu's default part when `name` is empty.
Result<McuPart> find_part(const std::string& name, McuCpu cpu);
Result<McuPart> find_part(const std::string& name);

// Refuses constants (weights, tables) larger than the part's flash or an arena larger
// than its RAM, naming both figures.
Status check_part_fits(const McuPart& part, uint64_t constant_bytes, uint64_t arena_bytes);

}  // namespace slingshot
