// An audit of the adaptive gradients of the pre-processing defenses the study evaluates
// (DESIGN.md, Defenses): each defended target's loss_grad is checked against the defended
// pipeline itself, in the float domain (the shapes model on the float engine with float
// gradients, so nothing but the defense can mask them).
//   - Differentiable defenses (spatial_smoothing, median_filter's exact sub-gradient,
//     gaussian_noise with its draws held fixed, EOT averaged over them) must agree with
//     central finite differences of the defended loss: cosine near 1.
//   - Non-differentiable ones (bit_depth, jpeg, tv_minimization) are piecewise constant,
//     so finite differences are zero or noise there; BPDA's identity must instead be an
//     ascent direction of the defended loss at attack scale: an eps-step along its sign
//     raises the defended loss, and more than a random sign step does.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "attack_test_support.h"
#include "defense_test_support.h"

using namespace slingshot;
using namespace slingshot::attack_test;

namespace {

constexpr uint64_t kDrawSeed = 11;  // the defended target's draws, restarted per evaluation

std::unique_ptr<Target> float_defended(const std::string& spec, GradientSource source, int eot_samples = 4) {
  return defended(model_target(shapes_fixture().int8, EngineKind::kFloat, GradientSource::kFloat), spec, source,
                  eot_samples);
}

// The per-sample defended loss at x, with the draws restarted (common random numbers).
std::vector<double> defended_loss(Target& t, const Tensor& x, std::span<const int> labels) {
  Tensor value, grad;
  t.reseed(kDrawSeed);
  REQUIRE(t.loss_grad(x, ce(labels), value, grad).ok());
  return {value.storage().begin(), value.storage().end()};
}

// Off-grid values in [0.2, 0.8]: no ties in a median window, no clipping of blur or noise
// of small sigma.
Tensor continuous_images(int64_t n, uint64_t seed) {
  const Tensor& all = shapes_fixture().test.inputs;
  Shape s = all.shape();
  s[0] = n;
  Tensor x(s);
  Rng rng(seed);
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = 0.2f + 0.6f * all[i] + rng.uniform(-0.05f, 0.05f);
  return x;
}

double cosine(const float* a, const float* b, int64_t n) {
  double ab = 0, aa = 0, bb = 0;
  for (int64_t i = 0; i < n; ++i) ab += double(a[i]) * b[i], aa += double(a[i]) * a[i], bb += double(b[i]) * b[i];
  return aa > 0 && bb > 0 ? ab / std::sqrt(aa * bb) : 0;
}

// Sign of each value (0 stays 0), or a random sign where `random`.
Tensor sign_step(const Tensor& g, float eps, bool random, uint64_t seed) {
  Tensor d(g.shape());
  Rng rng(seed);
  for (int64_t i = 0; i < g.numel(); ++i)
    d[i] = eps * (random ? (rng.uniform() < 0.5f ? -1.0f : 1.0f) : static_cast<float>((g[i] > 0) - (g[i] < 0)));
  return d;
}

}  // namespace

TEST_CASE("adaptive gradients of differentiable defenses agree with finite differences of the defended loss") {
  const int64_t n = 2;
  const Tensor x = continuous_images(n, 5);
  const std::span<const int> labels = first_labels(n);
  const int64_t per = x.numel() / n;
  struct Case {
    std::string spec;
    GradientSource source;
  };
  for (const Case& c : {Case{"spatial_smoothing:sigma=1", GradientSource::kBpda},
                        Case{"median_filter:size=2", GradientSource::kBpda},
                        Case{"median_filter:size=3", GradientSource::kBpda},
                        Case{"gaussian_noise:sigma=0.02", GradientSource::kEot}}) {
    CAPTURE(c.spec);
    auto t = float_defended(c.spec, c.source);
    Tensor value, grad;
    t->reseed(kDrawSeed);
    REQUIRE(t->loss_grad(x, ce(labels), value, grad).ok());
    // The full central-difference gradient, coordinate by coordinate.
    const float h = 5e-4f;
    Tensor fd(x.shape(), 0.0f), xp = x, xm = x;
    for (int64_t i = 0; i < per; ++i) {
      for (int64_t s = 0; s < n; ++s) xp[s * per + i] += h, xm[s * per + i] -= h;
      const std::vector<double> up = defended_loss(*t, xp, labels), down = defended_loss(*t, xm, labels);
      for (int64_t s = 0; s < n; ++s) {
        fd[s * per + i] = static_cast<float>((up[s] - down[s]) / (2 * h));
        xp[s * per + i] = xm[s * per + i] = x[s * per + i];
      }
    }
    for (int64_t s = 0; s < n; ++s) {
      const double cos = cosine(grad.data() + s * per, fd.data() + s * per, per);
      MESSAGE(c.spec << " sample " << s << ": cosine(adaptive, finite differences) = " << cos);
      CHECK(cos > 0.99);
    }
    if (c.spec.rfind("median_filter", 0) == 0) {
      // What BPDA's identity would give (the model's gradient at the filtered input) points
      // elsewhere: the exact sub-gradient is the better attack direction.
      auto inner = model_target(shapes_fixture().int8, EngineKind::kFloat, GradientSource::kFloat);
      Tensor inner_value, identity;
      REQUIRE(inner->loss_grad(preprocessed(c.spec, x, image_domain()), ce(labels), inner_value, identity).ok());
      for (int64_t s = 0; s < n; ++s) {
        const double cos = cosine(identity.data() + s * per, fd.data() + s * per, per);
        MESSAGE(c.spec << " sample " << s << ": cosine(identity BPDA, finite differences) = " << cos);
        CHECK(cos < 0.9);
      }
    }
  }
}

