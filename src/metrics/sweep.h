// Sweeps: a grid of models x engines x attacks x eps x defenses, each cell (a "config")
// attacked over the same samples in batches. Every config x batch is one *item*, the unit
// a shard computes, appends to its JSON Lines output and a merge checks off. An item's
// result depends only on the item (the attack's draws come from the spec's seed and the
// sample index), so any split of the items over processes merges into the same results.
// docs/sweeps.md documents the spec format, item ids, sharding and the output.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "attacks/threat_model.h"
#include "core/status.h"

namespace slingshot {

struct SweepAttack {
  std::string name;
  AttackParams params;  // the spec's params; eps, seed and batch_size are set per config
};

struct SweepSpec {
  std::vector<std::string> models;       // as written in the spec (what ids and reports name)
  std::vector<std::string> model_files;  // resolved against the spec's directory
  std::vector<std::string> engines;      // canonical engine names
  std::vector<SweepAttack> attacks;
  std::vector<float> eps;
  std::vector<std::vector<std::string>> defenses;  // defense stacks; {} = undefended
  std::string data;                      // as written
  std::string data_arg;                  // with its file paths resolved, for the loaders
  int n = 0;                             // samples per config
  int batch_size = 32;                   // samples per item
  uint64_t seed = 0;
  std::string hash;                      // 16 hex digits: the canonical spec and the model files' bytes
};

// Parses a spec (JSON text) whose relative paths are relative to `base_dir`. Strict: an
// unknown key, a missing required one or a bad value is an error naming the key.
Result<SweepSpec> parse_sweep_spec(const std::string& text, const std::string& base_dir);
// Reads and parses a spec file.
Result<SweepSpec> load_sweep_spec(const std::string& path);

// One cell of the grid.
struct SweepConfig {
  int index = 0;
  int model = 0, engine = 0, attack = 0, eps = 0, defense = 0;  // indices into the spec's lists
  nlohmann::json json;  // canonical: model, engine, attack, params (eps, seed included), defenses
  std::string id;       // 16 hex digits: hash of `json`
};
// The grid in its fixed order: models, then engines, attacks, eps, defenses (the last
// varies fastest).
std::vector<SweepConfig> sweep_configs(const SweepSpec& spec);
// The attack parameters of a config: the attack's, with the config's eps and the spec's
// seed and batch size.
AttackParams sweep_config_params(const SweepSpec& spec, const SweepConfig& config);

struct SweepItem {
  int64_t number = 0;      // position in the sweep: config.index * batches + batch
  int config = 0;
  int64_t batch = 0;
  int64_t first_index = 0;  // first sample of the batch
  int64_t count = 0;        // samples in the batch
  std::string id;           // "<config id>-<batch>"
};
// Batches per config: ceil(n / batch_size).
int64_t sweep_batches(const SweepSpec& spec);
// Every item, config by config, batches in order.
std::vector<SweepItem> sweep_items(const SweepSpec& spec, const std::vector<SweepConfig>& configs);

// `--shard i/N`: item number k belongs to shard k % N (round robin, so every shard gets a
// similar mix of cheap and expensive configs).
struct Shard {
  int index = 0;
  int count = 1;
  bool contains(int64_t item_number) const { return item_number % count == index; }
};
// Parses "i/N" with 0 <= i < N.
Result<Shard> parse_shard(std::string_view text);

// One shard output file, read.
struct ShardFile {
  std::string path;
  std::vector<nlohmann::json> lines;  // complete item lines
};
// Checks that `files` hold every item of the spec exactly once, each written for this
// spec, then aggregates each config's batches into the summary fields of an attack report
// (clean and robust accuracy, success rate, mean distortions, queries). The result has no
// timings, so it is the same for any split into shards. An error lists the duplicated
// and the missing items.
Result<nlohmann::json> merge_sweep(const SweepSpec& spec, const std::vector<ShardFile>& files);

// FNV-1a, 64 bits, as 16 hex digits: the ids and the spec hash.
std::string fnv1a_hex(std::string_view bytes);

}  // namespace slingshot
