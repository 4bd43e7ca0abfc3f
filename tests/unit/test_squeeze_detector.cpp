// The feature-squeezing detector: an identity squeezer scores 0; the calibrated threshold
// flags at most the chosen share of the calibration inputs; on held-out clean inputs
// the false-positive rate stays near it, and PGD examples are flagged more often than
// clean ones. Bad configurations are named.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "attack_test_support.h"
#include "defenses/squeeze_detector.h"

using namespace slingshot;
using namespace slingshot::attack_test;

TEST_CASE("squeeze detector: identity scores 0, calibration meets the FPR, adversarial inputs score higher") {
  const ShapesFixture& f = shapes_fixture();
  auto target = model_target(f.int8, EngineKind::kInt8Simd);
  const Tensor all = grid_samples(f.test.inputs, 64);
  const int64_t per = all.numel() / 64;
  const Tensor calib({32, 16, 16, 3}, std::vector<float>(all.data(), all.data() + 32 * per));
  const Tensor held({32, 16, 16, 3}, std::vector<float>(all.data() + 32 * per, all.data() + 64 * per));

  auto identity = SqueezeDetector::make({"bit_depth:bits=8"});  // the identity on the 8-bit grid
  REQUIRE(identity.ok());
  auto zero = identity->scores(*target, calib);
  REQUIRE(zero.ok());
  for (double s : *zero) CHECK(s == 0.0);

  auto detector = SqueezeDetector::make();
  REQUIRE(detector.ok());
  CHECK(!detector->evaluate(*target, calib, held).ok());  // not calibrated yet
  REQUIRE(detector->calibrate(*target, calib, 0.1).ok());
  auto self = detector->evaluate(*target, calib, calib);
  REQUIRE(self.ok());
  CHECK(self->false_positive_rate <= 0.1);

  auto pgd = named_attack("pgd");
  AttackParams p;
  p.eps = 8.0f / 255;
  p.max_iter = 10;
  const std::span<const int> y(f.test.labels.data() + 32, 32);
  const BatchOutcome o = run_attack_batch(*pgd, *target, held, y, p);
  auto report = detector->evaluate(*target, held, o.x_adv);
  REQUIRE(report.ok());
  CHECK(report->false_positive_rate <= 0.25);
  CHECK(report->detection_rate > report->false_positive_rate);
  MESSAGE("squeeze detector on shapes int8: held-out FPR " << report->false_positive_rate << ", PGD 8/255 detection "
                                                           << report->detection_rate);

  CHECK(!SqueezeDetector::make({}).ok());
  CHECK(!SqueezeDetector::make({"gaussian_noise"}).ok());
  CHECK(!SqueezeDetector::make({"nosuch"}).ok());
  CHECK(!detector->calibrate(*target, calib, 1.5).ok());
}

TEST_CASE("squeeze detector calibration: the calibration FPR never exceeds the requested rate") {
  const ShapesFixture& f = shapes_fixture();
  auto target = model_target(f.int8, EngineKind::kInt8Simd);
  const Tensor calib = grid_samples(f.test.inputs, 40);
  auto detector = SqueezeDetector::make({"bit_depth:bits=3", "median_filter:size=3"});
  REQUIRE(detector.ok());
  auto scores = detector->scores(*target, calib);
  REQUIRE(scores.ok());
  double previous = INFINITY;
  for (double fpr : {0.0, 0.02, 0.05, 0.1, 0.25, 0.5, 0.9}) {
    REQUIRE(detector->calibrate(*target, calib, fpr).ok());
    auto self = detector->evaluate(*target, calib, calib);
    REQUIRE(self.ok());
    CAPTURE(fpr);
    CHECK(self->false_positive_rate <= fpr);
    // The threshold is one of the calibration scores (a quantile), and a higher rate
    // never raises it.
    CHECK(std::find(scores->begin(), scores->end(), detector->threshold()) != scores->end());
    CHECK(detector->threshold() <= previous);
    previous = detector->threshold();
  }
  // Rate 0 flags nothing: the threshold is the largest calibration score.
  REQUIRE(detector->calibrate(*target, calib, 0.0).ok());
  CHECK(detector->threshold() == *std::max_element(scores->begin(), scores->end()));
}
