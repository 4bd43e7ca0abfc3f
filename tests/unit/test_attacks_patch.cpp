// Patch attacks: the differentiable warp and its backward, the universal adversarial patch
// (Brown et al. 2017) and LaVAN (Karmon et al. 2018), judged on the deployed int8 engine.
// Each must beat random noise of the same area and placement, keep to its patch, stay on
// the 8-bit grid, repeat itself for a seed, and name every bad setting.
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "attack_test_support.h"
#include "attacks/evaluate.h"
#include "attacks/patch.h"
#include "attacks/target.h"

using namespace slingshot;
using namespace slingshot::attack_test;

namespace slingshot {
std::unique_ptr<Attack> make_patch_attack();
std::unique_ptr<Attack> make_lavan_attack();
}  // namespace slingshot

namespace {

// The tiny shapes CNN of the other attack tests (16x16x3, 4 classes), int8 PTQ, with a
// larger held-out test set here; train and test images are snapped to the grid.
const ShapesFixture& fixture() {
  static const ShapesFixture f = [] {
    ShapesFixture out = make_shapes_fixture(96);
    snap_to_domain(out.test.inputs, image_domain());
    snap_to_domain(out.train.inputs, image_domain());
    return out;
  }();
  return f;
}

std::unique_ptr<Target> make_target(EngineKind engine, GradientSource source) {
  return model_target(fixture().int8, engine, source);
}

std::vector<int> predictions(Target& target, const Tensor& x) {
  Tensor logits;
  REQUIRE(target.predict(x, logits).ok());
  std::vector<int> out;
  for (int64_t r = 0; r < logits.dim(0); ++r) {
    int best = 0;
    for (int k = 1; k < logits.dim(1); ++k)
      if (logits[r * logits.dim(1) + k] > logits[r * logits.dim(1) + best]) best = k;
    out.push_back(best);
  }
  return out;
}

BatchOutcome run_attack(Attack& attack, Target& target, const AttackParams& p) {
  return run_attack_batch(attack, target, fixture().test.inputs, fixture().test.labels, p);
}

double success_rate(const BatchOutcome& o) { return summarize(o.records).success_rate; }

Tensor noise_patch(int side, uint64_t seed) {
  Rng rng(seed);
  Tensor patch({side, side, 3});
  for (int64_t i = 0; i < patch.numel(); ++i) patch[i] = static_cast<float>(rng.below(256)) / 255.0f;
  return patch;
}

}  // namespace

