// Softmax cross-entropy.
#include "model/loss.h"

#include <algorithm>
#include <cmath>

namespace slingshot {

template <class T>
Result<T> softmax_cross_entropy(const TensorT<T>& logits, std::span<const int> labels, TensorT<T>* grad) {
  if (logits.rank() != 2) return invalid_argument("cross-entropy expects logits [N, K], got " +
                                                  shape_to_string(logits.shape()));
  const int64_t n = logits.dim(0), k = logits.dim(1);
  if (static_cast<int64_t>(labels.size()) != n)
    return invalid_argument("cross-entropy got " + std::to_string(labels.size()) + " labels for a batch of " +
                            std::to_string(n));
  if (grad) grad->resize(logits.shape());
  T total = T(0);
  for (int64_t r = 0; r < n; ++r) {
    if (labels[r] < 0 || labels[r] >= k)
      return invalid_argument("label " + std::to_string(labels[r]) + " is outside [0, " + std::to_string(k) + ")");
    const T* z = logits.data() + r * k;
    const T mx = *std::max_element(z, z + k);
    T sum = T(0);
    for (int64_t i = 0; i < k; ++i) sum += std::exp(z[i] - mx);
    const T log_sum = std::log(sum) + mx;
    total += log_sum - z[labels[r]];
    if (grad) {
      for (int64_t i = 0; i < k; ++i) {
        const T p = std::exp(z[i] - log_sum);
        (*grad)[r * k + i] = (p - (i == labels[r] ? T(1) : T(0))) / static_cast<T>(n);
      }
    }
  }
  return total / static_cast<T>(n);
}

template Result<float> softmax_cross_entropy<float>(const Tensor&, std::span<const int>, Tensor*);
template Result<double> softmax_cross_entropy<double>(const TensorD&, std::span<const int>, TensorD*);

}  // namespace slingshot
