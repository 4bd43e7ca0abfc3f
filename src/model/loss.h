// Losses on logits, averaged over the batch: cross-entropy with hard labels, with soft
// targets at a temperature (distillation), and the softmax KL divergence (TRADES).
#pragma once

#include <span>

#include "core/status.h"
#include "core/tensor.h"

namespace slingshot {

// logits [N, K], labels in [0, K). Returns the mean loss; writes dL/d(logits) to `grad`
// when it is not null. Uses log-sum-exp, so large logits do not overflow.
template <class T>
Result<T> softmax_cross_entropy(const TensorT<T>& logits, std::span<const int> labels, TensorT<T>* grad);

// Cross-entropy of softmax(logits / T) against target distributions `targets` [N, K]
// (rows sum to 1), times T^2 so gradient magnitudes do not shrink with T (Hinton et al.;
// Papernot et al.'s defensive distillation trains at T and deploys at T = 1).
template <class T>
Result<T> soft_target_cross_entropy(const TensorT<T>& logits, const TensorT<T>& targets, T temperature,
                                    TensorT<T>* grad);

// Row-wise softmax(logits / T) into `probs` [N, K].
template <class T>
Status softmax_rows(const TensorT<T>& logits, T temperature, TensorT<T>& probs);

// Mean over rows of KL(softmax(reference) || softmax(logits)). Writes dL/d(logits) to
// `grad` and, when `grad_reference` is not null, dL/d(reference) too (TRADES trains
// through both sides).
template <class T>
Result<T> softmax_kl_divergence(const TensorT<T>& reference, const TensorT<T>& logits, TensorT<T>* grad,
                                TensorT<T>* grad_reference = nullptr);

}  // namespace slingshot
