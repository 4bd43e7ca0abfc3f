// `slingshot export-c --model M -o DIR [--part NAME]`: a quantized model as model_data.c
// and model_data.h for a microcontroller project (export/c_model.h): const weights, the
// layer table the device runtime runs, and the arena size as a compile-time constant.
// Low-bit weights (int4, ternary, binary) are stored packed. The model is refused if its
// constants do not fit the part's flash or its arena its RAM.
#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "core/file_io.h"
#include "deploy/mcu_parts.h"
#include "export/c_model.h"

namespace slingshot::cli {
namespace {

struct ExportCOptions {
  std::string model, output, part;
};

Status run_export_c(const ExportCOptions& o) {
  SLING_ASSIGN_OR_RETURN(McuPart part, o.part.empty() ? find_part("", McuCpu::kM4) : find_part(o.part));
  SLING_ASSIGN_OR_RETURN(QuantizedModel model, load_any_model_arg(o.model));
  if (model.nodes.empty())
    return invalid_argument("export-c needs a quantized model; '" + o.model + "' is float (run `slingshot quantize`)");
  SLING_ASSIGN_OR_RETURN(Int8Program program, compile_int8_program(model));
  SLING_ASSIGN_OR_RETURN(CModelTable table, build_c_model_table(program, model.weights));
  SLING_RETURN_IF_ERROR(check_part_fits(part, table.constant_bytes, table.model.arena_bytes)
                            .with_context("cannot deploy '" + o.model + "' on " + part.name));
  const std::string comment = "Model: " + std::filesystem::path(o.model).filename().string() + "; checked against " +
                              part.name + " (" + part.note + ").";
  const CModelSource files = c_model_source(program, table, comment);
  std::error_code ec;
  std::filesystem::create_directories(o.output, ec);
  if (ec) return io_error("cannot create the output directory '" + o.output + "': " + ec.message());
  SLING_RETURN_IF_ERROR(write_file_atomic(o.output + "/model_data.h", files.header));
  SLING_RETURN_IF_ERROR(write_file_atomic(o.output + "/model_data.c", files.source));
  std::printf("%s: %u layers, %s weights, %llu bytes of weights and tables (flash), arena %u bytes (%u of "
              "kernel scratch, up to %u of unpacked weights; %llu unshared), "
              "fits %s (%llu KB flash, %llu KB RAM); wrote %s/model_data.{c,h}\n",
              o.model.c_str(), table.model.layer_count, weight_scheme_name(model.weights),
              static_cast<unsigned long long>(table.constant_bytes), table.model.arena_bytes,
              table.model.scratch_bytes, table.arena.unpack_bytes,
              static_cast<unsigned long long>(table.arena.unshared_bytes), part.name.c_str(),
              static_cast<unsigned long long>(part.flash_bytes / 1024),
              static_cast<unsigned long long>(part.ram_bytes / 1024), o.output.c_str());
  return Status::Ok();
}

}  // namespace

void register_export_c(CLI::App& app, CommandList& out) {
  auto o = std::make_shared<ExportCOptions>();
  CLI::App* sub = app.add_subcommand(
      "export-c", "Write a quantized model as model_data.c/.h (const weights, layer table, static arena) for an MCU");
  sub->add_option("--model", o->model, "Quantized model file (.safetensors or full-int8 .tflite)")->required();
  sub->add_option("-o,--output", o->output, "Directory for model_data.c and model_data.h")->required();
  sub->add_option("--part", o->part,
                  "Microcontroller part the model must fit (default nrf52840; see docs/cortex-m.md for the list)");
  out.push_back({sub, [o] { return run_export_c(*o); }});
}

}  // namespace slingshot::cli
