// What `slingshot mcu-run` and `slingshot footprint` share: load a quantized model and its
// inputs, export it to C, build (or reuse) the harness firmware for a core, run it under
// QEMU, and run int8-ref on the host on the same input codes.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "core/status.h"
#include "deploy/firmware_build.h"
#include "deploy/mcu_parts.h"
#include "deploy/qemu_run.h"
#include "engine/int8_program.h"
#include "export/c_model.h"
#include "quant/quantized_model.h"

namespace slingshot::cli {

struct McuSessionOptions {
  std::string model, input, cpu = "m4", part, cache;
  int n = 0;  // 0: every file of a folder, 20 samples of a dataset
  int processes = 2;
  double timeout = 900;
};

struct McuSession {
  QuantizedModel model;
  Int8Program program;
  CModelTable table;
  McuCpu cpu{};
  McuPart part;
  std::vector<std::string> input_names;
  std::vector<std::vector<int8_t>> host_codes;  // int8-ref's output codes per input
  FirmwareBuild firmware;
  std::vector<HarnessResult> device;  // per input, in order
  double build_seconds = 0, qemu_seconds = 0;
};

// Checks the options, the model (quantized, fits the part) and the inputs, then builds and
// runs. Errors name the bad option, file or tool.
Result<McuSession> run_mcu_session(const McuSessionOptions& o);

// Adds --model, --cpu, --part, --processes, --timeout and --cache to a subcommand.
void add_mcu_session_options(CLI::App* sub, McuSessionOptions& o);

// The first index of the largest code.
int first_argmax(const std::vector<int8_t>& codes);
// Per layer of the layer table: index, node name, kind and the mean instruction count
// over the session's inputs.
nlohmann::json mcu_layer_json(const McuSession& s);
// Inputs whose device output codes differ from int8-ref's.
int mcu_mismatches(const McuSession& s);

}  // namespace slingshot::cli
