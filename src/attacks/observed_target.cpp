// Progress reporting and cancellation around a Target (see observed_target.h).
#include "attacks/observed_target.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace slingshot {

ObservedTarget::ObservedTarget(Target& inner, ProgressObserver observer, ProgressBudget budget)
    : inner_(inner), observer_(std::move(observer)), budget_(budget) {
  progress_.last_loss = std::numeric_limits<double>::quiet_NaN();
  progress_.best_margin = std::numeric_limits<double>::quiet_NaN();
}

Status ObservedTarget::check_not_cancelled() const {
  if (cancel_requested_) return cancelled("the run was cancelled");
  return Status::Ok();
}

Status ObservedTarget::predict_uncounted(const Tensor& x, Tensor& logits) {
  SLING_RETURN_IF_ERROR(check_not_cancelled());
  const int64_t fd_before = inner_.counts().fd_evaluations;
  SLING_RETURN_IF_ERROR(inner_.predict(x, logits));
  counts_.fd_evaluations += inner_.counts().fd_evaluations - fd_before;
  track_margins(logits);
  observe(x.dim(0), true);
  return Status::Ok();
}

Status ObservedTarget::loss_grad_uncounted(const Tensor& x, const Objective& objective, Tensor& value, Tensor& grad) {
  SLING_RETURN_IF_ERROR(check_not_cancelled());
  const int64_t fd_before = inner_.counts().fd_evaluations;
  SLING_RETURN_IF_ERROR(inner_.loss_grad(x, objective, value, grad));
  counts_.fd_evaluations += inner_.counts().fd_evaluations - fd_before;
  double sum = 0;
  for (int64_t i = 0; i < value.numel(); ++i) sum += value[i];
  progress_.last_loss = value.numel() ? sum / static_cast<double>(value.numel()) : progress_.last_loss;
  observe(x.dim(0), false);
  return Status::Ok();
}

// Chaining is uncounted by contract, so it is forwarded without an observation; a
// cancelled run still stops here.
Status ObservedTarget::differentiable_logits(const Tensor& x, Tensor& logits) {
  SLING_RETURN_IF_ERROR(check_not_cancelled());
  return inner_.differentiable_logits(x, logits);
}

Status ObservedTarget::backward_logits(const Tensor& dlogits, Tensor& dx) {
  SLING_RETURN_IF_ERROR(check_not_cancelled());
  return inner_.backward_logits(dlogits, dx);
}

void ObservedTarget::track_margins(const Tensor& logits) {
  if (logits.rank() != 2 || labels_.empty()) return;
  const int64_t rows = logits.dim(0), k = logits.dim(1);
  if (labels_.size() != 1 && static_cast<int64_t>(labels_.size()) != rows) return;
  for (int64_t r = 0; r < rows; ++r) {
    const int y = labels_.size() == 1 ? labels_[0] : labels_[static_cast<size_t>(r)];
    if (y < 0 || y >= k || k < 2) continue;
    const float* z = logits.data() + r * k;
    float other = -std::numeric_limits<float>::infinity();
    for (int64_t j = 0; j < k; ++j)
      if (j != y) other = std::max(other, z[j]);
    const double margin = static_cast<double>(z[y]) - other;
    if (std::isnan(progress_.best_margin) || margin < progress_.best_margin) progress_.best_margin = margin;
  }
}

void ObservedTarget::observe(int64_t rows, bool predicted) {
  ++progress_.calls;
  // Target::predict / loss_grad add these rows to counts_ after this returns.
  progress_.predictions = counts_.predictions + (predicted ? rows : 0);
  progress_.gradients = counts_.gradients + (predicted ? 0 : rows);
  double share = 0;
  if (budget_.predictions > 0) share = std::max(share, static_cast<double>(progress_.predictions) / budget_.predictions);
  if (budget_.gradients > 0) share = std::max(share, static_cast<double>(progress_.gradients) / budget_.gradients);
  progress_.fraction = std::clamp(share, 0.0, 1.0);
  if (observer_ && !observer_(progress_)) cancel_requested_ = true;
}

}  // namespace slingshot
