// Cross-entropy, soft-target cross-entropy and KL divergence on logits.
#include "model/loss.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

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

namespace {

template <class T>
Status check_pair(const TensorT<T>& a, const TensorT<T>& b, const char* what) {
  if (a.rank() != 2) return invalid_argument(std::string(what) + " expects logits [N, K], got " + shape_to_string(a.shape()));
  if (a.shape() != b.shape())
    return invalid_argument(std::string(what) + ": shapes " + shape_to_string(a.shape()) + " and " +
                            shape_to_string(b.shape()) + " differ");
  return Status::Ok();
}

// log softmax of one row of k logits scaled by 1/t.
template <class T>
void log_softmax_row(const T* z, int64_t k, T t, T* out) {
  T mx = z[0] / t;
  for (int64_t i = 1; i < k; ++i) mx = std::max(mx, z[i] / t);
  T sum = T(0);
  for (int64_t i = 0; i < k; ++i) sum += std::exp(z[i] / t - mx);
  const T log_sum = std::log(sum) + mx;
  for (int64_t i = 0; i < k; ++i) out[i] = z[i] / t - log_sum;
}

}  // namespace

template <class T>
Status softmax_rows(const TensorT<T>& logits, T temperature, TensorT<T>& probs) {
  if (logits.rank() != 2) return invalid_argument("softmax expects logits [N, K], got " + shape_to_string(logits.shape()));
  if (!(temperature > T(0))) return invalid_argument("softmax temperature must be > 0");
  const int64_t n = logits.dim(0), k = logits.dim(1);
  probs.resize(logits.shape());
  for (int64_t r = 0; r < n; ++r) {
    log_softmax_row(logits.data() + r * k, k, temperature, probs.data() + r * k);
    for (int64_t i = 0; i < k; ++i) probs[r * k + i] = std::exp(probs[r * k + i]);
  }
  return Status::Ok();
}

template <class T>
Result<T> soft_target_cross_entropy(const TensorT<T>& logits, const TensorT<T>& targets, T temperature,
                                    TensorT<T>* grad) {
  SLING_RETURN_IF_ERROR(check_pair(logits, targets, "soft-target cross-entropy"));
  if (!(temperature > T(0))) return invalid_argument("distillation temperature must be > 0");
  const int64_t n = logits.dim(0), k = logits.dim(1);
  if (grad) grad->resize(logits.shape());
  std::vector<T> logp(static_cast<size_t>(k));
  T total = T(0);
  for (int64_t r = 0; r < n; ++r) {
    log_softmax_row(logits.data() + r * k, k, temperature, logp.data());
    const T* q = targets.data() + r * k;
    for (int64_t i = 0; i < k; ++i) total -= q[i] * logp[i];
    // d/dz of -T^2 sum q log softmax(z/T) = T (softmax(z/T) - q) (targets sum to 1).
    if (grad)
      for (int64_t i = 0; i < k; ++i)
        (*grad)[r * k + i] = temperature * (std::exp(logp[i]) - q[i]) / static_cast<T>(n);
  }
  return total * temperature * temperature / static_cast<T>(n);
}

template <class T>
Result<T> softmax_kl_divergence(const TensorT<T>& reference, const TensorT<T>& logits, TensorT<T>* grad,
                                TensorT<T>* grad_reference) {
  SLING_RETURN_IF_ERROR(check_pair(reference, logits, "KL divergence"));
  const int64_t n = logits.dim(0), k = logits.dim(1);
  if (grad) grad->resize(logits.shape());
  if (grad_reference) grad_reference->resize(logits.shape());
  std::vector<T> logp(static_cast<size_t>(k)), logq(static_cast<size_t>(k));
  T total = T(0);
  for (int64_t r = 0; r < n; ++r) {
    log_softmax_row(reference.data() + r * k, k, T(1), logp.data());
    log_softmax_row(logits.data() + r * k, k, T(1), logq.data());
    T kl = T(0);
    for (int64_t i = 0; i < k; ++i) kl += std::exp(logp[i]) * (logp[i] - logq[i]);
    total += kl;
    // dKL/dz_logits = q - p; dKL/dz_ref = p * ((logp - logq) - KL).
    for (int64_t i = 0; i < k; ++i) {
      const T p = std::exp(logp[i]);
      if (grad) (*grad)[r * k + i] = (std::exp(logq[i]) - p) / static_cast<T>(n);
      if (grad_reference) (*grad_reference)[r * k + i] = p * ((logp[i] - logq[i]) - kl) / static_cast<T>(n);
    }
  }
  return total / static_cast<T>(n);
}

template Result<float> softmax_cross_entropy<float>(const Tensor&, std::span<const int>, Tensor*);
template Result<double> softmax_cross_entropy<double>(const TensorD&, std::span<const int>, TensorD*);
template Status softmax_rows<float>(const Tensor&, float, Tensor&);
template Status softmax_rows<double>(const TensorD&, double, TensorD&);
template Result<float> soft_target_cross_entropy<float>(const Tensor&, const Tensor&, float, Tensor*);
template Result<double> soft_target_cross_entropy<double>(const TensorD&, const TensorD&, double, TensorD*);
template Result<float> softmax_kl_divergence<float>(const Tensor&, const Tensor&, Tensor*, Tensor*);
template Result<double> softmax_kl_divergence<double>(const TensorD&, const TensorD&, TensorD*, TensorD*);

}  // namespace slingshot
