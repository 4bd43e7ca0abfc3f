// Dataset batching.
#include "data/dataset.h"

#include <algorithm>

namespace slingshot {

void Dataset::slice(int64_t begin, int64_t count, Tensor& batch, std::vector<int>& labels_out) const {
  const int64_t per = inputs.numel() / std::max<int64_t>(size(), 1);
  Shape s = inputs.shape();
  s[0] = count;
  batch.resize(s);
  std::copy(inputs.data() + begin * per, inputs.data() + (begin + count) * per, batch.data());
  labels_out.assign(labels.begin() + begin, labels.begin() + begin + count);
}

void Dataset::gather(const std::vector<int64_t>& indices, Tensor& batch, std::vector<int>& labels_out) const {
  const int64_t per = inputs.numel() / std::max<int64_t>(size(), 1);
  Shape s = inputs.shape();
  s[0] = static_cast<int64_t>(indices.size());
  batch.resize(s);
  labels_out.resize(indices.size());
  for (size_t k = 0; k < indices.size(); ++k) {
    std::copy(inputs.data() + indices[k] * per, inputs.data() + (indices[k] + 1) * per, batch.data() + k * per);
    labels_out[k] = labels[indices[k]];
  }
}

Dataset Dataset::range(int64_t begin, int64_t count) const {
  Dataset out;
  out.class_names = class_names;
  slice(begin, count, out.inputs, out.labels);
  return out;
}

}  // namespace slingshot
