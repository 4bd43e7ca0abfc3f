// Threat-model parameters, projections and distortion norms (see threat_model.h).
#include "attacks/threat_model.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <limits>
#include <vector>

#include "core/float_bits.h"
#include "core/thread_pool.h"

namespace slingshot {
namespace {

// Per-sample view: rows of `per` values.
int64_t per_sample(const Tensor& x) { return x.dim(0) == 0 ? 0 : x.numel() / x.dim(0); }

double norm_of(const float* d, int64_t n, Norm norm) {
  double acc = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double a = std::fabs(static_cast<double>(d[i]));
    switch (norm) {
      case Norm::kLinf: acc = std::max(acc, a); break;
      case Norm::kL2: acc += a * a; break;
      case Norm::kL1: acc += a; break;
      case Norm::kL0: acc += a != 0; break;
    }
  }
  return norm == Norm::kL2 ? std::sqrt(acc) : acc;
}

// Euclidean projection onto the L1 ball of radius eps (Duchi et al. 2008, by sorting).
void project_l1(float* d, int64_t n, float eps) {
  if (norm_of(d, n, Norm::kL1) <= eps) return;
  std::vector<float> u(d, d + n);
  for (float& v : u) v = std::fabs(v);
  std::sort(u.begin(), u.end(), std::greater<float>());
  double cumulative = 0, theta = 0;
  for (int64_t j = 0; j < n; ++j) {
    cumulative += u[j];
    const double t = (cumulative - eps) / static_cast<double>(j + 1);
    if (u[j] - t > 0) theta = t;
  }
  for (int64_t i = 0; i < n; ++i) {
    const double m = std::max(0.0, std::fabs(static_cast<double>(d[i])) - theta);
    d[i] = static_cast<float>(std::copysign(m, static_cast<double>(d[i])));
  }
}

// Keeps the k largest-magnitude values (ties: the lower index), zeroes the rest.
void project_l0(float* d, int64_t n, int64_t k) {
  if (k >= n) return;
  std::vector<int64_t> idx(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) idx[i] = i;
  std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) { return std::fabs(d[a]) > std::fabs(d[b]); });
  for (int64_t j = k; j < n; ++j) d[idx[j]] = 0.0f;
}

bool within(double size, float eps) { return size <= static_cast<double>(eps) * (1 + 1e-5) + 1e-7; }

}  // namespace

const char* norm_name(Norm n) {
  switch (n) {
    case Norm::kLinf: return "inf";
    case Norm::kL2: return "2";
    case Norm::kL1: return "1";
    case Norm::kL0: return "0";
  }
  return "?";
}

Result<Norm> parse_norm(std::string_view s) {
  if (s == "inf" || s == "linf" || s == "Linf") return Norm::kLinf;
  if (s == "2" || s == "l2" || s == "L2") return Norm::kL2;
  if (s == "1" || s == "l1" || s == "L1") return Norm::kL1;
  if (s == "0" || s == "l0" || s == "L0") return Norm::kL0;
  return invalid_argument("unknown norm '" + std::string(s) + "'; use inf, 2, 1 or 0");
}

InputDomain image_domain() { return {0.0f, 1.0f, 255.0f}; }
InputDomain waveform_domain() { return {-1.0f, 32767.0f / 32768.0f, 32768.0f}; }

float InputDomain::snap(float v) const {
  v = std::clamp(v, lo, hi);
  if (levels <= 0) return v;
  return std::clamp(std::round(v * levels) / levels, lo, hi);
}

float InputDomain::offset(float from, float steps) const {
  if (levels <= 0) return std::clamp(from + steps, lo, hi);
  return std::clamp((std::round(from * levels) + steps) / levels, lo, hi);
}

const char* loss_name(LossKind k) {
  switch (k) {
    case LossKind::kCrossEntropy: return "ce";
    case LossKind::kCwMargin: return "cw";
    case LossKind::kDlr: return "dlr";
    case LossKind::kProbability: return "prob";
  }
  return "?";
}

Result<LossKind> parse_loss(std::string_view s) {
  if (s == "ce" || s == "cross_entropy") return LossKind::kCrossEntropy;
  if (s == "cw" || s == "margin") return LossKind::kCwMargin;
  if (s == "dlr") return LossKind::kDlr;
  if (s == "prob") return LossKind::kProbability;
  return invalid_argument("unknown loss '" + std::string(s) + "'; use ce, cw, dlr or prob");
}

float default_eps(Norm norm) {
  switch (norm) {
    case Norm::kLinf: return 8.0f / 255.0f;
    case Norm::kL2: return 0.5f;
    case Norm::kL1: return 12.0f;
    case Norm::kL0: return 24.0f;
  }
  return 8.0f / 255.0f;
}

Result<float> parse_eps(std::string_view text) {
  const std::string s(text);
  if (s == "inf") return std::numeric_limits<float>::infinity();  // unbounded (minimal-perturbation attacks)
  auto number = [&](const std::string& part) -> Result<double> {
    char* end = nullptr;
    const double v = std::strtod(part.c_str(), &end);
    if (part.empty() || end != part.c_str() + part.size() || !std::isfinite(v))
      return invalid_argument("eps '" + s + "' is not a number or a fraction such as 8/255");
    return v;
  };
  const size_t slash = s.find('/');
  if (slash == std::string::npos) {
    SLING_ASSIGN_OR_RETURN(double v, number(s));
    return static_cast<float>(v);
  }
  SLING_ASSIGN_OR_RETURN(double num, number(s.substr(0, slash)));
  SLING_ASSIGN_OR_RETURN(double den, number(s.substr(slash + 1)));
  if (den == 0) return invalid_argument("eps '" + s + "' divides by zero");
  return static_cast<float>(num / den);
}

