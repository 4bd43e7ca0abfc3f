// Sweeps: spec parsing and its errors, the grid's order, item ids, sharding, JSON Lines
// torn-line recovery and the merge's duplicate and gap checks.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "attacks/attack_report.h"
#include "core/json_lines.h"
#include "metrics/sweep.h"

using namespace slingshot;
using nlohmann::json;

namespace {

const std::string kModels = std::string(SLING_SOURCE_DIR) + "/models/housenum";

json small_spec() {
  return {{"models", {"resnet8_int8.safetensors", "resnet8_int4.safetensors"}},
          {"engines", {"int8-ref", "int8-simd"}},
          {"attacks", {{{"name", "pgd"}, {"params", {{"max_iter", 2}, {"eps_step", "1/255"}}}}}},
          {"eps", {"2/255", 0.0313725490196}},
          {"defenses", {json::array(), {"bit_depth:bits=5"}}},
          {"data", "labels:eval/y_labels.csv"},
          {"n", 10},
          {"batch_size", 4},
          {"seed", 7}};
}

Result<SweepSpec> parse(const json& j) { return parse_sweep_spec(j.dump(), kModels); }

// The error message of parsing `j`, which must fail.
std::string error_of(const json& j) {
  auto s = parse(j);
  REQUIRE_FALSE(s.ok());
  return s.status().message();
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("slingshot_test_sweep_" + name)).string();
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

}  // namespace

TEST_CASE("sweep spec: defaults, resolved paths, and a hash that follows what decides the results") {
  auto s = parse(small_spec());
  REQUIRE_MESSAGE(s.ok(), s.status().message());
  CHECK(s->models.size() == 2);
  CHECK(s->model_files[0] == kModels + "/resnet8_int8.safetensors");
  CHECK(s->data_arg == "labels:" + kModels + "/eval/y_labels.csv");
  CHECK(s->attacks[0].params.max_iter == 2);
  CHECK(s->attacks[0].params.eps_step == doctest::Approx(1.0 / 255));
  CHECK(s->eps[0] == doctest::Approx(2.0 / 255));
  CHECK(s->defenses.size() == 2);
  CHECK(s->hash.size() == 16);

  auto again = parse(small_spec());
  REQUIRE(again.ok());
  CHECK(again->hash == s->hash);
  json other = small_spec();
  other["seed"] = 8;
  auto reseeded = parse(other);
  REQUIRE(reseeded.ok());
  CHECK(reseeded->hash != s->hash);
  CHECK(sweep_configs(*reseeded)[0].id != sweep_configs(*s)[0].id);  // the seed is in every config
  other = small_spec();
  other["n"] = 12;
  auto more = parse(other);
  REQUIRE(more.ok());
  CHECK(more->hash != s->hash);
  CHECK(sweep_configs(*more)[0].id == sweep_configs(*s)[0].id);  // same config, more batches

  json defaults = small_spec();
  defaults.erase("defenses");
  defaults.erase("batch_size");
  defaults.erase("seed");
  auto d = parse(defaults);
  REQUIRE(d.ok());
  CHECK(d->defenses == std::vector<std::vector<std::string>>{{}});
  CHECK(d->batch_size == 32);
  CHECK(d->seed == 0);
}

TEST_CASE("sweep grid: fixed order (defenses fastest), distinct stable ids, items per batch") {
  auto s = parse(small_spec());
  REQUIRE(s.ok());
  const auto configs = sweep_configs(*s);
  REQUIRE(configs.size() == 2 * 2 * 1 * 2 * 2);
  CHECK(configs[0].model == 0);
  CHECK(configs[1].defense == 1);
  CHECK(configs[2].eps == 1);
  CHECK(configs[4].engine == 1);
  CHECK(configs[8].model == 1);
  CHECK(configs[3].json["model"] == "resnet8_int8.safetensors");
  CHECK(configs[3].json["defenses"] == json::array({"bit_depth:bits=5"}));
  CHECK(configs[3].json["params"]["seed"] == 7);
  std::set<std::string> ids;
  for (const SweepConfig& c : configs) ids.insert(c.id);
  CHECK(ids.size() == configs.size());

  CHECK(sweep_batches(*s) == 3);
  const auto items = sweep_items(*s, configs);
  REQUIRE(items.size() == configs.size() * 3);
  CHECK(items[5].config == 1);
  CHECK(items[5].batch == 2);
  CHECK(items[5].first_index == 8);
  CHECK(items[5].count == 2);  // the last batch holds the rest of n = 10
  CHECK(items[4].count == 4);
  CHECK(items[5].id == configs[1].id + "-2");
  const AttackParams p = sweep_config_params(*s, configs[2]);
  CHECK(p.eps == s->eps[1]);
  CHECK(p.seed == 7);
  CHECK(p.batch_size == 4);
}

