// `slingshot quantize --model M --data D --scheme int8|int4|ternary|binary [--act-bits N]
// -o OUT`: post-training quantization (BN folding, calibration, per-channel weights) into
// a model file that carries the quantization parameters.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/progress.h"
#include "quant/activation_qat.h"
#include "quant/post_training.h"

namespace slingshot::cli {
namespace {

struct QuantizeCliOptions {
  std::string model, data = "shapes", scheme = "int8", calibration = "minmax", rounding = "double",
                     input = "image", output;
  int act_bits = 0;  // 0: 8, or the bits an activation-QAT model was trained with
  int samples = 512;
  double percentile = 99.99;
  bool json = false;
};

Status run_quantize(const QuantizeCliOptions& o) {
  // The source model card is kept, so the quantized file still says where it came from.
  nlohmann::json extra;
  SLING_ASSIGN_OR_RETURN(QuantizedModel source, load_any_model_arg(o.model, &extra));
  if (!source.nodes.empty())
    return invalid_argument("model '" + o.model + "' is already quantized; quantize its float source instead");
  const Graph& g = source.graph;
  QuantizeOptions q;
  SLING_ASSIGN_OR_RETURN(q.weights, parse_weight_scheme(o.scheme));
  SLING_ASSIGN_OR_RETURN(const int qat_bits, activation_quant_bits(g));
  q.activation_bits = o.act_bits != 0 ? o.act_bits : qat_bits != 0 ? qat_bits : 8;
  if (o.rounding != "double" && o.rounding != "single")
    return invalid_argument("--rounding must be double or single, got '" + o.rounding + "'");
  q.rounding = o.rounding == "double" ? RoundingMode::kDouble : RoundingMode::kSingle;
  if (o.calibration == "minmax") {
    q.calibration.method = CalibrationMethod::kMinMax;
  } else if (o.calibration == "percentile") {
    q.calibration.method = CalibrationMethod::kPercentile;
    q.calibration.percentile = o.percentile;
  } else {
    return invalid_argument("--calibration must be minmax or percentile, got '" + o.calibration + "'");
  }
  if (o.input != "image" && o.input != "calibrated")
    return invalid_argument("--input-grid must be image or calibrated, got '" + o.input + "'");
  q.image_input = o.input == "image";
  SLING_ASSIGN_OR_RETURN(Dataset calib, load_data_arg(o.data, "train", o.samples, g.input_shape()));

  ProgressBar bar("calibrate");
  auto progress = [&](double f) {
    bar.update(f, std::to_string(o.samples) + " samples");
    return true;
  };
  SLING_ASSIGN_OR_RETURN(QuantizedModel m, quantize_post_training(g, calib.inputs, q, progress));
  bar.finish();
  if (!extra.is_object()) extra = nlohmann::json::object();
  extra["quantized_from"] = o.model;
  extra["calibration_data"] = o.data;
  // A QAT model's float weights are its codes: store them once.
  adopt_code_weights_if_exact(m);
  SLING_RETURN_IF_ERROR(save_quantized_model(m, o.output, extra));

  const Footprint f = footprint(m);
  nlohmann::json report = {{"model", o.output},
                           {"source", o.model},
                           {"weights", weight_scheme_name(m.weights)},
                           {"activation_bits", m.activation_bits},
                           {"rounding", o.rounding},
                           {"calibration", m.calibration},
                           {"float_weights_from_codes", m.float_weights_from_codes},
                           {"footprint", {{"weight_count", f.weight_count},
                                          {"weight_bytes_packed", f.weight_bytes},
                                          {"bias_bytes", f.bias_bytes},
                                          {"requant_bytes", f.scale_bytes},
                                          {"total_bytes", f.total_bytes()},
                                          {"float_bytes", f.float_bytes}}}};
  if (o.json) {
    std::printf("%s\n", report.dump().c_str());
    return Status::Ok();
  }
  std::printf("quantized %s -> %s\n  weights %s (per channel), activations %d-bit, %s rounding, %s calibration on %d "
              "'%s' samples\n  footprint %lld bytes packed (%lld weights at %d bits, int32 biases, requantization "
              "constants); float32: %lld bytes\n",
              o.model.c_str(), o.output.c_str(), weight_scheme_name(m.weights), m.activation_bits, o.rounding.c_str(),
              o.calibration.c_str(), o.samples, o.data.c_str(), static_cast<long long>(f.total_bytes()),
              static_cast<long long>(f.weight_count), weight_packed_bits(m.weights),
              static_cast<long long>(f.float_bytes));
  if (m.float_weights_from_codes)
    std::printf("  the float weights are exactly the dequantized codes (a QAT model): the file stores codes only\n");
  return Status::Ok();
}

}  // namespace

void register_quantize(CLI::App& app, CommandList& out) {
  auto o = std::make_shared<QuantizeCliOptions>();
  CLI::App* sub = app.add_subcommand("quantize", "Post-training quantization into a model file with integer weights");
  sub->add_option("--model", o->model, "Float model file")->required();
  sub->add_option("--data", o->data, "Calibration dataset: shapes, cifar10:FILE[,FILE...] or folder:DIR (training split)")->capture_default_str();
  sub->add_option("--scheme", o->scheme, "Weight scheme: int8, int4, ternary or binary")->capture_default_str();
  sub->add_option("--act-bits", o->act_bits,
                  "Bits of hidden activations, 1-8 (default: 8, or the bits an activation-QAT model was trained with)")
      ->check(CLI::Range(1, 8));
  sub->add_option("--calibration", o->calibration, "Activation ranges: minmax or percentile")->capture_default_str();
  sub->add_option("--percentile", o->percentile, "Percentile kept by --calibration percentile")->capture_default_str();
  sub->add_option("--samples", o->samples, "Calibration samples")->capture_default_str()->check(CLI::Range(1, 100000));
  sub->add_option("--rounding", o->rounding, "Requantization rounding: double (TFLite) or single")
      ->capture_default_str();
  sub->add_option("--input-grid", o->input, "image (scale 1/255, zero point -128) or calibrated")
      ->capture_default_str();
  sub->add_option("-o,--output", o->output, "Quantized model file to write")->required();
  sub->add_flag("--json", o->json, "Print a JSON report");
  out.push_back({sub, [o] { return run_quantize(*o); }});
}

}  // namespace slingshot::cli
