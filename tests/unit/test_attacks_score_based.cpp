// Score-based black-box attacks (Square, SimBA, ZOO, SPSA) on the deployed int8 engine:
// each one must beat random sign noise of the same size with 1000 queries per sample, use
// predict() alone and stay within its per-sample query budget, do nothing at eps 0,
// repeat itself for a seed, stay inside its threat model, and refuse bad settings.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <string>

#include "attack_test_support.h"
#include "attacks/evaluate.h"
#include "attacks/gradient_steps.h"
#include "attacks/target.h"

namespace slingshot {
std::unique_ptr<Attack> make_square_attack();
std::unique_ptr<Attack> make_simba_attack();
std::unique_ptr<Attack> make_zoo_attack();
std::unique_ptr<Attack> make_spsa_attack();
}  // namespace slingshot

using namespace slingshot;
using namespace slingshot::attack_test;

namespace {

// The tiny shapes CNN of test_attacks.cpp (16x16x3, 4 classes), int8 PTQ.
const ShapesFixture& fixture() { return shapes_fixture(); }

// int8-simd: bit-exact with int8-ref and about ten times faster, which keeps the query
// budgets of this file affordable.
std::unique_ptr<Target> int8_target() { return model_target(fixture().int8, EngineKind::kInt8Simd); }

// The first n test inputs, snapped to the 8-bit grid, and their labels.
Tensor inputs(int64_t n) { return grid_samples(fixture().test.inputs, n); }
std::span<const int> labels(int64_t n) { return std::span<const int>(fixture().test.labels).first(static_cast<size_t>(n)); }

std::unique_ptr<Attack> make(const std::string& name) {
  if (name == "square") return make_square_attack();
  if (name == "simba") return make_simba_attack();
  if (name == "zoo") return make_zoo_attack();
  return make_spsa_attack();
}

BatchOutcome run(Attack& attack, Target& target, int64_t n, const AttackParams& p) {
  return run_attack_batch(attack, target, inputs(n), labels(n), p);
}

// Accuracy on the deployed engine of the first n inputs under random sign noise of Linf size eps.
double noise_accuracy(Target& target, int64_t n, float eps) {
  return accuracy_under_sign_noise(target, inputs(n), labels(n), eps, 99);
}

const char* const kAttacks[] = {"square", "simba", "zoo", "spsa"};

// Wraps a target and records whether every predicted input is a real 8-bit image; it
// refuses gradients, so a black-box attack that asks for one fails.
class GridCheckingTarget final : public ForwardingTarget {
 public:
  using ForwardingTarget::ForwardingTarget;
  int64_t off_grid_batches = 0;

 protected:
  Status predict_uncounted(const Tensor& x, Tensor& logits) override {
    off_grid_batches += !on_domain_grid(x, domain());
    return ForwardingTarget::predict_uncounted(x, logits);
  }
  Status loss_grad_uncounted(const Tensor&, const Objective&, Tensor&, Tensor&) override {
    return internal_error("a black-box attack asked for a gradient");
  }
};

// Settings for the int8 CNN at 8/255 and 1000 queries. With the papers' defaults some of
// these attacks barely move an int8 model (see the next test case): single pixels and
// 1-step finite differences rarely change its logits.
AttackParams tuned(const std::string& name, float eps) {
  AttackParams p;
  p.eps = eps;
  p.max_queries = 1000;
  p.seed = 4;
  if (name == "square") p.extra["p_init"] = 0.3;
  if (name == "simba") p.extra = {{"basis", 1}, {"epsilon", 0.5}};
  if (name == "zoo") {
    p.eps_step = eps;
    p.extra = {{"block", 2}, {"nb_parallel", 32}, {"variable_h", 8.0 / 255}};
  }
  return p;
}

}  // namespace

TEST_CASE("score-based attacks beat random noise of the same size with predictions alone, within budget") {
  auto target = int8_target();
  const int64_t n = 32;
  const float eps = 8.0f / 255;
  const double noise = noise_accuracy(*target, n, eps);
  MESSAGE("int8 accuracy under random sign noise of 8/255: " << noise);
  for (const char* name : kAttacks) {
    CAPTURE(name);
    auto attack = make(name);
    CHECK(attack->black_box());
    const AttackParams p = tuned(name, eps);
    target->reset_counts();
    const BatchOutcome out = run(*attack, *target, n, p);
    const AttackSummary s = summarize(out.records);
    MESSAGE(std::string(name) << " 8/255: clean " << s.clean_accuracy << ", robust " << s.robust_accuracy << ", success "
                 << s.success_rate << ", " << out.counts.predictions << " queries for " << s.attacked << " samples");
    CHECK(s.clean_accuracy >= 0.9);
    CHECK(s.robust_accuracy < noise - 0.2);
    CHECK(s.mean_distortion.linf <= eps * (1 + 1e-5));
    CHECK(out.counts.gradients == 0);
    CHECK(target->counts().gradients == 0);
    CHECK(out.counts.predictions > 0);
    CHECK(out.counts.predictions <= s.attacked * p.max_queries);
  }
}

