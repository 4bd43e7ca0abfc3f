// The transforming pre-processing defenses: median filtering, JPEG, Gaussian blur and
// total-variation minimization. Exact outputs on hand-made inputs, the blur's backward
// against finite differences, JPEG at quality 100 on the trained shapes model, the TV
// rebuild's analytic solution, reproducible draws, clear errors, and each one behind a
// target with the gradient source DESIGN.md prescribes; and the thermometer encoding
// function, which is no pre-processor.
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <vector>

#include "attack_test_support.h"
#include "defense_test_support.h"
#include "defenses/thermometer.h"

using namespace slingshot;
using namespace slingshot::attack_test;

namespace {

// A [1, rows, cols, 1] image from its values in row order.
Tensor plane(int64_t rows, int64_t cols, std::vector<float> values) { return Tensor({1, rows, cols, 1}, std::move(values)); }

// The values of `x` divided by 10: hand-made patches are written in tenths.
Tensor tenths(Tensor x) {
  for (float& v : x.storage()) v /= 10;
  return x;
}

// Unbounded and image ranges for the errors that depend on the range.
const InputDomain kUnbounded{-INFINITY, INFINITY, 0};

double mean_abs_difference(const Tensor& a, const Tensor& b) {
  double sum = 0;
  for (int64_t i = 0; i < a.numel(); ++i) sum += std::abs(static_cast<double>(a[i]) - b[i]);
  return sum / static_cast<double>(a.numel());
}

bool in_domain(const Tensor& x, const InputDomain& d) {
  for (float v : x.storage())
    if (!(v >= d.lo && v <= d.hi)) return false;
  return true;
}

// The normalized 1-D Gaussian weights for offsets -r..r, r = ceil(3 sigma), from the formula.
std::vector<double> gaussian_weights(double sigma) {
  const int r = static_cast<int>(std::ceil(3 * sigma));
  std::vector<double> g;
  double total = 0;
  for (int t = -r; t <= r; ++t) total += g.emplace_back(std::exp(-t * t / (2 * sigma * sigma)));
  for (double& v : g) v /= total;
  return g;
}

Tensor random_values(const Shape& shape, float lo, float hi, uint64_t seed) {
  Tensor x(shape);
  Rng rng(seed);
  for (float& v : x.storage()) v = rng.uniform(lo, hi);
  return x;
}

}  // namespace

TEST_CASE("median_filter: the median of a known 3x3 patch, per channel, with reflected borders") {
  const InputDomain image = image_domain();
  const Tensor patch = tenths(plane(3, 3, {1, 2, 3, 4, 5, 6, 7, 8, 9}));
  // Size 3 reflects the edge row and column: the corner's window is 1 1 2 / 1 1 2 / 4 4 5.
  CHECK(preprocessed("median_filter:size=3", patch, image).storage() ==
        tenths(plane(3, 3, {2, 3, 3, 4, 5, 6, 7, 7, 8})).storage());
  // Size 2 reaches up and left (offsets -1..0, as scipy anchors even windows) and takes the
  // upper of the two middle values: (1, 1) reads 1 2 4 5 -> 4. Anchored down-right it would
  // read 5 6 8 9 at (1, 1) and 5 at (0, 0).
  CHECK(preprocessed("median_filter:size=2", patch, image).storage() ==
        tenths(plane(3, 3, {1, 2, 3, 4, 4, 5, 7, 7, 8})).storage());

  // Channels are filtered apart: channel 1 holds 1 - channel 0, so its medians mirror.
  Tensor two({1, 3, 3, 2});
  for (int64_t i = 0; i < 9; ++i) two[2 * i] = patch[i], two[2 * i + 1] = 1.0f - patch[i];
  const Tensor both = preprocessed("median_filter:size=3", two, image);
  const Tensor want = tenths(plane(3, 3, {2, 3, 3, 4, 5, 6, 7, 7, 8}));
  for (int64_t i = 0; i < 9; ++i) {
    CHECK(both[2 * i] == want[i]);
    CHECK(both[2 * i + 1] == 1.0f - want[i]);
  }

  // Waveforms [N, samples] take a 1-D window of `size` samples.
  const Tensor wave({1, 6}, std::vector<float>{0.1f, 0.9f, 0.2f, 0.8f, 0.3f, 0.7f});
  CHECK(preprocessed("median_filter:size=3", wave, waveform_domain()).storage() ==
        std::vector<float>{0.1f, 0.2f, 0.8f, 0.3f, 0.7f, 0.7f});
}

