// Pre-processor specs and the registry (see preprocessor.h).
#include "defenses/preprocessor.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace slingshot {
namespace {

struct RegistryEntry {
  PreprocessorInfo info;
  Result<std::unique_ptr<Preprocessor>> (*make)(const PreprocessorSettings&);
};

// One entry per pre-processor; its file holds everything else.
const std::vector<RegistryEntry>& registry() {
  static const std::vector<RegistryEntry> entries = {
      {{"bit_depth", "feature squeezing (Xu et al.): rounds every value to 2^bits levels over the input range",
        {{.name = "bits", .kind = SettingKind::kInteger, .default_value = 5, .min = 1, .max = 8,  // Xu et al.'s CIFAR-10 setting
          .doc = "bits per value kept (levels = 2^bits)"}}},
       make_bit_depth},
      {{"median_filter", "feature squeezing (Xu et al.): the median of a size x size window per channel (size samples on waveforms), reflected borders; attacks take its exact sub-gradient (through the picked value)",
        {{.name = "size", .kind = SettingKind::kInteger, .default_value = 2, .min = 2, .max = 7, .unit = "pixels",  // Xu et al.'s CIFAR-10 setting
          .doc = "window side; even windows reach one further up and left (scipy's anchoring)"}}},
       make_median_filter},
      {{"jpeg", "JPEG compression (stb_image_write, then stb_image) of 1- or 3-channel images on the 8-bit grid",
        {{.name = "quality", .kind = SettingKind::kInteger, .default_value = 75, .min = 1, .max = 100,
          .doc = "JPEG quality (100: finest quantization, 4:4:4 chroma above 90)"}}},
       make_jpeg},
      {{"spatial_smoothing", "Gaussian blur per channel with reflected borders; linear, so attacks take its exact gradient",
        {{.name = "sigma", .default_value = 1, .min = 0, .max = 10, .unit = "pixels",
          .doc = "standard deviation of the blur; the kernel reaches ceil(3 sigma) (0: off)"}}},
       make_spatial_smoothing},
      {{"gaussian_noise", "additive Gaussian noise per value and call, clipped to the input range",
        {{.name = "sigma", .default_value = 0.05, .min = 0, .max = kNoBound, .max_exclusive = true, .unit = "input",
          .doc = "standard deviation of the noise (0: off)"}}},
       make_gaussian_noise},
      {{"randomized_smoothing", "randomized smoothing (Cohen et al.): the majority vote over Gaussian-noise draws; abstains (class -1, counted wrong) unless the top class beats the runner-up at level alpha; attacked with EOT over the noise",
        {{.name = "sigma", .default_value = 0.25, .min = 0, .max = kNoBound, .min_exclusive = true, .max_exclusive = true,
          .unit = "input", .doc = "standard deviation of the noise"},
         {.name = "samples", .kind = SettingKind::kInteger, .default_value = 32, .min = 1, .max = 100000,
          .unit = "count", .doc = "noise draws voting on each prediction"},
         {.name = "alpha", .default_value = 0.001, .min = 0, .max = 1, .min_exclusive = true,
          .doc = "level of the vote's binomial test; the prediction abstains above it (1: never abstains)"}}},
       make_randomized_smoothing},
      {{"tv_minimization", "total-variation minimization (Guo et al.): drops values at random, then rebuilds the signal from the kept ones with the least total variation",
        {{.name = "keep", .default_value = 0.5, .min = 0, .max = 1, .min_exclusive = true,
          .doc = "probability that a value is kept for the rebuild (1: no dropout, deterministic)"},
         {.name = "lambda", .default_value = 0.03, .min = 0, .max = kNoBound, .max_exclusive = true,
          .doc = "weight of the total variation against closeness to the kept values, on values scaled to [0, 1]"},
         {.name = "iterations", .kind = SettingKind::kInteger, .default_value = 200, .min = 1, .max = 10000,
          .unit = "count", .doc = "primal-dual solver iterations"}}},
       make_tv_minimization},
  };
  return entries;
}

std::string format_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

// A number ("0.05", "1e-2") or a fraction of two ("8/255"); nothing may trail it.
Result<double> parse_number(const std::string& text) {
  const size_t slash = text.find('/');
  auto whole = [](const std::string& t, double& v) {
    if (t.empty()) return false;
    char* end = nullptr;
    v = std::strtod(t.c_str(), &end);
    return end == t.c_str() + t.size();
  };
  double a = 0, b = 1;
  const bool ok = slash == std::string::npos ? whole(text, a) : whole(text.substr(0, slash), a) && whole(text.substr(slash + 1), b);
  if (!ok || b == 0) return invalid_argument("'" + text + "' is not a number");
  return a / b;
}

std::string known_names() {
  std::string s;
  for (const std::string& d : preprocessor_descriptions()) s += (s.empty() ? "" : ", ") + d;
  return s;
}

}  // namespace

