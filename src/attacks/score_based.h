// Building blocks of the score-based black-box attacks (Square, SimBA, ZOO, SPSA): the
// deployed model's logits held to each sample's query budget, the margin loss and the
// success test read off them, a sample's projection into the threat model, the
// finite-difference probes and Adam step of ZOO and SPSA, and the estimate-step-check loop
// those two share. One copy, so the attacks count queries, score, place points and stop
// the same way; each attack's own search stays in its file.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "attacks/attack.h"
#include "attacks/target.h"
#include "attacks/threat_model.h"
#include "core/rng.h"
#include "core/status.h"
#include "core/tensor.h"

namespace slingshot {

// The ascended margin (C&W's, on logits): untargeted max_{j!=y} z_j - z_y, targeted
// z_t - max_{j!=t} z_j. `target` -1 means untargeted.
float margin_loss(const float* logits, int64_t classes, int label, int target);
// Whether the deployed engine's answer (the first largest logit, as the evaluation takes
// it) is a success: not `label` (untargeted, `target` -1) or `target`.
bool is_success(const float* logits, int64_t classes, int label, int target);

// One sample of a batch as an image: [H, W, C] of [N, H, W, C], [1, L, C] of [N, L, C],
// and one row of single-channel values for any other shape.
struct SampleGeometry {
  int64_t h = 1;  // rows
  int64_t w = 1;  // columns
  int64_t c = 1;  // channels
};
SampleGeometry sample_geometry(const Shape& batch_shape);

// The deployed model as the score-based attacks see it: the logits of points of the
// attacked samples, batched across samples, each sample held to its own budget
// (p.max_queries, one query per point). Points are snapped onto the grid (pixel-valid) or
// clamped into the range in place before they are queried, so the caller holds exactly
// what the model read.
class ScoreOracle {
 public:
  ScoreOracle(Target& target, const AttackBatch& batch, const AttackParams& p);

  int64_t num_samples() const { return num_samples_; }
  int64_t sample_size() const { return sample_size_; }          // values per sample
  const Shape& batch_shape() const { return batch_.x0.shape(); }  // [0] counts the whole batch
  const InputDomain& domain() const { return domain_; }
  const Tensor& clean_batch() const { return batch_.x0; }
  const float* clean_sample(int64_t s) const { return batch_.x0.data() + s * sample_size_; }
  int label(int64_t s) const { return batch_.labels[s]; }
  int target_class(int64_t s) const { return batch_.targets.empty() ? -1 : batch_.targets[s]; }  // -1: untargeted
  int64_t queries_left(int64_t s) const { return max_queries_ - used_[s]; }
  bool out_of_queries(int64_t s) const { return used_[s] >= max_queries_; }

  // Projects one sample's values `x` into its threat model around its clean input: the
  // eps-ball and the range, and also the grid when `onto_grid`.
  void project_sample(int64_t s, float* x, bool onto_grid) const;

  // Logits [rows, classes] of the points [rows, ...] (placed first); row r is a point of
  // the distinct sample samples[r], which must have a query left, else an internal error.
  Status query(std::span<const int64_t> samples, Tensor& points, Tensor& logits);
  // One point of every sample, in order.
  Status query_each(Tensor& points, Tensor& logits);
  // Every row of `points` is a point of sample `s`; they must fit in its budget.
  Status query_sample(int64_t s, Tensor& points, Tensor& logits);

  // margin_loss and is_success of row `row` of `logits` for sample `s`.
  float margin(int64_t s, const Tensor& logits, int64_t row) const;
  bool succeeded(int64_t s, const Tensor& logits, int64_t row) const;

 private:
  Status predict_placed(Tensor& points, Tensor& logits);

  Target& target_;
  const AttackBatch& batch_;
  InputDomain domain_;
  Norm norm_;
  float eps_;
  bool pixel_valid_;
  int64_t max_queries_;
  int64_t num_samples_ = 0, sample_size_ = 0;
  std::vector<int64_t> used_;
};

// What Square, SimBA, ZOO and SPSA share as attacks: black-box, and run() as a search
// over the whole batch through one ScoreOracle.
class ScoreBasedAttack : public Attack {
 public:
  AttackFamily family() const override { return AttackFamily::kBlackBox; }
  Status run(Target& target, const AttackBatch& batch, const AttackParams& p, Rng& rng, Tensor& x_adv) final;

 protected:
  // The attack's own search: writes x_adv (the clean batch's shape) inside the threat model.
  virtual Status search(ScoreOracle& oracle, const AttackParams& p, Rng& rng, Tensor& x_adv) = 0;
};

// Where a finite-difference probe moves one value: `grid_steps` whole grid steps on the
// grid (pixel-valid on a gridded domain, so every probe is a real image), else by `h`
// clamped into the range; `sign` (+1 or -1) gives the direction.
struct ProbeOffset {
  InputDomain domain;      // the input's range and grid
  bool on_grid = false;    // move in whole grid steps
  float grid_steps = 0;    // on the grid: steps per probe
  float h = 0;             // off the grid: the step

  float apply(float x, float sign) const {
    return on_grid ? domain.offset(x, sign * grid_steps) : std::clamp(x + sign * h, domain.lo, domain.hi);
  }
};

// Adam (beta1 0.9, beta2 0.999, epsilon 1e-8) as ZOO (per coordinate) and SPSA (per
// sample) step: updates the moments m and v with the gradient estimate g and returns the
// move lr * mhat / (sqrt(vhat) + epsilon). The bias corrections 1 - beta^t are computed
// once per step count t, by adam_corrections.
struct AdamCorrections {
  double first;   // 1 - beta1^t
  double second;  // 1 - beta2^t
};
AdamCorrections adam_corrections(int32_t t);
float adam_move(float& m, float& v, double g, const AdamCorrections& c, float lr);

// One ZOO or SPSA step of sample `s`: spends `pairs` pairs of probes around `current` (the
// grid point last evaluated) and moves `continuous` (its continuous iterate).
using ProbePairStep = std::function<Status(int64_t s, int64_t pairs, const float* current, float* continuous)>;

// The loop ZOO and SPSA share, in rounds: each sample that has not succeeded and still has
// budget for a pair of probes and one check takes `step` with up to `max_pairs` pairs; then
// the samples that moved are projected into the threat model from their continuous iterate
// (pixel-valid: evaluated on the grid) and checked with one query each. It ends when no
// sample moves. x_adv receives the last evaluated points (the clean input if none).
Status ascend_by_probe_pairs(ScoreOracle& oracle, const AttackParams& p, int64_t max_pairs, const ProbePairStep& step,
                             Tensor& x_adv);

}  // namespace slingshot