TEST_CASE("median_filter: outputs are input values, so on the grid and in range; a constant image is a fixed point") {
  const InputDomain image = image_domain();
  Tensor x = random_values({2, 7, 5, 3}, 0, 1, 3);
  snap_to_domain(x, image);
  for (int size = 2; size <= 7; ++size) {
    CAPTURE(size);
    const Tensor out = preprocessed("median_filter:size=" + std::to_string(size), x, image);
    for (float v : out.storage()) CHECK(image.on_grid(v));
    CHECK(out.storage() != x.storage());
  }
  const Tensor flat({1, 4, 4, 3}, 0.4f);
  CHECK(preprocessed("median_filter:size=5", flat, image).storage() == flat.storage());
  auto median = preprocessor("median_filter");
  CHECK(median->spec() == "median_filter:size=2");
  CHECK(!median->randomized());
  CHECK(median->differentiable());  // its exact sub-gradient (test_defense_gradients.cpp)
}

TEST_CASE("jpeg at quality 100 keeps the shapes model's accuracy; low quality changes the input measurably") {
  const auto& f = shapes_fixture();
  const Tensor x = grid_samples(f.test.inputs);
  const InputDomain image = image_domain();
  const Tensor fine = preprocessed("jpeg:quality=100", x, image);
  const Tensor coarse = preprocessed("jpeg:quality=10", x, image);
  for (const Tensor* out : {&fine, &coarse}) {
    CHECK(out->shape() == x.shape());
    for (float v : out->storage()) CHECK(image.on_grid(v));
  }
  const double fine_change = mean_abs_difference(fine, x), coarse_change = mean_abs_difference(coarse, x);
  MESSAGE("mean |jpeg(x) - x|: quality 100 " << fine_change * 255 << "/255, quality 10 " << coarse_change * 255 << "/255");
  CHECK(fine_change > 0);  // the codec ran: even quality 100 rounds in the DCT and color transform
  CHECK(fine_change < 1.5 / 255);
  CHECK(coarse_change > 4.0 / 255);
  CHECK(coarse_change > 5 * fine_change);

  auto plain = model_target(f.int8, EngineKind::kInt8Ref);
  auto jpeg = defended_model("jpeg:quality=100", GradientSource::kBpda);
  Tensor clean_logits, defended_logits;
  REQUIRE(plain->predict(x, clean_logits).ok());
  REQUIRE(jpeg->predict(x, defended_logits).ok());
  const int clean = count_correct(clean_logits, f.test.labels), kept = count_correct(defended_logits, f.test.labels);
  MESSAGE("shapes int8 accuracy: clean " << clean << "/64, behind jpeg:quality=100 " << kept << "/64");
  CHECK(clean >= 52);
  CHECK(kept == clean);
  CHECK(jpeg->gradient_source() == GradientSource::kBpda);
  CHECK(!jpeg->randomized());
}

