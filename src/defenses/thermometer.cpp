// Thermometer encoding and decoding (see thermometer.h).
#include "defenses/thermometer.h"

#include <algorithm>
#include <string>

#include "defenses/signal_layout.h"

namespace slingshot {
namespace {

Status check_levels(int levels) {
  if (levels >= kMinThermometerLevels && levels <= kMaxThermometerLevels) return Status::Ok();
  return invalid_argument("thermometer levels must be in " + std::to_string(kMinThermometerLevels) + ".." +
                          std::to_string(kMaxThermometerLevels) + ", got " + std::to_string(levels));
}

}  // namespace

Status thermometer_encode(const Tensor& x, const InputDomain& domain, int levels, Tensor& code) {
  SLING_RETURN_IF_ERROR(check_levels(levels));
  SLING_RETURN_IF_ERROR(check_bounded_domain(domain, "thermometer encoding"));
  if (x.rank() < 2) return invalid_argument("thermometer encoding needs [N, ..., C], got " + shape_to_string(x.shape()));
  Shape shape = x.shape();
  shape.back() *= levels;
  code.resize(shape);
  for (int64_t i = 0; i < x.numel(); ++i) {
    const int ones = thermometer_ones(x[i], domain.lo, domain.hi, levels);
    float* bits = code.data() + i * levels;
    for (int k = 0; k < levels; ++k) bits[k] = k < ones ? 1.0f : 0.0f;
  }
  return Status::Ok();
}

Status thermometer_decode(const Tensor& code, const InputDomain& domain, int levels, Tensor& x) {
  SLING_RETURN_IF_ERROR(check_levels(levels));
  SLING_RETURN_IF_ERROR(check_bounded_domain(domain, "thermometer decoding"));
  if (code.rank() < 2 || code.dim(-1) % levels != 0)
    return invalid_argument("a thermometer code with " + std::to_string(levels) +
                            " levels needs [N, ..., C * levels], got " + shape_to_string(code.shape()));
  Shape shape = code.shape();
  shape.back() /= levels;
  x.resize(shape);
  const float range = domain.hi - domain.lo;
  for (int64_t i = 0; i < x.numel(); ++i) {
    const float* bits = code.data() + i * levels;
    int ones = 0;
    while (ones < levels && bits[ones] == 1.0f) ++ones;
    for (int k = ones; k < levels; ++k)
      if (bits[k] != 0.0f) ones = 0;  // a set bit after a clear one, or a value other than 0 and 1
    if (ones == 0)
      return invalid_argument("value " + std::to_string(i) + " is not a thermometer code (ones first, then zeros)");
    x[i] = domain.lo + range * (static_cast<float>(ones) - 0.5f) / static_cast<float>(levels);
  }
  return Status::Ok();
}

}  // namespace slingshot
