// Decision-based black-box attacks (Boundary, HopSkipJump, GeoDA) on the deployed int8
// engine: from top-1 decisions alone they find adversarial points and shrink them well
// below their starting point, beat Gaussian noise of the same L2 size, query only 8-bit
// grid images, never ask for a gradient, keep each sample within its query budget, do
// nothing at eps 0 and repeat themselves for a seed.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>

#include "attack_test_support.h"
#include "attacks/evaluate.h"
#include "attacks/target.h"

namespace slingshot {
std::unique_ptr<Attack> make_boundary_attack();
std::unique_ptr<Attack> make_hopskipjump_attack();
std::unique_ptr<Attack> make_geoda_attack();
}  // namespace slingshot

using namespace slingshot;
using namespace slingshot::attack_test;

namespace {

// A tiny CNN trained on the generated shapes (16x16x3, 4 classes), int8 PTQ: the same
// model as test_attacks.cpp.
const ShapesFixture& fixture() { return shapes_fixture(); }

// Wraps the int8 target (int8-simd) and records what the attack asked of it: every queried input
// must be a real 8-bit image, and no gradient may be requested.
class Spy final : public ForwardingTarget {
 public:
  using ForwardingTarget::ForwardingTarget;
  int64_t off_grid = 0;  // queried inputs holding a value off the grid or out of range

 protected:
  Status predict_uncounted(const Tensor& x, Tensor& logits) override {
    if (!on_domain_grid(x, domain())) ++off_grid;
    return ForwardingTarget::predict_uncounted(x, logits);
  }
};

std::unique_ptr<Spy> int8_target() {
  // int8-simd: bit-exact with int8-ref, and faster
  return std::make_unique<Spy>(model_target(fixture().int8, EngineKind::kInt8Simd));
}

constexpr int kSamples = 8;

// The first `n` test samples, on the 8-bit grid.
Tensor inputs(int n = kSamples) { return grid_samples(fixture().test.inputs, n); }
std::vector<int> labels(int n = kSamples) {
  return {fixture().test.labels.begin(), fixture().test.labels.begin() + n};
}

struct Config {
  const char* name;
  std::unique_ptr<Attack> (*make)();
  Norm norm;
};

// "name Lnorm": how reports and captures name a configuration.
std::string config_name(const Config& c) { return std::string(c.name) + " L" + norm_name(c.norm); }

// An unbounded search in the configuration's norm.
AttackParams unbounded(const Config& c, uint64_t seed) {
  AttackParams p;
  p.norm = c.norm;
  p.eps = std::numeric_limits<float>::infinity();
  p.seed = seed;
  return p;
}
const Config kConfigs[] = {
    {"boundary", &make_boundary_attack, Norm::kL2},
    {"hopskipjump", &make_hopskipjump_attack, Norm::kL2},
    {"hopskipjump", &make_hopskipjump_attack, Norm::kLinf},
    {"geoda", &make_geoda_attack, Norm::kL2},
    {"geoda", &make_geoda_attack, Norm::kLinf},
};

BatchOutcome attack(const Config& c, Target& target, const AttackParams& p) {
  auto a = c.make();
  return run_attack_batch(*a, target, inputs(), labels(), p);
}

// Median distortion (in `norm`) of the successful examples.
double median_success_distortion(const BatchOutcome& out, Norm norm) {
  std::vector<double> d;
  for (const ExampleRecord& r : out.records)
    if (r.success) d.push_back(distortion_norm(r.distortion, norm));
  if (d.empty()) return std::numeric_limits<double>::infinity();
  std::sort(d.begin(), d.end());
  return d.size() % 2 ? d[d.size() / 2] : 0.5 * (d[d.size() / 2 - 1] + d[d.size() / 2]);
}

// Accuracy on the deployed engine under random noise of size `eps` (pixel-valid), over
// draws: Gaussian scaled to L2 size eps, or random signs of size eps for Linf.
double noise_accuracy(Target& target, Norm norm, float eps, int draws) {
  const Tensor x0 = inputs();
  const std::vector<int> y = labels();
  const int64_t per = x0.numel() / kSamples;
  Rng rng(99);
  int correct = 0;
  for (int draw = 0; draw < draws; ++draw) {
    Tensor x = x0;
    for (int s = 0; s < kSamples; ++s) {
      double n2 = 0;
      std::vector<float> g(static_cast<size_t>(per));
      for (float& v : g) {
        v = norm == Norm::kL2 ? rng.normal() : rng.uniform() < 0.5f ? -eps : eps;
        n2 += static_cast<double>(v) * v;
      }
      const float scale = norm == Norm::kL2 ? static_cast<float>(eps / std::sqrt(n2)) : 1.0f;
      for (int64_t i = 0; i < per; ++i) x[s * per + i] += scale * g[i];
    }
    project(x, x0, norm, eps, image_domain(), true);
    Tensor logits;
    REQUIRE(target.predict(x, logits).ok());
    correct += count_correct(logits, y);
  }
  return correct / static_cast<double>(kSamples * draws);
}

}  // namespace

