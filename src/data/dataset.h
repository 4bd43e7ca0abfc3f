// An in-memory labelled dataset: images (or features) as one NHWC float tensor in [0, 1].
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"

namespace slingshot {

struct Dataset {
  Tensor inputs;                         // [N, ...] samples, images in [0, 1]
  std::vector<int> labels;               // N labels in [0, class_names.size())
  std::vector<std::string> class_names;  // human-readable class names

  int64_t size() const { return static_cast<int64_t>(labels.size()); }
  Shape sample_shape() const { return Shape(inputs.shape().begin() + 1, inputs.shape().end()); }
  // Copies samples [begin, begin + count) into `batch` (resized) and their labels into `labels`.
  void slice(int64_t begin, int64_t count, Tensor& batch, std::vector<int>& labels_out) const;
  // Copies the samples at `indices` (e.g. a shuffled mini-batch).
  void gather(const std::vector<int64_t>& indices, Tensor& batch, std::vector<int>& labels_out) const;
  // Samples [begin, begin + count) as a dataset of their own (same class names).
  Dataset range(int64_t begin, int64_t count) const;
};

}  // namespace slingshot