TEST_CASE("patch warp: pasting is linear, its backward is the adjoint and matches finite differences") {
  Rng rng(11);
  const int side = 3;
  Tensor images({2, 8, 9, 3}), patch({side, side, 3});
  for (int64_t i = 0; i < images.numel(); ++i) images[i] = rng.uniform();
  for (int64_t i = 0; i < patch.numel(); ++i) patch[i] = rng.uniform();
  const std::vector<PatchPlacement> placements{{4.3f, 3.6f, 1.7f, 0.4f}, {3.0f, 5.2f, 0.8f, -1.1f}};

  SUBCASE("adjoint: <paste(P) - paste(0), G> = <P, backward(G)>") {
    Tensor with, without, mask;
    REQUIRE(apply_patch(images, patch, placements, with, nullptr, &mask).ok());
    REQUIRE(apply_patch(images, Tensor({side, side, 3}, 0.0f), placements, without).ok());
    Tensor g(images.shape()), gp;
    for (int64_t i = 0; i < g.numel(); ++i) g[i] = rng.uniform(-1, 1);
    REQUIRE(patch_backward(g, side, placements, gp).ok());
    double lhs = 0, rhs = 0;
    for (int64_t i = 0; i < g.numel(); ++i) lhs += static_cast<double>(with[i] - without[i]) * g[i];
    for (int64_t i = 0; i < gp.numel(); ++i) rhs += static_cast<double>(patch[i]) * gp[i];
    CHECK(lhs == doctest::Approx(rhs).epsilon(1e-5));
    // Uncovered pixels keep the image; the rotated, scaled patches cover about s^2 scale^2 pixels each.
    double covered0 = 0, covered1 = 0;
    for (int64_t i = 0; i < 72; ++i) covered0 += mask[i], covered1 += mask[72 + i];
    CHECK(covered0 == doctest::Approx(9 * 1.7 * 1.7).epsilon(0.3));
    CHECK(covered1 == doctest::Approx(9 * 0.8 * 0.8).epsilon(0.5));
    for (int64_t px = 0; px < 144; ++px)
      if (mask[px] == 0)
        for (int c = 0; c < 3; ++c) CHECK(with[px * 3 + c] == images[px * 3 + c]);
  }

  SUBCASE("the objective's patch gradient matches central differences (float target, float gradients)") {
    auto target = make_target(EngineKind::kFloat, GradientSource::kFloat);
    Tensor x({2, 16, 16, 3});
    std::copy(fixture().test.inputs.data(), fixture().test.inputs.data() + x.numel(), x.data());
    const std::vector<int> labels(fixture().test.labels.begin(), fixture().test.labels.begin() + 2);
    const std::vector<PatchPlacement> pl{{7.3f, 6.6f, 1.4f, 0.5f}, {9.0f, 8.2f, 1.1f, -0.7f}};
    const Objective o{LossKind::kCrossEntropy, labels, {}};
    const auto objective = [&](const Tensor& p) {
      Tensor pasted, v, g;
      REQUIRE(apply_patch(x, p, pl, pasted).ok());
      REQUIRE(target->loss_grad(pasted, o, v, g).ok());
      return static_cast<double>(v[0]) + v[1];
    };
    Tensor pasted, v, g, gp;
    REQUIRE(apply_patch(x, patch, pl, pasted).ok());
    REQUIRE(target->loss_grad(pasted, o, v, g).ok());
    REQUIRE(patch_backward(g, side, pl, gp).ok());
    double mean_abs = 0;
    for (int64_t i = 0; i < gp.numel(); ++i) mean_abs += std::fabs(gp[i]) / gp.numel();
    REQUIRE(mean_abs > 0);
    for (int64_t i = 0; i < gp.numel(); ++i) {
      Tensor plus = patch, minus = patch;
      const float h = 1e-2f;
      plus[i] += h;
      minus[i] -= h;
      const double fd = (objective(plus) - objective(minus)) / (2 * h);
      CAPTURE(i);
      CHECK(std::fabs(fd - gp[i]) <= 2e-2 * std::fabs(fd) + 2e-2 * mean_abs);
    }
  }

  SUBCASE("a scale-1, unrotated patch at a pixel corner copies its pixels exactly") {
    Tensor out;
    const std::vector<PatchPlacement> at{placement_at(2, 5, side), placement_at(5, 0, side)};
    REQUIRE(apply_patch(images, patch, at, out).ok());
    for (int r = 0; r < side; ++r)
      for (int c = 0; c < side; ++c)
        for (int ch = 0; ch < 3; ++ch) {
          CHECK(out[((0 * 8 + 2 + r) * 9 + 5 + c) * 3 + ch] == patch[(r * side + c) * 3 + ch]);
          CHECK(out[((1 * 8 + 5 + r) * 9 + c) * 3 + ch] == patch[(r * side + c) * 3 + ch]);
        }
  }

  SUBCASE("random placements keep the patch's bounding box inside the image") {
    const PatchTransformRange range{0.8f, 1.5f, 30.0f};
    REQUIRE(check_patch_transform(range, 16, 16, 4).ok());
    Rng r(5);
    for (int k = 0; k < 200; ++k) {
      const PatchPlacement pl = random_placement(r, range, 16, 16, 4);
      CHECK(pl.scale >= 0.8f);
      CHECK(pl.scale <= 1.5f);
      CHECK(std::fabs(pl.angle) <= 30.0f * 3.1416f / 180.0f);
      const float e = 0.5f * pl.scale * 4 * (std::fabs(std::cos(pl.angle)) + std::fabs(std::sin(pl.angle)));
      CHECK(pl.cx - e >= -0.5f - 1e-4f);
      CHECK(pl.cx + e <= 15.5f + 1e-4f);
      CHECK(pl.cy - e >= -0.5f - 1e-4f);
      CHECK(pl.cy + e <= 15.5f + 1e-4f);
    }
  }
}