TEST_CASE("decision-based attacks: unbounded searches end far nearer than they start, on the grid, from decisions only") {
  for (const Config& c : kConfigs) {
    const std::string attack_name = config_name(c);
    CAPTURE(attack_name);
    auto target = int8_target();
    AttackParams p = unbounded(c, 5);
    // A budget that covers the adversarial start and its first binary search, no more.
    p.max_queries = 25;
    const BatchOutcome start = attack(c, *target, p);
    p.max_queries = c.norm == Norm::kLinf ? 2000 : 1000;
    const BatchOutcome out = attack(c, *target, p);
    const AttackSummary s = summarize(out.records);
    const double d_start = median_success_distortion(start, c.norm), d_end = median_success_distortion(out, c.norm);
    const std::string report = attack_name + ": success " +
                               std::to_string(s.success_rate) + " of " + std::to_string(s.attacked) +
                               ", median distortion " + std::to_string(d_start) + " at 25 queries -> " +
                               std::to_string(d_end) + " at " + std::to_string(p.max_queries);
    MESSAGE(report);
    CHECK(s.clean_accuracy >= 0.9);
    CHECK(s.success_rate >= 0.8);
    CHECK(d_end < 0.5 * d_start);
    CHECK(target->counts().gradients == 0);
    CHECK(target->off_grid == 0);
    CHECK(on_domain_grid(out.x_adv, image_domain()));
  }
}

TEST_CASE("decision-based attacks: at L2 eps 1 (Linf 16/255) they beat random noise of the same size") {
  auto target = int8_target();
  const double gaussian = noise_accuracy(*target, Norm::kL2, 1.0f, 5);
  const double signs = noise_accuracy(*target, Norm::kLinf, 16.0f / 255, 5);
  for (const Config& c : kConfigs) {
    const std::string attack_name = config_name(c);
    CAPTURE(attack_name);
    const bool l2 = c.norm == Norm::kL2;
    AttackParams p;
    p.norm = c.norm;
    p.eps = l2 ? 1.0f : 16.0f / 255;
    p.seed = 6;
    p.max_queries = 2000;
    const AttackSummary s = summarize(attack(c, *target, p).records);
    const double noise = l2 ? gaussian : signs;
    const std::string report = attack_name + ": accuracy " + std::to_string(s.robust_accuracy) + " (clean " +
                               std::to_string(s.clean_accuracy) + ", random noise " + std::to_string(noise) + ")";
    MESSAGE(report);
    CHECK(s.robust_accuracy < noise - 0.25);
    CHECK(distortion_norm(s.mean_distortion, c.norm) <= p.eps * (1 + 1e-5));
  }
}

TEST_CASE("decision-based attacks: targeted mode reaches the target; continuous mode works too") {
  for (const Config& c : kConfigs) {
    const std::string attack_name = config_name(c);
    CAPTURE(attack_name);
    auto target = int8_target();
    AttackParams p = unbounded(c, 7);
    p.max_queries = 500;
    p.targeted = true;
    const BatchOutcome out = attack(c, *target, p);
    const TargetedTally tally = tally_targets(out.records);
    const int attacked = tally.attacked, reached = tally.reached;
    const std::string report = std::to_string(reached) + " of " + std::to_string(attacked) + " reach their target";
    MESSAGE(report);
    CHECK(attacked >= kSamples - 1);
    CHECK(reached >= attacked - 1);

    // Off the grid (pixel_valid false) the searches run on continuous values.
    AttackParams q = unbounded(c, 7);
    q.max_queries = 500;
    q.pixel_valid = false;
    const BatchOutcome cont = attack(c, *target, q);
    const AttackSummary s = summarize(cont.records);
    CHECK(s.success_rate >= 0.8);
    CHECK(!on_domain_grid(cont.x_adv, image_domain()));
  }
}

