// `slingshot export-tflite --model M -o OUT.tflite`: writes an int8 model (ours, hardened,
// low-bit weights in int8 containers, or an imported .tflite) as a full-int8 TFLite
// flatbuffer that TFLite Micro runs (tflite/tflite_export.h; docs/tflite.md, "Export").
#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "tflite/tflite_export.h"

namespace slingshot::cli {
namespace {

struct ExportTfliteOptions {
  std::string model, output;
  bool json = false;
};

Status run_export_tflite(const ExportTfliteOptions& o) {
  SLING_ASSIGN_OR_RETURN(QuantizedModel model, load_any_model_arg(o.model));
  auto exported = save_tflite(model, o.output);
  if (!exported.ok()) return exported.status().with_context("model '" + o.model + "'");
  if (o.json) {
    nlohmann::json j = {{"model", o.model},          {"output", o.output},
                        {"bytes", exported->bytes.size()}, {"tensors", exported->tensors},
                        {"operators", exported->operators}};
    std::printf("%s\n", j.dump().c_str());
    return Status::Ok();
  }
  std::string ops;
  for (const auto& [name, count] : exported->operators)
    ops += (ops.empty() ? "" : ", ") + name + " x" + std::to_string(count);
  std::printf("%s: full-int8 TFLite, %zu bytes, %d tensors, operators %s, written to %s\n", o.model.c_str(),
              exported->bytes.size(), exported->tensors, ops.c_str(), o.output.c_str());
  return Status::Ok();
}

}  // namespace

void register_export_tflite(CLI::App& app, CommandList& out) {
  auto o = std::make_shared<ExportTfliteOptions>();
  CLI::App* sub = app.add_subcommand("export-tflite", "Write an int8 model as a full-int8 TFLite flatbuffer");
  sub->add_option("--model", o->model, "Quantized model file (or .tflite)")->required();
  sub->add_option("-o,--output", o->output, "The .tflite file to write")->required();
  sub->add_flag("--json", o->json, "Print a JSON summary");
  out.push_back({sub, [o] { return run_export_tflite(*o); }});
}

}  // namespace slingshot::cli
