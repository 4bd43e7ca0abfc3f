// Pre-processing defenses (bit-depth reduction, Gaussian noise) as Targets with adaptive
// gradients: BPDA crosses non-differentiable pre-processors as the identity, EOT averages
// over randomized draws, the masked gradient (ste/float straight through a squeezer) is
// refused, randomized defenses reproduce per batch, and defenses nest with ensembles.
#include <doctest/doctest.h>

#include <cmath>
#include <set>

#include "attack_test_support.h"
#include "defense_test_support.h"
#include "defenses/ensemble.h"

using namespace slingshot;
using namespace slingshot::attack_test;

namespace {

double squared_distance(const Tensor& a, const Tensor& b) {
  double sum = 0;
  for (int64_t i = 0; i < a.numel(); ++i) sum += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
  return sum;
}

// Mean squared distance of each gradient from their mean.
double spread(const std::vector<Tensor>& grads) {
  Tensor mean(grads[0].shape(), 0.0f);
  for (const Tensor& g : grads)
    for (int64_t i = 0; i < g.numel(); ++i) mean[i] += g[i] / static_cast<float>(grads.size());
  double sum = 0;
  for (const Tensor& g : grads) sum += squared_distance(g, mean);
  return sum / static_cast<double>(grads.size());
}

}  // namespace

TEST_CASE("bit_depth: 8 bits keep the 8-bit grid, 1 bit maps to {lo, hi}, outputs stay in range") {
  const InputDomain image = image_domain();
  Tensor grid({1, 256});
  for (int k = 0; k < 256; ++k) grid[k] = static_cast<float>(k) / 255.0f;
  const Tensor same = preprocessed("bit_depth:bits=8", grid, image);
  CHECK(same.storage() == grid.storage());

  for (const InputDomain& domain : {image, waveform_domain()}) {
    Tensor x({2, 500});
    Rng rng(4);
    for (int64_t i = 0; i < x.numel(); ++i) x[i] = rng.uniform(domain.lo, domain.hi);
    const Tensor one = preprocessed("bit_depth:bits=1", x, domain);
    for (int64_t i = 0; i < x.numel(); ++i) CHECK((one[i] == domain.lo || one[i] == domain.hi));
    CHECK(std::set<float>(one.storage().begin(), one.storage().end()).size() == 2);
    const Tensor four = preprocessed("bit_depth:bits=4", x, domain);
    const std::set<float> levels(four.storage().begin(), four.storage().end());
    CHECK(levels.size() == 16);
    CHECK(*levels.begin() >= domain.lo);
    CHECK(*levels.rbegin() <= domain.hi);
    for (int64_t i = 0; i < x.numel(); ++i) CHECK(std::abs(four[i] - x[i]) <= (domain.hi - domain.lo) / 30 + 1e-6f);
  }
}

TEST_CASE("gaussian_noise: stays in range, varies per draw, and its backward masks clipped values") {
  auto noise = preprocessor("gaussian_noise:sigma=0.2");
  CHECK(noise->randomized());
  CHECK(noise->differentiable());
  const InputDomain domain = image_domain();
  Tensor x({1, 400}, 0.5f);
  for (int64_t i = 0; i < 100; ++i) x[i] = 0.0f;  // a black edge: about half its draws clip
  Rng rng(9);
  Tensor a, b, dx;
  REQUIRE(noise->apply(x, domain, rng, a).ok());
  REQUIRE(noise->apply(x, domain, rng, b).ok());
  CHECK(a.storage() != b.storage());
  int clipped = 0;
  const Tensor dout(x.shape(), 1.0f);
  REQUIRE(noise->backward(x, a, domain, dout, dx).ok());
  for (int64_t i = 0; i < x.numel(); ++i) {
    CHECK((a[i] >= 0.0f && a[i] <= 1.0f));
    const bool at_edge = a[i] == 0.0f || a[i] == 1.0f;
    CHECK(dx[i] == (at_edge ? 0.0f : 1.0f));
    clipped += at_edge;
  }
  CHECK(clipped > 20);
  CHECK(!preprocessor("gaussian_noise:sigma=0")->randomized());
}

