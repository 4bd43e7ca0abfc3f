// Ensemble targets (Bernhard et al.'s multi-bitwidth ensemble): the combined logits are
// the log of the members' mean probability, the chained gradient matches finite
// differences of the combined objective, and ensemble files parse strictly.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "attack_test_support.h"
#include "attacks/evaluate.h"
#include "data/synthetic_shapes.h"
#include "defense_test_support.h"
#include "defenses/ensemble.h"
#include "quant/post_training.h"

using namespace slingshot;
using namespace slingshot::attack_test;

namespace {

struct Members {
  Dataset test;
  std::vector<QuantizedModel> models;  // int8, int4 and ternary quantizations of two trained CNNs
};

const Members& members() {
  static const Members m = [] {
    Members out;
    const Dataset train_set = *make_shapes_dataset(2000, 16, 41);
    out.test = *make_shapes_dataset(32, 16, 42);
    for (uint64_t seed : {1, 2}) {
      const Graph g = train_tiny_shapes_cnn(train_set, seed, 8, seed);
      QuantizeOptions o;
      o.weights = seed == 1 ? WeightScheme::kInt8 : WeightScheme::kInt4;
      out.models.push_back(quantize_post_training(g, train_set.inputs, o).value());
    }
    return out;
  }();
  return m;
}

std::unique_ptr<Target> ensemble(GradientSource source, EnsembleCombine combine) {
  std::vector<std::unique_ptr<Target>> targets;
  for (const QuantizedModel& m : members().models) {
    ModelTargetOptions o;
    o.engine = EngineKind::kInt8Ref;
    o.source = source;
    targets.push_back(make_model_target(m, o).value());
  }
  return make_ensemble_target(std::move(targets), combine).value();
}

Tensor first(int64_t n) {
  const Tensor& x = members().test.inputs;
  Tensor out({n, 16, 16, 3});
  std::copy(x.data(), x.data() + out.numel(), out.data());
  return out;
}

}  // namespace

TEST_CASE("ensemble: logits are the log mean probability of the members' deployed logits") {
  auto e = ensemble(GradientSource::kSte, EnsembleCombine::kMeanProbability);
  const Tensor x = first(6);
  Tensor combined;
  REQUIRE(e->predict(x, combined).ok());
  std::vector<Tensor> z(2);
  for (size_t m = 0; m < 2; ++m) {
    auto engine = make_engine(EngineKind::kInt8Ref, members().models[m]).value();
    REQUIRE(engine->predict(x, z[m]).ok());
  }
  for (int64_t r = 0; r < 6; ++r) {
    for (int64_t j = 0; j < 4; ++j) {
      double mean = 0;
      for (size_t m = 0; m < 2; ++m) {
        double sum = 0;
        for (int64_t k = 0; k < 4; ++k) sum += std::exp(z[m][r * 4 + k]);
        mean += std::exp(z[m][r * 4 + j]) / sum / 2;
      }
      CHECK(combined[r * 4 + j] == doctest::Approx(std::log(mean)).epsilon(1e-4));
    }
  }
  CHECK(e->counts().predictions == 6);
  CHECK(e->engine_name() == "mean_probability ensemble of int8-ref int8-ref");
}

TEST_CASE("ensemble: the chained gradient matches finite differences of the combined objective") {
  for (EnsembleCombine combine : {EnsembleCombine::kMeanProbability, EnsembleCombine::kMeanLogits}) {
    CAPTURE(ensemble_combine_name(combine));
    auto e = ensemble(GradientSource::kFloat, combine);
    const Tensor x = first(2);
    const std::vector<int> labels{members().test.labels[0], members().test.labels[1]};
    const Objective o{LossKind::kCrossEntropy, labels, {}};
    Tensor value, grad;
    REQUIRE(e->loss_grad(x, o, value, grad).ok());
    // Directional derivative along a random direction, by central differences on the
    // ensemble's differentiable (float) logits.
    const Tensor dir = random_direction(x.shape(), 3);
    const float h = 1e-3f;
    Tensor xp, xm, lp, lm, vp, vm;
    step_both_ways(x, dir, h, xp, xm);
    REQUIRE(e->differentiable_logits(xp, lp).ok());
    REQUIRE(attack_objective(lp, o, vp, nullptr).ok());
    REQUIRE(e->differentiable_logits(xm, lm).ok());
    REQUIRE(attack_objective(lm, o, vm, nullptr).ok());
    for (int s = 0; s < 2; ++s) {
      const double analytic = sample_dot(grad, dir, s);
      CHECK(analytic == doctest::Approx((vp[s] - vm[s]) / (2 * h)).epsilon(0.05));
    }
  }
}