TEST_CASE("decision-based attacks: per-sample budgets, eps 0, seeds") {
  for (const Config& c : kConfigs) {
    const std::string attack_name = config_name(c);
    CAPTURE(attack_name);
    auto target = int8_target();
    auto a = c.make();
    AttackParams p = unbounded(c, 3);
    p.max_queries = 100;
    const Tensor x = inputs();
    const std::vector<int> y = labels();
    const int64_t per = x.numel() / kSamples;
    // One sample per call: the attack's own predictions are that sample's.
    int64_t attacked = 0, spent_max = 0;
    for (int s = 0; s < kSamples; ++s) {
      Tensor xs({1, 16, 16, 3});
      std::copy(x.data() + s * per, x.data() + (s + 1) * per, xs.data());
      auto out = attack_batch(*a, *target, xs, std::span<const int>(y).subspan(s, 1), s, p);
      REQUIRE(out.ok());
      if (!out->records[0].attacked) continue;
      ++attacked;
      CHECK(out->counts.predictions <= p.max_queries);
      spent_max = std::max(spent_max, out->counts.predictions);
    }
    CHECK(attacked >= kSamples - 1);
    CHECK(spent_max >= p.max_queries - 30);  // the search uses its budget
    CHECK(target->counts().gradients == 0);

    AttackParams zero = p;
    zero.eps = 0;
    const BatchOutcome z = attack(c, *target, zero);
    CHECK(summarize(z.records).success_rate == 0.0);
    CHECK(z.x_adv.storage() == inputs().storage());

    const BatchOutcome r1 = attack(c, *target, p), r2 = attack(c, *target, p);
    CHECK(r1.x_adv.storage() == r2.x_adv.storage());
    p.seed = 4;
    const BatchOutcome r3 = attack(c, *target, p);
    CHECK(r1.x_adv.storage() != r3.x_adv.storage());
  }
}

TEST_CASE("decision-based attacks: bad parameters get errors naming them") {
  auto target = int8_target();
  const Tensor x = inputs();
  const std::vector<int> y = labels();
  auto err = [&](Attack& a, const AttackParams& p) { return attack_batch_error(a, *target, x, y, p); };
  for (const Config& c : kConfigs) {
    const std::string attack_name = c.name;
    CAPTURE(attack_name);
    auto a = c.make();
    CHECK(a->black_box());
    CHECK(a->accepts_unbounded_eps());
    AttackParams p;
    p.norm = Norm::kL2;
    p.max_queries = 0;
    CHECK(contains(err(*a, p), "query budget (max_queries) must be >= 1"));
    p = {};
    p.norm = Norm::kL2;
    p.extra["stepsize"] = 1.0;
    CHECK(contains(err(*a, p), "has no setting 'stepsize'"));
    p = {};
    p.norm = Norm::kL1;
    CHECK(contains(err(*a, p), "does not support norm 1"));
  }
  AttackParams p;
  p.norm = Norm::kL2;
  p.extra["init_eval"] = 0;
  CHECK(contains(err(*make_hopskipjump_attack(), p), "init_eval"));
  p.extra = {{"gamma", -1.0}};
  CHECK(contains(err(*make_hopskipjump_attack(), p), "gamma"));
  p.extra = {{"epsilon", 1.0}};
  CHECK(contains(err(*make_boundary_attack(), p), "epsilon (step toward x0, relative) must be in (0, 1)"));
  p.extra = {{"dct_ratio", 0.0}};
  CHECK(contains(err(*make_geoda_attack(), p), "dct_ratio"));
  p.extra = {};
  p.norm = Norm::kLinf;
  CHECK(contains(err(*make_boundary_attack(), p), "does not support norm inf"));
}
