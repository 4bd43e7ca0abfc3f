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
  std::string input_range;  // "LO:HI", or "" for the default mapping
  bool raw_input = false;
};

Status run_import_tflite(const ImportTfliteOptions& o) {
  SLING_ASSIGN_OR_RETURN(const TfliteImportOptions options, tflite_options_from_flags(o.input_range, o.raw_input));
  auto imported = load_tflite(o.input, options);
  if (!imported.ok()) return imported.status().with_context("TFLite model '" + o.input + "'");
  imported->card["tflite"]["file"] = o.input;
  const QuantizedModel& m = imported->model;
  SLING_RETURN_IF_ERROR(save_tflite_import(*imported, o.output));
  std::printf("%s: %s model, input %s, output %s, %d nodes, %lld MACs, written to %s\n", o.input.c_str(),
              m.nodes.empty() ? "float32" : "int8", shape_to_string(m.graph.input_shape()).c_str(),
              shape_to_string(m.graph.output_shape()).c_str(), m.graph.num_nodes() - 1,
              static_cast<long long>(m.graph.macs()), o.output.c_str());
  const nlohmann::json& mapping = imported->card["tflite"]["input_mapping"];
  if (mapping.value("kind", "") == "pixels") {
    const auto& r = mapping["pixel_range"];
    std::printf("input: pixels in [0, 1] (8-bit grid) map to the file's values %g..%g%s\n", r[0].get<double>(),
                r[1].get<double>(), mapping["node"].is_null() ? " (the file's own domain: no node)" : "");
  } else {
    std::printf("input: the file's own domain (%s)\n", mapping.value("reason", "").c_str());
  }
  return Status::Ok();
}

}  // namespace

void register_import_tflite(CLI::App& app, CommandList& out) {
  auto o = std::make_shared<ImportTfliteOptions>();
  CLI::App* sub = app.add_subcommand("import-tflite", "Convert a TFLite model (full int8 or float32) to a model file");
  sub->add_option("input", o->input, "The .tflite file")->required();
  sub->add_option("-o,--output", o->output, "Model file to write")->required();
  sub->add_option("--input-range", o->input_range,
                  "The file's input values of pixels 0 and 255, LO:HI (float files; default 0:1. int8 files: "
                  "fixed by their input grid, checked if given)");
  sub->add_flag("--raw-input", o->raw_input, "Keep the file's own input domain (no mapping onto pixels in [0, 1])");
  out.push_back({sub, [o] { return run_import_tflite(*o); }});
}

}  // namespace slingshot::cli
