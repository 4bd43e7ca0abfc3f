// Randomized smoothing (Cohen, Rosenfeld & Kolter, ICML 2019): the smoothed classifier
// g(x) = argmax_c P(f(x + N(0, sigma^2 I)) = c) of a base classifier f (here any Target,
// typically the deployed int8 engine), with its PREDICT and CERTIFY procedures. CERTIFY
// returns a class and a radius R = sigma * Phi^-1(p_A) within which g provably keeps
// that class in L2, where p_A is a one-sided Clopper-Pearson lower bound on the top
// class's probability at confidence 1 - alpha; when p_A <= 1/2 it abstains (radius 0).
// Noise is drawn from a seeded Rng, so results reproduce.
#pragma once

#include <cstdint>
#include <vector>

#include "attacks/target.h"
#include "core/status.h"
#include "core/tensor.h"

namespace slingshot {

struct SmoothingConfig {
  float sigma = 0.25f;   // noise standard deviation, in input units
  int64_t n0 = 100;      // CERTIFY: draws that select the top class
  int64_t n = 1000;      // draws that estimate its probability (PREDICT: the vote)
  double alpha = 0.001;  // failure probability of the test or the bound
  int64_t batch = 100;   // noisy copies per base-classifier call
  uint64_t seed = 0;
};

struct SmoothedPrediction {
  int top_class = -1;            // -1: abstain
  double p_lower = 0;            // CERTIFY: lower confidence bound on the top class's probability
  double radius = 0;             // CERTIFY: certified L2 radius (0 when abstaining)
  std::vector<int64_t> counts;   // votes per class of the estimation draws
};

// PREDICT: the vote of n noisy copies; abstains unless a two-sided binomial test says
// the top two classes differ at level alpha. x is one sample ([1, ...] or without batch).
Result<SmoothedPrediction> smoothed_predict(Target& base, const Tensor& x, const SmoothingConfig& config);
// CERTIFY: selects the top class with n0 draws, bounds its probability with n fresh ones.
Result<SmoothedPrediction> smoothed_certify(Target& base, const Tensor& x, const SmoothingConfig& config);

// One-sided lower (1 - alpha) Clopper-Pearson bound on a binomial proportion: the p at
// which P(Bin(n, p) >= k) = alpha (0 when k = 0).
double clopper_pearson_lower(int64_t k, int64_t n, double alpha);
// Phi^-1(p), the standard normal quantile, for p in (0, 1).
double normal_quantile(double p);
// Two-sided binomial test p-value of k successes in n trials at p = 1/2.
double binomial_test_half(int64_t k, int64_t n);

}  // namespace slingshot
