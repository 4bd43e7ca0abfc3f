// Jacobian regularization by random projections, estimated with finite differences so
// it needs no double back-propagation.
//
// For a direction v drawn uniformly on the unit sphere of the input (per sample),
// E ||J v||^2 = ||J||_F^2 / D (D input elements), and J v ~ (f(x + h v) - f(x)) / h.
// So  R = lambda * D / (2 K) * sum_k ||f(x + h v_k) - f(x)||^2 / h^2  estimates
// lambda / 2 * ||J||_F^2 (Hoffman et al. 2019 use the same projection idea on the output
// side). Its parameter gradient flows through both passes.
//
// Two modes:
//  - input_output: J is d logits / d x.
//  - per_layer: the sum over every weighted layer (conv, depthwise, dense) of the
//    Jacobian of that layer's output with respect to the input, each normalized by the
//    layer's width, so every layer's sensitivity is kept small (our reading of
//    Zakariyya et al.'s per-layer JR; their exact weighting is not published in a form
//    we could check).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/rng.h"
#include "core/status.h"
#include "model/graph.h"

namespace slingshot {

enum class JacobianMode { kInputOutput, kPerLayer };

Result<JacobianMode> parse_jacobian_mode(const std::string& name);
const char* jacobian_mode_name(JacobianMode m);

struct JacobianConfig {
  float lambda = 0.0f;                          // weight of the penalty; 0 turns it off
  JacobianMode mode = JacobianMode::kInputOutput;  // which Jacobian
  int projections = 1;                          // random directions per sample and step
  float step = 1e-2f;                           // finite-difference step h (input units)

  bool enabled() const { return lambda > 0; }
};

Status validate_jacobian_config(const JacobianConfig& c);

// Adds the penalty's gradients for batch `x` to a training step. `clean` holds the
// training-mode forward pass of `x` already done by the caller. Writes the penalty's
// dL/d(node value) seeds for `clean` into `clean_seeds` (nodes, gradients; the caller
// passes them to its backward) and back-propagates the perturbed passes itself, adding
// their parameter gradients to `param_grads`. Returns the penalty value.
Result<double> jacobian_penalty_step(const Graph& graph, const Tensor& x, const Workspace<float>& clean,
                                     const JacobianConfig& config, Rng& rng, KernelPath kernels,
                                     std::vector<std::pair<int, Tensor>>& clean_seeds,
                                     std::vector<std::vector<Tensor>>& param_grads);

}  // namespace slingshot
