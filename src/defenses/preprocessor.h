// Input pre-processing defenses: one transform of the input each (bit-depth reduction,
// median filtering, JPEG, Gaussian blur and noise, total-variation minimization, and
// randomized smoothing, whose noise comes with a majority vote over draws),
// applied in front of a model by defenses/preprocessed_target.h.
//
// A pre-processor says whether it is randomized (EOT averages over its draws) and whether
// it is differentiable (backward() is its exact Jacobian; the others are crossed by BPDA
// as the identity), so attacks are adaptive and defenses are never credited for gradient
// masking.
//
// Spec strings name one pre-processor and its settings:
//   NAME[:KEY=VALUE[,KEY=VALUE...]]     e.g. "bit_depth:bits=4", "gaussian_noise:sigma=8/255"
// Values are numbers or fractions; omitted keys take their defaults. Adding a
// pre-processor is one file with a `make_<name>` factory plus one line in the registry
// (preprocessor.cpp).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "attacks/threat_model.h"
#include "core/rng.h"
#include "core/setting_spec.h"
#include "core/status.h"
#include "core/tensor.h"

namespace slingshot {

// A pre-processor's settings by key, each a number (integers are whole numbers).
using PreprocessorSettings = std::map<std::string, double>;

class Preprocessor {
 public:
  virtual ~Preprocessor() = default;

  virtual std::string name() const = 0;            // registry name, e.g. "bit_depth"
  virtual PreprocessorSettings settings() const = 0;  // every setting, defaults included, for reports
  virtual bool randomized() const = 0;             // apply() draws from its rng
  virtual bool differentiable() const = 0;         // backward() is the exact Jacobian

  // x is [N, ...] in `domain`; out has x's shape and stays inside [domain.lo, domain.hi].
  // Randomized pre-processors draw from `rng`, the others leave it untouched.
  virtual Status apply(const Tensor& x, const InputDomain& domain, Rng& rng, Tensor& out) const = 0;
  // Differentiable ones: dx = dout times d(out)/dx at the draw apply() made (x its input,
  // out its output). The others refuse: BPDA crosses them as the identity instead.
  virtual Status backward(const Tensor& x, const Tensor& out, const InputDomain& domain, const Tensor& dout,
                          Tensor& dx) const;

  // How a defended target classifies behind this pre-processor. `draws` 0 (every
  // pre-processor but randomized smoothing): predict() classifies one draw. Otherwise its
  // answer is the majority vote of the model over `draws` draws, and it abstains unless
  // the top class beats the runner-up in a two-sided binomial test at level `alpha`
  // (Cohen et al.'s PREDICT; alpha 1 never abstains). See preprocessed_target.h.
  struct Vote {
    int draws = 0;
    double alpha = 1;
  };
  virtual Vote prediction_vote() const { return {}; }

  // The canonical spec, every setting spelled out: "bit_depth:bits=4".
  std::string spec() const;
};

// Parses a spec and builds the pre-processor. Unknown names or keys and bad values are
// errors that list what exists.
Result<std::unique_ptr<Preprocessor>> make_preprocessor(std::string_view spec);
// Every registered pre-processor as "name (key=default, ...)", for help texts.
std::vector<std::string> preprocessor_descriptions();

// A registered pre-processor as front ends list it.
struct PreprocessorInfo {
  std::string name;                   // registry name, the spec's NAME
  std::string doc;                    // one line
  std::vector<SettingSpec> settings;  // its keys with kinds, defaults and ranges
};
std::vector<PreprocessorInfo> preprocessor_registry();

// For factories: the setting `key` as a whole number in [lo, hi], or an error that says so
// ("bits must be a whole number in 1..8, got 9").
Result<int> whole_number_setting(const PreprocessorSettings& settings, const std::string& key, int lo, int hi);

// The registered pre-processors' factories, one file each; settings hold every key the
// registry declares for the name, defaults filled in.
Result<std::unique_ptr<Preprocessor>> make_bit_depth(const PreprocessorSettings& settings);
Result<std::unique_ptr<Preprocessor>> make_median_filter(const PreprocessorSettings& settings);
Result<std::unique_ptr<Preprocessor>> make_jpeg(const PreprocessorSettings& settings);
Result<std::unique_ptr<Preprocessor>> make_spatial_smoothing(const PreprocessorSettings& settings);
Result<std::unique_ptr<Preprocessor>> make_gaussian_noise(const PreprocessorSettings& settings);
Result<std::unique_ptr<Preprocessor>> make_randomized_smoothing(const PreprocessorSettings& settings);
Result<std::unique_ptr<Preprocessor>> make_tv_minimization(const PreprocessorSettings& settings);

}  // namespace slingshot