TEST_CASE("universal patch: trained on 200 images it fools the int8 CNN on held-out images far more than noise") {
  auto target = make_target(EngineKind::kInt8Ref, GradientSource::kSte);
  const Dataset train200 = fixture().train.range(0, 200);
  UniversalPatchOptions o;
  o.side = 5;
  o.transforms = {0.9f, 1.1f, 20.0f};
  o.steps = 150;
  o.target = 2;  // the diagonal stroke (bars span the whole image and a 5x5 patch rarely makes one)
  Rng rng(21);
  auto trained = train_universal_patch(*target, train200, o, rng);
  REQUIRE_MESSAGE(trained.ok(), trained.status().message());
  CHECK(on_domain_grid(*trained, image_domain()));

  AttackParams p;
  p.targeted = true;
  p.target = 2;
  p.seed = 4;
  p.extra = {{"patch_size", 5}, {"scale_min", 0.9}, {"scale_max", 1.1}, {"max_angle", 20}};
  PatchAttack universal, noise;
  REQUIRE(universal.set_patch(*trained).ok());
  REQUIRE(noise.set_patch(noise_patch(5, 77)).ok());
  const BatchOutcome with_patch = run_attack(universal, *target, p);
  const BatchOutcome with_noise = run_attack(noise, *target, p);
  const double trained_rate = success_rate(with_patch), noise_rate = success_rate(with_noise);
  MESSAGE("universal patch 5x5 (9.8% of the image), targeted to class 2, held-out success: ", trained_rate,
          " (noise patch: ", noise_rate, ")");
  CHECK(summarize(with_patch.records).attacked >= 50);
  CHECK(trained_rate >= 0.6);
  CHECK(trained_rate >= noise_rate + 0.4);
  CHECK(on_domain_grid(with_patch.x_adv, image_domain()));

  {  // untargeted training also beats noise
    UniversalPatchOptions u = o;
    u.target = -1;
    Rng r2(22);
    auto away = train_universal_patch(*target, train200, u, r2);
    REQUIRE(away.ok());
    AttackParams q = p;
    q.targeted = false;
    q.target = -1;
    PatchAttack a;
    REQUIRE(a.set_patch(*away).ok());
    const double rate = success_rate(run_attack(a, *target, q)), noise_u = success_rate(run_attack(noise, *target, q));
    MESSAGE("untargeted universal patch: ", rate, " (noise patch: ", noise_u, ")");
    CHECK(rate >= noise_u + 0.2);
  }
}

