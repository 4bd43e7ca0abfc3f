// Targets behind pre-processing defenses, with BPDA and EOT gradients (see
// preprocessed_target.h).
#include "defenses/preprocessed_target.h"

#include <cmath>
#include <limits>

#include "attacks/objective.h"
#include "defenses/randomized_smoothing.h"

namespace slingshot {
namespace {

class PreprocessedTarget final : public Target {
 public:
  PreprocessedTarget(std::unique_ptr<Target> inner, std::vector<std::unique_ptr<Preprocessor>> preprocessors,
                     const PreprocessedTargetOptions& options)
      : inner_(std::move(inner)), preprocessors_(std::move(preprocessors)), options_(options), rng_(options.seed) {
    for (const auto& p : preprocessors_)
      if (p->prediction_vote().draws > 0) vote_ = p->prediction_vote();
  }

  Shape input_shape() const override { return inner_->input_shape(); }
  int num_classes() const override { return inner_->num_classes(); }
  InputDomain domain() const override { return inner_->domain(); }
  std::string engine_name() const override {
    std::string s;
    for (const auto& p : preprocessors_) s += p->spec() + " + ";
    return s + inner_->engine_name();
  }
  GradientSource gradient_source() const override { return options_.source; }
  GradientSource inner_gradient_source() const override { return inner_->inner_gradient_source(); }
  bool randomized() const override {
    for (const auto& p : preprocessors_)
      if (p->randomized()) return true;
    return inner_->randomized();
  }
  void reseed(uint64_t seed) override {
    Rng mix(seed);
    rng_ = Rng(mix.next_u64());
    inner_->reseed(mix.next_u64());
  }

  Status differentiable_logits(const Tensor& x, Tensor& logits) override {
    SLING_RETURN_IF_ERROR(check_batch(x));
    SLING_RETURN_IF_ERROR(preprocess(x, rng_, chain_stages_));
    return inner_->differentiable_logits(chain_stages_.back(), logits);
  }
  Status backward_logits(const Tensor& dlogits, Tensor& dx) override {
    Tensor dinner;
    SLING_RETURN_IF_ERROR(inner_->backward_logits(dlogits, dinner));
    return backward(chain_stages_, std::move(dinner), dx);
  }

  // One draw on x, to check at construction that every pre-processor accepts the domain.
  Status probe() {
    Shape s = input_shape();
    s.insert(s.begin(), 1);
    const InputDomain d = domain();
    Tensor x(s, std::isfinite(d.lo) ? d.lo : 0.0f);
    std::vector<Tensor> stages;
    Rng throwaway(0);
    return preprocess(x, throwaway, stages);
  }

 protected:
  Status predict_uncounted(const Tensor& x, Tensor& logits) override {
    std::vector<Tensor> stages;
    if (vote_.draws > 0) return vote(x, logits);
    SLING_RETURN_IF_ERROR(preprocess(x, rng_, stages));
    return inner_->predict(stages.back(), logits);
  }

  Status loss_grad_uncounted(const Tensor& x, const Objective& objective, Tensor& value, Tensor& grad) override {
    const int draws = options_.source == GradientSource::kEot ? options_.eot_samples : 1;
    const int64_t fd_before = inner_->counts().fd_evaluations;
    std::vector<Tensor> stages;
    Tensor v, dinner, dx;
    for (int k = 0; k < draws; ++k) {
      SLING_RETURN_IF_ERROR(preprocess(x, rng_, stages));
      SLING_RETURN_IF_ERROR(inner_->loss_grad(stages.back(), objective, v, dinner));
      SLING_RETURN_IF_ERROR(backward(stages, std::move(dinner), dx));
      if (k == 0) {
        value = v;
        grad = dx;
        continue;
      }
      for (int64_t i = 0; i < value.numel(); ++i) value[i] += v[i];
      for (int64_t i = 0; i < grad.numel(); ++i) grad[i] += dx[i];
    }
    if (draws > 1) {
      const float count = static_cast<float>(draws);
      for (int64_t i = 0; i < value.numel(); ++i) value[i] /= count;
      for (int64_t i = 0; i < grad.numel(); ++i) grad[i] /= count;
    }
    // Every draw is a gradient the attack paid for; Target::loss_grad counts the first.
    counts_.gradients += static_cast<int64_t>(draws - 1) * x.dim(0);
    counts_.fd_evaluations += inner_->counts().fd_evaluations - fd_before;
    return Status::Ok();
  }

 private:
  // stages[0] = x, stages[i + 1] = pre-processor i applied to stages[i].
  Status preprocess(const Tensor& x, Rng& rng, std::vector<Tensor>& stages) const {
    const InputDomain d = domain();
    stages.resize(preprocessors_.size() + 1);
    stages[0] = x;
    for (size_t i = 0; i < preprocessors_.size(); ++i)
      SLING_RETURN_IF_ERROR(preprocessors_[i]->apply(stages[i], d, rng, stages[i + 1]));
    return Status::Ok();
  }

