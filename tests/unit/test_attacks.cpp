// The attack core: threat-model projections, attack objectives, targets and their
// gradient sources, and the gradient attacks judged on the deployed int8 engine. Each
// attack must beat random noise of the same size, do nothing at eps 0, stay inside the
// threat model, reach targets, and repeat itself exactly for a seed.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "attack_test_support.h"
#include "attacks/evaluate.h"
#include "attacks/gradient_steps.h"
#include "attacks/objective.h"
#include "attacks/target.h"
#include "core/rng.h"
#include "core/thread_pool.h"
#include "model/builders.h"

using namespace slingshot;
using namespace slingshot::attack_test;

namespace {

// The tiny CNN trained on the generated shapes (16x16x3, 4 classes), int8 PTQ.
const ShapesFixture& fixture() { return shapes_fixture(); }

std::unique_ptr<Target> int8_target(GradientSource source = GradientSource::kSte) {
  return model_target(fixture().int8, EngineKind::kInt8Ref, source);
}

// The test inputs snapped to the 8-bit grid (the generator's images are on it already).
Tensor clean_inputs() { return grid_samples(fixture().test.inputs); }

AttackSummary run(const std::string& name, const AttackParams& p, Target& target, Tensor* x_adv = nullptr) {
  auto attack = named_attack(name);
  const BatchOutcome out = run_attack_batch(*attack, target, clean_inputs(), fixture().test.labels, p);
  if (x_adv) *x_adv = out.x_adv;
  return summarize(out.records);
}

// Accuracy on the deployed engine under random sign noise of Linf size eps.
double noise_accuracy(Target& target, float eps) {
  return accuracy_under_sign_noise(target, clean_inputs(), fixture().test.labels, eps, 99);
}

}  // namespace

TEST_CASE("threat model: projections keep every norm bound, the range and the grid") {
  SUBCASE("L1 projection is the Euclidean one (Duchi et al.)") {
    Tensor x0({1, 3}, 0.0f), x({1, 3}, std::vector<float>{3.0f, 1.0f, -0.5f});
    project(x, x0, Norm::kL1, 2.0f, InputDomain{-10.0f, 10.0f, 0.0f}, false);
    // theta = 1: [3, 1, -0.5] -> [2, 0, 0].
    CHECK(x[0] == doctest::Approx(2.0f));
    CHECK(x[1] == doctest::Approx(0.0f));
    CHECK(x[2] == doctest::Approx(0.0f));
  }
  SUBCASE("L0 keeps the eps largest changes") {
    Tensor x0({1, 4}, 0.5f), x({1, 4}, std::vector<float>{0.6f, 0.1f, 0.55f, 0.9f});
    project(x, x0, Norm::kL0, 2.0f, image_domain(), false);
    CHECK(x[0] == 0.5f);
    CHECK(x[1] == doctest::Approx(0.1f));
    CHECK(x[2] == 0.5f);
    CHECK(x[3] == doctest::Approx(0.9f));
  }
  SUBCASE("random points land inside every ball, on the grid") {
    Rng rng(3);
    const InputDomain d = image_domain();
    for (Norm norm : {Norm::kLinf, Norm::kL2, Norm::kL1, Norm::kL0}) {
      const float eps = norm == Norm::kLinf ? 4.0f / 255 : norm == Norm::kL2 ? 0.3f : norm == Norm::kL1 ? 2.0f : 5.0f;
      for (int trial = 0; trial < 20; ++trial) {
        Tensor x0({2, 64}), x({2, 64});
        for (int64_t i = 0; i < x0.numel(); ++i) {
          x0[i] = static_cast<float>(rng.below(256)) / 255.0f;
          x[i] = x0[i] + rng.uniform(-0.5f, 0.5f);
        }
        project(x, x0, norm, eps, d, true);
        CHECK(on_domain_grid(x, d));
        for (int s = 0; s < 2; ++s) {
          const Distortion dist = distortion(x.data() + s * 64, x0.data() + s * 64, 64);
          CHECK(distortion_norm(dist, norm) <= eps * (1 + 1e-5) + 1e-6);
        }
      }
    }
  }
  SUBCASE("a non-finite value projects back to x0, in every norm") {
    const float inf = std::numeric_limits<float>::infinity();
    for (Norm norm : {Norm::kLinf, Norm::kL2, Norm::kL1, Norm::kL0}) {
      CAPTURE(static_cast<int>(norm));
      Tensor x0({1, 4}, 0.25f), x({1, 4}, std::vector<float>{std::nanf(""), inf, -inf, 0.25f});
      project(x, x0, norm, norm == Norm::kL0 ? 2.0f : 0.1f, image_domain(), false);
      for (int64_t i = 0; i < 4; ++i) CHECK(x[i] == 0.25f);
    }
  }
  SUBCASE("batches split over threads project exactly as on one") {
    // 40 samples of 3072 values pass kMinParallelElements, so 2 threads split them.
    Rng rng(5);
    Tensor x0({40, 3072}), x({40, 3072});
    for (int64_t i = 0; i < x0.numel(); ++i) {
      x0[i] = static_cast<float>(rng.below(256)) / 255.0f;
      x[i] = x0[i] + rng.uniform(-0.1f, 0.1f);
    }
    for (Norm norm : {Norm::kLinf, Norm::kL2}) {
      Tensor one = x, two = x;
      set_num_threads(1);
      project(one, x0, norm, 0.03f, image_domain(), true);
      set_num_threads(2);
      project(two, x0, norm, 0.03f, image_domain(), true);
      set_num_threads(1);
      CHECK(std::memcmp(one.data(), two.data(), one.numel() * sizeof(float)) == 0);
      CHECK(on_domain_grid(two, image_domain()));
    }
  }
  SUBCASE("a grid value that would leave the L2 ball rounds toward x0") {
    // Two values each 0.6 steps away: nearest rounding gives L2 = sqrt(2) steps > eps = 1.2 steps.
    const float step = 1.0f / 255;
    Tensor x0({1, 2}, 0.5f - 0.5f / 255), x({1, 2});
    snap_to_domain(x0, image_domain());
    x[0] = x0[0] + 0.6f * step;
    x[1] = x0[1] + 0.6f * step;
    project(x, x0, Norm::kL2, 1.2f * step, image_domain(), true);
    CHECK(x[0] == x0[0]);
    CHECK(x[1] == x0[1]);
  }
  CHECK(parse_eps("8/255").value() == doctest::Approx(8.0 / 255));
  CHECK(!parse_eps("8/0").ok());
  CHECK(!parse_eps("eight").ok());
  CHECK(parse_norm("l2").value() == Norm::kL2);
  CHECK(contains(parse_norm("3").status(), "unknown norm '3'"));
}

