// `slingshot export-onnx --model M [--int8] -o OUT.onnx [--check-inputs N --check-out
// FILE.json]`: writes the model as ONNX (float, or int8 QDQ), and optionally the inputs
// and our engines' logits for N test images, so an outside runtime can be checked
// against them (tests/onnx/check_onnx.mjs runs the export in onnxruntime-node).
#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/file_io.h"
#include "core/rng.h"
#include "engine/engine.h"
#ifdef SLING_HAVE_ONNX
#include "export/onnx_export.h"
#endif

namespace slingshot::cli {
namespace {

struct ExportOnnxOptions {
  std::string model, output, check_out, check_data = "shapes";
  bool int8 = false;
  int check_inputs = 0;
  uint64_t seed = 1;
  bool json = false;
};

// `n` inputs at the model's input shape: a test split, or "random" pixels on the 8-bit grid.
Result<Tensor> check_inputs(const ExportOnnxOptions& o, const Shape& sample_shape) {
  if (o.check_data != "random") {
    SLING_ASSIGN_OR_RETURN(Dataset d, load_data_arg(o.check_data, "test", o.check_inputs, sample_shape));
    return std::move(d.inputs);
  }
  Shape s{o.check_inputs};
  s.insert(s.end(), sample_shape.begin(), sample_shape.end());
  Tensor x(s);
  Rng rng(o.seed);
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<float>(rng.below(256)) / 255.0f;
  return x;
}

// A float32 tensor as {"shape", "base64"} of its little-endian bytes: exact and compact
// (hundreds of images as decimal JSON would be tens of megabytes).
nlohmann::json f32_blob(const Tensor& t) {
  static constexpr char kDigits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const auto* p = reinterpret_cast<const unsigned char*>(t.data());
  const size_t n = static_cast<size_t>(t.numel()) * sizeof(float);
  std::string out;
  out.reserve((n + 2) / 3 * 4);
  for (size_t i = 0; i < n; i += 3) {
    const uint32_t v = (uint32_t{p[i]} << 16) | (i + 1 < n ? uint32_t{p[i + 1]} << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
    out += kDigits[(v >> 18) & 63];
    out += kDigits[(v >> 12) & 63];
    out += i + 1 < n ? kDigits[(v >> 6) & 63] : '=';
    out += i + 2 < n ? kDigits[v & 63] : '=';
  }
  return {{"dtype", "float32"}, {"shape", t.shape()}, {"base64", std::move(out)}};
}

// The check file: the inputs (NHWC) and our logits: float, and for quantized models
// int8-ref and fakequant.
Status write_check_file(const ExportOnnxOptions& o, const QuantizedModel& model) {
  SLING_ASSIGN_OR_RETURN(Tensor x, check_inputs(o, model.graph.input_shape()));
  nlohmann::json logits = nlohmann::json::object();
  std::vector<EngineKind> kinds{EngineKind::kFloat};
  if (!model.nodes.empty()) {
    kinds.push_back(EngineKind::kInt8Ref);
    kinds.push_back(EngineKind::kFakeQuant);  // float QDQ semantics, as ONNX defines them
  }
  for (EngineKind k : kinds) {
    SLING_ASSIGN_OR_RETURN(auto engine, make_engine(k, model));
    Tensor out;
    SLING_RETURN_IF_ERROR(engine->predict(x, out));
    logits[engine_name(k)] = f32_blob(out);
  }
  nlohmann::json j = {{"model", o.model},
                      {"data", o.check_data},
                      {"inputs", f32_blob(x)},
                      {"logits", logits}};
  if (!model.nodes.empty()) j["output_lsb"] = model.nodes[model.graph.output_node()].output.scale;
  return write_file_atomic(o.check_out, j.dump());
}

Status run_export_onnx(const ExportOnnxOptions& o) {
#ifndef SLING_HAVE_ONNX
  (void)o;
  return unimplemented("this build has no ONNX exporter (it needs Debian's libonnx-dev and libprotobuf-dev)");
#else
  if ((o.check_inputs > 0) != !o.check_out.empty())
    return invalid_argument("--check-inputs and --check-out go together");
  SLING_ASSIGN_OR_RETURN(QuantizedModel model, load_any_model_arg(o.model));
  if (o.int8 && model.nodes.empty())
    return invalid_argument("model '" + o.model + "' is a float model; --int8 exports a quantized model: run "
                            "`slingshot quantize --model " + o.model + " -o QUANTIZED` first");
  SLING_ASSIGN_OR_RETURN(std::string bytes, export_onnx(model, o.int8));
  SLING_RETURN_IF_ERROR(write_file_atomic(o.output, bytes));
  if (o.check_inputs > 0) SLING_RETURN_IF_ERROR(write_check_file(o, model));
  const char* format = o.int8 ? "int8 QDQ" : (model.nodes.empty() ? "float" : "float (batch norm folded)");
  if (o.json) {
    nlohmann::json j = {{"model", o.model},   {"output", o.output}, {"format", o.int8 ? "qdq-int8" : "float"},
                        {"opset", kOnnxOpset}, {"bytes", bytes.size()}};
    if (!o.check_out.empty()) j["check_out"] = o.check_out;
    std::printf("%s\n", j.dump().c_str());
    return Status::Ok();
  }
  std::printf("exported %s -> %s (%s, opset %d, %zu bytes; input NHWC [N, %s, logits [N, %s)\n", o.model.c_str(),
              o.output.c_str(), format, kOnnxOpset, bytes.size(),
              shape_to_string(model.graph.input_shape()).substr(1).c_str(),
              shape_to_string(model.graph.output_shape()).substr(1).c_str());
  if (!o.check_out.empty())
    std::printf("check data: %d '%s' inputs and our logits -> %s\n", o.check_inputs, o.check_data.c_str(),
                o.check_out.c_str());
  return Status::Ok();
#endif
}

}  // namespace

void register_export_onnx(CLI::App& app, CommandList& out) {
  auto o = std::make_shared<ExportOnnxOptions>();
  CLI::App* sub = app.add_subcommand("export-onnx", "Export a model as ONNX (float, or int8 QDQ with --int8)");
  sub->add_option("--model", o->model, "Model file (float or quantized; --int8 needs quantized)")->required();
  sub->add_flag("--int8", o->int8, "Export the integer model as QDQ (QuantizeLinear/DequantizeLinear, opset 13)");
  sub->add_option("-o,--output", o->output, "ONNX file to write")->required();
  sub->add_option("--check-inputs", o->check_inputs, "Also write N test inputs and our engines' logits")
      ->check(CLI::Range(0, 100000));
  sub->add_option("--check-out", o->check_out, "JSON file for --check-inputs");
  sub->add_option("--check-data", o->check_data, "Dataset of the check inputs (test split), or random")
      ->capture_default_str();
  sub->add_option("--seed", o->seed, "Seed of --check-data random")->capture_default_str();
  sub->add_flag("--json", o->json, "Print a JSON report");
  out.push_back({sub, [o] { return run_export_onnx(*o); }});
}

}  // namespace slingshot::cli
