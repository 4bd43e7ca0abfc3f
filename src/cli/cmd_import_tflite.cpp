// `slingshot import-tflite FILE.tflite -o MODEL.safetensors`: converts a TFLite model
// (tflite/tflite_import.h) into a Slingshot model file. Every command that takes --model
// also reads .tflite files directly; this command keeps the converted file, with a card
// saying where it came from.
#include <cstdio>

#include "cli/commands.h"
#include "tflite/tflite_import.h"

namespace slingshot::cli {
namespace {

struct ImportTfliteOptions {
  std::string input, output;
};

Status run_import_tflite(const ImportTfliteOptions& o) {
  auto imported = load_tflite(o.input);
  if (!imported.ok()) return imported.status().with_context("TFLite model '" + o.input + "'");
  const QuantizedModel& m = imported->model;
  SLING_RETURN_IF_ERROR(save_tflite_import(*imported, o.output));
  std::printf("%s: %s model, input %s, output %s, %d nodes, %lld MACs, written to %s\n", o.input.c_str(),
              m.nodes.empty() ? "float32" : "int8", shape_to_string(m.graph.input_shape()).c_str(),
              shape_to_string(m.graph.output_shape()).c_str(), m.graph.num_nodes() - 1,
              static_cast<long long>(m.graph.macs()), o.output.c_str());
  return Status::Ok();
}

}  // namespace

void register_import_tflite(CLI::App& app, CommandList& out) {
  auto o = std::make_shared<ImportTfliteOptions>();
  CLI::App* sub = app.add_subcommand("import-tflite", "Convert a TFLite model (full int8 or float32) to a model file");
  sub->add_option("input", o->input, "The .tflite file")->required();
  sub->add_option("-o,--output", o->output, "Model file to write")->required();
  out.push_back({sub, [o] { return run_import_tflite(*o); }});
}

}  // namespace slingshot::cli
