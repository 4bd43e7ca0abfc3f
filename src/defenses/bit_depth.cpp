// Bit-depth reduction, the first squeezer of Xu et al.'s feature squeezing (NDSS 2018):
// every value is rounded to the nearest of 2^bits levels spread evenly over the input
// range. Deterministic; its derivative is zero almost everywhere, so attacks cross it
// with BPDA (the identity) rather than credit it for the gradient it masks.
#include <algorithm>
#include <cmath>

#include "defenses/preprocessor.h"
#include "defenses/signal_layout.h"

namespace slingshot {
namespace {

class BitDepth final : public Preprocessor {
 public:
  explicit BitDepth(int bits) : bits_(bits) {}

  std::string name() const override { return "bit_depth"; }
  PreprocessorSettings settings() const override { return {{"bits", bits_}}; }
  bool randomized() const override { return false; }
  bool differentiable() const override { return false; }

  Status apply(const Tensor& x, const InputDomain& domain, Rng& rng, Tensor& out) const override {
    (void)rng;
    SLING_RETURN_IF_ERROR(check_bounded_domain(domain, name()));
    const float top = static_cast<float>((1 << bits_) - 1), range = domain.hi - domain.lo;
    out.resize(x.shape());
    for (int64_t i = 0; i < x.numel(); ++i) {
      const float level = std::round(std::clamp((x[i] - domain.lo) / range, 0.0f, 1.0f) * top);
      // k / top first, as grids are decoded, so 8 bits over [0, 1] returns k / 255 exactly.
      out[i] = domain.lo + level / top * range;
    }
    return Status::Ok();
  }

 private:
  int bits_;
};

}  // namespace

Result<std::unique_ptr<Preprocessor>> make_bit_depth(const PreprocessorSettings& settings) {
  SLING_ASSIGN_OR_RETURN(const int bits, whole_number_setting(settings, "bits", 1, 8));
  return std::unique_ptr<Preprocessor>(new BitDepth(bits));
}

}  // namespace slingshot
