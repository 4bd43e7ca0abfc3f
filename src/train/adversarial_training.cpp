// PGD, fast-FGSM and TRADES example generation for adversarial training.
#include "train/adversarial_training.h"

#include <algorithm>
#include <cmath>

#include "model/loss.h"

namespace slingshot {

Result<AdversarialMethod> parse_adversarial_method(const std::string& name) {
  if (name == "none") return AdversarialMethod::kNone;
  if (name == "pgd") return AdversarialMethod::kPgd;
  if (name == "fgsm_rs" || name == "fast_fgsm") return AdversarialMethod::kFgsmRs;
  if (name == "trades") return AdversarialMethod::kTrades;
  return invalid_argument("unknown adversarial training method '" + name + "' (use none, pgd, fgsm_rs or trades)");
}

const char* adversarial_method_name(AdversarialMethod m) {
  switch (m) {
    case AdversarialMethod::kNone: return "none";
    case AdversarialMethod::kPgd: return "pgd";
    case AdversarialMethod::kFgsmRs: return "fgsm_rs";
    case AdversarialMethod::kTrades: return "trades";
  }
  return "?";
}

Status validate_adversarial_training_config(const AdversarialTrainingConfig& c) {
  if (!c.enabled()) return Status::Ok();
  if (!(c.eps > 0) || !std::isfinite(c.eps)) return invalid_argument("adversarial training eps must be > 0");
  if (!(c.eps_step > 0) || !std::isfinite(c.eps_step)) return invalid_argument("adversarial training eps_step must be > 0");
  if (c.max_iter < 1 || c.max_iter > 1000) return invalid_argument("adversarial training max_iter must be in [1, 1000]");
  if (!(c.trades_beta >= 0) || !std::isfinite(c.trades_beta)) return invalid_argument("TRADES beta must be >= 0");
  if (!(c.input_max > c.input_min)) return invalid_argument("adversarial training input range is empty");
  return Status::Ok();
}

Status craft_training_examples(const Graph& graph, const Tensor& x, const std::vector<int>& labels,
                               const AdversarialTrainingConfig& config, Rng& rng, KernelPath kernels,
                               Tensor& x_adv) {
  SLING_RETURN_IF_ERROR(validate_adversarial_training_config(config));
  x_adv = x;
  if (!config.enabled()) return Status::Ok();
  const int64_t numel = x.numel();
  auto project = [&](int64_t e, float v) {
    v = std::clamp(v, x[e] - config.eps, x[e] + config.eps);
    return std::clamp(v, config.input_min, config.input_max);
  };
  Workspace<float> ws;
  Tensor grad_logits, clean_logits;
  int iterations = config.max_iter;
  float step = config.eps_step;
  if (config.method == AdversarialMethod::kTrades) {
    // TRADES starts at a tiny Gaussian perturbation: KL is flat (zero gradient) at x itself.
    SLING_RETURN_IF_ERROR(graph.forward(x, ws, Mode::kInference, kernels));
    clean_logits = ws.output();
    for (int64_t e = 0; e < numel; ++e) x_adv[e] = project(e, x[e] + 0.001f * rng.normal());
  } else {
    for (int64_t e = 0; e < numel; ++e) x_adv[e] = project(e, x[e] + rng.uniform(-config.eps, config.eps));
    if (config.method == AdversarialMethod::kFgsmRs) iterations = 1;
  }
  for (int it = 0; it < iterations; ++it) {
    SLING_RETURN_IF_ERROR(graph.forward(x_adv, ws, Mode::kInference, kernels));
    if (config.method == AdversarialMethod::kTrades) {
      SLING_RETURN_IF_ERROR(softmax_kl_divergence(clean_logits, ws.output(), &grad_logits).status());
    } else {
      SLING_RETURN_IF_ERROR(softmax_cross_entropy(ws.output(), labels, &grad_logits).status());
    }
    SLING_RETURN_IF_ERROR(graph.backward(grad_logits, ws, false, kernels));
    const Tensor& g = ws.input_grad();
    for (int64_t e = 0; e < numel; ++e) {
      const float s = g[e] > 0 ? step : (g[e] < 0 ? -step : 0.0f);
      x_adv[e] = project(e, x_adv[e] + s);
    }
  }
  return Status::Ok();
}

}  // namespace slingshot
