// `slingshot mcu-run --model M --input FILE|DIR|SPEC --cpu m4|m7|m55|m3 [--json OUT] [--n K]`:
// the exported model on an emulated Cortex-M. Exports the model to C, builds (or reuses)
// the harness firmware for the core, runs it under QEMU with instruction counting, and
// checks every output byte against the host int8-ref engine on the same input codes.
// Fails (non-zero exit) when any input's logits differ.
#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/mcu_session.h"
#include "core/file_io.h"

namespace slingshot::cli {
namespace fs = std::filesystem;
namespace {

struct McuRunOptions {
  McuSessionOptions session;
  std::string json;
};

Status run_mcu_run(const McuRunOptions& o) {
  SLING_ASSIGN_OR_RETURN(McuSession s, run_mcu_session(o.session));
  const int64_t n = static_cast<int64_t>(s.device.size());
  const FirmwareTarget& target = firmware_target(s.cpu);
  std::printf("%s on %s (%s, %s, %s kernels): firmware %s (%.1f s)\n",
              fs::path(o.session.model).filename().string().c_str(), cpu_name(s.cpu), target.board.c_str(),
              s.part.name.c_str(), target.dsp ? "dsp" : "ref", s.firmware.reused ? "reused" : "built", s.build_seconds);
  uint64_t total_instructions = 0;
  nlohmann::json records = nlohmann::json::array();
  for (int64_t i = 0; i < n; ++i) {
    const bool match = s.device[i].output_codes == s.host_codes[i];
    total_instructions += s.device[i].instructions;
    const int mcu_class = first_argmax(s.device[i].output_codes), host_class = first_argmax(s.host_codes[i]);
    std::printf("  %-32s mcu class %d, host class %d, logits %s, %llu instructions\n", s.input_names[i].c_str(),
                mcu_class, host_class, match ? "match" : "DIFFER",
                static_cast<unsigned long long>(s.device[i].instructions));
    records.push_back({{"name", s.input_names[i]},
                       {"mcu_class", mcu_class},
                       {"host_class", host_class},
                       {"logits_match", match},
                       {"instructions", s.device[i].instructions},
                       {"stack_bytes", s.device[i].stack_bytes}});
  }
  const int mismatches = mcu_mismatches(s);
  const uint64_t mean = n > 0 ? total_instructions / static_cast<uint64_t>(n) : 0;
  std::printf("n %lld, mismatches %d, mean %llu instructions per inference (%s, -icount shift=0), QEMU %.1f s\n",
              static_cast<long long>(n), mismatches, static_cast<unsigned long long>(mean), cpu_name(s.cpu),
              s.qemu_seconds);
  if (!o.json.empty()) {
    nlohmann::json j = {{"model", o.session.model},
                        {"cpu", cpu_name(s.cpu)},
                        {"board", target.board},
                        {"part", s.part.name},
                        {"kernels", target.dsp ? "dsp" : "ref"},  // kernel_dispatch.h's choice for the core
                        {"n", n},
                        {"mismatches", mismatches},
                        {"instructions_mean", mean},
                        {"arena_bytes", s.table.model.arena_bytes},
                        {"constant_bytes", s.table.constant_bytes},
                        {"firmware_reused", s.firmware.reused},
                        {"qemu_seconds", s.qemu_seconds},
                        {"layers", mcu_layer_json(s)},
                        {"inputs", records}};
    SLING_RETURN_IF_ERROR(write_file_atomic(o.json, j.dump(2) + "\n"));
  }
  if (mismatches > 0)
    return data_loss(std::to_string(mismatches) + " of " + std::to_string(n) + " inputs gave other logits on the " +
                     cpu_name(s.cpu) + " than int8-ref on the host");
  return Status::Ok();
}

}  // namespace

void register_mcu_run(CLI::App& app, CommandList& out) {
  auto o = std::make_shared<McuRunOptions>();
  CLI::App* sub = app.add_subcommand(
      "mcu-run", "Run the exported int8 model on an emulated Cortex-M (QEMU) and check it against int8-ref");
  add_mcu_session_options(sub, o->session);
  sub->add_option("--input", o->session.input,
                  "An input file (PNG/JPEG/.npy/WAV), a folder of them, a dataset spec (housenum, keywords, shapes, "
                  "labels:CSV, ...) or random[:SEED]")
      ->required();
  sub->add_option("--n", o->session.n, "At most this many inputs (default: all files of a folder, 20 dataset samples)");
  sub->add_option("--json", o->json, "Write the results as JSON here");
  out.push_back({sub, [o] { return run_mcu_run(*o); }});
}

}  // namespace slingshot::cli
