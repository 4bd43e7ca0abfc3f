// The inner maximization of adversarial training: Madry et al.'s PGD (Linf, random
// start), Wong et al.'s fast FGSM with random start, and the TRADES KL attack (Zhang et
// al.), run on the model being trained. Examples are crafted in inference mode (running
// batch-norm statistics, as the TRADES reference does) and stay inside the eps-ball and
// [input_min, input_max].
#pragma once

#include <string>
#include <vector>

#include "core/rng.h"
#include "core/status.h"
#include "model/graph.h"

namespace slingshot {

enum class AdversarialMethod {
  kNone,    // clean training
  kPgd,     // train on PGD-Linf examples only (Madry)
  kFgsmRs,  // train on one FGSM step from a uniform random start (Wong, "fast is better than free")
  kTrades,  // clean cross-entropy + beta * KL(clean || adversarial)
};

Result<AdversarialMethod> parse_adversarial_method(const std::string& name);
const char* adversarial_method_name(AdversarialMethod m);

struct AdversarialTrainingConfig {
  AdversarialMethod method = AdversarialMethod::kNone;  // which defense
  float eps = 8.0f / 255;         // Linf radius
  float eps_step = 2.0f / 255;    // step per iteration (fast FGSM: 1.25 * eps is the usual choice)
  int max_iter = 7;               // PGD / TRADES iterations (fast FGSM always takes one step)
  float trades_beta = 6.0f;       // TRADES trade-off between accuracy and smoothness
  float input_min = 0.0f;         // valid input range (images: [0, 1])
  float input_max = 1.0f;         // upper end of the valid input range

  bool enabled() const { return method != AdversarialMethod::kNone; }
};

Status validate_adversarial_training_config(const AdversarialTrainingConfig& c);

// Adversarial versions of batch `x` (labels `labels`) against `graph` for training.
// PGD and fast FGSM ascend the cross-entropy; TRADES ascends KL(f(x) || f(x_adv)).
Status craft_training_examples(const Graph& graph, const Tensor& x, const std::vector<int>& labels,
                               const AdversarialTrainingConfig& config, Rng& rng, KernelPath kernels,
                               Tensor& x_adv);

}  // namespace slingshot
