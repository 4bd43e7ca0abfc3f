// Activation grids (see activation_grid.h).
#include "quant/activation_grid.h"

#include <algorithm>
#include <cmath>

namespace slingshot {

void set_grid_bits(ActivationGrid& g, int bits) {
  g.qmin = -(1 << (bits - 1));
  g.qmax = (1 << (bits - 1)) - 1;
}

int32_t ActivationGrid::quantize(float x) const {
  const float v = std::round(x / scale) + static_cast<float>(zero_point);
  if (!(v >= static_cast<float>(qmin))) return qmin;  // NaN goes low too
  if (v > static_cast<float>(qmax)) return qmax;
  return static_cast<int32_t>(v);
}

ActivationGrid grid_for_range(float lo, float hi, int bits) {
  ActivationGrid g;
  set_grid_bits(g, bits);
  lo = std::min(lo, 0.0f);
  hi = std::max(hi, 0.0f);
  const double levels = static_cast<double>(g.qmax) - g.qmin;
  double scale = (static_cast<double>(hi) - lo) / levels;
  if (!(scale > 0) || !std::isfinite(scale)) scale = 1.0 / levels;  // a constant-zero tensor
  g.scale = static_cast<float>(scale);
  // The zero point puts real 0 exactly on a code (nudged into range).
  const double zp = std::round(g.qmin - lo / static_cast<double>(g.scale));
  g.zero_point = static_cast<int32_t>(std::clamp(zp, static_cast<double>(g.qmin), static_cast<double>(g.qmax)));
  return g;
}

ActivationGrid image_input_grid() {
  ActivationGrid g;
  g.scale = 1.0f / 255.0f;
  g.zero_point = -128;
  return g;
}

ActivationGrid thermometer_output_grid(int bits) {
  ActivationGrid g;
  set_grid_bits(g, bits);
  g.scale = 1.0f;
  g.zero_point = g.qmin;
  return g;
}

}  // namespace slingshot
