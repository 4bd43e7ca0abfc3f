// `slingshot grad --model M --input FILE --label K [--engine float|fakequant] [--json]
// [-o GRAD.npy]`: logits, loss and the input gradient dL/dx, in [0, 1] input units, of the
// float model or of the fake-quant mirror of a quantized one (straight-through gradients).
#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "data/image_io.h"
#include "data/npy.h"
#include "engine/engine.h"
#include "model/loss.h"
#include "quant/fake_quant_graph.h"

namespace slingshot::cli {
namespace {

struct GradOptions {
  std::string model, input, output, engine = "float";
  int label = -1;
  bool json = false;
};

Status run_grad(const GradOptions& o) {
  SLING_ASSIGN_OR_RETURN(QuantizedModel qm, load_any_model_arg(o.model));
  SLING_ASSIGN_OR_RETURN(EngineKind kind, parse_engine(o.engine));
  if (kind != EngineKind::kFloat && kind != EngineKind::kFakeQuant)
    return invalid_argument("engine '" + o.engine +
                            "' has no gradient; use float (transfer) or fakequant (straight-through estimator)");
  if (kind == EngineKind::kFakeQuant && qm.nodes.empty())
    return invalid_argument("engine 'fakequant' needs a quantized model (run `slingshot quantize` first)");
  Graph fq_graph({1});
  if (kind == EngineKind::kFakeQuant) {
    SLING_ASSIGN_OR_RETURN(fq_graph, build_fake_quant_graph(qm));
  }
  const Graph& g = kind == EngineKind::kFakeQuant ? fq_graph : qm.graph;
  SLING_ASSIGN_OR_RETURN(Tensor x, load_input_arg(o.input, g.input_shape()));
  const Shape out = g.output_shape();
  if (out.size() != 1) return invalid_argument("grad needs a model with a flat [classes] output");
  if (o.label < 0 || o.label >= out[0])
    return invalid_argument("label " + std::to_string(o.label) + " is outside [0, " + std::to_string(out[0]) + ")");
  Workspace<float> ws;
  SLING_RETURN_IF_ERROR(g.forward(x, ws, Mode::kInference));
  Tensor dlogits;
  const std::vector<int> labels{o.label};
  SLING_ASSIGN_OR_RETURN(float loss, softmax_cross_entropy(ws.output(), labels, &dlogits));
  const Tensor logits = ws.output();
  SLING_RETURN_IF_ERROR(g.backward(dlogits, ws, /*param_grads=*/false));
  const Tensor& grad = ws.input_grad();
  if (!o.output.empty()) SLING_RETURN_IF_ERROR(save_npy(grad, o.output));
  int pred = 0;
  for (int k = 1; k < logits.dim(1); ++k)
    if (logits[k] > logits[pred]) pred = k;
  double l1 = 0, l2 = 0, linf = 0;
  for (int64_t i = 0; i < grad.numel(); ++i) {
    l1 += std::abs(grad[i]);
    l2 += static_cast<double>(grad[i]) * grad[i];
    linf = std::max(linf, static_cast<double>(std::abs(grad[i])));
  }
  if (o.json) {
    nlohmann::json j = {{"model", o.model},       {"input", o.input},      {"label", o.label},
                        {"engine", o.engine},      {"prediction", pred},    {"loss", loss},
                        {"logits", logits.storage()}, {"grad_shape", grad.shape()},
                        {"grad_norms", {{"l1", l1}, {"l2", std::sqrt(l2)}, {"linf", linf}}},
                        {"grad", grad.storage()}};
    std::printf("%s\n", j.dump().c_str());
    return Status::Ok();
  }
  std::printf("prediction %d  label %d  loss %.6f\nlogits", pred, o.label, loss);
  for (int k = 0; k < logits.dim(1); ++k) std::printf(" %.4f", logits[k]);
  std::printf("\ndL/dx %s  L1 %.4g  L2 %.4g  Linf %.4g%s\n", shape_to_string(grad.shape()).c_str(), l1, std::sqrt(l2),
              linf, o.output.empty() ? "" : ("  written to " + o.output).c_str());
  return Status::Ok();
}

}  // namespace

void register_grad(CLI::App& app, CommandList& out) {
  auto opts = std::make_shared<GradOptions>();
  CLI::App* sub = app.add_subcommand("grad", "Logits, loss and input gradient for one input (float or fake-quant)");
  sub->add_option("--model", opts->model, "Model file")->required();
  sub->add_option("--input", opts->input, "PNG/JPEG image or float32 .npy ([H,W,C] or [1,H,W,C], values in [0,1])")
      ->required();
  sub->add_option("--label", opts->label, "True class index")->required();
  sub->add_option("--engine", opts->engine, "Gradient engine: float or fakequant (STE through the quantized model)")
      ->capture_default_str();
  sub->add_flag("--json", opts->json, "Print JSON (logits, loss, full gradient)");
  sub->add_option("-o,--output", opts->output, "Also write the gradient as .npy");
  out.push_back({sub, [opts] { return run_grad(*opts); }});
}

}  // namespace slingshot::cli
