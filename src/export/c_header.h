// One input of a quantized model and the output its deployed integer engine must give,
// as a C header for a microcontroller project: the int8 input tensor (what the model's
// first layer reads, after input quantization), its scale and zero point, and the
// expected int8 output codes and class. A test on the device compares its own output with
// these bytes, so an adversarial example found on the host is checked bit for bit there.
#pragma once

#include <string>

#include "core/status.h"
#include "core/tensor.h"
#include "quant/quantized_model.h"

namespace slingshot {

struct InputOutputHeader {
  std::string text;                  // the header
  std::vector<int8_t> input_codes;   // the int8 input tensor, model layout (NHWC)
  std::vector<int8_t> output_codes;  // what int8-ref produces from it
  int expected_class = 0;            // the first largest output code
};

// `input` is one sample of the model's input shape ([1, ...] or without the batch axis).
// Images must lie on the input grid (k / 255): their codes are then exact. Other inputs
// (MFCC features) are quantized as the integer engines quantize them. `name` is a C
// identifier that prefixes every symbol (e.g. "adv_example"); `comment` is added to the
// header's opening comment (where the input came from).
Result<InputOutputHeader> input_output_c_header(const QuantizedModel& model, const Tensor& input,
                                                const std::string& name, const std::string& comment = "");

}  // namespace slingshot
