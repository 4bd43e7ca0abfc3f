// Affine maps between integer grids (see input_mapping.h).
#include "quant/input_mapping.h"

#include <cmath>
#include <cstdio>

namespace slingshot {

bool affine_keeps_codes(const ActivationGrid& in, const ActivationGrid& out, double scale, double offset) {
  if (in.qmin != out.qmin || in.qmax != out.qmax) return false;
  const float a = static_cast<float>(scale), b = static_cast<float>(offset);
  for (int32_t q = in.qmin; q <= in.qmax; ++q)
    if (out.quantize(a * in.dequantize(q) + b) != q) return false;
  return true;
}

Result<ActivationGrid> affine_output_grid(const ActivationGrid& in, double scale, double offset, const std::string& what) {
  char text[160];
  if (!(scale > 0) || !std::isfinite(scale) || !std::isfinite(offset)) {
    std::snprintf(text, sizeof text, " has scale %g and offset %g; only a positive finite scale keeps the codes in order",
                  scale, offset);
    return invalid_argument(what + text);
  }
  ActivationGrid out = in;
  out.scale = static_cast<float>(static_cast<double>(in.scale) * scale);
  const double shift = offset / out.scale;  // codes the offset moves the zero point by
  const double whole = std::round(shift);
  if (std::fabs(shift - whole) > 1e-3) {
    std::snprintf(text, sizeof text, " shifts the zero point by %.4f codes (offset %g on a step of %g), not a whole number",
                  -shift, offset, static_cast<double>(out.scale));
    return invalid_argument(what + text);
  }
  const double zp = static_cast<double>(in.zero_point) - whole;
  if (zp < out.qmin || zp > out.qmax) {
    std::snprintf(text, sizeof text, " moves the zero point to %.0f, outside [%d, %d]", zp, out.qmin, out.qmax);
    return invalid_argument(what + text);
  }
  out.zero_point = static_cast<int32_t>(zp);
  if (!affine_keeps_codes(in, out, scale, offset))
    return invalid_argument(what + " does not map every input code onto the same output code (float rounding)");
  return out;
}

}  // namespace slingshot
