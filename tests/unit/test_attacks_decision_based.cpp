// Decision-based black-box attacks (Boundary, HopSkipJump, GeoDA) on the deployed int8
// engine: from top-1 decisions alone they find adversarial points and shrink them well
// below their starting point, beat Gaussian noise of the same L2 size, query only 8-bit
// grid images, never ask for a gradient, keep each sample within its query budget, do
// nothing at eps 0 and repeat themselves for a seed.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>

#include "attacks/evaluate.h"
#include "attacks/target.h"
#include "data/synthetic_shapes.h"
#include "model/builders.h"
#include "quant/post_training.h"
#include "train/trainer.h"

namespace slingshot {
std::unique_ptr<Attack> make_boundary_attack();
std::unique_ptr<Attack> make_hopskipjump_attack();
std::unique_ptr<Attack> make_geoda_attack();
}  // namespace slingshot

using namespace slingshot;

namespace {

bool contains(const Status& s, const std::string& text) { return s.message().find(text) != std::string::npos; }

struct Fixture {
  Dataset train, test;
  QuantizedModel int8;
};

// A tiny CNN trained on the generated shapes (16x16x3, 4 classes), int8 PTQ: the same
// model as test_attacks.cpp.
const Fixture& fixture() {
  static const Fixture f = [] {
    Fixture out;
    out.train = *make_shapes_dataset(3000, 16, 31);
    out.test = *make_shapes_dataset(64, 16, 32);
    Graph g = build_tiny_cnn(4, {16, 16, 3}).value();
    init_params(g, 7);
    TrainConfig cfg;
    cfg.epochs = 6;
    cfg.seed = 8;
    REQUIRE(train(g, out.train, nullptr, cfg).ok());
    out.int8 = quantize_post_training(g, out.train.inputs, {}).value();
    return out;
  }();
  return f;
}

// Wraps the int8 target (int8-simd) and records what the attack asked of it: every queried input
// must be a real 8-bit image, and no gradient may be requested.
class Spy final : public Target {
 public:
  explicit Spy(std::unique_ptr<Target> inner) : inner_(std::move(inner)) {}
  Shape input_shape() const override { return inner_->input_shape(); }
  int num_classes() const override { return inner_->num_classes(); }
  InputDomain domain() const override { return inner_->domain(); }
  std::string engine_name() const override { return inner_->engine_name(); }
  GradientSource gradient_source() const override { return inner_->gradient_source(); }
  int64_t off_grid = 0;  // queried inputs holding a value off the grid or out of range

 protected:
  Status predict_uncounted(const Tensor& x, Tensor& logits) override {
    if (!on_domain_grid(x, domain())) ++off_grid;
    return inner_->predict(x, logits);
  }
  Status loss_grad_uncounted(const Tensor& x, const Objective& o, Tensor& value, Tensor& grad) override {
    return inner_->loss_grad(x, o, value, grad);
  }

 private:
  std::unique_ptr<Target> inner_;
};

std::unique_ptr<Spy> int8_target() {
  ModelTargetOptions o;
  o.engine = EngineKind::kInt8Simd;  // bit-exact with int8-ref, and faster
  auto t = make_model_target(fixture().int8, o);
  REQUIRE_MESSAGE(t.ok(), t.status().message());
  return std::make_unique<Spy>(std::move(*t));
}

constexpr int kSamples = 8;

// The first `n` test samples, on the 8-bit grid.
Tensor inputs(int n = kSamples) {
  const Tensor& all = fixture().test.inputs;
  Shape s = all.shape();
  s[0] = n;
  Tensor x(s);
  std::copy(all.data(), all.data() + x.numel(), x.data());
  snap_to_domain(x, image_domain());
  return x;
}
std::vector<int> labels(int n = kSamples) {
  return {fixture().test.labels.begin(), fixture().test.labels.begin() + n};
}

struct Config {
  const char* name;
  std::unique_ptr<Attack> (*make)();
  Norm norm;
};
const Config kConfigs[] = {
    {"boundary", &make_boundary_attack, Norm::kL2},
    {"hopskipjump", &make_hopskipjump_attack, Norm::kL2},
    {"hopskipjump", &make_hopskipjump_attack, Norm::kLinf},
    {"geoda", &make_geoda_attack, Norm::kL2},
    {"geoda", &make_geoda_attack, Norm::kLinf},
};

BatchOutcome attack(const Config& c, Target& target, const AttackParams& p) {
  auto a = c.make();
  auto out = attack_batch(*a, target, inputs(), labels(), 0, p);
  REQUIRE_MESSAGE(out.ok(), out.status().message());
  return std::move(*out);
}

// Median distortion (in `norm`) of the successful examples.
double median_success_distortion(const BatchOutcome& out, Norm norm) {
  std::vector<double> d;
  for (const ExampleRecord& r : out.records)
    if (r.success) d.push_back(distortion_norm(r.distortion, norm));
  if (d.empty()) return std::numeric_limits<double>::infinity();
  std::sort(d.begin(), d.end());
  return d.size() % 2 ? d[d.size() / 2] : 0.5 * (d[d.size() / 2 - 1] + d[d.size() / 2]);
}

// Accuracy on the deployed engine under random noise of size `eps` (pixel-valid), over
// draws: Gaussian scaled to L2 size eps, or random signs of size eps for Linf.
double noise_accuracy(Target& target, Norm norm, float eps, int draws) {
  const Tensor x0 = inputs();
  const std::vector<int> y = labels();
  const int64_t per = x0.numel() / kSamples;
  Rng rng(99);
  int correct = 0;
  for (int draw = 0; draw < draws; ++draw) {
    Tensor x = x0;
    for (int s = 0; s < kSamples; ++s) {
      double n2 = 0;
      std::vector<float> g(static_cast<size_t>(per));
      for (float& v : g) {
        v = norm == Norm::kL2 ? rng.normal() : rng.uniform() < 0.5f ? -eps : eps;
        n2 += static_cast<double>(v) * v;
      }
      const float scale = norm == Norm::kL2 ? static_cast<float>(eps / std::sqrt(n2)) : 1.0f;
      for (int64_t i = 0; i < per; ++i) x[s * per + i] += scale * g[i];
    }
    project(x, x0, norm, eps, image_domain(), true);
    Tensor logits;
    REQUIRE(target.predict(x, logits).ok());
    for (int r = 0; r < kSamples; ++r) {
      int best = 0;
      for (int k = 1; k < 4; ++k)
        if (logits[r * 4 + k] > logits[r * 4 + best]) best = k;
      correct += best == y[r];
    }
  }
  return correct / static_cast<double>(kSamples * draws);
}

}  // namespace

