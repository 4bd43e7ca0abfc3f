// Progress and cancellation around a Target (attacks/observed_target.h), and the typed
// setting schemas front ends build their forms from (core/setting_spec.h,
// attack_parameters, preprocessor_registry): forwarding is exact, counts match the inner
// target, a cancel stops PGD mid-run with a kCancelled status, and every registered
// attack and defense has a schema whose defaults pass its own checks.
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "attack_test_support.h"
#include "attacks/evaluate.h"
#include "attacks/observed_target.h"
#include "defenses/preprocessor.h"

using namespace slingshot;
using namespace slingshot::attack_test;

namespace {

const ShapesFixture& fixture() { return shapes_fixture(); }

AttackParams pgd_params(int max_iter) {
  AttackParams p;
  p.eps = 8.0f / 255.0f;
  p.max_iter = max_iter;
  p.batch_size = 8;
  return p;
}

}  // namespace

TEST_CASE("observed target: forwards exactly and counts what the inner target counts") {
  auto inner = model_target(fixture().int8, EngineKind::kInt8Ref);
  auto reference = model_target(fixture().int8, EngineKind::kInt8Ref);
  int observations = 0;
  ObservedTarget observed(*inner, [&](const AttackProgress&) { return ++observations > 0; });
  const Tensor x = grid_samples(fixture().test.inputs, 8);
  const std::vector<int> labels(fixture().test.labels.begin(), fixture().test.labels.begin() + 8);
  observed.set_labels(labels);

  Tensor a, b;
  REQUIRE(observed.predict(x, a).ok());
  REQUIRE(reference->predict(x, b).ok());
  REQUIRE(a.numel() == b.numel());
  for (int64_t i = 0; i < a.numel(); ++i) CHECK(a[i] == b[i]);

  const Objective objective{LossKind::kCrossEntropy, labels, {}};
  Tensor va, ga, vb, gb;
  REQUIRE(observed.loss_grad(x, objective, va, ga).ok());
  REQUIRE(reference->loss_grad(x, objective, vb, gb).ok());
  for (int64_t i = 0; i < ga.numel(); ++i) CHECK(ga[i] == gb[i]);
  double mean = 0;
  for (int64_t i = 0; i < vb.numel(); ++i) mean += vb[i] / vb.numel();
  CHECK(observed.progress().last_loss == doctest::Approx(mean));

  // The best margin is the lowest z_y - max_{j != y} z_j of the predicted rows.
  double lowest = INFINITY;
  for (int64_t r = 0; r < b.dim(0); ++r) {
    const float* z = b.data() + r * b.dim(1);
    float other = -INFINITY;
    for (int64_t j = 0; j < b.dim(1); ++j)
      if (j != labels[r]) other = std::max(other, z[j]);
    lowest = std::min(lowest, static_cast<double>(z[labels[r]] - other));
  }
  CHECK(observed.progress().best_margin == doctest::Approx(lowest));

  CHECK(observations == 2);
  CHECK(observed.counts().predictions == inner->counts().predictions);
  CHECK(observed.counts().gradients == inner->counts().gradients);
  CHECK(observed.progress().predictions == 8);
  CHECK(observed.progress().gradients == 8);
  CHECK(observed.input_shape() == inner->input_shape());
  CHECK(observed.engine_name() == inner->engine_name());
}

TEST_CASE("observed target: a PGD run through it is the run without it, and its progress adds up") {
  auto attack = named_attack("pgd");
  const Tensor x = grid_samples(fixture().test.inputs, 8);
  const std::vector<int> labels(fixture().test.labels.begin(), fixture().test.labels.begin() + 8);
  const AttackParams p = pgd_params(10);
  auto plain = model_target(fixture().int8, EngineKind::kInt8Ref);
  const BatchOutcome expected = run_attack_batch(*attack, *plain, x, labels, p);

  auto inner = model_target(fixture().int8, EngineKind::kInt8Ref);
  std::vector<AttackProgress> seen;
  ObservedTarget observed(*inner, [&](const AttackProgress& pr) { seen.push_back(pr); return true; }, ProgressBudget{0, 8 * 10});
  const BatchOutcome got = run_attack_batch(*attack, observed, x, labels, p);
  for (int64_t i = 0; i < got.x_adv.numel(); ++i) REQUIRE(got.x_adv[i] == expected.x_adv[i]);
  CHECK(got.counts.gradients == expected.counts.gradients);
  CHECK(got.counts.predictions == expected.counts.predictions);
  REQUIRE(!seen.empty());
  for (size_t i = 1; i < seen.size(); ++i) {
    CHECK(seen[i].calls == seen[i - 1].calls + 1);
    CHECK(seen[i].gradients >= seen[i - 1].gradients);
    CHECK(seen[i].fraction >= seen[i - 1].fraction);
  }
  CHECK(seen.back().fraction == doctest::Approx(1.0));
}

