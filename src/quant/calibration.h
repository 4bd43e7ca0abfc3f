// Activation-range calibration for post-training quantization: runs the float graph over
// a sample of the data and records, per node, the range its output grid must cover.
#pragma once

#include <functional>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "model/graph.h"

namespace slingshot {

enum class CalibrationMethod {
  kMinMax,      // the observed minimum and maximum
  kPercentile,  // the low/high percentiles of a histogram, which ignores rare outliers
};

struct CalibrationOptions {
  CalibrationMethod method = CalibrationMethod::kMinMax;  // how ranges are chosen
  double percentile = 99.99;                             // kPercentile: keep this share of values, in (50, 100]
  int batch_size = 32;                                   // samples per forward pass
  int histogram_bins = 2048;                             // kPercentile: bins between the observed min and max
};

struct ValueRange {
  float lo = 0;  // lowest value the grid must cover
  float hi = 0;  // highest value the grid must cover
};

// Progress in [0, 1]; return false to cancel (the call then fails with "cancelled").
using CalibrationProgress = std::function<bool(double)>;

// One range per graph node (index 0 is the input). `samples` is [N, input_shape...].
// Percentile calibration makes two passes: min/max, then a histogram per node.
Result<std::vector<ValueRange>> calibrate_ranges(const Graph& graph, const Tensor& samples,
                                                 const CalibrationOptions& options,
                                                 const CalibrationProgress& progress = nullptr);

}  // namespace slingshot