TEST_CASE("attack objectives: gradients match finite differences, targeted ones point at the target") {
  Rng rng(5);
  Tensor z({3, 5});
  for (int64_t i = 0; i < z.numel(); ++i) z[i] = rng.uniform(-3.0f, 3.0f);
  const std::vector<int> labels{0, 2, 4}, targets{1, 3, 0};
  for (LossKind kind : {LossKind::kCrossEntropy, LossKind::kCwMargin, LossKind::kDlr, LossKind::kProbability}) {
    for (bool targeted : {false, true}) {
      CAPTURE(loss_name(kind));
      CAPTURE(targeted);
      Objective o{kind, labels, targeted ? std::span<const int>(targets) : std::span<const int>()};
      Tensor v, g;
      REQUIRE(attack_objective(z, o, v, &g).ok());
      for (int64_t i = 0; i < z.numel(); ++i) {
        Tensor zp = z, zm = z, vp, vm;
        const float h = 1e-3f;
        zp[i] += h;
        zm[i] -= h;
        REQUIRE(attack_objective(zp, o, vp, nullptr).ok());
        REQUIRE(attack_objective(zm, o, vm, nullptr).ok());
        const int64_t row = i / 5;
        CHECK(g[i] == doctest::Approx((vp[row] - vm[row]) / (2 * h)).epsilon(2e-2).scale(1.0));
      }
    }
  }
  // Raising the target logit raises every targeted objective.
  for (LossKind kind : {LossKind::kCrossEntropy, LossKind::kCwMargin, LossKind::kDlr, LossKind::kProbability}) {
    Objective o{kind, labels, targets};
    Tensor v, g;
    REQUIRE(attack_objective(z, o, v, &g).ok());
    for (int r = 0; r < 3; ++r) CHECK(g[r * 5 + targets[r]] > 0);
  }
  Tensor v;
  const std::vector<int> bad{7, 0, 0};
  CHECK(contains(attack_objective(z, Objective{LossKind::kCrossEntropy, bad, {}}, v, nullptr), "class 7 is outside [0, 5)"));
  Tensor two({1, 2});
  const std::vector<int> one{0};
  CHECK(contains(attack_objective(two, Objective{LossKind::kDlr, one, {}}, v, nullptr), "DLR loss needs at least 3"));
}