TEST_CASE("jpeg: gray images, and clear errors for other layouts and ranges") {
  const InputDomain image = image_domain();
  Tensor gray = random_values({2, 8, 8, 1}, 0.2f, 0.8f, 5);
  snap_to_domain(gray, image);
  const Tensor out = preprocessed("jpeg:quality=90", gray, image);
  CHECK(out.shape() == gray.shape());
  CHECK(mean_abs_difference(out, gray) < 20.0 / 255);
  // Values off the grid are rounded to it before encoding, as bit_depth:bits=8 does.
  const Tensor flat({1, 8, 8, 3}, 0.5f);
  const Tensor flat_out = preprocessed("jpeg:quality=100", flat, image);
  for (float v : flat_out.storage()) CHECK(image.on_grid(v));

  CHECK(contains(preprocess_error("jpeg", Tensor({1, 8, 8, 2}, 0.5f), image), "1 or 3 channels, got [1, 8, 8, 2]"));
  CHECK(contains(preprocess_error("jpeg", Tensor({1, 64}, 0.0f), waveform_domain()), "jpeg compresses non-empty images"));
  CHECK(contains(preprocess_error("jpeg", flat, kUnbounded), "jpeg needs a bounded input range"));
  auto error = [](const std::string& spec) { return make_preprocessor(spec).status(); };
  CHECK(contains(error("jpeg:quality=0"), "quality must be a whole number in 1..100"));
  CHECK(contains(error("jpeg:quality=101"), "quality must be a whole number in 1..100"));
  CHECK(contains(error("jpeg:quality=50.5"), "quality must be a whole number in 1..100"));
}

TEST_CASE("spatial_smoothing: an impulse becomes the normalized Gaussian, reflected at the border") {
  const InputDomain image = image_domain();
  const std::vector<double> g = gaussian_weights(1.0);  // radius 3
  REQUIRE(g.size() == 7);
  Tensor impulse({1, 9, 9, 1}, 0.0f);
  impulse[4 * 9 + 4] = 1;
  const Tensor blurred = preprocessed("spatial_smoothing:sigma=1", impulse, image);
  for (int i = 0; i < 9; ++i)
    for (int j = 0; j < 9; ++j) {
      CAPTURE(i);
      CAPTURE(j);
      const bool reached = std::abs(i - 4) <= 3 && std::abs(j - 4) <= 3;
      const double want = reached ? g[i - 4 + 3] * g[j - 4 + 3] : 0.0;
      CHECK(blurred[i * 9 + j] == doctest::Approx(want).epsilon(1e-6));
    }

  // At a corner the weight that would fall outside folds back in: row 0 reads offsets 0 and
  // -1 (reflected onto 0), row 1 reads -1 and -2 (reflected onto 0), and nothing is lost.
  Tensor corner({1, 9, 9, 1}, 0.0f);
  corner[0] = 1;
  const Tensor folded = preprocessed("spatial_smoothing:sigma=1", corner, image);
  CHECK(folded[0] == doctest::Approx((g[3] + g[2]) * (g[3] + g[2])).epsilon(1e-6));
  CHECK(folded[1] == doctest::Approx((g[3] + g[2]) * (g[2] + g[1])).epsilon(1e-6));
  double total = 0;
  for (float v : folded.storage()) total += v;
  CHECK(total == doctest::Approx(1.0).epsilon(1e-6));

  // Waveforms blur along the samples only.
  Tensor click({1, 11}, 0.0f);
  click[5] = 0.5f;
  const Tensor smoothed = preprocessed("spatial_smoothing:sigma=1", click, waveform_domain());
  for (int i = 0; i < 11; ++i)
    CHECK(smoothed[i] == doctest::Approx(std::abs(i - 5) <= 3 ? 0.5 * g[i - 5 + 3] : 0.0).epsilon(1e-6));

  // sigma 0 is the identity; a constant image is a fixed point of any blur.
  const Tensor x = random_values({2, 5, 6, 3}, 0, 1, 8);
  CHECK(preprocessed("spatial_smoothing:sigma=0", x, image).storage() == x.storage());
  const Tensor flat({1, 6, 6, 3}, 0.25f);
  const Tensor wide = preprocessed("spatial_smoothing:sigma=2.5", flat, image);  // radius 8 > the 6-pixel side
  for (float v : wide.storage()) CHECK(v == doctest::Approx(0.25).epsilon(1e-6));
}