TEST_CASE("median_filter backward: every output's gradient lands on its window, split among ties") {
  auto median = preprocessor("median_filter:size=2");
  const InputDomain image = image_domain();
  // A flat plane ties every window: each output spreads its gradient over its 4 values, so
  // an interior value (in 4 windows) receives exactly 1 from an all-ones dout.
  const Tensor flat({1, 6, 5, 2}, 0.4f);
  Tensor out, dx;
  Rng rng(0);
  REQUIRE(median->apply(flat, image, rng, out).ok());
  REQUIRE(median->backward(flat, out, image, Tensor(flat.shape(), 1.0f), dx).ok());
  for (int64_t i = 1; i < 5; ++i)
    for (int64_t j = 1; j < 4; ++j)
      for (int64_t c = 0; c < 2; ++c) CHECK(dx[(i * 5 + j) * 2 + c] == doctest::Approx(1.0));
  // Whatever the input, each output hands on all of its gradient: the sums match.
  for (const Shape& shape : {Shape{2, 7, 6, 3}, Shape{3, 40}}) {
    Tensor x = grid_samples(random_direction(shape, 3));  // on the grid: many ties
    for (float& v : x.storage()) v = std::abs(v);
    const Tensor dout = random_direction(shape, 4);
    REQUIRE(median->apply(x, image, rng, out).ok());
    REQUIRE(median->backward(x, out, image, dout, dx).ok());
    double in = 0, back = 0;
    for (int64_t i = 0; i < x.numel(); ++i) in += dout[i], back += dx[i];
    CHECK(back == doctest::Approx(in).epsilon(1e-4));
  }
  Tensor wrong({1, 3, 3, 1}, 0.0f);
  REQUIRE(median->apply(wrong, image, rng, out).ok());
  CHECK(!median->backward(wrong, out, image, Tensor({1, 9}, 1.0f), dx).ok());
}

TEST_CASE("BPDA through non-differentiable defenses is an ascent direction of the defended loss") {
  const auto& f = shapes_fixture();
  const int64_t n = 32;
  const Tensor x = grid_samples(f.test.inputs, n);
  const std::span<const int> labels = first_labels(n);
  const float eps = 8.0f / 255;
  for (const std::string spec : {"bit_depth:bits=4", "jpeg:quality=75", "tv_minimization:iterations=60"}) {
    CAPTURE(spec);
    std::vector<std::unique_ptr<Preprocessor>> one;
    one.push_back(preprocessor(spec));
    CHECK(!one[0]->differentiable());
    auto t = float_defended(spec, adaptive_gradient_source(one));
    Tensor value, grad;
    t->reseed(kDrawSeed);
    REQUIRE(t->loss_grad(x, ce(labels), value, grad).ok());
    auto mean_loss_after = [&](const Tensor& step) {
      Tensor moved = x;
      for (int64_t i = 0; i < x.numel(); ++i) moved[i] = std::clamp(x[i] + step[i], 0.0f, 1.0f);
      double sum = 0;
      for (double v : defended_loss(*t, moved, labels)) sum += v;
      return sum / n;
    };
    const double before = mean_loss_after(Tensor(x.shape(), 0.0f));
    const double along = mean_loss_after(sign_step(grad, eps, false, 0));
    double random = 0;
    for (uint64_t seed = 1; seed <= 3; ++seed) random += mean_loss_after(sign_step(grad, eps, true, seed)) / 3;
    MESSAGE(spec << ": mean defended loss " << before << ", after a BPDA sign step " << along << ", after random ones "
                 << random);
    CHECK(along > before + 0.1);
    CHECK(along - before > 3 * std::abs(random - before));
  }
}
