// Reference int8 thermometer encoding (see thermometer_s8__ref.h).
#include "kernels/ref/thermometer_s8__ref.h"

namespace slingshot {

void thermometer_s8__ref(int64_t count, const ThermometerQuantParams& q, const int8_t* input, int8_t* output) {
  const int8_t one = static_cast<int8_t>(q.one_code);
  const int8_t zero = static_cast<int8_t>(q.zero_code);
  for (int64_t i = 0; i < count; ++i) {
    const int32_t code = input[i];
    int8_t* bits = output + i * q.levels;
    for (int32_t k = 0; k < q.levels; ++k) bits[k] = code >= q.thresholds[k] ? one : zero;
  }
}

}  // namespace slingshot
