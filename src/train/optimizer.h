// Optimizers for the float master weights: SGD with momentum (L2 weight decay added to
// the gradient, as PyTorch's SGD does) and Adam with decoupled weight decay (AdamW).
// Their state is exported as named tensors so a checkpoint resumes the exact run.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/status.h"
#include "model/graph.h"

namespace slingshot {

enum class OptimizerKind { kSgd, kAdam };

Result<OptimizerKind> parse_optimizer_kind(const std::string& name);
const char* optimizer_kind_name(OptimizerKind kind);

struct OptimizerConfig {
  OptimizerKind kind = OptimizerKind::kSgd;  // update rule
  float momentum = 0.9f;                     // SGD momentum, in [0, 1)
  float beta1 = 0.9f;                        // Adam first-moment decay
  float beta2 = 0.999f;                      // Adam second-moment decay
  float epsilon = 1e-8f;                     // Adam denominator floor
  float weight_decay = 5e-4f;                // on "weight" parameters only (not biases or batch norm)
};

Status validate_optimizer_config(const OptimizerConfig& c);

class Optimizer {
 public:
  // State buffers shaped like the graph's parameters, all zero.
  Optimizer(const Graph& graph, const OptimizerConfig& config);

  // One update of every trainable parameter from `grads` (ws.param_grads layout) at `lr`.
  void step(Graph& graph, const std::vector<std::vector<Tensor>>& grads, float lr);

  // Named state for checkpoints: "<node>.<slot>_<param>" -> tensor, plus the step count.
  std::map<std::string, Tensor> state(const Graph& graph) const;
  int64_t steps_taken() const { return steps_; }
  // Restores what state() produced; every buffer must be present with the right shape.
  Status load_state(const Graph& graph, const std::map<std::string, Tensor>& state, int64_t steps_taken);

 private:
  std::vector<const char*> slots() const;
  OptimizerConfig config_;
  int64_t steps_ = 0;
  // first[i][k] / second[i][k]: node i, parameter k (SGD uses `first` as velocity).
  std::vector<std::vector<Tensor>> first_, second_;
};

}  // namespace slingshot