  // The majority vote of vote_.draws draws: each row holds the classes' vote shares, or
  // NaN where the binomial test fails (an abstention, which top1_class reads as -1).
  Status vote(const Tensor& x, Tensor& shares) {
    const int64_t rows = x.dim(0);
    const int classes = num_classes();
    std::vector<int64_t> counts(static_cast<size_t>(rows * classes), 0);
    std::vector<Tensor> stages;
    Tensor logits;
    for (int k = 0; k < vote_.draws; ++k) {
      SLING_RETURN_IF_ERROR(preprocess(x, rng_, stages));
      SLING_RETURN_IF_ERROR(inner_->predict(stages.back(), logits));
      for (int64_t i = 0; i < rows; ++i) {
        const int c = top1_class(logits, i);
        if (c >= 0) ++counts[static_cast<size_t>(i * classes + c)];  // an abstaining voter votes for nothing
      }
    }
    shares.resize({rows, classes});
    for (int64_t i = 0; i < rows; ++i) {
      const int64_t* row = counts.data() + i * classes;
      int64_t top = 0, second = 0;
      for (int c = 0; c < classes; ++c) {
        if (row[c] > top) {
          second = top;
          top = row[c];
        } else if (row[c] > second) {
          second = row[c];
        }
      }
      const bool abstain = vote_.alpha < 1 && binomial_test_half(top, top + second) > vote_.alpha;
      for (int c = 0; c < classes; ++c)
        shares[i * classes + c] = abstain ? std::numeric_limits<float>::quiet_NaN()
                                          : static_cast<float>(row[c]) / static_cast<float>(vote_.draws);
    }
    return Status::Ok();
  }

  // dx from the gradient at the last stage: exact through differentiable
  // pre-processors, the identity (BPDA) through the others.
  Status backward(const std::vector<Tensor>& stages, Tensor g, Tensor& dx) const {
    const InputDomain d = domain();
    Tensor prev;
    for (size_t i = preprocessors_.size(); i-- > 0;) {
      if (!preprocessors_[i]->differentiable()) continue;
      SLING_RETURN_IF_ERROR(preprocessors_[i]->backward(stages[i], stages[i + 1], d, g, prev));
      std::swap(g, prev);
    }
    dx = std::move(g);
    return Status::Ok();
  }

  std::unique_ptr<Target> inner_;
  std::vector<std::unique_ptr<Preprocessor>> preprocessors_;
  PreprocessedTargetOptions options_;
  Rng rng_;
  std::vector<Tensor> chain_stages_;  // differentiable_logits' stages, for backward_logits
  Preprocessor::Vote vote_;           // randomized smoothing's, if in the stack
};

std::string spec_list(const std::vector<std::unique_ptr<Preprocessor>>& preprocessors) {
  std::string s;
  for (const auto& p : preprocessors) s += (s.empty() ? "" : ", ") + p->spec();
  return s;
}

}  // namespace

GradientSource adaptive_gradient_source(const std::vector<std::unique_ptr<Preprocessor>>& preprocessors) {
  for (const auto& p : preprocessors)
    if (p->randomized()) return GradientSource::kEot;
  return GradientSource::kBpda;
}

Result<std::unique_ptr<Target>> make_preprocessed_target(std::unique_ptr<Target> inner,
                                                         std::vector<std::unique_ptr<Preprocessor>> preprocessors,
                                                         const PreprocessedTargetOptions& options) {
  if (!inner) return invalid_argument("a pre-processing defense needs a target to defend");
  if (preprocessors.empty()) return invalid_argument("a pre-processing defense needs at least one pre-processor");
  const std::string source = gradient_source_name(options.source);
  if (options.source != GradientSource::kBpda && options.source != GradientSource::kEot) {
    for (const auto& p : preprocessors)
      if (!p->differentiable())
        return invalid_argument("gradient source '" + source + "' cannot cross the non-differentiable defense '" +
                                p->spec() +
                                "' (its gradient is zero almost everywhere: that measures gradient masking, not "
                                "robustness); use bpda, or eot for randomized defenses");
    return invalid_argument("gradient source '" + source + "' belongs to the model behind the defenses [" +
                            spec_list(preprocessors) + "]; the defended target takes bpda or eot");
  }
  int voting = 0;
  for (const auto& p : preprocessors) voting += p->prediction_vote().draws > 0;
  if (voting > 1) return invalid_argument("at most one voting defense (randomized_smoothing) per defense stack, got [" + spec_list(preprocessors) + "]");
  if (options.eot_samples < 1)
    return invalid_argument("eot_samples must be >= 1, got " + std::to_string(options.eot_samples));
  const std::string specs = spec_list(preprocessors);
  auto target = std::make_unique<PreprocessedTarget>(std::move(inner), std::move(preprocessors), options);
  if (options.source == GradientSource::kEot && !target->randomized())
    return invalid_argument("eot averages over randomized defenses, but none of [" + specs +
                            "] is randomized, so every draw would be the same; use bpda");
  SLING_RETURN_IF_ERROR(target->probe());
  return std::unique_ptr<Target>(std::move(target));
}

}  // namespace slingshot
