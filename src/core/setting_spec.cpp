// Setting schemas: range descriptions and value checks (see setting_spec.h).
#include "core/setting_spec.h"

#include <cmath>
#include <cstdio>

namespace slingshot {
namespace {

std::string format_bound(double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

bool in_range(const SettingSpec& s, double v) {
  const bool above = s.min_exclusive ? v > s.min : v >= s.min;
  const bool below = s.max_exclusive ? v < s.max : v <= s.max;
  return above && below;
}

}  // namespace

const char* setting_kind_name(SettingKind k) {
  switch (k) {
    case SettingKind::kNumber: return "number";
    case SettingKind::kInteger: return "integer";
    case SettingKind::kBoolean: return "boolean";
    case SettingKind::kChoice: return "choice";
  }
  return "?";
}

bool has_fixed_default(const SettingSpec& s) { return !std::isnan(s.default_value); }

std::string describe_range(const SettingSpec& s) {
  if (s.kind == SettingKind::kBoolean) return "{0, 1}";
  if (s.kind == SettingKind::kChoice) {
    std::string list;
    for (size_t i = 0; i < s.choices.size(); ++i)
      list += (i ? ", " : "") + std::to_string(i) + " (" + s.choices[i] + ")";
    return "{" + list + "}";
  }
  // An infinite bound is always open unless the setting accepts infinity itself.
  const bool open_low = s.min_exclusive || std::isinf(s.min), open_high = s.max_exclusive;
  return std::string(open_low ? "(" : "[") + format_bound(s.min) + ", " + format_bound(s.max) + (open_high ? ")" : "]");
}

Status check_setting_value(const SettingSpec& s, double value, const std::string& owner) {
  const std::string where = owner + ": setting '" + s.name + "'";
  if (std::isnan(value)) return invalid_argument(where + " is NaN");
  if (std::isinf(value) && !(value > 0 && s.max == kNoBound && !s.max_exclusive))
    return invalid_argument(where + " must be a finite number, got " + format_bound(value));
  bool ok = true;
  switch (s.kind) {
    case SettingKind::kNumber: ok = in_range(s, value); break;
    case SettingKind::kInteger: ok = in_range(s, value) && value == std::floor(value); break;
    case SettingKind::kBoolean: ok = value == 0 || value == 1; break;
    case SettingKind::kChoice:
      ok = value >= 0 && value == std::floor(value) && value < static_cast<double>(s.choices.size());
      break;
  }
  if (ok) return Status::Ok();
  const char* what = s.kind == SettingKind::kInteger ? "a whole number in " : s.kind == SettingKind::kNumber ? "in " : "one of ";
  return invalid_argument(where + " must be " + what + describe_range(s) + ", got " + format_bound(value));
}

const SettingSpec* find_setting(const std::vector<SettingSpec>& specs, const std::string& name) {
  for (const SettingSpec& s : specs)
    if (s.name == name) return &s;
  return nullptr;
}

std::string setting_names(const std::vector<SettingSpec>& specs) {
  std::string list;
  for (const SettingSpec& s : specs) list += (list.empty() ? "" : ", ") + s.name;
  return list;
}

}  // namespace slingshot