Status Preprocessor::backward(const Tensor& x, const Tensor& out, const InputDomain& domain, const Tensor& dout,
                              Tensor& dx) const {
  (void)x, (void)out, (void)domain, (void)dout, (void)dx;
  return internal_error("pre-processor '" + name() + "' is not differentiable; BPDA crosses it as the identity");
}

Result<int> whole_number_setting(const PreprocessorSettings& settings, const std::string& key, int lo, int hi) {
  const double v = settings.at(key);
  if (!(v >= lo && v <= hi) || v != std::floor(v))
    return invalid_argument(key + " must be a whole number in " + std::to_string(lo) + ".." + std::to_string(hi) +
                            ", got " + format_number(v));
  return static_cast<int>(v);
}

std::string Preprocessor::spec() const {
  std::string s = name();
  char sep = ':';
  for (const auto& [key, value] : settings()) {
    s += sep + key + "=" + format_number(value);
    sep = ',';
  }
  return s;
}

std::vector<std::string> preprocessor_descriptions() {
  std::vector<std::string> out;
  for (const RegistryEntry& e : registry()) {
    std::string d = e.info.name + " (";
    for (size_t i = 0; i < e.info.settings.size(); ++i)
      d += (i ? ", " : "") + e.info.settings[i].name + "=" + format_number(e.info.settings[i].default_value);
    out.push_back(d + ")");
  }
  return out;
}

std::vector<PreprocessorInfo> preprocessor_registry() {
  std::vector<PreprocessorInfo> out;
  for (const RegistryEntry& e : registry()) out.push_back(e.info);
  return out;
}

Result<std::unique_ptr<Preprocessor>> make_preprocessor(std::string_view spec_view) {
  const std::string spec(spec_view);
  const size_t colon = spec.find(':');
  const std::string name = spec.substr(0, colon);
  const RegistryEntry* entry = nullptr;
  for (const RegistryEntry& e : registry())
    if (name == e.info.name) entry = &e;
  if (!entry) return invalid_argument("unknown defense '" + name + "'; known: " + known_names());
  const std::string where = "defense '" + spec + "': ";
  PreprocessorSettings settings;
  for (const SettingSpec& s : entry->info.settings) settings[s.name] = s.default_value;
  if (colon != std::string::npos) {
    const std::string list = spec.substr(colon + 1);
    size_t begin = 0;
    while (begin <= list.size()) {
      const size_t comma = std::min(list.find(',', begin), list.size());
      const std::string kv = list.substr(begin, comma - begin);
      begin = comma + 1;
      const size_t eq = kv.find('=');
      if (eq == std::string::npos || eq == 0) return invalid_argument(where + "expected key=value, got '" + kv + "'");
      const std::string key = kv.substr(0, eq);
      if (!settings.count(key)) return invalid_argument(where + "unknown key '" + key + "'; " + known_names());
      auto value = parse_number(kv.substr(eq + 1));
      if (!value.ok()) return value.status().with_context(where + key);
      settings[key] = *value;
    }
  }
  auto made = entry->make(settings);
  if (!made.ok()) return made.status().with_context("defense '" + spec + "'");
  // The factory's own checks say more; this catches whatever range they leave out.
  for (const SettingSpec& s : entry->info.settings)
    SLING_RETURN_IF_ERROR(check_setting_value(s, settings[s.name], "defense '" + spec + "'"));
  return made;
}

}  // namespace slingshot
