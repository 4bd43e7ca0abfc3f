// Gradient alignment between two views of one model (float master, fake-quant STE, finite
// differences on the integer engine, another bitwidth): per sample, the cosine between
// their input gradients of the same objective, and each gradient's zero density (the
// share of exactly-zero components). These are the measured explanation for poor
// transfer between float and quantized networks, and for gradient masking: finite
// differences on an integer model see a flat landscape (zero density near 1), and a
// gradient that points elsewhere than the deployed model's does not transfer.
#pragma once

#include <span>
#include <vector>

#include "attacks/objective.h"
#include "attacks/target.h"
#include "core/status.h"
#include "core/tensor.h"

namespace slingshot {

struct GradientAlignment {
  std::vector<double> cosine;          // per sample, in [-1, 1]; NaN where a gradient is all zero
  std::vector<double> zero_density_a;  // per sample, share of exactly-zero components of a's gradient
  std::vector<double> zero_density_b;
  double mean_cosine = 0;              // over samples whose cosine is defined
  int undefined = 0;                   // samples with an all-zero gradient (no direction)
  double mean_zero_density_a = 0;
  double mean_zero_density_b = 0;
};

// Cosine of two gradients (flattened); NaN when either is all zero.
double gradient_cosine(std::span<const float> a, std::span<const float> b);
// Share of exactly-zero components.
double zero_density(std::span<const float> g);

// The input gradients of `objective` on x [N, ...] from targets a and b (their gradient
// sources), compared sample by sample. Both must take x's shape.
Result<GradientAlignment> compare_gradients(Target& a, Target& b, const Tensor& x, const Objective& objective);

}  // namespace slingshot
