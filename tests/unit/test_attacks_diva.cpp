// DIVA: examples on which the float master stays correct while the deployed int8 model is
// wrong, judged independently on both engines; far more of them than PGD leaves; and the
// evaluation's reference plumbing (who is attacked, what counts as success, errors).
#include <doctest/doctest.h>

#include <string>

#include "attack_test_support.h"
#include "attacks/evaluate.h"

using namespace slingshot;
using namespace slingshot::attack_test;

namespace {

const ShapesFixture& fixture() { return shapes_fixture(); }

Tensor clean_inputs() { return grid_samples(fixture().test.inputs); }

// Samples whose adversarial input the float engine classifies correctly and the int8
// engine does not, counted afresh on both engines (not from the records).
int divergent(const Tensor& x_adv, std::span<const int> labels) {
  auto int8 = model_target(fixture().int8, EngineKind::kInt8Ref);
  auto flt = model_target(fixture().int8, EngineKind::kFloat, GradientSource::kFloat);
  Tensor q, f;
  REQUIRE(int8->predict(x_adv, q).ok());
  REQUIRE(flt->predict(x_adv, f).ok());
  int count = 0;
  for (int64_t i = 0; i < x_adv.dim(0); ++i) count += top1_class(f, i) == labels[i] && top1_class(q, i) != labels[i];
  return count;
}

AttackParams diva_params(float eps) {
  AttackParams p;
  p.eps = eps;
  p.max_iter = 40;
  return p;
}

}  // namespace

TEST_CASE("DIVA: the float master stays correct where the deployed int8 model is wrong, far more often than after PGD") {
  auto int8 = model_target(fixture().int8, EngineKind::kInt8Ref);
  auto reference = model_target(fixture().int8, EngineKind::kFloat, GradientSource::kFloat);
  const Tensor x0 = clean_inputs();
  const auto& labels = fixture().test.labels;
  const AttackParams p = diva_params(8.0f / 255.0f);

  auto diva = named_attack("diva");
  auto out = attack_batch(*diva, *int8, x0, labels, 0, p, reference.get());
  REQUIRE_MESSAGE(out.ok(), out.status().message());
  const AttackSummary s = summarize(out->records);
  int successes = 0;
  for (const ExampleRecord& r : out->records) {
    CHECK(r.reference_clean_prediction >= 0);
    if (!r.attacked) continue;
    // Only samples both models get right are attacked.
    CHECK(r.clean_prediction == r.label);
    CHECK(r.reference_clean_prediction == r.label);
    if (r.success) {
      ++successes;
      CHECK(r.reference_adversarial_prediction == r.label);
      CHECK(r.adversarial_prediction != r.label);
      CHECK(r.distortion.linf <= p.eps + 1e-6);
    }
  }
  MESSAGE("diva: " << successes << " of " << s.attacked << " attacked diverge; reference robust accuracy "
                   << s.reference_robust_accuracy);
  REQUIRE(s.attacked >= 40);
  // The records agree with a fresh judgement on both engines.
  CHECK(divergent(out->x_adv, labels) == successes);
  CHECK(successes >= s.attacked / 6);
  CHECK(out->counts.gradients > 0);
  CHECK(out->reference_counts.gradients > 0);

  // PGD of the same size fools the float master along with the int8 model.
  auto pgd = named_attack("pgd");
  const BatchOutcome plain = run_attack_batch(*pgd, *int8, x0, labels, p);
  const int pgd_divergent = divergent(plain.x_adv, labels);
  MESSAGE("pgd leaves " << pgd_divergent << " divergent samples");
  CHECK(successes >= 2 * pgd_divergent + 4);

  // eps 0 changes nothing; the same seed repeats exactly.
  AttackParams zero = p;
  zero.eps = 0;
  auto none = attack_batch(*diva, *int8, x0, labels, 0, zero, reference.get());
  REQUIRE(none.ok());
  CHECK(summarize(none->records).success_rate == 0.0);
  auto again = attack_batch(*diva, *int8, x0, labels, 0, p, reference.get());
  REQUIRE(again.ok());
  CHECK(again->x_adv.storage() == out->x_adv.storage());
}

TEST_CASE("DIVA: targeted mode, L2 and restarts stay in their balls and on the grid") {
  auto int8 = model_target(fixture().int8, EngineKind::kInt8Ref);
  auto reference = model_target(fixture().int8, EngineKind::kFloat, GradientSource::kFloat);
  AttackParams p = diva_params(1.0f);
  p.norm = Norm::kL2;
  p.num_random_init = 2;
  p.targeted = true;
  auto diva = named_attack("diva");
  auto out = attack_batch(*diva, *int8, clean_inputs(), fixture().test.labels, 0, p, reference.get());
  REQUIRE_MESSAGE(out.ok(), out.status().message());  // the evaluation checks ball, range and grid
  int reached = 0, attacked = 0;
  for (const ExampleRecord& r : out->records) {
    if (!r.attacked) continue;
    ++attacked;
    if (r.success) {
      CHECK(r.adversarial_prediction == r.target);
      CHECK(r.reference_adversarial_prediction == r.label);
      ++reached;
    }
  }
  MESSAGE("targeted diva: " << reached << " of " << attacked);
  CHECK(reached > 0);
}

TEST_CASE("DIVA: errors name what is missing") {
  auto int8 = model_target(fixture().int8, EngineKind::kInt8Ref);
  auto float_grad = model_target(fixture().int8, EngineKind::kInt8Ref, GradientSource::kFloat);
  auto reference = model_target(fixture().int8, EngineKind::kFloat, GradientSource::kFloat);
  const Tensor x0 = grid_samples(fixture().test.inputs, 8);
  const std::span<const int> labels(fixture().test.labels.data(), 8);
  auto diva = named_attack("diva");
  const AttackParams p = diva_params(4.0f / 255.0f);
  CHECK(contains(attack_batch_error(*diva, *int8, x0, labels, p), "needs a reference model"));
  auto r = attack_batch(*diva, *float_grad, x0, labels, 0, p, reference.get());
  REQUIRE(!r.ok());
  CHECK(contains(r.status(), "deployed model's own gradient"));
  AttackParams bad = p;
  bad.extra["c"] = 0;
  r = attack_batch(*diva, *int8, x0, labels, 0, bad, reference.get());
  REQUIRE(!r.ok());
  CHECK(contains(r.status(), "c (the weight"));
  bad = p;
  bad.norm = Norm::kL1;
  r = attack_batch(*diva, *int8, x0, labels, 0, bad, reference.get());
  REQUIRE(!r.ok());
  CHECK(contains(r.status(), "does not support norm"));
}

