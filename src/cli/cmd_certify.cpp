// `slingshot certify --model M --data D --sigma S [--n0 100 --n 1000 --alpha 0.001]
// --n-samples K --json OUT [--radii 0,0.25,...] [--resume]`: Cohen et al.'s CERTIFY
// (defenses/randomized_smoothing.h) on each of K test samples, and the certified accuracy
// at each L2 radius: the share of samples whose smoothed prediction is the true class with
// a certified radius of at least that radius (an abstention counts as wrong everywhere).
//
// The base classifier is the model (or ensemble file) on --engine, optionally behind
// pre-processing --defense specs. Sample i's noise is drawn from a seed derived from
// (--seed, i), so a sample's certificate does not depend on which run computed it. Each
// finished sample is one line of OUT.records.jsonl (one write, synced); `--resume` checks
// the settings and continues after the last complete line; the final report is written
// atomically and supersedes the records file.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "attacks/threat_model.h"
#include "cli/attack_setup.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "core/file_io.h"
#include "core/json_lines.h"
#include "defenses/randomized_smoothing.h"

namespace slingshot::cli {
namespace {

struct CertifyCliOptions {
  std::string model, data = "housenum", engine, json, radii = "0,0.25,0.5,0.75,1";
  std::vector<std::string> defenses;
  double sigma = 0.25, alpha = 0.001;
  int64_t n0 = 100, n = 1000, batch = 100;
  int n_samples = 100, stop_after = 0;
  uint64_t seed = 0;
  bool resume = false;
};

// The noise seed of sample `index`: independent streams per sample, fixed by the seed.
uint64_t sample_seed(uint64_t seed, int64_t index) {
  Rng mix(seed ^ (0xC3A5C85C97CB3127ull * (static_cast<uint64_t>(index) + 1)));
  return mix.next_u64();
}

Result<std::vector<double>> parse_radii(const std::string& text) {
  std::vector<double> radii;
  size_t begin = 0;
  while (begin <= text.size()) {
    const size_t comma = std::min(text.find(',', begin), text.size());
    auto r = parse_eps(text.substr(begin, comma - begin));
    if (!r.ok()) return r.status().with_context("--radii");
    if (!(*r >= 0)) return invalid_argument("--radii: radii must be >= 0, got " + std::to_string(*r));
    radii.push_back(*r);
    begin = comma + 1;
  }
  std::sort(radii.begin(), radii.end());
  radii.erase(std::unique(radii.begin(), radii.end()), radii.end());
  return radii;
}

Status check_options(const CertifyCliOptions& o) {
  if (!(o.sigma > 0) || !std::isfinite(o.sigma)) return invalid_argument("--sigma must be a finite number > 0, got " + std::to_string(o.sigma));
  if (o.n0 < 1) return invalid_argument("--n0 must be at least 1, got " + std::to_string(o.n0));
  if (o.n < 1) return invalid_argument("--n must be at least 1, got " + std::to_string(o.n));
  if (o.n0 > o.n)
    return invalid_argument("--n0 (" + std::to_string(o.n0) + ") must not exceed --n (" + std::to_string(o.n) +
                            "): n0 draws only pick the class, the n draws bound its probability");
  if (!(o.alpha > 0 && o.alpha < 1)) return invalid_argument("--alpha must be in (0, 1), got " + std::to_string(o.alpha));
  if (o.batch < 1) return invalid_argument("--batch must be at least 1, got " + std::to_string(o.batch));
  for (const std::string& d : o.defenses)
    if (d.rfind("randomized_smoothing", 0) == 0)
      return invalid_argument("--defense " + d + ": certify smooths the model itself (--sigma); its --defense specs are the base classifier's pre-processing");
  if (o.json.empty()) return invalid_argument("--json OUT is required: the report (and its records) go there");
  return Status::Ok();
}

// Reads the records of an interrupted run; a torn last line is cut off.
Result<std::vector<nlohmann::json>> load_records(const std::string& path, const nlohmann::json& header) {
  auto read = read_json_lines(path, /*missing_ok=*/false);
  if (!read.ok()) return read.status().with_context("--resume");
  if (read->lines.empty()) return invalid_argument("--resume: " + path + " is empty");
  if (read->lines[0] != header)
    return invalid_argument("--resume: " + path + " was written with different settings; delete it (or drop --resume) to start over");
  std::vector<nlohmann::json> records(read->lines.begin() + 1, read->lines.end());
  for (size_t i = 0; i < records.size(); ++i)
    if (!records[i].is_object() || records[i].value("index", int64_t{-1}) != static_cast<int64_t>(i))
      return invalid_argument("--resume: " + path + " line " + std::to_string(i + 2) + " is not the record of sample " +
                              std::to_string(i));
  SLING_RETURN_IF_ERROR(drop_torn_line(path, *read));
  return records;
}

Status run_certify(const CertifyCliOptions& o) {
  SLING_RETURN_IF_ERROR(check_options(o));
  SLING_ASSIGN_OR_RETURN(const std::vector<double> radii, parse_radii(o.radii));
  TargetRecipe recipe;
  recipe.engine = o.engine;
  recipe.defenses = o.defenses;
  recipe.seed = o.seed;
  LoadedModels loaded;
  SLING_ASSIGN_OR_RETURN(auto base, build_attack_target(o.model, recipe, loaded));
  SLING_ASSIGN_OR_RETURN(const nlohmann::json defenses, add_defenses_described(recipe, base));
  SLING_ASSIGN_OR_RETURN(const Dataset data, load_attack_data(o.data, o.n_samples, *base, /*pixel_valid=*/false));

  SmoothingConfig config;
  config.sigma = static_cast<float>(o.sigma);
  config.n0 = o.n0;
  config.n = o.n;
  config.alpha = o.alpha;
  config.batch = o.batch;
  const std::string records_path = o.json + ".records.jsonl";
  nlohmann::json header = {{"slingshot_certify_records", 1}, {"model", o.model}, {"data", o.data},
                           {"n_samples", data.size()}, {"engine", base->engine_name()}, {"sigma", o.sigma},
                           {"n0", o.n0}, {"n", o.n}, {"alpha", o.alpha}, {"seed", o.seed}, {"defenses", defenses}};
  std::vector<nlohmann::json> records;
  if (o.resume) {
    SLING_ASSIGN_OR_RETURN(records, load_records(records_path, header));
    std::printf("resuming %s after %zu of %lld samples\n", records_path.c_str(), records.size(),
                static_cast<long long>(data.size()));
  } else {
    if (std::filesystem::exists(records_path))
      std::printf("note: %s exists and is replaced (pass --resume to continue it instead)\n", records_path.c_str());
    SLING_RETURN_IF_ERROR(write_file_atomic(records_path, header.dump() + "\n"));
  }
  JsonLinesAppender appender;
  SLING_RETURN_IF_ERROR(appender.open(records_path));
  std::printf("certify %lld '%s' samples: base %s, sigma %g, n0 %lld, n %lld, alpha %g, seed %llu\n",
              static_cast<long long>(data.size()), o.data.c_str(), base->engine_name().c_str(), o.sigma,
              static_cast<long long>(o.n0), static_cast<long long>(o.n), o.alpha, static_cast<unsigned long long>(o.seed));
  std::fflush(stdout);

  ProgressBar bar("certify");
  Tensor x;
  std::vector<int> labels;
  int64_t correct = 0;
  for (const auto& r : records) correct += r.at("correct").get<bool>();
  int computed = 0;
  for (int64_t i = static_cast<int64_t>(records.size()); i < data.size(); ++i) {
    if (o.stop_after > 0 && computed++ == o.stop_after) {
      bar.finish();
      std::printf("stopped after %d samples (%lld of %lld done); continue with --resume\n", o.stop_after,
                  static_cast<long long>(i), static_cast<long long>(data.size()));
      return Status::Ok();
    }
    data.slice(i, 1, x, labels);
    config.seed = sample_seed(o.seed, i);
    base->reseed(config.seed);  // randomized pre-processing in the base draws per sample too
    const auto t0 = std::chrono::steady_clock::now();
    SLING_ASSIGN_OR_RETURN(const SmoothedPrediction c, smoothed_certify(*base, x, config));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const bool ok = c.top_class == labels[0];
    nlohmann::json line = {{"index", i}, {"label", labels[0]}, {"prediction", c.top_class}, {"correct", ok},
                           {"p_lower", c.p_lower}, {"radius", c.radius}, {"counts", c.counts}, {"seconds", seconds}};
    SLING_RETURN_IF_ERROR(appender.append(line));
    records.push_back(std::move(line));
    correct += ok;
    char detail[96];
    std::snprintf(detail, sizeof detail, "%lld/%lld smoothed acc %.3f", static_cast<long long>(i + 1),
                  static_cast<long long>(data.size()), static_cast<double>(correct) / static_cast<double>(i + 1));
    bar.update(static_cast<double>(i + 1) / static_cast<double>(data.size()), detail);
  }
  bar.finish();

  nlohmann::json report = header;
  report.erase("slingshot_certify_records");
  report["radii"] = radii;
  report["certified_accuracy"] = nlohmann::json::array();
  const double total = std::max<double>(1, static_cast<double>(records.size()));
  int64_t abstained = 0;
  double seconds = 0;
  for (const auto& r : records) {
    abstained += r.at("prediction").get<int>() < 0;
    seconds += r.at("seconds").get<double>();
  }
  std::printf("%10s  %18s\n", "L2 radius", "certified accuracy");
  for (double radius : radii) {
    int64_t certified = 0;
    for (const auto& r : records) certified += r.at("correct").get<bool>() && r.at("radius").get<double>() >= radius;
    const double acc = static_cast<double>(certified) / total;
    report["certified_accuracy"].push_back({{"radius", radius}, {"accuracy", acc}, {"certified", certified}});
    std::printf("%10g  %18.4f\n", radius, acc);
  }
  report["abstained"] = abstained;
  report["seconds"] = seconds;
  report["samples"] = records;
  SLING_RETURN_IF_ERROR(write_file_atomic(o.json, report.dump(1) + "\n"));
  std::error_code ec;
  std::filesystem::remove(records_path, ec);
  std::printf("%lld of %lld samples abstained; certify time %.1fs\nreport written to %s\n",
              static_cast<long long>(abstained), static_cast<long long>(records.size()), seconds, o.json.c_str());
  return Status::Ok();
}

}  // namespace

void register_certify(CLI::App& app, CommandList& out) {
  auto o = std::make_shared<CertifyCliOptions>();
  CLI::App* sub = app.add_subcommand(
      "certify", "Certify the randomized-smoothing classifier of a model (Cohen et al.): certified L2 radius per sample");
  sub->add_option("--model", o->model, "Model file, or an ensemble file (*.json): the base classifier")->required();
  sub->add_option("--data", o->data, "Dataset (test split): shapes, housenum, cifar10:, folder:, labels:CSV")
      ->capture_default_str();
  sub->add_option("--engine", o->engine, "Engine of the base classifier (default int8-ref, or float for float models)");
  sub->add_option("--defense", o->defenses, "Pre-processing defense of the base classifier, NAME[:KEY=VALUE,...] (repeatable)");
  sub->add_option("--sigma", o->sigma, "Noise standard deviation, in input units")->capture_default_str();
  sub->add_option("--n0", o->n0, "Draws that select the top class")->capture_default_str();
  sub->add_option("--n", o->n, "Draws that bound the top class's probability")->capture_default_str();
  sub->add_option("--alpha", o->alpha, "Failure probability of the certificate")->capture_default_str();
  sub->add_option("--batch", o->batch, "Noisy copies per base-classifier call")->capture_default_str();
  sub->add_option("--n-samples", o->n_samples, "Test samples to certify")->capture_default_str()->check(CLI::Range(1, 1000000));
  sub->add_option("--radii", o->radii, "L2 radii at which certified accuracy is reported (comma-separated)")
      ->capture_default_str();
  sub->add_option("--seed", o->seed, "Seed of the noise")->capture_default_str();
  sub->add_option("--json", o->json, "Report file (JSON); OUT.records.jsonl holds progress until it is written")->required();
  sub->add_flag("--resume", o->resume, "Continue an interrupted run from OUT.records.jsonl");
  sub->add_option("--stop-after", o->stop_after, "Stop after certifying this many samples (resume later with --resume)")
      ->check(CLI::Range(1, 1 << 30));
  out.push_back({sub, [o] { return run_certify(*o); }});
}

}  // namespace slingshot::cli