TEST_CASE("sweep shards: i/N parsing and a round-robin partition of the items") {
  CHECK(parse_shard("0/1").ok());
  auto s = parse_shard("3/4");
  REQUIRE(s.ok());
  CHECK(s->index == 3);
  CHECK(s->count == 4);
  auto bad = parse_shard("4/4");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("run from 0 to 3") != std::string::npos);
  for (const char* text : {"", "1", "a/4", "-1/4", "1/0", "1/-2", "1/4/2", "0x1/4"})
    CHECK_MESSAGE(!parse_shard(text).ok(), text);

  auto spec = parse(small_spec());
  REQUIRE(spec.ok());
  const auto items = sweep_items(*spec, sweep_configs(*spec));
  std::vector<int> owners(items.size(), 0);
  std::vector<size_t> sizes;
  for (int i = 0; i < 5; ++i) {
    size_t n = 0;
    for (const SweepItem& it : items)
      if (Shard{i, 5}.contains(it.number)) {
        ++owners[static_cast<size_t>(it.number)];
        ++n;
      }
    sizes.push_back(n);
  }
  for (int o : owners) CHECK(o == 1);
  CHECK(*std::max_element(sizes.begin(), sizes.end()) - *std::min_element(sizes.begin(), sizes.end()) <= 1);
}

TEST_CASE("sweep spec errors name the key") {
  auto has = [](const std::string& message, const std::string& text) {
    CHECK_MESSAGE(message.find(text) != std::string::npos, message);
  };
  json j = small_spec();
  j["epsilon"] = 1;
  has(error_of(j), "'epsilon' is not a known key");
  j = small_spec();
  j["attacks"][0]["name"] = "pgdd";
  has(error_of(j), "attacks[0].name");
  j = small_spec();
  j["attacks"][0]["params"]["max_itr"] = 3;
  has(error_of(j), "attacks[0].params.max_itr");
  j = small_spec();
  j["attacks"][0]["params"]["max_iter"] = 0;
  has(error_of(j), "attacks[0].params.max_iter");
  j = small_spec();
  j["attacks"][0]["params"]["eps"] = 0.1;
  has(error_of(j), "set by the spec's top-level 'eps'");
  j = small_spec();
  j["attacks"][0]["extra"] = 1;
  has(error_of(j), "attacks[0]: 'extra' is not a known key");
  j = small_spec();
  j["attacks"][0]["name"] = "patch";
  has(error_of(j), "trains on a dataset");
  j = small_spec();
  j["eps"][1] = -0.1;
  has(error_of(j), "eps[1]: -0.1 is negative");
  j = small_spec();
  j["eps"][1] = "2/255";
  has(error_of(j), "eps[1] repeats eps[0]");
  j = small_spec();
  j["models"][1] = "missing.safetensors";
  has(error_of(j), "models[1]: no model file 'missing.safetensors'");
  j = small_spec();
  j["engines"][0] = "int9";
  has(error_of(j), "engines[0]");
  j = small_spec();
  j["defenses"][1] = "median";
  has(error_of(j), "defenses[1]: expected a list");
  j = small_spec();
  j.erase("n");
  has(error_of(j), "'n' is required");
  j = small_spec();
  j["n"] = 0;
  has(error_of(j), "n: 0 is outside");
  j = small_spec();
  j["seed"] = -1;
  has(error_of(j), "seed");
  CHECK_FALSE(parse_sweep_spec("{\"models\": [", kModels).ok());
}