TEST_CASE("spatial_smoothing: backward is the exact adjoint, checked against finite differences") {
  auto blur = preprocessor("spatial_smoothing:sigma=1.3");
  CHECK(blur->differentiable());
  CHECK(!blur->randomized());
  const InputDomain image = image_domain();
  for (const Shape& shape : {Shape{2, 7, 6, 3}, Shape{3, 40}}) {
    CAPTURE(shape_to_string(shape));
    const Tensor x = random_values(shape, 0.2f, 0.8f, 1);  // the clamp never acts inside
    const Tensor dir = random_direction(shape, 2), dout = random_direction(shape, 3);
    Rng rng(0);
    Tensor out, dx, out_plus, out_minus, xp, xm;
    REQUIRE(blur->apply(x, image, rng, out).ok());
    REQUIRE(blur->backward(x, out, image, dout, dx).ok());
    const float h = 0.05f;
    step_both_ways(x, dir, h, xp, xm);
    REQUIRE(blur->apply(xp, image, rng, out_plus).ok());
    REQUIRE(blur->apply(xm, image, rng, out_minus).ok());
    for (int64_t s = 0; s < x.dim(0); ++s) {
      // The blur is linear, so the central difference is exact up to float rounding.
      const double fd = (sample_dot(dout, out_plus, s) - sample_dot(dout, out_minus, s)) / (2 * h);
      const double analytic = sample_dot(dx, dir, s);
      CHECK(analytic == doctest::Approx(fd).epsilon(1e-4));
    }
  }
}

TEST_CASE("spatial_smoothing behind a target: bpda takes its exact gradient, not the identity") {
  const auto& f = shapes_fixture();
  const Tensor x = grid_samples(f.test.inputs, 4);
  auto target = defended_model("spatial_smoothing:sigma=0.8", GradientSource::kBpda);
  auto inner = model_target(f.int8, EngineKind::kInt8Ref);
  auto blur = preprocessor("spatial_smoothing:sigma=0.8");
  const Tensor xs = preprocessed("spatial_smoothing:sigma=0.8", x, image_domain());
  Tensor value, grad, inner_value, inner_grad, want;
  REQUIRE(target->loss_grad(x, ce(first_labels(4)), value, grad).ok());
  REQUIRE(inner->loss_grad(xs, ce(first_labels(4)), inner_value, inner_grad).ok());
  REQUIRE(blur->backward(x, xs, image_domain(), inner_grad, want).ok());
  CHECK(value.storage() == inner_value.storage());
  CHECK(grad.storage() == want.storage());
  CHECK(grad.storage() != inner_grad.storage());
}

TEST_CASE("tv_minimization: a constant image stays constant; no dropout and no weight is the identity") {
  const InputDomain image = image_domain();
  const Tensor flat({2, 8, 8, 3}, 0.6f);
  for (uint64_t seed = 0; seed < 3; ++seed)
    CHECK(preprocessed("tv_minimization", flat, image, seed).storage() == flat.storage());
  const Tensor flat_wave({1, 50}, 0.25f);
  const Tensor wave_out = preprocessed("tv_minimization", flat_wave, waveform_domain(), 1);
  for (float v : wave_out.storage()) CHECK(v == doctest::Approx(0.25).epsilon(1e-6));

  const Tensor x = random_values({1, 6, 5, 3}, 0, 1, 4);
  CHECK(preprocessed("tv_minimization:keep=1,lambda=0", x, image).storage() == x.storage());
  auto deterministic = preprocessor("tv_minimization:keep=1");
  CHECK(!deterministic->randomized());
  CHECK(!deterministic->differentiable());
}

