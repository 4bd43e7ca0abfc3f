// `slingshot attacks [NAME...] [--json]` and `slingshot defenses [--json]`: every attack
// and pre-processing defense with its parameters (kind, default, range, doc), read from
// the same schemas the core validates against and the web page builds its forms from.
#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "attacks/attack.h"
#include "attacks/bit_flip.h"
#include "cli/commands.h"
#include "defenses/preprocessor.h"

namespace slingshot::cli {
namespace {

std::string default_text(const SettingSpec& s) {
  if (!has_fixed_default(s)) return "auto";
  if (s.kind == SettingKind::kChoice) {
    const size_t i = static_cast<size_t>(s.default_value);
    return i < s.choices.size() ? s.choices[i] : "?";
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", s.default_value);
  return buf;
}

nlohmann::json setting_json(const SettingSpec& s) {
  nlohmann::json j = {{"name", s.name}, {"kind", setting_kind_name(s.kind)}, {"range", describe_range(s)}, {"doc", s.doc}};
  j["default"] = has_fixed_default(s) ? nlohmann::json(s.default_value) : nlohmann::json(nullptr);
  if (!s.choices.empty()) j["choices"] = s.choices;
  if (!s.unit.empty()) j["unit"] = s.unit;
  return j;
}

void print_settings(const std::vector<SettingSpec>& settings) {
  for (const SettingSpec& s : settings) {
    std::string range = s.kind == SettingKind::kChoice ? "" : describe_range(s);
    if (!s.choices.empty()) {
      for (const std::string& c : s.choices) range += (range.empty() ? "{" : ", ") + c;
      range += "}";
    }
    std::printf("    %-18s %-8s %-10s %-22s %s\n", s.name.c_str(), setting_kind_name(s.kind), default_text(s).c_str(),
                range.c_str(), s.doc.c_str());
  }
}

struct ListOptions {
  std::vector<std::string> names;
  bool json = false;
};

Status run_attacks(const ListOptions& o) {
  std::vector<std::string> names = o.names.empty() ? attack_names() : o.names;
  nlohmann::json all = nlohmann::json::array();
  for (const std::string& name : names) {
    nlohmann::json j = {{"name", name}, {"doc", attack_doc(name)}};
    std::vector<SettingSpec> params;
    if (name == kBitFlipAttackName) {
      j["family"] = "weight";
      params = bit_flip_settings();
    } else {
      SLING_ASSIGN_OR_RETURN(auto attack, make_attack(name));
      j["family"] = attack_family_name(attack->family());
      params = attack_parameters(*attack);
    }
    if (o.json) {
      j["params"] = nlohmann::json::array();
      for (const SettingSpec& s : params) j["params"].push_back(setting_json(s));
      all.push_back(j);
      continue;
    }
    std::printf("%s (%s): %s\n", name.c_str(), j["family"].get<std::string>().c_str(), attack_doc(name).c_str());
    print_settings(params);
    std::printf("\n");
  }
  if (o.json) std::printf("%s\n", all.dump(1).c_str());
  return Status::Ok();
}

Status run_defenses(const ListOptions& o) {
  nlohmann::json all = nlohmann::json::array();
  for (const PreprocessorInfo& d : preprocessor_registry()) {
    if (o.json) {
      nlohmann::json j = {{"name", d.name}, {"doc", d.doc}, {"params", nlohmann::json::array()}};
      for (const SettingSpec& s : d.settings) j["params"].push_back(setting_json(s));
      all.push_back(j);
      continue;
    }
    std::printf("%s: %s\n", d.name.c_str(), d.doc.c_str());
    print_settings(d.settings);
    std::printf("\n");
  }
  if (o.json) std::printf("%s\n", all.dump(1).c_str());
  return Status::Ok();
}

}  // namespace

void register_list(CLI::App& app, CommandList& out) {
  auto attacks = std::make_shared<ListOptions>();
  CLI::App* a = app.add_subcommand("attacks", "List the attacks with their parameters (kind, default, range, doc)");
  a->add_option("names", attacks->names, "Only these attacks");
  a->add_flag("--json", attacks->json, "Print JSON");
  out.push_back({a, [attacks] { return run_attacks(*attacks); }});
  auto defenses = std::make_shared<ListOptions>();
  CLI::App* d = app.add_subcommand("defenses", "List the pre-processing defenses (--defense NAME:KEY=VALUE) and their settings");
  d->add_flag("--json", defenses->json, "Print JSON");
  out.push_back({d, [defenses] { return run_defenses(*defenses); }});
}

}  // namespace slingshot::cli