TEST_CASE("JSON Lines: a torn last line is reported and cut off, appends are whole lines") {
  const std::string path = temp_path("lines.jsonl");
  write_text(path, "{\"a\":1}\n{\"a\":2}\n{\"a\":");
  auto read = read_json_lines(path, false);
  REQUIRE(read.ok());
  CHECK(read->lines.size() == 2);
  CHECK(read->torn);
  CHECK(read->good_bytes == 16);
  REQUIRE(drop_torn_line(path, *read).ok());
  CHECK(std::filesystem::file_size(path) == 16);
  {
    JsonLinesAppender out;
    REQUIRE(out.open(path).ok());
#ifndef __EMSCRIPTEN__  // wasm has no flock (and no second process)
    JsonLinesAppender second;
    CHECK_FALSE(second.open(path).ok());  // locked by the first writer
#endif
    REQUIRE(out.append(json{{"a", 3}}).ok());
  }
  read = read_json_lines(path, false);
  REQUIRE(read.ok());
  REQUIRE(read->lines.size() == 3);
  CHECK(read->lines[2]["a"] == 3);
  CHECK_FALSE(read->torn);

  write_text(path, "{\"a\":1}\n{\"a\":2}");  // valid JSON, but its newline never made it
  read = read_json_lines(path, false);
  REQUIRE(read.ok());
  CHECK(read->lines.size() == 1);
  CHECK(read->torn);
  write_text(path, "{\"a\":1}\nnot json\n{\"a\":2}\n");  // damage before the end is no tear
  read = read_json_lines(path, false);
  REQUIRE_FALSE(read.ok());
  CHECK(read.status().message().find("line 2") != std::string::npos);
  std::filesystem::remove(path);
  CHECK(read_json_lines(path, true).ok());
  CHECK(read_json_lines(path, true)->lines.empty());
  CHECK_FALSE(read_json_lines(path, false).ok());
}

TEST_CASE("sweep merge: aggregates per config, refuses duplicates, gaps and other specs") {
  json j = small_spec();
  j["models"] = {"resnet8_int8.safetensors"};
  j["engines"] = {"int8-ref"};
  j["eps"] = {0.01};
  j["defenses"] = json::array({json::array()});  // spelled out: clang reads {json::array()} as a copy, [] not [[]]
  j["n"] = 3;
  j["batch_size"] = 2;
  auto s = parse(j);
  REQUIRE(s.ok());
  const auto items = sweep_items(*s, sweep_configs(*s));
  REQUIRE(items.size() == 2);
  // Item lines as a shard writes them: sample i is right unless i == 1, and fooled if i == 2.
  auto line_of = [&](const SweepItem& it) {
    BatchOutcome out;
    for (int64_t i = it.first_index; i < it.first_index + it.count; ++i) {
      ExampleRecord r;
      r.index = i;
      r.label = 3;
      r.clean_prediction = i == 1 ? 4 : 3;
      r.attacked = i != 1;
      r.success = i == 2;
      r.adversarial_prediction = r.success ? 5 : r.clean_prediction;
      r.distortion.linf = r.success ? 0.01 : 0;
      out.records.push_back(r);
    }
    out.counts.gradients = 2 * it.count;
    out.seconds = 1.5;
    json line = batch_outcome_json(out, it.first_index);
    line["sweep"] = s->hash;
    line["item"] = it.id;
    return line;
  };
  const ShardFile a{"a.jsonl", {line_of(items[0])}}, b{"b.jsonl", {line_of(items[1])}};
  auto merged = merge_sweep(*s, {a, b});
  REQUIRE_MESSAGE(merged.ok(), merged.status().message());
  const json& c = (*merged)["configs"][0];
  CHECK(c["samples"] == 3);
  CHECK(c["clean_accuracy"].get<double>() == doctest::Approx(2.0 / 3));
  CHECK(c["robust_accuracy"].get<double>() == doctest::Approx(1.0 / 3));
  CHECK(c["success_rate"].get<double>() == doctest::Approx(0.5));
  CHECK(c["queries"]["gradients"] == 6);
  CHECK(c["mean_distortion_of_successes"]["linf"].get<double>() == doctest::Approx(0.01));
  CHECK_FALSE(c.contains("seconds"));
  auto swapped = merge_sweep(*s, {b, a});
  REQUIRE(swapped.ok());
  CHECK(swapped->dump() == merged->dump());

  auto dup = merge_sweep(*s, {a, b, a});
  REQUIRE_FALSE(dup.ok());
  CHECK(dup.status().message().find("1 duplicated") != std::string::npos);
  CHECK(dup.status().message().find(items[0].id + " (config 0: pgd") != std::string::npos);
  CHECK(dup.status().message().find("a.jsonl:1, a.jsonl:1") != std::string::npos);
  auto gap = merge_sweep(*s, {b});
  REQUIRE_FALSE(gap.ok());
  CHECK(gap.status().message().find("1 of 2 missing") != std::string::npos);
  CHECK(gap.status().message().find(items[0].id) != std::string::npos);

  ShardFile foreign = a;
  foreign.lines[0]["sweep"] = "0123456789abcdef";
  auto other = merge_sweep(*s, {foreign, b});
  REQUIRE_FALSE(other.ok());
  CHECK(other.status().message().find("another sweep") != std::string::npos);
}
