// Robustness metrics on the trained shapes CNN and its int8 PTQ: gradient alignment (a
// gradient with itself has cosine 1; finite differences on the integer engine see more
// zeros than STE), the per-layer quantization value shift (nothing moves without a
// perturbation; the input layer moves exactly where the attack changed a value), the
// minimal adversarial distance (bisection never lands farther than the attack's own
// output, and its point is misclassified on the integer engine) and the transfer matrix
// (bit-exact engines transfer perfectly to each other).
#include <doctest/doctest.h>

#include <cmath>

#include "attack_test_support.h"
#include "metrics/boundary_distance.h"
#include "metrics/gradient_alignment.h"
#include "metrics/transfer_matrix.h"
#include "metrics/value_shift.h"

using namespace slingshot;
using namespace slingshot::attack_test;

TEST_CASE("gradient alignment: cosine and zero density on hand-made vectors") {
  const std::vector<float> g{1, -2, 0, 3}, neg{-1, 2, 0, -3}, ortho{2, 1, 5, 0}, zero(4, 0.0f);
  CHECK(gradient_cosine(g, g) == doctest::Approx(1.0));
  CHECK(gradient_cosine(g, neg) == doctest::Approx(-1.0));
  CHECK(gradient_cosine(g, ortho) == doctest::Approx(0.0));
  CHECK(std::isnan(gradient_cosine(g, zero)));
  CHECK(zero_density(g) == doctest::Approx(0.25));
  CHECK(zero_density(zero) == 1.0);
}

TEST_CASE("gradient alignment: a gradient with itself is 1; fd on the integer engine is sparser than ste") {
  const ShapesFixture& f = shapes_fixture();
  const Tensor x = grid_samples(f.test.inputs, 6);
  const std::vector<int> y(f.test.labels.begin(), f.test.labels.begin() + 6);
  const Objective objective{LossKind::kCrossEntropy, y, {}};
  auto ste = model_target(f.int8, EngineKind::kInt8Ref, GradientSource::kSte);
  auto ste2 = model_target(f.int8, EngineKind::kInt8Ref, GradientSource::kSte);
  auto same = compare_gradients(*ste, *ste2, x, objective);
  REQUIRE_MESSAGE(same.ok(), same.status().message());
  for (double c : same->cosine) CHECK(c == doctest::Approx(1.0).epsilon(1e-9));
  CHECK(same->undefined == 0);

  auto transfer = model_target(f.int8, EngineKind::kInt8Ref, GradientSource::kFloat);
  auto vs_float = compare_gradients(*transfer, *ste, x, objective);
  REQUIRE(vs_float.ok());
  // The float master and the STE mirror of a well-quantized int8 model mostly agree, but
  // not exactly: quantization bends the gradient.
  CHECK(vs_float->mean_cosine > 0.5);
  CHECK(vs_float->mean_cosine < 1.0 - 1e-6);

  auto fd = model_target(f.int8, EngineKind::kInt8Ref, GradientSource::kFd);
  auto vs_fd = compare_gradients(*fd, *ste, x, objective);
  REQUIRE(vs_fd.ok());
  CHECK(vs_fd->mean_zero_density_a > vs_fd->mean_zero_density_b);
  CHECK(vs_fd->mean_zero_density_b < 0.5);

  Tensor wrong({6, 8, 8, 3});
  CHECK(!compare_gradients(*ste, *ste2, wrong, objective).ok());
}

TEST_CASE("value shift: zero without a perturbation; the input layer moves where the attack changed values") {
  const ShapesFixture& f = shapes_fixture();
  const Tensor x = grid_samples(f.test.inputs, 8);
  const std::span<const int> y(f.test.labels.data(), 8);
  auto none = quantization_value_shift(f.int8, x, x);
  REQUIRE_MESSAGE(none.ok(), none.status().message());
  REQUIRE(none->size() >= 3);
  CHECK(none->front().name == "input");
  for (const LayerValueShift& l : *none) {
    CHECK(l.changed == 0);
    CHECK(l.elements > 0);
  }

  auto target = model_target(f.int8, EngineKind::kInt8Ref);
  auto pgd = named_attack("pgd");
  AttackParams p;
  p.eps = 4.0f / 255;
  p.max_iter = 10;
  const BatchOutcome o = run_attack_batch(*pgd, *target, x, y, p);
  auto shift = quantization_value_shift(f.int8, x, o.x_adv);
  REQUIRE(shift.ok());
  int64_t changed_values = 0;
  for (int64_t i = 0; i < x.numel(); ++i) changed_values += x[i] != o.x_adv[i];
  // On the 8-bit grid an input code changes exactly where the value did.
  CHECK(shift->front().changed == changed_values);
  CHECK(changed_values > 0);
  CHECK(shift->back().changed > 0);  // the logits moved: some attacks succeeded
  for (const LayerValueShift& l : *shift) CHECK(l.share == doctest::Approx(double(l.changed) / double(l.elements)));

  Tensor other({4, 16, 16, 3});
  CHECK(!quantization_value_shift(f.int8, x, other).ok());
}

