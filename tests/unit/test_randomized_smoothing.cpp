// Randomized smoothing: the statistics against closed forms (the normal quantile, the
// Clopper-Pearson bound when every draw agrees), and certificates against a base
// classifier whose smoothed boundary is known exactly: a half-space, where the true L2
// distance to the smoothed boundary is the input's first coordinate, so a sound radius
// stays below it (and a tight one comes close). A coin-flip classifier gets no
// certificate: radius 0, abstention.
#include <doctest/doctest.h>

#include <cmath>

#include "attack_test_support.h"
#include "defense_test_support.h"
#include "defenses/randomized_smoothing.h"

using namespace slingshot;
using namespace slingshot::attack_test;

namespace {

// Class 1 where the first input value is above `threshold`, else class 0 (4 classes).
class HalfSpaceTarget final : public Target {
 public:
  explicit HalfSpaceTarget(float threshold) : threshold_(threshold) {}
  Shape input_shape() const override { return {4}; }
  int num_classes() const override { return 4; }
  InputDomain domain() const override { return {-INFINITY, INFINITY, 0}; }
  std::string engine_name() const override { return "half-space"; }
  GradientSource gradient_source() const override { return GradientSource::kFloat; }

 protected:
  Status predict_uncounted(const Tensor& x, Tensor& logits) override {
    logits.resize({x.dim(0), 4});
    logits.fill(0.0f);
    for (int64_t i = 0; i < x.dim(0); ++i) logits[i * 4 + (x[i * 4] > threshold_ ? 1 : 0)] = 1.0f;
    return Status::Ok();
  }
  Status loss_grad_uncounted(const Tensor&, const Objective&, Tensor&, Tensor&) override {
    return invalid_argument("no gradient");
  }

 private:
  float threshold_;
};

}  // namespace

TEST_CASE("smoothing statistics: normal quantile, Clopper-Pearson, binomial test") {
  CHECK(normal_quantile(0.975) == doctest::Approx(1.959964).epsilon(1e-6));
  CHECK(normal_quantile(0.5) == doctest::Approx(0.0).epsilon(1e-9));
  CHECK(normal_quantile(0.001) == doctest::Approx(-3.090232).epsilon(1e-6));
  CHECK(clopper_pearson_lower(0, 100, 0.001) == 0.0);
  CHECK(clopper_pearson_lower(100, 100, 0.001) == doctest::Approx(std::pow(0.001, 0.01)));
  // The bound is below the estimate and tightens with n.
  const double small = clopper_pearson_lower(90, 100, 0.001), large = clopper_pearson_lower(900, 1000, 0.001);
  CHECK(small < 0.9);
  CHECK(large < 0.9);
  CHECK(large > small);
  CHECK(binomial_test_half(5, 10) == doctest::Approx(1.0));
  CHECK(binomial_test_half(10, 10) == doctest::Approx(2 * std::pow(0.5, 10)));
}

TEST_CASE("randomized smoothing: a sound radius on a half-space, and no certificate for a coin flip") {
  HalfSpaceTarget base(0.0f);
  SmoothingConfig c;
  c.sigma = 0.5f;
  c.n0 = 100;
  c.n = 20000;
  c.alpha = 0.001;
  c.batch = 1000;
  Tensor x({1, 4}, std::vector<float>{0.4f, 0.3f, -0.2f, 0.9f});
  auto cert = smoothed_certify(base, x, c);
  REQUIRE_MESSAGE(cert.ok(), cert.status().message());
  CHECK(cert->top_class == 1);
  // The smoothed boundary is the hyperplane x0 = 0, 0.4 away.
  CHECK(cert->radius > 0.3);
  CHECK(cert->radius < 0.4);
  CHECK(cert->counts[1] + cert->counts[0] == c.n);
  auto pred = smoothed_predict(base, x, c);
  REQUIRE(pred.ok());
  CHECK(pred->top_class == 1);

  // On the boundary the top class's bound fails: abstain, radius 0.
  Tensor on_boundary({1, 4}, std::vector<float>{0.0f, 0.0f, 0.0f, 0.0f});
  auto none = smoothed_certify(base, on_boundary, c);
  REQUIRE(none.ok());
  CHECK(none->top_class == -1);
  CHECK(none->radius == 0.0);
  CHECK(none->p_lower < 0.5);
  auto abstain = smoothed_predict(base, on_boundary, c);
  REQUIRE(abstain.ok());
  CHECK(abstain->top_class == -1);

  SmoothingConfig bad = c;
  bad.sigma = 0;
  CHECK(!smoothed_certify(base, x, bad).ok());
  CHECK(!smoothed_certify(base, Tensor({1, 3}), c).ok());
}

TEST_CASE("randomized smoothing on the int8 shapes model: small noise keeps most samples certified and correct") {
  const ShapesFixture& f = shapes_fixture();
  auto target = model_target(f.int8, EngineKind::kInt8Simd);
  SmoothingConfig c;
  c.sigma = 0.03f;  // the base model saw no noise in training: larger sigma drowns it
  c.n0 = 50;
  c.n = 500;
  c.batch = 250;
  int certified = 0, correct = 0;
  for (int64_t i = 0; i < 8; ++i) {
    const Tensor x = grid_samples(f.test.inputs, 8);
    Tensor one({1, 16, 16, 3}, std::vector<float>(x.data() + i * 768, x.data() + (i + 1) * 768));
    auto cert = smoothed_certify(*target, one, c);
    REQUIRE(cert.ok());
    if (cert->top_class >= 0) {
      ++certified;
      CHECK(cert->radius > 0);
      CHECK(cert->radius <= c.sigma * normal_quantile(std::pow(c.alpha, 1.0 / c.n)) + 1e-9);
      correct += cert->top_class == f.test.labels[static_cast<size_t>(i)];
    }
  }
  CHECK(certified >= 4);
  CHECK(correct >= certified - 1);
}

