// Robustness curves: robust accuracy against eps for several targets at once (engines,
// bitwidths, defended variants), each attacked white-box on its own gradients and judged
// on its own deployed engine. The first point of a curve is usually eps 0, where robust
// accuracy must equal clean accuracy: a check that the attack does nothing without budget.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <vector>

#include "attacks/attack.h"
#include "attacks/evaluate.h"

namespace slingshot {

struct CurvePoint {
  float eps = 0;
  double robust_accuracy = 0;
  double success_rate = 0;
  Distortion mean_distortion;  // over successes
  double seconds = 0;          // attack time of this point
};

struct CurveLine {
  std::string name;            // what the caller called the target (e.g. "int8-ref", "ternary")
  double clean_accuracy = 0;
  std::vector<CurvePoint> points;  // in the order of the eps list; filled as they finish
};

// Called after every finished point with the lines so far, the line and point just
// finished and the fraction of all points done; returning false stops the run with a
// "cancelled" error. Points finish eps by eps, each for every line in turn.
using CurveProgress = std::function<bool(const std::vector<CurveLine>& lines, int line, int point, double fraction)>;

struct CurveTarget {
  std::string name;
  Target* target = nullptr;     // not owned
  Target* reference = nullptr;  // for attacks that need one (DIVA)
};

// Robust accuracy of every target at every eps in `eps` (each >= 0, finite) under
// `attack` with `params` (its eps replaced point by point), on samples x [N, ...] with
// labels y, in batches of params.batch_size. Deterministic for a seed.
Result<std::vector<CurveLine>> robustness_curves(Attack& attack, std::span<const CurveTarget> targets, const Tensor& x,
                                                 std::span<const int> y, std::span<const float> eps,
                                                 const AttackParams& params, const CurveProgress& progress = nullptr);

}  // namespace slingshot
