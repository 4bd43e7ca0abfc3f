// `slingshot export-c-header --model M --input FILE -o OUT.h [--name NAME]`: one input of a
// quantized model (a PNG such as a saved adversarial example, a .npy, or a WAV for keyword
// models) as the int8 tensor the device reads, with the int8 output the deployed model
// must produce from it (export/c_header.h).
#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "core/file_io.h"
#include "export/c_header.h"

namespace slingshot::cli {
namespace {

struct ExportCHeaderOptions {
  std::string model, input, output, name = "slingshot_example";
};

Status run_export_c_header(const ExportCHeaderOptions& o) {
  SLING_ASSIGN_OR_RETURN(QuantizedModel model, load_any_model_arg(o.model));
  SLING_ASSIGN_OR_RETURN(Tensor x, load_input_arg(o.input, model.graph.input_shape()));
  const std::string comment =
      "Model: " + std::filesystem::path(o.model).filename().string() + "; input: " +
      std::filesystem::path(o.input).filename().string() + ".";
  SLING_ASSIGN_OR_RETURN(InputOutputHeader h, input_output_c_header(model, x, o.name, comment));
  SLING_RETURN_IF_ERROR(write_file_atomic(o.output, h.text));
  std::printf("%s: %zu int8 input values, expected class %d, written to %s\n", o.name.c_str(), h.input_codes.size(),
              h.expected_class, o.output.c_str());
  return Status::Ok();
}

}  // namespace

void register_export_c_header(CLI::App& app, CommandList& out) {
  auto o = std::make_shared<ExportCHeaderOptions>();
  CLI::App* sub = app.add_subcommand(
      "export-c-header", "Write one input and the int8 output the deployed model must give as a C header for an MCU test");
  sub->add_option("--model", o->model, "Quantized model file")->required();
  sub->add_option("--input", o->input, "PNG/JPEG (8-bit pixels), float32 .npy, or WAV for keyword models")->required();
  sub->add_option("-o,--output", o->output, "Header file to write")->required();
  sub->add_option("--name", o->name, "C identifier prefixing every symbol")->capture_default_str();
  out.push_back({sub, [o] { return run_export_c_header(*o); }});
}

}  // namespace slingshot::cli
