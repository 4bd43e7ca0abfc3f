// A Target that reports progress and can be cancelled: it forwards every call to an
// inner Target unchanged and, after each counted call, hands an observer the counts so
// far, the last objective and the best margin seen. Front ends (the web worker, a CLI
// progress bar) drive a progress display from it; if the observer returns false, the
// next call fails with a kCancelled status, so the attack unwinds through its normal
// Status path and nothing is left half-built.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "attacks/target.h"

namespace slingshot {

struct AttackProgress {
  int64_t calls = 0;          // predict and loss_grad calls so far
  int64_t predictions = 0;    // samples classified through predict()
  int64_t gradients = 0;      // samples whose objective gradient loss_grad() returned
  double last_loss = 0;       // mean objective of the last loss_grad() batch (NaN before the first)
  double best_margin = 0;     // lowest z_y - max_{j != y} z_j seen in predict() outputs (NaN: none yet
                              // or no labels); below 0 the model is fooled
  double fraction = 0;        // share of the budget spent, in [0, 1] (0 without a budget)
};

// What a run may spend, for the fraction-done estimate: whichever share is larger wins.
struct ProgressBudget {
  int64_t predictions = 0;    // 0: not bounded by predictions
  int64_t gradients = 0;      // 0: not bounded by gradients
};

// Returns false to cancel the run.
using ProgressObserver = std::function<bool(const AttackProgress&)>;

class ObservedTarget final : public Target {
 public:
  ObservedTarget(Target& inner, ProgressObserver observer, ProgressBudget budget = {});

  // True classes of the samples predict() sees, for the margin: one per row, or a single
  // label for every row. Other batch sizes leave the margin alone.
  void set_labels(std::vector<int> labels) { labels_ = std::move(labels); }
  const AttackProgress& progress() const { return progress_; }
  bool cancel_requested() const { return cancel_requested_; }

  Shape input_shape() const override { return inner_.input_shape(); }
  int num_classes() const override { return inner_.num_classes(); }
  InputDomain domain() const override { return inner_.domain(); }
  std::string engine_name() const override { return inner_.engine_name(); }
  GradientSource gradient_source() const override { return inner_.gradient_source(); }
  bool randomized() const override { return inner_.randomized(); }
  void reseed(uint64_t seed) override { inner_.reseed(seed); }
  GradientSource inner_gradient_source() const override { return inner_.inner_gradient_source(); }
  Status differentiable_logits(const Tensor& x, Tensor& logits) override;
  Status backward_logits(const Tensor& dlogits, Tensor& dx) override;

 protected:
  Status predict_uncounted(const Tensor& x, Tensor& logits) override;
  Status loss_grad_uncounted(const Tensor& x, const Objective& objective, Tensor& value, Tensor& grad) override;

 private:
  Status check_not_cancelled() const;
  // Updates the progress after a call of `rows` samples (predict: `predicted` true) and
  // asks the observer whether to go on.
  void observe(int64_t rows, bool predicted);
  void track_margins(const Tensor& logits);

  Target& inner_;
  ProgressObserver observer_;
  ProgressBudget budget_;
  std::vector<int> labels_;
  AttackProgress progress_;
  bool cancel_requested_ = false;
};

}  // namespace slingshot