TEST_CASE("randomized_smoothing defense: with tiny sigma its vote is the base model's prediction") {
  const ShapesFixture& f = shapes_fixture();
  const Tensor x = grid_samples(f.test.inputs, 32);
  auto base = model_target(f.int8, EngineKind::kInt8Simd);
  Tensor base_logits;
  REQUIRE(base->predict(x, base_logits).ok());
  // 1e-6 moves no input across an 8-bit input step, so every draw votes as the base does,
  // unanimously: shares 1 on the base's class, and 16 unanimous votes pass the default
  // alpha (p = 2^-15; 8 would not: 2^-7 > 0.001).
  auto smoothed = defended(model_target(f.int8, EngineKind::kInt8Simd), "randomized_smoothing:sigma=1e-6,samples=16",
                           GradientSource::kEot, 2);
  Tensor shares;
  REQUIRE(smoothed->predict(x, shares).ok());
  REQUIRE(shares.shape() == base_logits.shape());
  for (int64_t i = 0; i < x.dim(0); ++i) {
    CHECK(top1_class(shares, i) == top1_class(base_logits, i));
    CHECK(shares[i * 4 + top1_class(base_logits, i)] == 1.0f);
  }
  CHECK(smoothed->randomized());
  CHECK(smoothed->gradient_source() == GradientSource::kEot);
  CHECK(smoothed->counts().predictions == x.dim(0));  // the vote's draws count on the inner target
}

TEST_CASE("randomized_smoothing defense: abstains (class -1, counted wrong) when the vote is split") {
  const ShapesFixture& f = shapes_fixture();
  const Tensor x = grid_samples(f.test.inputs, 16);
  // With 4 draws no vote can pass the binomial test at 0.001 (even 4 of 4 gives p =
  // 0.125), so every row abstains; alpha = 1 turns the test off.
  auto strict = defended(model_target(f.int8, EngineKind::kInt8Simd), "randomized_smoothing:sigma=0.5,samples=4",
                         GradientSource::kEot, 1);
  Tensor shares;
  REQUIRE(strict->predict(x, shares).ok());
  for (int64_t i = 0; i < x.dim(0); ++i) CHECK(top1_class(shares, i) == kAbstain);
  auto plain = defended(model_target(f.int8, EngineKind::kInt8Simd),
                        "randomized_smoothing:sigma=0.5,samples=4,alpha=1", GradientSource::kEot, 1);
  REQUIRE(plain->predict(x, shares).ok());
  for (int64_t i = 0; i < x.dim(0); ++i) {
    const int c = top1_class(shares, i);
    REQUIRE(c >= 0);
    float sum = 0;
    for (int k = 0; k < 4; ++k) sum += shares[i * 4 + k];
    CHECK(sum == doctest::Approx(1.0f));
    CHECK(shares[i * 4 + c] >= 0.25f);  // the majority of 4 votes has at least one
  }
  // The evaluation counts an abstention as wrong.
  auto attack = named_attack("fgsm");
  AttackParams p;
  p.eps = 0;
  const std::vector<int> labels(f.test.labels.begin(), f.test.labels.begin() + 16);
  auto out = attack_batch(*attack, *strict, x, labels, 0, p);
  REQUIRE_MESSAGE(out.ok(), out.status().message());
  for (const ExampleRecord& r : out->records) {
    CHECK(r.clean_prediction == kAbstain);
    CHECK(!r.attacked);
  }
  CHECK(summarize(out->records).clean_accuracy == 0.0);
}

TEST_CASE("randomized_smoothing defense: spec errors, and one vote per stack") {
  CHECK(contains(make_preprocessor("randomized_smoothing:sigma=0").status(), "sigma"));
  CHECK(contains(make_preprocessor("randomized_smoothing:samples=0").status(), "samples"));
  CHECK(contains(make_preprocessor("randomized_smoothing:alpha=0").status(), "alpha"));
  CHECK(contains(make_preprocessor("randomized_smoothing:votes=3").status(), "unknown key 'votes'"));
  auto made = make_preprocessor("randomized_smoothing");
  REQUIRE(made.ok());
  CHECK((*made)->spec() == "randomized_smoothing:alpha=0.001,samples=32,sigma=0.25");
  const ShapesFixture& f = shapes_fixture();
  std::vector<std::unique_ptr<Preprocessor>> two;
  two.push_back(preprocessor("randomized_smoothing"));
  two.push_back(preprocessor("randomized_smoothing:sigma=0.5"));
  PreprocessedTargetOptions o;
  o.source = GradientSource::kEot;
  auto t = make_preprocessed_target(model_target(f.int8, EngineKind::kInt8Simd), std::move(two), o);
  CHECK(contains(t.status(), "at most one voting defense"));
}
