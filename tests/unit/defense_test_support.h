// Shared helpers of the pre-processing defense tests: pre-processors from specs, one
// application of one, and defended targets on the shapes fixture. Header-only, because
// every .cpp under tests/unit becomes its own ctest entry.
#pragma once

#include <doctest/doctest.h>

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "attack_test_support.h"
#include "defenses/preprocessed_target.h"

namespace slingshot::attack_test {

// A pre-processor from its spec; fails the test if the spec is refused.
inline std::unique_ptr<Preprocessor> preprocessor(const std::string& spec) {
  auto p = make_preprocessor(spec);
  REQUIRE_MESSAGE(p.ok(), p.status().message());
  return std::move(*p);
}

// One application of `spec` to x with Rng(seed) (deterministic ones leave it untouched).
inline Tensor preprocessed(const std::string& spec, const Tensor& x, const InputDomain& domain, uint64_t seed = 0) {
  Tensor out;
  Rng rng(seed);
  const Status st = preprocessor(spec)->apply(x, domain, rng, out);
  REQUIRE_MESSAGE(st.ok(), st.message());
  return out;
}

// The error applying `spec` to x gives; fails the test if it succeeds.
inline Status preprocess_error(const std::string& spec, const Tensor& x, const InputDomain& domain) {
  Tensor out;
  Rng rng(0);
  const Status st = preprocessor(spec)->apply(x, domain, rng, out);
  REQUIRE(!st.ok());
  return st;
}

inline Result<std::unique_ptr<Target>> try_defended(std::unique_ptr<Target> inner, const std::string& spec,
                                                    GradientSource source, int eot_samples) {
  std::vector<std::unique_ptr<Preprocessor>> steps;
  steps.push_back(preprocessor(spec));
  PreprocessedTargetOptions o;
  o.source = source;
  o.eot_samples = eot_samples;
  return make_preprocessed_target(std::move(inner), std::move(steps), o);
}

// `inner` behind `spec`; fails the test if the defended target is refused.
inline std::unique_ptr<Target> defended(std::unique_ptr<Target> inner, const std::string& spec, GradientSource source,
                                        int eot_samples = 8) {
  auto t = try_defended(std::move(inner), spec, source, eot_samples);
  REQUIRE_MESSAGE(t.ok(), t.status().message());
  return std::move(*t);
}

// The shapes fixture's int8 model on int8-ref, behind `spec`.
inline std::unique_ptr<Target> defended_model(const std::string& spec, GradientSource source, int eot_samples = 8) {
  return defended(model_target(shapes_fixture().int8, EngineKind::kInt8Ref), spec, source, eot_samples);
}

// The error the shapes fixture's model behind `spec` is refused with; fails the test if it is not.
inline Status defended_model_error(const std::string& spec, GradientSource source, int eot_samples = 8) {
  auto t = try_defended(model_target(shapes_fixture().int8, EngineKind::kInt8Ref), spec, source, eot_samples);
  REQUIRE(!t.ok());
  return t.status();
}

inline Objective ce(std::span<const int> labels) { return Objective{LossKind::kCrossEntropy, labels, {}}; }

// The first n labels of the shapes fixture's test set.
inline std::span<const int> first_labels(int64_t n) {
  return {shapes_fixture().test.labels.data(), static_cast<size_t>(n)};
}

}  // namespace slingshot::attack_test