TEST_CASE("targets: attack gradients through Winograd convolutions match the exact gradient") {
  // Attack gradients run 3x3 stride-1 convolutions by Winograd (KernelPath::kSimdWinograd);
  // on ResNet-8, where most convolutions are such, they must still be the model's gradient:
  // against the graph's double-precision pass, cosine ~1 and almost every sign the same.
  QuantizedModel model;
  auto graph = build_resnet8(10, {32, 32, 3});
  REQUIRE(graph.ok());
  model.graph = std::move(*graph);
  init_params(model.graph, 17);
  ModelTargetOptions o;
  o.engine = EngineKind::kFloat;
  o.source = GradientSource::kFloat;
  auto target = make_model_target(model, o);
  REQUIRE(target.ok());
  Rng rng(3);
  Tensor x({3, 32, 32, 3});
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = rng.uniform(0.0f, 1.0f);
  const std::vector<int> labels{1, 4, 7};
  Tensor value, grad;
  REQUIRE((*target)->loss_grad(x, Objective{LossKind::kCrossEntropy, labels, {}}, value, grad).ok());

  TensorD xd(x.shape());
  for (int64_t i = 0; i < x.numel(); ++i) xd[i] = x[i];
  Workspace<double> ws;
  REQUIRE(model.graph.forward(xd, ws, Mode::kInference).ok());
  TensorD dlogits(ws.output().shape());
  for (int64_t s = 0; s < 3; ++s) {  // d(cross-entropy)/d(logits) = softmax - one-hot
    const double* z = ws.output().data() + s * 10;
    double top = z[0], sum = 0;
    for (int k = 1; k < 10; ++k) top = std::max(top, z[k]);
    for (int k = 0; k < 10; ++k) sum += std::exp(z[k] - top);
    for (int k = 0; k < 10; ++k) dlogits[s * 10 + k] = std::exp(z[k] - top) / sum - (k == labels[s] ? 1.0 : 0.0);
  }
  REQUIRE(model.graph.backward(dlogits, ws, /*param_grads=*/false).ok());
  const TensorD& exact = ws.input_grad();
  double dot = 0, n1 = 0, n2 = 0;
  int64_t same_sign = 0, counted = 0;
  double largest = 0;
  for (int64_t i = 0; i < exact.numel(); ++i) largest = std::max(largest, std::fabs(exact[i]));
  for (int64_t i = 0; i < exact.numel(); ++i) {
    dot += grad[i] * exact[i];
    n1 += static_cast<double>(grad[i]) * grad[i];
    n2 += exact[i] * exact[i];
    if (std::fabs(exact[i]) > 1e-4 * largest) {  // a sign below float resolution is noise
      ++counted;
      same_sign += (grad[i] > 0) == (exact[i] > 0);
    }
  }
  CHECK(dot / std::sqrt(n1 * n2) > 0.99999);
  CHECK(counted > exact.numel() * 9 / 10);
  CHECK(static_cast<double>(same_sign) / static_cast<double>(counted) > 0.999);
}

namespace {

// A ResNet-8 for 32x32 RGB with seeded random weights, as the float master of `model`.
void random_resnet8(QuantizedModel& model, uint64_t seed) {
  auto graph = build_resnet8(10, {32, 32, 3});
  REQUIRE(graph.ok());
  model.graph = std::move(*graph);
  init_params(model.graph, seed);
}

}  // namespace

