// Sweep specs, the grid, item ids, sharding and the merge (see sweep.h, docs/sweeps.md).
#include "metrics/sweep.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

#include "attacks/attack.h"
#include "attacks/attack_report.h"
#include "core/file_io.h"
#include "defenses/ensemble.h"
#include "engine/engine.h"

namespace slingshot {
namespace {

using nlohmann::json;

constexpr int64_t kMaxSpecBytes = 1 << 20;
constexpr int64_t kMaxModelBytes = int64_t{1} << 31;

std::string type_name(const json& v) { return v.type_name(); }

// A whole number in [lo, hi] at `key`.
Result<int64_t> integer_at(const json& v, const std::string& key, int64_t lo, int64_t hi) {
  if (!v.is_number_integer())
    return invalid_argument(key + ": expected an integer, got " + (v.is_number() ? v.dump() : type_name(v)));
  if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(hi))
    return invalid_argument(key + ": " + v.dump() + " is above " + std::to_string(hi));
  const int64_t n = v.get<int64_t>();
  if (n < lo || n > hi)
    return invalid_argument(key + ": " + std::to_string(n) + " is outside [" + std::to_string(lo) + ", " +
                            std::to_string(hi) + "]");
  return n;
}

Result<std::string> string_at(const json& v, const std::string& key) {
  if (!v.is_string()) return invalid_argument(key + ": expected a string, got " + type_name(v));
  const std::string s = v.get<std::string>();
  if (s.empty()) return invalid_argument(key + ": must not be empty");
  return s;
}

Result<bool> bool_at(const json& v, const std::string& key) {
  if (!v.is_boolean()) return invalid_argument(key + ": expected true or false, got " + type_name(v));
  return v.get<bool>();
}

// A number, or a string parse_eps reads ("8/255", "inf").
Result<float> real_at(const json& v, const std::string& key) {
  if (v.is_number()) {
    const double d = v.get<double>();
    if (!std::isfinite(d)) return invalid_argument(key + ": must be finite");
    return static_cast<float>(d);
  }
  if (v.is_string()) {
    auto parsed = parse_eps(v.get<std::string>());
    if (!parsed.ok()) return parsed.status().with_context(key);
    return parsed;
  }
  return invalid_argument(key + ": expected a number or a fraction such as \"8/255\", got " + type_name(v));
}

// A non-empty array at `key` of the object `spec`.
Result<const json*> list_at(const json& spec, const std::string& key) {
  if (!spec.contains(key)) return invalid_argument("'" + key + "' is required");
  const json& v = spec.at(key);
  if (!v.is_array() || v.empty()) return invalid_argument(key + ": expected a non-empty list");
  return &v;
}

// Every key of `object` must be one of `allowed`; the error names `where` and lists them.
Status check_keys(const json& object, const std::vector<std::string>& allowed, const std::string& where) {
  for (const auto& [key, value] : object.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    std::string names;
    for (const std::string& a : allowed) names += (names.empty() ? "" : ", ") + a;
    return invalid_argument(where + "'" + key + "' is not a known key (known: " + names + ")");
  }
  return Status::Ok();
}

// An attack's params object, in the vocabulary of attack reports and the web API: the
// shared names fill their fields, every other key is one of the attack's settings.
Result<AttackParams> attack_params_from(const json& params, const Attack& attack, const std::string& where) {
  AttackParams p;
  p.max_iter = attack.default_max_iter();
  p.norm = attack.norms().front();
  if (!params.is_object()) return invalid_argument(where + ": expected an object, got " + type_name(params));
  const std::vector<SettingSpec> specs = attack.settings();
  bool targeted_given = false;
  for (const auto& [key, v] : params.items()) {
    const std::string at = where + "." + key;
    if (key == "eps" || key == "seed" || key == "batch_size") {
      return invalid_argument(at + ": set by the spec's top-level '" + key + "'" +
                              (key == "eps" ? " list (every attack runs at every eps)" : ""));
    } else if (key == "norm") {
      SLING_ASSIGN_OR_RETURN(const std::string s, string_at(v, at));
      auto norm = parse_norm(s);
      if (!norm.ok()) return norm.status().with_context(at);
      p.norm = *norm;
    } else if (key == "eps_step") {
      SLING_ASSIGN_OR_RETURN(p.eps_step, real_at(v, at));
    } else if (key == "max_iter") {
      SLING_ASSIGN_OR_RETURN(const int64_t n, integer_at(v, at, 1, 10000000));
      p.max_iter = static_cast<int>(n);
    } else if (key == "num_random_init") {
      SLING_ASSIGN_OR_RETURN(const int64_t n, integer_at(v, at, 0, 1000000));
      p.num_random_init = static_cast<int>(n);
    } else if (key == "target") {
      SLING_ASSIGN_OR_RETURN(const int64_t n, integer_at(v, at, -1, 1000000000));
      p.target = static_cast<int>(n);
    } else if (key == "targeted") {
      SLING_ASSIGN_OR_RETURN(p.targeted, bool_at(v, at));
      targeted_given = true;
    } else if (key == "max_queries") {
      SLING_ASSIGN_OR_RETURN(p.max_queries, integer_at(v, at, 1, int64_t{1} << 40));
    } else if (key == "pixel_valid") {
      SLING_ASSIGN_OR_RETURN(p.pixel_valid, bool_at(v, at));
    } else if (key == "loss") {
      SLING_ASSIGN_OR_RETURN(const std::string s, string_at(v, at));
      auto loss = parse_loss(s);
      if (!loss.ok()) return loss.status().with_context(at);
      p.loss = *loss;
    } else {
      const SettingSpec* spec = find_setting(specs, key);
      if (!spec)
        return invalid_argument(at + ": attack '" + attack.name() + "' has no setting '" + key + "' (shared: norm, "
                                "eps_step, max_iter, num_random_init, targeted, target, max_queries, pixel_valid, loss; "
                                "its own: " + (specs.empty() ? std::string("none") : setting_names(specs)) + ")");
      double value = 0;
      if (v.is_boolean()) {
        value = v.get<bool>() ? 1 : 0;
      } else if (v.is_string() && spec->kind == SettingKind::kChoice) {
        const std::string name = v.get<std::string>();
        const auto it = std::find(spec->choices.begin(), spec->choices.end(), name);
        if (it == spec->choices.end()) return invalid_argument(at + ": '" + name + "' is not one of " + describe_range(*spec));
        value = static_cast<double>(it - spec->choices.begin());
      } else {
        SLING_ASSIGN_OR_RETURN(const float number, real_at(v, at));
        value = number;
      }
      SLING_RETURN_IF_ERROR(check_setting_value(*spec, value, "attack '" + std::string(attack.name()) + "'").with_context(at));
      p.extra[key] = value;
    }
  }
  if (!targeted_given && p.target >= 0) p.targeted = true;  // as the CLI's --target
  return p;
}

// A path of the spec, relative to its directory unless absolute.
std::string resolve(const std::string& path, const std::string& base_dir) {
  const std::filesystem::path p(path);
  if (p.is_absolute() || base_dir.empty()) return p.lexically_normal().string();
  return (std::filesystem::path(base_dir) / p).lexically_normal().string();
}

// The data spec with its file paths resolved: labels:CSV, folder:DIR, cifar10:F[,F...].
std::string resolve_data(const std::string& data, const std::string& base_dir) {
  for (const char* prefix : {"labels:", "folder:"}) {
    const std::string pre(prefix);
    if (data.rfind(pre, 0) == 0) return pre + resolve(data.substr(pre.size()), base_dir);
  }
  if (data.rfind("cifar10:", 0) == 0) {
    std::string out = "cifar10:";
    const std::string rest = data.substr(8);
    for (size_t pos = 0; pos <= rest.size();) {
      const size_t comma = rest.find(',', pos);
      if (pos) out += ',';
      out += resolve(rest.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos), base_dir);
      if (comma == std::string::npos) break;
      pos = comma + 1;
    }
    return out;
  }
  return data;  // generated sets: shapes, housenum, keywords
}

