// Predictions and accuracy in batches (see accuracy.h).
#include "metrics/accuracy.h"

#include <algorithm>

#include "attacks/objective.h"

namespace slingshot {

Result<std::vector<int>> classify(Target& target, const Tensor& x, int64_t batch_size) {
  if (x.rank() < 2 || x.dim(0) == 0) return invalid_argument("classify needs a batch of at least one sample");
  if (batch_size < 1) return invalid_argument("batch size must be at least 1");
  const int64_t n = x.dim(0);
  std::vector<int> out;
  Tensor batch, logits;
  for (int64_t first = 0; first < n; first += batch_size) {
    const int64_t count = std::min(batch_size, n - first);
    batch = batch_rows(x, first, count);
    SLING_RETURN_IF_ERROR(target.predict(batch, logits));
    for (int64_t i = 0; i < count; ++i) out.push_back(top1_class(logits, i));
  }
  return out;
}

Result<double> accuracy(Target& target, const Tensor& x, std::span<const int> labels, int64_t batch_size) {
  if (x.rank() < 1 || x.dim(0) != static_cast<int64_t>(labels.size()))
    return invalid_argument("accuracy needs one label per sample");
  SLING_ASSIGN_OR_RETURN(const std::vector<int> predicted, classify(target, x, batch_size));
  int64_t correct = 0;
  for (size_t i = 0; i < predicted.size(); ++i) correct += predicted[i] == labels[i];
  return static_cast<double>(correct) / static_cast<double>(predicted.size());
}

}  // namespace slingshot
