// Central finite-difference gradient checks in float64 for layers and whole graphs.
//
// Layers run their very same templated code in double, so the check measures the
// backward math, not float32 rounding. Parameters are stored as float: a parameter is
// perturbed in float and the finite difference divides by the perturbation that was
// actually applied (computed exactly in double), so the quotient stays exact.
#pragma once

#include <cmath>
#include <functional>
#include <vector>

#include "core/rng.h"
#include "core/tensor.h"

namespace slingshot::testing {

// Relative error of one analytic/numeric pair, with an absolute floor `scale` so that
// components that are both ~0 do not blow up the ratio.
inline double relative_error(double analytic, double numeric, double scale) {
  return std::abs(analytic - numeric) / std::max({std::abs(analytic), std::abs(numeric), scale});
}

struct GradCheckStats {
  double max_rel = 0;  // worst per-component relative error
  int checked = 0;     // components compared
};

// Compares analytic[i] with (f(+h) - f(-h)) / (2h) for the chosen indices of a double
// tensor `x`; `loss` re-evaluates the scalar with x modified in place.
inline GradCheckStats check_tensor_gradient(TensorD& x, const TensorD& analytic, const std::vector<int64_t>& indices,
                                            const std::function<double()>& loss, double h, double floor) {
  GradCheckStats st;
  for (int64_t i : indices) {
    const double saved = x[i];
    x[i] = saved + h;
    const double up = loss();
    x[i] = saved - h;
    const double down = loss();
    x[i] = saved;
    const double numeric = (up - down) / (2 * h);
    st.max_rel = std::max(st.max_rel, relative_error(analytic[i], numeric, floor));
    ++st.checked;
  }
  return st;
}

// The same for a float parameter tensor, dividing by the perturbation actually applied.
inline GradCheckStats check_param_gradient(Tensor& p, const TensorD& analytic, const std::vector<int64_t>& indices,
                                           const std::function<double()>& loss, float rel_h, double floor) {
  GradCheckStats st;
  for (int64_t i : indices) {
    const float saved = p[i];
    const float h = rel_h * std::max(1.0f, std::abs(saved));
    p[i] = saved + h;
    const double hi = p[i];
    const double up = loss();
    p[i] = saved - h;
    const double lo = p[i];
    const double down = loss();
    p[i] = saved;
    const double numeric = (up - down) / (hi - lo);
    st.max_rel = std::max(st.max_rel, relative_error(analytic[i], numeric, floor));
    ++st.checked;
  }
  return st;
}

// All indices of a small tensor, or `count` seeded random ones of a large one.
inline std::vector<int64_t> sample_indices(int64_t numel, int count, uint64_t seed) {
  std::vector<int64_t> out;
  if (numel <= count) {
    for (int64_t i = 0; i < numel; ++i) out.push_back(i);
    return out;
  }
  Rng rng(seed);
  for (int k = 0; k < count; ++k) out.push_back(static_cast<int64_t>(rng.below(static_cast<uint32_t>(numel))));
  return out;
}

inline TensorD random_tensor(const Shape& shape, Rng& rng, float lo = -1.0f, float hi = 1.0f) {
  TensorD t(shape);
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = rng.uniform(lo, hi);
  return t;
}

inline void randomize(Tensor& t, Rng& rng, float lo = -1.0f, float hi = 1.0f) {
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = rng.uniform(lo, hi);
}

// Gradient floor: a fraction of the typical gradient magnitude, so tiny components are
// judged on absolute error relative to the gradient's scale.
inline double gradient_floor(const TensorD& g) {
  double s = 0;
  for (int64_t i = 0; i < g.numel(); ++i) s += std::abs(g[i]);
  return g.numel() ? 1e-3 * s / static_cast<double>(g.numel()) + 1e-12 : 1e-12;
}

}  // namespace slingshot::testing