TEST_CASE("tv_minimization: a step keeps its edge and each side moves by lambda over its width (ROF)") {
  // Minimizing 1/2 |u - x|^2 + lambda TV(u) over a step of height 0.6 with 4 values a side
  // gives another step: each side moves toward the other by lambda / 4.
  const InputDomain image = image_domain();
  Tensor step({1, 3, 8, 1});
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t j = 0; j < 8; ++j) step[i * 8 + j] = j < 4 ? 0.2f : 0.8f;
  const Tensor out = preprocessed("tv_minimization:keep=1,lambda=0.04,iterations=3000", step, image);
  for (int64_t i = 0; i < out.numel(); ++i) CHECK(out[i] == doctest::Approx(i % 8 < 4 ? 0.21 : 0.79).epsilon(1e-4));

  // The same along a waveform's samples, on its [-1, 1) range: lambda is in units of the
  // range, so each side moves by range * lambda / 4.
  const InputDomain wave = waveform_domain();
  const float range = wave.hi - wave.lo;
  Tensor signal({1, 8});
  for (int64_t j = 0; j < 8; ++j) signal[j] = wave.lo + range * (j < 4 ? 0.2f : 0.8f);
  const Tensor rebuilt = preprocessed("tv_minimization:keep=1,lambda=0.04,iterations=3000", signal, wave);
  for (int64_t j = 0; j < 8; ++j)
    CHECK(rebuilt[j] == doctest::Approx(wave.lo + range * (j < 4 ? 0.21 : 0.79)).epsilon(1e-4));
}

TEST_CASE("tv_minimization: rebuilds dropped values from their neighbours, the same per seed, different across seeds") {
  const InputDomain image = image_domain();
  // A smooth ramp: the rebuild should find dropped values far better than a flat fill.
  Tensor ramp({1, 16, 16, 3});
  for (int64_t i = 0; i < 16; ++i)
    for (int64_t j = 0; j < 16; ++j)
      for (int64_t c = 0; c < 3; ++c) ramp[(i * 16 + j) * 3 + c] = 0.1f + 0.05f * static_cast<float>(j) - 0.02f * c;
  const Tensor a = preprocessed("tv_minimization:keep=0.5", ramp, image, 7);
  const Tensor b = preprocessed("tv_minimization:keep=0.5", ramp, image, 7);
  const Tensor c = preprocessed("tv_minimization:keep=0.5", ramp, image, 8);
  CHECK(a.storage() == b.storage());
  CHECK(a.storage() != c.storage());
  CHECK(in_domain(a, image));
  const Tensor mean_fill(ramp.shape(), 0.45f);
  MESSAGE("ramp rebuild mean error " << mean_abs_difference(a, ramp) << ", flat fill " << mean_abs_difference(mean_fill, ramp));
  CHECK(mean_abs_difference(a, ramp) < 0.1 * mean_abs_difference(mean_fill, ramp));

  // Outputs stay in range on a noisy image too, and an apply draws from the rng it is given.
  auto tv = preprocessor("tv_minimization");
  CHECK(tv->randomized());
  const Tensor noisy = random_values({2, 8, 8, 3}, 0, 1, 9);
  Rng rng(3);
  Tensor first, second;
  REQUIRE(tv->apply(noisy, image, rng, first).ok());
  REQUIRE(tv->apply(noisy, image, rng, second).ok());
  CHECK(in_domain(first, image));
  CHECK(first.storage() != second.storage());
}

TEST_CASE("tv_minimization: the default rebuild of a 32x32x3 image is fast") {
  const Tensor x = random_values({1, 32, 32, 3}, 0, 1, 12);
  auto tv = preprocessor("tv_minimization");
  Rng rng(1);
  Tensor out;
  const int runs = 5;
  const auto start = std::chrono::steady_clock::now();
  for (int r = 0; r < runs; ++r) REQUIRE(tv->apply(x, image_domain(), rng, out).ok());
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() / runs;
  MESSAGE("tv_minimization (" << tv->spec() << ") on 32x32x3: " << ms << " ms per image");
  CHECK(ms < 500);  // generous: shared CI machines and sanitizer builds; the report gives the quiet-machine time
}

