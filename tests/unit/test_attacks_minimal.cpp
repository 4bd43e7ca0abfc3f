// Minimal-perturbation and L0 attacks: DeepFool (L2, Linf), EAD (L1) and JSMA (L0),
// judged on the deployed int8 engine of the tiny shapes CNN. Each must succeed with
// perturbations far smaller than random noise or a dense gradient attack needs, stay
// inside the threat model, do nothing at eps 0, repeat itself for a seed, and name every
// bad parameter.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "attack_test_support.h"
#include "attacks/evaluate.h"
#include "attacks/target.h"

namespace slingshot {
std::unique_ptr<Attack> make_deepfool_attack();
std::unique_ptr<Attack> make_ead_attack();
std::unique_ptr<Attack> make_jsma_attack();
}  // namespace slingshot

using namespace slingshot;
using namespace slingshot::attack_test;

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr int64_t kDim = 16 * 16 * 3;

// A tiny CNN trained on the generated shapes (16x16x3, 4 classes), int8 PTQ (as test_attacks.cpp).
const ShapesFixture& fixture() { return shapes_fixture(); }

std::unique_ptr<Target> int8_target() { return model_target(fixture().int8, EngineKind::kInt8Ref); }

Tensor clean_inputs() { return grid_samples(fixture().test.inputs); }

BatchOutcome attack(Attack& a, Target& target, const AttackParams& p) {
  return run_attack_batch(a, target, clean_inputs(), fixture().test.labels, p);
}

Status attack_error(Attack& a, Target& target, const AttackParams& p) {
  return attack_batch_error(a, target, clean_inputs(), fixture().test.labels, p);
}

// Median of one distortion measure over the successful records.
double median_of_successes(const BatchOutcome& o, double Distortion::*field) {
  std::vector<double> v;
  for (const ExampleRecord& r : o.records)
    if (r.success) v.push_back(r.distortion.*field);
  REQUIRE(!v.empty());
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Accuracy on the deployed engine under Gaussian noise of L2 size `size` per sample.
double gaussian_noise_accuracy(Target& target, float size) {
  Tensor x = clean_inputs();
  const Tensor x0 = x;
  Rng rng(77);
  for (int64_t s = 0; s < x.dim(0); ++s) {
    std::vector<float> d(static_cast<size_t>(kDim));
    double norm = 0;
    for (float& v : d) {
      v = rng.normal();
      norm += static_cast<double>(v) * v;
    }
    for (int64_t i = 0; i < kDim; ++i) x[s * kDim + i] += static_cast<float>(d[i] * size / std::sqrt(norm));
  }
  project(x, x0, Norm::kL2, size, image_domain(), true);
  Tensor logits;
  REQUIRE(target.predict(x, logits).ok());
  return count_correct(logits, fixture().test.labels) / static_cast<double>(logits.dim(0));
}

// Accuracy on the deployed engine under random sign noise of Linf size `size`.
double sign_noise_accuracy(Target& target, float size) {
  return accuracy_under_sign_noise(target, clean_inputs(), fixture().test.labels, size, 78);
}

}  // namespace

TEST_CASE("DeepFool: unbounded it fools nearly every sample with a small L2; bounded it stays in the ball") {
  auto target = int8_target();
  auto deepfool = make_deepfool_attack();
  AttackParams p;
  p.norm = Norm::kL2;
  p.eps = kInf;
  p.max_iter = 50;
  const BatchOutcome out = attack(*deepfool, *target, p);
  const AttackSummary s = summarize(out.records);
  const double median_l2 = median_of_successes(out, &Distortion::l2);
  MESSAGE("deepfool L2 unbounded: clean " << s.clean_accuracy << " robust " << s.robust_accuracy << " success "
                                          << s.success_rate << " median L2 " << median_l2 << " mean L0 "
                                          << s.mean_distortion.l0);
  CHECK(s.clean_accuracy >= 0.9);
  CHECK(s.success_rate >= 0.95);
  CHECK(median_l2 < 0.75);
  // A random direction needs far more: Gaussian noise of three times DeepFool's median
  // leaves most samples correct.
  const double noise3 = gaussian_noise_accuracy(*target, static_cast<float>(3 * median_l2));
  MESSAGE("gaussian noise of L2 " << 3 * median_l2 << ": accuracy " << noise3);
  CHECK(noise3 > 0.8);
  CHECK(on_domain_grid(out.x_adv, image_domain()));

  AttackParams bounded = p;
  bounded.eps = 1.0f;
  const BatchOutcome b = attack(*deepfool, *target, bounded);
  const AttackSummary sb = summarize(b.records);
  double worst = 0;
  for (const ExampleRecord& r : b.records) worst = std::max(worst, r.distortion.l2);
  const double noise = gaussian_noise_accuracy(*target, 1.0f);
  MESSAGE("deepfool L2 eps 1: robust " << sb.robust_accuracy << " vs gaussian noise " << noise << ", max L2 " << worst);
  CHECK(worst <= 1.0 * (1 + 1e-5));
  CHECK(sb.robust_accuracy < noise - 0.3);
}

