// Finite-difference random-projection Jacobian penalty.
#include "train/jacobian_regularization.h"

#include <cmath>

#include "quant/quantized_model.h"

namespace slingshot {

Result<JacobianMode> parse_jacobian_mode(const std::string& name) {
  if (name == "input_output") return JacobianMode::kInputOutput;
  if (name == "per_layer") return JacobianMode::kPerLayer;
  return invalid_argument("unknown Jacobian regularization mode '" + name + "' (use input_output or per_layer)");
}

const char* jacobian_mode_name(JacobianMode m) { return m == JacobianMode::kInputOutput ? "input_output" : "per_layer"; }

Status validate_jacobian_config(const JacobianConfig& c) {
  if (!(c.lambda >= 0) || !std::isfinite(c.lambda)) return invalid_argument("Jacobian lambda must be >= 0");
  if (!c.enabled()) return Status::Ok();
  if (c.projections < 1 || c.projections > 64) return invalid_argument("Jacobian projections must be in [1, 64]");
  if (!(c.step > 0) || !std::isfinite(c.step)) return invalid_argument("Jacobian finite-difference step must be > 0");
  return Status::Ok();
}

Result<double> jacobian_penalty_step(const Graph& graph, const Tensor& x, const Workspace<float>& clean,
                                     const JacobianConfig& config, Rng& rng, KernelPath kernels,
                                     std::vector<std::pair<int, Tensor>>& clean_seeds,
                                     std::vector<std::vector<Tensor>>& param_grads) {
  SLING_RETURN_IF_ERROR(validate_jacobian_config(config));
  clean_seeds.clear();
  if (!config.enabled()) return 0.0;
  const int out = graph.output_node();
  std::vector<int> nodes;
  if (config.mode == JacobianMode::kPerLayer) {
    for (int i = 1; i < graph.num_nodes(); ++i)
      if (is_weighted_type(graph.node(i).layer->type())) nodes.push_back(i);
  }
  if (nodes.empty() || nodes.back() != out) nodes.push_back(out);
  const int64_t n = x.dim(0), d = x.numel() / n;
  const double h = config.step;

  Workspace<float> ws;
  Tensor xp(x.shape()), grad_out;
  std::vector<Tensor> seeds(nodes.size());
  std::vector<std::pair<int, const Tensor*>> seed_refs;
  clean_seeds.reserve(nodes.size());
  for (int node : nodes) clean_seeds.emplace_back(node, Tensor(clean.values[node].shape(), 0.0f));
  double penalty = 0;
  for (int k = 0; k < config.projections; ++k) {
    for (int64_t s = 0; s < n; ++s) {
      double norm = 0;
      float* v = xp.data() + s * d;
      for (int64_t e = 0; e < d; ++e) {
        v[e] = rng.normal();
        norm += static_cast<double>(v[e]) * v[e];
      }
      const float scale = static_cast<float>(h / std::sqrt(std::max(norm, 1e-30)));
      const float* xs = x.data() + s * d;
      for (int64_t e = 0; e < d; ++e) v[e] = xs[e] + scale * v[e];
    }
    SLING_RETURN_IF_ERROR(graph.forward(xp, ws, Mode::kTrain, kernels));
    seed_refs.clear();
    for (size_t j = 0; j < nodes.size(); ++j) {
      const Tensor& a = clean.values[nodes[j]];
      const Tensor& b = ws.values[nodes[j]];
      const int64_t width = a.numel() / n;
      // Mean over the batch of lambda * D / (2K) * ||delta||^2 / h^2, per layer / width.
      const double w = config.lambda * static_cast<double>(d) / (2.0 * config.projections) / (h * h) /
                       static_cast<double>(n) / (config.mode == JacobianMode::kPerLayer ? width : 1);
      Tensor& seed = seeds[j];
      seed.resize(a.shape());
      Tensor& cs = clean_seeds[j].second;
      for (int64_t e = 0; e < a.numel(); ++e) {
        const double delta = static_cast<double>(b[e]) - a[e];
        penalty += w * delta * delta;
        seed[e] = static_cast<float>(2 * w * delta);
        cs[e] -= seed[e];
      }
      if (nodes[j] != out) seed_refs.emplace_back(nodes[j], &seed);
    }
    SLING_RETURN_IF_ERROR(graph.backward(seeds.back(), std::span<const std::pair<int, const Tensor*>>(seed_refs), ws,
                                         true, kernels));
    for (size_t i = 1; i < param_grads.size(); ++i)
      for (size_t p = 0; p < param_grads[i].size() && p < ws.param_grads[i].size(); ++p) {
        Tensor& acc = param_grads[i][p];
        const Tensor& g = ws.param_grads[i][p];
        for (int64_t e = 0; e < acc.numel(); ++e) acc[e] += g[e];
      }
  }
  return penalty;
}

}  // namespace slingshot