// The bytes a model entry stands for: the file, and an ensemble file's members.
Result<std::string> model_fingerprint(const std::string& file) {
  SLING_ASSIGN_OR_RETURN(const std::string bytes, read_file(file, kMaxModelBytes));
  std::string print = fnv1a_hex(bytes);
  if (is_ensemble_path(file)) {
    SLING_ASSIGN_OR_RETURN(const EnsembleSpec ensemble, load_ensemble_spec(file));
    for (const EnsembleMember& member : ensemble.members) {
      SLING_ASSIGN_OR_RETURN(const std::string member_bytes, read_file(member.model, kMaxModelBytes));
      print += fnv1a_hex(member_bytes);
    }
  }
  return print;
}

// Errors if `list` names an entry twice: the grid would hold the same config twice.
template <class T>
Status check_distinct(const std::vector<T>& list, const std::string& key) {
  for (size_t i = 0; i < list.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (list[i] == list[j])
        return invalid_argument(key + "[" + std::to_string(i) + "] repeats " + key + "[" + std::to_string(j) + "]");
  return Status::Ok();
}

}  // namespace

std::string fnv1a_hex(std::string_view bytes) {
  uint64_t h = 14695981039346656037ull;
  for (const unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(h));
  return text;
}

Result<SweepSpec> parse_sweep_spec(const std::string& text, const std::string& base_dir) {
  const json spec = json::parse(text, nullptr, false);
  if (spec.is_discarded()) return invalid_argument("not valid JSON");
  if (!spec.is_object()) return invalid_argument("expected a JSON object, got " + type_name(spec));
  SLING_RETURN_IF_ERROR(check_keys(
      spec, {"description", "models", "engines", "attacks", "eps", "defenses", "data", "n", "batch_size", "seed"}, ""));
  SweepSpec s;
  if (spec.contains("description")) SLING_RETURN_IF_ERROR(string_at(spec["description"], "description").status());

  SLING_ASSIGN_OR_RETURN(const json* models, list_at(spec, "models"));
  for (size_t i = 0; i < models->size(); ++i) {
    const std::string key = "models[" + std::to_string(i) + "]";
    SLING_ASSIGN_OR_RETURN(const std::string m, string_at((*models)[i], key));
    const std::string file = resolve(m, base_dir);
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec))
      return not_found(key + ": no model file '" + m + "'" + (m == file ? "" : " (looked at " + file + ")"));
    s.models.push_back(m);
    s.model_files.push_back(file);
  }
  SLING_RETURN_IF_ERROR(check_distinct(s.models, "models"));

  SLING_ASSIGN_OR_RETURN(const json* engines, list_at(spec, "engines"));
  for (size_t i = 0; i < engines->size(); ++i) {
    const std::string key = "engines[" + std::to_string(i) + "]";
    SLING_ASSIGN_OR_RETURN(const std::string e, string_at((*engines)[i], key));
    auto kind = parse_engine(e);
    if (!kind.ok()) return kind.status().with_context(key);
    s.engines.push_back(engine_name(*kind));
  }
  SLING_RETURN_IF_ERROR(check_distinct(s.engines, "engines"));

  SLING_ASSIGN_OR_RETURN(const json* attacks, list_at(spec, "attacks"));
  for (size_t i = 0; i < attacks->size(); ++i) {
    const std::string key = "attacks[" + std::to_string(i) + "]";
    const json& a = (*attacks)[i];
    if (!a.is_object()) return invalid_argument(key + ": expected {\"name\": ..., \"params\": {...}}, got " + type_name(a));
    SLING_RETURN_IF_ERROR(check_keys(a, {"name", "params"}, key + ": "));
    if (!a.contains("name")) return invalid_argument(key + ".name is required");
    SLING_ASSIGN_OR_RETURN(const std::string name, string_at(a["name"], key + ".name"));
    auto attack = make_attack(name);
    if (!attack.ok()) return attack.status().with_context(key + ".name");
    if ((*attack)->trains_on_dataset())
      return invalid_argument(key + ".name: '" + name + "' trains on a dataset before it attacks, which a sweep's "
                              "independent batches cannot; run it with `slingshot attack`");
    SLING_ASSIGN_OR_RETURN(AttackParams p, attack_params_from(a.value("params", json::object()), **attack, key + ".params"));
    s.attacks.push_back({name, std::move(p)});
  }
  std::vector<json> attack_keys;
  for (const SweepAttack& a : s.attacks) attack_keys.push_back(json{{"name", a.name}, {"params", attack_params_json(a.params)}});
  SLING_RETURN_IF_ERROR(check_distinct(attack_keys, "attacks"));

  SLING_ASSIGN_OR_RETURN(const json* eps, list_at(spec, "eps"));
  for (size_t i = 0; i < eps->size(); ++i) {
    const std::string key = "eps[" + std::to_string(i) + "]";
    const json& v = (*eps)[i];
    float e = 0;
    if (v.is_string()) {
      auto parsed = parse_eps(v.get<std::string>());  // "inf" too: minimal-perturbation attacks take it
      if (!parsed.ok()) return parsed.status().with_context(key);
      e = *parsed;
    } else {
      SLING_ASSIGN_OR_RETURN(e, real_at(v, key));
    }
    if (e < 0) return invalid_argument(key + ": " + v.dump() + " is negative; a radius is >= 0");
    s.eps.push_back(e);
  }
  SLING_RETURN_IF_ERROR(check_distinct(s.eps, "eps"));

  if (spec.contains("defenses")) {
    const json& d = spec["defenses"];
    if (!d.is_array() || d.empty())
      return invalid_argument("defenses: expected a non-empty list of defense stacks, e.g. [[], [\"median\"]]");
    for (size_t i = 0; i < d.size(); ++i) {
      const std::string key = "defenses[" + std::to_string(i) + "]";
      if (!d[i].is_array())
        return invalid_argument(key + ": expected a list of defense specs ([] for none), got " + type_name(d[i]));
      std::vector<std::string> stack;
      for (size_t j = 0; j < d[i].size(); ++j) {
        SLING_ASSIGN_OR_RETURN(std::string one, string_at(d[i][j], key + "[" + std::to_string(j) + "]"));
        stack.push_back(std::move(one));
      }
      s.defenses.push_back(std::move(stack));
    }
  } else {
    s.defenses = {{}};
  }
  SLING_RETURN_IF_ERROR(check_distinct(s.defenses, "defenses"));

  if (!spec.contains("data")) return invalid_argument("'data' is required (e.g. \"labels:eval/y_labels.csv\")");
  SLING_ASSIGN_OR_RETURN(s.data, string_at(spec["data"], "data"));
  s.data_arg = resolve_data(s.data, base_dir);
  if (!spec.contains("n")) return invalid_argument("'n' is required: the samples each config is attacked on");
  SLING_ASSIGN_OR_RETURN(const int64_t n, integer_at(spec["n"], "n", 1, 1000000));
  s.n = static_cast<int>(n);
  if (spec.contains("batch_size")) {
    SLING_ASSIGN_OR_RETURN(const int64_t b, integer_at(spec["batch_size"], "batch_size", 1, 1000000));
    s.batch_size = static_cast<int>(b);
  }
  if (spec.contains("seed")) {
    const json& v = spec["seed"];
    if (!v.is_number_unsigned()) return invalid_argument("seed: expected an integer >= 0, got " + v.dump());
    s.seed = v.get<uint64_t>();
  }

  // The hash covers what decides the results: the parsed spec (defaults spelled out, paths
  // as written, so moving the whole tree keeps it) and the model files' bytes.
  json canonical = {{"models", s.models}, {"engines", s.engines}, {"attacks", attack_keys}, {"eps", s.eps},
                    {"defenses", s.defenses}, {"data", s.data}, {"n", s.n}, {"batch_size", s.batch_size},
                    {"seed", s.seed}};
  std::string hashed = canonical.dump();
  for (size_t i = 0; i < s.model_files.size(); ++i) {
    auto print = model_fingerprint(s.model_files[i]);
    if (!print.ok()) return print.status().with_context("models[" + std::to_string(i) + "]");
    hashed += *print;
  }
  s.hash = fnv1a_hex(hashed);
  return s;
}