TEST_CASE("bpda: the gradient through bit_depth is the inner target's at the squeezed input, exactly") {
  const auto& f = shapes_fixture();
  auto target = defended_model("bit_depth:bits=4", GradientSource::kBpda);
  auto inner = model_target(f.int8, EngineKind::kInt8Ref);
  const Tensor x = grid_samples(f.test.inputs, 8);
  const Tensor xs = preprocessed("bit_depth:bits=4", x, image_domain());
  REQUIRE(xs.storage() != x.storage());
  Tensor value, grad, inner_value, inner_grad;
  REQUIRE(target->loss_grad(x, ce(first_labels(8)), value, grad).ok());
  REQUIRE(inner->loss_grad(xs, ce(first_labels(8)), inner_value, inner_grad).ok());
  CHECK(value.storage() == inner_value.storage());
  CHECK(grad.storage() == inner_grad.storage());
  Tensor logits, inner_logits;
  REQUIRE(target->predict(x, logits).ok());
  REQUIRE(inner->predict(xs, inner_logits).ok());
  CHECK(logits.storage() == inner_logits.storage());
  CHECK(target->counts().predictions == 8);
  CHECK(target->counts().gradients == 8);
  CHECK(target->gradient_source() == GradientSource::kBpda);
  CHECK(target->inner_gradient_source() == GradientSource::kSte);
  CHECK(!target->randomized());
  CHECK(target->engine_name() == "bit_depth:bits=4 + int8-ref");
}

TEST_CASE("eot: the mean of K single draws from the same stream, with less variance than one draw") {
  const auto& f = shapes_fixture();
  const Tensor x = grid_samples(f.test.inputs, 4);
  const Objective o = ce(first_labels(4));
  const std::string spec = "gaussian_noise:sigma=0.1";
  const int k = 4;
  auto one_draw = defended_model(spec, GradientSource::kBpda);
  auto eot = defended_model(spec, GradientSource::kEot, k);
  CHECK(eot->randomized());

  one_draw->reseed(11);
  Tensor value, grad, mean_value, mean_grad;
  for (int draw = 0; draw < k; ++draw) {
    REQUIRE(one_draw->loss_grad(x, o, value, grad).ok());
    if (draw == 0) {
      mean_value = value;
      mean_grad = grad;
      continue;
    }
    for (int64_t i = 0; i < value.numel(); ++i) mean_value[i] += value[i];
    for (int64_t i = 0; i < grad.numel(); ++i) mean_grad[i] += grad[i];
  }
  for (int64_t i = 0; i < mean_value.numel(); ++i) mean_value[i] /= static_cast<float>(k);
  for (int64_t i = 0; i < mean_grad.numel(); ++i) mean_grad[i] /= static_cast<float>(k);
  eot->reseed(11);
  REQUIRE(eot->loss_grad(x, o, value, grad).ok());
  CHECK(value.storage() == mean_value.storage());
  CHECK(grad.storage() == mean_grad.storage());
  CHECK(squared_distance(grad, mean_grad) == 0);
  CHECK(eot->counts().gradients == k * 4);  // every draw is a gradient paid for

  // Across reseeds, 8-draw EOT gradients scatter about 1/8 as much as single draws.
  auto eot8 = defended_model(spec, GradientSource::kEot, 8);
  std::vector<Tensor> singles, averages;
  for (uint64_t seed = 0; seed < 6; ++seed) {
    one_draw->reseed(seed);
    REQUIRE(one_draw->loss_grad(x, o, value, grad).ok());
    singles.push_back(grad);
    eot8->reseed(100 + seed);
    REQUIRE(eot8->loss_grad(x, o, value, grad).ok());
    averages.push_back(grad);
  }
  CHECK(spread(singles) > 0);
  CHECK(spread(averages) < 0.4 * spread(singles));
}