TEST_CASE("targets: chunked attack gradients equal one whole-batch pass bit for bit, on any thread count") {
  // Gradient batches run in chunks of samples (8 at a time on ResNet-8), in parallel on
  // the thread pool. Every sample must get exactly the whole-batch pass's bits.
  QuantizedModel model;
  random_resnet8(model, 23);
  Rng rng(5);
  const int64_t n = 37;  // chunks of 7 and 8 samples
  Tensor x({n, 32, 32, 3});
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = rng.uniform(0.0f, 1.0f);
  std::vector<int> labels(static_cast<size_t>(n));
  for (int& y : labels) y = static_cast<int>(rng.below(10));
  const Objective objective{LossKind::kCrossEntropy, labels, {}};

  Workspace<float> ws;  // the whole batch in one pass, as the kernels see it
  REQUIRE(model.graph.forward(x, ws, Mode::kInference, KernelPath::kSimdWinograd).ok());
  Tensor whole_value, dlogits;
  REQUIRE(attack_objective(ws.output(), objective, whole_value, &dlogits).ok());
  REQUIRE(model.graph.backward(dlogits, ws, /*param_grads=*/false, KernelPath::kSimdWinograd).ok());
  const Tensor whole_grad = ws.input_grad();

  ModelTargetOptions o;
  o.engine = EngineKind::kFloat;
  o.source = GradientSource::kFloat;
  auto target = make_model_target(model, o);
  REQUIRE(target.ok());
  for (int threads : {1, 2, 1}) {
    INFO("threads " << threads);
    set_num_threads(threads);
    Tensor value, grad;
    REQUIRE((*target)->loss_grad(x, objective, value, grad).ok());
    REQUIRE(grad.shape() == whole_grad.shape());
    CHECK(std::memcmp(grad.data(), whole_grad.data(), grad.numel() * sizeof(float)) == 0);
    CHECK(std::memcmp(value.data(), whole_value.data(), value.numel() * sizeof(float)) == 0);
  }
  set_num_threads(1);
  // A label list of the wrong length is still refused, not read past its end.
  const std::vector<int> short_labels(3, 0);
  Tensor value, grad;
  CHECK_FALSE((*target)->loss_grad(x, Objective{LossKind::kCrossEntropy, short_labels, {}}, value, grad).ok());
}

TEST_CASE("graph: a Winograd pass after a weight edit uses the new filter, not a cached transform") {
  QuantizedModel model;
  random_resnet8(model, 29);
  Rng rng(8);
  Tensor x({2, 32, 32, 3});
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = rng.uniform(0.0f, 1.0f);
  Workspace<float> reused;
  REQUIRE(model.graph.forward(x, reused, Mode::kInference, KernelPath::kSimdWinograd).ok());
  const Tensor before = reused.output();
  // Edit one tap of every 3x3 convolution with 16+ channels (the ones Winograd runs).
  int edited = 0;
  for (int i = 1; i < model.graph.num_nodes(); ++i) {
    Layer* layer = model.graph.node(i).layer.get();
    if (std::string(layer->type()) != "conv2d") continue;
    Tensor& w = layer->params()[0].value;
    if (w.dim(1) != 3 || w.dim(3) < 16) continue;
    w[w.numel() / 2] += 0.5f;
    ++edited;
  }
  REQUIRE(edited >= 3);
  REQUIRE(model.graph.forward(x, reused, Mode::kInference, KernelPath::kSimdWinograd).ok());
  Workspace<float> fresh;
  REQUIRE(model.graph.forward(x, fresh, Mode::kInference, KernelPath::kSimdWinograd).ok());
  CHECK(std::memcmp(reused.output().data(), fresh.output().data(), fresh.output().numel() * sizeof(float)) == 0);
  CHECK(std::memcmp(before.data(), fresh.output().data(), fresh.output().numel() * sizeof(float)) != 0);
}