TEST_CASE("spatial pre-processors: clear errors for bad shapes, ranges and settings") {
  const InputDomain image = image_domain();
  const Tensor rank3({1, 4, 4}, 0.5f);
  for (const std::string name : {"median_filter", "spatial_smoothing", "tv_minimization"}) {
    CAPTURE(name);
    CHECK(contains(preprocess_error(name, rank3, image),
                   name + " filters images [N, H, W, C] or waveforms [N, samples], got [1, 4, 4]"));
  }
  CHECK(contains(preprocess_error("tv_minimization", Tensor({1, 4, 4, 1}, 0.5f), kUnbounded),
                 "tv_minimization needs a bounded input range"));
  // Blurs and medians need no range: they only mix values.
  CHECK(preprocessed("median_filter", Tensor({1, 4, 4, 1}, 3.0f), kUnbounded)[0] == 3.0f);
  CHECK(preprocessed("spatial_smoothing", Tensor({1, 4, 4, 1}, 3.0f), kUnbounded)[0] == doctest::Approx(3.0));

  auto error = [](const std::string& spec) { return make_preprocessor(spec).status(); };
  CHECK(contains(error("median_filter:size=1"), "size must be a whole number in 2..7, got 1"));
  CHECK(contains(error("median_filter:size=8"), "size must be a whole number in 2..7"));
  CHECK(contains(error("median_filter:size=2.5"), "size must be a whole number in 2..7"));
  CHECK(contains(error("spatial_smoothing:sigma=-1"), "sigma must be in [0, 10] pixels"));
  CHECK(contains(error("spatial_smoothing:sigma=11"), "sigma must be in [0, 10] pixels"));
  CHECK(contains(error("spatial_smoothing:sigma=nan"), "sigma must be in [0, 10] pixels"));
  CHECK(contains(error("tv_minimization:keep=0"), "keep must be in (0, 1]"));
  CHECK(contains(error("tv_minimization:keep=1.5"), "keep must be in (0, 1]"));
  CHECK(contains(error("tv_minimization:lambda=-0.1"), "lambda must be a finite number >= 0"));
  CHECK(contains(error("tv_minimization:lambda=inf"), "lambda must be a finite number >= 0"));
  CHECK(contains(error("tv_minimization:iterations=0"), "iterations must be a whole number in 1..10000"));
  CHECK(contains(error("tv_minimization:iterations=1.5"), "iterations must be a whole number in 1..10000"));
  CHECK(preprocessor("tv_minimization:lambda=1/20")->spec() == "tv_minimization:iterations=200,keep=0.5,lambda=0.05");
}

TEST_CASE("the new defenses behind a target: bpda for deterministic ones, eot for tv_minimization, and PGD runs") {
  const auto& f = shapes_fixture();
  const Tensor x = grid_samples(f.test.inputs, 16);
  const std::span<const int> labels = first_labels(16);
  AttackParams p;
  p.eps = 8.0f / 255;
  p.max_iter = 3;
  p.seed = 2;
  auto pgd = named_attack("pgd");
  for (const std::string spec : {"median_filter", "jpeg", "spatial_smoothing", "tv_minimization:iterations=50"}) {
    CAPTURE(spec);
    std::vector<std::unique_ptr<Preprocessor>> one;
    one.push_back(preprocessor(spec));
    const bool randomized = one[0]->randomized();
    CHECK(adaptive_gradient_source(one) == (randomized ? GradientSource::kEot : GradientSource::kBpda));
    auto target = defended_model(spec, adaptive_gradient_source(one), 2);
    CHECK(target->randomized() == randomized);
    const BatchOutcome a = run_attack_batch(*pgd, *target, x, labels, p);
    const AttackSummary s = summarize(a.records);
    MESSAGE(spec << ": clean " << s.clean_accuracy << ", PGD robust " << s.robust_accuracy);
    CHECK(s.clean_accuracy >= 0.5);
    CHECK(s.robust_accuracy <= s.clean_accuracy);
    if (randomized) CHECK(run_attack_batch(*pgd, *target, x, labels, p).x_adv.storage() == a.x_adv.storage());
  }
  // Masked gradients straight through the non-differentiable ones are refused; the
  // median's exact sub-gradient is bpda's, so the model's own source is refused there too.
  for (const std::string spec : {"jpeg", "tv_minimization"})
    CHECK(contains(defended_model_error(spec, GradientSource::kSte), "use bpda"));
  CHECK(contains(defended_model_error("median_filter", GradientSource::kSte), "the defended target takes bpda or eot"));
  CHECK(contains(defended_model_error("median_filter", GradientSource::kEot), "none of [median_filter:size=2] is randomized"));
}

