// Waveform-level attacks on keyword spotting: the MFCC front end as a Target stage. Its
// chained gradient matches finite differences of the objective on the waveform, and an
// attack's outputs are 16-bit PCM clips inside the eps-ball in waveform units.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "attack_test_support.h"
#include "attacks/evaluate.h"
#include "attacks/waveform_target.h"
#include "model/builders.h"

using namespace slingshot;
using namespace slingshot::attack_test;

namespace {

const QuantizedModel& float_dscnn() {
  static const QuantizedModel m = [] {
    QuantizedModel q;
    q.graph = build_dscnn(12, {49, 10, 1}).value();
    init_params(q.graph, 3);
    return q;
  }();
  return m;
}

std::unique_ptr<Target> waveform_target() {
  ModelTargetOptions o;
  o.engine = EngineKind::kFloat;
  o.source = GradientSource::kFloat;
  o.domain = {-std::numeric_limits<float>::infinity(), std::numeric_limits<float>::infinity(), 0.0f};
  auto t = make_waveform_target(make_model_target(float_dscnn(), o).value());
  REQUIRE_MESSAGE(t.ok(), t.status().message());
  return std::move(*t);
}

// Two clips: a tone and a chirp in noise, on the 16-bit grid.
Tensor clips() {
  Tensor x({2, 16000});
  Rng rng(5);
  for (int64_t i = 0; i < 16000; ++i) {
    const double t = static_cast<double>(i) / 16000.0;
    x[i] = static_cast<float>(0.3 * std::sin(2 * 3.14159265 * 440 * t) + 0.02 * rng.uniform(-1.0f, 1.0f));
    x[16000 + i] = static_cast<float>(0.25 * std::sin(2 * 3.14159265 * (200 + 900 * t) * t) + 0.02 * rng.uniform(-1.0f, 1.0f));
  }
  snap_to_domain(x, waveform_domain());
  return x;
}

}  // namespace

TEST_CASE("waveform target: the gradient through the MFCC front end matches finite differences") {
  auto t = waveform_target();
  CHECK(t->input_shape() == Shape{16000});
  const Tensor x = clips();
  const std::vector<int> labels{3, 7};
  const Objective o{LossKind::kCrossEntropy, labels, {}};
  Tensor value, grad;
  REQUIRE(t->loss_grad(x, o, value, grad).ok());
  const Tensor dir = random_direction(x.shape(), 9);
  const float h = 2e-5f;
  Tensor xp, xm, vp, vm, gp;
  step_both_ways(x, dir, h, xp, xm);
  REQUIRE(t->loss_grad(xp, o, vp, gp).ok());
  REQUIRE(t->loss_grad(xm, o, vm, gp).ok());
  for (int s = 0; s < 2; ++s) {
    const double analytic = sample_dot(grad, dir, s);
    CHECK(std::fabs(analytic) > 1e-3);
    CHECK(analytic == doctest::Approx((vp[s] - vm[s]) / (2 * h)).epsilon(0.05));
  }
}

TEST_CASE("waveform attacks: 16-bit outputs inside the ball, nothing at eps 0, objective raised") {
  auto t = waveform_target();
  const Tensor x = clips();
  Tensor logits;
  REQUIRE(t->predict(x, logits).ok());
  // Attack the model's own predictions, so both clips start out "correct".
  std::vector<int> labels(2);
  for (int s = 0; s < 2; ++s)
    labels[s] = static_cast<int>(std::max_element(logits.data() + s * 12, logits.data() + (s + 1) * 12) - (logits.data() + s * 12));
  auto pgd = make_attack("pgd").value();
  AttackParams p;
  p.eps = 0.002f;  // about 66 LSB of 16-bit audio
  p.max_iter = 10;
  auto out = attack_batch(*pgd, *t, x, labels, 0, p);
  REQUIRE_MESSAGE(out.ok(), out.status().message());
  CHECK(on_domain_grid(out->x_adv, waveform_domain()));
  for (const ExampleRecord& r : out->records) CHECK(r.distortion.linf <= 0.002 + 1e-7);
  const Objective o{LossKind::kCrossEntropy, labels, {}};
  Tensor before, after, g;
  REQUIRE(t->loss_grad(x, o, before, g).ok());
  REQUIRE(t->loss_grad(out->x_adv, o, after, g).ok());
  for (int s = 0; s < 2; ++s) CHECK(after[s] > before[s]);

  p.eps = 0;
  auto none = attack_batch(*pgd, *t, x, labels, 0, p);
  REQUIRE(none.ok());
  CHECK(none->x_adv.storage() == x.storage());

  Tensor off = x;
  off[5] += 1e-6f;
  auto bad = attack_batch(*pgd, *t, off, labels, 0, AttackParams{});
  REQUIRE(!bad.ok());
  CHECK(contains(bad.status(), "not on the input grid"));
}

TEST_CASE("waveform target: the feature model must take the front end's 49x10x1 MFCCs") {
  QuantizedModel other;
  other.graph = build_tiny_cnn(4, {16, 16, 3}).value();
  ModelTargetOptions o;
  o.engine = EngineKind::kFloat;
  o.source = GradientSource::kFloat;
  auto t = make_waveform_target(make_model_target(other, o).value());
  REQUIRE(!t.ok());
  CHECK(contains(t.status(), "the MFCC front end makes [49, 10, 1] features"));
}
