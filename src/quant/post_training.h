// Post-training quantization (PTQ) following the TFLite int8 spec: fold batch norm,
// calibrate activation ranges on sample data, then quantize weights per output channel
// and biases to int32 with scale = input scale x weight scale.
#pragma once

#include "core/status.h"
#include "core/tensor.h"
#include "model/graph.h"
#include "quant/calibration.h"
#include "quant/quantized_model.h"

namespace slingshot {

struct QuantizeOptions {
  WeightScheme weights = WeightScheme::kInt8;      // weight scheme for every weighted layer
  int activation_bits = 8;                         // hidden activations: 8, or 4/2/1 for low-bit variants
  RoundingMode rounding = RoundingMode::kDouble;   // requantization rounding of the integer engines
  CalibrationOptions calibration;                  // how activation ranges are found
  bool image_input = true;  // inputs are 8-bit images in [0, 1]: fixed grid 1/255, zero point -128
};

// Quantizes `graph` (float, batch norm not yet folded is fine) with `samples`
// ([N, input_shape...], e.g. a few hundred training images) for calibration.
Result<QuantizedModel> quantize_post_training(const Graph& graph, const Tensor& samples, const QuantizeOptions& options,
                                              const CalibrationProgress& progress = nullptr);

// Re-derives the integer weights and biases of every weighted node from the float
// graph's current weights and the model's grids (used after PTQ and by quantization-
// aware training, whose float weights move).
Status quantize_weights_and_biases(QuantizedModel& model);

}  // namespace slingshot
