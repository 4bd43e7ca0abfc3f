// SGD-momentum and AdamW updates, and their checkpointable state.
#include "train/optimizer.h"

#include <cmath>

namespace slingshot {

Result<OptimizerKind> parse_optimizer_kind(const std::string& name) {
  if (name == "sgd") return OptimizerKind::kSgd;
  if (name == "adam" || name == "adamw") return OptimizerKind::kAdam;
  return invalid_argument("unknown optimizer '" + name + "' (use sgd or adam)");
}

const char* optimizer_kind_name(OptimizerKind kind) { return kind == OptimizerKind::kSgd ? "sgd" : "adam"; }

Status validate_optimizer_config(const OptimizerConfig& c) {
  if (!(c.momentum >= 0 && c.momentum < 1)) return invalid_argument("momentum must be in [0, 1)");
  if (!(c.beta1 >= 0 && c.beta1 < 1) || !(c.beta2 >= 0 && c.beta2 < 1))
    return invalid_argument("Adam betas must be in [0, 1)");
  if (!(c.epsilon > 0)) return invalid_argument("Adam epsilon must be > 0");
  if (!(c.weight_decay >= 0) || !std::isfinite(c.weight_decay)) return invalid_argument("weight decay must be >= 0");
  return Status::Ok();
}

Optimizer::Optimizer(const Graph& graph, const OptimizerConfig& config) : config_(config) {
  first_.resize(graph.num_nodes());
  second_.resize(graph.num_nodes());
  for (int i = 1; i < graph.num_nodes(); ++i)
    for (const Param& p : graph.node(i).layer->params()) {
      first_[i].emplace_back(p.value.shape(), 0.0f);
      second_[i].emplace_back(config.kind == OptimizerKind::kAdam ? Tensor(p.value.shape(), 0.0f) : Tensor());
    }
}

void Optimizer::step(Graph& graph, const std::vector<std::vector<Tensor>>& grads, float lr) {
  ++steps_;
  const float bias1 = 1.0f - std::pow(config_.beta1, static_cast<float>(steps_));
  const float bias2 = 1.0f - std::pow(config_.beta2, static_cast<float>(steps_));
  for (int i = 1; i < graph.num_nodes(); ++i) {
    auto& params = graph.node(i).layer->params();
    for (size_t k = 0; k < params.size(); ++k) {
      if (!params[k].trainable) continue;
      const bool decay = params[k].name == "weight";
      Tensor& w = params[k].value;
      Tensor& m = first_[i][k];
      const Tensor& g = grads[i][k];
      if (config_.kind == OptimizerKind::kSgd) {
        const float wd = decay ? config_.weight_decay : 0.0f;
        for (int64_t e = 0; e < w.numel(); ++e) {
          m[e] = config_.momentum * m[e] + (g[e] + wd * w[e]);
          w[e] -= lr * m[e];
        }
      } else {
        Tensor& v = second_[i][k];
        const float wd = decay ? lr * config_.weight_decay : 0.0f;
        for (int64_t e = 0; e < w.numel(); ++e) {
          m[e] = config_.beta1 * m[e] + (1 - config_.beta1) * g[e];
          v[e] = config_.beta2 * v[e] + (1 - config_.beta2) * g[e] * g[e];
          w[e] -= wd * w[e] + lr * (m[e] / bias1) / (std::sqrt(v[e] / bias2) + config_.epsilon);
        }
      }
    }
  }
}

std::vector<const char*> Optimizer::slots() const {
  if (config_.kind == OptimizerKind::kSgd) return {"sgd_velocity"};
  return {"adam_m", "adam_v"};
}

std::map<std::string, Tensor> Optimizer::state(const Graph& graph) const {
  std::map<std::string, Tensor> out;
  const auto names = slots();
  for (int i = 1; i < graph.num_nodes(); ++i) {
    const auto& params = graph.node(i).layer->params();
    for (size_t k = 0; k < params.size(); ++k)
      for (size_t s = 0; s < names.size(); ++s)
        out[graph.node(i).name + "." + names[s] + "_" + params[k].name] = s == 0 ? first_[i][k] : second_[i][k];
  }
  return out;
}

Status Optimizer::load_state(const Graph& graph, const std::map<std::string, Tensor>& state, int64_t steps_taken) {
  if (steps_taken < 0) return invalid_argument("checkpoint optimizer step count is negative");
  const auto names = slots();
  for (int i = 1; i < graph.num_nodes(); ++i) {
    const auto& params = graph.node(i).layer->params();
    for (size_t k = 0; k < params.size(); ++k)
      for (size_t s = 0; s < names.size(); ++s) {
        const std::string key = graph.node(i).name + "." + names[s] + "_" + params[k].name;
        auto it = state.find(key);
        if (it == state.end()) return invalid_argument("checkpoint lacks optimizer state '" + key + "'");
        if (it->second.shape() != params[k].value.shape())
          return invalid_argument("checkpoint optimizer state '" + key + "' has shape " +
                                  shape_to_string(it->second.shape()) + ", the parameter " +
                                  shape_to_string(params[k].value.shape()));
        (s == 0 ? first_[i][k] : second_[i][k]) = it->second;
      }
  }
  steps_ = steps_taken;
  return Status::Ok();
}

}  // namespace slingshot
