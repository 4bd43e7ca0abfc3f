// Per-sample augmentation of NHWC training batches: random translation (zero fill; the
// pad-and-crop of CIFAR-style training), optional horizontal flip, brightness / contrast
// jitter and additive Gaussian noise, clipped to [0, 1].
// Digits must not be flipped, so flipping is off by default; audio features use the
// translation along time only (max_shift_x = 0).
#pragma once

#include "core/rng.h"
#include "core/status.h"
#include "core/tensor.h"

namespace slingshot {

struct AugmentConfig {
  int max_shift_y = 0;           // translate rows by up to +-this many pixels
  int max_shift_x = 0;           // translate columns by up to +-this many pixels
  bool horizontal_flip = false;  // mirror half of the samples
  float brightness = 0.0f;       // add a value drawn from [-b, b] (images in [0, 1])
  float contrast = 0.0f;         // scale around the sample mean by a factor in [1 - c, 1 + c]
  float noise = 0.0f;            // add Gaussian noise of this standard deviation to every value
  bool clip_to_unit = true;      // clip the result to [0, 1] (off for features such as MFCCs)

  bool enabled() const {
    return max_shift_y > 0 || max_shift_x > 0 || horizontal_flip || brightness > 0 || contrast > 0 || noise > 0;
  }
};

Status validate_augment_config(const AugmentConfig& c);

// Augments every sample of `batch` ([N, H, W, C], or [N, H, W] treated as C = 1) in place.
Status augment_batch(Tensor& batch, const AugmentConfig& config, Rng& rng);

}  // namespace slingshot