TEST_CASE("decision-based attacks: unbounded searches end far nearer than they start, on the grid, from decisions only") {
  for (const Config& c : kConfigs) {
    const std::string attack_name = std::string(c.name) + " L" + norm_name(c.norm);
    CAPTURE(attack_name);
    auto target = int8_target();
    AttackParams p;
    p.norm = c.norm;
    p.eps = std::numeric_limits<float>::infinity();
    p.seed = 5;
    // A budget that covers the adversarial start and its first binary search, no more.
    p.max_queries = 25;
    const BatchOutcome start = attack(c, *target, p);
    p.max_queries = c.norm == Norm::kLinf ? 2000 : 1000;
    const BatchOutcome out = attack(c, *target, p);
    const AttackSummary s = summarize(out.records);
    const double d_start = median_success_distortion(start, c.norm), d_end = median_success_distortion(out, c.norm);
    const std::string report = std::string(c.name) + " L" + norm_name(c.norm) + ": success " +
                               std::to_string(s.success_rate) + " of " + std::to_string(s.attacked) +
                               ", median distortion " + std::to_string(d_start) + " at 25 queries -> " +
                               std::to_string(d_end) + " at " + std::to_string(p.max_queries);
    MESSAGE(report);
    CHECK(s.clean_accuracy >= 0.9);
    CHECK(s.success_rate >= 0.8);
    CHECK(d_end < 0.5 * d_start);
    CHECK(target->counts().gradients == 0);
    CHECK(target->off_grid == 0);
    CHECK(on_domain_grid(out.x_adv, image_domain()));
  }
}

TEST_CASE("decision-based attacks: at L2 eps 1 (Linf 16/255) they beat random noise of the same size") {
  auto target = int8_target();
  const double gaussian = noise_accuracy(*target, Norm::kL2, 1.0f, 5);
  const double signs = noise_accuracy(*target, Norm::kLinf, 16.0f / 255, 5);
  for (const Config& c : kConfigs) {
    const std::string attack_name = std::string(c.name) + " L" + norm_name(c.norm);
    CAPTURE(attack_name);
    const bool l2 = c.norm == Norm::kL2;
    AttackParams p;
    p.norm = c.norm;
    p.eps = l2 ? 1.0f : 16.0f / 255;
    p.seed = 6;
    p.max_queries = 2000;
    const AttackSummary s = summarize(attack(c, *target, p).records);
    const double noise = l2 ? gaussian : signs;
    const std::string report = attack_name + ": accuracy " + std::to_string(s.robust_accuracy) + " (clean " +
                               std::to_string(s.clean_accuracy) + ", random noise " + std::to_string(noise) + ")";
    MESSAGE(report);
    CHECK(s.robust_accuracy < noise - 0.25);
    CHECK(distortion_norm(s.mean_distortion, c.norm) <= p.eps * (1 + 1e-5));
  }
}

