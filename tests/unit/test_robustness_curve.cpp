// Robustness curves: eps 0 gives clean accuracy, larger eps lowers it, bit-exact engines
// give identical lines, progress arrives per point and can cancel, bad input is named.
#include <doctest/doctest.h>

#include "attack_test_support.h"
#include "metrics/robustness_curve.h"

using namespace slingshot;
using namespace slingshot::attack_test;

TEST_CASE("robustness curves: eps 0 is clean accuracy, accuracy falls with eps, identical engines agree") {
  const ShapesFixture& f = shapes_fixture();
  auto ref = model_target(f.int8, EngineKind::kInt8Ref);
  auto simd = model_target(f.int8, EngineKind::kInt8Simd);
  const std::vector<CurveTarget> targets{{"int8-ref", ref.get(), nullptr}, {"int8-simd", simd.get(), nullptr}};
  const Tensor x = grid_samples(f.test.inputs, 48);
  const std::span<const int> y(f.test.labels.data(), 48);
  const std::vector<float> eps{0.0f, 2.0f / 255, 8.0f / 255};
  AttackParams p;
  p.max_iter = 10;
  p.batch_size = 20;  // several batches per point
  auto pgd = named_attack("pgd");
  int calls = 0;
  double last_fraction = 0;
  auto lines = robustness_curves(*pgd, targets, x, y, eps, p,
                                 [&](const std::vector<CurveLine>& so_far, int line, int point, double fraction) {
                                   CHECK(fraction > last_fraction);
                                   last_fraction = fraction;
                                   CHECK(static_cast<int>(so_far[line].points.size()) == point + 1);
                                   CHECK(line == calls % 2);  // eps by eps, every line in turn
                                   CHECK(point == calls / 2);
                                   ++calls;
                                   return true;
                                 });
  REQUIRE_MESSAGE(lines.ok(), lines.status().message());
  CHECK(calls == 6);
  CHECK(last_fraction == doctest::Approx(1.0));
  REQUIRE(lines->size() == 2);
  const CurveLine& line = (*lines)[0];
  REQUIRE(line.points.size() == 3);
  CHECK(line.points[0].robust_accuracy == line.clean_accuracy);
  CHECK(line.points[0].success_rate == 0.0);
  CHECK(line.clean_accuracy > 0.8);
  CHECK(line.points[2].robust_accuracy < line.clean_accuracy - 0.3);
  CHECK(line.points[2].robust_accuracy <= line.points[1].robust_accuracy);
  CHECK(line.points[2].mean_distortion.linf <= 8.0 / 255 + 1e-6);
  for (size_t k = 0; k < 3; ++k) CHECK((*lines)[1].points[k].robust_accuracy == line.points[k].robust_accuracy);
}

TEST_CASE("robustness curves: a progress callback cancels, bad input is named") {
  const ShapesFixture& f = shapes_fixture();
  auto ref = model_target(f.int8, EngineKind::kInt8Ref);
  const std::vector<CurveTarget> targets{{"int8-ref", ref.get(), nullptr}};
  const Tensor x = grid_samples(f.test.inputs, 8);
  const std::span<const int> y(f.test.labels.data(), 8);
  const std::vector<float> eps{0.0f, 4.0f / 255};
  auto fgsm = named_attack("fgsm");
  AttackParams p;
  auto stopped = robustness_curves(*fgsm, targets, x, y, eps, p,
                                   [](const std::vector<CurveLine>&, int, int, double) { return false; });
  REQUIRE(!stopped.ok());
  CHECK(stopped.status().code() == StatusCode::kCancelled);
  const std::vector<float> negative{-1.0f};
  auto r = robustness_curves(*fgsm, targets, x, y, negative, p);
  REQUIRE(!r.ok());
  CHECK(contains(r.status(), "finite number >= 0"));
  r = robustness_curves(*fgsm, targets, x, y.first(4), eps, p);
  REQUIRE(!r.ok());
  CHECK(contains(r.status(), "8 samples but 4 labels"));
  r = robustness_curves(*fgsm, std::span<const CurveTarget>(), x, y, eps, p);
  REQUIRE(!r.ok());
  CHECK(contains(r.status(), "at least one target"));
}
