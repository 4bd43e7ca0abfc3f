// The part table (see mcu_parts.h). Figures are the datasheets' on-chip flash, SRAM and
// maximum core clock (the AN547 FPGA image clocks its M55 at 32 MHz).
#include "deploy/mcu_parts.h"

namespace slingshot {

const char* cpu_name(McuCpu cpu) {
  switch (cpu) {
    case McuCpu::kM3: return "m3";
    case McuCpu::kM4: return "m4";
    case McuCpu::kM7: return "m7";
    case McuCpu::kM55: return "m55";
  }
  return "?";
}

Result<McuCpu> parse_cpu(const std::string& name) {
  for (McuCpu c : {McuCpu::kM3, McuCpu::kM4, McuCpu::kM7, McuCpu::kM55})
    if (name == cpu_name(c)) return c;
  return invalid_argument("unknown cpu '" + name + "' (choose m3, m4, m7 or m55)");
}

const std::vector<McuPart>& mcu_parts() {
  constexpr uint64_t kKiB = 1024;
  // The first part of each cpu is its default.
  static const std::vector<McuPart> parts = {
      {"nrf52840", McuCpu::kM4, 1024 * kKiB, 256 * kKiB, 64, "Nordic nRF52840 (Arduino Nano 33 BLE Sense)"},
      {"stm32f446re", McuCpu::kM4, 512 * kKiB, 128 * kKiB, 180, "ST STM32F446RE (NUCLEO-F446RE)"},
      {"stm32g431kb", McuCpu::kM4, 128 * kKiB, 32 * kKiB, 170, "ST STM32G431KB (NUCLEO-G431KB)"},
      {"stm32f767zi", McuCpu::kM7, 2048 * kKiB, 512 * kKiB, 216, "ST STM32F767ZI (NUCLEO-F767ZI)"},
      {"stm32f746ng", McuCpu::kM7, 1024 * kKiB, 320 * kKiB, 216, "ST STM32F746NG (32F746G-DISCO)"},
      {"stm32f207zg", McuCpu::kM3, 1024 * kKiB, 128 * kKiB, 120, "ST STM32F207ZG (NUCLEO-F207ZG)"},
      {"stm32f103c8", McuCpu::kM3, 64 * kKiB, 20 * kKiB, 72, "ST STM32F103C8 (the 'Blue Pill' board)"},
      {"mps3-an547", McuCpu::kM55, 512 * kKiB, 512 * kKiB, 32,
       "Arm Corstone-300 FPGA image AN547 (the emulated board): 512 KB ITCM for code, 512 KB DTCM"},
  };
  return parts;
}

Result<McuPart> find_part(const std::string& name, McuCpu cpu) {
  if (name.empty()) {
    for (const McuPart& p : mcu_parts())
      if (p.cpu == cpu) return p;
    return internal_error(std::string("no default part for cpu ") + cpu_name(cpu));
  }
  SLING_ASSIGN_OR_RETURN(McuPart p, find_part(name));
  if (p.cpu != cpu)
    return invalid_argument("part " + p.name + " is a Cortex-" + cpu_name(p.cpu) + ", not the requested " +
                            cpu_name(cpu));
  return p;
}

Result<McuPart> find_part(const std::string& name) {
  std::string known;
  for (const McuPart& p : mcu_parts()) {
    if (p.name == name) return p;
    known += (known.empty() ? "" : ", ") + p.name;
  }
  return invalid_argument("unknown part '" + name + "' (known: " + known + ")");
}

Status check_part_fits(const McuPart& part, uint64_t constant_bytes, uint64_t arena_bytes) {
  if (constant_bytes > part.flash_bytes)
    return invalid_argument("the model's weights and tables (" + std::to_string(constant_bytes) +
                            " bytes) do not fit the flash of " + part.name + " (" + std::to_string(part.flash_bytes) +
                            " bytes)");
  if (arena_bytes > part.ram_bytes)
    return invalid_argument("the model's activation arena (" + std::to_string(arena_bytes) +
                            " bytes) does not fit the RAM of " + part.name + " (" + std::to_string(part.ram_bytes) +
                            " bytes)");
  return Status::Ok();
}

}  // namespace slingshot
