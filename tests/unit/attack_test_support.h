// Shared fixture and helpers of the attack tests: the tiny shapes CNN and its int8 PTQ,
// targets on it, grid-snapped inputs, the random-noise baseline every attack must beat,
// and batch runs that must succeed or must fail. Header-only, because every .cpp under
// tests/unit becomes its own ctest entry.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "attacks/evaluate.h"
#include "attacks/target.h"
#include "core/rng.h"
#include "data/synthetic_shapes.h"
#include "model/builders.h"
#include "quant/post_training.h"
#include "train/trainer.h"

namespace slingshot::attack_test {

inline bool contains(const Status& s, const std::string& text) { return s.message().find(text) != std::string::npos; }

// The tiny CNN (16x16x3, 4 classes) initialized with `init_seed` and trained on `train_set`.
inline Graph train_tiny_shapes_cnn(const Dataset& train_set, uint64_t init_seed, int epochs, uint64_t train_seed) {
  Graph g = build_tiny_cnn(4, {16, 16, 3}).value();
  init_params(g, init_seed);
  TrainConfig cfg;
  cfg.epochs = epochs;
  cfg.seed = train_seed;
  REQUIRE(train(g, train_set, nullptr, cfg).ok());
  return g;
}

struct ShapesFixture {
  Dataset train, test;  // 3000 generated shapes; `test` is held out (another seed)
  QuantizedModel int8;  // the trained CNN after int8 PTQ
};

// The tiny CNN trained on the generated shapes, int8 PTQ, with `test_samples` test images.
inline ShapesFixture make_shapes_fixture(int test_samples) {
  ShapesFixture out;
  out.train = *make_shapes_dataset(3000, 16, 31);
  out.test = *make_shapes_dataset(test_samples, 16, 32);
  const Graph g = train_tiny_shapes_cnn(out.train, 7, 6, 8);
  out.int8 = quantize_post_training(g, out.train.inputs, {}).value();
  return out;
}

// The 64-test-image fixture most attack tests share, trained once per process.
inline const ShapesFixture& shapes_fixture() {
  static const ShapesFixture f = make_shapes_fixture(64);
  return f;
}

// A target on `model`; fails the test if it cannot be made.
inline std::unique_ptr<Target> model_target(const QuantizedModel& model, EngineKind engine,
                                            GradientSource source = GradientSource::kSte) {
  ModelTargetOptions o;
  o.engine = engine;
  o.source = source;
  auto t = make_model_target(model, o);
  REQUIRE_MESSAGE(t.ok(), t.status().message());
  return std::move(*t);
}

// The first `n` samples of `all`, snapped to the 8-bit grid.
inline Tensor grid_samples(const Tensor& all, int64_t n) {
  const int64_t per = all.numel() / all.dim(0);
  Shape s = all.shape();
  s[0] = n;
  Tensor x(s);
  std::copy(all.data(), all.data() + n * per, x.data());
  snap_to_domain(x, image_domain());
  return x;
}

// All of `all`, snapped to the 8-bit grid (the generator's images are on it already).
inline Tensor grid_samples(const Tensor& all) {
  Tensor x = all;
  snap_to_domain(x, image_domain());
  return x;
}

// Rows of `logits` whose top class (the first on ties) is the row's label.
inline int count_correct(const Tensor& logits, std::span<const int> labels) {
  const int64_t classes = logits.dim(1);
  int correct = 0;
  for (int64_t r = 0; r < logits.dim(0); ++r) {
    const float* z = logits.data() + r * classes;
    correct += static_cast<int>(std::max_element(z, z + classes) - z) == labels[r];
  }
  return correct;
}

// Accuracy on the deployed engine of `x0` under random sign noise of Linf size eps.
inline double accuracy_under_sign_noise(Target& target, const Tensor& x0, std::span<const int> labels, float eps,
                                        uint64_t seed) {
  Tensor x = x0;
  Rng rng(seed);
  for (int64_t i = 0; i < x.numel(); ++i) x[i] += rng.uniform() < 0.5f ? -eps : eps;
  project(x, x0, Norm::kLinf, eps, image_domain(), true);
  Tensor logits;
  REQUIRE(target.predict(x, logits).ok());
  return count_correct(logits, labels) / static_cast<double>(logits.dim(0));
}

// An attack from the registry; fails the test if the name is unknown.
inline std::unique_ptr<Attack> named_attack(const std::string& name) {
  auto a = make_attack(name);
  REQUIRE_MESSAGE(a.ok(), a.status().message());
  return std::move(*a);
}

// attack_batch from sample 0, which must succeed.
inline BatchOutcome run_attack_batch(Attack& attack, Target& target, const Tensor& x, std::span<const int> labels,
                                     const AttackParams& p) {
  auto out = attack_batch(attack, target, x, labels, 0, p);
  REQUIRE_MESSAGE(out.ok(), out.status().message());
  return std::move(*out);
}

// attack_batch from sample 0, which must fail: its error.
inline Status attack_batch_error(Attack& attack, Target& target, const Tensor& x, std::span<const int> labels,
                                 const AttackParams& p) {
  auto r = attack_batch(attack, target, x, labels, 0, p);
  REQUIRE(!r.ok());
  return r.status();
}

struct TargetedTally {
  int attacked = 0;  // samples the attack ran on (those classified correctly when clean)
  int reached = 0;   // of those, the ones whose adversarial prediction is their target
};

// How many attacked samples a targeted attack moved to their target class.
inline TargetedTally tally_targets(std::span<const ExampleRecord> records) {
  TargetedTally t;
  for (const ExampleRecord& r : records) {
    if (!r.attacked) continue;
    ++t.attacked;
    t.reached += r.adversarial_prediction == r.target;
  }
  return t;
}

// A direction with entries drawn uniformly from [-1, 1) by Rng(seed), for directional
// finite differences.
inline Tensor random_direction(const Shape& shape, uint64_t seed) {
  Rng rng(seed);
  Tensor dir(shape);
  for (int64_t i = 0; i < dir.numel(); ++i) dir[i] = rng.uniform(-1.0f, 1.0f);
  return dir;
}

// xp = x + h dir and xm = x - h dir.
inline void step_both_ways(const Tensor& x, const Tensor& dir, float h, Tensor& xp, Tensor& xm) {
  xp = x;
  xm = x;
  for (int64_t i = 0; i < x.numel(); ++i) {
    xp[i] += h * dir[i];
    xm[i] -= h * dir[i];
  }
}

// The dot product of sample s of two tensors shaped [N, ...], summed in double.
inline double sample_dot(const Tensor& a, const Tensor& b, int64_t s) {
  const int64_t per = a.numel() / a.dim(0);
  double sum = 0;
  for (int64_t i = 0; i < per; ++i) sum += static_cast<double>(a[s * per + i]) * b[s * per + i];
  return sum;
}

// A target that passes everything to an inner one; test wrappers override what they
// record or change.
class ForwardingTarget : public Target {
 public:
  explicit ForwardingTarget(Target& inner) : inner_(inner) {}
  explicit ForwardingTarget(std::unique_ptr<Target> inner) : owned_(std::move(inner)), inner_(*owned_) {}
  Shape input_shape() const override { return inner_.input_shape(); }
  int num_classes() const override { return inner_.num_classes(); }
  InputDomain domain() const override { return inner_.domain(); }
  std::string engine_name() const override { return inner_.engine_name(); }
  GradientSource gradient_source() const override { return inner_.gradient_source(); }

 protected:
  Status predict_uncounted(const Tensor& x, Tensor& logits) override { return inner_.predict(x, logits); }
  Status loss_grad_uncounted(const Tensor& x, const Objective& o, Tensor& value, Tensor& grad) override {
    return inner_.loss_grad(x, o, value, grad);
  }
  Target& inner() { return inner_; }

 private:
  std::unique_ptr<Target> owned_;
  Target& inner_;
};

}  // namespace slingshot::attack_test
