// Batch augmentation.
#include "train/augment.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace slingshot {

Status validate_augment_config(const AugmentConfig& c) {
  if (c.max_shift_y < 0 || c.max_shift_x < 0) return invalid_argument("augmentation shifts must be >= 0");
  if (!(c.brightness >= 0 && c.brightness <= 1)) return invalid_argument("augmentation brightness must be in [0, 1]");
  if (!(c.contrast >= 0 && c.contrast <= 1)) return invalid_argument("augmentation contrast must be in [0, 1]");
  if (!(c.noise >= 0 && c.noise <= 1)) return invalid_argument("augmentation noise must be in [0, 1]");
  return Status::Ok();
}

Status augment_batch(Tensor& batch, const AugmentConfig& config, Rng& rng) {
  SLING_RETURN_IF_ERROR(validate_augment_config(config));
  if (batch.rank() != 3 && batch.rank() != 4)
    return invalid_argument("augmentation expects [N, H, W(, C)] samples, got " + shape_to_string(batch.shape()));
  const int64_t n = batch.dim(0), h = batch.dim(1), w = batch.dim(2), c = batch.rank() == 4 ? batch.dim(3) : 1;
  if (config.max_shift_y >= h || config.max_shift_x >= w)
    return invalid_argument("augmentation shift must be smaller than the sample (" + std::to_string(h) + "x" +
                            std::to_string(w) + ")");
  const int64_t per = h * w * c;
  std::vector<float> src(static_cast<size_t>(per));
  for (int64_t s = 0; s < n; ++s) {
    float* x = batch.data() + s * per;
    // Draw every choice in a fixed order whatever the config, so the stream stays aligned.
    const int dy = static_cast<int>(rng.below(2 * config.max_shift_y + 1)) - config.max_shift_y;
    const int dx = static_cast<int>(rng.below(2 * config.max_shift_x + 1)) - config.max_shift_x;
    const bool flip = config.horizontal_flip && rng.below(2) == 1;
    const float bright = rng.uniform(-config.brightness, config.brightness);
    const float gain = 1.0f + rng.uniform(-config.contrast, config.contrast);
    if (dy != 0 || dx != 0 || flip) {
      std::copy(x, x + per, src.begin());
      for (int64_t y = 0; y < h; ++y)
        for (int64_t xx = 0; xx < w; ++xx) {
          const int64_t sy = y - dy, sx0 = xx - dx;
          const int64_t sx = flip ? w - 1 - sx0 : sx0;
          float* out = x + (y * w + xx) * c;
          if (sy < 0 || sy >= h || sx < 0 || sx >= w) {
            std::fill(out, out + c, 0.0f);
          } else {
            std::copy_n(src.data() + (sy * w + sx) * c, c, out);
          }
        }
    }
    if (config.brightness > 0 || config.contrast > 0) {
      double mean = 0;
      for (int64_t e = 0; e < per; ++e) mean += x[e];
      const float m = static_cast<float>(mean / static_cast<double>(per));
      for (int64_t e = 0; e < per; ++e) x[e] = (x[e] - m) * gain + m + bright;
    }
    // Noise draws come last and only when enabled, so recipes without it keep their streams.
    if (config.noise > 0)
      for (int64_t e = 0; e < per; ++e) x[e] += config.noise * rng.normal();
    if (config.clip_to_unit)
      for (int64_t e = 0; e < per; ++e) x[e] = std::clamp(x[e], 0.0f, 1.0f);
  }
  return Status::Ok();
}

}  // namespace slingshot
