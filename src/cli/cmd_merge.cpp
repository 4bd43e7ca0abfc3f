// `slingshot merge SPEC.json SHARD.jsonl... -o RESULTS.json`: combines the outputs of a
// sweep's shards (docs/sweeps.md). It refuses duplicated and missing items, naming them,
// then writes each config's summary (the fields of `slingshot attack`'s report) atomically.
// RESULTS holds no timings, so the same sweep gives the same bytes however it was sharded.
#include <algorithm>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/file_io.h"
#include "core/json_lines.h"
#include "metrics/sweep.h"

namespace slingshot::cli {
namespace {

struct MergeCliOptions {
  std::string spec, out;
  std::vector<std::string> shards;
};

Status run_merge(const MergeCliOptions& o) {
  SLING_ASSIGN_OR_RETURN(const SweepSpec spec, load_sweep_spec(o.spec));
  std::vector<ShardFile> files;
  double seconds = 0;
  for (const std::string& path : o.shards) {
    SLING_ASSIGN_OR_RETURN(JsonLines read, read_json_lines(path, /*missing_ok=*/false));
    if (read.torn)
      std::fprintf(stderr, "note: '%s' ends in a torn line (a shard killed mid-write); rerun that shard to finish it\n",
                   path.c_str());
    for (const nlohmann::json& line : read.lines)
      if (line.is_object() && line.contains("seconds") && line["seconds"].is_number()) seconds += line["seconds"].get<double>();
    files.push_back({path, std::move(read.lines)});
  }
  SLING_ASSIGN_OR_RETURN(const nlohmann::json results, merge_sweep(spec, files));
  SLING_RETURN_IF_ERROR(write_file_atomic(o.out, results.dump(1) + "\n"));
  int model_width = 5;
  for (const nlohmann::json& c : results["configs"])
    model_width = std::max(model_width, static_cast<int>(c["model"].get<std::string>().size()));
  std::printf("%-*s %-10s %-10s %-9s %-24s %6s %6s\n", model_width, "model", "engine", "attack", "eps", "defenses", "clean",
              "robust");
  for (const nlohmann::json& c : results["configs"]) {
    std::string defenses;
    for (const auto& d : c["defenses"]) defenses += (defenses.empty() ? "" : "+") + d.get<std::string>();
    std::printf("%-*s %-10s %-10s %-9.4g %-24s %6.3f %6.3f\n", model_width, c["model"].get<std::string>().c_str(),
                c["engine"].get<std::string>().c_str(), c["attack"].get<std::string>().c_str(), c["eps"].get<double>(),
                defenses.empty() ? "none" : defenses.c_str(), c["clean_accuracy"].get<double>(),
                c["robust_accuracy"].get<double>());
  }
  std::printf("merged %zu items (%zu configs) from %zu files into %s; attack time %.1fs over all shards\n",
              static_cast<size_t>(results["items"].get<int64_t>()), results["configs"].size(), files.size(),
              o.out.c_str(), seconds);
  return Status::Ok();
}

}  // namespace

void register_merge(CLI::App& app, CommandList& out) {
  auto o = std::make_shared<MergeCliOptions>();
  CLI::App* sub = app.add_subcommand("merge", "Merge the shard outputs of a sweep into per-config results");
  sub->add_option("spec", o->spec, "The sweep spec the shards ran")->required();
  sub->add_option("shards", o->shards, "Shard outputs (JSON Lines from `slingshot sweep`)")->required();
  sub->add_option("-o,--out", o->out, "Results file (JSON)")->required();
  out.push_back({sub, [o] { return run_merge(*o); }});
}

}  // namespace slingshot::cli
