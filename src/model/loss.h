// Softmax cross-entropy on logits, averaged over the batch.
#pragma once

#include <span>

#include "core/status.h"
#include "core/tensor.h"

namespace slingshot {

// logits [N, K], labels in [0, K). Returns the mean loss; writes dL/d(logits) to `grad`
// when it is not null. Uses log-sum-exp, so large logits do not overflow.
template <class T>
Result<T> softmax_cross_entropy(const TensorT<T>& logits, std::span<const int> labels, TensorT<T>* grad);

}  // namespace slingshot
