// Attack objectives on logits, per sample, written so that every attack ascends them:
//   ce   untargeted  CE(z, y)                 targeted  -CE(z, t)
//   cw   untargeted  max_{j!=y} z_j - z_y     targeted  z_t - max_{j!=t} z_j
//        (each capped at `confidence` when it is finite, as C&W's kappa)
//   dlr  untargeted  -(z_y - max_{j!=y} z_j) / (z_pi1 - z_pi3)                (Croce & Hein 2020)
//        targeted    -(z_y - z_t) / (z_pi1 - (z_pi3 + z_pi4) / 2)
//   prob untargeted  -softmax(z)_y            targeted  softmax(z)_t
//        (bounded, so it saturates where CE does not: what DIVA balances two models with)
// where z_pi1 >= z_pi2 >= ... are the sorted logits. DLR needs 3 classes (4 targeted).
#pragma once

#include <limits>
#include <span>
#include <vector>

#include "attacks/threat_model.h"
#include "core/status.h"
#include "core/tensor.h"

namespace slingshot {

struct Objective {
  LossKind kind = LossKind::kCrossEntropy;
  std::span<const int> labels;   // true classes, one per sample
  std::span<const int> targets;  // target classes (targeted), else empty
  float confidence = std::numeric_limits<float>::infinity();  // cap of the CW margin
};

// The class of an abstaining prediction (randomized smoothing's vote), which no label equals.
inline constexpr int kAbstain = -1;
// The predicted class of row `row` of logits [N, K]: the first largest logit; kAbstain for
// a row holding NaN (how an abstaining smoothed target answers).
int top1_class(const Tensor& logits, int64_t row);
// top1_class of every row.
std::vector<int> top1_classes(const Tensor& logits);

// Objective values [N] of logits [N, K], and dvalue/dlogits [N, K] when `grad` is set.
Status attack_objective(const Tensor& logits, const Objective& objective, Tensor& value, Tensor* grad);

}  // namespace slingshot
