// What an attack sees (DESIGN.md section 3). predict() runs the deployed engine and
// counts every sample; loss_grad() returns an attack objective and its input gradient
// from a chosen gradient source and counts those too, so black-box attacks can be held
// to predict() alone and every report carries its query counts.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "attacks/objective.h"
#include "attacks/threat_model.h"
#include "core/status.h"
#include "core/tensor.h"
#include "engine/engine.h"
#include "quant/quantized_model.h"

namespace slingshot {

// Where input gradients come from.
enum class GradientSource {
  kFloat,  // the float master (transfer to the deployed model)
  kSte,    // the fake-quant mirror: straight-through estimator through every rounding
  kBpda,   // identity through non-differentiable pre-processing (defended targets)
  kFd,     // central finite differences on the deployed integer engine itself
  kEot,    // expectation over a randomized defense's draws (defended targets)
};
const char* gradient_source_name(GradientSource s);  // "float", "ste", "bpda", "fd", "eot"
Result<GradientSource> parse_gradient_source(std::string_view s);
// One line for listings.
const char* gradient_source_doc(GradientSource s);

struct TargetCounts {
  int64_t predictions = 0;     // samples classified through predict()
  int64_t gradients = 0;       // samples whose objective gradient loss_grad() returned
  int64_t fd_evaluations = 0;  // deployed-engine samples the fd source spent on those gradients
};

class Target {
 public:
  virtual ~Target() = default;

  virtual Shape input_shape() const = 0;  // per sample
  virtual int num_classes() const = 0;
  virtual InputDomain domain() const = 0;
  virtual std::string engine_name() const = 0;  // what predict() runs on
  virtual GradientSource gradient_source() const = 0;
  // Whether predict() draws randomness (a randomized defense): attacks should use EOT.
  virtual bool randomized() const { return false; }
  // Restarts the randomness of a randomized target, so a batch's draws depend only on the
  // seed attack_batch derives from (seed, first_index). No-op for deterministic targets.
  virtual void reseed(uint64_t seed) { (void)seed; }
  // The model's own gradient source behind any pre-processing defense (bpda and eot
  // wrap it; "bpda over ste"). For an undefended target, gradient_source().
  virtual GradientSource inner_gradient_source() const { return gradient_source(); }

  // Deployed-engine logits [N, classes] of x [N, input_shape...].
  Status predict(const Tensor& x, Tensor& logits);
  // The attack objective [N] at x and d(objective)/dx (x's shape) from the gradient source.
  Status loss_grad(const Tensor& x, const Objective& objective, Tensor& value, Tensor& grad);

  // The gradient source's differentiable logits at x, then (after it) d(objective)/dx for
  // a given d(objective)/d(logits): what wrappers such as ensembles chain through.
  // Uncounted; sources without a differentiable graph (fd) return an error.
  virtual Status differentiable_logits(const Tensor& x, Tensor& logits);
  virtual Status backward_logits(const Tensor& dlogits, Tensor& dx);

  // Share of exactly-zero components in the gradient of the last loss_grad() call: near 1
  // means the source sees a flat landscape (typical of finite differences on an integer
  // model whose step does not move any rounding).
  double last_zero_density() const { return last_zero_density_; }
  const TargetCounts& counts() const { return counts_; }
  void reset_counts() { counts_ = {}; }

 protected:
  virtual Status predict_uncounted(const Tensor& x, Tensor& logits) = 0;
  virtual Status loss_grad_uncounted(const Tensor& x, const Objective& objective, Tensor& value, Tensor& grad) = 0;
  Status check_batch(const Tensor& x) const;

  TargetCounts counts_;

 private:
  double last_zero_density_ = 0;
};

struct ModelTargetOptions {
  EngineKind engine = EngineKind::kInt8Ref;        // the deployed engine predict() runs
  GradientSource source = GradientSource::kSte;    // float, ste or fd
  InputDomain domain = image_domain();             // value range and grid of the input
  float fd_step = 0;                               // fd: difference step (0: one grid step)
  int fd_batch = 256;                              // fd: perturbed inputs per engine call
};

// A model on its deployed engine. `model` must outlive the target. float needs only the
// float graph; ste and the integer engines need a quantized model; bpda and eot belong
// to defended targets and are refused here with an error saying so.
Result<std::unique_ptr<Target>> make_model_target(const QuantizedModel& model, const ModelTargetOptions& options);

}  // namespace slingshot