Result<SweepSpec> load_sweep_spec(const std::string& path) {
  auto text = read_file(path, kMaxSpecBytes);
  if (!text.ok()) return text.status().with_context("sweep spec");
  auto spec = parse_sweep_spec(*text, std::filesystem::path(path).parent_path().string());
  if (!spec.ok()) return spec.status().with_context("sweep spec '" + path + "'");
  return spec;
}

AttackParams sweep_config_params(const SweepSpec& spec, const SweepConfig& config) {
  AttackParams p = spec.attacks[static_cast<size_t>(config.attack)].params;
  p.eps = spec.eps[static_cast<size_t>(config.eps)];
  p.seed = spec.seed;
  p.batch_size = spec.batch_size;
  return p;
}

std::vector<SweepConfig> sweep_configs(const SweepSpec& spec) {
  std::vector<SweepConfig> configs;
  for (int m = 0; m < static_cast<int>(spec.models.size()); ++m)
    for (int e = 0; e < static_cast<int>(spec.engines.size()); ++e)
      for (int a = 0; a < static_cast<int>(spec.attacks.size()); ++a)
        for (int k = 0; k < static_cast<int>(spec.eps.size()); ++k)
          for (int d = 0; d < static_cast<int>(spec.defenses.size()); ++d) {
            SweepConfig c;
            c.index = static_cast<int>(configs.size());
            c.model = m, c.engine = e, c.attack = a, c.eps = k, c.defense = d;
            c.json = {{"model", spec.models[m]}, {"engine", spec.engines[e]}, {"attack", spec.attacks[a].name},
                      {"params", attack_params_json(sweep_config_params(spec, c))}, {"defenses", spec.defenses[d]}};
            c.id = fnv1a_hex(c.json.dump());
            configs.push_back(std::move(c));
          }
  return configs;
}