TEST_CASE("targets: ste and float gradients agree in direction; fd sees the integer model's flat steps") {
  auto ste = int8_target(GradientSource::kSte);
  auto flt = int8_target(GradientSource::kFloat);
  const Tensor x = clean_inputs();
  Tensor x4({4, 16, 16, 3});
  std::copy(x.data(), x.data() + x4.numel(), x4.data());
  const std::vector<int> labels(fixture().test.labels.begin(), fixture().test.labels.begin() + 4);
  const Objective o{LossKind::kCrossEntropy, labels, {}};
  Tensor v1, g1, v2, g2;
  REQUIRE(ste->loss_grad(x4, o, v1, g1).ok());
  REQUIRE(flt->loss_grad(x4, o, v2, g2).ok());
  double dot = 0, n1 = 0, n2 = 0;
  for (int64_t i = 0; i < g1.numel(); ++i) {
    dot += static_cast<double>(g1[i]) * g2[i];
    n1 += static_cast<double>(g1[i]) * g1[i];
    n2 += static_cast<double>(g2[i]) * g2[i];
  }
  CHECK(dot / std::sqrt(n1 * n2) > 0.5);
  CHECK(ste->counts().gradients == 4);
  CHECK(ste->counts().predictions == 0);

  // fd on the int8 engine: one grid step moves few roundings, so most components are 0.
  auto fd = int8_target(GradientSource::kFd);
  Tensor x1({1, 16, 16, 3}), v3, g3;
  std::copy(x.data(), x.data() + x1.numel(), x1.data());
  const std::vector<int> one{fixture().test.labels[0]};
  REQUIRE(fd->loss_grad(x1, Objective{LossKind::kCrossEntropy, one, {}}, v3, g3).ok());
  CHECK(fd->counts().fd_evaluations == 1 + 2 * 16 * 16 * 3);
  CHECK(fd->last_zero_density() > 0.3);
  CHECK(fd->last_zero_density() < 1.0);
  CHECK(v3[0] == doctest::Approx(v1[0]).epsilon(0.3));

  ModelTargetOptions bad;
  bad.source = GradientSource::kBpda;
  CHECK(contains(make_model_target(fixture().int8, bad).status(), "this target has none"));
  Tensor wrong({1, 8, 8, 3}), logits;
  CHECK(contains(ste->predict(wrong, logits), "does not match the model input"));
}

TEST_CASE("gradient attacks beat random noise of the same size on the int8 engine, and do nothing at eps 0") {
  auto target = int8_target();
  const float eps = 8.0f / 255;
  const double noise = noise_accuracy(*target, eps);
  for (const char* name : {"fgsm", "bim", "pgd", "mifgsm"}) {
    CAPTURE(name);
    AttackParams p;
    p.eps = eps;
    p.max_iter = 10;
    p.seed = 4;
    const AttackSummary s = run(name, p, *target);
    CHECK(s.clean_accuracy >= 0.9);
    CHECK(s.robust_accuracy < noise - 0.2);
    CHECK(s.success_rate > 0.2);
    CHECK(s.mean_distortion.linf <= eps * (1 + 1e-5));

    AttackParams zero = p;
    zero.eps = 0;
    const AttackSummary z = run(name, zero, *target);
    CHECK(z.robust_accuracy == doctest::Approx(z.clean_accuracy));
    CHECK(z.success_rate == 0.0);
  }
}

TEST_CASE("PGD: L2 and restarts stay in their balls, targeted mode reaches the target, seeds repeat") {
  auto target = int8_target();
  AttackParams l2;
  l2.norm = Norm::kL2;
  l2.eps = 1.5f;
  l2.max_iter = 10;
  l2.num_random_init = 2;
  l2.seed = 11;
  Tensor a, b;
  const AttackSummary s = run("pgd", l2, *target, &a);
  CHECK(s.success_rate > 0.5);
  CHECK(s.mean_distortion.l2 <= 1.5 * (1 + 1e-5));
  CHECK(on_domain_grid(a, image_domain()));
  run("pgd", l2, *target, &b);
  CHECK(a.storage() == b.storage());

  AttackParams t;
  t.eps = 24.0f / 255;
  t.max_iter = 20;
  t.targeted = true;
  t.seed = 2;
  auto attack = make_attack("pgd").value();
  auto out = attack_batch(*attack, *target, clean_inputs(), fixture().test.labels, 0, t);
  REQUIRE(out.ok());
  for (const ExampleRecord& r : out->records) CHECK(r.target != r.label);
  const TargetedTally tally = tally_targets(out->records);
  const int attacked = tally.attacked, reached = tally.reached;
  CHECK(attacked > 40);
  CHECK(reached >= attacked * 8 / 10);
  t.target = 2;
  out = attack_batch(*attack, *target, clean_inputs(), fixture().test.labels, 0, t);
  REQUIRE(out.ok());
  for (const ExampleRecord& r : out->records) CHECK(r.target == 2);
}

