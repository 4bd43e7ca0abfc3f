// The threat model every attack shares: the norm ball around the clean input, the input
// domain (value range and, in pixel-valid mode, the 8-bit image or 16-bit audio grid),
// and the parameters named as ART and torchattacks name them.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <string_view>

#include "core/status.h"
#include "core/tensor.h"

namespace slingshot {

enum class Norm { kLinf, kL2, kL1, kL0 };
const char* norm_name(Norm n);  // "inf", "2", "1", "0"
// Accepts inf / linf, 2 / l2, 1 / l1, 0 / l0.
Result<Norm> parse_norm(std::string_view s);

// What the deployed model reads: values in [lo, hi] on the grid k / levels (levels 0:
// continuous). Grid values are computed as k / levels, exactly as 8-bit images (k / 255)
// and 16-bit audio (k / 32768) are decoded, so decoded files are on the grid.
struct InputDomain {
  float lo = 0.0f;
  float hi = 1.0f;
  float levels = 255.0f;

  float step() const { return levels > 0 ? 1.0f / levels : 0.0f; }
  // The grid value k / levels nearest to v (v itself if continuous), clamped to [lo, hi].
  float snap(float v) const;
  bool on_grid(float v) const { return v >= lo && v <= hi && (levels <= 0 || snap(v) == v); }
  // The grid value `steps` grid steps from the grid value `from`.
  float offset(float from, float steps) const;
};
// 8-bit images in [0, 1]: k / 255.
InputDomain image_domain();
// 16-bit PCM audio: k / 32768 for k in [-32768, 32767].
InputDomain waveform_domain();

// Attack-objective losses (attacks/objective.h).
enum class LossKind { kCrossEntropy, kCwMargin, kDlr, kProbability };
const char* loss_name(LossKind k);  // "ce", "cw", "dlr", "prob"
Result<LossKind> parse_loss(std::string_view s);

struct AttackParams {
  Norm norm = Norm::kLinf;
  float eps = 8.0f / 255.0f;        // ball radius; for L0 the number of input values that may change
  float eps_step = 0.0f;            // step size; 0: the attack's default (e.g. eps / 4 for PGD)
  int max_iter = 10;                // iterations
  int num_random_init = 0;          // random restarts (0: start at the clean input)
  bool targeted = false;            // reach `target` instead of leaving the true class
  int target = -1;                  // targeted: the class for every sample; -1: a random wrong class each
  int batch_size = 32;              // samples per attack call
  uint64_t seed = 0;                // every random choice derives from it
  int64_t max_queries = 10000;      // black-box budget per sample (predictions)
  bool pixel_valid = true;          // snap every iterate onto the domain grid
  LossKind loss = LossKind::kCrossEntropy;  // objective of gradient attacks that take one
  std::map<std::string, double> extra;      // attack-specific settings (each attack lists its keys)
};

// Checks the shared fields: eps >= 0 and finite (an integer for L0), eps_step >= 0,
// max_iter >= 1, num_random_init >= 0, batch_size >= 1, max_queries >= 1, and a fixed
// target in [0, num_classes).
Status validate_attack_params(const AttackParams& p, int num_classes);

// Parses an eps written as a number, a fraction ("8/255") or "inf" (unbounded).
// The eps an attack runs with when none is given, per norm, on inputs in [0, 1]: the
// usual benchmark radii (RobustBench: Linf 8/255, L2 0.5, L1 12) and, for L0, 24 changed
// input values (the sparse-attack literature's budget).
float default_eps(Norm norm);

Result<float> parse_eps(std::string_view text);

// Projects each sample of `x` back into the threat model around `x0` (both [N, ...]):
// onto the `norm` ball of radius `eps`, into [lo, hi], and in pixel-valid mode onto the
// domain grid. A grid value that would leave the ball is rounded toward x0 instead, so
// the result always satisfies the bound exactly.
void project(Tensor& x, const Tensor& x0, Norm norm, float eps, const InputDomain& domain, bool pixel_valid);

// Snaps every value onto the domain grid (nearest) and into [lo, hi].
void snap_to_domain(Tensor& x, const InputDomain& domain);
// Whether every value lies on the grid and in range.
bool on_domain_grid(const Tensor& x, const InputDomain& domain);

// Perturbation sizes of one sample: L0 counts changed values.
struct Distortion {
  double l0 = 0, l1 = 0, l2 = 0, linf = 0;
};
Distortion distortion(const float* x, const float* x0, int64_t n);
// The norm of a distortion in the threat model's norm.
double distortion_norm(const Distortion& d, Norm norm);

}  // namespace slingshot