TEST_CASE("thermometer encoding: ones first, one more per bucket, decoded to bucket centers") {
  const InputDomain image = image_domain();
  const Tensor x({1, 7}, std::vector<float>{0.0f, 0.25f, 0.26f, 0.5f, 0.74f, 0.76f, 1.0f});
  Tensor code, back;
  REQUIRE(thermometer_encode(x, image, 4, code).ok());
  CHECK(code.shape() == Shape{1, 28});
  CHECK(code.storage() == std::vector<float>{1, 0, 0, 0,    // 0
                                             1, 0, 0, 0,    // 0.25: not above 1/4
                                             1, 1, 0, 0,    // 0.26
                                             1, 1, 0, 0,    // 0.5: not above 2/4
                                             1, 1, 1, 0,    // 0.74
                                             1, 1, 1, 1,    // 0.76
                                             1, 1, 1, 1});  // 1
  REQUIRE(thermometer_decode(code, image, 4, back).ok());
  CHECK(back.storage() == std::vector<float>{0.125f, 0.125f, 0.375f, 0.375f, 0.625f, 0.875f, 0.875f});

  // Images keep their layout with channels widened; any bounded range; decode inverts to
  // within half a bucket and encode(decode(code)) is the code.
  for (const InputDomain& domain : {image, waveform_domain()}) {
    const Tensor values = random_values({2, 3, 4, 3}, domain.lo, domain.hi, 6);
    const int levels = 16;
    REQUIRE(thermometer_encode(values, domain, levels, code).ok());
    CHECK(code.shape() == Shape{2, 3, 4, 48});
    REQUIRE(thermometer_decode(code, domain, levels, back).ok());
    CHECK(back.shape() == values.shape());
    const float half_bucket = (domain.hi - domain.lo) / (2 * levels);
    for (int64_t i = 0; i < values.numel(); ++i) CHECK(std::abs(back[i] - values[i]) <= half_bucket * 1.0001f);
    Tensor again;
    REQUIRE(thermometer_encode(back, domain, levels, again).ok());
    CHECK(again.storage() == code.storage());
  }

  CHECK(contains(thermometer_encode(x, image, 1, code), "thermometer levels must be in 2..256, got 1"));
  CHECK(contains(thermometer_encode(x, image, 257, code), "thermometer levels must be in 2..256"));
  CHECK(contains(thermometer_encode(x, kUnbounded, 4, code), "thermometer encoding needs a bounded input range"));
  CHECK(contains(thermometer_decode(Tensor({1, 6}, 1.0f), image, 4, back), "needs [N, ..., C * levels], got [1, 6]"));
  for (const std::vector<float>& bad : {std::vector<float>{0, 1, 0, 0}, {1, 0, 1, 0}, {1, 0.5f, 0, 0}, {0, 0, 0, 0}})
    CHECK(contains(thermometer_decode(Tensor({1, 4}, bad), image, 4, back), "is not a thermometer code"));
}