// Defaults, except that SimBA walks the DCT basis (its pixel basis leaves every sample
// correct here). ZOO is left out: with its defaults (one-pixel coordinates, h of one grid
// step) it sees flat int8 scores and leaves every sample correct at 16/255 too.
TEST_CASE("score-based attacks with their default settings at 16/255") {
  auto target = int8_target();
  const int64_t n = 32;
  const float eps = 16.0f / 255;
  const double noise = noise_accuracy(*target, n, eps);
  MESSAGE("int8 accuracy under random sign noise of 16/255: " << noise);
  for (const char* name : {"square", "simba", "spsa"}) {
    CAPTURE(name);
    auto attack = make(name);
    AttackParams p;
    p.eps = eps;
    p.max_queries = 1000;
    p.seed = 4;
    if (std::string(name) == "simba") p.extra["basis"] = 1;
    const AttackSummary s = summarize(run(*attack, *target, n, p).records);
    MESSAGE(std::string(name) << " 16/255, defaults: robust " << s.robust_accuracy);
    CHECK(s.robust_accuracy < noise - 0.4);
  }
}

TEST_CASE("score-based attacks: the per-sample budget holds for every budget, eps 0 changes nothing") {
  auto target = int8_target();
  const int64_t k = 6;
  const Tensor x0 = inputs(k);
  for (const char* name : kAttacks) {
    CAPTURE(name);
    auto attack = make(name);
    for (int64_t budget : {1, 2, 3, 7, 40}) {
      CAPTURE(budget);
      AttackParams p;
      p.max_queries = budget;
      REQUIRE(attack->validate(p, 4).ok());
      Rng rng(1);
      Tensor x_adv;
      const int64_t before = target->counts().predictions;
      REQUIRE(attack->run(*target, AttackBatch{x0, labels(k), {}}, p, rng, x_adv).ok());
      const int64_t spent = target->counts().predictions - before;
      CHECK(spent <= k * budget);
      if (budget >= 3) CHECK(spent > 0);
      CHECK(target->counts().gradients == 0);
      CHECK(on_domain_grid(x_adv, image_domain()));
      CHECK(x_adv.shape() == x0.shape());
    }
    // Pixel-valid: every query is a grid point, as the MCU would read it.
    {
      GridCheckingTarget checked(*target);
      AttackParams p;
      p.max_queries = 40;
      const BatchOutcome out = run(*attack, checked, 6, p);
      CHECK(out.counts.predictions > 0);
      CHECK(checked.off_grid_batches == 0);
    }
    // Every norm, pixel-valid or continuous: attack_batch fails loudly if an output leaves the ball.
    for (Norm norm : attack->norms())
      for (bool pixel_valid : {true, false}) {
        AttackParams p;
        p.norm = norm;
        p.eps = norm == Norm::kL2 ? 0.5f : 4.0f / 255;
        p.pixel_valid = pixel_valid;
        p.max_queries = 30;
        run(*attack, *target, 6, p);
      }
    AttackParams zero;
    zero.eps = 0;
    zero.max_queries = 60;
    const AttackSummary z = summarize(run(*attack, *target, 12, zero).records);
    CHECK(z.success_rate == 0.0);
    CHECK(z.robust_accuracy == doctest::Approx(z.clean_accuracy));
  }
}

TEST_CASE("score-based attacks repeat themselves for a seed and differ across seeds") {
  auto target = int8_target();
  for (const char* name : kAttacks) {
    CAPTURE(name);
    auto attack = make(name);
    AttackParams p;
    p.max_queries = 80;
    p.seed = 21;
    const Tensor a = run(*attack, *target, 10, p).x_adv;
    const Tensor b = run(*attack, *target, 10, p).x_adv;
    CHECK(a.storage() == b.storage());
    p.seed = 22;
    const Tensor c = run(*attack, *target, 10, p).x_adv;
    CHECK(a.storage() != c.storage());
  }
}