TEST_CASE("ensemble: attacks run through it, and members must agree") {
  auto e = ensemble(GradientSource::kSte, EnsembleCombine::kMeanProbability);
  auto pgd = make_attack("pgd").value();
  AttackParams p;
  p.eps = 8.0f / 255;
  Tensor x = members().test.inputs;
  snap_to_domain(x, image_domain());
  auto out = attack_batch(*pgd, *e, x, members().test.labels, 0, p);
  REQUIRE_MESSAGE(out.ok(), out.status().message());
  const AttackSummary s = summarize(out->records);
  CHECK(s.clean_accuracy >= 0.8);
  CHECK(s.robust_accuracy < s.clean_accuracy - 0.3);

  std::vector<std::unique_ptr<Target>> one;
  ModelTargetOptions o;
  one.push_back(make_model_target(members().models[0], o).value());
  CHECK(contains(make_ensemble_target(std::move(one)).status(), "at least 2 members"));
}

TEST_CASE("ensemble files: strict keys, paths relative to the file") {
  const std::string dir = "ensemble_spec_test";
  std::filesystem::create_directories(dir);
  auto write = [&](const std::string& text) {
    std::ofstream(dir + "/e.json") << text;
    return load_ensemble_spec(dir + "/e.json");
  };
  auto ok = write(R"({"format": "slingshot-ensemble", "version": 1, "combine": "mean_logits",
                      "members": ["a.safetensors", "../b.safetensors"]})");
  REQUIRE(ok.ok());
  CHECK(ok->combine == EnsembleCombine::kMeanLogits);
  CHECK(ok->members[0].model == dir + "/a.safetensors");
  CHECK(ok->members[1].model == "b.safetensors");
  CHECK(ok->members[0].defenses.empty());
  CHECK(ok->members[0].engine.empty());
  // Version 2: members may carry their own defenses and engine; paths still work.
  auto v2 = write(R"({"format": "slingshot-ensemble", "version": 2, "members": [
                      {"model": "a.safetensors", "defenses": ["bit_depth:bits=5", "median_filter"], "engine": "int8-simd"},
                      "b.safetensors"]})");
  REQUIRE_MESSAGE(v2.ok(), v2.status().message());
  CHECK(v2->members[0].model == dir + "/a.safetensors");
  CHECK(v2->members[0].defenses == std::vector<std::string>{"bit_depth:bits=5", "median_filter"});
  CHECK(v2->members[0].engine == "int8-simd");
  CHECK(v2->members[1].model == dir + "/b.safetensors");
  CHECK(v2->members[1].defenses.empty());
  CHECK(contains(write(R"({"format": "slingshot-ensemble", "version": 1, "members": [{"model": "a"}, "b"]})").status(),
                 "need version 2"));
  CHECK(contains(write(R"({"format": "slingshot-ensemble", "version": 2, "members": [{"model": "a", "defence": []}, "b"]})").status(),
                 "member 0: unknown key 'defence'"));
  CHECK(contains(write(R"({"format": "slingshot-ensemble", "version": 2, "members": [{"defenses": []}, "b"]})").status(),
                 "'model' must be"));
  CHECK(contains(write(R"({"format": "slingshot-ensemble", "version": 2, "members": [{"model": "a", "defenses": "jpeg"}, "b"]})").status(),
                 "'defenses' must be an array"));
  CHECK(contains(write(R"({"format": "slingshot-ensemble", "version": 3, "members": ["a", "b"]})").status(),
                 "'version' must be 1 or 2"));
  CHECK(contains(write(R"({"format": "slingshot-ensemble", "version": 1, "members": ["a"]})").status(),
                 "at least 2 model files"));
  CHECK(contains(write(R"({"format": "slingshot-ensemble", "version": 1, "memebrs": []})").status(),
                 "unknown key 'memebrs'"));
  CHECK(contains(write(R"({"format": "x", "version": 1, "members": ["a", "b"]})").status(), "'format' must be"));
  CHECK(contains(write(R"({"format": "slingshot-ensemble", "version": 1, "combine": "vote", "members": ["a", "b"]})").status(),
                 "'combine' must be"));
  CHECK(contains(write("[1, 2").status(), "is not a JSON object"));
  CHECK(contains(load_ensemble_spec(dir + "/missing.json").status(), "missing.json"));
  CHECK(is_ensemble_path("models/x.json"));
  CHECK(!is_ensemble_path("models/x.safetensors"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("an ensemble of defended models: bpda per member, eot when a member is randomized") {
  const Tensor x = first(8);
  const std::vector<int> labels(members().test.labels.begin(), members().test.labels.begin() + 8);
  auto member = [](const QuantizedModel& m) {
    ModelTargetOptions o;
    o.engine = EngineKind::kInt8Ref;
    return make_model_target(m, o).value();
  };
  // Every member behind the same squeezer: the chained BPDA gradient at x is the plain
  // ensemble's gradient at the squeezed input, exactly.
  std::vector<std::unique_ptr<Target>> squeezed_members;
  for (const QuantizedModel& m : members().models)
    squeezed_members.push_back(defended(member(m), "bit_depth:bits=3", GradientSource::kBpda));
  auto defended_ensemble = make_ensemble_target(std::move(squeezed_members), EnsembleCombine::kMeanProbability, 4).value();
  CHECK(defended_ensemble->gradient_source() == GradientSource::kBpda);
  CHECK(defended_ensemble->inner_gradient_source() == GradientSource::kSte);
  auto plain = ensemble(GradientSource::kSte, EnsembleCombine::kMeanProbability);
  const Tensor xs = preprocessed("bit_depth:bits=3", x, image_domain());
  Objective obj;
  obj.labels = labels;
  Tensor v_def, g_def, v_plain, g_plain;
  REQUIRE(defended_ensemble->loss_grad(x, obj, v_def, g_def).ok());
  REQUIRE(plain->loss_grad(xs, obj, v_plain, g_plain).ok());
  for (int64_t i = 0; i < v_def.numel(); ++i) CHECK(v_def[i] == v_plain[i]);
  int64_t differ_from_clean = 0;
  Tensor v_clean, g_clean;
  REQUIRE(plain->loss_grad(x, obj, v_clean, g_clean).ok());
  for (int64_t i = 0; i < g_def.numel(); ++i) {
    CHECK(g_def[i] == g_plain[i]);
    differ_from_clean += g_def[i] != g_clean[i];
  }
  CHECK(differ_from_clean > 0);  // 3 bits move the inputs, so the squeezing is seen
  CHECK(defended_ensemble->counts().gradients == 8);  // deterministic members: one pass

  // A randomized member makes the ensemble average 4 draws (EOT), counted as 4 gradients.
  std::vector<std::unique_ptr<Target>> mixed;
  mixed.push_back(defended(member(members().models[0]), "gaussian_noise:sigma=0.05", GradientSource::kEot));
  mixed.push_back(defended(member(members().models[1]), "median_filter:size=2", GradientSource::kBpda));
  auto noisy = make_ensemble_target(std::move(mixed), EnsembleCombine::kMeanProbability, 4).value();
  CHECK(noisy->randomized());
  CHECK(noisy->gradient_source() == GradientSource::kEot);
  Tensor v1, g1, v2, g2;
  noisy->reseed(7);
  REQUIRE(noisy->loss_grad(x, obj, v1, g1).ok());
  CHECK(noisy->counts().gradients == 32);
  noisy->reseed(7);
  REQUIRE(noisy->loss_grad(x, obj, v2, g2).ok());
  for (int64_t i = 0; i < g1.numel(); ++i) REQUIRE(g1[i] == g2[i]);  // reseeded: the same draws
  CHECK(!make_ensemble_target({}, EnsembleCombine::kMeanProbability, 0).ok());
}
