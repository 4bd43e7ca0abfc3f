// Quantization value shift: per layer of the deployed integer model, the share of int8
// activations whose code (bin) differs between a clean input and its adversarial twin.
// It shows where a perturbation survives the rounding of each layer and where it is
// absorbed: a perturbation that moves no input code changes nothing downstream, one that
// moves a few codes early may grow or die out layer by layer. It is part of the measured
// explanation for poor float-to-int8 transfer (a float-crafted perturbation may move the
// wrong bins).
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "quant/quantized_model.h"

namespace slingshot {

struct LayerValueShift {
  std::string name;           // graph node ("input": the quantized input)
  int64_t elements = 0;       // int8 activations compared (over the batch)
  int64_t changed = 0;        // of them, codes that differ
  double share = 0;           // changed / elements
  double mean_abs_change = 0; // mean |code difference| over all elements, in grid steps
};

// clean and adversarial are [N, ...] batches of the model's input, pairwise.
Result<std::vector<LayerValueShift>> quantization_value_shift(const QuantizedModel& model, const Tensor& clean,
                                                              const Tensor& adversarial);

}  // namespace slingshot