TEST_CASE("patch attack: trains on its batch when no patch is set, repeats for a seed, names bad settings") {
  auto target = make_target(EngineKind::kInt8Ref, GradientSource::kSte);
  AttackParams p;
  p.targeted = true;
  p.target = 2;
  p.seed = 9;
  p.extra = {{"steps", 40}, {"max_angle", 10}};
  auto attack = make_patch_attack();
  const BatchOutcome a = run_attack(*attack, *target, p);
  const BatchOutcome b = run_attack(*attack, *target, p);
  CHECK(a.x_adv.storage() == b.x_adv.storage());
  CHECK(on_domain_grid(a.x_adv, image_domain()));
  CHECK(a.counts.gradients == 40 * 16);
  // At most a rotated 4x4 patch's pixels change (its bounding box at 10 degrees: < 6x6).
  for (const ExampleRecord& r : a.records) CHECK(r.distortion.l0 <= 36 * 3);
  p.seed = 10;
  const BatchOutcome c = run_attack(*attack, *target, p);
  CHECK(a.x_adv.storage() != c.x_adv.storage());

  const auto error = [&](std::map<std::string, double> extra, bool targeted = false, int fixed = -1) {
    AttackParams q;
    q.targeted = targeted;
    q.target = fixed;
    q.extra = std::move(extra);
    return attack_batch_error(*attack, *target, fixture().test.inputs, fixture().test.labels, q);
  };
  CHECK(contains(error({{"patch_size", 0}}), "patch_size"));
  CHECK(contains(error({{"patch_size", 17}}), "larger than the 16x16 image"));
  CHECK(contains(error({{"patch_size", 2.5}}), "patch_size"));
  CHECK(contains(error({{"scale_min", 1.5}, {"scale_max", 1.2}}), "scale_min <= scale_max"));
  CHECK(contains(error({{"scale_min", 0}}), "scale_min"));
  CHECK(contains(error({{"patch_size", 8}, {"scale_max", 3}}), "scale_max"));
  CHECK(contains(error({{"steps", -1}}), "steps"));
  CHECK(contains(error({{"learning_rate", 0}}), "learning_rate"));
  CHECK(contains(error({{"max_angle", 270}}), "max_angle"));
  CHECK(contains(error({{"size", 3}}), "has no setting 'size'"));
  CHECK(contains(error({}, true, -1), "fixed target"));

  PatchAttack set;
  CHECK(contains(set.set_patch(Tensor({4, 5, 3}, 0.5f)), "square"));
  CHECK(contains(set.set_patch(Tensor({4, 4, 3}, 1.5f)), "outside [0, 1]"));
  REQUIRE(set.set_patch(Tensor({4, 4, 3}, 0.5f)).ok());
  {
    AttackParams q;
    q.extra = {{"patch_size", 5}};
    CHECK(contains(attack_batch_error(set, *target, fixture().test.inputs, fixture().test.labels, q),
                   "differs from the side of the patch set"));
  }

  UniversalPatchOptions o;
  Rng rng(1);
  const Dataset small = fixture().train.range(0, 20);
  o.side = 0;
  CHECK(contains(train_universal_patch(*target, small, o, rng).status(), "patch_size must be at least 1"));
  o.side = 20;
  CHECK(contains(train_universal_patch(*target, small, o, rng).status(), "larger than the 16x16 image"));
  o.side = 4;
  o.steps = -3;
  CHECK(contains(train_universal_patch(*target, small, o, rng).status(), "steps must be >= 0"));
  o.steps = 1;
  o.target = 4;
  CHECK(contains(train_universal_patch(*target, small, o, rng).status(), "target class 4"));
  o.target = -1;
  o.transforms = {2.0f, 1.0f, 0.0f};
  CHECK(contains(train_universal_patch(*target, small, o, rng).status(), "scale_min <= scale_max"));
}

