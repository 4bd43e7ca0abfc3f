// `slingshot sweep SPEC.json -o OUT.jsonl [--shard i/N] [--max-items K]`: runs the items
// of one shard of a sweep (metrics/sweep.h, docs/sweeps.md) and appends each finished item
// to OUT as one JSON line. Shards are independent processes, so any scheduler runs them
// (GNU parallel, Slurm job arrays, Kubernetes Indexed Jobs); `slingshot merge` combines
// their outputs.
//
// Rerunning the same command continues: the items OUT already holds are skipped and a
// line torn by a kill is cut off, so a killed shard loses at most the item in flight.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <tuple>

#include <nlohmann/json.hpp>

#include "attacks/attack_report.h"
#include "attacks/evaluate.h"
#include "cli/attack_setup.h"
#include "cli/commands.h"
#include "core/json_lines.h"
#include "metrics/sweep.h"

namespace slingshot::cli {
namespace {

struct SweepCliOptions {
  std::string spec, out, shard = "0/1";
  int max_items = 0;
};

// The attacked target of one (model, engine, defense stack), built once per run.
struct SweepTarget {
  LoadedModels loaded;
  std::unique_ptr<Target> target;
  std::unique_ptr<Target> reference;  // DIVA's float master, when an attack needs one
};

// Everything the items of a sweep run on, built and checked before the first item, so a
// bad spec fails at once and in every shard alike instead of after hours of work.
struct SweepSetup {
  std::map<std::tuple<int, int, int>, SweepTarget> targets;  // (model, engine, defense)
  std::map<std::string, Dataset> data;                          // by input shape and pixel validity