TEST_CASE("boundary distance: bisection lands on a misclassified point no farther than the attack's output") {
  const ShapesFixture& f = shapes_fixture();
  const Tensor x = grid_samples(f.test.inputs, 12);
  const std::span<const int> y(f.test.labels.data(), 12);
  auto target = model_target(f.int8, EngineKind::kInt8Ref);
  auto deepfool = named_attack("deepfool");
  AttackParams p;
  p.norm = Norm::kL2;
  p.max_iter = 50;
  p.batch_size = 5;
  p.pixel_valid = false;
  auto d = minimal_adversarial_distances(*deepfool, *target, x, y, p, 12);
  REQUIRE_MESSAGE(d.ok(), d.status().message());
  REQUIRE(d->distance.size() == 12);
  CHECK(d->found >= 6);
  const int64_t per = x.numel() / 12;
  for (size_t i = 0; i < 12; ++i) {
    if (std::isnan(d->distance[i])) continue;
    if (!std::isfinite(d->distance[i])) continue;
    CHECK(d->distance[i] > 0);
    CHECK(d->distance[i] <= d->attack_distance[i] + 1e-6);
  }
  CHECK(d->median > 0);
  CHECK(std::isfinite(d->median));
  (void)per;

  // A PGD perturbation at half the median distance fools fewer samples than at twice it.
  auto pgd = named_attack("pgd");
  AttackParams bounded;
  bounded.norm = Norm::kL2;
  bounded.max_iter = 20;
  bounded.pixel_valid = false;
  bounded.eps = static_cast<float>(d->median / 2);
  const AttackSummary small = summarize(run_attack_batch(*pgd, *target, x, y, bounded).records);
  bounded.eps = static_cast<float>(d->median * 2);
  const AttackSummary large = summarize(run_attack_batch(*pgd, *target, x, y, bounded).records);
  CHECK(small.success_rate < large.success_rate);

  auto refused = minimal_adversarial_distances(*pgd, *target, x, y, p);
  REQUIRE(!refused.ok());
  CHECK(contains(refused.status(), "minimal-perturbation attack"));
}

TEST_CASE("transfer matrix: bit-exact engines transfer perfectly; the diagonal is the white-box success rate") {
  const ShapesFixture& f = shapes_fixture();
  const Tensor x = grid_samples(f.test.inputs, 16);
  const std::span<const int> y(f.test.labels.data(), 16);
  auto ref = model_target(f.int8, EngineKind::kInt8Ref);
  auto simd = model_target(f.int8, EngineKind::kInt8Simd);
  auto flt = model_target(f.int8, EngineKind::kFloat, GradientSource::kFloat);
  const std::vector<TransferEndpoint> endpoints{{"int8-ref", ref.get()}, {"int8-simd", simd.get()}, {"float", flt.get()}};
  auto pgd = named_attack("pgd");
  AttackParams p;
  p.eps = 8.0f / 255;
  p.max_iter = 10;
  p.batch_size = 6;
  auto m = transfer_matrix(*pgd, endpoints, x, y, p);
  REQUIRE_MESSAGE(m.ok(), m.status().message());
  REQUIRE(m->cells.size() == 3);
  CHECK(m->cells[0][1].rate == m->cells[0][0].rate);
  CHECK(m->cells[1][0].rate == m->cells[1][1].rate);
  CHECK(m->cells[0][0].fooled == m->cells[1][1].fooled);
  CHECK(m->cells[0][0].rate > 0.5);
  for (const auto& row : m->cells)
    for (const TransferCell& c : row) {
      CHECK(c.eligible <= 16);
      CHECK(c.fooled <= c.eligible);
    }
  // The same batches as the matrix's, so the same random starts.
  std::vector<ExampleRecord> records;
  for (int64_t first = 0; first < 16; first += 6) {
    const int64_t count = std::min<int64_t>(6, 16 - first);
    Shape s = x.shape();
    s[0] = count;
    const Tensor batch(s, std::vector<float>(x.data() + first * 768, x.data() + (first + count) * 768));
    auto o = attack_batch(*pgd, *ref, batch, y.subspan(static_cast<size_t>(first), count), first, p);
    REQUIRE(o.ok());
    records.insert(records.end(), o->records.begin(), o->records.end());
  }
  CHECK(m->cells[0][0].rate == doctest::Approx(summarize(records).success_rate));

  p.targeted = true;
  CHECK(!transfer_matrix(*pgd, endpoints, x, y, p).ok());
}
