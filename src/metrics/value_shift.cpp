// Quantization value shift (see value_shift.h).
#include "metrics/value_shift.h"

#include <cstdlib>

#include "engine/engine.h"

namespace slingshot {

Result<std::vector<LayerValueShift>> quantization_value_shift(const QuantizedModel& model, const Tensor& clean,
                                                              const Tensor& adversarial) {
  if (model.nodes.empty()) return invalid_argument("the value shift is measured on a quantized model; this one is float");
  if (clean.shape() != adversarial.shape())
    return invalid_argument("clean " + shape_to_string(clean.shape()) + " and adversarial " +
                            shape_to_string(adversarial.shape()) + " batches differ in shape");
  SLING_ASSIGN_OR_RETURN(const std::vector<Int8LayerCodes> a, int8_layer_codes(model, clean));
  SLING_ASSIGN_OR_RETURN(const std::vector<Int8LayerCodes> b, int8_layer_codes(model, adversarial));
  std::vector<LayerValueShift> out;
  for (size_t l = 0; l < a.size(); ++l) {
    LayerValueShift s;
    s.name = a[l].name;
    s.elements = static_cast<int64_t>(a[l].codes.size());
    int64_t total_change = 0;
    for (size_t i = 0; i < a[l].codes.size(); ++i) {
      const int d = std::abs(static_cast<int>(a[l].codes[i]) - b[l].codes[i]);
      s.changed += d != 0;
      total_change += d;
    }
    if (s.elements > 0) {
      s.share = static_cast<double>(s.changed) / static_cast<double>(s.elements);
      s.mean_abs_change = static_cast<double>(total_change) / static_cast<double>(s.elements);
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace slingshot
