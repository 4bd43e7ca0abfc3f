// Runs the harness firmware (src/cortexm/harness_main.cpp) under qemu-system-arm with
// deterministic instruction counting, feeding it int8 input tensors over semihosting and
// parsing its results (the protocol is in harness_main.cpp and docs/cortex-m.md). Inputs
// may be split over several QEMU processes; results come back in input order.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "deploy/firmware_build.h"

namespace slingshot {

struct HarnessResult {
  std::vector<int8_t> output_codes;
  uint64_t instructions = 0;                // the whole inference
  std::vector<uint64_t> layer_instructions;  // per layer of the layer table
  uint64_t stack_bytes = 0;                  // stack high-water mark of the inference (painted stack)
};

struct HarnessRunOptions {
  int processes = 2;               // QEMU processes the inputs are split over
  double timeout_seconds = 900;    // per process
};

// `inputs` are tensors of `input_bytes` codes each; the firmware must have been built for
// a model with these sizes and `layer_count` layers.
Result<std::vector<HarnessResult>> run_harness(const FirmwareTarget& target, const std::string& elf_path,
                                               const std::vector<std::vector<int8_t>>& inputs, uint32_t input_bytes,
                                               uint32_t output_bytes, uint32_t layer_count,
                                               const HarnessRunOptions& options = {});

// The meaning of a harness exit status (documented in harness_main.cpp).
std::string harness_exit_meaning(int status);

}  // namespace slingshot