TEST_CASE("bpda breaks bit-depth squeezing, and the masked ste gradient through it is refused") {
  const auto& f = shapes_fixture();
  auto target = defended_model("bit_depth:bits=5", GradientSource::kBpda);
  auto pgd = named_attack("pgd");
  AttackParams p;
  p.eps = 8.0f / 255;
  p.max_iter = 10;
  const Tensor x = grid_samples(f.test.inputs);
  const BatchOutcome out = run_attack_batch(*pgd, *target, x, f.test.labels, p);
  const AttackSummary s = summarize(out.records);
  MESSAGE("bit_depth:bits=5 clean " << s.clean_accuracy << ", PGD-bpda robust " << s.robust_accuracy);
  CHECK(s.clean_accuracy >= 0.8);
  CHECK(s.robust_accuracy < s.clean_accuracy - 0.3);
  // Random sign noise of the same size is no attack: the drop is the gradient's doing.
  CHECK(accuracy_under_sign_noise(*target, x, f.test.labels, p.eps, 5) > s.robust_accuracy + 0.2);

  for (GradientSource masked : {GradientSource::kSte, GradientSource::kFloat, GradientSource::kFd})
    CHECK(contains(defended_model_error("bit_depth:bits=5", masked), "use bpda"));
}

TEST_CASE("a randomized defense gives identical batches for the same seed") {
  const auto& f = shapes_fixture();
  auto target = defended_model("gaussian_noise:sigma=0.05", GradientSource::kEot, 2);
  auto pgd = named_attack("pgd");
  AttackParams p;
  p.eps = 8.0f / 255;
  p.max_iter = 4;
  p.seed = 3;
  const Tensor x = grid_samples(f.test.inputs, 16);
  const std::span<const int> labels = first_labels(16);
  const BatchOutcome a = run_attack_batch(*pgd, *target, x, labels, p);
  const BatchOutcome b = run_attack_batch(*pgd, *target, x, labels, p);  // the target's stream moved on meanwhile
  CHECK(a.x_adv.storage() == b.x_adv.storage());
  for (size_t i = 0; i < a.records.size(); ++i) {
    CHECK(a.records[i].clean_prediction == b.records[i].clean_prediction);
    CHECK(a.records[i].adversarial_prediction == b.records[i].adversarial_prediction);
  }
  p.seed = 4;
  const BatchOutcome c = run_attack_batch(*pgd, *target, x, labels, p);
  CHECK(c.x_adv.storage() != a.x_adv.storage());
}

TEST_CASE("defenses and ensembles nest, chaining gradients with bpda") {
  const auto& f = shapes_fixture();
  const Tensor x = grid_samples(f.test.inputs, 4);
  const Tensor xs = preprocessed("bit_depth:bits=3", x, image_domain());
  const Objective o = ce(first_labels(4));
  auto plain_ensemble = [&] {
    std::vector<std::unique_ptr<Target>> members;
    members.push_back(model_target(f.int8, EngineKind::kInt8Ref, GradientSource::kSte));
    members.push_back(model_target(f.int8, EngineKind::kInt8Ref, GradientSource::kFloat));
    return make_ensemble_target(std::move(members)).value();
  };
  Tensor want_value, want_grad, value, grad;
  REQUIRE(plain_ensemble()->loss_grad(xs, o, want_value, want_grad).ok());

  // An ensemble of defended models chains through each member's bit-depth squeezer.
  std::vector<std::unique_ptr<Target>> members;
  members.push_back(defended(model_target(f.int8, EngineKind::kInt8Ref, GradientSource::kSte), "bit_depth:bits=3",
                             GradientSource::kBpda));
  members.push_back(defended(model_target(f.int8, EngineKind::kInt8Ref, GradientSource::kFloat), "bit_depth:bits=3",
                             GradientSource::kBpda));
  auto of_defended = make_ensemble_target(std::move(members)).value();
  REQUIRE(of_defended->loss_grad(x, o, value, grad).ok());
  CHECK(value.storage() == want_value.storage());
  CHECK(grad.storage() == want_grad.storage());
  CHECK(of_defended->gradient_source() == GradientSource::kBpda);

  // A defended ensemble squeezes once in front of it.
  auto around = defended(plain_ensemble(), "bit_depth:bits=3", GradientSource::kBpda);
  REQUIRE(around->loss_grad(x, o, value, grad).ok());
  CHECK(value.storage() == want_value.storage());
  CHECK(grad.storage() == want_grad.storage());

  // Randomness propagates through the nesting, so EOT is accepted on the outside.
  std::vector<std::unique_ptr<Target>> noisy;
  for (int m = 0; m < 2; ++m)
    noisy.push_back(defended(model_target(f.int8, EngineKind::kInt8Ref), "gaussian_noise:sigma=0.05", GradientSource::kEot, 2));
  auto noisy_ensemble = make_ensemble_target(std::move(noisy)).value();
  CHECK(noisy_ensemble->randomized());
  auto squeezed_noisy = defended(std::move(noisy_ensemble), "bit_depth:bits=5", GradientSource::kEot, 2);
  CHECK(squeezed_noisy->randomized());
  REQUIRE(squeezed_noisy->loss_grad(x, o, value, grad).ok());
}

