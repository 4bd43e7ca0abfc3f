// The study runner (see study.h): findings in order, each cached in DIR/findings/ID.json
// once finished, then the report.
#include "study/study.h"

#include <filesystem>

#include "core/file_io.h"
#include "core/version.h"
#include "data/labeled_files.h"

namespace slingshot {
namespace {

// Bumped when a finding's method changes, so old caches are recomputed, not reused.
constexpr int kStudyVersion = 2;

nlohmann::json finding_json(const Finding& f) {
  nlohmann::json plots = nlohmann::json::array();
  for (const auto& p : f.plots) plots.push_back(p.first);
  return {{"id", f.id},         {"title", f.title}, {"claim", f.claim}, {"verdict", f.verdict},
          {"summary", f.summary}, {"data", f.data},   {"plots", plots}};
}

// A cached finding of a run with the same budget, if it and its plots are all there.
bool read_cached(const std::string& path, const StudyOptions& options, Finding& out) {
  auto text = read_file(path, int64_t{64} << 20);
  if (!text.ok()) return false;
  const nlohmann::json j = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || j.value("study_version", 0) != kStudyVersion || j.value("quick", !options.quick) != options.quick)
    return false;
  const nlohmann::json& f = j["finding"];
  out.id = f.value("id", "");
  out.title = f.value("title", "");
  out.claim = f.value("claim", "");
  out.verdict = f.value("verdict", "");
  out.summary = f.value("summary", "");
  out.data = f.value("data", nlohmann::json());
  for (const auto& name : f.value("plots", nlohmann::json::array())) {
    const std::string file = name.get<std::string>();
    if (!std::filesystem::exists(std::filesystem::path(options.out_dir) / file)) return false;
    out.plots.emplace_back(file, "");  // on disk already
  }
  return !out.id.empty();
}

std::string report_markdown(const std::vector<Finding>& findings, const StudyOptions& options) {
  std::string md = "# Slingshot study: robustness of quantized TinyML networks\n\n";
  md += "Regenerate with `slingshot study " + std::string(options.quick ? "--quick " : "") + "-o DIR` (Slingshot " +
        SLING_VERSION + ", models from `" + options.models_dir + "/`). " +
        (options.quick ? "This is a **quick** run: few samples and iterations, for a smoke test; its numbers are "
                         "not the study's.\n\n"
                       : "\n\n");
  md += "| # | finding | verdict |\n|---|---|---|\n";
  for (size_t i = 0; i < findings.size(); ++i)
    md += "| " + std::to_string(i + 1) + " | [" + findings[i].title + "](#" + findings[i].id + ") | " + findings[i].verdict +
          " |\n";
  for (size_t i = 0; i < findings.size(); ++i) {
    const Finding& f = findings[i];
    md += "\n<a id=\"" + f.id + "\"></a>\n## " + std::to_string(i + 1) + ". " + f.title + "\n\n";
    md += "**Claim.** " + f.claim + "\n\n**Measured.** " + f.summary + "\n\n**Verdict:** " + f.verdict + ".\n";
    for (const auto& p : f.plots) md += "\n![" + p.first + "](" + p.first + ")\n";
  }
  return md;
}

}  // namespace

Tensor StudyContext::images(int64_t n) const {
  n = std::min(n, images_.size());
  Tensor batch;
  std::vector<int> unused;
  images_.slice(0, n, batch, unused);
  return batch;
}

std::vector<int> StudyContext::labels(int64_t n) const {
  n = std::min(n, images_.size());
  return std::vector<int>(images_.labels.begin(), images_.labels.begin() + n);
}

Result<const QuantizedModel*> StudyContext::model(const std::string& stem) {
  auto it = models_.find(stem);
  if (it != models_.end()) return it->second.get();
  const std::string family = stem.rfind("dscnn", 0) == 0 ? "keywords" : "housenum";
  const std::string path = (std::filesystem::path(options_.models_dir) / family / (stem + ".safetensors")).string();
  auto loaded = load_quantized_model(path);
  if (!loaded.ok()) return loaded.status().with_context("the study needs the shipped model " + path);
  auto owned = std::make_unique<QuantizedModel>(std::move(*loaded));
  const QuantizedModel* raw = owned.get();
  models_[stem] = std::move(owned);
  return raw;
}

Result<std::unique_ptr<Target>> StudyContext::target(const std::string& stem, EngineKind engine, GradientSource source) {
  SLING_ASSIGN_OR_RETURN(const QuantizedModel* m, model(stem));
  ModelTargetOptions o;
  o.engine = engine;
  o.source = source;
  return make_model_target(*m, o);
}

Result<std::vector<StudyContext::NamedTarget>> StudyContext::bitwidth_targets() {
  const std::vector<std::pair<std::string, std::string>> nets{
      {"float", "resnet8_int8"}, {"int8", "resnet8_int8"}, {"int4", "resnet8_int4"},
      {"ternary", "resnet8_ternary"}, {"binary", "resnet8_binary"}};
  std::vector<NamedTarget> out;
  for (const auto& [name, stem] : nets) {
    const bool is_float = name == "float";
    SLING_ASSIGN_OR_RETURN(auto t, target(stem, is_float ? EngineKind::kFloat : EngineKind::kInt8Ref,
                                          is_float ? GradientSource::kFloat : GradientSource::kSte));
    out.push_back({name, std::move(t)});
  }
  return out;
}