TEST_CASE("Square and SimBA: L2 balls, the DCT basis and targeted mode") {
  auto target = int8_target();
  const int64_t n = 32;
  // Random directions of L2 size 1 for comparison.
  double noise = 0;
  {
    Tensor x = inputs(n), x0 = x, logits;
    Rng rng(98);
    random_start(x, x0, Norm::kL2, 1.0f, image_domain(), rng);
    for (int64_t s = 0; s < n; ++s) {  // onto the sphere: random_start draws the radius too
      double sq = 0;
      for (int64_t i = 0; i < 768; ++i) sq += std::pow(x[s * 768 + i] - x0[s * 768 + i], 2);
      for (int64_t i = 0; i < 768; ++i) x[s * 768 + i] = x0[s * 768 + i] + (x[s * 768 + i] - x0[s * 768 + i]) / std::sqrt(sq);
    }
    project(x, x0, Norm::kL2, 1.0f, image_domain(), true);
    REQUIRE(target->predict(x, logits).ok());
    noise = count_correct(logits, labels(n));
    noise /= n;
  }
  MESSAGE("int8 accuracy under random L2 noise of size 1: " << noise);
  struct Case {
    const char* name;
    int basis;
  };
  for (const Case c : {Case{"square", 0}, Case{"simba", 0}, Case{"simba", 1}}) {
    CAPTURE(c.name);
    CAPTURE(c.basis);
    auto attack = make(c.name);
    AttackParams l2;
    l2.norm = Norm::kL2;
    l2.eps = 1.0f;
    l2.max_queries = 500;
    l2.seed = 5;
    if (std::string(c.name) == "simba") l2.extra["basis"] = c.basis;
    const BatchOutcome out = run(*attack, *target, n, l2);
    const AttackSummary s = summarize(out.records);
    MESSAGE(std::string(c.name) << " (basis " << c.basis << ") L2 eps 1: robust " << s.robust_accuracy << ", success " << s.success_rate);
    CHECK(s.robust_accuracy < noise - 0.2);
    for (const ExampleRecord& r : out.records) CHECK(r.distortion.l2 <= 1.0 * (1 + 1e-5));
    CHECK(on_domain_grid(out.x_adv, image_domain()));
  }
  for (const char* name : {"square", "simba"}) {
    CAPTURE(name);
    auto attack = make(name);
    AttackParams t = tuned(name, 16.0f / 255);
    t.targeted = true;
    t.seed = 2;
    // A target class takes Square more queries than leaving the true one: 1000 reached
    // 26 of 32 natively but 23 of 32 with the wasm build's model.
    if (std::string(name) == "square") t.max_queries = 2000;
    const BatchOutcome out = run(*attack, *target, n, t);
    for (const ExampleRecord& r : out.records) CHECK(r.target != r.label);
    const TargetedTally tally = tally_targets(out.records);
    const int attacked = tally.attacked, reached = tally.reached;
    MESSAGE(std::string(name) << " targeted 16/255: " << reached << " of " << attacked << " reach the target");
    CHECK(attacked > 20);
    CHECK(reached >= attacked / 2);
    if (std::string(name) == "square") CHECK(reached >= attacked * 3 / 4);
  }
}

TEST_CASE("score-based attacks: every bad setting gets an error naming it") {
  auto target = int8_target();
  auto err = [&](Attack& a, const AttackParams& p) { return attack_batch_error(a, *target, inputs(4), labels(4), p); };
  auto square = make("square");
  auto simba = make("simba");
  auto zoo = make("zoo");
  auto spsa = make("spsa");
  AttackParams p;
  for (int64_t budget : {0, -5}) {
    p = {};
    p.max_queries = budget;
    for (const char* name : kAttacks) CHECK(contains(err(*make(name), p), "query budget (max_queries) must be >= 1"));
  }
  p = {};
  p.extra["p_init"] = 0.0;
  CHECK(contains(err(*square, p), "square: p_init"));
  p.extra["p_init"] = 1.5;
  CHECK(contains(err(*square, p), "must be in (0, 1], got 1.5"));
  p = {};
  p.extra["window"] = 3;
  CHECK(contains(err(*square, p), "has no setting 'window' (it takes: p_init)"));
  p = {};
  p.extra["epsilon"] = -0.2;
  CHECK(contains(err(*simba, p), "simba: epsilon"));
  p = {};
  p.extra["basis"] = 2;
  CHECK(contains(err(*simba, p), "basis must be 0 (pixels) or 1 (DCT)"));
  p = {};
  p.extra["nb_parallel"] = 0;
  CHECK(contains(err(*zoo, p), "zoo: nb_parallel"));
  p = {};
  p.extra["variable_h"] = 0;
  CHECK(contains(err(*zoo, p), "zoo: variable_h"));
  p = {};
  p.extra["num_samples"] = 2.5;
  CHECK(contains(err(*spsa, p), "spsa: num_samples"));
  p = {};
  p.extra["delta"] = 0;
  CHECK(contains(err(*spsa, p), "spsa: delta"));
  p = {};
  p.extra["adam"] = 3;
  CHECK(contains(err(*spsa, p), "spsa: adam"));
  p = {};
  p.extra["p_init"] = 0.1;
  CHECK(contains(err(*spsa, p), "has no setting 'p_init' (it takes: delta, num_samples, adam)"));
  p = {};
  p.norm = Norm::kL1;
  for (const char* name : kAttacks) CHECK(contains(err(*make(name), p), "does not support norm 1"));
}


