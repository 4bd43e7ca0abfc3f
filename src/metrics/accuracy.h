// Top-1 predictions and accuracy of a target over a set, in batches: what metrics and the
// study evaluate replayed inputs with.
#pragma once

#include <span>
#include <vector>

#include "attacks/target.h"
#include "core/status.h"
#include "core/tensor.h"

namespace slingshot {

// Top-1 classes of x [N, ...] on the target's deployed engine, batch_size samples per call.
Result<std::vector<int>> classify(Target& target, const Tensor& x, int64_t batch_size = 50);
// Share of x whose top-1 class is its label.
Result<double> accuracy(Target& target, const Tensor& x, std::span<const int> labels, int64_t batch_size = 50);

}  // namespace slingshot
