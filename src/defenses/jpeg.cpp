// JPEG compression (Dziugaite et al. 2016; Das et al. 2017; Guo et al. ICLR 2018): each
// image is encoded as a baseline JPEG of quality q with stb_image_write and decoded back
// with stb_image, in memory. Values are rounded to 256 levels over the input range first
// (k / 255 on [0, 1] images), as a camera or file would hold them, so the output is on
// that 8-bit grid. Images [N, H, W, C] with 1 or 3 channels only: JPEG has no layout for
// other channel counts or for waveforms. Deterministic and piecewise constant, so
// attacks cross it with BPDA (Athalye et al. 2018 broke it that way).
#include <algorithm>

#include "data/image_io.h"
#include "defenses/preprocessor.h"
#include "defenses/signal_layout.h"

namespace slingshot {
namespace {

class Jpeg final : public Preprocessor {
 public:
  explicit Jpeg(int quality) : quality_(quality) {}

  std::string name() const override { return "jpeg"; }
  PreprocessorSettings settings() const override { return {{"quality", quality_}}; }
  bool randomized() const override { return false; }
  bool differentiable() const override { return false; }

  Status apply(const Tensor& x, const InputDomain& domain, Rng& rng, Tensor& out) const override {
    (void)rng;
    SLING_RETURN_IF_ERROR(check_bounded_domain(domain, name()));
    if (x.rank() != 4 || x.dim(1) < 1 || x.dim(2) < 1 || (x.dim(3) != 1 && x.dim(3) != 3))
      return invalid_argument("jpeg compresses non-empty images [N, H, W, C] with 1 or 3 channels, got " +
                              shape_to_string(x.shape()));
    const int64_t per_image = x.numel() / std::max<int64_t>(x.dim(0), 1);
    const int channels = static_cast<int>(x.dim(3));
    const float range = domain.hi - domain.lo;
    Tensor image({1, x.dim(1), x.dim(2), x.dim(3)});
    out.resize(x.shape());
    for (int64_t n = 0; n < x.dim(0); ++n) {
      const float* src = x.data() + n * per_image;
      for (int64_t i = 0; i < per_image; ++i) image[i] = (src[i] - domain.lo) / range;  // encode_jpeg rounds to k / 255
      SLING_ASSIGN_OR_RETURN(const std::string encoded, encode_jpeg(image, quality_));
      SLING_ASSIGN_OR_RETURN(const Tensor decoded, decode_image(encoded, channels));
      if (decoded.numel() != per_image) return internal_error("jpeg: the decoded image changed size");
      float* dst = out.data() + n * per_image;
      for (int64_t i = 0; i < per_image; ++i) dst[i] = domain.lo + decoded[i] * range;  // k / 255 first, as bit_depth
    }
    return Status::Ok();
  }

 private:
  int quality_;
};

}  // namespace

Result<std::unique_ptr<Preprocessor>> make_jpeg(const PreprocessorSettings& settings) {
  SLING_ASSIGN_OR_RETURN(const int quality, whole_number_setting(settings, "quality", 1, 100));
  return std::unique_ptr<Preprocessor>(new Jpeg(quality));
}

}  // namespace slingshot
