// What the TFLite test files share: the MLPerf Tiny files of ../shared/mlperf-tiny (the
// tests say so and skip when the folder is absent) and generated natural-looking images.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <string>

#include "core/file_io.h"
#include "core/rng.h"
#include "core/tensor.h"

namespace slingshot::tflite_test {

inline const std::string kMlperfDir = std::string(SLING_SOURCE_DIR) + "/../shared/mlperf-tiny";

inline bool have_mlperf() {
  if (std::filesystem::exists(kMlperfDir + "/pretrainedResnet_quant.tflite")) return true;
  MESSAGE("skipped: " << kMlperfDir << " is absent (the MLPerf Tiny .tflite files)");
  return false;
}

inline std::string read_mlperf(const std::string& name) {
  auto bytes = read_file(kMlperfDir + "/" + name, int64_t{64} << 20);
  REQUIRE_MESSAGE(bytes.ok(), bytes.status().message());
  return *bytes;
}

// Random smooth "natural-looking" textures in [0, 1]: a few random low-frequency
// sinusoids per channel plus mild noise, snapped to the 8-bit grid.
inline Tensor smooth_textures(int count, int h, int w, int c, uint64_t seed) {
  Rng rng(seed);
  Tensor x({count, h, w, c});
  for (int n = 0; n < count; ++n)
    for (int ch = 0; ch < c; ++ch) {
      float fy[3], fx[3], ph[3], amp[3];
      for (int k = 0; k < 3; ++k) {
        fy[k] = static_cast<float>(rng.uniform() * 6.0), fx[k] = static_cast<float>(rng.uniform() * 6.0);
        ph[k] = static_cast<float>(rng.uniform() * 6.283), amp[k] = static_cast<float>(rng.uniform() * 0.25);
      }
      const float base = static_cast<float>(rng.uniform());
      for (int y = 0; y < h; ++y)
        for (int xx = 0; xx < w; ++xx) {
          float v = base;
          for (int k = 0; k < 3; ++k)
            v += amp[k] * std::sin(6.283f * (fy[k] * y / h + fx[k] * xx / w) + ph[k]);
          v += static_cast<float>(rng.uniform() - 0.5) * 0.04f;
          v = std::fmin(1.0f, std::fmax(0.0f, v));
          x[((static_cast<int64_t>(n) * h + y) * w + xx) * c + ch] = std::round(v * 255.0f) / 255.0f;
        }
    }
  return x;
}

}  // namespace slingshot::tflite_test