  SweepTarget& target_of(const SweepConfig& c) { return targets.at({c.model, c.engine, c.defense}); }
  static std::string data_key(const Target& t, bool pixel_valid) {
    return shape_to_string(t.input_shape()) + (pixel_valid ? "" : " continuous");
  }
};

Result<SweepSetup> prepare(const SweepSpec& spec, const std::vector<SweepConfig>& configs) {
  SweepSetup s;
  std::string reference_user;  // an attack that compares with the float master (DIVA), if any
  for (const SweepAttack& a : spec.attacks) {
    SLING_ASSIGN_OR_RETURN(auto attack, make_attack(a.name));
    if (attack->needs_reference()) reference_user = a.name;
  }
  for (const SweepConfig& c : configs) {
    const auto key = std::make_tuple(c.model, c.engine, c.defense);
    if (s.targets.count(key)) continue;
    const std::string& model = spec.model_files[static_cast<size_t>(c.model)];
    const std::string where = "models[" + std::to_string(c.model) + "] on engines[" + std::to_string(c.engine) +
                              "] with defenses[" + std::to_string(c.defense) + "]";
    TargetRecipe recipe;
    recipe.engine = spec.engines[static_cast<size_t>(c.engine)];
    recipe.defenses = spec.defenses[static_cast<size_t>(c.defense)];
    recipe.seed = spec.seed;
    SweepTarget t;
    auto built = build_attack_target(model, recipe, t.loaded);
    if (!built.ok()) return built.status().with_context(where);
    t.target = std::move(*built);
    if (!reference_user.empty()) {
      auto reference = build_reference_target(reference_user, model, t.loaded);
      if (!reference.ok()) return reference.status().with_context(where);
      t.reference = std::move(*reference);
    }
    auto described = add_defenses_described(recipe, t.target);
    if (!described.ok()) return described.status().with_context(where);
    s.targets.emplace(key, std::move(t));
  }
  for (const SweepConfig& c : configs) {
    const Target& target = *s.target_of(c).target;
    const AttackParams p = sweep_config_params(spec, c);
    SLING_ASSIGN_OR_RETURN(auto attack, make_attack(spec.attacks[static_cast<size_t>(c.attack)].name));
    const Status valid = attack->validate(p, target.num_classes());
    if (!valid.ok())
      return valid.with_context("attacks[" + std::to_string(c.attack) + "] at eps[" + std::to_string(c.eps) + "] on models[" +
                                std::to_string(c.model) + "]");
    const std::string key = SweepSetup::data_key(target, p.pixel_valid);
    if (s.data.count(key)) continue;
    auto data = load_attack_data(spec.data_arg, spec.n, target, p.pixel_valid);
    if (!data.ok()) return data.status().with_context("data '" + spec.data + "' for models[" + std::to_string(c.model) + "]");
    if (data->size() < spec.n)
      return invalid_argument("data '" + spec.data + "' holds " + std::to_string(data->size()) +
                              " samples, but the spec asks n = " + std::to_string(spec.n));
    s.data.emplace(key, std::move(*data));
  }
  return s;
}

// The ids OUT already holds, after checking each line belongs to this spec and shard.
Result<std::set<std::string>> finished_items(const std::string& out, const JsonLines& file, const SweepSpec& spec,
                                             const std::set<std::string>& mine, const std::string& shard) {
  std::set<std::string> done;
  for (size_t l = 0; l < file.lines.size(); ++l) {
    const nlohmann::json& line = file.lines[l];
    const std::string where = "'" + out + "' line " + std::to_string(l + 1);
    if (!line.is_object() || !line.contains("sweep") || !line.contains("item") || !line["item"].is_string())
      return invalid_argument(where + " is not a sweep item; is -o pointing at the right file?");
    if (line["sweep"] != spec.hash)
      return invalid_argument(where + " was written for another sweep spec (hash " + line["sweep"].dump() + ", this spec's is \"" +
                              spec.hash + "\"); write to a new file, or delete it to start over");
    const std::string id = line["item"].get<std::string>();
    if (!mine.count(id))
      return invalid_argument(where + ": item " + id + " is not in shard " + shard +
                              "; each shard needs its own output file");
    done.insert(id);
  }
  return done;
}

std::string format_seconds(double s) {
  char text[32];
  if (s < 120) std::snprintf(text, sizeof text, "%.0fs", s);
  else if (s < 7200) std::snprintf(text, sizeof text, "%.0fm%02.0fs", std::floor(s / 60), std::fmod(s, 60));
  else std::snprintf(text, sizeof text, "%.0fh%02.0fm", std::floor(s / 3600), std::floor(std::fmod(s, 3600) / 60));
  return text;
}

Status run_sweep(const SweepCliOptions& o) {
  SLING_ASSIGN_OR_RETURN(const Shard shard, parse_shard(o.shard));
  SLING_ASSIGN_OR_RETURN(const SweepSpec spec, load_sweep_spec(o.spec));
  const std::vector<SweepConfig> configs = sweep_configs(spec);
  const std::vector<SweepItem> items = sweep_items(spec, configs);
  std::vector<const SweepItem*> mine;
  std::set<std::string> my_ids;
  for (const SweepItem& it : items)
    if (shard.contains(it.number)) {
      mine.push_back(&it);
      my_ids.insert(it.id);
    }

  // Lock first, then read: a second process on the same file fails before touching it.
  JsonLinesAppender out;
  SLING_RETURN_IF_ERROR(out.open(o.out));
  SLING_ASSIGN_OR_RETURN(const JsonLines existing, read_json_lines(o.out, /*missing_ok=*/true));
  SLING_ASSIGN_OR_RETURN(const std::set<std::string> done, finished_items(o.out, existing, spec, my_ids, o.shard));
  if (existing.torn) {
    std::fprintf(stderr, "sweep: dropping a torn last line of '%s' (an item interrupted mid-write)\n", o.out.c_str());
    SLING_RETURN_IF_ERROR(drop_torn_line(o.out, existing));
  }
  if (done.size() == mine.size()) {
    std::printf("shard %s: all %zu items already in %s\n", o.shard.c_str(), mine.size(), o.out.c_str());
    return Status::Ok();
  }

  SLING_ASSIGN_OR_RETURN(SweepSetup setup, prepare(spec, configs));
  std::fprintf(stderr, "sweep %s: shard %s holds %zu of %zu items (%zu configs x %lld batches)", spec.hash.c_str(),
               o.shard.c_str(), mine.size(), items.size(), configs.size(), static_cast<long long>(sweep_batches(spec)));
  if (!done.empty()) std::fprintf(stderr, "; skipping %zu finished items", done.size());
  std::fprintf(stderr, "\n");
  const auto start = std::chrono::steady_clock::now();
  const size_t todo = mine.size() - done.size();
  size_t computed = 0;
  Tensor batch;
  std::vector<int> labels;
  for (const SweepItem* it : mine) {
    if (done.count(it->id)) continue;
    if (o.max_items > 0 && computed == static_cast<size_t>(o.max_items)) {
      std::printf("shard %s: stopped after %d items (--max-items); run the same command again to continue\n",
                  o.shard.c_str(), o.max_items);
      return Status::Ok();
    }
    const SweepConfig& c = configs[static_cast<size_t>(it->config)];
    const SweepAttack& sa = spec.attacks[static_cast<size_t>(c.attack)];
    const AttackParams p = sweep_config_params(spec, c);
    SweepTarget& t = setup.target_of(c);
    SLING_ASSIGN_OR_RETURN(auto attack, make_attack(sa.name));  // fresh: no state carries over between items
    const Dataset& data = setup.data.at(SweepSetup::data_key(*t.target, p.pixel_valid));
    data.slice(it->first_index, it->count, batch, labels);
    Target* reference = attack->needs_reference() ? t.reference.get() : nullptr;
    auto outcome = attack_batch(*attack, *t.target, batch, labels, it->first_index, p, reference);
    if (!outcome.ok()) return outcome.status().with_context("item " + it->id);
    nlohmann::json line = batch_outcome_json(*outcome, it->first_index);
    line["sweep"] = spec.hash;
    line["item"] = it->id;
    line["config"] = c.index;
    line["batch"] = it->batch;
    line["model"] = spec.models[static_cast<size_t>(c.model)];
    line["engine"] = spec.engines[static_cast<size_t>(c.engine)];
    line["attack"] = sa.name;
    line["eps"] = p.eps;
    line["defenses"] = spec.defenses[static_cast<size_t>(c.defense)];
    line["gradient_source"] = gradient_source_name(t.target->gradient_source());
    line["reference"] = reference != nullptr;
    SLING_RETURN_IF_ERROR(out.append(line));
    ++computed;
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double eta = elapsed / static_cast<double>(computed) * static_cast<double>(todo - computed);
    std::fprintf(stderr, "sweep shard %s: %zu/%zu items done, ETA %s (item %s: %s eps %g on %s %s, batch %lld)\n",
                 o.shard.c_str(), done.size() + computed, mine.size(), format_seconds(eta).c_str(), it->id.c_str(),
                 sa.name.c_str(), p.eps, spec.models[static_cast<size_t>(c.model)].c_str(),
                 spec.engines[static_cast<size_t>(c.engine)].c_str(), static_cast<long long>(it->batch));
  }
  std::printf("shard %s: %zu items in %s (%zu computed now)\n", o.shard.c_str(), mine.size(), o.out.c_str(), computed);
  return Status::Ok();
}

}  // namespace

void register_sweep(CLI::App& app, CommandList& out) {
  auto o = std::make_shared<SweepCliOptions>();
  CLI::App* sub = app.add_subcommand(
      "sweep", "Run one shard of a sweep (models x engines x attacks x eps x defenses); docs/sweeps.md");
  sub->add_option("spec", o->spec, "Sweep spec (JSON; paths in it are relative to its directory)")->required();
  sub->add_option("-o,--out", o->out,
                  "Output (JSON Lines, one line per finished item); rerunning continues where it stopped")
      ->required();
  sub->add_option("--shard", o->shard,
                  "Run shard i of N (0-based): the items k with k % N == i")
      ->capture_default_str();
  sub->add_option("--max-items", o->max_items, "Stop after computing this many items (run again to continue)")
      ->check(CLI::Range(1, 1 << 30));
  out.push_back({sub, [o] { return run_sweep(*o); }});
}

}  // namespace slingshot::cli