TEST_CASE("DeepFool Linf: unbounded it fools nearly every sample within a few grid steps") {
  auto target = int8_target();
  auto deepfool = make_deepfool_attack();
  AttackParams p;
  p.norm = Norm::kLinf;
  p.eps = kInf;
  p.max_iter = 50;
  const BatchOutcome out = attack(*deepfool, *target, p);
  const AttackSummary s = summarize(out.records);
  const double median_linf = median_of_successes(out, &Distortion::linf);
  MESSAGE("deepfool Linf unbounded: success " << s.success_rate << " median Linf " << median_linf * 255 << "/255");
  CHECK(s.success_rate >= 0.95);
  CHECK(median_linf <= 10.0 / 255);
  const double noise = sign_noise_accuracy(*target, static_cast<float>(2 * median_linf));
  MESSAGE("sign noise of Linf " << 2 * median_linf * 255 << "/255: accuracy " << noise);
  CHECK(noise > 0.8);

  AttackParams bounded = p;
  bounded.eps = 4.0f / 255;
  const AttackSummary sb = summarize(attack(*deepfool, *target, bounded).records);
  CHECK(sb.mean_distortion.linf <= 4.0 / 255 * (1 + 1e-5));
}

TEST_CASE("EAD: sparse L1 successes, sparser than DeepFool and smaller in L1 than PGD-L2") {
  auto target = int8_target();
  auto ead = make_ead_attack();
  AttackParams p;
  p.norm = Norm::kL1;
  p.eps = kInf;
  p.max_iter = 30;
  p.extra["binary_search_steps"] = 3;
  p.extra["initial_const"] = 1.0;
  p.extra["learning_rate"] = 0.05;
  p.extra["beta"] = 0.01;
  const BatchOutcome out = attack(*ead, *target, p);
  const AttackSummary s = summarize(out.records);
  const double median_l1 = median_of_successes(out, &Distortion::l1);
  const double median_l0 = median_of_successes(out, &Distortion::l0);
  MESSAGE("ead unbounded: success " << s.success_rate << " median L1 " << median_l1 << " median L0 " << median_l0);
  CHECK(s.success_rate >= 0.8);

  auto pgd = make_attack("pgd").value();
  AttackParams l2;
  l2.norm = Norm::kL2;
  l2.eps = 1.0f;
  l2.max_iter = 10;
  const double pgd_l1 = median_of_successes(attack(*pgd, *target, l2), &Distortion::l1);
  AttackParams df;
  df.norm = Norm::kL2;
  df.eps = kInf;
  df.max_iter = 50;
  const double deepfool_l0 = median_of_successes(attack(*make_deepfool_attack(), *target, df), &Distortion::l0);
  MESSAGE("pgd-L2 eps 1 median L1 " << pgd_l1 << ", deepfool median L0 " << deepfool_l0);
  CHECK(median_l1 < pgd_l1 / 4);
  CHECK(median_l0 < deepfool_l0 / 3);

  AttackParams bounded = p;
  bounded.eps = 2.0f;
  bounded.max_iter = 20;
  bounded.extra["binary_search_steps"] = 1;
  const BatchOutcome b = attack(*ead, *target, bounded);
  MESSAGE("ead L1 eps 2: success " << summarize(b.records).success_rate);
  for (const ExampleRecord& r : b.records) CHECK(r.distortion.l1 <= 2.0 * (1 + 1e-5));
}

TEST_CASE("JSMA: reaches its target by changing few values, far fewer than FGSM") {
  auto target = int8_target();
  auto jsma = make_jsma_attack();
  AttackParams p;
  p.norm = Norm::kL0;
  p.eps = static_cast<float>(kDim);
  p.targeted = true;
  p.seed = 3;
  const BatchOutcome out = attack(*jsma, *target, p);
  int attacked = 0, reached = 0;
  double max_l0 = 0;
  for (const ExampleRecord& r : out.records) {
    max_l0 = std::max(max_l0, r.distortion.l0);
    if (!r.attacked) continue;
    ++attacked;
    reached += r.adversarial_prediction == r.target;
  }
  const double median_l0 = median_of_successes(out, &Distortion::l0);
  MESSAGE("jsma targeted: reached " << reached << "/" << attacked << " median L0 " << median_l0 << " max L0 " << max_l0);
  CHECK(attacked > 40);
  CHECK(reached >= attacked * 8 / 10);
  CHECK(max_l0 <= std::floor(0.1 * kDim));
  CHECK(on_domain_grid(out.x_adv, image_domain()));

  AttackParams f;
  f.eps = 8.0f / 255;
  const double fgsm_l0 = median_of_successes(attack(*make_attack("fgsm").value(), *target, f), &Distortion::l0);
  MESSAGE("fgsm median L0 " << fgsm_l0);
  CHECK(median_l0 < fgsm_l0 / 10);

  // A finite eps below gamma * dim is the binding budget; untargeted runs aim at the runner-up.
  AttackParams small = p;
  small.eps = 10;
  small.targeted = false;
  const BatchOutcome u = attack(*jsma, *target, small);
  for (const ExampleRecord& r : u.records) CHECK(r.distortion.l0 <= 10);
  const AttackSummary su = summarize(u.records);
  MESSAGE("jsma untargeted, 10 values: success " << su.success_rate);
  CHECK(su.success_rate > 0.2);
}