TEST_CASE("observed target: a cancel stops PGD mid-run with the cancelled status") {
  auto attack = named_attack("pgd");
  const Tensor x = grid_samples(fixture().test.inputs, 8);
  const std::vector<int> labels(fixture().test.labels.begin(), fixture().test.labels.begin() + 8);
  auto inner = model_target(fixture().int8, EngineKind::kInt8Ref);
  int gradient_calls = 0;
  ObservedTarget observed(*inner, [&](const AttackProgress& pr) {
    gradient_calls = static_cast<int>(pr.gradients / 8);
    return pr.gradients < 3 * 8;  // stop after the third gradient step
  });
  auto r = attack_batch(*attack, observed, x, labels, 0, pgd_params(50));
  REQUIRE(!r.ok());
  CHECK(r.status().code() == StatusCode::kCancelled);
  CHECK(contains(r.status(), "cancelled"));
  CHECK(gradient_calls == 3);
  CHECK(inner->counts().gradients == 3 * 8);  // nothing ran after the cancel
  CHECK(observed.cancel_requested());
}

TEST_CASE("setting schemas: every attack and defense has one its defaults pass") {
  for (const std::string& name : input_attack_names()) {
    CAPTURE(name);
    auto attack = named_attack(name);
    const std::vector<SettingSpec> all = attack_parameters(*attack);
    REQUIRE(find_setting(all, "norm"));
    CHECK(find_setting(all, "norm")->choices.size() == attack->norms().size());
    CHECK(find_setting(all, "seed"));
    CHECK((find_setting(all, "max_queries") != nullptr) == attack->black_box());
    CHECK((find_setting(all, "eps") != nullptr) == attack->bounded_by_eps());
    if (const SettingSpec* it = find_setting(all, "max_iter")) CHECK(it->default_value == attack->default_max_iter());
    for (const SettingSpec& s : attack->settings()) {
      CAPTURE(s.name);
      CHECK(!s.doc.empty());
      if (!has_fixed_default(s)) continue;
      CHECK(check_setting_value(s, s.default_value, name).ok());
      // Explicitly giving the default is the same as leaving it out.
      AttackParams p;
      p.norm = attack->norms().front();
      if (p.norm == Norm::kL0) p.eps = 10;  // an L0 eps counts input values
      p.targeted = name == "patch";
      p.target = name == "patch" ? 0 : -1;
      p.extra[s.name] = s.default_value;
      CHECK_MESSAGE(attack->validate(p, 4).ok(), attack->validate(p, 4).message());
    }
  }
  for (const PreprocessorInfo& info : preprocessor_registry()) {
    CAPTURE(info.name);
    CHECK(!info.doc.empty());
    CHECK(make_preprocessor(info.name).ok());
    for (const SettingSpec& s : info.settings) CHECK(check_setting_value(s, s.default_value, info.name).ok());
  }
}

TEST_CASE("setting schemas: out-of-range values are refused with the attack, setting, range and value") {
  auto zoo = named_attack("zoo");
  AttackParams p;
  p.extra["block"] = 1.5;
  Status st = zoo->validate(p, 4);
  CHECK(contains(st, "block"));  // the attack's own check speaks first
  auto jsma = named_attack("jsma");
  p = AttackParams{};
  p.norm = Norm::kL0;
  p.eps = 10;
  p.extra["gamma"] = 2;
  CHECK(contains(jsma->validate(p, 4), "gamma"));
  // A range only the schema knows: simba's basis is a choice of two.
  const SettingSpec basis{.name = "basis", .kind = SettingKind::kChoice, .choices = {"pixels", "dct"}};
  st = check_setting_value(basis, 2, "attack 'simba'");
  CHECK(contains(st, "attack 'simba': setting 'basis' must be one of {0 (pixels), 1 (dct)}, got 2"));
  const SettingSpec steps{.name = "steps", .kind = SettingKind::kInteger, .min = 1, .max = 1000};
  CHECK(contains(check_setting_value(steps, 2.5, "x"), "must be a whole number in [1, 1000], got 2.5"));
  CHECK(contains(check_setting_value(steps, NAN, "x"), "is NaN"));
  const SettingSpec eps{.name = "eps", .min = 0, .max = kNoBound, .max_exclusive = true};
  CHECK(!check_setting_value(eps, INFINITY, "x").ok());
  CHECK(!check_setting_value(eps, -1, "x").ok());
  CHECK(check_setting_value(eps, 0, "x").ok());
  const SettingSpec unbounded{.name = "eps", .min = 0, .max = kNoBound};
  CHECK(check_setting_value(unbounded, INFINITY, "x").ok());
  // A defense's key out of its range names the defense.
  auto made = make_preprocessor("bit_depth:bits=9");
  REQUIRE(!made.ok());
  CHECK(contains(made.status(), "bits"));
}