int64_t sweep_batches(const SweepSpec& spec) { return (spec.n + spec.batch_size - 1) / spec.batch_size; }

std::vector<SweepItem> sweep_items(const SweepSpec& spec, const std::vector<SweepConfig>& configs) {
  const int64_t batches = sweep_batches(spec);
  std::vector<SweepItem> items;
  items.reserve(configs.size() * static_cast<size_t>(batches));
  for (const SweepConfig& c : configs)
    for (int64_t b = 0; b < batches; ++b) {
      SweepItem it;
      it.number = static_cast<int64_t>(items.size());
      it.config = c.index;
      it.batch = b;
      it.first_index = b * spec.batch_size;
      it.count = std::min<int64_t>(spec.batch_size, spec.n - it.first_index);
      it.id = c.id + "-" + std::to_string(b);
      items.push_back(std::move(it));
    }
  return items;
}

Result<Shard> parse_shard(std::string_view text) {
  const std::string t(text);
  const size_t slash = t.find('/');
  auto number = [](const std::string& s, long long& out) {
    char* end = nullptr;
    if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos) return false;
    out = std::strtoll(s.c_str(), &end, 10);
    return true;
  };
  long long i = 0, n = 0;
  if (slash == std::string::npos || !number(t.substr(0, slash), i) || !number(t.substr(slash + 1), n) || n < 1)
    return invalid_argument("--shard expects i/N with 0 <= i < N (e.g. 0/4), got '" + t + "'");
  if (i >= n)
    return invalid_argument("--shard " + t + ": shard indices run from 0 to " + std::to_string(n - 1) +
                            " (shards count from 0, as Slurm array and Kubernetes completion indices do)");
  return Shard{static_cast<int>(i), static_cast<int>(n)};
}