TEST_CASE("decision-based attacks: targeted mode reaches the target; continuous mode works too") {
  for (const Config& c : kConfigs) {
    const std::string attack_name = std::string(c.name) + " L" + norm_name(c.norm);
    CAPTURE(attack_name);
    auto target = int8_target();
    AttackParams p;
    p.norm = c.norm;
    p.eps = std::numeric_limits<float>::infinity();
    p.seed = 7;
    p.max_queries = 500;
    p.targeted = true;
    const BatchOutcome out = attack(c, *target, p);
    int attacked = 0, reached = 0;
    for (const ExampleRecord& r : out.records) {
      if (!r.attacked) continue;
      ++attacked;
      reached += r.adversarial_prediction == r.target;
    }
    const std::string report = std::to_string(reached) + " of " + std::to_string(attacked) + " reach their target";
    MESSAGE(report);
    CHECK(attacked >= kSamples - 1);
    CHECK(reached >= attacked - 1);

    // Off the grid (pixel_valid false) the searches run on continuous values.
    AttackParams q;
    q.norm = c.norm;
    q.eps = std::numeric_limits<float>::infinity();
    q.seed = 7;
    q.max_queries = 500;
    q.pixel_valid = false;
    const BatchOutcome cont = attack(c, *target, q);
    const AttackSummary s = summarize(cont.records);
    CHECK(s.success_rate >= 0.8);
    CHECK(!on_domain_grid(cont.x_adv, image_domain()));
  }
}

TEST_CASE("decision-based attacks: per-sample budgets, eps 0, seeds") {
  for (const Config& c : kConfigs) {
    const std::string attack_name = std::string(c.name) + " L" + norm_name(c.norm);
    CAPTURE(attack_name);
    auto target = int8_target();
    auto a = c.make();
    AttackParams p;
    p.norm = c.norm;
    p.eps = std::numeric_limits<float>::infinity();
    p.seed = 3;
    p.max_queries = 100;
    const Tensor x = inputs();
    const std::vector<int> y = labels();
    const int64_t per = x.numel() / kSamples;
    // One sample per call: the attack's own predictions are that sample's.
    int64_t attacked = 0, spent_max = 0;
    for (int s = 0; s < kSamples; ++s) {
      Tensor xs({1, 16, 16, 3});
      std::copy(x.data() + s * per, x.data() + (s + 1) * per, xs.data());
      auto out = attack_batch(*a, *target, xs, std::span<const int>(y).subspan(s, 1), s, p);
      REQUIRE(out.ok());
      if (!out->records[0].attacked) continue;
      ++attacked;
      CHECK(out->counts.predictions <= p.max_queries);
      spent_max = std::max(spent_max, out->counts.predictions);
    }
    CHECK(attacked >= kSamples - 1);
    CHECK(spent_max >= p.max_queries - 30);  // the search uses its budget
    CHECK(target->counts().gradients == 0);

    AttackParams zero = p;
    zero.eps = 0;
    const BatchOutcome z = attack(c, *target, zero);
    CHECK(summarize(z.records).success_rate == 0.0);
    CHECK(z.x_adv.storage() == inputs().storage());

    const BatchOutcome r1 = attack(c, *target, p), r2 = attack(c, *target, p);
    CHECK(r1.x_adv.storage() == r2.x_adv.storage());
    p.seed = 4;
    const BatchOutcome r3 = attack(c, *target, p);
    CHECK(r1.x_adv.storage() != r3.x_adv.storage());
  }
}

TEST_CASE("decision-based attacks: bad parameters get errors naming them") {
  auto target = int8_target();
  const Tensor x = inputs();
  const std::vector<int> y = labels();
  auto err = [&](Attack& a, const AttackParams& p) {
    auto r = attack_batch(a, *target, x, y, 0, p);
    REQUIRE(!r.ok());
    return r.status();
  };
  for (const Config& c : kConfigs) {
    const std::string attack_name = c.name;
    CAPTURE(attack_name);
    auto a = c.make();
    CHECK(a->black_box());
    CHECK(a->accepts_unbounded_eps());
    AttackParams p;
    p.norm = Norm::kL2;
    p.max_queries = 0;
    CHECK(contains(err(*a, p), "query budget (max_queries) must be >= 1"));
    p = {};
    p.norm = Norm::kL2;
    p.extra["stepsize"] = 1.0;
    CHECK(contains(err(*a, p), "has no setting 'stepsize'"));
    p = {};
    p.norm = Norm::kL1;
    CHECK(contains(err(*a, p), "does not support norm 1"));
  }
  AttackParams p;
  p.norm = Norm::kL2;
  p.extra["init_eval"] = 0;
  CHECK(contains(err(*make_hopskipjump_attack(), p), "init_eval"));
  p.extra = {{"gamma", -1.0}};
  CHECK(contains(err(*make_hopskipjump_attack(), p), "gamma"));
  p.extra = {{"epsilon", 1.0}};
  CHECK(contains(err(*make_boundary_attack(), p), "epsilon (step toward x0, relative) must be in (0, 1)"));
  p.extra = {{"dct_ratio", 0.0}};
  CHECK(contains(err(*make_geoda_attack(), p), "dct_ratio"));
  p.extra = {};
  p.norm = Norm::kLinf;
  CHECK(contains(err(*make_boundary_attack(), p), "does not support norm inf"));
}
