// The typed schema of a named numeric setting (an attack's extra settings, a defense's
// keys, the shared attack parameters): its kind, default, range, unit and a one-line doc.
// Front ends build their forms from it (the web page, the CLI's help), and the core
// checks values against it, so a new setting needs no front-end change.
#pragma once

#include <limits>
#include <string>
#include <vector>

#include "core/status.h"

namespace slingshot {

enum class SettingKind {
  kNumber,   // any real in range
  kInteger,  // a whole number in range
  kBoolean,  // 0 or 1
  kChoice,   // an index into `choices` (stored as a number; front ends show the names)
};
const char* setting_kind_name(SettingKind k);  // "number", "integer", "boolean", "choice"

inline constexpr double kNoBound = std::numeric_limits<double>::infinity();

struct SettingSpec {
  std::string name;                        // the key, as users type it (--set name=value)
  SettingKind kind = SettingKind::kNumber;
  double default_value = 0;                // NaN: chosen at run time; `doc` says how
  double min = -kNoBound;                  // lowest allowed value
  double max = kNoBound;                   // highest allowed value (inf with max_exclusive: any finite)
  bool min_exclusive = false;              // the value must exceed min
  bool max_exclusive = false;              // the value must stay below max
  std::vector<std::string> choices;        // kChoice: the name of each index
  std::string unit;                        // "input" (input units, eps-like), "count", "pixels", "degrees" or ""
  std::string doc;                         // one line for help texts and tooltips
};

// Whether a default is "chosen at run time" (NaN).
bool has_fixed_default(const SettingSpec& s);

// "[0, inf)", "(0, 1]", "{0, 1}" ...
std::string describe_range(const SettingSpec& s);

// Checks `value` against the spec's kind and range; the error names `owner` (e.g.
// "attack 'ead'"), the setting, its range and the value.
Status check_setting_value(const SettingSpec& s, double value, const std::string& owner);

// The spec named `name`, or nullptr.
const SettingSpec* find_setting(const std::vector<SettingSpec>& specs, const std::string& name);

// "a, b, c": the names, for error messages.
std::string setting_names(const std::vector<SettingSpec>& specs);

}  // namespace slingshot
