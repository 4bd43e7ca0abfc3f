// `slingshot footprint --model M --cpu m4|m7|m3|m55 [--part P] [--input ...] [--clock-mhz F]
// [--json]`: what the exported model costs on a Cortex-M. Builds (or reuses) the harness
// firmware and runs it under QEMU on a few inputs (as mcu-run, output checked against
// int8-ref), then reports flash from the linked ELF's sections (split into the model's
// data, the runtime and kernels, and the harness with its C library), RAM as static
// .data + .bss (the arena included) plus the painted stack's high-water mark, instructions
// per inference and per layer, and a latency estimate at a stated clock.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <set>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/mcu_session.h"
#include "deploy/elf_sections.h"
#include "deploy/firmware_footprint.h"

namespace slingshot::cli {
namespace fs = std::filesystem;
namespace {

constexpr const char* kLatencyAssumption =
    "one instruction per cycle: QEMU counts instructions, not cycles (no pipeline, caches or flash wait states)";

struct FootprintOptions {
  McuSessionOptions session;
  double clock_mhz = 0;
  bool clock_given = false;  // else the part's maximum core clock
  bool json = false;
};

// The zoo keeps a few evaluation files beside each model (models/<set>/eval/); other models
// run on random codes over their input grid.
std::string default_input(const std::string& model) {
  const fs::path eval = fs::path(model).parent_path() / "eval";
  std::error_code ec;
  return fs::is_directory(eval, ec) ? eval.string() : "random:1";
}

std::string grouped(uint64_t v) {
  std::string digits = std::to_string(v), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

Status run_footprint(FootprintOptions o) {
  if (o.clock_given && !(std::isfinite(o.clock_mhz) && o.clock_mhz > 0 && o.clock_mhz <= 10000)) {
    char given[32];
    std::snprintf(given, sizeof given, "%g", o.clock_mhz);
    return invalid_argument(std::string("--clock-mhz must be a core clock in (0, 10000] MHz, not ") + given);
  }
  if (o.session.input.empty()) o.session.input = default_input(o.session.model);
  if (o.session.n == 0) o.session.n = 4;
  SLING_ASSIGN_OR_RETURN(McuSession s, run_mcu_session(o.session));
  if (const int bad = mcu_mismatches(s); bad > 0)
    return data_loss(std::to_string(bad) + " of " + std::to_string(s.device.size()) + " inputs gave other logits on the " +
                     cpu_name(s.cpu) + " than int8-ref on the host; run `slingshot mcu-run` to see them");
  SLING_ASSIGN_OR_RETURN(ElfImage elf, read_elf32(s.firmware.elf_path));
  SLING_ASSIGN_OR_RETURN(std::vector<std::string> runtime_names, model_runtime_source_names(s.cpu));
  SLING_ASSIGN_OR_RETURN(FirmwareFootprint fp, measure_firmware(elf, "model_data.c",
                                                                std::set<std::string>(runtime_names.begin(), runtime_names.end())));

  const uint64_t n = s.device.size();
  uint64_t sum = 0, lo = UINT64_MAX, hi = 0, stack = 0;
  for (const HarnessResult& r : s.device) {
    sum += r.instructions;
    lo = std::min(lo, r.instructions);
    hi = std::max(hi, r.instructions);
    stack = std::max(stack, r.stack_bytes);
  }
  const uint64_t mean = sum / n;
  const double clock_mhz = o.clock_given ? o.clock_mhz : s.part.max_clock_mhz;
  const double latency_ms = static_cast<double>(mean) / (clock_mhz * 1e3);
  const uint64_t model_data = fp.flash_by_owner[static_cast<int>(FootprintOwner::kModelData)];
  const uint64_t runtime_code = fp.flash_by_owner[static_cast<int>(FootprintOwner::kRuntime)];
  const uint64_t harness_code = fp.flash_by_owner[static_cast<int>(FootprintOwner::kOther)];
  const uint64_t arena = s.table.model.arena_bytes;
  const uint64_t ram = fp.static_ram_bytes + stack;
  const FirmwareTarget& target = firmware_target(s.cpu);
  const nlohmann::json layers = mcu_layer_json(s);

  if (o.json) {
    nlohmann::json sections = nlohmann::json::object();
    for (const FootprintSection& sec : fp.sections)
      sections[sec.name] = {{"bytes", sec.bytes}, {"flash", sec.flash}, {"ram", sec.ram}};
    nlohmann::json j = {
        {"model", o.session.model},
        {"cpu", cpu_name(s.cpu)},
        {"board", target.board},
        {"part", s.part.name},
        {"kernels", target.dsp ? "dsp" : "ref"},
        {"input", o.session.input},
        {"n", n},
        {"flash_bytes", fp.flash_bytes},
        {"flash",
         {{"model_data_bytes", model_data},
          {"model_constant_bytes", s.table.constant_bytes},
          {"runtime_bytes", runtime_code},
          {"harness_bytes", harness_code},
          {"model_and_runtime_bytes", model_data + runtime_code},
          {"part_bytes", s.part.flash_bytes},
          {"sections", sections}}},
        {"ram_bytes", ram},
        {"ram",
         {{"static_bytes", fp.static_ram_bytes},
          {"arena_bytes", arena},
          {"other_static_bytes", fp.static_ram_bytes - std::min(arena, fp.static_ram_bytes)},
          // The runtime's and kernels' own .data/.bss (none: they work in the caller's arena).
          {"runtime_static_bytes", fp.ram_by_owner[static_cast<int>(FootprintOwner::kRuntime)]},
          {"stack_bytes", stack},
          {"arena_and_stack_bytes", arena + stack},
          {"part_bytes", s.part.ram_bytes}}},
        {"instructions", mean},
        {"instructions_min", lo},
        {"instructions_max", hi},
        {"clock_mhz", clock_mhz},
        {"latency_ms", latency_ms},
        {"latency_assumes", kLatencyAssumption},
        {"firmware_reused", s.firmware.reused},
        {"layers", layers}};
    std::printf("%s\n", j.dump(2).c_str());
    return Status::Ok();
  }

  auto line = [](const char* label, uint64_t v, const std::string& note) {
    std::printf("  %-22s %12s B%s%s\n", label, grouped(v).c_str(), note.empty() ? "" : "  ", note.c_str());
  };
  auto share = [](uint64_t v, uint64_t of) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "(%.1f %% of %s B)", 100.0 * static_cast<double>(v) / static_cast<double>(of),
                  grouped(of).c_str());
    return std::string(buf);
  };
  std::printf("%s on %s (%s, part %s, %s kernels), %llu inputs from %s, firmware %s\n",
              fs::path(o.session.model).filename().string().c_str(), cpu_name(s.cpu), target.board.c_str(),
              s.part.name.c_str(), target.dsp ? "dsp" : "ref", static_cast<unsigned long long>(n),
              o.session.input.c_str(), s.firmware.reused ? "reused" : "built");
  std::printf("flash (the linked harness ELF's sections):\n");
  line("total", fp.flash_bytes, share(fp.flash_bytes, s.part.flash_bytes));
  line("model data", model_data, "weights, biases, requantization tables, layer table (model_data.c)");
  line("runtime and kernels", runtime_code, "src/cortexm/runtime, src/kernels (" + std::string(target.dsp ? "dsp + ref" : "ref") + ")");
  line("harness and C library", harness_code, "semihosting I/O, printf, startup, instruction counter: not in a product");
  std::printf("RAM:\n");
  line("total", ram, share(ram, s.part.ram_bytes));
  line("static (.data + .bss)", fp.static_ram_bytes, "");
  line("  of which arena", arena, "activations and kernel scratch");
  line("stack high-water mark", stack, "painted stack, deepest of the inferences");
  std::printf("instructions per inference: %s (mean of %llu; %s .. %s)\n", grouped(mean).c_str(),
              static_cast<unsigned long long>(n), grouped(lo).c_str(), grouped(hi).c_str());
  std::printf("latency: %.2f ms at %g MHz (%s), assuming %s\n", latency_ms, clock_mhz,
              o.clock_given ? "--clock-mhz" : (s.part.name + "'s maximum clock").c_str(), kLatencyAssumption);
  std::printf("per layer (mean instructions):\n");
  for (const auto& l : layers)
    std::printf("  %3d %-18s %-32s %12s\n", l["index"].get<int>(), l["kind"].get<std::string>().c_str(),
                l["name"].get<std::string>().c_str(), grouped(l["instructions"].get<uint64_t>()).c_str());
  return Status::Ok();
}

}  // namespace

void register_footprint(CLI::App& app, CommandList& out) {
  auto o = std::make_shared<FootprintOptions>();
  CLI::App* sub = app.add_subcommand(
      "footprint", "Flash, RAM, instructions and latency of the exported int8 model on an emulated Cortex-M");
  add_mcu_session_options(sub, o->session);
  sub->add_option("--input", o->session.input,
                  "Inputs to count instructions on, as mcu-run --input (default: the eval/ folder beside the model, "
                  "else random:1)");
  sub->add_option("--n", o->session.n, "Number of inputs (default 4)");
  CLI::Option* clock =
      sub->add_option("--clock-mhz", o->clock_mhz, "Core clock for the latency estimate (default: the part's maximum)");
  sub->add_flag("--json", o->json, "Print the figures as JSON");
  out.push_back({sub, [o, clock] {
                   o->clock_given = clock->count() > 0;
                   return run_footprint(*o);
                 }});
}

}  // namespace slingshot::cli
