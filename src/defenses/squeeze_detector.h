// The feature-squeezing detector (Xu, Evans & Qi, NDSS 2018): an input is flagged as
// adversarial when the model's prediction moves too much under squeezing. Its score is
// the largest L1 distance between the softmax of the model on x and on each squeezed
// copy of x; the threshold is calibrated on clean inputs to a chosen false-positive rate.
// Squeezers are pre-processor specs (bit_depth, median_filter, ...), so any registered
// pre-processor can serve.
#pragma once

#include <string>
#include <vector>

#include "attacks/target.h"
#include "core/status.h"
#include "core/tensor.h"

namespace slingshot {

struct DetectionReport {
  double threshold = 0;       // scores above it are flagged
  double false_positive_rate = 0;  // share of the clean inputs flagged
  double detection_rate = 0;       // share of the adversarial inputs flagged
  int64_t clean = 0, adversarial = 0;
};

class SqueezeDetector {
 public:
  // Xu et al.'s CIFAR-10 configuration by default: 5-bit depth and a 2x2 median filter.
  static Result<SqueezeDetector> make(std::vector<std::string> squeezers = {"bit_depth:bits=5", "median_filter:size=2"});

  // Scores of x [N, ...] on the model's deployed engine.
  Result<std::vector<double>> scores(Target& model, const Tensor& x) const;
  // Sets the threshold so that at most `fpr` of the clean inputs score above it (the
  // (1 - fpr) quantile of their scores).
  Status calibrate(Target& model, const Tensor& clean, double fpr);
  // Flags clean and adversarial inputs with the calibrated threshold.
  Result<DetectionReport> evaluate(Target& model, const Tensor& clean, const Tensor& adversarial) const;

  double threshold() const { return threshold_; }
  bool calibrated() const { return calibrated_; }
  const std::vector<std::string>& squeezers() const { return specs_; }

 private:
  std::vector<std::string> specs_;
  double threshold_ = 0;
  bool calibrated_ = false;
};

}  // namespace slingshot