TEST_CASE("LaVAN: changes nothing outside its patch, succeeds with <10% of the image, beats a random patch") {
  auto target = make_target(EngineKind::kInt8Ref, GradientSource::kSte);
  auto lavan = make_lavan_attack();
  const int side = 5;  // 25 of 256 pixels: 9.8%
  for (double location : {0.0, 1.0}) {
    CAPTURE(location);
    AttackParams p;
    p.max_iter = 40;
    p.eps_step = 8.0f / 255;
    p.seed = 3;
    p.extra = {{"patch_size", side}, {"location", location}};
    const BatchOutcome out = run_attack(*lavan, *target, p);
    CHECK(on_domain_grid(out.x_adv, image_domain()));
    const Tensor& x0 = fixture().test.inputs;
    for (int64_t s = 0; s < x0.dim(0); ++s) {
      // Every changed pixel lies inside one side x side window.
      int rmin = 16, rmax = -1, cmin = 16, cmax = -1, changed = 0;
      for (int i = 0; i < 16; ++i)
        for (int j = 0; j < 16; ++j)
          for (int c = 0; c < 3; ++c) {
            const int64_t k = ((s * 16 + i) * 16 + j) * 3 + c;
            if (out.x_adv[k] != x0[k]) {
              ++changed;
              rmin = std::min(rmin, i), rmax = std::max(rmax, i), cmin = std::min(cmin, j), cmax = std::max(cmax, j);
            }
          }
      CHECK(changed <= side * side * 3);
      if (changed) {
        CHECK(rmax - rmin < side);
        CHECK(cmax - cmin < side);
      }
    }
    const double rate = success_rate(out);

    // A random patch of the same size at a random place.
    Tensor noisy = x0;
    Rng rng(123);
    for (int64_t s = 0; s < x0.dim(0); ++s) {
      const int r0 = static_cast<int>(rng.below(16 - side + 1)), c0 = static_cast<int>(rng.below(16 - side + 1));
      for (int i = 0; i < side; ++i)
        for (int j = 0; j < side; ++j)
          for (int c = 0; c < 3; ++c) noisy[((s * 16 + r0 + i) * 16 + c0 + j) * 3 + c] = static_cast<float>(rng.below(256)) / 255;
    }
    const std::vector<int> pred = predictions(*target, noisy), clean = predictions(*target, x0);
    int fooled = 0, attacked = 0;
    for (int64_t s = 0; s < x0.dim(0); ++s)
      if (clean[s] == fixture().test.labels[s]) ++attacked, fooled += pred[s] != fixture().test.labels[s];
    const double noise_rate = fooled / static_cast<double>(attacked);
    MESSAGE("LaVAN 5x5 untargeted, location ", location, ": success ", rate, " (random patch: ", noise_rate, ")");
    CHECK(rate >= 0.7);
    CHECK(rate >= noise_rate + 0.4);
  }

  {  // targeted LaVAN reaches the target; seeds repeat; bad settings are named
    AttackParams p;
    p.targeted = true;
    p.max_iter = 40;
    p.eps_step = 8.0f / 255;
    p.seed = 5;
    p.extra = {{"patch_size", side}};
    const BatchOutcome a = run_attack(*lavan, *target, p);
    const BatchOutcome b = run_attack(*lavan, *target, p);
    MESSAGE("LaVAN 5x5 targeted (random wrong class): success ", success_rate(a));
    CHECK(success_rate(a) >= 0.5);
    CHECK(a.x_adv.storage() == b.x_adv.storage());
    const auto error = [&](std::map<std::string, double> extra) {
      AttackParams q;
      q.extra = std::move(extra);
      return attack_batch_error(*lavan, *target, fixture().test.inputs, fixture().test.labels, q);
    };
    CHECK(contains(error({{"patch_size", 0}}), "patch_size"));
    CHECK(contains(error({{"patch_size", 17}}), "larger than the 16x16 image"));
    CHECK(contains(error({{"location", 2}}), "location must be 0"));
    AttackParams q;
    q.max_iter = 0;
    CHECK(!attack_batch(*lavan, *target, fixture().test.inputs, fixture().test.labels, 0, q).ok());
  }
}

TEST_CASE("patch attacks only need predict and loss_grad: they work against the float and fake-quant engines too") {
  auto lavan = make_lavan_attack();
  AttackParams p;
  p.max_iter = 40;
  p.eps_step = 8.0f / 255;
  p.seed = 6;
  p.extra = {{"patch_size", 5}};
  for (auto [engine, source] : {std::pair{EngineKind::kFloat, GradientSource::kFloat},
                                std::pair{EngineKind::kFakeQuant, GradientSource::kSte}}) {
    const std::string engine_label = engine_name(engine);
    CAPTURE(engine_label);
    auto target = make_target(engine, source);
    const double rate = success_rate(run_attack(*lavan, *target, p));
    MESSAGE("LaVAN 5x5 on ", engine_label, ": success ", rate);
    CHECK(rate >= 0.7);
  }

  // The universal patch training repeats for a seed and differs across seeds.
  auto target = make_target(EngineKind::kFloat, GradientSource::kFloat);
  UniversalPatchOptions o;
  o.steps = 5;
  o.target = 3;
  const Dataset small = fixture().train.range(0, 40);
  Rng a(1), b(1), c(2);
  const Tensor pa = train_universal_patch(*target, small, o, a).value();
  const Tensor pb = train_universal_patch(*target, small, o, b).value();
  const Tensor pc = train_universal_patch(*target, small, o, c).value();
  CHECK(pa.storage() == pb.storage());
  CHECK(pa.storage() != pc.storage());
  CHECK(on_domain_grid(pa, image_domain()));
}
