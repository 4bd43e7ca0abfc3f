// The MFCC front end as a Target stage (see waveform_target.h).
#include "attacks/waveform_target.h"

namespace slingshot {
namespace {

class WaveformTarget final : public Target {
 public:
  WaveformTarget(std::unique_ptr<Target> features, const MfccConfig& cfg) : features_(std::move(features)), cfg_(cfg) {}

  Shape input_shape() const override { return {cfg_.clip_samples}; }
  int num_classes() const override { return features_->num_classes(); }
  InputDomain domain() const override { return waveform_domain(); }
  std::string engine_name() const override { return "mfcc + " + features_->engine_name(); }
  GradientSource gradient_source() const override { return features_->gradient_source(); }
  bool randomized() const override { return features_->randomized(); }
  void reseed(uint64_t seed) override { features_->reseed(seed); }
  GradientSource inner_gradient_source() const override { return features_->inner_gradient_source(); }

  Status differentiable_logits(const Tensor& x, Tensor& logits) override {
    SLING_RETURN_IF_ERROR(check_batch(x));
    SLING_RETURN_IF_ERROR(to_features(x, features_batch_));
    waveforms_ = x;
    return features_->differentiable_logits(features_batch_, logits);
  }
  Status backward_logits(const Tensor& dlogits, Tensor& dx) override {
    Tensor dfeatures;
    SLING_RETURN_IF_ERROR(features_->backward_logits(dlogits, dfeatures));
    return to_waveform_grad(waveforms_, dfeatures, dx);
  }

 protected:
  Status predict_uncounted(const Tensor& x, Tensor& logits) override {
    Tensor f;
    SLING_RETURN_IF_ERROR(to_features(x, f));
    return features_->predict(f, logits);
  }
  Status loss_grad_uncounted(const Tensor& x, const Objective& objective, Tensor& value, Tensor& grad) override {
    Tensor f, dfeatures;
    SLING_RETURN_IF_ERROR(to_features(x, f));
    SLING_RETURN_IF_ERROR(features_->loss_grad(f, objective, value, dfeatures));
    return to_waveform_grad(x, dfeatures, grad);
  }

 private:
  Status to_features(const Tensor& x, Tensor& out) const {
    const int64_t n = x.dim(0), len = cfg_.clip_samples;
    const Shape fshape = features_->input_shape();
    out = Tensor(with_batch(n, fshape));
    const int64_t per = shape_numel(fshape);
    for (int64_t s = 0; s < n; ++s) {
      auto m = mfcc(x.data() + s * len, len, cfg_);
      if (!m.ok()) return m.status().with_context("clip " + std::to_string(s));
      if (m->numel() != per)
        return invalid_argument("the MFCC front end gives " + shape_to_string(m->shape()) + " features but the model takes " +
                                shape_to_string(fshape));
      std::copy(m->data(), m->data() + per, out.data() + s * per);
    }
    return Status::Ok();
  }

  Status to_waveform_grad(const Tensor& x, const Tensor& dfeatures, Tensor& grad) const {
    const int64_t n = x.dim(0), len = cfg_.clip_samples;
    const int64_t frames = mfcc_num_frames(cfg_), coeffs = cfg_.num_coefficients;
    grad = Tensor(x.shape());
    for (int64_t s = 0; s < n; ++s) {
      Tensor g({frames, coeffs}, std::vector<float>(dfeatures.data() + s * frames * coeffs,
                                                    dfeatures.data() + (s + 1) * frames * coeffs));
      SLING_ASSIGN_OR_RETURN(Tensor dx, mfcc_backward(x.data() + s * len, len, g, cfg_));
      std::copy(dx.data(), dx.data() + len, grad.data() + s * len);
    }
    return Status::Ok();
  }

  std::unique_ptr<Target> features_;
  MfccConfig cfg_;
  Tensor waveforms_, features_batch_;
};

}  // namespace

Result<std::unique_ptr<Target>> make_waveform_target(std::unique_ptr<Target> features, const MfccConfig& mfcc) {
  if (!features) return invalid_argument("the waveform target needs a feature target");
  const Shape want{mfcc_num_frames(mfcc), mfcc.num_coefficients, 1};
  if (features->input_shape() != want)
    return invalid_argument("the MFCC front end makes " + shape_to_string(want) + " features, but the model takes " +
                            shape_to_string(features->input_shape()));
  return std::unique_ptr<Target>(new WaveformTarget(std::move(features), mfcc));
}

}  // namespace slingshot