TEST_CASE("minimal attacks: eps 0 does nothing, seeds repeat, bad parameters are named") {
  auto target = int8_target();
  auto deepfool = make_deepfool_attack();
  auto ead = make_ead_attack();
  auto jsma = make_jsma_attack();

  AttackParams df;
  df.norm = Norm::kL2;
  df.eps = 0;
  AttackParams e;
  e.norm = Norm::kL1;
  e.eps = 0;
  e.max_iter = 5;
  e.extra["binary_search_steps"] = 2;
  AttackParams j;
  j.norm = Norm::kL0;
  j.eps = 0;
  // Plain variables, not a structured binding: CAPTURE captures in a lambda, which
  // clang before 16 (Emscripten's) refuses for bindings.
  for (const std::pair<Attack*, AttackParams>& ap :
       {std::pair<Attack*, AttackParams>{deepfool.get(), df}, {ead.get(), e}, {jsma.get(), j}}) {
    Attack* const a = ap.first;
    const AttackParams& p = ap.second;
    CAPTURE(a->name());
    const AttackSummary s = summarize(attack(*a, *target, p).records);
    CHECK(s.success_rate == 0.0);
    CHECK(s.robust_accuracy == doctest::Approx(s.clean_accuracy));
  }

  df.eps = kInf;
  df.max_iter = 20;
  e.eps = kInf;
  e.extra["initial_const"] = 1.0;
  j.eps = 40;
  j.seed = 5;
  for (const std::pair<Attack*, AttackParams>& ap :
       {std::pair<Attack*, AttackParams>{deepfool.get(), df}, {ead.get(), e}, {jsma.get(), j}}) {
    Attack* const a = ap.first;
    const AttackParams& p = ap.second;
    CAPTURE(a->name());
    const BatchOutcome first = attack(*a, *target, p), second = attack(*a, *target, p);
    CHECK(first.x_adv.storage() == second.x_adv.storage());
    CHECK(first.x_adv.storage() != clean_inputs().storage());
  }

  AttackParams bad = df;
  bad.targeted = true;
  CHECK(contains(attack_error(*deepfool, *target, bad), "deepfool is untargeted only"));
  bad = df;
  bad.extra["nb_grads"] = 1;
  CHECK(contains(attack_error(*deepfool, *target, bad), "nb_grads must be a whole number >= 2"));
  bad = df;
  bad.extra["overshoot"] = -0.1;
  CHECK(contains(attack_error(*deepfool, *target, bad), "overshoot must be >= 0"));
  bad = df;
  bad.extra["beta"] = 0.1;
  CHECK(contains(attack_error(*deepfool, *target, bad), "has no setting 'beta' (it takes: nb_grads, overshoot)"));
  bad = df;
  bad.norm = Norm::kL1;
  CHECK(contains(attack_error(*deepfool, *target, bad), "does not support norm 1"));

  bad = e;
  bad.extra["beta"] = -0.01;
  CHECK(contains(attack_error(*ead, *target, bad), "beta (the L1 weight) must be >= 0"));
  bad = e;
  bad.extra["decision_rule"] = 2;
  CHECK(contains(attack_error(*ead, *target, bad), "decision_rule must be 0 (elastic net) or 1 (L1)"));
  bad = e;
  bad.extra["binary_search_steps"] = 0;
  CHECK(contains(attack_error(*ead, *target, bad), "binary_search_steps must be a whole number >= 1"));
  bad = e;
  bad.extra["learning_rate"] = 0;
  CHECK(contains(attack_error(*ead, *target, bad), "learning_rate must be > 0"));
  bad = e;
  bad.extra["kappa"] = 1;
  CHECK(contains(attack_error(*ead, *target, bad), "has no setting 'kappa'"));

  bad = j;
  bad.extra["gamma"] = 0;
  CHECK(contains(attack_error(*jsma, *target, bad), "gamma (the largest share of input values JSMA may change) must be in (0, 1]"));
  bad.extra["gamma"] = 1.5;
  CHECK(contains(attack_error(*jsma, *target, bad), "must be in (0, 1], got 1.5"));
  bad = j;
  bad.extra["theta"] = 0;
  CHECK(contains(attack_error(*jsma, *target, bad), "theta (the change per selected value) must be nonzero"));
  bad.extra["theta"] = 0.001;
  CHECK(contains(attack_error(*jsma, *target, bad), "smaller than one input grid step"));
  bad = j;
  bad.eps = kInf;
  CHECK(contains(attack_error(*jsma, *target, bad), "needs a finite eps"));
}
