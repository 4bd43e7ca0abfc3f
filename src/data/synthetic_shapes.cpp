// Procedural strokes rendered with soft (anti-aliased) edges.
#include "data/synthetic_shapes.h"

#include <algorithm>
#include <cmath>

#include "core/rng.h"

namespace slingshot {
namespace {

// Distance from pixel centre (x, y) to the stroke of class `cls` with centre (cx, cy), radius r.
float stroke_distance(int cls, float x, float y, float cx, float cy, float r) {
  const float dx = x - cx, dy = y - cy;
  switch (cls) {
    case 0: return std::abs(dy) + std::max(0.0f, std::abs(dx) - r);                      // horizontal bar
    case 1: return std::abs(dx) + std::max(0.0f, std::abs(dy) - r);                      // vertical bar
    case 2: return std::abs(dx - dy) * 0.7071f + std::max(0.0f, std::abs(dx + dy) * 0.7071f - r);  // diagonal
    default: return std::abs(std::sqrt(dx * dx + dy * dy) - 0.6f * r);                   // ring
  }
}

}  // namespace

Result<Dataset> make_shapes_dataset(int count, int size, uint64_t seed) {
  if (count < 1 || count > 1000000) return invalid_argument("shapes dataset size must be in [1, 1000000]");
  if (size < 8 || size > 256) return invalid_argument("shapes image size must be in [8, 256]");
  Dataset d;
  d.class_names = {"horizontal", "vertical", "diagonal", "ring"};
  d.inputs = Tensor({count, size, size, 3});
  d.labels.resize(count);
  Rng rng(seed);
  const float s = static_cast<float>(size);
  for (int n = 0; n < count; ++n) {
    const int cls = static_cast<int>(rng.below(4));
    d.labels[n] = cls;
    float bg[3], fg[3];
    for (int c = 0; c < 3; ++c) bg[c] = rng.uniform(0.0f, 1.0f);
    // Foreground differs from background by at least 0.35 in brightness, either way.
    const float delta = rng.uniform(0.35f, 0.6f) * (rng.below(2) ? 1.0f : -1.0f);
    for (int c = 0; c < 3; ++c) fg[c] = std::clamp(bg[c] + delta + rng.uniform(-0.15f, 0.15f), 0.0f, 1.0f);
    const float cx = rng.uniform(0.35f, 0.65f) * s, cy = rng.uniform(0.35f, 0.65f) * s;
    const float r = rng.uniform(0.2f, 0.32f) * s;
    const float half_width = rng.uniform(0.04f, 0.09f) * s;
    const float noise = rng.uniform(0.02f, 0.08f);
    float* img = d.inputs.data() + static_cast<int64_t>(n) * size * size * 3;
    for (int y = 0; y < size; ++y)
      for (int x = 0; x < size; ++x) {
        const float dist = stroke_distance(cls, x + 0.5f, y + 0.5f, cx, cy, r);
        const float cover = std::clamp(half_width + 0.5f - dist, 0.0f, 1.0f);
        for (int c = 0; c < 3; ++c) {
          const float v = bg[c] + cover * (fg[c] - bg[c]) + noise * rng.uniform(-1.0f, 1.0f);
          // Snapped to the 8-bit grid: a clean image is a real 8-bit image.
          img[(y * size + x) * 3 + c] = std::round(std::clamp(v, 0.0f, 1.0f) * 255.0f) / 255.0f;
        }
      }
  }
  return d;
}

}  // namespace slingshot