TEST_CASE("defense specs and gradient sources: clear errors") {
  CHECK(preprocessor("bit_depth")->spec() == "bit_depth:bits=5");
  CHECK(preprocessor("gaussian_noise:sigma=0.05")->spec() == "gaussian_noise:sigma=0.05");
  CHECK(preprocessor("gaussian_noise:sigma=8/255")->settings().at("sigma") == doctest::Approx(8.0 / 255));
  auto error = [](const std::string& spec) {
    auto p = make_preprocessor(spec);
    REQUIRE(!p.ok());
    return p.status();
  };
  CHECK(contains(error("jpg:quality=75"),
                 "unknown defense 'jpg'; known: bit_depth (bits=5), median_filter (size=2), jpeg (quality=75), "
                 "spatial_smoothing (sigma=1), gaussian_noise (sigma=0.05), randomized_smoothing (sigma=0.25, "
                 "samples=32, alpha=0.001), tv_minimization (keep=0.5, lambda=0.03, iterations=200)"));
  CHECK(contains(error("bit_depth:depth=4"), "unknown key 'depth'"));
  CHECK(contains(error("bit_depth:bits=0"), "bits must be a whole number in 1..8"));
  CHECK(contains(error("bit_depth:bits=9"), "bits must be a whole number in 1..8"));
  CHECK(contains(error("bit_depth:bits=4.5"), "bits must be a whole number in 1..8"));
  CHECK(contains(error("bit_depth:bits=four"), "'four' is not a number"));
  CHECK(contains(error("bit_depth:bits"), "expected key=value, got 'bits'"));
  CHECK(contains(error("bit_depth:"), "expected key=value"));
  CHECK(contains(error("gaussian_noise:sigma=-0.1"), "sigma must be a finite number >= 0"));
  CHECK(contains(error("gaussian_noise:sigma=inf"), "sigma must be a finite number >= 0"));
  CHECK(contains(error("gaussian_noise:sigma=nan"), "sigma must be a finite number >= 0"));

  CHECK(contains(defended_model_error("bit_depth:bits=4", GradientSource::kEot), "none of [bit_depth:bits=4] is randomized"));
  CHECK(contains(defended_model_error("gaussian_noise", GradientSource::kEot, 0), "eot_samples must be >= 1"));
  CHECK(contains(defended_model_error("gaussian_noise", GradientSource::kSte), "takes bpda or eot"));
  auto empty = make_preprocessed_target(model_target(shapes_fixture().int8, EngineKind::kInt8Ref), {}, {});
  CHECK(contains(empty.status(), "at least one pre-processor"));
  // bpda on a randomized defense is one draw per gradient: allowed.
  CHECK(defended_model("gaussian_noise", GradientSource::kBpda)->randomized());
  CHECK(adaptive_gradient_source({}) == GradientSource::kBpda);
}
