// Building blocks of the decision-based black-box attacks (Boundary, HopSkipJump, GeoDA):
// one sample's top-1 decision oracle held to its query budget, the random adversarial
// start, the grid-aware binary search to the decision boundary, and a base class that runs
// an attack's search sample by sample. One copy, so the attacks count queries, show the
// model grid points and end their searches the same way; each attack's own search stays
// in its file.
#pragma once

#include <cstdint>
#include <vector>

#include "attacks/attack.h"
#include "attacks/target.h"
#include "attacks/threat_model.h"
#include "core/rng.h"
#include "core/status.h"
#include "core/tensor.h"

namespace slingshot {

// One sample's view of the deployed model: its top-1 decision only (adversarial or not),
// within the sample's query budget (p.max_queries, one query per point). Points are
// snapped onto the grid (pixel-valid) or clamped into the range in place before they are
// queried, so the caller holds exactly what the model read.
class DecisionOracle {
 public:
  DecisionOracle(Target& target, const AttackBatch& batch, const AttackParams& p, int64_t sample);

  int64_t sample_size() const { return n_; }               // values per sample
  const Shape& batch_shape() const { return shape_; }      // [0] counts the batch, not this sample
  const float* x0() const { return x0_; }                  // this sample's clean input
  const InputDomain& domain() const { return domain_; }
  int64_t queries_left() const { return queries_left_; }
  // Whether values on this domain move in steps the model can see (then probes need one).
  bool gridded() const { return domain_.levels > 0; }

  // Moves `count` values to where the model reads them: the grid (pixel-valid) or the range.
  void place_in_domain(float* x, int64_t count) const;

  // Decisions for the `count` points held back to back in `points` (placed first);
  // count <= queries_left(), else an internal error.
  Status decide(std::vector<float>& points, int64_t count, std::vector<char>& adversarial);
  // The decision for the single point `x` (placed first).
  Result<bool> decide_one(std::vector<float>& x);

 private:
  Target& target_;
  Shape shape_;
  InputDomain domain_;
  bool pixel_valid_;
  const float* x0_ = nullptr;
  int64_t n_ = 0;
  int label_ = 0, target_class_ = -1;  // target_class_ -1: untargeted
  int64_t queries_left_ = 0;
};

// The distance between two samples of `n` values in `norm`.
double norm_distance(const float* a, const float* b, int64_t n, Norm norm);

// An adversarial start: in turn a uniform random image, x0 plus uniform noise of growing
// size, and (images [H, W, C]) uniform noise in square blocks of 2 to 8 pixels, which
// random decisions reach other classes with; queried 10 at a time, the nearest (L2)
// adversarial one of the first batch that holds any. Empty if none is found within
// `tries` queries.
Status find_random_adversarial(DecisionOracle& oracle, Rng& rng, int64_t tries, std::vector<float>& out);

// Binary search between x0 (taken as not adversarial) and the adversarial x_adv, which it
// replaces by the adversarial end. L2 blends x0 + a (x_adv - x0); Linf clips x_adv into the
// Linf ball of radius a ||x_adv - x0||_inf. It ends when the ends are `tol` apart in a, or on
// a grid when they are one grid step apart, or when the budget is spent.
Status binary_search_to_boundary(DecisionOracle& oracle, Norm norm, double tol, std::vector<float>& x_adv);

// What Boundary, HopSkipJump and GeoDA share as attacks: black-box, a minimal-perturbation
// search (eps = inf allowed), and run() as a search per sample, each with its own oracle
// and budget (none at eps 0), whose best point (x0 where there is none) is then projected
// onto the threat model of `p`.
class DecisionBasedAttack : public Attack {
 public:
  AttackFamily family() const override { return AttackFamily::kBlackBox; }
  bool accepts_unbounded_eps() const override { return true; }
  Status run(Target& target, const AttackBatch& batch, const AttackParams& p, Rng& rng, Tensor& x_adv) final;

 protected:
  // The attack's own search on one sample: leaves its best adversarial point in `best`, or
  // `best` empty if it found none.
  virtual Status search_sample(DecisionOracle& oracle, const AttackParams& p, Rng& rng, std::vector<float>& best) = 0;
};

}  // namespace slingshot