Result<BoundaryDistances> StudyContext::boundary_distances(Target& target, const Tensor& x, const std::vector<int>& y) {
  SLING_ASSIGN_OR_RETURN(auto deepfool, make_attack("deepfool"));
  AttackParams p;
  p.norm = Norm::kL2;
  p.max_iter = 50;
  p.pixel_valid = false;
  p.batch_size = 50;
  return minimal_adversarial_distances(*deepfool, target, x, y, p);
}

Result<std::vector<ExampleRecord>> StudyContext::attack_records(const std::string& attack_name, Target& target,
                                                                const Tensor& x, const std::vector<int>& y,
                                                                const AttackParams& p, Tensor* adversarial) {
  SLING_ASSIGN_OR_RETURN(auto attack, make_attack(attack_name));
  SLING_RETURN_IF_ERROR(attack->validate(p, target.num_classes()));
  const int64_t n = x.dim(0), per = x.numel() / n, batch = std::max(1, p.batch_size);
  std::vector<ExampleRecord> records;
  if (adversarial) adversarial->resize(x.shape());
  const int run = ++attack_runs_;
  if (step_listener_) step_listener_({attack_name, run, 0, n});
  Tensor chunk;
  for (int64_t first = 0; first < n; first += batch) {
    const int64_t count = std::min(batch, n - first);
    chunk = batch_rows(x, first, count);
    SLING_ASSIGN_OR_RETURN(BatchOutcome o, attack_batch(*attack, target, chunk,
                                                        std::span<const int>(y).subspan(static_cast<size_t>(first), count),
                                                        first, p));
    records.insert(records.end(), o.records.begin(), o.records.end());
    if (adversarial) std::copy(o.x_adv.data(), o.x_adv.data() + count * per, adversarial->data() + first * per);
    if (step_listener_) step_listener_({attack_name, run, first + count, n});
  }
  return records;
}

std::vector<FindingSpec> study_findings() {
  return {
      {"input_quantization", "Input quantization attenuates and amplifies", finding_input_quantization},
      {"gradient_masking", "Vanishing gradients and boundary distance: protection or masking?", finding_gradient_masking},
      {"transfer", "Transfer between float and quantized networks", finding_transfer},
      {"preprocessing", "Pre-processing defenses: small eps, large eps, and adaptive attacks", finding_preprocessing},
      {"train_defenses", "Train-based defenses after quantization", finding_train_defenses},
      {"patch", "Patch attacks at every bitwidth", finding_patch},
      {"jr_ternary", "Jacobian-regularized ternary network against the int8 baseline", finding_jr_ternary},
  };
}

Status run_study(const StudyOptions& options, const std::function<void(const std::string&, bool)>& progress,
                 const StudyStepListener& step) {
  if (options.out_dir.empty()) return invalid_argument("the study needs an output directory (-o DIR)");
  const std::vector<FindingSpec> specs = study_findings();
  for (const std::string& id : options.only) {
    if (std::none_of(specs.begin(), specs.end(), [&](const FindingSpec& s) { return s.id == id; })) {
      std::string known;
      for (const FindingSpec& s : specs) known += (known.empty() ? "" : ", ") + s.id;
      return invalid_argument("no finding is called '" + id + "' (the study has: " + known + ")");
    }
  }
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(options.out_dir) / "findings", ec);
  if (ec) return invalid_argument("cannot create " + options.out_dir + ": " + ec.message());

  const std::string csv = (std::filesystem::path(options.models_dir) / "housenum" / "eval" / "y_labels.csv").string();
  auto images = load_labeled_images(csv, 32, 32, 3);
  if (!images.ok()) return images.status().with_context("the study's evaluation images");
  StudyContext ctx(options, std::move(*images));
  ctx.set_step_listener(step);

  std::vector<Finding> findings;
  for (const FindingSpec& spec : specs) {
    // --only limits what is computed; the report still holds every finding already cached.
    const bool selected =
        options.only.empty() || std::find(options.only.begin(), options.only.end(), spec.id) != options.only.end();
    const std::string cache = (std::filesystem::path(options.out_dir) / "findings" / (spec.id + ".json")).string();
    Finding f;
    if (read_cached(cache, options, f)) {
      if (progress) progress(spec.id, true);
      findings.push_back(std::move(f));
      continue;
    }
    if (!selected) continue;
    if (progress) progress(spec.id, false);
    ctx.begin_finding();
    auto run = spec.run(ctx);
    if (!run.ok()) return run.status().with_context("finding '" + spec.id + "'");
    f = std::move(*run);
    for (const auto& p : f.plots)
      SLING_RETURN_IF_ERROR(write_file_atomic((std::filesystem::path(options.out_dir) / p.first).string(), p.second));
    const nlohmann::json cached = {{"study_version", kStudyVersion}, {"quick", options.quick}, {"finding", finding_json(f)}};
    SLING_RETURN_IF_ERROR(write_file_atomic(cache, cached.dump(2) + "\n"));
    findings.push_back(std::move(f));
  }

  nlohmann::json report = {{"slingshot", SLING_VERSION}, {"quick", options.quick}, {"models_dir", options.models_dir},
                           {"findings", nlohmann::json::array()}};
  for (const Finding& f : findings) report["findings"].push_back(finding_json(f));
  SLING_RETURN_IF_ERROR(write_file_atomic((std::filesystem::path(options.out_dir) / "report.json").string(),
                                          report.dump(2) + "\n"));
  return write_file_atomic((std::filesystem::path(options.out_dir) / "report.md").string(),
                           report_markdown(findings, options));
}

}  // namespace slingshot