Result<nlohmann::json> merge_sweep(const SweepSpec& spec, const std::vector<ShardFile>& files) {
  const std::vector<SweepConfig> configs = sweep_configs(spec);
  const std::vector<SweepItem> items = sweep_items(spec, configs);
  std::map<std::string, int64_t> number_of;
  for (const SweepItem& it : items) number_of[it.id] = it.number;

  // Where each item was found: (file, line number) pairs.
  std::vector<std::vector<std::pair<size_t, size_t>>> found(items.size());
  for (size_t f = 0; f < files.size(); ++f) {
    for (size_t l = 0; l < files[f].lines.size(); ++l) {
      const json& line = files[f].lines[l];
      const std::string where = "'" + files[f].path + "' line " + std::to_string(l + 1);
      if (!line.is_object() || !line.contains("sweep") || !line.contains("item") || !line["item"].is_string())
        return invalid_argument(where + " is not a sweep item");
      if (line["sweep"] != spec.hash)
        return invalid_argument(where + " was written for another sweep (spec hash " + line["sweep"].dump() +
                                ", this spec's is \"" + spec.hash + "\")");
      const auto it = number_of.find(line["item"].get<std::string>());
      if (it == number_of.end()) return invalid_argument(where + ": item " + line["item"].dump() + " is not in this sweep");
      found[static_cast<size_t>(it->second)].emplace_back(f, l);
    }
  }

  auto describe = [&](const SweepItem& it) {
    const SweepConfig& c = configs[static_cast<size_t>(it.config)];
    char eps[32];
    std::snprintf(eps, sizeof eps, "%g", spec.eps[static_cast<size_t>(c.eps)]);
    return it.id + " (config " + std::to_string(c.index) + ": " + spec.attacks[static_cast<size_t>(c.attack)].name +
           " eps " + eps + " on " + spec.models[static_cast<size_t>(c.model)] + " " +
           spec.engines[static_cast<size_t>(c.engine)] + ", batch " + std::to_string(it.batch) + ")";
  };
  constexpr int kListed = 8;
  std::string duplicates, missing;
  int64_t duplicate_count = 0, missing_count = 0;
  for (const SweepItem& it : items) {
    const auto& where = found[static_cast<size_t>(it.number)];
    if (where.size() > 1 && duplicate_count++ < kListed) {
      std::string places;
      for (const auto& [f, l] : where) places += (places.empty() ? "" : ", ") + files[f].path + ":" + std::to_string(l + 1);
      duplicates += "; " + describe(it) + " in " + places;
    }
    if (where.empty() && missing_count++ < kListed) missing += "; " + describe(it);
  }
  if (duplicate_count || missing_count) {
    std::string message = "the shards do not hold every item of the sweep exactly once:";
    if (duplicate_count)
      message += " " + std::to_string(duplicate_count) + " duplicated (a shard file given twice, or shards of two runs?)" +
                 duplicates + (duplicate_count > kListed ? "; ..." : "");
    if (missing_count)
      message += std::string(duplicate_count ? ";" : "") + " " + std::to_string(missing_count) + " of " +
                 std::to_string(items.size()) + " missing (a shard not given or not finished?)" + missing +
                 (missing_count > kListed ? "; ..." : "");
    return invalid_argument(message);
  }

  json results = {{"slingshot_sweep_results", 1}, {"spec_hash", spec.hash}, {"data", spec.data}, {"n", spec.n},
                  {"batch_size", spec.batch_size}, {"seed", spec.seed}, {"items", items.size()},
                  {"configs", json::array()}};
  const int64_t batches = sweep_batches(spec);
  for (const SweepConfig& c : configs) {
    AttackTally tally;
    bool with_reference = false;
    json first;
    for (int64_t b = 0; b < batches; ++b) {
      const SweepItem& it = items[static_cast<size_t>(c.index * batches + b)];
      const auto [f, l] = found[static_cast<size_t>(it.number)].front();
      const json& line = files[f].lines[l];
      if (b == 0) first = line;
      with_reference = line.value("reference", false);
      const Status added = add_batch_json(tally, line);
      if (!added.ok()) return added.with_context("'" + files[f].path + "' line " + std::to_string(l + 1));
    }
    json entry = {{"config", c.index},
                  {"id", c.id},
                  {"model", c.json["model"]},
                  {"engine", c.json["engine"]},
                  {"attack", c.json["attack"]},
                  {"eps", c.json["params"]["eps"]},
                  {"params", c.json["params"]},
                  {"defenses", c.json["defenses"]},
                  {"gradient_source", first.value("gradient_source", "")},
                  {"samples", tally.records.size()}};
    entry.update(attack_tally_json(tally, with_reference));
    results["configs"].push_back(std::move(entry));
  }
  return results;
}

}  // namespace slingshot
