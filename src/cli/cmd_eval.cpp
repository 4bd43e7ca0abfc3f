// `slingshot eval --model M --data D --engine E [--engine E2 ...] [--confusion] [--json]`:
// accuracy and latency per engine, and how each engine agrees with the first one (top-1
// agreement, exact logits, mean |logit difference|, max difference in output LSBs);
// optionally the first engine's confusion matrix.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/progress.h"
#include "engine/engine.h"

namespace slingshot::cli {
namespace {

struct EvalOptions {
  std::string model, data = "shapes";
  std::vector<std::string> engines;
  int count = 600;
  int batch = 50;
  bool json = false;
  bool confusion = false;
};

struct EngineRun {
  EngineKind kind;
  Tensor logits;          // [n, classes]
  double seconds = 0;     // wall time of all predict calls
};

int argmax(const Tensor& logits, int64_t row) {
  const int64_t k = logits.dim(1);
  const float* z = logits.data() + row * k;
  return static_cast<int>(std::max_element(z, z + k) - z);
}

Status run_eval(const EvalOptions& o) {
  SLING_ASSIGN_OR_RETURN(QuantizedModel model, load_any_model_arg(o.model));
  std::vector<EngineKind> kinds;
  if (o.engines.empty()) kinds.push_back(model.nodes.empty() ? EngineKind::kFloat : EngineKind::kInt8Ref);
  for (const std::string& e : o.engines) {
    SLING_ASSIGN_OR_RETURN(EngineKind k, parse_engine(e));
    kinds.push_back(k);
  }
  if (model.graph.output_shape().size() != 1) return invalid_argument("eval needs a model with a [classes] output");
  SLING_ASSIGN_OR_RETURN(Dataset data, load_data_arg(o.data, "test", o.count, model.graph.input_shape()));
  const int64_t n = data.size();
  const int64_t classes = model.graph.output_shape()[0];
  if (static_cast<int64_t>(data.class_names.size()) > classes)
    return invalid_argument("the model scores " + std::to_string(classes) + " classes but dataset '" + o.data +
                            "' has " + std::to_string(data.class_names.size()));

  std::vector<EngineRun> runs;
  ProgressBar bar("eval");
  Tensor batch, out;
  std::vector<int> labels;
  for (size_t e = 0; e < kinds.size(); ++e) {
    SLING_ASSIGN_OR_RETURN(auto engine, make_engine(kinds[e], model));
    EngineRun run{kinds[e], Tensor({n, classes}), 0};
    for (int64_t b = 0; b < n; b += o.batch) {
      const int64_t count = std::min<int64_t>(o.batch, n - b);
      data.slice(b, count, batch, labels);
      const auto t0 = std::chrono::steady_clock::now();
      SLING_RETURN_IF_ERROR(engine->predict(batch, out));
      run.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::copy(out.data(), out.data() + out.numel(), run.logits.data() + b * classes);
      bar.update((static_cast<double>(e) + static_cast<double>(b + count) / n) / kinds.size(), engine_name(kinds[e]));
    }
    runs.push_back(std::move(run));
  }
  bar.finish();

  const float lsb = model.nodes.empty() ? 0.0f : model.nodes[model.graph.output_node()].output.scale;
  nlohmann::json engines = nlohmann::json::array();
  for (const EngineRun& r : runs) {
    int64_t correct = 0, agree = 0, exact = 0;
    double sum_abs = 0, max_abs = 0;
    const EngineRun& ref = runs[0];
    for (int64_t i = 0; i < n; ++i) {
      correct += argmax(r.logits, i) == data.labels[i];
      agree += argmax(r.logits, i) == argmax(ref.logits, i);
      bool same = true;
      for (int64_t k = 0; k < classes; ++k) {
        const double d = std::fabs(static_cast<double>(r.logits[i * classes + k]) - ref.logits[i * classes + k]);
        sum_abs += d;
        max_abs = std::max(max_abs, d);
        same = same && d == 0;
      }
      exact += same;
    }
    nlohmann::json j = {{"engine", engine_name(r.kind)},
                        {"accuracy", static_cast<double>(correct) / n},
                        {"ms_per_sample", 1e3 * r.seconds / n},
                        {"batch", o.batch},
                        {"top1_agreement", static_cast<double>(agree) / n},
                        {"exact_logits", static_cast<double>(exact) / n},
                        {"mean_abs_logit_diff", sum_abs / static_cast<double>(n * classes)},
                        {"max_abs_logit_diff", max_abs}};
    if (lsb > 0) j["max_abs_logit_diff_lsb"] = max_abs / lsb;
    engines.push_back(j);
  }
  // confusion[true][predicted] of the first engine; rows are the dataset's classes.
  nlohmann::json confusion = nlohmann::json::array();
  if (o.confusion) {
    const int64_t rows = std::max<int64_t>(static_cast<int64_t>(data.class_names.size()), 1);
    std::vector<std::vector<int64_t>> m(static_cast<size_t>(rows), std::vector<int64_t>(static_cast<size_t>(classes), 0));
    for (int64_t i = 0; i < n; ++i)
      if (data.labels[i] >= 0 && data.labels[i] < rows) ++m[static_cast<size_t>(data.labels[i])][static_cast<size_t>(argmax(runs[0].logits, i))];
    for (const auto& row : m) confusion.push_back(row);
  }
  nlohmann::json report = {{"model", o.model},
                           {"data", o.data},
                           {"n", n},
                           {"engine", engines[0]["engine"]},
                           {"accuracy", engines[0]["accuracy"]},
                           {"agreement_reference", engines[0]["engine"]},
                           {"engines", engines}};
  if (o.confusion) {
    report["class_names"] = data.class_names;
    report["confusion"] = confusion;
  }
  if (o.json) {
    std::printf("%s\n", report.dump().c_str());
    return Status::Ok();
  }
  std::printf("%s on %lld '%s' test samples (agreement against %s)\n", o.model.c_str(), static_cast<long long>(n),
              o.data.c_str(), engine_name(runs[0].kind));
  std::printf("  %-10s %9s %11s %10s %8s %14s %10s\n", "engine", "accuracy", "ms/sample", "top-1 agr", "exact",
              "mean |dlogit|", "max (LSB)");
  for (const auto& j : engines)
    std::printf("  %-10s %9.4f %11.4f %10.4f %8.4f %14.3g %10.3g\n", j["engine"].get<std::string>().c_str(),
                j["accuracy"].get<double>(), j["ms_per_sample"].get<double>(), j["top1_agreement"].get<double>(),
                j["exact_logits"].get<double>(), j["mean_abs_logit_diff"].get<double>(),
                j.contains("max_abs_logit_diff_lsb") ? j["max_abs_logit_diff_lsb"].get<double>() : 0.0);
  if (o.confusion) {
    std::printf("confusion of %s (rows: true class, columns: predicted class index)\n", engine_name(runs[0].kind));
    std::printf("  %-12s", "");
    for (int64_t k = 0; k < classes; ++k) std::printf(" %5lld", static_cast<long long>(k));
    std::printf(" %8s\n", "recall");
    for (size_t r = 0; r < confusion.size(); ++r) {
      const std::string name = r < data.class_names.size() ? data.class_names[r] : "class " + std::to_string(r);
      std::printf("  %2zu %-9.9s", r, name.c_str());
      int64_t total = 0;
      for (const auto& c : confusion[r]) total += c.get<int64_t>();
      for (const auto& c : confusion[r]) std::printf(" %5lld", static_cast<long long>(c.get<int64_t>()));
      const int64_t hit = static_cast<int64_t>(r) < classes ? confusion[r][r].get<int64_t>() : 0;
      if (total)
        std::printf(" %8.3f\n", static_cast<double>(hit) / total);
      else
        std::printf(" %8s\n", "-");  // no sample of this class
    }
  }
  return Status::Ok();
}

}  // namespace

void register_eval(CLI::App& app, CommandList& out) {
  auto o = std::make_shared<EvalOptions>();
  CLI::App* sub = app.add_subcommand("eval", "Accuracy, latency and cross-engine agreement on a test set");
  sub->add_option("--model", o->model, "Model file (float or quantized)")->required();
  sub->add_option("--data", o->data, "Dataset: shapes, housenum, keywords, cifar10:FILE[,FILE...], folder:DIR (images, or WAV class folders "
                  "for keyword models) or labels:CSV (test split)")->capture_default_str();
  sub->add_option("--engine", o->engines,
                  "Engine, repeatable: float, fakequant, int8-ref, int8-simd, xnnpack (default int8-ref for quantized "
                  "models, float otherwise); agreement is measured against the first");
  sub->add_option("--count", o->count, "Test samples")->capture_default_str()->check(CLI::Range(1, 1000000));
  sub->add_option("--batch", o->batch, "Batch size")->capture_default_str()->check(CLI::Range(1, 4096));
  sub->add_flag("--confusion", o->confusion, "Also print the first engine's confusion matrix (true x predicted class)");
  sub->add_flag("--json", o->json, "Print a JSON report");
  out.push_back({sub, [o] { return run_eval(*o); }});
}

}  // namespace slingshot::cli