Status validate_attack_params(const AttackParams& p, int num_classes) {
  if (!std::isfinite(p.eps) || p.eps < 0)
    return invalid_argument("eps must be a finite number >= 0 (inf only for minimal-perturbation attacks), got " +
                            std::to_string(p.eps));
  if (p.norm == Norm::kL0 && p.eps != std::floor(p.eps))
    return invalid_argument("an L0 eps counts input values, so it must be a whole number, got " + std::to_string(p.eps));
  if (!std::isfinite(p.eps_step) || p.eps_step < 0)
    return invalid_argument("eps_step must be a finite number >= 0, got " + std::to_string(p.eps_step));
  if (p.max_iter < 1) return invalid_argument("max_iter must be >= 1, got " + std::to_string(p.max_iter));
  if (p.num_random_init < 0)
    return invalid_argument("num_random_init must be >= 0, got " + std::to_string(p.num_random_init));
  if (p.batch_size < 1) return invalid_argument("batch_size must be >= 1, got " + std::to_string(p.batch_size));
  if (p.max_queries < 1)
    return invalid_argument("the query budget (max_queries) must be >= 1, got " + std::to_string(p.max_queries));
  if (p.target != -1 && !p.targeted) return invalid_argument("a target class needs targeted mode");
  if (p.targeted && p.target != -1 && (p.target < 0 || p.target >= num_classes))
    return invalid_argument("target class " + std::to_string(p.target) + " is outside [0, " +
                            std::to_string(num_classes) + ")");
  return Status::Ok();
}

void snap_to_domain(Tensor& x, const InputDomain& d) {
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = d.snap(x[i]);
}

bool on_domain_grid(const Tensor& x, const InputDomain& d) {
  for (int64_t i = 0; i < x.numel(); ++i)
    if (!d.on_grid(x[i])) return false;
  return true;
}

namespace {

// project() for one sample of n values; delta and projected are n-float scratch.
void project_sample(float* xs, const float* x0s, int64_t n, Norm norm, float eps, const InputDomain& d,
                    bool pixel_valid, float* delta, float* projected) {
  if (norm == Norm::kLinf) {
    // One pass that vectorizes (the other norms need the whole delta first): a
    // non-finite value's step is masked to 0 by its exponent bits, as a float select
    // would keep the loop scalar, and min/max clamp as std::clamp does.
    const float lo = d.lo, hi = d.hi;
    for (int64_t i = 0; i < n; ++i) {
      const float x = xs[i], x0 = x0s[i];
      const uint32_t finite = non_finite_bits(float_bits(x)) ? 0u : ~0u;
      const float step = float_from_bits(float_bits(x - x0) & finite);
      xs[i] = std::min(std::max(x0 + std::min(std::max(step, -eps), eps), lo), hi);
    }
  } else {
    for (int64_t i = 0; i < n; ++i) delta[i] = std::isfinite(xs[i]) ? xs[i] - x0s[i] : 0.0f;
    switch (norm) {
      case Norm::kLinf: break;
      case Norm::kL2: {
        const double l2 = norm_of(delta, n, Norm::kL2);
        if (l2 > eps) {
          const float scale = static_cast<float>(eps / l2);
          for (int64_t i = 0; i < n; ++i) delta[i] *= scale;
        }
        break;
      }
      case Norm::kL1: project_l1(delta, n, eps); break;
      case Norm::kL0: project_l0(delta, n, static_cast<int64_t>(eps)); break;
    }
    for (int64_t i = 0; i < n; ++i) xs[i] = std::clamp(x0s[i] + delta[i], d.lo, d.hi);
  }
  if (!pixel_valid || d.levels <= 0) return;
  // Nearest grid values first. If rounding pushed the sample out of the ball, every value
  // rounds toward x0 instead: never farther from x0 than before, in any norm. (x0 is on
  // the grid, so x0 + k * step is too.)
  std::copy(xs, xs + n, projected);
  for (int64_t i = 0; i < n; ++i) {
    xs[i] = d.snap(xs[i]);
    delta[i] = xs[i] - x0s[i];
  }
  if (within(norm_of(delta, n, norm), eps)) return;
  for (int64_t i = 0; i < n; ++i) {
    const float steps = (projected[i] - x0s[i]) * d.levels;  // 7.9999995 means 8 steps
    xs[i] = d.offset(x0s[i], std::trunc(steps + std::copysign(1e-3f, steps)));
  }
}

}  // namespace

void project(Tensor& x, const Tensor& x0, Norm norm, float eps, const InputDomain& d, bool pixel_valid) {
  const int64_t n = per_sample(x);
  // Samples are independent, so ranges of them run on the threads with identical results.
  parallel_item_ranges(x.dim(0), n, [&](int64_t s0, int64_t s1, int) {
    std::vector<float> delta(static_cast<size_t>(n)), projected(static_cast<size_t>(n));
    for (int64_t s = s0; s < s1; ++s)
      project_sample(x.data() + s * n, x0.data() + s * n, n, norm, eps, d, pixel_valid, delta.data(),
                     projected.data());
  });
}

Distortion distortion(const float* x, const float* x0, int64_t n) {
  Distortion r;
  for (int64_t i = 0; i < n; ++i) {
    const double a = std::fabs(static_cast<double>(x[i]) - x0[i]);
    r.l0 += a != 0;
    r.l1 += a;
    r.l2 += a * a;
    r.linf = std::max(r.linf, a);
  }
  r.l2 = std::sqrt(r.l2);
  return r;
}

double distortion_norm(const Distortion& d, Norm norm) {
  switch (norm) {
    case Norm::kLinf: return d.linf;
    case Norm::kL2: return d.l2;
    case Norm::kL1: return d.l1;
    case Norm::kL0: return d.l0;
  }
  return 0;
}

}  // namespace slingshot