TEST_CASE("attack parameters: every bad value gets an error naming it") {
  auto target = int8_target();
  auto pgd = make_attack("pgd").value();
  auto mi = make_attack("mifgsm").value();
  const Tensor x = clean_inputs();
  auto err = [&](Attack& a, const AttackParams& p, std::span<const int> labels) {
    return attack_batch_error(a, *target, x, labels, p);
  };
  const auto& labels = fixture().test.labels;
  AttackParams p;
  p.eps = -0.1f;
  CHECK(contains(err(*pgd, p, labels), "eps must be a finite number >= 0"));
  p = {};
  p.norm = Norm::kL1;
  CHECK(contains(err(*mi, p, labels), "does not support norm 1"));
  p = {};
  p.extra["decay"] = 0.0;
  CHECK(contains(err(*mi, p, labels), "decay must be > 0"));
  p = {};
  p.extra["momentum"] = 1.0;
  CHECK(contains(err(*mi, p, labels), "has no setting 'momentum' (it takes: decay)"));
  p = {};
  p.max_queries = 0;
  CHECK(contains(err(*pgd, p, labels), "query budget"));
  p = {};
  p.targeted = true;
  p.target = 9;
  CHECK(contains(err(*pgd, p, labels), "target class 9 is outside [0, 4)"));
  std::vector<int> bad(labels.begin(), labels.end());
  bad[3] = 4;
  CHECK(contains(err(*pgd, {}, bad), "label 4 of sample 3 is outside [0, 4)"));
  Tensor off = x;
  off[0] += 0.001f;
  CHECK(contains(attack_batch_error(*pgd, *target, off, labels, {}), "not on the input grid"));
  CHECK(contains(make_attack("deepfoo").status(), "unknown attack 'deepfoo'"));
}

TEST_CASE("the evaluation refuses an attack that leaves the threat model") {
  struct Cheat final : Attack {
    const char* name() const override { return "cheat"; }
    AttackFamily family() const override { return AttackFamily::kWhiteBox; }
    std::vector<Norm> norms() const override { return {Norm::kLinf}; }
    Status run(Target&, const AttackBatch& b, const AttackParams&, Rng&, Tensor& x_adv) override {
      x_adv = b.x0;
      for (int64_t i = 0; i < x_adv.numel(); ++i) x_adv[i] = x_adv[i] > 0.5f ? 0.0f : 1.0f;
      return Status::Ok();
    }
  } cheat;
  auto target = int8_target();
  CHECK(contains(attack_batch_error(cheat, *target, clean_inputs(), fixture().test.labels, {}), "left the eps-ball"));
}

TEST_CASE("autoattack: at least as strong as APGD-CE, and its sanity checks catch masked gradients") {
  auto target = int8_target();
  AttackParams p;
  p.eps = 6.0f / 255;
  p.max_iter = 10;
  p.max_queries = 300;
  p.extra["n_target_classes"] = 2;
  const AttackSummary aa = run("autoattack", p, *target);
  AttackParams ce = p;
  ce.extra.clear();
  const AttackSummary apgd = run("apgd-ce", ce, *target);
  CHECK(aa.robust_accuracy <= apgd.robust_accuracy);
  CHECK(aa.robust_accuracy < noise_accuracy(*target, p.eps) - 0.3);

  // A target whose gradients are all zero (perfect gradient masking): the white-box stages
  // fail, Square does not, and both checks say so.
  struct Masked final : ForwardingTarget {
    using ForwardingTarget::ForwardingTarget;
    GradientSource gradient_source() const override { return GradientSource::kSte; }
    Status loss_grad_uncounted(const Tensor& x, const Objective& o, Tensor& value, Tensor& grad) override {
      SLING_RETURN_IF_ERROR(inner().loss_grad(x, o, value, grad));
      grad.fill(0.0f);
      return Status::Ok();
    }
  } masked(int8_target());
  AttackParams big = p;
  big.eps = 16.0f / 255;
  big.max_queries = 1000;
  auto attack = make_attack("autoattack").value();
  auto out = attack_batch(*attack, masked, clean_inputs(), fixture().test.labels, 0, big);
  REQUIRE_MESSAGE(out.ok(), out.status().message());
  std::string notes;
  for (const std::string& n : out->notes) notes += n + "\n";
  CAPTURE(notes);
  CHECK(notes.find("gradient masking") != std::string::npos);
  CHECK(notes.find("exactly zero") != std::string::npos);
  CHECK(summarize(out->records).success_rate > 0.3);
  AttackParams targeted = p;
  targeted.targeted = true;
  CHECK(contains(attack_batch_error(*attack, *target, clean_inputs(), fixture().test.labels, targeted),
                 "autoattack is untargeted"));
}
